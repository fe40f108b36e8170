// The training progress stream as the trainer encodes it (head/progress): each event is FIELDS.length
// float64s in this order, its kind the index in KINDS, hasVal 0 or 1. Batches travel as Float64Arrays
// from the trainer to the page and on to the plot frame unchanged; the page decodes only what it
// shows (status lines, the embed's epoch messages) and what it saves (the curves of a project).

export const FIELDS = ['kind', 'epoch', 'epochs', 'step', 'steps', 'trainLoss', 'trainAcc', 'hasVal', 'valLoss', 'valAcc', 'lr', 'lambda', 'samplesPerSec', 'elapsedMs'];
export const KINDS = ['step', 'epoch', 'trial', 'done'];
const W = FIELDS.length;

/** decodeEvents turns a Float64Array of encoded events into objects {kind, epoch, ...}. */
export function decodeEvents(a) {
  const out = [];
  for (let o = 0; o + W <= a.length; o += W) {
    const e = {};
    for (let j = 0; j < W; j++) e[FIELDS[j]] = a[o + j];
    e.kind = KINDS[e.kind];
    e.hasVal = e.hasVal !== 0;
    out.push(e);
  }
  return out;
}

/** encodeEvents packs event objects (a saved project's curves) into the trainer's encoding. */
export function encodeEvents(list) {
  const a = new Float64Array(list.length * W);
  list.forEach((e, i) => {
    for (let j = 0; j < W; j++) {
      const f = FIELDS[j];
      const v = f === 'kind' ? KINDS.indexOf(e.kind) : f === 'hasVal' ? (e.hasVal ? 1 : 0) : Number(e[f] || 0);
      if (f === 'kind' && v < 0) throw new Error(`unknown progress event kind ${JSON.stringify(e.kind)}`);
      a[i * W + j] = v;
    }
  });
  return a;
}

/** concatEvents joins batches of encoded events into one array. */
export function concatEvents(batches) {
  const a = new Float64Array(batches.reduce((n, b) => n + b.length, 0));
  let o = 0;
  for (const b of batches) { a.set(b, o); o += b.length; }
  return a;
}
