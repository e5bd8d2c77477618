/*
 * bench_service.c - the try-on service under camera-like load, over loopback.
 *
 * Starts the real `lacquer serve` (the binary next to lacquer-bench, or
 * $LACQUER_BIN) on a free loopback port with its default settings, and
 * drives it in-process with the load generator of src/client/ (the code of
 * `lacquer stream`), replaying ../shared/data/video frames at 25 fps per
 * session, encoding 1 (text header + binary image, what the guide's client
 * sends), the default design, quality balanced (full models):
 *
 *   (a) one session per video (palm_reach first: a tracked hand in every
 *       frame): end-to-end latency p50/p95/p99/max from the first byte sent
 *       to the complete reply, and the service's own processing time;
 *   (a') the same palm_reach frames over HTTP/2 instead (POST
 *       /api/tryon/sessions/{id}/frames on H2C_PORT, bench/http2load.c), one
 *       session and TARGET_SESSIONS sessions, beside the WebSocket row;
 *   (b) a ramp of sessions (1, 2, 3, 4, 5, 6, 8, ...) all replaying
 *       palm_reach, until a step drops frames: the most sessions the machine
 *       holds at 25 fps with no drop (client or service) and no failure, with
 *       throughput, drops, the service's CPU use and RSS (VmHWM/VmRSS from
 *       /proc/PID/status);
 *   (c) before the service starts (so nothing competes), the stage floors in
 *       this process on the same palm_reach frames: lq_image_decode, the
 *       try-on (lq_tryon_process: hands, nails, quality checks, paint) and
 *       lq_image_encode with the service's default encoder settings (WebP,
 *       quality 75, effort ws_quality_effort(balanced)). p50 end-to-end minus
 *       the p50 of the floors' sum is the service's own overhead.
 *
 * A warm-up run (2 sessions, 2 s, not reported) precedes the measurements;
 * each measured run also leaves its first second out of the latency figures.
 * The load generator shares the machine's two cores with the service: its
 * own CPU time is reported too, as is the load average before the run.
 * Writes <out>/service.json.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "bench.h"
#include "client/frames.h"
#include "client/loadgen.h"
#include "http2load.h"
#include "image/codec.h"
#include "nails/design.h"
#include "service/protocol.h"
#include "tryon/tryon.h"

#define FPS 25.0
#define TARGET_P50_MS 18.0
#define TARGET_P99_MS 30.0
#define TARGET_SESSIONS 4
#define OUTPUT_QUALITY 75 /* the service's default output_quality */

static const int RAMP[] = {1, 2, 3, 4, 5, 6, 8, 10, 12, 16};
#define N_RAMP (int)(sizeof RAMP / sizeof RAMP[0])
static const char *const VIDEOS[] = {"palm_reach", "thumb_ok", "asl_hand"};
#define N_VIDEOS (int)(sizeof VIDEOS / sizeof VIDEOS[0])

/* ------------------------------------------------------------------ */
/* the service process                                                 */

typedef struct server_proc {
    pid_t pid;
    int port;
    int h2c_port; /* H2C_PORT: the HTTP/2 rows (http2load.c) */
    char log[256];
} server_proc;

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int port = -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) == 0 &&
        getsockname(fd, (struct sockaddr *)&a, &len) == 0)
        port = ntohs(a.sin_port);
    close(fd);
    return port;
}

/* 1 if GET /health answers 200. */
static int health_ok(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return 0;
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    struct timeval tv = {1, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int ok = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof a) == 0) {
        static const char req[] =
            "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        char buf[64] = "";
        if (write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1) &&
            read(fd, buf, sizeof buf - 1) > 12)
            ok = strncmp(buf + 9, "200", 3) == 0;
    }
    close(fd);
    return ok;
}

static void lacquer_path(char *out, size_t cap)
{
    const char *env = getenv("LACQUER_BIN");
    if (env && *env) {
        snprintf(out, cap, "%s", env);
        return;
    }
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = 0;
    char *slash = strrchr(self, '/');
    if (slash)
        *slash = 0;
    snprintf(out, cap, "%s/lacquer", n > 0 ? self : ".");
}

/* inference_threads: INFERENCE_THREADS for the service, NULL = its default. */
static int server_start(const lq_bench_ctx *ctx, server_proc *sp, const char *inference_threads)
{
    char bin[4200];
    lacquer_path(bin, sizeof bin);
    if (access(bin, X_OK) != 0) {
        fprintf(stderr, "bench service: no lacquer binary at %s (set LACQUER_BIN)\n", bin);
        return -1;
    }
    sp->port = free_port();
    do
        sp->h2c_port = free_port();
    while (sp->h2c_port == sp->port);
    snprintf(sp->log, sizeof sp->log, "/tmp/lacquer-bench-service-%ld.log", (long)getpid());
    char port[16], h2c[16];
    snprintf(port, sizeof port, "%d", sp->port);
    snprintf(h2c, sizeof h2c, "%d", sp->h2c_port);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(sp->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
            close(fd);
        }
        setenv("MODEL_PATH", ctx->models_dir, 1);
        /* the HTTP/2 rows open a connection per request from one address */
        setenv("CONN_RATE_PER_ADDR", "0", 1);
        setenv("MAX_CONNS_PER_ADDR", "0", 1);
        setenv("WS_HOST", "127.0.0.1", 1);
        setenv("WS_PORT", port, 1);
        setenv("H2C_PORT", h2c, 1);
        unsetenv("WORKERS");
        if (inference_threads)
            setenv("INFERENCE_THREADS", inference_threads, 1);
        else
            unsetenv("INFERENCE_THREADS");
        unsetenv("LOG_LEVEL");
        unsetenv("LOG_FILE");
        unsetenv("METRICS_PORT");
        execl(bin, bin, "serve", (char *)NULL);
        _exit(127);
    }
    sp->pid = pid;
    for (int i = 0; i < 600; i++) { /* 60 s */
        int st;
        if (waitpid(pid, &st, WNOHANG) == pid) {
            fprintf(stderr, "bench service: lacquer serve exited at start (see %s)\n", sp->log);
            sp->pid = 0;
            return -1;
        }
        if (health_ok(sp->port))
            return 0;
        usleep(100000);
    }
    fprintf(stderr, "bench service: lacquer serve did not become healthy (see %s)\n", sp->log);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    sp->pid = 0;
    return -1;
}

/* Graceful stop; returns the exit status (or -1). */
static int server_stop(server_proc *sp)
{
    if (sp->pid <= 0)
        return -1;
    kill(sp->pid, SIGTERM);
    int st = 0;
    for (int i = 0; i < 300; i++) {
        if (waitpid(sp->pid, &st, WNOHANG) == sp->pid) {
            sp->pid = 0;
            return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
        }
        usleep(100000);
    }
    kill(sp->pid, SIGKILL);
    waitpid(sp->pid, NULL, 0);
    sp->pid = 0;
    return -1;
}

/* VmHWM and VmRSS of pid in MiB. */
static void proc_rss(pid_t pid, double *hwm, double *rss)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    *hwm = *rss = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    while (fgets(line, sizeof line, f)) {
        long kb;
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            *hwm = kb / 1024.0;
        else if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            *rss = kb / 1024.0;
    }
    fclose(f);
}

/* utime + stime of pid in seconds. */
static double proc_cpu_s(pid_t pid)
{
    char path[64], buf[2048];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the command name may hold spaces */
    if (!p)
        return 0;
    unsigned long ut = 0, st = 0;
    /* fields after ')': state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime
     * stime */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
        return 0;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds the whole machine spent busy (all processes), from /proc/stat. */
static double machine_busy_s(void)
{
    FILE *f = fopen("/proc/stat", "r");
    if (!f)
        return 0;
    unsigned long long v[8] = {0};
    int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
                   &v[4], &v[5], &v[6], &v[7]);
    fclose(f);
    if (n < 5)
        return 0;
    const unsigned long long busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
    return (double)busy / (double)sysconf(_SC_CLK_TCK);
}

static double self_cpu_s(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------------ */
/* load runs                                                           */

typedef struct run_result {
    int sessions;
    int max_hands; /* 0: the service's default (2) */
    int low;       /* quality low (lite models, WebP method 0) instead of balanced */
    const char *video;
    lq_load_report rep;
    double srv_cores, client_cores;
    double other_cores; /* everything else on the machine: other users' work */
    double hwm_mb, rss_mb;
    int holds;
    int ok;
} run_result;

static int run_load(const server_proc *sp, const lq_client_frames *fr, const char *video,
                    int max_hands, int low, int sessions, double seconds, double warmup,
                    run_result *out)
{
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/tryon", sp->port);
    lq_load_opts o = LQ_LOAD_OPTS_DEFAULT;
    o.url = url;
    o.sessions = sessions;
    o.fps = FPS;
    o.seconds = seconds;
    o.warmup_s = warmup;
    o.encoding = LQ_LOAD_ENC_TEXT;
    o.check = LQ_LOAD_CHECK_HEADER; /* a full decode would take CPU from the service */
    o.session_prefix = "bench";
    o.max_hands = max_hands;
    o.quality = low ? "low" : NULL;
    const lq_client_frames *sets[] = {fr};
    lq_load *ld = NULL;
    char err[512];
    int rc = lq_load_create(&o, sets, 1, &ld, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "bench service: %s\n", err);
        return rc;
    }
    const double c0 = proc_cpu_s(sp->pid), s0 = self_cpu_s(), m0 = machine_busy_s();
    rc = lq_load_run(ld);
    const double c1 = proc_cpu_s(sp->pid), s1 = self_cpu_s(), m1 = machine_busy_s();
    memset(out, 0, sizeof *out);
    out->rep = *lq_load_get_report(ld);
    lq_load_destroy(ld);
    out->sessions = sessions;
    out->max_hands = max_hands;
    out->low = low;
    out->video = video;
    const double t = out->rep.elapsed_s > 0 ? out->rep.elapsed_s : 1;
    out->srv_cores = (c1 - c0) / t;
    out->client_cores = (s1 - s0) / t;
    out->other_cores = ((m1 - m0) - (c1 - c0) - (s1 - s0)) / t;
    if (out->other_cores < 0)
        out->other_cores = 0;
    proc_rss(sp->pid, &out->hwm_mb, &out->rss_mb);
    const lq_load_report *r = &out->rep;
    out->ok = rc == 0;
    out->holds = rc == 0 && r->sessions_failed == 0 && r->client_drops == 0 &&
                 r->server_drops == 0 && r->unanswered == 0 && r->check_failed == 0 &&
                 lq_load_report_throughput(r) >= 0.95 * FPS * sessions;
    return 0;
}

static double ms_pct(const lq_client_hist *h, double p)
{
    return (double)lq_client_hist_percentile(h, p) / 1000.0;
}

static cJSON *run_json(const run_result *rr)
{
    const lq_load_report *r = &rr->rep;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "sessions", rr->sessions);
    cJSON_AddStringToObject(o, "video", rr->video);
    cJSON_AddNumberToObject(o, "max_hands", rr->max_hands ? rr->max_hands : 2);
    cJSON_AddStringToObject(o, "quality", rr->low ? "low" : "balanced");
    cJSON_AddBoolToObject(o, "holds_25fps_without_drops", rr->holds);
    char *rep = lq_load_report_json(r);
    cJSON *rj = rep ? cJSON_Parse(rep) : NULL;
    free(rep);
    static const char *const keep[] = {
        "frames",           "drops",      "errors_by_code", "latency_ms",  "server_processing_ms",
        "server_stages_ms", "throughput", "service_stats",  "streaming_s", "failures"};
    for (size_t i = 0; rj && i < sizeof keep / sizeof keep[0]; i++) {
        cJSON *it = cJSON_DetachItemFromObject(rj, keep[i]);
        if (it)
            cJSON_AddItemToObject(o, keep[i], it);
    }
    cJSON_Delete(rj);
    cJSON_AddNumberToObject(o, "service_cpu_cores", round(rr->srv_cores * 100) / 100);
    cJSON_AddNumberToObject(o, "load_generator_cpu_cores", round(rr->client_cores * 100) / 100);
    cJSON_AddNumberToObject(o, "other_processes_cpu_cores", round(rr->other_cores * 100) / 100);
    cJSON_AddNumberToObject(o, "service_vmhwm_mb", round(rr->hwm_mb * 10) / 10);
    cJSON_AddNumberToObject(o, "service_vmrss_mb", round(rr->rss_mb * 10) / 10);
    return o;
}

static void print_run_row(const run_result *rr)
{
    const lq_load_report *r = &rr->rep;
    printf(
        "%-11s %2d%c %4d %7.1f %7.2f %7.2f %7.2f %7.2f %7.2f %6llu %6llu %6llu %6.2f %6.2f %7.1f "
        "%s\n",
        rr->video, rr->max_hands ? rr->max_hands : 2, rr->low ? 'L' : ' ', rr->sessions,
        lq_load_report_throughput(r), ms_pct(&r->latency_us, 50), ms_pct(&r->latency_us, 95),
        ms_pct(&r->latency_us, 99), (double)r->latency_us.max / 1000.0, ms_pct(&r->server_us, 50),
        (unsigned long long)r->client_drops, (unsigned long long)r->server_drops,
        (unsigned long long)r->errors, rr->srv_cores, rr->other_cores, rr->rss_mb,
        rr->holds ? "yes" : "NO");
}

static void print_run_header(void)
{
    printf("%-11s %3s %4s %7s %7s %7s %7s %7s %7s %6s %6s %6s %6s %6s %7s %s\n", "video", "mh",
           "sess", "fps", "p50", "p95", "p99", "max", "srv50", "cdrop", "sdrop", "errs", "cores",
           "other", "RSS MB", "holds");
}

/* ------------------------------------------------------------------ */
/* the HTTP/2 rows: the same frames as POST .../frames over h2c        */

static int run_http2(const server_proc *sp, const lq_client_frames *fr, int sessions,
                     double seconds, lq_h2load_report *out)
{
    lq_h2load_opts o = {.port = sp->h2c_port,
                        .sessions = sessions,
                        .fps = FPS,
                        .seconds = seconds,
                        .warmup_s = 1.0,
                        .session_prefix = "bench-h2"};
    char err[256];
    int rc = lq_h2load_run(&o, fr, out, err, sizeof err);
    if (rc < 0)
        fprintf(stderr, "bench service: %s\n", err);
    return rc;
}

static void print_http2_row(int sessions, const lq_h2load_report *r)
{
    printf("%-11s %2s %4d %7.1f %7.2f %7.2f %7.2f %7.2f %7.2f %6llu %6llu %6llu %s\n", "http2", "2",
           sessions, lq_h2load_throughput(r),
           (double)lq_client_hist_percentile(&r->latency_us, 50) / 1000.0,
           (double)lq_client_hist_percentile(&r->latency_us, 95) / 1000.0,
           (double)lq_client_hist_percentile(&r->latency_us, 99) / 1000.0,
           (double)r->latency_us.max / 1000.0,
           (double)lq_client_hist_percentile(&r->server_us, 50) / 1000.0,
           (unsigned long long)r->client_drops, (unsigned long long)r->dropped,
           (unsigned long long)(r->other_errors + r->unanswered), "(h2c POST /frames)");
}

static cJSON *http2_json(int sessions, const lq_h2load_report *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "sessions", sessions);
    cJSON_AddStringToObject(o, "video", VIDEOS[0]);
    cJSON_AddNumberToObject(o, "throughput_fps", round(lq_h2load_throughput(r) * 10) / 10);
    cJSON *l = cJSON_AddObjectToObject(o, "latency_ms");
    const double ps[] = {50, 95, 99};
    const char *names[] = {"p50", "p95", "p99"};
    for (int i = 0; i < 3; i++)
        cJSON_AddNumberToObject(
            l, names[i],
            round((double)lq_client_hist_percentile(&r->latency_us, ps[i]) / 10.0) / 100);
    cJSON_AddNumberToObject(l, "max", round((double)r->latency_us.max / 10.0) / 100);
    cJSON_AddNumberToObject(o, "server_processing_p50_ms",
                            round((double)lq_client_hist_percentile(&r->server_us, 50) / 10.0) /
                                100);
    cJSON_AddNumberToObject(o, "sent", (double)r->sent);
    cJSON_AddNumberToObject(o, "processed", (double)r->processed);
    cJSON_AddNumberToObject(o, "no_result", (double)r->no_result);
    cJSON_AddNumberToObject(o, "dropped_by_service", (double)r->dropped);
    cJSON_AddNumberToObject(o, "client_drops", (double)r->client_drops);
    cJSON_AddNumberToObject(o, "other_errors", (double)r->other_errors);
    cJSON_AddNumberToObject(o, "unanswered", (double)r->unanswered);
    cJSON_AddNumberToObject(o, "http2_connections", (double)r->connections);
    return o;
}

/* ------------------------------------------------------------------ */
/* (c) stage floors                                                    */

typedef struct floors {
    lq_bench_stats decode, tryon, hands, nails, paint, encode, sum;
    lq_bench_stats cpu_decode, cpu_tryon, cpu_encode, cpu_sum; /* thread CPU time */
    int frames;
    int palm_frames; /* frames on which the palm detector ran */
} floors;

static int measure_floors(const lq_bench_ctx *ctx, const lq_client_frames *fr, int max_hands,
                          floors *out)
{
    char err[256] = "";
    lq_tryon_engine_opts eo = {.models_dir = ctx->models_dir};
    lq_tryon_engine *eng = NULL;
    lq_tryon_worker *w = NULL;
    lq_tryon_session *s = NULL;
    int rc = lq_tryon_engine_create(&eo, &eng, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "bench service: %s\n", err);
        return rc;
    }
    nail_design d;
    nail_design_default(&d);
    lq_tryon_session_opts so = LQ_TRYON_SESSION_OPTS_DEFAULT;
    so.max_hands = max_hands;
    so.segmentation = 2; /* as the service runs it: NAIL_SEGMENTATION=untracked */
    rc = lq_tryon_worker_create(eng, &w);
    if (rc == 0)
        rc = lq_tryon_session_create(eng, &d, &so, &s);
    const int n = lq_client_frames_count(fr);
    const int warm = 5;
    const int total = (ctx->quick ? 40 : n) + warm;
    enum { NCOL = 11 };
    double *col[NCOL];
    for (int i = 0; i < NCOL; i++)
        col[i] = calloc((size_t)total, sizeof(double));
    lq_encoded enc = {0};
    const int effort = ws_quality_effort(WS_QUALITY_BALANCED);
    int m = 0;
    for (int k = 0; rc == 0 && k < total; k++) {
        const lq_client_frame *f = lq_client_frames_at(fr, k);
        lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
        lq_image img = {0};
        const double cpu0 = lq_bench_thread_cpu_ms();
        const uint64_t t0 = lq_clock_ns();
        rc = lq_image_decode(f->data, f->len, &lim, &img, err, sizeof err);
        if (rc < 0)
            break;
        const uint64_t t1 = lq_clock_ns();
        const double cpu_a = lq_bench_thread_cpu_ms();
        lq_tryon_result res;
        rc = lq_tryon_process(w, s, &img, (int64_t)k * 40000, &res);
        const uint64_t t2 = lq_clock_ns();
        const double cpu_b = lq_bench_thread_cpu_ms();
        if (rc == 0)
            rc = lq_image_encode(&img, LQ_FMT_WEBP, OUTPUT_QUALITY, effort, &enc);
        const uint64_t t3 = lq_clock_ns();
        const double cpu1 = lq_bench_thread_cpu_ms();
        lq_image_free(&img);
        if (k < warm)
            continue;
        col[0][m] = (double)(t1 - t0) / 1e6;
        col[1][m] = (double)(t2 - t1) / 1e6;
        col[2][m] = res.t.hands_ms;
        col[3][m] = res.t.nails_ms + res.t.quality_ms;
        col[4][m] = res.t.paint_ms;
        col[5][m] = (double)(t3 - t2) / 1e6;
        col[6][m] = (double)(t3 - t0) / 1e6;
        col[7][m] = cpu1 - cpu0;
        out->palm_frames += res.t.palm_ms > 0;
        col[8][m] = cpu_a - cpu0;
        col[9][m] = cpu_b - cpu_a;
        col[10][m] = cpu1 - cpu_b;
        m++;
    }
    if (rc == 0) {
        out->decode = lq_bench_summarize(col[0], m);
        out->tryon = lq_bench_summarize(col[1], m);
        out->hands = lq_bench_summarize(col[2], m);
        out->nails = lq_bench_summarize(col[3], m);
        out->paint = lq_bench_summarize(col[4], m);
        out->encode = lq_bench_summarize(col[5], m);
        out->sum = lq_bench_summarize(col[6], m);
        out->cpu_sum = lq_bench_summarize(col[7], m);
        out->cpu_decode = lq_bench_summarize(col[8], m);
        out->cpu_tryon = lq_bench_summarize(col[9], m);
        out->cpu_encode = lq_bench_summarize(col[10], m);
        out->frames = m;
    } else {
        fprintf(stderr, "bench service: floors: %s %s\n", lq_strerror(rc), err);
    }
    for (int i = 0; i < NCOL; i++)
        free(col[i]);
    lq_encoded_free(&enc);
    lq_tryon_session_destroy(s);
    lq_tryon_worker_destroy(w);
    lq_tryon_engine_destroy(eng);
    return rc;
}

static cJSON *stats_json(const lq_bench_stats *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "p50", round(s->median * 100) / 100);
    cJSON_AddNumberToObject(o, "p90", round(s->p90 * 100) / 100);
    cJSON_AddNumberToObject(o, "mean", round(s->mean * 100) / 100);
    return o;
}

/* ------------------------------------------------------------------ */

static void print_floors(const char *title, const floors *fl)
{
    printf("%s\n  (palm detector ran on %d of %d frames)\n  %-30s %7s %7s %7s\n", title,
           fl->palm_frames, fl->frames, "stage", "p50", "p90", "mean");
    const struct {
        const char *name;
        const lq_bench_stats *s;
    } rows[] = {
        {"decode (WebP 640x480)", &fl->decode},
        {"try-on total", &fl->tryon},
        {"  hands (palm + landmarks)", &fl->hands},
        {"  nails + quality checks", &fl->nails},
        {"  paint", &fl->paint},
        {"encode (WebP q75 balanced)", &fl->encode},
        {"sum (wall)", &fl->sum},
        {"thread CPU: decode", &fl->cpu_decode},
        {"thread CPU: try-on", &fl->cpu_tryon},
        {"thread CPU: encode", &fl->cpu_encode},
        {"thread CPU: sum", &fl->cpu_sum},
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
        printf("  %-30s %7.2f %7.2f %7.2f\n", rows[i].name, rows[i].s->median, rows[i].s->p90,
               rows[i].s->mean);
    fflush(stdout);
}

static cJSON *floors_json(const floors *fl)
{
    cJSON *f = cJSON_CreateObject();
    cJSON_AddNumberToObject(f, "frames", fl->frames);
    cJSON_AddNumberToObject(f, "palm_detector_frames", fl->palm_frames);
    cJSON_AddItemToObject(f, "decode", stats_json(&fl->decode));
    cJSON_AddItemToObject(f, "tryon", stats_json(&fl->tryon));
    cJSON_AddItemToObject(f, "hands", stats_json(&fl->hands));
    cJSON_AddItemToObject(f, "nails_and_quality", stats_json(&fl->nails));
    cJSON_AddItemToObject(f, "paint", stats_json(&fl->paint));
    cJSON_AddItemToObject(f, "encode", stats_json(&fl->encode));
    cJSON_AddItemToObject(f, "sum", stats_json(&fl->sum));
    cJSON_AddItemToObject(f, "decode_thread_cpu", stats_json(&fl->cpu_decode));
    cJSON_AddItemToObject(f, "tryon_thread_cpu", stats_json(&fl->cpu_tryon));
    cJSON_AddItemToObject(f, "encode_thread_cpu", stats_json(&fl->cpu_encode));
    cJSON_AddItemToObject(f, "sum_thread_cpu", stats_json(&fl->cpu_sum));
    /* A session's frames run one at a time; sessions share the cores. With
     * no overhead at all, the cores could hold cores * period / CPU per frame. */
    const double ncpu = (double)sysconf(_SC_NPROCESSORS_ONLN);
    cJSON_AddNumberToObject(
        f, "sessions_the_cores_could_hold_at_25fps",
        fl->cpu_sum.median > 0 ? floor(ncpu * (1000.0 / FPS) / fl->cpu_sum.median * 10) / 10 : 0);
    return f;
}

/* Ramps the sessions up until the service saturates (it processes less than
 * 90% of the frames offered, or a step fails outright); returns the most
 * sessions that ran with no drop at all. Steps past the first one that drops
 * are kept: on a shared machine one step can drop a frame to someone else's
 * burst of work while the next holds. */
static int run_ramp(const server_proc *sp, const lq_client_frames *fr, int max_hands, int low,
                    double seconds, run_result *steps, int *nsteps, int *rc)
{
    int held = 0;
    *nsteps = 0;
    print_run_header();
    for (int i = 0; i < N_RAMP && *rc == 0; i++) {
        *rc = run_load(sp, fr, VIDEOS[0], max_hands, low, RAMP[i], seconds, 1.0, &steps[i]);
        if (*rc < 0)
            break;
        (*nsteps)++;
        print_run_row(&steps[i]);
        fflush(stdout);
        if (steps[i].holds)
            held = RAMP[i];
        const double offered = FPS * RAMP[i];
        if (!steps[i].ok || lq_load_report_throughput(&steps[i].rep) < 0.9 * offered)
            break;
    }
    return held;
}

static cJSON *summary_json(const char *name, const run_result *one, const floors *fl, int held)
{
    const lq_load_report *r = &one->rep;
    const double p50 = ms_pct(&r->latency_us, 50), p99 = ms_pct(&r->latency_us, 99);
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "config", name);
    cJSON_AddNumberToObject(s, "single_p50_ms", round(p50 * 100) / 100);
    cJSON_AddNumberToObject(s, "single_p95_ms", round(ms_pct(&r->latency_us, 95) * 100) / 100);
    cJSON_AddNumberToObject(s, "single_p99_ms", round(p99 * 100) / 100);
    cJSON_AddNumberToObject(s, "single_server_p50_ms",
                            round(ms_pct(&r->server_us, 50) * 100) / 100);
    cJSON_AddNumberToObject(s, "floors_sum_p50_ms", round(fl->sum.median * 100) / 100);
    cJSON_AddNumberToObject(s, "service_overhead_p50_ms",
                            round((p50 - fl->sum.median) * 100) / 100);
    /* Where the overhead is: outside the service (sockets, lws, the client)
     * and inside it (queue wait, JSON, hand-off between threads). */
    cJSON_AddNumberToObject(s, "e2e_minus_server_p50_ms",
                            round((p50 - ms_pct(&r->server_us, 50)) * 100) / 100);
    cJSON_AddNumberToObject(s, "server_minus_floors_p50_ms",
                            round((ms_pct(&r->server_us, 50) - fl->sum.median) * 100) / 100);
    cJSON_AddNumberToObject(s, "floors_thread_cpu_p50_ms", round(fl->cpu_sum.median * 100) / 100);
    cJSON_AddNumberToObject(s, "max_sessions_without_drops", held);
    cJSON *t = cJSON_AddObjectToObject(s, "targets_met");
    cJSON_AddBoolToObject(t, "p50_le_18ms", p50 <= TARGET_P50_MS);
    cJSON_AddBoolToObject(t, "p99_le_30ms", p99 <= TARGET_P99_MS);
    cJSON_AddBoolToObject(t, "ge_4_sessions", held >= TARGET_SESSIONS);
    printf("%-28s p50 %6.2f ms (<= %.0f: %s)  p99 %6.2f ms (<= %.0f: %s)  sessions held %d (>= %d: "
           "%s)\n",
           name, p50, TARGET_P50_MS, p50 <= TARGET_P50_MS ? "ok" : "MISSED", p99, TARGET_P99_MS,
           p99 <= TARGET_P99_MS ? "ok" : "MISSED", held, TARGET_SESSIONS,
           held >= TARGET_SESSIONS ? "ok" : "MISSED");
    printf("%-28s p50 %.2f ms = floors %.2f (decode %.2f + try-on %.2f + encode %.2f) + service "
           "overhead %.2f (server-side p50 %.2f)\n",
           "", p50, fl->sum.median, fl->decode.median, fl->tryon.median, fl->encode.median,
           p50 - fl->sum.median, ms_pct(&r->server_us, 50));
    return s;
}

int lq_bench_service(const lq_bench_ctx *ctx)
{
    const double seconds_single = ctx->quick ? 4 : 20;
    const double seconds_step = ctx->quick ? 4 : 15;
    char loadavg[64] = "";
    FILE *la = fopen("/proc/loadavg", "r");
    if (la) {
        if (!fgets(loadavg, sizeof loadavg, la))
            loadavg[0] = 0;
        fclose(la);
        loadavg[strcspn(loadavg, "\n")] = 0;
    }
    lq_client_frames *sets[N_VIDEOS] = {0};
    char err[512], dir[4096];
    int rc = 0;
    for (int v = 0; v < N_VIDEOS && rc == 0; v++) {
        snprintf(dir, sizeof dir, "%s/video/%s", ctx->data_dir, VIDEOS[v]);
        rc = lq_client_frames_load(dir, NULL, &sets[v], err, sizeof err);
        if (rc < 0)
            fprintf(stderr, "bench service: %s\n", err);
    }
    /* (c) first, while nothing else of ours runs */
    floors fl2, fl1;
    memset(&fl2, 0, sizeof fl2);
    memset(&fl1, 0, sizeof fl1);
    if (rc == 0) {
        printf("load average before the run: %s (%ld cores)\n", loadavg,
               sysconf(_SC_NPROCESSORS_ONLN));
        rc = measure_floors(ctx, sets[0], 2, &fl2);
        if (rc == 0)
            print_floors("(c) stage floors in-process, palm_reach, one thread, max_hands 2 "
                         "(the service's default), ms:",
                         &fl2);
        if (rc == 0)
            rc = measure_floors(ctx, sets[0], 1, &fl1);
        if (rc == 0)
            print_floors("    max_hands 1 (a tracked hand never runs the palm detector), ms:",
                         &fl1);
    }

    server_proc sp = {0};
    if (rc == 0 && server_start(ctx, &sp, NULL) < 0)
        rc = LQ_EIO;
    enum { N_SINGLE = N_VIDEOS + 2 };
    run_result *single = calloc(N_SINGLE, sizeof *single);
    run_result *ramp2 = calloc(N_RAMP, sizeof *ramp2);
    run_result *ramp1 = calloc(N_RAMP, sizeof *ramp1);
    run_result *rampl = calloc(N_RAMP, sizeof *rampl);
    int n2 = 0, n1 = 0, nl = 0, held2 = 0, held1 = 0, heldl = 0;
    if (!single || !ramp2 || !ramp1 || !rampl)
        rc = LQ_ENOMEM;
    if (rc == 0) {
        run_result *warmup = calloc(1, sizeof *warmup);
        rc = warmup ? run_load(&sp, sets[0], VIDEOS[0], 0, 0, 2, 2.0, 1.0, warmup) : LQ_ENOMEM;
        free(warmup); /* not reported */
    }
    if (rc == 0) {
        printf("\n(a) one session at 25 fps, %.0f s each (first second left out); latency ms, "
               "mh = max_hands:\n",
               seconds_single);
        print_run_header();
        /* palm_reach with the default config, palm_reach tracked (max_hands 1), the others */
        const int vid[N_SINGLE] = {0, 0, 1, 2, 0};
        const int mh[N_SINGLE] = {0, 1, 0, 0, 1};
        const int low[N_SINGLE] = {0, 0, 0, 0, 1};
        for (int i = 0; i < N_SINGLE && rc == 0; i++) {
            rc = run_load(&sp, sets[vid[i]], VIDEOS[vid[i]], mh[i], low[i], 1, seconds_single, 1.0,
                          &single[i]);
            if (rc == 0)
                print_run_row(&single[i]);
            fflush(stdout);
        }
    }
    /* The same two palm_reach rows from a service with parallel inference on
     * (INFERENCE_THREADS=0: a lone frame's models on every usable core while
     * measured faster; the default is 1), in the same run. */
    run_result parallel[2];
    memset(parallel, 0, sizeof parallel);
    if (rc == 0) {
        server_proc sp1 = {0};
        if (server_start(ctx, &sp1, "0") < 0)
            rc = LQ_EIO;
        printf("\n(a1) the same, palm_reach, from a service with INFERENCE_THREADS=0 (a lone "
               "frame's models on every core while that is faster):\n");
        print_run_header();
        for (int i = 0; i < 2 && rc == 0; i++) {
            rc = run_load(&sp1, sets[0], VIDEOS[0], i, 0, 1, seconds_single, 1.0, &parallel[i]);
            if (rc == 0)
                print_run_row(&parallel[i]);
            fflush(stdout);
        }
        if (sp1.pid > 0)
            server_stop(&sp1);
        if (rc == 0)
            printf("    p50 with parallel inference / one thread: max_hands 2 %.2f, max_hands 1 "
                   "%.2f\n",
                   ms_pct(&parallel[0].rep.latency_us, 50) /
                       ms_pct(&single[0].rep.latency_us, 50),
                   ms_pct(&parallel[1].rep.latency_us, 50) /
                       ms_pct(&single[1].rep.latency_us, 50));
    }
    /* the same frames over HTTP/2 (cleartext, prior knowledge), beside the WebSocket rows */
    const int h2_sessions[2] = {1, TARGET_SESSIONS};
    lq_h2load_report *h2 = calloc(2, sizeof *h2);
    if (!h2)
        rc = LQ_ENOMEM;
    if (rc == 0) {
        printf("\n(a') the same palm_reach frames as POST /api/tryon/sessions/{id}/frames over "
               "HTTP/2 (h2c), 25 fps per session, %.0f s; cdrop = slots with 3 requests out, "
               "sdrop = 503 PROCESSING_TIMEOUT:\n",
               seconds_single);
        print_run_header();
        print_run_row(&single[0]);
        for (int i = 0; i < 2 && rc == 0; i++) {
            rc = run_http2(&sp, sets[0], h2_sessions[i], seconds_single, &h2[i]);
            if (rc == 0)
                print_http2_row(h2_sessions[i], &h2[i]);
            fflush(stdout);
        }
    }
    if (rc == 0) {
        printf("\n(b) sessions ramp, palm_reach at 25 fps each, %.0f s per step, until the "
               "service saturates; max_hands 2 (default):\n",
               seconds_step);
        held2 = run_ramp(&sp, sets[0], 0, 0, seconds_step, ramp2, &n2, &rc);
    }
    if (rc == 0) {
        printf("\n    max_hands 1:\n");
        held1 = run_ramp(&sp, sets[0], 1, 0, seconds_step, ramp1, &n1, &rc);
    }
    if (rc == 0) {
        printf("\n    max_hands 1, quality low (lite models, WebP method %d):\n",
               ws_quality_effort(WS_QUALITY_LOW));
        heldl = run_ramp(&sp, sets[0], 1, 1, seconds_step, rampl, &nl, &rc);
    }
    double hwm = 0, rss = 0;
    if (sp.pid > 0)
        proc_rss(sp.pid, &hwm, &rss);
    const int srv_exit = server_stop(&sp);

    if (rc == 0) {
        printf("\nservice: peak RSS (VmHWM) %.1f MB, VmRSS at the end %.1f MB, exit status %d\n",
               hwm, rss, srv_exit);
        cJSON *root = cJSON_CreateObject();
        cJSON_AddStringToObject(root, "benchmark", "service");
        cJSON_AddStringToObject(root, "load_average_before", loadavg);
        cJSON_AddNumberToObject(root, "cpus", (double)sysconf(_SC_NPROCESSORS_ONLN));
        cJSON *setup = cJSON_AddObjectToObject(root, "setup");
        cJSON_AddNumberToObject(setup, "fps_per_session", FPS);
        cJSON_AddStringToObject(setup, "encoding", "text (protocol encoding 1)");
        cJSON_AddStringToObject(setup, "quality", "balanced (full models)");
        cJSON_AddNumberToObject(setup, "encoder_effort", ws_quality_effort(WS_QUALITY_BALANCED));
        cJSON_AddStringToObject(setup, "output", "webp q75");
        cJSON_AddStringToObject(setup, "service", "lacquer serve, default settings, loopback");
        cJSON_AddStringToObject(setup, "load_generator", "src/client (lacquer stream), in-process");
        cJSON_AddNumberToObject(setup, "warmup_s_excluded", 1.0);
        cJSON_AddNumberToObject(setup, "seconds_single", seconds_single);
        cJSON_AddNumberToObject(setup, "seconds_per_ramp_step", seconds_step);

        cJSON *f = cJSON_AddObjectToObject(root, "stage_floors_ms");
        cJSON_AddItemToObject(f, "max_hands_2", floors_json(&fl2));
        cJSON_AddItemToObject(f, "max_hands_1", floors_json(&fl1));
        cJSON *sa = cJSON_AddArrayToObject(root, "single_session");
        for (int i = 0; i < N_SINGLE; i++)
            cJSON_AddItemToArray(sa, run_json(&single[i]));
        cJSON *sa1 = cJSON_AddArrayToObject(root, "single_session_inference_threads_0");
        for (int i = 0; i < 2; i++)
            cJSON_AddItemToArray(sa1, run_json(&parallel[i]));
        cJSON *h2a = cJSON_AddArrayToObject(root, "http2");
        for (int i = 0; i < 2; i++)
            cJSON_AddItemToArray(h2a, http2_json(h2_sessions[i], &h2[i]));
        cJSON *ra = cJSON_AddObjectToObject(root, "ramp");
        cJSON *r2 = cJSON_AddArrayToObject(ra, "max_hands_2");
        for (int i = 0; i < n2; i++)
            cJSON_AddItemToArray(r2, run_json(&ramp2[i]));
        cJSON *r1 = cJSON_AddArrayToObject(ra, "max_hands_1");
        for (int i = 0; i < n1; i++)
            cJSON_AddItemToArray(r1, run_json(&ramp1[i]));
        cJSON *rl = cJSON_AddArrayToObject(ra, "max_hands_1_quality_low");
        for (int i = 0; i < nl; i++)
            cJSON_AddItemToArray(rl, run_json(&rampl[i]));
        printf(
            "\ntargets (one session palm_reach, full model; sessions at 25 fps without drops):\n");
        cJSON *s = cJSON_AddArrayToObject(root, "summary");
        cJSON_AddItemToArray(s, summary_json("default (max_hands 2)", &single[0], &fl2, held2));
        cJSON_AddItemToArray(s,
                             summary_json("tracked hand (max_hands 1)", &single[1], &fl1, held1));
        {
            const lq_load_report *rl1 = &single[4].rep;
            cJSON *q = cJSON_CreateObject();
            cJSON_AddStringToObject(q, "config", "tracked hand, quality low (lite models)");
            cJSON_AddNumberToObject(q, "single_p50_ms",
                                    round(ms_pct(&rl1->latency_us, 50) * 100) / 100);
            cJSON_AddNumberToObject(q, "single_p99_ms",
                                    round(ms_pct(&rl1->latency_us, 99) * 100) / 100);
            cJSON_AddNumberToObject(q, "max_sessions_without_drops", heldl);
            cJSON_AddItemToArray(s, q);
            printf("%-28s p50 %6.2f ms  p99 %6.2f ms  sessions held %d\n",
                   "quality low, max_hands 1", ms_pct(&rl1->latency_us, 50),
                   ms_pct(&rl1->latency_us, 99), heldl);
        }
        cJSON_AddNumberToObject(root, "service_vmhwm_mb", round(hwm * 10) / 10);
        cJSON_AddNumberToObject(root, "service_vmrss_mb", round(rss * 10) / 10);
        cJSON_AddNumberToObject(root, "service_exit_status", srv_exit);
        char *text = cJSON_Print(root);
        cJSON_Delete(root);
        if (!text || lq_bench_write(ctx, "service.json", text) < 0)
            rc = LQ_EIO;
        free(text);
    }
    free(single);
    free(h2);
    free(ramp2);
    free(ramp1);
    free(rampl);
    for (int v = 0; v < N_VIDEOS; v++)
        lq_client_frames_destroy(sets[v]);
    return rc;
}
