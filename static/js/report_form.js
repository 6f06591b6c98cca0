// Reaction rows (add and remove), term autocomplete, CTCAE criteria and listedness hints.
(function () {
  "use strict";
  const form = document.querySelector("form[data-terms-url]");
  if (!form) return;
  const rows = document.getElementById("reaction-rows");
  const template = document.getElementById("reaction-template");
  const total = form.querySelector("input[name='reactions-TOTAL_FORMS']");
  const prefix = total ? total.name.replace("-TOTAL_FORMS", "") : "reactions";
  const criteriaCache = new Map();

  const slugData = document.getElementById("formulary-drug-slugs");
  const slugOf = slugData ? JSON.parse(slugData.textContent) : {};

  function drugSlug() {
    const select = form.querySelector("select[name='drug']");
    return select ? select.value : form.dataset.drug || "";
  }

  // Every formulary drug the case suspects: the first, those the case names already (a
  // follow-up), and the further suspect rows typed so far (by name, brand or slug).
  function suspectSlugs() {
    const slugs = [drugSlug(), ...(form.dataset.otherDrugs || "").split(" ")];
    document.querySelectorAll("#suspect-rows [data-suspect-row]").forEach((row) => {
      const del = row.querySelector("input[name$='-DELETE']");
      if (row.hidden || (del && del.checked)) return;
      const name = row.querySelector("input[name$='-drug']").value;
      slugs.push(slugOf[name.trim().split(/\s+/).join(" ").toLowerCase()] || "");
    });
    return [...new Set(slugs.filter(Boolean))];
  }

  function refreshListedness() {
    rows.querySelectorAll("[data-reaction-row]").forEach((row) => {
      if (!row.hidden) showListedness(row);
    });
  }

  function renumber() {
    let n = 0;
    rows.querySelectorAll("[data-reaction-row]").forEach((row) => {
      if (!row.hidden) row.querySelector("[data-row-number]").textContent = String(++n);
    });
  }

  function addRow() {
    const index = Number(total.value);
    const html = template.innerHTML.replace(/__prefix__/g, String(index));
    rows.insertAdjacentHTML("beforeend", html);
    total.value = String(index + 1);
    const row = rows.lastElementChild;
    setUpRow(row);
    renumber();
    row.querySelector(".term-input").focus();
  }

  function removeRow(row) {
    const del = row.querySelector("input[name$='-DELETE']");
    if (del) del.checked = true;
    row.hidden = true;
    renumber();
  }

  async function getJSON(url) {
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  }

  async function showCriteria(row) {
    const term = row.querySelector(".term-input").value.trim();
    const grade = row.querySelector("select[name$='-grade']").value;
    const box = row.querySelector(".criteria");
    if (!term || !grade) { box.textContent = ""; return; }
    let data = criteriaCache.get(term);
    if (!data) {
      try { data = await getJSON(form.dataset.criteriaUrl + "?term=" + encodeURIComponent(term)); }
      catch (e) { box.textContent = ""; return; }
      criteriaCache.set(term, data);
    }
    const text = data.grades && data.grades[grade];
    box.textContent = text ? "CTCAE grade " + grade + ": " + text : (data.missing || "");
  }

  async function showListedness(row) {
    const term = row.querySelector(".term-input").value.trim();
    const hint = row.querySelector(".listedness-hint");
    const slugs = suspectSlugs();
    if (!term || !slugs.length) { hint.textContent = ""; return; }
    try {
      // The reaction against each suspect's label: unlisted for any of them, unlisted for the case.
      const answers = await Promise.all(slugs.map((slug) => {
        const url = form.dataset.listednessUrl.replace("__drug__", encodeURIComponent(slug));
        return getJSON(url + "?term=" + encodeURIComponent(term));
      }));
      const data = answers[0];
      if (data.is_group) {
        // A group is no reaction: the server refuses it, so say so now and offer its members.
        hint.textContent = data.term + " is a group: choose the specific reaction. ";
        hint.className = "listedness-hint group";
        data.members.forEach((name) => {
          const pickMember = document.createElement("button");
          pickMember.type = "button";
          pickMember.className = "secondary member";
          pickMember.textContent = name;
          pickMember.addEventListener("click", () => {
            row.querySelector(".term-input").value = name;
            showListedness(row);
            showCriteria(row);
          });
          hint.appendChild(pickMember);
        });
        return;
      }
      const unlisted = answers.some((answer) => answer.listedness === "unlisted");
      hint.textContent = (data.coding_note ? data.coding_note + " " : "")
        + answers.map((answer) => answer.explanation).join(" ");
      hint.className = "listedness-hint " + (unlisted ? "unlisted" : data.listedness);
    } catch (e) {
      // No term matches: the words are filed as written, for an officer to code.
      hint.textContent = "No term matches these words. You can file them as you wrote them: "
        + "a safety officer will code them.";
      hint.className = "listedness-hint pending";
    }
  }

  function setUpRow(row) {
    const input = row.querySelector(".term-input");
    const list = row.querySelector(".suggestions");
    const verbatim = row.querySelector("input[name$='-verbatim']");
    const listId = input.id + "_list";
    list.id = listId;
    input.setAttribute("aria-controls", listId);
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    let active = -1;
    let timer = null;
    let typed = "";

    function close() {
      list.hidden = true;
      list.innerHTML = "";
      active = -1;
      input.setAttribute("aria-expanded", "false");
      input.removeAttribute("aria-activedescendant");
    }

    function choose(option) {
      // What the nurse typed before she picked a term stays beside it as her words.
      const words = typed.trim();
      verbatim.value = words && words.toLowerCase() !== option.dataset.name.toLowerCase() ? words : "";
      input.value = option.dataset.name;
      close();
      showListedness(row);
      showCriteria(row);
    }

    function highlight(i) {
      const options = list.querySelectorAll("[role='option']");
      options.forEach((o, j) => o.setAttribute("aria-selected", j === i ? "true" : "false"));
      active = i;
      if (options[i]) input.setAttribute("aria-activedescendant", options[i].id);
    }

    async function suggest() {
      typed = input.value;
      const q = input.value.trim();
      if (q.length < 2) { close(); return; }
      let results;
      try { results = await getJSON(form.dataset.termsUrl + "?limit=8&q=" + encodeURIComponent(q)); }
      catch (e) { close(); return; }
      // Stale (she typed on) or too late (she has left the field): keep the list closed.
      if (input.value !== typed || document.activeElement !== input) return;
      list.innerHTML = "";
      results.forEach((r, i) => {
        const li = document.createElement("li");
        li.setAttribute("role", "option");
        li.id = listId + "_" + i;
        li.dataset.name = r.name;
        li.dataset.kind = r.match_kind;
        li.dataset.matched = r.matched;
        const name = document.createElement("strong");
        name.textContent = r.name;
        li.appendChild(name);
        if (r.matched && r.matched.toLowerCase() !== r.name.toLowerCase()) {
          const via = document.createElement("span");
          via.className = "via";
          via.textContent = " \u2014 \u201c" + r.matched + "\u201d";
          li.appendChild(via);
        }
        const soc = document.createElement("span");
        soc.className = "soc-name";
        soc.textContent = r.is_group ? "group: choose a specific term" : r.soc;
        li.appendChild(soc);
        li.addEventListener("mousedown", (ev) => { ev.preventDefault(); choose(li); });
        list.appendChild(li);
      });
      list.hidden = results.length === 0;
      input.setAttribute("aria-expanded", results.length ? "true" : "false");
      active = -1;
    }

    input.addEventListener("input", () => {
      verbatim.value = "";  // her own words now: nothing picked
      clearTimeout(timer);
      timer = setTimeout(suggest, 120);
    });
    input.addEventListener("keydown", (ev) => {
      const options = list.querySelectorAll("[role='option']");
      if (list.hidden || !options.length) return;
      if (ev.key === "ArrowDown") { ev.preventDefault(); highlight(Math.min(active + 1, options.length - 1)); }
      else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight(Math.max(active - 1, 0)); }
      else if (ev.key === "Enter" && active >= 0) { ev.preventDefault(); choose(options[active]); }
      else if (ev.key === "Escape") { close(); }
    });
    input.addEventListener("blur", () => setTimeout(close, 150));
    input.addEventListener("change", () => { showListedness(row); showCriteria(row); });
    row.querySelector("select[name$='-grade']").addEventListener("change", () => showCriteria(row));
    const remove = row.querySelector("[data-remove-row]");
    if (remove) remove.addEventListener("click", () => removeRow(row));
    const del = row.querySelector("input[name$='-DELETE']");
    if (del) { del.hidden = true; if (del.checked) row.hidden = true; }
    if (input.value) { showListedness(row); showCriteria(row); }
  }

  rows.querySelectorAll("[data-reaction-row]").forEach(setUpRow);
  const add = document.getElementById("add-reaction");
  if (add) add.addEventListener("click", addRow);
  const drug = form.querySelector("select[name='drug']");
  if (drug) drug.addEventListener("change", refreshListedness);
  const suspectRows = document.getElementById("suspect-rows");
  if (suspectRows) {
    suspectRows.addEventListener("change", refreshListedness);
    // A removed suspect row is hidden by its own script once the click is handled.
    suspectRows.addEventListener("click", (ev) => {
      if (ev.target.closest("[data-remove-row]")) setTimeout(refreshListedness, 0);
    });
  }
  void prefix;
})();
