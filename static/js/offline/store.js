// What this phone keeps for working without signal, in IndexedDB (pages and the service worker
// share it; see core/pwa.py).
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
        req.onupgradeneeded = () => {
          const db = req.result;
          const snapshots = db.createObjectStore("snapshots", { keyPath: "key" });
          snapshots.createIndex("user", "user");
          const ops = db.createObjectStore("ops", { keyPath: "id" });
          ops.createIndex("user", "user");
          db.createObjectStore("meta", { keyPath: "name" });
        };
        req.onsuccess = () => resolve(req.result);
        req.onerror = () => reject(req.error);
        req.onblocked = () => reject(new Error("The offline store is open in an older tab."));
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
    const result = await work(t);
    await done;
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

  const Store = {
    today,

    async getMeta(name) {
      const row = await tx(["meta"], "readonly", (t) => request(t.objectStore("meta").get(name)));
      return row ? row.value : null;
    },

    setMeta(name, value) {
      return tx(["meta"], "readwrite", (t) => request(t.objectStore("meta").put({ name, value })));
    },

    saveSnapshot(user, data) {
      const row = {
        key: snapshotKey(user, data.event.id),
        user,
        event: data.event.id,
        purgeAfter: data.purge_after,
        data,
      };
      return tx(["snapshots"], "readwrite", (t) => request(t.objectStore("snapshots").put(row)));
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

    // Snapshots of anyone but `keepUser`, and any past their event's day, go. Ops stay: a
    // waiting implant record is never deleted, whoever signs in.
    async purgeSnapshots({ keepUser = null, all = false } = {}) {
      const now = today();
      return tx(["snapshots"], "readwrite", async (t) => {
        const store = t.objectStore("snapshots");
        const rows = await request(store.getAll());
        for (const row of rows) {
          if (all || row.user !== keepUser || (row.purgeAfter && row.purgeAfter <= now)) {
            store.delete(row.key);
          }
        }
      });
    },

    // A new operation, "waiting" until the server has answered it. `seq` keeps the order
    // made here (the phone's clock is not trusted for anything, ordering included).
    async addOp(fields) {
      return tx(["ops", "meta"], "readwrite", async (t) => {
        const meta = t.objectStore("meta");
        const counter = await request(meta.get("seq"));
        const seq = (counter ? counter.value : 0) + 1;
        meta.put({ name: "seq", value: seq });
        const op = { id: uuid(), seq, state: "waiting", at: new Date().toISOString(), ...fields };
        t.objectStore("ops").put(op);
        return op;
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
