"""The blocking wrapper (SyncLacquerClient) for scripts, against the real service."""
import concurrent.futures
import threading

import pytest

from conftest import SLOW, read, video_frames
import pyclient_support  # noqa: F401
from lacquer_client import (DetectionProblem, FrameResult, FrameSuperseded, InvalidFrameError,
                            InvalidRequestError, SessionClosed, SessionState,
                            SyncLacquerClient)

DESIGN = {"shape": "stiletto", "pattern": "ombre", "colors": ["#ff69b4", "#800080"]}


def loop_threads():
    return [t for t in threading.enumerate() if t.name == "lacquer-client-loop"]


def test_blocking_session_frames_errors_stats_close(server):
    frames = [read(p) for p in video_frames("palm_reach")[40:52]]
    before = len(loop_threads())
    with SyncLacquerClient(server.url, frame_timeout=3.0 * SLOW,
                           ready_timeout=10.0 * SLOW, encoding="split") as client:
        assert len(loop_threads()) == before + 1
        with pytest.raises(InvalidRequestError) as e:
            client.initialize_session(design={"finish": "velvet"})
        assert e.value.code == "INVALID_DESIGN"

        session = client.initialize_session(design=DESIGN, session_id="sync-1")
        assert session.state is SessionState.READY and session.session_id == "sync-1"
        assert session.ready_message["status"] == "ready"
        processed = 0
        for i, data in enumerate(frames):
            try:
                r = session.process_frame(data)
                assert isinstance(r, FrameResult) and r.sequence == i
                assert r.image.startswith(b"RIFF")
                processed += 1
            except DetectionProblem as err:
                assert err.sequence == i and err.suggestion
        assert processed >= len(frames) // 2
        with pytest.raises(InvalidFrameError) as e:
            session.process_frame(b"\xff\xd8\xff\xe0 not really a jpeg")
        assert e.value.recoverable and e.value.suggestion

        stats = session.stats()
        assert stats.frames_received == len(frames) + 1

        # submit_frame: non-blocking; submitted faster than answered, the latest frame wins
        futures = [session.submit_frame(data) for data in frames * 3]
        outcomes = []
        for f in futures:
            try:
                outcomes.append(f.result(timeout=30 * SLOW))
            except (DetectionProblem, FrameSuperseded) as err:
                outcomes.append(err)
        assert any(isinstance(o, FrameSuperseded) for o in outcomes)
        assert not isinstance(outcomes[-1], FrameSuperseded)
        assert session.counters.superseded == sum(isinstance(o, FrameSuperseded)
                                                  for o in outcomes)

        final = session.close()
        assert final is not None and session.state is SessionState.CLOSED
        with pytest.raises(SessionClosed):
            session.process_frame(frames[0])
        # a second session is closed by the client's own close
        other = client.initialize_session()
    assert other.state is SessionState.CLOSED
    assert len(loop_threads()) == before  # the loop thread is gone
    client.close()  # idempotent
    with pytest.raises(RuntimeError):
        other.process_frame(frames[0])


def test_calls_from_many_threads(server):
    frames = [read(p) for p in video_frames("palm_reach")[44:48]]
    with SyncLacquerClient(server.url, frame_timeout=3.0 * SLOW,
                           ready_timeout=10.0 * SLOW) as client:
        def one_session(k):
            s = client.initialize_session(design=DESIGN, session_id=f"thread-{k}")
            got = 0
            for data in frames:
                try:
                    s.process_frame(data)
                    got += 1
                except DetectionProblem:
                    pass
            s.close()
            return got

        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            results = list(pool.map(one_session, range(3)))
        assert all(r >= 2 for r in results), results
        assert client.client.sessions == {}
