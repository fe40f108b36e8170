// The kiosk (public/kiosk.html): an attract screen, then three steps (teach thing A, teach thing B,
// try it) with the live Ebiten curve large on screen while the head learns. Settings come from
// public/kiosk.json (or ?config=<same-origin path>). After idleResetSeconds without a touch the
// session is wiped: samples, features and thumbnails leave memory and IndexedDB, the camera turns
// off and the attract screen returns. An operator opens a menu by holding the top-left corner and
// typing the PIN from the config file.
//
// It reuses the app's modules: the trainer (trainer.js), the plot frame (plot.js), the camera (camera.js), IndexedDB (store.js) and image
// cropping (images.js).

import { Trainer, trainRequest } from './trainer.js';
import { Plot } from './plot.js';
import { Camera } from './camera.js';
import { Store } from './store.js';
import { registerOffline } from './offline.js';
import { drawSquare, THUMB } from './images.js';
import { loadI18n, applyI18n, pickLanguage, localName, LANGUAGES } from './i18n.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const DB_NAME = 'finetuner-kiosk';
const configURL = new URL(params.get('config') || 'kiosk.json', location.href);

const state = {
  step: 'attract',
  session: 0,        // bumped by every reset: late results of an old session are dropped
  sessions: 0,
  resets: 0,
  samples: [],       // per class: [{id, feat: Float32Array, thumbURL, thumb: Blob}]
  training: false,
  trained: false,
  lastActivity: Date.now(),
  started: Date.now(),
  lang: 'en',
  backbone: null,
  prediction: null,
  errors: [],        // the last 20 errors shown, for the operator and the tests
  inflight: 0,       // captures being extracted and saved
};
let cfg, i18n, trainer, plot, camera, store;
let stopHold = null;
let trainDone = Promise.resolve();
let seq = 0;

function showError(msg) {
  console.error(msg);
  state.errors.push(msg);
  if (state.errors.length > 20) state.errors.shift();
  const p = document.createElement('p');
  p.textContent = msg;
  $('errors').append(p);
  setTimeout(() => p.remove(), 60000);
}

// ---- configuration ----------------------------------------------------------------------------

const DEFAULTS = {
  title: { en: 'Teach the computer to see' },
  classes: [{ name: { en: 'Thing A' }, color: '#2563eb' }, { name: { en: 'Thing B' }, color: '#ea580c' }],
  languages: ['en', 'ja'], defaultLanguage: 'en', backbone: 'centernet',
  minSamples: 5, maxSamples: 30, captureRate: 6,
  train: { head: 'linear', epochs: 40, batch: 8, lr: 0.01, val: 0.2, seed: 1, early: false },
  idleResetSeconds: 60, idleWarningSeconds: 10, predictIntervalMs: 250, learnShowSeconds: 2,
  operator: { pin: '', holdSeconds: 3 },
};

/** loadConfig reads the kiosk config; every wrong field is an error naming it. */
async function loadConfig() {
  const url = configURL;
  if (url.origin !== location.origin) throw new Error(`kiosk config ${url}: must be on this site`);
  let c;
  try {
    const r = await fetch(url);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    c = await r.json();
  } catch (err) {
    throw new Error(`Cannot read the kiosk config ${url.pathname}: ${err.message}`);
  }
  c = { ...DEFAULTS, ...c, train: { ...DEFAULTS.train, ...(c.train || {}) }, operator: { ...DEFAULTS.operator, ...(c.operator || {}) } };
  const bad = (m) => { throw new Error(`kiosk config ${url.pathname}: ${m}`); };
  if (!Array.isArray(c.classes) || c.classes.length !== 2) bad('"classes" must list exactly 2 classes (the flow teaches A, then B)');
  for (const [i, k] of c.classes.entries()) if (!k || !localName(k.name, 'en')) bad(`class ${i + 1} has no name`);
  const num = (k, lo, hi) => { if (!(Number.isFinite(c[k]) && c[k] >= lo && c[k] <= hi)) bad(`"${k}" must be a number from ${lo} to ${hi}, got ${JSON.stringify(c[k])}`); };
  num('minSamples', 1, 500); num('maxSamples', 1, 500); num('captureRate', 1, 30);
  num('idleResetSeconds', 5, 86400); num('idleWarningSeconds', 0, 600); num('predictIntervalMs', 30, 10000); num('learnShowSeconds', 0, 60);
  if (c.maxSamples < c.minSamples) bad('"maxSamples" is below "minSamples"');
  if (!Array.isArray(c.languages) || !c.languages.length) bad('"languages" must list at least one language');
  for (const l of c.languages) if (!(l in LANGUAGES)) bad(`language "${l}" is not shipped (have: ${Object.keys(LANGUAGES).join(', ')})`);
  if (typeof c.operator.pin !== 'string' || !/^\d{4,12}$/.test(c.operator.pin)) bad('"operator.pin" must be a string of 4 to 12 digits');
  // Test and operator overrides: ?idle=SECONDS shortens the idle reset (never below 2 s).
  if (params.has('idle')) c.idleResetSeconds = Math.max(2, Number(params.get('idle')) || c.idleResetSeconds);
  c.idleWarningSeconds = Math.min(c.idleWarningSeconds, c.idleResetSeconds / 2);
  return c;
}

// ---- text -------------------------------------------------------------------------------------

async function setLanguage(lang) {
  i18n = await loadI18n(lang);
  state.lang = i18n.lang;
  if (plot) plot.setOptions({ lang: i18n.lang, strings: i18n.prefixed('plot.') });
  applyI18n(document, i18n);
  document.title = localName(cfg.title, state.lang);
  $('attract-title').textContent = localName(cfg.title, state.lang);
  for (const el of document.querySelectorAll('.cname')) el.textContent = className(Number(el.dataset.c));
  for (const b of document.querySelectorAll('.langs button')) b.setAttribute('aria-pressed', String(b.dataset.lang === state.lang));
  renderStep();
}

function className(i) { return localName(cfg.classes[i].name, state.lang); }

function renderLanguages() {
  for (const box of document.querySelectorAll('.langs')) {
    box.replaceChildren(...cfg.languages.map((l) => {
      const b = document.createElement('button');
      b.dataset.lang = l;
      b.textContent = LANGUAGES[l];
      b.addEventListener('click', (e) => { e.stopPropagation(); setLanguage(l).catch((err) => showError(err.message)); });
      return b;
    }));
  }
}

// ---- steps ------------------------------------------------------------------------------------

function show(step) {
  state.step = step;
  document.body.dataset.step = step;
  $('attract').hidden = step !== 'attract';
  renderStep();
}

function teachIndex() { return state.step === 'teach0' ? 0 : state.step === 'teach1' ? 1 : -1; }

function renderStep() {
  if (!cfg || !i18n) return;
  const t = i18n.t;
  const c = teachIndex();
  if (c >= 0) {
    const n = state.samples[c].length;
    $('teach-title').textContent = t('kiosk.teach', { name: className(c) });
    $('hold').style.setProperty('--c', cfg.classes[c].color || '#2563eb');
    $('count').textContent = t('kiosk.count', { n });
    $('need').textContent = n >= cfg.maxSamples ? t('kiosk.full') : n >= cfg.minSamples ? '' : t('kiosk.needMore', { n: cfg.minSamples - n });
    $('next').textContent = c + 1 < cfg.classes.length ? t('kiosk.next') : t('kiosk.learn');
    $('next').disabled = n < cfg.minSamples;
  }
  $('learn-title').textContent = state.step === 'try' ? t('kiosk.tryIt') : t('kiosk.learning');
  $('learn-hint').hidden = state.step === 'try';
  $('try-hint').hidden = state.step !== 'try';
  for (const row of $('bars').children) row.querySelector('.name').textContent = className(Number(row.dataset.c));
}

function renderThumbs() {
  const c = teachIndex();
  if (c < 0) return;
  const box = $('thumbs');
  const list = state.samples[c];
  // Keep the DOM bounded: the newest pictures fill the grid, older ones are only counted.
  const show = list.slice(-24);
  box.replaceChildren(...show.map((s) => {
    const img = document.createElement('img');
    img.src = s.thumbURL;
    img.alt = '';
    img.draggable = false;
    return img;
  }));
}

async function startSession() {
  if (state.step !== 'attract' || !state.backbone) return;
  state.sessions++;
  state.samples = cfg.classes.map(() => []);
  state.trained = false;
  touch();
  show('teach0');
  renderThumbs();
  const session = state.session;
  try {
    await camera.start();
    if (session !== state.session) camera.stop();
    $('cam-error').hidden = true;
  } catch (err) {
    $('cam-error').textContent = i18n.t('kiosk.cameraError', { error: err.message });
    $('cam-error').hidden = false;
  }
}

// ---- capture ----------------------------------------------------------------------------------

function holdStart(e) {
  e.preventDefault();
  const c = teachIndex();
  if (c < 0 || stopHold || !camera.on) return;
  $('hold').classList.add('on');
  $('hold').querySelector('span').textContent = i18n.t('kiosk.recording');
  const session = state.session;
  stopHold = camera.hold(cfg.captureRate, async (video) => {
    if (session !== state.session || state.samples[c].length >= cfg.maxSamples) return;
    await capture(video, c, session).catch((err) => showError(`Capture failed: ${err.message}`));
  });
}

function holdEnd() {
  if (!stopHold) return;
  stopHold();
  stopHold = null;
  $('hold').classList.remove('on');
  $('hold').querySelector('span').textContent = i18n.t('kiosk.hold');
}

function thumbnail(square) {
  const t = new OffscreenCanvas(THUMB, THUMB);
  t.getContext('2d').drawImage(square, 0, 0, THUMB, THUMB);
  return t.convertToBlob({ type: 'image/jpeg', quality: 0.7 });
}

async function capture(video, c, session) {
  state.inflight++;
  try {
    await captureOne(video, c, session);
  } finally {
    state.inflight--;
  }
}

async function captureOne(video, c, session) {
  const size = state.backbone.inputSize;
  const sq = drawSquare(video, size);
  const rgba = sq.getContext('2d').getImageData(0, 0, size, size).data.buffer;
  const [thumb, feat] = await Promise.all([
    thumbnail(sq),
    trainer.extract(rgba, size),
  ]);
  if (session !== state.session || state.samples[c].length >= cfg.maxSamples) return;
  const s = { id: `${session}-${++seq}`, feat, thumb, thumbURL: URL.createObjectURL(thumb) };
  state.lastActivity = Date.now(); // holding the button is activity
  state.samples[c].push(s);
  renderStep();
  renderThumbs();
  // Saved so a page reload in the middle of a visit resumes it; wiped by the reset.
  try {
    await store.putSamples([{ id: s.id, classIndex: c, feat: s.feat, thumb }]);
    await saveMeta();
  } catch (err) {
    showError(`Saving the session failed: ${err.message}`);
  }
}

// ---- training and prediction ------------------------------------------------------------------

async function next() {
  const c = teachIndex();
  if (c < 0 || state.samples[c].length < cfg.minSamples) return;
  holdEnd();
  if (c === 0) {
    show(`teach${c + 1}`);
    renderThumbs();
    saveMeta().catch((err) => showError(err.message));
    return;
  }
  await learn();
}

async function learn() {
  const session = state.session;
  const labels = cfg.classes.map((_, i) => className(i));
  const d = state.backbone.dim;
  const rows = state.samples.flatMap((list, c) => list.map((s) => [s.feat, c]));
  const x = new Float32Array(rows.length * d);
  const y = new Int32Array(rows.length);
  rows.forEach(([f, c], i) => { x.set(f, i * d); y[i] = c; });
  show('learn');
  $('bars').replaceChildren();
  plot.reset(labels, cfg.train.epochs);
  state.training = true;
  const t0 = performance.now();
  let finish;
  trainDone = new Promise((r) => { finish = r; });
  try {
    const res = await trainer.train({ x, y, n: rows.length, d, labels }, trainRequest({ ...cfg.train, auto: false }, state.backbone));
    if (session !== state.session) return;
    // No report to the plot: it would switch to the confusion matrix, and for a visitor the
    // falling loss curve is the story. The curve stays on screen at least learnShowSeconds.
    state.trained = true;
    state.valAcc = res.report.valAcc;
    const left = cfg.learnShowSeconds * 1000 - (performance.now() - t0);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
    if (session !== state.session) return;
  } catch (err) {
    if (session === state.session) showError(`Training failed: ${err.message}`);
    return;
  } finally {
    state.training = false;
    finish();
  }
  touch();
  renderBars();
  show('try');
  predictLoop(session);
}

function renderBars() {
  $('bars').replaceChildren(...cfg.classes.map((k, c) => {
    const row = document.createElement('div');
    row.className = 'bar-row';
    row.dataset.c = c;
    row.style.setProperty('--c', k.color || '#2563eb');
    row.innerHTML = '<div class="lbl"><span class="name"></span><span class="pct">–</span></div><div class="track"><div class="fill"></div></div>';
    row.querySelector('.name').textContent = className(c);
    return row;
  }));
}

async function predictLoop(session) {
  const size = state.backbone.inputSize;
  while (session === state.session && state.step === 'try') {
    const t0 = performance.now();
    if (camera.on && camera.video.videoWidth) {
      try {
        const rgba = drawSquare(camera.video, size).getContext('2d').getImageData(0, 0, size, size).data.buffer;
        const probs = await trainer.predict(rgba, size);
        if (session !== state.session) return;
        state.prediction = Array.from(probs);
        const best = state.prediction.indexOf(Math.max(...state.prediction));
        for (const row of $('bars').children) {
          const p = state.prediction[Number(row.dataset.c)] || 0;
          row.querySelector('.fill').style.width = `${(100 * p).toFixed(1)}%`;
          row.querySelector('.pct').textContent = `${Math.round(100 * p)}%`;
          row.classList.toggle('top', Number(row.dataset.c) === best);
        }
      } catch (err) {
        if (session === state.session) showError(`Prediction failed: ${err.message}`);
        return;
      }
    }
    await new Promise((r) => setTimeout(r, Math.max(0, cfg.predictIntervalMs - (performance.now() - t0))));
  }
}

// ---- idle reset -------------------------------------------------------------------------------

function touch() {
  state.lastActivity = Date.now();
  if (!$('idle').hidden) $('idle').hidden = true;
}

/**
 * reset ends the visit: in-flight captures and predictions are dropped (the session number
 * changes), a running training is stopped, the camera turns off, and every sample, feature and
 * thumbnail is removed from memory, the DOM and IndexedDB before the attract screen returns.
 */
async function reset(reason = 'manual') {
  state.session++;
  holdEnd();
  $('idle').hidden = true;
  if (state.training) {
    trainer.stop().catch(() => {});
    await trainDone;
  }
  camera.stop();
  for (const list of state.samples) for (const s of list) URL.revokeObjectURL(s.thumbURL);
  state.samples = cfg.classes.map(() => []);
  state.trained = false;
  state.prediction = null;
  $('thumbs').replaceChildren();
  $('bars').replaceChildren();
  plot.reset([], 0);
  try {
    await store.clear();
  } catch (err) {
    showError(`Wiping the session from storage failed: ${err.message}`);
  }
  state.resets++;
  state.lastReset = reason;
  // The next visitor starts in the default language.
  const lang = pickLanguage(params.get('lang'), cfg.defaultLanguage);
  if (state.lang !== lang) await setLanguage(lang).catch((err) => showError(err.message));
  show('attract');
}

function idleTick() {
  if (state.step === 'attract' || state.training) return;
  const idle = (Date.now() - state.lastActivity) / 1000;
  const left = Math.ceil(cfg.idleResetSeconds - idle);
  if (left <= 0) {
    reset('idle').catch((err) => showError(err.message));
  } else if (left <= cfg.idleWarningSeconds) {
    $('idle-text').textContent = i18n.t('kiosk.idleWarning', { n: left });
    $('idle').hidden = false;
  }
}

// ---- persistence ------------------------------------------------------------------------------

async function openStore() {
  if (!('indexedDB' in globalThis)) throw new Error('IndexedDB is not available');
  const r = indexedDB.open(DB_NAME, 1);
  r.onupgradeneeded = () => {
    r.result.createObjectStore('meta');
    r.result.createObjectStore('samples', { keyPath: 'id' });
  };
  const db = await new Promise((resolve, reject) => { r.onsuccess = () => resolve(r.result); r.onerror = () => reject(r.error); });
  return new Store(db);
}

function saveMeta() {
  return store.putMeta({ step: state.step, lastActivity: state.lastActivity, backbone: state.backbone.id });
}

/** resume restores a visit cut short by a reload, unless it has been idle too long. */
async function resume() {
  const { meta, samples } = await store.load();
  // Judged at the moment the page started loading: a slow boot is not the visitor's idle time.
  const loadedAt = performance.timeOrigin;
  const fresh = meta && loadedAt - meta.lastActivity < cfg.idleResetSeconds * 1000 && meta.backbone === state.backbone.id;
  if (!fresh || !samples.length) {
    await store.clear();
    return;
  }
  state.sessions++;
  state.samples = cfg.classes.map(() => []);
  for (const r of samples) {
    if (!(r.classIndex in state.samples) || !(r.feat instanceof Float32Array) || r.feat.length !== state.backbone.dim) continue;
    state.samples[r.classIndex].push({ id: r.id, feat: r.feat, thumb: r.thumb, thumbURL: URL.createObjectURL(r.thumb) });
  }
  touch();
  const step = meta.step === 'teach1' ? 'teach1' : 'teach0';
  show(step);
  renderThumbs();
  camera.start().catch((err) => { $('cam-error').textContent = i18n.t('kiosk.cameraError', { error: err.message }); $('cam-error').hidden = false; });
}

// ---- operator ---------------------------------------------------------------------------------

let pinEntry = '';
function setupOperator() {
  let timer = null;
  const cancel = () => { clearTimeout(timer); timer = null; };
  $('corner').addEventListener('pointerdown', (e) => {
    e.preventDefault();
    cancel();
    timer = setTimeout(openPin, cfg.operator.holdSeconds * 1000);
  });
  for (const ev of ['pointerup', 'pointerleave', 'pointercancel']) $('corner').addEventListener(ev, cancel);
  const keys = ['1', '2', '3', '4', '5', '6', '7', '8', '9', 'clear', '0', 'ok'];
  $('pad').replaceChildren(...keys.map((k) => {
    const b = document.createElement('button');
    b.dataset.key = k;
    if (k === 'clear' || k === 'ok') b.dataset.i18n = `kiosk.${k}`;
    b.textContent = k === 'clear' || k === 'ok' ? i18n.t(`kiosk.${k}`) : k;
    b.addEventListener('click', () => pinKey(k));
    return b;
  }));
  $('pin-cancel').addEventListener('click', () => { $('pin').hidden = true; });
  $('op-back').addEventListener('click', () => { $('operator').hidden = true; touch(); });
  $('op-reset').addEventListener('click', () => { $('operator').hidden = true; reset('operator').catch((err) => showError(err.message)); });
  $('op-app').addEventListener('click', async () => { await reset('operator'); location.href = new URL('../index.html', location.href).href; });
  // A window Chromium opened from its command line (one history entry) may close itself, which
  // ends a --kiosk browser; anywhere else the full app opens instead.
  $('op-exit').addEventListener('click', async () => {
    await reset('operator');
    window.close();
    setTimeout(() => { location.href = new URL('../index.html', location.href).href; }, 300);
  });
}

function openPin() {
  pinEntry = '';
  $('pin-dots').textContent = '';
  $('pin-msg').textContent = '';
  $('pin').hidden = false;
}

function pinKey(k) {
  if (k === 'clear') pinEntry = '';
  else if (k === 'ok') {
    if (pinEntry === cfg.operator.pin) {
      $('pin').hidden = true;
      openOperator();
    } else {
      $('pin-msg').textContent = i18n.t('kiosk.pinWrong');
      pinEntry = '';
    }
  } else if (pinEntry.length < 12) pinEntry += k;
  $('pin-dots').textContent = '•'.repeat(pinEntry.length);
}

async function openOperator() {
  const s = await stats();
  const mb = (b) => `${(b / 1e6).toFixed(1)} MB`;
  const up = Math.round((Date.now() - state.started) / 60000);
  $('op-stats').textContent = i18n.t('kiosk.stats', { sessions: state.sessions, uptime: `${Math.floor(up / 60)}h${String(up % 60).padStart(2, '0')}`, heap: mb(s.jsHeap), nodes: s.domNodes });
  $('operator').hidden = false;
}

/** stats is the soak gauge: page JS heap, the worker's wasm memory, DOM nodes (page and plot frame). */
async function stats() {
  let frameNodes = 0;
  try { frameNodes = $('plot').contentDocument.getElementsByTagName('*').length; } catch { /* cross-origin: not counted */ }
  const mem = await trainer.memory().catch(() => ({ wasmBytes: 0 }));
  return {
    jsHeap: performance.memory ? performance.memory.usedJSHeapSize : 0,
    wasmBytes: mem.wasmBytes,
    domNodes: document.getElementsByTagName('*').length + frameNodes,
    sessions: state.sessions, resets: state.resets,
  };
}

// ---- boot -------------------------------------------------------------------------------------

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || location.protocol === 'file:') return;
  try {
    const r = await fetch(new URL('build/assets.json', location.href), { cache: 'no-cache' });
    if (!r.ok) throw new Error(`assets.json: HTTP ${r.status}`);
    const { version } = await r.json();
    await registerOffline(new URL(`sw.js?v=${encodeURIComponent(version)}`, location.href), new URL('../', location.href).pathname);
    // The service worker caches the app's asset list; the kiosk's own config and translations are
    // not on it, so they join the same versioned cache (dropped with it on the next build), which
    // the worker answers from when the network is gone.
    const cache = await caches.open(`finetuner-${version}`);
    const own = [configURL.href, ...cfg.languages.map((l) => new URL(`i18n/${l}.json`, location.href).href)];
    if (!own.includes(new URL('i18n/en.json', location.href).href)) own.push(new URL('i18n/en.json', location.href).href);
    await cache.addAll(own.map((u) => new Request(u, { cache: 'no-cache' })));
    state.offlineReady = true;
  } catch (err) {
    // Already served by a worker: this is a load with the server gone, and the update check
    // could not reach it. That is the offline mode working, not an error.
    if (navigator.serviceWorker.controller) return;
    showError(`Offline mode is not available: ${err.message}`);
  }
}

async function loadBackbone() {
  const r = await fetch(new URL('models/manifest.json', location.href));
  if (!r.ok) throw new Error('No backbones are built (public/models/manifest.json is missing): run ./build.sh web.');
  const list = (await r.json()).backbones || [];
  const b = list.find((x) => x.id === cfg.backbone);
  if (!b) throw new Error(`kiosk config: backbone "${cfg.backbone}" is not among the built ones (${list.map((x) => x.id).join(', ')})`);
  const info = await trainer.loadBackbone(b);
  state.backbone = { ...b, ...info };
}

async function main() {
  document.addEventListener('contextmenu', (e) => e.preventDefault());
  document.addEventListener('selectstart', (e) => e.preventDefault());
  document.addEventListener('dragstart', (e) => e.preventDefault());
  // Every touch anywhere counts as activity, before any handler can stop it.
  window.addEventListener('pointerdown', touch, true);
  window.addEventListener('keydown', touch, true);

  cfg = await loadConfig();
  renderLanguages();
  await setLanguage(pickLanguage(params.get('lang'), cfg.defaultLanguage));
  camera = new Camera($('video'));
  plot = new Plot($('plot'));
  plot.onError = (e) => showError(`Plot: ${e}`);
  // The kiosk is a dark page: the plot too.
  plot.setOptions({ theme: 'dark', lang: i18n.lang, strings: i18n.prefixed('plot.') });
  trainer = new Trainer();
  trainer.onEvents = (evs) => { if (state.training) plot.events(evs); };
  trainer.onFatal = (err) => showError(err.message);
  store = await openStore();
  setupOperator();

  $('attract').addEventListener('click', () => startSession().catch((err) => showError(err.message)));
  $('hold').addEventListener('pointerdown', holdStart);
  for (const ev of ['pointerup', 'pointerleave', 'pointercancel']) $('hold').addEventListener(ev, holdEnd);
  $('next').addEventListener('click', () => next().catch((err) => showError(err.message)));
  $('start-over').addEventListener('click', () => reset('start-over').catch((err) => showError(err.message)));
  $('still-here').addEventListener('click', touch);
  setInterval(idleTick, 500);

  await trainer.ready;
  await loadBackbone();
  await resume();
  $('status').removeAttribute('data-i18n');
  $('status').textContent = '';
  document.body.dataset.ready = '1';
  registerServiceWorker();
}

// window.kiosk is for the browser tests and for an operator at a devtools console.
window.kiosk = { state, reset: (r) => reset(r), stats, get config() { return cfg; }, plot: () => plot, camera: () => camera, holding: () => !!stopHold };
main().catch((err) => {
  showError(err.message);
  $('status').textContent = err.message;
});
