// What the pages do in the browser, in one static file: the Content-Security-Policy runs no inline script.
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


  function ready(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  ready(function () {
    // Tooltips (the case page's deadlines).
    if (window.bootstrap) {
      document.querySelectorAll('[data-bs-toggle="tooltip"]').forEach(function (el) { new bootstrap.Tooltip(el); });
    }

    // Intake: the entrusted person's fields show only for an application made by proxy (代办).
    var entrusted = document.getElementById("entrusted");
    if (entrusted) {
      document.querySelectorAll('input[name="channel"]').forEach(function (radio) {
        radio.addEventListener("change", function () { entrusted.hidden = !(radio.checked && radio.value === "proxy"); });
      });
    }

    // Household form: another member row from the empty template.
    var add = document.getElementById("add-member");
    if (add) {
      add.addEventListener("click", function () {
        var total = document.getElementById("id_m-TOTAL_FORMS");
        var index = parseInt(total.value, 10);
        var html = document.getElementById("member-template").innerHTML.replace(/__prefix__/g, index);
        document.getElementById("members").insertAdjacentHTML("beforeend", html);
        total.value = index + 1;
      });
    }

    // A select that filters its page as soon as it changes.
    document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  });
})();
