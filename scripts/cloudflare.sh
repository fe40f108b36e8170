#!/usr/bin/env bash
# build the Cloudflare Worker into cloudflare/build/ (site assets + Go wasm API); deploy: README
#
# Output (gitignored): cloudflare/build/{worker.mjs,runtime.mjs,wasm_exec.js} from syumai/workers'
# workers-assets-gen (-mode=go: standard Go, no TinyGo), cloudflare/build/entry.mjs (the Worker's
# main: cloudflare/entry.mjs), cloudflare/build/app.wasm (GOOS=js
# GOARCH=wasm build of ./cloudflare/wasm), and cloudflare/build/site/: the built site (scripts/web.sh)
# as wrangler's [assets] directory, with cloudflare/_headers at its root. The .br/.gz twins are left
# out: Cloudflare compresses by itself. SKIP_WEB=1 reuses the site already in public/.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
OUT=cloudflare/build

if [ "${SKIP_WEB:-}" != 1 ]; then
  bash scripts/web.sh
fi
if [ ! -f public/build/assets.json ]; then
  echo "cloudflare.sh: public/build/assets.json is missing: build the site first (./build.sh web)" >&2
  exit 1
fi

log "workers-assets-gen -mode=go -o $OUT"
# It empties its output folder, so it runs before anything else lands there.
go run github.com/syumai/workers/cmd/workers-assets-gen -mode=go -o "$OUT"

# Our entry module replaces the generated worker.mjs (kept beside it, unused): it starts Go
# once per isolate rather than once per request.
cp cloudflare/entry.mjs "$OUT/entry.mjs"

log "go build ./cloudflare/wasm (GOOS=js GOARCH=wasm) → $OUT/app.wasm"
GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o "$OUT/app.wasm" ./cloudflare/wasm

log "site → $OUT/site"
rm -rf "$OUT/site"
mkdir -p "$OUT/site"
tar -c --exclude='*.br' --exclude='*.gz' --exclude='*.tmp' --exclude='.*' index.html js public |
  tar -x -C "$OUT/site"
cp cloudflare/_headers cloudflare/_redirects "$OUT/site/"

# Cloudflare's limits: 25 MiB per asset, 3 MB gzip Worker script on the free plan (10 on paid).
big=$(find "$OUT/site" -type f -size +25M)
if [ -n "$big" ]; then
  echo "cloudflare.sh: assets over Cloudflare's 25 MiB limit: $big" >&2
  exit 1
fi
gz=$(gzip -9 -c "$OUT/app.wasm" | wc -c)
printf 'app.wasm %6.2f MB  gzip %5.2f MB (Cloudflare free plan: 3 MB)\n' \
  "$(awk "BEGIN{print $(stat -c %s "$OUT/app.wasm")/1e6}")" "$(awk "BEGIN{print $gz/1e6}")" >&2
log "worker built: $(find "$OUT/site" -type f | wc -l) static files; run: cd cloudflare && npx wrangler dev"
