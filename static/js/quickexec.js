// Quick actions that run a one-off command in a container (POST /api/hosts/H/containers/C/exec/)
// and show what it printed, declared in the markup (the CSP runs no inline script):
//   <button type="button" data-exec-host="local" data-exec-container="web"
//           data-exec-cmd='["ip", "addr"]' data-exec-out="addr-out">Show addresses</button>
//   <pre id="addr-out" class="exec-out" hidden></pre>
// Other scripts use `window.dockerweb.execRun(host, container, cmd, timeout)` (a Promise of the
// answer: {exit_code, output, truncated, timed_out}) and `window.dockerweb.execShow(answer, pre)`.
(function () {
  "use strict";
  var dw = window.dockerweb = window.dockerweb || {};

  dw.execRun = function (host, container, cmd, timeout) {
    var url = "/api/hosts/" + encodeURIComponent(host) + "/containers/" + encodeURIComponent(container) + "/exec/";
    return fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json",
        "X-CSRFToken": dw.csrf ? dw.csrf() : "" },
      body: JSON.stringify({ cmd: cmd, timeout: timeout || 30 })
    }).then(function (r) {
      return r.json().then(function (j) { if (!r.ok) throw new Error(j.detail || ("HTTP " + r.status)); return j; });
    });
  };

  dw.execShow = function (answer, pre) {
    var tail = answer.timed_out ? "stopped at the time limit" :
      "exit code " + answer.exit_code + (answer.exit_code === 0 ? "" : " (failed)");
    if (answer.truncated) tail += ", output cut at 1 MiB";
    pre.textContent = (answer.output || "") + (answer.output && !/\n$/.test(answer.output) ? "\n" : "") + "— " + tail;
    pre.classList.toggle("exec-failed", answer.timed_out || answer.exit_code !== 0);
    pre.hidden = false;
  };

  document.addEventListener("click", function (e) {
    var btn = e.target.closest && e.target.closest("button[data-exec-cmd]");
    if (!btn) return;
    var pre = document.getElementById(btn.getAttribute("data-exec-out"));
    var label = btn.textContent;
    btn.disabled = true;
    btn.textContent = "Running…";
    dw.execRun(btn.getAttribute("data-exec-host"), btn.getAttribute("data-exec-container"),
      JSON.parse(btn.getAttribute("data-exec-cmd")), Number(btn.getAttribute("data-exec-timeout")) || 30)
      .then(function (answer) { if (pre) dw.execShow(answer, pre); })
      .catch(function (err) {
        if (pre) { pre.textContent = err.message; pre.classList.add("exec-failed"); pre.hidden = false; }
      })
      .then(function () { btn.disabled = false; btn.textContent = label; });
  });
})();
