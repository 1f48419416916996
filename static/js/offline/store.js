// What this phone keeps for working without signal, in IndexedDB (pages and the service worker
// share it; see events/views/pwa.py).
//
// - snapshots: one prepared event per (user, event): its name, facility and date, and the
//   units that user may mark used on it. No patient reference, comment, CSRF or API token.
// - ops: marks and unmarks made here, each with an id made here (a UUID), replayed in order to
//   the server, which judges them. A waiting op is never deleted: it stays until its own user
//   signs in and it is synced.
// - meta: who last signed in on this phone, a pending offline logout, the op counter.
(() => {
  "use strict";

  const DB_NAME = "trunkpool-offline";
  const DB_VERSION = 1;
  let opened = null;

  function request(req) {
    return new Promise((resolve, reject) => {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }

  function open() {
    if (!opened) {
      opened = new Promise((resolve, reject) => {
        const req = indexedDB.open(DB_NAME, DB_VERSION);
        req.onerror = () => {
          opened = null; // the next call tries again
          reject(req.error);
        };
        req.onupgradeneeded = () => {
          const db = req.result;
          const snapshots = db.createObjectStore("snapshots", { keyPath: "key" });
          snapshots.createIndex("user", "user");
          const ops = db.createObjectStore("ops", { keyPath: "id" });
          ops.createIndex("user", "user");
          db.createObjectStore("meta", { keyPath: "name" });
        };
        req.onsuccess = () => {
          const db = req.result;
          // A newer version of the site wants to upgrade the store: let it.
          db.onversionchange = () => {
            db.close();
            opened = null;
          };
          resolve(db);
        };
        req.onblocked = () => {
          opened = null;
          reject(new Error("The offline store is open in an older tab."));
        };
      });
    }
    return opened;
  }

  async function tx(stores, mode, work) {
    const db = await open();
    const t = db.transaction(stores, mode);
    const done = new Promise((resolve, reject) => {
      t.oncomplete = resolve;
      t.onerror = () => reject(t.error);
      t.onabort = () => reject(t.error || new Error("aborted"));
    });
    const [result] = await Promise.all([work(t), done]);
    return result;
  }

  const snapshotKey = (user, event) => `${user}:${event}`;

  // Local calendar date as YYYY-MM-DD (a snapshot is kept through its event's day).
  function today() {
    const d = new Date();
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
  }

  function uuid() {
    if (crypto.randomUUID) return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  async function newOp(t, fields) {
    const meta = t.objectStore("meta");
    const counter = await request(meta.get("seq"));
    const seq = (counter ? counter.value : 0) + 1;
    meta.put({ name: "seq", value: seq });
    const op = { id: uuid(), seq, state: "waiting", at: new Date().toISOString(), ...fields };
    t.objectStore("ops").put(op);
    return op;
  }

  const Store = {
    today,

    async getMeta(name) {
      const row = await tx(["meta"], "readonly", (t) => request(t.objectStore("meta").get(name)));
      return row ? row.value : null;
    },

    setMeta(name, value) {
      return tx(["meta"], "readwrite", (t) => request(t.objectStore("meta").put({ name, value })));
    },

    // A new copy already holds what this phone's synced ops did (its lines are the server's):
    // they are marked superseded, so only what is still waiting is laid over it.
    saveSnapshot(user, data, { supersede = true } = {}) {
      const row = {
        key: snapshotKey(user, data.event.id),
        user,
        event: data.event.id,
        purgeAfter: data.purge_after,
        data,
      };
      return tx(["snapshots", "ops"], "readwrite", async (t) => {
        t.objectStore("snapshots").put(row);
        if (!supersede) return;
        const ops = t.objectStore("ops");
        for (const op of await request(ops.index("user").getAll(user))) {
          if (op.event === data.event.id && op.state === "applied" && !op.superseded) {
            op.superseded = true;
            ops.put(op);
          }
        }
      });
    },

    async snapshot(user, event) {
      const row = await tx(["snapshots"], "readonly", (t) =>
        request(t.objectStore("snapshots").get(snapshotKey(user, event))),
      );
      return row ? row.data : null;
    },

    async snapshots(user) {
      const rows = await tx(["snapshots"], "readonly", (t) =>
        request(t.objectStore("snapshots").index("user").getAll(user)),
      );
      return rows.map((row) => row.data);
    },

    removeSnapshot(user, event) {
      return tx(["snapshots"], "readwrite", (t) =>
        request(t.objectStore("snapshots").delete(snapshotKey(user, event))),
      );
    },

    // Snapshots of anyone but `keepUser`, and any past their event's day, go; but not one
    // whose marks still wait (a phone's clock set ahead must not hide a case in progress),
    // unless `all` (logging out). Ops stay: a waiting implant record is never deleted.
    async purgeSnapshots({ keepUser = null, all = false } = {}) {
      const now = today();
      return tx(["snapshots", "ops"], "readwrite", async (t) => {
        const store = t.objectStore("snapshots");
        const waiting = new Set(
          (await request(t.objectStore("ops").getAll()))
            .filter((op) => op.state === "waiting")
            .map((op) => snapshotKey(op.user, op.event)),
        );
        for (const row of await request(store.getAll())) {
          const past = row.purgeAfter && row.purgeAfter <= now && !waiting.has(row.key);
          if (all || row.user !== keepUser || past) store.delete(row.key);
        }
      });
    },

    // A new operation, "waiting" until the server has answered it. `seq` keeps the order
    // made here (the phone's clock is not trusted for anything, ordering included).
    addOp(fields) {
      return tx(["ops", "meta"], "readwrite", (t) => newOp(t, fields));
    },

    // A mark, unless this user already has one of that unit on that event waiting or synced
    // here: checked and stored in one transaction, so a double tap or a second tab cannot
    // queue it twice. Returns the new op, or null.
    async addMarkIfFree(fields) {
      return tx(["ops", "meta"], "readwrite", async (t) => {
        const ops = t.objectStore("ops");
        let marked = false;
        const mine = (await request(ops.index("user").getAll(fields.user))).sort((a, b) => a.seq - b.seq);
        for (const op of mine) {
          if (op.event !== fields.event || op.unit !== fields.unit || op.superseded) continue;
          if (op.state === "waiting" || op.state === "applied") {
            marked = op.kind === "mark_used";
          }
        }
        if (marked) return null;
        return newOp(t, { ...fields, kind: "mark_used" });
      });
    },

    // Cancel a mark not sent yet: only if it is still waiting in storage (a replay may have
    // synced it meanwhile; then the server's answer stands). Returns the stored state.
    async cancelIfWaiting(id) {
      return tx(["ops"], "readwrite", async (t) => {
        const ops = t.objectStore("ops");
        const op = await request(ops.get(id));
        if (!op || op.state !== "waiting") return op ? op.state : null;
        // Sent once without an answer (a timeout): the server may have it. Not cancelled here.
        if (op.sentAt) return "sent";
        op.state = "cancelled";
        ops.put(op);
        return op.state;
      });
    },

    putOp(op) {
      return tx(["ops"], "readwrite", (t) => request(t.objectStore("ops").put(op)));
    },

    // Several at once, in one transaction (a replay's 50 answers: one write, not 50).
    putOps(ops) {
      return tx(["ops"], "readwrite", async (t) => {
        const store = t.objectStore("ops");
        for (const op of ops) store.put(op);
      });
    },

    async ops(user) {
      const rows = await tx(["ops"], "readonly", (t) =>
        request(t.objectStore("ops").index("user").getAll(user)),
      );
      return rows.sort((a, b) => a.seq - b.seq);
    },

    async waitingCount(user) {
      return (await Store.ops(user)).filter((op) => op.state === "waiting").length;
    },

    // Settled ops (synced, refused, cancelled) of a user: dropped when they log out online.
    // Waiting ones are kept.
    removeSettledOps(user) {
      return tx(["ops"], "readwrite", async (t) => {
        const store = t.objectStore("ops");
        const rows = await request(store.index("user").getAll(user));
        for (const op of rows) if (op.state !== "waiting") store.delete(op.id);
      });
    },
  };

  globalThis.TrunkpoolStore = Store;
})();
