#!/usr/bin/env bash
# Worker tests: build it, run wrangler dev --local, check site + API over HTTP, load-test predict
#
# Builds the Worker (scripts/cloudflare.sh), checks that `wrangler deploy --dry-run` bundles it under
# the free plan's 3 MB, trains a real head on head/testdata's backbone features
# with the CLI and has the CLI predict them, starts the pinned wrangler (package-lock.json) on a
# free loopback port with a throwaway --persist-to folder and no outside lookups, then runs
# cloudflare/itest: the cold start (first API request) apart from warm ones, and that one Go
# program serves them all; page, wasm types and headers; share, fetch, meta; the Worker's
# probabilities against the CLI's; bad input; concurrent requests that must not see each other's
# state; 2,000 predict requests at concurrency 10 with median, p95 and p99 and the CPU time per
# request of each process on the path (wrangler's proxy, the Worker's workerd, wrangler, itest); a
# share link opened in headless chromium under the Worker's CSP (trainer, plot frame, service
# worker up, no violation); then js/share.js from Node (cloudflare/sharetest.mjs).
# Stops wrangler with SIGINT and checks that it is gone. Finally runs the same bundle under plain
# workerd (no proxy, no assets; KV from cloudflare/itest/kv.mjs) and itest -api-only against it:
# what the runtime gives without wrangler dev's hops. Any failure exits non-zero.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
if ! declare -F npm_ci >/dev/null; then
  npm_ci() {
    if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
      log "npm ci"
      npm ci --no-audit --no-fund --loglevel=error
    fi
  }
fi

# The CSP check needs a browser; CI installs Debian's chromium (.ci/run).
CHROMIUM=$(command -v chromium || true)
if [ -z "$CHROMIUM" ]; then
  echo "test-cloudflare.sh: chromium is missing (apt-get install -y chromium)" >&2
  exit 1
fi

npm_ci
BROTLI_Q=${BROTLI_Q:-5} bash scripts/cloudflare.sh

T=$(mktemp -d)
WPID=
stop_wrangler() {
  [ -n "$WPID" ] || return 0
  local pid=$WPID i
  WPID=
  kill -INT "$pid" 2>/dev/null || true
  for i in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  if kill -0 "$pid" 2>/dev/null; then
    # Its own session (setsid below): end the whole group it leads, by that id.
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "test-cloudflare.sh: wrangler did not stop within 15 s of SIGINT" >&2
    return 1
  fi
  wait "$pid" 2>/dev/null || true
  # Its workerd and esbuild processes must end with it (exited children may linger as zombies).
  # esbuild's service exits when it sees its parent's pipe close, a moment after wrangler: allow 5 s.
  local left
  for i in $(seq 20); do
    left=$(ps -eo pgid=,pid=,stat=,comm= | awk -v g="$pid" '$1 == g && $3 !~ /^Z/')
    [ -n "$left" ] || break
    sleep 0.25
  done
  if [ -n "$left" ]; then
    kill -KILL -- "-$pid" 2>/dev/null || true
    echo "test-cloudflare.sh: processes of wrangler's group still ran after it stopped: $left" >&2
    return 1
  fi
}
cleanup() {
  local rc=$?
  stop_wrangler || rc=1
  if [ $rc -ne 0 ] && [ -f "$T/wrangler.log" ]; then
    echo "--- wrangler log (last 40 lines) ---" >&2
    tail -n 40 "$T/wrangler.log" >&2
  fi
  rm -rf "$T"
  exit $rc
}
trap cleanup EXIT

log "wrangler deploy --dry-run (bundle, assets, bindings; nothing is sent)"
(
  cd cloudflare
  WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true \
    XDG_CONFIG_HOME="$T/config" CI=true "$ROOT/node_modules/.bin/wrangler" deploy --dry-run --outdir "$T/deploy"
) >"$T/deploy.log" 2>&1 || { cat "$T/deploy.log" >&2; exit 1; }
grep -E 'Total Upload|assets directory' "$T/deploy.log" >&2
gz=$(sed -n 's/.*gzip: \([0-9.]*\) KiB.*/\1/p' "$T/deploy.log")
# Cloudflare's free plan takes Workers up to 3 MB gzip.
if [ -z "$gz" ] || ! awk -v g="$gz" 'BEGIN { exit !(g < 3072) }'; then
  echo "test-cloudflare.sh: the Worker is ${gz:-?} KiB gzip; the free plan's limit is 3072" >&2
  exit 1
fi

log "a real head and the CLI's predictions (head/testdata: 480-d centernet features)"
go build -o "$T/finetune" ./cmd/finetune
go build -o "$T/itest" ./cloudflare/itest
FEAT=head/testdata/tux-centernet.npy
LABELS=head/testdata/tux-centernet.txt
"$T/finetune" train -features "$FEAT" -labels "$LABELS" -o "$T/head.safetensors" -q >"$T/train.log"
classes=$(sort -u "$LABELS" | grep -c .)
"$T/finetune" predict -head "$T/head.safetensors" -features "$FEAT" -top "$classes" >"$T/cli.csv"

freeport() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
PORT=$(freeport)
# wrangler's inspector would take 9229, which anything else may hold.
INSPECT=$(freeport)
while [ "$INSPECT" = "$PORT" ]; do INSPECT=$(freeport); done
log "wrangler dev --local on 127.0.0.1:$PORT ($(node -p 'require("./node_modules/wrangler/package.json").version'))"
mkdir -p "$T/config" "$T/state"
(
  cd cloudflare
  export WRANGLER_SEND_METRICS=false CLOUDFLARE_CF_FETCH_ENABLED=false WRANGLER_HIDE_BANNER=true
  export XDG_CONFIG_HOME="$T/config" CI=true
  exec setsid "$ROOT/node_modules/.bin/wrangler" dev --local --ip 127.0.0.1 --port "$PORT" \
    --inspector-port "$INSPECT" --persist-to "$T/state" --log-level "${WRANGLER_LOG_LEVEL:-warn}"
) >"$T/wrangler.log" 2>&1 </dev/null &
WPID=$!
t0=$(date +%s.%N)
# A static file, not the API: the first API request, itest's, is the Go program's cold start.
for i in $(seq 120); do
  if curl -sf -o /dev/null "http://127.0.0.1:$PORT/public/icon.svg"; then break; fi
  if ! kill -0 "$WPID" 2>/dev/null; then echo "test-cloudflare.sh: wrangler exited before answering" >&2; exit 1; fi
  if [ "$i" = 120 ]; then echo "test-cloudflare.sh: wrangler did not answer within 60 s" >&2; exit 1; fi
  sleep 0.5
done
awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "wrangler answered after %.1f s\n", b - a }' >&2

# The processes a request goes through, for the load test's CPU time per request: wrangler's
# ProxyWorker runtime (the workerd on $PORT), the runtime running the Worker (the other workerd)
# and wrangler itself (Node).
group=$(ps -eo pgid=,pid=,args= | awk -v g="$WPID" '$1 == g')
proxy=$(awk -v p="--socket-addr=entry=127.0.0.1:$PORT" 'index($0, p) && /workerd serve/ { print $2; exit }' <<<"$group")
runtime=$(awk -v p="--socket-addr=entry=127.0.0.1:$PORT" '!index($0, p) && /workerd serve/ { print $2; exit }' <<<"$group")
wnode=$(awk '/wrangler-dist\/cli.js/ { print $2; exit }' <<<"$group")
if [ -z "$proxy" ] || [ -z "$runtime" ] || [ -z "$wnode" ]; then
  echo "test-cloudflare.sh: did not find wrangler's processes (proxy '$proxy', Worker '$runtime', node '$wnode') in:" >&2
  echo "$group" >&2
  exit 1
fi

log "cloudflare/itest against http://127.0.0.1:$PORT"
"$T/itest" -url "http://127.0.0.1:$PORT" -head "$T/head.safetensors" -features "$FEAT" -cli "$T/cli.csv" -n 2000 -c 10 \
  -browser "$CHROMIUM" -cpu "proxy=$proxy,worker=$runtime,wrangler=$wnode"

log "js/share.js from Node against the Worker"
DEAD=$(freeport)
node --disable-warning=MODULE_TYPELESS_PACKAGE_JSON cloudflare/sharetest.mjs "http://127.0.0.1:$PORT" "$T/head.safetensors" "http://127.0.0.1:$DEAD"

log "stop wrangler"
stop_wrangler
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; then
  echo "test-cloudflare.sh: port $PORT still answers after wrangler stopped" >&2
  exit 1
fi
# The same bundle (wrangler deploy --dry-run's, above) under plain workerd: no ProxyWorker, no
# asset router, no inspector, one socket straight to the Worker: what the runtime itself gives,
# apart from wrangler dev's hops. KV is cloudflare/itest/kv.mjs, in memory.
WDPORT=$(freeport)
WASM=$(cd "$T/deploy" && ls -- *.wasm)
DATE=$(sed -n 's/^compatibility_date = "\(.*\)"/\1/p' cloudflare/wrangler.toml)
cp cloudflare/itest/kv.mjs "$T/deploy/kv.mjs"
cat >"$T/deploy/workerd.capnp" <<CAPNP
using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "api", worker = .api),
    (name = "kv", worker = (modules = [(name = "kv.mjs", esModule = embed "kv.mjs")], compatibilityDate = "$DATE")),
  ],
  sockets = [(name = "http", address = "127.0.0.1:$WDPORT", http = (), service = "api")],
);
const api :Workerd.Worker = (
  modules = [(name = "entry.js", esModule = embed "entry.js"), (name = "$WASM", wasm = embed "$WASM")],
  compatibilityDate = "$DATE",
  bindings = [(name = "HEADS", kvNamespace = "kv")],
);
CAPNP
WORKERD=$(node -p 'require("workerd").default')
log "plain workerd $("$WORKERD" --version | cut -d' ' -f2) on 127.0.0.1:$WDPORT: the same bundle, API only"
setsid "$WORKERD" serve "$T/deploy/workerd.capnp" >"$T/workerd.log" 2>&1 </dev/null &
WDPID=$!
for i in $(seq 80); do
  # A connection alone: every HTTP request here reaches Go, and itest times the first one.
  if (exec 3<>"/dev/tcp/127.0.0.1/$WDPORT") 2>/dev/null; then break; fi
  if ! kill -0 "$WDPID" 2>/dev/null || [ "$i" = 80 ]; then
    cat "$T/workerd.log" >&2
    echo "test-cloudflare.sh: workerd did not answer" >&2
    exit 1
  fi
  sleep 0.25
done
rc=0
"$T/itest" -url "http://127.0.0.1:$WDPORT" -head "$T/head.safetensors" -features "$FEAT" -cli "$T/cli.csv" -n 2000 -c 10 \
  -api-only -cpu "workerd=$WDPID" || rc=$?
kill "$WDPID"
wait "$WDPID" 2>/dev/null || true
if [ $rc -ne 0 ]; then
  tail -n 40 "$T/workerd.log" >&2
  exit $rc
fi

log "cloudflare tests passed"
