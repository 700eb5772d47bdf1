// A monthly report shown from its last count while it is counted again: ask every few seconds when the page's
// figures were counted, and reload once a newer count (or the current one) is there. Without script the page
// refreshes itself (<noscript> meta refresh).
(function () {
  "use strict";
  var note = document.getElementById("report-stale");
  if (!note) return;
  function poll() {
    fetch(note.dataset.stateUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (state && (!state.stale || Date.parse(state.counted_at) > Date.parse(note.dataset.countedAt))) {
          return window.location.reload();
        }
        setTimeout(poll, 3000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 3000);
})();
