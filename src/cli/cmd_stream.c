/*
 * cmd_stream.c - `lacquer stream`: replay folders of frames like cameras
 * against a running `lacquer serve` and report latency, throughput, drops
 * and errors (the load generator of src/client/loadgen.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "client/frames.h"
#include "client/loadgen.h"
#include "client/schedule.h"
#include "nails/design.h"

typedef struct stream_args {
    const char *url, *design, *shape, *pattern, *colors, *finish, *size, *reference, *token;
    const char *quality, *output_format, *encoding, *check, *save, *session_prefix;
    const char *max_message;
    double length, fps, seconds, warmup, drain, ready_timeout;
    int sessions, output_quality, max_hands, json, quiet;
} stream_args;

#define OFF(f) offsetof(stream_args, f)
static const lq_cli_opt opt_table[] = {
    {"--url", "URL", LQ_CLI_STRING, OFF(url), 0, 0,
     "the service, ws://HOST:PORT/ws/tryon (required)"},
    {"--sessions", "N", LQ_CLI_INT, OFF(sessions), 1, LQ_LOAD_MAX_SESSIONS,
     "concurrent sessions, one connection each, 1..256 (default 1)"},
    {"--fps", "X", LQ_CLI_DOUBLE, OFF(fps), LQ_CLIENT_FPS_MIN, LQ_CLIENT_FPS_MAX,
     "frames per second per session, 0.1..240 (default 25)"},
    {"--seconds", "S", LQ_CLI_DOUBLE, OFF(seconds), 0.1, LQ_LOAD_MAX_SECONDS,
     "how long to stream (default 10)"},
    {"--warmup", "S", LQ_CLI_DOUBLE, OFF(warmup), 0, LQ_LOAD_MAX_SECONDS,
     "leave the first S seconds out of the latency statistics (default 0)"},
    {"--encoding", "E", LQ_CLI_STRING, OFF(encoding), 0, 0,
     "text (JSON header, then the image as binary: the guide's client), binary (one "
     "message, 1024-byte header) or base64 (default text)"},
    {"--design", "FILE", LQ_CLI_STRING, OFF(design), 0, 0,
     "nail design as JSON (nail_reference.metadata: shape, pattern, colors, ...)"},
    {"--shape", "S", LQ_CLI_STRING, OFF(shape), 0, 0,
     "almond|square|oval|stiletto|coffin|round|squoval (overrides --design)"},
    {"--pattern", "P", LQ_CLI_STRING, OFF(pattern), 0, 0,
     "solid|french_tips|ombre|glitter|marble|floral|reference"},
    {"--colors", "C1,C2", LQ_CLI_STRING, OFF(colors), 0, 0, "up to 4 colours (names or #rrggbb)"},
    {"--finish", "F", LQ_CLI_STRING, OFF(finish), 0, 0,
     "glossy|matte|metallic|cream|sheer|pearl|shimmer"},
    {"--size", "S", LQ_CLI_STRING, OFF(size), 0, 0, "short|medium|long"},
    {"--length", "X", LQ_CLI_DOUBLE, OFF(length), NAIL_LENGTH_MIN, NAIL_LENGTH_MAX,
     "painted length as a factor of the natural nail, 0.8..2.2"},
    {"--reference", "URL", LQ_CLI_STRING, OFF(reference), 0, 0,
     "nail_reference.url: a photo the service fetches"},
    {"--quality", "Q", LQ_CLI_STRING, OFF(quality), 0, 0,
     "config.quality: low|balanced|high (default: the service's, balanced)"},
    {"--output-format", "F", LQ_CLI_STRING, OFF(output_format), 0, 0,
     "config.output_format: webp|jpeg|png (default webp)"},
    {"--output-quality", "N", LQ_CLI_INT, OFF(output_quality), 1, 100,
     "config.output_quality 1..100 (default: the service's, 75)"},
    {"--max-hands", "N", LQ_CLI_INT, OFF(max_hands), 1, 2,
     "config.max_hands (default: the service's, 2; with 1 the palm detector is skipped "
     "while a hand is tracked)"},
    {"--token", "T", LQ_CLI_STRING, OFF(token), 0, 0,
     "sent as Authorization: Bearer T (the service's AUTH_TOKEN)"},
    {"--save", "DIR", LQ_CLI_STRING, OFF(save), 0, 0,
     "write every processed frame to DIR/<session>-<sequence>.<ext>"},
    {"--check", "C", LQ_CLI_STRING, OFF(check), 0, 0,
     "check each returned image: decode (default), header (format and size only: "
     "cheaper) or none"},
    {"--max-message", "BYTES", LQ_CLI_STRING, OFF(max_message), 0, 0,
     "largest message either way, k/m suffixes (default 10m, the service's "
     "WS_MAX_MESSAGE_SIZE); also caps each frame file"},
    {"--drain", "S", LQ_CLI_DOUBLE, OFF(drain), 0, 600,
     "after the last frame, wait up to S seconds for replies (default 5)"},
    {"--ready-timeout", "S", LQ_CLI_DOUBLE, OFF(ready_timeout), 1, 600,
     "connect + init_session -> session_ready (default 30)"},
    {"--session-prefix", "P", LQ_CLI_STRING, OFF(session_prefix), 0, 0,
     "session ids are P-1, P-2, ... (default stream-PID)"},
    {"--json", NULL, LQ_CLI_FLAG, OFF(json), 0, 1, "print the final report as JSON on stdout"},
    {"--quiet", NULL, LQ_CLI_FLAG, OFF(quiet), 0, 1, "no progress line on stderr"},
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: lacquer stream --url ws://HOST:PORT/ws/tryon [options] FRAMES_DIR...\n\n"
               "Replays the frames of each folder (WebP/JPEG/PNG, sorted by name, looping) like a\n"
               "camera against a running `lacquer serve`: one connection and session per\n"
               "--sessions, frame k of a session sent at k/fps (never in a burst: a frame whose\n"
               "time passed while the previous one was still unsent is dropped by the client).\n"
               "Session i replays folder i modulo the number of folders. A progress line goes to\n"
               "stderr every second; the final report (latency histogram p50/p95/p99/max from\n"
               "send to reply, throughput, the service's processing time, drops, errors by code)\n"
               "to stdout.\n\noptions:\n");
    lq_cli_opts_help(f, opt_table, N_OPTS, 22);
    fprintf(f, "\nexit status: 0 every session ran and every image passed its check, 1 otherwise,\n"
               "2 bad usage.\n\nexample:\n"
               "  lacquer stream --url ws://127.0.0.1:8002/ws/tryon --sessions 4 --seconds 20 \\\n"
               "      --shape almond --colors '#c8102e' ../shared/data/video/palm_reach\n");
}

/* Parses the options; returns the index of the first folder, or -1. */
static int parse_args(int argc, char **argv, stream_args *a)
{
    return lq_cli_opts_parse("stream", opt_table, N_OPTS, argc, argv, a);
}

/* "10m", "512k", "1048576" -> bytes; -1 if malformed. */
static long long parse_bytes(const char *s)
{
    char *end = NULL;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || v < 0)
        return -1;
    long long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1024, end++;
    else if (*end == 'm' || *end == 'M')
        mul = 1024 * 1024, end++;
    else if (*end == 'g' || *end == 'G')
        mul = 1024LL * 1024 * 1024, end++;
    if (*end || v > (1LL << 40) / mul)
        return -1;
    return v * mul;
}

/* Reads the design file (at most NAIL_DESIGN_MAX_JSON bytes) into a cJSON object. */
static cJSON *read_design(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lacquer stream: cannot open %s: %s\n", path, strerror(errno));
        return NULL;
    }
    char *buf = malloc(NAIL_DESIGN_MAX_JSON + 1);
    size_t n = buf ? fread(buf, 1, NAIL_DESIGN_MAX_JSON + 1, f) : 0;
    fclose(f);
    if (!buf)
        return NULL;
    if (n > NAIL_DESIGN_MAX_JSON) {
        fprintf(stderr, "lacquer stream: %s is over %u bytes\n", path, NAIL_DESIGN_MAX_JSON);
        free(buf);
        return NULL;
    }
    cJSON *o = cJSON_ParseWithLength(buf, n);
    free(buf);
    if (!o || !cJSON_IsObject(o)) {
        fprintf(stderr, "lacquer stream: %s is not a JSON object\n", path);
        cJSON_Delete(o);
        return NULL;
    }
    return o;
}

static void set_string(cJSON *o, const char *key, const char *v)
{
    cJSON_DeleteItemFromObjectCaseSensitive(o, key);
    cJSON_AddStringToObject(o, key, v);
}

/* The design as JSON text (malloc'd), from --design and the flags (flags
 * win); NULL with *none = 1 when neither was given. The service validates
 * it again; lq_load_opts_validate checks it first for a clear message. */
static char *build_design(const stream_args *a, int *none)
{
    *none = !a->design && !a->shape && !a->pattern && !a->colors && !a->finish && !a->size &&
            a->length == 0;
    if (*none)
        return NULL;
    cJSON *o = a->design ? read_design(a->design) : cJSON_CreateObject();
    if (!o)
        return NULL;
    if (a->shape)
        set_string(o, "shape", a->shape);
    if (a->pattern)
        set_string(o, "pattern", a->pattern);
    if (a->finish)
        set_string(o, "finish", a->finish);
    if (a->size)
        set_string(o, "size", a->size);
    if (a->length > 0) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "length");
        cJSON_AddNumberToObject(o, "length", a->length);
    }
    if (a->colors) {
        cJSON_DeleteItemFromObjectCaseSensitive(o, "colors");
        cJSON_DeleteItemFromObjectCaseSensitive(o, "color");
        cJSON *arr = cJSON_AddArrayToObject(o, "colors");
        char buf[512];
        snprintf(buf, sizeof buf, "%s", a->colors);
        char *save = NULL;
        for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
            cJSON_AddItemToArray(arr, cJSON_CreateString(tok));
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

static lq_load *volatile g_load;

static void on_signal(int sig)
{
    (void)sig;
    lq_load_stop(g_load);
}

typedef struct progress_ctx {
    int tty;
    int printed;
} progress_ctx;

static void on_progress(void *ud, const lq_load_progress *p)
{
    progress_ctx *pc = ud;
    char line[256];
    if (p->elapsed_s < 0)
        snprintf(line, sizeof line, "[%5.1fs] connecting: %d ready, %d failed", -p->elapsed_s,
                 p->sessions_ready, p->sessions_failed);
    else
        snprintf(line, sizeof line,
                 "[%5.1fs] sent %llu  received %llu  %.1f fps  p50 %.1f ms  drops %llu client "
                 "%llu server  errors %llu",
                 p->elapsed_s, (unsigned long long)p->sent, (unsigned long long)p->processed,
                 p->fps, p->p50_ms, (unsigned long long)p->client_drops,
                 (unsigned long long)p->server_drops, (unsigned long long)p->errors);
    if (pc->tty)
        fprintf(stderr, "\r%s\033[K", line);
    else
        fprintf(stderr, "%s\n", line);
    pc->printed = 1;
}

int lq_cmd_stream(int argc, char **argv)
{
    if (lq_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    stream_args a;
    memset(&a, 0, sizeof a);
    a.sessions = 1;
    a.fps = 25;
    a.seconds = 10;
    a.drain = 5;
    a.ready_timeout = 30;
    int first = parse_args(argc, argv, &a);
    if (first < 0)
        return 2;
    const int ndirs = argc - first;
    if (ndirs < 1 || ndirs > LQ_LOAD_MAX_SETS) {
        fprintf(stderr, "lacquer stream: give 1..%d frame folders (got %d); see --help\n",
                LQ_LOAD_MAX_SETS, ndirs);
        return 2;
    }
    lq_load_opts o = LQ_LOAD_OPTS_DEFAULT;
    o.check = LQ_LOAD_CHECK_DECODE;
    o.url = a.url;
    o.sessions = a.sessions;
    o.fps = a.fps;
    o.seconds = a.seconds;
    o.warmup_s = a.warmup;
    o.drain_timeout_s = a.drain;
    o.ready_timeout_s = a.ready_timeout;
    o.reference_url = a.reference;
    o.token = a.token;
    o.quality = a.quality;
    o.output_format = a.output_format;
    o.output_quality = a.output_quality;
    o.max_hands = a.max_hands;
    o.save_dir = a.save;
    char prefix[64];
    snprintf(prefix, sizeof prefix, "stream-%ld", (long)getpid());
    o.session_prefix = a.session_prefix ? a.session_prefix : prefix;
    if (a.encoding && lq_load_encoding_parse(a.encoding, &o.encoding) < 0) {
        fprintf(stderr, "lacquer stream: --encoding must be text, binary or base64 (not '%s')\n",
                a.encoding);
        return 2;
    }
    if (a.check && lq_load_check_parse(a.check, &o.check) < 0) {
        fprintf(stderr, "lacquer stream: --check must be decode, header or none (not '%s')\n",
                a.check);
        return 2;
    }
    if (a.max_message) {
        long long b = parse_bytes(a.max_message);
        if (b < 0) {
            fprintf(stderr, "lacquer stream: bad --max-message '%s'\n", a.max_message);
            return 2;
        }
        o.max_message = (size_t)b;
    }
    int no_design = 0;
    char *design = build_design(&a, &no_design);
    if (!design && !no_design)
        return 2;
    o.design_json = design;
    char err[512];
    if (lq_load_opts_validate(&o, err, sizeof err) < 0) {
        fprintf(stderr, "lacquer stream: %s\n", err);
        free(design);
        return 2;
    }

    lq_client_frames *sets[LQ_LOAD_MAX_SETS] = {0};
    lq_client_frames_limits lim = LQ_CLIENT_FRAMES_LIMITS_DEFAULT;
    lim.max_file_bytes = o.max_message;
    int rc = 0, status = 0;
    for (int i = 0; i < ndirs && rc == 0; i++) {
        rc = lq_client_frames_load(argv[first + i], &lim, &sets[i], err, sizeof err);
        if (rc < 0)
            fprintf(stderr, "lacquer stream: %s\n", err);
    }
    progress_ctx pc = {isatty(STDERR_FILENO), 0};
    o.progress = a.quiet ? NULL : on_progress;
    o.progress_ud = &pc;
    lq_load *ld = NULL;
    if (rc == 0) {
        rc = lq_load_create(&o, (const lq_client_frames *const *)sets, ndirs, &ld, err, sizeof err);
        if (rc < 0)
            fprintf(stderr, "lacquer stream: %s\n", err);
    }
    if (rc < 0) {
        status = 2;
        goto out;
    }

    g_load = ld;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESETHAND; /* a second ^C kills at once */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    rc = lq_load_run(ld);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    g_load = NULL;
    if (pc.printed && pc.tty)
        fputc('\n', stderr);
    const lq_load_report *r = lq_load_get_report(ld);
    if (a.json) {
        char *js = lq_load_report_json(r);
        if (js) {
            printf("%s\n", js);
            free(js);
        }
    } else {
        lq_load_report_print(r, stdout);
    }
    if (rc < 0)
        fprintf(stderr, "lacquer stream: %s\n",
                rc == LQ_EIO ? "no session could be started" : lq_strerror(rc));
    status =
        (rc < 0 || r->sessions_failed > 0 || r->check_failed > 0 || r->save_failed > 0) ? 1 : 0;
out:
    lq_load_destroy(ld);
    for (int i = 0; i < ndirs && i < LQ_LOAD_MAX_SETS; i++)
        lq_client_frames_destroy(sets[i]);
    free(design);
    return status;
}
