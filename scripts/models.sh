#!/usr/bin/env bash
# convert the pretrained backbones from their npm packages into public/models (+ manifest.json)
#
# Gets each package with `npm pack NAME@EXACT_VERSION` into .cache/npm (reused when present),
# checks its sha256, unpacks it, and runs tools/models/convert.mjs. Nothing is fetched at run time.
# FORCE=1 rebuilds even when public/models/manifest.json is newer than the inputs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
CACHE=$ROOT/.cache/npm
OUT=$ROOT/public/models

# name@version  sha256 of the tarball  directory
PACKAGES=(
  "@vladmandic/human@3.3.6 425e9c51dbbca0c8934362b170cb0d54c2529c11c654b3c03092b16e9d6ad3f7 human"
  "nsfwjs@4.4.0 585cd178f3b994337c4d10a87b080d342fc52f8b9bf0085c4d1f345a3a1c5382 nsfwjs"
)

if [ -z "${FORCE:-}" ] && [ -f "$OUT/manifest.json" ] && [ "$OUT/manifest.json" -nt tools/models/convert.mjs ] &&
  [ "$OUT/manifest.json" -nt scripts/models.sh ]; then
  echo "public/models is up to date (FORCE=1 to rebuild)" >&2
  exit 0
fi

mkdir -p "$CACHE"
for entry in "${PACKAGES[@]}"; do
  read -r spec sum dir <<<"$entry"
  tgz=$CACHE/$(echo "${spec%@*}" | sed 's/^@//; s#/#-#')-${spec##*@}.tgz
  if [ ! -f "$tgz" ]; then
    echo "npm pack $spec" >&2
    (cd "$CACHE" && npm pack "$spec" --silent >/dev/null)
  fi
  got=$(sha256sum "$tgz" | cut -d' ' -f1)
  if [ "$got" != "$sum" ]; then
    echo "models.sh: $tgz has sha256 $got, want $sum; delete it to fetch again" >&2
    exit 1
  fi
  if [ ! -f "$CACHE/$dir/.sha256" ] || [ "$(cat "$CACHE/$dir/.sha256")" != "$sum" ]; then
    rm -rf "${CACHE:?}/$dir"
    mkdir -p "$CACHE/$dir"
    tar -xzf "$tgz" -C "$CACHE/$dir"
    echo "$sum" >"$CACHE/$dir/.sha256"
  fi
done

rm -rf "$OUT.tmp"
node tools/models/convert.mjs "$CACHE" "$OUT.tmp"
rm -rf "$OUT"
mv "$OUT.tmp" "$OUT"
ls -l "$OUT"/*/ >&2
