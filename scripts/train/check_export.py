#!/usr/bin/python3
"""check_export.py - reference outputs that prove the exported .tflite and
our C loader compute what torch computes.

Writes, for 3 of the data set's images letterboxed into 320 x 240:
    assets/nailseg/check/in<k>.png   the network input as 8-bit RGB (input = pixel / 255)
    assets/nailseg/check/out<k>.f32  torch's output, 120 x 160 float32 little-endian
    assets/nailseg/check/check.json  file names, shapes, summary figures
tests/unit/nails/test_nailseg_model.c runs assets/nailseg/nailseg.tflite through
src/model (tflite.c + xgraph) on in<k>.png and requires max |diff| < 1e-4.

    /usr/bin/python3 scripts/train/check_export.py /tmp/nailseg/nailseg_final.pt

train_nailseg.py calls write_check() itself right after exporting the final model.
"""
import json
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import nailseg_data as nd  # noqa: E402
from nailseg_model import NailSeg  # noqa: E402

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
CHECK = os.path.join(os.environ.get("LQ_NAILSEG_OUT", os.path.join(ROOT, "assets", "nailseg")),
                     "check")
# Three photos of hands (letterboxed unturned: the check is numerical, not a score).
CASES = ["4c46b91a-e402-11e8-97db-0242ac1c0002.jpg",
         "34404E67-4BB8-432E-863E-C1BEF5EB37E0.jpg",
         "1eecab90-1a92-43a7-b952-0204384e1fae.jpg"]


@torch.no_grad()
def write_check(model, out_dir=CHECK):
    model = model.eval()
    os.makedirs(out_dir, exist_ok=True)
    names = nd.list_files()
    cases = [c for c in CASES if c in names] or names[:3]
    info = {"input": [1, 240, 320, 3], "output": [1, 120, 160, 1], "output_name": "nail_prob",
            "tolerance": 1e-4, "cases": []}
    for k, name in enumerate(cases):
        img, _ = nd.load_pair(name)
        lb, box = nd.letterbox(img, 320, 240)
        Image.fromarray(lb).save(os.path.join(out_dir, f"in{k}.png"))
        x = torch.from_numpy(lb).permute(2, 0, 1).float().div(255)[None]
        y = model(x)[0, 0].numpy().astype("<f4")
        assert y.shape == (120, 160)
        y.tofile(os.path.join(out_dir, f"out{k}.f32"))
        info["cases"].append({"image": name, "letterbox": list(box), "input_png": f"in{k}.png",
                              "output_f32": f"out{k}.f32",
                              "pixels_over_half": int((y > 0.5).sum()),
                              "mean": float(y.mean()), "max": float(y.max())})
    with open(os.path.join(out_dir, "check.json"), "w") as f:
        json.dump(info, f, indent=1)
    return info


def main():
    if len(sys.argv) != 2:
        print(__doc__)
        return 2
    m = NailSeg.from_state(torch.load(sys.argv[1]))
    print(json.dumps(write_check(m), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
