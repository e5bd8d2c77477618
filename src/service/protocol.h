/*
 * protocol.h - the try-on WebSocket protocol: parsing requests, building replies.
 *
 * The contract for clients is docs/protocol.md. This file turns bytes into
 * requests and results into reply messages; it knows nothing about sockets,
 * threads or sessions, so every function here is pure and testable.
 *
 *   ws_request rq;
 *   ws_error e;
 *   if (ws_parse_text(buf, len, &lim, &rq, &e) < 0)
 *       reply(ws_build_error(e.session_id, e.has_sequence, e.sequence, e.code, e.message));
 *   ...
 *   ws_request_free(&rq);
 *
 * Frames arrive in one of three encodings, and each reply uses the encoding
 * of its request:
 *   1 WS_ENC_SPLIT    a text process_frame without frame_data, then one
 *                     binary message holding the image;
 *   2 WS_ENC_HEADER   one binary message: a JSON header in the first
 *                     WS_HEADER_SIZE bytes, padded with spaces or NULs, then
 *                     the image;
 *   3 WS_ENC_BASE64   one text message whose frame_data is the image in base64.
 *
 * Limits: a text or header JSON nests at most WS_JSON_MAX_DEPTH deep;
 * session ids are 1..WS_SESSION_ID_MAX characters of [A-Za-z0-9._:-];
 * sequences are integers in [0, 2^53]; URLs at most WS_URL_MAX bytes.
 *
 * Thread-safety: all functions are reentrant. Reply builders allocate; the
 * caller owns the returned ws_out and frees it with ws_out_free.
 */
#ifndef LQ_SERVICE_PROTOCOL_H
#define LQ_SERVICE_PROTOCOL_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "service/outq.h"
#include "tryon/tryon.h"

#define WS_HEADER_SIZE 1024
#define WS_SESSION_ID_MAX 128
#define WS_URL_MAX 2048
#define WS_JSON_MAX_DEPTH 16
#define WS_REASON_MAX 64
#define WS_MESSAGE_MAX 256

/* X(CODE, recoverable, default message, suggestion). The first seven are the
 * guide's Appendix B; the rest are protocol and service errors. Never
 * renumber: the enum value is also a metrics label index. */
#define WS_ERROR_MAP(X)                                                                          \
    X(HAND_NOT_DETECTED, 1, "No hand detected in the frame",                                     \
      "Show the back of your hand to the camera with the fingers spread")                        \
    X(PARTIAL_HAND_DETECTED, 1, "Only part of the hand is visible",                              \
      "Show the whole hand with the nails facing the camera")                                    \
    X(LOW_LIGHT, 1, "Lighting is too low for accurate detection",                                \
      "Turn on a light or face a window; avoid strong light behind the hand")                    \
    X(BLUR_DETECTED, 1, "The frame is too blurry", "Hold the hand still and clean the lens")     \
    X(MODEL_ERROR, 0, "Model inference failed",                                                  \
      "Close this session and start a new one; report it if it happens again")                   \
    X(INVALID_SESSION, 0, "Session not found",                                                   \
      "Send init_session first and use its session_id in every message")                         \
    X(PROCESSING_TIMEOUT, 1, "The frame was dropped before it was processed",                    \
      "Keep sending frames; the service always works on the latest one")                         \
    X(PROCESSING_FAILED, 1, "The frame could not be processed", "Send the next frame")           \
    X(INVALID_MESSAGE, 1, "Malformed message", "Check the message against docs/protocol.md")     \
    X(UNSUPPORTED_FORMAT, 1, "Unsupported image format", "Send WebP, JPEG or PNG frames")        \
    X(INVALID_FRAME, 1, "The image could not be decoded", "Send a complete, valid image")        \
    X(FRAME_TOO_LARGE, 1, "The frame is too large",                                              \
      "Send frames of at most 1920x1080 pixels and WS_MAX_MESSAGE_SIZE bytes")                   \
    X(INVALID_DESIGN, 1, "The nail design is invalid",                                           \
      "Fix nail_reference.metadata (see the allowed values in the message) and resend "          \
      "init_session")                                                                            \
    X(INVALID_CONFIG, 1, "The session config is invalid",                                        \
      "Fix config (see the allowed values in the message) and resend init_session")              \
    X(REFERENCE_FETCH_FAILED, 1, "The reference image could not be fetched",                     \
      "Check nail_reference.url; the session continues from the metadata alone")                 \
    X(SERVER_BUSY, 0, "The service is at its session limit",                                     \
      "Retry in a few seconds or connect to another instance")                                   \
    X(RATE_LIMITED, 1, "Frames are arriving faster than the session's limit",                    \
      "Send fewer frames per second (see RATE_LIMIT_FPS)")                                       \
    X(UNAUTHORIZED, 0, "Authentication failed",                                                  \
      "Connect with ?token=... or an Authorization: Bearer header")                              \
    X(SHUTTING_DOWN, 0, "The service is shutting down", "Reconnect; another instance will serve") \
    X(INTERNAL_ERROR, 0, "Internal error", "Start a new session; report it if it happens again")

typedef enum ws_error_code {
#define WS__ERR_ENUM(name, rec, msg, sugg) WS_ERR_##name,
    WS_ERROR_MAP(WS__ERR_ENUM)
#undef WS__ERR_ENUM
    WS_ERR_COUNT
} ws_error_code;

const char *ws_error_name(ws_error_code code);       /* "LOW_LIGHT"; "UNKNOWN" if out of range */
int ws_error_recoverable(ws_error_code code);
const char *ws_error_message(ws_error_code code);    /* the default message */
const char *ws_error_suggestion(ws_error_code code);

typedef enum ws_msg_type {
    WS_MSG_INIT_SESSION = 0,
    WS_MSG_PROCESS_FRAME,
    WS_MSG_CLOSE_SESSION,
    WS_MSG_STATS,            /* a client asking for its session's stats now */
} ws_msg_type;

typedef enum ws_encoding {
    WS_ENC_SPLIT = 1,
    WS_ENC_HEADER = 2,
    WS_ENC_BASE64 = 3,
} ws_encoding;

const char *ws_encoding_name(ws_encoding e);         /* "split", "header", "base64" */

/* Session quality level: model variant and encoder effort (docs/protocol.md). */
typedef enum ws_quality { WS_QUALITY_LOW = 0, WS_QUALITY_BALANCED, WS_QUALITY_HIGH } ws_quality;

const char *ws_quality_name(ws_quality q);
lq_model_variant ws_quality_variant(ws_quality q);   /* low: lite; balanced, high: full */
int ws_quality_effort(ws_quality q);                 /* encoder effort 0..6 */

/* Session config after defaults and validation. */
typedef struct ws_session_config {
    int target_fps;
    ws_quality quality;
    int output_format;        /* lq_format: LQ_FMT_WEBP (default), LQ_FMT_JPEG, LQ_FMT_PNG */
    int output_quality;       /* 1..100, default 75 */
    int max_hands;            /* 1..2 */
    int smoothing;            /* bool, default 1 */
    int overlay;              /* bool, default 1: paint; 0: analyse only */
    int segmentation;         /* 0 off, 1 always, 2 untracked (frames without a tracked hand) */
    int outline;              /* bool: the outline network on every frame's nails */
    int unknown_keys;         /* keys ignored */
} ws_session_config;

/* Server-side bounds and defaults the parser needs. */
typedef struct ws_limits {
    int max_width, max_height;      /* frame dimensions (either orientation) */
    size_t max_frame_bytes;         /* decoded image bytes */
    int default_fps, max_fps;
    int max_hands;
    int segmentation;               /* default config.segmentation (NAIL_SEGMENTATION) */
    int outline;                    /* default config.outline (NAIL_OUTLINE) */
} ws_limits;

/* A parse failure: the code, a precise message, and what was known of the
 * request (so the error reply can echo session_id and sequence). */
typedef struct ws_error {
    ws_error_code code;
    char message[WS_MESSAGE_MAX];
    char session_id[WS_SESSION_ID_MAX + 1];   /* "" if unknown */
    int has_sequence;
    int64_t sequence;
    int image_follows;  /* a text process_frame without frame_data: its image comes next */
} ws_error;

typedef struct ws_request {
    ws_msg_type type;
    char session_id[WS_SESSION_ID_MAX + 1];
    int has_sequence;
    int64_t sequence;
    int has_timestamp;
    int64_t timestamp;                    /* client's epoch ms */
    /* process_frame */
    ws_encoding encoding;
    const uint8_t *frame;                 /* WS_ENC_HEADER: view into the parsed message */
    size_t frame_len;
    const char *frame_b64;                /* WS_ENC_BASE64: view into json (owned) */
    size_t frame_b64_len;
    int declared_format;                  /* lq_format, LQ_FMT_UNKNOWN if not given */
    int declared_width, declared_height;  /* 0 if not given */
    int64_t declared_size;                /* -1 if not given */
    /* init_session */
    struct cJSON *json;                   /* owned parse tree; freed by ws_request_free */
    const struct cJSON *metadata;         /* nail_reference.metadata, NULL if absent */
    char reference_url[WS_URL_MAX + 1];   /* "" if absent */
    char post_id[64];                     /* as text, "" if absent */
    ws_session_config config;
    /* close_session */
    char reason[WS_REASON_MAX + 1];
} ws_request;

/* Parses a text message. LQ_EFORMAT with *e filled on any problem (bad JSON,
 * missing or mistyped field, unknown type, bad config...). On success the
 * caller must ws_request_free(rq). */
int ws_parse_text(const char *buf, size_t len, const ws_limits *lim, ws_request *rq,
                  ws_error *e) LQ_NODISCARD;

/* Parses a binary message in the 1024-byte-header encoding. rq->frame points
 * into buf, which must outlive the request. */
int ws_parse_binary(const uint8_t *buf, size_t len, const ws_limits *lim, ws_request *rq,
                    ws_error *e) LQ_NODISCARD;

/* Parses a session config object (NULL = all defaults). */
int ws_parse_session_config(const struct cJSON *config, const ws_limits *lim,
                            ws_session_config *out, ws_error *e) LQ_NODISCARD;

void ws_request_free(ws_request *rq);

/* 1 if the text has at most max_depth nested objects/arrays (strings skipped). */
int ws_json_depth_ok(const char *buf, size_t len, int max_depth);

/* 1 if id is a valid session id. */
int ws_session_id_valid(const char *id, size_t len);

/* The ids a message names, read from its first bytes without parsing or
 * allocating: for a message that cannot be received whole (no memory for
 * it), so that its error can still say which frame it was. Looks at the
 * top-level "session_id" (a valid id, no escapes) and "sequence" (an integer
 * in 0..2^53) within the first min(len, WS_HEADER_SIZE) bytes of a text or
 * header-encoded message. Returns 1 and fills sid (WS_SESSION_ID_MAX + 1
 * bytes) if a session id was found, else 0 with sid = ""; *has_seq says if
 * *seq was. */
int ws_peek_ids(const uint8_t *head, size_t len, char *sid, int *has_seq, int64_t *seq);

/* Base64 (standard alphabet, '=' padding optional; whitespace skipped; an
 * optional "data:...;base64," prefix skipped). Writes at most cap bytes.
 * LQ_EFORMAT on a bad character or length, LQ_ELIMIT if cap is too small. */
int ws_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap,
                     size_t *out_len) LQ_NODISCARD;
size_t ws_base64_decoded_max(size_t len);            /* an upper bound for cap */
size_t ws_base64_encoded_len(size_t len);            /* exact, with padding */
void ws_base64_encode(const uint8_t *in, size_t len, char *out);   /* writes encoded_len bytes */

/* ---- replies ---- */

/* Per-session statistics as sent in a stats message. */
typedef struct ws_stats {
    int64_t frames_received;
    int64_t frames_processed;       /* answered with processed_frame */
    int64_t frames_dropped;
    int64_t frames_with_errors;     /* answered with an error (no hand, bad image, ...) */
    double avg_processing_ms;
    double p95_processing_ms;
    double avg_confidence;          /* over processed frames */
    double duration_s;              /* since session_ready */
} ws_stats;

/* What a worker produced for one frame, for the processed_frame reply. */
typedef struct ws_frame_reply {
    const char *session_id;
    int64_t sequence;
    int has_request_timestamp;
    int64_t request_timestamp;
    int64_t timestamp;              /* epoch ms when the reply was built */
    double processing_ms;           /* request received -> reply built */
    double decode_ms, encode_ms, queue_ms;
    int width, height;
    int format;                     /* lq_format of the image */
    size_t size_bytes;
    const lq_tryon_result *res;
} ws_frame_reply;

ws_out *ws_build_session_ready(const char *session_id, int model_loaded,
                               const ws_session_config *cfg, const char *reference_status,
                               int64_t ts);
ws_out *ws_build_error(const char *session_id, int has_sequence, int64_t sequence,
                       ws_error_code code, const char *message, int64_t ts);
ws_out *ws_build_stats(const char *session_id, const ws_stats *st, int64_t ts);
/* type is "close_session" (server-initiated) or "session_closed" (reply). */
ws_out *ws_build_close(const char *type, const char *session_id, const char *reason, int64_t ts);

/* Builds the reply for one frame in the encoding of its request: two
 * messages for WS_ENC_SPLIT (*second = the image), one otherwise (*second =
 * NULL). For WS_ENC_HEADER the JSON must fit in WS_HEADER_SIZE bytes: the
 * per-nail geometry, then the per-hand details are left out (and
 * "details_omitted" set) when it would not. Returns LQ_ENOMEM or 0. */
int ws_build_processed_frame(const ws_frame_reply *r, ws_encoding enc, const uint8_t *image,
                             size_t image_len, ws_out **first, ws_out **second) LQ_NODISCARD;

/* Which error a frame with problems but no painted nail gets (priority:
 * LOW_LIGHT, BLUR_DETECTED, then HAND_NOT_DETECTED when no hand, else
 * PARTIAL_HAND_DETECTED). */
ws_error_code ws_problem_error(const lq_tryon_result *res);

#endif
