// The console page: xterm.js on the /ws/exec/ socket (a `docker exec -it` session).
//
// Protocol (see dockerweb/containers/consumers.py): exec.start → exec.started; keystrokes and
// pastes as exec.input; the terminal's size as exec.resize (it follows the window); the
// process's output as exec.output; exec.exit when it ends; error {detail, field?}.
(function () {
  "use strict";
  var cfgEl = document.getElementById("console-config");
  if (!cfgEl || !window.Terminal) return;
  var cfg = JSON.parse(cfgEl.textContent);
  var form = document.getElementById("console-form");
  var statusEl = document.getElementById("console-status");
  var connectBtn = document.getElementById("console-connect");
  var disconnectBtn = document.getElementById("console-disconnect");
  var box = document.getElementById("console-term");
  var PIECE = 16384;  // characters per exec.input message (a big paste goes in pieces, in order)

  function status(text, bad) {
    statusEl.textContent = text;
    statusEl.className = bad ? "error" : "muted";
  }

  // xterm's DOM renderer writes its colours and sizes into <style> elements it makes; the page's
  // Content-Security-Policy (style-src 'self', no 'unsafe-inline') refuses those. xterm has no
  // option for this (no nonce, no stylesheet of its own for themes), so the same rules are put in
  // as constructed stylesheets, which the policy leaves to the page's own scripts (CSSOM). Each
  // <style> is taken out of the document once mirrored: xterm keeps writing to it, the browser
  // no longer reports it, and the mirror follows every change.
  function mirrorStyles(root) {
    if (!("adoptedStyleSheets" in document) || !window.CSSStyleSheet) return;
    var sheets = new Map();
    var watch = new MutationObserver(function (records) {
      records.forEach(function (r) {
        var n = r.target;
        while (n && n.nodeName !== "STYLE") n = n.parentNode;
        if (n) sync(n);
      });
    });
    function sync(style) {
      var sheet = sheets.get(style);
      if (!sheet) {
        sheet = new CSSStyleSheet();
        sheets.set(style, sheet);
        document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
        watch.observe(style, { childList: true, characterData: true, subtree: true });
      }
      sheet.replaceSync(style.textContent || "");
      if (style.parentNode) style.parentNode.removeChild(style);
    }
    var finder = new MutationObserver(function (records) {
      records.forEach(function (r) { r.addedNodes.forEach(function (n) { if (n.nodeName === "STYLE") sync(n); }); });
    });
    root.querySelectorAll("style").forEach(sync);
    root.querySelectorAll(".xterm-screen").forEach(function (s) { finder.observe(s, { childList: true }); });
    finder.observe(document.head, { childList: true });
  }

  var term = new window.Terminal({
    cursorBlink: true, scrollback: 5000, fontSize: 14,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
    theme: { background: "#0f1720", foreground: "#d8dee9", cursor: "#5fb3ff", selectionBackground: "#35506b" }
  });
  var fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(box);
  mirrorStyles(box);
  try { fit.fit(); } catch (e) { /* not laid out yet */ }

  var ws = null, live = false;

  function send(msg) { if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(msg)); }

  function words(text) {
    // Like a shell would, for the simple cases offered here: quotes keep spaces together.
    var out = [], re = /"([^"]*)"|'([^']*)'|(\S+)/g, m;
    while ((m = re.exec(text))) out.push(m[1] !== undefined ? m[1] : m[2] !== undefined ? m[2] : m[3]);
    return out;
  }

  function markField(name) {
    Array.prototype.forEach.call(form.elements, function (e) { e.classList.remove("invalid"); e.removeAttribute("aria-invalid"); });
    var f = name && form.elements[name];
    if (f) { f.classList.add("invalid"); f.setAttribute("aria-invalid", "true"); f.focus(); }
  }

  function setLive(on) {
    live = on;
    connectBtn.disabled = on;
    disconnectBtn.disabled = !on;
    Array.prototype.forEach.call(form.elements, function (e) { if (e.tagName === "INPUT") e.disabled = on; });
  }

  function connect() {
    if (ws) return;
    var cmd = words(form.elements.cmd.value);
    if (!cmd.length) { status("Name a command, e.g. sh.", true); markField("cmd"); return; }
    markField(null);
    try { fit.fit(); } catch (e) { /* keep the last size */ }
    term.reset();
    status("Connecting…");
    setLive(true);
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    ws = new WebSocket(scheme + location.host + cfg.socket);
    ws.onopen = function () {
      send({ type: "exec.start", host: cfg.host, container: cfg.container, cmd: cmd, tty: true,
        cols: term.cols, rows: term.rows, user: form.elements.user.value.trim(), workdir: form.elements.workdir.value.trim() });
    };
    ws.onmessage = function (ev) {
      var m = JSON.parse(ev.data);
      if (m.type === "exec.output") term.write(m.data);
      else if (m.type === "exec.started") { status("Connected: " + cmd.join(" ") + " (exec " + m.id.slice(0, 12) + ")."); term.focus(); }
      else if (m.type === "exec.exit") status("The session ended" + (m.exit_code === null || m.exit_code === undefined ? "." : " with exit code " + m.exit_code + "."));
      else if (m.type === "error") { status(m.detail, true); if (m.field) markField(m.field); }
    };
    ws.onclose = function (ev) {
      ws = null;
      setLive(false);
      if (ev.code === 4403) status("Refused: consoles need the operator role.", true);
      else if (ev.code === 4401) status("You were signed out; the session ended.", true);
      else if (statusEl.textContent.indexOf("Connecting") === 0) status("The connection was refused or lost.", true);
    };
  }

  function disconnect() { if (ws) ws.close(1000); }

  term.onData(function (data) {
    if (!live) return;
    for (var i = 0; i < data.length; i += PIECE) send({ type: "exec.input", data: data.slice(i, i + PIECE) });
  });
  term.onResize(function (size) { if (live) send({ type: "exec.resize", cols: size.cols, rows: size.rows }); });
  // The terminal follows the window (and the box, whatever changes its size).
  var pending = null;
  new ResizeObserver(function () {
    if (pending) return;
    pending = requestAnimationFrame(function () { pending = null; try { fit.fit(); } catch (e) { /* hidden */ } });
  }).observe(box);

  form.addEventListener("submit", function (e) { e.preventDefault(); connect(); });
  disconnectBtn.addEventListener("click", disconnect);
  // The server ends the session when the socket closes; say so at once when the page goes.
  window.addEventListener("pagehide", disconnect);
  // A session starts when asked (Connect, or Enter in a field): the command, user and working
  // directory are chosen first.
  if (!cfg.running) connectBtn.disabled = true;
  else connectBtn.focus();
})();
