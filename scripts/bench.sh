#!/usr/bin/env bash
# benchmarks vs TensorFlow.js in headless Chromium → bench/out/report.md (takes minutes)
#
# Builds what the benchmark needs (npm packages, the site with scripts/web.sh, which also converts
# the backbones), then runs the driver: go run ./bench/run. Arguments pass through, e.g.
# ./build.sh bench -parts heads -reps 5. Run it on a quiet machine: other load skews the timings
# (the report prints the load average before and after). A full run (no arguments) also copies
# its report and plot to bench/results/, the committed latest results the README points to.
set -euo pipefail
cd "$(dirname "$0")/.."
type npm_ci >/dev/null 2>&1 && npm_ci || [ -d node_modules/@tensorflow/tfjs-backend-wasm ] || npm ci --no-audit --no-fund --loglevel=error
if [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM:-}" ]; then
  echo "bench: installing Debian's chromium" >&2
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO=sudo
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null 2>&1 ||
    { $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null; }
fi
bash scripts/web.sh
# The docs embed's demo features, for the embed's start in the page-weight part.
if [ ! -f public/build/features/index.json ] || [ public/demo/manifest.json -nt public/build/features/index.json ]; then
  go run ./tools/embedfeatures -models public/models -demo public/demo -o public/build/features
fi
go run ./bench/run "$@"
if [ $# -eq 0 ]; then
  mkdir -p bench/results
  cp bench/out/report.md bench/out/ms-per-epoch.png bench/out/results.json bench/results/
  echo "bench: latest results copied to bench/results/ (commit them with the README's Benchmarks section)" >&2
fi
