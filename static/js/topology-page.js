// The topology page's start-up, read from the page's json_script config (no inline script: CSP).
// Loaded before the graph library: it asks for the graph at once, so the answer is on its way
// while cytoscape is parsed; topology.js picks it up (window.dwTopologyPrefetch). The page itself
// starts when the document is parsed, after topology.js has run.
(function () {
  var config = JSON.parse(document.getElementById("topo-config").textContent);
  if (config.host && config.hosts.indexOf(config.host) >= 0) {
    window.dwTopologyPrefetch = { host: config.host, answer: fetch(config.api.replace("HOST", encodeURIComponent(config.host)),
      { credentials: "same-origin", headers: { "Accept": "application/json" } }) };
  }
  document.addEventListener("DOMContentLoaded", function () {
    // The legend starts open only where it leaves the graph room (a wide canvas); folded it is a
    // small "Legend" tab in the corner that the graph's fit keeps clear of.
    var legend = document.getElementById("topo-legend"), canvas = document.getElementById("topo-graph");
    if (legend && canvas && canvas.clientWidth >= 1100) legend.open = true;
    window.dwTopologyPage = DockerwebTopology.page(document.getElementById("topo-graph"), config);
  });
})();
