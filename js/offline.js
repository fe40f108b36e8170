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
