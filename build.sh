#!/usr/bin/env bash
# The one entry point. ./build.sh help lists the commands.
#
# Each command is a function cmd_NAME below, or a script scripts/NAME.sh for the larger parts
# (models, demo set, worker, browser tests, bench). `test` runs the Go tests natively and as
# GOOS=js GOARCH=wasm under Node, a bounded fuzz pass, then every scripts/test-*.sh in order.
set -euo pipefail
cd "$(dirname "$0")"
ROOT=$(pwd)
export ROOT
GOROOT_WASM="$(go env GOROOT)/lib/wasm"
export PATH="$GOROOT_WASM:$PATH"
FUZZTIME=${FUZZTIME:-20s}
# shellcheck source=scripts/lib-simd.sh
source scripts/lib-simd.sh

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# npm_ci installs the pinned npm packages (package-lock.json) once.
npm_ci() {
  if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
  fi
}
export -f npm_ci log

cmd_help() {
  cat <<'USAGE'
usage: ./build.sh COMMAND

  serve     build everything and serve the app on http://127.0.0.1:8080 (PORT=... to change)
  test      all tests: Go native + Go wasm (Node) + fuzz + browser/worker/golden tests
  web       build the site into public/ (wasm, wasm_exec.js, models, demo set, compressed assets)
  cli       build the native CLI ./finetune (extract, train, eval, predict)
  gobench   Go kernel/trainer benchmarks, native, wasm and wasm SIMD128 (BENCH=regexp)
USAGE
  for f in scripts/*.sh; do
    case "$(basename "$f")" in test-*|lib*) continue;; esac
    printf '  %-9s %s\n' "$(basename "$f" .sh)" "$(sed -n 2p "$f" | sed 's/^# *//')"
  done
}

cmd_cli() {
  log "go build ./cmd/finetune"
  go build -o finetune ./cmd/finetune
}

go_test_native() {
  log "go test (native)"
  go vet ./...
  go test -count=1 ./...
}

go_test_wasm() {
  log "go test (GOOS=js GOARCH=wasm, Node $(node --version))"
  GOOS=js GOARCH=wasm go vet ./...
  GOOS=js GOARCH=wasm go test -count=1 ./...
  go_test_simd
}

# go_test_simd tests the SIMD128 build (Go 1.27, GOEXPERIMENT=simd) under Node: the kernels against
# their scalar references, and the packages that run on them (the backbone's golden features
# against tfjs, the heads' training and determinism), and builds the trainer with them.
go_test_simd() {
  log "go test SIMD128 kernels (GOOS=js GOARCH=wasm, $SIMD_GOTOOLCHAIN, GOEXPERIMENT=simd)"
  GOOS=js GOARCH=wasm simd_go vet ./kernels ./backbone ./head ./wasm/trainer ./bench/wasm
  GOOS=js GOARCH=wasm simd_go test -count=1 ./kernels ./backbone ./head ./wasm/trainer
}

# go_fuzz runs every Fuzz* target for $FUZZTIME each: loaders must never panic on any input.
go_fuzz() {
  local pkg fz
  for pkg in $(go list ./...); do
    for fz in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
      log "fuzz $pkg $fz ($FUZZTIME)"
      # Go's fuzzer can end a clean run with "context deadline exceeded" when the time runs out
      # while it minimises a new coverage input; that one case (no failing input written) is run
      # again, once. A crash writes its input and fails as before.
      local out rc=0
      out=$(go test -run '^$' -fuzz "^${fz}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 2s "$pkg" 2>&1) || rc=$?
      if [ $rc -ne 0 ] && grep -q 'context deadline exceeded' <<<"$out" && ! grep -q 'Failing input written' <<<"$out"; then
        log "fuzz $pkg $fz: ended on the fuzzer's deadline while minimising; once more"
        rc=0
        out=$(go test -run '^$' -fuzz "^${fz}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 2s "$pkg" 2>&1) || rc=$?
      fi
      if [ $rc -ne 0 ]; then
        printf '%s\n' "$out"
        return 1
      fi
      printf '%s\n' "$out" | tail -n 2
    done
  done
}

cmd_test() {
  go_test_native
  go_test_wasm
  go_fuzz
  local t
  for t in scripts/test-*.sh; do
    [ -e "$t" ] || continue
    log "$t"
    bash "$t"
  done
  log "all tests passed"
}

cmd_gobench() {
  local re=${BENCH:-.}
  log "go bench native ($re)"
  go test -run '^$' -bench "$re" -benchmem -count "${COUNT:-3}" ./kernels ./head
  log "go bench wasm ($re)"
  GOOS=js GOARCH=wasm go test -run '^$' -bench "$re" -benchmem -count "${COUNT:-3}" ./kernels ./head
  log "go bench wasm, SIMD128 kernels ($re; BenchmarkGemm vs BenchmarkGemmScalar compares the two)"
  GOOS=js GOARCH=wasm simd_go test -run '^$' -bench "$re" -benchmem -count "${COUNT:-3}" ./kernels ./head
}

main() {
  local cmd=${1:-help}
  shift || true
  if declare -F "cmd_$cmd" >/dev/null; then
    "cmd_$cmd" "$@"
  elif [ -f "scripts/$cmd.sh" ]; then
    bash "scripts/$cmd.sh" "$@"
  else
    echo "build.sh: unknown command '$cmd'" >&2
    cmd_help >&2
    exit 2
  fi
}
main "$@"
