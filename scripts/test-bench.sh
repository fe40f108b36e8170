#!/usr/bin/env bash
# smoke test of the benchmark harness: tiny sizes, one repetition, every part but page weight
#
# Runs the real harness (bench/run → Chromium → bench/web + tfjs + bench/wasm) so that a broken
# bench fails CI; the numbers mean nothing. Page weight needs the full site (scripts/web.sh) and
# is left to ./build.sh bench. Output: bench/out/smoke/report.md.
set -euo pipefail
cd "$(dirname "$0")/.."
type npm_ci >/dev/null 2>&1 && npm_ci || [ -d node_modules/@tensorflow/tfjs-backend-wasm ] || npm ci --no-audit --no-fund --loglevel=error
bash scripts/models.sh >/dev/null # no-op when public/models is up to date
start=$(date +%s)
timeout 240 go run ./bench/run -smoke -parts heads,ttq,gemm,backbone,scale -out bench/out/smoke -timeout 200s >/dev/null
echo "test-bench: harness smoke run passed in $(( $(date +%s) - start )) s (bench/out/smoke/report.md)" >&2
