// Live job progress bars (backups, restores) and the cron preview of schedule forms.
// Bars carry data-job="backup-12" and data-api="/api/backups/12/". The page subscribes to each
// job on the one websocket (/ws/topology/); if the socket closes, it polls the API instead.
(function () {
  if (window.dockerwebBackups) return;  // included by several panels of one page
  window.dockerwebBackups = true;
  var TERMINAL = { succeeded: 1, failed: 1, cancelled: 1 };

  function human(n) {
    if (n == null || isNaN(n)) return "";
    var u = ["B", "KiB", "MiB", "GiB", "TiB"], i = 0;
    while (Math.abs(n) >= 1024 && i < u.length - 1) { n /= 1024; i++; }
    return (i ? n.toFixed(1) : Math.round(n)) + " " + u[i];
  }
  function duration(s) {
    if (s == null) return "";
    s = Math.round(s);
    return s >= 3600 ? Math.floor(s / 3600) + " h " + Math.round((s % 3600) / 60) + " min"
      : s >= 60 ? Math.floor(s / 60) + " min " + (s % 60) + " s" : s + " s";
  }

  function bars(job) { return document.querySelectorAll('.jobprog[data-job="' + job + '"]'); }

  function apply(msg) {
    var key = msg.job || (msg.kind && msg.id ? msg.kind + "-" + msg.id : null);
    if (!key) return;
    bars(key).forEach(function (el) {
      var before = el.dataset.status;
      var pct = Math.round((msg.status === "succeeded" ? 1 : (msg.progress || 0)) * 100);
      el.dataset.status = msg.status;
      var fill = el.querySelector(".progress > div");
      if (fill) fill.style.width = pct + "%";
      var bar = el.querySelector(".progress");
      if (bar) bar.setAttribute("aria-valuenow", pct);
      var p = el.querySelector(".jobpct"); if (p) p.textContent = pct + "%";
      var t = el.querySelector(".jobtext");
      if (t) {
        var parts = [];
        if (msg.bytes_done) parts.push(human(msg.bytes_done) + (msg.bytes_total ? " of " + human(msg.bytes_total) : "") + " of file data");
        if (!TERMINAL[msg.status] && msg.throughput) parts.push(human(msg.throughput) + "/s");
        if (!TERMINAL[msg.status] && msg.eta != null) parts.push("ETA " + duration(msg.eta));
        t.textContent = parts.join(" · ");
      }
      var s = el.querySelector(".jobstatus");
      if (s) { s.textContent = msg.status; s.className = "badge status-" + msg.status + " jobstatus"; }
      document.querySelectorAll('[data-job-status="' + key + '"]').forEach(function (d) { d.textContent = msg.status; });
      if (el.dataset.reload && TERMINAL[msg.status] && !TERMINAL[before]) {
        setTimeout(function () { location.reload(); }, 1200);
      }
    });
  }

  function activeJobs() {
    var seen = {};
    document.querySelectorAll(".jobprog[data-job]").forEach(function (el) {
      if (!TERMINAL[el.dataset.status]) seen[el.dataset.job] = el.dataset.api;
    });
    return seen;
  }

  var polling = null;
  function poll() {
    var jobs = activeJobs();
    Object.keys(jobs).forEach(function (key) {
      if (!jobs[key]) return;
      fetch(jobs[key], { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (d) { if (d) apply(Object.assign({ job: key }, d)); })
        .catch(function () {});
    });
  }
  function startPolling() { if (!polling) { polling = setInterval(poll, 2000); poll(); } }

  function connect() {
    var all = document.querySelectorAll(".jobprog[data-job]");
    if (!all.length) return;
    var jobs = activeJobs();
    if (!Object.keys(jobs).length) return;
    var ws;
    try {
      ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws/topology/");
    } catch (e) { startPolling(); return; }
    ws.onopen = function () {
      Object.keys(jobs).forEach(function (key) { ws.send(JSON.stringify({ type: "subscribe_job", job: key })); });
      poll();  // catch up on what happened before the subscription
    };
    ws.onmessage = function (e) {
      var msg; try { msg = JSON.parse(e.data); } catch (err) { return; }
      if (msg.type === "job.progress") apply(msg);
    };
    ws.onclose = function () { startPolling(); };
  }

  // Cron preview: "At 03:00 AM" and the next runs, as the expression is typed.
  function cronPreview() {
    document.querySelectorAll("[data-cron-preview]").forEach(function (box) {
      var form = box.closest("form"), input = form && form.querySelector('input[name="cron"]');
      if (!input) return;
      var timer = null;
      function update() {
        fetch("/api/schedules/preview/?cron=" + encodeURIComponent(input.value), { credentials: "same-origin" })
          .then(function (r) { return r.json().then(function (d) { return [r.ok, d]; }); })
          .then(function (res) {
            var ok = res[0], d = res[1];
            box.textContent = "";
            if (!ok) { box.className = "cron-preview small field-error"; box.textContent = d.detail || "Invalid"; return; }
            box.className = "cron-preview small";
            var p = document.createElement("p"); p.textContent = d.description; box.appendChild(p);
            var h = document.createElement("p"); h.textContent = "Next runs, in your time zone:"; box.appendChild(h);
            var ul = document.createElement("ul");
            (d.next_runs || []).forEach(function (t) { var li = document.createElement("li"); li.textContent = new Date(t).toLocaleString(); ul.appendChild(li); });
            box.appendChild(ul);
          }).catch(function () {});
      }
      input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(update, 300); });
      update();
    });
  }

  function init() { connect(); cronPreview(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
