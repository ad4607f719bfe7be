// The volume create form shows the `docker volume create …` line it stands for, updated on
// every keystroke, like the run and network forms (the same order as `docker volume create`'s
// own help: driver, options, labels, name; quoted as Python's shlex.quote would).
(function () {
  "use strict";
  var form = document.getElementById("volume-form");
  var out = document.getElementById("volume-cli");
  if (!form || !out) return;

  function val(name) {
    var el = form.elements[name];
    return el ? (el.value || "").trim() : "";
  }
  function q(s) {
    s = String(s);
    if (s === "") return "''";
    if (/^[\w@%+=:,.\/-]+$/.test(s)) return s;
    return "'" + s.replace(/'/g, "'\"'\"'") + "'";
  }
  // key=value lines, as the form reads them (volumes/forms.py): split at the first "=".
  function pairs(text) {
    var seen = {}, order = [];
    (text || "").split(/\n/).forEach(function (line) {
      line = line.trim();
      if (!line) return;
      var i = line.indexOf("=");
      var k = (i < 0 ? line : line.slice(0, i)).trim(), v = i < 0 ? "" : line.slice(i + 1).trim();
      if (!(k in seen)) order.push(k);
      seen[k] = v;
    });
    return order.map(function (k) { return [k, seen[k]]; });
  }

  function build() {
    var a = ["docker volume create"];
    var driver = val("driver");
    if (driver && driver !== "local") a.push("--driver " + q(driver));
    pairs(val("driver_opts")).forEach(function (p) { a.push("-o " + q(p[0] + "=" + p[1])); });
    pairs(val("labels")).forEach(function (p) { a.push("--label " + q(p[1] !== "" ? p[0] + "=" + p[1] : p[0])); });
    if (val("name")) a.push(q(val("name")));
    out.textContent = a.join(" ");
  }

  form.addEventListener("input", build);
  form.addEventListener("change", build);
  build();
})();
