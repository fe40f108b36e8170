#!/usr/bin/env bash
# build the site (scripts/web.sh) and serve it on http://127.0.0.1:${PORT:-8080}
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/web.sh
export PORT=${PORT:-8080}
exec go run ./cmd/serve -root .
