// The page's client for the trainer (js/trainer-host.js running wasm/trainer in a Web Worker):
// one method per call of the Go API, each returning a promise, and a stream of progress events.
// Pixels and features move to the worker (transferred, not copied); results come back the same
// way. trainRequest is the one place the pages' settings become the trainer's head.Request.

export class Trainer {
  constructor(url = new URL('./trainer-host.js', import.meta.url)) {
    this.seq = 0;
    this.pending = new Map();
    this.onEvents = null;  // training progress: a Float64Array of encoded events (js/events.js)
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
    if (m.type === 'robust-progress') { if (this.onRobust) this.onRobust(m.text); return; }
    if (m.type === 'status') { if (this.onStatus) this.onStatus(m.text); return; }
    if (m.type === 'ready') { this._ready.resolve(m.info); return; }
    if (m.type === 'fatal') { this.fail(new Error(m.error)); return; }
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.ok) p.resolve(m.result); else p.reject(new Error(m.error));
  }

  /** fail rejects every pending call (and a start still awaited) with err. */
  fail(err) {
    this._ready.reject(err);
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
    if (this.onFatal) this.onFatal(err);
  }

  terminate() { this.worker.terminate(); }

  call(op, args, transfer = []) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, op, args }, transfer);
    });
  }

  /**
   * loadBackbone loads the manifest entry b ({id, files}); tap (a graph node) and pool move the
   * feature tap from the model's own. Resolves to {id, dim, inputSize, tap, peakBytes, weightBytes}.
   */
  loadBackbone(b, { tap = '', pool = '' } = {}) { return this.call('loadBackbone', { id: b.id, files: b.files, tap, pool }); }

  /** extract gives the features of a size×size RGBA image (its buffer is transferred), one vector
   * per view with augment ('flip', 'crops', 'flip,crops'), the plain view first. */
  extract(rgba, size, augment = 'none') {
    return this.call('extract', { rgba: new Uint8Array(rgba), width: size, height: size, augment }, [rgba]);
  }

  /**
   * train fits a head on set = {x: Float32Array (n×d), y: Int32Array, n, d, labels, group?} (its
   * buffers are transferred) with request (trainRequest's result); resolves to {head, info, report}.
   */
  train(set, request) {
    const data = { x: set.x, y: set.y, n: set.n, d: set.d, labels: set.labels, group: set.group || null };
    return this.call('train', { data, request }, [set.x.buffer, set.y.buffer, ...(set.group ? [set.group.buffer] : [])]);
  }

  /**
   * finetune trains the last request.finetuneBlocks blocks of the loaded backbone with a linear
   * head on set = {images: [ArrayBuffer of size×size RGBA], size, y: Int32Array, labels} (the
   * buffers are transferred); progress comes as train's, the caching of the activations as text
   * to onStatus. Resolves to {head, info, report, probeValAcc, plan}.
   */
  finetune(set, request) { return this.callImages('finetune', set, request); }

  /** trainMid trains a head (request as for train) on the mid-layer features of set's photos
   * (as for finetune); resolves to {head, info, report}. */
  trainMid(set, request) { return this.callImages('trainMid', set, request); }

  /** callImages sends set's photos (transferred) and request to the trainer's op. */
  callImages(op, set, request) {
    const data = { images: set.images.map((b) => new Uint8Array(b)), width: set.size, height: set.size, y: set.y, labels: set.labels };
    return this.call(op, { data, request }, [...set.images, set.y.buffer]);
  }

  /** finetunePlan measures what fine-tuning blocks blocks on n photos needs: {totalBytes,
   * cacheBytes, sectionBytes, weightBytes, limitBytes, fits, error, secPerEpoch, cacheSeconds, ...}. */
  finetunePlan(blocks, n, valFraction) { return this.call('finetunePlan', { blocks, n, valFraction }); }

  pause() { return this.call('pause'); }
  resume() { return this.call('resume'); }
  stop() { return this.call('stop'); }

  /** predict gives the class probabilities of a size×size RGBA image (its buffer is transferred). */
  predict(rgba, size) { return this.call('predict', { rgba: new Uint8Array(rgba), width: size, height: size }, [rgba]); }

  exportHead() { return this.call('exportHead'); }
  /** exportModel packs the head with the manifest entry b's backbone as one model: format "tfjs"
   * gives the bytes of a .zip (a TF.js graph model), "onnx" those of an .onnx file. */
  exportModel(b, format) { return this.call('exportModel', { id: b.id, files: b.files, format }); }

  /** importHead makes a head file (bytes are copied) the current head; resolves to its info. */
  importHead(bytes) { const b = new Uint8Array(bytes).slice(); return this.call('importHead', b, [b.buffer]); }

  /** memory resolves to {wasmBytes}: the memory the trainer's Go runtime holds. */
  memory() { return this.call('memory'); }
}

/**
 * trainRequest turns a page's training settings into the trainer's head.Request. settings are
 * the app's form (and the kiosk's config "train", the embed's parameters): {auto, head: 'linear' |
 * 'mlp', hidden, epochs, batch, lr, val, seed, early}; backbone is {id, tap} of the features.
 */
export function trainRequest(s, backbone) {
  const mlp = s.head === 'mlp';
  if (s.head && s.head !== 'linear' && !mlp) throw new Error(`unknown head type "${s.head}" (linear or mlp)`);
  return {
    auto: !!s.auto, hidden: mlp ? [s.hidden] : [], activation: mlp ? 'relu' : '',
    epochs: s.epochs, batchSize: s.batch, lr: s.lr, valFraction: s.val, seed: s.seed || 0,
    patience: s.early ? 10 : 0, backbone: backbone.id || '', tap: backbone.tap || '',
  };
}

/**
 * finetuneRequest is the head.Request of a fine-tune of the last blocks blocks: settings' epochs
 * (ftEpochs), block learning rate (ftLr), batch size, validation fraction, seed and early stop
 * (4 epochs without a better validation loss).
 */
export function finetuneRequest(s, backbone, blocks) {
  return {
    finetuneBlocks: blocks, epochs: s.ftEpochs, batchSize: s.batch, lr: s.ftLr, valFraction: s.val, seed: s.seed || 0,
    patience: s.early ? 4 : 0, backbone: backbone.id || '', tap: backbone.tap || '',
  };
}
