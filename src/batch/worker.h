/*
 * worker.h - `lacquer worker`: threads that take try-on jobs from Redis and write results.
 *
 *   static atomic_int stop;                      // set to 1 by SIGTERM/SIGINT
 *   batch_worker_opts o = {&settings, "./models", {10 << 20, 1920, 1080}};
 *   int rc = batch_worker_run(&o, &stop, err, sizeof err);   // returns after stop
 *
 * Each thread has its own Redis connection (consumer name CONSUMER, or
 * CONSUMER-1..N with several threads) and its own try-on worker; they share
 * the loaded models. A thread's loop:
 *   1. every min(claim_idle_ms / 2, 5 s): look for jobs pending longer than
 *      claim_idle_ms (their consumer is presumed dead). One delivered
 *      max_attempts times already is dead-lettered: copied with the reason to
 *      the dead stream, an error result MAX_ATTEMPTS_EXCEEDED written, acked.
 *      Otherwise it is claimed and processed (its next attempt).
 *   2. otherwise read one new job, waiting up to block_ms.
 *   3. process it; write the result and acknowledge in one step (queue.h).
 *      A retryable failure (model or memory) is not acknowledged: the job is
 *      taken over again after claim_idle_ms and retried.
 * Redis going away is survived: the thread reconnects with backoff (100 ms
 * doubling to 5 s) and re-creates the group if the stream vanished.
 *
 * Stop: when *stop becomes non-zero each thread finishes the job it holds
 * (result written, acknowledged), takes no new one, and exits; jobs never
 * read stay in the stream for other workers. A thread notices stop within
 * block_ms when idle.
 *
 * Logs (module "batch"): "job started" and "job done" / "job failed" lines
 * with job_id, entry, attempt and consumer fields.
 */
#ifndef LQ_BATCH_WORKER_H
#define LQ_BATCH_WORKER_H

#include <stdatomic.h>
#include <stddef.h>

#include "base/error.h"
#include "batch/job.h"
#include "batch/settings.h"

typedef struct batch_worker_opts {
    const batch_settings *settings;
    const char *models_dir;
    batch_job_limits limits;
} batch_worker_opts;

/* Totals over all threads, filled when batch_worker_run returns 0. */
typedef struct batch_worker_totals {
    long long done;             /* ok results */
    long long failed;           /* error results (job problems) */
    long long retried;          /* attempts left pending for a retry */
    long long dead;             /* dead-lettered */
    long long lost;             /* finished after another consumer took the job over */
} batch_worker_totals;

/* Loads the models, starts the threads and runs until *stop. Returns 0, or
 * LQ_E* when it cannot start (err says why: bad URL, models missing...). */
int batch_worker_run(const batch_worker_opts *opts, atomic_int *stop, batch_worker_totals *totals,
                     char *err, size_t errlen) LQ_NODISCARD;

#endif
