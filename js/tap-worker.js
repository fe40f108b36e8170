// The trainer worker (js/worker.js) with two more ops, for the kiosk and the docs embed:
//   loadBackboneAt({id, files, tap, pool}) loads a backbone with its feature tap moved to another
//     node of the graph (a mid-level block instead of the last one): same weights, model.json's
//     "finetuner" block rewritten before Go compiles it;
//   memory() reports the Go wasm instance's linear memory, for the kiosk's soak gauge.
// worker.js defines `ops` as a top-level const of a classic worker script; scripts loaded with
// importScripts share that global scope, so the ops table is extended here rather than copied.
'use strict';

let wasmMemory = null;
const instantiateStreaming = WebAssembly.instantiateStreaming;
WebAssembly.instantiateStreaming = async (...args) => {
  const r = await instantiateStreaming(...args);
  if (r.instance.exports.mem instanceof WebAssembly.Memory) wasmMemory = r.instance.exports.mem;
  return r;
};

// A strictly increasing clock for the Go runtime (wasm_exec.js reads performance.now() for its
// nanotime). Worker clocks tick in 100 µs steps, so an epoch over a handful of samples measured
// zero seconds, the trainer's samples/s became +Inf, its JSON encoding failed and the whole batch
// of progress events was lost. Each reading now moves on by at least 1 µs (Go turns the reading
// into nanoseconds since 1970 in a float64, whose step there is about 256 ns).
const realNow = performance.now.bind(performance);
let lastNow = 0;
performance.now = () => { const t = realNow(); lastNow = t > lastNow ? t : lastNow + 1e-3; return lastNow; };

importScripts('./worker.js');

/* global ops, ft, fetchBytes, base */
ops.loadBackboneAt = async ({ id, files, tap, pool }) => {
  if (!tap) return ops.loadBackbone({ id, files });
  const dir = new URL(`models/${encodeURIComponent(id)}/`, base);
  const bytes = {};
  const model = JSON.parse(new TextDecoder().decode(await fetchBytes(new URL('model.json', dir))));
  if (!model.finetuner) throw new Error(`models/${id}/model.json has no finetuner block`);
  model.finetuner = { ...model.finetuner, tap, pool: pool || 'mean', dim: 0 };
  bytes['model.json'] = new TextEncoder().encode(JSON.stringify(model));
  for (const f of (model.weightsManifest || []).flatMap((g) => g.paths || [])) bytes[f] = await fetchBytes(new URL(f, dir));
  return ft.loadBackbone(id, bytes);
};

ops.memory = () => ({ wasmBytes: wasmMemory ? wasmMemory.buffer.byteLength : 0 });
