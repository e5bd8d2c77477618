/*
 * bench_models.c - single-thread latency of the four MediaPipe models on
 * XNNPACK: model load, net build (validation + fp16 -> fp32), runner build
 * (XNNPACK subgraph + runtime, weight packing), and xg_runner_invoke
 * (median / p90 / min of N runs after warm-up).
 *
 *   bench_models [models_dir] [runs]     (defaults: models, 50)
 *
 * Prints a table and one JSON object per model on lines starting "{".
 * The input is a fixed pseudo-random image in [0,1]; latency does not
 * depend on the values.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "model/tflite.h"
#include "model/xgraph.h"

#define MAX_RUNS 10000
#define WARMUP 10

/* CPU time of the calling thread: unlike wall time it does not count the
 * time the thread waited for a core on a busy machine. */
static double thread_cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static int bench(const char *dir, const char *name, int runs)
{
    char path[2048], err[256];
    snprintf(path, sizeof path, "%s/%s.tflite", dir, name);
    tfl_model *m = NULL;
    xg_net *net = NULL;
    xg_runner *r = NULL;
    double t0 = lq_clock_ms();
    if (tfl_model_load_file(path, &m, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    double t1 = lq_clock_ms();
    if (xg_net_create(m, &net, err, sizeof err) < 0) {
        fprintf(stderr, "%s\n", err);
        tfl_model_destroy(m);
        return 1;
    }
    double t2 = lq_clock_ms();
    if (xg_runner_create(net, 1, &r) < 0) {
        fprintf(stderr, "%s: runner creation failed\n", name);
        xg_net_destroy(net);
        tfl_model_destroy(m);
        return 1;
    }
    double t3 = lq_clock_ms();
    float *in = xg_runner_input(r, 0);
    uint32_t s = 12345;
    for (size_t i = 0; i < xg_net_input_size(net, 0); i++) {
        s = s * 1664525u + 1013904223u;
        in[i] = (float)(s >> 8) / 16777216.0f;
    }
    double *t = malloc((size_t)runs * sizeof *t), *cpu = malloc((size_t)runs * sizeof *cpu);
    int rc = 0;
    for (int i = 0; i < WARMUP && rc == 0; i++)
        rc = xg_runner_invoke(r);
    for (int i = 0; i < runs && rc == 0; i++) {
        double a = lq_clock_ms(), c = thread_cpu_ms();
        rc = xg_runner_invoke(r);
        cpu[i] = thread_cpu_ms() - c;
        t[i] = lq_clock_ms() - a;
    }
    if (rc == 0) {
        double med = median(t, runs), cmed = median(cpu, runs);
        double p90 = t[(int)(0.9 * (runs - 1))];
        printf("%-20s load %5.1f ms  net %5.1f ms  runner %5.1f ms  invoke median %6.2f ms  "
               "p90 %6.2f  min %6.2f  cpu median %6.2f  (%d runs)\n",
               name, t1 - t0, t2 - t1, t3 - t2, med, p90, t[0], cmed, runs);
        printf("{\"model\":\"%s\",\"threads\":1,\"runs\":%d,\"load_ms\":%.2f,\"net_ms\":%.2f,"
               "\"runner_ms\":%.2f,\"invoke_median_ms\":%.3f,\"invoke_p90_ms\":%.3f,"
               "\"invoke_min_ms\":%.3f,\"invoke_cpu_median_ms\":%.3f}\n",
               name, runs, t1 - t0, t2 - t1, t3 - t2, med, p90, t[0], cmed);
    }
    free(t);
    free(cpu);
    xg_runner_destroy(r);
    xg_net_destroy(net);
    tfl_model_destroy(m);
    return rc < 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "models";
    int runs = argc > 2 ? atoi(argv[2]) : 50;
    if (runs < 1 || runs > MAX_RUNS) {
        fprintf(stderr, "runs must be 1..%d\n", MAX_RUNS);
        return 2;
    }
    lq_log_set_level(LQ_LOG_WARN);
    if (xg_init() < 0)
        return 1;
    static const char *const names[] = {"palm_detection_full", "palm_detection_lite",
                                        "hand_landmark_full", "hand_landmark_lite"};
    int fails = 0;
    for (int i = 0; i < 4; i++)
        fails += bench(dir, names[i], runs);
    return fails ? 1 : 0;
}
