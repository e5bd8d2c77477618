"""Detection problems from real frames: HAND_NOT_DETECTED, LOW_LIGHT, BLUR_DETECTED and
PARTIAL_HAND_DETECTED. A frame with some nails painted comes back as processed_frame with the
problems listed in detection_info.problems; a frame with nothing painted gets the error."""
import os

import pytest

from conftest import (DATA, convert, open_session, png_bytes, read, recv_reply, run, send_frame,
                      video_frames)

ASL = os.path.join(DATA, "video", "asl_hand", "0011.webp")
NAILS = os.path.join(DATA, "hands", "kagglenails_09aefeec-e05f-11e8-87a6-0242ac1c0002.jpg")


def outcome(url, data, fmt="jpeg", repeat=3, encoding=1):
    """Sends the same frame a few times (tracking settles) and returns the last reply."""
    async def go():
        ws, _ = await open_session(url, config={"output_format": "jpeg"})
        for seq in range(1, repeat + 1):
            await send_frame(ws, "s1", seq, data, encoding, fmt=fmt)
            meta, img = await recv_reply(ws, encoding)
        await ws.close()
        return meta, img
    return run(go())


def problem_seen(meta, code):
    if meta["type"] == "error":
        return meta["code"] == code
    return code in meta["detection_info"]["problems"]


def test_a_clear_hand_has_no_problem(server):
    meta, img = outcome(server.url, read(os.path.join(DATA, "hands", "tfjs_hands_two_dorsal.jpg")))
    assert meta["type"] == "processed_frame", meta
    di = meta["detection_info"]
    assert di["hands_detected"] == 2 and di["overlay_applied"] is True
    assert di["problems"] == [] and sorted(di["fingertips_detected"]) == [0, 1, 2, 3, 4]
    assert len(meta["nails"]) >= 8
    assert meta["confidence_score"] > 0.5
    assert img[:3] == b"\xff\xd8\xff"


def test_no_hand(server):
    for enc in (1, 2, 3):
        meta, img = outcome(server.url, png_bytes(640, 480, (90, 120, 150)), fmt="png", encoding=enc)
        assert meta["type"] == "error" and meta["code"] == "HAND_NOT_DETECTED", meta
        assert meta["recoverable"] is True and meta["sequence"] == 3 and img is None


def test_low_light(server):
    # the same hand at 12% of its brightness: mean luma far under the 45 threshold
    dark = convert(ASL, ["-evaluate", "multiply", "0.12"], ".jpg")
    meta, _ = outcome(server.url, dark)
    assert problem_seen(meta, "LOW_LIGHT"), meta
    if meta["type"] == "processed_frame":
        assert meta["detection_info"]["hand_luma"] < 45
        assert any(p["code"] == "LOW_LIGHT" and p["suggestion"] for p in meta["problem_details"])
    # too dark to find the hand at all: the error says why
    meta, _ = outcome(server.url, convert(NAILS, ["-evaluate", "multiply", "0.12"], ".jpg"))
    assert meta["type"] == "error" and meta["code"] == "LOW_LIGHT", meta
    # the original frame is fine
    meta, _ = outcome(server.url, read(ASL), fmt="webp")
    assert meta["type"] == "processed_frame" and "LOW_LIGHT" not in meta["detection_info"]["problems"]


def test_blur(server):
    meta, _ = outcome(server.url, convert(ASL, ["-blur", "0x6"], ".jpg"))
    assert problem_seen(meta, "BLUR_DETECTED"), meta
    if meta["type"] == "processed_frame":
        assert meta["detection_info"]["hand_sharpness"] < 8
    meta, _ = outcome(server.url, read(ASL), fmt="webp")
    assert "BLUR_DETECTED" not in meta["detection_info"]["problems"]


def test_partial_hand(server):
    # a thumbs-up: one hand, only the thumb nail faces the camera
    meta, _ = outcome(server.url, read(os.path.join(DATA, "hands", "mediapipe_gesture_sample_thumbs_up.jpg")))
    assert problem_seen(meta, "PARTIAL_HAND_DETECTED"), meta
    if meta["type"] == "processed_frame":
        assert len(meta["detection_info"]["fingertips_detected"]) < 3


def test_analysis_only_session_sends_unpainted_frames(server):
    async def go():
        ws, ready = await open_session(server.url, config={"overlay": False, "output_format": "png"})
        assert ready["config"]["overlay"] is False
        await send_frame(ws, "s1", 1, read(video_frames("palm_reach")[45]), 1)
        meta, img = await recv_reply(ws, 1)
        await ws.close()
        return meta, img
    meta, img = run(go())
    assert meta["type"] == "processed_frame", meta
    assert meta["detection_info"]["overlay_applied"] is False
    assert meta["detection_info"]["hands_detected"] >= 1
