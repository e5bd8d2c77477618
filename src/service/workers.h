/*
 * workers.h - a pool of worker threads running frame jobs off the event loop.
 *
 *   svc_workers *p;
 *   svc_workers_create(&opts, &p);            // starts opts.threads threads
 *   svc_workers_submit(p, job);               // loop thread: hand a job over
 *   ...a worker runs opts.run(job, thread_ctx) and calls opts.notify(opts.ud)...
 *   for (svc_job *j = svc_workers_take(p); j; ) { svc_job *n = j->next; ...; j = n; }
 *   svc_workers_destroy(p);                   // finishes queued jobs, joins threads
 *
 * Each thread builds its own context with opts.thread_init (one
 * lq_tryon_worker per thread) and releases it with opts.thread_fini. Jobs run
 * in submission order across the pool; the caller keeps a session's frames in
 * order by submitting its next frame only after the previous one came back.
 * Finished jobs wait in a locked queue until the loop takes them; notify is
 * called (from the worker thread) after each one (the server passes
 * lws_cancel_service). The threads block SIGINT/SIGTERM so signals reach the
 * event loop.
 *
 * Thread-safety: submit, take, pending and destroy are called from one thread
 * (the event loop); the pool's queues are locked internally.
 */
#ifndef LQ_SERVICE_WORKERS_H
#define LQ_SERVICE_WORKERS_H

#include "base/error.h"
#include "service/job.h"

typedef struct svc_workers svc_workers;

typedef struct svc_workers_opts {
    int threads;                                      /* 1..256 */
    int (*thread_init)(void *ud, void **thread_ctx);  /* NULL: ctx = NULL */
    void (*thread_fini)(void *ud, void *thread_ctx);
    void (*run)(svc_job *job, void *thread_ctx);      /* required */
    void (*notify)(void *ud);                         /* may be NULL */
    void *ud;
} svc_workers_opts;

/* Starts the threads and waits until every thread_init has returned. If any
 * fails, stops the others and returns its code (or LQ_ENOMEM / LQ_EINVAL). */
int svc_workers_create(const svc_workers_opts *opts, svc_workers **out) LQ_NODISCARD;

/* Queues a job (the pool owns it until it comes back through take). */
void svc_workers_submit(svc_workers *p, svc_job *job);

/* Takes every finished job, oldest first, as a list linked by ->next. */
svc_job *svc_workers_take(svc_workers *p);

/* Jobs submitted and not yet taken back. */
int svc_workers_pending(const svc_workers *p);

int svc_workers_threads(const svc_workers *p);

/* Runs the jobs still queued, joins the threads and frees the pool. Jobs not
 * yet taken are freed with svc_job_free. NULL ok. */
void svc_workers_destroy(svc_workers *p);

#endif
