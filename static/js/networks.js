// The network create form: shows the equivalent `docker network create …` line as you type
// (same order as dockerweb.networks.selectors.network_create_command) and shows only the
// fields of the chosen driver.
(function () {
  var form = document.getElementById("network-create");
  if (!form) return;
  var out = document.getElementById("cli-preview");

  function val(name) {
    var el = form.elements[name];
    if (!el) return "";
    if (el.type === "checkbox") return el.checked;
    return (el.value || "").trim();
  }
  // Python's shlex.quote
  function q(s) {
    s = String(s);
    if (s === "") return "''";
    if (/^[\w@%+=:,.\/-]+$/.test(s)) return s;
    return "'" + s.replace(/'/g, "'\"'\"'") + "'";
  }
  function kv(text) {
    var pairs = [];
    (text || "").split(/\n/).forEach(function (line) {
      line = line.trim();
      if (!line) return;
      var i = line.indexOf("=");
      pairs.push(i < 0 ? [line, ""] : [line.slice(0, i).trim(), line.slice(i + 1).trim()]);
    });
    return pairs;
  }
  function extraIpam(text) {
    var out = [];
    (text || "").split(/\n/).forEach(function (line) {
      if (!line.trim()) return;
      var c = {subnet: "", gateway: "", ip_range: "", aux: []};
      line.trim().split(/\s+/).forEach(function (word) {
        var i = word.indexOf("="), key = (i < 0 ? word : word.slice(0, i)).replace(/^-+/, "").replace(/-/g, "_"),
            value = i < 0 ? "" : word.slice(i + 1);
        if (key === "subnet" || key === "gateway" || key === "ip_range") c[key] = value;
        else if (key === "aux" || key === "aux_address") {
          var j = value.indexOf("=");
          if (j > 0) c.aux.push([value.slice(0, j), value.slice(j + 1)]);
        }
      });
      out.push(c);
    });
    return out;
  }

  function command() {
    var parts = ["docker network create"], driver = val("driver") || "bridge";
    if (driver !== "bridge") parts.push("--driver " + q(driver));
    var configs = [];
    var aux4 = kv(val("aux_addresses"));
    if (val("subnet") || val("gateway") || val("ip_range") || aux4.length)
      configs.push({subnet: val("subnet"), gateway: val("gateway"), ip_range: val("ip_range"), aux: aux4});
    if (val("subnet6") || val("gateway6") || val("ip_range6"))
      configs.push({subnet: val("subnet6"), gateway: val("gateway6"), ip_range: val("ip_range6"), aux: []});
    configs = configs.concat(extraIpam(val("extra_ipam")));
    configs.forEach(function (c) {
      if (c.subnet) parts.push("--subnet " + q(c.subnet));
      if (c.gateway) parts.push("--gateway " + q(c.gateway));
      if (c.ip_range) parts.push("--ip-range " + q(c.ip_range));
      c.aux.forEach(function (p) { parts.push("--aux-address " + q(p[0] + "=" + p[1])); });
    });
    if (val("ipam_driver") && val("ipam_driver") !== "default") parts.push("--ipam-driver " + q(val("ipam_driver")));
    kv(val("ipam_options")).forEach(function (p) { parts.push("--ipam-opt " + q(p[0] + "=" + p[1])); });
    if (val("enable_ipv6")) parts.push("--ipv6");
    if (val("internal")) parts.push("--internal");
    if (val("attachable")) parts.push("--attachable");
    var opts = kv(val("options")).filter(function (p) { return p[1] !== ""; });
    if (val("parent") && !form.elements["parent"].closest("[hidden]")) opts.push(["parent", val("parent")]);
    form.querySelectorAll("[data-option]").forEach(function (el) {
      var v = (el.value || "").trim();
      if (v && !el.closest("[hidden]")) opts.push([el.getAttribute("data-option"), v]);
    });
    opts.forEach(function (p) { parts.push("-o " + q(p[0] + "=" + p[1])); });
    kv(val("labels")).forEach(function (p) { parts.push("--label " + q(p[1] !== "" ? p[0] + "=" + p[1] : p[0])); });
    parts.push(q(val("name") || "NAME"));
    return parts.join(" ");
  }

  function showDriverFields() {
    var driver = val("driver") || "bridge";
    form.querySelectorAll("[data-show-driver]").forEach(function (el) {
      var show = el.getAttribute("data-show-driver").split(" ").indexOf(driver) >= 0;
      el.hidden = !show;
    });
  }

  function update() {
    showDriverFields();
    out.textContent = command();
  }
  form.addEventListener("input", update);
  form.addEventListener("change", update);
  update();
})();
