// The Robustness check panel's operations inside the trainer worker (js/worker.js loads this file
// with importScripts and merges the ops). They drive the Go entry points of wasm/trainer/robust.go:
// a separate copy of the backbone, three students and the mimicry attack.
'use strict';
self.robustOps = function (getFt, fetchBytes, base) {
  return {
    // robustSetup fetches the backbone's files (as loadBackbone does) and loads them at size².
    async robustSetup({ id, size, blocks }) {
      const dir = new URL(`models/${encodeURIComponent(id)}/`, base);
      const bytes = { 'model.json': await fetchBytes(new URL('model.json', dir)) };
      let model;
      try { model = JSON.parse(new TextDecoder().decode(bytes['model.json'])); } catch (e) {
        throw new Error(`models/${id}/model.json is not JSON: ${e.message}`);
      }
      for (const f of (model.weightsManifest || []).flatMap((g) => g.paths || [])) bytes[f] = await fetchBytes(new URL(f, dir));
      return getFt().robustSetup(bytes, size, blocks);
    },
    robustAdd({ rgba, width, height, label }) {
      return getFt().robustAdd(new Uint8Array(rgba), width, height, label);
    },
    robustTrain({ labels, epochs }) {
      return getFt().robustTrain(labels, epochs, (text) => postMessage({ type: 'robust-progress', text }));
    },
    robustAttack({ source, target, iters, budget }) {
      return getFt().robustAttack(source, target, iters, budget);
    },
  };
};
