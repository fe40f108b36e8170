// One fine-tuning session, shared by the three pages: the trainer (js/trainer.js), the plot frame
// (js/plot.js), the backbone list and the loaded backbone, a training run from the settings to
// the report, and prediction. The app (main.js), the kiosk (kiosk.js) and the docs embed
// (embed-page.js) are views over it: each gathers its training rows and shows progress and
// results its own way. The app adds the extraction pool (js/extract-pool.js) and its project
// store (js/app-store.js).

import { Trainer, trainRequest, finetuneRequest } from './trainer.js';
import { Plot } from './plot.js';
import { decodeEvents } from './events.js';
import { drawSquare } from './images.js';

export class Session {
  /** plotFrame is the <iframe> of public/plot.html; base the URL of public/. */
  constructor(plotFrame, base = new URL('../public/', import.meta.url)) {
    this.base = base;
    this.trainer = new Trainer();
    this.plot = new Plot(plotFrame);
    this.backbones = [];   // the manifest's entries
    this.backbone = null;  // the loaded one: its manifest entry and what the trainer said of it
    this.training = false;
    this.paused = false;
    this.onProgress = null; // called with the decoded events of each batch while a run goes on
    this.trainer.onEvents = (batch) => {
      if (!this.training) return; // a late batch of a run that was stopped and reset
      this.plot.events(batch);
      if (this.onProgress) this.onProgress(decodeEvents(batch));
    };
  }

  /** manifest reads the list of built backbones (public/models/manifest.json). */
  async manifest() {
    let r;
    try { r = await fetch(new URL('models/manifest.json', this.base)); } catch (err) { throw new Error(`Cannot read the backbone list: ${err.message}`); }
    if (!r.ok) throw new Error('No backbones are built (public/models/manifest.json is missing): run ./build.sh web.');
    const m = await r.json();
    const list = Array.isArray(m) ? m : m.models || m.backbones || [];
    if (!list.length) throw new Error('public/models/manifest.json lists no backbones.');
    this.backbones = list;
    return list;
  }

  /** find returns the manifest entry of backbone id, or throws naming the ones there are. */
  find(id, what = 'backbone') {
    const b = this.backbones.find((x) => x.id === id);
    if (!b) throw new Error(`${what} "${id}" is not among the built ones (${this.backbones.map((x) => x.id).join(', ')})`);
    return b;
  }

  /**
   * loadBackbone loads backbone id into the trainer (tap and pool move its feature tap, see
   * Trainer.loadBackbone) and resolves to its entry merged with the trainer's answer.
   */
  async loadBackbone(id, opts) {
    if (!this.backbones.length) await this.manifest();
    const b = this.find(id);
    this.backbone = null;
    const info = await this.trainer.loadBackbone(b, opts);
    this.backbone = { ...b, ...info };
    return this.backbone;
  }

  /**
   * train fits a head on set = {x, y, n, d, labels, group?} with settings (see trainRequest):
   * the plot starts a new run, shows the curves as they come and, unless report is false, the
   * evaluation at the end. features names the backbone and tap the rows came from (the loaded
   * backbone by default). Resolves to the trainer's {head, info, report} with ms, the run's time.
   */
  async train(set, settings, { report = true, features = this.backbone || {} } = {}) {
    if (this.training) throw new Error('A training run is already in progress.');
    const request = trainRequest(settings, features);
    this.training = true;
    this.paused = false;
    this.plot.reset(set.labels, settings.auto ? 0 : settings.epochs);
    const t0 = performance.now();
    try {
      const res = await this.trainer.train(set, request);
      if (report) this.plot.report(res.report);
      res.ms = performance.now() - t0;
      return res;
    } finally {
      this.training = false;
      this.paused = false;
    }
  }

  /**
   * trainImages runs a training that starts from the photos, in the trainer: with blocks > 0 a
   * fine-tune of the last blocks of the loaded backbone with a linear head, else a head on its
   * mid-layer features. set = {images, size, y, labels} (see Trainer.finetune); the curves and the
   * evaluation show as for train. Resolves to the trainer's answer with ms.
   */
  async trainImages(set, settings, blocks) {
    if (this.training) throw new Error('A training run is already in progress.');
    if (!this.backbone) throw new Error('The backbone is not loaded yet.');
    const request = blocks ? finetuneRequest(settings, this.backbone, blocks) : trainRequest(settings, this.backbone);
    this.training = true;
    this.paused = false;
    this.plot.reset(set.labels, blocks ? settings.ftEpochs : settings.auto ? 0 : settings.epochs);
    const t0 = performance.now();
    try {
      const res = await (blocks ? this.trainer.finetune(set, request) : this.trainer.trainMid(set, request));
      this.plot.report(res.report);
      res.ms = performance.now() - t0;
      return res;
    } finally {
      this.training = false;
      this.paused = false;
    }
  }

  /** setPaused pauses or resumes the run within a step. */
  async setPaused(paused) {
    this.paused = paused;
    await (paused ? this.trainer.pause() : this.trainer.resume());
  }

  /** stop ends the run within a step; train resolves with the best head so far. */
  stop() { return this.trainer.stop(); }

  /** square draws source (a video, image or bitmap) centre-cropped at the backbone's input size. */
  square(source) {
    if (!this.backbone) throw new Error('The backbone is not loaded yet.');
    return drawSquare(source, this.backbone.inputSize);
  }

  /** predict gives the class probabilities of source, or of a square from square(). */
  predict(source) {
    if (!this.backbone) throw new Error('The backbone is not loaded yet.');
    const size = this.backbone.inputSize;
    const c = source.getContext && source.width === size && source.height === size ? source : this.square(source);
    return this.trainer.predict(c.getContext('2d').getImageData(0, 0, size, size).data.buffer, size);
  }
}
