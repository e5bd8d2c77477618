"""`lacquer stream` (the load generator, src/client/) against the real `lacquer serve`.

Runs the binary for a few seconds with 2 sessions and checks its JSON report, in each
of the three encodings; checks --save output and that bad arguments exit with 2.
"""
import glob
import json
import os
import subprocess
import tempfile

import pytest

from conftest import BIN, SLOW, video_frames

PALM = os.path.dirname(video_frames("palm_reach")[0])
THUMB = os.path.dirname(video_frames("thumb_ok")[0])


def stream(url, *args, timeout=120):
    cmd = [BIN, "stream", "--url", url, "--json", "--quiet", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout * SLOW)
    return p


def report(p):
    assert p.stdout.strip(), f"no report; stderr:\n{p.stderr}"
    return json.loads(p.stdout)


@pytest.mark.parametrize("encoding", ["text", "binary", "base64"])
def test_two_sessions_report(server, encoding):
    seconds = 3
    # Under ASan the service is several times slower: fewer frames per second.
    fps = 25 if not SANITIZED_SLOW() else 4
    p = stream(server.url, "--sessions", "2", "--seconds", str(seconds), "--fps", str(fps),
               "--encoding", encoding, "--shape", "almond", "--colors", "#c8102e", PALM)
    r = report(p)
    assert p.returncode == 0, (r, p.stderr)
    fr = r["frames"]
    assert r["sessions_ready"] == 2 and r["sessions_failed"] == 0
    assert r["encoding"] == encoding
    slots = 2 * seconds * fps
    # every slot is either sent or a client drop, and every sent frame was answered
    assert fr["slots"] == fr["sent"] + r["drops"]["client"]
    assert abs(fr["slots"] - slots) <= 2
    assert fr["unanswered"] == 0
    assert fr["replies"] == fr["sent"]
    assert fr["received"] > 0
    assert fr["received"] + fr["errors"] + r["drops"]["server"] == fr["replies"]
    # palm_reach shows a hand the whole time: no errors of any kind
    assert fr["errors"] == 0, r["errors_by_code"]
    assert fr["check_failed"] == 0 and fr["checked"] == fr["received"]
    assert r["failures"] == []
    lat = r["latency_ms"]
    assert lat["count"] == fr["received"]
    # plausible: over the service's own processing time, under a few seconds
    srv = r["server_processing_ms"]
    assert 0 < lat["min"] <= lat["p50"] <= lat["p95"] <= lat["p99"] <= lat["max"]
    assert lat["p50"] >= srv["p50"] * 0.9
    assert lat["max"] < 5000 * SLOW
    assert srv["p50"] > 1.0  # two models and a WebP encode cannot take under 1 ms
    for stage in ["decode", "landmark", "paint", "encode"]:
        assert stage in r["server_stages_ms"]
    # the service's own counters agree with the client's
    ss = r["service_stats"]
    assert ss["sessions"] == 2
    assert ss["frames_received"] == fr["sent"]
    assert ss["frames_processed"] == fr["received"]
    assert ss["frames_dropped"] == r["drops"]["server"]
    assert r["throughput"]["fps"] > 0


def SANITIZED_SLOW():
    return SLOW > 1.0


def test_save_writes_every_processed_frame(server):
    with tempfile.TemporaryDirectory() as d:
        p = stream(server.url, "--seconds", "1", "--fps", "5", "--output-format", "jpeg",
                   "--save", d, "--session-prefix", "cam", PALM)
        r = report(p)
        assert p.returncode == 0, (r, p.stderr)
        files = sorted(glob.glob(os.path.join(d, "*")))
        assert len(files) == r["frames"]["received"] == r["frames"]["saved"] > 0
        for f in files:
            assert os.path.basename(f).startswith("cam-1-") and f.endswith(".jpg")
            with open(f, "rb") as fh:
                assert fh.read(3) == b"\xff\xd8\xff"


def test_sessions_replay_their_own_folders(server):
    # session 1 replays palm_reach, session 2 thumb_ok (its first frames are dark:
    # the service answers LOW_LIGHT / PARTIAL_HAND_DETECTED, counted by code)
    p = stream(server.url, "--sessions", "2", "--seconds", "2", "--fps", "5", PALM, THUMB)
    r = report(p)
    assert p.returncode == 0, (r, p.stderr)
    fr = r["frames"]
    assert fr["received"] + fr["errors"] + r["drops"]["server"] == fr["replies"] == fr["sent"]
    assert sum(v for k, v in r["errors_by_code"].items() if k != "PROCESSING_TIMEOUT") == fr["errors"]


def test_refused_session_is_reported(server_factory):
    srv = server_factory("--max-concurrent-sessions", "1")
    p = stream(srv.url, "--sessions", "2", "--seconds", "1", "--fps", "5", PALM)
    r = report(p)
    assert p.returncode == 1
    assert r["sessions_ready"] == 1 and r["sessions_failed"] == 1
    assert any("SERVER_BUSY" in f for f in r["failures"]), r["failures"]
    assert r["frames"]["received"] > 0


def test_no_server_exits_1():
    p = stream("ws://127.0.0.1:9/ws/tryon", "--seconds", "1", "--ready-timeout", "2", PALM,
               timeout=30)
    assert p.returncode == 1
    assert report(p)["sessions_failed"] == 1


@pytest.mark.parametrize("args", [
    ["--sessions", "257"], ["--sessions", "0"], ["--fps", "0"], ["--fps", "500"],
    ["--seconds", "0"], ["--encoding", "xml"], ["--shape", "triangle"],
    ["--max-message", "12q"], ["--max-message", "1k"], ["--bogus"],
])
def test_bad_arguments_exit_2(args):
    p = subprocess.run([BIN, "stream", "--url", "ws://127.0.0.1:9/ws/tryon", *args, PALM],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2, (args, p.stdout, p.stderr)
    assert "lacquer stream:" in p.stderr


def test_bad_folder_and_missing_url_exit_2():
    p = subprocess.run([BIN, "stream", "--url", "ws://127.0.0.1:9/", "/nonexistent"],
                       capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "/nonexistent" in p.stderr
    p = subprocess.run([BIN, "stream", PALM], capture_output=True, text=True, timeout=30)
    assert p.returncode == 2 and "--url" in p.stderr
