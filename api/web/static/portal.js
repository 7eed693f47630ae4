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
  // Irreversible actions ask first.
  document.querySelectorAll("button.danger").forEach(function (button) {
    button.addEventListener("click", function (event) {
      if (!window.confirm(button.textContent.trim() + " ?")) { event.preventDefault(); }
    });
  });
})();
