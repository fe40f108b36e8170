// Image handling on the page: any source (file, webcam frame, demo image) becomes a square sample:
// the centre crop at the backbone's input size (RGBA pixels for the worker, and a JPEG kept to
// re-extract when the backbone changes) plus a small thumbnail. Transparent areas (the demo set's
// cut-out photos) are composed onto white.

export const THUMB = 64;

function canvas(size) {
  if (typeof OffscreenCanvas === 'function') return new OffscreenCanvas(size, size);
  const c = document.createElement('canvas');
  c.width = c.height = size;
  return c;
}

function toBlob(c, type, quality) {
  if (c.convertToBlob) return c.convertToBlob({ type, quality });
  return new Promise((resolve, reject) => c.toBlob((b) => b ? resolve(b) : reject(new Error('canvas encoding failed')), type, quality));
}

/** sourceSize returns the pixel size of an image-like source. */
function sourceSize(src) {
  if (src.videoWidth !== undefined) return [src.videoWidth, src.videoHeight];
  if (src.naturalWidth !== undefined) return [src.naturalWidth, src.naturalHeight];
  return [src.width, src.height];
}

/** drawSquare draws the centre square of src onto a size×size white canvas. */
export function drawSquare(src, size, mirror = false) {
  const [w, h] = sourceSize(src);
  if (!w || !h) throw new Error('the image has no pixels');
  const c = canvas(size);
  const g = c.getContext('2d', { willReadFrequently: true });
  g.fillStyle = '#fff';
  g.fillRect(0, 0, size, size);
  g.imageSmoothingEnabled = true;
  g.imageSmoothingQuality = 'high';
  const s = Math.min(w, h);
  if (mirror) { g.translate(size, 0); g.scale(-1, 1); }
  g.drawImage(src, (w - s) / 2, (h - s) / 2, s, s, 0, 0, size, size);
  return c;
}

/**
 * makeSample turns a source into {rgba, size, src, thumb}: rgba is an ArrayBuffer of size×size×4
 * for the worker, src a JPEG of the crop (kept to re-extract later), thumb a small JPEG.
 */
export async function makeSample(source, size) {
  const c = drawSquare(source, size);
  const rgba = c.getContext('2d').getImageData(0, 0, size, size).data.buffer;
  const [src, thumb] = await Promise.all([toBlob(c, 'image/jpeg', 0.9), thumbnail(c)]);
  return { rgba, size, src, thumb };
}

/** thumbnail shrinks a square (drawSquare's canvas) to a THUMB×THUMB JPEG. */
export function thumbnail(square, quality = 0.8) {
  const t = canvas(THUMB);
  const tg = t.getContext('2d');
  tg.imageSmoothingQuality = 'high';
  tg.drawImage(square, 0, 0, THUMB, THUMB);
  return toBlob(t, 'image/jpeg', quality);
}

/** decodeBlob decodes an image file; the error names the file when it is not a readable image. */
export async function decodeBlob(blob, name = 'image') {
  try {
    return await createImageBitmap(blob);
  } catch {
    throw new Error(`${name}: not a readable image (${blob.type || 'unknown type'}, ${blob.size} bytes)`);
  }
}

/** pixelsOf re-reads a stored source JPEG into RGBA at the given size. */
export async function pixelsOf(srcBlob, size) {
  const bmp = await decodeBlob(srcBlob, 'stored sample');
  try {
    const c = drawSquare(bmp, size);
    return c.getContext('2d').getImageData(0, 0, size, size).data.buffer;
  } finally {
    bmp.close();
  }
}

export function isImageFile(f) {
  return /^image\//.test(f.type) || /\.(png|jpe?g|gif|webp|bmp|avif)$/i.test(f.name);
}

/**
 * filesFromDrop walks a drop's items, folders included. It returns [{file, path}] where path is
 * the folder path inside the drop ("" for loose files), so subfolders can become classes.
 */
export async function filesFromDrop(dt) {
  const entries = [];
  for (const item of dt.items || []) {
    const e = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
    if (e) entries.push(e);
  }
  if (!entries.length) return [...(dt.files || [])].map((file) => ({ file, path: '' }));
  const out = [];
  const walk = async (entry, dir) => {
    if (entry.isFile) {
      const file = await new Promise((res, rej) => entry.file(res, rej));
      out.push({ file, path: dir });
    } else if (entry.isDirectory) {
      const reader = entry.createReader();
      const sub = dir ? `${dir}/${entry.name}` : entry.name;
      for (;;) {
        const batch = await new Promise((res, rej) => reader.readEntries(res, rej));
        if (!batch.length) break;
        for (const b of batch) await walk(b, sub);
      }
    }
  };
  for (const e of entries) await walk(e, '');
  return out;
}

/**
 * groupByFolder maps dropped files to classes: a single dropped folder whose files sit in
 * subfolders gives one class per subfolder; otherwise files in a folder go to a class named after it.
 */
export function groupByFolder(items) {
  const groups = new Map();
  const tops = new Set(items.map((i) => i.path.split('/')[0]));
  const nested = items.some((i) => i.path.includes('/'));
  for (const it of items) {
    if (!isImageFile(it.file)) continue;
    const parts = it.path ? it.path.split('/') : [];
    let name;
    if (tops.size === 1 && nested) name = parts[1] || parts[0] || '';
    else name = parts[0] || '';
    if (!groups.has(name)) groups.set(name, []);
    groups.get(name).push(it.file);
  }
  return groups;
}
