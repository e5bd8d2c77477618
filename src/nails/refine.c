/* refine.c - fit the natural nail outline to the pixels: local colour models
 * (plate, skin, background), a linear discriminant per sample, and a
 * coordinate search over the outline's four edges. */
#include "nails/refine.h"

#include <math.h>
#include <string.h>

#include "base/log.h"

#define GU NAIL_REFINE_GRID_U
#define GV NAIL_REFINE_GRID_V

/* The sampled window reaches this many predicted half-sizes from the centre. */
#define WINDOW_U 2.6f
#define WINDOW_V 2.4f
/* Finest sample spacing in pixels: small nails get a smaller grid. */
#define MIN_STEP_PX 0.75f
/* Squared Mahalanobis distance beyond which a sample is left out of its
 * region's colour model on the second pass (chi-square, 3 dof, ~90%). */
#define TRIM_M2 6.0f
/* Per-sample log-likelihood ratios are clamped to +-this: one odd pixel
 * (glare, a hair) must not outweigh its neighbours. */
#define SCORE_CLAMP 20.0f
/* Background: beyond the free edge by this many half-lengths, or this many
 * half-widths beside the plate's distal half. */
#define BG_GAP 0.6f
#define BG_SIDE 2.0f
/* Pixel noise floor added to the colour covariances (8-bit units, squared). */
#define COV_FLOOR 9.0f
/* Spread of the log size prior. */
#define SIZE_SIGMA 0.35f
#define MIN_REGION_SAMPLES 8
/* Plate-vs-skin contrast (mean log-likelihood ratio inside the outline minus
 * over the skin behind it): below MIN_CONTRAST the fit is refused; at
 * FIT_HALF the reported fit is 0.5 (the median on the annotated photos). */
#define MIN_CONTRAST 0.5f
#define FIT_HALF 6.0f
#define MAX_ROUNDS 3
/* Below this facing the width is unsure; at facing 0 its prior is
 * (1 + OBLIQUE_GAIN) times as loose and it may shrink that much further. */
#define OBLIQUE_FACING 0.6f
#define OBLIQUE_GAIN 1.5f

typedef struct gauss3 {
    float mean[3];
    float cov[6]; /* xx xy xz yy yz zz */
} gauss3;

/* The outline in window coordinates: cuticle u0, free edge u1, sides v0 < v1. */
typedef struct span4 {
    float u0, u1, v0, v1;
} span4;

typedef struct fit_ctx {
    float cx, cy, ax, ay;     /* prediction: centre and axis */
    float hl0, hw0;           /* prediction: half length, half width */
    float cut_r, tip_r;       /* corner rounding fractions */
    int nu, nv;               /* grid size used (<= GU, GV) */
    float umin, du, vmin, dv; /* sample (i,j) sits at u = umin + (i+.5)du, v = vmin + (j+.5)dv */
    float lo_hl, hi_hl, lo_hw, hi_hw, max_du, max_dv; /* search bounds */
    float prior_k;            /* penalty weight, in samples */
    float sw_sigma;           /* spread of the log width prior */
    float rgb[GU][GV][3];
    unsigned char valid[GU][GV];
    signed char label[GU][GV];  /* enum region of the sample, -1 if none */
    float s[GU][GV];          /* per-sample score: > 0 looks like the plate */
    float pre[GU][GV + 1];    /* row prefix sums of s */
} fit_ctx;

static float clampf(float x, float lo, float hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

int nail_refine_opts_validate(const nail_refine_opts *o)
{
    if (!o)
        return LQ_EINVAL;
    if (!(o->search >= 0.0f && o->search <= 1.0f)) {
        LQ_WARN("nails", "nail_refine_opts.search must be in [0,1]");
        return LQ_EINVAL;
    }
    if (!(o->max_scale >= 1.0f && o->max_scale <= 3.0f)) {
        LQ_WARN("nails", "nail_refine_opts.max_scale must be in [1,3]");
        return LQ_EINVAL;
    }
    if (!(o->prior_weight >= 0.0f && o->prior_weight <= 10.0f)) {
        LQ_WARN("nails", "nail_refine_opts.prior_weight must be in [0,10]");
        return LQ_EINVAL;
    }
    if (o->iterations < 1 || o->iterations > 4) {
        LQ_WARN("nails", "nail_refine_opts.iterations must be in [1,4] (got %d)", o->iterations);
        return LQ_EINVAL;
    }
    return 0;
}

/* ---- sampling ------------------------------------------------------------ */

/* Bilinear RGB at continuous pixel coordinates (pixel centres at +0.5).
 * Returns 0 outside the frame. */
static int sample_rgb(const lq_image *img, float x, float y, float out[3])
{
    float fx = x - 0.5f, fy = y - 0.5f;
    if (!(fx >= 0.0f && fy >= 0.0f && fx <= (float)(img->width - 1) &&
          fy <= (float)(img->height - 1)))
        return 0;
    int x0 = (int)fx, y0 = (int)fy;
    int x1 = x0 + 1 < img->width ? x0 + 1 : x0;
    int y1 = y0 + 1 < img->height ? y0 + 1 : y0;
    float tx = fx - (float)x0, ty = fy - (float)y0;
    const uint8_t *p00 = lq_image_px(img, x0, y0), *p10 = lq_image_px(img, x1, y0);
    const uint8_t *p01 = lq_image_px(img, x0, y1), *p11 = lq_image_px(img, x1, y1);
    for (int c = 0; c < 3; c++) {
        float top = (float)p00[c] + tx * ((float)p10[c] - (float)p00[c]);
        float bot = (float)p01[c] + tx * ((float)p11[c] - (float)p01[c]);
        out[c] = top + ty * (bot - top);
    }
    return 1;
}

static float row_u(const fit_ctx *c, int i)
{
    return c->umin + ((float)i + 0.5f) * c->du;
}

static float col_v(const fit_ctx *c, int j)
{
    return c->vmin + ((float)j + 0.5f) * c->dv;
}

static int sample_window(fit_ctx *c, const lq_image *img)
{
    int nvalid = 0;
    for (int i = 0; i < c->nu; i++) {
        float u = row_u(c, i);
        for (int j = 0; j < c->nv; j++) {
            float v = col_v(c, j);
            float x = c->cx + u * c->ax - v * c->ay;
            float y = c->cy + u * c->ay + v * c->ax;
            c->valid[i][j] = (unsigned char)sample_rgb(img, x, y, c->rgb[i][j]);
            nvalid += c->valid[i][j];
        }
    }
    return nvalid;
}

/* ---- colour models ------------------------------------------------------- */

enum region { REGION_PLATE, REGION_SKIN, REGION_BACKGROUND };

/* Where each class is sampled, relative to the current outline. Plate: its
 * core. Skin: behind the cuticle (the back of the distal phalanx; the skin
 * beside the plate is not used: when the prediction is too narrow that band
 * holds plate). Background: beyond the free edge and
 * far beside the distal half (often the scene, sometimes a neighbour finger). */
static int in_region(const span4 *sp, enum region r, float u, float v)
{
    float uc = 0.5f * (sp->u0 + sp->u1), hl = 0.5f * (sp->u1 - sp->u0);
    float vc = 0.5f * (sp->v0 + sp->v1), hw = 0.5f * (sp->v1 - sp->v0);
    float du = u - uc, dv = fabsf(v - vc);
    switch (r) {
    case REGION_PLATE:
        return fabsf(du) < 0.6f * hl && dv < 0.55f * hw;
    case REGION_SKIN:
        return u >= sp->u0 - hl && u <= sp->u0 - 0.2f * hl && dv < 0.8f * hw;
    case REGION_BACKGROUND:
        return u >= sp->u1 + BG_GAP * hl || (dv >= BG_SIDE * hw && u >= uc);
    }
    return 0;
}

/* Inverse of a symmetric 3x3 [[a b c] [b d e] [c e f]] given as a b c d e f. */
static int symmetric_inverse(const double q[6], float inv[9])
{
    double A = q[0], B = q[1], C = q[2], D = q[3], E = q[4], F = q[5];
    double c00 = D * F - E * E, c01 = C * E - B * F, c02 = B * E - C * D;
    double det = A * c00 + B * c01 + C * c02;
    if (!(det > 1e-6))
        return 0;
    double c11 = A * F - C * C, c12 = B * C - A * E, c22 = A * D - B * B;
    double m[9] = {c00, c01, c02, c01, c11, c12, c02, c12, c22};
    for (int k = 0; k < 9; k++)
        inv[k] = (float)(m[k] / det);
    return 1;
}

static float mahalanobis2(const float ic[9], const float mean[3], const float p[3])
{
    float x = p[0] - mean[0], y = p[1] - mean[1], z = p[2] - mean[2];
    return x * (ic[0] * x + ic[1] * y + ic[2] * z) + y * (ic[3] * x + ic[4] * y + ic[5] * z) +
           z * (ic[6] * x + ic[7] * y + ic[8] * z);
}

/* Colour moments of the three classes, accumulated in one pass. */
typedef struct moments3 {
    double sum[3][3], sq[3][6];
    int n[3];
} moments3;

static void moments_add(moments3 *m, int r, const float *p)
{
    double *s = m->sum[r], *q = m->sq[r];
    s[0] += p[0];
    s[1] += p[1];
    s[2] += p[2];
    q[0] += (double)p[0] * p[0];
    q[1] += (double)p[0] * p[1];
    q[2] += (double)p[0] * p[2];
    q[3] += (double)p[1] * p[1];
    q[4] += (double)p[1] * p[2];
    q[5] += (double)p[2] * p[2];
    m->n[r]++;
}

static int moments_gauss(const moments3 *m, int r, gauss3 *g)
{
    int n = m->n[r];
    if (n < MIN_REGION_SAMPLES)
        return 0;
    static const int ia[6] = {0, 0, 0, 1, 1, 2}, ib[6] = {0, 1, 2, 1, 2, 2};
    double mean[3];
    for (int k = 0; k < 3; k++) {
        mean[k] = m->sum[r][k] / n;
        g->mean[k] = (float)mean[k];
    }
    for (int k = 0; k < 6; k++)
        g->cov[k] = (float)(m->sq[r][k] / n - mean[ia[k]] * mean[ib[k]]);
    return 1;
}

/* Inverse covariance (plus the noise floor) of g, for trimming. */
static int gauss_inverse(const gauss3 *g, float inv[9])
{
    double q[6];
    for (int k = 0; k < 6; k++)
        q[k] = g->cov[k];
    q[0] += COV_FLOOR;
    q[3] += COV_FLOOR;
    q[5] += COV_FLOOR;
    return symmetric_inverse(q, inv);
}

/* Labels every sample with its class region (-1: none) and fits one Gaussian
 * per class, twice: the second fit leaves out samples far from the first
 * (background or shadow in the skin band, glare on the plate). ok[r] says
 * whether class r had enough samples. */
static void fit_classes(fit_ctx *c, const span4 *sp, gauss3 g[3], int ok[3])
{
    moments3 m;
    memset(&m, 0, sizeof m);
    for (int i = 0; i < c->nu; i++) {
        float u = row_u(c, i);
        for (int j = 0; j < c->nv; j++) {
            signed char lab = -1;
            if (c->valid[i][j]) {
                float v = col_v(c, j);
                for (int r = 0; r < 3 && lab < 0; r++)
                    if (in_region(sp, (enum region)r, u, v))
                        lab = (signed char)r;
            }
            c->label[i][j] = lab;
            if (lab >= 0)
                moments_add(&m, lab, c->rgb[i][j]);
        }
    }
    gauss3 first[3];
    float inv[3][9];
    int trim[3];
    for (int r = 0; r < 3; r++) {
        ok[r] = moments_gauss(&m, r, &first[r]);
        trim[r] = ok[r] && gauss_inverse(&first[r], inv[r]);
        g[r] = first[r];
    }
    moments3 m2;
    memset(&m2, 0, sizeof m2);
    for (int i = 0; i < c->nu; i++)
        for (int j = 0; j < c->nv; j++) {
            int r = c->label[i][j];
            if (r >= 0 && trim[r] && mahalanobis2(inv[r], first[r].mean, c->rgb[i][j]) <= TRIM_M2)
                moments_add(&m2, r, c->rgb[i][j]);
        }
    for (int r = 0; r < 3; r++)
        if (trim[r] && !moments_gauss(&m2, r, &g[r]))
            g[r] = first[r];
}

/* Fisher's linear discriminant between the plate and another class: with a
 * shared (pooled, plus the noise floor) covariance the log-likelihood ratio
 * of the two Gaussians is linear in the colour, w.(x - mid), w = S^-1 (mean
 * difference). It is 0 halfway, +D^2/2 at the plate's mean (D: Mahalanobis
 * distance between the means), so a sample's weight grows with how clearly
 * the classes differ: a crisp plate pulls the outline harder against the
 * prior than a faint one. Linear scores also degrade gracefully where the
 * plate's colour varies (lunula, glare, free edge). */
typedef struct lda {
    float w[3], mid[3];
} lda;

static int lda_make(const gauss3 *plate, const gauss3 *other, lda *l)
{
    double q[6];
    for (int k = 0; k < 6; k++)
        q[k] = 0.5 * ((double)plate->cov[k] + (double)other->cov[k]);
    q[0] += COV_FLOOR;
    q[3] += COV_FLOOR;
    q[5] += COV_FLOOR;
    float ic[9], d[3];
    if (!symmetric_inverse(q, ic))
        return 0;
    for (int k = 0; k < 3; k++) {
        d[k] = plate->mean[k] - other->mean[k];
        l->mid[k] = 0.5f * (plate->mean[k] + other->mean[k]);
    }
    for (int k = 0; k < 3; k++)
        l->w[k] = ic[3 * k] * d[0] + ic[3 * k + 1] * d[1] + ic[3 * k + 2] * d[2];
    /* half the squared Mahalanobis distance between the means */
    float sep = 0.5f * (l->w[0] * d[0] + l->w[1] * d[1] + l->w[2] * d[2]);
    return sep > 1e-3f;
}

static float lda_score(const lda *l, const float p[3])
{
    return l->w[0] * (p[0] - l->mid[0]) + l->w[1] * (p[1] - l->mid[1]) +
           l->w[2] * (p[2] - l->mid[2]);
}

/* Scores every sample: plate against skin and, when the window shows some
 * background, plate against background; a sample must look like the plate to
 * both. Then row prefix sums. Returns 0 if the classes cannot be told apart. */
static int score_samples(fit_ctx *c, const span4 *sp)
{
    gauss3 g[3];
    int ok[3];
    lda ls, lb;
    fit_classes(c, sp, g, ok);
    if (!ok[REGION_PLATE] || !ok[REGION_SKIN] || !lda_make(&g[REGION_PLATE], &g[REGION_SKIN], &ls))
        return 0;
    int use_bg = ok[REGION_BACKGROUND] && lda_make(&g[REGION_PLATE], &g[REGION_BACKGROUND], &lb);
    for (int i = 0; i < c->nu; i++) {
        c->pre[i][0] = 0.0f;
        for (int j = 0; j < c->nv; j++) {
            float s = 0.0f;
            if (c->valid[i][j]) {
                s = lda_score(&ls, c->rgb[i][j]);
                if (use_bg) {
                    float t = lda_score(&lb, c->rgb[i][j]);
                    s = t < s ? t : s;
                }
                s = clampf(s, -SCORE_CLAMP, SCORE_CLAMP);
            }
            c->s[i][j] = s;
            c->pre[i][j + 1] = c->pre[i][j] + s;
        }
    }
    return 1;
}

/* ---- the outline search ---------------------------------------------------- */

/* Sum of row i's scores over v in [va, vb] (window coordinates), with linear
 * interpolation inside the end samples. */
static float row_span(const fit_ctx *c, int i, float va, float vb)
{
    float xa = clampf((va - c->vmin) / c->dv, 0.0f, (float)c->nv);
    float xb = clampf((vb - c->vmin) / c->dv, 0.0f, (float)c->nv);
    int ia = (int)xa, ib = (int)xb;
    float fa = c->pre[i][ia] + (ia < c->nv ? (xa - (float)ia) * c->s[i][ia] : 0.0f);
    float fb = c->pre[i][ib] + (ib < c->nv ? (xb - (float)ib) * c->s[i][ib] : 0.0f);
    return fb - fa;
}

/* Total score inside the outline; rows cut by the ends count by the fraction
 * of the row inside. */
static float data_term(const fit_ctx *c, const span4 *sp)
{
    float uc = 0.5f * (sp->u0 + sp->u1), len = sp->u1 - sp->u0;
    float vc = 0.5f * (sp->v0 + sp->v1), wid = sp->v1 - sp->v0;
    int i0 = (int)floorf((sp->u0 - c->umin) / c->du);
    int i1 = (int)floorf((sp->u1 - c->umin) / c->du);
    if (i0 < 0)
        i0 = 0;
    if (i1 > c->nu - 1)
        i1 = c->nu - 1;
    float total = 0.0f;
    for (int i = i0; i <= i1; i++) {
        float ra = c->umin + (float)i * c->du, rb = ra + c->du;
        float oa = ra > sp->u0 ? ra : sp->u0, ob = rb < sp->u1 ? rb : sp->u1;
        if (ob <= oa)
            continue;
        float half = nail_geom_half_width(len, wid, c->cut_r, c->tip_r, 0.5f * (oa + ob) - uc);
        total += (ob - oa) / c->du * row_span(c, i, vc - half, vc + half);
    }
    return total;
}

/* Data minus a quadratic pull toward the prediction (shift in half-sizes,
 * log size change in SIZE_SIGMA). */
static float energy(const fit_ctx *c, const span4 *sp)
{
    float uc = 0.5f * (sp->u0 + sp->u1), hl = 0.5f * (sp->u1 - sp->u0);
    float vc = 0.5f * (sp->v0 + sp->v1), hw = 0.5f * (sp->v1 - sp->v0);
    float pu = uc / c->hl0, pv = vc / c->hw0;
    float sl = logf(hl / c->hl0) / SIZE_SIGMA, sw = logf(hw / c->hw0) / c->sw_sigma;
    return data_term(c, sp) - c->prior_k * (pu * pu + pv * pv + sl * sl + sw * sw);
}

static int span_ok(const fit_ctx *c, const span4 *sp)
{
    float uc = 0.5f * (sp->u0 + sp->u1), hl = 0.5f * (sp->u1 - sp->u0);
    float vc = 0.5f * (sp->v0 + sp->v1), hw = 0.5f * (sp->v1 - sp->v0);
    return hl >= c->lo_hl && hl <= c->hi_hl && hw >= c->lo_hw && hw <= c->hi_hw &&
           fabsf(uc) <= c->max_du && fabsf(vc) <= c->max_dv;
}

/* Moves one edge (k: 0 cuticle, 1 free edge, 2/3 sides) to its best position:
 * a coarse scan over the prediction's half-size, then a fine one around the
 * best. */
static float search_edge(const fit_ctx *c, span4 *sp, int k, float best_e)
{
    float *edge = k == 0 ? &sp->u0 : k == 1 ? &sp->u1 : k == 2 ? &sp->v0 : &sp->v1;
    float step = k < 2 ? c->du : c->dv;
    float range = k < 2 ? c->hl0 : c->hw0;
    float start = *edge, best = *edge;
    for (int pass = 0; pass < 2; pass++) {
        float st = pass == 0 ? 2.0f * step : 0.5f * step;
        float r = pass == 0 ? range : 1.5f * step;
        float centre = pass == 0 ? start : best;
        int ncand = (int)(r / st);
        for (int t = -ncand; t <= ncand; t++) {
            if (t == 0)
                continue;
            *edge = centre + (float)t * st;
            if (!span_ok(c, sp))
                continue;
            float e = energy(c, sp);
            if (e > best_e) {
                best_e = e;
                best = *edge;
            }
        }
    }
    *edge = best;
    return best_e;
}

static float optimise(const fit_ctx *c, span4 *sp)
{
    float e = energy(c, sp);
    for (int round = 0; round < MAX_ROUNDS; round++) {
        float before = e;
        for (int k = 0; k < 4; k++)
            e = search_edge(c, sp, k, e);
        if (e <= before + 1e-3f)
            break;
    }
    return e;
}

/* Mean score inside the outline minus the mean over the skin region: how
 * clearly the fitted plate stands out from its surroundings. */
static float contrast(const fit_ctx *c, const span4 *sp)
{
    float uc = 0.5f * (sp->u0 + sp->u1), len = sp->u1 - sp->u0;
    float vc = 0.5f * (sp->v0 + sp->v1), wid = sp->v1 - sp->v0;
    double in = 0, out = 0;
    int nin = 0, nout = 0;
    for (int i = 0; i < c->nu; i++) {
        float u = row_u(c, i);
        float half = nail_geom_half_width(len, wid, c->cut_r, c->tip_r, u - uc);
        for (int j = 0; j < c->nv; j++) {
            if (!c->valid[i][j])
                continue;
            float v = col_v(c, j);
            if (fabsf(v - vc) < half) {
                in += c->s[i][j];
                nin++;
            } else if (in_region(sp, REGION_SKIN, u, v)) {
                out += c->s[i][j];
                nout++;
            }
        }
    }
    if (nin == 0 || nout == 0)
        return 0.0f;
    return (float)(in / nin - out / nout);
}

static int grid_size(float extent, int cap)
{
    int n = (int)ceilf(extent / MIN_STEP_PX);
    return n < 8 ? 8 : n > cap ? cap : n;
}

static void refine_one(const lq_image *img, nail_geom *g, const nail_refine_opts *o, fit_ctx *c)
{
    c->cx = g->cx;
    c->cy = g->cy;
    c->ax = g->ax;
    c->ay = g->ay;
    c->hl0 = 0.5f * g->length;
    c->hw0 = 0.5f * g->width;
    c->cut_r = g->cuticle_round;
    c->tip_r = g->tip_round;
    c->nu = grid_size(2.0f * WINDOW_U * c->hl0, GU);
    c->nv = grid_size(2.0f * WINDOW_V * c->hw0, GV);
    c->umin = -WINDOW_U * c->hl0;
    c->du = 2.0f * WINDOW_U * c->hl0 / (float)c->nu;
    c->vmin = -WINDOW_V * c->hw0;
    c->dv = 2.0f * WINDOW_V * c->hw0 / (float)c->nv;
    c->lo_hl = c->hl0 / o->max_scale;
    c->hi_hl = c->hl0 * o->max_scale;
    /* A plate seen obliquely has an uncertain width: its rotation about the
     * finger comes from a few landmarks (the thumb's from a model of how a
     * thumb turns), and a side view shows a sliver of it. Loosen the width's
     * prior and let the pixels narrow it further, never widen it further:
     * polish on the skin beside a nail is what shows. */
    float unsure = 1.0f + OBLIQUE_GAIN * clampf((OBLIQUE_FACING - g->facing) / OBLIQUE_FACING,
                                               0.0f, 1.0f);
    c->sw_sigma = SIZE_SIGMA * unsure;
    c->lo_hw = c->hw0 / (o->max_scale * unsure);
    c->hi_hw = c->hw0 * o->max_scale;
    c->max_du = o->search * g->length;
    c->max_dv = o->search * g->width;
    /* the penalty is in samples: scaled by the predicted plate's area */
    c->prior_k = o->prior_weight * 3.14159265f * c->hl0 * c->hw0 / (c->du * c->dv);
    g->fit = 0.0f;
    if (sample_window(c, img) < c->nu * c->nv / 2)
        return;

    span4 sp = {-c->hl0, c->hl0, -c->hw0, c->hw0};
    float e = 0.0f;
    int fitted = 0;
    for (int it = 0; it < o->iterations; it++) {
        if (!score_samples(c, &sp))
            break;
        e = optimise(c, &sp);
        fitted = 1;
    }
    if (!fitted)
        return;
    float k = contrast(c, &sp);
    if (!(e > 0.0f) || !(k > MIN_CONTRAST))
        return; /* no evidence: keep the prediction */
    float uc = 0.5f * (sp.u0 + sp.u1), vc = 0.5f * (sp.v0 + sp.v1);
    g->cx = c->cx + uc * c->ax - vc * c->ay;
    g->cy = c->cy + uc * c->ay + vc * c->ax;
    g->length = sp.u1 - sp.u0;
    g->width = sp.v1 - sp.v0;
    g->fit = k / (k + FIT_HALF);
    g->confidence *= 0.4f + 0.6f * g->fit;
}

static int nail_refinable(const nail_geom *g)
{
    return g->visible && isfinite(g->cx) && isfinite(g->cy) && isfinite(g->ax) &&
           isfinite(g->ay) && isfinite(g->length) && isfinite(g->width) && g->length >= 1.0f &&
           g->width >= 1.0f && g->length <= NAIL_MAX_COORD && g->width <= NAIL_MAX_COORD &&
           fabsf(g->cx) <= NAIL_MAX_COORD && fabsf(g->cy) <= NAIL_MAX_COORD &&
           fabsf(g->ax * g->ax + g->ay * g->ay - 1.0f) < 1e-2f &&
           isfinite(g->cuticle_round) && isfinite(g->tip_round);
}

int nail_refine(const lq_image *frame, nail_geom *nails, int n, const nail_refine_opts *opts)
{
    if (!frame || !frame->data || frame->width < 1 || frame->height < 1 || n < 0 ||
        (n > 0 && !nails))
        return LQ_EINVAL;
    int rc = nail_refine_opts_validate(opts);
    if (rc < 0)
        return rc;
    fit_ctx c;
    for (int i = 0; i < n; i++)
        if (nail_refinable(&nails[i]))
            refine_one(frame, &nails[i], opts, &c);
    return 0;
}
