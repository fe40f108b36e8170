#!/usr/bin/env bash
# kiosk and docs-embed browser tests: kiosk flow on the fake webcam, idle reset, soak; docs page with two embeds
#
# Builds the site if it is missing (scripts/web.sh) and the embed's precomputed demo features
# (tools/embedfeatures), then runs e2e TestKiosk and TestEmbed* (the docs page; the plot's language
# and theme) in headless Debian chromium with all network blocked but the local server. The soak
# runs up to KIOSK_SOAK visits (default 200) for at most KIOSK_SOAK_SECONDS (default 60, bounded
# for CI). Screenshots, logs, soak numbers: out/e2e-kiosk/.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && [ "${CI:-}" = true ]; then
  echo "test-kiosk.sh: chromium is missing (apt-get install -y chromium)" >&2
  exit 1
fi
if [ ! -f public/build/trainer.wasm ] || [ ! -f public/build/plot.wasm ] || [ ! -f public/models/manifest.json ] || [ ! -f public/demo/manifest.json ] ||
  [ ! -f public/build/fonts/plot-cjk.ttf ]; then
  BROTLI_Q=${BROTLI_Q:-5} bash scripts/web.sh
fi
if [ ! -f public/build/features/index.json ] || [ public/demo/manifest.json -nt public/build/features/index.json ] ||
  [ public/models/manifest.json -nt public/build/features/index.json ]; then
  printf '\033[1m==> %s\033[0m\n' "embed features (tools/embedfeatures)" >&2
  go run ./tools/embedfeatures -models public/models -demo public/demo -o public/build/features
fi
export FINETUNER_E2E=1
export E2E_OUT=${E2E_OUT:-$(pwd)/out/e2e-kiosk}
export KIOSK_SOAK=${KIOSK_SOAK:-200} KIOSK_SOAK_SECONDS=${KIOSK_SOAK_SECONDS:-60}
mkdir -p "$E2E_OUT"
go test -count=1 -timeout 12m -v -run 'TestKiosk|TestEmbed|TestRoutes' ./e2e/ 2>&1 | tee "$E2E_OUT/test.log" | grep -v '^\s*$'
exit "${PIPESTATUS[0]}"
