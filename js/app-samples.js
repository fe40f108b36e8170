// The app's classes and samples: the class cards (js/classes-view.js), images from files, folder
// drops, the webcam and the demo set, and their features, which the extraction pool computes as
// images arrive.

import { $, state, session, AUGMENTS, MAX_CLASSES, newId, samplesByClass, inputSize, showError } from './app.js';
import { saveMeta, saveSamples, removeStored } from './app-store.js';
import { updateButtons } from './app-train.js';
import { ExtractPool } from './extract-pool.js';
import { Camera } from './camera.js';
import { ClassesView } from './classes-view.js';
import { makeSample, decodeBlob, pixelsOf, filesFromDrop, groupByFolder, isImageFile } from './images.js';

// Extraction: the pool (js/extract-pool.js) shares a long queue with up to HELPERS more trainer
// workers, one fewer than the cores and at most three; ?helpers=N sets the number (0 to 7), for a
// machine shared with other work.
const HELPERS = (() => {
  const q = new URLSearchParams(location.search).get('helpers');
  if (q !== null && /^[0-7]$/.test(q)) return Number(q);
  return Math.max(0, Math.min(3, (navigator.hardwareConcurrency || 1) - 1));
})();
export const pool = new ExtractPool(session.trainer, HELPERS, {
  key: () => (state.backbone ? state.backboneId : ''),
  entry: () => session.find(state.backboneId),
  paused: () => state.training,
  run: extractOne,
  onProgress: showExtractProgress,
  onError: (err) => showError(`Feature extraction failed: ${err.message}`),
});
window.finetuner.extractors = pool.workers;
window.finetuner.extraction = () => ({ queued: pool.queue.length, inflight: pool.inflight(), ...pool.stats, workers: pool.workers.map((w) => ({ ready: w.key === state.backboneId, busy: w.busy, done: w.done })) });

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
export function render(dirty = null) {
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

export function addClass(name) {
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

export function classNamed(name) {
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
export async function dropAnywhere(dt) {
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

export const camera = new Camera($('cam-video'));
let stopHold = null;

export async function startCamera(deviceId) {
  await camera.start(deviceId);
  $('cam-toggle').textContent = 'Stop webcam';
  const sel = $('cam-select');
  const devs = await camera.devices();
  sel.replaceChildren(...devs.map((d, i) => new Option(d.label || `Camera ${i + 1}`, d.deviceId)));
  sel.value = camera.deviceId;
  sel.hidden = devs.length < 2;
}

export function stopCamera() {
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

// ---- features ----------------------------------------------------------------------------------

/** augKey names the augmented views a sample needs: backbone and augmentation, or '' for none. */
export function augKey() {
  const a = state.settings.augment || 'none';
  return a === 'none' ? '' : `${state.backboneId}|${a}`;
}

function needsFeatures(s) {
  return s.featKey !== state.backboneId || !s.feat || (augKey() !== '' && s.augKey !== augKey());
}

export function queueExtract(ids) {
  let imageless = 0, plainOnly = 0;
  const wanted = [];
  for (const id of ids) {
    const s = state.samples.get(id);
    if (!s || !needsFeatures(s) || pool.has(id)) continue;
    if (!s.src && !s.rgba) {
      // Without its image a sample keeps its plain features but cannot get augmented views.
      if (s.feat && s.featKey === state.backboneId) { plainOnly++; continue; }
      imageless++;
      continue;
    }
    wanted.push(id);
  }
  if (imageless) {
    showError(`${imageless} sample(s) came from a project file without images, so they cannot get features from backbone "${state.backboneId}". Import the project with images, switch back to its backbone, or delete them.`);
  }
  if (plainOnly) {
    showError(`${plainOnly} sample(s) came from a project file without images: they train on their own features only, without augmented views.`);
  }
  pool.add(wanted);
}

export function showExtractProgress() {
  const box = $('extract-progress');
  const { done, total, t0 } = pool.stats;
  box.hidden = total === 0;
  $('extract-bar').max = Math.max(1, total);
  $('extract-bar').value = done;
  const secs = (performance.now() - t0) / 1000;
  const rate = secs > 0 ? done / secs : 0;
  $('extract-text').textContent = done < total
    ? `extracting ${done}/${total} · ${rate.toFixed(1)} images/s`
    : `extracted ${done} ${done === 1 ? 'image' : 'images'} · ${rate.toFixed(1)} images/s`;
  if (done >= total) pool.stats = { done: 0, total: 0, t0: 0, last: `${done} images at ${rate.toFixed(1)}/s` };
}

/** extractOne gets sample id's features on trainer t; false when the sample is gone. */
async function extractOne(id, t) {
  const s = state.samples.get(id);
  if (!s) return false;
  const key = state.backboneId;
  const size = inputSize();
  let rgba = s.rgba && s.rgbaSize === size ? s.rgba : null;
  if (!rgba) rgba = await pixelsOf(s.src, size);
  s.rgba = null;
  const ak = augKey();
  const augment = ak ? state.settings.augment : 'none';
  const out = await t.extract(rgba, size, augment);
  if (key !== state.backboneId || !state.samples.has(s.id)) return true; // changed meanwhile
  const d = out.length / AUGMENTS[augment];
  s.feat = out.slice(0, d);
  s.featKey = key;
  if (ak) { s.aug = out.slice(d); s.augKey = ak; }
  render(new Set([s.classId]));
  saveSamples([s]);
  return true;
}

// ---- demo set -------------------------------------------------------------------------------

export async function loadDemo() {
  const r = await fetch(new URL('demo/manifest.json', session.base));
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
        const res = await fetch(new URL(`demo/${f}`, session.base));
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
