// Replaying the marks made without signal (pages and the service worker share this).
//
// The server is the judge: each waiting op goes, in the order it was made, to one idempotent
// endpoint that applies it through the same service and rules as the online page. Its answer
// is final: "applied", or "refused" with the reason (a conflict, shown to the rep and never
// retried). Only a failure to reach the server leaves an op waiting.
(() => {
  "use strict";

  const Store = globalThis.TrunkpoolStore;
  const BATCH = 50; // ops per request (the endpoint takes up to 100)
  // A trickle of signal can hold a request for minutes, and the lock with it.
  const TIMEOUT_MS = 20000;
  const timeout = () => (AbortSignal.timeout ? AbortSignal.timeout(TIMEOUT_MS) : undefined);

  function urls() {
    const config = globalThis.TRUNKPOOL || {};
    return {
      session: config.session || "/offline/session/",
      sync: config.sync || "/offline/sync/",
    };
  }

  function withLock(work) {
    // One replay at a time across this phone's tabs and its worker: two would only send the
    // same ops twice (harmless, the endpoint is idempotent, but wasteful).
    if (globalThis.navigator && navigator.locks) {
      return navigator.locks.request("trunkpool-sync", work);
    }
    return work();
  }

  // Who the server's session is, and a fresh CSRF token for it (never stored).
  async function session() {
    const response = await fetch(urls().session, {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
      signal: timeout(),
    });
    if (!response.ok) throw new Error(`session ${response.status}`);
    return response.json();
  }

  // Replay the waiting ops of whoever the server's session belongs to; another user's ops wait
  // for them. The answer says what happened:
  //   {state: "idle" | "synced" | "signed_out" | "offline" | "error", applied, refused, waiting}
  async function replay() {
    return withLock(async () => {
      // Logged out offline: the session may still be alive on the server until the next page
      // with signal ends it; nothing is replayed under it meanwhile (static/js/offline/boot.js).
      if (await Store.getMeta("logout_pending")) return { state: "signed_out" };
      let who;
      try {
        who = await session();
      } catch (_) {
        return { state: "offline" };
      }
      if (!who.user) {
        const lastUser = await Store.getMeta("user");
        const waiting = lastUser ? await Store.waitingCount(lastUser) : 0;
        return { state: waiting ? "signed_out" : "idle", waiting };
      }
      const ops = (await Store.ops(who.user)).filter((op) => op.state === "waiting");
      if (!ops.length) return { state: "idle", applied: 0, refused: 0, waiting: 0 };
      let applied = 0;
      let refused = 0;
      let stuck = 0;
      for (let i = 0; i < ops.length; i += BATCH) {
        const batch = ops.slice(i, i + BATCH);
        // From now on the server may have them, answer or not: Cancel must not drop them.
        const sentAt = new Date().toISOString();
        for (const op of batch) op.sentAt = op.sentAt || sentAt;
        await Store.putOps(batch);
        let response;
        try {
          response = await fetch(urls().sync, {
            method: "POST",
            credentials: "same-origin",
            headers: {
              "Content-Type": "application/json",
              Accept: "application/json",
              "X-CSRFToken": who.csrf,
            },
            body: JSON.stringify({
              operations: batch.map((op) => ({
                id: op.id,
                user: op.user, // the server refuses it under anyone else's session
                kind: op.kind,
                event: op.event,
                unit: op.unit,
                label: op.label || "",
                how: op.how,
                at: op.at,
              })),
            }),
            signal: timeout(),
          });
        } catch (_) {
          return { state: "offline", applied, refused, waiting: ops.length - i };
        }
        if (response.status === 401) {
          return { state: "signed_out", applied, refused, waiting: ops.length - i };
        }
        let results = null;
        if (response.ok) results = (await response.json().catch(() => ({}))).results;
        if (!Array.isArray(results)) {
          // A refused token (403), a server error, or a portal's page instead of JSON.
          const message = `the server answered ${response.status}`;
          return { state: "error", message, applied, refused, waiting: ops.length - i };
        }
        const byId = new Map(results.map((r) => [r.id, r]));
        const answered = [];
        for (const op of batch) {
          const answer = byId.get(op.id);
          // Not answered, failed on the server ("error") or another user's ("wrong_user"):
          // still waiting, sent again next time.
          if (!answer || (answer.status !== "applied" && answer.status !== "refused" && answer.status !== "invalid")) {
            stuck += 1;
            continue;
          }
          op.state = answer.status === "applied" ? "applied" : "refused";
          op.message = answer.message || "";
          op.warning = answer.warning || "";
          op.syncedAt = new Date().toISOString();
          if (op.state === "applied") applied += 1;
          else refused += 1;
          answered.push(op);
        }
        await Store.putOps(answered);
      }
      if (stuck) {
        const message = `${stuck} could not be applied yet`;
        return { state: "error", message, applied, refused, waiting: stuck };
      }
      return { state: "synced", applied, refused, waiting: 0 };
    });
  }

  globalThis.TrunkpoolSync = { replay, session };
})();
