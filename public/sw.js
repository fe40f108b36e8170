// The service worker: after the first visit every asset of the app comes from Cache Storage, so
// the app works with the network off. The asset list and its version come from build/assets.json,
// written by scripts/web.sh; the page registers this file as sw.js?v=<version>, so a new build
// installs a new worker with a new cache and the old cache is dropped.
'use strict';

const ROOT = new URL('../', self.location.href);   // the site root (this file lives in public/)
const PREFIX = 'finetuner-';

async function assetList() {
  const r = await fetch(new URL('public/build/assets.json', ROOT), { cache: 'no-cache' });
  if (!r.ok) throw new Error(`assets.json: HTTP ${r.status}`);
  const a = await r.json();
  if (!a.version || !Array.isArray(a.files)) throw new Error('assets.json: no version or file list');
  return a;
}

self.addEventListener('install', (event) => {
  event.waitUntil((async () => {
    let name = '';
    try {
      const a = await assetList();
      name = PREFIX + a.version;
      const cache = await caches.open(name);
      // Add in small groups: one failed asset fails the install, which is what we want.
      const urls = ['./', ...a.files].map((f) => new URL(f, ROOT).href);
      for (let i = 0; i < urls.length; i += 16) {
        await cache.addAll(urls.slice(i, i + 16).map((u) => new Request(u, { cache: 'no-cache' })));
      }
      await cache.put(new URL('public/build/assets.json', ROOT).href, new Response(JSON.stringify(a), { headers: { 'Content-Type': 'application/json' } }));
    } catch (err) {
      // No half cache left behind to hold the quota, and the pages hear why (js/offline.js).
      if (name) await caches.delete(name).catch(() => {});
      for (const c of await self.clients.matchAll({ includeUncontrolled: true })) {
        c.postMessage({ type: 'sw-install-failed', name: err && err.name, error: String(err && err.message ? err.message : err) });
      }
      throw err;
    }
    await self.skipWaiting();
  })());
});

self.addEventListener('activate', (event) => {
  event.waitUntil((async () => {
    const a = await (await caches.match(new URL('public/build/assets.json', ROOT).href) || new Response('{}')).json().catch(() => ({}));
    for (const k of await caches.keys()) {
      if (k.startsWith(PREFIX) && k !== PREFIX + a.version) await caches.delete(k);
    }
    await self.clients.claim();
  })());
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  if (req.method !== 'GET') return;
  const url = new URL(req.url);
  if (url.origin !== self.location.origin) return;
  const manifest = url.pathname.endsWith('/public/build/assets.json');
  event.respondWith((async () => {
    // The asset list is network-first: it is how the page learns that a new build exists.
    if (manifest) {
      try { return await fetch(req, { cache: 'no-cache' }); } catch (err) {
        const c = await caches.match(req, { ignoreSearch: true });
        if (c) return c;
        throw err;
      }
    }
    const hit = await caches.match(req, { ignoreSearch: true });
    if (hit) return hit;
    if (req.mode === 'navigate') {
      const index = await caches.match(new URL('./', ROOT).href);
      try { return await fetch(req); } catch (err) { if (index) return index; throw err; }
    }
    return fetch(req);
  })());
});

self.addEventListener('message', (event) => {
  if (event.data === 'version') {
    caches.keys().then((keys) => {
      const k = keys.find((x) => x.startsWith(PREFIX));
      event.source.postMessage({ type: 'sw-version', version: k ? k.slice(PREFIX.length) : null });
    });
  }
});
