// Checks js/share.js against a running Worker from Node (scripts/test-cloudflare.sh runs it):
//   node cloudflare/sharetest.mjs http://127.0.0.1:PORT head.safetensors http://127.0.0.1:CLOSEDPORT
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { apiAvailable, shareHead, sharedHeadId, fetchSharedHead, fetchSharedMeta } from '../js/share.js';

const [origin, headPath, deadOrigin] = process.argv.slice(2);
const bytes = new Uint8Array(readFileSync(headPath));
const want = createHash('sha256').update(bytes).digest('hex').slice(0, 32);
let n = 0;
const ok = () => n++;

assert.equal(await apiAvailable({ origin }), true); ok();
assert.equal(await apiAvailable({ origin: deadOrigin, timeoutMs: 2000 }), false); ok();
assert.equal(await apiAvailable(), false, 'no page origin (Node, file://): no API'); ok();
await assert.rejects(shareHead(bytes, { origin: deadOrigin }), /needs the finetuner Worker/); ok();

// Served by something else: a static server's 404 page, or another JSON API.
const other = createServer((req, res) => {
  if (req.url === '/api/health' && other.json) {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end('{"status":"ok"}');
  } else {
    res.writeHead(404, { 'Content-Type': 'text/html' });
    res.end('<h1>Not found</h1>');
  }
});
await new Promise((r) => other.listen(0, '127.0.0.1', r));
const otherOrigin = `http://127.0.0.1:${other.address().port}`;
assert.equal(await apiAvailable({ origin: otherOrigin }), false, 'a static 404 page is no API'); ok();
other.json = true;
assert.equal(await apiAvailable({ origin: otherOrigin, refresh: true }), false, 'another JSON API is not ours'); ok();
other.close();

const s = await shareHead(bytes, { origin });
assert.equal(s.id, want); ok();
assert.equal(s.url, `${origin}/?head=${want}`); ok();
const again = await shareHead(new Blob([bytes]), { origin });
assert.equal(again.id, want); ok();
assert.equal(again.created, false); ok();

assert.deepEqual(await fetchSharedHead(s.id, { origin }), bytes); ok();
const meta = await fetchSharedMeta(s.id, { origin });
assert.deepEqual(meta.labels, s.labels); ok();
assert.equal(meta.featureDim, 480); ok();

await assert.rejects(shareHead(new TextEncoder().encode('not a head'), { origin }), /safetensors/); ok();
await assert.rejects(shareHead(new Uint8Array(0), { origin }), /Nothing to share/); ok();
await assert.rejects(fetchSharedHead('0'.repeat(32), { origin }), /No shared head/); ok();
await assert.rejects(fetchSharedHead('../etc', { origin }), /not a head id/); ok();

assert.equal(sharedHeadId(`${origin}/?head=${want}`), want); ok();
assert.equal(sharedHeadId(`${origin}/`), null); ok();
assert.throws(() => sharedHeadId(`${origin}/?head=ZZZ`), /not valid/); ok();

console.log(`sharetest: js/share.js: ${n} checks passed against ${origin}`);
