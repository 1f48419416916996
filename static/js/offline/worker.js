// The service worker's code (loaded by /sw.js after its settings: events/views/pwa.py).
//
// It caches only the data-free shell and the static files it needs, never a page the server
// rendered for someone. Pages come from the network; when the network fails, the shell
// answers instead of the browser's error, and draws a prepared Mark Used from the phone's own
// storage. It also replays waiting marks when Background Sync says the network is back
// (Chromium; Safari has no Background Sync and replays from the page instead).
/* global TRUNKPOOL, TrunkpoolSync */
"use strict";

const CACHE = `trunkpool-${TRUNKPOOL.version}`;
const PRECACHED = new Set(TRUNKPOOL.precache.map((url) => new URL(url, self.location).href));
// Mark Used: a basement can have a trickle of signal that never answers. After this long the
// prepared page is shown rather than a spinner.
const MARK_USED_PATH = /^\/events\/\d+\/use\/$/;
const MARK_USED_TIMEOUT_MS = 6000;

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      await cache.addAll(TRUNKPOOL.precache.map((url) => new Request(url, { cache: "reload" })));
      // No skipWaiting: a new deployment's worker takes over once no page of the old one is
      // open, so a case in progress keeps the decoder and files it started with.
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("trunkpool-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

async function shell() {
  const cached = await caches.match(TRUNKPOOL.shell, { cacheName: CACHE });
  return cached || new Response("No connection, and this phone has no offline copy yet.", {
    status: 503,
    headers: { "Content-Type": "text/plain; charset=utf-8" },
  });
}

function timeout(ms) {
  return new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), ms));
}

async function navigate(request) {
  const url = new URL(request.url);
  try {
    const fetching = fetch(request);
    if (MARK_USED_PATH.test(url.pathname)) {
      return await Promise.race([fetching, timeout(MARK_USED_TIMEOUT_MS)]);
    }
    return await fetching;
  } catch (_) {
    return shell();
  }
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  // Only GET: a form's POST cannot be kept for later here (its page, token and answer are
  // the live server's), so with no network it fails as it would without a worker.
  if (request.mode === "navigate" && request.method === "GET") {
    event.respondWith(navigate(request));
    return;
  }
  if (request.method === "GET" && PRECACHED.has(request.url)) {
    event.respondWith(
      caches.match(request, { cacheName: CACHE }).then((hit) => hit || fetch(request)),
    );
  }
  // Anything else (JSON, uploads, other pages' files) goes to the network as if we were not
  // here.
});

self.addEventListener("sync", (event) => {
  if (event.tag !== "trunkpool-sync") return;
  // Still no network: failing the event asks the browser to try again later.
  event.waitUntil(
    TrunkpoolSync.replay().then(async (result) => {
      for (const client of await self.clients.matchAll({ type: "window" })) {
        client.postMessage({ type: "trunkpool:synced", result });
      }
      // No network yet, or marks the server could not take: the browser tries again later.
      if (result.state === "offline" || result.state === "error") {
        throw new Error(`not synced: ${result.state}`);
      }
    }),
  );
});
