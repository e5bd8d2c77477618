/* Tests src/service/tokenstore.c against a real redis-server (Debian's), started
 * here on a free loopback port: found, unknown, expired (TTL), bad values,
 * AUTH, a Redis that does not answer, one that is down (fast failure during
 * the back-off), one that restarts, the pending cap and cancelling. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "lq_test.h"
#include "redis_server.h"
#include "service/tokenstore.h"

static void redis_cmd(const lq_test_redis *r, const char *password, const char *fmt, ...)
{
    redisContext *c = redisConnect("127.0.0.1", r->port);
    assert_true(c && !c->err);
    if (password)
        freeReplyObject(redisCommand(c, "AUTH %s", password));
    va_list ap;
    va_start(ap, fmt);
    redisReply *rep = redisvCommand(c, fmt, ap);
    va_end(ap);
    assert_non_null(rep);
    assert_int_not_equal(rep->type, REDIS_REPLY_ERROR);
    freeReplyObject(rep);
    redisFree(c);
}

/* ---- collecting results ---- */

typedef struct results {
    pthread_mutex_t mu;
    int notified;
    int n;
    svc_token_lookup got[16];
    int tag[16];
    int released;
} results;

static results R;

static void notify(void *ud)
{
    results *r = ud;
    pthread_mutex_lock(&r->mu);
    r->notified++;
    pthread_mutex_unlock(&r->mu);
}

static void on_result(const svc_token_lookup *l, void *ud)
{
    R.tag[R.n] = (int)(intptr_t)ud;
    R.got[R.n++] = *l;
}

static void on_release(void *ud)
{
    (void)ud;
    R.released++;
}

/* Dispatches until `want` results arrived (or 5 s passed). */
static void wait_results(svc_tokenstore *ts, int want)
{
    for (int i = 0; i < 500 && R.n < want; i++) {
        svc_tokenstore_dispatch(ts);
        if (R.n < want)
            lq_test_sleep_ms(10);
    }
    assert_int_equal(R.n, want);
}

static svc_tokenstore *open_store(int port, const char *password, int timeout_ms, int max_pending)
{
    memset(&R.got, 0, sizeof R.got);
    R.n = 0;
    R.released = 0;
    batch_redis_url u;
    char url[128], err[160];
    snprintf(url, sizeof url, "redis://%s%s%s127.0.0.1:%d/0", password ? ":" : "",
             password ? password : "", password ? "@" : "", port);
    assert_int_equal(batch_redis_url_parse(url, &u, err, sizeof err), 0);
    svc_tokenstore_opts o = {.url = &u, .prefix = "tryon:token:", .timeout_ms = timeout_ms,
                             .max_pending = max_pending, .notify = notify, .notify_ud = &R,
                             .release_ud = on_release};
    svc_tokenstore *ts = NULL;
    assert_int_equal(svc_tokenstore_create(&o, &ts), 0);
    return ts;
}

static void lookup(svc_tokenstore *ts, const char *token, int tag)
{
    uint64_t id = 0;
    assert_int_equal(svc_tokenstore_lookup(ts, token, on_result, (void *)(intptr_t)tag, &id), 0);
    assert_true(id > 0);
}

/* ---- tests ---- */

static void found_unknown_expired_and_bad_values(void **state)
{
    lq_test_redis *rp = *state;
    redis_cmd(rp, NULL, "SET tryon:token:tok-good sess-123 EX 60");
    redis_cmd(rp, NULL, "SET tryon:token:tok-short sess-9 PX 300");
    redis_cmd(rp, NULL, "SET tryon:token:tok-bad %s", "not a session id!");
    redis_cmd(rp, NULL, "HSET tryon:token:tok-hash a b");
    svc_tokenstore *ts = open_store(rp->port, NULL, 500, 16);
    lookup(ts, "tok-good", 1);
    lookup(ts, "tok-none", 2);
    lookup(ts, "tok-short", 3);
    lookup(ts, "tok-bad", 4);
    lookup(ts, "tok-hash", 5);
    wait_results(ts, 5);
    assert_int_equal(R.got[0].status, 0);
    assert_string_equal(R.got[0].session_id, "sess-123");
    assert_int_equal(R.got[1].status, LQ_ENOTFOUND);
    assert_string_equal(R.got[1].reason, "unknown or expired token");
    assert_int_equal(R.got[2].status, 0);
    assert_string_equal(R.got[2].session_id, "sess-9");
    assert_int_equal(R.got[3].status, LQ_EFORMAT);
    assert_int_equal(R.got[4].status, LQ_EIO); /* WRONGTYPE */
    assert_non_null(strstr(R.got[4].reason, "WRONGTYPE"));
    for (int i = 0; i < 5; i++) /* answered in order */
        assert_int_equal(R.tag[i], i + 1);
    /* the short token's TTL runs out: now it is unknown */
    lq_test_sleep_ms(400);
    lookup(ts, "tok-short", 6);
    wait_results(ts, 6);
    assert_int_equal(R.got[5].status, LQ_ENOTFOUND);
    assert_int_equal(svc_tokenstore_pending(ts), 0);
    svc_tokenstore_destroy(ts);
    assert_int_equal(R.released, 0);
}

static void bad_arguments(void **state)
{
    lq_test_redis *rp = *state;
    svc_tokenstore *ts = open_store(rp->port, NULL, 500, 16);
    uint64_t id;
    assert_int_equal(svc_tokenstore_lookup(ts, "", on_result, NULL, &id), LQ_EINVAL);
    assert_int_equal(svc_tokenstore_lookup(ts, NULL, on_result, NULL, &id), LQ_EINVAL);
    assert_int_equal(svc_tokenstore_lookup(ts, "x", NULL, NULL, &id), LQ_EINVAL);
    svc_tokenstore_destroy(ts);
    batch_redis_url u;
    assert_int_equal(batch_redis_url_parse("redis://127.0.0.1:1/0", &u, NULL, 0), 0);
    svc_tokenstore_opts o = {.url = &u, .prefix = "p:", .timeout_ms = 5, .max_pending = 1};
    assert_int_equal(svc_tokenstore_create(&o, &ts), LQ_EINVAL);
    o.timeout_ms = 100;
    o.max_pending = 0;
    assert_int_equal(svc_tokenstore_create(&o, &ts), LQ_EINVAL);
}

/* A server that accepts and never answers. */
static void *silent_server(void *arg)
{
    int s = *(int *)arg;
    int c = accept(s, NULL, NULL);
    lq_test_sleep_ms(1500);
    if (c >= 0)
        close(c);
    return NULL;
}

static void silent_redis_times_out_and_caps_pending(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t n = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(s, 4), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &n), 0);
    pthread_t th;
    pthread_create(&th, NULL, silent_server, &s);
    svc_tokenstore *ts = open_store(ntohs(a.sin_port), NULL, 200, 1);
    uint64_t t0 = lq_clock_ns();
    lookup(ts, "tok", 1);
    uint64_t id;
    /* one lookup waits: the cap (1) refuses the next at once */
    assert_int_equal(svc_tokenstore_lookup(ts, "tok2", on_result, NULL, &id), LQ_EBUSY);
    wait_results(ts, 1);
    double ms = (double)(lq_clock_ns() - t0) / 1e6;
    assert_int_equal(R.got[0].status, LQ_ETIMEDOUT);
    assert_non_null(strstr(R.got[0].reason, "did not answer"));
    /* bounded by the timeout: one attempt (the connection was fresh, no retry) */
    assert_true(ms >= 190 && ms < 1000);
    svc_tokenstore_destroy(ts);
    pthread_join(th, NULL);
    close(s);
}

static void redis_down_fails_fast_then_recovers(void **state)
{
    (void)state;
    lq_test_redis down = {0};
    down.port = lq_test_free_port();
    svc_tokenstore *ts = open_store(down.port, NULL, 300, 16);
    lookup(ts, "tok-a", 1);
    wait_results(ts, 1);
    assert_int_equal(R.got[0].status, LQ_EIO);
    assert_non_null(strstr(R.got[0].reason, "cannot connect"));
    /* within the back-off, lookups fail at once without trying */
    uint64_t t0 = lq_clock_ns();
    lookup(ts, "tok-b", 2);
    lookup(ts, "tok-c", 3);
    wait_results(ts, 3);
    assert_true((double)(lq_clock_ns() - t0) / 1e6 < 200);
    assert_non_null(strstr(R.got[1].reason, "unavailable"));
    assert_int_equal(R.got[2].status, LQ_EIO);
    /* Redis comes up: after the back-off the next lookup connects */
    assert_int_equal(lq_test_redis_start(&down, NULL), 0);
    redis_cmd(&down, NULL, "SET tryon:token:tok-d sess-d");
    lq_test_sleep_ms(SVC_TOKENSTORE_BACKOFF_MS + 50);
    lookup(ts, "tok-d", 4);
    wait_results(ts, 4);
    assert_int_equal(R.got[3].status, 0);
    assert_string_equal(R.got[3].session_id, "sess-d");
    /* Redis restarts under an open connection: the stale one is replaced once */
    lq_test_redis_stop(&down);
    assert_int_equal(lq_test_redis_start(&down, NULL), 0);
    redis_cmd(&down, NULL, "SET tryon:token:tok-e sess-e");
    lookup(ts, "tok-e", 5);
    wait_results(ts, 5);
    assert_int_equal(R.got[4].status, 0);
    assert_string_equal(R.got[4].session_id, "sess-e");
    svc_tokenstore_destroy(ts);
    assert_int_equal(lq_test_redis_remove(&down), 0);
}

static void password_protected_redis(void **state)
{
    (void)state;
    lq_test_redis rp = {0};
    assert_int_equal(lq_test_redis_start(&rp, "pw-123"), 0);
    redis_cmd(&rp, "pw-123", "SET tryon:token:tok sess-pw");
    svc_tokenstore *ts = open_store(rp.port, "pw-123", 500, 4);
    lookup(ts, "tok", 1);
    wait_results(ts, 1);
    assert_int_equal(R.got[0].status, 0);
    assert_string_equal(R.got[0].session_id, "sess-pw");
    svc_tokenstore_destroy(ts);
    ts = open_store(rp.port, "wrong", 500, 4);
    lookup(ts, "tok", 1);
    wait_results(ts, 1);
    assert_int_equal(R.got[0].status, LQ_EIO);
    assert_non_null(strstr(R.got[0].reason, "AUTH"));
    assert_null(strstr(R.got[0].reason, "wrong")); /* the password is not quoted */
    svc_tokenstore_destroy(ts);
    ts = open_store(rp.port, NULL, 500, 4);
    lookup(ts, "tok", 1);
    wait_results(ts, 1);
    assert_int_equal(R.got[0].status, LQ_EIO);
    assert_non_null(strstr(R.got[0].reason, "NOAUTH"));
    svc_tokenstore_destroy(ts);
    assert_int_equal(lq_test_redis_remove(&rp), 0);
}

static void cancelled_lookups_never_call_back(void **state)
{
    lq_test_redis *rp = *state;
    redis_cmd(rp, NULL, "SET tryon:token:t1 s1");
    svc_tokenstore *ts = open_store(rp->port, NULL, 500, 16);
    uint64_t ids[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(svc_tokenstore_lookup(ts, "t1", on_result, (void *)(intptr_t)(i + 1),
                                               &ids[i]), 0);
    svc_tokenstore_cancel(ts, ids[1]);
    svc_tokenstore_cancel(ts, ids[3]);
    svc_tokenstore_cancel(ts, 999999); /* unknown: ignored */
    lq_test_sleep_ms(200);
    wait_results(ts, 2);
    lq_test_sleep_ms(50);
    svc_tokenstore_dispatch(ts);
    assert_int_equal(R.n, 2);
    assert_int_equal(R.tag[0], 1);
    assert_int_equal(R.tag[1], 3);
    assert_int_equal(R.released, 2);
    /* lookups left behind at destroy are released, not called */
    lookup(ts, "t1", 9);
    svc_tokenstore_destroy(ts);
    assert_int_equal(R.n, 2);
    assert_int_equal(R.released, 3);
}

static int setup(void **state)
{
    lq_test_redis *rp = calloc(1, sizeof *rp);
    if (!rp)
        return -1;
    if (lq_test_redis_start(rp, NULL) < 0) {
        lq_test_redis_remove(rp);
        free(rp);
        return -1;
    }
    pthread_mutex_init(&R.mu, NULL);
    *state = rp;
    return 0;
}

static int teardown(void **state)
{
    lq_test_redis *rp = *state;
    lq_test_redis_remove(rp);
    free(rp);
    return 0;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(found_unknown_expired_and_bad_values),
        cmocka_unit_test(bad_arguments),
        cmocka_unit_test(silent_redis_times_out_and_caps_pending),
        cmocka_unit_test(redis_down_fails_fast_then_recovers),
        cmocka_unit_test(password_protected_redis),
        cmocka_unit_test(cancelled_lookups_never_call_back),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
