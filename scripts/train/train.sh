#!/usr/bin/env bash
# `make train`: installs what training needs (Debian packages; needs root) and
# reproduces assets/nailseg/*: the segmentation network (5 cross-validation models,
# folds.json, the final model, the export check; 6 models x 3400 steps, about 45 min on
# two free cores) and then the outline network's two ensemble members (a: outline_fold0..4,
# outline.tflite, outline_folds.json, check/outline*; b: the same names with _b; 6 models
# x 1200 steps each, about 55 and 75 min). CPU only, 2 processes of 1 thread; up to 4 h
# on a busy machine.
# LQ_TRAIN_WHAT=nailseg or outline trains one of the two; arguments go to
# train_nailseg.py (see its --help).
set -euo pipefail
cd "$(dirname "$0")/../.."
PKGS=(python3-torch python3-numpy python3-pil python3-flatbuffers)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
fi
what=${LQ_TRAIN_WHAT:-all}
case "$what" in
  all|nailseg|outline) ;;
  *) echo "LQ_TRAIN_WHAT must be all, nailseg or outline, not $what" >&2; exit 2 ;;
esac
if [ "$what" != outline ]; then
  nice -n 10 /usr/bin/python3 scripts/train/train_nailseg.py "$@"
fi
if [ "$what" != nailseg ]; then
  nice -n 10 /usr/bin/python3 scripts/train/train_outline.py --member a
  nice -n 10 /usr/bin/python3 scripts/train/train_outline.py --member b
fi
