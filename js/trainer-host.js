// The trainer's host: the Web Worker that runs the Go trainer wasm (public/build/trainer-simd.wasm,
// or trainer.wasm where WebAssembly SIMD is missing; either registers globalThis.finetuner) off the
// page's thread. It fetches a backbone's files for loadBackbone and otherwise passes each call of
// the page's client (js/trainer.js) to Go as it came: {id, op, args} in, {id, ok, result} out,
// progress batches as {type: 'events', events}. Long work runs in Go goroutines that yield, so
// pause and stop get through while a head trains.
'use strict';
importScripts('../public/build/wasm_exec.js');

const base = new URL('../public/', self.location.href);
const OPS = new Set(['loadBackbone', 'extract', 'train', 'finetune', 'trainMid', 'finetunePlan', 'pause', 'resume', 'stop', 'predict', 'exportHead', 'exportModel', 'importHead', 'memory',
  'robustSetup', 'robustAdd', 'robustTrain', 'robustAttack']); // robust*: the Robustness check panel (js/robust.js)
let ft = null;

// simd128 says whether this browser runs WebAssembly SIMD: the smallest module with a v128 (one
// function returning v128.const 0) validates only where it does. There the trainer built with the
// SIMD128 kernels runs, elsewhere the scalar one; a worker named "kernels=scalar" (the page's
// ?kernels=scalar, js/trainer.js) runs the scalar one anyway.
const simd128 = () => typeof WebAssembly === 'object' && WebAssembly.validate(new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
  10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]));
const trainerFile = self.name !== 'kernels=scalar' && simd128() ? 'trainer-simd.wasm' : 'trainer.wasm';

const boot = (async () => {
  if (typeof WebAssembly !== 'object') throw new Error('this browser has no WebAssembly');
  const go = new Go();
  const res = await fetch(new URL(`build/${trainerFile}`, base));
  if (!res.ok) throw new Error(`${trainerFile}: HTTP ${res.status} (run ./build.sh web)`);
  const { instance } = await WebAssembly.instantiateStreaming(res, go.importObject);
  go.run(instance).then(() => postMessage({ type: 'fatal', error: 'the trainer wasm exited' }));
  if (!self.finetuner) throw new Error(`${trainerFile} did not register its API`);
  ft = self.finetuner;
  return ft;
})();
boot.then(() => postMessage({ type: 'ready', info: { version: ft.version, kernels: ft.kernels } }),
  (err) => postMessage({ type: 'fatal', error: `trainer failed to start: ${err.message || err}` }));

async function fetchBytes(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url.pathname || url}: HTTP ${r.status}`);
  return new Uint8Array(await r.arrayBuffer());
}

// modelFiles fetches a converted model (public/models/<id>/). files maps each file to its sha256
// (the manifest's "files"), checked here so a stale or damaged cache never feeds the network wrong
// weights; without it, model.json's weightsManifest names the weight shards.
async function modelFiles(id, files) {
  const dir = new URL(`models/${encodeURIComponent(id)}/`, base);
  const bytes = {};
  if (files && !Array.isArray(files)) {
    for (const [f, sum] of Object.entries(files)) {
      bytes[f] = await fetchBytes(new URL(f, dir));
      if (sum && self.crypto && crypto.subtle) {
        const got = [...new Uint8Array(await crypto.subtle.digest('SHA-256', bytes[f]))].map((b) => b.toString(16).padStart(2, '0')).join('');
        if (got !== sum) throw new Error(`models/${id}/${f} is damaged (sha256 ${got.slice(0, 12)}…, want ${sum.slice(0, 12)}…): rebuild with ./build.sh web`);
      }
    }
    return bytes;
  }
  bytes['model.json'] = await fetchBytes(new URL('model.json', dir));
  let model;
  try { model = JSON.parse(new TextDecoder().decode(bytes['model.json'])); } catch (e) {
    throw new Error(`models/${id}/model.json is not JSON: ${e.message}`);
  }
  for (const f of (model.weightsManifest || []).flatMap((g) => g.paths || [])) if (!bytes[f]) bytes[f] = await fetchBytes(new URL(f, dir));
  return bytes;
}

const sendEvents = (events) => postMessage({ type: 'events', events }, [events.buffer]);

self.onmessage = async (e) => {
  const { id, op, args } = e.data;
  try {
    await boot;
    if (!OPS.has(op)) throw new Error(`unknown trainer call ${op}`);
    let result;
    if (op === 'loadBackbone') result = await ft.loadBackbone({ ...args, files: await modelFiles(args.id, args.files) });
    else if (op === 'train') result = await ft.train(args.data, args.request, sendEvents);
    else if (op === 'finetune' || op === 'trainMid') result = await ft[op](args.data, args.request, sendEvents, (text) => postMessage({ type: 'status', text }));
    else if (op === 'robustSetup') result = await ft.robustSetup({ ...args, files: await modelFiles(args.id) });
    else if (op === 'robustTrain') result = await ft.robustTrain(args, (text) => postMessage({ type: 'robust-progress', text }));
    else if (op === 'exportModel') result = await ft.exportModel({ format: args.format, files: await modelFiles(args.id, args.files) });
    else result = await ft[op](args);
    const transfer = [];
    collectBuffers(result, transfer);
    postMessage({ id, ok: true, result }, transfer);
  } catch (err) {
    postMessage({ id, ok: false, error: String(err && err.message ? err.message : err) });
  }
};

function collectBuffers(v, out) {
  if (!v || typeof v !== 'object') return;
  if (ArrayBuffer.isView(v)) { if (!out.includes(v.buffer)) out.push(v.buffer); return; }
  for (const k of Object.keys(v)) collectBuffers(v[k], out);
}
