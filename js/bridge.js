// The page's side of the trainer worker: promise-returning calls, and a stream of progress events.
// The worker runs the Go trainer wasm (backbone features and head training) off the page thread.

export class Trainer {
  constructor(url = new URL('./worker.js', import.meta.url)) {
    this.seq = 0;
    this.pending = new Map();
    this.onEvents = null;  // training progress: arrays of {kind, epoch, step, trainLoss, valLoss, valAcc, ...}
    this.onFatal = null;
    this.ready = new Promise((resolve, reject) => { this._ready = { resolve, reject }; });
    // ?kernels=scalar on the page reaches the worker as its name (a query on the worker's URL would
    // be lost when the service worker answers from its cache): it then runs the scalar trainer even
    // where WebAssembly SIMD works (the fallback's test, and a comparison by hand).
    const kernels = new URLSearchParams(self.location.search).get('kernels');
    this.worker = new Worker(url, kernels ? { name: `kernels=${kernels}` } : {});
    this.worker.onmessage = (e) => this.receive(e.data);
    this.worker.onerror = (e) => {
      e.preventDefault();
      this.fail(new Error(`trainer worker: ${e.message || 'failed to start'}`));
    };
  }

  receive(m) {
    if (m.type === 'events') { if (this.onEvents) this.onEvents(m.events); return; }
    if (m.type === 'ready') { this._ready.resolve(m.info); return; }
    if (m.type === 'fatal') { this.fail(new Error(m.error)); return; }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result); else p.reject(new Error(m.error));
  }

  fail(err) {
    this._ready.reject(err);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (this.onFatal) this.onFatal(err);
  }

  /** call runs op in the worker; transfer lists ArrayBuffers to move rather than copy. */
  call(op, args = {}, transfer = []) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }
}
