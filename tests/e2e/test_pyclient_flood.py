"""Latest frame wins: a caller that submits frames much faster than the service answers.

The service runs with FRAME_QUEUE_SIZE=1 (one frame processed, one waiting), so if the client
ever had more than max_in_flight=2 frames unanswered, the service would drop one and say so
(PROCESSING_TIMEOUT, counted in stats.frames_dropped)."""
import asyncio

from conftest import SLOW, run, read, video_frames
import pyclient_support  # noqa: F401
from lacquer_client import (DetectionProblem, FrameResult, FrameSuperseded, LacquerClient,
                            ServerFrameDropped)

DESIGN = {"shape": "oval", "colors": ["pink"], "finish": "glossy"}
FLOOD_FPS = 200


async def flood(url, frames, max_in_flight):
    client = LacquerClient(url, max_in_flight=max_in_flight, frame_timeout=3.0 * SLOW,
                           ready_timeout=10.0 * SLOW)
    session = await client.initialize_session(design=DESIGN)
    completed = []  # (sequence, outcome) in completion order
    peak = 0

    async def one(data):
        try:
            r = await session.process_frame(data)
            completed.append((r.sequence, r))
        except (DetectionProblem, FrameSuperseded, ServerFrameDropped) as e:
            completed.append((e.sequence, e))

    tasks = []
    for data in frames:
        tasks.append(asyncio.ensure_future(one(data)))
        await asyncio.sleep(1.0 / FLOOD_FPS)
        peak = max(peak, session.frames_in_flight)
    await asyncio.wait_for(asyncio.gather(*tasks), 60 * SLOW)  # every call returns
    stats = await session.stats()
    counters = session.counters
    await session.close()
    return completed, stats, counters, peak


def test_flood_keeps_two_in_flight_and_the_latest_frame_wins(server_factory):
    srv = server_factory("--frame-queue-size", "1", "--rate-limit-fps", "0")
    frames = [read(p) for p in video_frames("palm_reach")[20:140]]
    completed, stats, c, peak = run(flood(srv.url, frames, max_in_flight=2))

    assert len(completed) == len(frames)
    outcome = dict(completed)
    assert sorted(outcome) == list(range(len(frames)))
    superseded = [s for s, o in completed if isinstance(o, FrameSuperseded)]
    answered = [s for s, o in completed if not isinstance(o, FrameSuperseded)]
    # the caller submits ~5x faster than the service answers: most frames are replaced
    assert len(superseded) > len(frames) // 3, c
    assert c.superseded == len(superseded) and c.sent == len(answered)
    assert c.sent + c.superseded == c.submitted == len(frames)
    # never more than two frames unanswered: the service never had to drop one
    assert peak <= 2
    assert not any(isinstance(o, ServerFrameDropped) for _, o in completed)
    assert stats.frames_received == c.sent and stats.frames_dropped == 0, stats
    # the newest frame is never the one replaced
    assert not isinstance(outcome[len(frames) - 1], FrameSuperseded)
    # a superseded frame names a newer frame
    for s in superseded:
        assert outcome[s].superseded_by > s
    # answers come back in submission order
    processed = [s for s, o in completed if isinstance(o, FrameResult)]
    assert processed == sorted(processed) and len(processed) >= 3
    assert c.timed_out == c.lost == c.late_replies == 0


def test_without_the_bound_the_service_drops_and_says_so(server_factory):
    """max_in_flight=4 against FRAME_QUEUE_SIZE=1: the service drops the oldest waiting frames;
    each such frame raises ServerFrameDropped (a FrameDropped) and nothing hangs. (The rate
    limit is off: sent this fast, frames would otherwise also be answered RATE_LIMITED.)"""
    srv = server_factory("--frame-queue-size", "1", "--rate-limit-fps", "0")
    frames = [read(p) for p in video_frames("palm_reach")[20:100]]
    completed, stats, c, peak = run(flood(srv.url, frames, max_in_flight=4))

    assert len(completed) == len(frames)
    dropped = [o for _, o in completed if isinstance(o, ServerFrameDropped)]
    assert dropped, "expected the service to drop frames"
    for e in dropped:
        assert e.code == "PROCESSING_TIMEOUT" and e.recoverable
    assert stats.frames_dropped == len(dropped)
    assert peak <= 4
