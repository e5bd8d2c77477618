/* workers.c - the worker thread pool (see workers.h). */
#include "service/workers.h"

#include <pthread.h>
#include <signal.h>
#include <stdlib.h>

#include "base/log.h"

struct svc_workers {
    svc_workers_opts opts;
    pthread_t *threads;
    int nthreads;            /* started */
    pthread_mutex_t mu;
    pthread_cond_t cv;       /* work queued or stopping */
    pthread_cond_t ready_cv; /* a thread finished its init */
    svc_job *in_head, *in_tail;
    svc_job *out_head, *out_tail;
    int pending;             /* submitted, not yet taken (loop thread only) */
    int stopping;
    int inited, init_failed, init_rc;
};

static void *worker_main(void *arg)
{
    svc_workers *p = arg;
    void *ctx = NULL;
    int rc = p->opts.thread_init ? p->opts.thread_init(p->opts.ud, &ctx) : 0;
    pthread_mutex_lock(&p->mu);
    p->inited++;
    if (rc < 0) {
        p->init_failed++;
        p->init_rc = rc;
    }
    pthread_cond_broadcast(&p->ready_cv);
    pthread_mutex_unlock(&p->mu);
    if (rc < 0)
        return NULL;

    for (;;) {
        pthread_mutex_lock(&p->mu);
        while (!p->in_head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        svc_job *j = p->in_head;
        if (!j) { /* stopping and nothing left */
            pthread_mutex_unlock(&p->mu);
            break;
        }
        p->in_head = j->next;
        if (!p->in_head)
            p->in_tail = NULL;
        pthread_mutex_unlock(&p->mu);

        j->next = NULL;
        p->opts.run(j, ctx);

        pthread_mutex_lock(&p->mu);
        if (p->out_tail)
            p->out_tail->next = j;
        else
            p->out_head = j;
        p->out_tail = j;
        pthread_mutex_unlock(&p->mu);
        if (p->opts.notify)
            p->opts.notify(p->opts.ud);
    }
    if (p->opts.thread_fini)
        p->opts.thread_fini(p->opts.ud, ctx);
    return NULL;
}

static void stop_and_join(svc_workers *p)
{
    pthread_mutex_lock(&p->mu);
    p->stopping = 1;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    p->nthreads = 0;
}

static void free_list(svc_job *j)
{
    while (j) {
        svc_job *n = j->next;
        svc_job_free(j);
        j = n;
    }
}

static void pool_free(svc_workers *p)
{
    free_list(p->in_head);
    free_list(p->out_head);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    pthread_cond_destroy(&p->ready_cv);
    free(p->threads);
    free(p);
}

int svc_workers_create(const svc_workers_opts *opts, svc_workers **out)
{
    if (!opts || !out || !opts->run || opts->threads < 1 || opts->threads > 256)
        return LQ_EINVAL;
    svc_workers *p = calloc(1, sizeof *p);
    if (!p)
        return LQ_ENOMEM;
    p->opts = *opts;
    p->threads = calloc((size_t)opts->threads, sizeof *p->threads);
    if (!p->threads) {
        free(p);
        return LQ_ENOMEM;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    pthread_cond_init(&p->ready_cv, NULL);

    /* Threads inherit the signal mask: block the shutdown signals in them. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int rc = 0;
    for (int i = 0; i < opts->threads; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0) {
            rc = LQ_ENOMEM;
            break;
        }
        p->nthreads++;
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);

    pthread_mutex_lock(&p->mu);
    while (p->inited < p->nthreads)
        pthread_cond_wait(&p->ready_cv, &p->mu);
    if (p->init_failed)
        rc = p->init_rc;
    pthread_mutex_unlock(&p->mu);
    if (rc < 0) {
        LQ_ERROR("workers", "starting %d worker threads failed: %s", opts->threads,
                 lq_strerror(rc));
        stop_and_join(p);
        pool_free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void svc_workers_submit(svc_workers *p, svc_job *job)
{
    job->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->in_tail)
        p->in_tail->next = job;
    else
        p->in_head = job;
    p->in_tail = job;
    p->pending++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

svc_job *svc_workers_take(svc_workers *p)
{
    pthread_mutex_lock(&p->mu);
    svc_job *list = p->out_head;
    p->out_head = p->out_tail = NULL;
    for (svc_job *j = list; j; j = j->next)
        p->pending--;
    pthread_mutex_unlock(&p->mu);
    return list;
}

int svc_workers_pending(const svc_workers *p)
{
    return p->pending;
}

int svc_workers_threads(const svc_workers *p)
{
    return p->nthreads;
}

void svc_workers_destroy(svc_workers *p)
{
    if (!p)
        return;
    stop_and_join(p);
    pool_free(p);
}
