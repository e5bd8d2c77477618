"""`lacquer worker` against a real redis-server (Debian's), started by the test.

Each test starts its own redis-server on a free loopback port (no persistence, in a
temporary folder) and real worker processes, then drives them with Debian's
python3-redis the way a producer would: XADD jobs to tryon:jobs, read tryon:results
and tryon:dead. Covers: jobs processed and acknowledged, a corrupt image answered with
an error result (acknowledged, not retried), a worker killed with SIGKILL in the middle
of a job (the job is taken over by another worker and completes), a job whose workers
die max-attempts times (dead-lettered), SIGTERM while a job runs (finished, then exit 0),
and Redis restarting under a running worker.
"""
import json
import os
import signal
import subprocess
import tempfile
import time

import pytest

from conftest import BIN, DATA, MODELS, SLOW, convert, png_bytes, read, video_frames
from redis_support import RedisServer

JOBS, RESULTS, DEAD, GROUP = "tryon:jobs", "tryon:results", "tryon:dead", "lacquer"
CLAIM_IDLE_MS = 1000


class Worker:
    def __init__(self, redis_url, consumer, *args, max_attempts=3):
        fd, self.log_path = tempfile.mkstemp(prefix=f"lacquer-worker-{consumer}-", suffix=".log")
        self.log = os.fdopen(fd, "w+")
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("BATCH_", "REDIS_", "MODEL_", "LOG_"))}
        env.update({"MODEL_PATH": MODELS, "LOG_LEVEL": "info", "LOG_FORMAT": "json"})
        self.consumer = consumer
        self.proc = subprocess.Popen(
            [BIN, "worker", "--redis", redis_url, "--consumer", consumer,
             "--claim-idle-ms", str(CLAIM_IDLE_MS), "--block-ms", "200",
             "--max-attempts", str(max_attempts), *args],
            env=env, stdout=self.log, stderr=subprocess.STDOUT, cwd=tempfile.gettempdir())

    def logs(self):
        with open(self.log_path) as f:
            return f.read()

    def records(self):
        out = []
        for line in self.logs().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def wait_log(self, pred, timeout=30.0, poll=0.005):
        deadline = time.time() + timeout * SLOW
        while time.time() < deadline:
            for r in self.records():
                if pred(r):
                    return r
            assert self.proc.poll() is None, f"worker exited:\n{self.logs()}"
            time.sleep(poll)
        raise AssertionError(f"log line not seen:\n{self.logs()}")

    def wait_started(self, job_id, timeout=30.0):
        return self.wait_log(lambda r: r.get("msg", "").startswith("job started")
                             and r.get("job_id") == job_id, timeout)

    def kill(self):
        self.proc.kill()
        self.proc.wait()

    def stop(self, timeout=30.0):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout * SLOW)
        return self.proc.returncode

    def check_clean(self):
        text = self.logs()
        assert "AddressSanitizer" not in text and "runtime error" not in text, text


@pytest.fixture
def rds():
    r = RedisServer()
    yield r
    r.remove()


@pytest.fixture
def workers():
    started = []

    def make(*args, **kw):
        w = Worker(*args, **kw)
        started.append(w)
        return w

    yield make
    for w in started:
        if w.proc.poll() is None:
            assert w.stop() == 0, w.logs()
        w.check_clean()
        w.log.close()
        if not os.environ.get("LQ_KEEP_LOGS"):
            os.unlink(w.log_path)


def hand_frame():
    return read(os.path.join(DATA, "hands", "tfjs_hands_two_dorsal.jpg"))


def slow_job_image():
    """A 1080x1920 PNG: with PNG output at quality high the job takes a few hundred ms
    (decode and zlib encode of 2 megapixels), long enough to kill a worker inside it."""
    # asl_hand frame 100 shows the back of the hand (four nails to paint)
    return convert(video_frames("asl_hand")[99], ["-resize", "1080x1920!"], ".png")


def results_by_job(r):
    out = {}
    for _, f in r.xrange(RESULTS):
        out.setdefault(f[b"job_id"].decode(), []).append(f)
    return out


def wait_results(r, job_ids, timeout=60.0):
    deadline = time.time() + timeout * SLOW
    while time.time() < deadline:
        res = results_by_job(r)
        if all(j in res for j in job_ids):
            return res
        time.sleep(0.05)
    raise AssertionError(f"results missing: {set(job_ids) - set(results_by_job(r))}")


def pending(r):
    return r.xpending(JOBS, GROUP)["pending"]


def test_jobs_are_processed_and_acknowledged(rds, workers):
    r = rds.client
    design = {"shape": "coffin", "pattern": "french_tips", "colors": ["#2255cc", "white"]}
    # Jobs queued before any worker ran are processed too (the group starts at 0).
    ids = []
    for i, fmt in enumerate(["webp", "jpeg", "png", "webp"]):
        jid = f"job-{i}"
        ids.append(jid)
        r.xadd(JOBS, {"image": hand_frame(), "design": json.dumps(design), "job_id": jid,
                      "output_format": fmt, "output_quality": "80"})
    r.xadd(JOBS, {"image": hand_frame()})  # no job_id: the entry id names the job
    heartbeat = os.path.join(rds.dir, "worker.alive")
    w1 = workers(rds.url, "w1", "--heartbeat-file", heartbeat)
    w2 = workers(rds.url, "w2", "--threads", "2")
    res = wait_results(r, ids)
    magic = {"webp": b"RIFF", "jpeg": b"\xff\xd8", "png": b"\x89PNG"}
    for i, fmt in enumerate(["webp", "jpeg", "png", "webp"]):
        (f,) = res[f"job-{i}"]
        assert f[b"status"] == b"ok", f
        assert f[b"format"].decode() == fmt
        assert f[b"image"].startswith(magic[fmt])
        assert f[b"attempt"] == b"1"
        meta = json.loads(f[b"metadata"])
        assert meta["job_id"] == f"job-{i}"
        assert (meta["width"], meta["height"]) == (720, 382)
        assert meta["size_bytes"] == len(f[b"image"])
        assert meta["detection_info"]["hands_detected"] == 2
        assert meta["detection_info"]["overlay_applied"] is True
        assert sum(n["visible"] for n in meta["nails"]) >= 6
        assert meta["design"]["shape"] == "coffin"
        assert meta["design"]["pattern"] == "french_tips"
    deadline = time.time() + 30 * SLOW
    while r.xlen(RESULTS) < 5 and time.time() < deadline:
        time.sleep(0.05)
    entries = {eid.decode(): f for eid, f in r.xrange(JOBS)}
    anon = [f for _, f in r.xrange(RESULTS) if f[b"job_id"].decode() in entries]
    assert len(anon) == 1 and anon[0][b"status"] == b"ok"
    assert pending(r) == 0
    consumers = {f[b"consumer"].decode() for _, f in r.xrange(RESULTS)}
    assert consumers <= {"w1", "w2-1", "w2-2"}
    # The heartbeat (the container health check of deploy/docker-compose.yml) stays fresh
    # while the worker waits for jobs.
    time.sleep(1.0)
    assert time.time() - os.stat(heartbeat).st_mtime < 1.0
    assert w1.stop() == 0 and w2.stop() == 0


def test_bad_jobs_get_error_results_once(rds, workers):
    r = rds.client
    w = workers(rds.url, "w1")
    r.xadd(JOBS, {"image": hand_frame()[:3000], "job_id": "truncated"})
    r.xadd(JOBS, {"image": b"GIF89a" + b"\0" * 64, "job_id": "gif"})
    r.xadd(JOBS, {"image": hand_frame(), "design": '{"shape": "triangle"}', "job_id": "design"})
    r.xadd(JOBS, {"image": hand_frame(), "output_format": "bmp", "job_id": "fmt"})
    r.xadd(JOBS, {"image": png_bytes(320, 240), "job_id": "gray"})
    r.xadd(JOBS, {"design": "{}", "job_id": "noimage"})
    r.xadd(JOBS, {"image": png_bytes(2000, 100), "job_id": "wide"})
    want = {"truncated": "INVALID_FRAME", "gif": "UNSUPPORTED_FORMAT", "design": "INVALID_DESIGN",
            "fmt": "INVALID_CONFIG", "gray": "HAND_NOT_DETECTED", "noimage": "INVALID_JOB",
            "wide": "FRAME_TOO_LARGE"}
    res = wait_results(r, want)
    for jid, code in want.items():
        (f,) = res[jid]
        assert f[b"status"] == b"error", f
        assert f[b"code"].decode() == code, (jid, f)
        assert f[b"message"]
    assert res["design"][0][b"message"].startswith(b"design: shape")
    gray = json.loads(res["gray"][0][b"metadata"])
    assert gray["detection_info"]["hands_detected"] == 0
    assert pending(r) == 0
    # Not retried: after two claim periods there is still one result per job.
    time.sleep(2.5 * CLAIM_IDLE_MS / 1000)
    assert all(len(v) == 1 for v in results_by_job(r).values())
    assert r.xlen(DEAD) == 0
    assert w.stop() == 0


def kill_mid_job(r, worker, image, job_id):
    """Adds a slow job, SIGKILLs the worker as soon as it logs that it started it.
    Returns True if the kill landed while the job was still running."""
    r.xadd(JOBS, {"image": image, "output_format": "png", "quality": "high", "job_id": job_id})
    worker.wait_started(job_id)
    worker.kill()
    return job_id not in results_by_job(r)


def test_worker_killed_mid_job_is_taken_over(rds, workers):
    r = rds.client
    image = slow_job_image()
    wa = workers(rds.url, "wa")
    # The kill must land inside the job; a job that finished first does not count.
    for attempt in range(3):
        job_id = f"slow-{attempt}"
        if kill_mid_job(r, wa, image, job_id):
            break
        wa = workers(rds.url, f"wa{attempt}")
    else:
        pytest.fail("the worker finished every job before SIGKILL landed")
    info = r.xpending_range(JOBS, GROUP, "-", "+", 10)
    assert [(p["consumer"].decode(), p["times_delivered"]) for p in info] == [(wa.consumer, 1)]

    wb = workers(rds.url, "wb")
    res = wait_results(r, [job_id], timeout=60)
    (f,) = res[job_id]
    assert f[b"status"] == b"ok", f
    assert f[b"consumer"] == b"wb"
    assert f[b"attempt"] == b"2"
    assert f[b"image"].startswith(b"\x89PNG")
    assert pending(r) == 0
    taken = wb.wait_log(lambda x: x.get("msg", "").startswith("took over job"))
    assert wa.consumer in taken["msg"]
    assert wb.stop() == 0


def test_job_dead_lettered_after_max_attempts(rds, workers):
    r = rds.client
    image = slow_job_image()
    job_id = "poison"
    r.xadd(JOBS, {"image": image, "output_format": "png", "quality": "high", "job_id": job_id,
                  "design": '{"colors": ["gold"]}'})
    # Three workers in turn take the job and die in the middle of it.
    kills = 0
    for n in range(1, 4):
        w = workers(rds.url, f"crash{n}")
        w.wait_started(job_id, timeout=60)
        w.kill()
        info = r.xpending_range(JOBS, GROUP, "-", "+", 10)
        if job_id in results_by_job(r):
            pytest.fail(f"attempt {n} finished before SIGKILL landed; cannot test dead letters")
        assert info[0]["times_delivered"] == n, info
        kills += 1
    assert kills == 3
    survivor = workers(rds.url, "survivor")
    deadline = time.time() + 60 * SLOW
    while r.xlen(DEAD) == 0 and time.time() < deadline:
        time.sleep(0.05)
    ((_, dead),) = r.xrange(DEAD)
    assert dead[b"job_id"] == job_id.encode()
    assert dead[b"image"] == image                       # the job travels with its letter
    assert dead[b"design"] == b'{"colors": ["gold"]}'
    assert dead[b"dead_attempts"] == b"3"
    assert dead[b"dead_consumer"] == b"crash3"
    assert b"max-attempts 3" in dead[b"dead_reason"]
    (res,) = wait_results(r, [job_id])[job_id]
    assert res[b"status"] == b"error"
    assert res[b"code"] == b"MAX_ATTEMPTS_EXCEEDED"
    assert pending(r) == 0
    survivor.wait_log(lambda x: x.get("msg", "").startswith("job dead-lettered"))
    # The survivor never started the poison job itself.
    assert not any(x.get("msg", "").startswith("job started") for x in survivor.records())
    # A dead letter can be re-queued as it is (the dead_* fields are ignored).
    requeued = {k: v for k, v in dead.items()}
    requeued[b"job_id"] = b"poison-again"
    requeued[b"output_format"] = b"webp"
    r.xadd(JOBS, requeued)
    (again,) = wait_results(r, ["poison-again"])["poison-again"]
    assert again[b"status"] == b"ok"
    assert survivor.stop() == 0


def test_sigterm_finishes_the_job_in_hand(rds, workers):
    r = rds.client
    w = workers(rds.url, "w1")
    r.xadd(JOBS, {"image": slow_job_image(), "output_format": "png", "quality": "high",
                  "job_id": "last"})
    w.wait_started("last")
    w.proc.send_signal(signal.SIGTERM)
    assert w.proc.wait(30 * SLOW) == 0, w.logs()
    (f,) = results_by_job(r)["last"]
    assert f[b"status"] == b"ok" and f[b"consumer"] == b"w1"
    assert pending(r) == 0
    # Jobs added after the stop stay in the stream for the next worker.
    r.xadd(JOBS, {"image": hand_frame(), "job_id": "later"})
    time.sleep(0.5)
    assert "later" not in results_by_job(r)
    w2 = workers(rds.url, "w2")
    assert wait_results(r, ["later"])["later"][0][b"status"] == b"ok"
    assert w2.stop() == 0


def test_worker_survives_redis_restart(rds, workers):
    r = rds.client
    w = workers(rds.url, "w1")
    r.xadd(JOBS, {"image": hand_frame(), "job_id": "before"})
    wait_results(r, ["before"])
    port, workdir = rds.port, rds.dir
    rds.stop()
    time.sleep(0.5)
    again = RedisServer(port=port, workdir=workdir)
    try:
        # The new Redis has no stream and no group: the worker re-creates them, and
        # jobs added meanwhile are not skipped.
        again.client.xadd(JOBS, {"image": hand_frame(), "job_id": "after"})
        res = wait_results(again.client, ["after"], timeout=60)
        assert res["after"][0][b"status"] == b"ok"
        assert w.proc.poll() is None
        assert w.stop() == 0
    finally:
        again.stop()


def test_bad_settings_are_refused():
    p = subprocess.run([BIN, "worker", "--redis", "http://x"], capture_output=True, text=True)
    assert p.returncode == 2 and "redis://" in p.stderr
    p = subprocess.run([BIN, "worker", "--max-attempts", "0"], capture_output=True, text=True)
    assert p.returncode == 2 and "--max-attempts" in p.stderr
    p = subprocess.run([BIN, "worker", "--results", "tryon:jobs"], capture_output=True, text=True)
    assert p.returncode == 2 and "different" in p.stderr
    p = subprocess.run([BIN, "worker", "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "--claim-idle-ms" in p.stdout and "BATCH_MAX_ATTEMPTS" in p.stdout
