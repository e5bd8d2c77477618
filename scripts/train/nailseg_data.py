"""nailseg_data.py - the nail data set, letterboxing, augmentation, scoring.

Letterbox (the contract with the C side, src/nails/segment.c): a portrait
image (h > w) is first turned a quarter turn counter-clockwise (its right edge
becomes the top: input x = frame y, input y = w - frame x), then the image of
w x h goes into the canvas of CW x CH = 320 x 240 at scale
s = min(CW / w, CH / h), resized to nw = round(w * s), nh = round(h * s)
(bilinear with antialiasing, PIL's BILINEAR), centred at ox = (CW - nw) // 2,
oy = (CH - nh) // 2, the rest 0. RGB / 255.

Scoring (as src/nails/nail_eval): the probability map (CH/2 x CW/2) is
sampled bilinearly at every original pixel's centre, mapped into canvas
coordinates u = ox + (x + 0.5) * nw / w (the map's pixel i covers canvas
[2i, 2i + 2)), thresholded at 0.5, and compared with mask > 127 (first
channel). Per-image IoU; an empty prediction on a non-empty mask scores 0.
"""
import math
import os

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

DATA = os.environ.get("LQ_NAILS_DATA",
                      os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared",
                                   "data", "nails"))
STORE_MAX = 640      # longest side of the images kept for augmentation
HI_MAX = 1280        # longest side of the copy phase 3 samples when it zooms in


def list_files(data=DATA):
    d = os.path.join(data, "images")
    return sorted(f for f in os.listdir(d)
                  if f.lower().endswith((".jpg", ".jpeg", ".png", ".webp")))


def load_pair(name, data=DATA):
    img = Image.open(os.path.join(data, "images", name)).convert("RGB")
    m = Image.open(os.path.join(data, "masks", name))
    m = np.asarray(m)
    if m.ndim == 3:
        m = m[:, :, 0]
    mask = m > 127
    if mask.shape != (img.height, img.width):
        raise ValueError(f"{name}: mask {mask.shape} vs image {img.size}")
    return img, mask


def canvas_for(w, h):
    """(CW, CH) of the canvas an unrotated w x h image is letterboxed into with
    the same scale as the network sees it: a portrait image, turned, fills
    320 x 240 as it would fill 240 x 320 unturned."""
    return (240, 320) if h > w else (320, 240)


def eval_input(name, data=DATA):
    """(x [1,3,240,320] float tensor, box, (w, h), mask) of one data set image
    as the C side feeds it: portrait images turned (PIL ROTATE_90, with the
    mask turned the same way; IoU does not change under the turn)."""
    img, mask = load_pair(name, data)
    if img.height > img.width:
        img = img.transpose(Image.ROTATE_90)
        mask = np.ascontiguousarray(np.rot90(mask, 1))
    lb, box = letterbox(img, 320, 240)
    x = torch.from_numpy(lb).permute(2, 0, 1).float().div(255)[None]
    return x, box, img.size, mask


def letterbox(img, cw, ch):
    """PIL image -> (float32 array ch x cw x 3 in [0,1], (s_x, s_y, ox, oy, nw, nh))."""
    w, h = img.size
    s = min(cw / w, ch / h)
    nw, nh = max(1, round(w * s)), max(1, round(h * s))
    ox, oy = (cw - nw) // 2, (ch - nh) // 2
    r = img.resize((nw, nh), Image.BILINEAR)
    out = np.zeros((ch, cw, 3), np.uint8)
    out[oy:oy + nh, ox:ox + nw] = np.asarray(r)
    return out, (nw, nh, ox, oy)


def prob_to_image(prob, w, h, box):
    """prob: torch [CH/2, CW/2] -> bool numpy [h, w] (bilinear, > 0.5)."""
    nw, nh, ox, oy = box
    ph, pw = prob.shape
    cw, ch = pw * 2, ph * 2
    u = ox + (torch.arange(w, dtype=torch.float64) + 0.5) * nw / w
    v = oy + (torch.arange(h, dtype=torch.float64) + 0.5) * nh / h
    gx = (u / cw * 2 - 1).float()
    gy = (v / ch * 2 - 1).float()
    grid = torch.stack(torch.meshgrid(gy, gx, indexing="ij")[::-1], dim=-1)[None]
    out = F.grid_sample(prob[None, None].float(), grid, mode="bilinear",
                        padding_mode="border", align_corners=False)
    return (out[0, 0] > 0.5).numpy()


def iou(pred, truth):
    inter = np.logical_and(pred, truth).sum()
    union = np.logical_or(pred, truth).sum()
    if union == 0:
        return 1.0
    return float(inter) / float(union)


# ---- augmentation ----------------------------------------------------------

class Source:
    """One training image kept at up to STORE_MAX px, with a 3-level pyramid."""

    def __init__(self, name, data=DATA):
        img, mask = load_pair(name, data)
        img0 = img
        w, h = img.size
        k = min(1.0, STORE_MAX / max(w, h))
        sw, sh = max(1, round(w * k)), max(1, round(h * k))
        img = img.resize((sw, sh), Image.BILINEAR)
        m = Image.fromarray(mask.astype(np.uint8) * 255).resize((sw, sh), Image.BILINEAR)
        self.name = name
        self.orig = (w, h)
        self.size = (sw, sh)
        self.levels = []
        for lv in range(3):
            f = 2 ** lv
            lw, lh = max(1, sw // f), max(1, sh // f)
            li = img.resize((lw, lh), Image.BILINEAR) if f > 1 else img
            self.levels.append(torch.from_numpy(np.asarray(li).copy()).permute(2, 0, 1)
                               .float().div(255))
        self.mask = torch.from_numpy(np.asarray(m).copy()).float().div(255)[None]
        ys, xs = np.nonzero(np.asarray(m) > 127)
        self.nail_px = np.stack([xs, ys], 1).astype(np.float32) if len(xs) else None
        cw, ch = canvas_for(sw, sh)
        self.s0 = min(cw / sw, ch / sh)   # letterbox scale, output px per stored px
        # phase 3: each nail (4-connected component of the mask) with its box
        # in stored px, and a sharper copy for crops that zoom in
        self.nails = nail_boxes(np.asarray(m) > 127)
        kh = min(1.0, HI_MAX / max(w, h))
        hw, hh = max(1, round(w * kh)), max(1, round(h * kh))
        self.hi_scale = hw / sw                   # hi-res px per stored px
        hi = img0.resize((hw, hh), Image.BILINEAR) if (hw, hh) != (w, h) else img0
        self.hi = torch.from_numpy(np.asarray(hi).copy()).permute(2, 0, 1).float().div(255)
        hm = Image.fromarray(mask.astype(np.uint8) * 255)
        hm = hm.resize((hw, hh), Image.BILINEAR) if (hw, hh) != (w, h) else hm
        self.hi_mask = torch.from_numpy(np.asarray(hm).copy()).float().div(255)[None]


def nail_boxes(mask, min_px=12):
    """Boxes (x0, y0, x1, y1), inclusive, of the 4-connected components of a
    bool mask with at least min_px pixels."""
    h, w = mask.shape
    seen = np.zeros_like(mask, dtype=bool)
    boxes = []
    ys, xs = np.nonzero(mask)
    for y0, x0 in zip(ys.tolist(), xs.tolist()):
        if seen[y0, x0]:
            continue
        seen[y0, x0] = True
        stack = [(y0, x0)]
        n, bx0, by0, bx1, by1 = 0, x0, y0, x0, y0
        while stack:
            y, x = stack.pop()
            n += 1
            bx0, bx1, by0, by1 = min(bx0, x), max(bx1, x), min(by0, y), max(by1, y)
            for yy, xx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= yy < h and 0 <= xx < w and mask[yy, xx] and not seen[yy, xx]:
                    seen[yy, xx] = True
                    stack.append((yy, xx))
        if n >= min_px:
            boxes.append((bx0, by0, bx1, by1))
    return boxes


def sample_geometry(src, rng, out_size, phase=1):
    """A random homography from output normalised coordinates to source pixels.
    Scale f relative to the letterboxed whole image, log-uniform: phase 1 35 %
    in [0.8, 1.25] and 65 % in [0.3, 2.6]; phase 2 50 % in [0.75, 1.33] and
    50 % in [0.4, 2.2]. Phase 3 (nail-relative scale): 60 % of the crops take
    one nail and scale it so that its box's longer side is log-uniform in
    NAIL_PX output px (what the C side's passes show the network: a nail of a
    whole hand in the frame is 6-12 px, a nail of a per-nail zoomed pass 80-110
    px), the crop centred within +-0.3 crop sizes of the nail's centre; the
    other 40 % as phase 2."""
    sw, sh = src.size
    osz = out_size
    if phase == 3 and src.nails and rng.random() < 0.6:
        x0, y0, x1, y1 = src.nails[rng.randrange(len(src.nails))]
        size = max(x1 - x0 + 1, y1 - y0 + 1)
        want = math.exp(rng.uniform(math.log(NAIL_PX[0]), math.log(NAIL_PX[1])))
        s = want / size
        span = osz / s
        cx = (x0 + x1 + 1) / 2 + rng.uniform(-0.3, 0.3) * span
        cy = (y0 + y1 + 1) / 2 + rng.uniform(-0.3, 0.3) * span
        theta = (rng.uniform(-math.pi, math.pi) if rng.random() < 0.5
                 else rng.uniform(-0.45, 0.45))
        flip = -1.0 if rng.random() < 0.5 else 1.0
        persp = ((rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2)) if rng.random() < 0.5
                 else (0, 0))
        aniso = math.exp(rng.uniform(-0.15, 0.15))
        return dict(s=s, theta=theta, flip=flip, cx=cx, cy=cy, persp=persp, aniso=aniso)
    r = rng.random()
    near, wide = ((0.8, 1.25), (0.3, 2.6)) if phase == 1 else ((0.75, 1.33), (0.4, 2.2))
    if r < (0.35 if phase == 1 else 0.5):
        f = math.exp(rng.uniform(math.log(near[0]), math.log(near[1])))
    else:
        f = math.exp(rng.uniform(math.log(wide[0]), math.log(wide[1])))
    s = src.s0 * f                              # output px per source px
    if rng.random() < 0.5:
        theta = rng.uniform(-math.pi, math.pi)
    else:
        theta = rng.uniform(-0.45, 0.45)
    flip = -1.0 if rng.random() < 0.5 else 1.0
    # centre of the crop in source pixels
    span = osz / s                               # source px covered by the crop
    if span >= 0.8 * max(sw, sh) or src.nail_px is None or rng.random() < 0.3:
        if span >= max(sw, sh):
            cx = sw / 2 + rng.uniform(-0.25, 0.25) * span
            cy = sh / 2 + rng.uniform(-0.25, 0.25) * span
        else:
            cx, cy = rng.uniform(0, sw), rng.uniform(0, sh)
    else:
        p = src.nail_px[rng.randrange(len(src.nail_px))]
        cx = p[0] + rng.uniform(-0.35, 0.35) * span
        cy = p[1] + rng.uniform(-0.35, 0.35) * span
    persp = (rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2)) if rng.random() < 0.5 else (0, 0)
    aniso = math.exp(rng.uniform(-0.15, 0.15))
    return dict(s=s, theta=theta, flip=flip, cx=cx, cy=cy, persp=persp, aniso=aniso)


def make_grid(src, g, n, out_size):
    """n x n grid (grid_sample, align_corners=False) into the source image."""
    sw, sh = src.size
    t = (torch.arange(n, dtype=torch.float32) + 0.5) / n * 2 - 1
    gy, gx = torch.meshgrid(t, t, indexing="ij")
    den = 1 + g["persp"][0] * gx + g["persp"][1] * gy
    # output pixel offsets (in output px of the full-size crop), then to source px
    half = out_size / 2
    px = gx * half / den * g["flip"] * g["aniso"]
    py = gy * half / den / g["aniso"]
    c, si = math.cos(g["theta"]), math.sin(g["theta"])
    sx = g["cx"] + (c * px - si * py) / g["s"]
    sy = g["cy"] + (si * px + c * py) / g["s"]
    return torch.stack([sx / sw * 2 - 1, sy / sh * 2 - 1], dim=-1)[None]


OUT_SIZE = 160      # training crop (square); the network is fully convolutional
NAIL_PX = (8.0, 110.0)   # phase 3: a nail's longer side in output px


def sample_batch(sources, rng, batch, out_size=OUT_SIZE, phase=1):
    """(images [B,3,S,S], targets [B,1,S/2,S/2]) with geometric augmentation."""
    imgs, tgts = [], []
    for _ in range(batch):
        src = sources[rng.randrange(len(sources))]
        g = sample_geometry(src, rng, out_size, phase)
        grid = make_grid(src, g, out_size, out_size)
        # antialias: the pyramid level closest to one source px per output px
        lv = 0
        down = 1.0 / g["s"]
        while lv < 2 and down >= 2 ** (lv + 1) * 0.75:
            lv += 1
        pad = "zeros" if rng.random() < 0.6 else "reflection"
        # phase 3 zooms in further than the stored copy has detail: the sharper one
        sharp = phase == 3 and g["s"] > 1.0 and src.hi_scale > 1.0
        im = F.grid_sample((src.hi if sharp else src.levels[lv])[None], grid, mode="bilinear",
                           padding_mode=pad, align_corners=False)
        gm = make_grid(src, g, out_size // 2, out_size)
        mk = F.grid_sample((src.hi_mask if sharp else src.mask)[None], gm, mode="bilinear",
                           padding_mode=pad, align_corners=False)
        imgs.append(im)
        tgts.append(mk)
    return torch.cat(imgs), torch.cat(tgts).clamp(0, 1)


def photometric(x, gen):
    """Per-sample colour jitter, blur, noise on a batch [B,3,H,W] in [0,1]."""
    b = x.shape[0]

    def u(lo, hi):
        return torch.rand(b, 1, 1, 1, generator=gen) * (hi - lo) + lo

    # white balance / channel gains, brightness, gamma
    gains = torch.rand(b, 3, 1, 1, generator=gen) * 0.3 + 0.85
    x = x * gains * u(0.6, 1.35)
    x = x.clamp(0, 1) ** u(0.7, 1.4)
    # contrast and saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = (x - mean) * u(0.6, 1.4) + mean
    grey = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3])
    x = (x - grey) * u(0.4, 1.5) + grey
    # hue rotation about the grey axis
    ang = (torch.rand(b, generator=gen) * 2 - 1) * 0.5   # radians, about +-29 degrees
    cos, sin = torch.cos(ang), torch.sin(ang)
    k = 1 / 3
    sq = math.sqrt(1 / 3)
    m = torch.zeros(b, 3, 3)
    for i in range(3):
        for j in range(3):
            if i == j:
                m[:, i, j] = cos + (1 - cos) * k
            else:
                sgn = 1 if (j - i) % 3 == 1 else -1
                m[:, i, j] = (1 - cos) * k - sgn * sq * sin
    x = torch.einsum("bij,bjhw->bihw", m, x)
    x = x.clamp(0, 1)
    # blur on some samples (3x3 or 5x5 box/gauss mix)
    out = []
    for i in range(b):
        xi = x[i:i + 1]
        r = torch.rand(1, generator=gen).item()
        if r < 0.3:
            sig = 0.4 + torch.rand(1, generator=gen).item() * 1.2
            rad = 2 if sig > 0.9 else 1
            t = torch.arange(-rad, rad + 1, dtype=torch.float32)
            k1 = torch.exp(-t * t / (2 * sig * sig))
            k1 = k1 / k1.sum()
            k2 = (k1[:, None] * k1[None, :]).expand(3, 1, -1, -1)
            xi = F.conv2d(F.pad(xi, (rad,) * 4, mode="replicate"), k2, groups=3)
        elif r < 0.4:
            # down/up sampling: soft, blocky like a low-quality stream
            h, w = xi.shape[2:]
            f = 0.35 + torch.rand(1, generator=gen).item() * 0.4
            xi = F.interpolate(xi, size=(max(8, int(h * f)), max(8, int(w * f))),
                               mode="bilinear", align_corners=False, antialias=True)
            xi = F.interpolate(xi, size=(h, w), mode="bilinear", align_corners=False)
        out.append(xi)
    x = torch.cat(out)
    # noise
    sig = u(0.0, 0.04) * (torch.rand(b, 1, 1, 1, generator=gen) < 0.5)
    x = x + torch.randn(x.shape, generator=gen) * sig
    # quantise like an 8-bit frame
    return (x.clamp(0, 1) * 255).round() / 255


def label(mask):
    """8-neighbour connected components: (labels, count), 0 = background."""
    t = torch.from_numpy(mask.astype(np.float32))[None, None]
    ids = torch.arange(1, mask.size + 1, dtype=torch.float32).reshape(t.shape) * t
    while True:
        nxt = F.max_pool2d(ids, 3, 1, 1) * t
        if torch.equal(nxt, ids):
            break
        ids = nxt
    u, inv = np.unique(ids[0, 0].numpy().astype(np.int64), return_inverse=True)
    lab = inv.reshape(mask.shape)
    if u[0] != 0:
        lab = lab + 1
    return lab, len(u) - (1 if u[0] == 0 else 0)
