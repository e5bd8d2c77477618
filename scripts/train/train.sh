#!/usr/bin/env bash
# `make train`: installs what training needs (Debian packages; needs root) and
# reproduces assets/nailseg/* (5 cross-validation models, folds.json, the final
# model, the export check). CPU only: 6 models x 3400 steps, 2 processes of 1 thread;
# about 45 min on two free cores, up to 2 h on a busy machine.
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
exec nice -n 10 /usr/bin/python3 scripts/train/train_nailseg.py "$@"
