/*
 * schedule.h - camera-like frame timing: frame k is due at t0 + k/fps.
 *
 *   lq_client_sched s;
 *   lq_client_sched_init(&s, t0_ns, 25.0, end_ns);
 *   // at every timer wake-up:
 *   lq_client_sched_step st = lq_client_sched_tick(&s, now_ns, previous_frame_unsent);
 *   client_drops += st.dropped;
 *   if (st.send >= 0) send_frame(st.send);
 *   if (!st.done) schedule_timer_at(st.wake_ns);
 *
 * A camera does not wait: frames are never sent in a burst to catch up.
 * When a tick comes late and several slots have passed, only the latest
 * frame is a candidate and the skipped ones count as dropped by the client;
 * the candidate is dropped too when the previous frame is still unsent (the
 * socket would not take it in time). The slot times are computed from k, not
 * accumulated, so they do not drift over long runs.
 *
 * Pure arithmetic on caller-supplied times (nanoseconds of any monotonic
 * clock); plain data, not thread-safe.
 */
#ifndef LQ_CLIENT_SCHEDULE_H
#define LQ_CLIENT_SCHEDULE_H

#include <stdint.h>

#include "base/error.h"

#define LQ_CLIENT_FPS_MIN 0.1
#define LQ_CLIENT_FPS_MAX 240.0

typedef struct lq_client_sched {
    int64_t t0_ns;  /* slot of frame 0 */
    int64_t end_ns; /* frames whose slot is at or after this are not sent */
    double fps;
    int64_t next; /* first frame index not yet sent or dropped */
} lq_client_sched;

typedef struct lq_client_sched_step {
    int64_t send;    /* frame index to send now, or -1 */
    int64_t dropped; /* frames whose slot passed unsent in this tick */
    int64_t wake_ns; /* when to tick next (meaningless when done) */
    int done;        /* 1 once every slot before end_ns was handled */
} lq_client_sched_step;

/* fps must be within [LQ_CLIENT_FPS_MIN, LQ_CLIENT_FPS_MAX] (LQ_EINVAL
 * otherwise; *s untouched) and end_ns >= t0_ns. */
int lq_client_sched_init(lq_client_sched *s, int64_t t0_ns, double fps,
                         int64_t end_ns) LQ_NODISCARD;

/* The slot of frame k: t0 + round(k * 1e9 / fps). */
int64_t lq_client_sched_slot_ns(const lq_client_sched *s, int64_t k);

/* Advances to now_ns (see the file comment). busy: the previous frame is
 * still unsent. */
lq_client_sched_step lq_client_sched_tick(lq_client_sched *s, int64_t now_ns, int busy);

/* Number of slots in [t0, end): the frames a perfect run would send. */
int64_t lq_client_sched_total(const lq_client_sched *s);

#endif
