// Further suspect drugs on the report and follow-up forms: rows added from a template and removed.
(function () {
  "use strict";
  const rows = document.getElementById("suspect-rows");
  const template = document.getElementById("suspect-template");
  const add = document.getElementById("add-suspect");
  const total = document.querySelector("input[name='suspects-TOTAL_FORMS']");
  if (!rows || !template || !add || !total) return;

  // The suspects the case names already (the drug above, or those of the report being
  // followed up) come first: the rows are numbered after them.
  const first = Number(rows.dataset.firstNumber) || 2;

  function renumber() {
    let n = first - 1;
    rows.querySelectorAll("[data-suspect-row]").forEach((row) => {
      if (!row.hidden) row.querySelector("[data-row-number]").textContent = String(++n);
    });
  }

  function setUpRow(row) {
    const del = row.querySelector("input[name$='-DELETE']");
    if (del) { del.hidden = true; if (del.checked) row.hidden = true; }
    const remove = row.querySelector("[data-remove-row]");
    if (remove) {
      remove.addEventListener("click", () => {
        if (del) del.checked = true;
        row.hidden = true;
        renumber();
      });
    }
  }

  add.addEventListener("click", () => {
    const index = Number(total.value);
    rows.insertAdjacentHTML("beforeend", template.innerHTML.replace(/__prefix__/g, String(index)));
    total.value = String(index + 1);
    const row = rows.lastElementChild;
    setUpRow(row);
    renumber();
    row.querySelector("input[name$='-drug']").focus();
  });
  rows.querySelectorAll("[data-suspect-row]").forEach(setUpRow);
  renumber();
})();
