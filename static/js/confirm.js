// One confirmation for every page: an in-page <dialog> (templates/base.html) instead of
// window.confirm. Declared in the markup (the CSP runs no inline script or on*= attribute):
//   <form data-confirm="Remove …?">              asks first and submits only on the dialog's yes;
//   <button data-confirm="…" data-confirm-label> the question and the yes button of that button;
//   data-confirm-title="…"                       the dialog's heading (on the form or the button);
//   <form data-confirm-items="container">        a bulk form: the ticked checkboxes named
//                                                "container" (data-name, data-state) are listed
//                                                with what will happen to each; "{n}" and "{s}"
//                                                in the question are their count and plural "s".
(function () {
  "use strict";
  var dialog = document.getElementById("confirm-dialog");
  var title = document.getElementById("confirm-dialog-title");
  var message = document.getElementById("confirm-dialog-message");
  var list = document.getElementById("confirm-dialog-items");
  var ok = document.getElementById("confirm-dialog-ok");
  var cancel = document.getElementById("confirm-dialog-cancel");
  var pending = null;

  function running(state) { return state === "running" || state === "restarting" || state === "paused"; }

  // What the server will do with one ticked item (the server says what it did afterwards).
  var describe = {
    container: function (action, state, form) {
      var force = form.elements.force && form.elements.force.checked;
      var volumes = form.elements.volumes && form.elements.volumes.checked;
      if (action === "start") {
        if (state === "paused") return "paused: the engine will refuse (unpause it instead)";
        return running(state) ? "already running: no change" : "will be started";
      }
      if (action === "stop") return running(state) ? "will be stopped" : "not running: no change";
      if (running(state) && !force) return "running: will be refused (tick -f to stop and remove it)";
      return (running(state) ? "will be stopped and removed (-f)" : "will be removed") +
        (volumes ? ", with its anonymous volumes" : "");
    },
    volume: function (action, state) {
      return state === "used" ? "in use: will be refused" : "will be removed, and its data with it";
    },
    network: function (action, state) {
      return state === "used" ? "in use: will be kept" : "will be removed";
    }
  };

  function ticked(form, kind) {
    return Array.prototype.filter.call(form.elements, function (el) {
      return el.type === "checkbox" && el.name === kind && el.checked;
    });
  }

  function show(form, submitter, question) {
    var kind = form.getAttribute("data-confirm-items");
    var attr = function (name) {
      return (submitter && submitter.getAttribute(name)) || form.getAttribute(name);
    };
    var items = kind ? ticked(form, kind) : [];
    list.textContent = "";
    list.hidden = true;
    ok.hidden = false;
    ok.className = submitter && submitter.classList.contains("danger") ? "danger" : "primary";
    if (kind && !items.length) {
      title.textContent = "Nothing is ticked";
      message.textContent = "Tick the " + kind + "s to act on first.";
      ok.hidden = true;
    } else {
      var n = items.length;
      title.textContent = attr("data-confirm-title") || "Please confirm";
      message.textContent = question.replace("{n}", String(n)).replace("{s}", n === 1 ? "" : "s");
      ok.textContent = attr("data-confirm-label") || (submitter && submitter.textContent.trim()) || "OK";
      var action = (submitter && submitter.value) || "remove";
      items.forEach(function (el) {
        var li = document.createElement("li");
        var name = document.createElement("b");
        name.textContent = el.getAttribute("data-name") || el.value;
        li.appendChild(name);
        var what = describe[kind] ? describe[kind](action, el.getAttribute("data-state") || "", form) : "";
        if (what) li.appendChild(document.createTextNode(" — " + what));
        list.appendChild(li);
      });
      list.hidden = !n;
    }
    cancel.textContent = ok.hidden ? "Close" : "Cancel";
    pending = { form: form, submitter: submitter };
    dialog.returnValue = "";
    dialog.showModal();
    cancel.focus();  // the safe answer is the default one
  }

  if (!dialog || typeof dialog.showModal !== "function") {
    // No <dialog> support: the browser's own question, as before.
    document.addEventListener("submit", function (e) {
      var q = (e.submitter && e.submitter.getAttribute("data-confirm")) || e.target.getAttribute("data-confirm");
      if (q && !window.confirm(q.replace("{n}", "the ticked").replace("{s}", "s"))) e.preventDefault();
    }, true);
    return;
  }

  document.addEventListener("submit", function (e) {
    var form = e.target;
    if (e.defaultPrevented || form.getAttribute("method") === "dialog") return;
    var submitter = e.submitter || null;
    var question = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (!question) return;
    if (form.confirmedOnce) { form.confirmedOnce = false; return; }
    e.preventDefault();
    show(form, submitter, question);
  }, true);

  dialog.addEventListener("close", function () {
    var p = pending;
    pending = null;
    if (!p) return;
    if (dialog.returnValue === "ok") {
      p.form.confirmedOnce = true;
      if (p.submitter) p.form.requestSubmit(p.submitter); else p.form.requestSubmit();
    } else if (p.submitter) {
      p.submitter.focus();
    }
  });

  // <input type="checkbox" data-select-all="FORM-ID"> ticks every checkbox of that form's list.
  document.addEventListener("change", function (e) {
    var all = e.target;
    if (!all.matches || !all.matches("input[data-select-all]")) return;
    var form = document.getElementById(all.getAttribute("data-select-all"));
    var kind = form && form.getAttribute("data-confirm-items");
    if (!kind) return;
    Array.prototype.forEach.call(form.elements, function (el) {
      if (el.type === "checkbox" && el.name === kind && !el.disabled) el.checked = all.checked;
    });
  });
})();
