// Live figures on a container's page: CPU, memory, network, block I/O and processes, drawn on
// small canvases from the stats API (polled every 2 s while the page is visible; each answer
// takes about a second, as the engine samples twice for the CPU figure). A container that is
// not running answers 409: the note says so and the page asks again every 10 s.
(function () {
  "use strict";
  var box = document.getElementById("stats");
  if (!box) return;
  var url = box.getAttribute("data-stats-url");
  var grid = box.querySelector(".stats-grid");
  var note = box.querySelector(".stats-note");
  var KEEP = 60, EVERY = 2000, IDLE_EVERY = 10000;
  var COLORS = ["#0b6bcb", "#c25b00"];

  function bytes(n) {
    var units = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (Math.abs(n) >= 1024 && i < units.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(n < 10 ? 2 : n < 100 ? 1 : 0) : Math.round(n)) + " " + units[i];
  }
  function rate(n) { return bytes(n) + "/s"; }

  // Each chart: a title, how to read its series from a sample (and the previous one), and how
  // to write its value.
  var charts = [
    { key: "cpu", title: "CPU", series: [function (s) { return s.cpu_percent; }],
      text: function (v) { return v[0].toFixed(1) + " %"; }, floor: 100 },
    { key: "memory", title: "Memory", series: [function (s) { return s.memory_usage; }],
      text: function (v, s) { return bytes(v[0]) + " / " + bytes(s.memory_limit); } },
    { key: "net", title: "Network rx / tx", series: [perSecond("net_rx"), perSecond("net_tx")],
      text: function (v) { return rate(v[0]) + " / " + rate(v[1]); } },
    { key: "block", title: "Block I/O read / write", series: [perSecond("block_read"), perSecond("block_write")],
      text: function (v) { return rate(v[0]) + " / " + rate(v[1]); } },
    { key: "pids", title: "Processes", series: [function (s) { return s.pids; }],
      text: function (v) { return String(v[0]); } }
  ];

  function perSecond(field) {
    return function (s, prev) {
      if (!prev) return 0;
      var dt = (s.t - prev.t) / 1000;
      return dt > 0 ? Math.max(0, (s[field] - prev[field]) / dt) : 0;
    };
  }

  charts.forEach(function (c) {
    var cell = document.createElement("div");
    cell.className = "stat";
    cell.setAttribute("data-stat", c.key);
    var head = document.createElement("div");
    head.className = "stat-head";
    var title = document.createElement("span");
    title.textContent = c.title;
    c.value = document.createElement("span");
    c.value.className = "stat-value";
    c.value.textContent = "—";
    head.appendChild(title);
    head.appendChild(c.value);
    c.canvas = document.createElement("canvas");
    c.canvas.setAttribute("aria-label", c.title + " over the last two minutes");
    c.canvas.setAttribute("role", "img");
    cell.appendChild(head);
    cell.appendChild(c.canvas);
    grid.appendChild(cell);
    c.points = [];
  });

  function draw(c) {
    var canvas = c.canvas, ratio = window.devicePixelRatio || 1;
    var w = canvas.clientWidth, h = canvas.clientHeight;
    if (!w || !h) return;
    if (canvas.width !== Math.round(w * ratio)) { canvas.width = Math.round(w * ratio); canvas.height = Math.round(h * ratio); }
    var g = canvas.getContext("2d");
    g.setTransform(ratio, 0, 0, ratio, 0, 0);
    g.clearRect(0, 0, w, h);
    var max = c.floor || 0;
    c.points.forEach(function (p) { p.forEach(function (v) { if (v > max) max = v; }); });
    max = max > 0 ? max * (c.floor ? 1 : 1.2) : 1;
    g.strokeStyle = "#dde3ea";
    g.beginPath(); g.moveTo(0, h - 0.5); g.lineTo(w, h - 0.5); g.stroke();
    var step = w / (KEEP - 1), start = KEEP - c.points.length;
    for (var k = 0; k < c.series.length; k++) {
      g.strokeStyle = COLORS[k];
      g.lineWidth = 1.5;
      g.beginPath();
      c.points.forEach(function (p, i) {
        var x = (start + i) * step, y = h - 2 - (p[k] / max) * (h - 4);
        if (i) g.lineTo(x, y); else g.moveTo(x, y);
      });
      g.stroke();
    }
  }

  var prev = null, timer = null, busy = false;

  function took(sample) {
    sample.t = Date.parse((sample.read || "").slice(0, 23) + "Z") || Date.now();
    charts.forEach(function (c) {
      var values = c.series.map(function (f) { return f(sample, prev); });
      c.points.push(values);
      if (c.points.length > KEEP) c.points.shift();
      c.value.textContent = c.text(values, sample);
      draw(c);
    });
    prev = sample;
  }

  function poll() {
    timer = null;
    if (document.hidden || busy) return;  // asked again when the page is shown
    busy = true;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.json().then(function (body) { return { status: r.status, body: body }; }); })
      .then(function (res) {
        busy = false;
        if (res.status === 200) {
          note.textContent = "";
          took(res.body);
          later(EVERY);
        } else {
          note.textContent = res.body.detail || "No figures right now.";
          prev = null;
          later(res.status === 409 ? IDLE_EVERY : EVERY * 3);
        }
      })
      .catch(function () { busy = false; note.textContent = "The figures could not be read; trying again."; later(EVERY * 3); });
  }

  function later(ms) { if (!timer) timer = setTimeout(poll, ms); }

  document.addEventListener("visibilitychange", function () { if (!document.hidden && !timer) poll(); });
  window.addEventListener("resize", function () { charts.forEach(draw); });
  poll();
})();
