"""Faults at start-up: models missing, truncated, random, empty or of the wrong kind; the port
taken. `lacquer serve` must exit 1 within seconds, never start listening, and say on stderr
(whatever LOG_LEVEL says) which file is at fault and why; the log gets the same line."""
import json
import os
import shutil
import socket
import subprocess
import time

import pytest

from conftest import BIN, MODELS, SLOW, free_port

NAMES = ["palm_detection_full.tflite", "hand_landmark_full.tflite",
         "palm_detection_lite.tflite", "hand_landmark_lite.tflite"]


def model_dir(tmp_path, damage):
    d = tmp_path / "models"
    d.mkdir()
    for n in NAMES:
        shutil.copy(os.path.join(MODELS, n), d / n)
    damage(d)
    return str(d)


def truncate(name, n):
    def f(d):
        data = (d / name).read_bytes()[:n]
        (d / name).write_bytes(data)
    return f


def replace(name, data):
    def f(d):
        (d / name).write_bytes(data)
    return f


def remove(name):
    return lambda d: (d / name).unlink()


def swap(src, dst):
    return lambda d: shutil.copy(d / src, d / dst)




# name -> (damage, phrases the error must contain besides the file name)
CASES = {
    "folder_missing": (None, "No such file or directory"),
    "palm_full_missing": (remove("palm_detection_full.tflite"), "No such file or directory"),
    "landmark_lite_missing": (remove("hand_landmark_lite.tflite"), "No such file or directory"),
    "palm_full_truncated": (truncate("palm_detection_full.tflite", 50_000), "outside the file"),
    "landmark_full_random_bytes": (replace("hand_landmark_full.tflite", os.urandom(300_000)),
                                   'is not "TFL3"'),
    "palm_lite_empty": (replace("palm_detection_lite.tflite", b""), "too short"),
    "palm_full_is_a_landmark_model": (swap("hand_landmark_full.tflite",
                                           "palm_detection_full.tflite"),
                                      "input is not 1x192x192x3"),
    "landmark_lite_is_a_palm_model": (swap("palm_detection_lite.tflite",
                                           "hand_landmark_lite.tflite"), "landmark"),
    "palm_full_header_only": (truncate("palm_detection_full.tflite", 8), "outside the file"),
}

CULPRIT = {"folder_missing": "palm_detection_full.tflite",
           "palm_full_missing": "palm_detection_full.tflite",
           "landmark_lite_missing": "hand_landmark_lite.tflite",
           "palm_full_truncated": "palm_detection_full.tflite",
           "landmark_full_random_bytes": "hand_landmark_full.tflite",
           "palm_lite_empty": "palm_detection_lite.tflite",
           "palm_full_is_a_landmark_model": "palm_detection_full.tflite",
           "landmark_lite_is_a_palm_model": "hand_landmark_lite.tflite",
           "palm_full_header_only": "palm_detection_full.tflite"}


def serve(env_extra, args=(), timeout=30):
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("WS_", "MODEL_", "LOG_", "METRICS_", "ENABLE_"))}
    env.update({"WS_HOST": "127.0.0.1", "WS_PORT": str(port)})
    env.update(env_extra)
    t0 = time.time()
    p = subprocess.run([BIN, "serve", *args], env=env, capture_output=True, text=True,
                       timeout=timeout * SLOW)
    return p, time.time() - t0, port


@pytest.mark.parametrize("log_level", ["info", "off"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_models_stop_start_up(tmp_path, name, log_level):
    damage, phrase = CASES[name]
    path = str(tmp_path / "nothing-here") if damage is None else model_dir(tmp_path, damage)
    p, took, _ = serve({"MODEL_PATH": path, "LOG_LEVEL": log_level})
    assert p.returncode == 1, (p.returncode, p.stdout[-2000:], p.stderr)
    assert took < 20 * SLOW
    err = p.stderr.strip().splitlines()
    assert err and err[-1].startswith("lacquer serve: cannot load the models from " + path), err
    assert CULPRIT[name] in err[-1] and phrase in err[-1], err[-1]
    logged = [json.loads(line) for line in p.stdout.splitlines() if line.startswith("{")]
    errors = [r for r in logged if r["level"] == "error"]
    if log_level == "off":
        assert logged == [], logged
    else:
        assert len(errors) == 1 and CULPRIT[name] in errors[0]["msg"], errors
    assert "listening on" not in p.stdout


def test_port_in_use_stops_start_up():
    holder = socket.socket()
    holder.bind(("127.0.0.1", 0))
    holder.listen(1)
    port = holder.getsockname()[1]
    try:
        p, took, _ = serve({"MODEL_PATH": MODELS, "WS_PORT": str(port)})
    finally:
        holder.close()
    assert p.returncode == 1, (p.stdout[-2000:], p.stderr)
    assert f"cannot listen on 127.0.0.1:{port}" in p.stderr, p.stderr
