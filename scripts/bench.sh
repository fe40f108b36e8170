#!/usr/bin/env bash
# benchmarks vs TensorFlow.js in headless Chromium → bench/out/report.md (takes minutes)
#
# Builds what the benchmark needs (npm packages, the site with scripts/web.sh, which also converts
# the backbones), then runs the driver: go run ./bench/run. Arguments pass through, e.g.
# ./build.sh bench -parts heads -reps 5. Run it on a quiet machine: other load skews the timings
# (the report prints the load average before and after).
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
go run ./bench/run "$@"
