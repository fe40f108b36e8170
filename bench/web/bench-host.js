// bench-host.js hosts every timed piece of the benchmark in one Web Worker: TensorFlow.js 4.22.0 (wasm
// backend, SIMD, one thread; and the cpu backend) and our Go code (build/bench.wasm, the head and
// backbone packages the app's trainer uses), on the same data, interleaved. It is a classic worker
// because tfjs and Go's wasm_exec.js ship as plain scripts. Every file comes from this origin:
// setWasmPaths points tfjs at the local .wasm binaries, so nothing is fetched from a CDN.
//
// Messages in: {id, cmd, args}. Out: {id, result} or {id, error}, and {log} lines for the driver.
'use strict';
// bench-host.js?mode=app&trainer=trainer-simd.wasm loads only the app's own trainer wasm
// (public/build/trainer-simd.wasm or trainer.wasm, served under app/) for the scale runs: the exact
// code and API (finetuner.train) the app's worker uses.
const MODE = new URLSearchParams(self.location.search).get('mode') || 'bench';
const APP_TRAINER = new URLSearchParams(self.location.search).get('trainer') || 'trainer.wasm';
if (MODE === 'app') importScripts('build/wasm_exec.js', 'bench-data.js');
else importScripts('vendor/tf.min.js', 'vendor/tf-backend-wasm.min.js', 'build/wasm_exec.js', 'bench-data.js');

const base = new URL('./', self.location.href).href;
let goMemory = null; // the Go instance's WebAssembly.Memory
let goRun = null; // the Go instance (its exited flag says whether the runtime died)

// The Go runtime writes its fatal errors (out of memory, say) through console.log; keep the last
// lines so that a failed run can say why.
let fatal = '';
const consoleLog = console.log.bind(console);
console.log = (...a) => {
  const line = a.join(' ');
  if (!fatal && /^(fatal error|panic|runtime: out of memory)/.test(line)) fatal = line.trim();
  consoleLog(...a);
};

const log = (s) => postMessage({ log: String(s) });

const ready = MODE === 'app' ? (async () => {
  const go = new Go();
  goRun = go;
  const { instance } = await WebAssembly.instantiateStreaming(fetch(base + 'app/' + APP_TRAINER), go.importObject);
  go.run(instance).then(() => log(`${APP_TRAINER}: the Go program exited`));
  goMemory = instance.exports.mem;
  if (!self.finetuner || typeof self.finetuner.train !== 'function') throw new Error(`app/${APP_TRAINER} did not register finetuner.train`);
})() : (async () => {
  tf.wasm.setWasmPaths({
    'tfjs-backend-wasm.wasm': base + 'vendor/tfjs-backend-wasm.wasm',
    'tfjs-backend-wasm-simd.wasm': base + 'vendor/tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm': base + 'vendor/tfjs-backend-wasm-threaded-simd.wasm',
  });
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to initialise');
  await tf.ready();
  const go = new Go();
  goRun = go;
  const { instance } = await WebAssembly.instantiateStreaming(fetch(base + 'build/bench.wasm'), go.importObject);
  go.run(instance).then(() => log('bench.wasm: the Go program exited'));
  goMemory = instance.exports.mem;
  if (!self.finetunerBench) throw new Error('bench.wasm did not register finetunerBench');
})();

// gocall calls a finetunerBench function; the Go side returns an Error value instead of throwing.
function gocall(name, ...args) {
  if (goRun.exited) throw new Error('the Go runtime has exited');
  const died = () => new Error(`the Go runtime died in ${name}: ${fatal || 'no message'} (wasm memory ${(goMemory.buffer.byteLength / 1e6).toFixed(0)} MB)`);
  let r;
  try {
    r = self.finetunerBench[name](...args);
  } catch (err) {
    if (goRun.exited) throw died();
    throw err;
  }
  if (goRun.exited) throw died();
  if (r instanceof Error) throw r;
  return r;
}

// cpuNow asks the driver for the CPU ms the browser's renderer processes have used so far (see
// bench/run/cpu.go); NaN when the page is served by something else.
async function cpuNow() {
  try {
    const r = await fetch(base + '__cpu', { cache: 'no-store' });
    if (!r.ok) return NaN;
    const v = (await r.json()).ms;
    return v >= 0 ? v : NaN;
  } catch {
    return NaN;
  }
}


// ---- head training: ours vs tfjs ----------------------------------------------------------------

function oursConfig(w, epochs, extra = {}) {
  return {
    epochs, batchSize: w.batch, optimizer: 'adam', lr: w.lr, schedule: 'constant', valFraction: 0,
    seed: w.seed, noStandardize: true,
    hidden: w.hidden ? [w.hidden] : [], activation: w.hidden ? 'relu' : '', noOutputBias: !!w.noOutputBias,
    ...extra,
  };
}

// oursTrain trains with head.Train. trainMs runs from the call (copying the data in included) to
// the end of the last epoch; the evaluation head.Train does afterwards is reported apart.
function oursTrain(data, w, epochs) {
  gocall('gc');
  const t0 = performance.now();
  const r = JSON.parse(gocall('trainHead', data.x, data.y, data.n, data.d, data.labels, JSON.stringify(oursConfig(w, epochs))));
  const wallMs = performance.now() - t0;
  const ep = r.events.filter((e) => e.kind === 'epoch');
  if (ep.length !== epochs) throw new Error(`ours: ${ep.length} epochs ran, want ${epochs}`);
  const ends = ep.map((e) => e.sinceCallMs);
  const last = ep[ep.length - 1];
  return {
    trainMs: ends[ends.length - 1], wallMs, epochMs: diffs(ends),
    lastEpochLoss: last.trainLoss, lastEpochAcc: last.trainAcc,
    evalLoss: r.report.trainLoss, evalAcc: r.report.trainAcc,
  };
}

// tfjsModel builds the head in tf.layers: Glorot-uniform weights and zero biases (tfjs's defaults,
// and our initialisation), or Teachable Machine's variance scaling when init says so.
// The initialiser is seeded, so tfjs's runs are as repeatable as ours (shuffling aside).
function tfjsModel(d, C, w, init = 'glorotUniform') {
  const model = tf.sequential();
  const k = (i) => (init === 'glorotUniform' ? tf.initializers.glorotUniform({ seed: w.seed + i }) : tf.initializers.varianceScaling({ seed: w.seed + i }));
  if (w.hidden) {
    model.add(tf.layers.dense({ inputShape: [d], units: w.hidden, activation: 'relu', kernelInitializer: k(0) }));
    model.add(tf.layers.dense({ units: C, activation: 'softmax', useBias: !w.noOutputBias, kernelInitializer: k(1) }));
  } else {
    model.add(tf.layers.dense({ inputShape: [d], units: C, activation: 'softmax', kernelInitializer: k(0) }));
  }
  model.compile({ optimizer: tf.train.adam(w.lr), loss: 'categoricalCrossentropy', metrics: ['accuracy'] });
  return model;
}

const accOf = (logs, prefix = '') => logs[prefix + 'acc'] ?? logs[prefix + 'accuracy'];

// tfjsTrain trains with model.fit on backend. trainMs runs from creating the tensors to the end
// of the last epoch. yieldEvery 'never' spares tfjs its periodic yields to the event loop (ours
// does not yield here either).
async function tfjsTrain(backend, data, w, epochs) {
  if (!(await tf.setBackend(backend))) throw new Error(`tfjs: backend ${backend} failed`);
  const t0 = performance.now();
  const xs = tf.tensor2d(data.x, [data.n, data.d]);
  const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(data.y, 'int32'), data.C).toFloat());
  const model = tfjsModel(data.d, data.C, w);
  const ends = [];
  const h = await model.fit(xs, ys, {
    batchSize: w.batch, epochs, shuffle: true, verbose: 0, yieldEvery: 'never',
    callbacks: { onEpochEnd: () => { ends.push(performance.now() - t0); } },
  });
  const trainMs = ends[ends.length - 1];
  const wallMs = performance.now() - t0;
  const ev = model.evaluate(xs, ys, { batchSize: 256 });
  const [evalLoss, evalAcc] = await Promise.all(ev.map((t) => t.data().then((v) => v[0])));
  tf.dispose([xs, ys, ...ev]);
  model.dispose();
  const L = h.history.loss.length;
  if (L !== epochs) throw new Error(`tfjs-${backend}: ${L} epochs ran, want ${epochs}`);
  return {
    trainMs, wallMs, epochMs: diffs(ends), lastEpochLoss: h.history.loss[L - 1], lastEpochAcc: accOf(h.history)[L - 1],
    evalLoss, evalAcc, tensorsLeft: tf.memory().numTensors,
  };
}

const ENGINES = {
  ours: (data, w, epochs) => oursTrain(data, w, epochs),
  'tfjs-wasm': (data, w, epochs) => tfjsTrain('wasm', data, w, epochs),
  'tfjs-cpu': (data, w, epochs) => tfjsTrain('cpu', data, w, epochs),
};

// heads runs every workload: a one-epoch warm-up per engine, then reps rounds of the engines
// in turn (A B C A B C ...), and summarises each engine by the median and min of ms/epoch.
async function heads({ workloads, engines, reps }) {
  const out = [];
  for (const w of workloads) {
    const t = performance.now();
    const data = blobs(w.n, w.d, w.classes, w.seed, w.sep);
    log(`${w.name}: N=${w.n} D=${w.d} C=${w.classes} ${w.hidden ? `Dense(${w.hidden}, relu) → ` : ''}Dense(${w.classes}${w.noOutputBias ? ', no bias' : ''}), batch ${w.batch}, ${w.epochs} epochs (data ${(performance.now() - t).toFixed(0)} ms)`);
    const runs = Object.fromEntries(engines.map((e) => [e, []]));
    // Warm-up: one epoch over at most 2000 rows per engine (compiles and tiers up the wasm and
    // JS paths; the big workloads need not pay a whole epoch for it).
    const m = Math.min(data.n, 2000);
    const warm = { ...data, x: data.x.subarray(0, m * data.d), y: data.y.subarray(0, m), n: m };
    for (const e of engines) {
      const r = await ENGINES[e](warm, w, 1);
      log(`  warm-up ${e}: ${r.trainMs.toFixed(0)} ms`);
    }
    for (let rep = 0; rep < reps; rep++) {
      for (const e of engines) {
        const c0 = await cpuNow();
        const r = await ENGINES[e](data, w, w.epochs);
        r.cpuMs = (await cpuNow()) - c0;
        r.cpuMsPerEpoch = r.cpuMs / w.epochs;
        r.msPerEpoch = r.trainMs / w.epochs;
        runs[e].push(r);
        log(`  rep ${rep + 1} ${e.padEnd(9)} ${r.msPerEpoch.toFixed(1).padStart(8)} ms/epoch  loss ${r.lastEpochLoss.toFixed(4)} acc ${(100 * r.lastEpochAcc).toFixed(1)}%`);
      }
    }
    const summary = {};
    for (const e of engines) {
      const ms = runs[e].map((r) => r.msPerEpoch);
      summary[e] = { median: median(ms), min: Math.min(...ms), steadyEpochMs: median(runs[e].flatMap((r) => r.epochMs.slice(1))),
        cpuMedian: median(runs[e].map((r) => r.cpuMsPerEpoch)) };
    }
    out.push({ workload: w, runs, summary });
  }
  return out;
}

// ---- time to quality: auto probe vs Teachable Machine's recipe ----------------------------------

// qualityTime is the time of the first epoch whose validation accuracy is within tol of the
// final one.
function qualityTime(points, tol) {
  const final = points[points.length - 1].valAcc;
  const p = points.find((q) => Math.abs(q.valAcc - final) <= tol);
  return { finalAcc: final, ms: p.ms, epoch: p.epoch };
}

async function ttq({ x, y, n, d, labels, reps, epochs, batch, lr, valFraction, seed, tol }) {
  const C = labels.length;
  const data = { x, y, n, d, C, labels };
  const sp = JSON.parse(gocall('split', y, C, valFraction, seed));
  const rows = (idx) => {
    const xs = new Float32Array(idx.length * d), ys = new Int32Array(idx.length);
    idx.forEach((r, i) => { xs.set(x.subarray(r * d, (r + 1) * d), i * d); ys[i] = y[r]; });
    return { x: xs, y: ys };
  };
  const tr = rows(sp.train), va = rows(sp.val);
  const tm = { hidden: 100, noOutputBias: true, batch, lr, seed };
  log(`time to quality: ${n} rows × ${d}, ${C} classes, ${sp.train.length} train / ${sp.val.length} val; TM recipe ${epochs} epochs, batch ${batch}`);

  const probe = () => {
    gocall('gc');
    const t0 = performance.now();
    const r = JSON.parse(gocall('autoProbe', x, y, n, d, labels, JSON.stringify({ valFraction, seed })));
    const ms = performance.now() - t0;
    // Each trial hands over the best head so far (head.Control.OnHead): the curve is that head's
    // validation accuracy against the time since the call.
    const trials = r.events.filter((e) => e.kind === 'trial');
    const curve = trials.map((e) => ({ epoch: e.epoch, valAcc: e.bestValAcc, ms: e.sinceCallMs }));
    const first = curve.find((c) => Math.abs(c.valAcc - r.report.valAcc) <= tol);
    return { ms: first ? first.ms : ms, totalMs: ms, firstMs: curve.length ? curve[0].ms : ms, finalAcc: r.report.valAcc, valLoss: r.report.valLoss,
      lambda: r.report.lambda, iters: r.report.epochs, curve,
      trials: trials.map((e) => ({ lambda: e.lambda, valAcc: e.valAcc, ms: e.sinceCallMs })) };
  };
  const oursTM = () => {
    gocall('gc');
    const r = JSON.parse(gocall('trainHead', x, y, n, d, labels, JSON.stringify(oursConfig(tm, epochs, { valFraction, seed }))));
    const pts = r.events.filter((e) => e.kind === 'epoch').map((e) => ({ epoch: e.epoch, valAcc: e.valAcc, ms: e.sinceCallMs }));
    return { ...qualityTime(pts, tol), totalMs: pts[pts.length - 1].ms, curve: pts };
  };
  const tfjsTM = async () => {
    await tf.setBackend('wasm');
    const t0 = performance.now();
    const xs = tf.tensor2d(tr.x, [tr.y.length, d]), xv = tf.tensor2d(va.x, [va.y.length, d]);
    const ys = tf.tidy(() => tf.oneHot(tf.tensor1d(tr.y, 'int32'), C).toFloat());
    const yv = tf.tidy(() => tf.oneHot(tf.tensor1d(va.y, 'int32'), C).toFloat());
    const model = tfjsModel(d, C, tm, 'varianceScaling');
    const pts = [];
    await model.fit(xs, ys, {
      batchSize: batch, epochs, shuffle: true, verbose: 0, yieldEvery: 'never', validationData: [xv, yv],
      callbacks: { onEpochEnd: (epoch, logs) => { pts.push({ epoch: epoch + 1, valAcc: accOf(logs, 'val_'), ms: performance.now() - t0 }); } },
    });
    tf.dispose([xs, xv, ys, yv]);
    model.dispose();
    return { ...qualityTime(pts, tol), totalMs: pts[pts.length - 1].ms, curve: pts };
  };
  const runs = { probe: [], 'ours-tm': [], 'tfjs-wasm-tm': [] };
  probe(); oursTM(); await tfjsTM(); // warm-up
  const withCPU = async (f) => {
    const c0 = await cpuNow();
    const r = await f();
    r.cpuMs = (await cpuNow()) - c0;
    return r;
  };
  for (let rep = 0; rep < reps; rep++) {
    const a = await withCPU(probe), b = await withCPU(oursTM), c = await withCPU(tfjsTM);
    runs.probe.push(a); runs['ours-tm'].push(b); runs['tfjs-wasm-tm'].push(c);
    log(`  rep ${rep + 1}: auto probe ${a.ms.toFixed(0)} ms → val ${(100 * a.finalAcc).toFixed(1)}% | ours TM ${b.ms.toFixed(0)} ms (epoch ${b.epoch}) → ${(100 * b.finalAcc).toFixed(1)}% | tfjs-wasm TM ${c.ms.toFixed(0)} ms (epoch ${c.epoch}) → ${(100 * c.finalAcc).toFixed(1)}%`);
  }
  const summary = {};
  for (const [k, v] of Object.entries(runs)) {
    summary[k] = { median: median(v.map((r) => r.ms)), min: Math.min(...v.map((r) => r.ms)), finalAcc: median(v.map((r) => r.finalAcc)),
      cpuMedian: median(v.map((r) => r.cpuMs)) };
  }
  return { nTrain: sp.train.length, nVal: sp.val.length, classes: C, d, runs, summary };
}

// ---- backbone: our Go graph runtime vs tfjs-wasm on the same converted graph model --------------

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

async function photoRGBA(url, S) {
  if (url) {
    const bmp = await createImageBitmap(await (await fetch(url)).blob());
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    const g = c.getContext('2d');
    g.drawImage(bmp, 0, 0);
    return { rgba: new Uint8Array(g.getImageData(0, 0, bmp.width, bmp.height).data.buffer), w: bmp.width, h: bmp.height, src: url };
  }
  const r = rng(7), rgba = new Uint8Array(S * S * 4);
  for (let i = 0; i < rgba.length; i++) rgba[i] = (i & 3) === 3 ? 255 : Math.floor(r() * 256);
  return { rgba, w: S, h: S, src: 'random pixels' };
}

async function backbones({ ids, photo, reps, batches }) {
  await tf.setBackend('wasm');
  const out = [];
  for (const id of ids) {
    const text = new TextDecoder().decode(await fetchBytes(`models/${id}/model.json`));
    const json = JSON.parse(text);
    const files = { 'model.json': new TextEncoder().encode(text) };
    for (const g of json.weightsManifest) for (const p of g.paths) files[p] = await fetchBytes(`models/${id}/${p}`);
    const info = JSON.parse(gocall('loadBackbone', files));
    const S = info.info.inputSize;
    // The same model.json and weights for tfjs: only the batch dimension of the input is freed.
    for (const n of json.modelTopology.node) {
      if (n.op === 'Placeholder') n.attr.shape.shape.dim = [{ size: '-1' }, { size: String(S) }, { size: String(S) }, { size: '3' }];
    }
    const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
    const parts = json.weightsManifest.flatMap((g) => g.paths.map((p) => files[p]));
    const all = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let off = 0;
    for (const p of parts) { all.set(p, off); off += p.length; }
    const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData: all.buffer }));
    const tap = info.info.tap, pool = info.info.pool;
    const tfFeatures = (x, b) => tf.tidy(() => {
      const t = model.execute(tf.tensor4d(x, [b, S, S, 3]), tap);
      return pool === 'mean' ? tf.mean(t, [1, 2]) : t.reshape([b, -1]);
    });
    const img = await photoRGBA(photo, S);
    const x1 = gocall('preprocess', img.rgba, img.w, img.h);
    // Equivalent work: both give the same features for the same input.
    const fo = gocall('backboneForward', x1, 1);
    const ft = tfFeatures(x1, 1);
    const fv = ft.dataSync();
    ft.dispose();
    let maxAbs = 0, maxRef = 0;
    for (let i = 0; i < fo.length; i++) { maxAbs = Math.max(maxAbs, Math.abs(fo[i] - fv[i])); maxRef = Math.max(maxRef, Math.abs(fv[i])); }
    const rel = maxAbs / Math.max(maxRef, 1e-12);
    log(`${id}: ${info.dim}-d at ${S}², max |ours − tfjs| / max |tfjs| = ${rel.toExponential(2)} on ${img.src}`);
    if (!(rel < 1e-3)) throw new Error(`${id}: our features differ from tfjs's by ${rel} (relative); not the same work`);
    const res = { id, dim: info.dim, inputSize: S, maxRelDiff: rel, photo: img.src, batches: {} };
    for (const b of batches) {
      const xb = new Float32Array(b * x1.length);
      for (let i = 0; i < b; i++) xb.set(x1, i * x1.length);
      const time = { ours: [], 'tfjs-wasm': [] };
      const cpu = { ours: 0, 'tfjs-wasm': 0 };
      gocall('backboneForward', xb, b); tfFeatures(xb, b).dispose(); // warm-up
      for (let rep = 0; rep < reps; rep++) {
        let c = await cpuNow();
        let t = performance.now();
        gocall('backboneForward', xb, b);
        time.ours.push((performance.now() - t) / b);
        cpu.ours += (await cpuNow()) - c;
        c = await cpuNow();
        t = performance.now();
        const f = tfFeatures(xb, b);
        f.dataSync();
        f.dispose();
        time['tfjs-wasm'].push((performance.now() - t) / b);
        cpu['tfjs-wasm'] += (await cpuNow()) - c;
      }
      res.batches[b] = Object.fromEntries(Object.entries(time).map(([k, v]) => [k, { median: median(v), min: Math.min(...v), runs: v, cpuPerImage: cpu[k] / (reps * b) }]));
      log(`  batch ${b}: ours ${res.batches[b].ours.median.toFixed(1)} ms/image, tfjs-wasm ${res.batches[b]['tfjs-wasm'].median.toFixed(1)} ms/image`);
    }
    model.dispose();
    out.push(res);
  }
  return out;
}

// ---- gemm: the Go kernels' matrix product at the backbone's and the heads' shapes -----------------

// gemm times our gemm (bench/wasm's gemm: checked against float64 first) at each shape, in wall
// time and in the renderer's CPU time (which a busy machine disturbs less). A short call first
// warms the shape up: V8 runs a wasm function with its baseline compiler until it has replaced it
// with optimized code, compiled on other threads, whose CPU time counted against the first shape.
async function gemm({ shapes, minMs }) {
  const out = [];
  for (const [M, K, N] of shapes) {
    gocall('gemm', M, K, N, Math.max(1, Math.round(minMs / 10)));
    const c = await cpuNow();
    const r = JSON.parse(gocall('gemm', M, K, N, minMs));
    const cpuMs = ((await cpuNow()) - c) / r.reps;
    r.cpuGflops = cpuMs > 0 ? 2 * M * K * N / (cpuMs * 1e6) : NaN;
    log(`  gemm M=${M} K=${K} N=${N} (${r.kernels}): ${r.gflops.toFixed(2)} GFLOP/s wall, ${r.cpuGflops.toFixed(2)} CPU, error ${r.maxError.toFixed(3)} of the float32 bound`);
    out.push(r);
  }
  return out;
}

// ---- scale: one training run of N samples, with the memory it took ------------------------------

// scaleData makes the n×d features of a scale run and says how long that took.
function scaleData(n, d, classes) {
  const t0 = performance.now();
  try {
    return { data: blobs(n, d, classes, 11, 0.05, true), genMs: performance.now() - t0 };
  } catch (err) {
    throw new Error(`JS could not hold ${n}×${d} features (${(n * d * 4 / 1e9).toFixed(2)} GB): ${err.message}`);
  }
}

function scale({ n, d, classes, epochs, valFraction }) {
  const { data, genMs } = scaleData(n, d, classes);
  const w = { batch: 32, lr: 1e-3, seed: 1 };
  const t1 = performance.now();
  const r = JSON.parse(gocall('trainHead', data.x, data.y, n, d, data.labels, JSON.stringify(oursConfig(w, epochs, { valFraction, noStandardize: false }))));
  const trainMs = performance.now() - t1;
  return {
    n, d, classes, epochs, genMs, trainMs, valAcc: r.report.valAcc, trainLoss: r.report.trainLoss,
    jsBytes: data.x.byteLength + data.y.byteLength, wasmBytes: goMemory.buffer.byteLength, goHeap: r.mem,
  };
}

// scaleApp is scale through the app's trainer API: finetuner.train({x, y, n, d, labels}, request,
// onEvents), request a head.Request as the page's settings make it (linear head, 20% validation,
// no early stopping).
async function scaleApp({ n, d, classes, epochs, valFraction }) {
  const { data, genMs } = scaleData(n, d, classes);
  const request = { epochs, batchSize: 32, lr: 1e-3, valFraction, seed: 1, backbone: 'bench' };
  let events = 0;
  const t1 = performance.now();
  let r;
  try {
    r = await self.finetuner.train({ x: data.x, y: data.y, n, d, labels: data.labels }, request, () => { events++; });
  } catch (err) {
    if (goRun.exited) throw new Error(`the app's Go runtime died in train: ${fatal || err.message} (wasm memory ${(goMemory.buffer.byteLength / 1e6).toFixed(0)} MB)`);
    throw err;
  }
  if (goRun.exited) throw new Error(`the app's Go runtime died in train: ${fatal || 'no message'} (wasm memory ${(goMemory.buffer.byteLength / 1e6).toFixed(0)} MB)`);
  const trainMs = performance.now() - t1;
  if (!events) throw new Error('finetuner.train sent no progress events');
  return {
    n, d, classes, epochs, genMs, trainMs, valAcc: r.report.valAcc, trainLoss: r.report.trainLoss,
    jsBytes: data.x.byteLength + data.y.byteLength, wasmBytes: goMemory.buffer.byteLength, engine: 'app',
  };
}

// ---- environment ----------------------------------------------------------------------------------

async function env() {
  await tf.setBackend('wasm');
  return {
    tfjs: tf.version.tfjs, tfjsWasm: tf.wasm.version_wasm,
    wasmSIMD: await tf.env().getAsync('WASM_HAS_SIMD_SUPPORT'),
    wasmThreads: await tf.env().getAsync('WASM_HAS_MULTITHREAD_SUPPORT'),
    crossOriginIsolated: self.crossOriginIsolated, hardwareConcurrency: navigator.hardwareConcurrency,
    userAgent: navigator.userAgent, goVersion: self.finetunerBench.goVersion, goKernels: self.finetunerBench.kernels,
  };
}

const COMMANDS = { env, heads, ttq, gemm, backbones, scale, scaleApp };

onmessage = async (e) => {
  const { id, cmd, args } = e.data;
  try {
    await ready;
    if (!COMMANDS[cmd]) throw new Error(`unknown command ${cmd}`);
    postMessage({ id, result: await COMMANDS[cmd](args) });
  } catch (err) {
    postMessage({ id, error: `${cmd}: ${err && err.stack || err}` });
  }
};
