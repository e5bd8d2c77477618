"""nailoutline.py - the nail outline network: one nail's crop in, its mask out.

The first network (nailseg_model.py) finds nails on a whole frame or hand
region, where a nail is 6-110 px of a 320x240 input; its outlines are rough.
This second network sees one nail at a time, in a crop turned and scaled so
that the nail's current estimate (a landmark or blob outline: centre, axis,
length, width) sits upright in the middle, and returns that nail's mask. It
learns the local question only (where are this nail's edges), which 32
photos per fold teach far better than the whole-frame one.

Crop (src/nails/outline.c computes exactly this):
    side = CROP_EXT * max(length, CROP_WIDTH_K * width) frame pixels,
    s = side / S frame pixels per crop pixel,
    P = (-ay, ax) (across), A = (ax, ay) (along, toward the free edge),
    crop point (x, y) (continuous, pixel centres at i + 0.5) is frame point
        C + s (x - S/2) P + s (y - S/2) A,
    each crop pixel the mean of k x k bilinear samples at its sub-pixel
    centres, k = clamp(ceil(s), 1, MAX_SUB) (a box filter the width of the
    pixel), frame edges replicated.
Input [1, S, S, 4]: RGB / 255 and the prior, 1 inside the rounded plate
(both ends rounded by PRIOR_ROUND x the half of the smaller side) of the
estimate's length and width centred in the crop, else 0.
Output [1, S, S, 1]: the nail's probability (LOGISTIC).

Training examples perturb the true nail's moments (centre, angle, sizes,
zoom), flip its direction and mirror the crop, so the network meets the
errors the first stage makes.
"""
import math
import os

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image

from nailseg_data import label
from nailseg_model import Block, ConvBN, Down, Up, export_unet, unet_logits

S = 64
CROP_EXT = 2.0
CROP_WIDTH_K = 1.2
MAX_SUB = 4
PRIOR_ROUND = 0.9
MIN_NAIL_PX = 20

# Perturbation of the true nail (standard deviations): centre along / across
# in lengths / widths, angle (degrees), log length, log width, log zoom.
NOISE = dict(along=0.12, across=0.10, angle=10.0, length=0.20, width=0.15, zoom=0.15)


def moments(c):
    """(cx, cy, ax, ay, length, width) of a bool mask in continuous frame
    coordinates (pixel centres at i + 0.5), sizes from the second moments of
    a uniform rectangle (sqrt(12 var)), or None."""
    ys, xs = np.nonzero(c)
    if len(xs) < 3:
        return None
    x, y = xs + 0.5, ys + 0.5
    cx, cy = x.mean(), y.mean()
    cov = np.cov(np.stack([x - cx, y - cy])) + np.eye(2) / 12.0
    ev, evec = np.linalg.eigh(cov)
    return (cx, cy, evec[0, 1], evec[1, 1], math.sqrt(12 * ev[1]), math.sqrt(12 * max(ev[0], 1e-6)))


def crop_affine(cx, cy, ax, ay, length, width, mirror=False):
    """(M 2x3: crop continuous -> frame continuous, s)."""
    side = CROP_EXT * max(length, CROP_WIDTH_K * width)
    s = side / S
    px, py = -ay, ax
    if mirror:
        px, py = -px, -py
    M = np.array([[s * px, s * ax, 0.0], [s * py, s * ay, 0.0]])
    M[:, 2] = [cx - s * S / 2 * (px + ax), cy - s * S / 2 * (py + ay)]
    return M, s


def sample(img, M, s):
    """img [C,H,W] float tensor -> [C,S,S]: the box-filtered crop."""
    k = int(min(max(math.ceil(s - 1e-6), 1), MAX_SUB))
    n = S * k
    g = (torch.arange(n, dtype=torch.float64) + 0.5) / k       # crop continuous coords
    gy, gx = torch.meshgrid(g, g, indexing="ij")
    Mt = torch.from_numpy(M)
    fx = Mt[0, 0] * gx + Mt[0, 1] * gy + Mt[0, 2]
    fy = Mt[1, 0] * gx + Mt[1, 1] * gy + Mt[1, 2]
    H, W = img.shape[1:]
    grid = torch.stack([2 * fx / W - 1, 2 * fy / H - 1], -1)[None].float()
    out = F.grid_sample(img[None], grid, mode="bilinear", padding_mode="border",
                        align_corners=False)
    return F.avg_pool2d(out, k)[0] if k > 1 else out[0]


def prior(length, width, s):
    """[S,S] float: the estimate's rounded plate, upright and centred."""
    c = (np.arange(S) + 0.5 - S / 2) * s
    v, u = np.meshgrid(c, c, indexing="ij")      # v along (rows), u across
    hl, hw = length / 2, width / 2
    r = PRIOR_ROUND * min(hl, hw)
    qx, qy = np.abs(v) - (hl - r), np.abs(u) - (hw - r)
    d = np.hypot(np.maximum(qx, 0), np.maximum(qy, 0)) + np.minimum(np.maximum(qx, qy), 0) - r
    return (d <= 0).astype(np.float32)


class Photo:
    """One data set image: RGB tensor, nail components and their moments."""

    def __init__(self, path_img, path_mask):
        img = np.array(Image.open(path_img).convert("RGB"))
        m = np.asarray(Image.open(path_mask))
        if m.ndim == 3:
            m = m[:, :, 0]
        self.mask = m > 127
        self.img = torch.from_numpy(img).permute(2, 0, 1).float().div(255).contiguous()
        lab, n = label(self.mask)
        self.lab = lab
        self.nails = []
        self.boxes = {}   # nail -> (x0, y0, its mask in its box grown by 2 px)
        for k in range(1, n + 1):
            c = lab == k
            if c.sum() >= MIN_NAIL_PX:
                self.nails.append((k, moments(c)))
                ys, xs = np.nonzero(c)
                x0, y0 = xs.min() - 2, ys.min() - 2
                box = np.zeros((ys.max() - y0 + 3, xs.max() - x0 + 3), np.float32)
                box[ys - y0, xs - x0] = 1
                self.boxes[k] = (x0, y0, torch.from_numpy(box)[None])

    def target(self, k, M, s):
        x0, y0, box = self.boxes[k]      # zero beyond the box: its border is 0
        Mb = M.copy()
        Mb[:, 2] -= (x0, y0)
        return sample(box, Mb, s)


def example(photo, k, mo, rng, noise=NOISE):
    """(x [4,S,S], target [1,S,S]) from nail k with a perturbed estimate."""
    cx, cy, ax, ay, L, W = mo
    if rng.random() < 0.5:
        ax, ay = -ax, -ay
    a = math.radians(rng.normal(0, noise["angle"]))
    ax, ay = ax * math.cos(a) - ay * math.sin(a), ax * math.sin(a) + ay * math.cos(a)
    da, dc = rng.normal(0, noise["along"]) * L, rng.normal(0, noise["across"]) * W
    cx, cy = cx + da * ax - dc * ay, cy + da * ay + dc * ax
    L *= math.exp(rng.normal(0, noise["length"]))
    W *= math.exp(rng.normal(0, noise["width"]))
    M, s = crop_affine(cx, cy, ax, ay, L, W, mirror=rng.random() < 0.5)
    z = math.exp(rng.normal(0, noise["zoom"]))     # the crop, not the prior, zooms
    c = M[:, :2] @ np.array([S / 2, S / 2]) + M[:, 2]
    M[:, :2] *= z
    M[:, 2] = c - M[:, :2] @ np.array([S / 2, S / 2])
    x = sample(photo.img, M, s * z)
    p = torch.from_numpy(prior(L, W, s * z))[None]
    return torch.cat([x, p]), photo.target(k, M, s * z)


def photometric(x, rng):
    """Colour, contrast, blur and noise on the RGB channels of [4,S,S]."""
    rgb = x[:3] * math.exp(rng.normal(0, 0.25)) + rng.normal(0, 0.08)
    g = rgb.mean(0, keepdim=True)
    rgb = g + (rgb - g) * math.exp(rng.normal(0, 0.3))
    rgb = rgb * torch.from_numpy(np.exp(rng.normal(0, 0.08, 3))).float().view(3, 1, 1)
    if rng.random() < 0.3:
        sig = rng.uniform(0.3, 1.2)
        r = np.arange(-3, 4)
        k1 = torch.from_numpy(np.exp(-r * r / (2 * sig * sig))).float()
        k1 = k1 / k1.sum()
        rgb = F.conv2d(F.pad(rgb[:, None], (3, 3, 0, 0), mode="replicate"), k1.view(1, 1, 1, 7))
        rgb = F.conv2d(F.pad(rgb, (0, 0, 3, 3), mode="replicate"), k1.view(1, 1, 7, 1))[:, 0]
    rgb = rgb + torch.randn(rgb.shape, generator=None) * rng.uniform(0, 0.03)
    return torch.cat([rgb.clamp(0, 1), x[3:]])


def negative(photo, mo, rng):
    """(x, zero target): an estimate of a nail's size where there is no nail
    (half of them 1.5-3 nail lengths from a true nail: finger skin, knuckles,
    a neighbour's side; half anywhere in the photo), so that the network
    answers "no nail here" for a false blob instead of drawing the prior."""
    cx, cy, ax, ay, L, W = mo
    H, Wd = photo.mask.shape
    for _ in range(20):
        if rng.random() < 0.5:
            a = rng.uniform(0, 2 * math.pi)
            r = rng.uniform(1.5, 3.0) * L
            x, y = cx + r * math.cos(a), cy + r * math.sin(a)
        else:
            x, y = rng.uniform(0, Wd), rng.uniform(0, H)
        xi, yi = int(x), int(y)
        if not (0 <= xi < Wd and 0 <= yi < H):
            continue
        r0 = max(2, int(0.5 * min(L, W)))   # no nail pixel near the centre
        if photo.mask[max(0, yi - r0):yi + r0 + 1, max(0, xi - r0):xi + r0 + 1].any():
            continue
        b = rng.uniform(0, 2 * math.pi)
        M, s = crop_affine(x, y, math.cos(b), math.sin(b), L * math.exp(rng.normal(0, 0.2)),
                           W * math.exp(rng.normal(0, 0.15)), mirror=rng.random() < 0.5)
        xs = sample(photo.img, M, s)
        p = torch.from_numpy(prior(L, W, s))[None]
        return torch.cat([xs, p]), torch.zeros(1, S, S)
    return None


def batch(photos, rng, n, neg_frac=0.0):
    pool = [(p, k, mo) for p in photos for k, mo in p.nails]
    xs, ts = [], []
    while len(xs) < n:
        p, k, mo = pool[rng.integers(len(pool))]
        ex = negative(p, mo, rng) if neg_frac > 0 and rng.random() < neg_frac else None
        x, t = ex if ex is not None else example(p, k, mo, rng)
        xs.append(photometric(x, rng))
        ts.append(t)
    return torch.stack(xs), torch.stack(ts)


class NailOutline(nn.Module):
    """A small U-Net (ADD skips) at full crop resolution: 64 -> 8 and back."""

    def __init__(self, c=(24, 48, 72, 96)):
        super().__init__()
        c1, c2, c3, c4 = c
        self.stem = ConvBN(4, c1, 3)
        self.b1 = Block(c1)
        self.d2 = Down(c1, c2)
        self.b2 = nn.ModuleList([Block(c2), Block(c2)])
        self.d3 = Down(c2, c3)
        self.b3 = nn.ModuleList([Block(c3), Block(c3, 2)])
        self.d4 = Down(c3, c4)
        self.b4 = nn.ModuleList([Block(c4, d) for d in (1, 2, 4)])
        self.u3 = Up(c4, c3)
        self.u2 = Up(c3, c2)
        self.u1 = Up(c2, c1)
        self.head = nn.Conv2d(c1, 1, 1)

    def logits(self, x):
        return unet_logits(self, x)

    def forward(self, x):
        return torch.sigmoid(self.logits(x))

    @torch.no_grad()
    def export_tflite(self):
        """Bytes of a TFLite flatbuffer: input [1,S,S,4] -> nail_prob [1,S,S,1]."""
        return export_unet(self, [1, S, S, 4])


def loss_fn(logits, t):
    b = F.binary_cross_entropy_with_logits(logits, t)
    p = torch.sigmoid(logits)
    d = 1 - (2 * (p * t).sum((1, 2, 3)) + 1) / (p.sum((1, 2, 3)) + t.sum((1, 2, 3)) + 1)
    return b + d.mean()


@torch.no_grad()
def crop_iou(model, photos, seed=7, per_nail=4):
    """Mean IoU (prob > 0.5 vs target > 0.5) over perturbed crops of every nail
    of photos (a fixed draw): the trainer's validation figure."""
    rng = np.random.default_rng(seed)
    model.eval()
    ious = []
    for p in photos:
        for k, mo in p.nails:
            for _ in range(per_nail):
                x, t = example(p, k, mo, rng)
                y = model(x[None])[0] > 0.5
                t = t > 0.5
                u = (y | t).sum().item()
                ious.append((y & t).sum().item() / u if u else 1.0)
    return float(np.mean(ious)) if ious else float("nan")


def data_paths(data, name):
    return os.path.join(data, "images", name), os.path.join(data, "masks", name)
