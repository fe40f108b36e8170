// The trainer Web Worker: loads wasm_exec.js and the Go trainer (public/build/trainer-simd.wasm, or
// trainer.wasm where WebAssembly SIMD is missing), which registers globalThis.finetuner, then serves
// the page's calls. Long work runs in Go goroutines that yield, so pause and stop messages get
// through while a head trains.
'use strict';
importScripts('../public/build/wasm_exec.js');

const base = new URL('../public/', self.location.href);
let ft = null;

// simd128 says whether this browser runs WebAssembly SIMD: the smallest module with a v128 (one
// function returning v128.const 0) validates only where it does. There the trainer built with the
// SIMD128 kernels runs, elsewhere the scalar one; a worker named "kernels=scalar" (the page's
// ?kernels=scalar, js/bridge.js) runs the scalar one anyway.
const simd128 = () => typeof WebAssembly === 'object' && WebAssembly.validate(new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
  10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 11]));
const trainerFile = self.name !== 'kernels=scalar' && simd128()
  ? 'trainer-simd.wasm' : 'trainer.wasm';

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

const ops = {
  // loadBackbone fetches a converted model (public/models/<id>/) and hands its files to Go.
  // files maps each file of the model to its sha256 (the manifest's "files"), checked here so a
  // stale or damaged cache never feeds the network wrong weights. Without it, model.json's
  // weightsManifest names the weight shards.
  async loadBackbone({ id, files }) {
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
      return ft.loadBackbone(id, bytes);
    }
    if (!files || !files.length) {
      bytes['model.json'] = await fetchBytes(new URL('model.json', dir));
      let model;
      try { model = JSON.parse(new TextDecoder().decode(bytes['model.json'])); } catch (e) {
        throw new Error(`models/${id}/model.json is not JSON: ${e.message}`);
      }
      files = (model.weightsManifest || []).flatMap((g) => g.paths || []);
    }
    for (const f of files) if (!bytes[f]) bytes[f] = await fetchBytes(new URL(f, dir));
    return ft.loadBackbone(id, bytes);
  },
  // extract turns RGBA pixels into a feature vector (Float32Array); with augment ("flip",
  // "crops", "flip,crops") into one vector per view, the plain view first, concatenated.
  extract({ rgba, width, height, augment }) {
    return ft.extract(new Uint8Array(rgba), width, height, augment || 'none');
  },
  // train fits a head on x (n×d features) and y (labels); group, if given, marks the rows that
  // are views of one image. Progress events go to the page.
  train({ x, y, n, d, labels, config, group }) {
    return ft.train(new Float32Array(x), new Int32Array(y), n, d, labels,
      JSON.stringify(config), (evs) => postMessage({ type: 'events', events: JSON.parse(evs) }),
      group ? new Int32Array(group) : undefined);
  },
  pause() { return ft.pause(); },
  resume() { return ft.resume(); },
  stop() { return ft.stop(); },
  predict({ rgba, width, height }) { return ft.predict(new Uint8Array(rgba), width, height); },
  exportHead() { return ft.exportHead(); },
  importHead({ bytes }) { return ft.importHead(new Uint8Array(bytes)); },
};

self.onmessage = async (e) => {
  const { id, op, args } = e.data;
  try {
    await boot;
    const fn = ops[op];
    if (!fn) throw new Error(`unknown trainer op ${op}`);
    const result = await fn(args || {});
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
