// The app's shared state and page helpers: the project (classes, samples, settings, head), the
// session (js/session.js: trainer, plot, backbone, training) and error and status reporting. The
// app's modules (app-store, app-samples, app-train, app-io, main) all work on this one state.

import { Session } from './session.js';

export const $ = (id) => document.getElementById(id);
export const MAX_CLASSES = 100;
export const MIN_CLASSES = 2;

// ---- state ----------------------------------------------------------------------------------

export const DEFAULT_SETTINGS = { mode: 'deep', auto: true, head: 'linear', hidden: 100, epochs: 50, batch: 16, lr: 0.001, val: 0.2, seed: 1, early: true, augment: 'none', ftEpochs: 10, ftLr: 0.0001 };
// MODES: what a run trains. deep: a head on the loaded backbone's features (extracted as photos
// arrive); mid: a head on a mid-layer tap's features, finetune1/2: the last 1 or 2 blocks with a
// linear head (both from the photos, in the trainer when the run starts).
export const MODES = { deep: 0, mid: 0, finetune1: 1, finetune2: 2 };

// ui holds the page's translated texts (js/i18n.js; main.js loads them): t(key, vars).
export const ui = { t: (key) => key };
export const AUGMENTS = { none: 1, flip: 2, 'flip,crops': 7 }; // setting -> views per photo

export const session = new Session($('plot'));

export const state = {
  classes: [],            // [{id, name}], in label order
  samples: new Map(),     // id -> {id, classId, thumb, thumbURL, src, feat, featKey, aug, augKey, rgba}
  settings: { ...DEFAULT_SETTINGS },
  backboneId: '',         // the chosen backbone (loaded or loading)
  get backbones() { return session.backbones; },  // the manifest's entries
  get backbone() { return session.backbone; },    // the loaded one: {id, dim, inputSize, ...}
  get training() { return session.training; },
  get paused() { return session.paused; },
  head: null,             // Uint8Array of the trained/imported .safetensors
  headInfo: null,         // {labels, backbone, dim}
  report: null,
  curves: null,           // the plot's history of the last run (Plot.snapshot)
  rowIds: [],             // sample id of each training row of the last run (for the gallery)
  nextId: 1,
};

// Exposed for debugging in the console and for the browser tests; the app never reads it.
window.finetuner = { state, plot: session.plot, trainer: session.trainer };

export function newId(prefix) { return `${prefix}${state.nextId++}`; }

export function samplesByClass() {
  const m = new Map(state.classes.map((c) => [c.id, []]));
  for (const s of state.samples.values()) if (m.has(s.classId)) m.get(s.classId).push(s);
  return m;
}

export function inputSize() { return (state.backbone && state.backbone.inputSize) || 224; }

// ---- errors and status ----------------------------------------------------------------------

export function showError(msg) {
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

export function fatal(msg) {
  const f = $('fatal');
  f.textContent = msg;
  f.hidden = false;
}

export function chip(id, text, cls) {
  const c = $(id);
  c.textContent = text;
  c.className = `chip ${cls || ''}`;
}

window.addEventListener('error', (e) => showError(`Unexpected error: ${e.message}`));
window.addEventListener('unhandledrejection', (e) => showError(`Unexpected error: ${e.reason && e.reason.message ? e.reason.message : e.reason}`));
