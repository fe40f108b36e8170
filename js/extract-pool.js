// The extraction pool: a queue of images waiting for features, shared by the trainer and up to
// `helpers` more trainer workers. The backbone is the slow part of adding images (about 0.2 s an
// image in wasm on one core), so a long queue is shared with helpers, each with its own copy of
// the backbone; the features are the same bits whichever worker computes them. Helpers start
// when the queue is long enough to repay their start (about a second) and stop after a minute
// without work, giving their memory back. A helper that fails is let go and not replaced (the
// next would likely fail too): its calls in flight fail at once and their images go back in the
// queue. The first worker is the session's trainer itself.

import { Trainer } from './trainer.js';

const HELPER_QUEUE = 8; // queued images that make helpers worth starting

export class ExtractPool {
  /**
   * trainer is the session's Trainer. The app supplies:
   *   key()        the loaded backbone's id, or '' while none is loaded;
   *   entry()      its manifest entry, for helpers to load;
   *   paused()     true while extraction must wait (a training run has the trainer);
   *   run(id, t)   extract image id on Trainer t and keep the result (false: nothing to do);
   *   onProgress() after each image; onError(err) for a failure that is not a helper's.
   */
  constructor(trainer, helpers, hooks) {
    this.helpers = helpers;
    this.hooks = hooks;
    this.queue = [];  // image ids waiting for features
    this.stats = { done: 0, total: 0, t0: 0 };
    const pool = this;
    this.workers = [{ t: trainer, busy: 0, done: 0, get key() { return pool.hooks.key(); } }];
    this.failed = 0;
    this.idle = 0;
    this.waiters = [];
  }

  /** add queues images (ids not already queued). */
  add(ids) {
    for (const id of ids) {
      if (this.queue.includes(id)) continue;
      this.queue.push(id);
      this.stats.total++;
    }
    if (this.queue.length && this.stats.t0 === 0) this.stats.t0 = performance.now();
    this.pump();
  }

  has(id) { return this.queue.includes(id); }

  /** clear forgets the queue (images in flight finish and are dropped by run's own checks). */
  clear() {
    this.queue.length = 0;
    this.stats = { done: 0, total: 0, t0: 0 };
  }

  /** inflight is the number of images the workers are extracting now. */
  inflight() { return this.workers.reduce((n, w) => n + w.busy, 0); }

  /** drained resolves once no image waits for features. */
  drained() {
    if (!this.queue.length && !this.inflight()) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** pump hands queued images to free workers; call it again when paused() turns false. */
  pump() {
    if (!this.queue.length && !this.inflight()) {
      const w = this.waiters;
      this.waiters = [];
      for (const r of w) r();
      this.stopHelpersLater();
    }
    const key = this.hooks.key();
    if (!key || this.hooks.paused()) return;
    this.startHelpers(key);
    while (this.queue.length) {
      // The least busy worker that has this backbone; two images each, so one is always in hand.
      let w = null;
      for (const x of this.workers) if (x.key === key && x.busy < 2 && (!w || x.busy < w.busy)) w = x;
      if (!w) break;
      const id = this.queue.shift();
      w.busy++;
      this.hooks.run(id, w.t).then((did) => { if (did !== false) w.done++; }, (err) => {
        // A helper that stopped hands its images back to the queue; any other failure is shown.
        if (!this.workers.includes(w)) { this.queue.push(id); this.stats.total++; return; }
        this.hooks.onError(err);
      }).finally(() => {
        w.busy--;
        this.stats.done++;
        this.hooks.onProgress();
        this.pump();
      });
    }
  }

  startHelpers(key) {
    clearTimeout(this.idle);
    if (this.queue.length < HELPER_QUEUE) return;
    while (this.workers.length < 1 + this.helpers - this.failed) {
      const w = { t: new Trainer(), busy: 0, done: 0, key: '', loading: '' };
      w.t.ready.catch(() => {}); // a failed start reaches onFatal
      w.t.onFatal = (err) => this.drop(w, err);
      this.workers.push(w);
    }
    for (const w of this.workers.slice(1)) {
      if (w.key === key || w.loading === key) continue;
      w.loading = key;
      w.t.loadBackbone(this.hooks.entry()).then(() => {
        if (w.loading === key) { w.key = key; w.loading = ''; }
        this.pump();
      }, (err) => this.drop(w, err));
    }
  }

  /** drop lets a failed helper go: the trainer goes on extracting alone. */
  drop(w, err) {
    const i = this.workers.indexOf(w);
    if (i < 1) return;
    this.workers.splice(i, 1);
    this.failed++;
    w.t.onFatal = null;
    w.t.fail(new Error(`extraction helper stopped: ${err.message}`));
    w.t.terminate();
    console.warn(`extraction helper stopped: ${err.message}`);
  }

  stopHelpersLater() {
    clearTimeout(this.idle);
    this.idle = setTimeout(() => {
      if (this.queue.length || this.inflight()) return;
      for (const w of this.workers.splice(1)) w.t.terminate();
    }, 60000);
  }
}
