/* suture review: keyboard moves and decision prompts. No inline script anywhere (the CSP forbids it); every
   decision still goes through a normal form POST carrying the page's CSRF token. */
"use strict";
(function () {
  var rows = Array.prototype.slice.call(document.querySelectorAll("tr.qrow"));
  var current = -1;

  function select(index) {
    if (!rows.length) return;
    index = Math.max(0, Math.min(rows.length - 1, index));
    if (current >= 0) { rows[current].classList.remove("selected"); rows[current].removeAttribute("aria-selected"); }
    current = index;
    rows[current].classList.add("selected");
    rows[current].setAttribute("aria-selected", "true");
    rows[current].scrollIntoView({block: "nearest"});
  }

  function scope() {
    return rows.length ? rows[current] : document.getElementById("decide");
  }

  function askReason(form) {
    var field = form.querySelector("[name=reason]");
    if (field.value.trim()) return true;
    var reason = window.prompt(form.getAttribute("data-prompt") || "Reason for rejecting:");
    if (reason === null || !reason.trim()) return false;
    field.value = reason;
    return true;
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.hasAttribute("data-confirm") && !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
    } else if (form.classList.contains("reject-form") && !askReason(form)) {
      event.preventDefault();
    }
  });

  function approve() {
    var where = scope();
    if (!where) return;
    var form = where.querySelector("form.approve-form");
    if (!form) {  // a failed patch needs an override reason: its own page has the form
      if (rows.length) window.location.href = where.getAttribute("data-href");
      return;
    }
    var override = form.querySelector("#override-reason");
    if (override && !override.value.trim()) { override.focus(); return; }
    form.requestSubmit();
  }

  function reject() {
    var where = scope();
    var form = where && where.querySelector("form.reject-form");
    if (form && askReason(form)) form.requestSubmit();
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select, button, [contenteditable]")) return;
    switch (event.key) {
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "Enter": if (rows.length && current >= 0) window.location.href = rows[current].getAttribute("data-href"); else return; break;
      case "a": approve(); break;
      case "r": reject(); break;
      default: return;
    }
    event.preventDefault();
  });

  rows.forEach(function (row, index) {
    row.addEventListener("click", function (event) { if (!event.target.closest("a, button, form")) select(index); });
  });
  select(0);
})();
