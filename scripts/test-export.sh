#!/usr/bin/env bash
# Export tests: the whole model (backbone + head) as TF.js and ONNX, checked in headless Chromium
#
# Builds the site if its backbones or demo set are missing (scripts/web.sh), runs the modelexport
# unit tests natively and under wasm, exports a head with the CLI (`finetune export`) and checks
# the files it writes, then runs tools/exportcheck: for each backbone it trains a head on the
# demo photos' features, exports it both ways, and has headless Chromium run the TF.js export in
# TensorFlow.js 4.22 and the ONNX export in onnxruntime-web 1.30 (wasm backends, files from
# node_modules) on real photos; every probability must be within 1e-4 of our Go runtime's.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
export PATH="$(go env GOROOT)/lib/wasm:$PATH"
CHROMIUM=$(command -v chromium || true)
if [ -z "$CHROMIUM" ]; then
  echo "test-export.sh: chromium is missing (apt-get install -y chromium)" >&2
  exit 1
fi
type npm_ci >/dev/null 2>&1 && npm_ci || { [ -d node_modules/onnxruntime-web ] || npm ci --no-audit --no-fund --loglevel=error; }
if [ ! -f public/models/manifest.json ] || [ ! -f public/demo/manifest.json ]; then
  BROTLI_Q=${BROTLI_Q:-5} bash scripts/web.sh
fi

log "modelexport unit tests (native, then GOOS=js GOARCH=wasm)"
go test -count=1 ./modelexport
GOOS=js GOARCH=wasm go test -count=1 ./modelexport

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
log "finetune export (CLI) of a head trained on head/testdata's centernet features"
go build -o "$T/finetune" ./cmd/finetune
"$T/finetune" train -features head/testdata/tux-centernet.npy -labels head/testdata/tux-centernet.txt -o "$T/head.safetensors" >/dev/null 2>&1
"$T/finetune" export -format tfjs -head "$T/head.safetensors" -backbone public/models/centernet -o "$T/tfjs"
"$T/finetune" export -format tfjs -head "$T/head.safetensors" -backbone public/models/centernet -o "$T/model.zip"
"$T/finetune" export -format onnx -head "$T/head.safetensors" -backbone public/models/centernet -o "$T/model.onnx"
[ -s "$T/model.onnx" ] || { echo "test-export.sh: the CLI wrote no model.onnx" >&2; exit 1; }
for f in model.json weights.bin head.bin; do
  [ -s "$T/tfjs/$f" ] || { echo "test-export.sh: the CLI's export has no $f" >&2; exit 1; }
done
if "$T/finetune" export -head "$T/head.safetensors" -backbone public/models/mobilenetv2 -o "$T/bad" 2>"$T/err"; then
  echo "test-export.sh: exporting a 480-d head with the 1792-d backbone did not fail" >&2
  exit 1
fi
grep -q 'takes 480-d features' "$T/err" || { echo "test-export.sh: unexpected error: $(cat "$T/err")" >&2; exit 1; }

log "exports in headless Chromium (TF.js, onnxruntime-web) vs our Go runtime (tools/exportcheck)"
go run ./tools/exportcheck -models public/models -demo public/demo -browser "$CHROMIUM"
log "export tests passed"
