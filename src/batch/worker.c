/* worker.c - the batch worker's threads (see worker.h, docs/batch.md). */
#include "batch/worker.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "batch/queue.h"

#define TAG "batch"
#define CLAIM_BATCH 8
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

typedef struct thread_ctx {
    const batch_worker_opts *opts;
    const batch_settings *st;
    atomic_int *stop;
    lq_tryon_engine *engine;
    lq_tryon_worker *tryon;
    batch_queue_opts qopts;
    char consumer[BATCH_KEY_MAX + 1];
    batch_queue *q;
    batch_entry entry;
    batch_outcome out;
    batch_worker_totals totals;
    pthread_t thread;
    int started;
} thread_ctx;

static int stopping(const thread_ctx *t)
{
    return atomic_load(t->stop) != 0;
}

/* Sleeps ms, waking early when stop is set. */
static void nap(const thread_ctx *t, int ms)
{
    while (ms > 0 && !stopping(t)) {
        int step = ms < 50 ? ms : 50;
        struct timespec ts = {0, (long)step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

static void heartbeat(const thread_ctx *t)
{
    const char *path = t->st->heartbeat_file;
    if (!path[0])
        return;
    if (utimensat(AT_FDCWD, path, NULL, 0) == 0)
        return;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd >= 0)
        close(fd);
}

static void drop_connection(thread_ctx *t)
{
    batch_entry_clear(&t->entry);
    batch_queue_close(t->q);
    t->q = NULL;
}

/* JSON fields for the log lines of one job (all values are validated ids). */
static void job_fields(const thread_ctx *t, const char *job_id, const batch_entry *e, char *buf,
                       size_t len)
{
    snprintf(buf, len, "\"job_id\":\"%s\",\"entry\":\"%s\",\"attempt\":%lld,\"consumer\":\"%s\"",
             job_id, e->id, (long long)e->deliveries, t->consumer);
}

#define FIELD_S(name, s) ((batch_field){(name), sizeof(name) - 1, (const uint8_t *)(s), strlen(s)})

/* Writes the outcome of entry e as a result and acknowledges the job. */
static void write_result(thread_ctx *t, const batch_entry *e, const char *job_id)
{
    const batch_outcome *o = &t->out;
    char attempt[24], finished[24], ms[32], fields[512];
    snprintf(attempt, sizeof attempt, "%lld", (long long)e->deliveries);
    snprintf(finished, sizeof finished, "%lld", (long long)lq_clock_epoch_ms());
    snprintf(ms, sizeof ms, "%.3f", o->processing_ms);
    batch_field f[12];
    size_t n = 0;
    f[n++] = FIELD_S("job_id", job_id);
    f[n++] = FIELD_S("status", o->ok ? "ok" : "error");
    f[n++] = FIELD_S("entry", e->id);
    f[n++] = FIELD_S("attempt", attempt);
    f[n++] = FIELD_S("consumer", t->consumer);
    f[n++] = FIELD_S("finished_at", finished);
    f[n++] = FIELD_S("processing_ms", ms);
    if (o->ok) {
        f[n++] = FIELD_S("format", lq_format_name(o->format));
        f[n++] = (batch_field){"image", 5, o->image.data, o->image.len};
    } else {
        f[n++] = FIELD_S("code", batch_error_name(o->code));
        f[n++] = FIELD_S("message", o->message);
    }
    if (o->metadata)
        f[n++] = FIELD_S("metadata", o->metadata);
    batch_output res = {t->st->results, (long)t->st->results_maxlen, f, n};

    job_fields(t, job_id, e, fields, sizeof fields);
    int rc = batch_queue_finish(t->q, e->id, &res, 1);
    if (rc == 1) {
        if (o->ok) {
            t->totals.done++;
            LQ_LOGF(LQ_LOG_INFO, TAG, fields, "job done in %.1f ms (%zu bytes of %s)",
                    o->processing_ms, o->image.len, lq_format_name(o->format));
        } else {
            t->totals.failed++;
            LQ_LOGF(LQ_LOG_INFO, TAG, fields, "job failed: %s: %s", batch_error_name(o->code),
                    o->message);
        }
    } else if (rc == 0) {
        t->totals.lost++;
        LQ_LOGF(LQ_LOG_WARN, TAG, fields,
                "job was taken over by another consumer while it ran (longer than "
                "--claim-idle-ms?); its result is left to that consumer");
    } else {
        LQ_LOGF(LQ_LOG_ERROR, TAG, fields,
                "cannot write the result (%s); the job stays pending and will be retried",
                lq_strerror(rc));
        if (rc == LQ_EIO)
            drop_connection(t);
    }
}

static void handle_entry(thread_ctx *t)
{
    batch_entry *e = &t->entry;
    batch_job job;
    char fields[512];
    batch_outcome_reset(&t->out);
    int parsed = batch_job_parse(e->fields, e->nfields, e->id, &t->opts->limits, &job, &t->out);
    const char *job_id = t->out.job_id[0] ? t->out.job_id : e->id;
    job_fields(t, job_id, e, fields, sizeof fields);
    LQ_LOGF(LQ_LOG_INFO, TAG, fields, "job started (attempt %lld of %d)", (long long)e->deliveries,
            t->st->max_attempts);
    if (parsed == 0)
        batch_job_process(t->engine, t->tryon, &job, &t->opts->limits, &t->out);
    if (!t->out.ok && batch_error_retryable(t->out.code)) {
        t->totals.retried++;
        LQ_LOGF(LQ_LOG_WARN, TAG, fields,
                "attempt failed: %s: %s; the job stays pending and is retried after %d ms",
                batch_error_name(t->out.code), t->out.message, t->st->claim_idle_ms);
        return;
    }
    write_result(t, e, job_id);
}

/* Moves a job delivered too often to the dead stream, with an error result. */
static void dead_letter(thread_ctx *t, const batch_pending *p)
{
    batch_entry *e = &t->entry;
    batch_job job;
    batch_outcome_reset(&t->out);
    /* Only for the job id: the job's other faults do not matter any more. */
    if (batch_job_parse(e->fields, e->nfields, e->id, &t->opts->limits, &job, &t->out) < 0)
        LQ_DEBUG(TAG, "dead letter %s is also malformed: %s", e->id, t->out.message);
    char job_id[BATCH_JOB_ID_MAX + 1];
    snprintf(job_id, sizeof job_id, "%s", t->out.job_id[0] ? t->out.job_id : e->id);
    batch_outcome_reset(&t->out);
    batch_outcome_fail(&t->out, BATCH_ERR_MAX_ATTEMPTS_EXCEEDED,
                       "delivered %lld times without completing (max-attempts %d); last consumer "
                       "%s; moved to %s",
                       (long long)p->deliveries, t->st->max_attempts, p->consumer, t->st->dead);

    char attempts[24], at[24];
    snprintf(attempts, sizeof attempts, "%lld", (long long)p->deliveries);
    snprintf(at, sizeof at, "%lld", (long long)lq_clock_epoch_ms());
    size_t nkeep = e->nfields < BATCH_JOB_MAX_FIELDS ? e->nfields : BATCH_JOB_MAX_FIELDS;
    batch_field dead[BATCH_JOB_MAX_FIELDS + 5];
    size_t nd = 0;
    for (size_t i = 0; i < nkeep; i++) {
        /* A re-queued dead letter carries the dead_* fields of its last
         * burial: replace them rather than piling them up. */
        if (e->fields[i].name_len >= 5 && memcmp(e->fields[i].name, "dead_", 5) == 0)
            continue;
        dead[nd++] = e->fields[i];
    }
    dead[nd++] = FIELD_S("dead_entry", e->id);
    dead[nd++] = FIELD_S("dead_reason", t->out.message);
    dead[nd++] = FIELD_S("dead_attempts", attempts);
    dead[nd++] = FIELD_S("dead_consumer", p->consumer);
    dead[nd++] = FIELD_S("dead_at", at);

    batch_field r[8];
    size_t nr = 0;
    r[nr++] = FIELD_S("job_id", job_id);
    r[nr++] = FIELD_S("status", "error");
    r[nr++] = FIELD_S("entry", e->id);
    r[nr++] = FIELD_S("attempt", attempts);
    r[nr++] = FIELD_S("consumer", t->consumer);
    r[nr++] = FIELD_S("finished_at", at);
    r[nr++] = FIELD_S("code", batch_error_name(BATCH_ERR_MAX_ATTEMPTS_EXCEEDED));
    r[nr++] = FIELD_S("message", t->out.message);

    batch_output outs[2] = {{t->st->dead, 0, dead, nd},
                            {t->st->results, (long)t->st->results_maxlen, r, nr}};
    char fields[512];
    job_fields(t, job_id, e, fields, sizeof fields);
    int rc = batch_queue_finish(t->q, e->id, outs, 2);
    if (rc == LQ_ESTATE) {
        /* Redis refused a write (e.g. the results key holds another type):
         * the dead letter matters most, so try it alone. */
        rc = batch_queue_finish(t->q, e->id, outs, 1);
    }
    if (rc == 1) {
        t->totals.dead++;
        LQ_LOGF(LQ_LOG_WARN, TAG, fields, "job dead-lettered: %s", t->out.message);
    } else if (rc < 0) {
        LQ_LOGF(LQ_LOG_ERROR, TAG, fields, "cannot dead-letter the job: %s", lq_strerror(rc));
        if (rc == LQ_EIO)
            drop_connection(t);
    }
}

/* Takes over jobs whose consumer stopped: dead-letters the exhausted ones and
 * processes at most one other. Returns 1 if it processed one. */
static int reclaim(thread_ctx *t)
{
    batch_pending cand[CLAIM_BATCH];
    int n = batch_queue_pending_idle(t->q, t->st->claim_idle_ms, cand, CLAIM_BATCH);
    if (n < 0) {
        if (n == LQ_EIO)
            drop_connection(t);
        return 0;
    }
    for (int i = 0; i < n && t->q && !stopping(t); i++) {
        int rc = batch_queue_claim(t->q, cand[i].id, t->st->claim_idle_ms, cand[i].deliveries,
                                   &t->entry);
        if (rc < 0) {
            if (rc == LQ_EIO)
                drop_connection(t);
            return 0;
        }
        if (rc == 0)
            continue; /* another worker was quicker */
        LQ_INFO(TAG, "took over job %s from %s (idle %lld ms, delivered %lld times)", cand[i].id,
                cand[i].consumer, (long long)cand[i].idle_ms, (long long)cand[i].deliveries);
        if (cand[i].deliveries >= t->st->max_attempts) {
            dead_letter(t, &cand[i]);
            continue;
        }
        handle_entry(t);
        return 1;
    }
    return 0;
}

static int connect_queue(thread_ctx *t, int *backoff_ms, int64_t *next_warn_ms)
{
    char err[256];
    int rc = batch_queue_connect(&t->qopts, &t->q, err, sizeof err);
    if (rc == 0)
        rc = batch_queue_ensure_group(t->q);
    if (rc == 0) {
        LQ_INFO(TAG, "consumer %s reading %s (group %s)", t->consumer, t->st->stream, t->st->group);
        *backoff_ms = BACKOFF_MIN_MS;
        return 0;
    }
    if (t->q)
        snprintf(err, sizeof err, "cannot create the consumer group: %s", lq_strerror(rc));
    drop_connection(t);
    int64_t now = (int64_t)(lq_clock_ns() / 1000000u);
    if (now >= *next_warn_ms) {
        LQ_WARN(TAG, "consumer %s: %s; retrying", t->consumer, err);
        *next_warn_ms = now + 30000;
    }
    nap(t, *backoff_ms);
    *backoff_ms = *backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : *backoff_ms * 2;
    return -1;
}

static void *thread_main(void *arg)
{
    thread_ctx *t = arg;
    const batch_settings *st = t->st;
    int backoff = BACKOFF_MIN_MS;
    int64_t next_warn = 0, next_claim = 0;
    int claim_every = st->claim_idle_ms / 2 < 5000 ? st->claim_idle_ms / 2 : 5000;

    while (!stopping(t)) {
        if (!t->q && connect_queue(t, &backoff, &next_warn) < 0)
            continue;
        heartbeat(t);
        int64_t now = (int64_t)(lq_clock_ns() / 1000000u);
        if (now >= next_claim) {
            if (reclaim(t)) {
                batch_entry_clear(&t->entry);
                continue; /* there may be more: look again at once */
            }
            batch_entry_clear(&t->entry);
            next_claim = now + claim_every;
            if (!t->q)
                continue;
        }
        int rc = batch_queue_read(t->q, st->block_ms, &t->entry);
        if (rc == 1)
            handle_entry(t);
        else if (rc == LQ_ENOTFOUND)
            rc = batch_queue_ensure_group(t->q) == 0 ? 0 : LQ_EIO;
        if (rc < 0) {
            drop_connection(t);
            nap(t, backoff);
        }
        batch_entry_clear(&t->entry);
    }
    drop_connection(t);
    return NULL;
}

static void default_consumer(char *buf, size_t len)
{
    char host[128] = "worker";
    if (gethostname(host, sizeof host) != 0)
        snprintf(host, sizeof host, "worker");
    host[sizeof host - 1] = '\0';
    for (char *p = host; *p; p++)
        if (*p <= ' ' || *p == '"' || *p == '\\' || *p == 0x7f)
            *p = '_';
    snprintf(buf, len, "%s-%ld", host, (long)getpid());
}

int batch_worker_run(const batch_worker_opts *opts, atomic_int *stop, batch_worker_totals *totals,
                     char *err, size_t errlen)
{
    const batch_settings *st = opts->settings;
    if (batch_settings_validate(st, err, errlen) < 0)
        return LQ_EINVAL;
    batch_redis_url url;
    if (batch_redis_url_parse(st->redis_url, &url, err, errlen) < 0)
        return LQ_EINVAL;
    int nthreads = st->threads;
    if (nthreads == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        nthreads = cpus < 1 ? 1 : cpus > 64 ? 64 : (int)cpus;
    }
    char base[BATCH_KEY_MAX + 1];
    if (st->consumer[0])
        snprintf(base, sizeof base, "%s", st->consumer);
    else
        default_consumer(base, sizeof base);

    lq_tryon_engine *engine = NULL;
    lq_tryon_engine_opts eo = {.models_dir = opts->models_dir, .load_lite = 1};
    int rc = lq_tryon_engine_create(&eo, &engine, err, errlen);
    if (rc < 0)
        return rc;
    thread_ctx *ts = calloc((size_t)nthreads, sizeof *ts);
    if (!ts) {
        lq_tryon_engine_destroy(engine);
        return LQ_ENOMEM;
    }
    for (int i = 0; i < nthreads && rc == 0; i++) {
        thread_ctx *t = &ts[i];
        t->opts = opts;
        t->st = st;
        t->stop = stop;
        t->engine = engine;
        if (nthreads == 1)
            snprintf(t->consumer, sizeof t->consumer, "%s", base);
        else
            /* threads <= 64: the modulo only tells the compiler the suffix is short */
            snprintf(t->consumer, sizeof t->consumer, "%.*s-%d", BATCH_KEY_MAX - 12, base,
                     (i + 1) % 100);
        t->qopts = (batch_queue_opts){url,          st->stream, st->group, t->consumer, 5000,
                                      st->block_ms, st->delete_done};
        rc = lq_tryon_worker_create(engine, &t->tryon);
        if (rc < 0)
            snprintf(err, errlen, "cannot create a try-on worker: %s", lq_strerror(rc));
    }
    char shown[BATCH_URL_MAX + 64];
    batch_redis_url_format(&url, shown, sizeof shown);
    if (rc == 0)
        LQ_INFO(TAG, "worker started: %d thread(s), %s, stream %s, group %s, results %s, dead %s",
                nthreads, shown, st->stream, st->group, st->results, st->dead);
    for (int i = 0; i < nthreads && rc == 0; i++) {
        if (pthread_create(&ts[i].thread, NULL, thread_main, &ts[i]) != 0) {
            snprintf(err, errlen, "cannot start thread %d", i + 1);
            rc = LQ_ENOMEM;
            atomic_store(stop, 1);
            break;
        }
        ts[i].started = 1;
    }
    batch_worker_totals sum = {0};
    for (int i = 0; i < nthreads; i++) {
        if (ts[i].started)
            pthread_join(ts[i].thread, NULL);
        sum.done += ts[i].totals.done;
        sum.failed += ts[i].totals.failed;
        sum.retried += ts[i].totals.retried;
        sum.dead += ts[i].totals.dead;
        sum.lost += ts[i].totals.lost;
        batch_outcome_release(&ts[i].out);
        lq_tryon_worker_destroy(ts[i].tryon);
    }
    free(ts);
    lq_tryon_engine_destroy(engine);
    if (rc == 0) {
        LQ_INFO(TAG, "worker stopped: %lld done, %lld failed, %lld retried, %lld dead-lettered",
                sum.done, sum.failed, sum.retried, sum.dead);
        if (totals)
            *totals = sum;
    }
    return rc;
}
