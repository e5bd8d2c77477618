"""INFERENCE_THREADS: a lone session's models on two threads give the same answers.

The service with INFERENCE_THREADS=2 keeps a one-thread and a two-thread runner set per worker
and picks per model inference (the gate: no other frame in progress; then the faster set by
measurement). Whichever set runs, the hands and nails of each frame must match what the default
service (one thread) returns for the same frames: same hand count, same fingers, nail centres
within a pixel (parallel float sums may differ in the last bits)."""
from conftest import open_session, read, recv_reply, run, send_frame, video_frames


async def geometry(url, frames):
    # smoothing off: the filters follow arrival times, which differ from run to run
    ws, ready = await open_session(url, config={"max_hands": 2, "smoothing": False})
    assert ready["status"] == "ready"
    out = []
    for seq, path in enumerate(frames, start=1):
        await send_frame(ws, "s1", seq, read(path), 1)
        meta, img = await recv_reply(ws, 1)
        if meta["type"] == "error":  # e.g. no nail in view: the same answer is expected
            out.append((meta["code"], []))
            continue
        out.append((meta["detection_info"]["hands_detected"],
                    sorted((n["finger"], n["cx"], n["cy"]) for n in meta["nails"]
                           if n["source"] == "landmarks")))
    await ws.close()
    return out


def test_two_inference_threads_match_one(server_factory):
    frames = video_frames("asl_hand")[90:120]  # the back of the hand: nails in view
    one = run(geometry(server_factory("--inference-threads", "1", "--stats-interval", "0").url, frames))
    two_srv = server_factory("--inference-threads", "2", "--stats-interval", "0")
    two = run(geometry(two_srv.url, frames))
    assert len(one) == len(two) == len(frames)
    nails = 0
    for (h1, n1), (h2, n2) in zip(one, two):
        assert h1 == h2
        assert [f for f, _, _ in n1] == [f for f, _, _ in n2]
        for (_, x1, y1), (_, x2, y2) in zip(n1, n2):
            assert abs(x1 - x2) < 1.0 and abs(y1 - y2) < 1.0
            nails += 1
    assert nails >= len(frames)  # nails were compared, frame after frame


def test_inference_threads_is_validated(server_factory):
    import subprocess
    from conftest import BIN
    r = subprocess.run([BIN, "serve", "--inference-threads", "65"], capture_output=True,
                       text=True, timeout=30)
    assert r.returncode != 0
    assert "INFERENCE_THREADS" in r.stderr or "inference-threads" in r.stderr, r.stderr
