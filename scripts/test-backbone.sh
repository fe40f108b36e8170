#!/usr/bin/env bash
# golden test: our backbone features vs TensorFlow.js on real photos, natively and under wasm
#
# Builds public/models if missing (scripts/models.sh), installs Debian's tuxpaint-stamps-default
# (photo cut-outs) if absent, preprocesses about a dozen photos with our Go code (tools/golden), computes
# reference features with tfjs-wasm 4.22.0 from the ORIGINAL package files (tools/tfjs-ref), and
# runs backbone's TestGolden natively and as GOOS=js GOARCH=wasm under Node (scalar and SIMD128
# kernels). Prints max abs and relative differences; fails above 1e-3 relative.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
export PATH="$(go env GOROOT)/lib/wasm:$PATH"

[ -f public/models/manifest.json ] || bash scripts/models.sh
bash scripts/models.sh # no-op when up to date; also unpacks the packages tools/tfjs-ref reads
type npm_ci >/dev/null 2>&1 && npm_ci || { [ -d node_modules/@tensorflow/tfjs-backend-wasm ] || npm ci --no-audit --no-fund --loglevel=error; }

STAMPS=/usr/share/tuxpaint/stamps
if [ ! -d "$STAMPS/animals" ]; then
  echo "installing tuxpaint-stamps-default (photos for the golden test)" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  $SUDO apt-get install -y tuxpaint-stamps-default >/dev/null 2>&1 ||
    { $SUDO apt-get update >/dev/null && $SUDO apt-get install -y tuxpaint-stamps-default >/dev/null; }
fi

# Two photos from each of six photo categories: first and fourth by name, a fixed choice.
photos=()
for d in animals/birds animals/mammals food/fruit food/vegetables plants/flowers vehicles; do
  while IFS= read -r f; do photos+=("$f"); done < <(find "$STAMPS/$d" -maxdepth 1 -name '*.png' | LC_ALL=C sort | sed -n '1p;4p')
done
[ "${#photos[@]}" -ge 10 ] || { echo "test-backbone: found only ${#photos[@]} photos under $STAMPS" >&2; exit 1; }

G=$(mktemp -d)
trap 'rm -rf "$G"' EXIT
go run ./tools/golden -models public/models -o "$G" "${photos[@]}"
node tools/tfjs-ref/features.mjs .cache/npm "$G"

export FINETUNER_GOLDEN=$G FINETUNER_MODELS=$ROOT/public/models
echo "== golden, native" >&2
go test -count=1 -run '^TestGolden$' -v ./backbone | grep -E 'golden_test|^(ok|FAIL|---)'
echo "== golden, GOOS=js GOARCH=wasm (Node $(node --version))" >&2
GOOS=js GOARCH=wasm go test -count=1 -run '^TestGolden$' -v ./backbone | grep -E 'golden_test|^(ok|FAIL|---)'
source scripts/lib-simd.sh
echo "== golden, GOOS=js GOARCH=wasm with the SIMD128 kernels ($SIMD_GOTOOLCHAIN, GOEXPERIMENT=simd)" >&2
GOOS=js GOARCH=wasm simd_go test -count=1 -run '^TestGolden$' -v ./backbone | grep -E 'golden_test|^(ok|FAIL|---)'

echo "== extract CLI on generated images with broken files mixed in" >&2
go test -count=1 -run '^TestExtract' ./cmd/finetune
