// A job's page follows the job: poll its JSON, move the bar, and reload once it has finished (the result is
// drawn by the server). Without script the page refreshes itself (<noscript> meta refresh).
(function () {
  "use strict";
  var box = document.getElementById("job");
  if (!box || box.dataset.finished === "true") return;
  var bar = document.getElementById("job-bar");
  var status = document.getElementById("job-status");
  var stage = document.getElementById("job-stage");
  var steps = document.getElementById("job-steps");
  function poll() {
    fetch(box.dataset.stateUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (state) {
        if (!state) return setTimeout(poll, 5000);
        if (state.finished) return window.location.reload();
        status.textContent = state.status_label;
        stage.textContent = state.stage_label || "";
        steps.textContent = state.total_steps ? state.done_steps + " / " + state.total_steps : "";
        if (state.percent === null) bar.removeAttribute("value");
        else bar.value = state.percent;
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);
})();
