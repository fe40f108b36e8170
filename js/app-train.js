// The app's training and results: the settings form, the training rows (features plus augmented
// views, grouped by photo), a run through the session with its status line and buttons, the
// evaluation (per-class table, gallery of misclassified photos) and the live prediction.

import { $, state, session, AUGMENTS, MIN_CLASSES, MODES, ui, samplesByClass, showError, inputSize } from './app.js';
import { saveMeta } from './app-store.js';
import { pool, queueExtract, augKey, camera, startCamera } from './app-samples.js';
import { decodeBlob, pixelsOf } from './images.js';

export function readSettings() {
  const f = $('settings').elements;
  const num = (name, lo, hi, int) => {
    const v = Number(f[name].value);
    if (!Number.isFinite(v) || v < lo || v > hi || (int && !Number.isInteger(v))) {
      throw new Error(`${f[name].closest('label').textContent.trim()}: must be ${int ? 'a whole number' : 'a number'} from ${lo} to ${hi}.`);
    }
    return v;
  };
  return {
    mode: f.mode.value in MODES ? f.mode.value : 'deep',
    ftEpochs: num('ftEpochs', 1, 200, true), ftLr: num('ftLr', 1e-7, 0.1, false),
    auto: f.auto.checked, head: f.head.value, early: f.early.checked,
    augment: f.augment.value in AUGMENTS ? f.augment.value : 'none',
    hidden: num('hidden', 1, 4096, true), epochs: num('epochs', 1, 1000, true), batch: num('batch', 1, 4096, true),
    lr: num('lr', 1e-6, 10, false), val: num('val', 0.05, 0.5, false), seed: num('seed', 0, 4294967295, true),
  };
}

export function writeSettings() {
  const f = $('settings').elements;
  const s = state.settings;
  f.auto.checked = s.auto;
  f.early.checked = s.early;
  for (const k of ['head', 'hidden', 'epochs', 'batch', 'lr', 'val', 'seed', 'augment']) f[k].value = s[k];
  f.mode.value = s.mode in MODES ? s.mode : 'deep';
  f.ftEpochs.value = s.ftEpochs || 10;
  f.ftLr.value = s.ftLr || 0.0001;
  $('manual').disabled = s.auto;
  showMode();
}

/** showMode shows the settings and the help of the chosen mode, and for a fine-tune its plan. */
export function showMode() {
  const mode = $('settings').elements.mode.value;
  const ft = MODES[mode] > 0;
  $('finetune-opts').hidden = !ft;
  $('auto-row').hidden = ft;
  $('manual').hidden = ft;
  $('augment-row').hidden = mode !== 'deep'; // the other modes train on the plain photos
  $('mode-help').textContent = ui.t(`app.help.${ft ? 'finetune' : mode}`);
  refreshPlan();
}

let planSeq = 0;

/** photoCount counts the samples whose photo is stored (those a fine-tune can use). */
function photoCount() {
  let n = 0;
  for (const s of state.samples.values()) if (s.src || s.rgba) n++;
  return n;
}

/** refreshPlan measures, in the trainer, what the chosen fine-tune needs and shows it. */
export async function refreshPlan() {
  const box = $('finetune-plan');
  const s = state.settings;
  const blocks = MODES[s.mode] || 0;
  const seq = ++planSeq;
  if (!blocks || !state.backbone) { box.hidden = true; return null; }
  const n = photoCount();
  if (!n) { box.hidden = false; box.className = 'small muted wide'; box.textContent = ui.t('app.planEmpty'); return null; }
  const plan = await session.trainer.finetunePlan(blocks, n, s.val);
  if (seq !== planSeq) return plan;
  box.hidden = false;
  box.className = plan.fits ? 'small wide' : 'small wide bad';
  box.textContent = plan.fits ? planText(plan, s) : ui.t('app.planRefused', { error: plan.error });
  return plan;
}

const mb = (b) => (b / (1 << 20)).toFixed(1);

function planText(p, s) {
  return ui.t('app.plan', {
    n: p.rows, blocks: p.blocks.join(', '), total: mb(p.totalBytes), cache: mb(p.cacheBytes), section: mb(p.sectionBytes), frozen: mb(p.frozenBytes),
    weights: mb(p.weightBytes), limit: mb(p.limitBytes), cacheSecs: Math.ceil(p.cacheSeconds), epochSecs: p.secPerEpoch.toFixed(1),
    epochs: s.ftEpochs, totalSecs: Math.ceil(p.cacheSeconds + p.secPerEpoch * s.ftEpochs),
  });
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

/** imageSet gathers the photos of a run that starts from images (a fine-tune or the mid-layer
 * tap) at the backbone's input size, one per sample with a stored photo; ids maps each to its
 * sample, for the gallery. */
async function imageSet() {
  if (state.classes.length < MIN_CLASSES) throw new Error(`Add at least ${MIN_CLASSES} classes.`);
  const by = samplesByClass();
  const size = inputSize();
  const picked = [];
  let imageless = 0;
  state.classes.forEach((c, label) => {
    for (const s of by.get(c.id)) if (s.src || (s.rgba && s.rgbaSize === size)) picked.push([s, label]); else imageless++;
  });
  for (const c of state.classes) {
    const n = picked.filter(([s]) => s.classId === c.id).length;
    if (n < 2) throw new Error(ui.t('app.needTwo', { name: c.name, n }));
  }
  if (imageless) showError(ui.t('app.imageless', { n: imageless }));
  const images = [];
  const y = new Int32Array(picked.length);
  const ids = [];
  for (const [s, label] of picked) {
    $('train-status').textContent = ui.t('app.reading', { i: ids.length + 1, n: picked.length });
    // A sample's own pixels wait for its extraction: the trainer gets a copy.
    images.push(s.rgba && s.rgbaSize === size ? s.rgba.slice(0) : await pixelsOf(s.src, size));
    y[ids.length] = label;
    ids.push(s.id);
  }
  return { images, size, y, labels: state.classes.map((c) => c.name), ids, n: picked.length, photos: picked.length };
}

let lastEpochEvent = null;

session.trainer.onStatus = (text) => {
  if (state.training && !lastEpochEvent) $('train-status').textContent = text;
};

/**
 * train runs the chosen mode. The deep-layer mode trains on the features extracted as photos
 * arrived (waiting for any still queued); the mid-layer and fine-tune modes send the photos to
 * the trainer, which runs them through the frozen layers once and trains on that; a fine-tune
 * first shows what it will take and refuses when the memory would not fit.
 */
export async function train() {
  let set, cfg, blocks, start;
  try {
    cfg = readSettings();
    state.settings = { ...state.settings, ...cfg };
    saveMeta();
    if (!state.backbone) throw new Error('The backbone is not loaded yet.');
    $('train-btn').disabled = true;
    blocks = MODES[cfg.mode] || 0;
    if (cfg.mode === 'deep') {
      queueExtract([...state.samples.keys()]); // the augmentation setting may ask for more views
      if (pool.queue.length || pool.inflight()) {
        // Samples still being extracted are part of the data: wait for them.
        $('train-status').textContent = `waiting for ${pool.queue.length + pool.inflight()} image(s) to be extracted…`;
        await pool.drained();
      }
      set = trainingSet();
      start = () => session.train(set, cfg);
    } else {
      set = await imageSet();
      if (blocks) {
        const plan = await refreshPlan();
        if (plan && !plan.fits) throw new Error(plan.error);
      }
      start = () => session.trainImages(set, cfg, blocks);
    }
  } catch (err) {
    $('train-status').textContent = '';
    updateButtons();
    showError(err.message);
    return;
  }
  stopPreview();
  lastEpochEvent = null;
  const running = start();
  session.plot.start(); // the first training starts the plot frame if it is not up yet (main.js)
  updateButtons();
  $('train-status').textContent = cfg.mode !== 'deep' ? ui.t('app.starting', { n: set.n })
    : set.n > set.photos ? `training on ${set.photos} photos (${set.n} rows with augmentation)…` : 'training…';
  try {
    const res = await running;
    state.head = res.head;
    state.headInfo = res.info;
    state.report = { ...res.report, mode: cfg.mode, probeValAcc: res.probeValAcc };
    state.rowIds = set.ids;
    state.curves = session.plot.snapshot();
    const secs = (res.ms / 1000).toFixed(1);
    const probe = blocks ? ` · ${ui.t('app.probeSame', { acc: (100 * res.probeValAcc).toFixed(1) })}` : '';
    $('train-status').textContent = `${res.report.stopped ? 'stopped' : 'done'} in ${secs} s · val acc ${(100 * res.report.valAcc).toFixed(1)}%${probe}`;
    showReport();
    saveMeta();
    $('probs').replaceChildren();
    $('preview-status').textContent = blocks ? ui.t('app.readyFinetuned', { n: blocks }) : 'Head ready: try the webcam or an image.';
  } catch (err) {
    $('train-status').textContent = 'failed';
    showError(`Training failed: ${err.message}`);
  } finally {
    updateButtons();
    pool.pump();
  }
}

session.onProgress = (events) => {
  for (const ev of events) if (ev.kind === 'epoch' || ev.kind === 'trial') lastEpochEvent = ev;
  trainStatus();
};

export function trainStatus() {
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
}

export function updateButtons() {
  const t = state.training;
  $('train-btn').disabled = t;
  $('pause-btn').disabled = !t;
  $('stop-btn').disabled = !t;
  $('pause-btn').textContent = state.paused ? 'Resume' : 'Pause';
  $('export-head').disabled = !state.head || t;
  $('export-tfjs').disabled = $('export-onnx').disabled = !state.head || t;
  $('share-head').disabled = !state.head || t;
  $('backbone').disabled = t;
  $('load-demo').disabled = t;
  const f = $('settings').elements;
  for (const k of ['mode', 'ftEpochs', 'ftLr', 'val', 'seed']) f[k].disabled = t;
}

// ---- evaluation -----------------------------------------------------------------------------

export function showReport() {
  const r = state.report;
  if (!r) { $('eval').hidden = true; return; }
  $('eval').hidden = false;
  const how = r.mode && r.mode !== 'deep' ? ` · ${ui.t(`app.modeShort.${r.mode}`)}` : '';
  const probe = r.probeValAcc !== undefined && r.mode && MODES[r.mode] ? ` (${ui.t('app.probeSame', { acc: (100 * r.probeValAcc).toFixed(1) })})` : '';
  $('eval-acc').textContent = `${(100 * r.valAcc).toFixed(1)}% validation accuracy${how}${probe}`;
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

export let previewing = false;

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
  const c = session.square(source);
  const shown = $('preview-canvas');
  shown.width = shown.height = c.width;
  shown.getContext('2d').drawImage(c, 0, 0);
  const t0 = performance.now();
  const probs = await session.predict(c);
  drawProbs(probs, state.headInfo.labels);
  $('preview-status').textContent = `predicted in ${Math.round(performance.now() - t0)} ms`;
}

export async function startPreview() {
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

export function stopPreview() {
  previewing = false;
  $('preview-cam').textContent = 'Live webcam';
}

export async function predictFile(file) {
  stopPreview();
  try {
    const bmp = await decodeBlob(file, file.name);
    try { await predictFrom(bmp); } finally { bmp.close(); }
  } catch (err) { showError(err.message); }
}