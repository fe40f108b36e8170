// Runs each exported model on the network inputs tools/exportcheck wrote and compares its
// probabilities with our Go runtime's: window.checkResults[id] = {n, tfjs, onnx: max |Δp|,
// error}. Every file comes from this origin (TensorFlow.js and onnxruntime-web from the pinned
// npm packages).
const log = (s) => {
  (window.checkLog ||= []).push(s);
  document.getElementById('log').textContent += s + '\n';
};

async function fetchOK(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: ${r.status}`);
  return r;
}

function maxDiff(got, want) {
  if (got.length !== want.length) throw new Error(`${got.length} probabilities, want ${want.length}`);
  let d = 0;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= d)) d = Number.isNaN(e) ? Infinity : e;
  }
  return d;
}

async function checkTFJS(id, exp, input) {
  const model = await tf.loadGraphModel(`/data/${id}/tfjs/model.json`);
  const meta = model.metadata?.finetuner;
  if (!meta || meta.labels.join('\n') !== exp.labels.join('\n')) throw new Error(`tfjs: metadata labels ${JSON.stringify(meta?.labels)}`);
  const S = exp.size;
  const x = tf.tensor4d(input, [exp.n, S, S, 3]);
  const y = model.predict(x);
  const got = await y.data();
  tf.dispose([x, y]);
  model.dispose();
  return maxDiff(got, exp.probs);
}

async function checkONNX(id, exp, input) {
  const bytes = new Uint8Array(await (await fetchOK(`/data/${id}/model.onnx`)).arrayBuffer());
  const session = await ort.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  if (session.inputNames.join() !== 'image' || session.outputNames.join() !== 'probabilities') {
    throw new Error(`onnx: inputs ${session.inputNames}, outputs ${session.outputNames}`);
  }
  const S = exp.size;
  const out = await session.run({ image: new ort.Tensor('float32', input, [exp.n, S, S, 3]) });
  const d = maxDiff(out.probabilities.data, exp.probs);
  await session.release();
  return d;
}

async function main() {
  // No cross-origin isolation here, so one thread; the wasm files come from /vendor/ort/.
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = '/vendor/ort/';
  tf.wasm.setWasmPaths({
    'tfjs-backend-wasm.wasm': '/vendor/tfjs-backend-wasm.wasm',
    'tfjs-backend-wasm-simd.wasm': '/vendor/tfjs-backend-wasm-simd.wasm',
    'tfjs-backend-wasm-threaded-simd.wasm': '/vendor/tfjs-backend-wasm-threaded-simd.wasm',
  });
  if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend failed to start');
  await tf.ready();
  const results = {};
  for (const id of new URLSearchParams(location.search).get('ids').split(',')) {
    const r = (results[id] = {});
    try {
      const exp = await (await fetchOK(`/data/${id}/expected.json`)).json();
      const input = new Float32Array(await (await fetchOK(`/data/${id}/inputs.f32`)).arrayBuffer());
      r.n = exp.n;
      r.tfjs = await checkTFJS(id, exp, input);
      r.onnx = await checkONNX(id, exp, input);
      log(`${id}: tfjs ${r.tfjs}, onnx ${r.onnx}`);
    } catch (e) {
      r.error = String(e?.stack || e);
      log(`${id}: ${r.error}`);
    }
  }
  window.checkResults = results;
}

main()
  .catch((e) => {
    window.checkResults = { page: { error: String(e?.stack || e) } };
  })
  .finally(() => {
    window.checkDone = true;
  });
