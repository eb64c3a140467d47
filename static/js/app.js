// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("click", (event) => {
  const target = event.target.closest("[data-confirm]");
  if (target && !window.confirm(target.dataset.confirm)) {
    event.preventDefault();
  }
});

// A <details data-fold-below="640"> is open in the HTML (so it works without JavaScript and on
// a desktop) and folded here on a narrower screen, where it would push the results out of view.
for (const details of document.querySelectorAll("details[data-fold-below]")) {
  if (window.matchMedia(`(max-width: ${details.dataset.foldBelow}px)`).matches) {
    details.open = false;
  }
}
