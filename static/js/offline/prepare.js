// "Make available offline" on the live Mark Used page (templates/events/mark_used.html).
//
// Stores the event's offline copy (its name, facility and date, and the units the rep may use
// for it, as the server decides them now) on this phone, says when it was taken, refreshes or
// removes it, and lists this event's marks made offline: waiting, or refused by the server at
// sync with the reason.
(() => {
  "use strict";

  const panel = document.getElementById("offline-panel");
  const Store = globalThis.TrunkpoolStore;
  const meta = document.querySelector('meta[name="trunkpool-user"]');
  const user = meta && meta.content ? Number(meta.content) : null;
  if (!panel || !Store || !window.indexedDB || user === null) return;

  const eventId = Number(panel.dataset.event);
  const stateText = panel.querySelector("[data-offline-state]");
  const prepare = panel.querySelector("[data-offline-prepare]");
  const remove = panel.querySelector("[data-offline-remove]");
  const opsList = panel.querySelector("[data-offline-ops]");
  const worker = "serviceWorker" in navigator && window.isSecureContext;

  const when = (iso) =>
    new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });

  async function show() {
    const snap = await Store.snapshot(user, eventId);
    if (snap) {
      stateText.textContent =
        `Available offline on this phone: ${snap.units.length} unit(s), copy taken ${when(snap.taken_at)}.` +
        (snap.truncated ? " (Only the first units by expiry are kept.)" : "");
      prepare.textContent = "Refresh offline copy";
    } else {
      stateText.textContent = worker
        ? "Not kept on this phone for working without signal."
        : "This browser cannot keep pages for working without signal.";
      prepare.textContent = "Make available offline";
    }
    prepare.hidden = !worker;
    remove.hidden = !snap;
    const ops = (await Store.ops(user)).filter((op) => op.event === eventId);
    opsList.replaceChildren();
    const waiting = ops.filter((op) => op.state === "waiting");
    if (waiting.length) {
      const li = document.createElement("li");
      li.className = "fw-semibold";
      li.textContent = `${waiting.length} mark(s) made offline waiting to sync.`;
      opsList.append(li);
    }
    const refused = (o) => (o.state === "refused" || o.state === "invalid") && !o.dismissed;
    for (const op of ops.filter(refused)) {
      const li = document.createElement("li");
      li.className = "alert alert-danger py-1 px-2 mt-1 mb-0 d-flex flex-wrap gap-2 align-items-center";
      li.dataset.state = "refused";
      const text = document.createElement("span");
      text.className = "me-auto";
      const title = document.createElement("strong");
      title.textContent = `Refused at sync: ${op.unitLabel} (${op.kind === "unmark" ? "unmark" : "mark used"}). `;
      text.append(title, op.message);
      // Read and understood: hidden from now on, but kept like every record made here.
      const dismiss = document.createElement("button");
      dismiss.type = "button";
      dismiss.className = "btn btn-sm btn-outline-dark";
      dismiss.textContent = "Dismiss";
      dismiss.setAttribute("aria-label", `Dismiss: ${op.unitLabel}`);
      dismiss.addEventListener("click", async () => {
        op.dismissed = true;
        await Store.putOp(op);
        await show();
      });
      li.append(text, dismiss);
      opsList.append(li);
    }
  }

  prepare.addEventListener("click", async () => {
    prepare.disabled = true;
    stateText.textContent = "Saving this event on the phone…";
    try {
      // The page shell and the scanner's decoder come with the service worker; wait for it so
      // the phone really has everything before saying so.
      await Promise.race([
        navigator.serviceWorker.ready,
        new Promise((_, reject) =>
          setTimeout(() => reject(new Error("the offline page could not be stored on this phone.")), 30000),
        ),
      ]);
      // Waiting implant records must outlive the browser's clean-ups of site storage.
      await navigator.storage?.persist?.().catch(() => false);
      await withSyncLock(fetchAndKeep);
      await show();
    } catch (error) {
      stateText.textContent = `Not saved: ${error.message}`;
    } finally {
      prepare.disabled = false;
    }
  });

  // Under the replay's lock: a mark synced between the copy and its saving would otherwise be
  // taken for one the copy already holds.
  function withSyncLock(work) {
    return navigator.locks ? navigator.locks.request("trunkpool-sync", work) : work();
  }

  async function fetchAndKeep() {
    const response = await fetch(panel.dataset.snapshotUrl, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
    const body = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(body.message || `The server answered ${response.status}.`);
    if (body.user !== user) throw new Error("you were signed in as someone else meanwhile: reload the page.");
    await Store.saveSnapshot(user, body);
  }

  remove.addEventListener("click", async () => {
    await Store.removeSnapshot(user, eventId);
    await show();
  });

  // Marks of this event made offline reached the server: the page's lists are out of date.
  let answeredBefore = null;
  const answered = async () =>
    (await Store.ops(user)).filter((op) => op.event === eventId && op.state !== "waiting").length;
  answered().then((n) => (answeredBefore = n));
  document.addEventListener("trunkpool:synced", async () => {
    await show();
    const now = await answered();
    if (answeredBefore !== null && now > answeredBefore) window.location.reload();
    answeredBefore = now;
  });

  // The signal went while this page was open: the prepared page carries on from the phone.
  window.addEventListener("offline", async () => {
    if (!(await Store.snapshot(user, eventId))) return;
    stateText.textContent = "No signal. This event is kept on this phone: ";
    const go = document.createElement("button");
    go.type = "button";
    go.className = "btn btn-warning btn-sm";
    go.textContent = "Continue without signal";
    go.addEventListener("click", () => window.location.reload());
    stateText.append(go);
    go.focus();
  });

  panel.hidden = false;
  show();
})();
