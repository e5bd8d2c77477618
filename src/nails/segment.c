/* segment.c - the nail segmentation network, its letterbox and its blobs. */
#include "nails/segment.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "image/resize.h"
#include "image/warp.h"
#include "model/tflite.h"
#include "model/xgraph.h"

#define TAG "nailseg"

/* The blob outline handed to the renderer: a rounded plate. */
#define SEG_CUTICLE_ROUND 0.8f
#define SEG_TIP_ROUND 1.0f

/* One compiled network and its shapes. */
typedef struct seg_net {
    xg_net *net;
    int in_w, in_h;     /* input tensor */
    int out_w, out_h;   /* probability map */
    int stride;         /* input pixels per map cell */
    int prob_out;       /* graph output index of the probability map */
    int dir_out;        /* graph output index of the direction field, -1 = none */
} seg_net;

/* net[0] the model file; net[1] its "_portrait" companion (the same weights
 * for the transposed input), when there is one. */
struct nail_seg_model {
    seg_net net[2];
    int nnets;
};

struct nail_seg {
    const nail_seg_model *model;
    xg_runner *runner[2];  /* one per net of the model */
    const seg_net *m;      /* the net of the last run */
    xg_runner *r;          /* its runner */
    lq_image small;        /* in_w x in_h: area-resized frame for large shrinks */
    int *labels;           /* out_w * out_h */
    int *queue;            /* out_w * out_h */
    float *map;            /* out_w * out_h: the probability map in the frame's orientation */
    float *dir;            /* 2 * out_w * out_h: the direction field, same (or NULL) */
    unsigned flips;        /* nail_seg_set_flips */
    float *in_copy;        /* 3 * in_w * in_h: the unflipped input (flips only) */
    float *acc;            /* out_w * out_h: the averaged map in the input's orientation */
    /* last run */
    int ran;
    int fw, fh;            /* frame size */
    int rot;               /* 1: a portrait frame, turned a quarter turn into the input */
    int map_w, map_h;      /* map size in the frame's orientation */
    float cell_x, cell_y;  /* frame pixels per map cell */
    float org_x, org_y;    /* frame position of the map's corner: x = cell_x * mx + org_x */
    /* last nail_seg_blobs */
    int blobs_done;
    int nblobs;
    float threshold;
    nail_seg_blob blob[NAIL_SEG_MAX_BLOBS];
};

/* The probability output is the first [1,h,w,1] output with W/w = H/h whole;
 * a [1,h,w,2] output of the same size is the direction field. */
static int pick_outputs(seg_net *m)
{
    int dims[TFL_MAX_DIMS];
    m->prob_out = m->dir_out = -1;
    for (int i = 0; i < xg_net_num_outputs(m->net); i++) {
        int nd = xg_net_output_shape(m->net, i, dims);
        if (nd != 4 || dims[0] != 1 || dims[1] < 1 || dims[2] < 1)
            continue;
        if (m->in_w % dims[2] != 0 || m->in_h % dims[1] != 0 ||
            m->in_w / dims[2] != m->in_h / dims[1])
            continue;
        if (dims[3] == 1 && m->prob_out < 0) {
            m->prob_out = i;
            m->out_w = dims[2];
            m->out_h = dims[1];
            m->stride = m->in_w / dims[2];
        }
    }
    if (m->prob_out < 0)
        return LQ_EFORMAT;
    for (int i = 0; i < xg_net_num_outputs(m->net); i++) {
        int nd = xg_net_output_shape(m->net, i, dims);
        if (nd == 4 && dims[0] == 1 && dims[1] == m->out_h && dims[2] == m->out_w &&
            dims[3] == 2) {
            m->dir_out = i;
            break;
        }
    }
    return 0;
}

/* Loads and checks one network file into *m (zeroed on failure). */
static int load_net(const char *path, seg_net *m, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        if (err && errlen)
            snprintf(err, errlen, "nail segmentation model %s: no such file", path);
        return LQ_ENOENT;
    }
    int rc = xg_init();
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "nail segmentation: XNNPACK initialisation failed");
        return LQ_EMODEL;
    }
    tfl_model *tm = NULL;
    char why[256] = "";
    rc = tfl_model_load_file(path, &tm, why, sizeof why);
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "nail segmentation model %s: %s", path, why);
        return rc;
    }
    memset(m, 0, sizeof *m);
    rc = xg_net_create(tm, &m->net, why, sizeof why);
    tfl_model_destroy(tm);
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "nail segmentation model %s: %s", path, why);
        return rc;
    }
    int dims[TFL_MAX_DIMS];
    int nd = xg_net_num_inputs(m->net) == 1 ? xg_net_input_shape(m->net, 0, dims) : 0;
    if (nd != 4 || dims[0] != 1 || dims[3] != 3 || dims[1] < 8 || dims[2] < 8 ||
        dims[1] > NAIL_SEG_MAX_INPUT_DIM || dims[2] > NAIL_SEG_MAX_INPUT_DIM) {
        if (err && errlen)
            snprintf(err, errlen,
                     "nail segmentation model %s: needs one float input [1,H,W,3] with "
                     "8 <= H, W <= %d (it has %d input(s), the first with %d dims [%d,%d,%d,%d])",
                     path, NAIL_SEG_MAX_INPUT_DIM, xg_net_num_inputs(m->net), nd,
                     nd > 0 ? dims[0] : 0, nd > 1 ? dims[1] : 0, nd > 2 ? dims[2] : 0,
                     nd > 3 ? dims[3] : 0);
        xg_net_destroy(m->net);
        memset(m, 0, sizeof *m);
        return LQ_EFORMAT;
    }
    m->in_h = dims[1];
    m->in_w = dims[2];
    if (pick_outputs(m) < 0) {
        if (err && errlen)
            snprintf(err, errlen,
                     "nail segmentation model %s: no output shaped [1,h,w,1] with %d/w = %d/h "
                     "a whole number (the nail probability map)",
                     path, m->in_w, m->in_h);
        xg_net_destroy(m->net);
        memset(m, 0, sizeof *m);
        return LQ_EFORMAT;
    }
    LQ_INFO(TAG, "model %s: input %dx%d, map %dx%d%s", path, m->in_w, m->in_h, m->out_w,
            m->out_h, m->dir_out >= 0 ? ", direction output" : "");
    return 0;
}

int nail_seg_model_load(const char *path, nail_seg_model **out, char *err, size_t errlen)
{
    if (!path || !out) {
        if (err && errlen)
            snprintf(err, errlen, "nail segmentation: no model path");
        return LQ_EINVAL;
    }
    nail_seg_model *m = calloc(1, sizeof *m);
    if (!m)
        return LQ_ENOMEM;
    int rc = load_net(path, &m->net[0], err, errlen);
    if (rc < 0) {
        free(m);
        return rc;
    }
    m->nnets = 1;
    /* "x.tflite" -> "x_portrait.tflite": the same weights for the other
     * orientation; used when it fits, else frames are turned */
    size_t len = strlen(path);
    char alt[4096], why[512];
    if (len > 7 && len < sizeof alt - 16 && strcmp(path + len - 7, ".tflite") == 0) {
        snprintf(alt, sizeof alt, "%.*s_portrait.tflite", (int)(len - 7), path);
        struct stat st;
        if (stat(alt, &st) == 0) {
            seg_net *p = &m->net[1];
            rc = load_net(alt, p, why, sizeof why);
            if (rc == 0 && p->in_w == m->net[0].in_h && p->in_h == m->net[0].in_w &&
                p->stride == m->net[0].stride && (p->dir_out >= 0) == (m->net[0].dir_out >= 0))
                m->nnets = 2;
            else if (rc == 0) {
                LQ_WARN(TAG, "%s: not the transposed shape of %s: not used", alt, path);
                xg_net_destroy(p->net);
                memset(p, 0, sizeof *p);
            } else {
                LQ_WARN(TAG, "%s: not used", why);
            }
        }
    }
    *out = m;
    return 0;
}

void nail_seg_model_destroy(nail_seg_model *m)
{
    if (!m)
        return;
    for (int i = 0; i < m->nnets; i++)
        xg_net_destroy(m->net[i].net);
    free(m);
}

void nail_seg_model_sizes(const nail_seg_model *m, int *in_w, int *in_h, int *out_w, int *out_h)
{
    if (in_w)
        *in_w = m ? m->net[0].in_w : 0;
    if (in_h)
        *in_h = m ? m->net[0].in_h : 0;
    if (out_w)
        *out_w = m ? m->net[0].out_w : 0;
    if (out_h)
        *out_h = m ? m->net[0].out_h : 0;
}

int nail_seg_model_has_direction(const nail_seg_model *m)
{
    return m && m->net[0].dir_out >= 0;
}

int nail_seg_model_has_portrait(const nail_seg_model *m)
{
    return m && m->nnets == 2;
}

int nail_seg_create(const nail_seg_model *model, nail_seg **out)
{
    if (!model || !out)
        return LQ_EINVAL;
    nail_seg *s = calloc(1, sizeof *s);
    if (!s)
        return LQ_ENOMEM;
    const seg_net *m = &model->net[0]; /* the companion has the same sizes, transposed */
    s->model = model;
    s->m = m;
    size_t cells = (size_t)m->out_w * (size_t)m->out_h;
    int rc = 0;
    for (int i = 0; rc == 0 && i < model->nnets; i++)
        rc = xg_runner_create(model->net[i].net, 1, &s->runner[i]);
    s->r = s->runner[0];
    if (rc == 0)
        rc = lq_image_alloc(&s->small, m->in_w, m->in_h);
    if (rc == 0) {
        s->labels = calloc(cells, sizeof *s->labels);
        s->queue = calloc(cells, sizeof *s->queue);
        s->map = calloc(cells, sizeof *s->map);
        if (m->dir_out >= 0)
            s->dir = calloc(2 * cells, sizeof *s->dir);
        if (!s->labels || !s->queue || !s->map || (m->dir_out >= 0 && !s->dir))
            rc = LQ_ENOMEM;
    }
    if (rc < 0) {
        nail_seg_destroy(s);
        return rc;
    }
    *out = s;
    return 0;
}

void nail_seg_input_size(const nail_seg *s, int *in_w, int *in_h)
{
    nail_seg_model_sizes(s ? s->model : NULL, in_w, in_h, NULL, NULL);
}

void nail_seg_destroy(nail_seg *s)
{
    if (!s)
        return;
    xg_runner_destroy(s->runner[0]);
    xg_runner_destroy(s->runner[1]);
    lq_image_free(&s->small);
    free(s->labels);
    free(s->queue);
    free(s->map);
    free(s->dir);
    free(s->in_copy);
    free(s->acc);
    free(s);
}

/* ---- letterbox and inference ------------------------------------------ */

/* Copies an RGB8 image into the input tensor at (ox, oy), zero elsewhere. */
static void copy_padded(const lq_image *img, int ox, int oy, int tw, int th, float *t)
{
    memset(t, 0, sizeof(float) * 3u * (size_t)tw * (size_t)th);
    const float k = 1.0f / 255.0f;
    for (int y = 0; y < img->height; y++) {
        const uint8_t *p = lq_image_px(img, 0, y);
        float *q = t + 3u * ((size_t)(y + oy) * (size_t)tw + (size_t)ox);
        for (int i = 0; i < 3 * img->width; i++)
            q[i] = (float)p[i] * k;
    }
}

/* Copies the area-resized frame (rw x rh in the input's orientation, i.e.
 * rh x rw frame-oriented when rot) into the input at (ox, oy), zero elsewhere. */
static void copy_rotated(const lq_image *img, int ox, int oy, int tw, int th, float *t)
{
    memset(t, 0, sizeof(float) * 3u * (size_t)tw * (size_t)th);
    const float k = 1.0f / 255.0f;
    /* input (ox + a, oy + b) shows frame-oriented pixel (img->width - 1 - b, a) */
    for (int b = 0; b < img->width; b++) {
        float *q = t + 3u * ((size_t)(b + oy) * (size_t)tw + (size_t)ox);
        for (int a = 0; a < img->height; a++) {
            const uint8_t *p = lq_image_px(img, img->width - 1 - b, a);
            q[3 * a] = (float)p[0] * k;
            q[3 * a + 1] = (float)p[1] * k;
            q[3 * a + 2] = (float)p[2] * k;
        }
    }
}

/* The outputs in the frame's orientation: a portrait frame went in turned
 * (input x = frame y, input y = W - frame x), so turn the map back. */
static void orient_outputs(nail_seg *s, const float *p)
{
    const seg_net *m = s->m;
    const int ow = m->out_w, oh = m->out_h;
    const float *d = m->dir_out >= 0 ? xg_runner_output(s->r, m->dir_out) : NULL;
    if (!s->rot) {
        memcpy(s->map, p, sizeof(float) * (size_t)ow * (size_t)oh);
        if (d)
            memcpy(s->dir, d, sizeof(float) * 2u * (size_t)ow * (size_t)oh);
        return;
    }
    /* input cell (i, j) is frame-oriented cell (oh - 1 - j, i) of an oh x ow map;
     * an input vector (dx, dy) is (-dy, dx) in the frame */
    for (int j = 0; j < oh; j++)
        for (int i = 0; i < ow; i++) {
            size_t to = (size_t)i * (size_t)oh + (size_t)(oh - 1 - j);
            size_t from = (size_t)j * (size_t)ow + (size_t)i;
            s->map[to] = p[from];
            if (d) {
                s->dir[2 * to] = -d[2 * from + 1];
                s->dir[2 * to + 1] = d[2 * from];
            }
        }
}

int nail_seg_set_flips(nail_seg *s, unsigned flips)
{
    if (!s || (flips & ~(NAIL_SEG_FLIP_H | NAIL_SEG_FLIP_V | NAIL_SEG_FLIP_HV)) != 0)
        return LQ_EINVAL;
    if (flips && s->model->net[0].dir_out >= 0)
        return LQ_EUNSUPPORTED;
    if (flips && !s->in_copy) {
        const seg_net *m = &s->model->net[0]; /* the companion has the same sizes */
        size_t in = 3u * (size_t)m->in_w * (size_t)m->in_h;
        size_t cells = (size_t)m->out_w * (size_t)m->out_h;
        float *a = malloc(in * sizeof *a), *b = malloc(cells * sizeof *b);
        if (!a || !b) {
            free(a);
            free(b);
            return LQ_ENOMEM;
        }
        s->in_copy = a;
        s->acc = b;
    }
    s->flips = flips;
    return 0;
}

/* Mirrors a w x h image of c floats a pixel in place: left-right (fx) and/or
 * upside down (fy). */
static void flip_in_place(float *t, int w, int h, int c, int fx, int fy)
{
    for (int y = 0; y < (fy ? (h + 1) / 2 : h); y++) {
        int y2 = fy ? h - 1 - y : y;
        for (int x = 0; x < w; x++) {
            int x2 = fx ? w - 1 - x : x;
            float *a = t + ((size_t)y * (size_t)w + (size_t)x) * (size_t)c;
            float *b = t + ((size_t)y2 * (size_t)w + (size_t)x2) * (size_t)c;
            if (b <= a)
                continue; /* each pair once (and the fixed point) */
            for (int k = 0; k < c; k++) {
                float v = a[k];
                a[k] = b[k];
                b[k] = v;
            }
        }
    }
}

/* Inference on the filled input; with flips, also on each flipped input,
 * the maps flipped back and averaged (the input's size is even in both
 * directions a whole number of cells, so a flipped cell is a whole cell).
 * *prob: the map in the input's orientation. */
static int invoke_with_flips(nail_seg *s, const seg_net *m, const float **prob)
{
    if (xg_runner_invoke(s->r) < 0)
        return LQ_EMODEL;
    *prob = xg_runner_output(s->r, m->prob_out);
    if (!s->flips)
        return 0;
    const int ow = m->out_w, oh = m->out_h;
    const size_t cells = (size_t)ow * (size_t)oh, in = 3u * (size_t)m->in_w * (size_t)m->in_h;
    float *t = xg_runner_input(s->r, 0);
    memcpy(s->acc, *prob, cells * sizeof *s->acc);
    memcpy(s->in_copy, t, in * sizeof *t);
    static const unsigned bits[3] = {NAIL_SEG_FLIP_H, NAIL_SEG_FLIP_V, NAIL_SEG_FLIP_HV};
    int n = 1;
    for (int i = 0; i < 3; i++) {
        if (!(s->flips & bits[i]))
            continue;
        int fx = bits[i] != NAIL_SEG_FLIP_V, fy = bits[i] != NAIL_SEG_FLIP_H;
        memcpy(t, s->in_copy, in * sizeof *t);
        flip_in_place(t, m->in_w, m->in_h, 3, fx, fy);
        if (xg_runner_invoke(s->r) < 0)
            return LQ_EMODEL;
        const float *p = xg_runner_output(s->r, m->prob_out);
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
                s->acc[(size_t)y * ow + x] +=
                    p[(size_t)(fy ? oh - 1 - y : y) * ow + (size_t)(fx ? ow - 1 - x : x)];
        n++;
    }
    for (size_t c = 0; c < cells; c++)
        s->acc[c] /= (float)n;
    *prob = s->acc;
    return 0;
}

int nail_seg_run(nail_seg *s, const lq_image *frame)
{
    if (!s || !frame || !frame->data || frame->width < 1 || frame->height < 1 ||
        frame->width > LQ_IMAGE_MAX_DIM || frame->height > LQ_IMAGE_MAX_DIM ||
        frame->stride < 3 * frame->width)
        return LQ_EINVAL;
    const int W = frame->width, H = frame->height;
    /* the net whose input has the frame's orientation, when there is one */
    int pick = 0;
    for (int i = 0; i < s->model->nnets; i++)
        if ((H > W) == (s->model->net[i].in_h > s->model->net[i].in_w))
            pick = i;
    const seg_net *m = &s->model->net[pick];
    s->m = m;
    s->r = s->runner[pick];
    /* A portrait frame into a landscape input (or the other way round) is
     * turned a quarter turn so that it fills the input (the network is
     * trained on all rotations). RW x RH: the frame as the input sees it. */
    const int rot = (H > W) != (m->in_h > m->in_w);
    const int RW = rot ? H : W, RH = rot ? W : H;
    float scale = fminf((float)m->in_w / (float)RW, (float)m->in_h / (float)RH);
    int rw = (int)lroundf((float)RW * scale), rh = (int)lroundf((float)RH * scale);
    rw = rw < 1 ? 1 : rw > m->in_w ? m->in_w : rw;
    rh = rh < 1 ? 1 : rh > m->in_h ? m->in_h : rh;
    int ox = (m->in_w - rw) / 2, oy = (m->in_h - rh) / 2;
    float sx = (float)rw / (float)RW, sy = (float)rh / (float)RH;
    float *in = xg_runner_input(s->r, 0);
    if (sx >= 0.5f && sy >= 0.5f) {
        /* At most a 2x shrink: bilinear at the input's pixel centres is the
         * exact 2x2 mean at 2x and needs no scratch. Input (x, y) shows the
         * turned frame at ((x - ox) / sx, (y - oy) / sy), i.e. frame
         * (W - (y - oy) / sy, (x - ox) / sx) when turned. */
        lq_affine M = {{1.0f / sx, 0.0f, -(float)ox / sx, 0.0f, 1.0f / sy, -(float)oy / sy}};
        if (rot)
            M = (lq_affine){{0.0f, -1.0f / sy, (float)W + (float)oy / sy, 1.0f / sx, 0.0f,
                             -(float)ox / sx}};
        lq_warp_affine_to_tensor(frame, &M, m->in_w, m->in_h, 1.0f / 255.0f, 0.0f,
                                 LQ_BORDER_ZERO, in);
    } else {
        lq_image view = s->small;
        view.width = rot ? rh : rw;
        view.height = rot ? rw : rh;
        view.stride = 3 * view.width;
        view.owned = 0;
        int rc = lq_image_resize_into(frame, &view, LQ_RESIZE_AREA);
        if (rc < 0)
            return rc;
        if (rot)
            copy_rotated(&view, ox, oy, m->in_w, m->in_h, in);
        else
            copy_padded(&view, ox, oy, m->in_w, m->in_h, in);
    }
    const float *prob = NULL;
    if (invoke_with_flips(s, m, &prob) < 0) {
        s->ran = 0;
        return LQ_EMODEL;
    }
    s->ran = 1;
    s->blobs_done = 0;
    s->nblobs = 0;
    s->fw = W;
    s->fh = H;
    s->rot = rot;
    const float st = (float)m->stride;
    if (!rot) {
        s->map_w = m->out_w;
        s->map_h = m->out_h;
        s->cell_x = st / sx;
        s->cell_y = st / sy;
        s->org_x = -(float)ox / sx;
        s->org_y = -(float)oy / sy;
    } else {
        s->map_w = m->out_h;
        s->map_h = m->out_w;
        s->cell_x = st / sy;
        s->cell_y = st / sx;
        s->org_x = (float)W - (st * (float)m->out_h - (float)oy) / sy;
        s->org_y = -(float)ox / sx;
    }
    orient_outputs(s, prob);
    return 0;
}

int nail_seg_run_region(nail_seg *s, const lq_image *frame, int x0, int y0, int w, int h)
{
    if (!s || !frame || !frame->data || frame->width < 1 || frame->height < 1 ||
        frame->stride < 3 * frame->width || x0 < 0 || y0 < 0 || w < 1 || h < 1 ||
        x0 > frame->width - w || y0 > frame->height - h)
        return LQ_EINVAL;
    lq_image view = {w, h, frame->stride, lq_image_px(frame, x0, y0), 0};
    int rc = nail_seg_run(s, &view);
    if (rc < 0)
        return rc;
    s->fw = frame->width;
    s->fh = frame->height;
    s->org_x += (float)x0;
    s->org_y += (float)y0;
    return 0;
}

const float *nail_seg_prob(const nail_seg *s, int *w, int *h)
{
    if (w)
        *w = s && s->ran ? s->map_w : 0;
    if (h)
        *h = s && s->ran ? s->map_h : 0;
    if (!s || !s->ran)
        return NULL;
    return s->map;
}

void nail_seg_frame_to_map(const nail_seg *s, float x, float y, float *mx, float *my)
{
    *mx = (x - s->org_x) / s->cell_x;
    *my = (y - s->org_y) / s->cell_y;
}

void nail_seg_map_to_frame(const nail_seg *s, float mx, float my, float *x, float *y)
{
    *x = s->cell_x * mx + s->org_x;
    *y = s->cell_y * my + s->org_y;
}

/* ---- blobs -------------------------------------------------------------- */

int nail_seg_blob_opts_validate(const nail_seg_blob_opts *o)
{
    const char *bad = NULL;
    if (!o)
        bad = "opts";
    else if (!(o->threshold > 0.0f && o->threshold < 1.0f))
        bad = "threshold (0..1, exclusive)";
    else if (!(o->min_area_px >= 0.0f && o->min_area_px <= 1.0e7f))
        bad = "min_area_px (0..1e7)";
    else if (o->max_blobs < 1 || o->max_blobs > NAIL_SEG_MAX_BLOBS)
        bad = "max_blobs (1..16)";
    else if (!(o->min_rel_area >= 0.0f && o->min_rel_area <= 1.0f))
        bad = "min_rel_area (0..1)";
    if (!bad)
        return 0;
    LQ_WARN(TAG, "invalid blob option: %s", bad);
    return LQ_EINVAL;
}

/* Area and the two second moments (along, across) of the nail outline of
 * geometry.h with length 1 and width `aspect_inv` (= width / length). */
static void shape_moments(float aspect_inv, double *area, double *var_u, double *var_v)
{
    enum { N = 64 };
    double a = 0, su = 0, sv = 0;
    for (int i = 0; i < N; i++) {
        float u = -0.5f + ((float)i + 0.5f) / (float)N;
        double hw = nail_geom_half_width(1.0f, aspect_inv, SEG_CUTICLE_ROUND, SEG_TIP_ROUND, u);
        double len = 2.0 * hw / N;
        a += len;
        su += (double)u * u * len;
        sv += len * (2.0 * hw) * (2.0 * hw) / 12.0;
    }
    *area = a;
    *var_u = a > 0 ? su / a : 0;
    *var_v = a > 0 ? sv / a : 0;
}

typedef struct blob_acc {
    int label;
    double n, p, si, sj, sii, sjj, sij;
    int i0, j0, i1, j1;
} blob_acc;

/* Turns accumulated cell moments into a blob in frame pixels. */
static void finish_blob(const blob_acc *a, float cell_x, float cell_y, float ox, float oy,
                        nail_seg_blob *b)
{
    memset(b, 0, sizeof *b);
    double mi = a->si / a->n, mj = a->sj / a->n;
    /* each cell is a uniform square: add its own variance (1/12 cell^2) */
    double vii = a->sii / a->n - mi * mi + 1.0 / 12.0;
    double vjj = a->sjj / a->n - mj * mj + 1.0 / 12.0;
    double vij = a->sij / a->n - mi * mj;
    double cx = cell_x, cy = cell_y;
    double xx = vii * cx * cx, yy = vjj * cy * cy, xy = vij * cx * cy;
    double tr = xx + yy, det = xx * yy - xy * xy;
    double disc = sqrt(fmax(0.0, tr * tr / 4.0 - det));
    double l1 = tr / 2.0 + disc, l2 = fmax(tr / 2.0 - disc, 1e-9);
    double ang = 0.5 * atan2(2.0 * xy, xx - yy);
    double ax = cos(ang), ay = sin(ang);
    if (ay > 0.0 || (ay == 0.0 && ax < 0.0)) { /* upright: tip toward the top */
        ax = -ax;
        ay = -ay;
    }
    b->cx = (float)(cell_x * (mi + 0.5) + ox);
    b->cy = (float)(cell_y * (mj + 0.5) + oy);
    b->ax = (float)ax;
    b->ay = (float)ay;
    b->area = (float)(a->n * cx * cy);
    b->elongation = (float)sqrt(l1 / l2);
    b->confidence = (float)(a->p / a->n);
    b->dir_source = NAIL_SEG_DIR_UPRIGHT;
    /* Aspect from the moments (a few fixed-point steps through the shape's
     * own moments), size from the area. */
    double k = b->elongation;
    for (int it = 0; it < 4; it++) {
        double ar, vu, vv;
        shape_moments((float)(1.0 / k), &ar, &vu, &vv);
        double r = sqrt((l1 / l2) / (vu / vv));
        k = fmin(fmax(k * r, 1.0 / 4.0), 8.0);
    }
    double ar, vu, vv;
    shape_moments((float)(1.0 / k), &ar, &vu, &vv);
    double L = sqrt(b->area / ar); /* area of length L: ar * L^2 */
    b->length = (float)L;
    b->width = (float)(L / k);
    b->x0 = (int)floor(cell_x * a->i0 + ox);
    b->y0 = (int)floor(cell_y * a->j0 + oy);
    b->x1 = (int)ceil(cell_x * (a->i1 + 1) + ox);
    b->y1 = (int)ceil(cell_y * (a->j1 + 1) + oy);
}

int nail_seg_find_blobs(const float *prob, int w, int h, float cell_x, float cell_y, float ox,
                        float oy, const nail_seg_blob_opts *o, int *labels, int *queue,
                        nail_seg_blob *out, int cap, int *n)
{
    if (!prob || !labels || !queue || !n || (!out && cap > 0) || cap < 0 || w < 1 || h < 1 ||
        w > 4096 || h > 4096 || !(cell_x > 0.0f) || !(cell_y > 0.0f) || !isfinite(ox) ||
        !isfinite(oy))
        return LQ_EINVAL;
    if (nail_seg_blob_opts_validate(o) < 0)
        return LQ_EINVAL;
    const float thr = o->threshold;
    const int keep_max = o->max_blobs < cap ? o->max_blobs : cap;
    const double min_cells = o->min_area_px / ((double)cell_x * cell_y);
    blob_acc keep[NAIL_SEG_MAX_BLOBS];
    int nkeep = 0, next = 0;
    memset(labels, 0, sizeof(int) * (size_t)w * (size_t)h);
    for (int start = 0; start < w * h; start++) {
        if (labels[start] || !(prob[start] >= thr))
            continue;
        blob_acc a = {.label = ++next, .i0 = w, .j0 = h, .i1 = -1, .j1 = -1};
        int head = 0, tail = 0;
        queue[tail++] = start;
        labels[start] = a.label;
        while (head < tail) {
            int c = queue[head++];
            int i = c % w, j = c / w;
            a.n += 1.0;
            a.p += prob[c];
            a.si += i;
            a.sj += j;
            a.sii += (double)i * i;
            a.sjj += (double)j * j;
            a.sij += (double)i * j;
            a.i0 = i < a.i0 ? i : a.i0;
            a.i1 = i > a.i1 ? i : a.i1;
            a.j0 = j < a.j0 ? j : a.j0;
            a.j1 = j > a.j1 ? j : a.j1;
            const int nb[4] = {i > 0 ? c - 1 : -1, i < w - 1 ? c + 1 : -1, j > 0 ? c - w : -1,
                               j < h - 1 ? c + w : -1};
            for (int k = 0; k < 4; k++)
                if (nb[k] >= 0 && !labels[nb[k]] && prob[nb[k]] >= thr) {
                    labels[nb[k]] = a.label;
                    queue[tail++] = nb[k];
                }
        }
        if (a.n < min_cells || a.n < 1.0 || keep_max == 0)
            continue;
        if (nkeep < keep_max) {
            keep[nkeep++] = a;
            continue;
        }
        int small = 0;
        for (int k = 1; k < nkeep; k++)
            small = keep[k].n < keep[small].n ? k : small;
        if (a.n > keep[small].n)
            keep[small] = a;
    }
    /* largest first; specks next to real nails go */
    for (int i = 1; i < nkeep; i++)
        for (int j = i; j > 0 && keep[j].n > keep[j - 1].n; j--) {
            blob_acc t = keep[j];
            keep[j] = keep[j - 1];
            keep[j - 1] = t;
        }
    while (nkeep > 1 && keep[nkeep - 1].n < (double)o->min_rel_area * keep[0].n)
        nkeep--;
    for (int c = 0; c < w * h; c++) {
        int l = labels[c], f = 0;
        if (!l)
            continue;
        for (int k = 0; k < nkeep && !f; k++)
            f = keep[k].label == l ? k + 1 : 0;
        labels[c] = f;
    }
    for (int k = 0; k < nkeep; k++) {
        finish_blob(&keep[k], cell_x, cell_y, ox, oy, &out[k]);
        out[k].label = k + 1;
    }
    *n = nkeep;
    return 0;
}

/* Rule 2: a nail whose axis runs off the frame at one end only belongs to a
 * finger entering from that edge, so that end is the base. (A colour rule -
 * the cuticle end runs into skin like the nail's sides - agreed with the
 * landmarks' DIP->TIP on 20 of 43 blobs of the shared hand photos: chance,
 * since past a short nail's free edge there is fingertip skin too. It was
 * dropped; see docs/segmentation.md.) */
static int direction_from_frame_edge(const lq_image *f, nail_seg_blob *b)
{
    float reach = 0.5f * b->length + 0.5f * b->width;
    float fx = b->cx + b->ax * reach, fy = b->cy + b->ay * reach;
    float bx = b->cx - b->ax * reach, by = b->cy - b->ay * reach;
    int fin = fx >= 0.0f && fy >= 0.0f && fx < (float)f->width && fy < (float)f->height;
    int bin = bx >= 0.0f && by >= 0.0f && bx < (float)f->width && by < (float)f->height;
    if (fin == bin)
        return 0;
    if (!fin) {
        b->ax = -b->ax;
        b->ay = -b->ay;
    }
    b->dir_source = NAIL_SEG_DIR_CONTEXT;
    return 1;
}

/* Rule 1: the mean of the network's direction field over the blob. */
static int direction_from_network(const nail_seg *s, nail_seg_blob *b)
{
    const float *d = s->dir;
    int w = s->map_w, h = s->map_h;
    double sx = 0, sy = 0;
    for (int c = 0; c < w * h; c++)
        if (s->labels[c] == b->label) {
            sx += d[2 * c];
            sy += d[2 * c + 1];
        }
    double dot = sx * b->ax + sy * b->ay, norm = sqrt(sx * sx + sy * sy);
    if (!(norm > 0.0) || fabs(dot) < 0.2 * norm)
        return 0;
    if (dot < 0) {
        b->ax = -b->ax;
        b->ay = -b->ay;
    }
    b->dir_source = NAIL_SEG_DIR_NETWORK;
    return 1;
}

int nail_seg_blobs(nail_seg *s, const lq_image *frame, const nail_seg_blob_opts *o,
                   nail_seg_blob *out, int cap, int *n)
{
    if (!s || !o || !n || cap < 0 || (!out && cap > 0) || !s->ran)
        return LQ_EINVAL;
    if (frame && (!frame->data || frame->width != s->fw || frame->height != s->fh))
        return LQ_EINVAL;
    int nb = 0;
    int rc = nail_seg_find_blobs(s->map, s->map_w, s->map_h, s->cell_x, s->cell_y, s->org_x,
                                 s->org_y, o, s->labels, s->queue, s->blob, NAIL_SEG_MAX_BLOBS,
                                 &nb);
    if (rc < 0)
        return rc;
    for (int i = 0; i < nb; i++) {
        nail_seg_blob *b = &s->blob[i];
        if (s->dir && direction_from_network(s, b))
            continue;
        if (frame)
            (void)direction_from_frame_edge(frame, b);
    }
    s->nblobs = nb;
    s->threshold = o->threshold;
    s->blobs_done = 1;
    int k = nb < cap ? nb : cap;
    for (int i = 0; i < k; i++)
        out[i] = s->blob[i];
    *n = k;
    return 0;
}

int nail_seg_mask(const nail_seg *s, int label, uint8_t *mask, int w, int h, int stride)
{
    if (!s || !mask || !s->ran || !s->blobs_done || w != s->fw || h != s->fh || stride < w ||
        label < 0 || label > s->nblobs)
        return LQ_EINVAL;
    for (int y = 0; y < h; y++)
        memset(mask + (size_t)y * (size_t)stride, 0, (size_t)w);
    const int mw = s->map_w, mh = s->map_h;
    const float *p = s->map;
    const float kx = 1.0f / s->cell_x, ky = 1.0f / s->cell_y;
    const float bx = -s->org_x / s->cell_x, by = -s->org_y / s->cell_y;
    for (int bi = 0; bi < s->nblobs; bi++) {
        const nail_seg_blob *b = &s->blob[bi];
        if (label && b->label != label)
            continue;
        /* the blob's box grown by one cell */
        float gx = 1.0f / kx, gy = 1.0f / ky;
        int x0 = (int)fmaxf(0.0f, (float)b->x0 - gx), x1 = (int)fminf((float)w, (float)b->x1 + gx);
        int y0 = (int)fmaxf(0.0f, (float)b->y0 - gy), y1 = (int)fminf((float)h, (float)b->y1 + gy);
        for (int y = y0; y < y1; y++) {
            float my = ((float)y + 0.5f) * ky + by;
            int cj = (int)floorf(my);
            float fy = my - 0.5f;
            int j0 = (int)floorf(fy);
            float ty = fy - (float)j0;
            int ja = j0 < 0 ? 0 : j0 >= mh ? mh - 1 : j0;
            int jb = j0 + 1 < 0 ? 0 : j0 + 1 >= mh ? mh - 1 : j0 + 1;
            uint8_t *row = mask + (size_t)y * (size_t)stride;
            for (int x = x0; x < x1; x++) {
                float mx = ((float)x + 0.5f) * kx + bx;
                int ci = (int)floorf(mx);
                /* one of the 3x3 cells around must belong to the blob */
                int near = 0;
                for (int dj = -1; dj <= 1 && !near; dj++)
                    for (int di = -1; di <= 1 && !near; di++) {
                        int i = ci + di, j = cj + dj;
                        near = i >= 0 && j >= 0 && i < mw && j < mh &&
                               s->labels[j * mw + i] == b->label;
                    }
                if (!near)
                    continue;
                float fx = mx - 0.5f;
                int i0 = (int)floorf(fx);
                float tx = fx - (float)i0;
                int ia = i0 < 0 ? 0 : i0 >= mw ? mw - 1 : i0;
                int ib = i0 + 1 < 0 ? 0 : i0 + 1 >= mw ? mw - 1 : i0 + 1;
                float v = (1 - ty) * ((1 - tx) * p[ja * mw + ia] + tx * p[ja * mw + ib]) +
                          ty * ((1 - tx) * p[jb * mw + ia] + tx * p[jb * mw + ib]);
                if (v >= s->threshold)
                    row[x] = 255;
            }
        }
    }
    return 0;
}

void nail_seg_blob_to_geom(const nail_seg_blob *b, nail_geom *g)
{
    memset(g, 0, sizeof *g);
    g->hand = -1;
    g->track_id = -1;
    g->finger = -1;
    g->visible = 1;
    g->confidence = b->confidence;
    g->cx = b->cx;
    g->cy = b->cy;
    g->ax = b->ax;
    g->ay = b->ay;
    g->width = b->width;
    g->length = b->length;
    g->foreshorten = 1.0f;
    g->cuticle_round = SEG_CUTICLE_ROUND;
    g->tip_round = SEG_TIP_ROUND;
    g->facing = 1.0f;
    g->fit = -1.0f;
}
