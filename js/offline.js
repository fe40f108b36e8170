// Registers the service worker (public/sw.js) and waits until it has cached the app, or says why
// it could not: the worker reports a failed install (a full disk or storage quota, a missing
// asset) to its pages, which would otherwise wait for navigator.serviceWorker.ready forever.

/** registerOffline registers swURL for scope and resolves once the app works offline. */
export async function registerOffline(swURL, scope) {
  let onMessage;
  const failed = new Promise((_, reject) => {
    onMessage = (e) => {
      if (!e.data || e.data.type !== 'sw-install-failed') return;
      const quota = e.data.name === 'QuotaExceededError';
      reject(new Error(quota
        ? 'the browser has no room left for this site to keep the app\'s files (storage quota full); the app works while this page stays open'
        : `the app's files could not be cached (${e.data.error})`));
    };
    navigator.serviceWorker.addEventListener('message', onMessage);
    navigator.serviceWorker.startMessages();
  });
  try {
    await navigator.serviceWorker.register(swURL, { scope });
    await Promise.race([navigator.serviceWorker.ready, failed]);
  } finally {
    navigator.serviceWorker.removeEventListener('message', onMessage);
  }
}

/**
 * registerSite registers the site's service worker (public/sw.js at the version public/build/
 * assets.json names; base is the URL of public/) for the whole site, adds the URLs in extra to
 * its versioned cache (files a page needs offline that are not on the asset list), and resolves
 * once the app works offline.
 */
export async function registerSite(base, extra = []) {
  const r = await fetch(new URL('build/assets.json', base), { cache: 'no-cache' });
  if (!r.ok) throw new Error(`assets.json: HTTP ${r.status}`);
  const { version } = await r.json();
  await registerOffline(new URL(`sw.js?v=${encodeURIComponent(version)}`, base), new URL('../', base).pathname);
  if (extra.length) {
    // Dropped with the cache on the next build, like the rest of the version's files.
    const cache = await caches.open(`finetuner-${version}`);
    await cache.addAll(extra.map((u) => new Request(u, { cache: 'no-cache' })));
  }
}
