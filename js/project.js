// The project file (.ftproj): everything needed to resume or share work without the raw images:
// classes, settings, per-sample features, thumbnails and the trained head (source images only when
// asked). Layout:
//
//   "FTPROJ\0" (7 bytes) · version (1 byte) · header length (uint32 LE) · header JSON · data
//
// The header lists every sample with [offset, length] ranges into the data section.

const MAGIC = 'FTPROJ\0';
const VERSION = 1;
export const PROJECT_MIME = 'application/x-finetuner-project';

/**
 * encodeProject returns a Blob. p = {classes:[{id,name}], settings, backbone:{id,dim},
 * samples:[{id, classId, thumb:Blob, src:Blob, feat:Float32Array|null, featKey}], head:Uint8Array|null,
 * report, curves (the plot's history, Plot.snapshot)}; withImages adds the source images.
 */
export function encodeProject(p, withImages) {
  const parts = [];
  let off = 0;
  const add = (data) => {
    if (!data) return null;
    const size = data instanceof Blob ? data.size : data.byteLength;
    parts.push(data);
    const range = [off, size];
    off += size;
    return range;
  };
  const samples = p.samples.map((s) => ({
    id: s.id,
    classId: s.classId,
    thumb: add(s.thumb),
    src: withImages ? add(s.src) : null,
    feat: s.feat && s.featKey === p.backbone.id ? add(s.feat) : null,
  }));
  const header = {
    format: 'finetuner-project', version: VERSION, created: new Date().toISOString(),
    classes: p.classes.map((c) => ({ id: c.id, name: c.name })),
    settings: p.settings, backbone: p.backbone, report: p.report || null, curves: p.curves || null,
    head: add(p.head), samples,
  };
  const json = new TextEncoder().encode(JSON.stringify(header));
  const pre = new Uint8Array(12);
  pre.set(new TextEncoder().encode(MAGIC), 0);
  pre[7] = VERSION;
  new DataView(pre.buffer).setUint32(8, json.byteLength, true);
  return new Blob([pre, json, ...parts], { type: PROJECT_MIME });
}

function fail(msg) { throw new Error(`Not a valid project file: ${msg}`); }

/** decodeProject parses a project file; every inconsistency is an error that says what is wrong. */
export async function decodeProject(file) {
  if (file.size < 12) fail(`only ${file.size} bytes`);
  const pre = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  if (new TextDecoder().decode(pre.subarray(0, 7)) !== MAGIC) fail('wrong magic bytes (is this a .ftproj file?)');
  if (pre[7] !== VERSION) fail(`format version ${pre[7]}, this app reads version ${VERSION}`);
  const hlen = new DataView(pre.buffer).getUint32(8, true);
  if (12 + hlen > file.size) fail(`header of ${hlen} bytes runs past the end of the ${file.size}-byte file`);
  let h;
  try {
    h = JSON.parse(new TextDecoder().decode(await file.slice(12, 12 + hlen).arrayBuffer()));
  } catch (e) {
    fail(`header is not JSON (${e.message})`);
  }
  if (!h || h.format !== 'finetuner-project') fail('header has no finetuner-project format tag');
  const dataStart = 12 + hlen;
  const dataLen = file.size - dataStart;
  const slice = (r, what) => {
    if (r == null) return null;
    if (!Array.isArray(r) || r.length !== 2 || !Number.isInteger(r[0]) || !Number.isInteger(r[1]) || r[0] < 0 || r[1] < 0 || r[0] + r[1] > dataLen) {
      fail(`${what} has a bad byte range ${JSON.stringify(r)}`);
    }
    return file.slice(dataStart + r[0], dataStart + r[0] + r[1]);
  };
  if (!Array.isArray(h.classes) || h.classes.length < 1) fail('no classes');
  const classIds = new Set();
  for (const c of h.classes) {
    if (!c || typeof c.name !== 'string' || !(typeof c.id === 'string' || typeof c.id === 'number')) fail('a class without id or name');
    if (classIds.has(c.id)) fail(`class id ${c.id} appears twice`);
    classIds.add(c.id);
  }
  const bb = h.backbone || {};
  if (typeof bb.id !== 'string' || !Number.isInteger(bb.dim) || bb.dim <= 0) fail('missing backbone id or feature dimension');
  if (!Array.isArray(h.samples)) fail('no sample list');
  const samples = [];
  for (const [i, s] of h.samples.entries()) {
    if (!classIds.has(s.classId)) fail(`sample ${i} belongs to unknown class ${s.classId}`);
    const featBlob = slice(s.feat, `sample ${i} features`);
    if (featBlob && featBlob.size !== bb.dim * 4) fail(`sample ${i} features have ${featBlob.size / 4} values, the backbone ${bb.id} gives ${bb.dim}`);
    const thumb = slice(s.thumb, `sample ${i} thumbnail`);
    if (!thumb) fail(`sample ${i} has no thumbnail`);
    const feat = featBlob ? new Float32Array(await featBlob.arrayBuffer()) : null;
    if (feat && !feat.every(Number.isFinite)) fail(`sample ${i} features contain NaN or infinity`);
    samples.push({
      classId: s.classId,
      thumb: new Blob([thumb], { type: 'image/jpeg' }),
      src: s.src ? new Blob([slice(s.src, `sample ${i} image`)], { type: 'image/jpeg' }) : null,
      feat,
      featKey: feat ? bb.id : '',
    });
  }
  // The training curves are optional (older files have none); the plot checks each message's
  // fields when it draws them, so here only the shape: a list of {type: string} messages.
  if (h.curves != null && (!Array.isArray(h.curves) || !h.curves.every((m) => m && typeof m === 'object' && typeof m.type === 'string'))) {
    fail('curves are not a list of plot messages');
  }
  const headBlob = slice(h.head, 'head');
  return {
    classes: h.classes.map((c) => ({ id: String(c.id), name: c.name })),
    settings: h.settings || {},
    backbone: bb,
    report: h.report || null,
    curves: h.curves || null,
    head: headBlob ? new Uint8Array(await headBlob.arrayBuffer()) : null,
    samples,
  };
}

/** download saves a Blob under a file name, without leaving the page. */
export function download(blob, name) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
