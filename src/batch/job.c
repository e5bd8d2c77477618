/* job.c - parsing and running one batch try-on job (see job.h, docs/batch.md). */
#include "batch/job.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "tryon/tryon_json.h"

static const struct {
    const char *name;
    int retry;
    const char *msg;
} error_table[] = {
#define BATCH__ERR_ROW(name, retry, msg) {#name, retry, msg},
    BATCH_ERROR_MAP(BATCH__ERR_ROW)
#undef BATCH__ERR_ROW
};

const char *batch_error_name(batch_error_code code)
{
    return (unsigned)code < BATCH_ERR_COUNT ? error_table[code].name : "UNKNOWN";
}

const char *batch_error_message(batch_error_code code)
{
    return (unsigned)code < BATCH_ERR_COUNT ? error_table[code].msg : "Unknown error";
}

int batch_error_retryable(batch_error_code code)
{
    return (unsigned)code < BATCH_ERR_COUNT ? error_table[code].retry : 0;
}

void batch_outcome_fail(batch_outcome *out, batch_error_code code, const char *fmt, ...)
{
    out->ok = 0;
    out->code = code;
    if (!fmt) {
        snprintf(out->message, sizeof out->message, "%s", batch_error_message(code));
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->message, sizeof out->message, fmt, ap);
    va_end(ap);
}

void batch_outcome_reset(batch_outcome *out)
{
    lq_encoded keep = out->image;
    free(out->metadata);
    memset(out, 0, sizeof *out);
    keep.len = 0;
    out->image = keep;
}

void batch_outcome_release(batch_outcome *out)
{
    free(out->metadata);
    lq_encoded_free(&out->image);
    memset(out, 0, sizeof *out);
}

/* ---- parsing ---- */

static int name_is(const batch_field *f, const char *s)
{
    size_t n = strlen(s);
    return f->name_len == n && memcmp(f->name, s, n) == 0;
}

static int job_id_valid(const uint8_t *s, size_t n)
{
    if (n < 1 || n > BATCH_JOB_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        int c = s[i];
        if (!isalnum(c) && c != '.' && c != '_' && c != ':' && c != '-')
            return 0;
    }
    return 1;
}

/* Copies a short text value, lower-cased, into buf; 0 if it does not fit or
 * holds a NUL. */
static int small_text(const batch_field *f, char *buf, size_t cap)
{
    if (f->value_len >= cap || memchr(f->value, 0, f->value_len))
        return 0;
    for (size_t i = 0; i < f->value_len; i++)
        buf[i] = (char)tolower(f->value[i]);
    buf[f->value_len] = '\0';
    return 1;
}

static int small_int(const batch_field *f, int lo, int hi, int *out)
{
    char buf[16];
    if (!small_text(f, buf, sizeof buf) || !buf[0])
        return 0;
    char *end = NULL;
    long v = strtol(buf, &end, 10);
    if (*end || v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

enum known_field {
    F_IMAGE = 0, F_DESIGN, F_JOB_ID, F_OUTPUT_FORMAT, F_OUTPUT_QUALITY, F_QUALITY, F_MAX_HANDS,
    F_COUNT
};
static const char *const known_names[F_COUNT] = {"image", "design", "job_id", "output_format",
                                                 "output_quality", "quality", "max_hands"};

static int parse_option(const batch_field *f, int which, batch_job *job, batch_outcome *out)
{
    char buf[16];
    switch (which) {
    case F_OUTPUT_FORMAT: {
        lq_format fmt = small_text(f, buf, sizeof buf) ? lq_format_parse(buf) : LQ_FMT_UNKNOWN;
        if (fmt == LQ_FMT_UNKNOWN) {
            batch_outcome_fail(out, BATCH_ERR_INVALID_CONFIG,
                               "output_format: expected webp, jpeg (or jpg) or png");
            return -1;
        }
        job->output_format = fmt;
        return 0;
    }
    case F_OUTPUT_QUALITY:
        if (!small_int(f, 1, 100, &job->output_quality)) {
            batch_outcome_fail(out, BATCH_ERR_INVALID_CONFIG,
                               "output_quality: expected an integer 1..100");
            return -1;
        }
        return 0;
    case F_QUALITY:
        if (small_text(f, buf, sizeof buf) && strcmp(buf, "low") == 0)
            job->quality = BATCH_QUALITY_LOW;
        else if (small_text(f, buf, sizeof buf) && strcmp(buf, "balanced") == 0)
            job->quality = BATCH_QUALITY_BALANCED;
        else if (small_text(f, buf, sizeof buf) && strcmp(buf, "high") == 0)
            job->quality = BATCH_QUALITY_HIGH;
        else {
            batch_outcome_fail(out, BATCH_ERR_INVALID_CONFIG,
                               "quality: expected low, balanced or high");
            return -1;
        }
        return 0;
    case F_MAX_HANDS:
        if (!small_int(f, 1, LQ_HAND_MAX, &job->max_hands)) {
            batch_outcome_fail(out, BATCH_ERR_INVALID_CONFIG, "max_hands: expected 1 or 2");
            return -1;
        }
        return 0;
    default:
        return 0;
    }
}

int batch_job_parse(const batch_field *fields, size_t nfields, const char *entry_id,
                    const batch_job_limits *lim, batch_job *job, batch_outcome *out)
{
    const batch_field *seen[F_COUNT] = {0};
    batch_job j;
    memset(&j, 0, sizeof j);
    j.output_format = LQ_FMT_WEBP;
    j.output_quality = 75;
    j.quality = BATCH_QUALITY_BALANCED;
    j.max_hands = LQ_HAND_MAX;
    nail_design_default(&j.design);
    out->job_id[0] = '\0';

    if (nfields > BATCH_JOB_MAX_FIELDS) {
        batch_outcome_fail(out, BATCH_ERR_INVALID_JOB, "the entry has %zu fields; at most %d",
                           nfields, BATCH_JOB_MAX_FIELDS);
        return LQ_EINVAL;
    }
    for (size_t i = 0; i < nfields; i++) {
        const batch_field *f = &fields[i];
        int which = -1;
        for (int k = 0; k < F_COUNT; k++)
            if (name_is(f, known_names[k]))
                which = k;
        if (which < 0) {
            j.unknown_fields++;
            continue;
        }
        if (seen[which]) {
            batch_outcome_fail(out, BATCH_ERR_INVALID_JOB, "field %s is given twice",
                               known_names[which]);
            return LQ_EINVAL;
        }
        seen[which] = f;
    }

    /* The job id first, so every later error can name it. */
    if (seen[F_JOB_ID]) {
        if (!job_id_valid(seen[F_JOB_ID]->value, seen[F_JOB_ID]->value_len)) {
            batch_outcome_fail(out, BATCH_ERR_INVALID_JOB,
                               "job_id: expected 1..%d characters of A-Z a-z 0-9 . _ : -",
                               BATCH_JOB_ID_MAX);
            return LQ_EINVAL;
        }
        memcpy(j.job_id, seen[F_JOB_ID]->value, seen[F_JOB_ID]->value_len);
        j.job_id[seen[F_JOB_ID]->value_len] = '\0';
    } else {
        snprintf(j.job_id, sizeof j.job_id, "%s", entry_id ? entry_id : "");
    }
    snprintf(out->job_id, sizeof out->job_id, "%s", j.job_id);

    for (int k = F_OUTPUT_FORMAT; k < F_COUNT; k++)
        if (seen[k] && parse_option(seen[k], k, &j, out) < 0)
            return LQ_EINVAL;

    if (seen[F_DESIGN]) {
        char err[BATCH_MESSAGE_MAX - 16];
        if (nail_design_parse_json((const char *)seen[F_DESIGN]->value, seen[F_DESIGN]->value_len,
                                   &j.design, err, sizeof err) < 0) {
            batch_outcome_fail(out, BATCH_ERR_INVALID_DESIGN, "design: %s", err);
            return LQ_EINVAL;
        }
    }
    if (!seen[F_IMAGE] || seen[F_IMAGE]->value_len == 0) {
        batch_outcome_fail(out, BATCH_ERR_INVALID_JOB, "the job has no image field");
        return LQ_EINVAL;
    }
    if (seen[F_IMAGE]->value_len > lim->max_image_bytes) {
        batch_outcome_fail(out, BATCH_ERR_FRAME_TOO_LARGE, "the image has %zu bytes; the limit is %zu",
                           seen[F_IMAGE]->value_len, lim->max_image_bytes);
        return LQ_EINVAL;
    }
    j.image = seen[F_IMAGE]->value;
    j.image_len = seen[F_IMAGE]->value_len;
    *job = j;
    return 0;
}

/* ---- processing ---- */

static double r3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

static uint32_t fnv1a(const char *s)
{
    uint32_t h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

/* Checks format and dimensions from the header, then decodes. */
static int decode(const batch_job *job, const batch_job_limits *lim, lq_image *frame,
                  batch_outcome *out)
{
    lq_format fmt = LQ_FMT_UNKNOWN;
    int w = 0, h = 0;
    int rc = lq_image_probe(job->image, job->image_len, &fmt, &w, &h);
    if (rc == LQ_EUNSUPPORTED) {
        batch_outcome_fail(out, BATCH_ERR_UNSUPPORTED_FORMAT,
                           "the image is not WebP, JPEG or PNG (or uses a variant that is not "
                           "supported)");
        return -1;
    }
    if (rc < 0) {
        batch_outcome_fail(out, BATCH_ERR_INVALID_FRAME, "the image header is corrupt");
        return -1;
    }
    int big = lim->max_width > lim->max_height ? lim->max_width : lim->max_height;
    int small = lim->max_width > lim->max_height ? lim->max_height : lim->max_width;
    if ((w > h ? w : h) > big || (w < h ? w : h) > small) {
        batch_outcome_fail(out, BATCH_ERR_FRAME_TOO_LARGE,
                           "the image is %dx%d; the limit is %dx%d (either orientation)", w, h,
                           lim->max_width, lim->max_height);
        return -1;
    }
    lq_decode_limits dl = {big, big, (uint64_t)big * (uint64_t)small, lim->max_image_bytes};
    char err[160] = "";
    rc = lq_image_decode(job->image, job->image_len, &dl, frame, err, sizeof err);
    if (rc == 0)
        return 0;
    batch_outcome_fail(out,
                       rc == LQ_ENOMEM         ? BATCH_ERR_INTERNAL_ERROR
                       : rc == LQ_ELIMIT       ? BATCH_ERR_FRAME_TOO_LARGE
                       : rc == LQ_EUNSUPPORTED ? BATCH_ERR_UNSUPPORTED_FORMAT
                                               : BATCH_ERR_INVALID_FRAME,
                       "cannot decode the image: %s", err[0] ? err : lq_strerror(rc));
    return -1;
}

static batch_error_code problem_error(const lq_tryon_result *res)
{
    if (res->problems & LQ_PROBLEM_LOW_LIGHT)
        return BATCH_ERR_LOW_LIGHT;
    if (res->problems & LQ_PROBLEM_BLUR)
        return BATCH_ERR_BLUR_DETECTED;
    if (res->hands.count == 0 || (res->problems & LQ_PROBLEM_NO_HAND))
        return BATCH_ERR_HAND_NOT_DETECTED;
    return BATCH_ERR_PARTIAL_HAND_DETECTED;
}

typedef struct job_timing {
    double decode_ms, encode_ms, total_ms;
} job_timing;

/* The metadata object of docs/batch.md. NULL when out of memory. */
static char *metadata_json(const batch_job *job, const lq_image *frame, const lq_tryon_result *res,
                           const batch_outcome *out, const job_timing *t)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "job_id", job->job_id);
    cJSON_AddNumberToObject(root, "width", frame->width);
    cJSON_AddNumberToObject(root, "height", frame->height);
    if (out->ok) {
        cJSON_AddStringToObject(root, "format", lq_format_name(out->format));
        cJSON_AddNumberToObject(root, "size_bytes", (double)out->image.len);
    }
    cJSON_AddNumberToObject(root, "processing_time_ms", r3(t->total_ms));
    cJSON_AddNumberToObject(root, "confidence_score", r3(res->confidence));

    lq_tryon_json_add_detection(root, res);

    cJSON *tm = cJSON_AddObjectToObject(root, "timings_ms");
    cJSON_AddNumberToObject(tm, "decode", r3(t->decode_ms));
    lq_tryon_json_add_stage_timings(tm, res);
    cJSON_AddNumberToObject(tm, "encode", r3(t->encode_ms));
    cJSON_AddNumberToObject(tm, "total", r3(t->total_ms));

    lq_tryon_json_add_hands(root, res, 0);
    lq_tryon_json_add_nails(root, res);
    char design[2048];
    if (nail_design_to_json(&job->design, design, sizeof design) > 0)
        cJSON_AddRawToObject(root, "design", design);

    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return NULL;
    /* cJSON's allocator is malloc unless hooks are installed (they are not),
     * so the caller may free() the text. */
    return text;
}

void batch_job_process(lq_tryon_engine *engine, lq_tryon_worker *worker, const batch_job *job,
                       const batch_job_limits *lim, batch_outcome *out)
{
    uint64_t t0 = lq_clock_ns();
    job_timing t = {0};
    lq_image frame = {0};
    lq_tryon_session *session = NULL;
    lq_tryon_result res;
    memset(&res, 0, sizeof res);
    snprintf(out->job_id, sizeof out->job_id, "%s", job->job_id);

    if (decode(job, lim, &frame, out) < 0)
        goto done;
    t.decode_ms = (double)(lq_clock_ns() - t0) / 1e6;

    lq_tryon_session_opts so = LQ_TRYON_SESSION_OPTS_DEFAULT;
    so.variant = job->quality == BATCH_QUALITY_LOW ? LQ_MODEL_LITE : LQ_MODEL_FULL;
    so.max_hands = job->max_hands;
    so.smoothing = 0;
    so.static_mode = 1;
    so.seed = fnv1a(job->job_id);
    int rc = lq_tryon_session_create(engine, &job->design, &so, &session);
    if (rc < 0) {
        batch_outcome_fail(out, BATCH_ERR_INTERNAL_ERROR, "cannot create a try-on session: %s",
                           lq_strerror(rc));
        goto done;
    }
    rc = lq_tryon_process(worker, session, &frame, 0, &res);
    if (rc < 0) {
        batch_outcome_fail(out, BATCH_ERR_MODEL_ERROR, "inference failed: %s", lq_strerror(rc));
        goto done;
    }
    if (res.hands.count == 0 || !res.overlay_applied) {
        batch_outcome_fail(out, problem_error(&res), NULL);
    } else {
        uint64_t te = lq_clock_ns();
        static const int effort[] = {0, 1, 3}; /* low, balanced, high: as the protocol */
        rc = lq_image_encode(&frame, job->output_format, job->output_quality,
                             effort[job->quality], &out->image);
        t.encode_ms = (double)(lq_clock_ns() - te) / 1e6;
        if (rc < 0) {
            batch_outcome_fail(out,
                               rc == LQ_ENOMEM ? BATCH_ERR_INTERNAL_ERROR
                                               : BATCH_ERR_PROCESSING_FAILED,
                               "encoding the %s image failed: %s",
                               lq_format_name(job->output_format), lq_strerror(rc));
            goto done;
        }
        out->ok = 1;
        out->format = job->output_format;
    }
    t.total_ms = (double)(lq_clock_ns() - t0) / 1e6;
    out->metadata = metadata_json(job, &frame, &res, out, &t);
    if (!out->metadata) {
        out->image.len = 0;
        batch_outcome_fail(out, BATCH_ERR_INTERNAL_ERROR, "out of memory building the metadata");
    }

done:
    lq_tryon_session_destroy(session);
    lq_image_free(&frame);
    out->processing_ms = (double)(lq_clock_ns() - t0) / 1e6;
}
