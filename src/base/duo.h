/*
 * duo.h - two tasks at once: one on a helper thread, one on the caller.
 *
 *   lq_duo *d;
 *   if (lq_duo_create(&d) < 0) ...;           // starts the helper thread
 *   lq_duo_run(d, task, ud);                   // task(ud, 0) and task(ud, 1) concurrently
 *   lq_duo_destroy(d);                         // joins it
 *
 * lq_duo_run posts task 0 to the helper and runs task 1 on the calling
 * thread. If the helper has not picked task 0 up by the time task 1 is done
 * (its core is busy elsewhere), the caller runs task 0 itself: a run never
 * takes longer than the two tasks in a row plus a lock. It returns when both
 * are done; everything either task wrote is then visible to the caller
 * (mutex and condition variable: also what ThreadSanitizer sees). The helper
 * sleeps between runs.
 *
 * Thread-safety: one lq_duo_run at a time per lq_duo (it belongs to one
 * worker). Tasks must not call lq_duo_run on the same lq_duo.
 */
#ifndef LQ_BASE_DUO_H
#define LQ_BASE_DUO_H

#include <stddef.h>

#include "base/error.h"

typedef struct lq_duo lq_duo;
typedef void (*lq_duo_task)(void *ud, int which);

/* LQ_EINVAL (out NULL), LQ_ENOMEM (allocation or thread creation). */
int lq_duo_create(lq_duo **out) LQ_NODISCARD;
void lq_duo_destroy(lq_duo *d);

/* Runs task(ud, 0) and task(ud, 1) as described above. Returns 1 if task 0
 * ran on the helper thread, 0 if the caller ran it, LQ_EINVAL for NULL. */
int lq_duo_run(lq_duo *d, lq_duo_task task, void *ud);

#endif
