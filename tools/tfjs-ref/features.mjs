// features.mjs computes the reference features for the backbone golden test with TensorFlow.js
// (@tensorflow/tfjs + @tensorflow/tfjs-backend-wasm 4.22.0, pinned in package.json) from the
// ORIGINAL model files inside the npm packages — not from our converted copies — so that the test
// also checks the converter. For each backbone it reads DIR/inputs_<id>.f32 (written by
// tools/golden), runs the graph to the tap (averaging over space where the backbone pools), and
// writes DIR/ref_<id>.f32. It also times tfjs-wasm per image (batch 1 and batch 8), the peer
// number for the benchmark.
//
// usage: node tools/tfjs-ref/features.mjs PKGDIR DIR [BACKEND]   (BACKEND: wasm (default) or cpu)
import fs from 'node:fs';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { BACKBONES, readGraphModel } from '../models/convert.mjs';

const [pkgDir, dir, backend = 'wasm'] = process.argv.slice(2);
if (!pkgDir || !dir) {
  console.error('usage: node tools/tfjs-ref/features.mjs PKGDIR DIR [wasm|cpu]');
  process.exit(2);
}
await tf.setBackend(backend);
await tf.ready();

for (const b of BACKBONES) {
  const { json, weights } = readGraphModel(path.join(pkgDir, b.pkg, 'package', b.model));
  // The declared input size (512 for CenterNet) is fixed in the placeholder; tfjs checks it, so
  // declare the size we run at. Nothing else about the graph changes.
  for (const n of json.modelTopology.node) {
    if (n.op === 'Placeholder') {
      n.attr.shape.shape.dim = [{ size: '-1' }, { size: String(b.inputSize) }, { size: String(b.inputSize) }, { size: '3' }];
    }
  }
  const weightSpecs = json.weightsManifest.flatMap((g) => g.weights);
  const data = Buffer.concat(weights);
  const weightData = data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength);
  const model = await tf.loadGraphModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs, weightData }));

  const raw = fs.readFileSync(path.join(dir, `inputs_${b.id}.f32`));
  const S = b.inputSize;
  const per = S * S * 3;
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const n = all.length / per;
  const features = (x) =>
    tf.tidy(() => {
      const t = model.execute(x, b.tap);
      return b.pool === 'mean' ? tf.mean(t, [1, 2]) : t.reshape([x.shape[0], -1]);
    });
  const out = new Float32Array(n * b.dim);
  for (let i = 0; i < n; i++) {
    const x = tf.tensor4d(all.subarray(i * per, (i + 1) * per), [1, S, S, 3]);
    const f = features(x);
    const v = f.dataSync();
    if (v.length !== b.dim) throw new Error(`${b.id}: tfjs gives ${v.length} features, want ${b.dim}`);
    out.set(v, i * b.dim);
    tf.dispose([x, f]);
  }
  fs.writeFileSync(path.join(dir, `ref_${b.id}.f32`), Buffer.from(out.buffer));

  // Timing: batch 1 over the photos, then batches of 8 (repeating photos), after a warm-up.
  const time = (batch, reps) => {
    const x = tf.tensor4d(all.subarray(0, Math.min(n, batch) * per).length === batch * per
      ? all.subarray(0, batch * per)
      : Float32Array.from({ length: batch * per }, (_, k) => all[k % all.length]), [batch, S, S, 3]);
    features(x).dispose();
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    for (let r = 0; r < reps; r++) features(x).dataSync();
    const c = process.cpuUsage(c0);
    const ms = (performance.now() - t0) / (reps * batch);
    const cpu = (c.user + c.system) / 1000 / (reps * batch);
    x.dispose();
    return `${ms.toFixed(1)} ms/image (${cpu.toFixed(1)} cpu-ms/image)`;
  };
  const t1 = time(1, 5);
  const t8 = time(8, 2);
  console.log(`${b.id}: tfjs-${backend} ${n} photos -> ref_${b.id}.f32; batch 1: ${t1}; batch 8: ${t8}`);
  model.dispose();
}
