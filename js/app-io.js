// The app's files and links: the backbone choice, head and project export and import, the
// share link (js/share.js, when the Worker serves the site) and clearing the project.

import { $, state, session, DEFAULT_SETTINGS, newId, chip } from './app.js';
import { saveMeta, saveSamples, clearStored } from './app-store.js';
import { pool, render, queueExtract } from './app-samples.js';
import { showReport, writeSettings, updateButtons } from './app-train.js';
import { encodeProject, decodeProject, download } from './project.js';
import { shareHead, forgetShareLink, fetchSharedHead, fetchSharedMeta } from './share.js';

function describeBackbone(b) {
  const mb = b.bytes ? ` · ${(b.bytes / 1e6).toFixed(1)} MB` : '';
  return `${b.dim}-d features from ${b.tap || 'its feature layer'}, input ${b.inputSize}×${b.inputSize}${mb}. ${b.provenance || ''} Licence: ${b.licence || 'see the package'}.`;
}

export async function selectBackbone(id) {
  const b = session.find(id);
  $('backbone').value = id;
  $('backbone-info').textContent = describeBackbone(b);
  const changed = state.backboneId && state.backboneId !== id;
  state.backboneId = id;
  saveMeta();
  chip('chip-worker', `trainer: loading ${b.name || id}`);
  try {
    await session.loadBackbone(id);
    const { kernels } = await session.trainer.ready;
    chip('chip-worker', `trainer: ${b.name || id} ready · ${kernels === 'simd128' ? 'SIMD128' : 'scalar'}`, 'ok');
  } catch (err) {
    chip('chip-worker', 'trainer: backbone failed', 'bad');
    throw new Error(`Loading backbone ${id} failed: ${err.message}`);
  }
  if (changed && state.head && state.headInfo && state.headInfo.backbone !== id) {
    $('preview-status').textContent = `The head was trained on backbone ${state.headInfo.backbone}: train again for ${id}.`;
  }
  queueExtract([...state.samples.keys()]);
}

export function ioStatus(t) { $('io-status').textContent = t; }

export function safeName(s) { return (s || 'finetuner').replace(/[^\w.-]+/g, '_'); }

export async function exportHead() {
  const bytes = await session.trainer.exportHead();
  download(new Blob([bytes], { type: 'application/octet-stream' }), `${safeName(state.headInfo.labels.join('-').slice(0, 40))}.safetensors`);
  ioStatus(`head exported (${bytes.byteLength} bytes)`);
}

// shareLink posts the head to the Worker's API (only shown when the page is served by it) and
// shows the link that opens it for live testing.
export async function shareLink() {
  const bytes = await session.trainer.exportHead();
  const { url } = await shareHead(bytes);
  const a = document.createElement('a');
  a.href = url;
  a.textContent = url;
  $('io-status').replaceChildren('share link: ', a);
  try { await navigator.clipboard.writeText(url); $('io-status').append(' (copied)'); } catch { /* no clipboard permission: the link is on screen */ }
}

// openSharedHead loads the head of a /?head=<id> link, switching to its backbone first.
export async function openSharedHead(id) {
  const meta = await fetchSharedMeta(id);
  if (meta.backbone && meta.backbone !== state.backboneId && state.backbones.some((b) => b.id === meta.backbone)) {
    await selectBackbone(meta.backbone);
  }
  const bytes = await fetchSharedHead(id);
  await importHead(new File([bytes], `shared-${id.slice(0, 8)}.safetensors`));
  forgetShareLink();
}

export async function importHead(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  const info = await session.trainer.importHead(bytes);
  if (info.backbone && state.backboneId && info.backbone !== state.backboneId) {
    throw new Error(`${file.name} was trained on backbone "${info.backbone}", but "${state.backboneId}" is selected: choose that backbone first.`);
  }
  // The trainer has checked the feature size against the backbone (or, for a mid-layer or
  // fine-tuned head, against its tap or its layers) and refused a head that does not fit.
  state.head = bytes;
  state.headInfo = info;
  state.report = null;
  showReport();
  saveMeta();
  updateButtons();
  ioStatus(`head imported: ${info.labels.length} classes (${info.labels.join(', ')})`);
}

export async function exportProject() {
  const blob = encodeProject({
    classes: state.classes, settings: state.settings,
    backbone: { id: state.backboneId, dim: state.backbone ? state.backbone.dim : 0 },
    samples: [...state.samples.values()], head: state.head, report: state.report, curves: state.curves,
  }, $('export-raw').checked);
  download(blob, 'finetuner.ftproj');
  ioStatus(`project exported (${(blob.size / 1e6).toFixed(2)} MB)`);
}

export async function importProject(file) {
  const p = await decodeProject(file);
  if (!state.backbones.some((b) => b.id === p.backbone.id)) {
    throw new Error(`${file.name} uses backbone "${p.backbone.id}", which this build does not have.`);
  }
  const b = session.find(p.backbone.id);
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
    const info = await session.trainer.importHead(p.head);
    state.head = p.head;
    state.headInfo = info;
  }
  state.report = p.report;
  state.curves = p.curves;
  showReport();
  showCurves();
  saveMeta();
  render();
  updateButtons();
  ioStatus(`project imported: ${p.classes.length} classes, ${p.samples.length} samples`);
}

export async function clearProject() {
  for (const s of state.samples.values()) URL.revokeObjectURL(s.thumbURL);
  state.samples.clear();
  state.classes = [];
  state.head = state.headInfo = state.report = state.curves = null;
  state.rowIds = [];
  pool.clear();
  await clearStored();
  showReport();
  $('probs').replaceChildren();
  session.plot.reset([], 0);
}

/** showCurves puts the saved run on the plot: its curves, or its evaluation alone. */
export function showCurves() {
  if (state.curves) session.plot.restore(state.curves);
  else if (state.report) session.plot.report(state.report);
}
