#!/usr/bin/python3
"""train_nailseg.py - trains the nail segmentation network, with k-fold
cross-validation, and writes assets/nailseg/*.

    /usr/bin/python3 scripts/train/train_nailseg.py             # 5 folds + final model
    /usr/bin/python3 scripts/train/train_nailseg.py --only fold0,fold3 --jobs 1
    /usr/bin/python3 scripts/train/train_nailseg.py --export-only  # re-export, re-score
    /usr/bin/python3 scripts/train/train_nailseg.py --quick     # a short run, final model only

Recipe per model: phase 1 (STEPS steps from scratch, one-cycle LR), then CYCLES
warm restarts of STEPS2 steps (phase 2); optionally (--steps3 N) CYCLES3 warm
restarts of a grown network on nail-relative crops (phase 3, off by default). Jobs (final, fold0..fold4) are shared
by --jobs worker processes of one thread each.

Deterministic split: the 40 file names sorted, shuffled with random.Random(SPLIT_SEED),
cut into 5 folds of 8 validation images; every image is validated exactly once.
Each model is trained from scratch (no pretrained weights) on augmented crops of
its training images only; the final model sees all 40.
Checkpoints go to $LQ_TRAIN_TMP (default /tmp/nailseg) and a restarted run
resumes from them.
"""
import argparse
import copy
import fcntl
import json
import math
import os
import random
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nailseg_data as nd  # noqa: E402
from nailseg_model import GROWN, NailSeg, count_macs, count_params  # noqa: E402
from check_export import write_check  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
OUT = os.environ.get("LQ_NAILSEG_OUT", os.path.join(ROOT, "assets", "nailseg"))
TMP = os.environ.get("LQ_TRAIN_TMP", "/tmp/nailseg")
SPLIT_SEED = 20261125
NFOLDS = 5
BATCH = 16
STEPS = 1600
STEPS2 = 900
CYCLES = 2
# Phase 3 (opt-in, not in the committed models): warm restarts of the grown
# network (nailseg_model.GROWN) on nail-relative crop scales. Tried on
# 2026-11-25 with --steps3 900 --cycles3 1: network alone 0.576 -> 0.597,
# fused 0.725 -> 0.729, but one hand photo fell below its landmarks
# (docs/segmentation.md, "Phase 3"), so make train leaves it off.
STEPS3 = 0
CYCLES3 = 1
EXPORT_EVERY = 300   # interim exports of the final model (early integration)


def split(names):
    order = list(names)
    random.Random(SPLIT_SEED).shuffle(order)
    per = len(order) // NFOLDS
    return [sorted(order[k * per:(k + 1) * per]) for k in range(NFOLDS)]


def loss_fn(logits, target):
    bce = F.binary_cross_entropy_with_logits(logits, target)
    p = torch.sigmoid(logits)
    inter = (p * target).sum()
    dice = 1 - (2 * inter + 1) / (p.sum() + target.sum() + 1)
    return bce + dice


@torch.no_grad()
def evaluate(model, names, cache):
    """Per-image IoU as the C side scores it (see nailseg_data.eval_input)."""
    was_training = model.training
    model.eval()
    per = {}
    for n in names:
        if n not in cache:
            cache[n] = nd.eval_input(n)
        x, box, (w, h), mask = cache[n]
        prob = model(x)[0, 0]
        pred = nd.prob_to_image(prob, w, h, box)
        per[n] = nd.iou(pred, mask) if pred.any() or not mask.any() else 0.0
    model.train(was_training)
    return per


def train_one(tag, train_names, val_names, steps, seed, log, on_export=None, init=None,
              phase=1):
    """Phase 1: from scratch, one-cycle LR (peak 3e-3). Phase 2: a warm restart
    from `init` (state dict), 50 steps of warm-up to 1e-3 then cosine to 1e-5,
    with crops closer to the letterboxed whole-image scale."""
    os.makedirs(TMP, exist_ok=True)
    ckpt = os.path.join(TMP, f"{tag}.pt")
    torch.manual_seed(seed)
    rng = random.Random(seed)
    gen = torch.Generator().manual_seed(seed)
    # phase 3 trains the grown network (side branches, nailseg_model.GROWN)
    model = NailSeg(side=GROWN if phase == 3 else None)
    if phase == 1:   # phases 2 and 3 are warm restarts, 3 with nail-relative scales
        model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=1e-4)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps,
                                                    pct_start=0.1, div_factor=10,
                                                    final_div_factor=100)
    else:
        if phase == 3 and not any(".side." in k for k in init):
            model.grow_from(init)    # same output; the new branches start at zero
        else:
            model.load_state_dict(init)
        model = model.to(memory_format=torch.channels_last)
        opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1e-4)

        def lr_at(i):
            if i < 50:
                return (i + 1) / 50
            t = (i - 50) / max(1, steps - 50)
            return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * min(1.0, t)))
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
    start = 0
    if os.path.exists(ckpt):
        st = torch.load(ckpt)
        if st.get("steps") == steps and st.get("train") == train_names:
            model.load_state_dict(st["model"])
            opt.load_state_dict(st["opt"])
            sched.load_state_dict(st["sched"])
            rng.setstate(st["rng"])
            gen.set_state(st["gen"])
            start = st["step"]
            log(f"[{tag}] resumed at step {start}")
    sources = [nd.Source(n) for n in train_names]
    cache = {}
    t0 = time.time()
    run = 0.0
    model.train()
    for step in range(start, steps):
        x, y = nd.sample_batch(sources, rng, BATCH, phase=phase)
        x = nd.photometric(x, gen).contiguous(memory_format=torch.channels_last)
        logits = model.logits(x)
        loss = loss_fn(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        run = 0.98 * run + 0.02 * loss.item() if step > start else loss.item()
        if (step + 1) % 50 == 0:
            el = time.time() - t0
            log(f"[{tag}] step {step + 1}/{steps} loss {run:.4f} lr {sched.get_last_lr()[0]:.2e} "
                f"{el / (step + 1 - start):.2f} s/step")
        if (step + 1) % 200 == 0 or step + 1 == steps:
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(),
                        "sched": sched.state_dict(), "rng": rng.getstate(),
                        "gen": gen.get_state(), "step": step + 1, "steps": steps,
                        "train": train_names}, ckpt)
        if on_export and (step + 1) % EXPORT_EVERY == 0 and step + 1 < steps:
            model.eval()
            on_export(model, step + 1)
            model.train()
        if val_names and ((step + 1) % 400 == 0 or step + 1 == steps):
            per = evaluate(model, val_names, cache)
            log(f"[{tag}] step {step + 1} val mean IoU {np.mean(list(per.values())):.4f}")
    per = evaluate(model, val_names, cache) if val_names else {}
    model.eval()
    return model, per


def write_model(model, base):
    """Writes <base>.tflite (input [1,240,320,3]); returns its size in bytes."""
    data = model.export_tflite(240, 320)
    path = base + ".tflite"
    with open(path + ".tmp", "wb") as f:
        f.write(data)
    os.replace(path + ".tmp", path)
    return len(data)


def export_only(jobs, a, log):
    """Re-exports and re-scores the models of finished checkpoints in TMP (no
    training); fold entries of folds.json are rewritten."""
    names = nd.list_files()
    folds = split(names)

    def finished(tag):
        p = os.path.join(TMP, f"{tag}.pt")
        if not os.path.exists(p):
            return None
        st = torch.load(p)
        if st["step"] != st["steps"]:
            log(f"{tag}: checkpoint at step {st['step']} of {st['steps']}, skipped")
            return None
        return NailSeg.from_state(st["model"]).eval()

    for job in jobs:
        base = f"{job}_s{a.steps}"
        model1 = finished(base)
        model = model1
        cycles = []
        for tag, _ in all_cycle_tags(base, a):
            model = finished(tag)
            cycles.append(model)
        if model1 is None or any(m is None for m in cycles):
            continue
        name = "nailseg" if job == "final" else job
        n = write_model(model, os.path.join(OUT, name))
        log(f"{base}: exported {name}.tflite ({n} bytes)")
        if job == "final":
            write_check(model)
            continue
        k = int(job[4:])
        cache = {}
        per = evaluate(model, folds[k], cache)
        per1 = evaluate(model1, folds[k], cache)
        entry = {"fold": k, "val": folds[k], "per_image_iou": per,
                 "mean_iou": float(np.mean(list(per.values()))), "steps": a.steps,
                 "steps_phase2": a.steps2, "phase2_cycles": a.cycles,
                 "steps_phase3": a.steps3, "phase3_cycles": a.cycles3,
                 "mean_iou_after_phase1": float(np.mean(list(per1.values()))),
                 "mean_iou_after_each_cycle": [
                     float(np.mean(list(evaluate(m, folds[k], cache).values())))
                     for m in cycles]}
        log(f"fold {k}: mean IoU {entry['mean_iou']:.4f} "
            f"(after phase 1 {entry['mean_iou_after_phase1']:.4f})")
        write_summary(os.path.join(OUT, "folds.json"), entry, a)


def cycle_tag(base, a, c):
    """Checkpoint tag of phase-2 cycle c (1-based) after phase-1 tag `base`."""
    return f"{base}_p{a.steps2}" + (f"c{c}" if c > 1 else "")


def all_cycle_tags(base, a):
    """(tag, phase) of every warm restart after phase 1, in order: phase-2
    cycles, then phase-3 cycles (tag of the last phase-2 cycle + _g<steps3>c<c>)."""
    tags = [(cycle_tag(base, a, c), 2) for c in range(1, a.cycles + 1)] if a.steps2 else []
    last = tags[-1][0] if tags else base
    if a.steps3:
        tags += [(f"{last}_g{a.steps3}c{c}", 3) for c in range(1, a.cycles3 + 1)]
    return tags


JOBS = ["final", "fold0", "fold1", "fold2", "fold3", "fold4"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=STEPS, help="optimizer steps per model")
    ap.add_argument("--steps2", type=int, default=STEPS2,
                    help="phase-2 (warm restart) steps per model; 0 = none")
    ap.add_argument("--cycles", type=int, default=CYCLES,
                    help="phase-2 warm-restart cycles of --steps2 steps each")
    ap.add_argument("--steps3", type=int, default=STEPS3,
                    help="phase-3 (warm restart, nail-relative scales) steps per cycle; 0 = none")
    ap.add_argument("--cycles3", type=int, default=CYCLES3, help="phase-3 cycles")
    ap.add_argument("--only", default=",".join(JOBS),
                    help="comma-separated jobs to run in this process (final, fold0..fold4)")
    ap.add_argument("--jobs", type=int, default=2,
                    help="worker processes (1 thread each) sharing the job list")
    ap.add_argument("--quick", action="store_true", help="300 steps, final model only")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--export-only", action="store_true",
                    help="re-export and re-score finished checkpoints from $LQ_TRAIN_TMP")
    a = ap.parse_args()
    torch.set_num_threads(1)   # 1 thread per process: OpenMP spinning on a busy machine costs 3x
    if a.quick:
        a.steps, a.steps2, a.steps3, a.only, a.jobs = 300, 0, 0, "final", 1
    jobs = [j for j in a.only.split(",") if j]
    for j in jobs:
        if j not in JOBS:
            ap.error(f"unknown job {j}")
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(TMP, exist_ok=True)
    if a.jobs > 1 and len(jobs) > 1 and not a.export_only:
        procs = []
        for w in range(a.jobs):
            mine = jobs[w::a.jobs]
            if mine:
                procs.append(subprocess.Popen(
                    [sys.executable, os.path.abspath(__file__), "--steps", str(a.steps),
                     "--steps2", str(a.steps2), "--cycles", str(a.cycles),
                     "--steps3", str(a.steps3), "--cycles3", str(a.cycles3),
                     "--seed", str(a.seed), "--jobs", "1", "--only", ",".join(mine)]))
        rc = [p.wait() for p in procs]
        return max(rc)
    logf = open(os.path.join(TMP, "train_nailseg.log"), "a")

    def log(msg):
        line = time.strftime("%H:%M:%S ") + f"[{os.getpid()}] " + msg
        print(line, flush=True)
        logf.write(line + "\n")
        logf.flush()

    if a.export_only:
        export_only(jobs, a, log)
        return 0
    names = nd.list_files()
    folds = split(names)
    probe = NailSeg()
    log(f"{len(names)} images; params {count_params(probe)}; "
        f"MACs at 240x320 {count_macs(probe) / 1e6:.1f} M; steps {a.steps} x batch {BATCH}; "
        f"jobs {jobs}")
    for job in jobs:
        if job == "final":
            def interim(model, step):
                n = write_model(model, os.path.join(OUT, "nailseg"))
                write_check(copy.deepcopy(model).to(memory_format=torch.contiguous_format))
                log(f"final model (step {step}): {n} bytes -> {OUT}/nailseg.tflite")
            model, _ = train_one(f"final_s{a.steps}", names, [], a.steps, a.seed + 100, log,
                                 on_export=interim)
            for c, (tag, ph) in enumerate(all_cycle_tags(f"final_s{a.steps}", a), 1):
                model, _ = train_one(tag, names, [], a.steps2 if ph == 2 else a.steps3,
                                     a.seed + 200 + 1000 * (c - 1), log, on_export=interim,
                                     init=model.state_dict(), phase=ph)
            torch.save(model.state_dict(), os.path.join(TMP, "nailseg_final.pt"))
            interim(model, a.steps + a.cycles * a.steps2 + a.cycles3 * a.steps3)
            continue
        k = int(job[4:])
        val = folds[k]
        train = sorted(n for n in names if n not in val)
        model, per = train_one(f"fold{k}_s{a.steps}", train, val, a.steps, a.seed + k, log)
        per1 = per
        cycles = []
        for c, (tag, ph) in enumerate(all_cycle_tags(f"fold{k}_s{a.steps}", a), 1):
            log(f"fold {k}: mean IoU before {tag} (phase {ph}): "
                f"{np.mean(list(per.values())):.4f}")
            model, per = train_one(tag, train, val, a.steps2 if ph == 2 else a.steps3,
                                   a.seed + 10 + k + 1000 * (c - 1), log,
                                   init=model.state_dict(), phase=ph)
            cycles.append(float(np.mean(list(per.values()))))
        write_model(model, os.path.join(OUT, f"fold{k}"))
        entry = {"fold": k, "val": val, "per_image_iou": per,
                 "mean_iou": float(np.mean(list(per.values()))), "steps": a.steps,
                 "steps_phase2": a.steps2, "phase2_cycles": a.cycles,
                 "steps_phase3": a.steps3, "phase3_cycles": a.cycles3,
                 "mean_iou_after_phase1": float(np.mean(list(per1.values()))),
                 "mean_iou_after_each_cycle": cycles}
        log(f"fold {k}: mean IoU {entry['mean_iou']:.4f}")
        write_summary(os.path.join(OUT, "folds.json"), entry, a)
    return 0


def write_summary(path, entry, a):
    """Merges one fold's entry into folds.json (under a lock: workers share it)."""
    with open(os.path.join(TMP, "folds.lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        old = json.load(open(path)) if os.path.exists(path) else {}
        done = {f["fold"]: f for f in old.get("folds", [])}
        done[entry["fold"]] = entry
        folds = [done[k] for k in sorted(done)]
        allv = [v for f in folds for v in f["per_image_iou"].values()]
        s = {
            "folds": folds,
            "mean_iou_all": float(np.mean(allv)) if allv else None,
            "images_validated": len(allv),
            "input": [1, 240, 320, 3],
            "output": [1, 120, 160, 1],
            "threshold": 0.5,
            "split_seed": SPLIT_SEED,
            "steps": a.steps,
            "steps_phase2": a.steps2,
            "phase2_cycles": a.cycles,
            "steps_phase3": a.steps3,
            "phase3_cycles": a.cycles3,
            "batch": BATCH,
            "crop": nd.OUT_SIZE,
            "scoring": "per-image IoU of prob>0.5 (bilinear to the original size) vs "
                       "mask>127; empty prediction on a non-empty mask = 0; mean over the "
                       "fold's images; every image letterboxed into 320x240, portrait images "
                       "turned a quarter turn first (as src/nails/segment.c does)",
        }
        with open(path + ".tmp", "w") as f:
            json.dump(s, f, indent=1)
        os.replace(path + ".tmp", path)


if __name__ == "__main__":
    sys.exit(main())
