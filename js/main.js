// The app: project state (classes, samples, settings, head), persistence, extraction, training,
// evaluation, live prediction and import/export, wired to the page. Heavy work happens in the
// trainer worker (js/worker.js); the curves are drawn by the Ebiten frame (js/plot.js).

import { Trainer } from './bridge.js';
import { Plot } from './plot.js';
import { Store, describeStorageError } from './store.js';
import { registerOffline } from './offline.js';
import { Camera } from './camera.js';
import { ClassesView } from './classes-view.js';
import { makeSample, decodeBlob, pixelsOf, drawSquare, filesFromDrop, groupByFolder, isImageFile } from './images.js';
import { encodeProject, decodeProject, download } from './project.js';
import { apiAvailable, shareHead, sharedHeadId, forgetShareLink, fetchSharedHead, fetchSharedMeta } from './share.js';

const $ = (id) => document.getElementById(id);
const MAX_CLASSES = 100;
const MIN_CLASSES = 2;

// ---- state ----------------------------------------------------------------------------------

const DEFAULT_SETTINGS = { auto: true, head: 'linear', hidden: 100, epochs: 50, batch: 16, lr: 0.001, val: 0.2, seed: 1, early: true, augment: 'none' };
const AUGMENTS = { none: 1, flip: 2, 'flip,crops': 7 }; // setting -> views per photo

const state = {
  classes: [],            // [{id, name}], in label order
  samples: new Map(),     // id -> {id, classId, thumb, thumbURL, src, feat, featKey, aug, augKey, rgba}
  settings: { ...DEFAULT_SETTINGS },
  backboneId: '',
  backbones: [],          // the manifest's entries
  backbone: null,         // the loaded one's info {id, dim, inputSize, ...}
  head: null,             // Uint8Array of the trained/imported .safetensors
  headInfo: null,         // {labels, backbone, dim}
  report: null,
  curves: null,           // the plot's history of the last run (Plot.snapshot)
  rowIds: [],             // sample id of each training row of the last run (for the gallery)
  nextId: 1,
  training: false,
  paused: false,
};

// Exposed for debugging in the console and for the browser tests; the app never reads it.
window.finetuner = { state };

function newId(prefix) { return `${prefix}${state.nextId++}`; }

function samplesByClass() {
  const m = new Map(state.classes.map((c) => [c.id, []]));
  for (const s of state.samples.values()) if (m.has(s.classId)) m.get(s.classId).push(s);
  return m;
}

function inputSize() { return (state.backbone && state.backbone.inputSize) || 224; }

// ---- errors and status ----------------------------------------------------------------------

function showError(msg) {
  const box = $('errors');
  const div = document.createElement('div');
  const span = document.createElement('span');
  span.textContent = msg;
  const x = document.createElement('button');
  x.textContent = 'dismiss';
  x.addEventListener('click', () => div.remove());
  div.append(span, x);
  box.append(div);
  while (box.children.length > 5) box.firstElementChild.remove();
  console.error(msg);
}

function fatal(msg) {
  const f = $('fatal');
  f.textContent = msg;
  f.hidden = false;
}

function chip(id, text, cls) {
  const c = $(id);
  c.textContent = text;
  c.className = `chip ${cls || ''}`;
}

window.addEventListener('error', (e) => showError(`Unexpected error: ${e.message}`));
window.addEventListener('unhandledrejection', (e) => showError(`Unexpected error: ${e.reason && e.reason.message ? e.reason.message : e.reason}`));

// ---- persistence ----------------------------------------------------------------------------

let store = null;
let metaTimer = 0;

function saveMeta() {
  if (!store) return;
  clearTimeout(metaTimer);
  metaTimer = setTimeout(async () => {
    try {
      await store.putMeta({
        version: 1, classes: state.classes, settings: state.settings, backboneId: state.backboneId,
        head: state.head, headInfo: state.headInfo, report: state.report, curves: state.curves, rowIds: state.rowIds, nextId: state.nextId,
      });
      storageOK();
    } catch (err) {
      storageFailed(err);
    }
  }, 250);
}

// Samples whose last save failed (a full disk or quota). They stay in memory and are saved again
// with the next save that works, so freeing space loses nothing; the error shows once per outage.
const unsaved = new Map();
let storageDown = false;

function storageFailed(err) {
  chip('chip-storage', unsaved.size ? `not saved (${unsaved.size} samples pending)` : 'not saved', 'bad');
  if (!storageDown) showError(describeStorageError(err));
  storageDown = true;
}

function storageOK() {
  if (unsaved.size) { saveSamples([]); return; } // still pending: the outage is not over
  storageDown = false;
  chip('chip-storage', 'saved', 'ok');
}

function record(s) {
  return {
    id: s.id, classId: s.classId, thumb: s.thumb, src: s.src, featKey: s.featKey,
    feat: s.feat ? s.feat.buffer : null, augKey: s.aug ? s.augKey : '', aug: s.aug ? s.aug.buffer : null,
  };
}

async function saveSamples(list) {
  for (const s of unsaved.values()) if (!list.includes(s)) list.push(s);
  if (!store || !list.length) return;
  for (const s of list) unsaved.delete(s.id);
  try {
    await store.putSamples(list.map(record));
    if (!unsaved.size) storageOK();
  } catch (err) {
    for (const s of list) if (state.samples.get(s.id) === s) unsaved.set(s.id, s);
    storageFailed(err);
  }
}

async function removeStored(ids) {
  for (const id of ids) unsaved.delete(id);
  if (!store) return;
  try {
    await store.deleteSamples(ids);
    if (unsaved.size) saveSamples([]); // the space freed may be enough now
  } catch (err) { showError(describeStorageError(err)); }
}

async function restore() {
  try {
    store = await Store.open();
    if (navigator.storage && navigator.storage.persist) navigator.storage.persist().catch(() => {});
  } catch (err) {
    chip('chip-storage', 'no storage', 'bad');
    showError(`${err.message} Export the project to keep your work.`);
    return false;
  }
  let data;
  try { data = await store.load(); } catch (err) {
    showError(`Could not read the saved project: ${err.message}`);
    return false;
  }
  if (!data.meta) return false;
  const m = data.meta;
  state.classes = m.classes || [];
  state.settings = { ...DEFAULT_SETTINGS, ...(m.settings || {}) };
  state.backboneId = m.backboneId || '';
  state.head = m.head || null;
  state.headInfo = m.headInfo || null;
  state.report = m.report || null;
  state.curves = m.curves || null;
  state.rowIds = m.rowIds || [];
  state.nextId = m.nextId || 1;
  for (const r of data.samples) {
    state.samples.set(r.id, {
      id: r.id, classId: r.classId, thumb: r.thumb, src: r.src, thumbURL: URL.createObjectURL(r.thumb),
      featKey: r.featKey || '', feat: r.feat ? new Float32Array(r.feat) : null,
      augKey: r.augKey || '', aug: r.aug ? new Float32Array(r.aug) : null,
    });
  }
  chip('chip-storage', 'restored', 'ok');
  return true;
}

// ---- classes and samples --------------------------------------------------------------------

const view = new ClassesView($('classes'), $('class-tpl'), {
  rename(id, name) {
    const c = state.classes.find((x) => x.id === id);
    name = name.trim();
    if (!name) { showError('A class needs a name.'); render(); return; }
    if (state.classes.some((x) => x.id !== id && x.name === name)) { showError(`There is already a class named "${name}".`); render(); return; }
    c.name = name;
    saveMeta();
    render();
  },
  remove: removeClass,
  move(id, d) {
    const i = state.classes.findIndex((c) => c.id === id);
    const j = i + d;
    if (j < 0 || j >= state.classes.length) return;
    [state.classes[i], state.classes[j]] = [state.classes[j], state.classes[i]];
    saveMeta();
    render();
  },
  upload: (id, files) => addFiles(id, files),
  async drop(id, dt) {
    const items = await filesFromDrop(dt);
    await addFiles(id, items.map((i) => i.file));
  },
  recordStart, recordStop,
  deleteSample(id) {
    const s = state.samples.get(id);
    if (!s) return;
    URL.revokeObjectURL(s.thumbURL);
    state.samples.delete(id);
    removeStored([id]);
    render(new Set([s.classId]));
  },
});

let renderDirty = null;
let renderQueued = false;
/** render schedules one redraw of the class list per frame; dirty limits thumbnail rebuilds. */
function render(dirty = null) {
  if (dirty === null) renderDirty = 'all';
  else if (renderDirty !== 'all') { renderDirty = renderDirty || new Set(); for (const d of dirty) renderDirty.add(d); }
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => {
    renderQueued = false;
    const d = renderDirty === 'all' ? null : renderDirty;
    renderDirty = null;
    const by = samplesByClass();
    view.render(state.classes, by, d);
    let total = 0, ready = 0;
    for (const s of state.samples.values()) { total++; if (s.feat && s.featKey === state.backboneId) ready++; }
    $('class-summary').textContent = `${state.classes.length} classes · ${total} samples · ${ready} with features`;
    $('add-class').disabled = state.classes.length >= MAX_CLASSES;
    updateButtons();
  });
}

function addClass(name) {
  if (state.classes.length >= MAX_CLASSES) { showError(`At most ${MAX_CLASSES} classes.`); return null; }
  if (!name) {
    let k = state.classes.length + 1;
    while (state.classes.some((c) => c.name === `Class ${k}`)) k++;
    name = `Class ${k}`;
  }
  const c = { id: newId('c'), name };
  state.classes.push(c);
  saveMeta();
  render();
  return c;
}

function classNamed(name) {
  return state.classes.find((c) => c.name === name) || addClass(name);
}

function removeClass(id) {
  const gone = [...state.samples.values()].filter((s) => s.classId === id);
  for (const s of gone) { URL.revokeObjectURL(s.thumbURL); state.samples.delete(s.id); }
  state.classes = state.classes.filter((c) => c.id !== id);
  removeStored(gone.map((s) => s.id));
  saveMeta();
  render();
}

/** addSample turns an image source into a sample of class classId and queues its extraction. */
async function addSample(classId, source) {
  return registerSample(classId, await makeSample(source, inputSize()));
}

/** registerSample adds a prepared sample (makeSample's result) to class classId. */
function registerSample(classId, { rgba, size, src, thumb }) {
  const s = { id: newId('s'), classId, src, thumb, thumbURL: URL.createObjectURL(thumb), feat: null, featKey: '', rgba, rgbaSize: size };
  state.samples.set(s.id, s);
  render(new Set([classId]));
  saveMeta();
  saveSamples([s]);
  queueExtract([s.id]);
  return s;
}

/** inOrder runs prepare on up to n items at once and hands the results to use in the items'
 * order: image decoding and JPEG encoding overlap, samples keep the order they were given in, and
 * at most n prepared images wait in memory. use gets (value, error, item). */
async function inOrder(items, n, prepare, use) {
  const jobs = [];
  const start = () => {
    if (jobs.length < items.length) jobs.push(prepare(items[jobs.length]).then((v) => [v, null], (e) => [null, e]));
  };
  for (let i = 0; i < n; i++) start();
  for (let i = 0; i < items.length; i++) {
    const [v, e] = await jobs[i];
    start();
    await use(v, e, items[i]);
  }
}

/** prepareImage decodes an image file or blob and makes its sample pixels, source and thumbnail. */
async function prepareImage(blob, name) {
  const bmp = await decodeBlob(blob, name);
  try { return await makeSample(bmp, inputSize()); } finally { bmp.close(); }
}

async function addFiles(classId, files) {
  const bad = [];
  let n = 0;
  await inOrder(files, 4, async (f) => {
    if (!isImageFile(f)) throw new Error(`${f.name}: not an image`);
    return prepareImage(f, f.name);
  }, (made, err) => {
    if (err) { bad.push(err.message); return; }
    registerSample(classId, made);
    n++;
  });
  if (bad.length) showError(`Skipped ${bad.length} file(s):\n${bad.slice(0, 8).join('\n')}${bad.length > 8 ? '\n…' : ''}`);
  return n;
}

/** dropAnywhere: a folder dropped outside the class cards makes one class per subfolder. */
async function dropAnywhere(dt) {
  const items = await filesFromDrop(dt);
  const groups = groupByFolder(items);
  if (!groups.size) { showError('Nothing to add: the drop held no image files.'); return; }
  for (const [name, files] of groups) {
    const c = name ? classNamed(name) : (state.classes[state.classes.length - 1] || addClass());
    if (!c) return;
    await addFiles(c.id, files);
  }
}

// ---- webcam ---------------------------------------------------------------------------------

const camera = new Camera($('cam-video'));
let stopHold = null;

async function startCamera(deviceId) {
  await camera.start(deviceId);
  $('cam-toggle').textContent = 'Stop webcam';
  const sel = $('cam-select');
  const devs = await camera.devices();
  sel.replaceChildren(...devs.map((d, i) => new Option(d.label || `Camera ${i + 1}`, d.deviceId)));
  sel.value = camera.deviceId;
  sel.hidden = devs.length < 2;
}

function stopCamera() {
  if (stopHold) { stopHold(); stopHold = null; }
  camera.stop();
  $('cam-toggle').textContent = 'Start webcam';
  $('cam-select').hidden = true;
}

async function recordStart(classId) {
  try {
    if (!camera.on) await startCamera();
  } catch (err) { showError(err.message); return; }
  if (stopHold) stopHold();
  const rate = Number($('cam-rate').value) || 8;
  stopHold = camera.hold(rate, (video) => addSample(classId, video).catch((err) => showError(err.message)));
}

function recordStop() {
  if (stopHold) { stopHold(); stopHold = null; }
}

// ---- backbone and extraction ----------------------------------------------------------------

const trainer = new Trainer();
const plot = new Plot($('plot'));
plot.onError = (e) => showError(`Plot: ${e}`);
window.finetuner.plot = plot;
window.finetuner.trainer = trainer;
window.finetuner.extraction = () => ({ queued: queue.length, inflight: inflight(), ...extractStats, workers: extractors.map((w) => ({ ready: w.key === state.backboneId, busy: w.busy, done: w.done })) });
plot.onOptions = (o) => { if ('logScale' in o) $('log-scale').checked = o.logScale; };

const queue = [];        // sample ids waiting for features
let extractStats = { done: 0, total: 0, t0: 0 };
let backboneReady = null; // promise of the loaded backbone

// Extraction workers. The backbone is the slow part of adding images (about 0.2 s an image in wasm
// on one core), so a long queue is shared with up to HELPERS more trainer workers, each with its
// own copy of the backbone; the features are the same bits whichever worker computes them. Helpers
// start when the queue is long enough to repay their start (about a second) and stop after a
// minute without work, giving their memory back. The first entry is the trainer itself.
// ?helpers=N sets the number (0 to 7), for a machine shared with other work.
const HELPERS = (() => {
  const q = new URLSearchParams(location.search).get('helpers');
  if (q !== null && /^[0-7]$/.test(q)) return Number(q);
  return Math.max(0, Math.min(3, (navigator.hardwareConcurrency || 1) - 1));
})();
const HELPER_QUEUE = 8;
const extractors = [{ t: trainer, busy: 0, done: 0, get key() { return state.backbone ? state.backboneId : ''; } }];
window.finetuner.extractors = extractors;
let helpersIdle = 0;
let helpersFailed = 0; // a helper that failed is not replaced: the next would likely fail too

function startHelpers() {
  clearTimeout(helpersIdle);
  if (queue.length < HELPER_QUEUE || !state.backbone) return;
  while (extractors.length < 1 + HELPERS - helpersFailed) {
    const w = { t: new Trainer(), busy: 0, done: 0, key: '', loading: '' };
    w.t.ready.catch(() => {}); // a failed start reaches onFatal
    w.t.onFatal = (err) => dropHelper(w, err);
    extractors.push(w);
  }
  for (const w of extractors.slice(1)) {
    const id = state.backboneId;
    if (w.key === id || w.loading === id) continue;
    const b = state.backbones.find((x) => x.id === id);
    w.loading = id;
    w.t.call('loadBackbone', { id, files: b.files }).then(() => {
      if (w.loading === id) { w.key = id; w.loading = ''; }
      pump();
    }, (err) => dropHelper(w, err));
  }
}

// A helper that fails is let go: the trainer worker goes on extracting alone. Its calls still in
// flight fail at once, and pump puts their images back in the queue.
function dropHelper(w, err) {
  const i = extractors.indexOf(w);
  if (i < 0) return;
  extractors.splice(i, 1);
  helpersFailed++;
  w.t.onFatal = null;
  w.t.fail(new Error(`extraction helper stopped: ${err.message}`));
  w.t.worker.terminate();
  console.warn(`extraction helper stopped: ${err.message}`);
}

/** inflight is the number of images the workers are extracting now. */
function inflight() { return extractors.reduce((n, w) => n + w.busy, 0); }

function stopHelpersLater() {
  clearTimeout(helpersIdle);
  helpersIdle = setTimeout(() => {
    if (queue.length || inflight()) return;
    for (const w of extractors.splice(1)) w.t.worker.terminate();
  }, 60000);
}

async function loadManifest() {
  let r;
  try { r = await fetch('public/models/manifest.json'); } catch (err) { throw new Error(`Cannot read the backbone list: ${err.message}`); }
  if (!r.ok) throw new Error('No backbones are built (public/models/manifest.json is missing): run ./build.sh web.');
  const m = await r.json();
  const list = Array.isArray(m) ? m : m.models || m.backbones || [];
  if (!list.length) throw new Error('public/models/manifest.json lists no backbones.');
  return list;
}

function describeBackbone(b) {
  const mb = b.bytes ? ` · ${(b.bytes / 1e6).toFixed(1)} MB` : '';
  return `${b.dim}-d features from ${b.tap || 'its feature layer'}, input ${b.inputSize}×${b.inputSize}${mb}. ${b.provenance || ''} Licence: ${b.licence || 'see the package'}.`;
}

async function selectBackbone(id) {
  const b = state.backbones.find((x) => x.id === id);
  if (!b) throw new Error(`Unknown backbone ${id}`);
  $('backbone').value = id;
  $('backbone-info').textContent = describeBackbone(b);
  const changed = state.backboneId && state.backboneId !== id;
  state.backboneId = id;
  state.backbone = null;
  saveMeta();
  chip('chip-worker', `trainer: loading ${b.name || id}`);
  backboneReady = trainer.call('loadBackbone', { id, files: b.files }).then((info) => {
    state.backbone = { ...b, ...info };
    chip('chip-worker', `trainer: ${b.name || id} ready`, 'ok');
    return state.backbone;
  });
  try {
    await backboneReady;
  } catch (err) {
    chip('chip-worker', 'trainer: backbone failed', 'bad');
    throw new Error(`Loading backbone ${id} failed: ${err.message}`);
  }
  if (changed && state.head && state.headInfo && state.headInfo.backbone !== id) {
    $('preview-status').textContent = `The head was trained on backbone ${state.headInfo.backbone}: train again for ${id}.`;
  }
  queueExtract([...state.samples.keys()]);
}

/** augKey names the augmented views a sample needs: backbone and augmentation, or '' for none. */
function augKey() {
  const a = state.settings.augment || 'none';
  return a === 'none' ? '' : `${state.backboneId}|${a}`;
}

function needsFeatures(s) {
  return s.featKey !== state.backboneId || !s.feat || (augKey() !== '' && s.augKey !== augKey());
}

function queueExtract(ids) {
  let imageless = 0, plainOnly = 0;
  for (const id of ids) {
    const s = state.samples.get(id);
    if (!s || !needsFeatures(s) || queue.includes(id)) continue;
    if (!s.src && !s.rgba) {
      // Without its image a sample keeps its plain features but cannot get augmented views.
      if (s.feat && s.featKey === state.backboneId) { plainOnly++; continue; }
      imageless++;
      continue;
    }
    queue.push(id);
    extractStats.total++;
  }
  if (imageless) {
    showError(`${imageless} sample(s) came from a project file without images, so they cannot get features from backbone "${state.backboneId}". Import the project with images, switch back to its backbone, or delete them.`);
  }
  if (plainOnly) {
    showError(`${plainOnly} sample(s) came from a project file without images: they train on their own features only, without augmented views.`);
  }
  if (queue.length && extractStats.t0 === 0) extractStats.t0 = performance.now();
  pump();
}

function showExtractProgress() {
  const box = $('extract-progress');
  const { done, total, t0 } = extractStats;
  box.hidden = total === 0;
  $('extract-bar').max = Math.max(1, total);
  $('extract-bar').value = done;
  const secs = (performance.now() - t0) / 1000;
  const rate = secs > 0 ? done / secs : 0;
  $('extract-text').textContent = done < total
    ? `extracting ${done}/${total} · ${rate.toFixed(1)} images/s`
    : `extracted ${done} images · ${rate.toFixed(1)} images/s`;
  if (done >= total) { extractStats = { done: 0, total: 0, t0: 0, last: `${done} images at ${rate.toFixed(1)}/s` }; }
}

let drainWaiters = [];
/** drained resolves once no image waits for features. */
function drained() {
  if (!queue.length && !inflight()) return Promise.resolve();
  return new Promise((resolve) => drainWaiters.push(resolve));
}

async function pump() {
  if (!queue.length && !inflight()) {
    const w = drainWaiters; drainWaiters = []; for (const r of w) r();
    stopHelpersLater();
  }
  if (!state.backbone || state.training) return;
  startHelpers();
  while (queue.length) {
    // The least busy worker that has this backbone; two images each, so one is always in hand.
    let w = null;
    for (const x of extractors) if (x.key === state.backboneId && x.busy < 2 && (!w || x.busy < w.busy)) w = x;
    if (!w) break;
    const id = queue.shift();
    const s = state.samples.get(id);
    if (!s) { extractStats.done++; continue; }
    w.busy++;
    extractOne(s, w).catch((err) => {
      // A helper that stopped hands its images back to the queue; any other failure is shown.
      if (!extractors.includes(w)) { queue.push(s.id); extractStats.total++; return; }
      showError(`Feature extraction failed: ${err.message}`);
    }).finally(() => {
      w.busy--;
      extractStats.done++;
      showExtractProgress();
      pump();
    });
  }
}

async function extractOne(s, w) {
  const key = state.backboneId;
  const size = inputSize();
  let rgba = s.rgba && s.rgbaSize === size ? s.rgba : null;
  if (!rgba) rgba = await pixelsOf(s.src, size);
  s.rgba = null;
  const ak = augKey();
  const augment = ak ? state.settings.augment : 'none';
  const out = await w.t.call('extract', { rgba, width: size, height: size, augment }, [rgba]);
  w.done++;
  if (key !== state.backboneId || !state.samples.has(s.id)) return; // changed meanwhile
  const d = out.length / AUGMENTS[augment];
  s.feat = out.slice(0, d);
  s.featKey = key;
  if (ak) { s.aug = out.slice(d); s.augKey = ak; }
  render(new Set([s.classId]));
  saveSamples([s]);
}

// ---- training -------------------------------------------------------------------------------

function readSettings() {
  const f = $('settings').elements;
  const num = (name, lo, hi, int) => {
    const v = Number(f[name].value);
    if (!Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) {
      throw new Error(`${f[name].closest('label').textContent.trim()}: must be ${int ? 'a whole number' : 'a number'} from ${lo} to ${hi}.`);
    }
    return v;
  };
  return {
    auto: f.auto.checked, head: f.head.value, early: f.early.checked,
    augment: f.augment.value in AUGMENTS ? f.augment.value : 'none',
    hidden: num('hidden', 1, 4096, true), epochs: num('epochs', 1, 1000, true), batch: num('batch', 1, 4096, true),
    lr: num('lr', 1e-6, 10, false), val: num('val', 0.05, 0.5, false), seed: num('seed', 0, 4294967295, true),
  };
}

function writeSettings() {
  const f = $('settings').elements;
  const s = state.settings;
  f.auto.checked = s.auto;
  f.early.checked = s.early;
  for (const k of ['head', 'hidden', 'epochs', 'batch', 'lr', 'val', 'seed', 'augment']) f[k].value = s[k];
  $('manual').disabled = s.auto;
}

/** trainingSet gathers the rows to train on: each sample's features, then its augmented views
 * when the settings ask for them, with group ids (the sample's position) so the views of one
 * photo stay on one side of the split. ids maps each row to its sample, for the gallery. */
function trainingSet() {
  const by = samplesByClass();
  const labels = state.classes.map((c) => c.name);
  if (state.classes.length < MIN_CLASSES) throw new Error(`Add at least ${MIN_CLASSES} classes.`);
  const ready = (s) => s.feat && s.featKey === state.backboneId;
  for (const c of state.classes) {
    const n = by.get(c.id).filter(ready).length;
    if (n < 2) throw new Error(`Class "${c.name}" has ${n} sample(s) with features; every class needs at least 2.`);
  }
  const d = state.backbone.dim;
  const ak = augKey();
  const samples = [];
  state.classes.forEach((c, label) => {
    for (const s of by.get(c.id)) if (ready(s)) samples.push([s, label]);
  });
  let n = samples.length;
  if (ak) for (const [s] of samples) if (s.augKey === ak && s.aug) n += s.aug.length / d;
  const x = new Float32Array(n * d);
  const y = new Int32Array(n);
  const group = ak ? new Int32Array(n) : null;
  const ids = [];
  let row = 0;
  const put = (v, label, g, id) => {
    x.set(v, row * d);
    y[row] = label;
    if (group) group[row] = g;
    ids.push(id);
    row++;
  };
  samples.forEach(([s, label], g) => put(s.feat, label, g, s.id));
  if (ak) {
    samples.forEach(([s, label], g) => {
      if (s.augKey !== ak || !s.aug) return;
      for (let o = 0; o < s.aug.length; o += d) put(s.aug.subarray(o, o + d), label, g, s.id);
    });
  }
  return { x, y, n, d, labels, ids, group, photos: samples.length };
}

let lastEpochEvent = null;

async function train() {
  let set, cfg;
  try {
    cfg = readSettings();
    state.settings = cfg;
    saveMeta();
    if (!state.backbone) throw new Error('The backbone is not loaded yet.');
    queueExtract([...state.samples.keys()]); // the augmentation setting may ask for more views
    if (queue.length || inflight()) {
      // Samples still being extracted are part of the data: wait for them.
      $('train-btn').disabled = true;
      $('train-status').textContent = `waiting for ${queue.length + inflight()} image(s) to be extracted…`;
      await drained();
    }
    set = trainingSet();
  } catch (err) {
    $('train-status').textContent = '';
    updateButtons();
    showError(err.message);
    return;
  }
  stopPreview();
  state.training = true;
  state.paused = false;
  lastEpochEvent = null;
  updateButtons();
  plot.reset(set.labels, cfg.auto ? 0 : cfg.epochs);
  startPlot();
  $('train-status').textContent = set.n > set.photos
    ? `training on ${set.photos} photos (${set.n} rows with augmentation)…` : 'training…';
  const t0 = performance.now();
  try {
    const res = await trainer.call('train', {
      x: set.x.buffer, y: set.y.buffer, n: set.n, d: set.d, labels: set.labels,
      group: set.group ? set.group.buffer : null,
      config: { ...cfg, backbone: state.backboneId, tap: state.backbone.tap || '' },
    }, [set.x.buffer, set.y.buffer, ...(set.group ? [set.group.buffer] : [])]);
    state.head = res.head;
    state.headInfo = res.info;
    state.report = res.report;
    state.rowIds = set.ids;
    plot.report(res.report);
    state.curves = plot.snapshot();
    const secs = ((performance.now() - t0) / 1000).toFixed(1);
    $('train-status').textContent = `${res.report.stopped ? 'stopped' : 'done'} in ${secs} s · val acc ${(100 * res.report.valAcc).toFixed(1)}%`;
    showReport();
    saveMeta();
    $('probs').replaceChildren();
    $('preview-status').textContent = 'Head ready: try the webcam or an image.';
  } catch (err) {
    $('train-status').textContent = 'failed';
    showError(`Training failed: ${err.message}`);
  } finally {
    state.training = false;
    state.paused = false;
    updateButtons();
    pump();
  }
}

trainer.onEvents = (evs) => {
  plot.events(evs);
  for (const ev of evs) if (ev.kind === 'epoch' || ev.kind === 'trial') lastEpochEvent = ev;
  trainStatus();
};

function trainStatus() {
  const e = lastEpochEvent;
  if (!state.training) return;
  if (!e) { $('train-status').textContent = state.paused ? 'paused' : 'training…'; return; }
  // The automatic probe counts L-BFGS iterations and reports one validation result per L2 strength.
  const parts = [state.paused ? 'paused' : ''];
  if (e.kind === 'trial') {
    parts.push(`iteration ${e.epoch}`, `L2 ${e.lambda.toExponential(0)}`);
  } else {
    parts.push(`epoch ${e.epoch}/${e.epochs}`, `loss ${e.trainLoss.toFixed(3)}`);
  }
  if (e.hasVal) parts.push(`val loss ${e.valLoss.toFixed(3)}`, `val acc ${(100 * e.valAcc).toFixed(1)}%`);
  if (e.samplesPerSec) parts.push(`${Math.round(e.samplesPerSec)} samples/s`);
  $('train-status').textContent = parts.filter(Boolean).join(' · ');
};

function updateButtons() {
  const t = state.training;
  $('train-btn').disabled = t;
  $('pause-btn').disabled = !t;
  $('stop-btn').disabled = !t;
  $('pause-btn').textContent = state.paused ? 'Resume' : 'Pause';
  $('export-head').disabled = !state.head || t;
  $('share-head').disabled = !state.head || t;
  $('backbone').disabled = t;
  $('load-demo').disabled = t;
}

// ---- evaluation -----------------------------------------------------------------------------

function showReport() {
  const r = state.report;
  if (!r) { $('eval').hidden = true; return; }
  $('eval').hidden = false;
  $('eval-acc').textContent = `${(100 * r.valAcc).toFixed(1)}% validation accuracy`;
  const tb = $('per-class').tBodies[0];
  tb.replaceChildren(...r.labels.map((name, i) => {
    const m = r.perClass[i] || {};
    const tr = document.createElement('tr');
    const pct = (v) => (v === undefined || v === null ? '–' : `${(100 * v).toFixed(1)}%`);
    for (const v of [name, m.support ?? '–', pct(m.accuracy), pct(m.precision), pct(m.recall)]) {
      const td = document.createElement('td');
      td.textContent = v;
      tr.append(td);
    }
    return tr;
  }));
  const gal = $('mis-gallery');
  const figs = [];
  const idx = r.valIndex || [];
  const pred = r.valPred || [];
  const nOrig = state.rowIds.length;
  for (let k = 0; k < idx.length; k++) {
    const row = idx[k];
    if (row >= nOrig) continue;
    const truth = r.valTrue ? r.valTrue[k] : null;
    if (truth === null || truth === pred[k]) continue;
    const s = state.samples.get(state.rowIds[row]);
    const fig = document.createElement('figure');
    const img = document.createElement('img');
    if (s) img.src = s.thumbURL; else img.alt = '(deleted)';
    const cap = document.createElement('figcaption');
    cap.textContent = `${r.labels[truth]} → ${r.labels[pred[k]]}`;
    cap.title = cap.textContent;
    fig.append(img, cap);
    figs.push(fig);
  }
  gal.replaceChildren(...figs);
  $('mis-count').textContent = figs.length ? `(${figs.length})` : '(none)';
}

// ---- live prediction ------------------------------------------------------------------------

let previewing = false;

function drawProbs(probs, labels) {
  const order = [...probs.keys()].sort((a, b) => probs[b] - probs[a]);
  const top = order[0];
  $('probs').replaceChildren(...labels.map((name, i) => {
    const li = document.createElement('li');
    if (i === top) li.className = 'top';
    const n = document.createElement('span');
    n.className = 'name';
    n.textContent = name;
    const bar = document.createElement('span');
    bar.className = 'bar';
    const fill = document.createElement('i');
    fill.style.width = `${(100 * probs[i]).toFixed(1)}%`;
    bar.append(fill);
    const p = document.createElement('span');
    p.className = 'p';
    p.textContent = `${(100 * probs[i]).toFixed(1)}%`;
    li.append(n, bar, p);
    return li;
  }));
}

async function predictFrom(source) {
  if (!state.head) throw new Error('Train or import a head first.');
  if (!state.backbone) throw new Error('The backbone is not loaded yet.');
  const size = inputSize();
  const c = drawSquare(source, size);
  const shown = $('preview-canvas');
  shown.width = shown.height = size;
  shown.getContext('2d').drawImage(c, 0, 0);
  const rgba = c.getContext('2d').getImageData(0, 0, size, size).data.buffer;
  const t0 = performance.now();
  const probs = await trainer.call('predict', { rgba, width: size, height: size }, [rgba]);
  drawProbs(probs, state.headInfo.labels);
  $('preview-status').textContent = `predicted in ${Math.round(performance.now() - t0)} ms`;
}

async function startPreview() {
  try {
    if (!state.head) throw new Error('Train or import a head first.');
    if (!camera.on) await startCamera();
  } catch (err) { showError(err.message); return; }
  previewing = true;
  $('preview-cam').textContent = 'Stop live';
  while (previewing && camera.on && !state.training) {
    try { await predictFrom(camera.video); } catch (err) { showError(err.message); break; }
    await new Promise((r) => setTimeout(r, 30));
  }
  stopPreview();
}

function stopPreview() {
  previewing = false;
  $('preview-cam').textContent = 'Live webcam';
}

async function predictFile(file) {
  stopPreview();
  try {
    const bmp = await decodeBlob(file, file.name);
    try { await predictFrom(bmp); } finally { bmp.close(); }
  } catch (err) { showError(err.message); }
}

// ---- import / export ------------------------------------------------------------------------

function ioStatus(t) { $('io-status').textContent = t; }

function safeName(s) { return (s || 'finetuner').replace(/[^\w.-]+/g, '_'); }

async function exportHead() {
  const bytes = await trainer.call('exportHead');
  download(new Blob([bytes], { type: 'application/octet-stream' }), `${safeName(state.headInfo.labels.join('-').slice(0, 40))}.safetensors`);
  ioStatus(`head exported (${bytes.byteLength} bytes)`);
}

// shareLink posts the head to the Worker's API (only shown when the page is served by it) and
// shows the link that opens it for live testing.
async function shareLink() {
  const bytes = await trainer.call('exportHead');
  const { url } = await shareHead(bytes);
  const a = document.createElement('a');
  a.href = url;
  a.textContent = url;
  $('io-status').replaceChildren('share link: ', a);
  try { await navigator.clipboard.writeText(url); $('io-status').append(' (copied)'); } catch { /* no clipboard permission: the link is on screen */ }
}

// openSharedHead loads the head of a /?head=<id> link, switching to its backbone first.
async function openSharedHead(id) {
  const meta = await fetchSharedMeta(id);
  if (meta.backbone && meta.backbone !== state.backboneId && state.backbones.some((b) => b.id === meta.backbone)) {
    await selectBackbone(meta.backbone);
  }
  const bytes = await fetchSharedHead(id);
  await importHead(new File([bytes], `shared-${id.slice(0, 8)}.safetensors`));
  forgetShareLink();
}

async function importHead(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const info = await trainer.call('importHead', { bytes: bytes.slice().buffer });
  if (info.backbone && state.backboneId && info.backbone !== state.backboneId) {
    throw new Error(`${file.name} was trained on backbone "${info.backbone}", but "${state.backboneId}" is selected: choose that backbone first.`);
  }
  if (state.backbone && info.dim !== state.backbone.dim) {
    throw new Error(`${file.name} expects ${info.dim}-d features; backbone "${state.backboneId}" gives ${state.backbone.dim}.`);
  }
  state.head = bytes;
  state.headInfo = info;
  state.report = null;
  showReport();
  saveMeta();
  updateButtons();
  ioStatus(`head imported: ${info.labels.length} classes (${info.labels.join(', ')})`);
}

async function exportProject() {
  const blob = encodeProject({
    classes: state.classes, settings: state.settings,
    backbone: { id: state.backboneId, dim: state.backbone ? state.backbone.dim : 0 },
    samples: [...state.samples.values()], head: state.head, report: state.report, curves: state.curves,
  }, $('export-raw').checked);
  download(blob, 'finetuner.ftproj');
  ioStatus(`project exported (${(blob.size / 1e6).toFixed(2)} MB)`);
}

async function importProject(file) {
  const p = await decodeProject(file);
  if (!state.backbones.some((b) => b.id === p.backbone.id)) {
    throw new Error(`${file.name} uses backbone "${p.backbone.id}", which this build does not have.`);
  }
  const b = state.backbones.find((x) => x.id === p.backbone.id);
  if (b.dim && b.dim !== p.backbone.dim) throw new Error(`${file.name} has ${p.backbone.dim}-d features but backbone "${b.id}" gives ${b.dim}.`);
  await clearProject();
  const ids = new Map();
  for (const c of p.classes) { const nc = { id: newId('c'), name: c.name }; ids.set(c.id, nc.id); state.classes.push(nc); }
  const added = [];
  for (const s of p.samples) {
    const ns = { id: newId('s'), classId: ids.get(String(s.classId)), thumb: s.thumb, src: s.src, thumbURL: URL.createObjectURL(s.thumb), feat: s.feat, featKey: s.featKey };
    state.samples.set(ns.id, ns);
    added.push(ns);
  }
  state.settings = { ...DEFAULT_SETTINGS, ...p.settings };
  writeSettings();
  await saveSamples(added);
  saveMeta();
  await selectBackbone(p.backbone.id);
  if (p.head) {
    const info = await trainer.call('importHead', { bytes: p.head.slice().buffer });
    state.head = p.head;
    state.headInfo = info;
  }
  state.report = p.report;
  state.curves = p.curves;
  showReport();
  if (state.curves) plot.restore(state.curves);
  else if (state.report) plot.report(state.report);
  saveMeta();
  render();
  updateButtons();
  ioStatus(`project imported: ${p.classes.length} classes, ${p.samples.length} samples`);
}

async function clearProject() {
  for (const s of state.samples.values()) URL.revokeObjectURL(s.thumbURL);
  state.samples.clear();
  state.classes = [];
  state.head = state.headInfo = state.report = state.curves = null;
  state.rowIds = [];
  queue.length = 0;
  extractStats = { done: 0, total: 0, t0: 0 };
  if (store) { try { await store.clear(); } catch (err) { showError(describeStorageError(err)); } }
  showReport();
  $('probs').replaceChildren();
  plot.reset([], 0);
}

// ---- demo set -------------------------------------------------------------------------------

async function loadDemo() {
  const r = await fetch('public/demo/manifest.json');
  if (!r.ok) throw new Error('The demo set is not built (public/demo/manifest.json is missing): run ./build.sh web.');
  const m = await r.json();
  $('load-demo').disabled = true;
  let n = 0;
  const total = m.classes.reduce((a, c) => a + c.files.length, 0);
  try {
    for (const c of m.classes) {
      const cls = classNamed(c.name);
      if (!cls) break;
      await inOrder(c.files, 4, async (f) => {
        const res = await fetch(`public/demo/${f}`);
        if (!res.ok) throw new Error(`demo image ${f}: HTTP ${res.status}`);
        return prepareImage(await res.blob(), f);
      }, (made, err) => {
        if (err) throw err;
        registerSample(cls.id, made);
        $('class-summary').textContent = `loading demo set ${++n}/${total}`;
      });
    }
  } finally {
    $('load-demo').disabled = false;
    render();
  }
  if (m.credit) $('demo-credit').textContent = m.credit;
}

// ---- wiring ---------------------------------------------------------------------------------

function on(id, ev, fn) {
  $(id).addEventListener(ev, async (e) => {
    try { await fn(e); } catch (err) { showError(err.message); }
  });
}

function wire() {
  on('add-class', 'click', () => addClass());
  on('load-demo', 'click', loadDemo);
  on('clear-project', 'click', async () => {
    if (!confirm('Delete every class, sample and the trained head?')) return;
    await clearProject();
    addClass(); addClass();
  });
  on('cam-toggle', 'click', () => (camera.on ? stopCamera() : startCamera()));
  on('cam-select', 'change', (e) => startCamera(e.target.value));
  on('backbone', 'change', (e) => selectBackbone(e.target.value));
  on('settings', 'change', () => {
    const before = state.settings.augment;
    state.settings = { ...state.settings, ...readSettings() };
    $('manual').disabled = state.settings.auto;
    saveMeta();
    if (state.settings.augment !== before) queueExtract([...state.samples.keys()]);
  });
  on('train-btn', 'click', train);
  on('pause-btn', 'click', async () => {
    state.paused = !state.paused;
    updateButtons();
    trainStatus();
    await trainer.call(state.paused ? 'pause' : 'resume');
  });
  on('stop-btn', 'click', () => trainer.call('stop'));
  on('log-scale', 'change', (e) => plot.setOptions({ logScale: e.target.checked }));
  on('smooth', 'input', (e) => plot.setOptions({ smooth: Number(e.target.value) }));
  on('preview-cam', 'click', () => (previewing ? stopPreview() : startPreview()));
  on('preview-file', 'change', (e) => { if (e.target.files[0]) predictFile(e.target.files[0]); e.target.value = ''; });
  const drop = $('preview-drop');
  drop.addEventListener('dragover', (e) => { e.preventDefault(); e.stopPropagation(); drop.classList.add('dragover'); });
  drop.addEventListener('dragleave', () => drop.classList.remove('dragover'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault(); e.stopPropagation(); drop.classList.remove('dragover');
    const f = [...e.dataTransfer.files].find(isImageFile);
    if (f) predictFile(f); else showError('Drop an image file to classify it.');
  });
  on('export-head', 'click', exportHead);
  on('share-head', 'click', shareLink);
  on('export-project', 'click', exportProject);
  on('import-head', 'change', async (e) => { const f = e.target.files[0]; e.target.value = ''; if (f) await importHead(f).catch((err) => { ioStatus(''); throw err; }); });
  on('import-project', 'change', async (e) => { const f = e.target.files[0]; e.target.value = ''; if (f) await importProject(f).catch((err) => { ioStatus(''); throw err; }); });
  document.addEventListener('dragover', (e) => e.preventDefault());
  document.addEventListener('drop', (e) => { e.preventDefault(); dropAnywhere(e.dataTransfer).catch((err) => showError(err.message)); });
}

async function registerServiceWorker() {
  if (!('serviceWorker' in navigator) || location.protocol === 'file:') { chip('chip-offline', 'offline: unavailable'); return; }
  try {
    const r = await fetch('public/build/assets.json', { cache: 'no-cache' });
    if (!r.ok) throw new Error(`assets.json: HTTP ${r.status}`);
    const { version } = await r.json();
    await registerOffline(`public/sw.js?v=${encodeURIComponent(version)}`, './');
    chip('chip-offline', 'works offline', 'ok');
  } catch (err) {
    chip('chip-offline', 'offline: not ready', 'bad');
    showError(`Offline mode is not available: ${err.message}`);
  }
}

async function main() {
  if (typeof WebAssembly !== 'object' || typeof Worker !== 'function') {
    fatal('This browser lacks WebAssembly or Web Workers, which the trainer needs. Use a current Chromium, Firefox or Safari.');
    return;
  }
  // Only the API's presence: making a throwaway WebGL2 context costs the page thread 150 ms and
  // more. A browser that has the API but cannot make a context is reported by the plot frame.
  if (typeof WebGL2RenderingContext !== 'function') {
    showError('This browser has no WebGL2: the live curves cannot be drawn, but training, evaluation and prediction work.');
  }
  trainer.onFatal = (err) => { chip('chip-worker', 'trainer: failed', 'bad'); fatal(err.message); };
  wire();
  const restored = await restore();
  if (!restored || !state.classes.length) { addClass(); addClass(); }
  writeSettings();
  render();
  try {
    state.backbones = await loadManifest();
    $('backbone').replaceChildren(...state.backbones.map((b) => new Option(b.name || b.id, b.id)));
    const id = state.backbones.some((b) => b.id === state.backboneId) ? state.backboneId : state.backbones[0].id;
    await trainer.ready;
    await selectBackbone(id);
    if (state.head) {
      try {
        state.headInfo = await trainer.call('importHead', { bytes: state.head.slice().buffer });
      } catch (err) {
        showError(`The saved head could not be loaded: ${err.message}`);
        state.head = state.headInfo = null;
      }
    }
  } catch (err) {
    showError(err.message);
  }
  apiAvailable().then((ok) => { $('share-head').hidden = !ok; });
  try {
    const id = sharedHeadId();
    if (id) await openSharedHead(id);
  } catch (err) {
    showError(`The shared head could not be opened: ${err.message}`);
  }
  if (state.curves) plot.restore(state.curves);
  else if (state.report) plot.report(state.report);
  showReport();
  updateButtons();
  document.body.dataset.ready = '1';
  // The offline precache (every file: both backbones, the demo set) runs in the service worker's
  // own thread, from now on: never before the page is usable.
  registerServiceWorker();
  if (state.curves || state.report) startPlot();
  else waitQuietThenStartPlot();
}

// The plot frame (a 12 MB Ebiten module compiled on this thread) starts once the page is usable
// and has something to draw or nothing else to do: at once when the project has curves, else at
// the first training or after 5 s without images being decoded or extracted (compiling it on this
// thread while the demo set loads slows the decoding that feeds the extraction workers). The plot
// bridge keeps the history until its frame is up.
function startPlot() {
  const frame = $('plot');
  if (!frame.getAttribute('src')) frame.src = frame.dataset.src;
}

function waitQuietThenStartPlot() {
  let quiet = 0;
  const tick = () => {
    if ($('plot').getAttribute('src')) return;
    quiet = queue.length || inflight() ? 0 : quiet + 1;
    if (quiet >= 10) startPlot(); else setTimeout(tick, 500);
  };
  setTimeout(tick, 500);
}

main();
