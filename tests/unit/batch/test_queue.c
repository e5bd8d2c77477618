/* Tests src/batch/queue.c against a real redis-server (Debian's), started here on a
 * free loopback port with no persistence in a temporary folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "batch/queue.h"
#include "lq_test.h"
#include "redis_server.h"

typedef struct fixture {
    lq_test_redis redis;
    redisContext *raw;      /* the test's own connection, for setting up and checking */
} fixture;

static void fixture_free(fixture *f)
{
    if (f->raw)
        redisFree(f->raw);
    lq_test_redis_remove(&f->redis);
    free(f);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    if (lq_test_redis_start(&f->redis, NULL) < 0) {
        fixture_free(f);
        return -1;
    }
    f->raw = redisConnect("127.0.0.1", f->redis.port);
    if (!f->raw || f->raw->err) {
        fprintf(stderr, "cannot connect to redis-server\n");
        fixture_free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_free(*state);
    return 0;
}

/* Every test starts from an empty database. */
static int fresh(void **state)
{
    fixture *f = *state;
    freeReplyObject(redisCommand(f->raw, "FLUSHALL"));
    return 0;
}

static long long integer(fixture *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    redisReply *r = redisvCommand(f->raw, fmt, ap);
    va_end(ap);
    assert_non_null(r);
    if (r->type != REDIS_REPLY_INTEGER)
        fail_msg("expected an integer for %s, got type %d (%s)", fmt, r->type,
                 r->type == REDIS_REPLY_ERROR ? r->str : "");
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

static void xadd(fixture *f, const char *job_id, const char *image)
{
    freeReplyObject(redisCommand(f->raw, "XADD tryon:jobs * job_id %s image %s", job_id, image));
}

static batch_queue *open_queue(fixture *f, const char *consumer, int delete_done)
{
    batch_queue_opts o = {{"127.0.0.1", f->redis.port, 0, "", ""}, "tryon:jobs", "g", consumer,
                          2000, 500, delete_done};
    batch_queue *q = NULL;
    char err[256];
    int rc = batch_queue_connect(&o, &q, err, sizeof err);
    if (rc < 0)
        fail_msg("connect: %s", err);
    assert_int_equal(batch_queue_ensure_group(q), 0);
    return q;
}

static const char *field(const batch_entry *e, const char *name, char *buf, size_t len)
{
    for (size_t i = 0; i < e->nfields; i++)
        if (e->fields[i].name_len == strlen(name) && !memcmp(e->fields[i].name, name, strlen(name))) {
            snprintf(buf, len, "%.*s", (int)e->fields[i].value_len, (const char *)e->fields[i].value);
            return buf;
        }
    return NULL;
}

static int finish_ok(batch_queue *q, const char *id, const char *status)
{
    batch_field res[] = {{"status", 6, (const uint8_t *)status, strlen(status)},
                         {"entry", 5, (const uint8_t *)id, strlen(id)}};
    batch_output out = {"tryon:results", 1000, res, 2};
    return batch_queue_finish(q, id, &out, 1);
}

static void reads_writes_the_result_and_acknowledges(void **state)
{
    fixture *f = *state;
    xadd(f, "a", "AAAA");  /* queued before the group exists: still delivered */
    batch_queue *q = open_queue(f, "c1", 0);
    assert_int_equal(batch_queue_ensure_group(q), 0); /* idempotent */
    xadd(f, "b", "BBBB");
    batch_entry e = {0};
    char buf[64];
    assert_int_equal(batch_queue_read(q, 100, &e), 1);
    assert_int_equal(e.deliveries, 1);
    assert_int_equal(e.nfields, 2);
    assert_string_equal(field(&e, "job_id", buf, sizeof buf), "a");
    assert_string_equal(field(&e, "image", buf, sizeof buf), "AAAA");
    assert_int_equal(integer(f, "XLEN tryon:results"), 0);
    char id[BATCH_ENTRY_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", e.id);
    assert_int_equal(finish_ok(q, id, "ok"), 1);
    assert_int_equal(integer(f, "XLEN tryon:results"), 1);
    assert_int_equal(integer(f, "XLEN tryon:jobs"), 2); /* acknowledged, not deleted */
    redisReply *r = redisCommand(f->raw, "XPENDING tryon:jobs g");
    assert_int_equal(r->element[0]->integer, 0);
    freeReplyObject(r);
    assert_int_equal(batch_queue_read(q, 100, &e), 1);
    assert_string_equal(field(&e, "job_id", buf, sizeof buf), "b");
    assert_int_equal(batch_queue_read(q, 50, &e), 0); /* nothing new: times out */
    assert_int_equal(batch_queue_read(q, 501, &e), LQ_EINVAL); /* over max_block_ms */
    batch_entry_clear(&e);
    batch_queue_close(q);
}

static void takeover_counts_deliveries_and_only_the_owner_finishes(void **state)
{
    fixture *f = *state;
    batch_queue *a = open_queue(f, "alive", 0), *b = open_queue(f, "rescuer", 0);
    xadd(f, "j", "data");
    batch_entry ea = {0}, eb = {0};
    assert_int_equal(batch_queue_read(a, 100, &ea), 1);
    batch_pending p[4];
    assert_int_equal(batch_queue_pending_idle(b, 60000, p, 4), 0); /* not idle long enough */
    assert_int_equal(batch_queue_pending_idle(b, 0, p, 4), 1);
    assert_string_equal(p[0].consumer, "alive");
    assert_int_equal(p[0].deliveries, 1);
    assert_string_equal(p[0].id, ea.id);
    assert_int_equal(batch_queue_claim(b, p[0].id, 60000, p[0].deliveries, &eb), 0);
    assert_int_equal(batch_queue_claim(b, p[0].id, 0, p[0].deliveries, &eb), 1);
    assert_int_equal(eb.deliveries, 2);
    assert_int_equal(batch_queue_pending_idle(b, 0, p, 4), 1);
    assert_string_equal(p[0].consumer, "rescuer");
    assert_int_equal(p[0].deliveries, 2);
    /* The slow original owner finishes late: nothing is written for it. */
    assert_int_equal(finish_ok(a, ea.id, "late"), 0);
    assert_int_equal(integer(f, "XLEN tryon:results"), 0);
    assert_int_equal(finish_ok(b, eb.id, "ok"), 1);
    assert_int_equal(integer(f, "XLEN tryon:results"), 1);
    assert_int_equal(finish_ok(b, eb.id, "twice"), 0); /* already acknowledged */
    assert_int_equal(integer(f, "XLEN tryon:results"), 1);
    batch_entry_clear(&ea);
    batch_entry_clear(&eb);
    batch_queue_close(a);
    batch_queue_close(b);
}

static void a_refused_write_leaves_the_job_pending(void **state)
{
    fixture *f = *state;
    batch_queue *q = open_queue(f, "c1", 0);
    xadd(f, "j", "data");
    batch_entry e = {0};
    assert_int_equal(batch_queue_read(q, 100, &e), 1);
    freeReplyObject(redisCommand(f->raw, "SET tryon:results not-a-stream"));
    assert_int_equal(finish_ok(q, e.id, "ok"), LQ_ESTATE);
    redisReply *r = redisCommand(f->raw, "XPENDING tryon:jobs g");
    assert_int_equal(r->element[0]->integer, 1); /* not acknowledged */
    freeReplyObject(r);
    freeReplyObject(redisCommand(f->raw, "DEL tryon:results"));
    /* The connection is still usable, and two outputs are written together. */
    batch_field d[] = {{"why", 3, (const uint8_t *)"x", 1}};
    batch_output outs[2] = {{"tryon:dead", 0, d, 1}, {"tryon:results", 10, d, 1}};
    assert_int_equal(batch_queue_finish(q, e.id, outs, 2), 1);
    assert_int_equal(integer(f, "XLEN tryon:dead"), 1);
    assert_int_equal(integer(f, "XLEN tryon:results"), 1);
    batch_entry_clear(&e);
    batch_queue_close(q);
}

static void deleted_and_done_entries(void **state)
{
    fixture *f = *state;
    batch_queue *a = open_queue(f, "a", 1), *b = open_queue(f, "b", 0);
    xadd(f, "gone", "data");
    batch_entry e = {0};
    assert_int_equal(batch_queue_read(a, 100, &e), 1);
    char id[BATCH_ENTRY_ID_MAX + 1];
    snprintf(id, sizeof id, "%s", e.id);
    assert_int_equal(integer(f, "XDEL tryon:jobs %s", id), 1);
    batch_pending p[2];
    assert_int_equal(batch_queue_pending_idle(b, 0, p, 2), 1);
    assert_int_equal(batch_queue_claim(b, id, 0, p[0].deliveries, &e), 0);
    assert_int_equal(batch_queue_pending_idle(b, 0, p, 2), 0); /* let go */

    /* delete_done: the finished job leaves the stream. */
    xadd(f, "done", "data");
    assert_int_equal(batch_queue_read(a, 100, &e), 1);
    assert_int_equal(finish_ok(a, e.id, "ok"), 1);
    assert_int_equal(integer(f, "XLEN tryon:jobs"), 0);
    batch_entry_clear(&e);
    batch_queue_close(a);
    batch_queue_close(b);
}

static void recovers_from_script_flush_and_a_lost_group(void **state)
{
    fixture *f = *state;
    batch_queue *q = open_queue(f, "c1", 0);
    xadd(f, "j", "data");
    batch_entry e = {0};
    assert_int_equal(batch_queue_read(q, 100, &e), 1);
    freeReplyObject(redisCommand(f->raw, "SCRIPT FLUSH"));
    assert_int_equal(finish_ok(q, e.id, "ok"), 1);
    freeReplyObject(redisCommand(f->raw, "DEL tryon:jobs"));
    assert_int_equal(batch_queue_read(q, 50, &e), LQ_ENOTFOUND);
    assert_int_equal(batch_queue_ensure_group(q), 0);
    xadd(f, "k", "data");
    assert_int_equal(batch_queue_read(q, 100, &e), 1);
    batch_entry_clear(&e);
    batch_queue_close(q);
}

static void connect_failures_say_why(void **state)
{
    (void)state;
    batch_queue_opts o = {{"127.0.0.1", lq_test_free_port(), 0, "", ""}, "s", "g", "c", 500, 100,
                          0};
    batch_queue *q = NULL;
    char err[256] = "";
    assert_int_equal(batch_queue_connect(&o, &q, err, sizeof err), LQ_EIO);
    assert_null(q);
    assert_non_null(strstr(err, "cannot connect to Redis"));
    fixture *f = *state;
    o.url.port = f->redis.port;
    snprintf(o.url.password, sizeof o.url.password, "wrong");
    assert_int_equal(batch_queue_connect(&o, &q, err, sizeof err), LQ_EAUTH);
    assert_non_null(strstr(err, "AUTH"));
    o.url.password[0] = '\0';
    o.stream = "";
    assert_int_equal(batch_queue_connect(&o, &q, err, sizeof err), LQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(reads_writes_the_result_and_acknowledges, fresh),
        cmocka_unit_test_setup(takeover_counts_deliveries_and_only_the_owner_finishes, fresh),
        cmocka_unit_test_setup(a_refused_write_leaves_the_job_pending, fresh),
        cmocka_unit_test_setup(deleted_and_done_entries, fresh),
        cmocka_unit_test_setup(recovers_from_script_flush_and_a_lost_group, fresh),
        cmocka_unit_test_setup(connect_failures_say_why, fresh),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
