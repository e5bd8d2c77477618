/*
 * job.h - one batch try-on job: its fields in, the painted image and its metadata out.
 *
 *   batch_job job;
 *   batch_outcome out = {0};                       // reusable across jobs
 *   if (batch_job_parse(fields, nfields, entry_id, &lim, &job, &out) == 0)
 *       batch_job_process(engine, worker, &job, &lim, &out);
 *   if (out.ok)          write(out.image.data, out.image.len, out.metadata);
 *   else if (!batch_error_retryable(out.code)) write_error(out.code, out.message, out.metadata);
 *   else                 leave the job pending: it is delivered again later
 *   batch_outcome_reset(&out);                     // between jobs
 *   ...
 *   batch_outcome_release(&out);                   // at the end
 *
 * A job is the field/value list of one Redis stream entry (docs/batch.md):
 *   image           required, the photo: WebP, JPEG or PNG bytes (format sniffed)
 *   design          optional, nail design JSON (nail_reference.metadata of the
 *                   protocol, docs/designs.md); absent = the default design
 *   job_id          optional, 1..BATCH_JOB_ID_MAX of [A-Za-z0-9._:-]; absent = entry id
 *   output_format   optional, webp | jpeg | jpg | png (default webp)
 *   output_quality  optional, 1..100 (default 75)
 *   quality         optional, low | balanced | high (default balanced): the
 *                   model variant and encoder effort, as in the protocol
 *   max_hands       optional, 1..2 (default 2)
 * Other fields are ignored (counted in unknown_fields), so a dead-lettered
 * entry (which carries extra dead_* fields) can be re-queued as it is.
 *
 * Each photo is processed on its own (static image mode: no tracking, no
 * smoothing). Deterministic failures (a bad field, an image that does not
 * decode, no hand...) are final: the producer gets an error result and the
 * job is acknowledged. Only failures of the machine itself (out of memory,
 * inference failure) are retryable.
 *
 * Limits: field names at most BATCH_FIELD_NAME_MAX bytes, at most
 * BATCH_JOB_MAX_FIELDS fields, image bytes and dimensions per
 * batch_job_limits, design per nail_design_parse_json.
 *
 * Thread-safety: parse is reentrant; process uses the caller's tryon worker
 * (one per thread) and the shared read-only engine.
 */
#ifndef LQ_BATCH_JOB_H
#define LQ_BATCH_JOB_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "image/codec.h"
#include "nails/design.h"
#include "tryon/tryon.h"

#define BATCH_JOB_ID_MAX 128
#define BATCH_FIELD_NAME_MAX 64
#define BATCH_JOB_MAX_FIELDS 64
#define BATCH_MESSAGE_MAX 256

/* X(CODE, retryable, default message). The codes shared with the WebSocket
 * protocol mean the same thing there (docs/protocol.md). */
#define BATCH_ERROR_MAP(X)                                                                      \
    X(INVALID_JOB, 0, "The job is malformed")                                                   \
    X(UNSUPPORTED_FORMAT, 0, "The image is not WebP, JPEG or PNG")                              \
    X(INVALID_FRAME, 0, "The image could not be decoded")                                       \
    X(FRAME_TOO_LARGE, 0, "The image is too large")                                             \
    X(INVALID_DESIGN, 0, "The nail design is invalid")                                          \
    X(INVALID_CONFIG, 0, "An output option is invalid")                                         \
    X(HAND_NOT_DETECTED, 0, "No hand detected in the image")                                    \
    X(PARTIAL_HAND_DETECTED, 0, "Only part of the hand is visible")                             \
    X(LOW_LIGHT, 0, "Lighting is too low for accurate detection")                               \
    X(BLUR_DETECTED, 0, "The image is too blurry")                                              \
    X(PROCESSING_FAILED, 0, "Encoding the processed image failed")                              \
    X(MODEL_ERROR, 1, "Model inference failed")                                                 \
    X(INTERNAL_ERROR, 1, "Internal error")                                                      \
    X(MAX_ATTEMPTS_EXCEEDED, 0, "The job was delivered too many times without completing")

typedef enum batch_error_code {
#define BATCH__ERR_ENUM(name, retry, msg) BATCH_ERR_##name,
    BATCH_ERROR_MAP(BATCH__ERR_ENUM)
#undef BATCH__ERR_ENUM
    BATCH_ERR_COUNT
} batch_error_code;

const char *batch_error_name(batch_error_code code);     /* "INVALID_FRAME"; "UNKNOWN" */
const char *batch_error_message(batch_error_code code);
/* 1: a failure of this attempt, not of the job (leave it pending, retry). */
int batch_error_retryable(batch_error_code code);

/* One field of a stream entry; views into the reply that holds them. */
typedef struct batch_field {
    const char *name;
    size_t name_len;
    const uint8_t *value;
    size_t value_len;
} batch_field;

typedef struct batch_job_limits {
    size_t max_image_bytes;     /* encoded image */
    int max_width, max_height;  /* either orientation (1080x1920 fits 1920x1080) */
} batch_job_limits;

typedef enum batch_quality { BATCH_QUALITY_LOW = 0, BATCH_QUALITY_BALANCED, BATCH_QUALITY_HIGH } batch_quality;

typedef struct batch_job {
    char job_id[BATCH_JOB_ID_MAX + 1];
    const uint8_t *image;       /* view into the fields */
    size_t image_len;
    nail_design design;
    lq_format output_format;
    int output_quality;         /* 1..100 */
    batch_quality quality;
    int max_hands;              /* 1..LQ_HAND_MAX */
    int unknown_fields;
} batch_job;

typedef struct batch_outcome {
    int ok;                     /* 1: image and metadata are the result */
    batch_error_code code;      /* when !ok */
    char message[BATCH_MESSAGE_MAX];
    char job_id[BATCH_JOB_ID_MAX + 1]; /* as far as it was known ("" if not) */
    lq_encoded image;           /* the painted image when ok; buffer kept across jobs */
    lq_format format;
    char *metadata;             /* JSON object (malloc'd) or NULL; see docs/batch.md */
    double processing_ms;       /* decode + try-on + encode */
} batch_outcome;

/* Reads the fields of entry `entry_id`. Returns 0, or LQ_EINVAL with
 * out->code (INVALID_JOB, INVALID_DESIGN, INVALID_CONFIG, FRAME_TOO_LARGE)
 * and out->message set; out->job_id is filled whenever the job named one. */
int batch_job_parse(const batch_field *fields, size_t nfields, const char *entry_id,
                    const batch_job_limits *lim, batch_job *job, batch_outcome *out) LQ_NODISCARD;

/* Decodes, paints and encodes. Fills out: ok with image and metadata, or
 * code and message (with metadata when the detector ran: detection_info
 * explains HAND_NOT_DETECTED and the others). Never fails otherwise. The
 * engine must have been created with the lite models when the job asks for
 * quality "low". */
void batch_job_process(lq_tryon_engine *engine, lq_tryon_worker *worker, const batch_job *job,
                       const batch_job_limits *lim, batch_outcome *out);

/* Makes out ready for the next job: frees metadata, clears the result, keeps
 * the image buffer's memory. */
void batch_outcome_reset(batch_outcome *out);

/* Frees everything out holds. */
void batch_outcome_release(batch_outcome *out);

/* Sets out to a failure with a formatted message (printf-style). */
void batch_outcome_fail(batch_outcome *out, batch_error_code code, const char *fmt, ...)
    LQ_PRINTF(3, 4);

#endif
