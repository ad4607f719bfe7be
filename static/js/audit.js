// The audit page: the reachability matrix (filter, group), a small graph with the selected
// pair's path highlighted, and the buttons that run an audit or probe a pair.
(function () {
  "use strict";
  var dataEl = document.getElementById("audit-data");
  if (!dataEl) return;
  var D = JSON.parse(dataEl.textContent);
  var M = D.matrix || { containers: [], cells: {}, networks: [] };
  var byId = {};
  M.containers.forEach(function (c) { byId[c.id] = c; });
  var netByName = {};
  (M.networks || []).forEach(function (n) { netByName[n.name] = n; });
  var probeRows = {};
  ((D.probes && D.probes.pairs) || []).forEach(function (r) { probeRows[r.source + ">" + r.target] = r; });
  var graph = null;
  var selected = null;
  var MAX_SHOWN = 80;

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (text !== undefined) e.textContent = text;
    return e;
  }

  // --- matrix ---------------------------------------------------------------------------------
  function groupOf(c, mode) {
    if (mode === "network") {
      if (c.network_mode === "host") return "host network";
      if (c.netns_owner) return "namespace of " + ((byId[c.netns_owner] || {}).name || "?");
      return c.networks.length ? c.networks.slice().sort().join(" + ") : "no network";
    }
    if (mode.indexOf("label:") === 0) {
      var key = mode.slice(6);
      var v = (c.labels || {})[key];
      return v === undefined ? "(no " + key + ")" : key + "=" + v;
    }
    return "";
  }

  function visibleContainers() {
    var name = (document.getElementById("mf-name").value || "").toLowerCase();
    var running = document.getElementById("mf-running").checked;
    var mode = currentGroup();
    var list = M.containers.filter(function (c) {
      return (!running || c.state === "running") && (!name || c.name.toLowerCase().indexOf(name) >= 0);
    });
    list.forEach(function (c) { c._group = groupOf(c, mode); });
    list.sort(function (a, b) { return a._group === b._group ? (a.name < b.name ? -1 : 1) : (a._group < b._group ? -1 : 1); });
    return list;
  }

  function currentGroup() {
    var g = document.getElementById("mf-group").value;
    var lk = (document.getElementById("mf-label").value || "").trim();
    if (lk) return "label:" + lk;
    return g;
  }

  function cellTitle(s, t, cell) {
    if (!cell) return s.name + " → " + t.name + ": isolated (no shared network)";
    var parts = cell.paths.map(function (p) { return p.why; }).concat(cell.blocked.map(function (b) { return "Blocked: " + b.why; }));
    return s.name + " → " + t.name + ": " + (cell.by_ip ? "reachable" : "isolated") + (cell.by_name ? ", by name" : "") + "\n" + parts.join("\n");
  }

  function renderMatrix() {
    var wrap = document.getElementById("matrix");
    var list = visibleContainers();
    wrap.innerHTML = "";
    if (!list.length) { wrap.appendChild(el("p", { "class": "muted" }, "No container matches.")); return; }
    if (list.length > MAX_SHOWN) {
      // A grid of every pair stops being readable (and cheap) long before 500 containers.
      wrap.appendChild(el("p", { "class": "small muted", id: "matrix-capped" },
        "Showing " + MAX_SHOWN + " of " + list.length + " containers: filter by name or group to see the others."));
      list = list.slice(0, MAX_SHOWN);
    }
    var table = el("table", { "class": "matrix", id: "matrix-table" });
    var thead = el("thead"), hr = el("tr");
    hr.appendChild(el("th", { "class": "mx-corner" }, "from ↓  to →"));
    list.forEach(function (c) { var th = el("th", { "class": "mx-col", title: c.name }); th.appendChild(el("span", {}, c.name)); hr.appendChild(th); });
    thead.appendChild(hr); table.appendChild(thead);
    var tbody = el("tbody"), lastGroup = null;
    list.forEach(function (s) {
      if (s._group && s._group !== lastGroup) {
        var gr = el("tr", { "class": "mx-group" }); var gth = el("th", { colspan: String(list.length + 1) }, s._group);
        gr.appendChild(gth); tbody.appendChild(gr); lastGroup = s._group;
      }
      var tr = el("tr"); tr.appendChild(el("th", { "class": "mx-row" }, s.name));
      list.forEach(function (t) {
        var td;
        if (s.id === t.id) { td = el("td", { "class": "mx-self" }, "—"); tr.appendChild(td); return; }
        var key = s.id + ">" + t.id, cell = M.cells[key], probe = probeRows[key];
        var cls = "mx-cell", text = "";
        if (cell && cell.by_ip) { cls += " mx-yes"; text = cell.by_name ? "●n" : "●"; }
        else if (cell && cell.blocked.length) { cls += " mx-blocked"; text = "⊘"; }
        if (probe) {
          if (probe.agrees === true) { text += "✓"; cls += " mx-proven"; }
          else if (probe.agrees === false) { text += "✗"; cls += " mx-mismatch"; }
        }
        td = el("td", { "class": cls, title: cellTitle(s, t, cell), "data-pair": key, tabindex: "0" }, text);
        if (selected === key) td.classList.add("mx-selected");
        td.addEventListener("click", function () { selectPair(s.id, t.id); });
        td.addEventListener("keydown", function (ev) { if (ev.key === "Enter") selectPair(s.id, t.id); });
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody); wrap.appendChild(table);
  }

  // --- graph ----------------------------------------------------------------------------------
  // The topology page's graph (static/js/topology.js: mount), volumes and ports hidden; the
  // selected pair's path is highlighted on it. Styles of the audit's own: the path's steps of a
  // pair that cannot reach each other, a step drawn where no edge joins two, and the names of
  // the path's containers, shown at any zoom (about PATH_PX on screen; the graph hides small ones).
  var PATH_PX = 12;
  var AUDIT_STYLE = [
    { selector: "node.blocked", style: { "background-color": "#b26a00", "border-color": "#b26a00", "border-width": 3 } },
    { selector: "edge.path", style: { "curve-style": "bezier", "line-style": "dashed" } },
    { selector: "node.container.hl, node.container.blocked", style: { "label": "data(label)", "min-zoomed-font-size": 0, "text-wrap": "none",
      "font-size": "data(pathfs)", "font-weight": "bold", "text-background-color": "#fff", "text-background-opacity": 0.85,
      "text-background-padding": 2, "z-index": 30 } }
  ];
  function pathLabels() {
    var fs = Math.max(11, Math.round(PATH_PX / graph.cy.zoom()));
    if (fs === pathLabels.fs) return;
    pathLabels.fs = fs;
    graph.cy.batch(function () { graph.cy.nodes(".container").data("pathfs", fs); });
  }
  var pathEdges = [];  // api ids of the steps drawn by `highlight`

  // A graph of the matrix itself, in the topology API's shape, for when that API does not
  // show every running container of this audit (a saved audit of containers since gone).
  function ownTopology() {
    var nodes = [], edges = [], seenNet = {}, hostNeeded = false;
    M.containers.forEach(function (c) {
      if (c.state !== "running") return;
      nodes.push({ id: "ctr:" + c.id, kind: "container", label: c.name, data: { name: c.name, state: c.state } });
    });
    M.containers.forEach(function (c) {
      if (c.state !== "running") return;
      if (c.network_mode === "host") { hostNeeded = true; edges.push({ id: "e:h:" + c.id, kind: "attached", source: "ctr:" + c.id, target: "host", data: {} }); return; }
      if (c.netns_owner && byId[c.netns_owner]) { edges.push({ id: "e:ns:" + c.id, kind: "shares_netns", source: "ctr:" + c.id, target: "ctr:" + c.netns_owner, data: {} }); return; }
      c.networks.forEach(function (n) {
        var net = netByName[n]; if (!net || net.driver === "null") return;
        if (!seenNet[net.id]) {
          seenNet[net.id] = 1;
          nodes.push({ id: "net:" + net.id, kind: "network", label: net.name + (net.internal ? " (internal)" : "") + (net.icc ? "" : " (ICC off)"),
            data: { name: net.name, driver: net.driver, internal: net.internal } });
        }
        edges.push({ id: "e:" + c.id + ":" + net.id, kind: "attached", source: "ctr:" + c.id, target: "net:" + net.id, data: {} });
      });
    });
    if (hostNeeded) nodes.push({ id: "host", kind: "host", label: "host " + D.host, data: {} });
    return { nodes: nodes, edges: edges };
  }

  function drawGraph(topo) {
    var box = document.getElementById("audit-graph");
    if (!window.DockerwebTopology || !box) return;
    graph = window.DockerwebTopology.mount(box, { fitPadding: 12, style: AUDIT_STYLE });
    graph.setFilters({ volumes: false, ports: false });
    graph.load(D.host, topo);
    pathLabels();
    graph.cy.on("zoom", pathLabels);
    if (selected) { var p = selected.split(">"); highlight(p[0], p[1]); }
  }

  function loadGraph() {
    // The topology API when it shows every running container of the audit (same ids), else our own.
    fetch("/api/hosts/" + encodeURIComponent(D.host) + "/topology/", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (topo) {
        var ok = topo && topo.nodes && topo.nodes.length && M.containers.every(function (c) {
          return c.state !== "running" || topo.nodes.some(function (n) { return n.id === "ctr:" + c.id; });
        });
        if (!ok) return drawGraph(ownTopology());
        if (!topo.nodes.some(function (n) { return n.kind === "host"; })) topo.nodes.push({ id: "host", kind: "host", label: "host " + D.host, data: {} });
        drawGraph(topo);
      })
      .catch(function () { drawGraph(ownTopology()); });
  }

  function pathNodes(s, t, cell) {
    if (!cell) return [];
    var p = cell.paths.find(function (x) { return x.kind === "network"; }) || cell.paths[0];
    if (!p) {
      var b = cell.blocked[0];
      return b ? ["ctr:" + s, "net:" + b.network_id, "ctr:" + t] : [];
    }
    if (p.kind === "network") return ["ctr:" + s, "net:" + p.network_id, "ctr:" + t];
    if (p.kind === "host") {
      var hosts = graph ? graph.cy.nodes("[kind = 'host']") : null;
      var hostNode = hosts && hosts.nonempty() ? hosts.first().data("api_id") : "host";
      return ["ctr:" + s, hostNode, "ctr:" + t];
    }
    return ["ctr:" + s, "ctr:" + t];
  }

  function highlight(s, t) {
    if (!graph) return;
    var host = D.host;
    if (pathEdges.length) graph.applyOps(host, pathEdges.map(function (id) { return { op: "remove", kind: "edge", id: id }; }));
    pathEdges = [];
    var cell = M.cells[s + ">" + t], reach = !!(cell && cell.by_ip);
    var nodes = pathNodes(s, t, cell);
    if (!nodes.length) nodes = ["ctr:" + s, "ctr:" + t];
    var ids = nodes.filter(function (id) { return graph.get(host, id).nonempty(); }), adds = [];
    for (var i = 0; reach && i + 1 < nodes.length; i++) {
      var a = graph.get(host, nodes[i]), b = graph.get(host, nodes[i + 1]);
      if (a.empty() || b.empty()) continue;
      var edges = a.edgesWith(b);
      if (edges.nonempty()) { edges.forEach(function (e) { ids.push(e.data("api_id")); }); continue; }
      var id = "path:" + i;
      adds.push({ op: "add", kind: "edge", id: id, data: { id: id, kind: "path", source: nodes[i], target: nodes[i + 1], data: {} } });
      pathEdges.push(id);
      ids.push(id);
    }
    if (adds.length) graph.applyOps(host, adds);
    graph.cy.elements(".blocked").removeClass("blocked");
    var lit = graph.highlight(host, ids, { fit: false });
    if (!reach) lit.removeClass("hl").addClass("blocked");
  }

  // --- selection and details ------------------------------------------------------------------
  function selectPair(s, t) {
    selected = s + ">" + t;
    document.querySelectorAll(".mx-selected").forEach(function (x) { x.classList.remove("mx-selected"); });
    var td = document.querySelector('[data-pair="' + selected + '"]');
    if (td) td.classList.add("mx-selected");
    highlight(s, t);
    var info = document.getElementById("path-info"), cell = M.cells[selected], probe = probeRows[selected];
    var S = byId[s], T = byId[t];
    info.innerHTML = "";
    var h = el("p"); h.appendChild(el("b", {}, S.name + " → " + T.name + ": "));
    h.appendChild(el("span", { "class": "badge " + (cell && cell.by_ip ? "sev-high" : "status-succeeded"), id: "path-verdict" },
      cell && cell.by_ip ? (cell.by_name ? "reachable, by IP and by name" : "reachable by IP only") : "isolated"));
    info.appendChild(h);
    var ul = el("ul");
    if (!cell) ul.appendChild(el("li", {}, "They share no network, no namespace and neither uses the host's network."));
    else {
      cell.paths.forEach(function (p) { ul.appendChild(el("li", {}, p.why + (p.address ? " (" + p.address + ")" : ""))); });
      cell.blocked.forEach(function (b) { ul.appendChild(el("li", {}, "Blocked: " + b.why)); });
      var addrs = Object.keys(cell.addresses || {});
      if (addrs.length) ul.appendChild(el("li", {}, "Addresses tried: " + addrs.map(function (a) { return a + (cell.addresses[a] ? " ✔" : " ✘"); }).join(", ")));
    }
    if (probe) ul.appendChild(el("li", {}, probe.error ? "Probe error: " + probe.error :
      "Probe: " + (probe.measured.by_ip ? "reachable" : "isolated") + (probe.measured.by_name ? ", by name" : "") + (probe.agrees ? " — agrees with the model." : " — DISAGREES with the model.")));
    info.appendChild(ul);
    if (D.can_probe && S.state === "running" && T.state === "running") {
      var btn = el("button", { type: "button", id: "probe-pair" }, "Probe this pair now");
      if (D.probe_image) btn.addEventListener("click", function () { probePair(S, T, btn); });
      else {  // no image with sh and ping on the host: the button says why it is off
        btn.disabled = true;
        btn.setAttribute("aria-describedby", "probe-pair-off");
      }
      info.appendChild(btn);
      if (!D.probe_image) info.appendChild(el("p", { "class": "field-error small", id: "probe-pair-off" }, D.probes_off));
    }
    pingButtons(info, S, T, cell);
  }

  // "Ping <peer> from here": a one-off `ping -c 1` in the source container (static/js/quickexec.js),
  // by name (resolves only on user-defined networks) and by the address the model would try.
  function pingButtons(info, S, T, cell) {
    if (info.getAttribute("data-can-exec") !== "True" || S.state !== "running" || !window.dockerweb.execRun) return;
    var addrs = Object.keys((cell && cell.addresses) || {}).concat(Object.keys(T.addresses || {}).map(function (n) { return T.addresses[n]; }));
    var targets = [[T.name, "by name"]];
    if (addrs.length) targets.push([addrs[0], "by IP " + addrs[0]]);
    var bar = el("div", { "class": "exec-actions" });
    var pre = el("pre", { "class": "exec-out", id: "ping-out", hidden: "" });
    targets.forEach(function (t) {
      var b = el("button", { type: "button", "class": "small ping-pair", "data-exec-host": D.host, "data-exec-container": S.name,
        "data-exec-cmd": JSON.stringify(["ping", "-c", "1", "-W", "2", t[0]]), "data-exec-out": "ping-out", "data-exec-timeout": "15",
        title: "docker exec " + S.name + " ping -c 1 " + t[0] }, "Ping " + T.name + " from " + S.name + " (" + t[1] + ")");
      bar.appendChild(b);
    });
    info.appendChild(bar);
    info.appendChild(pre);
  }

  function api(method, url, body) {
    return fetch(url, { method: method, credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": window.dockerweb.csrf() }, body: JSON.stringify(body || {}) })
      .then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.detail || ("HTTP " + r.status)); return j; }); });
  }

  function probePair(S, T, btn) {
    btn.disabled = true; btn.textContent = "Probing…";
    api("POST", "/api/hosts/" + encodeURIComponent(D.host) + "/audit/probe/", { source: S.id, target: T.id })
      .then(function (res) {
        res.pairs.forEach(function (r) { probeRows[r.source + ">" + r.target] = r; });
        renderMatrix(); selectPair(S.id, T.id);
      })
      .catch(function (e) { btn.disabled = false; btn.textContent = "Probe this pair now"; status(e.message, true); });
  }

  function status(text, bad) {
    var s = document.getElementById("audit-status");
    if (s) { s.textContent = text; s.className = bad ? "error" : "muted"; }
  }

  function run(probe, btn) {
    btn.disabled = true;
    status(probe ? "Running the audit and probing every pair…" : "Saving the audit…");
    api("POST", "/api/hosts/" + encodeURIComponent(D.host) + "/audit/", { probe: probe })
      .then(function (a) { follow(a.id, btn); })
      .catch(function (e) { btn.disabled = false; status(e.message, true); });
  }

  // A probing audit runs in a worker: poll it until it is done, then show it.
  function follow(id, btn) {
    fetch("/api/hosts/" + encodeURIComponent(D.host) + "/audits/" + id + "/", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (a) {
        if (a.status === "succeeded") { location.href = "/audit/" + a.id + "/?host=" + encodeURIComponent(D.host); return; }
        if (a.status === "failed") { if (btn) btn.disabled = false; status("The audit failed: " + a.error, true); return; }
        status((a.status === "queued" ? "Queued…" : "Probing… ") + (a.status === "running" ? Math.round(a.progress * 100) + "%" : ""));
        setTimeout(function () { follow(id, btn); }, 700);
      })
      .catch(function (e) { if (btn) btn.disabled = false; status(e.message, true); });
  }

  document.addEventListener("DOMContentLoaded", function () {
    ["mf-name", "mf-group", "mf-label", "mf-running"].forEach(function (id) {
      var e = document.getElementById(id);
      if (e) e.addEventListener(e.tagName === "SELECT" || e.type === "checkbox" ? "change" : "input", renderMatrix);
    });
    ["audit-run", "audit-run-probe"].forEach(function (id) {
      var b = document.getElementById(id);
      if (b) b.addEventListener("click", function () { run(b.dataset.probe === "1", b); });
    });
    renderMatrix();
    loadGraph();
    if (D.audit && D.status && D.status !== "succeeded" && D.status !== "failed") follow(D.audit, null);
    // Start on the most interesting pair: one a probe disagreed on, else the first reachable one.
    var first = Object.keys(probeRows).find(function (k) { return probeRows[k].agrees === false; }) ||
      Object.keys(M.cells).find(function (k) { var c = M.cells[k]; return c.by_ip && c.paths.some(function (p) { return p.kind === "network"; }); });
    if (first) { var p = first.split(">"); selectPair(p[0], p[1]); }
  });
})();
