#!/usr/bin/env bash
# Backbone speed, side by side: our Go runtime natively and as GOOS=js GOARCH=wasm under Node, and
# TensorFlow.js 4.22.0 with its wasm backend (SIMD, one thread) under the same Node, all at 224×224.
# Prints ms/image and memory. Run on a quiet machine: N=20 ./tools/bench-backbone.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$(go env GOROOT)/lib/wasm:$PATH"
N=${N:-10}
[ -f public/models/manifest.json ] || bash scripts/models.sh
bash scripts/models.sh >/dev/null 2>&1
type npm_ci >/dev/null 2>&1 && npm_ci || [ -d node_modules/@tensorflow/tfjs-backend-wasm ] || npm ci --no-audit --no-fund --loglevel=error

echo "== Go, native ($(go env GOARCH), $(nproc) cores, one goroutine)"
go test -run '^$' -bench '^BenchmarkForward$' -benchtime "${N}x" ./backbone | grep Benchmark
echo "== Go, GOOS=js GOARCH=wasm under Node $(node --version)"
GOOS=js GOARCH=wasm go test -run '^$' -bench '^BenchmarkForward$' -benchtime "${N}x" ./backbone | grep Benchmark
echo "== TensorFlow.js 4.22.0, wasm backend under Node $(node --version)"
G=$(mktemp -d)
trap 'rm -rf "$G"' EXIT
photos=$(find /usr/share/tuxpaint/stamps/animals -name '*.png' 2>/dev/null | LC_ALL=C sort | sed -n 1,8p)
if [ -z "$photos" ]; then
  echo "(no photos: apt-get install tuxpaint-stamps-default)" >&2
  exit 1
fi
go run ./tools/golden -models public/models -o "$G" $photos >/dev/null
node tools/tfjs-ref/features.mjs .cache/npm "$G" wasm | sed 's/ref_[a-z0-9]*\.f32; //'
