"""scripts/fetch-models.sh, offline: it is given packages shaped like the npm package
@mediapipe/hands (LQ_MODELS_PACKAGE) built here from the verified models in models/.

* A good package, with the palm detectors packed in another order and at other offsets
  than the real one: the script reads the offsets from the loader, installs the four
  models (byte-identical to models/) with NOTICE and LICENSE.
* One byte changed in one model: the script fails, names the file and both hashes, and
  installs nothing.
* A loader that does not list a palm detector: the script fails and says so.
* Models already in place: nothing is fetched (a bad LQ_MODELS_PACKAGE is not even read),
  and a missing NOTICE is written back.
"""
import filecmp
import json
import os
import subprocess
import tarfile
import tempfile

import pytest

from conftest import MODELS, ROOT

SCRIPT = os.path.join(ROOT, "scripts", "fetch-models.sh")
NAMES = ["hand_landmark_full.tflite", "hand_landmark_lite.tflite",
         "palm_detection_full.tflite", "palm_detection_lite.tflite"]


def model(name):
    with open(os.path.join(MODELS, name), "rb") as f:
        return f.read()


def make_package(path, corrupt=None, list_palms=("palm_detection_lite.tflite",
                                                 "palm_detection_full.tflite")):
    """Writes a .tgz like the npm package; corrupt names a model to change one byte of."""
    with tempfile.TemporaryDirectory() as d:
        pkg = os.path.join(d, "package")
        os.mkdir(pkg)
        data = {n: bytearray(model(n)) for n in NAMES}
        if corrupt:
            data[corrupt][len(data[corrupt]) // 2] ^= 0x01
        for n in NAMES[:2]:
            with open(os.path.join(pkg, n), "wb") as f:
                f.write(data[n])
        files, blob = [], bytearray(b"Left\nRight\n")
        files.append({"filename": "/third_party/mediapipe/modules/hand_landmark/handedness.txt",
                      "start": 0, "end": len(blob)})
        for n in ("palm_detection_lite.tflite", "palm_detection_full.tflite"):
            start = len(blob)
            blob += data[n]
            if n in list_palms:
                files.append({"filename": f"/third_party/mediapipe/modules/palm_detection/{n}",
                              "start": start, "end": len(blob)})
        with open(os.path.join(pkg, "hands_solution_packed_assets.data"), "wb") as f:
            f.write(blob)
        with open(os.path.join(pkg, "hands_solution_packed_assets_loader.js"), "w") as f:
            f.write("  var Module = {};\n  loadPackage(" +
                    json.dumps({"files": files, "remote_package_size": len(blob)}) + ");\n")
        with tarfile.open(path, "w:gz") as t:
            t.add(pkg, arcname="package")


def fetch(dest, package):
    env = dict(os.environ, LQ_MODELS_DIR=dest, LQ_MODELS_PACKAGE=package)
    return subprocess.run(["bash", SCRIPT], env=env, capture_output=True, text=True, timeout=120)


@pytest.fixture
def work():
    with tempfile.TemporaryDirectory() as d:
        yield d


def test_good_package_is_unpacked_at_the_loaders_offsets(work):
    pkg, dest = os.path.join(work, "good.tgz"), os.path.join(work, "models")
    make_package(pkg)
    p = fetch(dest, pkg)
    assert p.returncode == 0, p.stderr
    for n in NAMES:
        assert filecmp.cmp(os.path.join(dest, n), os.path.join(MODELS, n), shallow=False), n
    with open(os.path.join(dest, "NOTICE")) as f:
        notice = f.read()
    assert "Apache License, Version 2.0" in notice and "@mediapipe/hands@0.4.1675469240" in notice
    assert os.path.getsize(os.path.join(dest, "LICENSE")) > 10000
    print(p.stdout.strip())


@pytest.mark.parametrize("bad", NAMES)
def test_one_changed_byte_fails_loudly_and_installs_nothing(work, bad):
    pkg, dest = os.path.join(work, "bad.tgz"), os.path.join(work, "models")
    make_package(pkg, corrupt=bad)
    p = fetch(dest, pkg)
    assert p.returncode != 0
    assert f"SHA-256 mismatch for {bad}" in p.stderr, p.stderr
    assert "nothing installed" in p.stderr
    installed = [n for n in os.listdir(dest) if n.endswith(".tflite")] \
        if os.path.isdir(dest) else []
    assert installed == []


def test_loader_without_a_palm_detector_fails(work):
    pkg, dest = os.path.join(work, "nolist.tgz"), os.path.join(work, "models")
    make_package(pkg, list_palms=("palm_detection_full.tflite",))
    p = fetch(dest, pkg)
    assert p.returncode != 0
    assert "cannot find palm_detection_lite.tflite" in p.stderr, p.stderr


def test_models_in_place_are_kept_and_the_notice_restored(work):
    dest = os.path.join(work, "models")
    os.mkdir(dest)
    for n in NAMES:
        os.symlink(os.path.join(MODELS, n), os.path.join(dest, n))
    p = fetch(dest, os.path.join(work, "does-not-exist.tgz"))
    assert p.returncode == 0, p.stderr
    assert "fetching" not in p.stdout and "using" not in p.stdout
    assert os.path.exists(os.path.join(dest, "NOTICE"))
