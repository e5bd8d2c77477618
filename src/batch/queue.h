/*
 * queue.h - the Redis side of batch mode: a consumer in a stream consumer group.
 *
 *   batch_queue *q;
 *   if (batch_queue_connect(&opts, &q, err, sizeof err) < 0) retry later;
 *   batch_queue_ensure_group(q);                        // XGROUP CREATE ... MKSTREAM
 *   batch_entry e = {0};
 *   if (batch_queue_read(q, 1000, &e) == 1) {           // XREADGROUP ... COUNT 1 BLOCK 1000
 *       ... process e.fields ...
 *       batch_output res = {opts.results, 100000, fields, n};
 *       batch_queue_finish(q, e.id, &res, 1);           // result written, then XACK, atomically
 *   }
 *   batch_entry_clear(&e);
 *   batch_queue_close(q);
 *
 * Delivery semantics (docs/batch.md): at least once. An entry is read by one
 * consumer and stays in the group's pending list (PEL) until it is
 * acknowledged. batch_queue_finish writes the result entries and acknowledges
 * in one Lua script, and only if the entry is still pending for this
 * consumer: a job whose result is written is acknowledged, a job that is
 * acknowledged has its result written, and a job that another consumer has
 * since reclaimed (because this one looked dead) gets no second result from
 * this one. If the XADD of a result fails (e.g. the key holds another type),
 * the script stops before XACK and the job stays pending.
 *
 * Jobs of a consumer that died stay pending; batch_queue_pending_idle lists
 * those idle for a while with their delivery counts (XPENDING ... IDLE) and
 * batch_queue_claim takes one over (XCLAIM with the same min-idle-time, so two
 * live consumers never both take it). Needs Redis >= 6.2 (XPENDING IDLE);
 * Debian 12 ships 7.0.
 *
 * Errors: LQ_EIO when Redis cannot be reached or answered with an error
 * (logged with Redis's message); the connection is then unusable: close it
 * and connect again. LQ_ENOTFOUND when the stream or the group vanished
 * (NOGROUP): call batch_queue_ensure_group. LQ_EAUTH when AUTH is refused.
 *
 * Thread-safety: a batch_queue is one connection, used by one thread.
 */
#ifndef LQ_BATCH_QUEUE_H
#define LQ_BATCH_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "batch/job.h"
#include "batch/redis_url.h"

#define BATCH_ENTRY_ID_MAX 48      /* "<ms>-<seq>": two 64-bit numbers */
#define BATCH_KEY_MAX 256          /* stream, group and consumer names */

typedef struct batch_queue batch_queue;

typedef struct batch_queue_opts {
    batch_redis_url url;
    const char *stream;         /* jobs */
    const char *group;
    const char *consumer;       /* this connection's consumer name */
    int timeout_ms;             /* connect timeout; commands get this plus their BLOCK */
    int max_block_ms;           /* the longest BLOCK this connection will ask for */
    int delete_done;            /* XDEL a job's entry when it is acknowledged */
} batch_queue_opts;

/* An entry as read; fields are views into Redis's reply, which the entry owns. */
typedef struct batch_entry {
    char id[BATCH_ENTRY_ID_MAX + 1];
    int64_t deliveries;         /* this delivery's number: 1 when first read */
    size_t nfields;             /* fields in the entry; fields[] holds the first
                                   BATCH_JOB_MAX_FIELDS of them */
    batch_field fields[BATCH_JOB_MAX_FIELDS];
    void *reply;                /* owns the memory the fields point into */
} batch_entry;

/* A pending entry (XPENDING). */
typedef struct batch_pending {
    char id[BATCH_ENTRY_ID_MAX + 1];
    char consumer[BATCH_KEY_MAX + 1];
    int64_t idle_ms;
    int64_t deliveries;
} batch_pending;

/* Where batch_queue_finish writes: one XADD to stream (trimmed to about
 * maxlen entries, 0 = never trimmed) with these field/value pairs. */
typedef struct batch_output {
    const char *stream;
    long maxlen;
    const batch_field *fields;
    size_t nfields;
} batch_output;

/* Connects (and AUTH, SELECT), loads the finish script. */
int batch_queue_connect(const batch_queue_opts *opts, batch_queue **out, char *err,
                        size_t errlen) LQ_NODISCARD;
void batch_queue_close(batch_queue *q);

/* Creates the stream and the group (reading from the stream's first entry) unless
 * the group exists. 0 or LQ_EIO. */
int batch_queue_ensure_group(batch_queue *q) LQ_NODISCARD;

/* Reads one new entry for this consumer, waiting up to block_ms (>= 1,
 * <= max_block_ms). 1 with *e filled (deliveries = 1), 0 if none came. */
int batch_queue_read(batch_queue *q, int block_ms, batch_entry *e) LQ_NODISCARD;

/* Lists up to cap pending entries idle for at least min_idle_ms, oldest
 * first. Returns their number (0..cap) or an error. */
int batch_queue_pending_idle(batch_queue *q, int64_t min_idle_ms, batch_pending *out,
                             int cap) LQ_NODISCARD;

/* Takes over entry id if it is still idle for min_idle_ms: 1 with *e filled
 * (deliveries = deliveries_before + 1, as XCLAIM counts), 0 if another
 * consumer took it first or the entry was deleted (it is then acknowledged,
 * since nothing is left to process). */
int batch_queue_claim(batch_queue *q, const char *id, int64_t min_idle_ms,
                      int64_t deliveries_before, batch_entry *e) LQ_NODISCARD;

/* Writes outs[0..nouts) (1 or 2 outputs) and acknowledges id, in one script,
 * if id is still pending for this consumer. Returns 1 when written and
 * acknowledged, 0 when the entry is no longer ours (nothing written). */
int batch_queue_finish(batch_queue *q, const char *id, const batch_output *outs,
                       int nouts) LQ_NODISCARD;

/* Releases the reply an entry holds and zeroes it. */
void batch_entry_clear(batch_entry *e);

/* The consumer name this queue was opened with. */
const char *batch_queue_consumer(const batch_queue *q);

#endif
