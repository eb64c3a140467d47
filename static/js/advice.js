// Booking a kennismakingsgesprek: the slots are shown on the visitor's own clock. The server
// draws them in the zone the page was asked for (?tz=), so the first visit from another zone
// asks again with the browser's zone; without JavaScript they stay in Amsterdam time.
(() => {
  const form = document.getElementById("book-call");
  let zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    zone = "";
  }
  if (form && zone) {
    const field = form.querySelector("input[name=tz]");
    const params = new URLSearchParams(window.location.search);
    if (!params.has("tz") && zone !== "Europe/Amsterdam" && form.dataset.posted !== "1") {
      params.set("tz", zone);
      window.location.replace(window.location.pathname + "?" + params.toString());
      return;
    }
    if (field && !params.has("tz") && form.dataset.posted !== "1") field.value = zone;
  }
  // The phone number only matters for a phone call.
  const phone = document.getElementById("phone-field");
  const modes = document.querySelectorAll("input[name=mode]");
  const sync = () => {
    const chosen = document.querySelector("input[name=mode]:checked");
    if (phone) phone.hidden = !chosen || chosen.value !== "phone";
  };
  modes.forEach((input) => input.addEventListener("change", sync));
  sync();
})();
