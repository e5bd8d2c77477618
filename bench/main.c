/* main.c - `lacquer-bench [--out DIR] [--models DIR] [--data DIR] [--quick] [NAME...]`. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "base/error.h"
#include "bench.h"

static const lq_bench_def benches[] = {
    {"hands", "palm + landmark models, hand pipeline per frame, load time, RSS", lq_bench_hands},
    {"nails", "nail geometry + refinement + painting per 640x480 frame, mask IoU", lq_bench_nails},
    {"service", "lacquer serve under 25 fps camera load: latency, sessions held, RSS, floors",
     lq_bench_service},
};

#define N_BENCHES (sizeof benches / sizeof benches[0])

static int cmp_double(const void *a, const void *b)
{
    const double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

lq_bench_stats lq_bench_summarize(double *ms, int n)
{
    lq_bench_stats s = {0};
    if (n <= 0)
        return s;
    qsort(ms, (size_t)n, sizeof *ms, cmp_double);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += ms[i];
    s.n = n;
    s.min = ms[0];
    s.median = n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
    s.p90 = ms[(int)((n - 1) * 0.9 + 0.5)];
    s.p99 = ms[(int)((n - 1) * 0.99 + 0.5)];
    s.max = ms[n - 1];
    s.mean = sum / n;
    return s;
}

int lq_bench_write(const lq_bench_ctx *ctx, const char *name, const char *text)
{
    char path[4096];
    if (mkdir(ctx->out_dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "lacquer-bench: cannot create %s: %s\n", ctx->out_dir, strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/%s", ctx->out_dir, name);
    FILE *f = fopen(path, "w");
    if (!f) {
        fprintf(stderr, "lacquer-bench: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    const int ok = fputs(text, f) >= 0;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

double lq_bench_thread_cpu_ms(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts) != 0)
        return 0;
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

double lq_bench_peak_rss_mb(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0)
        return 0;
    return (double)ru.ru_maxrss / 1024.0; /* ru_maxrss is in KiB on Linux */
}

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lacquer-bench [--out DIR] [--models DIR] [--data DIR] [--quick] [NAME...]\n\n"
            "Runs the named benchmarks (all by default); each prints a table and writes\n"
            "DIR/NAME.json (DIR defaults to bench/results).\n\nbenchmarks:\n");
    for (size_t i = 0; i < N_BENCHES; i++)
        fprintf(f, "  %-10s %s\n", benches[i].name, benches[i].summary);
}

int main(int argc, char **argv)
{
    lq_bench_ctx ctx = {"bench/results", LQ_BENCH_MODELS, LQ_BENCH_DATA, 0};
    const char *env = getenv("LQ_MODELS_DIR");
    if (env && *env)
        ctx.models_dir = env;
    const char *names[64];
    int nnames = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--quick") == 0) {
            ctx.quick = 1;
        } else if ((strcmp(a, "--out") == 0 || strcmp(a, "--models") == 0 ||
                    strcmp(a, "--data") == 0) &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            if (a[2] == 'o')
                ctx.out_dir = v;
            else if (a[2] == 'm')
                ctx.models_dir = v;
            else
                ctx.data_dir = v;
        } else if (a[0] == '-') {
            fprintf(stderr, "lacquer-bench: unknown or incomplete option %s\n\n", a);
            usage(stderr);
            return 2;
        } else if (nnames < (int)(sizeof names / sizeof names[0])) {
            names[nnames++] = a;
        }
    }
    for (int k = 0; k < nnames; k++) {
        size_t i = 0;
        while (i < N_BENCHES && strcmp(names[k], benches[i].name) != 0)
            i++;
        if (i == N_BENCHES) {
            fprintf(stderr, "lacquer-bench: no benchmark named '%s'\n\n", names[k]);
            usage(stderr);
            return 2;
        }
    }
    int failed = 0;
    for (size_t i = 0; i < N_BENCHES; i++) {
        int wanted = nnames == 0;
        for (int k = 0; k < nnames; k++)
            wanted |= strcmp(names[k], benches[i].name) == 0;
        if (!wanted)
            continue;
        printf("== %s ==\n", benches[i].name);
        fflush(stdout);
        const int rc = benches[i].fn(&ctx);
        if (rc < 0) {
            fprintf(stderr, "lacquer-bench: %s failed: %s\n", benches[i].name, lq_strerror(rc));
            failed++;
        }
    }
    return failed ? 1 : 0;
}
