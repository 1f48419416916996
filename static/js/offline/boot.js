// On every page: the service worker, whose phone this is, and the waiting marks.
//
// - Registers /sw.js, which keeps the offline Mark Used shell ready.
// - When someone else signs in on this phone, the previous user's prepared events go (their
//   waiting marks stay, for when they sign in again); so does any event whose day is past.
// - Replays the signed-in user's waiting marks on every page load and when the network
//   returns; pages listen for "trunkpool:synced" to show the outcome.
// - Logging out syncs first. Offline, it asks, keeps the waiting marks, and finishes the
//   logout on the server with the next page that has signal.
(() => {
  "use strict";

  const Store = globalThis.TrunkpoolStore;
  const Sync = globalThis.TrunkpoolSync;
  if (!Store || !Sync || !window.indexedDB) return;

  const meta = document.querySelector('meta[name="trunkpool-user"]');
  const user = meta && meta.content ? Number(meta.content) : null;
  const shell = document.body.hasAttribute("data-offline-shell");

  if ("serviceWorker" in navigator && window.isSecureContext) {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => {
      // Without a worker the site works as before, only not offline.
    });
  }

  function synced(result) {
    document.dispatchEvent(new CustomEvent("trunkpool:synced", { detail: result }));
  }

  async function syncNow() {
    if (!navigator.onLine) return { state: "offline" };
    let result;
    try {
      result = await Sync.replay();
    } catch (error) {
      result = { state: "error", message: error.message }; // storage refused, say
    }
    synced(result);
    return result;
  }

  // The worker replayed (Background Sync): the pages show the answers as if they had.
  navigator.serviceWorker?.addEventListener("message", (event) => {
    if (event.data?.type === "trunkpool:synced") synced(event.data.result);
  });
  globalThis.TrunkpoolSyncNow = syncNow;

  // Ask the browser to replay from the worker when the network is back, even if this page is
  // closed by then (Chromium's Background Sync; elsewhere the next page load replays).
  globalThis.TrunkpoolRequestSync = async () => {
    try {
      const registration = await navigator.serviceWorker?.ready;
      await registration?.sync?.register("trunkpool-sync");
    } catch (_) {
      // Not supported here: the "online" event and the next page load replay instead.
    }
  };

  // A logout made offline reaches the server with the first page that has signal.
  async function finishOfflineLogout(pending) {
    let who;
    try {
      who = await Sync.session(); // whose session, and a token for it
    } catch (_) {
      return; // still no signal: nothing replays under that session meanwhile
    }
    if (who.user === pending) {
      const response = await fetch("/accounts/logout/", {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": who.csrf },
      }).catch(() => null);
      if (!response) return;
      // Any answer ends the wait: a logout the server refused must not stop this user's
      // syncing for good (their own marks, under their own session).
    }
    await Store.setMeta("logout_pending", null);
    window.location.assign("/accounts/login/");
  }

  async function start() {
    if (shell) return; // the offline page reads the store itself
    const pending = await Store.getMeta("logout_pending");
    if (pending) {
      if (user === pending) return finishOfflineLogout(pending);
      await Store.setMeta("logout_pending", null); // that session is gone already
    }
    if (user === null) return;
    // Someone else's prepared events, and past ones, go; everyone's waiting marks stay.
    await Store.purgeSnapshots({ keepUser: user });
    await Store.setMeta("user", user);
    await syncNow();
  }

  window.addEventListener("online", async () => {
    if (user === null || shell) return;
    const pending = await Store.getMeta("logout_pending");
    if (pending === user) finishOfflineLogout(pending);
    else syncNow();
  });

  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.action.endsWith("/accounts/logout/")) return;
    if (form.dataset.offlineChecked === "1" || user === null) return;
    event.preventDefault();
    const result = await syncNow();
    const left = await Store.waitingCount(user);
    if (result.state === "offline") {
      if (
        left &&
        !window.confirm(
          `There is no signal: ${left} mark(s) made here have not been synced. Log out anyway? ` +
            "They stay on this phone and sync when you sign in again.",
        )
      ) {
        return;
      }
      // The prepared events go now; the server ends the session when there is signal again.
      await Store.purgeSnapshots({ all: true });
      await Store.setMeta("logout_pending", user);
    } else {
      if (
        left &&
        !window.confirm(
          `${left} mark(s) made here could not be synced. Log out anyway? ` +
            "They stay on this phone and sync when you sign in again.",
        )
      ) {
        return;
      }
      await Store.purgeSnapshots({ all: true });
      await Store.removeSettledOps(user);
    }
    await Store.setMeta("user", null);
    if (result.state === "offline") {
      // The logout cannot reach the server: the offline page says what happened.
      window.location.assign("/offline/");
      return;
    }
    form.dataset.offlineChecked = "1";
    form.submit();
  });

  start().catch(() => {
    // Private browsing can refuse IndexedDB: the site works, only not offline.
  });
})();
