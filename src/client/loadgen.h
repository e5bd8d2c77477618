/*
 * loadgen.h - the load generator: N camera-like sessions against `lacquer serve`.
 *
 *   lq_load_opts o = LQ_LOAD_OPTS_DEFAULT;
 *   o.url = "ws://127.0.0.1:8002/ws/tryon";
 *   o.sessions = 4;
 *   if (lq_load_opts_validate(&o, err, sizeof err) < 0) usage_error(err);
 *   const lq_client_frames *sets[] = {palm_reach};
 *   lq_load *ld;
 *   lq_load_create(&o, sets, 1, &ld, err, sizeof err);
 *   int rc = lq_load_run(ld);                   // blocks for about o.seconds
 *   lq_load_report_print(lq_load_get_report(ld), stdout);
 *   lq_load_destroy(ld);
 *
 * Each session is its own WebSocket connection (one libwebsockets context
 * carries them all, on the calling thread): connect, init_session, wait for
 * session_ready; once every session is ready (or failed), all start
 * streaming together, session i offset by i/(N*fps) so the N cameras are
 * spread over a frame period like independent cameras. Session i replays
 * frame set i % nsets, looping. Frame k of a session is sent at its slot
 * t0 + k/fps (schedule.h: never in a burst; a slot that passes while the
 * previous frame is unsent is a client drop). After `seconds`, each session
 * waits up to drain_timeout_s for its outstanding replies, sends
 * close_session, waits for session_closed (its final stats are summed into
 * the report) and closes the connection.
 *
 * Replies are matched by sequence (= the frame's slot index). Every reply
 * image is checked (opts.check): the header (format and dimensions equal to
 * the frame sent), or a full decode; with save_dir it is also written to
 * save_dir/<session_id>-<sequence>.<ext>.
 *
 * The report (report.h) defines every number. lq_load_run() returns 0 when
 * the run completed (whatever the service answered), LQ_EIO when no session
 * became ready, LQ_EINTERNAL if the event loop failed.
 *
 * Threading: one lq_load is driven by one thread; lq_load_stop() may be
 * called from any thread or a signal handler: streaming ends at once and the
 * run finishes normally (drain, close, report).
 */
#ifndef LQ_CLIENT_LOADGEN_H
#define LQ_CLIENT_LOADGEN_H

#include <stddef.h>

#include "base/error.h"
#include "client/frames.h"
#include "client/report.h"

#define LQ_LOAD_MAX_SESSIONS 256
#define LQ_LOAD_MAX_SECONDS 86400.0
#define LQ_LOAD_MAX_SETS 16
#define LQ_LOAD_MESSAGE_MIN ((size_t)4 << 10)
#define LQ_LOAD_MESSAGE_MAX ((size_t)256 << 20)
#define LQ_LOAD_SESSION_PREFIX_MAX 100
#define LQ_LOAD_URL_FIELD_MAX 2048

typedef enum lq_load_encoding {
    LQ_LOAD_ENC_TEXT = 1,   /* protocol encoding 1: text header, then the image (binary) */
    LQ_LOAD_ENC_BINARY = 2, /* encoding 2: one binary message, 1024-byte JSON header */
    LQ_LOAD_ENC_BASE64 = 3, /* encoding 3: one text message, image in base64 */
} lq_load_encoding;

typedef enum lq_load_check {
    LQ_LOAD_CHECK_NONE = 0,
    LQ_LOAD_CHECK_HEADER, /* format and dimensions from the image header */
    LQ_LOAD_CHECK_DECODE, /* a full decode (costs client CPU) */
} lq_load_check;

/* "text"/"split"/"1", "binary"/"header"/"2", "base64"/"3" -> 0, else LQ_EINVAL. */
int lq_load_encoding_parse(const char *s, lq_load_encoding *out) LQ_NODISCARD;
const char *lq_load_encoding_name(lq_load_encoding e); /* "text", "binary", "base64" */
/* "none", "header", "decode". */
int lq_load_check_parse(const char *s, lq_load_check *out) LQ_NODISCARD;
const char *lq_load_check_name(lq_load_check c);

/* Once per second while running. */
typedef struct lq_load_progress {
    double elapsed_s; /* since streaming started (negative while connecting) */
    int sessions_ready, sessions_failed;
    uint64_t sent, replies, processed;
    double fps;    /* processed frames per second over the last interval */
    double p50_ms; /* end-to-end p50 over the last interval (0 if none) */
    uint64_t client_drops, server_drops, errors;
} lq_load_progress;

typedef struct lq_load_opts {
    const char *url;           /* ws://HOST:PORT/PATH (required) */
    const char *design_json;   /* nail_reference.metadata as JSON text, or NULL */
    const char *reference_url; /* nail_reference.url, or NULL */
    const char *token;         /* Authorization: Bearer, or NULL */
    const char *quality;       /* config.quality (low|balanced|high), or NULL */
    const char *output_format; /* config.output_format (webp|jpeg|png), or NULL = webp */
    int output_quality;        /* config.output_quality 1..100, 0 = the service's */
    int max_hands;             /* config.max_hands 1..LQ_HAND_MAX, 0 = the service's (2);
                                  1 lets the service skip the palm detector while it
                                  tracks a hand */
    int sessions;              /* 1..LQ_LOAD_MAX_SESSIONS */
    double fps;                /* per session, LQ_CLIENT_FPS_MIN..LQ_CLIENT_FPS_MAX */
    double seconds;            /* of streaming, 0.1..LQ_LOAD_MAX_SECONDS */
    double warmup_s;           /* 0..seconds: left out of the latency statistics */
    lq_load_encoding encoding;
    lq_load_check check;
    const char *save_dir;       /* write reply images here (must exist), or NULL */
    size_t max_message;         /* largest message either way, LQ_LOAD_MESSAGE_MIN..MAX */
    double ready_timeout_s;     /* connect + init_session -> session_ready, 1..600 */
    double drain_timeout_s;     /* after the last slot, wait for replies, 0..600 */
    const char *session_prefix; /* session ids are <prefix>-<i>; [A-Za-z0-9._:-], <= 100 */
    void (*progress)(void *ud, const lq_load_progress *p); /* or NULL */
    void *progress_ud;
} lq_load_opts;

/* 1 session, 25 fps, 10 s, encoding text, header check, 10 MiB messages
 * (the service's WS_MAX_MESSAGE_SIZE), 30 s to get ready, 5 s to drain. */
#define LQ_LOAD_OPTS_DEFAULT                                                                       \
    {                                                                                              \
        NULL, NULL, NULL, NULL, NULL, NULL, 0, 0, 1, 25.0, 10.0, 0.0, LQ_LOAD_ENC_TEXT,            \
            LQ_LOAD_CHECK_HEADER, NULL, (size_t)10 << 20, 30.0, 5.0, "stream", NULL, NULL          \
    }

/* Checks every option; LQ_EINVAL with the option named in err. */
int lq_load_opts_validate(const lq_load_opts *o, char *err, size_t errlen) LQ_NODISCARD;

typedef struct lq_load lq_load;

/* Validates opts, checks that every frame fits in opts.max_message in the
 * chosen encoding (LQ_ELIMIT naming the file otherwise) and prepares the
 * sessions. sets (1..LQ_LOAD_MAX_SETS) must outlive the lq_load; opts is
 * copied (its strings must outlive it too). */
int lq_load_create(const lq_load_opts *opts, const lq_client_frames *const *sets, int nsets,
                   lq_load **out, char *err, size_t errlen) LQ_NODISCARD;
void lq_load_destroy(lq_load *ld);

/* Runs the whole load (once per lq_load). */
int lq_load_run(lq_load *ld) LQ_NODISCARD;

/* Ends streaming early (async-signal-safe). */
void lq_load_stop(lq_load *ld);

/* The report (final after lq_load_run returned); owned by ld. */
const lq_load_report *lq_load_get_report(const lq_load *ld);

#endif
