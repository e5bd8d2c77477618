/* Tests src/batch/worker.c in-process: batch_worker_run with two threads against a real
 * redis-server (Debian's) started here on a free loopback port, stopped through its flag. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "batch/worker.h"
#include "lq_test.h"
#include "redis_server.h"

typedef struct run_arg {
    batch_worker_opts opts;
    atomic_int stop;
    batch_worker_totals totals;
    int rc;
    char err[256];
} run_arg;

static void *run_worker(void *p)
{
    run_arg *a = p;
    a->rc = batch_worker_run(&a->opts, &a->stop, &a->totals, a->err, sizeof a->err);
    return NULL;
}

static long long xlen(redisContext *c, const char *key)
{
    redisReply *r = redisCommand(c, "XLEN %s", key);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;
    freeReplyObject(r);
    return n;
}

static void processes_jobs_on_two_threads_and_stops(void **state)
{
    (void)state;
    assert_int_equal(access(LQ_TEST_REDIS_SERVER, X_OK), 0);
    lq_test_redis redis = {0};
    assert_int_equal(lq_test_redis_start(&redis, NULL), 0);
    const int port = redis.port;
    redisContext *c = redisConnect("127.0.0.1", port);
    assert_true(c && !c->err);

    size_t len = 0;
    uint8_t *photo = lq_test_read_file(lq_test_data("hands/tfjs_hands_two_dorsal.jpg"), &len);
    assert_non_null(photo);
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof id, "job-%d", i);
        redisReply *r = redisCommand(c, "XADD tryon:jobs * job_id %s image %b", id, photo,
                                     i == 3 ? (size_t)100 : len); /* the last one truncated */
        assert_non_null(r);
        freeReplyObject(r);
    }

    batch_settings st;
    batch_settings_defaults(&st);
    snprintf(st.redis_url, sizeof st.redis_url, "redis://127.0.0.1:%d/0", port);
    snprintf(st.consumer, sizeof st.consumer, "unit");
    st.threads = 2;
    st.block_ms = 100;
    st.claim_idle_ms = 1000;
    run_arg *a = calloc(1, sizeof *a);
    a->opts = (batch_worker_opts){&st, LQ_MODELS_DIR, {10u << 20, 1920, 1080}};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, run_worker, a), 0);
    for (int i = 0; i < 600 && xlen(c, "tryon:results") < 4; i++)
        lq_test_sleep_ms(50);
    assert_int_equal(xlen(c, "tryon:results"), 4);

    uint64_t t0 = lq_clock_ns();
    atomic_store(&a->stop, 1);
    pthread_join(th, NULL);
    double stop_ms = (double)(lq_clock_ns() - t0) / 1e6;
    assert_int_equal(a->rc, 0);
    assert_true(stop_ms < 2000); /* idle threads notice within block_ms */
    assert_int_equal(a->totals.done, 3);
    assert_int_equal(a->totals.failed, 1);
    assert_int_equal(a->totals.retried + a->totals.dead + a->totals.lost, 0);

    redisReply *r = redisCommand(c, "XPENDING tryon:jobs lacquer");
    assert_int_equal(r->element[0]->integer, 0);
    freeReplyObject(r);
    r = redisCommand(c, "XINFO CONSUMERS tryon:jobs lacquer");
    assert_int_equal(r->elements, 2); /* unit-1 and unit-2 */
    freeReplyObject(r);

    /* Start-up failures come back as errors, with the reason. */
    a->opts.models_dir = "/nonexistent";
    atomic_store(&a->stop, 0);
    assert_true(batch_worker_run(&a->opts, &a->stop, NULL, a->err, sizeof a->err) < 0);
    assert_true(strlen(a->err) > 0);
    st.max_attempts = 0;
    a->opts.models_dir = LQ_MODELS_DIR;
    assert_int_equal(batch_worker_run(&a->opts, &a->stop, NULL, a->err, sizeof a->err), LQ_EINVAL);
    assert_non_null(strstr(a->err, "--max-attempts"));

    free(a);
    free(photo);
    redisFree(c);
    assert_int_equal(lq_test_redis_remove(&redis), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(processes_jobs_on_two_threads_and_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
