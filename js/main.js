// The app's page (index.html): wires the controls to the app's modules and starts it. The
// project state and the session live in app.js; classes, samples and features in app-samples.js;
// training, evaluation and prediction in app-train.js; files and links in app-io.js; autosave in
// app-store.js. Heavy work runs in the trainer's Web Worker (js/trainer.js); the curves are drawn
// by the Ebiten frame (js/plot.js).

import { $, state, session, showError, fatal, chip, ui } from './app.js';
import { loadI18n, applyI18n } from './i18n.js';
import { restore, saveMeta } from './app-store.js';
import { render, addClass, camera, startCamera, stopCamera, queueExtract, dropAnywhere, loadDemo, pool } from './app-samples.js';
import { readSettings, writeSettings, showMode, refreshPlan, train, trainStatus, updateButtons, showReport, startPreview, stopPreview, predictFile, previewing } from './app-train.js';
import { selectBackbone, exportHead, shareLink, exportProject, importHead, importProject, clearProject, openSharedHead, ioStatus, showCurves, safeName } from './app-io.js';
import { registerSite } from './offline.js';
import { isImageFile } from './images.js';
import { apiAvailable, sharedHeadId } from './share.js';
import { wireExportButtons } from './export-model.js';

function on(id, ev, fn) {
  $(id).addEventListener(ev, async (e) => {
    try { await fn(e); } catch (err) { showError(err.message); }
  });
}

function wire() {
  on('add-class', 'click', () => addClass());
  on('load-demo', 'click', async () => { await loadDemo(); await refreshPlan(); });
  on('clear-project', 'click', async () => {
    if (!confirm('Delete every class, sample and the trained head?')) return;
    await clearProject();
    addClass(); addClass();
  });
  on('cam-toggle', 'click', () => (camera.on ? stopCamera() : startCamera()));
  on('cam-select', 'change', (e) => startCamera(e.target.value));
  on('backbone', 'change', async (e) => { await selectBackbone(e.target.value); await refreshPlan(); });
  on('settings', 'change', () => {
    const before = state.settings.augment;
    state.settings = { ...state.settings, ...readSettings() };
    $('manual').disabled = state.settings.auto;
    showMode();
    saveMeta();
    if (state.settings.augment !== before) queueExtract([...state.samples.keys()]);
  });
  on('train-btn', 'click', train);
  on('pause-btn', 'click', async () => {
    const done = session.setPaused(!session.paused);
    updateButtons();
    trainStatus();
    await done;
  });
  on('stop-btn', 'click', () => session.stop());
  on('log-scale', 'change', (e) => session.plot.setOptions({ logScale: e.target.checked }));
  on('smooth', 'input', (e) => session.plot.setOptions({ smooth: Number(e.target.value) }));
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
  wireExportButtons(session, () => ({ backboneId: state.backboneId, name: safeName(state.headInfo.labels.join('-').slice(0, 40)) }), ioStatus, showError);
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
    await registerSite(session.base);
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
  session.trainer.onFatal = (err) => { chip('chip-worker', 'trainer: failed', 'bad'); fatal(err.message); };
  session.plot.onError = (e) => showError(`Plot: ${e}`);
  session.plot.onOptions = (o) => { if ('logScale' in o) $('log-scale').checked = o.logScale; };
  wire();
  // The mode texts come from public/i18n (the page's language, or ?lang=); English if that fails.
  try {
    const i18n = await loadI18n(new URLSearchParams(location.search).get('lang') || navigator.language);
    ui.t = i18n.t;
    applyI18n($('settings'), i18n);
  } catch (err) { showError(err.message); }
  const restored = await restore();
  if (!restored || !state.classes.length) { addClass(); addClass(); }
  writeSettings();
  render();
  try {
    await session.manifest();
    $('backbone').replaceChildren(...state.backbones.map((b) => new Option(b.name || b.id, b.id)));
    const id = state.backbones.some((b) => b.id === state.backboneId) ? state.backboneId : state.backbones[0].id;
    await session.trainer.ready;
    await selectBackbone(id);
    refreshPlan().catch((err) => showError(err.message));
    if (state.head) {
      try {
        state.headInfo = await session.trainer.importHead(state.head);
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
  showCurves();
  showReport();
  updateButtons();
  document.body.dataset.ready = '1';
  // The offline precache (every file: both backbones, the demo set) runs in the service worker's
  // own thread, from now on: never before the page is usable.
  registerServiceWorker();
  if (state.curves || state.report) session.plot.start();
  else waitQuietThenStartPlot();
}

// The plot frame (a 12 MB Ebiten module compiled on this thread) starts once the page is usable
// and has something to draw or nothing else to do: at once when the project has curves, else at
// the first training (app-train.js) or after 5 s without images being decoded or extracted
// (compiling it on this thread while the demo set loads slows the decoding that feeds the
// extraction workers). The plot bridge keeps the history until its frame is up.
function waitQuietThenStartPlot() {
  let quiet = 0;
  const tick = () => {
    if ($('plot').getAttribute('src')) return;
    quiet = pool.queue.length || pool.inflight() ? 0 : quiet + 1;
    if (quiet >= 10) session.plot.start(); else setTimeout(tick, 500);
  };
  setTimeout(tick, 500);
}

main();
