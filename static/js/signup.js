// The sign-up page: with JavaScript the whole form shows at once (htmx fetches the choices for
// the age as the date of birth is entered), so the first step's "Continue" is removed (not only
// hidden, so Enter in a field submits the sign-up itself). Without JavaScript the page keeps
// its first step: the date of birth and region, then "Continue".
(function () {
  var next = document.querySelector("[data-signup-continue]");
  if (!next) return;
  next.remove();
  document.querySelectorAll("[data-signup-later]").forEach(function (element) {
    element.hidden = false;
    element.disabled = false;
  });
})();
