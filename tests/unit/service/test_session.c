/* test_session.c - per-session frame queue: order, one in flight, latest frame wins, deadline, stats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lq_test.h"
#include "service/session.h"

static svc_job *job(int64_t seq, uint64_t received_ns)
{
    svc_job *j = svc_job_new();
    assert_non_null(j);
    j->sequence = seq;
    j->received_ns = received_ns;
    return j;
}

static void create_checks_arguments(void **state)
{
    (void)state;
    svc_session *s = NULL;
    assert_int_equal(svc_session_create("ok-id", 0, 0, &s), LQ_EINVAL);
    assert_int_equal(svc_session_create("ok-id", SVC_SESSION_QUEUE_MAX + 1, 0, &s), LQ_EINVAL);
    assert_int_equal(svc_session_create("bad id", 2, 0, &s), LQ_EINVAL);
    assert_int_equal(svc_session_create("", 2, 0, &s), LQ_EINVAL);
    assert_null(s);
    assert_int_equal(svc_session_create("ok-id", 2, 0, &s), 0);
    assert_string_equal(s->id, "ok-id");
    assert_string_equal(s->reference_status, "none");
    svc_session_destroy(s);
    svc_session_destroy(NULL);
}

static void in_order_one_at_a_time(void **state)
{
    (void)state;
    svc_session *s;
    assert_int_equal(svc_session_create("s", 4, 0, &s), 0);
    svc_job *dropped, *expired;
    for (int i = 1; i <= 3; i++) {
        svc_session_enqueue(s, job(i, 0), &dropped);
        assert_null(dropped);
    }
    assert_int_equal(svc_session_waiting(s), 3);
    svc_job *a = svc_session_next(s, 0, 0, &expired);
    assert_non_null(a);
    assert_int_equal(a->sequence, 1);
    /* nothing else goes while one is in flight */
    assert_null(svc_session_next(s, 0, 0, &expired));
    assert_null(expired);
    svc_session_done(s, a);
    svc_job_free(a);
    svc_job *b = svc_session_next(s, 0, 0, &expired);
    assert_int_equal(b->sequence, 2);
    svc_session_done(s, b);
    svc_job_free(b);
    svc_job *c = svc_session_next(s, 0, 0, &expired);
    assert_int_equal(c->sequence, 3);
    svc_session_done(s, c);
    svc_job_free(c);
    assert_null(svc_session_next(s, 0, 0, &expired));
    assert_int_equal(s->frames_received, 3);
    assert_int_equal(s->frames_dropped, 0);
    svc_session_destroy(s);
}

static void full_queue_drops_the_oldest_waiting_frame(void **state)
{
    (void)state;
    svc_session *s;
    assert_int_equal(svc_session_create("s", 2, 0, &s), 0);
    svc_job *dropped, *expired;
    svc_session_enqueue(s, job(1, 0), &dropped);
    svc_job *inflight = svc_session_next(s, 0, 0, &expired); /* 1 at a worker */
    assert_int_equal(inflight->sequence, 1);
    svc_session_enqueue(s, job(2, 0), &dropped);
    assert_null(dropped);
    svc_session_enqueue(s, job(3, 0), &dropped);
    assert_null(dropped);
    /* a flood: each new frame pushes out the oldest waiting one, never the in-flight one */
    for (int seq = 4; seq <= 20; seq++) {
        svc_session_enqueue(s, job(seq, 0), &dropped);
        assert_non_null(dropped);
        assert_int_equal(dropped->sequence, seq - 2);
        svc_job_free(dropped);
        assert_int_equal(svc_session_waiting(s), 2);
    }
    assert_int_equal(s->frames_dropped, 17);
    assert_int_equal(s->frames_received, 20);
    svc_session_done(s, inflight);
    svc_job_free(inflight);
    svc_job *n = svc_session_next(s, 0, 0, &expired);
    assert_int_equal(n->sequence, 19); /* the two latest survive */
    svc_session_done(s, n);
    svc_job_free(n);
    n = svc_session_next(s, 0, 0, &expired);
    assert_int_equal(n->sequence, 20);
    svc_session_done(s, n);
    svc_job_free(n);
    svc_session_destroy(s);
}

static void deadline_expires_waiting_frames(void **state)
{
    (void)state;
    svc_session *s;
    assert_int_equal(svc_session_create("s", 4, 0, &s), 0);
    svc_job *dropped, *expired;
    const uint64_t ms = 1000000;
    svc_session_enqueue(s, job(1, 0), &dropped);
    svc_session_enqueue(s, job(2, 500 * ms), &dropped);
    svc_session_enqueue(s, job(3, 900 * ms), &dropped);
    /* at t = 1200 ms with a 500 ms deadline, frames 1 and 2 are stale */
    svc_job *j = svc_session_next(s, 1200 * ms, 500 * ms, &expired);
    assert_null(j);
    assert_int_equal(expired->sequence, 1);
    svc_job_free(expired);
    j = svc_session_next(s, 1200 * ms, 500 * ms, &expired);
    assert_null(j);
    assert_int_equal(expired->sequence, 2);
    svc_job_free(expired);
    j = svc_session_next(s, 1200 * ms, 500 * ms, &expired);
    assert_null(expired);
    assert_int_equal(j->sequence, 3);
    assert_int_equal(s->frames_dropped, 2);
    svc_session_done(s, j);
    svc_job_free(j);
    /* no deadline: nothing expires */
    svc_session_enqueue(s, job(4, 0), &dropped);
    j = svc_session_next(s, UINT64_C(1) << 60, 0, &expired);
    assert_non_null(j);
    svc_session_done(s, j);
    svc_job_free(j);
    svc_session_destroy(s);
}

static void take_waiting_and_destroy_free_everything(void **state)
{
    (void)state;
    svc_session *s;
    assert_int_equal(svc_session_create("s", 3, 0, &s), 0);
    svc_job *dropped;
    for (int i = 0; i < 3; i++)
        svc_session_enqueue(s, job(i, 0), &dropped);
    svc_job *list = svc_session_take_waiting(s);
    int n = 0;
    for (svc_job *j = list; j;) {
        svc_job *next = j->next;
        assert_int_equal(j->sequence, n);
        n++;
        svc_job_free(j);
        j = next;
    }
    assert_int_equal(n, 3);
    assert_int_equal(svc_session_waiting(s), 0);
    for (int i = 0; i < 3; i++)
        svc_session_enqueue(s, job(i, 0), &dropped);
    svc_session_destroy(s); /* frees the waiting jobs (ASan checks) */
}

static void statistics(void **state)
{
    (void)state;
    svc_session *s;
    assert_int_equal(svc_session_create("s", 2, 0, &s), 0);
    for (int i = 1; i <= 100; i++)
        svc_session_record(s, 1, (double)i, 0.5);
    svc_session_record(s, 0, 0, 0);
    svc_session_record(s, 0, 0, 0);
    svc_session_record(s, -1, 0, 0);
    ws_stats st;
    svc_session_stats(s, 3000000000ull, &st);
    assert_int_equal(st.frames_processed, 100);
    assert_int_equal(st.frames_with_errors, 2);
    assert_int_equal(st.frames_dropped, 1);
    assert_true(st.avg_processing_ms == 50.5);
    assert_true(st.p95_processing_ms == 95.0);
    assert_true(st.avg_confidence == 0.5);
    assert_true(st.duration_s == 3.0);
    /* the p95 follows the last SVC_SESSION_SAMPLES frames */
    for (int i = 0; i < SVC_SESSION_SAMPLES; i++)
        svc_session_record(s, 1, 7.0, 1.0);
    svc_session_stats(s, 0, &st);
    assert_true(st.p95_processing_ms == 7.0);
    svc_session_destroy(s);

    assert_int_equal(svc_session_create("e", 2, 0, &s), 0);
    svc_session_stats(s, 0, &st);
    assert_int_equal(st.frames_processed, 0);
    assert_true(st.avg_processing_ms == 0 && st.p95_processing_ms == 0 && st.avg_confidence == 0);
    svc_session_destroy(s);
}

static void rate_limit_per_second(void **state)
{
    (void)state;
    svc_session *s;
    assert_int_equal(svc_session_create("s", 2, 0, &s), 0);
    const uint64_t sec = 1000000000ull;
    for (int i = 0; i < 5; i++)
        assert_true(svc_session_rate_ok(s, sec / 10, 5));
    assert_false(svc_session_rate_ok(s, sec / 2, 5));
    assert_true(svc_session_rate_ok(s, sec + 1, 5)); /* next window */
    for (int i = 0; i < 100; i++)
        assert_true(svc_session_rate_ok(s, 2 * sec, 0)); /* 0 = no limit */
    svc_session_destroy(s);
}

/* IDLE_TIMEOUT: silence of the client while the service owes it nothing. */
static void idle_only_when_nothing_is_owed(void **state)
{
    (void)state;
    const uint64_t S = 1000000000ull, idle = 60 * S;
    svc_session *s;
    assert_int_equal(svc_session_create("s", 2, 0, &s), 0);
    s->state = SVC_SESSION_PENDING; /* fetching its reference photo */
    assert_false(svc_session_idle(s, 0, 100 * S, idle));
    s->state = SVC_SESSION_READY;
    s->ready_ns = 50 * S; /* silence counts from session_ready */
    assert_false(svc_session_idle(s, 0, 100 * S, idle));
    assert_true(svc_session_idle(s, 0, 111 * S, idle));
    assert_false(svc_session_idle(s, 70 * S, 111 * S, idle)); /* a message at 70 s */
    /* a frame sent at 70 s takes 100 s (valgrind, a starved machine): not idle meanwhile */
    svc_job *dropped, *expired;
    svc_session_enqueue(s, job(1, 70 * S), &dropped);
    assert_false(svc_session_idle(s, 70 * S, 140 * S, idle)); /* waiting */
    svc_job *j = svc_session_next(s, 140 * S, 0, &expired);
    assert_non_null(j);
    assert_false(svc_session_idle(s, 70 * S, 170 * S, idle)); /* in flight */
    svc_session_done(s, j);
    s->answered_ns = 170 * S;
    svc_job_free(j);
    /* answered at 170 s: silence counts from then */
    assert_false(svc_session_idle(s, 70 * S, 229 * S, idle));
    assert_true(svc_session_idle(s, 70 * S, 231 * S, idle));
    assert_false(svc_session_idle(s, 70 * S, 5 * S, idle)); /* a clock before all that */
    svc_session_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_checks_arguments),
        cmocka_unit_test(in_order_one_at_a_time),
        cmocka_unit_test(full_queue_drops_the_oldest_waiting_frame),
        cmocka_unit_test(deadline_expires_waiting_frames),
        cmocka_unit_test(take_waiting_and_destroy_free_everything),
        cmocka_unit_test(statistics),
        cmocka_unit_test(rate_limit_per_second),
        cmocka_unit_test(idle_only_when_nothing_is_owed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
