/*
 * duo.c - two tasks at once (see duo.h): one helper thread, one mutex, one
 * condition variable for both directions.
 */
#include "base/duo.h"

#include <pthread.h>
#include <stdlib.h>

enum { DUO_IDLE, DUO_POSTED, DUO_HELPER, DUO_CALLER, DUO_DONE };

struct lq_duo {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state;
    int quit;
    lq_duo_task task;
    void *ud;
};

static void *helper(void *arg)
{
    lq_duo *d = arg;
    pthread_mutex_lock(&d->mu);
    for (;;) {
        while (!d->quit && d->state != DUO_POSTED)
            pthread_cond_wait(&d->cv, &d->mu);
        if (d->quit)
            break;
        d->state = DUO_HELPER;
        pthread_mutex_unlock(&d->mu);
        d->task(d->ud, 0);
        pthread_mutex_lock(&d->mu);
        d->state = DUO_DONE;
        pthread_cond_broadcast(&d->cv);
    }
    pthread_mutex_unlock(&d->mu);
    return NULL;
}

int lq_duo_create(lq_duo **out)
{
    if (!out)
        return LQ_EINVAL;
    lq_duo *d = calloc(1, sizeof *d);
    if (!d)
        return LQ_ENOMEM;
    if (pthread_mutex_init(&d->mu, NULL) != 0) {
        free(d);
        return LQ_ENOMEM;
    }
    if (pthread_cond_init(&d->cv, NULL) != 0) {
        pthread_mutex_destroy(&d->mu);
        free(d);
        return LQ_ENOMEM;
    }
    if (pthread_create(&d->thread, NULL, helper, d) != 0) {
        pthread_cond_destroy(&d->cv);
        pthread_mutex_destroy(&d->mu);
        free(d);
        return LQ_ENOMEM;
    }
    *out = d;
    return 0;
}

void lq_duo_destroy(lq_duo *d)
{
    if (!d)
        return;
    pthread_mutex_lock(&d->mu);
    d->quit = 1;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
    pthread_join(d->thread, NULL);
    pthread_cond_destroy(&d->cv);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

int lq_duo_run(lq_duo *d, lq_duo_task task, void *ud)
{
    if (!d || !task)
        return LQ_EINVAL;
    pthread_mutex_lock(&d->mu);
    d->task = task;
    d->ud = ud;
    d->state = DUO_POSTED;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);

    task(ud, 1);

    int on_helper = 1;
    pthread_mutex_lock(&d->mu);
    if (d->state == DUO_POSTED) { /* not picked up yet: do it here */
        d->state = DUO_CALLER;
        on_helper = 0;
        pthread_mutex_unlock(&d->mu);
        task(ud, 0);
        pthread_mutex_lock(&d->mu);
    } else {
        while (d->state != DUO_DONE)
            pthread_cond_wait(&d->cv, &d->mu);
    }
    d->state = DUO_IDLE;
    d->task = NULL;
    d->ud = NULL;
    pthread_mutex_unlock(&d->mu);
    return on_helper;
}
