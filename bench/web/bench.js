// bench.js drives the benchmark from the page: it starts the worker (bench-host.js) that holds both
// TensorFlow.js and our Go code, hands it each part of the plan, and collects the results. The
// driver (bench/run) calls window.runBench(planJSON) and reads back the JSON it resolves to;
// progress lines go to console.log, which the driver prints.

const out = document.getElementById('log');
const say = (s) => { console.log(s); out.textContent += s + '\n'; };

// Worker wraps one bench-host.js instance as promise-returning calls.
class Worker1 {
  constructor(url = 'bench-host.js') {
    this.w = new Worker(url);
    this.seq = 0;
    this.pending = new Map();
    this.w.onmessage = (e) => {
      const m = e.data;
      if (m.log !== undefined) { say(m.log); return; }
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error) p.reject(new Error(m.error)); else p.resolve(m.result);
    };
    // A worker that dies (out of memory, a crashed wasm instance) fails every pending call.
    this.w.onerror = (e) => {
      e.preventDefault();
      this.fail(new Error(`worker error: ${e.message || 'the worker died'}`));
    };
  }
  fail(err) {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
  call(cmd, args, transfer = []) {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.w.postMessage({ id, cmd, args }, transfer);
    });
  }
  terminate() { this.w.terminate(); this.fail(new Error('worker terminated')); }
}

async function fetchOK(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
}

// scaleRun trains once on n samples in a fresh worker, so each size's memory is its own and a
// failure (out of memory) cannot spoil the next run. A run that outlives timeoutMs fails.
async function scaleRun(s, n, timeoutMs) {
  const app = s.engine === 'app';
  const w = new Worker1(app ? `bench-host.js?mode=app&trainer=${encodeURIComponent(s.trainer || 'trainer.wasm')}` : 'bench-host.js');
  let timer;
  try {
    const timeout = new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs / 1000} s`)), timeoutMs); });
    return await Promise.race([w.call(app ? 'scaleApp' : 'scale', { n, d: s.d, classes: s.classes, epochs: s.epochs, valFraction: s.valFraction }), timeout]);
  } finally {
    clearTimeout(timer);
    w.terminate();
  }
}

async function scale(s) {
  const res = { engine: s.engine, d: s.d, classes: s.classes, epochs: s.epochs, sizes: [], search: [] };
  for (const n of s.sizes) {
    const r = await scaleRun(s, n, s.timeoutMs);
    say(`scale N=${n}: trained in ${(r.trainMs / 1000).toFixed(1)} s, wasm memory ${(r.wasmBytes / 1e6).toFixed(0)} MB, JS features ${(r.jsBytes / 1e6).toFixed(0)} MB, val acc ${(100 * r.valAcc).toFixed(1)}%`);
    res.sizes.push(r);
  }
  if (s.search) {
    // Double N until a run fails or the cap is reached: the largest success is the limit.
    for (let n = s.search.start; n <= s.search.cap; n *= 2) {
      try {
        const r = await scaleRun(s, n, s.timeoutMs);
        say(`scale search N=${n}: ok in ${(r.trainMs / 1000).toFixed(1)} s, wasm memory ${(r.wasmBytes / 1e6).toFixed(0)} MB`);
        res.search.push({ ...r, ok: true });
        res.largestOK = n;
      } catch (err) {
        say(`scale search N=${n}: failed: ${err.message.split('\n')[0]}`);
        res.search.push({ n, ok: false, error: err.message.split('\n')[0] });
        res.firstFailure = n;
        break;
      }
    }
  }
  return res;
}

async function runBench(plan) {
  if (typeof plan === 'string') plan = JSON.parse(plan);
  const w = new Worker1();
  const t0 = performance.now();
  const result = { plan, env: await w.call('env') };
  say(`tfjs ${result.env.tfjs}, wasm SIMD ${result.env.wasmSIMD}, threads ${result.env.wasmThreads}; ours: ${result.env.goKernels} kernels; ${result.env.userAgent}`);
  if (plan.heads) result.heads = await w.call('heads', plan.heads);
  if (plan.ttq) {
    result.ttq = [];
    for (const set of plan.ttq.sets) {
      const meta = await (await fetchOK(set.meta)).json();
      const x = new Float32Array(await (await fetchOK(set.features)).arrayBuffer());
      const y = Int32Array.from(meta.y);
      if (x.length !== meta.n * meta.d || y.length !== meta.n) throw new Error(`${set.features}: ${x.length} values for ${meta.n}×${meta.d}`);
      const r = await w.call('ttq', { ...plan.ttq, x, y, n: meta.n, d: meta.d, labels: meta.labels });
      result.ttq.push(Object.assign(r, { source: meta.source, epochs: plan.ttq.epochs, batch: plan.ttq.batch }));
    }
  }
  if (plan.gemm) result.gemm = await w.call('gemm', plan.gemm);
  if (plan.backbones) result.backbones = await w.call('backbones', plan.backbones);
  w.terminate();
  if (plan.scale) result.scale = await scale(plan.scale);
  result.totalMs = performance.now() - t0;
  return JSON.stringify(result);
}

window.runBench = runBench;

// A short run from the button, for a look by hand: small sizes, one repetition.
document.getElementById('run').addEventListener('click', async () => {
  out.textContent = '';
  const w = (name, n, d, classes, batch, epochs, extra = {}) => ({ name, n, d, classes, batch, epochs, lr: 1e-3, seed: 1, sep: 0.05, ...extra });
  try {
    const r = JSON.parse(await runBench({
      heads: { reps: 1, engines: ['ours', 'tfjs-wasm', 'tfjs-cpu'], workloads: [w('W1', 1000, 1280, 10, 32, 3)] },
    }));
    say(JSON.stringify(r.heads[0].summary, null, 1));
  } catch (err) {
    say(`failed: ${err.message}`);
  }
});
