#!/usr/bin/python3
"""train_outline.py - trains the nail outline network (nailoutline.py) with the
same 5-fold split as the segmentation network, and writes assets/nailseg/
outline.tflite (all 40 photos) and outline_fold<k>.tflite (photos of fold k
held out), plus outline_folds.json.

The committed stage is an ensemble of two members whose outputs the C side
averages (src/nails/outline.h): member a (the files above, 24/48/72/96
channels) and member b (--member b: outline_b.tflite, outline_fold<k>_b.tflite
and outline_b_folds.json, 32/64/96/128 channels, no check files).

    /usr/bin/python3 scripts/train/train_outline.py              # member a: 5 folds + final
    /usr/bin/python3 scripts/train/train_outline.py --member b   # member b
    /usr/bin/python3 scripts/train/train_outline.py --only fold2 --jobs 1
    /usr/bin/python3 scripts/train/train_outline.py --quick      # 100 steps, final only

Recipe: STEPS steps of BATCH crops from scratch, AdamW, one-cycle LR (peak
3e-3), BCE + soft Dice per crop. Each fold model is scored by the C pipeline
(lacquer-bench nails uses outline_fold<k>.tflite for the photos of fold k);
the figure here is the crop IoU on perturbed estimates of the held-out
photos' nails (nailoutline.crop_iou).
"""
import argparse
import fcntl
import json
import os
import subprocess
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nailoutline as no  # noqa: E402
import nailseg_data as nd  # noqa: E402
from train_nailseg import split  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.environ.get("LQ_NAILSEG_OUT", os.path.join(ROOT, "assets", "nailseg"))
STEPS = 1200
BATCH = 48
NEG_FRAC = 0.0   # share of crops with no nail at the centre (target empty)
# channels per resolution, 64 -> 8 px, and the file suffix of each ensemble member
# (member a alone, 16/32/48/64 and then 24/48/72/96, until 2026-11-26: see the model card)
MEMBERS = {"a": ((24, 48, 72, 96), ""), "b": ((32, 64, 96, 128), "_b")}
CHANNELS = MEMBERS["a"][0]
JOBS = ["final", "fold0", "fold1", "fold2", "fold3", "fold4"]


def train(photos, steps, seed, log, tag, neg_frac=NEG_FRAC, channels=CHANNELS):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = no.NailOutline(channels)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps,
                                                pct_start=0.1)
    t0 = time.time()
    run = None
    model.train()
    for step in range(steps):
        x, t = no.batch(photos, rng, BATCH, neg_frac)
        loss = no.loss_fn(model.logits(x), t)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run = loss.item() if run is None else 0.98 * run + 0.02 * loss.item()
        if (step + 1) % 100 == 0 or step + 1 == steps:
            log(f"[{tag}] step {step + 1}/{steps} loss {run:.4f} "
                f"{(time.time() - t0) / (step + 1):.2f} s/step")
    return model.eval()


CHECK_CASES = ["4c46b91a-e402-11e8-97db-0242ac1c0002.jpg",
               "34404E67-4BB8-432E-863E-C1BEF5EB37E0.jpg",
               "d97db2d2-18ff-456d-8d85-23bfb7109aef.jpg"]


@torch.no_grad()
def write_check(model, photos, out_dir):
    """check/outline_in<k>.f32 (the crop of one nail's true moments, as the C
    side must build it) and outline_out<k>.f32 (torch's output), with the
    estimate in check/outline.json: tests/unit/nails/test_outline.c checks
    both the crop and the exported network against them."""
    os.makedirs(out_dir, exist_ok=True)
    info = {"size": no.S, "tolerance_output": 1e-4, "cases": []}
    for k, name in enumerate(c for c in CHECK_CASES if c in photos):
        p = photos[name]
        _, (cx, cy, ax, ay, L, W) = max(p.nails, key=lambda kn: (p.lab == kn[0]).sum())
        M, s = no.crop_affine(cx, cy, ax, ay, L, W)
        x = torch.cat([no.sample(p.img, M, s), torch.from_numpy(no.prior(L, W, s))[None]])
        y = model(x[None])[0, 0]
        x.permute(1, 2, 0).numpy().astype("<f4").tofile(os.path.join(out_dir, f"outline_in{k}.f32"))
        y.numpy().astype("<f4").tofile(os.path.join(out_dir, f"outline_out{k}.f32"))
        info["cases"].append({"image": name, "cx": cx, "cy": cy, "ax": ax, "ay": ay,
                              "length": L, "width": W, "input_f32": f"outline_in{k}.f32",
                              "output_f32": f"outline_out{k}.f32",
                              "pixels_over_half": int((y > 0.5).sum())})
    with open(os.path.join(out_dir, "outline.json"), "w") as f:
        json.dump(info, f, indent=1)


def write(model, path):
    data = model.export_tflite()
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    return len(data)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=STEPS)
    ap.add_argument("--only", default=",".join(JOBS))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--neg-frac", type=float, default=NEG_FRAC,
                    help="share of crops with no nail at the centre")
    ap.add_argument("--member", default="a", choices=sorted(MEMBERS),
                    help="ensemble member: its channels and file names")
    ap.add_argument("--channels", default=None,
                    help="channels at 64, 32, 16 and 8 px (default: the member's)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.quick:
        a.steps, a.only, a.jobs = 100, "final", 1
    if a.channels is None:
        a.channels = ",".join(map(str, MEMBERS[a.member][0]))
    sfx = MEMBERS[a.member][1]
    channels = tuple(int(c) for c in a.channels.split(","))
    if len(channels) != 4 or min(channels) < 4:
        ap.error("--channels needs four counts >= 4")
    jobs = [j for j in a.only.split(",") if j]
    for j in jobs:
        if j not in JOBS:
            ap.error(f"unknown job {j}")
    os.makedirs(OUT, exist_ok=True)
    if a.jobs > 1 and len(jobs) > 1:
        procs = [subprocess.Popen([sys.executable, os.path.abspath(__file__), "--steps",
                                   str(a.steps), "--seed", str(a.seed), "--jobs", "1",
                                   "--neg-frac", str(a.neg_frac), "--channels", a.channels,
                                   "--member", a.member,
                                   "--only", ",".join(jobs[w::a.jobs])])
                 for w in range(a.jobs) if jobs[w::a.jobs]]
        return max(p.wait() for p in procs)

    def log(msg):
        print(time.strftime("%H:%M:%S ") + f"[{os.getpid()}] " + msg, flush=True)

    names = nd.list_files()
    folds = split(names)
    photos = {n: no.Photo(*no.data_paths(nd.DATA, n)) for n in names}
    log(f"{len(names)} photos, {sum(len(p.nails) for p in photos.values())} nails; "
        f"params {sum(p.numel() for p in no.NailOutline(channels).parameters())}; jobs {jobs}")
    for job in jobs:
        if job == "final":
            m = train([photos[n] for n in names], a.steps, a.seed + 100, log, job, a.neg_frac,
                      channels)
            log(f"final: {write(m, os.path.join(OUT, f'outline{sfx}.tflite'))} bytes")
            if a.member == "a":
                write_check(m, photos, os.path.join(OUT, "check"))
            continue
        k = int(job[4:])
        tr = [photos[n] for n in names if n not in folds[k]]
        m = train(tr, a.steps, a.seed + k, log, job, a.neg_frac, channels)
        n = write(m, os.path.join(OUT, f"outline_fold{k}{sfx}.tflite"))
        val = no.crop_iou(m, [photos[v] for v in folds[k]])
        fit = no.crop_iou(m, tr[:8])
        log(f"fold {k}: {n} bytes; crop IoU held-out {val:.4f}, training photos {fit:.4f}")
        path = os.path.join(OUT, f"outline{sfx}_folds.json")
        with open(os.path.join("/tmp", f"lq_outline{sfx}_folds.lock"), "w") as lk:
            fcntl.flock(lk, fcntl.LOCK_EX)
            old = json.load(open(path)) if os.path.exists(path) else {"folds": []}
            done = {f["fold"]: f for f in old["folds"]}
            done[k] = {"fold": k, "val": folds[k], "crop_iou_val": val,
                       "crop_iou_train8": fit, "steps": a.steps, "batch": BATCH,
                       "neg_frac": a.neg_frac, "channels": list(channels)}
            old["folds"] = [done[i] for i in sorted(done)]
            with open(path + ".tmp", "w") as f:
                json.dump(old, f, indent=1)
            os.replace(path + ".tmp", path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
