// While a FAERS import on the page is queued or running, ask its progress every second or two
// and show it; when it ends, load the page again for its result and the sources' new counts.
// Without scripts, a refresh in the page's head does the same.
(function () {
  "use strict";
  var box = document.getElementById("import-runs-live");
  if (!box || box.dataset.active !== "true") {
    return;
  }
  function follow(row) {
    var url = row.dataset.progressUrl;
    function poll() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) {
          if (!response.ok) {
            throw new Error(String(response.status));
          }
          return response.json();
        })
        .then(function (run) {
          if (!run.active) {
            window.location.reload();
            return;
          }
          var state = row.querySelector("[data-state]");
          state.textContent = run.state;
          state.className = "pill run-" + run.status;
          row.querySelector("[data-timing]").textContent = run.timing;
          row.querySelector("[data-progress]").textContent = run.progress;
          var bar = row.querySelector("progress");
          if (run.total) {
            bar.max = run.total;
            bar.value = run.done;
            bar.setAttribute("aria-label", run.progress);
            bar.hidden = false;
          } else {
            bar.hidden = true;
          }
          window.setTimeout(poll, 1500);
        })
        .catch(function () {
          window.setTimeout(poll, 10000);
        });
    }
    window.setTimeout(poll, 1000);
  }
  Array.prototype.forEach.call(box.querySelectorAll("tr[data-progress-url]"), follow);
})();
