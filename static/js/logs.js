// The logs page: lines loaded from the logs API, or followed live on the /ws/logs/ socket.
//
// A chatty container must not freeze the page, so the view is virtual: it keeps the newest
// MAX_KEEP lines in memory (older ones leave it, which the status says) and puts in the page
// only the few rows that fit the window, drawn again once per animation frame at most.
// Arriving lines wait in a queue and are taken into the view once a frame, as many as
// FRAME_MS allows; when more than MAX_WAITING wait (the page cannot keep up), the oldest
// waiting ones are dropped and counted, beside the lines the server dropped (`dropped` in its
// messages, when the connection or this page, which acknowledges each message, could not keep
// up). Nothing is lost silently.
(function () {
  "use strict";
  var cfgEl = document.getElementById("logs-config");
  if (!cfgEl) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var MAX_KEEP = 10000, MAX_WAITING = 20000, FRAME_MS = 6;

  var form = document.getElementById("logs-form");
  var out = document.getElementById("logs-out");
  var statusEl = document.getElementById("logs-status");
  var droppedEl = document.getElementById("logs-dropped");
  var followBox = document.getElementById("logs-follow");
  var searchEl = document.getElementById("logs-search");
  var onlyMatching = document.getElementById("logs-only-matching");
  var showOut = document.getElementById("logs-show-stdout");
  var showErr = document.getElementById("logs-show-stderr");
  var download = document.getElementById("logs-download");

  // The virtual view: a spacer as tall as all shown lines, and the rows that fit the window.
  var spacer = document.createElement("div");
  spacer.className = "logs-spacer";
  var rowsBox = document.createElement("div");
  rowsBox.className = "logs-rows";
  out.appendChild(spacer);
  out.appendChild(rowsBox);
  var rowHeight = 18, rows = [];

  var kept = [];                // the view's lines, oldest first
  var shown = null;             // indexes in `kept` of the lines the filters let through; null: all
  var waiting = [], waitingFrom = 0;
  var frameAsked = false, stick = true, lastFirst = -1;
  var received = 0, leftView = 0, droppedServer = 0, droppedPage = 0;
  var ws = null, following = false, statusText = "", needle = "";

  function fmt(n) { return n.toLocaleString(); }

  // ---- filters --------------------------------------------------------------------------------
  function filtering() { return !showOut.checked || !showErr.checked || (onlyMatching.checked && !!needle); }
  function hit(l) { return !!needle && l.text.toLowerCase().indexOf(needle) >= 0; }
  function passes(l) {
    if (l.stream === "stderr" ? !showErr.checked : !showOut.checked) return false;
    return !(onlyMatching.checked && needle) || hit(l);
  }
  function refilter() {
    if (!filtering()) { shown = null; return; }
    shown = [];
    for (var i = 0; i < kept.length; i++) if (passes(kept[i])) shown.push(i);
  }
  function shownCount() { return shown ? shown.length : kept.length; }

  // ---- drawing --------------------------------------------------------------------------------
  function fill(row, l) {
    row.textContent = "";
    row.className = l.stream === "stderr" ? "ln err" : "ln out";
    if (l.ts) {
      var ts = document.createElement("span");
      ts.className = "ts";
      ts.textContent = l.ts.slice(0, 23).replace("T", " ");
      row.appendChild(ts);
    }
    var text = l.text, at = 0, i, low = needle ? text.toLowerCase() : "";
    while (needle && (i = low.indexOf(needle, at)) >= 0) {
      if (i > at) row.appendChild(document.createTextNode(text.slice(at, i)));
      var mark = document.createElement("mark");
      mark.textContent = text.slice(i, i + needle.length);
      row.appendChild(mark);
      at = i + needle.length;
    }
    row.appendChild(document.createTextNode(at ? text.slice(at) : text));
    row.title = text.length > 120 ? text.slice(0, 4000) : "";
  }

  function render() {
    var count = shownCount(), view = out.clientHeight;
    spacer.style.height = (count * rowHeight) + "px";
    if (stick) out.scrollTop = out.scrollHeight;
    var first = Math.max(0, Math.floor(out.scrollTop / rowHeight));
    var need = Math.min(count - first, Math.ceil(view / rowHeight) + 1);
    while (rows.length < need) {
      var r = document.createElement("div");
      rowsBox.appendChild(r);
      rows.push(r);
    }
    for (var i = 0; i < rows.length; i++) {
      if (i < need) {
        rows[i].hidden = false;
        fill(rows[i], kept[shown ? shown[first + i] : first + i]);
      } else {
        rows[i].hidden = true;
      }
    }
    rowsBox.style.transform = "translateY(" + (first * rowHeight) + "px)";
    lastFirst = first;
  }

  function ask() {
    if (!frameAsked) { frameAsked = true; requestAnimationFrame(frame); }
  }

  function frame() {
    frameAsked = false;
    var started = performance.now(), filt = filtering();
    // Lines that would leave the view at once are not taken in at all.
    var skip = waiting.length - waitingFrom - MAX_KEEP;
    if (skip > 0) { waitingFrom += skip; leftView += skip; }
    // Take waiting lines into the view, time-boxed: a slow machine takes fewer (and drops more)
    // instead of freezing.
    while (waitingFrom < waiting.length && performance.now() - started < FRAME_MS) {
      var end = Math.min(waiting.length, waitingFrom + 500);
      for (var i = waitingFrom; i < end; i++) {
        var l = waiting[i];
        kept.push(l);
        if (filt && passes(l)) shown.push(kept.length - 1);
      }
      waitingFrom = end;
    }
    if (waitingFrom === waiting.length) { waiting = []; waitingFrom = 0; }
    else if (waitingFrom > 50000) { waiting = waiting.slice(waitingFrom); waitingFrom = 0; }
    var extra = kept.length - MAX_KEEP;
    if (extra > 0) {
      kept.splice(0, extra);
      leftView += extra;
      if (shown) {
        var from = 0;
        while (from < shown.length && shown[from] < extra) from++;
        shown = shown.slice(from).map(function (x) { return x - extra; });
      }
      // A reader scrolled up keeps reading the same lines.
      if (!stick) out.scrollTop = Math.max(0, out.scrollTop - extra * rowHeight);
    }
    render();
    showCounts();
    if (waiting.length > waitingFrom) ask();
  }

  function add(lines) {
    received += lines.length;
    for (var i = 0; i < lines.length; i++) waiting.push(lines[i]);
    var over = waiting.length - waitingFrom - MAX_WAITING;
    if (over > 0) { waitingFrom += over; droppedPage += over; }
    ask();
  }

  function clear() {
    kept = []; shown = filtering() ? [] : null; waiting = []; waitingFrom = 0;
    received = 0; leftView = 0; droppedServer = 0; droppedPage = 0; stick = true;
    ask();
  }

  out.addEventListener("scroll", function () {
    stick = out.scrollTop + out.clientHeight >= out.scrollHeight - rowHeight;
    // The page's own scroll to the bottom moves no row: nothing to draw again.
    if (Math.floor(out.scrollTop / rowHeight) !== lastFirst) ask();
  }, { passive: true });
  window.addEventListener("resize", ask);

  // ---- status ---------------------------------------------------------------------------------
  function status(text, bad) {
    statusText = text;
    statusEl.className = bad ? "error" : "muted";
    showCounts();
  }

  function showCounts() {
    var parts = [statusText];
    if (received) parts.push(fmt(received) + " lines received");
    if (leftView) parts.push("showing the newest " + fmt(kept.length) + " (" + fmt(leftView) + " older left the view)");
    if (needle) {
      var hits = 0;
      for (var i = 0; i < kept.length; i++) if (hit(kept[i])) hits++;
      parts.push(fmt(hits) + " matching");
    }
    statusEl.textContent = parts.filter(Boolean).join(" · ");
    var dropped = droppedServer + droppedPage;
    droppedEl.hidden = !dropped;
    if (dropped) {
      droppedEl.textContent = fmt(dropped) + " lines dropped: " + fmt(droppedServer) + " by the server (the connection " +
        "or this page could not keep up), " + fmt(droppedPage) + " by this page (it could not take them fast enough)";
    }
  }

  // ---- loading --------------------------------------------------------------------------------
  function since() {
    var v = form.elements.since.value;
    if (!v) return "";
    var d = new Date(v);  // datetime-local is the browser's own time zone
    return isNaN(d.getTime()) ? "" : d.toISOString();
  }

  function tail() {
    var n = parseInt(form.elements.tail.value, 10);
    return isNaN(n) ? 1000 : Math.max(0, Math.min(10000, n));
  }

  function params(withTail) {
    var p = new URLSearchParams();
    if (withTail) p.set("tail", String(tail()));
    if (since()) p.set("since", since());
    p.set("stream", form.elements.stream.value);
    p.set("timestamps", form.elements.timestamps.checked ? "true" : "false");
    return p;
  }

  function updateDownload() {
    download.href = cfg.download + "?" + params(false).toString();
  }

  function load() {
    stopFollowing();
    followBox.checked = false;
    status("Loading…");
    var p = params(true);
    p.set("timestamps", "true");  // shown or not by the checkbox, without asking again
    fetch(cfg.api + "?" + p.toString(), { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      })
      .then(function (res) {
        if (!res.ok) { status(res.body.detail || "The log could not be read.", true); return; }
        clear();
        add(res.body.lines);
        status(res.body.lines.length ? (res.body.truncated ? "Older lines left out (8 MiB at most)" : "") : "No lines.");
      })
      .catch(function (err) { status("The log could not be read: " + err.message, true); });
  }

  // ---- following ------------------------------------------------------------------------------
  function stopFollowing() {
    following = false;
    if (ws) {
      var old = ws;
      ws = null;
      try { old.send(JSON.stringify({ type: "stop" })); } catch (e) { /* already closed */ }
      old.close();
    }
  }

  function follow() {
    stopFollowing();
    following = true;
    var proto = location.protocol === "https:" ? "wss://" : "ws://";
    var sock = ws = new WebSocket(proto + location.host + cfg.socket);
    status("Connecting…");
    sock.onopen = function () {
      // acks: the server sends only while this page keeps up (it drops and counts otherwise).
      sock.send(JSON.stringify({ type: "follow", host: cfg.host, container: cfg.container, tail: tail(), acks: true }));
    };
    sock.onmessage = function (msg) {
      if (sock !== ws) return;
      var m;
      try { m = JSON.parse(msg.data); } catch (e) { return; }
      if (m.type === "logs.lines") {
        droppedServer += m.dropped || 0;
        add(m.lines);
        sock.send('{"type":"ack"}');
      } else if (m.type === "following") {
        clear();
        status("Following" + (m.tty ? " (a TTY: everything is stdout)" : ""));
      } else if (m.type === "logs.end" || m.type === "error") {
        status(m.reason || m.detail, m.type === "error");
        following = false;
        followBox.checked = false;
      }
    };
    sock.onclose = function (ev) {
      if (sock !== ws) return;
      ws = null;
      if (following) {
        status(ev.code === 4401 || ev.code === 4403 ? "Signed out." : "The connection closed.", true);
        following = false;
        followBox.checked = false;
      }
    };
  }

  // ---- controls -------------------------------------------------------------------------------
  function filtersChanged() {
    refilter();
    ask();
  }
  document.getElementById("logs-load").addEventListener("click", load);
  followBox.addEventListener("change", function () {
    if (followBox.checked) follow();
    else { stopFollowing(); status("Stopped following."); }
  });
  form.addEventListener("change", function (e) {
    if (e.target.name === "timestamps") out.classList.toggle("no-ts", !e.target.checked);
    updateDownload();
  });
  form.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && e.target.tagName === "INPUT" && e.target.type !== "checkbox") { e.preventDefault(); load(); }
  });
  [showOut, showErr, onlyMatching].forEach(function (box) { box.addEventListener("change", filtersChanged); });
  var searchTimer = null;
  searchEl.addEventListener("input", function () {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(function () {
      needle = searchEl.value.toLowerCase();
      filtersChanged();
      showCounts();
    }, 150);
  });

  // The row height comes from the stylesheet (one row, measured once).
  var probe = document.createElement("div");
  probe.className = "ln";
  probe.textContent = "x";
  rowsBox.appendChild(probe);
  rowHeight = probe.getBoundingClientRect().height || rowHeight;
  rowsBox.removeChild(probe);

  window.addEventListener("pagehide", stopFollowing);
  updateDownload();
  if (cfg.running) { followBox.checked = true; follow(); } else load();
})();
