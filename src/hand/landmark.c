/* landmark.c - hand landmark model: ROI warp, decoding, next-frame ROI. */
#include "hand/landmark.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/clock.h"
#include "base/log.h"
#include "hand/roi.h"
#include "image/warp.h"

#define LM_NORMALIZE_Z 0.4f /* TensorsToLandmarks normalize_z */
#define LM_ROI_SCALE 2.0f
#define LM_ROI_SHIFT_Y (-0.1f)
#define LM_MAX_ROI_PX 65536.0f /* refuse absurd ROIs (NaN, inf, overflow) */

struct lq_landmarker {
    const xg_net *net;
    xg_runner *runner;
    int out_lm, out_presence, out_handedness, out_world;
};

void lq_landmark_padded_roi(const lq_hand_rect *roi, int img_w, int img_h, float *cx, float *cy,
                            float *w, float *h, float *pad_x, float *pad_y)
{
    /* ImageToTensorCalculator GetRoi + PadRoi with a square (1:1) tensor. */
    float rw = roi->w * (float)img_w;
    float rh = roi->h * (float)img_h;
    float px = 0.0f, py = 0.0f;
    const float tensor_aspect = 1.0f;
    const float roi_aspect = rh / rw;
    if (tensor_aspect > roi_aspect) {
        py = (1.0f - roi_aspect / tensor_aspect) / 2.0f;
        rh = rw * tensor_aspect;
    } else {
        px = (1.0f - tensor_aspect / roi_aspect) / 2.0f;
        rw = rh / tensor_aspect;
    }
    *cx = roi->cx * (float)img_w;
    *cy = roi->cy * (float)img_h;
    *w = rw;
    *h = rh;
    *pad_x = px;
    *pad_y = py;
}

void lq_landmark_decode(const float *raw_lm, const float *raw_world, float presence,
                        float handedness_left, const lq_hand_rect *roi, int img_w, int img_h,
                        lq_hand *out)
{
    float pcx, pcy, pw, ph, pad_x, pad_y;
    lq_landmark_padded_roi(roi, img_w, img_h, &pcx, &pcy, &pw, &ph, &pad_x, &pad_y);
    const float c = cosf(roi->rotation), s = sinf(roi->rotation);
    const float in = (float)LQ_LANDMARK_INPUT;
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
        const float *r = raw_lm + 3 * i;
        /* TensorsToLandmarks: normalized to the model input. */
        float x = r[0] / in;
        float y = r[1] / in;
        const float z = r[2] / in / LM_NORMALIZE_Z;
        /* LandmarkLetterboxRemoval. */
        x = (x - pad_x) / (1.0f - 2.0f * pad_x);
        y = (y - pad_y) / (1.0f - 2.0f * pad_y);
        /* LandmarkProjection, in normalized image coordinates. */
        const float dx = x - 0.5f, dy = y - 0.5f;
        const float nx = (c * dx - s * dy) * roi->w + roi->cx;
        const float ny = (s * dx + c * dy) * roi->h + roi->cy;
        const float nz = z * roi->w;
        out->lm[i].x = nx * (float)img_w;
        out->lm[i].y = ny * (float)img_h;
        out->lm[i].z = nz * (float)img_w;
        /* WorldLandmarkProjection. */
        const float *wr = raw_world + 3 * i;
        out->world[i].x = c * wr[0] - s * wr[1];
        out->world[i].y = s * wr[0] + c * wr[1];
        out->world[i].z = wr[2];
    }
    out->presence = presence;
    /* TensorsToClassification (binary): "Left" = p, "Right" = 1 - p; top 1. */
    if (handedness_left >= 1.0f - handedness_left) {
        out->handedness = LQ_HAND_LEFT;
        out->handedness_score = handedness_left;
    } else {
        out->handedness = LQ_HAND_RIGHT;
        out->handedness_score = 1.0f - handedness_left;
    }
    out->roi = *roi;
}

void lq_landmarks_to_rect(const lq_hand *h, int img_w, int img_h, lq_hand_rect *out)
{
    /* HandLandmarksToRectCalculator works on this subset of the 21 landmarks;
     * its "PIP" constants index the subset and land on the MCP joints. */
    static const int subset[12] = {0, 1, 2, 3, 5, 6, 9, 10, 13, 14, 17, 18};
    const float fw = (float)img_w, fh = (float)img_h;
    float x[12], y[12];
    for (int i = 0; i < 12; i++) {
        x[i] = h->lm[subset[i]].x / fw;
        y[i] = h->lm[subset[i]].y / fh;
    }
    const float x0 = x[0] * fw, y0 = y[0] * fh;
    float x1 = (x[4] + x[8]) / 2.0f;
    float y1 = (y[4] + y[8]) / 2.0f;
    x1 = (x1 + x[6]) / 2.0f * fw;
    y1 = (y1 + y[6]) / 2.0f * fh;
    const float rotation = lq_rotation_to_upright(x0, y0, x1, y1);
    const float reverse = lq_normalize_radians(-rotation);

    /* MediaPipe seeds its maxima with FLT_MIN (the smallest positive float),
     * not -FLT_MAX; kept for identical results on hands past the left/top edge. */
    float max_x = FLT_MIN, max_y = FLT_MIN, min_x = FLT_MAX, min_y = FLT_MAX;
    for (int i = 0; i < 12; i++) {
        max_x = fmaxf(max_x, x[i]);
        max_y = fmaxf(max_y, y[i]);
        min_x = fminf(min_x, x[i]);
        min_y = fminf(min_y, y[i]);
    }
    const float acx = (max_x + min_x) / 2.0f, acy = (max_y + min_y) / 2.0f;

    const float cr = cosf(reverse), sr = sinf(reverse);
    max_x = FLT_MIN, max_y = FLT_MIN, min_x = FLT_MAX, min_y = FLT_MAX;
    for (int i = 0; i < 12; i++) {
        const float ox = (x[i] - acx) * fw, oy = (y[i] - acy) * fh;
        const float px = ox * cr - oy * sr;
        const float py = ox * sr + oy * cr;
        max_x = fmaxf(max_x, px);
        max_y = fmaxf(max_y, py);
        min_x = fminf(min_x, px);
        min_y = fminf(min_y, py);
    }
    const float pcx = (max_x + min_x) / 2.0f, pcy = (max_y + min_y) / 2.0f;
    const float c = cosf(rotation), s = sinf(rotation);
    lq_hand_rect r;
    r.cx = (pcx * c - pcy * s + fw * acx) / fw;
    r.cy = (pcx * s + pcy * c + fh * acy) / fh;
    r.w = (max_x - min_x) / fw;
    r.h = (max_y - min_y) / fh;
    r.rotation = rotation;
    const lq_rect_transform_opts t = {
        .scale_x = LM_ROI_SCALE,
        .scale_y = LM_ROI_SCALE,
        .shift_x = 0.0f,
        .shift_y = LM_ROI_SHIFT_Y,
        .square_long = 1,
    };
    lq_rect_transform(&r, img_w, img_h, &t);
    *out = r;
}

static float baseline(const lq_hand *h)
{
    const lq_point3 *w = &h->lm[LQ_LM_WRIST], *i = &h->lm[LQ_LM_INDEX_MCP];
    const lq_point3 *p = &h->lm[LQ_LM_PINKY_MCP];
    float d = hypotf(w->x - i->x, w->y - i->y);
    d = fmaxf(d, hypotf(i->x - p->x, i->y - p->y));
    return fmaxf(d, hypotf(p->x - w->x, p->y - w->y));
}

static lq_box landmark_bounds(const lq_hand *h)
{
    float x0 = FLT_MAX, y0 = FLT_MAX, x1 = -FLT_MAX, y1 = -FLT_MAX;
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
        x0 = fminf(x0, h->lm[i].x);
        y0 = fminf(y0, h->lm[i].y);
        x1 = fmaxf(x1, h->lm[i].x);
        y1 = fmaxf(y1, h->lm[i].y);
    }
    return (lq_box){x0, y0, x1 - x0, y1 - y0};
}

int lq_hands_duplicate(const lq_hand *a, const lq_hand *b)
{
    const float thresh = 0.2f * fmaxf(baseline(a), baseline(b));
    int close = 0;
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++)
        close += hypotf(a->lm[i].x - b->lm[i].x, a->lm[i].y - b->lm[i].y) < thresh;
    if (close < 10)
        return 0;
    const lq_box ba = landmark_bounds(a), bb = landmark_bounds(b);
    return lq_box_iou(&ba, &bb) > 0.2f;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

int lq_landmark_net_check(const xg_net *net, char *err, size_t errlen)
{
    int dims[TFL_MAX_DIMS];
    if (!net || xg_net_num_inputs(net) != 1) {
        set_err(err, errlen, "landmark model: expected exactly one input");
        return LQ_EFORMAT;
    }
    const int nd = xg_net_input_shape(net, 0, dims);
    if (nd != 4 || dims[0] != 1 || dims[1] != LQ_LANDMARK_INPUT || dims[2] != LQ_LANDMARK_INPUT ||
        dims[3] != 3) {
        set_err(err, errlen, "landmark model: input is not 1x224x224x3");
        return LQ_EFORMAT;
    }
    static const char *names[4] = {"Identity", "Identity_1", "Identity_2", "Identity_3"};
    static const size_t sizes[4] = {3 * LQ_HAND_LANDMARKS, 1, 1, 3 * LQ_HAND_LANDMARKS};
    for (int i = 0; i < 4; i++) {
        const int o = xg_net_find_output(net, names[i]);
        if (o < 0 || xg_net_output_size(net, o) != sizes[i]) {
            set_err(err, errlen,
                    "landmark model: outputs are not Identity[63], Identity_1[1], "
                    "Identity_2[1], Identity_3[63]");
            return LQ_EFORMAT;
        }
    }
    return 0;
}

int lq_landmarker_create(const xg_net *net, int threads, lq_landmarker **out)
{
    char err[160];
    if (!out)
        return LQ_EINVAL;
    int rc = lq_landmark_net_check(net, err, sizeof err);
    if (rc < 0) {
        LQ_ERROR("landmark", "%s", err);
        return rc;
    }
    lq_landmarker *l = calloc(1, sizeof *l);
    if (!l)
        return LQ_ENOMEM;
    l->net = net;
    l->out_lm = xg_net_find_output(net, "Identity");
    l->out_presence = xg_net_find_output(net, "Identity_1");
    l->out_handedness = xg_net_find_output(net, "Identity_2");
    l->out_world = xg_net_find_output(net, "Identity_3");
    rc = xg_runner_create(net, threads, &l->runner);
    if (rc < 0) {
        free(l);
        return rc;
    }
    *out = l;
    return 0;
}

void lq_landmarker_destroy(lq_landmarker *l)
{
    if (!l)
        return;
    xg_runner_destroy(l->runner);
    free(l);
}

static int roi_valid(const lq_hand_rect *r, int img_w, int img_h)
{
    const float w = r->w * (float)img_w, h = r->h * (float)img_h;
    return isfinite(r->cx) && isfinite(r->cy) && isfinite(r->rotation) && isfinite(w) &&
           isfinite(h) && w > 0.0f && h > 0.0f && w < LM_MAX_ROI_PX && h < LM_MAX_ROI_PX &&
           fabsf(r->cx) < 64.0f && fabsf(r->cy) < 64.0f;
}

int lq_landmark_run(lq_landmarker *l, const lq_image *img, const lq_hand_rect *roi, lq_hand *out,
                    lq_hand_timings *t)
{
    if (!l || !img || !img->data || img->width < 1 || img->height < 1 || !roi || !out)
        return LQ_EINVAL;
    if (!roi_valid(roi, img->width, img->height))
        return LQ_EINVAL;
    const double t0 = lq_clock_ms();
    float cx, cy, w, h, pad_x, pad_y;
    lq_landmark_padded_roi(roi, img->width, img->height, &cx, &cy, &w, &h, &pad_x, &pad_y);
    const lq_affine M =
        lq_affine_roi(cx, cy, w, h, roi->rotation, LQ_LANDMARK_INPUT, LQ_LANDMARK_INPUT);
    lq_warp_affine_to_tensor(img, &M, LQ_LANDMARK_INPUT, LQ_LANDMARK_INPUT, 1.0f / 255.0f, 0.0f,
                             LQ_BORDER_REPLICATE, xg_runner_input(l->runner, 0));
    const double t1 = lq_clock_ms();
    if (xg_runner_invoke(l->runner) < 0)
        return LQ_EMODEL;
    const float presence = xg_runner_output(l->runner, l->out_presence)[0];
    const float handed = xg_runner_output(l->runner, l->out_handedness)[0];
    lq_landmark_decode(xg_runner_output(l->runner, l->out_lm),
                       xg_runner_output(l->runner, l->out_world), presence, handed, roi, img->width,
                       img->height, out);
    if (t) {
        t->warp_ms += t1 - t0;
        t->landmark_ms += lq_clock_ms() - t1;
        t->landmark_runs++;
    }
    return 0;
}
