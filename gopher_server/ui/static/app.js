// Gopher dashboard: what script adds to pages that work without it.
// - Live refresh: every element marked data-refresh is re-fetched (through htmx) every
//   2 s while the tab is visible, and at once when it becomes visible again.
// - "Select all" checkboxes (data-select-all="<name>") tick every box of that name.
// No inline script anywhere (the Content-Security-Policy forbids it).
(function () {
  "use strict";
  var REFRESH_MS = 2000;

  function refresh() {
    if (document.hidden || !window.htmx) return;
    var live = document.querySelector("[data-refresh]");
    if (!live || live.getAttribute("data-busy")) return;
    live.setAttribute("data-busy", "1");
    window.htmx
      .ajax("GET", window.location.href, { target: "#" + live.id, select: "#" + live.id, swap: "outerHTML" })
      .finally(function () {
        var now = document.querySelector("[data-refresh]");
        if (now) now.removeAttribute("data-busy");
      });
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    var name = box && box.getAttribute && box.getAttribute("data-select-all");
    if (!name) return;
    var form = box.form || document;
    form.querySelectorAll('input[type=checkbox][name="' + name + '"]').forEach(function (other) {
      other.checked = box.checked;
    });
  });

  setInterval(refresh, REFRESH_MS);
  document.addEventListener("visibilitychange", refresh);
})();
