/* test_workers.c - the worker pool: every job runs once, per-thread contexts, notify, clean stop. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lq_test.h"
#include "service/workers.h"

typedef struct test_ud {
    atomic_int inits, finis, notifies, runs;
    int fail_init;
} test_ud;

typedef struct thread_ctx {
    int id;
    int runs;
} thread_ctx;

static int t_init(void *ud, void **ctx)
{
    test_ud *u = ud;
    int n = atomic_fetch_add(&u->inits, 1);
    if (u->fail_init && n == 1)
        return LQ_EMODEL;
    thread_ctx *c = calloc(1, sizeof *c);
    c->id = n;
    *ctx = c;
    return 0;
}

static void t_fini(void *ud, void *ctx)
{
    test_ud *u = ud;
    atomic_fetch_add(&u->finis, 1);
    free(ctx);
}

static void t_run(svc_job *j, void *ctx)
{
    thread_ctx *c = ctx;
    c->runs++;
    j->width = (int)j->sequence * 2; /* the "work" */
    j->height = c->id;
    struct timespec ts = {0, 200000};
    nanosleep(&ts, NULL);
}

static void t_notify(void *ud)
{
    test_ud *u = ud;
    atomic_fetch_add(&u->notifies, 1);
}

static void every_job_comes_back_once(void **state)
{
    (void)state;
    test_ud u;
    memset(&u, 0, sizeof u);
    svc_workers_opts o = {.threads = 3, .thread_init = t_init, .thread_fini = t_fini, .run = t_run,
                          .notify = t_notify, .ud = &u};
    svc_workers *p = NULL;
    assert_int_equal(svc_workers_create(&o, &p), 0);
    assert_int_equal(atomic_load(&u.inits), 3);
    assert_int_equal(svc_workers_threads(p), 3);
    enum { N = 200 };
    int seen[N] = {0};
    for (int i = 0; i < N; i++) {
        svc_job *j = svc_job_new();
        j->sequence = i;
        svc_workers_submit(p, j);
    }
    assert_true(svc_workers_pending(p) > 0);
    int got = 0;
    for (int spin = 0; got < N && spin < 100000; spin++) {
        for (svc_job *j = svc_workers_take(p); j;) {
            svc_job *n = j->next;
            assert_int_equal(j->width, (int)j->sequence * 2);
            seen[j->sequence]++;
            got++;
            svc_job_free(j);
            j = n;
        }
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(got, N);
    for (int i = 0; i < N; i++)
        assert_int_equal(seen[i], 1);
    assert_int_equal(svc_workers_pending(p), 0);
    assert_int_equal(atomic_load(&u.notifies), N);
    svc_workers_destroy(p);
    assert_int_equal(atomic_load(&u.finis), 3);
}

static void destroy_with_jobs_in_the_queue(void **state)
{
    (void)state;
    test_ud u;
    memset(&u, 0, sizeof u);
    svc_workers_opts o = {.threads = 1, .thread_init = t_init, .thread_fini = t_fini, .run = t_run, .ud = &u};
    svc_workers *p = NULL;
    assert_int_equal(svc_workers_create(&o, &p), 0);
    for (int i = 0; i < 50; i++) {
        svc_job *j = svc_job_new();
        j->owner = malloc(100); /* freed with the job (ASan checks) */
        svc_workers_submit(p, j);
    }
    svc_workers_destroy(p); /* runs what is queued, frees what was not taken */
    assert_int_equal(atomic_load(&u.finis), 1);
}

static void a_failing_thread_init_fails_create(void **state)
{
    (void)state;
    test_ud u;
    memset(&u, 0, sizeof u);
    u.fail_init = 1;
    svc_workers_opts o = {.threads = 3, .thread_init = t_init, .thread_fini = t_fini, .run = t_run, .ud = &u};
    svc_workers *p = NULL;
    assert_int_equal(svc_workers_create(&o, &p), LQ_EMODEL);
    assert_null(p);
    assert_int_equal(atomic_load(&u.finis), 2); /* the two good threads cleaned up */
    svc_workers_opts bad = {.threads = 0, .run = t_run};
    assert_int_equal(svc_workers_create(&bad, &p), LQ_EINVAL);
    svc_workers_opts norun = {.threads = 1};
    assert_int_equal(svc_workers_create(&norun, &p), LQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_job_comes_back_once),
        cmocka_unit_test(destroy_with_jobs_in_the_queue),
        cmocka_unit_test(a_failing_thread_init_fails_create),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
