#!/usr/bin/env bash
# build the site into public/: wasm, wasm_exec.js, models, demo set, asset list, .br/.gz twins
#
# Output (all generated, gitignored): public/build/{trainer,trainer-simd,plot}.wasm, public/build/wasm_exec.js,
# public/build/fonts/ (the plot's Japanese font and its licence), public/build/assets.json (the
# service worker's file list and version), public/models/ (by scripts/models.sh), public/demo/
# (from Debian's tuxpaint-stamps-default), and a .br and .gz beside every compressible file for
# cmd/serve. DEMO_PER_CLASS caps the demo set (default 20).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
OUT=public/build
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Every output is written beside its final name and renamed into place, so a server (or a test)
# reading public/ while this runs never sees half a file.
mkdir -p "$OUT"
log "go build wasm/trainer, wasm/plot (GOOS=js GOARCH=wasm)"
for w in trainer plot; do
  GOOS=js GOARCH=wasm go build -trimpath -ldflags='-s -w' -o "$OUT/.$w.wasm.$$" "./wasm/$w"
  mv -f "$OUT/.$w.wasm.$$" "$OUT/$w.wasm"
done
# The trainer again with the SIMD128 kernels; js/trainer-host.js loads it where WebAssembly SIMD
# validates, trainer.wasm (scalar) elsewhere.
source scripts/lib-simd.sh
log "go build wasm/trainer with SIMD128 kernels ($SIMD_GOTOOLCHAIN, GOEXPERIMENT=simd)"
GOOS=js GOARCH=wasm simd_go build -trimpath -ldflags='-s -w' -o "$OUT/.trainer-simd.wasm.$$" ./wasm/trainer
mv -f "$OUT/.trainer-simd.wasm.$$" "$OUT/trainer-simd.wasm"
cp "$(go env GOROOT)/lib/wasm/wasm_exec.js" "$OUT/.wasm_exec.js.$$"
mv -f "$OUT/.wasm_exec.js.$$" "$OUT/wasm_exec.js"

if [ -f scripts/models.sh ]; then
  log "models (scripts/models.sh)"
  bash scripts/models.sh
fi

# The demo set: real photo cut-outs from Tux Paint's stamps, one folder per class.
STAMPS=/usr/share/tuxpaint/stamps
if [ ! -d "$STAMPS" ]; then
  log "apt-get install tuxpaint-stamps-default (the demo set's photos)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq tuxpaint-stamps-default >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq tuxpaint-stamps-default >/dev/null; }
fi
PER=${DEMO_PER_CLASS:-20}
log "demo set ($PER per class from $STAMPS)"
rm -rf "public/demo.$$"
mkdir -p "public/demo.$$"
manifest="public/demo.$$/manifest.json"
{
  printf '{\n  "source": "Debian package tuxpaint-stamps-default (%s)",\n' "$(dpkg-query -W -f='${Version}' tuxpaint-stamps-default 2>/dev/null || echo unknown)"
  printf '  "credit": "Demo photos: Tux Paint stamps (Debian package tuxpaint-stamps-default), GNU GPL; see /usr/share/doc/tuxpaint-stamps-default/copyright. The plot'"'"'s Japanese font: Droid Sans Fallback (Debian package fonts-droid-fallback), Apache-2.0; see public/build/fonts/plot-cjk.LICENSE.txt.",\n'
  printf '  "classes": ['
  first=1
  for spec in "birds:animals/birds" "fruit:food/fruit" "flowers:plants/flowers" "vehicles:vehicles"; do
    name=${spec%%:*}
    dir=$STAMPS/${spec#*:}
    mkdir -p "public/demo.$$/$name"
    [ $first = 1 ] || printf ','
    first=0
    printf '\n    {"name": "%s", "files": [' "$name"
    sep=''
    # Photos only: the "cartoon" subfolders hold drawings.
    while IFS= read -r f; do
      base=$(basename "$f" | tr -c 'A-Za-z0-9._\n-' '_')
      cp "$f" "public/demo.$$/$name/$base"
      printf '%s"%s/%s"' "$sep" "$name" "$base"
      sep=', '
    done < <(find "$dir" -name '*.png' -not -path '*cartoon*' | LC_ALL=C sort | head -n "$PER")
    printf ']}'
  done
  printf '\n  ]\n}\n'
} >"$manifest"
rm -rf public/demo
mv "public/demo.$$" public/demo

# The plot's Japanese fallback font: Droid Sans Fallback (Debian fonts-droid-fallback, Apache-2.0),
# cut down to Latin, kana, punctuation and the JIS X 0208 kanji by scripts/plot-font.mjs. The plot
# frame fetches it only for Japanese text, so the English page never downloads it. Rebuilt when
# the script, the Debian package or subset-font change.
CJK=/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf
if [ ! -f "$CJK" ]; then
  log "apt-get install fonts-droid-fallback (the plot's Japanese glyphs)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq fonts-droid-fallback >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq fonts-droid-fallback >/dev/null; }
fi
if declare -F npm_ci >/dev/null; then npm_ci; elif [ ! -f node_modules/subset-font/package.json ]; then npm ci --no-audit --no-fund --loglevel=error; fi
fontver=$(dpkg-query -W -f='${Version}' fonts-droid-fallback 2>/dev/null || echo unknown)
src=$({ cat scripts/plot-font.mjs node_modules/subset-font/package.json; echo "$fontver"; } | sha256sum | cut -c1-16)
if [ ! -f "$OUT/fonts/plot-cjk.ttf" ] || [ "$(cat "$OUT/fonts/.source" 2>/dev/null)" != "$src" ]; then
  log "plot font ($OUT/fonts/plot-cjk.ttf from fonts-droid-fallback $fontver)"
  mkdir -p "$OUT/fonts"
  node scripts/plot-font.mjs "$CJK" "$OUT/fonts/plot-cjk.ttf"
  {
    printf 'plot-cjk.ttf is a subset of DroidSansFallbackFull.ttf from the Debian package\n'
    printf 'fonts-droid-fallback %s, changed by finetuner'"'"'s scripts/plot-font.mjs (HarfBuzz hb-subset\n' "$fontver"
    printf 'via subset-font): only Latin, punctuation, kana and the JIS X 0208 characters are kept.\n\n'
    printf '==> /usr/share/doc/fonts-droid-fallback/copyright <==\n'
    cat /usr/share/doc/fonts-droid-fallback/copyright
    printf '\n==> /usr/share/common-licenses/Apache-2.0 <==\n'
    cat /usr/share/common-licenses/Apache-2.0
  } >"$OUT/fonts/.LICENSE.$$"
  mv -f "$OUT/fonts/.LICENSE.$$" "$OUT/fonts/plot-cjk.LICENSE.txt"
  echo "$src" >"$OUT/fonts/.source"
fi

# Demo-set features for the docs embed's autoplay (deep and mid-level taps), rebuilt when the demo
# set or the models change (by content: the demo folder is rewritten on every build).
src=$(cat public/demo/manifest.json public/models/manifest.json | sha256sum | cut -c1-16)
if [ ! -f "$OUT/features/index.json" ] || [ "$(cat "$OUT/features/.source" 2>/dev/null)" != "$src" ]; then
  log "embed features (tools/embedfeatures)"
  go run ./tools/embedfeatures -models public/models -demo public/demo -o "$OUT/features"
  echo "$src" >"$OUT/features/.source"
fi

# The asset list: every file the app needs offline, and a version that changes with any of them.
log "asset list ($OUT/assets.json)"
mapfile -t files < <(
  { echo index.html
    ls js/*.js
    ls public/*.css public/*.svg public/*.html public/*.js public/*.json public/*.webmanifest 2>/dev/null
    ls public/i18n/*.json 2>/dev/null
    [ -d public/docs ] && find public/docs -type f
    [ -d "$OUT/features" ] && find "$OUT/features" -type f -not -name '*.br' -not -name '*.gz' -not -name '.source'
    find "$OUT/fonts" -type f -not -name '*.br' -not -name '*.gz' -not -name '.*'
    echo "$OUT/trainer.wasm"; echo "$OUT/trainer-simd.wasm"; echo "$OUT/plot.wasm"; echo "$OUT/wasm_exec.js"
    [ -d public/models ] && find public/models -type f -not -name '*.br' -not -name '*.gz'
    find public/demo -type f
  } | grep -v '^public/sw.js$' | LC_ALL=C sort -u)
version=$(sha256sum "${files[@]}" | sha256sum | cut -c1-16)
{
  printf '{"version": "%s", "files": [' "$version"
  sep=''
  for f in "${files[@]}"; do printf '%s\n  "%s"' "$sep" "$f"; sep=','; done
  printf '\n]}\n'
} >"$OUT/.assets.json.$$"
mv -f "$OUT/.assets.json.$$" "$OUT/assets.json"

# Precompressed twins for cmd/serve (and any static host that serves them).
if ! command -v brotli >/dev/null; then
  log "apt-get install brotli"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq brotli >/dev/null 2>&1 ||
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq brotli >/dev/null; }
fi
log "precompress (.br, .gz)"
# Generated files get their twins beside them; sources (index.html, js/, public/*) get theirs under
# $OUT/twins/ (where cmd/serve looks too), so the source folders stay free of build litter.
# A twin whose source is gone goes too.
if [ -d "$OUT/twins" ]; then
  find "$OUT/twins" -type f \( -name '*.br' -o -name '*.gz' \) | while read -r z; do
    src=${z#"$OUT/twins/"}
    [ -f "${src%.*}" ] || rm -f "$z"
  done
fi
for f in "${files[@]}" "$OUT/assets.json"; do
  case "$f" in *.wasm|*.js|*.json|*.html|*.css|*.svg|*.bin|*.webmanifest|*.ttf|*.txt) ;; *) continue;; esac
  [ "$(stat -c %s "$f")" -ge 1024 ] || continue
  z=$f
  case "$f" in public/build/*|public/models/*|public/demo/*) ;; *) z=$OUT/twins/$f; mkdir -p "$(dirname "$z")";; esac
  if [ ! -f "$z.br" ] || [ "$f" -nt "$z.br" ]; then
    brotli -f -q "${BROTLI_Q:-11}" -o "$z.br.$$" "$f" && touch -r "$f" "$z.br.$$" && mv -f "$z.br.$$" "$z.br"
  fi
  if [ ! -f "$z.gz" ] || [ "$f" -nt "$z.gz" ]; then
    gzip -9 -c "$f" >"$z.gz.$$" && touch -r "$f" "$z.gz.$$" && mv -f "$z.gz.$$" "$z.gz"
  fi
done
for w in trainer trainer-simd plot; do
  printf '%-17s %6.2f MB  br %5.2f MB\n' "$w.wasm" "$(echo "$(stat -c %s "$OUT/$w.wasm")/1000000" | bc -l)" "$(echo "$(stat -c %s "$OUT/$w.wasm.br")/1000000" | bc -l)" >&2
done
printf '%-17s %6.2f MB  br %5.2f MB\n' "plot-cjk.ttf" "$(echo "$(stat -c %s "$OUT/fonts/plot-cjk.ttf")/1000000" | bc -l)" "$(echo "$(stat -c %s "$OUT/fonts/plot-cjk.ttf.br")/1000000" | bc -l)" >&2
log "site built: $(echo "${#files[@]}") files, version $version"
