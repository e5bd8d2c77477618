/* report.c - the load run's report: counters, table and JSON (see report.h). */
#include "client/report.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <string.h>

void lq_load_report_reset(lq_load_report *r)
{
    memset(r, 0, sizeof *r);
    lq_client_hist_reset(&r->latency_us);
    lq_client_hist_reset(&r->server_us);
}

void lq_load_report_count_code(lq_load_report *r, const char *code)
{
    if (!code || !code[0])
        code = "UNKNOWN";
    for (int i = 0; i < r->ncodes; i++) {
        if (strcmp(r->codes[i].code, code) == 0) {
            r->codes[i].n++;
            return;
        }
    }
    if (r->ncodes < LQ_LOAD_REPORT_CODES - 1) {
        snprintf(r->codes[r->ncodes].code, sizeof r->codes[0].code, "%s", code);
        r->codes[r->ncodes++].n = 1;
        return;
    }
    /* The table is full: the last slot collects the rest. */
    lq_load_code_count *last = &r->codes[LQ_LOAD_REPORT_CODES - 1];
    if (r->ncodes == LQ_LOAD_REPORT_CODES - 1) {
        snprintf(last->code, sizeof last->code, "OTHER");
        last->n = 0;
        r->ncodes = LQ_LOAD_REPORT_CODES;
    }
    last->n++;
}

uint64_t lq_load_report_code(const lq_load_report *r, const char *code)
{
    for (int i = 0; i < r->ncodes; i++)
        if (strcmp(r->codes[i].code, code) == 0)
            return r->codes[i].n;
    return 0;
}

void lq_load_report_failure(lq_load_report *r, const char *fmt, ...)
{
    r->failures_total++;
    if (r->nfailures >= LQ_LOAD_REPORT_FAILURES)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->failures[r->nfailures], sizeof r->failures[0], fmt, ap);
    va_end(ap);
    r->nfailures++;
}

double lq_load_report_throughput(const lq_load_report *r)
{
    return r->streaming_s > 0 ? (double)r->processed / r->streaming_s : 0.0;
}

static double ms(uint64_t us)
{
    return (double)us / 1000.0;
}

static double round2(double v)
{
    return round(v * 100.0) / 100.0;
}

static void print_hist(FILE *f, const char *name, const lq_client_hist *h)
{
    if (h->count == 0) {
        fprintf(f, "  %-22s (no samples)\n", name);
        return;
    }
    fprintf(f, "  %-22s %8.2f %8.2f %8.2f %8.2f %8.2f %8.2f %8llu\n", name, ms(h->min),
            lq_client_hist_mean(h) / 1000.0, ms(lq_client_hist_percentile(h, 50)),
            ms(lq_client_hist_percentile(h, 95)), ms(lq_client_hist_percentile(h, 99)), ms(h->max),
            (unsigned long long)h->count);
}

/* A text bar chart of the latency distribution in 12 log-spaced bins. */
static void print_bars(FILE *f, const lq_client_hist *h)
{
    if (h->count < 2 || h->max <= h->min)
        return;
    const double lo = log((double)(h->min > 0 ? h->min : 1));
    const double hi = log((double)h->max + 1);
    enum { BINS = 12, WIDTH = 40 };
    uint64_t bin[BINS] = {0}, top = 0;
    for (unsigned i = 0; i < LQ_CLIENT_HIST_BUCKETS; i++) {
        if (!h->bucket[i])
            continue;
        double v =
            (double)lq_client_hist_bucket_low(i) + (double)lq_client_hist_bucket_width(i) / 2;
        int b = (int)((log(v > 1 ? v : 1) - lo) / (hi - lo) * BINS);
        b = b < 0 ? 0 : b >= BINS ? BINS - 1 : b;
        bin[b] += h->bucket[i];
    }
    for (int b = 0; b < BINS; b++)
        if (bin[b] > top)
            top = bin[b];
    for (int b = 0; b < BINS; b++) {
        const double from = exp(lo + (hi - lo) * b / BINS) / 1000.0;
        const double to = exp(lo + (hi - lo) * (b + 1) / BINS) / 1000.0;
        int w = top ? (int)((double)bin[b] * WIDTH / (double)top + 0.5) : 0;
        if (bin[b] && w == 0)
            w = 1;
        fprintf(f, "  %8.2f - %8.2f ms %7llu |%.*s\n", from, to, (unsigned long long)bin[b], w,
                "########################################");
    }
}

void lq_load_report_print(const lq_load_report *r, FILE *f)
{
    fprintf(f, "\n%s  %d session%s x %.4g fps x %.4g s, encoding %s\n", r->url, r->sessions,
            r->sessions == 1 ? "" : "s", r->fps, r->seconds, r->encoding);
    fprintf(f, "sessions   ready %d, failed %d (slowest session_ready %.1f ms)\n",
            r->sessions_ready, r->sessions_failed, r->ready_ms_max);
    fprintf(f, "frames     slots %llu, sent %llu, replies %llu, processed %llu\n",
            (unsigned long long)r->slots, (unsigned long long)r->sent,
            (unsigned long long)r->replies, (unsigned long long)r->processed);
    fprintf(f, "drops      client %llu, server %llu (PROCESSING_TIMEOUT), unanswered %llu\n",
            (unsigned long long)r->client_drops, (unsigned long long)r->server_drops,
            (unsigned long long)r->unanswered);
    fprintf(f, "errors     %llu", (unsigned long long)r->errors);
    for (int i = 0; i < r->ncodes; i++)
        fprintf(f, "%s%s %llu", i ? ", " : " (", r->codes[i].code,
                (unsigned long long)r->codes[i].n);
    fprintf(f, "%s\n", r->ncodes ? ")" : "");
    fprintf(f, "checks     %llu images checked, %llu failed; %llu saved, %llu not saved\n",
            (unsigned long long)r->checked, (unsigned long long)r->check_failed,
            (unsigned long long)r->saved, (unsigned long long)r->save_failed);
    fprintf(f,
            "throughput %.2f frames/s (%.2f per session) over %.2f s; sent %.2f Mbit/s, "
            "received %.2f Mbit/s\n",
            lq_load_report_throughput(r),
            r->sessions_ready ? lq_load_report_throughput(r) / r->sessions_ready : 0.0,
            r->streaming_s,
            r->streaming_s > 0 ? (double)r->bytes_sent * 8e-6 / r->streaming_s : 0.0,
            r->streaming_s > 0 ? (double)r->bytes_received * 8e-6 / r->streaming_s : 0.0);
    fprintf(f, "\n  %-22s %8s %8s %8s %8s %8s %8s %8s\n", "ms", "min", "mean", "p50", "p95", "p99",
            "max", "n");
    print_hist(f, "end-to-end latency", &r->latency_us);
    print_hist(f, "server processing", &r->server_us);
    fprintf(f, "\n  server stages (mean ms):");
    for (int s = 0; s < LQ_STAGE_COUNT; s++)
        if (r->stage_n[s])
            fprintf(f, " %s %.2f", lq_client_stage_name(s),
                    r->stage_ms_sum[s] / (double)r->stage_n[s]);
    fprintf(f, "\n\n  end-to-end latency distribution:\n");
    print_bars(f, &r->latency_us);
    if (r->srv_stats_sessions)
        fprintf(f,
                "\nservice stats (%d sessions): received %lld, processed %lld, dropped %lld, "
                "with errors %lld\n",
                r->srv_stats_sessions, (long long)r->srv_frames_received,
                (long long)r->srv_frames_processed, (long long)r->srv_frames_dropped,
                (long long)r->srv_frames_with_errors);
    for (int i = 0; i < r->nfailures; i++)
        fprintf(f, "failure: %s\n", r->failures[i]);
    if (r->failures_total > (uint64_t)r->nfailures)
        fprintf(f, "... and %llu more failures\n",
                (unsigned long long)(r->failures_total - (uint64_t)r->nfailures));
}

static cJSON *hist_json(const lq_client_hist *h)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", (double)h->count);
    if (h->count) {
        cJSON_AddNumberToObject(o, "min", round2(ms(h->min)));
        cJSON_AddNumberToObject(o, "mean", round2(lq_client_hist_mean(h) / 1000.0));
        cJSON_AddNumberToObject(o, "p50", round2(ms(lq_client_hist_percentile(h, 50))));
        cJSON_AddNumberToObject(o, "p90", round2(ms(lq_client_hist_percentile(h, 90))));
        cJSON_AddNumberToObject(o, "p95", round2(ms(lq_client_hist_percentile(h, 95))));
        cJSON_AddNumberToObject(o, "p99", round2(ms(lq_client_hist_percentile(h, 99))));
        cJSON_AddNumberToObject(o, "max", round2(ms(h->max)));
    }
    return o;
}

char *lq_load_report_json(const lq_load_report *r)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "url", r->url);
    cJSON_AddStringToObject(root, "encoding", r->encoding);
    cJSON_AddNumberToObject(root, "sessions", r->sessions);
    cJSON_AddNumberToObject(root, "sessions_ready", r->sessions_ready);
    cJSON_AddNumberToObject(root, "sessions_failed", r->sessions_failed);
    cJSON_AddNumberToObject(root, "fps", r->fps);
    cJSON_AddNumberToObject(root, "seconds", r->seconds);
    cJSON_AddNumberToObject(root, "warmup_s", r->warmup_s);
    cJSON_AddNumberToObject(root, "streaming_s", round2(r->streaming_s));
    cJSON_AddNumberToObject(root, "elapsed_s", round2(r->elapsed_s));
    cJSON_AddNumberToObject(root, "ready_ms_max", round2(r->ready_ms_max));

    cJSON *fr = cJSON_AddObjectToObject(root, "frames");
    cJSON_AddNumberToObject(fr, "slots", (double)r->slots);
    cJSON_AddNumberToObject(fr, "sent", (double)r->sent);
    cJSON_AddNumberToObject(fr, "replies", (double)r->replies);
    cJSON_AddNumberToObject(fr, "received", (double)r->processed);
    cJSON_AddNumberToObject(fr, "errors", (double)r->errors);
    cJSON_AddNumberToObject(fr, "unanswered", (double)r->unanswered);
    cJSON_AddNumberToObject(fr, "checked", (double)r->checked);
    cJSON_AddNumberToObject(fr, "check_failed", (double)r->check_failed);
    cJSON_AddNumberToObject(fr, "saved", (double)r->saved);
    cJSON_AddNumberToObject(fr, "save_failed", (double)r->save_failed);

    cJSON *dr = cJSON_AddObjectToObject(root, "drops");
    cJSON_AddNumberToObject(dr, "client", (double)r->client_drops);
    cJSON_AddNumberToObject(dr, "server", (double)r->server_drops);
    cJSON_AddNumberToObject(dr, "total", (double)(r->client_drops + r->server_drops));

    cJSON *codes = cJSON_AddObjectToObject(root, "errors_by_code");
    for (int i = 0; i < r->ncodes; i++)
        cJSON_AddNumberToObject(codes, r->codes[i].code, (double)r->codes[i].n);

    cJSON_AddItemToObject(root, "latency_ms", hist_json(&r->latency_us));
    cJSON_AddItemToObject(root, "server_processing_ms", hist_json(&r->server_us));
    cJSON *st = cJSON_AddObjectToObject(root, "server_stages_ms");
    for (int s = 0; s < LQ_STAGE_COUNT; s++)
        if (r->stage_n[s])
            cJSON_AddNumberToObject(st, lq_client_stage_name(s),
                                    round2(r->stage_ms_sum[s] / (double)r->stage_n[s]));

    cJSON *tp = cJSON_AddObjectToObject(root, "throughput");
    const double fps = lq_load_report_throughput(r);
    cJSON_AddNumberToObject(tp, "fps", round2(fps));
    cJSON_AddNumberToObject(tp, "fps_per_session",
                            round2(r->sessions_ready ? fps / r->sessions_ready : 0));
    cJSON_AddNumberToObject(tp, "bytes_sent", (double)r->bytes_sent);
    cJSON_AddNumberToObject(tp, "bytes_received", (double)r->bytes_received);

    if (r->srv_stats_sessions) {
        cJSON *ss = cJSON_AddObjectToObject(root, "service_stats");
        cJSON_AddNumberToObject(ss, "sessions", r->srv_stats_sessions);
        cJSON_AddNumberToObject(ss, "frames_received", (double)r->srv_frames_received);
        cJSON_AddNumberToObject(ss, "frames_processed", (double)r->srv_frames_processed);
        cJSON_AddNumberToObject(ss, "frames_dropped", (double)r->srv_frames_dropped);
        cJSON_AddNumberToObject(ss, "frames_with_errors", (double)r->srv_frames_with_errors);
    }
    cJSON *fl = cJSON_AddArrayToObject(root, "failures");
    for (int i = 0; i < r->nfailures; i++)
        cJSON_AddItemToArray(fl, cJSON_CreateString(r->failures[i]));
    cJSON_AddNumberToObject(root, "failures_total", (double)r->failures_total);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    return s;
}
