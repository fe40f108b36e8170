#!/usr/bin/env bash
# Regenerates head/testdata/tux-centernet.{npy,txt}: real backbone features for the auto-probe test.
# 220 photos in 7 classes of Debian's tuxpaint-stamps-default through the default backbone.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /usr/share/tuxpaint/stamps ] || { apt-get update -qq && apt-get install -y -qq tuxpaint-stamps-default; }
[ -f public/models/centernet/model.json ] || bash scripts/models.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for c in animals/mammals food/fruit animals/birds plants/flowers animals/insects food/vegetables animals/fish; do
  mkdir -p "$tmp/img/$(basename "$c")"
  cp /usr/share/tuxpaint/stamps/$c/*.png "$tmp/img/$(basename "$c")/"
done
go run ./cmd/finetune extract -backbone public/models/centernet -o head/testdata/tux-centernet.npy \
  -labels head/testdata/tux-centernet.txt "$tmp/img"
