/* queue.c - Redis streams with a consumer group, through hiredis (see queue.h). */
#include "batch/queue.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "base/log.h"

#define TAG "batch"

struct batch_queue {
    redisContext *c;
    char stream[BATCH_KEY_MAX + 1];
    char group[BATCH_KEY_MAX + 1];
    char consumer[BATCH_KEY_MAX + 1];
    int delete_done;
    int max_block_ms;
    char sha[48];               /* SHA-1 of the finish script, from SCRIPT LOAD */
};

/*
 * KEYS[1] the job stream, KEYS[2..] the output streams.
 * ARGV: group, entry id, consumer, delete flag, then per output: maxlen,
 * number of field/value arguments, the arguments.
 * Writes the outputs and acknowledges only while the entry is pending for
 * this consumer; returns its delivery count, or 0 (nothing done). A failing
 * XADD raises an error, which ends the script before XACK.
 */
static const char finish_script[] =
    "local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[2], ARGV[2], 1)\n"
    "if #p == 0 or p[1][2] ~= ARGV[3] then return 0 end\n"
    "local i = 5\n"
    "for k = 2, #KEYS do\n"
    "  local maxlen = ARGV[i]\n"
    "  local n = tonumber(ARGV[i + 1])\n"
    "  i = i + 2\n"
    "  local args = {'XADD', KEYS[k]}\n"
    "  if maxlen ~= '0' then\n"
    "    args[#args + 1] = 'MAXLEN'; args[#args + 1] = '~'; args[#args + 1] = maxlen\n"
    "  end\n"
    "  args[#args + 1] = '*'\n"
    "  for j = i, i + n - 1 do args[#args + 1] = ARGV[j] end\n"
    "  i = i + n\n"
    "  redis.call(unpack(args))\n"
    "end\n"
    "redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])\n"
    "if ARGV[4] == '1' then redis.call('XDEL', KEYS[1], ARGV[2]) end\n"
    "return p[1][4]\n";

static int copy_key(char *dst, const char *src, const char *what, char *err, size_t errlen)
{
    size_t n = src ? strnlen(src, BATCH_KEY_MAX + 1) : 0;
    if (n == 0 || n > BATCH_KEY_MAX) {
        if (err && errlen)
            snprintf(err, errlen, "the %s name must have 1..%d bytes", what, BATCH_KEY_MAX);
        return LQ_EINVAL;
    }
    memcpy(dst, src, n + 1);
    return 0;
}

/* Runs one command. NULL when the connection failed (logged; the context is
 * unusable from then on). */
static redisReply *run(batch_queue *q, int argc, const char **argv, const size_t *lens)
{
    if (q->c->err)
        return NULL;
    redisReply *r = redisCommandArgv(q->c, argc, argv, lens);
    if (!r)
        LQ_WARN(TAG, "redis: %s failed: %s", argv[0], q->c->errstr[0] ? q->c->errstr : "no reply");
    return r;
}

/* Maps an error reply to a status (and logs it). 0 if r is not an error. */
static int reply_status(const redisReply *r, const char *what)
{
    if (r->type != REDIS_REPLY_ERROR)
        return 0;
    LQ_WARN(TAG, "redis: %s: %s", what, r->str);
    if (strncmp(r->str, "NOGROUP", 7) == 0)
        return LQ_ENOTFOUND;
    if (strncmp(r->str, "NOAUTH", 6) == 0 || strncmp(r->str, "WRONGPASS", 9) == 0)
        return LQ_EAUTH;
    return LQ_ESTATE;
}

static int simple(batch_queue *q, int argc, const char **argv, const char *what)
{
    redisReply *r = run(q, argc, argv, NULL);
    if (!r)
        return LQ_EIO;
    int rc = reply_status(r, what);
    freeReplyObject(r);
    return rc;
}

static int load_script(batch_queue *q)
{
    const char *argv[] = {"SCRIPT", "LOAD", finish_script};
    redisReply *r = run(q, 3, argv, NULL);
    if (!r)
        return LQ_EIO;
    int rc = reply_status(r, "SCRIPT LOAD");
    if (rc == 0 && (r->type != REDIS_REPLY_STRING || r->len >= sizeof q->sha))
        rc = LQ_ESTATE;
    if (rc == 0)
        memcpy(q->sha, r->str, r->len + 1);
    freeReplyObject(r);
    return rc;
}

int batch_queue_connect(const batch_queue_opts *o, batch_queue **out, char *err, size_t errlen)
{
    if (!o || !out || o->timeout_ms < 1 || o->max_block_ms < 1)
        return LQ_EINVAL;
    batch_queue *q = calloc(1, sizeof *q);
    if (!q)
        return LQ_ENOMEM;
    int rc = copy_key(q->stream, o->stream, "stream", err, errlen);
    if (rc == 0)
        rc = copy_key(q->group, o->group, "group", err, errlen);
    if (rc == 0)
        rc = copy_key(q->consumer, o->consumer, "consumer", err, errlen);
    if (rc < 0) {
        free(q);
        return rc;
    }
    q->delete_done = o->delete_done;
    q->max_block_ms = o->max_block_ms;

    struct timeval tv = {o->timeout_ms / 1000, (o->timeout_ms % 1000) * 1000};
    q->c = redisConnectWithTimeout(o->url.host, o->url.port, tv);
    if (!q->c || q->c->err) {
        if (err && errlen)
            snprintf(err, errlen, "cannot connect to Redis at %s:%d: %s", o->url.host, o->url.port,
                     q->c ? q->c->errstr : "out of memory");
        batch_queue_close(q);
        return LQ_EIO;
    }
    /* Commands may block for max_block_ms inside Redis before answering. */
    long cmd_ms = (long)o->timeout_ms + o->max_block_ms;
    struct timeval ctv = {cmd_ms / 1000, (cmd_ms % 1000) * 1000};
    redisSetTimeout(q->c, ctv);
    redisEnableKeepAlive(q->c);

    if (o->url.password[0]) {
        const char *auth_user[] = {"AUTH", o->url.user, o->url.password};
        const char *auth_pw[] = {"AUTH", o->url.password};
        rc = o->url.user[0] ? simple(q, 3, auth_user, "AUTH") : simple(q, 2, auth_pw, "AUTH");
        if (rc < 0) {
            if (err && errlen)
                snprintf(err, errlen, "Redis refused the password (AUTH)");
            batch_queue_close(q);
            return rc == LQ_EIO ? LQ_EIO : LQ_EAUTH;
        }
    }
    if (o->url.db) {
        char db[16];
        snprintf(db, sizeof db, "%d", o->url.db);
        const char *argv[] = {"SELECT", db};
        if ((rc = simple(q, 2, argv, "SELECT")) < 0) {
            if (err && errlen)
                snprintf(err, errlen, "Redis refused SELECT %d", o->url.db);
            batch_queue_close(q);
            return rc == LQ_EAUTH ? rc : LQ_EIO;
        }
    }
    if ((rc = load_script(q)) < 0) {
        if (err && errlen)
            snprintf(err, errlen, "cannot load the Lua script into Redis (SCRIPT LOAD)%s",
                     rc == LQ_EAUTH ? ": a password is needed" : "");
        batch_queue_close(q);
        return rc == LQ_EAUTH ? rc : LQ_EIO;
    }
    *out = q;
    return 0;
}

void batch_queue_close(batch_queue *q)
{
    if (!q)
        return;
    if (q->c)
        redisFree(q->c);
    free(q);
}

const char *batch_queue_consumer(const batch_queue *q)
{
    return q->consumer;
}

int batch_queue_ensure_group(batch_queue *q)
{
    /* From the start of the stream: jobs added before any worker ran are not
     * skipped (an existing group keeps its own position). */
    const char *argv[] = {"XGROUP", "CREATE", q->stream, q->group, "0", "MKSTREAM"};
    redisReply *r = run(q, 6, argv, NULL);
    if (!r)
        return LQ_EIO;
    int rc = 0;
    if (r->type == REDIS_REPLY_ERROR && strncmp(r->str, "BUSYGROUP", 9) != 0)
        rc = reply_status(r, "XGROUP CREATE");
    else if (r->type != REDIS_REPLY_ERROR)
        LQ_INFO(TAG, "created consumer group %s on stream %s", q->group, q->stream);
    freeReplyObject(r);
    return rc;
}

void batch_entry_clear(batch_entry *e)
{
    if (e->reply)
        freeReplyObject(e->reply);
    memset(e, 0, sizeof *e);
}

/* Fills e from one [id, [field, value, ...]] element. 0, or LQ_EFORMAT when
 * the element does not have that shape, LQ_ENOENT when the entry was deleted
 * (no field list). */
static int fill_entry(const redisReply *el, batch_entry *e)
{
    if (el->type != REDIS_REPLY_ARRAY || el->elements != 2 ||
        el->element[0]->type != REDIS_REPLY_STRING || el->element[0]->len == 0 ||
        el->element[0]->len > BATCH_ENTRY_ID_MAX)
        return LQ_EFORMAT;
    memcpy(e->id, el->element[0]->str, el->element[0]->len);
    e->id[el->element[0]->len] = '\0';
    const redisReply *f = el->element[1];
    if (f->type == REDIS_REPLY_NIL)
        return LQ_ENOENT;
    if (f->type != REDIS_REPLY_ARRAY || f->elements % 2)
        return LQ_EFORMAT;
    e->nfields = f->elements / 2;
    for (size_t i = 0; i < e->nfields && i < BATCH_JOB_MAX_FIELDS; i++) {
        const redisReply *k = f->element[2 * i], *v = f->element[2 * i + 1];
        if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
            return LQ_EFORMAT;
        e->fields[i] = (batch_field){k->str, k->len, (const uint8_t *)v->str, v->len};
    }
    return 0;
}

int batch_queue_read(batch_queue *q, int block_ms, batch_entry *e)
{
    batch_entry_clear(e);
    if (block_ms < 1 || block_ms > q->max_block_ms)
        return LQ_EINVAL;
    char block[16];
    snprintf(block, sizeof block, "%d", block_ms);
    const char *argv[] = {"XREADGROUP", "GROUP", q->group,   q->consumer, "COUNT", "1",
                          "BLOCK",      block,   "STREAMS", q->stream,   ">"};
    redisReply *r = run(q, 11, argv, NULL);
    if (!r)
        return LQ_EIO;
    int rc = reply_status(r, "XREADGROUP");
    if (rc < 0 || r->type == REDIS_REPLY_NIL) {
        freeReplyObject(r);
        return rc;
    }
    /* [[stream, [[id, [f, v, ...]]]]] */
    if (r->type != REDIS_REPLY_ARRAY || r->elements < 1 ||
        r->element[0]->type != REDIS_REPLY_ARRAY || r->element[0]->elements != 2 ||
        r->element[0]->element[1]->type != REDIS_REPLY_ARRAY) {
        LQ_WARN(TAG, "redis: unexpected XREADGROUP reply");
        freeReplyObject(r);
        return LQ_EIO;
    }
    const redisReply *entries = r->element[0]->element[1];
    if (entries->elements == 0) {
        freeReplyObject(r);
        return 0;
    }
    rc = fill_entry(entries->element[0], e);
    if (rc < 0) {
        LQ_WARN(TAG, "redis: entry %s of %s has no field list; skipped", e->id, q->stream);
        freeReplyObject(r);
        memset(e, 0, sizeof *e);
        return rc == LQ_ENOENT ? 0 : LQ_EIO;
    }
    e->deliveries = 1;
    e->reply = r;
    return 1;
}

int batch_queue_pending_idle(batch_queue *q, int64_t min_idle_ms, batch_pending *out, int cap)
{
    if (cap < 1 || cap > 1000 || min_idle_ms < 0)
        return LQ_EINVAL;
    char idle[24], count[16];
    snprintf(idle, sizeof idle, "%lld", (long long)min_idle_ms);
    snprintf(count, sizeof count, "%d", cap);
    const char *argv[] = {"XPENDING", q->stream, q->group, "IDLE", idle, "-", "+", count};
    redisReply *r = run(q, 8, argv, NULL);
    if (!r)
        return LQ_EIO;
    int rc = reply_status(r, "XPENDING");
    if (rc < 0) {
        freeReplyObject(r);
        return rc;
    }
    int n = 0;
    if (r->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i < r->elements && n < cap; i++) {
            const redisReply *p = r->element[i];
            if (p->type != REDIS_REPLY_ARRAY || p->elements != 4 ||
                p->element[0]->type != REDIS_REPLY_STRING ||
                p->element[0]->len > BATCH_ENTRY_ID_MAX ||
                p->element[1]->type != REDIS_REPLY_STRING ||
                p->element[1]->len > BATCH_KEY_MAX || p->element[2]->type != REDIS_REPLY_INTEGER ||
                p->element[3]->type != REDIS_REPLY_INTEGER)
                continue;
            batch_pending *o = &out[n++];
            memcpy(o->id, p->element[0]->str, p->element[0]->len);
            o->id[p->element[0]->len] = '\0';
            memcpy(o->consumer, p->element[1]->str, p->element[1]->len);
            o->consumer[p->element[1]->len] = '\0';
            o->idle_ms = p->element[2]->integer;
            o->deliveries = p->element[3]->integer;
        }
    }
    freeReplyObject(r);
    return n;
}

static int ack(batch_queue *q, const char *id)
{
    const char *argv[] = {"XACK", q->stream, q->group, id};
    return simple(q, 4, argv, "XACK");
}

int batch_queue_claim(batch_queue *q, const char *id, int64_t min_idle_ms,
                      int64_t deliveries_before, batch_entry *e)
{
    batch_entry_clear(e);
    char idle[24];
    snprintf(idle, sizeof idle, "%lld", (long long)min_idle_ms);
    const char *argv[] = {"XCLAIM", q->stream, q->group, q->consumer, idle, id};
    redisReply *r = run(q, 6, argv, NULL);
    if (!r)
        return LQ_EIO;
    int rc = reply_status(r, "XCLAIM");
    if (rc < 0 || r->type != REDIS_REPLY_ARRAY || r->elements == 0) {
        freeReplyObject(r);
        return rc < 0 ? rc : 0;
    }
    rc = fill_entry(r->element[0], e);
    if (rc == LQ_ENOENT) {
        /* Redis < 7 answers a deleted entry with a nil field list and keeps it
         * pending: nothing can be done for it, so let it go. */
        LQ_WARN(TAG, "pending entry %s was deleted from %s; acknowledged", id, q->stream);
        freeReplyObject(r);
        memset(e, 0, sizeof *e);
        rc = ack(q, id);
        return rc < 0 ? rc : 0;
    }
    if (rc < 0) {
        LQ_WARN(TAG, "redis: unexpected XCLAIM reply for %s", id);
        freeReplyObject(r);
        memset(e, 0, sizeof *e);
        return LQ_EIO;
    }
    e->deliveries = deliveries_before + 1;
    e->reply = r;
    return 1;
}

int batch_queue_finish(batch_queue *q, const char *id, const batch_output *outs, int nouts)
{
    if (nouts < 1 || nouts > 2)
        return LQ_EINVAL;
    /* EVALSHA sha numkeys, the job stream and the outputs, 4 ARGV, the outputs. */
    size_t argc = 3 + 1 + (size_t)nouts + 4;
    for (int k = 0; k < nouts; k++)
        argc += 2 + 2 * outs[k].nfields;
    const char **argv = malloc(argc * sizeof *argv);
    size_t *lens = malloc(argc * sizeof *lens);
    char nums[2][2][24];
    if (!argv || !lens) {
        free(argv);
        free(lens);
        return LQ_ENOMEM;
    }
    size_t a = 0;
#define PUSH(s, n) (argv[a] = (s), lens[a] = (n), a++)
#define PUSHS(s) PUSH((s), strlen(s))
    PUSHS("EVALSHA");
    PUSHS(q->sha);
    char nkeys[8];
    snprintf(nkeys, sizeof nkeys, "%d", 1 + nouts);
    PUSHS(nkeys);
    PUSHS(q->stream);
    for (int k = 0; k < nouts; k++)
        PUSHS(outs[k].stream);
    PUSHS(q->group);
    PUSHS(id);
    PUSHS(q->consumer);
    PUSHS(q->delete_done ? "1" : "0");
    for (int k = 0; k < nouts; k++) {
        snprintf(nums[k][0], sizeof nums[k][0], "%ld", outs[k].maxlen > 0 ? outs[k].maxlen : 0L);
        snprintf(nums[k][1], sizeof nums[k][1], "%zu", 2 * outs[k].nfields);
        PUSHS(nums[k][0]);
        PUSHS(nums[k][1]);
        for (size_t i = 0; i < outs[k].nfields; i++) {
            PUSH(outs[k].fields[i].name, outs[k].fields[i].name_len);
            PUSH((const char *)outs[k].fields[i].value, outs[k].fields[i].value_len);
        }
    }
#undef PUSH
#undef PUSHS
    if (a != argc)
        abort(); /* the count above and the pushes disagree: a bug here */
    redisReply *r = run(q, (int)a, argv, lens);
    if (r && r->type == REDIS_REPLY_ERROR && strncmp(r->str, "NOSCRIPT", 8) == 0) {
        /* Redis restarted (or SCRIPT FLUSH): load the script again, once. */
        freeReplyObject(r);
        r = NULL;
        if (load_script(q) == 0) {
            argv[1] = q->sha;
            r = run(q, (int)a, argv, lens);
        }
    }
    free(argv);
    free(lens);
    if (!r)
        return LQ_EIO;
    int rc = reply_status(r, "finishing a job (EVALSHA)");
    if (rc == 0)
        rc = r->type == REDIS_REPLY_INTEGER && r->integer > 0 ? 1 : 0;
    freeReplyObject(r);
    return rc;
}
