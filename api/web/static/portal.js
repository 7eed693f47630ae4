// innot portal: small progressive enhancements; every form works without this file.
(function () {
  "use strict";
  // The language selector submits its form on change (the Switch button remains for keyboard users).
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  // Proposal forms: add one more milestone row, with fresh ids and numbered labels.
  document.querySelectorAll("[data-add-milestone]").forEach(function (button) {
    button.addEventListener("click", function () {
      var fieldset = button.form.querySelector("[data-milestones]");
      var rows = fieldset.querySelectorAll(".milestone-row");
      var copy = rows[rows.length - 1].cloneNode(true);
      var n = rows.length + 1;
      copy.querySelectorAll(".field").forEach(function (field) {
        var input = field.querySelector("input");
        var label = field.querySelector("label");
        var id = input.id.replace(/-?\d+$/, "") + "-" + n + "-" + Date.now();
        input.id = id; input.value = "";
        label.htmlFor = id;
        label.textContent = label.textContent.replace(/\d+$/, String(n));
      });
      fieldset.appendChild(copy);
      copy.querySelector("input").focus();
    });
  });
  // A table wider than the screen scrolls sideways inside its frame: the frame takes the keyboard focus (arrow keys
  // scroll it) and is announced as a region named after its section's heading. Frames that fit are left alone.
  function frameScrollingTables() {
    document.querySelectorAll(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth) {
        var section = wrap.closest("section[aria-labelledby]");
        var heading = section ? document.getElementById(section.getAttribute("aria-labelledby")) : null;
        var caption = wrap.querySelector("caption");
        var title = (caption || heading || document.querySelector("h1") || {}).textContent || document.title;
        wrap.setAttribute("tabindex", "0");
        wrap.setAttribute("role", "region");
        wrap.setAttribute("aria-label", title.trim());
      } else if (wrap.getAttribute("role") === "region") {
        wrap.removeAttribute("tabindex");
        wrap.removeAttribute("role");
        wrap.removeAttribute("aria-label");
      }
    });
  }
  frameScrollingTables();
  window.addEventListener("resize", frameScrollingTables);
  // Skill pickers: the chosen business function's skills unfold (and those already ticked stay so); the search box
  // shows only the skills whose name or synonym holds what is typed (accents and case ignored), in every function.
  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase().replace(/_/g, " ").replace(/\s+/g, " ").trim();
  }
  document.querySelectorAll("[data-skill-picker]").forEach(function (picker) {
    var search = picker.querySelector("[data-skill-search]");
    var status = picker.querySelector("[data-skill-status]");
    var functionSelect = document.getElementById(picker.getAttribute("data-function-field"));
    var blocks = Array.prototype.slice.call(picker.querySelectorAll("details[data-function]"));
    function unfoldChosenFunction() {
      var chosen = functionSelect ? functionSelect.value : null;
      blocks.forEach(function (block) {
        var ticked = block.querySelector("input:checked") !== null;
        block.open = block.getAttribute("data-function") === chosen || ticked;
        if (block.getAttribute("data-function") === chosen) { block.parentNode.insertBefore(block, block.parentNode.firstChild); }
      });
    }
    function filter() {
      var query = fold(search.value);
      var found = 0;
      blocks.forEach(function (block) {
        var shown = 0;
        block.querySelectorAll("fieldset.options").forEach(function (group) {
          var inGroup = 0;
          group.querySelectorAll("label.option").forEach(function (option) {
            var match = !query || option.getAttribute("data-terms").indexOf(query) !== -1;
            option.hidden = !match;
            if (match) { inGroup += 1; }
          });
          group.hidden = inGroup === 0;
          shown += inGroup;
        });
        block.hidden = shown === 0;
        if (query) { block.open = shown > 0; }
        found += shown;
      });
      if (!query) { unfoldChosenFunction(); status.textContent = ""; return; }
      status.textContent = found === 0 ? status.getAttribute("data-none") : status.getAttribute("data-found").replace("%(n)s", String(found));
    }
    if (functionSelect) { functionSelect.addEventListener("change", unfoldChosenFunction); unfoldChosenFunction(); }
    search.addEventListener("input", filter);
    // Enter in the search box ticks the only skill found, instead of sending the form
    search.addEventListener("keydown", function (event) {
      if (event.key !== "Enter") { return; }
      event.preventDefault();
      var visible = picker.querySelectorAll("label.option:not([hidden]) input");
      if (search.value && visible.length === 1) { visible[0].checked = true; search.value = ""; filter(); visible[0].focus(); }
    });
  });
  // Date fields: a browser draws them in its own language, whatever the page's; under each, the chosen date is
  // written out in the page's language (e.g. "lundi 18 janvier 2027"), so nobody wonders whether 03/01 is March.
  document.querySelectorAll("input[type=date]").forEach(function (input) {
    if (!window.Intl || !Intl.DateTimeFormat) { return; }
    var echo = document.createElement("small");
    echo.className = "date-echo";
    echo.setAttribute("aria-live", "polite");
    var format = new Intl.DateTimeFormat(input.getAttribute("lang") || document.documentElement.lang, { dateStyle: "full", timeZone: "UTC" });
    function show() { echo.textContent = input.value ? format.format(new Date(input.value + "T00:00:00Z")) : ""; }
    input.insertAdjacentElement("afterend", echo);
    input.addEventListener("input", show);
    input.addEventListener("change", show);
    show();
  });
  // Irreversible actions ask first.
  document.querySelectorAll("button.danger").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.textContent.trim() + " ?")) { event.preventDefault(); }
    });
  });
})();
