/* session.c - per-session frame queue, drop policy and statistics (see session.h). */
#include "service/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int svc_session_create(const char *id, int capacity, uint64_t now_ns, svc_session **out)
{
    if (!id || !out || capacity < 1 || capacity > SVC_SESSION_QUEUE_MAX ||
        !ws_session_id_valid(id, strlen(id)))
        return LQ_EINVAL;
    svc_session *s = calloc(1, sizeof *s);
    if (!s)
        return LQ_ENOMEM;
    snprintf(s->id, sizeof s->id, "%s", id);
    s->capacity = capacity;
    s->created_ns = now_ns;
    s->ready_ns = now_ns;
    s->last_stats_ns = now_ns;
    s->rate_window_ns = now_ns;
    snprintf(s->reference_status, sizeof s->reference_status, "none");
    *out = s;
    return 0;
}

static svc_job *pop_oldest(svc_session *s)
{
    if (s->qcount == 0)
        return NULL;
    svc_job *j = s->queue[s->qhead];
    s->queue[s->qhead] = NULL;
    s->qhead = (s->qhead + 1) % SVC_SESSION_QUEUE_MAX;
    s->qcount--;
    return j;
}

void svc_session_destroy(svc_session *s)
{
    if (!s)
        return;
    svc_job *j;
    while ((j = pop_oldest(s)) != NULL)
        svc_job_free(j);
    free(s);
}

void svc_session_enqueue(svc_session *s, svc_job *job, svc_job **dropped)
{
    *dropped = NULL;
    s->frames_received++;
    if (s->qcount >= s->capacity) {
        *dropped = pop_oldest(s);
        s->frames_dropped++;
    }
    s->queue[(s->qhead + s->qcount) % SVC_SESSION_QUEUE_MAX] = job;
    s->qcount++;
}

int svc_session_waiting(const svc_session *s)
{
    return s->qcount;
}

svc_job *svc_session_next(svc_session *s, uint64_t now_ns, uint64_t deadline_ns,
                          svc_job **expired)
{
    *expired = NULL;
    if (s->in_flight || s->qcount == 0)
        return NULL;
    svc_job *j = pop_oldest(s);
    if (deadline_ns && now_ns > j->received_ns && now_ns - j->received_ns > deadline_ns) {
        s->frames_dropped++;
        *expired = j;
        return NULL;
    }
    s->in_flight = j;
    return j;
}

void svc_session_done(svc_session *s, svc_job *job)
{
    if (s->in_flight == job)
        s->in_flight = NULL;
}

int svc_session_idle(const svc_session *s, uint64_t last_rx_ns, uint64_t now_ns,
                     uint64_t idle_ns)
{
    if (s->state == SVC_SESSION_PENDING || s->in_flight || s->qcount > 0)
        return 0;
    uint64_t quiet_since = last_rx_ns;
    if (s->ready_ns > quiet_since)
        quiet_since = s->ready_ns;
    if (s->answered_ns > quiet_since)
        quiet_since = s->answered_ns;
    return now_ns > quiet_since && now_ns - quiet_since > idle_ns;
}

svc_job *svc_session_take_waiting(svc_session *s)
{
    svc_job *head = NULL, *tail = NULL, *j;
    while ((j = pop_oldest(s)) != NULL) {
        j->next = NULL;
        if (tail)
            tail->next = j;
        else
            head = j;
        tail = j;
    }
    return head;
}

void svc_session_record(svc_session *s, int outcome, double processing_ms, double confidence)
{
    if (outcome < 0) {
        s->frames_dropped++;
        return;
    }
    if (outcome == 0) {
        s->frames_with_errors++;
        return;
    }
    s->frames_processed++;
    s->sum_processing_ms += processing_ms;
    s->sum_confidence += confidence;
    s->samples[s->sample_pos] = (float)processing_ms;
    s->sample_pos = (s->sample_pos + 1) % SVC_SESSION_SAMPLES;
    if (s->nsamples < SVC_SESSION_SAMPLES)
        s->nsamples++;
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void svc_session_stats(const svc_session *s, uint64_t now_ns, ws_stats *out)
{
    memset(out, 0, sizeof *out);
    out->frames_received = s->frames_received;
    out->frames_processed = s->frames_processed;
    out->frames_dropped = s->frames_dropped;
    out->frames_with_errors = s->frames_with_errors;
    if (s->frames_processed > 0) {
        out->avg_processing_ms = s->sum_processing_ms / (double)s->frames_processed;
        out->avg_confidence = s->sum_confidence / (double)s->frames_processed;
    }
    if (s->nsamples > 0) {
        float sorted[SVC_SESSION_SAMPLES];
        memcpy(sorted, s->samples, (size_t)s->nsamples * sizeof sorted[0]);
        qsort(sorted, (size_t)s->nsamples, sizeof sorted[0], cmp_float);
        /* nearest-rank p95 over the last SVC_SESSION_SAMPLES processed frames */
        int rank = (int)((95 * s->nsamples + 99) / 100);
        out->p95_processing_ms = sorted[rank - 1];
    }
    out->duration_s = now_ns > s->ready_ns ? (double)(now_ns - s->ready_ns) / 1e9 : 0.0;
}

int svc_session_rate_ok(svc_session *s, uint64_t now_ns, int limit)
{
    if (limit <= 0)
        return 1;
    if (now_ns - s->rate_window_ns >= 1000000000ull) {
        s->rate_window_ns = now_ns;
        s->rate_count = 0;
    }
    if (s->rate_count >= limit)
        return 0;
    s->rate_count++;
    return 1;
}
