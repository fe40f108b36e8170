// Sharing a trained head by link, through the Worker's API (cloudflare/api.go). The page works the
// same without it: apiAvailable() is false when the page is served by anything else (cmd/serve,
// a static host, file://, the offline kiosk), and the page then hides Share.
//
//   if (await apiAvailable()) showShareButton();
//   const { url } = await shareHead(headFileBytes);          // a .safetensors head file
//   const id = sharedHeadId();                               // from a link /?head=<id>
//   if (id) loadHead(await fetchSharedHead(id));
//
// Every function takes an optional { origin } (default: this page's) so that other pages and
// Node can use the API too. Errors are thrown as Error with the server's message.

const ID = /^[0-9a-f]{32}$/;
const probes = new Map(); // origin → Promise<health | null>

function originOf(opts) {
  const o = opts && opts.origin ? opts.origin : globalThis.location && globalThis.location.origin;
  return o && /^https?:\/\//.test(o) ? o.replace(/\/+$/, '') : null;
}

async function errorOf(res) {
  let msg = '';
  try { msg = (await res.json()).error || ''; } catch { /* not JSON: keep the status */ }
  return new Error(msg || `HTTP ${res.status} ${res.statusText}`);
}

// health resolves to the API's /api/health answer, or null when no finetuner API answers.
function health(opts = {}) {
  const origin = originOf(opts);
  if (!origin) return Promise.resolve(null);
  if (!opts.refresh && probes.has(origin)) return probes.get(origin);
  const p = (async () => {
    try {
      const res = await fetch(`${origin}/api/health`, { cache: 'no-store', signal: AbortSignal.timeout(opts.timeoutMs || 4000) });
      if (!res.ok || !(res.headers.get('Content-Type') || '').startsWith('application/json')) return null;
      const h = await res.json();
      return h && h.service === 'finetuner' && h.api === 1 ? h : null;
    } catch {
      return null; // offline, file://, a static server's 404 page, a timeout: no API
    }
  })();
  probes.set(origin, p);
  return p;
}

// apiAvailable resolves to true when the page's origin (or opts.origin) runs the share API.
// The answer is remembered; { refresh: true } asks again.
export async function apiAvailable(opts = {}) {
  return (await health(opts)) !== null;
}

// shareHead uploads a head file (Uint8Array, ArrayBuffer or Blob) and resolves to
// { id, url, file, bytes, labels, backbone, created }: url opens the page with this head loaded,
// file is the head file itself. The same bytes always give the same id.
export async function shareHead(bytes, opts = {}) {
  const h = await health(opts);
  if (!h) throw new Error('Sharing needs the finetuner Worker: this page is not served by it.');
  const body = bytes instanceof Blob ? bytes : new Blob([bytes]);
  if (body.size === 0) throw new Error('Nothing to share: train a head first.');
  if (body.size > h.maxHeadBytes) {
    throw new Error(`This head is ${(body.size / 1e6).toFixed(1)} MB; shared heads are limited to ${(h.maxHeadBytes / 1048576).toFixed(0)} MB. A smaller hidden layer, or fine-tuning fewer blocks (or none), helps.`);
  }
  const res = await fetch(`${originOf(opts)}/api/heads`, {
    method: 'POST', body, headers: { 'Content-Type': 'application/octet-stream' },
  });
  if (!res.ok) throw await errorOf(res);
  return res.json();
}

// sharedHeadId returns the id in a share link (?head=<id>) of href (default: this page), or
// null when there is none. A malformed id throws, so the page can say the link is broken.
export function sharedHeadId(href = globalThis.location && globalThis.location.href) {
  if (!href) return null;
  const id = new URL(href).searchParams.get('head');
  if (id === null) return null;
  if (!ID.test(id)) throw new Error(`The link's head id "${id.slice(0, 40)}" is not valid: it should be 32 characters 0-9 and a-f.`);
  return id;
}

// forgetShareLink drops ?head= from the address bar, so a reload opens the page's own project.
export function forgetShareLink() {
  const u = new URL(location.href);
  if (!u.searchParams.has('head')) return;
  u.searchParams.delete('head');
  history.replaceState(history.state, '', u.pathname + u.search + u.hash);
}

// fetchSharedHead resolves to the head file (Uint8Array) shared under id.
export async function fetchSharedHead(id, opts = {}) {
  if (!ID.test(id)) throw new Error(`"${id}" is not a head id.`);
  const origin = originOf(opts);
  if (!origin) throw new Error('Shared heads open only from the finetuner Worker, not from this page.');
  const res = await fetch(`${origin}/api/heads/${id}`);
  if (res.status === 404) throw new Error(`No shared head ${id} here: the link may be from another site, or mistyped.`);
  if (!res.ok) throw await errorOf(res);
  return new Uint8Array(await res.arrayBuffer());
}

// fetchSharedMeta resolves to the shared head's description: { id, labels, classes,
// featureDim, kind, arch, backbone, metrics, created, ... } without downloading the weights.
export async function fetchSharedMeta(id, opts = {}) {
  if (!ID.test(id)) throw new Error(`"${id}" is not a head id.`);
  const origin = originOf(opts);
  if (!origin) throw new Error('Shared heads open only from the finetuner Worker, not from this page.');
  const res = await fetch(`${origin}/api/heads/${id}/meta`);
  if (!res.ok) throw await errorOf(res);
  return res.json();
}
