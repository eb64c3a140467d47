// Catalog filters: on a phone the results matter first, so the filter panel starts folded.
// Without JavaScript it simply stays open.
(() => {
  const panel = document.getElementById("filter-panel");
  if (panel && window.matchMedia("(max-width: 900px)").matches) {
    panel.open = false;
  }
})();
