/* Small page behaviours shared by every page, bound by data attributes (no inline handlers):
 *   data-print                  a button that prints the page
 *   data-confirm="…"            a form (or its submit button) that asks before an irreversible action
 *   data-region-picker          a region filter filled by picking from the division tree (templates/regions/_picker.html)
 */
(function () {
  "use strict";

  document.addEventListener("click", function (event) {
    var printer = event.target.closest("[data-print]");
    if (printer) {
      event.preventDefault();
      window.print();
      return;
    }
    if (event.target.closest("[data-back]")) {
      event.preventDefault();
      history.back();
      return;
    }
    var pick = event.target.closest("[data-pick-code]");
    if (pick) {
      event.preventDefault();
      var picker = pick.closest("[data-region-picker]");
      if (!picker) return;
      picker.querySelector("input[type=hidden]").value = pick.dataset.pickCode;
      picker.querySelector("[data-picked-name]").textContent = pick.dataset.pickName;
      var clear = picker.querySelector("[data-pick-clear]");
      if (clear) clear.hidden = false;
      var panel = picker.querySelector("details");
      if (panel) panel.open = false;
      return;
    }
    var clearer = event.target.closest("[data-pick-clear]");
    if (clearer) {
      event.preventDefault();
      var box = clearer.closest("[data-region-picker]");
      box.querySelector("input[type=hidden]").value = "";
      box.querySelector("[data-picked-name]").textContent = box.dataset.emptyLabel || "全部";
      clearer.hidden = true;
    }
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    var submitter = event.submitter;
    var message = (submitter && submitter.dataset.confirm) || form.dataset.confirm;
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
