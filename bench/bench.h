/*
 * bench.h - the benchmark table of lacquer-bench and helpers shared by benchmarks.
 *
 * Each benchmark lives in bench/bench_<name>.c and exports
 *   int lq_bench_<name>(const lq_bench_ctx *ctx);
 * which prints a human-readable table on stdout, writes
 * <ctx->out_dir>/<name>.json, and returns 0 (or a negative LQ_E* code).
 * Register it in the table in bench/main.c.
 */
#ifndef LQ_BENCH_BENCH_H
#define LQ_BENCH_BENCH_H

#include <stddef.h>

typedef struct lq_bench_ctx {
    const char *out_dir;      /* where <name>.json goes (created if missing) */
    const char *models_dir;   /* the .tflite models */
    const char *data_dir;     /* ../shared/data */
    int quick;                /* fewer iterations (smoke test) */
} lq_bench_ctx;

typedef int (*lq_bench_fn)(const lq_bench_ctx *ctx);

typedef struct lq_bench_def {
    const char *name;
    const char *summary;
    lq_bench_fn fn;
} lq_bench_def;

/* Benchmarks (declared here, defined in bench_<name>.c). */
int lq_bench_hands(const lq_bench_ctx *ctx);
int lq_bench_nails(const lq_bench_ctx *ctx);
int lq_bench_service(const lq_bench_ctx *ctx);

/* Latency statistics of n samples (ms); sorts the array in place. */
typedef struct lq_bench_stats {
    double median, p90, min, mean;
    int n;
    double p99, max;
} lq_bench_stats;
lq_bench_stats lq_bench_summarize(double *ms, int n);

/* Writes text to <out_dir>/<name> (creating out_dir); returns 0 or -1. */
int lq_bench_write(const lq_bench_ctx *ctx, const char *name, const char *text);

/* CPU time of the calling thread in ms (CLOCK_THREAD_CPUTIME_ID): for
 * single-threaded work it matches wall time on an idle machine and stays
 * meaningful on a busy one. */
double lq_bench_thread_cpu_ms(void);

/* Peak resident set size of the process so far, in MiB (getrusage). */
double lq_bench_peak_rss_mb(void);

#endif
