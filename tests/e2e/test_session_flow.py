"""Every message type of the guide, in all three frame encodings, on real video frames."""
import asyncio
import json
import time

import pytest
import websockets

from conftest import (SLOW, open_session, read, recv_json, recv_reply, recv_until, run,
                      send_frame, video_frames)

GUIDE_FRAME_FIELDS = ["type", "session_id", "sequence", "timestamp", "processing_time_ms",
                      "confidence_score", "frame_metadata", "detection_info"]
FORMAT_MAGIC = {"webp": b"RIFF", "jpeg": b"\xff\xd8\xff", "png": b"\x89PNG"}


def check_processed(meta, img, seq, fmt="webp"):
    for k in GUIDE_FRAME_FIELDS:
        assert k in meta, f"processed_frame lacks {k}: {meta}"
    assert meta["type"] == "processed_frame"
    assert meta["session_id"] == "s1"
    assert meta["sequence"] == seq
    now = time.time() * 1000
    assert abs(meta["timestamp"] - now) < 60_000, "timestamp must be Unix epoch milliseconds"
    assert meta["processing_time_ms"] > 0
    assert 0.0 <= meta["confidence_score"] <= 1.0
    fm = meta["frame_metadata"]
    assert fm["format"] == fmt and fm["size_bytes"] == len(img)
    assert fm["width"] > 0 and fm["height"] > 0
    assert img.startswith(FORMAT_MAGIC[fmt])
    di = meta["detection_info"]
    assert di["hands_detected"] >= 1
    assert di["overlay_applied"] is True
    assert all(0 <= f <= 4 for f in di["fingertips_detected"])
    assert isinstance(di["problems"], list)
    for stage in ["queue", "decode", "palm", "landmark", "nails", "paint", "encode", "total"]:
        assert stage in meta["timings_ms"]
    if "details_omitted" not in meta:
        assert meta["hands"][0]["handedness"] in ("left", "right")
        for n in meta["nails"]:
            assert n["source"] in ("landmarks", "segmentation")
            if n["source"] == "landmarks":
                assert n["finger"] in ("thumb", "index", "middle", "ring", "pinky")
                assert n["hand"] >= 0
            else:  # found by the segmentation network alone: no finger, no hand
                assert n["finger"] is None and n["hand"] == -1
            assert n["width"] > 0 and n["length"] > 0


async def replies_for(url, encoding, frames, fmt="webp", config=None):
    ws, ready = await open_session(url, config=config or {"output_format": fmt})
    out = []
    for seq, path in enumerate(frames, start=1):
        await send_frame(ws, "s1", seq, read(path), encoding)
        meta, img = await recv_reply(ws, encoding)
        out.append((seq, meta, img))
    await ws.close()
    return ready, out


@pytest.mark.parametrize("encoding", [1, 2, 3])
def test_each_encoding_gets_replies_in_kind(server, encoding):
    frames = video_frames("palm_reach")[40:52]
    ready, out = run(replies_for(server.url, encoding, frames))
    assert ready["status"] == "ready" and ready["model_loaded"] is True
    processed = [(s, m, i) for s, m, i in out if m["type"] == "processed_frame"]
    # An open hand fills these frames: most come back painted.
    assert len(processed) >= len(frames) // 2, [m for _, m, _ in out]
    for seq, meta, img in processed:
        check_processed(meta, img, seq)
    for seq, meta, _ in out:
        if meta["type"] == "error":
            assert meta["sequence"] == seq and meta["recoverable"] is True, meta


@pytest.mark.parametrize("fmt", ["jpeg", "png", "webp"])
def test_output_formats(server, fmt):
    frames = video_frames("palm_reach")[45:49]
    _, out = run(replies_for(server.url, 1, frames, fmt=fmt))
    processed = [(s, m, i) for s, m, i in out if m["type"] == "processed_frame"]
    assert processed
    for seq, meta, img in processed:
        check_processed(meta, img, seq, fmt)


def test_init_stats_close_cycle(server):
    async def go():
        ws, ready = await open_session(server.url)
        assert ready["session_id"] == "s1"
        assert ready["config"]["output_format"] == "webp"
        assert ready["config"]["output_quality"] == 75
        assert ready["config"]["model_variant"] == "full"
        for seq, path in enumerate(video_frames("palm_reach")[40:45], start=1):
            await send_frame(ws, "s1", seq, read(path), 1)
            await recv_reply(ws, 1)
        await ws.send(json.dumps({"type": "stats", "session_id": "s1"}))
        st = await recv_json(ws)
        assert st["type"] == "stats" and st["session_id"] == "s1"
        assert st["frames_received"] == 5
        assert st["frames_processed"] + st["frames_with_errors"] == 5
        assert st["frames_dropped"] == 0
        if st["frames_processed"]:
            assert st["avg_processing_time_ms"] > 0
            assert st["p95_processing_time_ms"] >= st["avg_processing_time_ms"] * 0.5
            assert 0 < st["avg_confidence"] <= 1
        await ws.send(json.dumps({"type": "close_session", "session_id": "s1",
                                  "reason": "user_disconnected", "timestamp": 1}))
        final = await recv_json(ws)
        assert final["type"] == "stats"
        closed = await recv_json(ws)
        assert closed == {**closed, "type": "session_closed", "session_id": "s1",
                          "reason": "user_disconnected"}
        with pytest.raises(websockets.ConnectionClosed) as e:
            await asyncio.wait_for(ws.recv(), 5 * SLOW)
        assert e.value.code == 1000
    run(go())
    status, _, body = server.get("/health")
    assert json.loads(body)["active_sessions"] == 0


def test_quality_low_uses_the_lite_model(server):
    async def go():
        ws, ready = await open_session(server.url, config={"quality": "low"})
        assert ready["config"]["model_variant"] == "lite"
        ok = 0
        # asl_hand 96-101: the back of the hand, nails in view (palm_reach shows the palm)
        for seq, path in enumerate(video_frames("asl_hand")[95:101], start=1):
            await send_frame(ws, "s1", seq, read(path), 3)
            meta, _ = await recv_reply(ws, 3)
            ok += meta["type"] == "processed_frame"
        await ws.close()
        return ok
    assert run(go()) >= 3


def test_outline_config_refits_the_painted_nails(server):
    """config.outline true runs the outline network on every frame's nails (its time is in
    timings_ms.outline and the nails move); false (the default for streams) does not."""
    frames = video_frames("asl_hand")[95:101]   # the back of the hand, nails in view

    async def go(outline):
        ws, ready = await open_session(server.url, config={"outline": outline})
        assert ready["config"]["outline"] is outline
        out = []
        for seq, path in enumerate(frames, start=1):
            await send_frame(ws, "s1", seq, read(path), 3)
            meta, _ = await recv_reply(ws, 3)
            assert meta["type"] == "processed_frame", meta
            out.append(meta)
        await ws.close()
        return out

    on, off = run(go(True)), run(go(False))
    assert all(m["timings_ms"]["outline"] == 0 for m in off)
    with_nails = [(a, b) for a, b in zip(on, off) if a["nails"] and b["nails"]]
    assert len(with_nails) >= 3
    assert all(a["timings_ms"]["outline"] > 0 for a, _ in with_nails)
    moved = 0
    for a, b in with_nails:
        for na, nb in zip(a["nails"], b["nails"]):
            moved += abs(na["width"] - nb["width"]) + abs(na["length"] - nb["length"]) > 0.5
    assert moved > 0


def test_reinit_same_session_restarts_it(server):
    async def go():
        ws, _ = await open_session(server.url)
        await ws.send(json.dumps({"type": "init_session", "session_id": "s1",
                                  "nail_reference": {"metadata": {"colors": ["gold"]}}}))
        again = await recv_json(ws)
        assert again["type"] == "session_ready"
        await ws.send(json.dumps({"type": "init_session", "session_id": "other",
                                  "nail_reference": {"metadata": {}}}))
        err = await recv_json(ws)
        assert err["code"] == "INVALID_MESSAGE" and "already carries" in err["message"]
        await ws.close()
    run(go())


def test_structured_logs_carry_session_sequence_and_timings(server_factory, tmp_path):
    log_file = tmp_path / "tryon_service.log"
    server = server_factory("--log-file", str(log_file))
    async def go():
        ws, _ = await open_session(server.url)
        await send_frame(ws, "s1", 7, read(video_frames("palm_reach")[45]), 2)
        await recv_reply(ws, 2)
        await ws.close()
    run(go())
    time.sleep(0.2)
    frames = [r for r in server.log_records() if r.get("msg", "").startswith("frame ")]
    assert frames, server.logs()
    r = frames[0]
    assert r["session_id"] == "s1" and r["sequence"] == 7 and r["level"] == "info"
    for k in ["processing_ms", "decode_ms", "palm_ms", "landmark_ms", "paint_ms", "encode_ms"]:
        assert k in r
    # the same JSON lines go to LOG_FILE
    in_file = [json.loads(l) for l in log_file.read_text().splitlines()]
    assert any(x.get("sequence") == 7 and x.get("session_id") == "s1" for x in in_file)
