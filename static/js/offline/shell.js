// The offline page (templates/offline/shell.html), shown by the service worker when a page
// cannot be fetched.
//
// On a prepared event's Mark Used address it draws the event from this phone's storage: the
// units its representative could use when the copy was taken, filtered by custody as online,
// marked by tap, typed serial or lot, or camera scan. Each mark is stored as an operation
// "waiting to sync"; the server judges it at sync (static/js/offline/sync.js). The phone only
// says what it knows: a mark is never shown as done until the server has said so.
(() => {
  "use strict";

  const Store = globalThis.TrunkpoolStore;
  const Label = globalThis.TrunkpoolLabel;
  const $ = (id) => document.getElementById(id);
  const MARK_USED_PATH = /^\/events\/(\d+)\/use\/$/;

  // Rows drawn at a time, as the live page pages them: a 2,000-row table made every tap cost
  // a phone ~100 ms of layout (bench_offline). The scan box reaches every unit kept.
  const PAGE_ROWS = 100;

  const state = {
    user: null,
    snap: null,
    ops: [],
    custody: "both",
    facilityOnly: false,
    shown: PAGE_ROWS,
  };

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (key === "dataset") Object.assign(node.dataset, value);
      else if (key in node) node[key] = value;
      else node.setAttribute(key, value);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  }

  const when = (iso) =>
    new Date(iso).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });

  function unitLabel(unit) {
    return unit.serial || `lot ${unit.lot} (#${unit.id})`;
  }

  // --- What is marked, from the copy's lines and this phone's operations ---------------------

  function eventOps() {
    return state.ops.filter((op) => op.event === state.snap.event.id);
  }

  // unit id -> {synced: bool (a line on the server), op: the mark op waiting or applied}
  function markedUnits() {
    const marked = new Map();
    for (const line of state.snap.lines) marked.set(line.unit, { line, synced: true });
    for (const op of eventOps()) {
      // Settled before the copy was refreshed: the copy's lines already say what it did.
      if (op.superseded) continue;
      if (op.state === "cancelled" || op.state === "refused" || op.state === "invalid") continue;
      if (op.kind === "mark_used") marked.set(op.unit, { op, synced: op.state === "applied" });
      else if (op.kind === "unmark") {
        if (op.state === "applied") marked.delete(op.unit);
        else if (marked.has(op.unit)) marked.get(op.unit).unmarking = op;
      }
    }
    return marked;
  }

  function unitById(id) {
    return state.snap.units.find((u) => u.id === id) || null;
  }

  // --- Which unit a scanned or typed code names, among this copy's units --------------------

  function sameProduct(label, unit, strict) {
    if (label.gtin) return unit.gtin ? unit.gtin === label.gtin : !strict;
    if (label.hibc) return unit.hibc ? unit.hibc === label.hibc : !strict;
    return true;
  }

  // The same preference as the server's: the copy lists the representative's own units first,
  // then the pool's, each earliest expiry first; a serial-tracked lot asks for the serial.
  function unitOfLot(lot, label) {
    const candidates = state.snap.units.filter(
      (u) => u.lot === lot && (!label || sameProduct(label, u, true)),
    );
    if (!candidates.length) return null;
    if (candidates.some((u) => u.serial)) {
      return { message: `Lot ${lot} is tracked by serial: scan or type the unit's serial.` };
    }
    const marked = markedUnits();
    const free = candidates.find((u) => !marked.has(u.id));
    return free ? { unit: free } : { message: `Every unit of lot ${lot} here is marked already.` };
  }

  function identify(raw) {
    const text = raw.replace(/[\r\n]+$/, "");
    const typed = text.trim();
    if (!typed) return { message: "Type a serial or lot, or scan a label." };
    if (Label.looksLikeLabel(typed)) {
      const label = Label.read(text);
      if (!label.ok) return { message: label.message };
      if (label.unitOfMeasure && label.unitOfMeasure !== "0") {
        return { message: "This label is a package's (a box of several), not one unit's: scan the unit inside." };
      }
      if (label.serial) {
        const wanted = label.serial.toLowerCase();
        const unit = state.snap.units.find((u) => u.serial.toLowerCase() === wanted);
        if (!unit) return { message: notFound() };
        if (!sameProduct(label, unit, false)) {
          return { message: `The label's product (${label.gtin || label.hibc}) is not ${unit.catalog_number}'s: nothing was marked.` };
        }
        if (label.lot && unit.lot && label.lot !== unit.lot) {
          return { message: `The label says lot ${label.lot}; the record says ${unit.lot}: nothing was marked.` };
        }
        if (label.expiry && unit.expiry && label.expiry !== unit.expiry) {
          return { message: `The label says it expires ${label.expiry}; the record says ${unit.expiry}: nothing was marked.` };
        }
        return { unit, how: "scan", label: text };
      }
      if (label.lot) {
        const found = unitOfLot(label.lot, label);
        if (!found) return { message: notFound() };
        return found.unit ? { unit: found.unit, how: "scan", label: text } : found;
      }
      return { message: "This label names only the product: scan or type the unit's serial or lot." };
    }
    const unit = state.snap.units.find((u) => u.serial && u.serial.toLowerCase() === typed.toLowerCase());
    if (unit) return { unit, how: "typed", label: typed };
    const line = state.snap.lines.find((l) => l.label.toLowerCase() === typed.toLowerCase());
    if (line) return { message: `${line.label} is already used on this event.` };
    const found = unitOfLot(typed, null);
    if (!found) return { message: notFound() };
    return found.unit ? { unit: found.unit, how: "typed", label: typed } : found;
  }

  function notFound() {
    return `No unit on this phone's list for this event matches (the list is from ${when(state.snap.taken_at)}).`;
  }

  // Why this phone will not queue a mark of `unit` (the server judges everything else).
  function markProblem(unit) {
    if (!state.snap.event.can_use) return "This event is no longer open.";
    const marked = markedUnits().get(unit.id);
    if (marked) {
      return marked.synced
        ? `${unitLabel(unit)} is already used on this event.`
        : `${unitLabel(unit)} is already marked on this phone, waiting to sync.`;
    }
    if (unit.expired) return `${unitLabel(unit)} expired before the event's date.`;
    return "";
  }

  // --- Marking, unmarking ---------------------------------------------------------------------

  const marking = new Set(); // units whose mark is being stored: a second tap waits for none

  async function mark(unit, how, label = "") {
    const problem = markProblem(unit);
    if (problem) return { ok: false, message: problem };
    if (marking.has(unit.id)) return { ok: false, message: `${unitLabel(unit)} is being marked.` };
    marking.add(unit.id);
    performance.mark("offline-mark-tap");
    let op;
    try {
      op = await Store.addMarkIfFree({
        user: state.user,
        event: state.snap.event.id,
        unit: unit.id,
        how,
        label,
        unitLabel: unitLabel(unit),
        title: `${unit.catalog_number} ${unit.description}`,
      });
    } catch (error) {
      return { ok: false, message: `This phone could not store the mark (${error.message}): nothing was marked.` };
    } finally {
      marking.delete(unit.id);
    }
    performance.measure("offline-mark-stored", "offline-mark-tap"); // of it, the storage
    if (!op) {
      // Marked in another tab of this phone meanwhile.
      state.ops = await Store.ops(state.user);
      draw();
      return { ok: false, message: `${unitLabel(unit)} is already marked on this phone, waiting to sync.` };
    }
    state.ops.push(op);
    // Only what changed: redrawing a full copy (2,000 rows) cost a phone ~400 ms of layout
    // per tap (bench_offline).
    const row = $("offline-units").querySelector(`tr[data-unit="${unit.id}"]`);
    if (row) row.remove();
    else unitRows(); // scanned or typed beyond the page drawn: its "Show more" count changes
    usedList();
    banner();
    // Measured to the frame that shows it, not only to the DOM change.
    requestAnimationFrame(() =>
      setTimeout(() => {
        performance.mark("offline-mark-waiting");
        performance.measure("offline-mark", "offline-mark-tap", "offline-mark-waiting");
      }, 0),
    );
    globalThis.TrunkpoolRequestSync?.();
    const message = `${unitLabel(unit)} marked used: waiting to sync.`;
    return { ok: true, message, warning: unit.warning };
  }

  // Under the replay's lock, so a mark is never cancelled while it is on its way.
  function withSyncLock(work) {
    return navigator.locks ? navigator.locks.request("trunkpool-sync", work) : work();
  }

  async function unmark(unitId, entry) {
    if (marking.has(unitId)) return; // a second tap while the first is stored
    marking.add(unitId);
    try {
      await unmarkOnce(unitId, entry);
    } finally {
      marking.delete(unitId);
    }
    draw();
  }

  async function unmarkOnce(unitId, entry) {
    if (entry.op && entry.op.state === "waiting") {
      // Never sent: cancelled, and kept, as every record made here is.
      say(`Cancelling ${entry.op.unitLabel}…`);
      const now = await withSyncLock(() => Store.cancelIfWaiting(entry.op.id));
      state.ops = await Store.ops(state.user);
      if (now === "cancelled") {
        say(`${entry.op.unitLabel} is no longer marked.`);
        return;
      }
      if (now !== "sent") {
        say(
          now === "applied"
            ? `${entry.op.unitLabel} was synced meanwhile: press Unmark to take it off.`
            : `${entry.op.unitLabel} was answered by the server meanwhile: see below.`,
        );
        return;
      }
      // It went to the server without an answer: it may be there. An unmark follows it, in
      // order, so the server ends with the unit off the event either way.
    }
    {
      const unit = unitById(unitId);
      const line = entry.line;
      const op = await Store.addOp({
        user: state.user,
        event: state.snap.event.id,
        unit: unitId,
        kind: "unmark",
        how: "list",
        label: "",
        unitLabel: unit ? unitLabel(unit) : line ? line.label : entry.op.unitLabel,
        title: unit ? `${unit.catalog_number} ${unit.description}` : line ? line.title : entry.op.title,
      });
      state.ops.push(op);
      globalThis.TrunkpoolRequestSync?.();
      say(`${op.unitLabel}: unmark waiting to sync.`);
    }
  }

  function say(text) {
    const answer = $("offline-answer");
    answer.textContent = text;
  }

  // --- Drawing --------------------------------------------------------------------------------

  function custodyButtons() {
    const labels = state.snap.custody_labels;
    const group = $("offline-custody");
    group.replaceChildren();
    for (const key of ["mine", "shared", "both"]) {
      const button = el("button", {
        type: "button",
        className: `btn btn-sm ${state.custody === key ? "btn-secondary" : "btn-outline-secondary"}`,
        textContent: labels[key],
      });
      button.setAttribute("aria-pressed", String(state.custody === key));
      button.addEventListener("click", () => {
        state.custody = key;
        state.shown = PAGE_ROWS;
        draw();
      });
      group.append(button);
    }
    const stock = el("button", {
      type: "button",
      className: `btn btn-sm ${state.facilityOnly ? "btn-info" : "btn-outline-info"}`,
      textContent: "Facility stock only",
    });
    stock.setAttribute("aria-pressed", String(state.facilityOnly));
    stock.addEventListener("click", () => {
      state.facilityOnly = !state.facilityOnly;
      state.shown = PAGE_ROWS;
      draw();
    });
    group.append(stock);
  }

  function unitRows() {
    const marked = markedUnits();
    const rows = state.snap.units.filter(
      (u) =>
        !marked.has(u.id) &&
        (state.custody === "both" || u.holder === state.custody) &&
        (!state.facilityOnly || u.facility_stock),
    );
    const body = $("offline-units");
    body.replaceChildren();
    if (!rows.length) {
      body.append(el("tr", {}, el("td", { colSpan: 5, className: "text-muted", textContent: "No units match." })));
      return;
    }
    for (const unit of rows.slice(0, state.shown)) {
      const expiry = el("td", { textContent: unit.expiry || "—" });
      if (unit.expired) expiry.append(el("div", { className: "small text-danger", textContent: "expired before the event" }));
      else if (unit.warning) expiry.append(el("div", { className: "small", textContent: unit.warning }));
      const button = el("button", {
        type: "button",
        className: "btn btn-sm btn-primary",
        textContent: "Mark used",
        disabled: !state.snap.event.can_use || unit.expired,
      });
      button.setAttribute("aria-label", `Mark used: ${unitLabel(unit)}`);
      button.addEventListener("click", async () => {
        const result = await mark(unit, "list");
        say(result.message);
      });
      body.append(
        el(
          "tr",
          { dataset: { unit: unit.id } },
          el("td", { dataset: { label: "Product" } }, el("strong", { textContent: unit.catalog_number }), ` ${unit.description}`),
          el("td", { dataset: { label: "Serial / lot" }, textContent: unit.serial ? `SN ${unit.serial}` : `lot ${unit.lot}` }),
          expiry,
          el("td", { dataset: { label: "Custody" } }, el("span", { className: unit.custody_css, textContent: unit.custody })),
          el("td", {}, button),
        ),
      );
    }
    if (rows.length > state.shown) {
      const more = el("button", {
        type: "button",
        className: "btn btn-outline-secondary btn-sm",
        textContent: `Show ${Math.min(PAGE_ROWS, rows.length - state.shown)} more (${rows.length - state.shown} not shown)`,
      });
      more.addEventListener("click", () => {
        state.shown += PAGE_ROWS;
        unitRows();
      });
      body.append(el("tr", {}, el("td", { colSpan: 5 }, more)));
    }
  }

  function usedList() {
    const list = $("offline-used");
    list.replaceChildren();
    const marked = markedUnits();
    for (const [unitId, entry] of marked) {
      const unit = unitById(unitId);
      const name = entry.line
        ? `${entry.line.title} · ${entry.line.label}`
        : `${entry.op.title} · ${entry.op.unitLabel}`;
      let status = "synced";
      if (entry.unmarking) status = "unmark waiting to sync";
      else if (!entry.synced) status = "waiting to sync";
      const item = el(
        "li",
        { className: "list-group-item d-flex flex-wrap gap-2 align-items-center", dataset: { unit: unitId, state: status } },
        el("span", { className: "me-auto", textContent: name }),
        el("span", {
          className: `badge ${status === "synced" ? "text-bg-success" : "text-bg-warning"}`,
          textContent: status,
        }),
      );
      if (state.snap.event.can_use && !entry.unmarking) {
        const button = el("button", {
          type: "button",
          className: "btn btn-sm btn-outline-secondary",
          textContent: entry.synced ? "Unmark" : "Cancel",
        });
        button.setAttribute("aria-label", `${button.textContent}: ${entry.op ? entry.op.unitLabel : entry.line.label}`);
        button.addEventListener("click", () => unmark(unitId, entry));
        item.append(button);
      }
      if (unit?.custody) item.append(el("span", { className: `small ${unit.custody_css}`, textContent: unit.custody }));
      list.append(item);
    }
    // The server's refusals: conflicts, each with its reason. Never sent again.
    const refused = (o) => (o.state === "refused" || o.state === "invalid") && !o.dismissed;
    for (const op of eventOps().filter(refused)) {
      list.append(
        el(
          "li",
          { className: "list-group-item list-group-item-danger", dataset: { state: "refused", unit: op.unit } },
          el("strong", { textContent: `Refused at sync: ${op.unitLabel}` }),
          el("div", { textContent: op.message }),
        ),
      );
    }
    if (!list.childElementCount) {
      list.append(el("li", { className: "list-group-item text-muted", textContent: "Nothing marked used yet." }));
    }
  }

  function draw() {
    custodyButtons();
    unitRows();
    usedList();
    banner();
  }

  function banner() {
    const waiting = eventOps().filter((op) => op.state === "waiting").length;
    $("offline-sync").hidden = !waiting;
    $("offline-banner").hidden = false;
    $("offline-banner").textContent =
      (navigator.onLine ? "The server could not be reached." : "No signal.") +
      ` Marks are kept on this phone and sync when the signal returns; the server then checks each one.` +
      (waiting ? ` ${waiting} waiting to sync.` : "");
  }

  function drawEvent() {
    const { event } = state.snap;
    document.title = `Mark Used Inventory · ${event.name} · Trunkpool (offline)`;
    $("offline-event").textContent = `${event.name} · ${event.type} at ${event.facility} · ${event.date} · representative ${event.representative}`;
    $("offline-taken").textContent = `Offline copy taken ${when(state.snap.taken_at)}.`;
    $("offline-closed").hidden = event.can_use;
    $("offline-marking").hidden = !event.can_use;
    $("offline-truncated").hidden = !state.snap.truncated;
  }

  // --- The scan box, the camera and the refresh -----------------------------------------------

  function wire() {
    $("offline-typed").addEventListener("submit", async (e) => {
      e.preventDefault();
      const input = $("offline-code");
      const found = identify(input.value);
      const result = found.unit ? await mark(found.unit, found.how, found.label) : { ok: false, message: found.message };
      say(result.ok ? result.message : `Not marked: ${result.message}`);
      if (result.ok) input.value = "";
      input.focus();
    });
    const panel = document.querySelector(".scanner");
    if (panel) {
      // The camera scanner (static/js/scanner.js) asks this page instead of the server.
      panel.answerer = {
        check: async (code) => {
          const found = identify(code);
          if (!found.unit) return { ok: false, message: found.message };
          const problem = markProblem(found.unit);
          const unit = found.unit;
          return {
            ok: !problem,
            message: problem,
            can_mark: !problem,
            unit: {
              id: unit.id,
              title: `${unit.catalog_number} ${unit.description}`,
              detail: `${unitLabel(unit)} · expires ${unit.expiry || "no expiry"}`,
              custody: unit.custody,
              custody_css: unit.custody_css,
            },
          };
        },
        mark: async (code, unitId) => {
          const found = identify(code);
          if (!found.unit || String(found.unit.id) !== String(unitId)) {
            return { ok: false, message: found.message || "That code now names another unit: scan it again." };
          }
          return mark(found.unit, "scan", found.label);
        },
      };
    }
    $("offline-refresh").addEventListener("click", refresh);
  }

  function refresh() {
    return withSyncLock(refreshOnce);
  }

  async function refreshOnce() {
    try {
      const response = await fetch(state.snap.event.snapshot_url || `/events/${state.snap.event.id}/offline/`, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        cache: "no-store",
      });
      if (response.redirected || response.status === 401 || response.status === 403) {
        say("Refreshing needs you signed in: sign in again with signal. The copy on this phone is kept.");
        return;
      }
      const data = await response.json();
      if (response.status === 409) {
        // Submitted or cancelled meanwhile: say so, and stop taking marks for it.
        state.snap.event.can_use = false;
        await Store.saveSnapshot(state.user, state.snap, { supersede: false });
        drawEvent();
        draw();
        say(data.message);
        return;
      }
      if (!response.ok) throw new Error(String(response.status));
      if (data.user !== state.user) {
        say("This phone's session belongs to someone else now: the copy was not refreshed.");
        return;
      }
      await Store.saveSnapshot(state.user, data);
      state.snap = data;
      state.ops = await Store.ops(state.user);
      drawEvent();
      draw();
      say("The offline copy is up to date.");
    } catch (_) {
      say("Refreshing needs a connection. The copy on this phone is kept.");
    }
  }

  // --- Anywhere else: what this phone has prepared --------------------------------------------

  async function elsewhere() {
    $("offline-elsewhere").hidden = false;
    $("offline-banner").hidden = true;
    const list = $("offline-prepared");
    list.replaceChildren();
    const snaps = state.user ? await Store.snapshots(state.user) : [];
    const ops = state.user ? await Store.ops(state.user) : [];
    for (const snap of snaps.filter((s) => current(s, ops))) {
      list.append(
        el(
          "li",
          { className: "list-group-item" },
          el("a", { href: snap.event.mark_used_url, textContent: `${snap.event.name}` }),
          el("div", { className: "small text-muted", textContent: `${snap.event.facility} · ${snap.event.date} · copy taken ${when(snap.taken_at)}` }),
        ),
      );
    }
    if (!list.childElementCount) {
      list.append(el("li", { className: "list-group-item text-muted", textContent: "Nothing. With signal, open an event's Mark Used and press “Make available offline”." }));
    }
    const pending = await Store.getMeta("logout_pending");
    if (pending) {
      const waiting = await Store.waitingCount(pending);
      const note = $("offline-signed-out");
      note.hidden = false;
      note.textContent =
        "You are logged out on this phone; the server is told when there is signal." +
        (waiting ? ` ${waiting} mark(s) made here wait to sync, and will when you sign in again.` : "");
    }
    // The page asked for; from /offline/ itself (after logging out offline), the dashboard.
    const here = window.location.pathname === "/offline/" ? "/" : window.location.href;
    document.querySelector("[data-offline-retry]").href = here;
  }

  // The network may be back (or only the server was slow): replay, then show the answers.
  let syncing = null; // one replay at a time from this page: the timer, "online", Sync now

  function syncAndDraw() {
    syncing = syncing || syncAndDrawOnce().finally(() => (syncing = null));
    return syncing;
  }

  async function syncAndDrawOnce() {
    const result = await globalThis.TrunkpoolSyncNow?.();
    if (result?.state === "error") {
      say(`The server could not take every mark (${result.message}); they wait and are sent again.`);
    } else if (result?.state === "offline" && !navigator.onLine) {
      // Nothing to say: the banner says there is no signal.
    } else if (result?.state === "signed_out") {
      const answer = $("offline-answer");
      const next = encodeURIComponent(window.location.pathname);
      answer.replaceChildren(
        "Your session has ended: ",
        el("a", { href: `/accounts/login/?next=${next}`, textContent: "sign in again" }),
        " to sync the marks waiting on this phone.",
      );
    }
  }

  // The server answered marks of this page, whether this page or the worker sent them.
  async function showAnswers(event) {
    if (!state.snap) return;
    const waitingBefore = new Set(eventOps().filter((op) => op.state === "waiting").map((op) => op.id));
    state.ops = await Store.ops(state.user);
    const answered = eventOps().filter((op) => waitingBefore.has(op.id) && op.state !== "waiting");
    if (!answered.length) return;
    draw();
    const applied = answered.filter((op) => op.state === "applied").length;
    let text = `Synced: ${applied} accepted, ${answered.length - applied} refused by the server.`;
    if (event?.detail?.state === "error") text += ` Some could not be taken yet (${event.detail.message}): they wait and are sent again.`;
    say(text);
  }

  // Through its event's day by the phone's clock, or for as long as marks of it wait (a clock
  // set ahead must not hide a case in progress).
  function current(snap, ops) {
    const waiting = ops.some((op) => op.event === snap.event.id && op.state === "waiting");
    return waiting || !snap.purge_after || snap.purge_after > Store.today();
  }

  async function main() {
    state.user = await Store.getMeta("user");
    const match = window.location.pathname.match(MARK_USED_PATH);
    const snap = state.user && match ? await Store.snapshot(state.user, Number(match[1])) : null;
    if (!snap || !current(snap, await Store.ops(state.user))) return elsewhere();
    state.snap = snap;
    state.ops = await Store.ops(state.user);
    $("offline-mark-used").hidden = false;
    drawEvent();
    wire();
    draw();
    window.addEventListener("online", syncAndDraw);
    document.addEventListener("trunkpool:synced", showAnswers);
    // A phone that believes it has signal while the server does not answer gets no "online"
    // event (and Safari no Background Sync): try again every half minute while marks wait.
    setInterval(() => {
      if (navigator.onLine && eventOps().some((op) => op.state === "waiting")) syncAndDraw();
    }, 30000);
    $("offline-sync").addEventListener("click", syncAndDraw);
    if (eventOps().some((op) => op.state === "waiting")) syncAndDraw();
  }

  main().catch((error) => {
    say(`This phone's offline storage could not be read (${error.message}).`);
  });
})();
