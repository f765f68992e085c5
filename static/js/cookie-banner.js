/* The cookie settings dialog: progressive enhancement of the banner's "Choose by category" link
   and the footer's "Cookie settings" link. Without JavaScript (or without <dialog> support) both
   stay plain links to the settings page, and the banner's buttons are plain form posts. */
(function () {
  "use strict";

  function init() {
    var dialog = document.getElementById("cookie-settings-dialog");
    if (!dialog || typeof dialog.showModal !== "function") {
      return;
    }
    var title = document.getElementById("cookie-dialog-title");
    var opener = null;

    function open(event) {
      event.preventDefault();
      opener = event.currentTarget;
      dialog.showModal(); // modal: focus stays inside, Escape closes it
      if (title) {
        title.focus();
      }
    }

    document.querySelectorAll("[data-cookie-settings-open]").forEach(function (link) {
      link.setAttribute("aria-haspopup", "dialog");
      link.setAttribute("aria-controls", dialog.id);
      link.addEventListener("click", open);
    });
    dialog.querySelectorAll("[data-cookie-dialog-close]").forEach(function (button) {
      button.addEventListener("click", function () {
        dialog.close();
      });
    });
    dialog.addEventListener("close", function () {
      if (opener && document.contains(opener)) {
        opener.focus(); // back where the user was
      }
      opener = null;
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
