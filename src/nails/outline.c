/* outline.c - see outline.h. */
#include "nails/outline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "image/warp.h"
#include "model/tflite.h"
#include "model/xgraph.h"
#include "nails/segment.h"

#define TAG "outline"
#define OUTLINE_MAX_BLOBS 8

struct nail_outline_model {
    xg_net *net[NAIL_OUTLINE_MAX_MEMBERS];
    int members;
    int size; /* S */
};

struct nail_outline {
    const nail_outline_model *model;
    xg_runner *r[NAIL_OUTLINE_MAX_MEMBERS];
    int members;
    float *rgb;        /* S * S * 3: one sub-sample pass */
    float *acc;        /* S * S * 3: their sum */
    float *prior;      /* S * S */
    float *avg;        /* S * S: the members' mean output */
    float *mir;        /* S * S: with the mirrored crop's averaged in (mirror) */
    const float *last; /* the map the last fit found its blob in */
    float *cells;      /* 2 * S * S: the chosen blob's cell centres, x then y (fit_plate) */
    int *labels;       /* S * S */
    int *queue;        /* S * S */
    int ran;
};

/* Loads and compiles one network file and checks its contract; *size gets S. */
static int load_net(const char *path, xg_net **out, int *size, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "nail outline model %s: no such file", path);
        return LQ_ENOENT;
    }
    if (xg_init() < 0) {
        if (err && errlen)
            snprintf(err, errlen, "nail outline model: XNNPACK initialisation failed");
        return LQ_EMODEL;
    }
    tfl_model *tm = NULL;
    char why[256] = "";
    int rc = tfl_model_load_file(path, &tm, why, sizeof why);
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "nail outline model %s: %s", path, why);
        return rc;
    }
    xg_net *net = NULL;
    rc = xg_net_create(tm, &net, why, sizeof why);
    tfl_model_destroy(tm);
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "nail outline model %s: %s", path, why);
        return rc;
    }
    int in[TFL_MAX_DIMS], o[TFL_MAX_DIMS];
    int ni = xg_net_num_inputs(net) == 1 ? xg_net_input_shape(net, 0, in) : 0;
    int no = xg_net_num_outputs(net) >= 1 ? xg_net_output_shape(net, 0, o) : 0;
    if (ni != 4 || in[0] != 1 || in[3] != 4 || in[1] != in[2] || in[1] < 8 ||
        in[1] > NAIL_OUTLINE_MAX_INPUT || no != 4 || o[0] != 1 || o[1] != in[1] || o[2] != in[2] ||
        o[3] != 1) {
        if (err && errlen)
            snprintf(err, errlen,
                     "nail outline model %s: needs one float input [1,S,S,4] with 8 <= S <= %d "
                     "and a first output [1,S,S,1] (input has %d dims [%d,%d,%d,%d], output "
                     "%d dims [%d,%d,%d,%d])",
                     path, NAIL_OUTLINE_MAX_INPUT, ni, ni > 0 ? in[0] : 0, ni > 1 ? in[1] : 0,
                     ni > 2 ? in[2] : 0, ni > 3 ? in[3] : 0, no, no > 0 ? o[0] : 0,
                     no > 1 ? o[1] : 0, no > 2 ? o[2] : 0, no > 3 ? o[3] : 0);
        xg_net_destroy(net);
        return LQ_EFORMAT;
    }
    *size = in[1];
    *out = net;
    return 0;
}

int nail_outline_model_load(const char *path, nail_outline_model **out, char *err, size_t errlen)
{
    if (!path || !out)
        return LQ_EINVAL;
    nail_outline_model *m = calloc(1, sizeof *m);
    if (!m)
        return LQ_ENOMEM;
    int rc = load_net(path, &m->net[0], &m->size, err, errlen);
    if (rc < 0) {
        free(m);
        return rc;
    }
    m->members = 1;
    LQ_INFO(TAG, "model %s: crop %dx%d", path, m->size, m->size);
    *out = m;
    return 0;
}

int nail_outline_model_add(nail_outline_model *m, const char *path, char *err, size_t errlen)
{
    if (!m || !path)
        return LQ_EINVAL;
    if (m->members >= NAIL_OUTLINE_MAX_MEMBERS) {
        if (err && errlen)
            snprintf(err, errlen, "nail outline model %s: already %d members (the most)", path,
                     m->members);
        return LQ_EINVAL;
    }
    xg_net *net = NULL;
    int size = 0;
    int rc = load_net(path, &net, &size, err, errlen);
    if (rc < 0)
        return rc;
    if (size != m->size) {
        if (err && errlen)
            snprintf(err, errlen, "nail outline model %s: crop %d, the first member's is %d", path,
                     size, m->size);
        xg_net_destroy(net);
        return LQ_EFORMAT;
    }
    m->net[m->members++] = net;
    LQ_INFO(TAG, "model %s: ensemble member %d", path, m->members);
    return 0;
}

int nail_outline_model_load_set(const char *path, nail_outline_model **out, char *err,
                                size_t errlen)
{
    nail_outline_model *m = NULL;
    int rc = nail_outline_model_load(path, &m, err, errlen);
    if (rc < 0)
        return rc;
    const char *dot = strrchr(path, '.');
    const size_t stem = dot && !strchr(dot, '/') ? (size_t)(dot - path) : strlen(path);
    for (char c = 'b'; c < 'a' + NAIL_OUTLINE_MAX_MEMBERS; c++) {
        char sib[4096];
        struct stat st;
        if ((size_t)snprintf(sib, sizeof sib, "%.*s_%c%s", (int)stem, path, c, path + stem) >=
                sizeof sib ||
            stat(sib, &st) != 0)
            break;
        if ((rc = nail_outline_model_add(m, sib, err, errlen)) < 0) {
            nail_outline_model_destroy(m);
            return rc;
        }
    }
    *out = m;
    return 0;
}

int nail_outline_model_members(const nail_outline_model *m)
{
    return m ? m->members : 0;
}

void nail_outline_model_destroy(nail_outline_model *m)
{
    if (!m)
        return;
    for (int k = 0; k < m->members; k++)
        xg_net_destroy(m->net[k]);
    free(m);
}

int nail_outline_model_size(const nail_outline_model *m)
{
    return m ? m->size : 0;
}

int nail_outline_create(const nail_outline_model *m, nail_outline **out)
{
    if (!m || !out)
        return LQ_EINVAL;
    nail_outline *o = calloc(1, sizeof *o);
    if (!o)
        return LQ_ENOMEM;
    o->model = m;
    size_t px = (size_t)m->size * (size_t)m->size;
    int rc = 0;
    for (int k = 0; rc == 0 && k < m->members; k++)
        if ((rc = xg_runner_create(m->net[k], 1, &o->r[k])) == 0)
            o->members = k + 1;
    if (rc == 0) {
        o->rgb = malloc(px * 3 * sizeof *o->rgb);
        o->acc = malloc(px * 3 * sizeof *o->acc);
        o->prior = malloc(px * sizeof *o->prior);
        o->avg = malloc(px * sizeof *o->avg);
        o->mir = malloc(px * sizeof *o->mir);
        o->cells = malloc(2 * px * sizeof *o->cells);
        o->labels = malloc(px * sizeof *o->labels);
        o->queue = malloc(px * sizeof *o->queue);
        if (!o->rgb || !o->acc || !o->prior || !o->avg || !o->mir || !o->cells || !o->labels ||
            !o->queue)
            rc = LQ_ENOMEM;
    }
    if (rc < 0) {
        nail_outline_destroy(o);
        return rc;
    }
    *out = o;
    return 0;
}

void nail_outline_destroy(nail_outline *o)
{
    if (!o)
        return;
    for (int k = 0; k < o->members; k++)
        xg_runner_destroy(o->r[k]);
    free(o->rgb);
    free(o->acc);
    free(o->prior);
    free(o->avg);
    free(o->mir);
    free(o->cells);
    free(o->labels);
    free(o->queue);
    free(o);
}

int nail_outline_opts_validate(const nail_outline_opts *o)
{
    const char *bad = NULL;
    if (!o)
        return LQ_EINVAL;
    if (!(o->threshold >= 0.05f && o->threshold <= 0.95f))
        bad = "threshold (0.05..0.95)";
    else if (!(o->min_area >= 0.0f && o->min_area <= 1.0f))
        bad = "min_area (0..1)";
    else if (!(o->max_area >= 1.0f && o->max_area <= 16.0f))
        bad = "max_area (1..16)";
    else if (!(o->max_shift >= 0.0f && o->max_shift <= 4.0f))
        bad = "max_shift (0..4)";
    else if (!(o->min_size_px >= 1.0f && o->min_size_px <= 64.0f))
        bad = "min_size_px (1..64)";
    else if (o->iterations < 1 || o->iterations > 4)
        bad = "iterations (1..4)";
    else if (o->mirror != 0 && o->mirror != 1)
        bad = "mirror (0 or 1)";
    else if (o->drop_unseen != 0 && o->drop_unseen != 1)
        bad = "drop_unseen (0 or 1)";
    else if (o->fit_plate != 0 && o->fit_plate != 1)
        bad = "fit_plate (0 or 1)";
    else if (o->max_members < 0 || o->max_members > NAIL_OUTLINE_MAX_MEMBERS)
        bad = "max_members (0 = all, else 1..NAIL_OUTLINE_MAX_MEMBERS)";
    if (!bad)
        return 0;
    LQ_WARN(TAG, "invalid outline option: %s", bad);
    return LQ_EINVAL;
}

/* The estimate's plate in crop pixels (1 inside): both ends rounded by
 * NAIL_OUTLINE_PRIOR_ROUND x half the smaller side; rows run along the
 * axis. Returns its area in crop pixels. */
static int draw_prior(float *p, int S, float length, float width, float s)
{
    const float hl = 0.5f * length, hw = 0.5f * width;
    const float r = NAIL_OUTLINE_PRIOR_ROUND * fminf(hl, hw);
    int area = 0;
    for (int y = 0; y < S; y++) {
        float v = ((float)y + 0.5f - 0.5f * (float)S) * s;
        float qx = fabsf(v) - (hl - r);
        for (int x = 0; x < S; x++) {
            float u = ((float)x + 0.5f - 0.5f * (float)S) * s;
            float qy = fabsf(u) - (hw - r);
            float d = hypotf(fmaxf(qx, 0.0f), fmaxf(qy, 0.0f)) + fminf(fmaxf(qx, qy), 0.0f) - r;
            float in = d <= 0.0f ? 1.0f : 0.0f;
            p[y * S + x] = in;
            area += in > 0.0f;
        }
    }
    return area;
}

/* A rounded plate as nail_geom_sdf draws it (crop cells): centre, unit
 * axis (c, s), half length and width, the cuticle and tip ends' corner radii. */
typedef struct plate {
    float cx, cy, c, s, hl, hw, rc, rt;
} plate;

/* p[7] = cx, cy, axis angle, length, width, cuticle_round, tip_round */
static plate plate_of(const float p[7])
{
    plate q = {p[0], p[1], cosf(p[2]), sinf(p[2]), 0.5f * p[3], 0.5f * p[4], 0.0f, 0.0f};
    const float r = fminf(q.hl, q.hw);
    q.rc = p[5] * r;
    q.rt = p[6] * r;
    return q;
}

/* Soft IoU of the plate with a blob given as its n cell centres (xs, ys):
 * the plate covers a cell by its signed distance (nail_geom_sdf's) on a
 * one-cell ramp, so the score moves smoothly with the plate; the plate's
 * own area is exact (each corner of radius r takes (1 - pi/4) r^2 off the
 * rectangle), so only the blob's cells are visited. */
static float plate_iou(const float *xs, const float *ys, int n, const plate *q)
{
    const float cx = q->cx, cy = q->cy, ca = q->c, sa = q->s, hl = q->hl, hw = q->hw;
    const float rc = q->rc, rt = q->rt;
    float inter = 0.0f;
    for (int i = 0; i < n; i++) {
        const float dx = xs[i] - cx, dy = ys[i] - cy;
        const float u = dx * ca + dy * sa, v = dy * ca - dx * sa;
        const float r = u < 0.0f ? rc : rt;
        const float qx = fabsf(u) - hl + r, qy = fabsf(v) - hw + r;
        /* nail_geom_sdf's distance; the square root only in the corners */
        const float d = (qx > 0.0f && qy > 0.0f ? sqrtf(qx * qx + qy * qy) : fmaxf(qx, qy)) - r;
        inter += fminf(fmaxf(0.5f - d, 0.0f), 1.0f);
    }
    const float area = 4.0f * hl * hw - 2.0f * (1.0f - 0.78539816f) * (rc * rc + rt * rt);
    const float uni = (float)n + area - inter;
    return uni > 0.0f ? inter / uni : 0.0f;
}

/* fit_plate: moves the plate g (crop cells, from the blob's moments) to the
 * best soft IoU with the blob's n cells (xs, ys) by coordinate search over its
 * centre, angle, length, width and the two ends' roundness (steps halved
 * when no move helps, at most PLATE_FIT_EVALS scores), within bounds
 * around the moments' plate. */
#define PLATE_FIT_EVALS 96
static void fit_plate(const float *xs, const float *ys, int n, nail_geom *g)
{
    const float ang0 = atan2f(g->ay, g->ax);
    float p[7] = {g->cx, g->cy, ang0, g->length, g->width, g->cuticle_round, g->tip_round};
    float step[7] = {
        0.1f * g->width, 0.1f * g->length, 0.08f, 0.08f * g->length, 0.08f * g->width, 0.2f, 0.2f};
    const float lo[7] = {g->cx - 0.3f * g->width,
                         g->cy - 0.3f * g->length,
                         ang0 - 0.35f,
                         0.7f * g->length,
                         0.7f * g->width,
                         0.0f,
                         0.0f};
    const float hi[7] = {g->cx + 0.3f * g->width,
                         g->cy + 0.3f * g->length,
                         ang0 + 0.35f,
                         1.4f * g->length,
                         1.4f * g->width,
                         1.0f,
                         1.0f};
    for (int k = 5; k < 7; k++)
        p[k] = fminf(fmaxf(p[k], 0.0f), 1.0f);
    plate q = plate_of(p);
    float best = plate_iou(xs, ys, n, &q);
    int evals = 1;
    for (int halvings = 0; halvings < 3 && evals < PLATE_FIT_EVALS;) {
        int moved = 0;
        for (int k = 0; k < 7 && evals < PLATE_FIT_EVALS; k++)
            for (int sgn = -1; sgn <= 1 && evals < PLATE_FIT_EVALS; sgn += 2) {
                float t[7];
                memcpy(t, p, sizeof t);
                t[k] = fminf(fmaxf(p[k] + (float)sgn * step[k], lo[k]), hi[k]);
                if (t[k] == p[k])
                    continue;
                q = plate_of(t);
                float v = plate_iou(xs, ys, n, &q);
                evals++;
                if (v > best) {
                    best = v;
                    memcpy(p, t, sizeof p);
                    moved = 1;
                    break; /* next parameter */
                }
            }
        if (!moved) {
            for (int k = 0; k < 7; k++)
                step[k] *= 0.5f;
            halvings++;
        }
    }
    g->cx = p[0];
    g->cy = p[1];
    g->ax = cosf(p[2]);
    g->ay = sinf(p[2]);
    g->length = p[3];
    g->width = p[4];
    g->cuticle_round = p[5];
    g->tip_round = p[6];
}

/* Runs the first n members on the crop in the first runner's input;
 * returns their mean output (one member: its own output buffer), NULL if
 * one failed. */
static const float *infer(nail_outline *o, int n, size_t px)
{
    const float *in = xg_runner_input(o->r[0], 0);
    for (int k = 1; k < n; k++)
        memcpy(xg_runner_input(o->r[k], 0), in, px * 4 * sizeof *in);
    for (int k = 0; k < n; k++)
        if (xg_runner_invoke(o->r[k]) < 0)
            return NULL;
    if (n == 1)
        return xg_runner_output(o->r[0], 0);
    memcpy(o->avg, xg_runner_output(o->r[0], 0), px * sizeof *o->avg);
    for (int k = 1; k < n; k++) {
        const float *p = xg_runner_output(o->r[k], 0);
        for (size_t q = 0; q < px; q++)
            o->avg[q] += p[q];
    }
    const float inv = 1.0f / (float)n;
    for (size_t q = 0; q < px; q++)
        o->avg[q] *= inv;
    return o->avg;
}

/* One fit of g; the limits are checked against first. */
static int fit_once(nail_outline *o, const lq_image *frame, nail_geom *g,
                    const nail_outline_opts *opts, const nail_geom *first);

int nail_outline_fit(nail_outline *o, const lq_image *frame, nail_geom *g,
                     const nail_outline_opts *opts)
{
    if (!o || !frame || !frame->data || frame->width < 1 || frame->height < 1 || !g)
        return LQ_EINVAL;
    if (nail_outline_opts_validate(opts) < 0)
        return LQ_EINVAL;
    const nail_geom first = *g;
    nail_geom cur = *g;
    int any = 0;
    for (int it = 0; it < opts->iterations; it++) {
        int rc = fit_once(o, frame, &cur, opts, &first);
        if (rc < 0 || (rc == NAIL_OUTLINE_NO_NAIL && it == 0))
            return rc;
        if (rc != 1)
            break;
        any = 1;
    }
    if (any)
        *g = cur;
    return any;
}

static int fit_once(nail_outline *o, const lq_image *frame, nail_geom *g,
                    const nail_outline_opts *opts, const nail_geom *first)
{
    const float an = hypotf(g->ax, g->ay);
    if (!isfinite(g->cx) || !isfinite(g->cy) || !isfinite(an) || an < 1e-6f ||
        !isfinite(g->length) || !isfinite(g->width) || g->length <= 0.0f || g->width <= 0.0f)
        return LQ_EINVAL;
    if (g->length < opts->min_size_px || g->width < opts->min_size_px)
        return 0;
    const int S = o->model->size;
    const size_t px = (size_t)S * (size_t)S;
    const float ax = g->ax / an, ay = g->ay / an, px_ = -ay, py_ = ax;
    const float side = NAIL_OUTLINE_CROP_EXT * fmaxf(g->length, NAIL_OUTLINE_WIDTH_K * g->width);
    const float s = side / (float)S;
    /* crop continuous (x, y) -> frame continuous */
    const float m0 = s * px_, m1 = s * ax, m3 = s * py_, m4 = s * ay;
    const float m2 = g->cx - 0.5f * (float)S * (m0 + m1);
    const float m5 = g->cy - 0.5f * (float)S * (m3 + m4);

    int k = (int)ceilf(s - 1e-6f);
    k = k < 1 ? 1 : k > NAIL_OUTLINE_MAX_SUB ? NAIL_OUTLINE_MAX_SUB : k;
    memset(o->acc, 0, px * 3 * sizeof *o->acc);
    for (int j = 0; j < k; j++) {
        for (int i = 0; i < k; i++) {
            /* lq_warp samples output pixel (x, y) at M (x + 0.5, y + 0.5): shift
             * by the sub-pixel centre's offset from the pixel centre */
            float dx = ((float)i + 0.5f) / (float)k - 0.5f;
            float dy = ((float)j + 0.5f) / (float)k - 0.5f;
            lq_affine M = {{m0, m1, m2 + m0 * dx + m1 * dy, m3, m4, m5 + m3 * dx + m4 * dy}};
            lq_warp_affine_to_tensor(frame, &M, S, S, 1.0f / 255.0f, 0.0f, LQ_BORDER_REPLICATE,
                                     o->rgb);
            for (size_t q = 0; q < px * 3; q++)
                o->acc[q] += o->rgb[q];
        }
    }
    const int prior_area = draw_prior(o->prior, S, g->length, g->width, s);
    float *in = xg_runner_input(o->r[0], 0);
    const float inv = 1.0f / (float)(k * k);
    for (size_t q = 0; q < px; q++) {
        in[4 * q + 0] = o->acc[3 * q + 0] * inv;
        in[4 * q + 1] = o->acc[3 * q + 1] * inv;
        in[4 * q + 2] = o->acc[3 * q + 2] * inv;
        in[4 * q + 3] = o->prior[q];
    }
    const int nm =
        opts->max_members && opts->max_members < o->members ? opts->max_members : o->members;
    const float *prob = infer(o, nm, px);
    if (!prob)
        return LQ_EMODEL;
    o->ran = 1;
    if (opts->mirror) { /* the crop mirrored across the axis (x -> S-1-x; the prior is symmetric) */
        memcpy(o->mir, prob, px * sizeof *o->mir);
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S / 2; x++)
                for (int c = 0; c < 4; c++) {
                    float *a = &in[4 * ((size_t)y * S + (size_t)x) + (size_t)c];
                    float *b = &in[4 * ((size_t)y * S + (size_t)(S - 1 - x)) + (size_t)c];
                    float t = *a;
                    *a = *b;
                    *b = t;
                }
        const float *p2 = infer(o, nm, px);
        if (!p2)
            return LQ_EMODEL;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                o->mir[y * S + x] = 0.5f * (o->mir[y * S + x] + p2[y * S + (S - 1 - x)]);
        prob = o->mir;
    }
    o->last = prob;

    nail_seg_blob_opts bo = NAIL_SEG_BLOB_OPTS_DEFAULT;
    bo.threshold = opts->threshold;
    bo.min_area_px = 4.0f;
    bo.max_blobs = OUTLINE_MAX_BLOBS;
    bo.min_rel_area = 0.0f;
    nail_seg_blob b[OUTLINE_MAX_BLOBS];
    int nb = 0;
    int rc = nail_seg_find_blobs(prob, S, S, 1.0f, 1.0f, 0.0f, 0.0f, &bo, o->labels, o->queue, b,
                                 OUTLINE_MAX_BLOBS, &nb);
    if (rc < 0)
        return rc;
    /* the blob covering most of the estimate's plate */
    int cover[OUTLINE_MAX_BLOBS + 1] = {0};
    for (size_t q = 0; q < px; q++) {
        int l = o->labels[q];
        if (o->prior[q] > 0.0f && l > 0 && l <= OUTLINE_MAX_BLOBS)
            cover[l]++;
    }
    int best = -1;
    for (int i = 0; i < nb; i++)
        if (b[i].label >= 1 && b[i].label <= OUTLINE_MAX_BLOBS && cover[b[i].label] > 0 &&
            (best < 0 || cover[b[i].label] > cover[b[best].label]))
            best = i;
    if (best < 0 || prior_area <= 0)
        return NAIL_OUTLINE_NO_NAIL;
    const nail_seg_blob *bb = &b[best];
    /* the limits, against the first estimate's plate (in this crop's cells) */
    const float first_area =
        (float)prior_area * (first->length * first->width) / (g->length * g->width);
    const float ratio = bb->area / first_area;
    if (ratio < opts->min_area || ratio > opts->max_area)
        return 0;
    /* the blob's plate in crop cells: the estimate's axis is +y there, so of
     * the blob's two principal directions the one nearer +y is the axis */
    nail_geom c = *g;
    c.cx = bb->cx;
    c.cy = bb->cy;
    c.ax = bb->ax;
    c.ay = bb->ay;
    c.length = bb->length;
    c.width = bb->width;
    if (fabsf(c.ay) < 0.70710678f) {
        float t = c.ax;
        c.ax = -c.ay;
        c.ay = t;
        c.length = bb->width;
        c.width = bb->length;
    }
    if (c.ay < 0.0f) {
        c.ax = -c.ax;
        c.ay = -c.ay;
    }
    if (opts->fit_plate) {
        float *xs = o->cells, *ys = o->cells + px;
        int n = 0;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++)
                if (o->labels[y * S + x] == bb->label) {
                    xs[n] = (float)x + 0.5f;
                    ys[n] = (float)y + 0.5f;
                    n++;
                }
        fit_plate(xs, ys, n, &c);
    }
    /* back to the frame */
    float cx = m0 * c.cx + m1 * c.cy + m2;
    float cy = m3 * c.cx + m4 * c.cy + m5;
    if (hypotf(cx - first->cx, cy - first->cy) > opts->max_shift * first->length)
        return 0;
    float bx = (m0 * c.ax + m1 * c.ay) / s, by = (m3 * c.ax + m4 * c.ay) / s;
    float len = c.length * s, wid = c.width * s;
    float bn = hypotf(bx, by);
    if (!(bn > 1e-6f) || !isfinite(cx) || !isfinite(cy) || !(len > 0.0f) || !(wid > 0.0f))
        return 0;
    g->cx = cx;
    g->cy = cy;
    g->ax = bx / bn;
    g->ay = by / bn;
    g->length = len;
    g->width = wid;
    g->cuticle_round = c.cuticle_round;
    g->tip_round = c.tip_round;
    return 1;
}

int nail_outline_fit_all(nail_outline *o, const lq_image *frame, nail_geom *nails, int n,
                         const nail_outline_opts *opts, int *changed)
{
    if (!o || !frame || !frame->data || frame->width < 1 || frame->height < 1 ||
        (n > 0 && !nails) || n < 0 || nail_outline_opts_validate(opts) < 0)
        return LQ_EINVAL;
    int c = 0;
    for (int i = 0; i < n; i++) {
        if (!nails[i].visible)
            continue;
        int rc = nail_outline_fit(o, frame, &nails[i], opts);
        if (rc == LQ_EINVAL) /* this nail's geometry is not finite: it stays as it is */
            continue;
        if (rc < 0) {
            if (changed)
                *changed = c;
            return rc;
        }
        if (rc == NAIL_OUTLINE_NO_NAIL && opts->drop_unseen && nails[i].hand < 0)
            nails[i].visible = 0;
        c += rc == 1;
    }
    if (changed)
        *changed = c;
    return 0;
}

const float *nail_outline_last_input(const nail_outline *o)
{
    return o && o->ran ? xg_runner_input(o->r[0], 0) : NULL;
}

const float *nail_outline_last_output(const nail_outline *o)
{
    return o && o->ran ? o->last : NULL;
}
