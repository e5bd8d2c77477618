/*
 * test_schedule.c - src/client/schedule.c: slot arithmetic, no drift, late
 * ticks never burst, a busy socket drops the frame.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "client/schedule.h"
#include "lq_test.h"

#define MS 1000000LL

static void slots_are_k_over_fps_without_drift(void **state)
{
    (void)state;
    lq_client_sched s;
    assert_int_equal(lq_client_sched_init(&s, 1000, 25.0, 1000 + 3600LL * 1000 * MS), 0);
    assert_int_equal(lq_client_sched_slot_ns(&s, 0), 1000);
    assert_int_equal(lq_client_sched_slot_ns(&s, 1), 1000 + 40 * MS);
    /* one hour of frames: exactly 90000 * 40 ms, no accumulated error */
    assert_int_equal(lq_client_sched_slot_ns(&s, 90000), 1000 + 3600LL * 1000 * MS);
    assert_int_equal(lq_client_sched_total(&s), 90000);
    /* 29.97 fps (NTSC): frame 2997 is at 100 s */
    assert_int_equal(lq_client_sched_init(&s, 0, 29.97, 10 * 1000 * MS), 0);
    assert_int_equal(lq_client_sched_slot_ns(&s, 2997), 100LL * 1000 * MS);
    assert_int_equal(lq_client_sched_total(&s), 300); /* slots 0..299 are before 10 s */
}

static void bad_fps_and_window_are_refused(void **state)
{
    (void)state;
    lq_client_sched s = {0};
    assert_int_equal(lq_client_sched_init(&s, 0, 0.0, 1), LQ_EINVAL);
    assert_int_equal(lq_client_sched_init(&s, 0, 0.05, 1), LQ_EINVAL);
    assert_int_equal(lq_client_sched_init(&s, 0, 241.0, 1), LQ_EINVAL);
    assert_int_equal(lq_client_sched_init(&s, 0, NAN, 1), LQ_EINVAL);
    assert_int_equal(lq_client_sched_init(&s, 10, 25.0, 5), LQ_EINVAL);
    assert_true(s.fps == 0.0); /* untouched */
    assert_int_equal(lq_client_sched_init(&s, 10, 25.0, 10), 0);
    assert_int_equal(lq_client_sched_total(&s), 0);
    lq_client_sched_step st = lq_client_sched_tick(&s, 10, 0);
    assert_true(st.done);
    assert_int_equal(st.send, -1);
}

static void on_time_ticks_send_every_frame(void **state)
{
    (void)state;
    lq_client_sched s;
    assert_int_equal(lq_client_sched_init(&s, 0, 25.0, 1000 * MS), 0); /* 25 slots */
    int64_t now = 0, sent = 0;
    for (;;) {
        lq_client_sched_step st = lq_client_sched_tick(&s, now, 0);
        assert_int_equal(st.dropped, 0);
        if (st.send >= 0) {
            assert_int_equal(st.send, sent);
            sent++;
        }
        if (st.done)
            break;
        assert_true(st.wake_ns > now);
        now = st.wake_ns + 300000; /* the timer fires 0.3 ms late */
    }
    assert_int_equal(sent, 25);
}

static void early_tick_waits(void **state)
{
    (void)state;
    lq_client_sched s;
    assert_int_equal(lq_client_sched_init(&s, 100 * MS, 25.0, 1100 * MS), 0);
    lq_client_sched_step st = lq_client_sched_tick(&s, 50 * MS, 0);
    assert_int_equal(st.send, -1);
    assert_int_equal(st.dropped, 0);
    assert_false(st.done);
    assert_int_equal(st.wake_ns, 100 * MS);
}

static void late_tick_sends_only_the_latest(void **state)
{
    (void)state;
    lq_client_sched s;
    assert_int_equal(lq_client_sched_init(&s, 0, 25.0, 10000 * MS), 0);
    lq_client_sched_step st = lq_client_sched_tick(&s, 0, 0);
    assert_int_equal(st.send, 0);
    /* the loop stalls for 130 ms: slots 1, 2, 3 (40, 80, 120 ms) passed */
    st = lq_client_sched_tick(&s, 130 * MS, 0);
    assert_int_equal(st.send, 3);
    assert_int_equal(st.dropped, 2);
    assert_int_equal(st.wake_ns, 160 * MS);
    /* exactly on a slot boundary: that slot is due */
    st = lq_client_sched_tick(&s, 160 * MS, 0);
    assert_int_equal(st.send, 4);
    assert_int_equal(st.dropped, 0);
}

static void busy_socket_drops_the_frame(void **state)
{
    (void)state;
    lq_client_sched s;
    assert_int_equal(lq_client_sched_init(&s, 0, 25.0, 10000 * MS), 0);
    lq_client_sched_step st = lq_client_sched_tick(&s, 0, 0);
    assert_int_equal(st.send, 0);
    st = lq_client_sched_tick(&s, 40 * MS, 1); /* frame 0 still unsent */
    assert_int_equal(st.send, -1);
    assert_int_equal(st.dropped, 1);
    assert_int_equal(st.wake_ns, 80 * MS); /* no retry of frame 1 later */
    st = lq_client_sched_tick(&s, 80 * MS, 0);
    assert_int_equal(st.send, 2);
    assert_int_equal(st.dropped, 0);
    /* late and busy: every passed slot is a drop */
    st = lq_client_sched_tick(&s, 205 * MS, 1);
    assert_int_equal(st.send, -1);
    assert_int_equal(st.dropped, 3); /* 3 (120), 4 (160), 5 (200) */
}

static void end_is_exclusive_and_counts_add_up(void **state)
{
    (void)state;
    lq_client_sched s;
    assert_int_equal(lq_client_sched_init(&s, 0, 10.0, 1000 * MS), 0); /* slots 0..9 */
    assert_int_equal(lq_client_sched_total(&s), 10);
    /* tick once long after the end: slots 0..9 handled, 9 sent, 0..8 dropped */
    lq_client_sched_step st = lq_client_sched_tick(&s, 5000 * MS, 0);
    assert_int_equal(st.send, 9);
    assert_int_equal(st.dropped, 9);
    assert_true(st.done);
    st = lq_client_sched_tick(&s, 6000 * MS, 0);
    assert_true(st.done);
    assert_int_equal(st.send, -1);
    assert_int_equal(s.next, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(slots_are_k_over_fps_without_drift),
        cmocka_unit_test(bad_fps_and_window_are_refused),
        cmocka_unit_test(on_time_ticks_send_every_frame),
        cmocka_unit_test(early_tick_waits),
        cmocka_unit_test(late_tick_sends_only_the_latest),
        cmocka_unit_test(busy_socket_drops_the_frame),
        cmocka_unit_test(end_is_exclusive_and_counts_add_up),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
