"""The topology page timed from outside (bench_topology.py, bench_scale.py): an init script for
Playwright's `add_init_script` that watches the page through its public API (static/js/topology.js),
so the page itself carries no benchmark code.

In the page, after it:
- `window.__topoTiming`, of the first graph shown, in `performance.now()` ms: `script` the page
  started (DockerwebTopology.page), `fetched` the API answers were in (the first Graph.load),
  `loaded` the graph was built (the last Graph.load returned), `painted` it was drawn (the page's
  `ready` settled); `elements` how many it holds.
- `window.__topoApplied`: `patches`, the `topology.patch` messages the page applied, and `ops`,
  by "<op> <api id>" (e.g. "add ctr:<id>"), the first time it was applied: `t` when (epoch ms,
  the graph's "applied" event) and `rx` when its message arrived on the socket (epoch ms)."""

TIMING_JS = r"""
(function () {
  var T = window.__topoTiming = {};
  var A = window.__topoApplied = { patches: 0, ops: {} };
  var rx = {};  // "host/seq" -> epoch ms the patch arrived
  var Native = window.WebSocket;
  function Socket(url, protocols) {
    var ws = protocols === undefined ? new Native(url) : new Native(url, protocols);
    // Added before the page sets onmessage: runs first, as the message arrives.
    ws.addEventListener("message", function (e) {
      var now = performance.timeOrigin + performance.now(), m;
      try { m = JSON.parse(e.data); } catch (err) { return; }
      if (m.type === "topology.patch") rx[m.host + "/" + m.seq] = now;
    });
    return ws;
  }
  Socket.prototype = Native.prototype;
  ["CONNECTING", "OPEN", "CLOSING", "CLOSED"].forEach(function (k) { Socket[k] = Native[k]; });
  window.WebSocket = Socket;

  // Before topology-page.js's own listener (init scripts run first), after topology.js ran.
  document.addEventListener("DOMContentLoaded", function () {
    var DT = window.DockerwebTopology;
    if (!DT) return;
    var load = DT.Graph.prototype.load, page = DT.page;
    DT.Graph.prototype.load = function () {
      if (T.fetched === undefined) T.fetched = performance.now();
      var placed = load.apply(this, arguments);
      if (T.painted === undefined) T.loaded = performance.now();
      return placed;
    };
    DT.page = function (element, config) {
      T.script = performance.now();
      var p = page.call(DT, element, config);
      p.ready.then(function () {
        if (T.painted === undefined) { T.painted = performance.now(); T.elements = p.cy.elements().length; }
      });
      p.graph.on("applied", function (e) {
        e.ops.forEach(function (m) {
          A.patches += 1;
          m.ops.forEach(function (op) {
            var key = op.op + " " + op.id;
            if (!A.ops[key]) A.ops[key] = { t: e.t, rx: rx[m.host + "/" + m.seq] };
          });
        });
      });
      return p;
    };
  });
})();
"""

# The page has drawn its first graph (wait_for_function).
PAINTED = "() => window.__topoTiming && window.__topoTiming.painted !== undefined"
