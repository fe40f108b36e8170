// The kiosk (public/kiosk.html): an attract screen, then three steps (teach thing A, teach thing B,
// try it) with the live Ebiten curve large on screen while the head learns. Settings come from
// public/kiosk.json (or ?config=<same-origin path>). After idleResetSeconds without a touch the
// session is wiped: samples, features and thumbnails leave memory and IndexedDB, the camera turns
// off and the attract screen returns. An operator opens a menu by holding the top-left corner and
// typing the PIN from the config file.
//
// It is a view over the session (session.js: the trainer, the plot frame, training and
// prediction) with the app's camera (camera.js), IndexedDB (store.js) and images (images.js);
// its config is read by kiosk-config.js, its operator menu lives in kiosk-operator.js.

import { Session } from './session.js';
import { Camera } from './camera.js';
import { Store } from './store.js';
import { registerSite } from './offline.js';
import { thumbnail } from './images.js';
import { loadI18n, applyI18n, pickLanguage, localName, LANGUAGES } from './i18n.js';
import { loadConfig } from './kiosk-config.js';
import { setupOperator, soakStats } from './kiosk-operator.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
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
let cfg, i18n, tuner, plot, camera, store; // tuner: the Session
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
  const sq = tuner.square(video);
  const rgba = sq.getContext('2d').getImageData(0, 0, size, size).data.buffer;
  const [thumb, feat] = await Promise.all([
    thumbnail(sq, 0.7),
    tuner.trainer.extract(rgba, size),
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
  state.training = true;
  let finish;
  trainDone = new Promise((r) => { finish = r; });
  try {
    // No report to the plot: it would switch to the confusion matrix, and for a visitor the
    // falling loss curve is the story. The curve stays on screen at least learnShowSeconds.
    const res = await tuner.train({ x, y, n: rows.length, d, labels }, { ...cfg.train, auto: false }, { report: false });
    if (session !== state.session) return;
    state.trained = true;
    state.valAcc = res.report.valAcc;
    const left = cfg.learnShowSeconds * 1000 - res.ms;
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
        const probs = await tuner.predict(camera.video);
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
    tuner.stop().catch(() => {});
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

/** stats is the soak gauge (see soakStats). */
function stats() { return soakStats(tuner.trainer, $('plot'), state); }

// ---- boot -------------------------------------------------------------------------------------

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || location.protocol === 'file:') return;
  try {
    // The kiosk's own config and translations are not on the app's asset list: they join its
    // cache, which the service worker answers from when the network is gone.
    const own = [configURL.href, ...cfg.languages.map((l) => new URL(`i18n/${l}.json`, location.href).href)];
    if (!own.includes(new URL('i18n/en.json', location.href).href)) own.push(new URL('i18n/en.json', location.href).href);
    await registerSite(tuner.base, own);
    state.offlineReady = true;
  } catch (err) {
    // Already served by a worker: this is a load with the server gone, and the update check
    // could not reach it. That is the offline mode working, not an error.
    if (navigator.serviceWorker.controller) return;
    showError(`Offline mode is not available: ${err.message}`);
  }
}

async function loadBackbone() {
  await tuner.manifest();
  tuner.find(cfg.backbone, 'kiosk config: backbone');
  state.backbone = await tuner.loadBackbone(cfg.backbone);
}

async function main() {
  document.addEventListener('contextmenu', (e) => e.preventDefault());
  document.addEventListener('selectstart', (e) => e.preventDefault());
  document.addEventListener('dragstart', (e) => e.preventDefault());
  // Every touch anywhere counts as activity, before any handler can stop it.
  window.addEventListener('pointerdown', touch, true);
  window.addEventListener('keydown', touch, true);

  cfg = await loadConfig(configURL, params);
  renderLanguages();
  await setLanguage(pickLanguage(params.get('lang'), cfg.defaultLanguage));
  camera = new Camera($('video'));
  tuner = new Session($('plot'));
  plot = tuner.plot;
  plot.onError = (e) => showError(`Plot: ${e}`);
  // The kiosk is a dark page: the plot too.
  plot.setOptions({ theme: 'dark', lang: i18n.lang, strings: i18n.prefixed('plot.') });
  tuner.trainer.onFatal = (err) => showError(err.message);
  store = await Store.open('finetuner-kiosk');
  setupOperator({
    config: cfg, t: (key, vars) => i18n.t(key, vars), reset, touch, stats, showError,
    sessions: () => state.sessions, started: state.started,
  });

  $('attract').addEventListener('click', () => startSession().catch((err) => showError(err.message)));
  $('hold').addEventListener('pointerdown', holdStart);
  for (const ev of ['pointerup', 'pointerleave', 'pointercancel']) $('hold').addEventListener(ev, holdEnd);
  $('next').addEventListener('click', () => next().catch((err) => showError(err.message)));
  $('start-over').addEventListener('click', () => reset('start-over').catch((err) => showError(err.message)));
  $('still-here').addEventListener('click', touch);
  setInterval(idleTick, 500);

  await tuner.trainer.ready;
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
