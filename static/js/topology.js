/* dockerweb topology graph (Cytoscape.js).
 *
 * Reusable part — DockerwebTopology.mount(element, options) returns a Graph (options: fitPadding,
 * pixelRatio, style: rules added to the graph's own); DockerwebTopology.graphOf(element) the Graph
 * mounted on an element (or null):
 *   graph.cy                       the Cytoscape instance
 *   graph.load(host, apiData)      show/refresh one host from GET /api/hosts/{host}/topology/ (diffed:
 *                                  unchanged nodes keep their place)
 *   graph.applyOps(host, ops)      apply `topology.patch` ops ({op, kind, id, data})
 *   graph.get(host, apiId)         the cytoscape element of an API id (e.g. "ctr:<id>", "att:<ctr>:<net>")
 *   graph.highlight(host, apiIds, {fit}) / graph.clearHighlight()   emphasise a path, dim the rest
 *   graph.setFilters({network, label, state, volumes, ports, q})
 *   graph.exportPng(name) / graph.exportSvg(name) / graph.relayout() / graph.fit()
 *   graph.on("select", fn(el|null))
 *   graph.on("applied", fn({ops, t}))   the page applied live patches: `ops` the `topology.patch`
 *                                  messages ({host, seq, ops}) of one frame, `t` when (epoch ms)
 * Element ids in cytoscape are "<host>|<api id>"; data.api_id and data.host hold the parts, and
 * data.d the API's `data` object.
 *
 * Page part — DockerwebTopology.page(element, config) adds the filters, details panel, export
 * buttons and the live socket (/ws/topology/: subscribe, apply patches in `seq` order coalesced per
 * animation frame, refetch a host from the API when a patch is missing or the server says so).
 * Its `graph` is the Graph above; its `ready` a promise settled when the first graph is drawn.
 */
(function () {
  "use strict";

  var SEP = "|";
  // Labels by zoom level: a label is drawn only when it is at least READABLE px on screen
  // (cytoscape's min-zoomed-font-size). Hosts and networks have the largest type, so they stay
  // labelled in the overview of a big graph; containers, volumes and ports get theirs as one
  // zooms in (and the full name shows on hover at any zoom); edge labels come last.
  var READABLE = 11;
  // Hosts and networks keep about HUB_PX on screen while one zooms out (their type grows up to
  // HUB_MAX model px), so the overview of a big graph still says what is where.
  var HUB_PX = 13, HUB_MAX = 44, NET_FS = 18, HOST_FS = 16, NODE_FS = 11;
  var RING0 = 92, RING_GAP = 104, SLOT = 78, SAT_OUT = 50, SAT_STEP = 0.62;

  function cyId(host, id) { return host + SEP + id; }
  function isPredef(name) { return name === "bridge" || name === "host" || name === "none"; }
  function same(a, b) { return JSON.stringify(a) === JSON.stringify(b); }
  // Long names are shortened on the canvas (the details panel and the hover title show them whole).
  function shorten(s, n) { s = s || ""; return s.length > n ? s.slice(0, n - 1) + "\u2026" : s; }
  var HEX64 = /^[0-9a-f]{64}$/;

  // ---- styles ---------------------------------------------------------------------------------
  var STYLE = [
    { selector: "node", style: {
      "label": "data(label)", "font-size": NODE_FS, "color": "#26323f", "text-valign": "bottom", "text-margin-y": 3,
      "min-zoomed-font-size": READABLE, "text-wrap": "ellipsis", "text-max-width": 72, "border-width": 1,
      "border-color": "#7b8ba0", "background-color": "#dfe6ee", "width": 22, "height": 22 } },
    { selector: "node.host", style: {
      "shape": "round-rectangle", "width": 86, "height": 38, "background-color": "#14212f", "border-color": "#14212f",
      "color": "#fff", "text-valign": "center", "text-margin-y": 0, "font-size": "data(fs)", "font-weight": "bold",
      "text-max-width": 200 } },
    { selector: "node.host.down", style: { "background-color": "#8a2a2a", "border-color": "#8a2a2a" } },
    { selector: "node.network", style: {
      "shape": "hexagon", "width": 54, "height": 48, "background-color": "#0b6bcb", "border-color": "#084f96",
      "border-width": 2, "color": "#0b3f75", "font-size": "data(fs)", "font-weight": "bold", "text-wrap": "wrap",
      "text-max-width": 600, "label": "data(netlabel)", "text-background-color": "#f7f9fb", "text-background-opacity": 0.8,
      "text-background-padding": 2, "text-background-shape": "round-rectangle", "z-index": 5 } },
    // A network whose containers are folded into a count (Graph.collapse).
    { selector: "node.network.collapsed", style: { "label": "data(collabel)", "width": 72, "height": 64, "border-width": 5,
      "border-style": "double" } },
    { selector: "node.network.internal", style: { "border-style": "dashed", "border-width": 3, "background-color": "#5d9be0" } },
    { selector: "node.network.drv-host", style: { "shape": "octagon", "background-color": "#e07b00", "border-color": "#a65b00", "color": "#8a4b00" } },
    { selector: "node.network.drv-null", style: { "shape": "octagon", "background-color": "#b8c2cc", "border-color": "#7b8ba0", "color": "#56606b", "width": 40, "height": 40 } },
    { selector: "node.network.drv-overlay, node.network.drv-macvlan, node.network.drv-ipvlan", style: { "background-color": "#8a3ffc", "border-color": "#5e22b8", "color": "#4b1c94" } },
    { selector: "node.container", style: {
      "shape": "ellipse", "width": 24, "height": 24, "background-color": "#d7f2df", "border-color": "#1a7f37", "border-width": 2.5 } },
    { selector: "node.container.st-exited, node.container.st-created, node.container.st-dead", style: {
      "background-color": "#eceff3", "border-color": "#8c99a8", "color": "#6b7785" } },
    { selector: "node.container.st-paused, node.container.st-restarting", style: { "background-color": "#fff1d6", "border-color": "#b26a00" } },
    { selector: "node.container.net-missing", style: { "border-style": "dashed", "border-color": "#b3261e", "border-width": 2 } },
    { selector: "node.container.mode-host", style: { "shape": "round-diamond", "width": 28, "height": 28, "background-color": "#ffe2bf", "border-color": "#e07b00", "border-width": 3 } },
    { selector: "node.container.mode-none", style: { "border-style": "dashed", "background-color": "#f4f6f8", "border-color": "#56606b" } },
    { selector: "node.container.mode-container", style: { "shape": "round-pentagon", "background-color": "#ede3ff", "border-color": "#8a3ffc" } },
    { selector: "node.container.privileged", style: { "border-color": "#c62828" } },
    { selector: "node.volume", style: {
      "shape": "barrel", "width": 18, "height": 20, "background-color": "#ffe08a", "border-color": "#a77b00" } },
    { selector: "node.volume.t-bind", style: { "shape": "rhomboid", "width": 24, "height": 14, "background-color": "#f4d6c4", "border-color": "#9c5a33" } },
    { selector: "node.volume.t-tmpfs", style: { "shape": "round-tag", "width": 16, "height": 16, "background-color": "#e9f0f7", "border-color": "#7b8ba0", "border-style": "dotted" } },
    { selector: "node.port", style: {
      "shape": "round-rectangle", "width": 12, "height": 10, "background-color": "#2e9e55", "border-color": "#1a7f37",
      "color": "#14532d" } },
    { selector: "node.port.exposed-all", style: { "background-color": "#c62828", "border-color": "#8e1c1c", "color": "#8e1c1c" } },
    { selector: "edge", style: { "width": 1.2, "line-color": "#a9b8c8", "curve-style": "haystack", "haystack-radius": 0,
      "font-size": 10, "min-zoomed-font-size": READABLE, "color": "#4b5968", "text-background-color": "#fff",
      "text-background-opacity": 0.85, "text-background-padding": 1 } },
    // Edge labels (IPs, aliases) only when zoomed in: see Graph._edgeLabels.
    { selector: "edge.attached.labelled", style: { "label": "data(elabel)" } },
    { selector: "edge.attached.hostlink", style: { "line-color": "#3a4a5c", "width": 2.2, "line-style": "solid" } },
    { selector: "edge.attached.mode-host", style: { "line-color": "#e07b00", "width": 2.5 } },
    { selector: "edge.attached.mode-none", style: { "line-color": "#8c99a8", "line-style": "dotted", "width": 1.5 } },
    { selector: "edge.shares_netns", style: { "curve-style": "bezier", "line-color": "#8a3ffc", "line-style": "dashed", "width": 2,
      "target-arrow-shape": "triangle", "target-arrow-color": "#8a3ffc", "arrow-scale": 0.8 } },
    { selector: "edge.link", style: { "curve-style": "bezier", "line-color": "#0b6bcb", "line-style": "dotted", "width": 2,
      "target-arrow-shape": "vee", "target-arrow-color": "#0b6bcb", "control-point-step-size": 30 } },
    { selector: "edge.link.labelled", style: { "label": "data(elabel)" } },
    { selector: "edge.mounts", style: { "line-color": "#c7a24a", "width": 1.4 } },
    { selector: "edge.mounts.ro", style: { "line-style": "dashed", "curve-style": "straight", "line-dash-pattern": [4, 3] } },
    { selector: "edge.publishes", style: { "curve-style": "straight", "line-color": "#2e9e55", "width": 1.6,
      "target-arrow-shape": "triangle", "target-arrow-color": "#2e9e55", "arrow-scale": 0.7 } },
    { selector: ".hidden", style: { "display": "none" } },
    { selector: "node.zsmall", style: { "label": "" } },
    // cytoscape-svg draws no label wrapped with "ellipsis": exports use the names as shortened in toCy.
    { selector: "node.exporting", style: { "min-zoomed-font-size": 0, "text-wrap": "none" } },
    { selector: "node.network.exporting", style: { "text-wrap": "wrap" } },
    { selector: ".faded", style: { "opacity": 0.15, "text-opacity": 0 } },
    { selector: "node.match", style: { "border-color": "#ff3d7f", "border-width": 4, "text-opacity": 1 } },
    { selector: "node.hl", style: { "border-color": "#ff3d7f", "border-width": 5, "z-index": 20 } },
    { selector: "edge.hl", style: { "line-color": "#ff3d7f", "target-arrow-color": "#ff3d7f", "width": 4, "z-index": 20, "opacity": 1 } },
    { selector: ":selected", style: { "overlay-color": "#0b6bcb", "overlay-opacity": 0.18, "overlay-padding": 6 } },
    { selector: "node.fresh", style: { "underlay-color": "#2e9e55", "underlay-opacity": 0.35, "underlay-padding": 8 } }
  ];

  // ---- element conversion ---------------------------------------------------------------------
  function toCy(host, el, group) {
    var d = el.data || {};
    var data = { id: cyId(host, el.id), api_id: el.id, host: host, kind: el.kind, label: shorten(el.label, 40),
      full: (d.type === "bind" ? d.source : d.name) || el.label || "", d: d };
    var cls = [el.kind];
    if (group === "edge") {
      data.source = cyId(host, el.source);
      data.target = cyId(host, el.target);
      if (el.kind === "attached") {
        data.elabel = d.ip || d.interface || "";
        if (el.id.indexOf("hnet:") === 0) cls.push("hostlink");
        if (d.mode) cls.push("mode-" + d.mode);
      } else if (el.kind === "link") {
        data.elabel = d.alias || "";
      } else if (el.kind === "mounts" && d.read_only) {
        cls.push("ro");
      }
    } else {
      if (el.kind === "network") {
        data.fs = NET_FS;
        cls.push("drv-" + d.driver);
        if (d.internal) cls.push("internal");
        data.netlabel = shorten(el.label, 28) + ((d.subnets && d.subnets.length) ? "\n" + d.subnets.join(" ") : "");
      } else if (el.kind === "container") {
        cls.push("st-" + d.state, "mode-" + d.mode);
        if (d.missing_networks && d.missing_networks.length) cls.push("net-missing");
        if (d.privileged) cls.push("privileged");
      } else if (el.kind === "volume") {
        cls.push("t-" + (d.type || "volume"));
        if (d.type === "bind") {  // long host paths: the last two parts (the details show all)
          var parts = (el.label || "").split("/").filter(Boolean);
          if (parts.length > 2) data.label = shorten("…/" + parts.slice(-2).join("/"), 40);
        } else if (d.anonymous || HEX64.test(el.label || "")) {
          data.label = shorten(el.label, 13);  // 64-hex anonymous volumes: the first 12 characters
        }
      } else if (el.kind === "port") {
        if (d.all_interfaces) cls.push("exposed-all");
      } else if (el.kind === "host") {
        data.fs = HOST_FS;
        if (d.status && d.status !== "ok") cls.push("down");
      }
    }
    return { group: group === "edge" ? "edges" : "nodes", data: data, classes: cls.join(" ") };
  }

  // ---- the graph ------------------------------------------------------------------------------
  function Graph(container, options) {
    options = options || {};
    this.container = container;
    this.cy = cytoscape({
      container: container, style: options.style ? STYLE.concat(options.style) : STYLE, elements: [], layout: { name: "preset" },
      minZoom: 0.05, maxZoom: 4, wheelSensitivity: 0.3, pixelRatio: options.pixelRatio || "auto",
      textureOnViewport: false, motionBlur: false, boxSelectionEnabled: false
    });
    this.model = {};      // cy id -> {group, host, el}
    this.present = {};    // cy id -> true while the element is in cytoscape
    this.pending = {};    // node cy id -> {edge cy id: true} edges waiting for that node
    this.layouts = {};    // host -> layout state
    this.filters = { volumes: true, ports: true, collapse: false };
    this.collapsed = {};  // network cy id -> true/false: its containers folded into a count (else filters.collapse)
    this.fitPadding = options.fitPadding || 30;
    this.handlers = {};
    var self = this;
    // The whole name on hover, whatever the zoom (labels are shortened or hidden when small).
    this.cy.on("mouseover", "node", function (evt) {
      var n = evt.target;
      container.title = n.data("full") + (n.hasClass("collapsed") ? " (" + n.data("folded") + " containers folded)" : "");
    });
    this.cy.on("mouseout", "node", function () { container.removeAttribute("title"); });
    this.cy.on("tap", function (evt) {
      self._emit("select", evt.target === self.cy ? null : evt.target);
    });
    // Measuring a thousand edge labels costs more than drawing the edges: label them only when
    // the zoom makes them readable (and always around the selected node).
    this.labelZoom = 1.5;
    this.cy.on("zoom", function () { self._edgeLabels(); self._zoomLabels(); });
    this.cy.on("select unselect", "node", function (evt) {
      evt.target.connectedEdges().toggleClass("labelled", evt.type === "select" || self.labelled === true);
    });
  }

  // Labels by zoom level. cytoscape's min-zoomed-font-size alone is coarse (it rounds the zoom
  // up to a power of two), so the rule is kept here: a node's label shows only while it is at
  // least READABLE px on screen (class zsmall hides it), and the hubs' type follows the zoom.
  Graph.prototype._zoomLabels = function (force) {
    var cy = this.cy, z = cy.zoom(), fs = Math.round(Math.min(HUB_MAX, Math.max(NET_FS, HUB_PX / z)));
    var small = NODE_FS * z < READABLE, key = fs + "/" + small + "/" + (HUB_MAX * z < READABLE) + "/" + (HOST_FS * z < READABLE);
    if (!force && key === this._zoomKey) return;
    this._zoomKey = key;
    this._hubFs = fs;
    cy.batch(function () {
      cy.nodes(".network, .host").forEach(function (n) {
        var want = n.hasClass("host") ? Math.max(HOST_FS, fs - 2) : fs, hide = want * z < READABLE;
        if (n.data("fs") !== want) n.data("fs", want);
        if (hide !== n.hasClass("zsmall")) n.toggleClass("zsmall", hide);
      });
      cy.nodes().forEach(function (n) {
        if (small !== n.hasClass("zsmall") && !n.hasClass("network") && !n.hasClass("host")) n.toggleClass("zsmall", small);
      });
    });
  };

  Graph.prototype._edgeLabels = function () {
    var want = this.cy.zoom() >= this.labelZoom;
    if (want === !!this.labelled) return;
    this.labelled = want;
    var edges = this.cy.edges(".attached, .link");
    this.cy.batch(function () { edges.toggleClass("labelled", want); });
  };

  Graph.prototype.on = function (name, fn) { (this.handlers[name] = this.handlers[name] || []).push(fn); return this; };
  Graph.prototype._emit = function (name, arg) {
    (this.handlers[name] || []).forEach(function (fn) { try { fn(arg); } catch (e) { console.error(e); } });
  };
  Graph.prototype.get = function (host, apiId) { return this.cy.getElementById(cyId(host, apiId)); };
  Graph.prototype.hosts = function () { return Object.keys(this.layouts); };

  // The model holds every element the server sent; `present` the ids that are in cytoscape (an
  // edge waits in `pending` until both its ends are). Checks go through these plain maps, not
  // cytoscape lookups: at a thousand elements the lookups cost more than the drawing.
  Graph.prototype._upsert = function (host, el, group, adds) {
    var c = toCy(host, el, group), id = c.data.id, cur = this.model[id];
    this.model[id] = { group: group, host: host, el: el };
    if (this.present[id]) {
      if (!cur || !same(cur.el, el)) {
        var ele = this.cy.getElementById(id);
        ele.data(c.data);
        ele.classes(group === "edge" && this.labelled ? c.classes + " labelled" : c.classes);
      }
      return;
    }
    if (group === "node") adds.nodes.push({ group: "nodes", data: c.data, classes: c.classes, position: { x: 0, y: 0 } });
    else adds.edges.push(id);
  };

  Graph.prototype._flushAdds = function (adds, placeList) {
    var self = this, present = this.present;
    if (adds.nodes.length) {
      this.cy.add(adds.nodes);
      adds.nodes.forEach(function (n) {
        var id = n.data.id, waiting = self.pending[id];
        present[id] = true;
        placeList.push(id);
        if (waiting) {
          delete self.pending[id];
          for (var eid in waiting) adds.edges.push(eid);
        }
      });
    }
    var ready = [], seen = {};
    adds.edges.forEach(function (id) {
      var m = self.model[id];
      if (!m || seen[id] || present[id]) return;
      seen[id] = true;
      var c = toCy(m.host, m.el, "edge");
      var missing = [c.data.source, c.data.target].filter(function (n) { return !present[n]; });
      if (missing.length) {
        missing.forEach(function (n) { (self.pending[n] = self.pending[n] || {})[id] = true; });
        return;
      }
      present[id] = true;
      ready.push({ group: "edges", data: c.data, classes: self.labelled ? c.classes + " labelled" : c.classes });
    });
    if (ready.length) this.cy.add(ready);
  };

  Graph.prototype._remove = function (host, apiId) {
    var id = cyId(host, apiId), m = this.model[id], self = this;
    delete this.model[id];
    if (!this.present[id]) return m;
    var ele = this.cy.getElementById(id);
    delete this.present[id];
    if (ele.isNode()) {
      // Its edges stay in the model (they may come back with the node); park them.
      ele.connectedEdges().forEach(function (e) {
        delete self.present[e.id()];
        if (self.model[e.id()]) (self.pending[id] = self.pending[id] || {})[e.id()] = true;
      });
      this._unplace(host, id);
    }
    this.cy.remove(ele);
    return m;
  };

  /** Apply `topology.patch` ops for one host (no re-layout of untouched nodes). */
  Graph.prototype.applyOps = function (host, ops) {
    var self = this, placeList = [];
    if (!this.layouts[host]) this.layouts[host] = null;
    this.cy.batch(function () {
      var attached = [], adds = { nodes: [], edges: [] };
      ops.forEach(function (op) {
        if (op.op === "remove") self._remove(host, op.id);
        else if (op.data) {
          self._upsert(host, op.data, op.kind === "edge" ? "edge" : "node", adds);
          if (op.op === "add" && op.data.kind === "attached") attached.push(cyId(host, op.data.source));
        }
      });
      self._flushAdds(adds, placeList);
      var rel = self._relations();
      self._place(host, placeList, rel);
      self._rehome(host, attached, placeList, rel);
      self._applyFilters();
    });
    this._flash(placeList);
    this._zoomLabels(true);  // new or updated nodes follow the current zoom level
    return placeList.length;
  };

  /** Show a host from the API answer; a host already shown is diffed (positions kept). */
  Graph.prototype.load = function (host, data) {
    var ops = [], seen = {}, self = this;
    data.nodes.forEach(function (n) { seen[cyId(host, n.id)] = 1; ops.push({ op: "add", kind: "node", id: n.id, data: n }); });
    data.edges.forEach(function (e) { seen[cyId(host, e.id)] = 1; ops.push({ op: "add", kind: "edge", id: e.id, data: e }); });
    Object.keys(this.model).forEach(function (id) {
      var m = self.model[id];
      if (m.host === host && !seen[id]) ops.unshift({ op: "remove", kind: m.group, id: m.el.id });
    });
    var fresh = !this.layouts[host];
    var flash = this._flashOn;
    this._flashOn = false;  // a (re)load is not news
    var placed = this.applyOps(host, ops);
    this._flashOn = flash;
    if (fresh) this.fit();
    // Large graphs: pan and zoom move a snapshot, redrawn when the gesture ends.
    var r = this.cy.renderer && this.cy.renderer();
    if (r) r.textureOnViewport = this.cy.elements().length > 600;
    return placed;
  };

  /** Forget a host's elements. */
  Graph.prototype.unload = function (host) {
    var self = this, prefix = host + SEP;
    this.cy.batch(function () {
      [self.model, self.pending, self.present].forEach(function (map) {
        Object.keys(map).forEach(function (id) { if (id.indexOf(prefix) === 0) delete map[id]; });
      });
      self.cy.elements().filter(function (e) { return e.data("host") === host; }).remove();
    });
    delete this.layouts[host];
  };

  Graph.prototype._flash = function (ids) {
    if (!ids.length || ids.length > 50 || !this._flashOn) return;
    var els = this.cy.collection(ids.map(function (id) { return this.cy.getElementById(id); }, this));
    els.addClass("fresh");
    setTimeout(function () { els.removeClass("fresh"); }, 1500);
  };

  // ---- layout: bridges as hubs, containers on rings around them, satellites outside ----------
  function ringOf(slot) {
    var r = RING0, start = 0;
    for (;;) {
      var cap = Math.max(6, Math.floor(2 * Math.PI * r / SLOT));
      if (slot < start + cap) return { r: r, i: slot - start, cap: cap };
      start += cap; r += RING_GAP;
    }
  }
  function radiusFor(n) { return n <= 0 ? 60 : ringOf(Math.max(0, n - 1)).r + SAT_OUT + 30; }
  function capFor(r) {  // how many containers fit in a cluster of radius r
    var n = 0, ring = RING0;
    for (;;) {
      if (ring + SAT_OUT + 30 > r) return n;
      n += Math.max(6, Math.floor(2 * Math.PI * ring / SLOT));
      ring += RING_GAP;
    }
  }

  Graph.prototype._layout = function (host) {
    var L = this.layouts[host];
    if (L) return L;
    // A new host goes to the right of those already shown.
    var x = 0, others = this.cy.nodes().filter(function (n) { return n.data("host") !== host; });
    if (others.nonempty()) x = others.boundingBox().x2 + 600;
    L = this.layouts[host] = { origin: { x: x, y: 0 }, clusters: {}, circles: [], sats: {}, where: {} };
    return L;
  };

  Graph.prototype._cluster = function (L, hubId, expected) {
    var c = L.clusters[hubId];
    if (c) return c;
    var r = radiusFor(Math.max(6, expected || 0));  // room for a few more to come
    var pos = this._freeSpot(L, r);
    c = L.clusters[hubId] = { x: pos.x, y: pos.y, r: r, slots: [], cap: capFor(r) };
    L.circles.push(c);
    return c;
  };

  Graph.prototype._freeSpot = function (L, r) {
    var o = L.origin, hostR = 90;
    if (!L.circles.length) {
      // The first (largest) cluster sits beside the host, so the host stays readable.
      return { x: o.x, y: o.y - hostR - r - 40 };
    }
    for (var d = hostR + r + 40; ; d += 50) {
      var steps = Math.max(8, Math.ceil(2 * Math.PI * d / Math.max(60, r)));
      for (var k = 0; k < steps; k++) {
        var a = -Math.PI / 2 + 2 * Math.PI * k / steps;
        var x = o.x + d * Math.cos(a), y = o.y + d * Math.sin(a), ok = true;
        for (var j = 0; j < L.circles.length; j++) {
          var q = L.circles[j], dx = q.x - x, dy = q.y - y;
          if (dx * dx + dy * dy < (q.r + r + 30) * (q.r + r + 30)) { ok = false; break; }
        }
        if (ok) return { x: x, y: y };
      }
    }
  };

  Graph.prototype._slotPos = function (c, slot) {
    var ring = ringOf(slot), a = -Math.PI / 2 + 2 * Math.PI * ring.i / ring.cap + (ring.r / RING_GAP) * 0.37;
    return { x: c.x + ring.r * Math.cos(a), y: c.y + ring.r * Math.sin(a) };
  };

  // A full cluster never grows over its neighbours: it continues in a new, larger ring group at
  // the next free spot (its members still point at their hub).
  Graph.prototype._takeSlot = function (L, key, cl, id, pos) {
    var c = cl, slot;
    for (;;) {
      slot = c.slots.indexOf(null);
      if (slot < 0 && c.slots.length < c.cap) slot = c.slots.length;
      if (slot >= 0) break;
      if (!c.next) {
        var r2 = radiusFor(Math.max(16, c.cap * 2)), p = this._freeSpot(L, r2);
        c.next = { x: p.x, y: p.y, r: r2, slots: [], cap: capFor(r2) };
        L.circles.push(c.next);
      }
      c = c.next;
    }
    c.slots[slot] = id;
    L.where[id] = { cluster: key, cl: c, slot: slot };
    pos[id] = this._slotPos(c, slot);
  };

  // Who hangs on whom, from the model's edges between elements in the graph:
  // hubs[container] = its networks; anchors[satellite] = the containers it sits by.
  Graph.prototype._relations = function () {
    var hubs = {}, anchors = {}, present = this.present, model = this.model;
    for (var id in model) {
      var m = model[id];
      if (m.group !== "edge") continue;
      var e = m.el, s = cyId(m.host, e.source), t = cyId(m.host, e.target);
      if (!present[s] || !present[t]) continue;
      if (e.kind === "attached") (hubs[s] = hubs[s] || []).push(t);
      else if (e.kind === "publishes" || e.kind === "shares_netns") (anchors[s] = anchors[s] || []).push(t);
      else if (e.kind === "mounts") (anchors[t] = anchors[t] || []).push(s);
    }
    return { hubs: hubs, anchors: anchors };
  };

  // A container's hub: a user network first, then bridge, host, none.
  Graph.prototype._hubOf = function (id, rel) {
    var best = null, bestScore = -1, model = this.model;
    (rel.hubs[id] || []).forEach(function (net) {
      var m = model[net], name = m ? (m.el.data || {}).name || "" : "";
      var score = isPredef(name) ? (name === "bridge" ? 2 : 1) : 3;
      if (score > bestScore || (score === bestScore && net < best)) { best = net; bestScore = score; }
    });
    return best;
  };

  Graph.prototype._anchorOf = function (id, rel) {
    var list = (rel.anchors[id] || []).filter(function (a) { return a !== id; }).sort();
    return list[0] || null;
  };

  Graph.prototype._place = function (host, ids, rel) {
    if (!ids.length) return;
    var self = this, cy = this.cy, L = this._layout(host), model = this.model;
    // Positions are gathered and set in one call at the end: one event instead of one per node.
    var pos = this._pos = {};
    var byKind = { host: [], network: [], container: [], volume: [], port: [] };
    ids.forEach(function (id) {
      var m = model[id];
      if (m && self.present[id]) (byKind[m.el.kind] || byKind.volume).push(id);
    });
    function label(id) { return model[id].el.label || ""; }
    byKind.host.forEach(function (id) { pos[id] = { x: L.origin.x, y: L.origin.y }; });

    // Containers: hub members, then satellites of other containers (container: mode), then loose.
    var members = {}, sats = [], loose = [];
    byKind.container.sort(function (a, b) { return label(a) < label(b) ? -1 : 1; });
    byKind.container.forEach(function (id) {
      var hub = self._hubOf(id, rel);
      if (hub) (members[hub] = members[hub] || []).push(id);
      else if ((model[id].el.data || {}).mode === "container") sats.push(id);
      else loose.push(id);
    });
    // Networks: the largest clusters first, so they sit closest to the host.
    byKind.network.sort(function (a, b) {
      var ma = (members[a] || []).length, mb = (members[b] || []).length;
      return mb - ma || (label(a) < label(b) ? -1 : 1);
    });
    byKind.network.forEach(function (id) {
      var cl = self._cluster(L, id, Math.ceil((members[id] || []).length * 1.15) + 2);
      pos[id] = { x: cl.x, y: cl.y };
    });
    Object.keys(members).forEach(function (hubId) {
      var cl = L.clusters[hubId] || self._cluster(L, hubId, members[hubId].length + 2);
      if (!pos[hubId] && !L.clusters[hubId].placedHub) {
        var hp = cy.getElementById(hubId).position();
        if (hp.x === 0 && hp.y === 0) pos[hubId] = { x: cl.x, y: cl.y };
      }
      cl.placedHub = true;
      members[hubId].forEach(function (id) { self._takeSlot(L, hubId, cl, id, pos); });
    });
    if (loose.length) {
      var lc = this._cluster(L, "~loose", loose.length + 4);
      loose.forEach(function (id) { self._takeSlot(L, "~loose", lc, id, pos); });
    }
    // Satellites: container-mode containers first (ports and volumes may hang on them).
    sats.concat(byKind.port, byKind.volume).forEach(function (id) {
      var anchor = self._anchorOf(id, rel);
      if (!anchor) {
        self._takeSlot(L, "~volumes", self._cluster(L, "~volumes", 12), id, pos);
        return;
      }
      pos[id] = self._satPos(L, anchor, id);
    });
    cy.nodes().filter(function (n) { return pos[n.id()] !== undefined; })
      .positions(function (n) { return pos[n.id()]; });
    this._pos = null;
  };

  Graph.prototype._posOf = function (id) {
    return (this._pos && this._pos[id]) || this.cy.getElementById(id).position();
  };

  // A container placed without a network (created, not yet started) moves to its bridge once
  // attached, with its satellites; nothing else moves.
  Graph.prototype._rehome = function (host, ids, placeList, rel) {
    var L = this.layouts[host], self = this;
    if (!L) return;
    ids.forEach(function (id) {
      var w = L.where[id];
      if (!w || w.cluster !== "~loose" || !self.present[id] || !self._hubOf(id, rel)) return;
      var sats = (L.sats[id] || []).filter(Boolean);
      sats.forEach(function (s) { self._unplace(host, s); });
      self._unplace(host, id);
      self._place(host, [id].concat(sats), rel);
      placeList.push(id);
    });
  };

  Graph.prototype._satPos = function (L, anchor, id) {
    var list = L.sats[anchor] = L.sats[anchor] || [];
    var k = list.indexOf(null);
    if (k < 0) { k = list.length; list.push(id); } else list[k] = id;
    L.where[id] = { anchor: anchor, k: k };
    var p = this._posOf(anchor), w = L.where[anchor], hub = (w && w.cl) || null;
    var ux = 0, uy = -1;
    if (hub) {
      var dx = p.x - hub.x, dy = p.y - hub.y, len = Math.sqrt(dx * dx + dy * dy);
      if (len > 1) { ux = dx / len; uy = dy / len; }
    } else if (w && w.anchor) {
      var ap = this._posOf(w.anchor), ddx = p.x - ap.x, ddy = p.y - ap.y, l2 = Math.sqrt(ddx * ddx + ddy * ddy);
      if (l2 > 1) { ux = ddx / l2; uy = ddy / l2; }
    }
    // On an arc facing away from the hub: 0, +1, -1, +2, -2 … steps; further out past five.
    var ring = Math.floor(k / 5), j = k % 5, side = (j % 2 ? 1 : -1) * Math.ceil(j / 2);
    var a = Math.atan2(uy, ux) + side * SAT_STEP + ring * SAT_STEP / 2, out = SAT_OUT + ring * 26;
    return { x: p.x + Math.cos(a) * out, y: p.y + Math.sin(a) * out };
  };

  Graph.prototype._unplace = function (host, id) {
    var L = this.layouts[host];
    if (!L) return;
    var w = L.where[id];
    if (!w) return;
    if (w.cl) w.cl.slots[w.slot] = null;
    if (w.anchor && L.sats[w.anchor]) L.sats[w.anchor][w.k] = null;
    delete L.where[id];
    delete L.sats[id];
  };

  /** Lay every host out again from scratch (the button; patches never do this). */
  Graph.prototype.relayout = function () {
    var self = this, hosts = Object.keys(this.layouts);
    this.layouts = {};
    this.cy.batch(function () {
      self.cy.nodes().positions({ x: 0, y: 0 });
      var rel = self._relations();
      hosts.forEach(function (h) {
        self.layouts[h] = null;
        self._place(h, self.cy.nodes().filter(function (n) { return n.data("host") === h; }).map(function (n) { return n.id(); }), rel);
      });
    });
    this.fit();
  };

  Graph.prototype.fit = function () {
    var vis = this.cy.elements(":visible"), eles = vis.nonempty() ? vis : undefined;
    this.cy.fit(eles, this.fitPadding);
    // The hubs' type follows the zoom, and their labels count in the fit: fit once more with them.
    if (this._hubFs !== null && this._hubFs !== undefined) this.cy.fit(eles, this.fitPadding);
  };

  // ---- filters, search, highlight -------------------------------------------------------------
  function labelMatch(labels, spec) {
    if (!spec) return true;
    var i = spec.indexOf("="), key = i < 0 ? spec : spec.slice(0, i);
    if (!labels || !(key in labels)) return false;
    return i < 0 || String(labels[key]) === spec.slice(i + 1);
  }

  Graph.prototype.setFilters = function (f) {
    for (var k in f) this.filters[k] = f[k];
    var self = this;
    this.cy.batch(function () { self._applyFilters(); });
  };

  Graph.prototype._applyFilters = function () {
    var f = this.filters, cy = this.cy;
    var netName = f.network || "", label = (f.label || "").trim(), state = f.state || "";
    var narrowed = !!(netName || label || state);
    var showCtr = {};
    cy.nodes(".container").forEach(function (n) {
      var d = n.data("d"), ok = true;
      if (state && d.state !== state) ok = false;
      if (ok && label && !labelMatch(d.labels, label)) ok = false;
      if (ok && netName) ok = (d.networks || []).indexOf(netName) >= 0;
      showCtr[n.id()] = ok;
    });
    if (netName) {  // container-mode containers follow the container whose namespace they share
      cy.edges(".shares_netns").forEach(function (e) {
        if (showCtr[e.target().id()] && (!state || e.source().data("d").state === state)) showCtr[e.source().id()] = true;
      });
    }
    // Collapsed networks: a container whose every network is collapsed is folded into their
    // counts (with the containers sharing its namespace, and the ports and volumes only it uses).
    var self = this, folded = {}, counts = {}, anyFolded = false;
    cy.nodes(".network").forEach(function (net) {
      if (!self.isCollapsed(net.id())) return;
      counts[net.id()] = 0;
      anyFolded = true;
    });
    if (anyFolded) {
      cy.nodes(".container").forEach(function (n) {
        if (!showCtr[n.id()]) return;
        var nets = n.connectedEdges(".attached").targets(".network");
        if (nets.empty() || !nets.every(function (x) { return counts[x.id()] !== undefined; })) return;
        folded[n.id()] = true;
        nets.forEach(function (x) { counts[x.id()] += 1; });
      });
      cy.edges(".shares_netns").forEach(function (e) {
        if (folded[e.target().id()] && showCtr[e.source().id()]) folded[e.source().id()] = true;
      });
    }
    cy.nodes(".network").forEach(function (net) {
      var c = counts[net.id()], on = c !== undefined;
      if (on) {
        var text = shorten(net.data("full"), 28) + "\n" + c + (c === 1 ? " container" : " containers");
        if (net.data("collabel") !== text) net.data("collabel", text);
        if (net.data("folded") !== c) net.data("folded", c);
      }
      if (on !== net.hasClass("collapsed")) net.toggleClass("collapsed", on);
    });
    cy.nodes().forEach(function (n) {
      var kind = n.data("kind"), show = true;
      if (kind === "container") show = showCtr[n.id()] && !folded[n.id()];
      else if (kind === "network") show = !netName || n.data("d").name === netName;
      else if (kind === "port" || kind === "volume") {
        show = kind === "port" ? f.ports !== false : f.volumes !== false;
        if (show && (narrowed || anyFolded)) {
          var nb = n.neighborhood("node.container");
          if (nb.nonempty()) show = nb.some(function (c) { return showCtr[c.id()] && !folded[c.id()]; });
          else show = !narrowed;
        }
      }
      if (show === n.hasClass("hidden")) n.toggleClass("hidden", !show);
    });
    this._applySearch();
  };

  Graph.prototype.isCollapsed = function (netCyId) {
    return netCyId in this.collapsed ? this.collapsed[netCyId] : !!this.filters.collapse;
  };

  /** Fold a network's containers into a count on the network (yes) or show them again. */
  Graph.prototype.collapse = function (host, apiId, yes) {
    this.collapsed[cyId(host, apiId)] = !!yes;
    var self = this;
    this.cy.batch(function () { self._applyFilters(); });
  };

  /** Every network folded (yes) or shown; forgets the per-network choices. */
  Graph.prototype.collapseAll = function (yes) {
    this.collapsed = {};
    this.setFilters({ collapse: !!yes });
  };

  Graph.prototype._applySearch = function () {
    var q = (this.filters.q || "").trim().toLowerCase(), cy = this.cy;
    if (!q && !this._searched) return cy.collection();
    cy.elements().removeClass("match faded");
    this._searched = !!q;
    if (!q) return cy.collection();
    var hits = cy.nodes(":visible").filter(function (n) {
      var d = n.data("d") || {};
      var hay = [n.data("label"), d.name, d.image, d.short_id, d.address, d.source, d.destination]
        .concat(d.ips || [], d.subnets || [], d.networks || []).join(" ").toLowerCase();
      return hay.indexOf(q) >= 0;
    });
    var keep = hits.union(hits.connectedEdges()).union(hits.neighborhood("node"));
    cy.elements().not(keep).addClass("faded");
    hits.addClass("match");
    return hits;
  };

  /** Search: mark matches, dim the rest and bring the matches into view. */
  Graph.prototype.search = function (q) {
    this.filters.q = q;
    var hits = this._applySearch();
    if (hits && hits.nonempty()) this.cy.animate({ fit: { eles: hits.union(hits.neighborhood()), padding: 60 }, duration: 250 });
    return hits ? hits.length : 0;
  };

  /** Emphasise elements by API id (for example an audit path); the rest is dimmed. */
  Graph.prototype.highlight = function (host, apiIds, opts) {
    var cy = this.cy, els = cy.collection();
    apiIds.forEach(function (id) { els = els.union(cy.getElementById(cyId(host, id))); });
    cy.elements().removeClass("hl").addClass("faded");
    els.removeClass("faded").addClass("hl");
    els.connectedNodes().removeClass("faded");
    if ((opts || {}).fit !== false && els.nonempty()) cy.animate({ fit: { eles: els, padding: 80 }, duration: 300 });
    return els;
  };
  Graph.prototype.clearHighlight = function () { this.cy.elements().removeClass("hl faded"); this._applySearch(); };

  // ---- export ---------------------------------------------------------------------------------
  function download(blob, name) {
    var a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
  }
  // Exports draw the whole graph at model size (scale 1 or 2): every label is readable there, so
  // they all show, whatever the zoom on screen hides; the screen's labels come back after.
  Graph.prototype._allLabels = function (fn) {
    var cy = this.cy;
    cy.batch(function () {
      cy.nodes(".zsmall").removeClass("zsmall");
      cy.nodes().addClass("exporting");
      cy.nodes(".network, .host").forEach(function (n) { n.data("fs", n.hasClass("host") ? HOST_FS : NET_FS); });
    });
    try { return fn(); } finally { cy.nodes().removeClass("exporting"); this._zoomLabels(true); }
  };
  Graph.prototype.exportPng = function (name) {
    var self = this;
    var blob = this._allLabels(function () { return self.cy.png({ output: "blob", full: true, bg: "#ffffff", scale: 2, maxWidth: 8000, maxHeight: 8000 }); });
    download(blob, (name || "topology") + ".png");
    return blob;
  };
  Graph.prototype.exportSvg = function (name) {
    if (typeof this.cy.svg !== "function") throw new Error("cytoscape-svg is not loaded");
    var self = this, text = this._allLabels(function () { return self.cy.svg({ full: true, bg: "#ffffff", scale: 1 }); });
    var blob = new Blob([text], { type: "image/svg+xml;charset=utf-8" });
    download(blob, (name || "topology") + ".svg");
    return text;
  };

  var mounted = new WeakMap();  // element -> its Graph
  function mount(element, options) {
    var graph = new Graph(element, options);
    mounted.set(element, graph);
    return graph;
  }

  // ---- the page -------------------------------------------------------------------------------
  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }

  function Page(element, config) {
    var self = this;
    this.config = config;
    this.graph = mount(element, { fitPadding: 40 });  // room for the folded legend in a corner
    this.graph._flashOn = true;
    this.cy = this.graph.cy;
    this.queue = [];
    this.hostsShown = [];
    this.seq = {};     // host → seq of the last patch its graph includes (see `_onPatch`)
    this.held = {};    // host → patches received while its graph was being fetched
    this.subSeq = {};  // host → seq the socket said it was at when it subscribed
    this.form = document.getElementById("topo-filters");
    this.details = document.getElementById("topo-details");
    this.stats = document.getElementById("topo-stats");
    this.liveBadge = document.getElementById("topo-live");
    this.graph.on("select", function (e) { self.showDetails(e); });
    // Double-click a network: fold its containers into a count, or show them again.
    this.cy.on("dbltap", "node.network", function (evt) { self.toggleCollapse(evt.target); });
    // Until the user pans or zooms, the view follows the graph as it grows.
    this.cy.on("dragpan scrollzoom pinchzoom", function () { self.userMoved = true; });
    this._wireForm();
    this.ready = this.showHosts(this._selectedHosts()).then(function () { self._connect(); });
  }

  Page.prototype._selectedHosts = function () {
    var v = this.form.elements.host.value;
    return v === "*" ? this.config.hosts.slice() : [v];
  };

  Page.prototype._api = function (host) {
    var pre = window.dwTopologyPrefetch, answer;
    if (pre && pre.host === host) {
      window.dwTopologyPrefetch = null;  // only for the first load
      answer = pre.answer;
    } else {
      answer = fetch(this.config.api.replace("HOST", encodeURIComponent(host)), { credentials: "same-origin",
        headers: { "Accept": "application/json" } });
    }
    return answer.then(function (r) {
      if (!r.ok) throw new Error("topology of " + host + ": HTTP " + r.status);
      return r.json();
    });
  };

  Page.prototype.showHosts = function (hosts) {
    var self = this, g = this.graph;
    this.hostsShown.filter(function (h) { return hosts.indexOf(h) < 0; }).forEach(function (h) {
      g.unload(h); delete self.seq[h]; delete self.held[h];
    });
    this.hostsShown = hosts;
    // While a host's graph is on its way, its patches are held, then only later ones applied.
    hosts.forEach(function (h) { if (!self.held[h]) self.held[h] = []; });
    var empty = document.getElementById("topo-empty");
    if (empty) empty.hidden = false;
    return Promise.all(hosts.map(function (h) { return self._api(h).then(function (data) { return [h, data]; }); }))
      .then(function (results) {
        results.forEach(function (r) { g.load(r[0], r[1]); self._loaded(r[0], r[1].seq); });
        if (results.length > 1) g.fit();
        if (empty) empty.hidden = true;
        self._refreshNetworks();
        self._updateStats();
        return new Promise(function (resolve) {
          // Settled at the first paint of the graph (cytoscape draws on the next frame).
          requestAnimationFrame(function () { requestAnimationFrame(function () { resolve(); }); });
        });
      }).catch(function (err) {
        if (empty) { empty.hidden = false; empty.textContent = "Could not load the graph: " + err.message; }
        throw err;
      });
  };

  Page.prototype._wireForm = function () {
    var self = this, f = this.form, g = this.graph, timer = null;
    f.elements.host.addEventListener("change", function () {
      var hosts = self._selectedHosts();
      self.showHosts(hosts).then(function () { self._subscribe(); });
      if (hosts.length === 1) history.replaceState(null, "", "?host=" + encodeURIComponent(hosts[0]));
    });
    function filters() {
      g.setFilters({ network: f.elements.network.value, label: f.elements.label.value, state: f.elements.state.value,
        volumes: f.elements.volumes.checked, ports: f.elements.ports.checked });
    }
    ["network", "state", "volumes", "ports"].forEach(function (n) { f.elements[n].addEventListener("change", function () { filters(); g.fit(); }); });
    f.elements.collapse.addEventListener("change", function () { g.collapseAll(f.elements.collapse.checked); g.fit(); self._updateStats(); });
    f.elements.label.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(filters, 200); });
    f.elements.q.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { g.search(f.elements.q.value); }, 150);
    });
    document.querySelectorAll(".topo-actions button").forEach(function (b) {
      b.addEventListener("click", function () {
        var a = b.getAttribute("data-action"), name = "topology-" + self.hostsShown.join("-") + "-" + new Date().toISOString().slice(0, 19).replace(/[:T]/g, "");
        if (a === "fit") g.fit();
        else if (a === "relayout") g.relayout();
        else if (a === "png") g.exportPng(name);
        else if (a === "svg") g.exportSvg(name);
      });
    });
  };

  Page.prototype.toggleCollapse = function (net) {
    var g = this.graph;
    g.collapse(net.data("host"), net.data("api_id"), !net.hasClass("collapsed"));
    if (!this.userMoved) g.fit();
    this._updateStats();
    if (this.shownEle === net) this.showDetails(net);
  };

  Page.prototype._refreshNetworks = function () {
    var sel = this.form.elements.network, cur = sel.value, names = {};
    this.cy.nodes(".network").forEach(function (n) { names[n.data("d").name] = 1; });
    var list = Object.keys(names).sort();
    var have = Array.prototype.slice.call(sel.options, 1).map(function (o) { return o.value; });
    if (same(list, have)) return;
    while (sel.options.length > 1) sel.remove(1);
    list.forEach(function (n) { sel.add(new Option(n, n)); });
    sel.value = list.indexOf(cur) >= 0 ? cur : "";
  };

  Page.prototype._updateStats = function () {
    var cy = this.cy;
    var running = cy.nodes(".container.st-running").length, all = cy.nodes(".container").length;
    function n(count, one, many) { return count + " " + (count === 1 ? one : many); }
    this.stats.textContent = n(all, "container", "containers") + " (" + running + " running) · " +
      n(cy.nodes(".network").length, "network", "networks") + " · " + n(cy.nodes(".volume.t-volume").length, "volume", "volumes") +
      " · " + n(cy.nodes(".port").length, "published port", "published ports");
  };

  // Details of a node or an edge, with links to the pages of the object.
  Page.prototype.showDetails = function (ele) {
    var box = this.details;
    this.shownEle = ele;
    box.textContent = "";
    if (!ele) { box.appendChild(el("p", { "class": "muted small" }, "Click a node or an edge for its details.")); return; }
    var d = ele.data("d") || {}, kind = ele.data("kind"), host = ele.data("host"), pages = this.config.pages, foldBtn = null;
    var head = el("h2", {}, ele.isNode() ? ele.data("full") : kind.replace("_", " "));
    box.appendChild(head);
    box.appendChild(el("div", { "class": "small muted" }, (ele.isNode() ? (d.type && d.type !== "volume" ? d.type + " mount" : kind) : ele.source().data("label") + " → " + ele.target().data("label")) + " on " + host));
    var dl = el("dl", { "class": "kv small" });
    function row(k, v) {
      if (v === undefined || v === null || v === "" || (Array.isArray(v) && !v.length)) return;
      if (typeof v === "object" && !Array.isArray(v)) {
        var ks = Object.keys(v); if (!ks.length) return;
        v = ks.map(function (x) { return x + "=" + v[x]; }).join("\n");
      } else if (Array.isArray(v)) v = v.join(", ");
      dl.appendChild(el("dt", {}, k));
      var dd = el("dd", {}, v === true ? "yes" : v === false ? "no" : v);
      dl.appendChild(dd);
    }
    if (kind === "container" && ele.isNode()) {
      row("state", d.status || d.state); row("image", d.image); row("id", d.short_id); row("network mode", d.network_mode);
      row("networks", d.networks); row("networks that no longer exist", d.missing_networks); row("IPs", d.ips); row("exposed", d.exposed); row("privileged", d.privileged || undefined);
      row("labels", d.labels);
    } else if (kind === "network" && ele.isNode()) {
      row("driver", d.driver); row("subnets", d.subnets); row("gateways", d.gateways); row("bridge", d.bridge);
      row("internal", d.internal); row("ICC", d.icc); row("attachable", d.attachable); row("IPv6", d.enable_ipv6);
      row("scope", d.scope); row("id", d.short_id); row("containers", ele.connectedEdges(".attached").filter(function (e) { return e.source().data("kind") === "container"; }).length);
      row("labels", d.labels);
      var page = this;
      foldBtn = el("button", { type: "button", "class": "small", id: "topo-collapse" },
        ele.hasClass("collapsed") ? "Show its containers" : "Fold its containers into a count");
      foldBtn.addEventListener("click", function () { page.toggleCollapse(ele); });
    } else if (kind === "volume" && ele.isNode()) {
      row("type", d.type); row("driver", d.driver); row("mountpoint", d.mountpoint); row("source", d.source);
      row("destination", d.destination); row("anonymous", d.anonymous || undefined); row("labels", d.labels);
      row("used by", ele.connectedEdges(".mounts").map(function (e) { return e.source().data("label") + ":" + e.data("d").destination + (e.data("d").read_only ? " (ro)" : ""); }));
    } else if (kind === "port") {
      row("host address", d.address); row("container port", d.container_port + "/" + d.protocol);
      row("all interfaces", d.all_interfaces);
    } else if (kind === "host") {
      row("status", d.status); row("engine", d.engine_version); row("URL", d.url); row("swarm", d.swarm);
      var bridges = ele.connectedEdges(".attached").map(function (e) { return e.data("d").interface + (e.data("d").ip ? " " + e.data("d").ip : ""); });
      row("interfaces", bridges);
      row("published", this.cy.nodes(".port").filter(function (p) { return p.data("host") === host; }).map(function (p) { return p.data("d").address + "/" + p.data("d").protocol; }));
    } else {
      Object.keys(d).forEach(function (k) { row(k.replace("_", " "), d[k]); });
    }
    box.appendChild(dl);
    if (foldBtn) box.appendChild(foldBtn);
    // CPU and memory of a running container: one reading of the stats API (it takes about a second).
    if (kind === "container" && ele.isNode() && d.state === "running") {
      var hint = el("dd", { "class": "stats-hint" }, "…");
      dl.appendChild(el("dt", {}, "CPU / memory")); dl.appendChild(hint);
      fetch("/api/hosts/" + encodeURIComponent(host) + "/containers/" + encodeURIComponent(d.name) + "/stats/",
        { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (s) {
          function size(n) { return n >= 1073741824 ? (n / 1073741824).toFixed(1) + " GiB" : (n / 1048576).toFixed(1) + " MiB"; }
          hint.textContent = s ? s.cpu_percent.toFixed(1) + " % · " + size(s.memory_usage) + " of " + size(s.memory_limit) : "—";
        }).catch(function () { hint.textContent = "—"; });
    }
    var links = el("div", { "class": "topo-links" });
    function link(label, page, name) {
      links.appendChild(el("a", { href: page + "?host=" + encodeURIComponent(host) + "&name=" + encodeURIComponent(name) }, label));
    }
    if (kind === "container" && ele.isNode()) link("Open container →", pages.container, d.name);
    if (kind === "network" && ele.isNode()) link("Open network →", pages.network, d.name);
    if (kind === "volume" && d.type === "volume") link("Open volume →", pages.volume, d.name);
    if (ele.isNode()) {
      ele.neighborhood("node").forEach(function (n) {
        var nd = n.data("d") || {};
        if (n.data("kind") === "network") link("Network " + nd.name, pages.network, nd.name);
        else if (n.data("kind") === "container") link("Container " + nd.name, pages.container, nd.name);
      });
    }
    if (links.childNodes.length) box.appendChild(links);
    // "Ping <peer> from here": a one-off `ping -c 1` in the container (POST …/exec/), to each
    // container it shares a network with — by name on user-defined networks, by IP on the
    // default bridge (no names there) — or to the other end of a selected link. For the roles
    // that may run commands (the top bar shows the role; the server judges again).
    var role = (document.querySelector(".topbar .role") || {}).textContent, peers = [], seen = {};
    function peer(from, to, target, how) {
      if (seen[from + ">" + target] || peers.length >= 8) return;
      seen[from + ">" + target] = true; peers.push([from, to, target, how]);
    }
    var ends = ele.isNode() ? [ele] : [ele.source(), ele.target()];
    if (ele.isNode() && kind === "container") {
      ele.connectedEdges(".attached").forEach(function (a) {
        a.target().connectedEdges(".attached").forEach(function (b) {
          var o = b.source();
          if (o.id() === ele.id() || o.data("kind") !== "container") return;
          var net = (b.data("d") || {}).network, ip = (b.data("d") || {}).ip;
          if (net === "bridge") { if (ip) peer(d.name, o.data("d").name, ip, "by IP on bridge"); }
          else peer(d.name, o.data("d").name, o.data("d").name, "by name on " + net);
        });
      });
    } else if (!ele.isNode() && ends[0].data("kind") === "container" && ends[1].data("kind") === "container") {
      peer(ends[0].data("d").name, ends[1].data("d").name, (d.alias || ends[1].data("d").name), "by " + (d.alias ? "link alias" : "name"));
    }
    var src = ends[0].data("d") || {};
    if (peers.length && (role === "operator" || role === "admin") && src.state === "running") {
      var bar = el("div", { "class": "topo-links" }), out = el("pre", { "class": "cli", id: "topo-ping-out", hidden: "" });
      peers.forEach(function (p) {
        var b = el("button", { type: "button", "class": "small topo-ping", title: "docker exec " + p[0] + " ping -c 1 " + p[2] }, "Ping " + p[1] + " from here (" + p[3] + ")");
        b.addEventListener("click", function () {
          b.disabled = true; out.hidden = false; out.textContent = "ping -c 1 " + p[2] + " …";
          fetch("/api/hosts/" + encodeURIComponent(host) + "/containers/" + encodeURIComponent(p[0]) + "/exec/", {
            method: "POST", credentials: "same-origin", body: JSON.stringify({ cmd: ["ping", "-c", "1", "-W", "2", p[2]], timeout: 15 }),
            headers: { "Content-Type": "application/json", "X-CSRFToken": window.dockerweb.csrf() }
          }).then(function (r) { return r.json().then(function (j) { if (!r.ok) throw new Error(j.detail || "HTTP " + r.status); return j; }); })
            .then(function (j) { out.textContent = j.output + "— " + (j.timed_out ? "stopped at the time limit" : "exit code " + j.exit_code); })
            .catch(function (e) { out.textContent = e.message; })
            .then(function () { b.disabled = false; });
        });
        bar.appendChild(b);
      });
      box.appendChild(bar);
      box.appendChild(out);
    }
  };

  // ---- live -----------------------------------------------------------------------------------
  Page.prototype._setLive = function (state, text) {
    this.liveBadge.setAttribute("data-state", state);
    this.liveBadge.textContent = text;
  };

  Page.prototype._connect = function () {
    var self = this, proto = location.protocol === "https:" ? "wss://" : "ws://";
    this.ws = new WebSocket(proto + location.host + this.config.ws);
    this._setLive("connecting", "connecting…");
    this.ws.onopen = function () { self.backoff = 250; self._subscribe(); };
    this.ws.onmessage = function (msg) {
      var m;
      try { m = JSON.parse(msg.data); } catch (e) { return; }
      if (m.type === "topology.patch") self._onPatch(m);
      else if (m.type === "topology.resync") self._resync(m.host);
      else if (m.type === "subscribed" && m.hosts) self._onSubscribed(m);
    };
    this.ws.onclose = function (ev) {
      if (ev.code === 4401 || ev.code === 4403) { self._setLive("off", "signed out"); return; }
      self._setLive("off", "reconnecting…");
      self.backoff = Math.min((self.backoff || 250) * 2, 15000);
      setTimeout(function () { self._connect(); }, self.backoff);
    };
  };

  Page.prototype._subscribe = function () {
    if (this.ws && this.ws.readyState === 1) this.ws.send(JSON.stringify({ type: "subscribe", hosts: this.hostsShown }));
  };

  Page.prototype._onSubscribed = function (m) {
    var self = this;
    this._setLive("on", "live");
    this.subscribed = m.hosts;
    // The socket starts at the seq it reports: a graph fetched at another seq (older, or made
    // before a reconnect or a server restart) is fetched again.
    Object.keys(m.seq || {}).forEach(function (h) {
      self.subSeq[h] = m.seq[h];
      if (self.seq[h] !== undefined && self.seq[h] !== m.seq[h]) self._resync(h);
    });
    if (m.refused && m.refused.length) this._setLive("on", "live (not allowed: " + m.refused.join(", ") + ")");
  };

  /** A host's graph arrived (at `seq`): apply what was held for it that is newer. */
  Page.prototype._loaded = function (host, seq) {
    var held = this.held[host] || [];
    delete this.held[host];
    this.seq[host] = typeof seq === "number" ? seq : 0;
    if (this.subSeq[host] !== undefined && this.subSeq[host] > this.seq[host] &&
        !held.some(function (m) { return m.seq === this.seq[host] + 1; }, this)) {
      this._resync(host);  // the socket was already further than this graph, and nothing fills the gap
      return;
    }
    held.sort(function (a, b) { return a.seq - b.seq; }).forEach(function (m) { this._onPatch(m); }, this);
  };

  /** Patches of a host apply in `seq` order, each exactly once; a gap means some were lost. */
  Page.prototype._onPatch = function (m) {
    if (this.hostsShown.indexOf(m.host) < 0) return;
    if (this.held[m.host]) { this.held[m.host].push(m); return; }
    var have = this.seq[m.host];
    if (m.seq <= have) return;
    if (m.seq > have + 1) { this._resync(m.host); return; }
    this.seq[m.host] = m.seq;
    this._enqueue(m);
  };

  /** Fetch a host's graph again (diffed: places kept); patches wait meanwhile. */
  Page.prototype._resync = function (host) {
    var self = this;
    if (this.hostsShown.indexOf(host) < 0 || this.held[host]) return;
    this.held[host] = [];
    this._api(host).then(function (data) {
      self.graph.load(host, data);
      self._loaded(host, data.seq);
      self._refreshNetworks();
      self._updateStats();
    }).catch(function () {
      delete self.held[host];
      setTimeout(function () { self._resync(host); }, 1000);
    });
  };

  // Patches are applied once per animation frame, however many arrive in between.
  Page.prototype._enqueue = function (m) {
    var self = this;
    this.queue.push(m);
    if (this.flushScheduled) return;
    if (performance.now() - (this.lastFlush || 0) > 50) { this._flushQueue(); return; }  // idle: no need to wait
    this.flushScheduled = true;
    var done = false;
    function run() { if (done) return; done = true; self.flushScheduled = false; self._flushQueue(); }
    requestAnimationFrame(run);
    setTimeout(run, 100);  // background tabs get no frames
  };

  Page.prototype._flushQueue = function () {
    var q = this.queue, self = this;
    this.lastFlush = performance.now();
    this.queue = [];
    var byHost = {};
    q.forEach(function (m) {
      if (self.hostsShown.indexOf(m.host) < 0) return;
      var list = byHost[m.host] = byHost[m.host] || [];
      m.ops.forEach(function (op) { list.push(op); });
    });
    var added = 0;
    Object.keys(byHost).forEach(function (h) { added += self.graph.applyOps(h, byHost[h]); });
    var t = performance.timeOrigin + performance.now();
    if (added) {
      this._refreshNetworks();
      if (!this.userMoved) {
        clearTimeout(this.fitTimer);
        this.fitTimer = setTimeout(function () { self.graph.fit(); }, 400);
      }
    }
    this._updateStats();
    this.graph._emit("applied", { ops: q, t: t });
  };

  window.DockerwebTopology = {
    mount: mount, Graph: Graph, cyId: cyId,
    graphOf: function (element) { return mounted.get(element) || null; },
    page: function (element, config) { return new Page(element, config); }
  };
})();
