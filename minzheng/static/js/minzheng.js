// What the pages do in the browser, in one static file: the Content-Security-Policy runs no inline script.
(function () {
  "use strict";

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
