// The app's persistence: the project autosaves to IndexedDB (js/store.js), meta (classes,
// settings, head, report, curves) a moment after each change, samples as they arrive. A sample
// whose save fails (a full disk or quota) stays in memory and is saved with the next save that
// works, so freeing space loses nothing; the error shows once per outage.

import { Store, describeStorageError } from './store.js';
import { state, DEFAULT_SETTINGS, showError, chip } from './app.js';

let store = null; // the open Store, once restore has opened it
let metaTimer = 0;

// saveMeta saves the project's meta a moment after the last of a burst of changes; until the
// write is done the chip says so, and leaving the page writes at once (flushMeta).
export function saveMeta() {
  if (!store) return;
  clearTimeout(metaTimer);
  if (!storageDown) chip('chip-storage', 'saving…', '');
  metaTimer = setTimeout(writeMeta, 250);
}

async function writeMeta() {
  metaTimer = 0;
  try {
    await store.putMeta({
      version: 1, classes: state.classes, settings: state.settings, backboneId: state.backboneId,
      head: state.head, headInfo: state.headInfo, report: state.report, curves: state.curves, rowIds: state.rowIds, nextId: state.nextId,
    });
    storageOK();
  } catch (err) {
    storageFailed(err);
  }
}

// flushMeta starts a pending meta write now: a tab closed or reloaded within the debounce would
// otherwise lose the last change (a head just trained, a class just renamed).
function flushMeta() {
  if (!metaTimer) return;
  clearTimeout(metaTimer);
  writeMeta();
}
addEventListener('pagehide', flushMeta);
document.addEventListener('visibilitychange', () => { if (document.visibilityState === 'hidden') flushMeta(); });

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

export async function saveSamples(list) {
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

export async function removeStored(ids) {
  for (const id of ids) unsaved.delete(id);
  if (!store) return;
  try {
    await store.deleteSamples(ids);
    if (unsaved.size) saveSamples([]); // the space freed may be enough now
  } catch (err) { showError(describeStorageError(err)); }
}

export async function restore() {
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

/** clearStored wipes the saved project. */
export async function clearStored() {
  unsaved.clear();
  if (store) { try { await store.clear(); } catch (err) { showError(describeStorageError(err)); } }
}
