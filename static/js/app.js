// Times are rendered on the server in the zone the browser reports here (cookie `tz`).
(function () {
  try {
    var tz = Intl.DateTimeFormat().resolvedOptions().timeZone;
    var has = document.cookie.split("; ").some(function (c) { return c === "tz=" + encodeURIComponent(tz); });
    if (tz && !has) {
      document.cookie = "tz=" + encodeURIComponent(tz) + "; path=/; max-age=31536000; samesite=lax";
      if (document.querySelector("time")) location.reload();
    }
  } catch (e) { /* no Intl: times stay in UTC, which the title says */ }
})();

// The CSRF token for scripts that POST (Django's cookie).
window.dockerweb = window.dockerweb || {};
window.dockerweb.csrf = function () {
  var m = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
  return m ? decodeURIComponent(m[1]) : "";
};

// Page behaviour declared in the markup (the CSP runs no inline script or on*= attribute):
//   <form data-confirm="Remove …?">  asks first (static/js/confirm.js: the in-page dialog);
//   <form data-nosubmit>              is a filter panel that scripts read; Enter never submits it;
//   <select data-autosubmit>          submits its form when changed (the host switch);
//   <a data-back>                     goes back in history (the href is the fallback);
//   <input data-shown-when="kind=sftp"> its field (.field) shows only while the form's control
//                                     `kind` has that value ("repository=": while it is empty);
//   .progress[aria-valuenow] > div    is drawn that wide (style="" attributes are refused too).
document.addEventListener("submit", function (e) {
  var form = e.target;
  if (form.hasAttribute("data-nosubmit")) e.preventDefault();
}, true);
document.addEventListener("change", function (e) {
  if (e.target.matches && e.target.matches("select[data-autosubmit]") && e.target.form) e.target.form.submit();
});
document.addEventListener("click", function (e) {
  var link = e.target.closest && e.target.closest("a[data-back]");
  if (link && history.length > 1) { e.preventDefault(); history.back(); }
});
(function () {
  var forms = [];
  document.querySelectorAll("[data-shown-when]").forEach(function (el) {
    if (el.form && forms.indexOf(el.form) < 0) forms.push(el.form);
  });
  forms.forEach(function (form) {
    function update() {
      form.querySelectorAll("[data-shown-when]").forEach(function (el) {
        var rule = el.getAttribute("data-shown-when"), at = rule.indexOf("=");
        var control = form.elements[rule.slice(0, at)];
        var box = el.closest(".field") || el;
        box.hidden = !!control && control.value !== rule.slice(at + 1);
      });
    }
    form.addEventListener("change", update);
    update();
  });
})();
document.querySelectorAll(".progress[aria-valuenow] > div").forEach(function (fill) {
  fill.style.width = fill.parentNode.getAttribute("aria-valuenow") + "%";
});

// A form that came back with errors: show its first field in error (the banner above says how
// many and stays in sight), and put the cursor there.
(function () {
  var banner = document.querySelector("[data-form-errors]");
  if (!banner) return;
  var form = banner.closest("form") || document;
  var first = form.querySelector(".has-error") || banner;
  first.scrollIntoView({ block: "center" });
  var input = first.querySelector && first.querySelector("input:not([type=hidden]), select, textarea");
  if (input) { try { input.focus({ preventScroll: true }); } catch (e) { input.focus(); } }
})();

// The top menu folds into a "Menu" button when its links do not fit on one line (narrow
// windows, long user names): measured, not guessed from a width, so no link is ever cut off.
(function () {
  var bar = document.querySelector(".topbar"), nav = document.getElementById("mainnav"),
    toggle = document.getElementById("nav-toggle");
  if (!bar || !nav || !toggle) return;
  function open(yes) {
    bar.classList.toggle("nav-open", yes);
    toggle.setAttribute("aria-expanded", yes ? "true" : "false");
  }
  function fit() {
    open(false);
    bar.classList.remove("nav-folded");
    var folded = nav.scrollWidth > nav.clientWidth + 1 || bar.scrollWidth > bar.clientWidth + 1;
    bar.classList.toggle("nav-folded", folded);
    toggle.hidden = !folded;
  }
  toggle.addEventListener("click", function () { open(!bar.classList.contains("nav-open")); });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && bar.classList.contains("nav-open")) { open(false); toggle.focus(); }
  });
  document.addEventListener("click", function (e) {
    if (bar.classList.contains("nav-open") && !nav.contains(e.target) && e.target !== toggle) open(false);
  });
  var timer = null;
  window.addEventListener("resize", function () { clearTimeout(timer); timer = setTimeout(fit, 100); });
  fit();
})();
