// The run form shows the `docker run` line it stands for, updated on every keystroke, and lets a
// person pick one of the host's local images with a click.
(function () {
  var form = document.getElementById("run-form");
  var out = document.getElementById("docker-run-line");
  if (!form || !out) return;

  function val(name) {
    var el = form.elements[name];
    if (!el) return "";
    if (el.type === "checkbox") return el.checked;
    return (el.value || "").trim();
  }
  function lines(name, commas) {
    return String(val(name) || "").split(commas ? /[\n,]/ : /\n/).map(function (s) { return s.trim(); })
      .filter(function (s) { return s; });
  }
  // POSIX shell quoting: bare when safe, else single quotes.
  function q(s) {
    s = String(s);
    if (/^[A-Za-z0-9_\/.:=@%+,-]+$/.test(s)) return s;
    return "'" + s.replace(/'/g, "'\\''") + "'";
  }

  function build() {
    var a = ["docker", "run", "-d"];
    function flag(f, v) { a.push(f, q(v)); }
    if (val("tty")) a.push("-it");
    if (val("auto_remove")) a.push("--rm");
    if (val("name")) flag("--name", val("name"));
    var net = val("network");
    if (net && net !== "bridge") flag("--network", net);
    if (val("ipv4_address")) flag("--ip", val("ipv4_address"));
    if (val("ipv6_address")) flag("--ip6", val("ipv6_address"));
    lines("aliases", true).forEach(function (x) { flag("--network-alias", x); });
    lines("links", true).forEach(function (x) { flag("--link", x); });
    lines("ports").forEach(function (x) { flag("-p", x); });
    lines("expose", true).forEach(function (x) { flag("--expose", x); });
    if (val("publish_all")) a.push("-P");
    lines("volumes").forEach(function (x) { flag("-v", x); });
    lines("mounts").forEach(function (x) { flag("--mount", x); });
    lines("volumes_from", true).forEach(function (x) { flag("--volumes-from", x); });
    lines("environment").forEach(function (x) { flag("-e", x); });
    lines("labels").forEach(function (x) { flag("--label", x); });
    var policy = val("restart_policy");
    if (policy && policy !== "no") {
      var retries = val("max_retries");
      flag("--restart", policy === "on-failure" && retries ? policy + ":" + retries : policy);
    }
    if (val("privileged")) a.push("--privileged");
    if (val("pid_mode")) flag("--pid", val("pid_mode"));
    if (val("ipc_mode")) flag("--ipc", val("ipc_mode"));
    lines("cap_add", true).forEach(function (x) { flag("--cap-add", x); });
    lines("devices", true).forEach(function (x) { flag("--device", x); });
    a.push(val("image") ? q(val("image")) : "IMAGE");
    var cmd = val("command");
    if (cmd) a.push(cmd);  // already shell words, as typed
    out.textContent = a.join(" ");
  }

  form.addEventListener("input", build);
  form.addEventListener("change", build);
  Array.prototype.forEach.call(form.querySelectorAll("[data-image]"), function (b) {
    b.addEventListener("click", function () {
      form.elements.image.value = b.getAttribute("data-image");
      build();
    });
  });
  build();
})();
