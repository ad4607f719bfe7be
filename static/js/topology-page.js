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
    window.dwTopologyPage = DockerwebTopology.page(document.getElementById("topo-graph"), config);
  });
})();
