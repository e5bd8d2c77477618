/*
 * test_duo.c - src/base/duo.c: both tasks run exactly once per run, their
 * writes are visible afterwards, they can overlap, the return value says who
 * ran task 0, and bad arguments are refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include "base/duo.h"

typedef struct runs {
    int count[2];
    long sum[2];
    pthread_t ran0;
    int round;
} runs;

static void count_task(void *ud, int which)
{
    runs *r = ud;
    r->count[which]++;
    for (int i = 0; i < 1000; i++)
        r->sum[which] += i * (which + 1) + r->round;
    if (which == 0)
        r->ran0 = pthread_self();
}

static void each_task_runs_once_per_run(void **s)
{
    (void)s;
    lq_duo *d = NULL;
    assert_int_equal(lq_duo_create(&d), 0);
    runs r = {0};
    int on_helper = 0;
    for (int k = 0; k < 500; k++) {
        r.round = k;
        int rc = lq_duo_run(d, count_task, &r);
        assert_true(rc == 0 || rc == 1);
        assert_int_equal(rc == 0, pthread_equal(r.ran0, pthread_self()) != 0);
        on_helper += rc;
        assert_int_equal(r.count[0], k + 1);
        assert_int_equal(r.count[1], k + 1);
    }
    long want0 = 0, want1 = 0;
    for (int k = 0; k < 500; k++)
        for (int i = 0; i < 1000; i++) {
            want0 += i + k;
            want1 += 2 * i + k;
        }
    assert_int_equal(r.sum[0], want0);
    assert_int_equal(r.sum[1], want1);
    printf("task 0 ran on the helper thread in %d of 500 runs\n", on_helper);
    lq_duo_destroy(d);
}

/* Task 1 waits for task 0's flag (up to 10 s): possible only if task 0
 * runs on the other thread at the same time. */
typedef struct meet {
    atomic_int flag;
    int met;
} meet;

static void meet_task(void *ud, int which)
{
    meet *m = ud;
    if (which == 0) {
        atomic_store(&m->flag, 1);
        return;
    }
    struct timespec t0, t;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        if (atomic_load(&m->flag)) {
            m->met = 1;
            return;
        }
        clock_gettime(CLOCK_MONOTONIC, &t);
    } while (t.tv_sec - t0.tv_sec < 10);
}

static void tasks_overlap(void **s)
{
    (void)s;
    lq_duo *d = NULL;
    assert_int_equal(lq_duo_create(&d), 0);
    meet m = {0};
    assert_int_equal(lq_duo_run(d, meet_task, &m), 1);
    assert_true(m.met);
    lq_duo_destroy(d);
}

static void refuses_bad_arguments(void **s)
{
    (void)s;
    assert_int_equal(lq_duo_create(NULL), LQ_EINVAL);
    assert_int_equal(lq_duo_run(NULL, count_task, NULL), LQ_EINVAL);
    lq_duo *d = NULL;
    assert_int_equal(lq_duo_create(&d), 0);
    assert_int_equal(lq_duo_run(d, NULL, NULL), LQ_EINVAL);
    lq_duo_destroy(d); /* never ran: still joins */
    lq_duo_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(each_task_runs_once_per_run),
        cmocka_unit_test(tasks_overlap),
        cmocka_unit_test(refuses_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
