"""`lacquer stream` (the load generator, src/client/) against the real `lacquer serve`.

Runs the binary for a few seconds with 2 sessions and checks its JSON report, in each
of the three encodings; checks --save output and that bad arguments exit with 2; the
live progress line and the human-readable report (latency table and histogram); and that
a --design file is what the service paints.
"""
import glob
import json
import os
import re
import shutil
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
    # palm_reach shows a hand the whole time: no errors (frames the service drops at its own
    # 1 s deadline when other tests load the machine are drops["server"], not errors)
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


def test_progress_line_and_human_report(server):
    """Without --json and --quiet: a progress line on stderr every second, and the final
    report with the latency table (p50/p95/p99), histogram, throughput, drops and errors."""
    p = subprocess.run([BIN, "stream", "--url", server.url, "--seconds", "3", "--fps", "10",
                        PALM], capture_output=True, text=True, timeout=120 * SLOW)
    assert p.returncode == 0, (p.stdout, p.stderr)
    progress = [ln for ln in p.stderr.replace("\r", "\n").splitlines() if ln.strip()]
    line = re.compile(r"^\[\s*\d+\.\ds\] sent (\d+)\s+received (\d+)\s+[\d.]+ fps\s+"
                      r"p50 [\d.]+ ms\s+drops \d+ client \d+ server\s+errors \d+$")
    assert len(progress) >= 2 and all(line.match(ln) for ln in progress), p.stderr
    sent = [int(line.match(ln).group(1)) for ln in progress]
    assert sent == sorted(sent) and sent[-1] > sent[0], progress
    out = p.stdout
    assert re.search(r"^\s+ms\s+min\s+mean\s+p50\s+p95\s+p99\s+max\s+n$", out, re.M), out
    row = re.search(r"^\s+end-to-end latency((?:\s+[\d.]+){6})\s+(\d+)$", out, re.M)
    assert row, out
    mn, mean, p50, p95, p99, mx = map(float, row.group(1).split())
    assert 0 < mn <= p50 <= p95 <= p99 <= mx and int(row.group(2)) > 0
    assert re.search(r"^throughput [\d.]+ frames/s", out, re.M), out
    assert re.search(r"^drops\s+client \d+, server \d+", out, re.M), out
    assert re.search(r"^errors\s+0$", out, re.M), out
    assert "end-to-end latency distribution:" in out


def painted_pixels(folder):
    """(strongly blue, strongly green) pixel counts over the PNGs of a --save folder."""
    exe = shutil.which("convert") or "/usr/bin/convert"
    blue = green = 0
    files = sorted(glob.glob(os.path.join(folder, "*.png")))
    assert files
    for f in files:
        raw = subprocess.run([exe, f, "-depth", "8", "rgb:-"], capture_output=True,
                             check=True).stdout
        for i in range(0, len(raw), 3):
            r, g, b = raw[i], raw[i + 1], raw[i + 2]
            blue += b > r + 60 and b > g + 40
            green += g > r + 50 and g > b + 30
    return blue, green


def test_design_file_is_what_gets_painted(server):
    """--design FILE: a blue design paints blue nails and a green one green (palm_reach has
    neither colour); a design the protocol refuses is a usage error naming the field."""
    counts = {}
    with tempfile.TemporaryDirectory() as d:
        for name, colour in (("blue", "#1f3fe8"), ("green", "#12b83c")):
            design = os.path.join(d, name + ".json")
            with open(design, "w") as f:
                json.dump({"shape": "stiletto", "pattern": "solid", "colors": [colour],
                           "finish": "matte", "size": "long"}, f)
            out = os.path.join(d, name)
            os.mkdir(out)
            p = stream(server.url, "--seconds", "1", "--fps", "5", "--design", design,
                       "--output-format", "png", "--save", out, PALM)
            assert p.returncode == 0, (p.stdout, p.stderr)
            counts[name] = painted_pixels(out)
        bad = os.path.join(d, "bad.json")
        with open(bad, "w") as f:
            json.dump({"shape": "hexagon"}, f)
        p = stream(server.url, "--seconds", "1", "--design", bad, PALM)
        assert p.returncode == 2 and "shape" in p.stderr and "hexagon" in p.stderr, p.stderr
    print(f"blue design: {counts['blue']}, green design: {counts['green']} (blue, green) px")
    (bb, bg), (gb, gg) = counts["blue"], counts["green"]
    assert bb >= 20 and bg * 5 <= bb, counts
    assert gg >= 20 and gb * 5 <= gg, counts
