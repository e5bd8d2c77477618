#!/usr/bin/python3
"""iou_budget.py - where the cross-validated nail IoU is lost, and what the
outline model could reach at best.

    mkdir -p /tmp/ov
    LQ_NAILSEG_OVERLAYS=/tmp/ov build/lacquer-bench --quick --out /tmp/b nails
    /usr/bin/python3 scripts/train/iou_budget.py /tmp/ov [--oracle]

Reads the fused overlays `lacquer-bench nails` writes (<image>.2.png: the photo
tinted half way to red where the prediction is, green where the mask is,
yellow where both are; nail_eval.c). Each pixel's tint is recovered by
comparing with the photo itself (the overlay is lossless PNG), which
reproduces the bench's mean IoU to 4 digits. Then every photo's union
(prediction or mask) is split into:
    tp      nail pixels predicted
    missed  pixels of mask nails the prediction hardly touches (< 20 % covered)
    under   the other mask pixels not predicted (a found nail's outline too
            short, narrow or shifted)
    over    predicted pixels outside the mask in components touching a nail
    false   predicted components touching no nail (blobs on skin, knuckles)
and the per-photo shares of the union are averaged (they sum to 1 - mean IoU).

--oracle also fits our outline model (a rounded plate, nail_geom) to every
mask nail from the mask's own moments (centre, axis, elongation; area
matched) and reports the mean per-photo IoU of those ideal outlines: the
ceiling of any method that paints rounded plates, if it knew each nail's
moments exactly.

Connected components are 8-neighbour (torch max-pooling of pixel ids).
"""
import argparse
import glob
import os

import numpy as np
from PIL import Image

from nailseg_data import label

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.environ.get("LQ_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
TINTS = [(0, 0), (255, 0), (0, 255), (255, 255)]  # none, prediction, mask, both


def decode(overlay, photo):
    """(prediction, mask) from an overlay and its photo."""
    ov = np.asarray(Image.open(overlay).convert("RGB")).astype(int)
    src = np.asarray(Image.open(photo).convert("RGB")).astype(int)
    errs = [np.abs((src if r == 0 and g == 0 else (src + np.array([r, g, 0])) // 2) - ov).sum(-1)
            for r, g in TINTS]
    k = np.stack(errs).argmin(0)
    return (k == 1) | (k == 3), (k == 2) | (k == 3)


def budget(pred, mask):
    lab, n = label(mask)
    missed = under = 0
    for k in range(1, n + 1):
        c = lab == k
        if (c & pred).sum() < 0.2 * c.sum():
            missed += (c & ~pred).sum()
        else:
            under += (c & ~pred).sum()
    plab, pn = label(pred)
    over = false = 0
    for k in range(1, pn + 1):
        c = plab == k
        if (c & mask).any():
            over += (c & ~mask).sum()
        else:
            false += c.sum()
    return dict(tp=int((pred & mask).sum()), missed=int(missed), under=int(under),
                over=int(over), false=int(false))


def plate(h, w, cx, cy, axis, length, width, cuticle_round=0.8, tip_round=1.0):
    """Pixels inside nail_geom's rounded plate (the tip end is +axis)."""
    ys, xs = np.mgrid[0:h, 0:w].astype(float)
    u = (xs - cx) * axis[0] + (ys - cy) * axis[1]
    v = -(xs - cx) * axis[1] + (ys - cy) * axis[0]
    hl, hw = length / 2, width / 2
    r = np.where(u >= 0, tip_round, cuticle_round) * min(hl, hw)
    qx, qy = np.abs(u) - (hl - r), np.abs(v) - (hw - r)
    d = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - r
    return d <= 0


def oracle(mask):
    """IoU of the rounded plates fitted to each mask nail's moments."""
    h, w = mask.shape
    lab, n = label(mask)
    ys, xs = np.mgrid[0:h, 0:w]
    out = np.zeros_like(mask)
    for k in range(1, n + 1):
        c = lab == k
        area = c.sum()
        if area < 10:
            continue
        x, y = xs[c].astype(float), ys[c].astype(float)
        cx, cy = x.mean(), y.mean()
        evals, evecs = np.linalg.eigh(np.cov(np.stack([x - cx, y - cy])))
        length, width = np.sqrt(12 * max(evals[1], 1e-6)), np.sqrt(12 * max(evals[0], 1e-6))
        for _ in range(3):  # match the area
            s = np.sqrt(area / max(1, plate(h, w, cx, cy, evecs[:, 1], length, width).sum()))
            length, width = length * s, width * s
        out |= plate(h, w, cx, cy, evecs[:, 1], length, width)
    return (out & mask).sum() / max(1, (out | mask).sum())


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("overlays", help="folder of lacquer-bench nails overlays")
    ap.add_argument("--oracle", action="store_true", help="also the rounded-plate ceiling")
    a = ap.parse_args()
    files = sorted(glob.glob(os.path.join(a.overlays, "*.2.png")))
    if not files:
        raise SystemExit(f"no <image>.2.png overlays in {a.overlays}")
    rows, ceil = [], []
    for f in files:
        name = os.path.basename(f)[:-len(".2.png")]
        pred, mask = decode(f, os.path.join(DATA, "nails", "images", name))
        b = budget(pred, mask)
        union = sum(b.values())
        b["iou"] = b["tp"] / union if union else 1.0
        b["file"] = name
        rows.append(b)
        if a.oracle:
            ceil.append(oracle(mask))
    print(f"{'photo':12} {'IoU':>6} {'missed':>7} {'under':>7} {'over':>7} {'false':>7}  (px)")
    for b in sorted(rows, key=lambda r: r["iou"]):
        print(f"{b['file'][:12]:12} {b['iou']:6.3f} {b['missed']:7d} {b['under']:7d} "
              f"{b['over']:7d} {b['false']:7d}")
    keys = ["missed", "under", "over", "false"]
    share = {k: np.mean([r[k] / max(1, sum(r[j] for j in keys + ["tp"])) for r in rows])
             for k in keys}
    print(f"\n{len(rows)} photos, mean IoU {np.mean([r['iou'] for r in rows]):.4f}; "
          "mean share of each photo's union lost to: " +
          ", ".join(f"{k} {v:.3f}" for k, v in share.items()))
    if a.oracle:
        print(f"rounded plates fitted to the masks' own moments: mean IoU {np.mean(ceil):.4f} "
              f"(worst photo {np.min(ceil):.3f})")


if __name__ == "__main__":
    main()
