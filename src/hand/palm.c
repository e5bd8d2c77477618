/* palm.c - palm detection: letterbox, SSD decoding, weighted NMS, ROI. */
#include "hand/palm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "image/warp.h"

#define PALM_SCALE 192.0f /* x/y/w/h_scale of the calculator options */
#define PALM_SCORE_CLIP 100.0f
#define PALM_NMS_IOU 0.3f
#define PALM_ROI_SCALE 2.6f
#define PALM_ROI_SHIFT_Y (-0.5f)
#define PALM_KP_WRIST 0      /* rotation_vector_start_keypoint_index */
#define PALM_KP_MIDDLE_MCP 2 /* rotation_vector_end_keypoint_index */

struct lq_palm_detector {
    const xg_net *net;
    xg_runner *runner;
    int out_boxes, out_scores;
    int num_anchors;
    lq_ssd_anchor anchors[LQ_PALM_NUM_ANCHORS];
    lq_palm_detection cand[LQ_PALM_NUM_ANCHORS];
    int order[LQ_PALM_NUM_ANCHORS];
};

int lq_palm_decode(const float *raw_boxes, const float *raw_scores, const lq_ssd_anchor *anchors,
                   int num_boxes, float min_score, lq_palm_detection *out, int cap)
{
    int n = 0;
    for (int i = 0; i < num_boxes && n < cap; i++) {
        float logit = raw_scores[i];
        logit = logit < -PALM_SCORE_CLIP ? -PALM_SCORE_CLIP : logit;
        logit = logit > PALM_SCORE_CLIP ? PALM_SCORE_CLIP : logit;
        const float score = 1.0f / (1.0f + expf(-logit));
        if (!(score >= min_score))
            continue;
        const float *r = raw_boxes + (size_t)i * LQ_PALM_COORDS;
        const lq_ssd_anchor *a = &anchors[i];
        /* reverse_output_order: x, y, w, h (then keypoints x, y). */
        const float xc = r[0] / PALM_SCALE * a->w + a->x_center;
        const float yc = r[1] / PALM_SCALE * a->h + a->y_center;
        const float w = r[2] / PALM_SCALE * a->w;
        const float h = r[3] / PALM_SCALE * a->h;
        const float ymin = yc - h / 2.0f, xmin = xc - w / 2.0f;
        const float ymax = yc + h / 2.0f, xmax = xc + w / 2.0f;
        lq_palm_detection *d = &out[n];
        d->box.xmin = xmin;
        d->box.ymin = ymin;
        d->box.w = xmax - xmin;
        d->box.h = ymax - ymin;
        if (d->box.w < 0.0f || d->box.h < 0.0f || isnan(d->box.w) || isnan(d->box.h))
            continue;
        for (int k = 0; k < LQ_PALM_KEYPOINTS; k++) {
            d->kp[k][0] = r[4 + 2 * k] / PALM_SCALE * a->w + a->x_center;
            d->kp[k][1] = r[4 + 2 * k + 1] / PALM_SCALE * a->h + a->y_center;
        }
        d->score = score;
        n++;
    }
    return n;
}

/* Total order: higher score first, then lower index (deterministic ties). */
static int ranks_before(const lq_palm_detection *d, int a, int b)
{
    return d[a].score > d[b].score || (d[a].score == d[b].score && a < b);
}

static void sort_by_score(const lq_palm_detection *d, int *idx, int n)
{
    /* Shell sort (Ciura gaps): no allocation, n is at most a few thousand. */
    static const int gaps[] = {701, 301, 132, 57, 23, 10, 4, 1};
    for (size_t g = 0; g < sizeof gaps / sizeof gaps[0]; g++) {
        const int gap = gaps[g];
        for (int i = gap; i < n; i++) {
            const int v = idx[i];
            int j = i;
            while (j >= gap && ranks_before(d, v, idx[j - gap])) {
                idx[j] = idx[j - gap];
                j -= gap;
            }
            idx[j] = v;
        }
    }
}

int lq_palm_nms_weighted(const lq_palm_detection *in, int n, float iou_thresh, int *order,
                         lq_palm_detection *out, int cap)
{
    for (int i = 0; i < n; i++)
        order[i] = i;
    sort_by_score(in, order, n);

    int remaining = n;
    int nout = 0;
    while (remaining > 0 && nout < cap) {
        const lq_palm_detection *top = &in[order[0]];
        double w_xmin = 0, w_ymin = 0, w_xmax = 0, w_ymax = 0, total = 0;
        double kp[LQ_PALM_KEYPOINTS][2] = {{0}};
        int ncand = 0, kept = 0;
        /* Split the remaining list into candidates (merged into top) and the
         * rest, which is compacted in place, keeping its order. */
        for (int i = 0; i < remaining; i++) {
            const lq_palm_detection *d = &in[order[i]];
            if (lq_box_iou(&d->box, &top->box) > iou_thresh) {
                const double s = d->score;
                total += s;
                w_xmin += d->box.xmin * s;
                w_ymin += d->box.ymin * s;
                w_xmax += (d->box.xmin + d->box.w) * s;
                w_ymax += (d->box.ymin + d->box.h) * s;
                for (int k = 0; k < LQ_PALM_KEYPOINTS; k++) {
                    kp[k][0] += d->kp[k][0] * s;
                    kp[k][1] += d->kp[k][1] * s;
                }
                ncand++;
            } else {
                order[kept++] = order[i];
            }
        }
        lq_palm_detection merged = *top;
        if (ncand > 0 && total > 0) {
            merged.box.xmin = (float)(w_xmin / total);
            merged.box.ymin = (float)(w_ymin / total);
            merged.box.w = (float)(w_xmax / total) - merged.box.xmin;
            merged.box.h = (float)(w_ymax / total) - merged.box.ymin;
            for (int k = 0; k < LQ_PALM_KEYPOINTS; k++) {
                merged.kp[k][0] = (float)(kp[k][0] / total);
                merged.kp[k][1] = (float)(kp[k][1] / total);
            }
        }
        out[nout++] = merged;
        if (kept == remaining)
            break; /* nothing was absorbed (degenerate box): MediaPipe stops here too */
        remaining = kept;
    }
    return nout;
}

void lq_palm_remove_letterbox(lq_palm_detection *d, float pad_x, float pad_y)
{
    const float sx = 1.0f - 2.0f * pad_x, sy = 1.0f - 2.0f * pad_y;
    d->box.xmin = (d->box.xmin - pad_x) / sx;
    d->box.ymin = (d->box.ymin - pad_y) / sy;
    d->box.w /= sx;
    d->box.h /= sy;
    for (int k = 0; k < LQ_PALM_KEYPOINTS; k++) {
        d->kp[k][0] = (d->kp[k][0] - pad_x) / sx;
        d->kp[k][1] = (d->kp[k][1] - pad_y) / sy;
    }
}

void lq_palm_to_rect(const lq_palm_detection *d, int img_w, int img_h, lq_hand_rect *out)
{
    lq_hand_rect r;
    r.cx = d->box.xmin + d->box.w / 2.0f;
    r.cy = d->box.ymin + d->box.h / 2.0f;
    r.w = d->box.w;
    r.h = d->box.h;
    r.rotation = lq_rotation_to_upright(
        d->kp[PALM_KP_WRIST][0] * (float)img_w, d->kp[PALM_KP_WRIST][1] * (float)img_h,
        d->kp[PALM_KP_MIDDLE_MCP][0] * (float)img_w, d->kp[PALM_KP_MIDDLE_MCP][1] * (float)img_h);
    const lq_rect_transform_opts t = {
        .scale_x = PALM_ROI_SCALE,
        .scale_y = PALM_ROI_SCALE,
        .shift_x = 0.0f,
        .shift_y = PALM_ROI_SHIFT_Y,
        .square_long = 1,
    };
    lq_rect_transform(&r, img_w, img_h, &t);
    *out = r;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen > 0)
        snprintf(err, errlen, "%s", msg);
}

int lq_palm_net_check(const xg_net *net, char *err, size_t errlen)
{
    int dims[TFL_MAX_DIMS];
    if (!net || xg_net_num_inputs(net) != 1) {
        set_err(err, errlen, "palm model: expected exactly one input");
        return LQ_EFORMAT;
    }
    const int nd = xg_net_input_shape(net, 0, dims);
    if (nd != 4 || dims[0] != 1 || dims[1] != LQ_PALM_INPUT || dims[2] != LQ_PALM_INPUT ||
        dims[3] != 3) {
        set_err(err, errlen, "palm model: input is not 1x192x192x3");
        return LQ_EFORMAT;
    }
    const int ob = xg_net_find_output(net, "Identity");
    const int os = xg_net_find_output(net, "Identity_1");
    if (ob < 0 || os < 0) {
        set_err(err, errlen, "palm model: outputs Identity/Identity_1 not found");
        return LQ_EFORMAT;
    }
    if (xg_net_output_size(net, ob) != (size_t)LQ_PALM_NUM_ANCHORS * LQ_PALM_COORDS ||
        xg_net_output_size(net, os) != (size_t)LQ_PALM_NUM_ANCHORS) {
        set_err(err, errlen, "palm model: outputs are not 2016x18 boxes and 2016 scores");
        return LQ_EFORMAT;
    }
    return 0;
}

int lq_palm_detector_create(const xg_net *net, int threads, lq_palm_detector **out)
{
    char err[160];
    if (!out)
        return LQ_EINVAL;
    int rc = lq_palm_net_check(net, err, sizeof err);
    if (rc < 0) {
        LQ_ERROR("palm", "%s", err);
        return rc;
    }
    lq_palm_detector *d = calloc(1, sizeof *d);
    if (!d)
        return LQ_ENOMEM;
    d->net = net;
    d->out_boxes = xg_net_find_output(net, "Identity");
    d->out_scores = xg_net_find_output(net, "Identity_1");
    lq_ssd_anchor_opts ao = lq_palm_anchor_opts();
    rc = lq_ssd_anchors_generate(&ao, d->anchors, LQ_PALM_NUM_ANCHORS, &d->num_anchors);
    if (rc == 0 && d->num_anchors != LQ_PALM_NUM_ANCHORS)
        rc = LQ_EINTERNAL;
    if (rc == 0)
        rc = xg_runner_create(net, threads, &d->runner);
    if (rc < 0) {
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

void lq_palm_detector_destroy(lq_palm_detector *d)
{
    if (!d)
        return;
    xg_runner_destroy(d->runner);
    free(d);
}

int lq_palm_detect(lq_palm_detector *d, const lq_image *img, float min_score,
                   lq_palm_detection *out, int cap, int *n, lq_hand_timings *t)
{
    if (n)
        *n = 0;
    if (!d || !img || !img->data || img->width < 1 || img->height < 1 || !out || cap < 0 || !n)
        return LQ_EINVAL;
    float pad_x = 0.0f, pad_y = 0.0f;
    const double t0 = lq_clock_ms();
    const lq_affine M = lq_affine_letterbox(img->width, img->height, LQ_PALM_INPUT, &pad_x, &pad_y);
    float *in = xg_runner_input(d->runner, 0);
    lq_warp_affine_to_tensor(img, &M, LQ_PALM_INPUT, LQ_PALM_INPUT, 1.0f / 255.0f, 0.0f,
                             LQ_BORDER_ZERO, in);
    const double t1 = lq_clock_ms();
    if (xg_runner_invoke(d->runner) < 0)
        return LQ_EMODEL;
    const float *boxes = xg_runner_output(d->runner, d->out_boxes);
    const float *scores = xg_runner_output(d->runner, d->out_scores);
    const int ncand = lq_palm_decode(boxes, scores, d->anchors, d->num_anchors, min_score, d->cand,
                                     LQ_PALM_NUM_ANCHORS);
    const int nout = lq_palm_nms_weighted(d->cand, ncand, PALM_NMS_IOU, d->order, out, cap);
    for (int i = 0; i < nout; i++)
        lq_palm_remove_letterbox(&out[i], pad_x, pad_y);
    *n = nout;
    if (t) {
        t->warp_ms += t1 - t0;
        t->palm_ms += lq_clock_ms() - t1;
        t->palm_runs++;
    }
    return 0;
}
