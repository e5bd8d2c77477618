/*
 * messages.h - the client side of the try-on protocol (docs/protocol.md):
 * building requests and reading the service's replies.
 *
 *   char *init = lq_client_msg_init("s1", design_json, NULL, &cfg, now_ms, err, sizeof err);
 *   ...send init (text)...; free(init);
 *   int n = lq_client_msg_frame_header(hdr, sizeof hdr, "s1", seq, now_ms, frame);
 *   ...send hdr (text), then the image (binary)...
 *
 *   lq_client_reply r;
 *   if (lq_client_reply_parse(text, len, &r, NULL) == 0 && r.type == LQ_REPLY_PROCESSED_FRAME) ...
 *
 * Builders and the parser are pure functions of their inputs (reentrant).
 * Limits: session ids as the service's (1..128 of [A-Za-z0-9._:-]); a reply
 * is parsed only up to LQ_CLIENT_REPLY_MAX_JSON bytes of JSON text (a
 * base64 reply carries its image inside the JSON and may be up to the
 * caller's message limit).
 */
#ifndef LQ_CLIENT_MESSAGES_H
#define LQ_CLIENT_MESSAGES_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "client/frames.h"

#define LQ_CLIENT_SESSION_ID_MAX 128
#define LQ_CLIENT_HEADER_SIZE 1024     /* encoding 2: JSON padded to this */
#define LQ_CLIENT_FRAME_HEADER_MAX 512 /* our process_frame headers fit in this */
#define LQ_CLIENT_CODE_MAX 40

/* The optional "config" of init_session; NULL/0 fields are left out (the
 * service's defaults apply). */
typedef struct lq_client_session_config {
    const char *quality;       /* low | balanced | high */
    const char *output_format; /* webp | jpeg | png */
    int output_quality;        /* 1..100, 0 = default */
    int target_fps;            /* 0 = default */
    int max_hands;             /* 0 = default */
} lq_client_session_config;

/* 1 if id is a valid session id. */
int lq_client_session_id_valid(const char *id);

/* init_session as a malloc'd NUL-terminated string (caller frees), or NULL
 * with err filled: design_json (may be NULL: no metadata) must be a JSON
 * object; reference_url (may be NULL) goes to nail_reference.url. */
char *lq_client_msg_init(const char *session_id, const char *design_json, const char *reference_url,
                         const lq_client_session_config *cfg, int64_t timestamp_ms, char *err,
                         size_t errlen);

/* The process_frame JSON header of encodings 1 and 2 (with size_bytes and
 * the frame's dimensions and format) into buf. Returns its length, or
 * LQ_ELIMIT if cap is too small (LQ_CLIENT_FRAME_HEADER_MAX always fits),
 * LQ_EINVAL for a bad session id. */
int lq_client_msg_frame_header(char *buf, size_t cap, const char *session_id, int64_t sequence,
                               int64_t timestamp_ms, const lq_client_frame *f) LQ_NODISCARD;

/* Encoding 3: the whole text message with frame_data in base64, into *buf
 * (grown with realloc as needed; *cap updated). Returns its length (< 2^31)
 * or LQ_ENOMEM / LQ_EINVAL / LQ_ELIMIT (over max_len). */
int lq_client_msg_frame_base64(char **buf, size_t *cap, size_t max_len, const char *session_id,
                               int64_t sequence, int64_t timestamp_ms,
                               const lq_client_frame *f) LQ_NODISCARD;

/* close_session / stats requests into buf; length or LQ_ELIMIT/LQ_EINVAL. */
int lq_client_msg_close(char *buf, size_t cap, const char *session_id, const char *reason,
                        int64_t timestamp_ms) LQ_NODISCARD;
int lq_client_msg_stats(char *buf, size_t cap, const char *session_id) LQ_NODISCARD;

typedef enum lq_client_reply_type {
    LQ_REPLY_OTHER = 0, /* valid JSON of a type this client does not use */
    LQ_REPLY_SESSION_READY,
    LQ_REPLY_PROCESSED_FRAME,
    LQ_REPLY_ERROR,
    LQ_REPLY_STATS,
    LQ_REPLY_SESSION_CLOSED,
    LQ_REPLY_CLOSE_SESSION, /* the service ends the session (timeout, shutdown) */
} lq_client_reply_type;

/* Stage timings of a processed frame (timings_ms), -1 when absent. */
enum lq_client_stage {
    LQ_STAGE_QUEUE = 0,
    LQ_STAGE_DECODE,
    LQ_STAGE_PALM,
    LQ_STAGE_LANDMARK,
    LQ_STAGE_NAILS,
    LQ_STAGE_QUALITY,
    LQ_STAGE_PAINT,
    LQ_STAGE_ENCODE,
    LQ_STAGE_COUNT
};
const char *lq_client_stage_name(int stage);

typedef struct lq_client_reply {
    lq_client_reply_type type;
    int has_sequence;
    int64_t sequence;
    /* processed_frame */
    double processing_ms; /* -1 when absent */
    double stage_ms[LQ_STAGE_COUNT];
    int width, height; /* frame_metadata, 0 when absent */
    char format[8];
    int64_t size_bytes; /* -1 when absent */
    int hands;          /* detection_info.hands_detected, -1 when absent */
    /* error */
    char code[LQ_CLIENT_CODE_MAX];
    int recoverable;
    char message[256];
    /* stats */
    int64_t frames_received, frames_processed, frames_dropped, frames_with_errors;
    double avg_processing_ms, p95_processing_ms;
    /* close_session / session_closed / session_ready */
    char reason[64];
    char status[32];
} lq_client_reply;

/* Parses a text reply. When it carries "frame_data" (encoding 3) and img is
 * not NULL, the image is decoded into *img (grown as needed; *img_cap updated,
 * *img_len set; at most max_img bytes). Returns 0, LQ_EFORMAT (not JSON, not
 * an object, no "type", bad base64), LQ_ELIMIT (image over max_img) or
 * LQ_ENOMEM. On failure *out is still zeroed with type LQ_REPLY_OTHER. */
int lq_client_reply_parse(const char *json, size_t len, lq_client_reply *out, uint8_t **img,
                          size_t *img_cap, size_t *img_len, size_t max_img) LQ_NODISCARD;

/* Parses an encoding-2 binary reply: the JSON in the first
 * LQ_CLIENT_HEADER_SIZE bytes (spaces/NULs trimmed); the image is the rest
 * (*img points into data). LQ_EFORMAT if shorter than the header or the
 * header is not a reply. */
int lq_client_reply_parse_binary(const uint8_t *data, size_t len, lq_client_reply *out,
                                 const uint8_t **img, size_t *img_len) LQ_NODISCARD;

#endif
