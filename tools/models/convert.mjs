// convert.mjs turns the TF.js graph models shipped inside npm packages into the project's compact
// backbone format: public/models/<id>/model.json (a TF.js graph model pruned to the nodes the
// feature tap depends on, the input fixed at the size we run, plus a "finetuner" block describing
// it) and public/models/<id>/weights.bin (the weights those nodes need, still float16 or uint8 as
// the package stored them), and public/models/manifest.json listing every backbone.
//
// usage: node tools/models/convert.mjs PKGDIR OUTDIR
//   PKGDIR holds the unpacked packages (PKGDIR/human/package, PKGDIR/nsfwjs/package)
//
// nsfwjs ships its model as UMD JavaScript (model.min.js exporting the model.json object,
// group1-shardKofN.min.js each exporting a base64 string); those modules are evaluated in an empty
// vm context, never with access to this process.
import fs from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import crypto from 'node:crypto';

export const BACKBONES = [
  {
    id: 'centernet',
    name: 'MobileNetV3 (MB3-CenterNet backbone)',
    pkg: 'human',
    source: '@vladmandic/human@3.3.6 models/centernet.json + centernet.bin',
    model: 'models/centernet.json',
    inputSize: 224,
    inputRange: [0, 255],
    tap: 'tower_0/extern1/hard_swish/mul_1',
    pool: 'mean',
    dim: 480,
    licence: 'MIT',
    provenance:
      'MobileNetV3 backbone of MB3-CenterNet (github.com/610265158/mobilenetv3_centernet): ImageNet-initialised, ' +
      'then trained on COCO for object detection; converted to TF.js by Vladimir Mandic for @vladmandic/human (MIT). ' +
      'The detection head is dropped: features are the stride-32, 480-channel map tower_0/extern1/hard_swish/mul_1 averaged over space.',
  },
  {
    id: 'mobilenetv2',
    name: 'MobileNetV2 1.4 (nsfwjs, NSFW-fine-tuned)',
    pkg: 'nsfwjs',
    source: 'nsfwjs@4.4.0 dist/models/mobilenet_v2_mid/ (model.min.js + group1-shard{1,2}of2.min.js)',
    model: 'dist/models/mobilenet_v2_mid/model.min.js',
    inputSize: 224,
    inputRange: [0, 1],
    tap: 'StatefulPartitionedCall/sequential/keras_layer/StatefulPartitionedCall/StatefulPartitionedCall/StatefulPartitionedCall/predict/feature_vector/SpatialSqueeze',
    pool: 'none',
    dim: 1792,
    licence: 'MIT',
    provenance:
      'MobileNetV2 (depth multiplier 1.4) from nsfwjs by Infinite Red (MIT), an ImageNet MobileNetV2 that was fine-tuned ' +
      'end to end on NSFW data (classes drawing, hentai, neutral, porn, sexy). Its 1792->5 classification head is dropped: ' +
      'features are the 1792-d pooled feature_vector/SpatialSqueeze. Expect features tuned to that task.',
  },
];

// evalUMD runs a UMD bundle in an empty context and returns what it exports.
export function evalUMD(file) {
  const module = { exports: {} };
  vm.runInNewContext(fs.readFileSync(file, 'utf8'), { module, exports: module.exports }, { filename: file, timeout: 60000 });
  return module.exports;
}

// readGraphModel returns {json, weights: Buffer[] per manifest group} from a model.json or a
// UMD model.min.js with its shard modules.
export function readGraphModel(file) {
  const dir = path.dirname(file);
  const umd = file.endsWith('.js');
  const json = umd ? evalUMD(file) : JSON.parse(fs.readFileSync(file, 'utf8'));
  if (json.format !== 'graph-model') throw new Error(`${file}: format ${json.format}, want graph-model`);
  const weights = json.weightsManifest.map((g) =>
    Buffer.concat(
      g.paths.map((p) => {
        if (!umd) return fs.readFileSync(path.join(dir, p));
        const s = evalUMD(path.join(dir, p + '.min.js'));
        if (typeof s !== 'string') throw new Error(`${p}.min.js does not export a base64 string`);
        return Buffer.from(s, 'base64');
      }),
    ),
  );
  return { json, weights };
}

const BYTES = { float32: 4, int32: 4, float16: 2, uint16: 2, uint8: 1, bool: 1 };

// weightBytes is the stored size of one manifest entry.
function weightBytes(w) {
  const n = w.shape.reduce((a, b) => a * b, 1);
  const dt = w.quantization ? w.quantization.dtype : w.dtype;
  if (!(dt in BYTES)) throw new Error(`weight ${w.name}: unsupported dtype ${dt}`);
  return n * BYTES[dt];
}

// prune keeps the nodes the tap depends on and the weights of the kept constants.
export function prune(json, weights, tap, inputSize) {
  const nodes = json.modelTopology.node;
  const byName = new Map(nodes.map((n) => [n.name, n]));
  if (!byName.has(tap)) throw new Error(`tap ${tap} is not in the graph`);
  const keep = new Set();
  const stack = [tap];
  while (stack.length) {
    const name = stack.pop().replace(/^\^/, '').replace(/:\d+$/, '');
    if (keep.has(name)) continue;
    keep.add(name);
    for (const i of byName.get(name).input || []) if (!i.startsWith('^')) stack.push(i);
  }
  const kept = nodes.filter((n) => keep.has(n.name)).map((n) => ({ ...n, input: (n.input || []).filter((i) => !i.startsWith('^')) }));
  for (const n of kept) {
    if (n.op === 'Placeholder') {
      n.attr.shape.shape.dim = [{ size: '1' }, { size: String(inputSize) }, { size: String(inputSize) }, { size: '3' }];
    }
  }
  const specs = [];
  const parts = [];
  json.weightsManifest.forEach((g, gi) => {
    let off = 0;
    for (const w of g.weights) {
      const n = weightBytes(w);
      if (keep.has(w.name)) {
        specs.push(w);
        parts.push(weights[gi].subarray(off, off + n));
      }
      off += n;
    }
    if (off !== weights[gi].length) throw new Error(`weights group ${gi}: manifest says ${off} bytes, files hold ${weights[gi].length}`);
  });
  return { nodes: kept, specs, data: Buffer.concat(parts) };
}

function sha256(b) {
  return crypto.createHash('sha256').update(b).digest('hex');
}

function main() {
  const [pkgDir, outDir] = process.argv.slice(2);
  if (!pkgDir || !outDir) {
    console.error('usage: node tools/models/convert.mjs PKGDIR OUTDIR');
    process.exit(2);
  }
  const manifest = { format: 'finetuner-backbones/1', backbones: [] };
  for (const b of BACKBONES) {
    const file = path.join(pkgDir, b.pkg, 'package', b.model);
    const { json, weights } = readGraphModel(file);
    const { nodes, specs, data } = prune(json, weights, b.tap, b.inputSize);
    // dim is what the tap is expected to give; the Go loader computes it from the graph and refuses
    // a model whose declared dim disagrees.
    const info = {
      id: b.id, name: b.name, inputSize: b.inputSize, inputRange: b.inputRange, tap: b.tap, pool: b.pool,
      dim: b.dim, bytes: 0, licence: b.licence, provenance: b.provenance, source: b.source,
    };
    const model = {
      format: 'graph-model',
      generatedBy: json.generatedBy,
      convertedBy: 'finetuner tools/models/convert.mjs from ' + b.source,
      modelTopology: { node: nodes, library: {}, versions: json.modelTopology.versions || {} },
      weightsManifest: [{ paths: ['weights.bin'], weights: specs }],
      finetuner: info,
    };
    const dir = path.join(outDir, b.id);
    fs.mkdirSync(dir, { recursive: true });
    let text = JSON.stringify(model);
    info.bytes = Buffer.byteLength(text) + data.length;
    text = JSON.stringify(model);
    fs.writeFileSync(path.join(dir, 'model.json'), text);
    fs.writeFileSync(path.join(dir, 'weights.bin'), data);
    manifest.backbones.push({ ...info, files: { 'model.json': sha256(Buffer.from(text)), 'weights.bin': sha256(data) } });
    console.log(`${b.id}: ${nodes.length} of ${json.modelTopology.node.length} nodes, ${specs.length} weights, ${(data.length / 1e6).toFixed(2)} MB -> ${dir}`);
  }
  fs.writeFileSync(path.join(outDir, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n');
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('convert.mjs')) main();
