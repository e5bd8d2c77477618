"""GET /health and GET /metrics (checked with promtool), on WS_PORT and on METRICS_PORT."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import free_port, open_session, read, recv_reply, run, send_frame, video_frames


def promtool_check(text):
    exe = shutil.which("promtool") or "/usr/bin/promtool"
    assert os.path.exists(exe), "promtool is needed (Debian package prometheus; scripts/deps.sh --test)"
    p = subprocess.run([exe, "check", "metrics"], input=text.encode(), capture_output=True)
    assert p.returncode == 0, p.stdout.decode() + p.stderr.decode()


def test_health(server):
    status, headers, body = server.get("/health")
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    h = json.loads(body)
    assert h["status"] == "healthy"
    assert h["model_loaded"] is True
    assert h["active_sessions"] == 0
    assert h["workers"] >= 1
    assert h["version"]
    assert h["uptime_s"] >= 0
    async def go():
        ws, _ = await open_session(server.url)
        _, _, body = server.get("/health")
        assert json.loads(body)["active_sessions"] == 1
        await ws.close()
    run(go())


def test_metrics_after_traffic_pass_promtool(server):
    async def go():
        ws, _ = await open_session(server.url)
        for seq, path in enumerate(video_frames("palm_reach")[40:46], start=1):
            await send_frame(ws, "s1", seq, read(path), 1)
            await recv_reply(ws, 1)
        await send_frame(ws, "s1", 99, b"GIF89a" + b"\0" * 40, 1)
        await recv_reply(ws, 1)
        _, _, body = server.get("/metrics")
        await ws.close()
        return body.decode()
    text = run(go())
    promtool_check(text)
    assert "session_id" not in text
    lines = {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1])
             for l in text.splitlines() if l and not l.startswith("#")}
    done = sum(lines[f'tryon_frames_processed_total{{status="{s}"}}']
               for s in ("success", "no_result", "error"))
    assert done == 7
    assert lines['tryon_frames_processed_total{status="error"}'] >= 1
    assert lines["tryon_processing_seconds_count"] == 7
    for b in ["0.01", "0.05", "0.1", "0.15", "0.2", "0.5", "1", "+Inf"]:
        assert f'tryon_processing_seconds_bucket{{le="{b}"}}' in lines
    assert lines["tryon_active_sessions"] == 1
    assert sum(lines[f'tryon_hands_detected_total{{num_hands="{n}"}}'] for n in "012") == 6
    assert lines['tryon_errors_total{code="UNSUPPORTED_FORMAT"}'] == 1
    assert 'tryon_stage_seconds_count{stage="palm"}' in lines
    assert lines["tryon_connections_total"] == 1
    assert lines["tryon_received_bytes_total"] > 0


def test_metrics_port_and_disabling(server_factory):
    mport = free_port()
    srv = server_factory("--metrics-port", str(mport))
    status, headers, body = srv.get("/metrics", port=mport)
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    promtool_check(body.decode())
    assert srv.get("/health", port=mport)[0] == 200
    assert srv.get("/", port=mport)[0] == 404  # the demo page is not on METRICS_PORT
    assert srv.get("/metrics")[0] == 200
    off = server_factory("--no-enable-metrics")
    assert off.get("/metrics")[0] == 404
    assert off.get("/health")[0] == 200


def test_unknown_routes(server):
    assert server.get("/nope")[0] == 404
    # "/" is the browser demo (web/; tests/browser checks it in Chromium)
    status, headers, _ = server.get("/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"


def test_guide_env_file_and_cuda_fallback(server_factory):
    d = tempfile.mkdtemp()
    with open(os.path.join(d, ".env"), "w") as f:
        f.write("# the guide's variables\nMODEL_DEVICE=cuda  # or cpu\nMODEL_PRECISION=fp16\n"
                "MAX_CONCURRENT_SESSIONS=7\nLOG_LEVEL=INFO\nENABLE_METRICS=true\n")
    srv = server_factory(workdir=d)
    _, _, body = srv.get("/health")
    assert json.loads(body)["max_sessions"] == 7
    logs = srv.logs()
    assert "MODEL_DEVICE=cuda was asked" in logs and "CPU" in logs
    assert "MODEL_PRECISION=fp16" in logs


def test_bad_settings_are_refused_with_the_setting_named(tmp_path):
    from conftest import BIN, MODELS
    env = {"PATH": os.environ.get("PATH", ""), "MODEL_PATH": MODELS}
    p = subprocess.run([BIN, "serve", "--frame-queue-size", "0"], env=env, capture_output=True,
                       timeout=30, cwd=tmp_path)
    assert p.returncode == 2
    assert b"frame_queue_size (FRAME_QUEUE_SIZE)" in p.stderr
    p = subprocess.run([BIN, "serve"], env={**env, "WS_PORT": "http"}, capture_output=True,
                       timeout=30, cwd=tmp_path)
    assert p.returncode == 2 and b"WS_PORT" in p.stderr
    p = subprocess.run([BIN, "serve", "--help"], env=env, capture_output=True, timeout=30)
    assert p.returncode == 0
    for name in [b"--ws-port", b"WS_MAX_MESSAGE_SIZE", b"METRICS_PORT", b"IDLE_TIMEOUT"]:
        assert name in p.stdout
    p = subprocess.run([BIN, "serve", "--ws-host", "127.0.0.1", "--ws-port", str(free_port())],
                       env={**env, "MODEL_PATH": str(tmp_path)}, capture_output=True, timeout=60)
    assert p.returncode == 1 and b"cannot load the models" in p.stdout + p.stderr
