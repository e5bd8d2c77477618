/* schedule.c - camera-like frame timing (see schedule.h). */
#include "client/schedule.h"

#include <math.h>

int lq_client_sched_init(lq_client_sched *s, int64_t t0_ns, double fps, int64_t end_ns)
{
    if (!(fps >= LQ_CLIENT_FPS_MIN && fps <= LQ_CLIENT_FPS_MAX) || end_ns < t0_ns)
        return LQ_EINVAL;
    s->t0_ns = t0_ns;
    s->end_ns = end_ns;
    s->fps = fps;
    s->next = 0;
    return 0;
}

int64_t lq_client_sched_slot_ns(const lq_client_sched *s, int64_t k)
{
    return s->t0_ns + (int64_t)llround((double)k * 1e9 / s->fps);
}

/* The largest k >= -1 whose slot is at or before t. */
static int64_t last_slot_at_or_before(const lq_client_sched *s, int64_t t)
{
    if (t < s->t0_ns)
        return -1;
    int64_t k = (int64_t)floor((double)(t - s->t0_ns) * s->fps / 1e9);
    /* Rounding in either formula can put the estimate one off. */
    while (lq_client_sched_slot_ns(s, k + 1) <= t)
        k++;
    while (k >= 0 && lq_client_sched_slot_ns(s, k) > t)
        k--;
    return k;
}

int64_t lq_client_sched_total(const lq_client_sched *s)
{
    if (s->end_ns <= s->t0_ns)
        return 0;
    /* Slots strictly before end: one more than the last slot at or before end - 1. */
    return last_slot_at_or_before(s, s->end_ns - 1) + 1;
}

lq_client_sched_step lq_client_sched_tick(lq_client_sched *s, int64_t now_ns, int busy)
{
    lq_client_sched_step st = {-1, 0, 0, 0};
    const int64_t total = lq_client_sched_total(s);
    if (s->next >= total) {
        st.done = 1;
        return st;
    }
    const int64_t slot = lq_client_sched_slot_ns(s, s->next);
    if (now_ns < slot) {
        st.wake_ns = slot;
        return st;
    }
    int64_t due = last_slot_at_or_before(s, now_ns);
    if (due > total - 1)
        due = total - 1;
    st.dropped = due - s->next; /* slots that passed before this tick: never burst */
    if (busy)
        st.dropped++;
    else
        st.send = due;
    s->next = due + 1;
    if (s->next >= total)
        st.done = 1;
    else
        st.wake_ns = lq_client_sched_slot_ns(s, s->next);
    return st;
}
