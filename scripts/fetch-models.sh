#!/usr/bin/env bash
# Fetches MediaPipe's hand models from the npm package @mediapipe/hands into
# models/ (git-ignored) and verifies each by SHA-256. Idempotent.
#
# hand_landmark_{full,lite}.tflite ship as files; the two palm detectors are
# packed inside hands_solution_packed_assets.data, whose byte ranges are listed
# in hands_solution_packed_assets_loader.js. We read the ranges from there.
# Nothing is installed unless all four files match their SHA-256; a mismatch fails loudly.
#
# LQ_MODELS_DIR: where the models go (default models/). LQ_MODELS_PACKAGE: a local copy of
# the package's .tgz to use instead of fetching it (offline machines; the tests).
set -euo pipefail

PKG="@mediapipe/hands"
VERSION="0.4.1675469240"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEST="${LQ_MODELS_DIR:-$ROOT/models}"

declare -A SHA=(
  [palm_detection_full.tflite]=2f25e740121983f68ffc05f99991d524dc0ea812134f6316a26125816941ee85
  [palm_detection_lite.tflite]=e9a4aaddf90dda56a87235303cf00e4c2d3fb28725f68fd88772997dac905c18
  [hand_landmark_full.tflite]=8c026882c9ec059ce0f8e75266bee5a9a23c341a40e0000df755374d3d1b9b68
  [hand_landmark_lite.tflite]=d7fde8ac11f8ce03f8663775bfc323f4fc9f2a38062b4f4efa142874ef5b2a48
)

verify_all() {
  for f in "${!SHA[@]}"; do
    [ -f "$DEST/$f" ] || return 1
    echo "${SHA[$f]}  $DEST/$f" | sha256sum --quiet -c - >/dev/null 2>&1 || return 1
  done
}

write_notice() {
  cat >"$DEST/NOTICE" <<NOTICE
The .tflite files in this folder are Google MediaPipe's palm detection and hand
landmark models, taken unmodified from the npm package $PKG@$VERSION
(hand_landmark_*.tflite as shipped; palm_detection_*.tflite cut out of
hands_solution_packed_assets.data at the offsets its loader lists).
They are licensed under the Apache License, Version 2.0; the full text is in
LICENSE beside this file. Copyright The MediaPipe Authors.
NOTICE
  if [ -f /usr/share/common-licenses/Apache-2.0 ]; then
    cp /usr/share/common-licenses/Apache-2.0 "$DEST/LICENSE"
  fi
}

if verify_all; then
  # The licence notice travels with the models, also when they were already there.
  [ -f "$DEST/NOTICE" ] || write_notice
  exit 0
fi

mkdir -p "$DEST"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
if [ -n "${LQ_MODELS_PACKAGE:-}" ]; then
  echo "models: using $LQ_MODELS_PACKAGE (LQ_MODELS_PACKAGE) as $PKG@$VERSION"
  cp "$LQ_MODELS_PACKAGE" "$work/package.tgz"
else
  echo "models: fetching $PKG@$VERSION"
  (cd "$work" && npm pack --silent "$PKG@$VERSION" >/dev/null)
fi
tar -xzf "$work"/*.tgz -C "$work"
pkg="$work/package"

cp "$pkg/hand_landmark_full.tflite" "$pkg/hand_landmark_lite.tflite" "$work/"
# Each entry of the loader's file list looks like
#   {"filename": "/third_party/.../palm_detection_full.tflite", "start": 11, "end": 2341291}
for name in palm_detection_full.tflite palm_detection_lite.tflite; do
  range=$(grep -o "\"filename\": *\"[^\"]*/$name\", *\"start\": *[0-9]*, *\"end\": *[0-9]*" \
            "$pkg/hands_solution_packed_assets_loader.js" | grep -o '[0-9]*, *"end": *[0-9]*' |
          tr -dc '0-9 ' | tr -s ' ' || true)  # no match: reported below, not a silent exit
  read -r start end <<<"$range"
  if [ -z "${start:-}" ] || [ -z "${end:-}" ] || [ "$end" -le "$start" ]; then
    echo "models: cannot find $name in the package's asset list" >&2
    exit 1
  fi
  dd if="$pkg/hands_solution_packed_assets.data" of="$work/$name" bs=64K iflag=skip_bytes,count_bytes \
     skip="$start" count="$((end - start))" status=none
done

bad=0
for f in "${!SHA[@]}"; do
  got=$(sha256sum "$work/$f" | cut -d' ' -f1)
  if [ "$got" != "${SHA[$f]}" ]; then
    echo "models: SHA-256 mismatch for $f: expected ${SHA[$f]}, got $got" >&2
    bad=1
  fi
done
if [ "$bad" -ne 0 ]; then
  echo "models: FAILED: $PKG@$VERSION does not hold the expected models; nothing installed" >&2
  exit 1
fi
for f in "${!SHA[@]}"; do
  install -m 0644 "$work/$f" "$DEST/$f"
done
write_notice
echo "models: ok ($(ls "$DEST"/*.tflite | wc -l) models verified in $DEST)"
