"""Every error code that a client can provoke, each with its recoverable flag and suggestion."""
import asyncio
import json

import pytest
import websockets

from conftest import (DATA, HEADER_SIZE, SLOW, convert, frame_header, open_session, png_bytes,
                      read, recv_json, recv_reply, run, send_frame, video_frames)

RECOVERABLE = {"HAND_NOT_DETECTED": True, "PARTIAL_HAND_DETECTED": True, "LOW_LIGHT": True,
               "BLUR_DETECTED": True, "MODEL_ERROR": False, "INVALID_SESSION": False,
               "PROCESSING_TIMEOUT": True, "INVALID_MESSAGE": True, "UNSUPPORTED_FORMAT": True,
               "INVALID_FRAME": True, "FRAME_TOO_LARGE": True, "INVALID_DESIGN": True,
               "INVALID_CONFIG": True, "RATE_LIMITED": True, "SERVER_BUSY": False,
               "UNAUTHORIZED": False, "REFERENCE_FETCH_FAILED": True}


def check_error(m, code, session_id="s1", sequence=None, needle=None):
    assert m["type"] == "error", m
    assert m["code"] == code, m
    assert m["recoverable"] is RECOVERABLE[code], m
    assert m["message"] and len(m["suggestion"]) > 10, m
    assert m["session_id"] == session_id, m
    if sequence is not None:
        assert m["sequence"] == sequence, m
    if needle:
        assert needle in m["message"], m
    assert isinstance(m["timestamp"], int) and m["timestamp"] > 1_600_000_000_000


async def still_works(ws, seq=1000):
    """The connection survives a recoverable error: a good frame still gets an answer."""
    await send_frame(ws, "s1", seq, read(video_frames("palm_reach")[45]), 1)
    meta, _ = await recv_reply(ws, 1)
    assert meta["sequence"] == seq and meta["type"] in ("processed_frame", "error"), meta


def test_malformed_messages(server):
    async def go():
        ws, _ = await open_session(server.url)
        cases = [
            ("not json", "invalid JSON", None),
            ("[1]", "JSON object", None),
            (json.dumps({"type": "dance", "session_id": "s1"}), "unknown message type", "s1"),
            (json.dumps({"session_id": "s1"}), "missing field 'type'", "s1"),
            (json.dumps({"type": "process_frame", "session_id": "s1"}), "sequence", "s1"),
            (json.dumps({"type": "process_frame", "session_id": "bad id!", "sequence": 1}),
             "session_id", None),
            ("[" * 100 + "]" * 100, "nested", None),
        ]
        for text, needle, sid in cases:
            await ws.send(text)
            check_error(await recv_json(ws), "INVALID_MESSAGE", sid, needle=needle)
        # a binary message that is neither an image for a pending header nor a 1024-byte header
        await ws.send(b"\x00" * 50)
        check_error(await recv_json(ws), "INVALID_MESSAGE", None, needle="1024-byte")
        # split encoding: header, then a text message instead of the image
        await ws.send(json.dumps(frame_header("s1", 5)))
        await ws.send(json.dumps({"type": "stats", "session_id": "s1"}))
        check_error(await recv_json(ws), "INVALID_MESSAGE", "s1", 5, "announced a binary image")
        assert (await recv_json(ws))["type"] == "stats"
        # split encoding: size_bytes disagrees with the image
        data = read(video_frames("palm_reach")[45])
        await ws.send(json.dumps(frame_header("s1", 6, len(data) + 1)))
        await ws.send(data)
        check_error(await recv_json(ws), "INVALID_MESSAGE", "s1", 6, "size_bytes")
        # header encoding with a broken header
        await ws.send(b'{"type":"process_frame",'.ljust(HEADER_SIZE, b" ") + data)
        check_error(await recv_json(ws), "INVALID_MESSAGE", None, needle="invalid JSON")
        # base64 that is not base64
        await ws.send(json.dumps({**frame_header("s1", 7), "frame_data": "!!!not base64!!!"}))
        check_error(await recv_json(ws), "INVALID_MESSAGE", "s1", 7, "base64")
        await still_works(ws)
        await ws.close()
    run(go())


def test_invalid_session(server):
    async def go():
        ws = await websockets.connect(server.url, max_size=None)
        data = read(video_frames("palm_reach")[45])
        for enc in (1, 2, 3):
            await send_frame(ws, "nobody", 3, data, enc)
            check_error(await recv_json(ws), "INVALID_SESSION", "nobody", 3, "init_session")
        await ws.send(json.dumps({"type": "close_session", "session_id": "nobody"}))
        check_error(await recv_json(ws), "INVALID_SESSION", "nobody")
        await ws.send(json.dumps({"type": "stats", "session_id": "nobody"}))
        check_error(await recv_json(ws), "INVALID_SESSION", "nobody")
        # after init, another id is still refused
        await ws.send(json.dumps({"type": "init_session", "session_id": "s1",
                                  "nail_reference": {"metadata": {}}}))
        assert (await recv_json(ws))["type"] == "session_ready"
        await send_frame(ws, "s2", 4, data, 1)
        check_error(await recv_json(ws), "INVALID_SESSION", "s2", 4, "carries 's1'")
        await still_works(ws)
        await ws.close()
    run(go())


def test_bad_images(server):
    gif = b"GIF89a" + b"\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 64
    webp = read(video_frames("palm_reach")[45])
    truncated = webp[: len(webp) // 2]
    big = png_bytes(2400, 1400)
    src = f"{DATA}/video/palm_reach/0046.webp"
    portrait = convert(src, ["-rotate", "90"], ".jpg")  # 480x640: allowed either way

    async def go():
        ws, _ = await open_session(server.url)
        for enc in (1, 2, 3):
            await send_frame(ws, "s1", 10 + enc, gif, enc, fmt="webp")
            check_error(await recv_json(ws), "UNSUPPORTED_FORMAT", "s1", 10 + enc)
            await send_frame(ws, "s1", 20 + enc, truncated, enc)
            check_error(await recv_json(ws), "INVALID_FRAME", "s1", 20 + enc)
            await send_frame(ws, "s1", 30 + enc, big, enc, fmt="png")
            check_error(await recv_json(ws), "FRAME_TOO_LARGE", "s1", 30 + enc, "2400x1400")
        # declared format and dimensions are checked before the image is looked at
        await ws.send(json.dumps({**frame_header("s1", 40, fmt="bmp")}))
        check_error(await recv_json(ws), "UNSUPPORTED_FORMAT", "s1", 40)
        h = frame_header("s1", 41)
        h["frame_metadata"].update(width=3840, height=2160)
        await ws.send(json.dumps(h))
        check_error(await recv_json(ws), "FRAME_TOO_LARGE", "s1", 41, "3840x2160")
        await send_frame(ws, "s1", 42, portrait, 1, fmt="jpeg")
        meta, _ = await recv_reply(ws, 1)
        assert meta["type"] == "processed_frame" or meta["code"] != "FRAME_TOO_LARGE", meta
        await still_works(ws)
        await ws.close()
    run(go())


def test_message_over_ws_max_message_size(server_factory):
    srv = server_factory("--ws-max-message-size", "64k")
    async def go():
        ws, _ = await open_session(srv.url)
        await ws.send(json.dumps(frame_header("s1", 1)))
        await ws.send(b"\xff\xd8\xff" + b"\x00" * 100_000)
        check_error(await recv_json(ws), "FRAME_TOO_LARGE", "s1", 1, "WS_MAX_MESSAGE_SIZE")
        # then the connection is closed with 1009 (message too big, RFC 6455 7.4.1)
        with pytest.raises(websockets.ConnectionClosed) as e:
            await asyncio.wait_for(ws.recv(), 10 * SLOW)
        assert e.value.code == 1009
        # a text message over the limit: the same
        ws, _ = await open_session(srv.url)
        await ws.send(b"{" + b" " * 200_000)
        check_error(await recv_json(ws), "FRAME_TOO_LARGE", "s1", None, "WS_MAX_MESSAGE_SIZE")
        with pytest.raises(websockets.ConnectionClosed) as e:
            await asyncio.wait_for(ws.recv(), 10 * SLOW)
        assert e.value.code == 1009
    run(go())


def test_invalid_design_and_config(server):
    async def go():
        ws = await websockets.connect(server.url, max_size=None)
        await ws.send(json.dumps({"type": "init_session", "session_id": "s1",
                                  "nail_reference": {"metadata": {"shape": "hexagon"}}}))
        check_error(await recv_json(ws), "INVALID_DESIGN", "s1", needle="shape")
        await ws.send(json.dumps({"type": "init_session", "session_id": "s1",
                                  "nail_reference": {"metadata": {"colors": ["notacolour"]}}}))
        check_error(await recv_json(ws), "INVALID_DESIGN", "s1", needle="colo")
        await ws.send(json.dumps({"type": "init_session", "session_id": "s1",
                                  "nail_reference": {"metadata": {}},
                                  "config": {"quality": "ultra"}}))
        check_error(await recv_json(ws), "INVALID_CONFIG", "s1", needle="quality")
        await ws.send(json.dumps({"type": "init_session", "session_id": "s1",
                                  "nail_reference": {"metadata": {}},
                                  "config": {"output_format": "gif"}}))
        check_error(await recv_json(ws), "INVALID_CONFIG", "s1", needle="output_format")
        # the connection is fine: a valid init works
        await ws.send(json.dumps({"type": "init_session", "session_id": "s1",
                                  "nail_reference": {"metadata": {"colors": ["pink"]}}}))
        assert (await recv_json(ws))["type"] == "session_ready"
        await ws.close()
    run(go())


def test_rate_limit(server_factory):
    srv = server_factory("--rate-limit-fps", "3", "--frame-queue-size", "8")
    async def go():
        ws, _ = await open_session(srv.url)
        data = read(video_frames("palm_reach")[45])
        for seq in range(1, 7):
            await send_frame(ws, "s1", seq, data, 3)
        limited, answered = [], []
        for _ in range(6):
            meta, _ = await recv_reply(ws, 3, timeout=30)
            (limited if meta.get("code") == "RATE_LIMITED" else answered).append(meta)
        assert len(limited) == 3, limited
        for m in limited:
            check_error(m, "RATE_LIMITED", "s1", needle="RATE_LIMIT_FPS=3")
        assert sorted(m["sequence"] for m in answered) == [1, 2, 3]
        await ws.close()
    run(go())


def test_authentication(server_factory):
    srv = server_factory(env={"AUTH_TOKEN": "s3cret-token"})
    async def go():
        ws = await websockets.connect(srv.url, max_size=None)
        check_error(await recv_json(ws), "UNAUTHORIZED", None)
        with pytest.raises(websockets.ConnectionClosed) as e:
            await asyncio.wait_for(ws.recv(), 5 * SLOW)
        assert e.value.code == 1008
        ws = await websockets.connect(srv.url + "?token=wrong", max_size=None)
        check_error(await recv_json(ws), "UNAUTHORIZED", None)
        await ws.wait_closed()
        for url, headers in [(srv.url + "?token=s3cret-token", None),
                             (srv.url, {"Authorization": "Bearer s3cret-token"})]:
            ws = await websockets.connect(url, max_size=None, extra_headers=headers)
            await ws.send(json.dumps({"type": "init_session", "session_id": "s1",
                                      "nail_reference": {"metadata": {}}}))
            assert (await recv_json(ws))["type"] == "session_ready"
            await ws.close()
    run(go())
    assert "s3cret-token" not in srv.logs()


def test_wrong_path_is_refused(server):
    async def go():
        with pytest.raises(Exception):
            ws = await websockets.connect(f"ws://127.0.0.1:{server.port}/other", max_size=None)
            await ws.recv()
    run(go())
