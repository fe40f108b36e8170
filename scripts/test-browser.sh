#!/usr/bin/env bash
# browser tests: build the site, then drive the whole app in headless Debian chromium (e2e/)
#
# Screenshots, the NetLog and downloads land in out/e2e/ (E2E_OUT to change). Under CI=true a
# missing chromium is a failure, not a skip. BROTLI_Q defaults low here: the test needs the
# compressed twins to exist and be served, not to be the smallest possible.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v chromium >/dev/null 2>&1 && [ "${CI:-}" = true ]; then
  echo "test-browser.sh: chromium is missing (apt-get install -y chromium)" >&2
  exit 1
fi
BROTLI_Q=${BROTLI_Q:-5} bash scripts/web.sh
export FINETUNER_E2E=1
export E2E_OUT=${E2E_OUT:-$(pwd)/out/e2e}
mkdir -p "$E2E_OUT"
go test -count=1 -timeout 15m -v -run 'TestApp|TestStorageQuota|TestKernelPaths|TestRobust' ./e2e/ 2>&1 | tee "$E2E_OUT/test.log" | grep -v '^\s*$'
exit "${PIPESTATUS[0]}"
