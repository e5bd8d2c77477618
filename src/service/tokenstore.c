/* tokenstore.c - Redis token lookups on a thread of their own (see tokenstore.h). */
#include "service/tokenstore.h"

#include <errno.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"

#define TAG "auth"

typedef struct req {
    struct req *next;
    uint64_t id;
    svc_tokenstore_cb cb;           /* NULL once cancelled */
    void *ud;
    svc_token_lookup res;
    size_t token_len;
    char token[];                   /* not NUL-terminated in use; sized token_len + 1 */
} req;

struct svc_tokenstore {
    batch_redis_url url;
    char prefix[SVC_TOKENSTORE_PREFIX_MAX + 1];
    int timeout_ms;
    int max_pending;
    void (*notify)(void *ud);
    void *notify_ud;
    void (*release_ud)(void *ud);

    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stop;
    req *todo_head, *todo_tail;
    req *current;                   /* being looked up by the thread */
    req *done_head, *done_tail;
    int pending;                    /* todo + current */
    uint64_t next_id;

    /* thread-only */
    redisContext *c;
    uint64_t backoff_until_ns;
};

static void push(req **head, req **tail, req *r)
{
    r->next = NULL;
    if (*tail)
        (*tail)->next = r;
    else
        *head = r;
    *tail = r;
}

static req *pop(req **head, req **tail)
{
    req *r = *head;
    if (r) {
        *head = r->next;
        if (!*head)
            *tail = NULL;
        r->next = NULL;
    }
    return r;
}

/* ---- the lookup thread ---- */

static void drop_connection(svc_tokenstore *ts)
{
    if (ts->c) {
        redisFree(ts->c);
        ts->c = NULL;
    }
}

static int command_ok(svc_tokenstore *ts, redisReply *r, const char *what, svc_token_lookup *out)
{
    if (!r) {
        snprintf(out->reason, sizeof out->reason, "Redis %s failed: %.60s", what,
                 ts->c ? ts->c->errstr : "no connection");
        return ts->c && ts->c->err == REDIS_ERR_IO && errno == EAGAIN ? LQ_ETIMEDOUT : LQ_EIO;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        snprintf(out->reason, sizeof out->reason, "Redis refused %s: %.60s", what,
                 r->str ? r->str : "");
        freeReplyObject(r);
        return LQ_EIO;
    }
    freeReplyObject(r);
    return 0;
}

static int connect_redis(svc_tokenstore *ts, svc_token_lookup *out)
{
    uint64_t now = lq_clock_ns();
    if (now < ts->backoff_until_ns) {
        snprintf(out->reason, sizeof out->reason,
                 "the token store (Redis at %.48s:%d) is unavailable; retrying in at most %d ms",
                 ts->url.host, ts->url.port, SVC_TOKENSTORE_BACKOFF_MS);
        return LQ_EIO;
    }
    struct timeval tv = {ts->timeout_ms / 1000, (ts->timeout_ms % 1000) * 1000};
    ts->c = redisConnectWithTimeout(ts->url.host, ts->url.port, tv);
    int rc = 0;
    if (!ts->c || ts->c->err) {
        snprintf(out->reason, sizeof out->reason, "cannot connect to the token store (Redis at "
                 "%.48s:%d): %.60s", ts->url.host, ts->url.port, ts->c ? ts->c->errstr : "out of memory");
        rc = LQ_EIO;
    } else {
        redisSetTimeout(ts->c, tv);
        redisEnableKeepAlive(ts->c);
        if (ts->url.password[0]) {
            redisReply *r = ts->url.user[0]
                ? redisCommand(ts->c, "AUTH %s %s", ts->url.user, ts->url.password)
                : redisCommand(ts->c, "AUTH %s", ts->url.password);
            rc = command_ok(ts, r, "AUTH", out);
        }
        if (rc == 0 && ts->url.db)
            rc = command_ok(ts, redisCommand(ts->c, "SELECT %d", ts->url.db), "SELECT", out);
    }
    if (rc < 0) {
        drop_connection(ts);
        ts->backoff_until_ns = lq_clock_ns() + (uint64_t)SVC_TOKENSTORE_BACKOFF_MS * 1000000ull;
        LQ_WARN(TAG, "%s", out->reason);
    }
    return rc;
}

/* One GET. Returns 1 if the connection failed and the caller may retry once
 * on a fresh one. */
static int get_once(svc_tokenstore *ts, const req *q, svc_token_lookup *out)
{
    memset(out, 0, sizeof *out);
    int fresh = 0;
    if (!ts->c) {
        if ((out->status = connect_redis(ts, out)) < 0)
            return 0;
        fresh = 1;
    }
    redisReply *r = redisCommand(ts->c, "GET %s%b", ts->prefix, q->token, q->token_len);
    if (!r) {
        out->status = ts->c->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)
                          ? LQ_ETIMEDOUT : LQ_EIO;
        snprintf(out->reason, sizeof out->reason, "the token store (Redis at %.48s:%d) did not "
                 "answer: %.60s", ts->url.host, ts->url.port,
                 out->status == LQ_ETIMEDOUT ? "timed out" : ts->c->errstr);
        drop_connection(ts);
        return !fresh;
    }
    switch (r->type) {
    case REDIS_REPLY_NIL:
        out->status = LQ_ENOTFOUND;
        snprintf(out->reason, sizeof out->reason, "unknown or expired token");
        break;
    case REDIS_REPLY_STRING:
        if (r->len > 0 && r->len <= WS_SESSION_ID_MAX && ws_session_id_valid(r->str, r->len)) {
            memcpy(out->session_id, r->str, r->len);
            out->session_id[r->len] = '\0';
            out->status = 0;
        } else {
            out->status = LQ_EFORMAT;
            snprintf(out->reason, sizeof out->reason,
                     "the token store holds a value that is not a session id for this token");
        }
        break;
    case REDIS_REPLY_ERROR:
        out->status = LQ_EIO;
        snprintf(out->reason, sizeof out->reason, "the token store refused the lookup: %.60s",
                 r->str ? r->str : "");
        break;
    default:
        out->status = LQ_EFORMAT;
        snprintf(out->reason, sizeof out->reason, "unexpected reply type %d from the token store",
                 r->type);
        break;
    }
    freeReplyObject(r);
    return 0;
}

static void *thread_main(void *arg)
{
    svc_tokenstore *ts = arg;
    pthread_mutex_lock(&ts->mu);
    for (;;) {
        while (!ts->stop && !ts->todo_head)
            pthread_cond_wait(&ts->cv, &ts->mu);
        if (ts->stop)
            break;
        req *q = pop(&ts->todo_head, &ts->todo_tail);
        ts->current = q;
        pthread_mutex_unlock(&ts->mu);

        svc_token_lookup res;
        if (get_once(ts, q, &res))
            (void)get_once(ts, q, &res); /* the old connection had died: once more, fresh */

        pthread_mutex_lock(&ts->mu);
        q->res = res;
        ts->current = NULL;
        ts->pending--;
        push(&ts->done_head, &ts->done_tail, q);
        if (ts->notify) {
            pthread_mutex_unlock(&ts->mu);
            ts->notify(ts->notify_ud);
            pthread_mutex_lock(&ts->mu);
        }
    }
    pthread_mutex_unlock(&ts->mu);
    drop_connection(ts);
    return NULL;
}

/* ---- the loop's side ---- */

int svc_tokenstore_create(const svc_tokenstore_opts *o, svc_tokenstore **out)
{
    if (!o || !out || !o->url || !o->prefix || strlen(o->prefix) > SVC_TOKENSTORE_PREFIX_MAX ||
        o->timeout_ms < 10 || o->timeout_ms > 10000 || o->max_pending < 1 ||
        o->max_pending > 65536)
        return LQ_EINVAL;
    svc_tokenstore *ts = calloc(1, sizeof *ts);
    if (!ts)
        return LQ_ENOMEM;
    ts->url = *o->url;
    snprintf(ts->prefix, sizeof ts->prefix, "%s", o->prefix);
    ts->timeout_ms = o->timeout_ms;
    ts->max_pending = o->max_pending;
    ts->notify = o->notify;
    ts->notify_ud = o->notify_ud;
    ts->release_ud = o->release_ud;
    ts->next_id = 1;
    pthread_mutex_init(&ts->mu, NULL);
    pthread_cond_init(&ts->cv, NULL);
    if (pthread_create(&ts->thread, NULL, thread_main, ts) != 0) {
        svc_tokenstore_destroy(ts);
        return LQ_ENOMEM;
    }
    ts->started = 1;
    *out = ts;
    return 0;
}

static void drop_req(svc_tokenstore *ts, req *q)
{
    if (ts->release_ud)
        ts->release_ud(q->ud);
    free(q);
}

static void free_list(svc_tokenstore *ts, req *r)
{
    while (r) {
        req *n = r->next;
        drop_req(ts, r);
        r = n;
    }
}

void svc_tokenstore_destroy(svc_tokenstore *ts)
{
    if (!ts)
        return;
    if (ts->started) {
        pthread_mutex_lock(&ts->mu);
        ts->stop = 1;
        pthread_cond_broadcast(&ts->cv);
        pthread_mutex_unlock(&ts->mu);
        pthread_join(ts->thread, NULL);
    }
    free_list(ts, ts->todo_head);
    free_list(ts, ts->done_head);
    /* the thread finishes its current lookup before it sees stop: none is left */
    pthread_cond_destroy(&ts->cv);
    pthread_mutex_destroy(&ts->mu);
    free(ts);
}

int svc_tokenstore_lookup(svc_tokenstore *ts, const char *token, svc_tokenstore_cb cb, void *ud,
                          uint64_t *id)
{
    size_t n = token ? strlen(token) : 0;
    if (!ts || !cb || n == 0 || n > SVC_TOKENSTORE_TOKEN_MAX)
        return LQ_EINVAL;
    req *q = calloc(1, sizeof *q + n + 1);
    if (!q)
        return LQ_ENOMEM;
    memcpy(q->token, token, n + 1);
    q->token_len = n;
    q->cb = cb;
    q->ud = ud;
    pthread_mutex_lock(&ts->mu);
    if (ts->pending >= ts->max_pending) {
        pthread_mutex_unlock(&ts->mu);
        free(q);
        return LQ_EBUSY;
    }
    q->id = ts->next_id++;
    ts->pending++;
    push(&ts->todo_head, &ts->todo_tail, q);
    pthread_cond_signal(&ts->cv);
    pthread_mutex_unlock(&ts->mu);
    if (id)
        *id = q->id;
    return 0;
}

void svc_tokenstore_cancel(svc_tokenstore *ts, uint64_t id)
{
    if (!ts || !id)
        return;
    pthread_mutex_lock(&ts->mu);
    req **pp = &ts->todo_head, *prev = NULL;
    for (; *pp; prev = *pp, pp = &(*pp)->next) {
        if ((*pp)->id == id) {
            req *q = *pp;
            *pp = q->next;
            if (ts->todo_tail == q)
                ts->todo_tail = prev;
            ts->pending--;
            pthread_mutex_unlock(&ts->mu);
            drop_req(ts, q);
            return;
        }
    }
    if (ts->current && ts->current->id == id)
        ts->current->cb = NULL;
    for (req *q = ts->done_head; q; q = q->next)
        if (q->id == id)
            q->cb = NULL;
    pthread_mutex_unlock(&ts->mu);
}

void svc_tokenstore_dispatch(svc_tokenstore *ts)
{
    if (!ts)
        return;
    pthread_mutex_lock(&ts->mu);
    req *list = ts->done_head;
    ts->done_head = ts->done_tail = NULL;
    pthread_mutex_unlock(&ts->mu);
    while (list) {
        req *q = list;
        list = q->next;
        if (q->cb) {
            q->cb(&q->res, q->ud);
            free(q);
        } else {
            drop_req(ts, q);
        }
    }
}

int svc_tokenstore_pending(svc_tokenstore *ts)
{
    pthread_mutex_lock(&ts->mu);
    int n = ts->pending;
    pthread_mutex_unlock(&ts->mu);
    return n;
}
