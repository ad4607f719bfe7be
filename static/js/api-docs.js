// The API docs page (Swagger UI, served from our own static files): names and keyboard reach
// that Swagger UI's markup lacks, added as it renders, so the page passes axe-core with no
// critical or serious violation in any state (operations open, "Try it out", a response shown,
// the Authorize dialog). Only attributes are added: Swagger UI (React) keeps its own elements,
// so nothing here moves or replaces one. Its colours are fixed in css/api-docs.css, and deep
// links (an <a> inside each operation's button) are turned off in SPECTACULAR_SETTINGS.
(function () {
  "use strict";
  var root = document.getElementById("swagger-ui");
  if (!root || typeof MutationObserver !== "function") return;

  function named(el) {
    return el.hasAttribute("aria-label") || el.hasAttribute("aria-labelledby") || el.labels && el.labels.length;
  }
  function name(el, text) {
    if (!named(el) && text) el.setAttribute("aria-label", text);
  }
  function text(el) { return el ? el.textContent.replace(/\s+/g, " ").trim() : ""; }

  // The operation an element belongs to, as the page shows it: "POST /api/backups/import/".
  function operation(el) {
    var block = el.closest(".opblock");
    if (!block) return "";
    var method = text(block.querySelector(".opblock-summary-method"));
    var path = text(block.querySelector(".opblock-summary-path")).replace(/\u200b/g, "");
    return (method + " " + path).trim();
  }

  function fix() {
    // A parameter's field (text, list, file, checkbox) is named after the parameter.
    root.querySelectorAll("[data-param-name] input, [data-param-name] select, [data-param-name] textarea, " +
                          "[data-property-name] input, [data-property-name] select, [data-property-name] textarea")
      .forEach(function (el) {
        var row = el.closest("[data-property-name]") || el.closest("[data-param-name]");
        var what = row.getAttribute("data-property-name") || row.getAttribute("data-param-name");
        var where = row.getAttribute("data-param-in");
        if (el.classList.contains("body-param__text") || (where === "body" && el.tagName === "TEXTAREA")) {
          name(el, "Request body of " + operation(el));
        } else {
          name(el, what + (where ? " (" + where + ")" : "") + (el.type === "file" ? ", file to upload" : ""));
        }
      });
    // The request body (JSON) of "Try it out", and any other field still without a name.
    root.querySelectorAll("textarea.body-param__text").forEach(function (el) {
      name(el, "Request body of " + operation(el));
    });
    root.querySelectorAll("input:not([type=hidden]), select, textarea").forEach(function (el) {
      var row = el.closest("tr");
      name(el, el.getAttribute("placeholder") || text(row && row.querySelector(".parameter__name")) ||
                 el.getAttribute("title") || text(el.closest(".opblock-section-request-body, .body-param")
                                                      && el.closest(".opblock").querySelector(".opblock-title")));
    });
    // Examples and responses scroll sideways: reachable by keyboard, and named.
    root.querySelectorAll("pre").forEach(function (pre) {
      if (!pre.hasAttribute("tabindex")) {
        pre.setAttribute("tabindex", "0");
        name(pre, (pre.classList.contains("example") || pre.classList.contains("body-param__example")
                   ? "Example" : "Code") + (operation(pre) ? " of " + operation(pre) : ""));
      }
    });
    // The dialogs' close button is an icon only.
    root.querySelectorAll("button.close-modal").forEach(function (b) { name(b, "Close"); });
    // "Authorize" buttons of the dialog are labelled "Apply credentials", a name that hides the
    // word they show: the name starts with what is visible.
    root.querySelectorAll(".auth-btn-wrapper button[aria-label]").forEach(function (b) {
      var shown = text(b);
      var label = b.getAttribute("aria-label");
      if (shown && label.toLowerCase().indexOf(shown.toLowerCase()) === -1) {
        b.setAttribute("aria-label", shown + ": " + label.charAt(0).toLowerCase() + label.slice(1));
      }
    });
  }

  var queued = false;
  new MutationObserver(function () {
    if (queued) return;
    queued = true;
    // After React's batch of changes, before the browser paints.
    Promise.resolve().then(function () { queued = false; fix(); });
  }).observe(root, { childList: true, subtree: true });
  fix();
})();
