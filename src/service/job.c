/* job.c - frame job allocation (see job.h); the work itself is in pipeline.c. */
#include "service/job.h"

#include <stdlib.h>

#include "service/fetch.h"

svc_job *svc_job_new(void)
{
    return calloc(1, sizeof(svc_job));
}

void svc_job_free(svc_job *j)
{
    if (!j)
        return;
    free(j->owner);
    lq_fetch_body_release(j->body);
    ws_out_free(j->out1);
    ws_out_free(j->out2);
    free(j);
}
