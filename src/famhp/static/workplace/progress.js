// The progress page of a mass action reloads itself until the action is done (the result page then follows).
// No inline script: the page's Content-Security-Policy allows scripts from this site only.
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box) { return; }
  var delay = parseInt(box.getAttribute("data-reload"), 10) || 3000;
  window.setTimeout(function () { window.location.reload(); }, delay);
})();
