// Bridge to the Ebiten plot in the <iframe>, by postMessage: progress events as the trainer
// encoded them (Float64Arrays, js/events.js), everything else (reset, report, options) as JSON
// text. The history since the last reset is kept so a reloaded frame is replayed to the same
// picture. Event batches are joined per animation frame so a fast trainer never floods the frame.

import { decodeEvents, encodeEvents, concatEvents } from './events.js';

export class Plot {
  constructor(iframe) {
    this.frame = iframe;
    this.ready = false;
    this.history = [];
    this.options = {};
    this.queue = [];
    this.drawn = null;     // last {version, points, ms, missing, fallback, theme} the frame reported after drawing
    this.font = null;      // {ok, bytes, ms} or {ok: false, error} once the frame fetched its Japanese font
    this.drawTimes = [];   // the last 200 draw times in ms, for the browser test and the console
    this._onError = null;   // see onError
    this.pendingError = null;
    this.onOptions = null;
    this.onReady = null;   // called when the frame is up (again)
    this.onDrawn = null;   // called with each plot-drawn report
    window.addEventListener('message', (e) => {
      // Only our frame; under file:// its origin is "null", so check the source window.
      if (e.source !== this.frame.contentWindow || typeof e.data !== 'string') return;
      let m;
      try { m = JSON.parse(e.data); } catch { return; }
      switch (m.type) {
        case 'plot-ready':
          this.ready = true;
          for (const h of this.opening()) this.send(h);
          if (this.onReady) this.onReady();
          break;
        case 'plot-drawn':
          this.drawn = m;
          this.drawTimes.push(m.ms);
          if (this.drawTimes.length > 200) this.drawTimes.shift();
          if (this.onDrawn) this.onDrawn(m);
          break;
        case 'plot-font': this.font = m; break;
        case 'plot-error': this.reportError(m.error); break;
        case 'plot-options':
          Object.assign(this.options, { logScale: m.logScale });
          if (this.onOptions) this.onOptions(m);
          break;
      }
    });
    // The frame, same origin, takes the options and history straight from here as it starts (see
    // attach); otherwise it says plot-ready and gets them by postMessage.
    iframe.plotBridge = this;
    this.attached = null; // the frame document that attached, if any
    iframe.addEventListener('load', () => {
      // A new document in the frame (a reload) must say it is ready again; the one that already
      // attached, whose load event can come after its Go program started, need not.
      let doc = null;
      try { doc = iframe.contentDocument; } catch { /* another origin */ }
      if (!doc || doc !== this.attached) this.ready = false;
    });
    // The frame may have come up before this listener existed; a frame that is up answers the
    // ping with plot-ready, one still starting says plot-ready when it is up.
    try { iframe.contentWindow.postMessage('{"type":"ping"}', '*'); } catch { /* no frame yet */ }
    // A frame that failed to start before this listener existed told no one: look once, after
    // the caller has set onError. Under file:// the frame is another origin and this is skipped.
    setTimeout(() => {
      let err;
      try { err = iframe.contentWindow.plotBootError; } catch { return; }
      if (err && err !== this.lastError) this.reportError(err);
    });
  }

  /**
   * start loads the frame from its data-src, once. A page whose frame has data-src instead of src
   * starts the plot when it chooses: compiling the 12 MB Ebiten module takes the page's thread for
   * hundreds of milliseconds, so the app and the embed start it when it does not hold back
   * anything else. The history is kept until the frame is up.
   */
  start() {
    if (!this.frame.getAttribute('src') && this.frame.dataset.src) this.frame.src = this.frame.dataset.src;
  }

  /** reportError hands a frame error to onError, or keeps it until onError is set. */
  reportError(err) {
    this.lastError = err;
    if (this._onError) this._onError(err); else this.pendingError = err;
  }

  get onError() { return this._onError; }

  set onError(fn) {
    this._onError = fn;
    if (fn && this.pendingError) { const e = this.pendingError; this.pendingError = null; fn(e); }
  }

  /**
   * attach is called by a same-origin frame as its Go program starts: it returns the options and
   * the history as the frame's messages (see wire), and from then on messages go by postMessage.
   */
  attach() {
    this.ready = true;
    this.attached = this.frame.contentDocument;
    if (this.onReady) setTimeout(() => this.onReady());
    return this.opening().map(wire);
  }

  /** opening is what a frame that has just come up needs: the options, then the history. */
  opening() {
    return [{ type: 'options', ...this.options }, ...this.history];
  }

  send(m) {
    const w = this.frame.contentWindow;
    // The payload is public progress data; "*" is required under file:// where origins are "null".
    if (w && this.ready) w.postMessage(wire(m), '*');
  }

  record(m) {
    this.history.push(m);
    this.send(m);
  }

  reset(labels, epochs) {
    this.flush();
    this.queue = [];
    this.history = [];
    this.record({ type: 'reset', labels, epochs });
  }

  /** events queues a batch of encoded progress events (a Float64Array from the trainer); the
   * batches go out together on the next animation frame. */
  events(batch) {
    const first = this.queue.length === 0;
    if (batch.length) this.queue.push(batch);
    if (first && this.queue.length) requestAnimationFrame(() => this.flush());
  }

  flush() {
    if (!this.queue.length) return;
    const events = this.queue.length === 1 ? this.queue[0] : concatEvents(this.queue);
    this.queue = [];
    this.record({ type: 'events', events });
  }

  /** eventList returns every progress event of the history as objects {kind, epoch, ...}. */
  eventList() {
    this.flush();
    return this.history.filter((m) => m.type === 'events').flatMap((m) => decodeEvents(m.events));
  }

  report(r) {
    this.flush();
    this.record({ type: 'report', labels: r.labels, confusion: r.confusion, perClass: r.perClass, valAcc: r.valAcc });
  }

  /**
   * snapshot returns the history in a form small enough to save with the project: every epoch,
   * trial and done event, and the per-step losses thinned to at most maxSteps points.
   */
  snapshot(maxSteps = 2000) {
    this.flush();
    const out = [];
    let steps = [];
    for (const m of this.history) {
      if (m.type !== 'events') { out.push(m); continue; }
      const rest = [];
      for (const e of decodeEvents(m.events)) (e.kind === 'step' ? steps : rest).push(e);
      if (rest.length) out.push({ type: 'events', events: rest });
    }
    if (steps.length > maxSteps) {
      const k = Math.ceil(steps.length / maxSteps);
      steps = steps.filter((_, i) => i % k === 0 || i === steps.length - 1);
    }
    // Steps go right after the reset: the plot sorts nothing, and x comes from each event.
    if (steps.length) out.splice(out.findIndex((m) => m.type === 'reset') + 1, 0, { type: 'events', events: steps });
    return out;
  }

  /** restore replaces the history with a saved snapshot (events as objects) and shows it. */
  restore(history) {
    this.queue = [];
    this.history = (Array.isArray(history) ? history : []).map((m) => (m.type === 'events' && Array.isArray(m.events) ? { type: 'events', events: encodeEvents(m.events) } : m));
    for (const h of this.history) this.send(h);
  }

  /**
   * setOptions changes how the plot draws; they are kept and sent again to a reloaded frame.
   * {logScale, smooth, view} as the page's controls set them; {theme: 'light'|'dark'}; {lang,
   * strings}: the page's language and the plot's texts in it (i18n.prefixed('plot.')), any key
   * left out stays English. Japanese, or a class name the plot's Latin font lacks, makes the
   * frame fetch its Japanese font (public/build/fonts/plot-cjk.ttf).
   */
  setOptions(o) {
    Object.assign(this.options, o);
    this.send({ type: 'options', ...o });
  }
}

/** wire is a message as the frame takes it: an event batch as its Float64Array, the rest as JSON. */
function wire(m) { return m.type === 'events' ? m.events : JSON.stringify(m); }
