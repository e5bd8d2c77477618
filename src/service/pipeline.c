/* pipeline.c - one frame in a worker thread: decode, try on, encode, reply (see job.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "service/fetch.h"
#include "service/job.h"

static void job_fail(svc_job *j, ws_error_code code, const char *msg)
{
    j->failed = 1;
    j->err_code = code;
    snprintf(j->err_msg, sizeof j->err_msg, "%s", msg ? msg : ws_error_message(code));
}

static double ms_since(uint64_t t0)
{
    return (double)(lq_clock_ns() - t0) / 1e6;
}

/* Decodes base64 into the worker's reusable buffer. */
static int unbase64(svc_job *j, svc_job_ctx *ctx, const uint8_t **img, size_t *len)
{
    size_t need = ws_base64_decoded_max(j->data_len);
    if (need > j->limits.max_bytes + 3) {
        job_fail(j, WS_ERR_FRAME_TOO_LARGE, "frame_data decodes to more than the size limit");
        return -1;
    }
    if (ctx->b64_cap < need) {
        uint8_t *nb = realloc(ctx->b64, need);
        if (!nb) {
            job_fail(j, WS_ERR_INTERNAL_ERROR, "out of memory");
            return -1;
        }
        ctx->b64 = nb;
        ctx->b64_cap = need;
    }
    if (ws_base64_decode((const char *)j->data, j->data_len, ctx->b64, ctx->b64_cap, len) < 0) {
        job_fail(j, WS_ERR_INVALID_MESSAGE, "frame_data is not valid base64");
        return -1;
    }
    *img = ctx->b64;
    return 0;
}

/* Checks the header (format, dimensions) before any pixel is allocated. */
static int probe(svc_job *j, const uint8_t *img, size_t len)
{
    char msg[WS_MESSAGE_MAX];
    if (len == 0) {
        job_fail(j, WS_ERR_INVALID_FRAME, "the image is empty");
        return -1;
    }
    if (len > j->limits.max_bytes) {
        snprintf(msg, sizeof msg, "the image has %zu bytes; the limit is %zu", len,
                 j->limits.max_bytes);
        job_fail(j, WS_ERR_FRAME_TOO_LARGE, msg);
        return -1;
    }
    lq_format fmt = LQ_FMT_UNKNOWN;
    int w = 0, h = 0;
    int rc = lq_image_probe(img, len, &fmt, &w, &h);
    if (rc == LQ_EUNSUPPORTED) {
        job_fail(j, WS_ERR_UNSUPPORTED_FORMAT,
                 "the image is not WebP, JPEG or PNG (or uses a variant that is not supported)");
        return -1;
    }
    if (rc < 0) {
        job_fail(j, WS_ERR_INVALID_FRAME, "the image header is corrupt");
        return -1;
    }
    int mw = j->limits.max_width, mh = j->limits.max_height;
    int big = mw > mh ? mw : mh, small = mw > mh ? mh : mw;
    int lo = w < h ? w : h, hi = w < h ? h : w;
    if (hi > big || lo > small) {
        snprintf(msg, sizeof msg, "the image is %dx%d; the limit is %dx%d (either orientation)", w,
                 h, mw, mh);
        job_fail(j, WS_ERR_FRAME_TOO_LARGE, msg);
        return -1;
    }
    return 0;
}

/* yuv (may be NULL) keeps a lossy WebP frame's own planes (image/yuv.h). */
static int decode(svc_job *j, const uint8_t *img, size_t len, lq_image *frame, lq_yuv420 *yuv)
{
    char err[160] = "";
    char msg[WS_MESSAGE_MAX];
    /* The limits are orientation-agnostic: a 1080x1920 portrait frame is as
     * acceptable as 1920x1080. */
    lq_decode_limits lim = j->limits;
    int big = lim.max_width > lim.max_height ? lim.max_width : lim.max_height;
    lim.max_width = big;
    lim.max_height = big;
    int rc = lq_image_decode_ex(img, len, &lim, frame, yuv, err, sizeof err);
    if (rc == 0)
        return 0;
    snprintf(msg, sizeof msg, "cannot decode the image: %s", err[0] ? err : lq_strerror(rc));
    job_fail(j, rc == LQ_ELIMIT ? WS_ERR_FRAME_TOO_LARGE
                : rc == LQ_EUNSUPPORTED ? WS_ERR_UNSUPPORTED_FORMAT
                : rc == LQ_ENOMEM ? WS_ERR_INTERNAL_ERROR
                : WS_ERR_INVALID_FRAME,
             msg);
    return -1;
}

/* A frame with no painted nail (while painting was asked) is answered with
 * the error that best explains why; so is a frame without any hand. */
static int detection_failed(const svc_job *j)
{
    if (j->res.hands.count == 0)
        return 1;
    return j->overlay && !j->res.overlay_applied;
}

#define REFERENCE_MAX_DIM 4096

static int design_uses_reference(const nail_design *d)
{
    if (d->base.pattern == NAIL_PATTERN_REFERENCE)
        return 1;
    for (int f = 0; f < NAIL_FINGERS; f++)
        if (d->finger[f].pattern == NAIL_PATTERN_REFERENCE)
            return 1;
    return 0;
}

/* The reference photo: palette colours and texture for the session, taken
 * from the nails the photo shows (lq_tryon_reference_analyse). The session
 * has no frame in flight while this runs (it waits in PENDING). */
static void run_reference(svc_job *j, svc_job_ctx *ctx)
{
    uint64_t t0 = lq_clock_ns();
    const uint8_t *data = lq_fetch_body_data(j->body);
    size_t len = lq_fetch_body_size(j->body);
    lq_decode_limits lim = {REFERENCE_MAX_DIM, REFERENCE_MAX_DIM,
                            (uint64_t)REFERENCE_MAX_DIM * REFERENCE_MAX_DIM, len + 1};
    lq_image photo = {0};
    lq_tryon_reference ref = {0};
    char err[160] = "";
    int rc = lq_image_decode(data, len, &lim, &photo, err, sizeof err);
    if (rc < 0) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "the reference image could not be decoded: %s",
                 err[0] ? err : lq_strerror(rc));
        job_fail(j, WS_ERR_REFERENCE_FETCH_FAILED, msg);
        goto done;
    }
    j->width = photo.width;
    j->height = photo.height;
    j->decode_ms = ms_since(t0);
    rc = lq_tryon_reference_analyse(ctx->worker, &photo, &ref);
    if (rc < 0) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "the reference image could not be analysed: %s",
                 lq_strerror(rc));
        job_fail(j, WS_ERR_REFERENCE_FETCH_FAILED, msg);
        goto done;
    }
    if (!j->design.colors_given && ref.ncolors > 0 &&
        nail_design_set_colors(&j->design, ref.colors, ref.ncolors) == 0) {
        j->palette_colors = ref.ncolors;
        lq_tryon_session_set_design(j->tryon, &j->design);
    }
    if (design_uses_reference(&j->design) && ref.texture.data &&
        lq_tryon_session_set_reference(j->tryon, &ref.texture) == 0)
        j->texture_set = 1;
done:
    lq_image_free(&ref.texture);
    lq_image_free(&photo);
    lq_fetch_body_release(j->body);
    j->body = NULL;
    j->work_ms = ms_since(t0);
}

void svc_job_run(svc_job *j, svc_job_ctx *ctx)
{
    if (j->kind == SVC_JOB_REFERENCE) {
        run_reference(j, ctx);
        return;
    }
    uint64_t t0 = lq_clock_ns();
    j->started_ns = t0;
    j->queue_ms = (double)(t0 - j->received_ns) / 1e6;
    const uint8_t *img = j->data;
    size_t len = j->data_len;
    lq_image frame = {0};
    /* WebP in, WebP out: the decoder's planes are kept, and only the painted
     * boxes go back through a colour conversion before encoding. */
    lq_yuv420 yuv = {0};

    if (j->is_base64 && unbase64(j, ctx, &img, &len) < 0)
        goto done;
    if (probe(j, img, len) < 0 ||
        decode(j, img, len, &frame, j->out_format == LQ_FMT_WEBP ? &yuv : NULL) < 0)
        goto done;
    j->decode_ms = ms_since(t0);
    j->width = frame.width;
    j->height = frame.height;
    /* The input is no longer needed: release it before the heavy part. */
    free(j->owner);
    j->owner = NULL;
    j->data = NULL;
    j->data_len = 0;

    int64_t ts_us = (int64_t)(j->received_ns / 1000u);
    int rc = lq_tryon_process(ctx->worker, j->tryon, &frame, ts_us, &j->res);
    if (rc < 0) {
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "inference failed: %s", lq_strerror(rc));
        job_fail(j, WS_ERR_MODEL_ERROR, msg);
        goto done;
    }
    j->processed = 1;
    if (detection_failed(j)) {
        job_fail(j, ws_problem_error(&j->res), NULL);
        goto done;
    }
    uint64_t te = lq_clock_ns();
    if (yuv.width) {
        for (int i = 0; i < j->res.npainted; i++)
            lq_yuv420_update_rect(&yuv, &frame, &j->res.painted[i]);
        rc = lq_image_encode_yuv(&yuv, j->out_quality, j->out_effort, &ctx->enc);
    } else {
        rc = lq_image_encode(&frame, j->out_format, j->out_quality, j->out_effort, &ctx->enc);
    }
    j->encode_ms = ms_since(te);
    if (rc < 0) {
        job_fail(j, WS_ERR_PROCESSING_FAILED, "encoding the processed frame failed");
        goto done;
    }
    j->out_bytes = ctx->enc.len;
    ws_frame_reply r = {
        .session_id = j->session_id,
        .sequence = j->sequence,
        .has_request_timestamp = j->has_request_timestamp,
        .request_timestamp = j->request_timestamp,
        .timestamp = lq_clock_epoch_ms(),
        .processing_ms = (double)(lq_clock_ns() - j->received_ns) / 1e6,
        .decode_ms = j->decode_ms,
        .encode_ms = j->encode_ms,
        .queue_ms = j->queue_ms,
        .width = frame.width,
        .height = frame.height,
        .format = j->out_format,
        .size_bytes = ctx->enc.len,
        .res = &j->res,
    };
    if (ws_build_processed_frame(&r, j->encoding, ctx->enc.data, ctx->enc.len, &j->out1,
                                 &j->out2) < 0)
        job_fail(j, WS_ERR_INTERNAL_ERROR, "out of memory building the reply");

done:
    lq_image_free(&frame);
    lq_yuv420_free(&yuv);
    j->work_ms = ms_since(t0);
    j->processing_ms = (double)(lq_clock_ns() - j->received_ns) / 1e6;
}

void svc_job_ctx_release(svc_job_ctx *ctx)
{
    lq_encoded_free(&ctx->enc);
    free(ctx->b64);
    ctx->b64 = NULL;
    ctx->b64_cap = 0;
}
