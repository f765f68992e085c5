// The request form: the category list applies only to "Only the categories I choose below".
// With "Everything" chosen its boxes are disabled, so nobody ticks what would be ignored.
// Without JavaScript the form works the same: the server ignores the list for "Everything".
(function () {
  var radios = document.querySelectorAll('input[name="extent"]');
  var list = document.getElementById("id_categories");
  if (!radios.length || !list) return;
  function sync() {
    var chosen = document.querySelector('input[name="extent"]:checked');
    var off = !chosen || chosen.value !== "some";
    list.querySelectorAll('input[type="checkbox"]').forEach(function (box) {
      box.disabled = off;
    });
  }
  radios.forEach(function (radio) {
    radio.addEventListener("change", sync);
  });
  sync();
})();
