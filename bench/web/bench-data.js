// bench-data.js: the benchmark's data and statistics, pure functions that bench-host.js loads with
// importScripts (a classic worker: tfjs and Go's wasm_exec.js ship as plain scripts).
'use strict';

// xorshift32, seeded: the same data for every engine and every run.
function rng(seed) {
  let s = (seed >>> 0) || 0x9e3779b9;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s / 4294967296;
  };
}

// blobs returns N rows of D features in C Gaussian classes: class means drawn N(0, sep²) per
// feature, unit noise, labels i mod C. A learnable but not trivial problem, so that the final
// loss and accuracy say whether two engines did the same work. fast draws uniform noise instead of
// Gaussian (for the scale runs, where generating hundreds of millions of values must be quick).
function blobs(N, D, C, seed, sep, fast = false) {
  const r = rng(seed);
  const gauss = () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
  const means = new Float32Array(C * D);
  for (let i = 0; i < means.length; i++) means[i] = gauss() * sep;
  const x = new Float32Array(N * D);
  const y = new Int32Array(N);
  const noise = fast ? () => 3.4641016 * (r() - 0.5) : gauss; // uniform with unit variance
  for (let i = 0; i < N; i++) {
    const c = i % C;
    y[i] = c;
    const row = i * D, m = c * D;
    for (let k = 0; k < D; k++) x[row + k] = means[m + k] + noise();
  }
  const labels = Array.from({ length: C }, (_, c) => `class${c}`);
  return { x, y, n: N, d: D, C, labels };
}

const median = (a) => { const s = [...a].sort((p, q) => p - q); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const diffs = (t) => t.map((v, i) => v - (i ? t[i - 1] : 0));
