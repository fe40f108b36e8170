// Cuts the plot frame's Japanese fallback font out of Droid Sans Fallback (Debian fonts-droid-fallback,
// Apache-2.0) with subset-font (HarfBuzz hb-subset compiled to wasm), called by scripts/web.sh:
//
//   node scripts/plot-font.mjs SOURCE.ttf OUT.ttf
//
// The subset keeps what Japanese labels and class names need: Basic Latin, Latin-1, general
// punctuation, CJK symbols and punctuation, hiragana, katakana, halfwidth and fullwidth forms, and
// every character of JIS X 0208 (its symbols, kana, Greek, Cyrillic, and the 6,355 kanji of levels
// 1 and 2). The full font carries about 20,000 more ideographs that Japanese text hardly ever uses.
import { readFile, writeFile, rename } from 'node:fs/promises';
import subsetFont from 'subset-font';

const ranges = [
  [0x0020, 0x007e], // Basic Latin
  [0x00a0, 0x00ff], // Latin-1 Supplement
  [0x2000, 0x206f], // General Punctuation
  [0x3000, 0x303f], // CJK Symbols and Punctuation
  [0x3040, 0x309f], // Hiragana
  [0x30a0, 0x30ff], // Katakana
  [0xff00, 0xffef], // Halfwidth and Fullwidth Forms
];

// jisX0208 decodes every double-byte Shift_JIS code of JIS X 0208: rows 1–8 (symbols, kana,
// Greek, Cyrillic, box drawing) have lead bytes 0x81–0x84, rows 16–84 (the kanji) 0x88–0x9f and
// 0xe0–0xea. WHATWG's shift_jis is Windows-31J: the other lead bytes hold NEC and IBM extensions,
// which are not JIS X 0208 and are left out.
function jisX0208() {
  const dec = new TextDecoder('shift_jis', { fatal: true });
  const out = [];
  let kanji = 0;
  const leads = [];
  for (let b = 0x81; b <= 0x84; b++) leads.push(b);
  for (let b = 0x88; b <= 0x9f; b++) leads.push(b);
  for (let b = 0xe0; b <= 0xea; b++) leads.push(b);
  for (const lead of leads) {
    for (let trail = 0x40; trail <= 0xfc; trail++) {
      if (trail === 0x7f) continue;
      let s;
      try { s = dec.decode(new Uint8Array([lead, trail])); } catch { continue; } // unassigned code
      const cp = s.codePointAt(0);
      if (s.length !== 1 || cp === 0xfffd) continue;
      out.push(s);
      if (lead >= 0x88 && cp >= 0x4e00 && cp <= 0x9fff) kanji++; // row 1 has 仝 too: not counted
    }
  }
  return { chars: out, kanji };
}

async function main() {
  const [src, dst] = process.argv.slice(2);
  if (!src || !dst) throw new Error('usage: node scripts/plot-font.mjs SOURCE.ttf OUT.ttf');
  const { chars, kanji } = jisX0208();
  // 6,355 kanji is the standard's count; anything else means the decoder is not the one we expect.
  if (kanji !== 6355) throw new Error(`JIS X 0208 decoded to ${kanji} kanji, want 6355 (Node's shift_jis decoder changed?)`);
  const set = new Set(chars);
  for (const [a, b] of ranges) for (let c = a; c <= b; c++) set.add(String.fromCodePoint(c));
  const font = await readFile(src);
  const sub = await subsetFont(font, [...set].join(''), { targetFormat: 'sfnt' });
  if (sub.length < 100000) throw new Error(`subset of ${src} is only ${sub.length} bytes: the source font lacks the Japanese glyphs`);
  await writeFile(`${dst}.tmp`, sub);
  await rename(`${dst}.tmp`, dst);
  console.error(`plot-font: ${set.size} characters (${kanji} kanji) from ${src}: ${font.length} → ${sub.length} bytes`);
}

main().catch((err) => { console.error(`plot-font: ${err.message}`); process.exit(1); });
