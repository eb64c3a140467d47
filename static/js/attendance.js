// Attendance sheet: taps are sent with fetch so the page does not reload, and the sheet polls
// for self check-ins while the session runs. Without JavaScript every form is a plain POST.
(function () {
  "use strict";

  const csrfToken = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const sheet = document.querySelector("[data-attendance-sheet]");
  const messageBox = document.getElementById("sheet-message");
  let busy = 0;

  function showMessage(text, isError) {
    if (!messageBox || !text) return;
    messageBox.textContent = text;
    messageBox.className = "sheet-message flash " + (isError ? "flash-error" : "flash-success");
    messageBox.setAttribute("role", isError ? "alert" : "status");
    messageBox.hidden = false;
    window.clearTimeout(showMessage.timer);
    // A confirmation may go after a moment; an error stays until the next message.
    if (!isError) showMessage.timer = window.setTimeout(() => { messageBox.hidden = true; }, 4000);
  }

  function rowFor(key) {
    return document.querySelector('li[data-key="' + CSS.escape(key) + '"]');
  }

  function applyRow(data) {
    const row = rowFor(data.key);
    if (!row) return false;
    row.dataset.status = data.status;
    row.querySelectorAll("button.mark").forEach((button) => {
      button.setAttribute("aria-pressed", button.value === data.status ? "true" : "false");
    });
    const pending = row.querySelector(".pending");
    if (pending) pending.hidden = !data.pending;
    const confirm = row.querySelector("form.confirm");
    if (confirm) confirm.hidden = !data.pending;
    const arrival = row.querySelector(".arrival");
    if (arrival) {
      arrival.hidden = !data.arrival;
      const text = arrival.querySelector("[data-arrival]");
      if (text) text.textContent = data.arrival;
    }
    const input = row.querySelector('input[name="arrival"]');
    if (input && document.activeElement !== input) input.value = data.arrival;
    return true;
  }

  function applyState(state) {
    const counts = document.getElementById("sheet-counts");
    if (counts && state.counts_text) counts.textContent = state.counts_text;
    const checkIns = document.getElementById("check-in-count");
    if (checkIns && state.check_in_text) checkIns.textContent = state.check_in_text;
    let unknown = false;
    (state.rows || []).forEach((row) => {
      if (!applyRow(row) && sheet) unknown = true;
    });
    if (unknown && sheet && !document.getElementById("sheet-new-rows")) {
      const note = document.createElement("p");
      note.id = "sheet-new-rows";
      note.className = "flash flash-info";
      note.textContent = sheet.dataset.msgNew + " ";
      const link = document.createElement("a");
      link.href = window.location.pathname;
      link.textContent = sheet.dataset.msgReload;
      note.appendChild(link);
      sheet.before(note);
    }
  }

  // Taps go to the server one at a time, in the order they were made: answers to requests
  // sent side by side could arrive in another order and show an older state. The sheet shows
  // each tap at once and takes the server's state when the last request has been answered.
  let queue = Promise.resolve();
  let refreshWhenIdle = false;

  function optimistic(form, submitter) {
    const row = form.closest("li[data-key]");
    if (!row || !submitter || !submitter.classList.contains("mark")) return;
    applyRow({ key: row.dataset.key, status: submitter.value, pending: false,
               arrival: row.querySelector("[data-arrival]")?.textContent || "" });
  }

  async function refreshState() {
    const url = sheet ? sheet.dataset.stateUrl : null;
    if (!url) return;
    const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) applyState(await response.json());
  }

  async function send(form, body) {
    try {
      const response = await fetch(form.action, {
        method: "POST",
        body: body,
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
      });
      const data = await response.json();
      if (!response.ok) {
        refreshWhenIdle = true;  // undo the optimistic tap with what the server holds
        showMessage(data.error, true);
        return;
      }
      if (busy === 1) applyState(data);
      if (data.message) showMessage(data.message, false);
      const details = form.closest(".row-details");
      if (details) details.open = false;
    } catch (error) {
      refreshWhenIdle = true;
      showMessage(sheet ? sheet.dataset.msgOffline : String(error), true);
    } finally {
      busy -= 1;
      if (busy === 0 && refreshWhenIdle) {
        refreshWhenIdle = false;
        refreshState().catch(() => {});
      }
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target.closest("form[data-async]");
    if (!form || !window.fetch) return;
    event.preventDefault();
    const body = new FormData(form);
    const submitter = event.submitter;
    if (submitter && submitter.name) body.set(submitter.name, submitter.value);
    optimistic(form, submitter);
    busy += 1;
    queue = queue.then(() => send(form, body));
  });

  // Poll the sheet's state while the session runs, so self check-ins appear.
  function poll(element) {
    const every = parseInt(element.dataset.poll || "0", 10);
    const url = element.dataset.stateUrl;
    if (!every || !url) return;
    window.setInterval(async () => {
      if (busy || document.visibilityState !== "visible") return;
      try {
        const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
        const state = response.ok ? await response.json() : null;
        if (state && !busy) applyState(state);  // a tap made meanwhile is newer than this
      } catch (error) {
        // Offline for a moment: the next poll tries again.
      }
    }, every);
  }

  if (sheet) poll(sheet);

  // The QR code on the trainer's screen rotates; fetch the new one before the old expires.
  const code = document.getElementById("check-in-code");
  if (code) {
    poll(code);
    const target = code.querySelector("[data-qr]");
    const refresh = async () => {
      try {
        const response = await fetch(code.dataset.refreshUrl, { credentials: "same-origin", cache: "no-store" });
        if (response.ok) target.innerHTML = await response.text();
      } catch (error) {
        // Keep the current code; it stays valid for another minute.
      }
    };
    window.setInterval(refresh, parseInt(code.dataset.refresh || "20000", 10));
    const stateUrl = code.dataset.stateUrl;
    fetch(stateUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((state) => state && applyState(state))
      .catch(() => {});
  }
})();
