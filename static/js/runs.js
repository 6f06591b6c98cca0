// While a run on the page is queued or running, fetch the page again every few seconds and
// replace its table. Without scripts, a refresh in the page's head does the same.
(function () {
  "use strict";
  var box = document.getElementById("runs-live");
  if (!box || box.dataset.active !== "true") {
    return;
  }
  function poll() {
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(String(response.status));
        }
        return response.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("runs-live");
        if (!fresh) {
          return;
        }
        box.innerHTML = fresh.innerHTML;
        box.dataset.active = fresh.dataset.active;
        if (fresh.dataset.active === "true") {
          window.setTimeout(poll, 2000);
        }
      })
      .catch(function () {
        window.setTimeout(poll, 10000);
      });
  }
  window.setTimeout(poll, 2000);
})();
