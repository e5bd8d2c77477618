"""clients/python lacquer_client against the real `lacquer serve`: sessions, frames in each
encoding over one reused connection, typed errors, stats, close, late replies."""
import asyncio
import json

import pytest

from conftest import SLOW, free_port, png_bytes, read, run, video_frames
import pyclient_support  # noqa: F401  (puts clients/python on sys.path)
from lacquer_client import (DetectionProblem, ErrorCode, FrameResult, FrameTimeout,
                            InvalidFrameError, InvalidRequestError, InvalidSessionError,
                            LacquerClient, LacquerConnectionError, ReferenceFetchFailed,
                            ServiceUnavailableError, SessionClosed, SessionState,
                            UnauthorizedError, UnknownSessionError)

DESIGN = {"shape": "almond", "pattern": "solid", "size": "medium", "colors": ["#c8102e"],
          "finish": "glossy"}
WEBP_MAGIC = b"RIFF"


def client_for(url, **kw):
    kw.setdefault("frame_timeout", 3.0 * SLOW)
    kw.setdefault("ready_timeout", 10.0 * SLOW)
    return LacquerClient(url, **kw)


def frame_log_records(server, session_id):
    return [r for r in server.log_records()
            if r.get("msg") == "frame processed" and r.get("session_id") == session_id]


@pytest.mark.parametrize("encoding", ["header", "split", "base64"])
def test_frames_over_one_connection_in_each_encoding(server, encoding):
    frames = video_frames("palm_reach")[40:56]

    async def go():
        client = client_for(server.url, encoding=encoding)
        session = await client.initialize_session(design=DESIGN, session_id="enc-" + encoding)
        assert session.state is SessionState.READY
        assert session.ready_message["config"]["output_format"] == "webp"
        assert client.sessions == {session.session_id: session}
        outcomes = []
        for path in frames:
            try:
                outcomes.append(await session.process_frame(read(path)))
            except DetectionProblem as e:
                assert e.recoverable and e.suggestion and e.sequence is not None
                outcomes.append(e)
        health = json.loads(server.get("/health")[2])
        await session.close()
        return session, outcomes, health

    session, outcomes, health = run(go())
    assert health["connections"] == 1 and health["active_sessions"] == 1, health
    results = [o for o in outcomes if isinstance(o, FrameResult)]
    assert len(results) >= len(frames) // 2, outcomes
    assert [o.sequence for o in outcomes] == list(range(len(frames)))
    for r in results:
        assert r.metadata["type"] == "processed_frame"
        assert r.metadata["sequence"] == r.sequence
        assert r.metadata["session_id"] == session.session_id
        assert r.image.startswith(WEBP_MAGIC) and r.image_format == "webp"
        assert r.metadata["frame_metadata"]["size_bytes"] == len(r.image)
        assert r.round_trip_ms > 0 and r.processing_time_ms > 0
        assert 0 <= r.confidence_score <= 1 and r.detection_info["hands_detected"] >= 1
    # the service saw every frame on this session in the chosen encoding
    recs = frame_log_records(server, session.session_id)
    assert len(recs) == len(frames)
    assert {r["encoding"] for r in recs} == {encoding}
    c = session.counters
    assert (c.submitted, c.sent, c.processed + c.server_errors) == (len(frames),) * 3
    assert c.reconnects == c.lost == c.timed_out == c.superseded == c.late_replies == 0


def test_stats_and_close(server):
    async def go():
        client = client_for(server.url)
        session = await client.initialize_session(design=DESIGN)
        for path in video_frames("palm_reach")[44:50]:
            try:
                await session.process_frame(read(path))
            except DetectionProblem:
                pass
        stats = await session.stats()
        assert stats.frames_received == 6 == session.counters.sent
        assert stats.frames_processed == session.counters.processed
        assert stats.frames_with_errors == session.counters.server_errors
        assert stats.frames_dropped == 0 and stats.avg_processing_time_ms > 0
        assert stats.raw["session_id"] == session.session_id
        final = await session.close()
        assert final is not None and final.frames_received == 6
        assert session.state is SessionState.CLOSED and client.sessions == {}
        assert await session.close() is final  # idempotent
        with pytest.raises(SessionClosed):
            await session.process_frame(read(video_frames("palm_reach")[45]))
        with pytest.raises(SessionClosed):
            await session.stats()
        for _ in range(100):
            if json.loads(server.get("/health")[2])["active_sessions"] == 0:
                break
            await asyncio.sleep(0.05)
        assert json.loads(server.get("/health")[2])["active_sessions"] == 0
    run(go())


def test_typed_errors_for_bad_images_and_unknown_sessions(server):
    good = read(video_frames("palm_reach")[45])
    gif = b"GIF89a\x01\x00\x01\x00\x80\x00\x00" + b"\x00" * 64

    async def go():
        client = client_for(server.url)
        session = await client.initialize_session(design=DESIGN, session_id="errs")
        with pytest.raises(InvalidFrameError) as e:
            await session.process_frame(good[: len(good) // 2])
        assert e.value.code == ErrorCode.INVALID_FRAME == "INVALID_FRAME"
        assert e.value.recoverable is True and len(e.value.suggestion) > 10
        assert e.value.sequence == 0 and e.value.session_id == "errs"
        assert e.value.payload["type"] == "error"
        with pytest.raises(InvalidFrameError) as e:
            await session.process_frame(gif)
        assert e.value.code == "UNSUPPORTED_FORMAT" and e.value.sequence == 1
        with pytest.raises(DetectionProblem) as e:
            await session.process_frame(png_bytes(320, 240))
        assert e.value.code == "HAND_NOT_DETECTED" and e.value.suggestion
        # the session goes on after recoverable errors, on the same connection
        r = await session.process_frame(good)
        assert r.sequence == 3 and session.counters.reconnects == 0
        # a session this client does not have
        with pytest.raises(UnknownSessionError):
            await client.process_frame("nobody", good)
        with pytest.raises(UnknownSessionError):
            await client.stats("nobody")
        assert await client.close_session("nobody") is None
        # the guide-shaped calls by id reach the real session
        r = await client.process_frame("errs", good)
        assert r.metadata["session_id"] == "errs"
        assert (await client.stats("errs")).frames_received == 5
        with pytest.raises(ValueError):
            await session.process_frame(good, sequence=2)  # must increase
        await client.close()
        assert client.sessions == {}
    run(go())


def test_server_invalid_session_is_typed_and_the_session_is_recreated(server):
    """The service answers INVALID_SESSION (not recoverable) when a frame names a session
    that is not open on its connection. To make the real service send it, the test renames
    the session under the client's feet; the client must raise the typed error and then
    re-create the session (under the name it now has) on a new connection."""
    good = read(video_frames("palm_reach")[45])

    async def go():
        client = client_for(server.url)
        session = await client.initialize_session(design=DESIGN, session_id="real")
        await session.process_frame(good)
        session.session_id = "renamed"
        with pytest.raises(InvalidSessionError) as e:
            await session.process_frame(good)
        assert e.value.code == "INVALID_SESSION" and e.value.recoverable is False
        assert e.value.session_id == "renamed"
        r = await session.process_frame(good)
        assert r.metadata["session_id"] == "renamed"
        assert session.counters.reconnects == 1 and session.counters.lost == 0
        await session.close()
    run(go())


def test_invalid_design_and_config_are_refused(server):
    async def go():
        client = client_for(server.url)
        with pytest.raises(InvalidRequestError) as e:
            await client.initialize_session(design={"shape": "hexagon"})
        assert e.value.code == "INVALID_DESIGN" and "shape" in e.value.message
        with pytest.raises(InvalidRequestError) as e:
            await client.initialize_session(config={"quality": "ultra"})
        assert e.value.code == "INVALID_CONFIG"
        assert client.sessions == {}
        with pytest.raises(ValueError):
            await client.initialize_session(session_id="bad id!")
        session = await client.initialize_session(config={"output_format": "png"})
        r = await session.process_frame(read(video_frames("palm_reach")[45]))
        assert r.image.startswith(b"\x89PNG") and r.image_format == "png"
        await client.close()
    run(go())


def test_token_busy_and_unreachable(server_factory):
    srv = server_factory("--max-concurrent-sessions", "1", env={"AUTH_TOKEN": "tok-123"})

    async def go():
        with pytest.raises(UnauthorizedError) as e:
            await client_for(srv.url).initialize_session()
        assert e.value.recoverable is False
        with pytest.raises(UnauthorizedError):
            await client_for(srv.url, token="wrong").initialize_session()
        client = client_for(srv.url, token="tok-123")
        first = await client.initialize_session(design=DESIGN)
        with pytest.raises(ServiceUnavailableError) as e:
            await client.initialize_session(design=DESIGN)
        assert e.value.code == "SERVER_BUSY"
        await first.close()
        nowhere = client_for(f"ws://127.0.0.1:{free_port()}/ws/tryon", connect_timeout=2)
        with pytest.raises(LacquerConnectionError):
            await nowhere.initialize_session()
    run(go())


def test_failed_reference_fetch_is_reported_and_frames_go_on(server_factory):
    srv = server_factory("--fetch-allow-private", "true", "--fetch-timeout-ms", "1000")

    async def go():
        client = client_for(srv.url)
        url = f"http://127.0.0.1:{free_port()}/nail.webp"  # nobody listens there
        session = await client.initialize_session(design=DESIGN, reference_url=url)
        assert session.ready_message["reference"] == "failed"
        assert isinstance(session.reference_error, ReferenceFetchFailed)
        assert session.reference_error.code == "REFERENCE_FETCH_FAILED"
        r = await session.process_frame(read(video_frames("palm_reach")[45]))
        assert r.sequence == 0
        await session.close()
    run(go())


@pytest.mark.parametrize("encoding", ["header", "split"])
def test_late_reply_is_discarded_not_taken_for_the_next(server, encoding):
    frames = [read(p) for p in video_frames("palm_reach")[44:50]]

    async def go():
        client = client_for(server.url, encoding=encoding, max_in_flight=1)
        session = await client.initialize_session(design=DESIGN)
        for i in range(0, len(frames), 2):
            with pytest.raises(FrameTimeout) as e:
                await session.process_frame(frames[i], timeout=0.001)
            late = e.value.sequence
            try:
                r = await session.process_frame(frames[i + 1])
                seq, size = r.metadata["sequence"], r.metadata["frame_metadata"]["size_bytes"]
                assert r.sequence == seq == late + 1 and size == len(r.image)
            except DetectionProblem as d:
                assert d.sequence == late + 1
        # the service answered every frame; the 3 late answers were dropped
        stats = await session.stats()
        assert stats.frames_received == len(frames)
        c = session.counters
        assert c.timed_out == 3 and c.late_replies == 3, c
        await session.close()
    run(go())
