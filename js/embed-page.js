// The page inside a docs embed (public/embed.html, usually created by js/embed.js). It trains a
// head on a preset feature set (the demo set's features, precomputed at build time by
// tools/embedfeatures, or a features .npy + labels file on the same origin), so the curve starts
// moving as soon as the trainer wasm is up, then loads the backbone at the same tap so a reader
// can try their own image.
//
// URL parameters: preset=demo | features=URL&labels=URL, backbone=ID, level=deep|mid or
// tap=NODE (with features=), head=linear|mlp|auto, epochs=N, lr=X, autoplay=1, theme=light|dark,
// lang=en|ja, id=NAME (echoed in every message, set by embed.js).
//
// postMessage API (to the parent window; messages are objects with source: "finetuner" and id):
//   events  {type: "ready", classes, rows, dim, level, tap} · {type: "epoch", epoch, epochs,
//           trainLoss, valLoss, valAcc} · {type: "done", valAcc, trainAcc, epochs, ms, params} ·
//           {type: "prediction", label, probs: {class: p}} · {type: "reset"} (the run and its plot
//           were cleared) · {type: "error", error}
//   commands {type: "train"} · {type: "reset"} · {type: "setParams", params: {head, epochs, lr}} ·
//           {type: "predict", url: a same-origin image URL}
// Events go out with target origin "*": a docs page may live on any origin (or file://), and the
// payload is public progress data. Commands are accepted only from the parent window.

import { Session } from './session.js';
import { FallbackCurve } from './fallback-curve.js';
import { decodeBlob } from './images.js';
import { loadI18n, applyI18n, pickLanguage } from './i18n.js';

const $ = (id) => document.getElementById(id);
const q = new URLSearchParams(location.search);
const id = q.get('id') || '';
const state = { data: null, params: {}, training: false, trained: false, backbone: null, report: null, firstEpochMs: null, timing: {} };
let i18n, tuner, plot, fallback; // tuner: the Session (trainer, plot frame, backbone)
// plotShown: the Ebiten plot has drawn a run; until then the fallback canvas draws the epochs.
let plotShown = false;
let backboneLoading = null;
// Commands from the host wait for the data and the trainer: embed.js may send them as soon as
// the frame's load event fires, before either is ready.
let markReady;
const whenReady = new Promise((r) => { markReady = r; });

function post(type, body = {}) {
  if (window.parent !== window) window.parent.postMessage({ source: 'finetuner', id, type, ...body }, '*');
}

function showError(msg) {
  const p = document.createElement('p');
  p.textContent = i18n ? i18n.t('embed.error', { error: msg }) : msg;
  $('errors').replaceChildren(p);
  post('error', { error: msg });
}

function status(text) { $('status').textContent = text; }

// ---- data -------------------------------------------------------------------------------------

function sameOrigin(u, what) {
  const url = new URL(u, location.href);
  if (url.origin !== location.origin) throw new Error(`${what} ${url.href} is not on this site; only same-origin files are read`);
  return url;
}

/** parseNPY reads a 2-D float32 or float64 NumPy array, C order, into {x: Float32Array, n, d}. */
export function parseNPY(buf, name) {
  const b = new Uint8Array(buf);
  const fail = (m) => { throw new Error(`${name}: not a usable .npy file (${m})`); };
  if (b.length < 10 || b[0] !== 0x93 || String.fromCharCode(...b.subarray(1, 6)) !== 'NUMPY') fail('no NUMPY magic');
  const major = b[6];
  const dv = new DataView(buf);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const start = (major === 1 ? 10 : 12) + hlen;
  if (start > b.length) fail('header runs past the end');
  const h = new TextDecoder().decode(b.subarray(major === 1 ? 10 : 12, start));
  const descr = /'descr':\s*'([^']+)'/.exec(h);
  const shape = /'shape':\s*\((\d+),\s*(\d+)\)/.exec(h);
  if (!descr || !shape) fail(`header ${h.trim()} lacks a dtype or a 2-D shape`);
  if (/'fortran_order':\s*True/.test(h)) fail('Fortran order');
  const n = Number(shape[1]); const d = Number(shape[2]);
  const width = { '<f4': 4, '<f8': 8 }[descr[1]];
  if (!width) fail(`dtype ${descr[1]}; want <f4 or <f8`);
  if (b.length - start !== n * d * width) fail(`${b.length - start} data bytes for shape (${n}, ${d})`);
  const x = width === 4 ? new Float32Array(buf.slice(start)) : Float32Array.from(new Float64Array(buf.slice(start)));
  if (!x.every(Number.isFinite)) fail('NaN or infinity among the features');
  return { x, n, d };
}

async function fetchOK(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url.pathname}: HTTP ${r.status}`);
  return r;
}

/** loadData resolves the dataset parameters to {x, n, d, y, labels, backbone, tap, pool, level}. */
async function loadData() {
  let spec;
  if (q.has('features')) {
    const features = sameOrigin(q.get('features'), 'features');
    const labels = sameOrigin(q.get('labels') || features.pathname.replace(/\.npy$/, '.txt'), 'labels');
    spec = { features, labelsURL: labels, backbone: q.get('backbone') || 'centernet', tap: q.get('tap') || '', pool: q.get('pool') || 'mean', level: q.get('level') || (q.get('tap') ? 'mid' : 'deep') };
  } else {
    const preset = q.get('preset') || 'demo';
    if (preset !== 'demo') throw new Error(`unknown preset "${preset}" (demo, or pass features= and labels=)`);
    const base = new URL('build/features/', location.href);
    let index;
    try { index = await (await fetchOK(new URL('index.json', base))).json(); } catch (err) {
      throw new Error(`the demo features are not built (${err.message}): run ./build.sh test-kiosk or go run ./tools/embedfeatures`);
    }
    const backbone = q.get('backbone') || 'centernet';
    const level = q.get('level') || 'deep';
    const p = (index.presets || []).find((x) => x.backbone === backbone && x.level === level);
    if (!p) throw new Error(`no precomputed demo features for backbone "${backbone}" at level "${level}"`);
    spec = { features: new URL(p.features, base), labelsURL: new URL(p.labels, base), backbone, tap: p.tap, pool: p.pool, level };
  }
  const [fb, lb] = await Promise.all([fetchOK(spec.features).then((r) => r.arrayBuffer()), fetchOK(spec.labelsURL).then((r) => r.text())]);
  const { x, n, d } = parseNPY(fb, spec.features.pathname);
  const rows = lb.split('\n').map((s) => s.trim()).filter((s, i, a) => s || i < a.length - 1);
  if (rows.length !== n) throw new Error(`${spec.labelsURL.pathname} has ${rows.length} labels for ${n} feature rows`);
  const labels = [...new Set(rows)];
  if (labels.length < 2) throw new Error(`${spec.labelsURL.pathname}: at least two classes are needed`);
  const y = Int32Array.from(rows, (r) => labels.indexOf(r));
  return { x, n, d, y, labels, ...spec };
}

// ---- training ---------------------------------------------------------------------------------

function readParams() {
  const epochs = Number($('epochs').value);
  return { head: $('head').value, epochs: Number.isInteger(epochs) && epochs >= 1 && epochs <= 500 ? epochs : 40, lr: state.params.lr };
}

function setParams(p) {
  if (!p || typeof p !== 'object') throw new Error('setParams needs an object');
  if (p.head !== undefined) {
    if (!['linear', 'mlp', 'auto'].includes(p.head)) throw new Error(`head "${p.head}": want linear, mlp or auto`);
    $('head').value = p.head;
  }
  if (p.epochs !== undefined) {
    if (!(Number.isInteger(p.epochs) && p.epochs >= 1 && p.epochs <= 500)) throw new Error(`epochs ${p.epochs}: want a whole number from 1 to 500`);
    $('epochs').value = p.epochs;
  }
  if (p.lr !== undefined) {
    if (!(Number.isFinite(p.lr) && p.lr > 0 && p.lr < 10)) throw new Error(`lr ${p.lr}: want a number between 0 and 10`);
    state.params.lr = p.lr;
  }
  state.params = { ...state.params, ...readParams() };
}

async function train() {
  if (state.training || !state.data) return;
  const p = readParams();
  const { x, y, n, d, labels } = state.data;
  const settings = {
    auto: p.head === 'auto', head: p.head === 'mlp' ? 'mlp' : 'linear', hidden: 32, epochs: p.epochs, batch: 16,
    lr: p.lr || (p.head === 'mlp' ? 0.003 : 0.01), val: 0.2, seed: 1, early: false,
  };
  state.training = true;
  $('train').disabled = true;
  // tuner.train resets the plot; the fallback canvas starts the same run until the plot is up.
  if (!plotShown) fallback.reset(settings.auto ? 0 : settings.epochs);
  if (!state.timing.train) state.timing.train = Math.round(performance.now());
  try {
    const res = await tuner.train({ x: x.slice(), y: y.slice(), n, d, labels }, settings, { features: { id: state.data.backbone, tap: state.data.tap } });
    state.trained = true;
    state.report = res.report;
    const ms = Math.round(res.ms);
    status(i18n.t('embed.done', { acc: `${(100 * res.report.valAcc).toFixed(1)}%` }));
    post('done', { valAcc: res.report.valAcc, trainAcc: res.report.trainAcc, epochs: res.report.epochs, ms, params: p });
  } catch (err) {
    showError(`training failed: ${err.message}`);
  } finally {
    state.training = false;
    $('train').disabled = false;
    startPlot();
  }
  loadBackbone();
}

function onEvents(events) {
  for (const e of events) {
    if (e.kind !== 'epoch' && e.kind !== 'trial') continue;
    if (state.firstEpochMs === null) {
      state.firstEpochMs = Math.round(performance.now());
      state.timing.firstEpochInWorker = Math.round(e.elapsedMs); // time since the run started, by the trainer's clock
    }
    status(i18n.t('embed.training', { epoch: e.epoch, epochs: e.epochs || '?' }));
    post('epoch', { epoch: e.epoch, epochs: e.epochs, trainLoss: e.trainLoss, valLoss: e.hasVal ? e.valLoss : null, valAcc: e.hasVal ? e.valAcc : null });
  }
  if (!plotShown) fallback.events(events);
}

/**
 * startPlot loads the Ebiten plot frame. It waits for the fallback canvas to draw the first epochs
 * (or for the embed to be ready without autoplay): compiling and starting the 12 MB module takes
 * the page's thread for a few hundred ms on a first visit, which would hold back the first curve.
 */
function startPlot() { plot.start(); }

async function reset() {
  if (state.training) await tuner.stop();
  state.trained = false;
  state.report = null;
  plot.reset(state.data ? state.data.labels : [], 0);
  if (!plotShown) fallback.reset(0);
  $('pred').hidden = true;
  $('pred').replaceChildren();
  readyStatus();
  // The host's own caption of the last run must be cleared with the plot.
  post('reset');
}

// ---- the reader's own image -------------------------------------------------------------------

/** loadBackbone loads the backbone at the preset's tap, once, after the first training. */
function loadBackbone() {
  if (!backboneLoading) {
    backboneLoading = (async () => {
      const tap = state.data.level === 'deep' && !q.get('tap') ? '' : state.data.tap;
      const bb = await tuner.loadBackbone(state.data.backbone, { tap, pool: state.data.pool });
      if (bb.dim !== state.data.d) throw new Error(`the backbone at tap ${bb.tap} gives ${bb.dim}-d features but the preset has ${state.data.d}`);
      state.backbone = bb;
      return bb;
    })();
    backboneLoading.catch((err) => { backboneLoading = null; showError(err.message); });
  }
  return backboneLoading;
}

async function predictImage(blob, name) {
  if (!state.trained) throw new Error(i18n.t('embed.needTrain'));
  status(i18n.t('embed.loadingBackbone'));
  await loadBackbone();
  const bmp = await decodeBlob(blob, name);
  let pending;
  try { pending = tuner.predict(bmp); } finally { bmp.close(); }
  const probs = Array.from(await pending);
  const labels = state.data.labels;
  const best = probs.indexOf(Math.max(...probs));
  const box = $('pred');
  const img = document.createElement('img');
  img.src = URL.createObjectURL(blob);
  img.onload = () => URL.revokeObjectURL(img.src);
  img.alt = name;
  const bars = document.createElement('div');
  bars.className = 'bars';
  for (const [i, l] of labels.entries()) {
    const lab = document.createElement('span'); lab.textContent = l;
    const track = document.createElement('div'); track.className = 'track';
    const fill = document.createElement('div'); fill.className = 'fill'; fill.style.width = `${(100 * probs[i]).toFixed(1)}%`;
    track.append(fill);
    const pct = document.createElement('span'); pct.textContent = `${Math.round(100 * probs[i])}%`;
    bars.append(lab, track, pct);
  }
  box.replaceChildren(img, bars);
  box.hidden = false;
  status(i18n.t('embed.prediction', { label: labels[best], p: `${Math.round(100 * probs[best])}%` }));
  post('prediction', { label: labels[best], probs: Object.fromEntries(labels.map((l, i) => [l, probs[i]])), name });
}

// ---- commands from the host page --------------------------------------------------------------

async function command(m) {
  await whenReady;
  switch (m.type) {
    case 'train': if (m.params) setParams(m.params); return train();
    case 'reset': return reset();
    case 'setParams': return setParams(m.params);
    case 'predict': {
      const url = sameOrigin(m.url, 'image');
      return predictImage(await (await fetchOK(url)).blob(), url.pathname.split('/').pop());
    }
    default: throw new Error(`unknown command "${m.type}" (train, reset, setParams, predict)`);
  }
}

function readyStatus() {
  const d = state.data;
  status(i18n.t('embed.ready', { n: d.n, c: d.labels.length, d: d.d, level: i18n.t(d.level === 'mid' ? 'embed.levelMid' : 'embed.levelDeep') }));
}

async function main() {
  // The worker starts first: booting the trainer wasm is the longest step before the first epoch.
  tuner = new Session($('plot'));
  tuner.onProgress = onEvents;
  tuner.trainer.onFatal = (err) => showError(err.message);
  const mark = (k) => { state.timing[k] = Math.round(performance.now()); };
  tuner.trainer.ready.then(() => mark('trainer'), () => {});
  plot = tuner.plot;
  plot.onError = (e) => showError(`plot: ${e}`);
  plot.onReady = () => { if (!state.timing.plotReady) mark('plotReady'); };
  // The moment a reader sees the run: the plot has drawn its first points.
  // m.at is the frame's clock (ms since the epoch), so a page thread busy with the plot's start
  // does not delay the mark.
  plot.onDrawn = (m) => {
    if (m.points > 0 && !state.timing.firstDrawn) state.timing.firstDrawn = Math.round(m.at ? m.at - performance.timeOrigin : performance.now());
    if (m.points > 0 && !plotShown) {
      plotShown = true;
      fallback.hide();
    }
    if (m.points > 0) noteCurve(state.timing.firstDrawn);
  };
  // curve is when the reader first sees the run: the fallback's first points, or the plot's.
  const noteCurve = (t) => { if (!state.timing.curve || t < state.timing.curve) state.timing.curve = Math.round(t); };
  const theme = q.get('theme') === 'dark' ? 'dark' : 'light';
  document.documentElement.dataset.theme = theme;
  fallback = new FallbackCurve($('fallback'), theme);
  fallback.onDrawn = (t) => {
    state.timing.fallbackDrawn = Math.round(t);
    noteCurve(t);
    startPlot();
  };
  plot.setOptions({ theme });
  const data = loadData().then((d) => { mark('data'); return d; });
  data.catch(() => {});
  i18n = await loadI18n(pickLanguage(q.get('lang'), navigator.language));
  applyI18n(document, i18n);
  mark('text');
  plot.setOptions({ lang: i18n.lang, strings: i18n.prefixed('plot.') });

  window.addEventListener('message', (e) => {
    if (e.source !== window.parent || window.parent === window || !e.data || e.data.source !== 'finetuner-host') return;
    command(e.data).catch((err) => showError(err.message));
  });
  $('train').addEventListener('click', () => train());
  $('reset').addEventListener('click', () => reset().catch((err) => showError(err.message)));
  $('head').addEventListener('change', () => setParams({}));
  $('epochs').addEventListener('change', () => setParams({}));
  $('file').addEventListener('change', (e) => {
    const f = e.target.files[0];
    e.target.value = '';
    if (f) predictImage(f, f.name).catch((err) => showError(err.message));
  });
  document.addEventListener('dragover', (e) => { e.preventDefault(); document.body.classList.add('drag'); });
  document.addEventListener('dragleave', () => document.body.classList.remove('drag'));
  document.addEventListener('drop', (e) => {
    e.preventDefault();
    document.body.classList.remove('drag');
    const f = [...(e.dataTransfer.files || [])][0];
    if (f) predictImage(f, f.name).catch((err) => showError(err.message));
  });

  if (q.has('head')) setParams({ head: q.get('head') });
  if (q.has('epochs')) setParams({ epochs: Number(q.get('epochs')) });
  if (q.has('lr')) setParams({ lr: Number(q.get('lr')) });
  state.params = { ...state.params, ...readParams() };

  const [d] = await Promise.all([data, tuner.trainer.ready]);
  state.data = d;
  $('train').disabled = false;
  readyStatus();
  post('ready', { classes: d.labels, rows: d.n, dim: d.d, level: d.level, tap: d.tap, backbone: d.backbone, loadMs: Math.round(performance.now()) });
  document.body.dataset.ready = '1';
  markReady();
  if (q.get('autoplay') === '1' || q.get('autoplay') === 'true') await train();
  else startPlot();
}

// plot is exposed for the browser test, which switches the plot's view to check each panel's pixels.
window.finetunerEmbed = { state, command, get plot() { return plot; } };
main().catch((err) => showError(err.message));
