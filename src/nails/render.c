/*
 * render.c - the polish renderer's frame loop: per nail, set up nail space,
 * measure the light under the real nail, then paint the outline's bounding
 * box (pattern -> finish -> coverage blend in linear light).
 *
 * Every nail is measured before any is painted, so a nail overlapping
 * another never measures polish instead of the real nail.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "nails/render.h"
#include "nails/render_internal.h"

#define TAG "render"

/* Linear luma of a well-exposed natural nail; the polish appears with its
 * nominal colour when the real nail is this bright. */
#define NAIL_REF_LUMA 0.40f
/* Exposure follows the nail only partly (a power below 1): a dim photo gives
 * dimmer polish, but a white stays recognisably white. */
#define NAIL_EXPO_POWER 0.75f
#define REF_MAX_SIDE 256

struct nail_renderer {
    nail__tables tab;
    nail__nail nails[NAIL_RENDER_MAX_NAILS];
    nail__cells cells[NAIL_RENDER_MAX_NAILS];
    nail__ref ref;
};

int nail_renderer_create(nail_renderer **out)
{
    if (!out)
        return LQ_EINVAL;
    nail_renderer *r = calloc(1, sizeof *r);
    if (!r)
        return LQ_ENOMEM;
    nail__tables_init(&r->tab);
    *out = r;
    return 0;
}

void nail_renderer_destroy(nail_renderer *r)
{
    if (!r)
        return;
    free(r->ref.lin);
    free(r);
}

int nail_renderer_set_reference(nail_renderer *r, const lq_image *tex)
{
    if (!r)
        return LQ_EINVAL;
    if (!tex) {
        free(r->ref.lin);
        memset(&r->ref, 0, sizeof r->ref);
        return 0;
    }
    if (!tex->data || tex->width <= 0 || tex->height <= 0 || tex->width > NAIL_RENDER_REF_MAX_DIM ||
        tex->height > NAIL_RENDER_REF_MAX_DIM || tex->stride < 3 * tex->width)
        return LQ_EINVAL;
    /* box-filter down to at most REF_MAX_SIDE on the long side, in linear light */
    int big = tex->width > tex->height ? tex->width : tex->height;
    int f = (big + REF_MAX_SIDE - 1) / REF_MAX_SIDE;
    int w = tex->width / f, h = tex->height / f;
    if (w < 1)
        w = 1;
    if (h < 1)
        h = 1;
    float *lin = malloc((size_t)w * (size_t)h * 3u * sizeof *lin);
    if (!lin)
        return LQ_ENOMEM;
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            float acc[3] = {0, 0, 0};
            int cnt = 0;
            for (int j = y * f; j < (y + 1) * f && j < tex->height; j++) {
                for (int i = x * f; i < (x + 1) * f && i < tex->width; i++) {
                    const uint8_t *p = lq_image_px(tex, i, j);
                    for (int c = 0; c < 3; c++)
                        acc[c] += nail_srgb8_to_linear(p[c]);
                    cnt++;
                }
            }
            for (int c = 0; c < 3; c++)
                lin[((size_t)y * (size_t)w + (size_t)x) * 3u + (size_t)c] = acc[c] / (float)cnt;
        }
    }
    free(r->ref.lin);
    r->ref.lin = lin;
    r->ref.w = w;
    r->ref.h = h;
    return 0;
}

uint32_t nail_render_seed(uint32_t seed_base, const nail_geom *g)
{
    uint32_t id = (uint32_t)g->track_id * 8u + (uint32_t)(g->finger & 7);
    return nail__hash2(seed_base ^ 0x4c51u, id);
}

static int finite_geom(const nail_geom *g)
{
    float v[] = {g->cx,       g->cy,     g->ax,          g->ay,
                 g->width,    g->length, g->foreshorten, g->cuticle_round,
                 g->tip_round};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (!isfinite(v[i]))
            return 0;
    return 1;
}

static const nail_style *style_for(const nail_design *d, const nail_geom *g)
{
    int f = g->finger;
    if (f < 0)
        f = 0;
    if (f >= NAIL_FINGERS)
        f = NAIL_FINGERS - 1;
    return &d->finger[f];
}

/* Nail space for one nail; returns 0 if the nail cannot be painted. The
 * bounding box is not computed here (see bbox_for). */
static int setup_space(nail__nail *n, const nail_geom *g, const nail_style *st, float limit)
{
    if (!finite_geom(g))
        return 0;
    float al = sqrtf(g->ax * g->ax + g->ay * g->ay);
    if (!isfinite(al) || al < 1e-3f || g->width < 1.0f || g->length < 1.0f || g->width > limit ||
        g->length > limit)
        return 0;
    if (fabsf(g->cx) > 4.0f * limit || fabsf(g->cy) > 4.0f * limit)
        return 0;
    n->g = g;
    n->st = st;
    n->ax = g->ax / al;
    n->ay = g->ay / al;
    n->bx = -n->ay;
    n->by = n->ax;
    n->fs = nail__clampf(g->foreshorten > 0.0f ? g->foreshorten : 1.0f, 0.25f, 1.0f);
    n->W = g->width;
    n->ox = g->cx - n->ax * 0.5f * g->length;
    n->oy = g->cy - n->ay * 0.5f * g->length;
    nail__shape_setup(&n->shape, g, st, n->fs);
    return 1;
}

static void bbox_for(nail__nail *n, int fw, int fh)
{
    const float m = 2.0f;
    float us[2] = {-n->shape.hw - m, n->shape.hw + m};
    float vs[2] = {-m, n->shape.T * n->fs + m};
    float xmin = 1e30f, xmax = -1e30f, ymin = 1e30f, ymax = -1e30f;
    for (int i = 0; i < 2; i++) {
        for (int j = 0; j < 2; j++) {
            float x = n->ox + us[i] * n->bx + vs[j] * n->ax;
            float y = n->oy + us[i] * n->by + vs[j] * n->ay;
            xmin = x < xmin ? x : xmin;
            xmax = x > xmax ? x : xmax;
            ymin = y < ymin ? y : ymin;
            ymax = y > ymax ? y : ymax;
        }
    }
    n->x0 = (int)nail__clampf(floorf(xmin), 0.0f, (float)fw);
    n->x1 = (int)nail__clampf(ceilf(xmax) + 1.0f, 0.0f, (float)fw);
    n->y0 = (int)nail__clampf(floorf(ymin), 0.0f, (float)fh);
    n->y1 = (int)nail__clampf(ceilf(ymax) + 1.0f, 0.0f, (float)fh);
}

/* Frame point (pixel centre) -> nail space. */
static void to_nail(const nail__nail *n, float x, float y, float *u, float *v)
{
    float dx = x - n->ox, dy = y - n->oy;
    *u = dx * n->bx + dy * n->by;
    *v = (dx * n->ax + dy * n->ay) / n->fs;
}

/* The pixels [*xa, *xb) of row y whose centres fall inside the nail's
 * oriented bounding rectangle (with margin m), clipped to its box. */
static void row_span(const nail__nail *n, int y, float m, int *xa, int *xb)
{
    float lo = (float)n->x0, hi = (float)n->x1;
    float cy = (float)y + 0.5f - n->oy;
    /* u = (x + 0.5 - ox) bx + cy by in [-U, U]; v = (x + 0.5 - ox) ax + cy ay in [V0, V1] */
    const float U = n->shape.hw + m, V0 = -m, V1 = n->shape.T * n->fs + m;
    const float lims[2][3] = {{n->bx, cy * n->by, 0.0f}, {n->ax, cy * n->ay, 1.0f}};
    for (int k = 0; k < 2; k++) {
        float a = lims[k][0], c = lims[k][1];
        float l = k ? V0 : -U, h = k ? V1 : U;
        if (fabsf(a) < 1e-6f) {
            if (c < l || c > h)
                lo = hi; /* the whole row is outside */
            continue;
        }
        float t0 = (l - c) / a, t1 = (h - c) / a;
        if (t0 > t1) {
            float tmp = t0;
            t0 = t1;
            t1 = tmp;
        }
        /* x + 0.5 - ox in [t0, t1] */
        float x0 = t0 + n->ox - 0.5f, x1 = t1 + n->ox - 0.5f;
        lo = x0 > lo ? x0 : lo;
        hi = x1 < hi ? x1 : hi;
    }
    if (hi < lo) {
        *xa = *xb = n->x0;
        return;
    }
    *xa = (int)ceilf(lo);
    *xb = (int)floorf(hi) + 1;
    if (*xa < n->x0)
        *xa = n->x0;
    if (*xb > n->x1)
        *xb = n->x1;
    if (*xb < *xa)
        *xb = *xa;
}

/* Solves the 5x5 system a x = b in place (Gaussian elimination with partial
 * pivoting). Returns 0 if singular. */
static int solve5(float a[5][5], float b[5], float x[5])
{
    for (int c = 0; c < 5; c++) {
        int p = c;
        for (int r = c + 1; r < 5; r++)
            if (fabsf(a[r][c]) > fabsf(a[p][c]))
                p = r;
        if (fabsf(a[p][c]) < 1e-9f)
            return 0;
        if (p != c) {
            for (int k = 0; k < 5; k++) {
                float tmp = a[c][k];
                a[c][k] = a[p][k];
                a[p][k] = tmp;
            }
            float tb = b[c];
            b[c] = b[p];
            b[p] = tb;
        }
        for (int r = c + 1; r < 5; r++) {
            float f = a[r][c] / a[c][c];
            for (int k = c; k < 5; k++)
                a[r][k] -= f * a[c][k];
            b[r] -= f * b[c];
        }
    }
    for (int r = 4; r >= 0; r--) {
        float s = b[r];
        for (int k = r + 1; k < 5; k++)
            s -= a[r][k] * x[k];
        x[r] = s / a[r][r];
    }
    return 1;
}

#define PROFILE_BINS 8

/* Measures the light under the natural plate: a smooth fit of the linear
 * luma over (un, vn) - the nail bed only, away from the lunula and the
 * white free edge, whose brightness is colour not light - the mean colour,
 * and the across position of the brightest streak. */
static void measure(nail__nail *n, const nail__tables *t, const lq_image *img, const float cast[3])
{
    const nail__shape *sh = &n->shape;
    float A[5][5] = {{0}}, B[5] = {0};
    double rgb[3] = {0, 0, 0};
    float prof[PROFILE_BINS] = {0}, profn[PROFILE_BINS] = {0};
    int cnt = 0, any = 0, ntip = 0;
    double any_rgb[3] = {0, 0, 0}, tip_rgb[3] = {0, 0, 0};
    float inset = 1.2f / n->fs;
    /* a smooth fit needs no more than every other pixel of a larger nail */
    const int step = n->W >= 14.0f ? 2 : 1;
    for (int y = n->y0; y < n->y1; y += step) {
        int xa, xb;
        row_span(n, y, 0.0f, &xa, &xb);
        for (int x = xa; x < xb; x += step) {
            float u, v;
            to_nail(n, (float)x + 0.5f, (float)y + 0.5f, &u, &v);
            if (v < 0.0f || v > sh->L || fabsf(u) > sh->hw)
                continue;
            float d = nail__plate_sdf(sh, u, v);
            if (d > -inset)
                continue;
            const uint8_t *px = lq_image_px(img, x, y);
            float lin[3] = {nail_srgb8_to_linear(px[0]), nail_srgb8_to_linear(px[1]),
                            nail_srgb8_to_linear(px[2])};
            for (int c = 0; c < 3; c++)
                any_rgb[c] += lin[c];
            any++;
            float un = u / sh->hw, vn = v / sh->L;
            if (vn > 0.75f) {
                for (int c = 0; c < 3; c++)
                    tip_rgb[c] += lin[c];
                ntip++;
            }
            if (vn < 0.1f || vn > 0.82f || fabsf(un) > 0.92f)
                continue;
            float Y = nail__luma(lin);
            float f[5] = {1.0f, un, un * un, vn, un * vn};
            for (int i = 0; i < 5; i++) {
                for (int j = 0; j < 5; j++)
                    A[i][j] += f[i] * f[j];
                B[i] += f[i] * Y;
            }
            for (int c = 0; c < 3; c++)
                rgb[c] += lin[c];
            int bin = (int)((un + 1.0f) * 0.5f * PROFILE_BINS);
            bin = bin < 0 ? 0 : (bin >= PROFILE_BINS ? PROFILE_BINS - 1 : bin);
            prof[bin] += Y;
            profn[bin] += 1.0f;
            cnt++;
        }
    }

    float mean = 0.0f;
    n->measured = cnt >= 12;
    if (n->measured) {
        mean = B[0] / (float)cnt;
        for (int c = 0; c < 3; c++)
            n->plate[c] = (float)(rgb[c] / cnt);
        /* ridge toward a flat nail keeps the fit stable on few pixels */
        float lam = 0.04f * (float)cnt;
        for (int i = 1; i < 5; i++)
            A[i][i] += lam;
        float k[5];
        if (mean > 1e-4f && solve5(A, B, k)) {
            for (int i = 0; i < 5; i++)
                k[i] /= mean;
        } else {
            k[0] = 1.0f;
            k[1] = k[2] = k[3] = k[4] = 0.0f;
        }
        k[1] = nail__clampf(k[1], -0.45f, 0.45f);
        k[2] = nail__clampf(k[2], -0.6f, 0.25f);
        k[3] = nail__clampf(k[3], -0.35f, 0.35f);
        k[4] = nail__clampf(k[4], -0.3f, 0.3f);
        /* renormalise so that the fit averages 1 over the nail bed */
        k[0] = 1.0f - (k[2] / 3.0f + k[3] * 0.46f);
        memcpy(n->shade, k, sizeof k);
        /* highlight: centroid of the brighter-than-average across bins,
         * blended with the peak of the fitted parabola */
        float wsum = 0.0f, usum = 0.0f;
        for (int b = 0; b < PROFILE_BINS; b++) {
            if (profn[b] < 1.0f)
                continue;
            float m = prof[b] / profn[b] / mean - 1.0f;
            if (m <= 0.0f)
                continue;
            float w = m * m * profn[b];
            wsum += w;
            usum += w * (((float)b + 0.5f) / PROFILE_BINS * 2.0f - 1.0f);
        }
        float soft = wsum > 0.0f ? usum / wsum : 0.0f;
        float peak = k[2] < -0.02f ? -k[1] / (2.0f * k[2]) : (k[1] >= 0.0f ? 0.5f : -0.5f);
        peak = nail__clampf(peak, -0.75f, 0.75f);
        n->uh = nail__clampf(0.5f * soft + 0.5f * peak, -0.6f, 0.6f);
    } else {
        if (any > 0) {
            for (int c = 0; c < 3; c++)
                n->plate[c] = (float)(any_rgb[c] / any);
            mean = nail__luma(n->plate);
        }
        n->shade[0] = 1.03f;
        n->shade[1] = 0.0f;
        n->shade[2] = -0.1f;
        n->shade[3] = n->shade[4] = 0.0f;
        n->uh = -0.25f;
    }
    if (mean <= 0.0f) {
        mean = NAIL_REF_LUMA;
        n->plate[0] = 0.6f;
        n->plate[1] = 0.42f;
        n->plate[2] = 0.38f;
    }
    /* the free edge: its own colour when seen, else a whiter plate */
    for (int c = 0; c < 3; c++)
        n->tip[c] = ntip >= 4 ? (float)(tip_rgb[c] / ntip)
                              : nail__clampf(n->plate[c] * 1.3f + 0.03f, 0.0f, 1.0f);
    /* along: centred on the nail, drawn toward the brighter end */
    float mid = 0.5f * (0.15f * sh->L + 0.8f * sh->T);
    n->vh = mid + 0.25f * sh->L * nail__clampf(n->shade[3] / 0.3f, -1.0f, 1.0f);
    n->spec_iv = 1.0f / (0.42f * sh->T);
    n->inv_L = 1.0f / sh->L;
    n->expo = nail__clampf(powf(mean / NAIL_REF_LUMA, NAIL_EXPO_POWER), 0.15f, 1.25f);
    for (int c = 0; c < 3; c++) {
        n->light[c] = n->expo * cast[c];
        n->nat[c] = nail__clampf(n->plate[c] / (NAIL_REF_LUMA / 0.6f * n->light[c]), 0.0f, 1.0f);
    }
}

/* The scene's colour cast: grey-world over a sparse grid of the frame,
 * damped, so a warm-lit photo gets warm polish. */
static void scene_cast(const nail__tables *t, const lq_image *img, float cast[3])
{
    double s[3] = {0, 0, 0};
    int step = img->width / 48 > 1 ? img->width / 48 : 1;
    int stepy = img->height / 36 > 1 ? img->height / 36 : 1;
    int cnt = 0;
    for (int y = stepy / 2; y < img->height; y += stepy) {
        for (int x = step / 2; x < img->width; x += step) {
            const uint8_t *p = lq_image_px(img, x, y);
            for (int c = 0; c < 3; c++)
                s[c] += nail_srgb8_to_linear(p[c]);
            cnt++;
        }
    }
    float avg[3] = {(float)(s[0] / cnt), (float)(s[1] / cnt), (float)(s[2] / cnt)};
    float y = nail__luma(avg);
    for (int c = 0; c < 3; c++) {
        float k = y > 1e-3f ? avg[c] / y : 1.0f;
        cast[c] = nail__clampf(1.0f + 0.35f * (k - 1.0f), 0.86f, 1.14f);
    }
}

static long paint(nail__nail *n, const nail__tables *t, const nail__ref *ref, lq_image *img)
{
    const nail__shape *sh = &n->shape;
    const float fs = n->fs;
    const float du = n->bx, dv = n->ax / fs; /* per +1 x */
    const float aa = nail__aa(n);
    const int sheer = n->st->finish == NAIL_FINISH_SHEER;
    /* the full-width body between the cuticle cap and the design tip, less
     * 2.5 px: any pixel there is more than 2.5 px inside the outline, where
     * coverage is 1 and no edge effect reaches (they end at 2.2 px) */
    const float in_u = sh->hw - 2.5f, in_v0 = (sh->rc + 2.5f) / fs, in_v1 = sh->vt - 2.5f / fs;
    const float prox_v = (sh->rc + 2.0f) / fs, inv_prox = 1.0f / prox_v;
    /* the same beyond the body (a long design tip is mostly inside too):
     * the outline's cross-section at each v is |u| <= halfwidth(v), so a
     * pixel is more than 2.5 px inside when |u| + 2.5 stays under the half
     * width all along the v a 2.5 px disc around it spans. inner[i] is that
     * bound for v in table step i (window widened by a step, less 0.3 px
     * for the table's interpolation). Pixels more than 2.5 px outside
     * (beyond outer[i]) get no coverage and are skipped. */
    float inner[NAIL__HW_N], outer[NAIL__HW_N];
    const float tstep = (sh->T - sh->vt) / (float)NAIL__HW_N;
    const float reach = 2.5f / fs + tstep;
    const int tip_fast = tstep > 1e-3f;
    const float inv_tstep = tip_fast ? 1.0f / tstep : 0.0f;
    if (tip_fast) {
        int k = (int)ceilf(reach / tstep);
        for (int i = 0; i < NAIL__HW_N; i++) {
            float lo = sh->hw, hi = 0.0f;
            /* every j < 0 (or > NAIL__HW_N) gives what j = -1 (or
             * NAIL__HW_N + 1) gives: the window is clipped to those, so a
             * tip far shorter than the 2.5 px reach costs no more */
            int j0 = i - k < -1 ? -1 : i - k;
            int j1 = i + 1 + k > NAIL__HW_N + 1 ? NAIL__HW_N + 1 : i + 1 + k;
            for (int j = j0; j <= j1; j++) {
                /* before vt the half width is at most hw (less at the
                 * cuticle): no bound from below there */
                float h = j < 0 ? sh->hw : (j > NAIL__HW_N ? 0.0f : sh->hw_tab[j]);
                lo = j < 0 ? 0.0f : (h < lo ? h : lo);
                hi = h > hi ? h : hi;
            }
            inner[i] = lo - 2.8f;
            /* and more than 2.5 px outside (no coverage) beyond this */
            outer[i] = hi + 2.8f;
        }
    }
    long touched = 0;
    for (int y = n->y0; y < n->y1; y++) {
        int xa, xb;
        row_span(n, y, 1.5f, &xa, &xb);
        if (xa >= xb)
            continue;
        float u, v;
        to_nail(n, (float)xa + 0.5f, (float)y + 0.5f, &u, &v);
        uint8_t *row = lq_image_px(img, 0, y);
        for (int x = xa; x < xb; x++, u += du, v += dv) {
            int deep = fabsf(u) < in_u && v > in_v0 && v < in_v1;
            if (!deep && tip_fast && v >= in_v1 && v < sh->T) {
                int i = v > sh->vt ? (int)((v - sh->vt) * inv_tstep) : 0;
                i = i < NAIL__HW_N ? i : NAIL__HW_N - 1;
                if (fabsf(u) > outer[i])
                    continue; /* no coverage */
                deep = fabsf(u) < inner[i];
            }
            float dpx;
            if (deep) {
                dpx = -2.5f;
            } else {
                float d = nail__shape_sdf(sh, u, v);
                if (d * fs >= 0.5f)
                    continue; /* |frame distance| >= d * fs */
                dpx = d * fs > -3.0f ? nail__shape_frame_distance(&n->shape, u, v, d) : d * fs;
            }
            /* the cuticle (and the proximal ends of the side folds): stop a
             * hair short and fade softly */
            float prox = v >= prox_v ? 0.0f : 1.0f - nail__smooth(0.0f, 1.0f, v * inv_prox);
            float inset = 0.55f * prox, soft = 1.0f + 0.9f * prox;
            float cov = nail__clampf((-dpx - inset) / soft + 0.5f, 0.0f, 1.0f);
            if (cov <= 0.0f)
                continue;
            uint8_t *px = row + (size_t)x * 3u;
            nail__px p;
            p.u = u;
            p.v = v;
            float hwl = v <= sh->vt ? sh->hw : nail__shape_halfwidth(sh, v);
            p.un = nail__clampf(u / (hwl > 1.0f ? hwl : 1.0f), -1.0f, 1.0f);
            p.edge = -dpx - inset > 0.0f ? -dpx - inset : 0.0f;
            p.plate_w =
                sheer ? 1.0f - nail__smooth(-1.5f, 1.0f, nail__plate_sdf(sh, u, v) * fs) : 1.0f;
            p.under[0] = nail_srgb8_to_linear(px[0]);
            p.under[1] = nail_srgb8_to_linear(px[1]);
            p.under[2] = nail_srgb8_to_linear(px[2]);
            nail__surface sf;
            nail__pattern_eval(n, t, ref, u, v, aa, &sf);
            float out[3];
            nail__finish_shade(n, t, &sf, &p, out);
            for (int c = 0; c < 3; c++)
                px[c] = nail_linear_to_srgb8(p.under[c] + (out[c] - p.under[c]) * cov);
            touched++;
        }
    }
    return touched;
}

int nail_render_frame_ex(nail_renderer *r, lq_image *frame, const nail_geom *nails, int n,
                         const nail_design *design, uint32_t seed_base, nail_render_stats *stats)
{
    if (!r || !frame || !design || n < 0 || (n > 0 && !nails))
        return LQ_EINVAL;
    if (!frame->data || frame->width <= 0 || frame->height <= 0 || frame->stride < 3 * frame->width)
        return LQ_EINVAL;
    if (n > NAIL_RENDER_MAX_NAILS)
        return LQ_ELIMIT;
    nail_render_stats st = {0};
    float cast[3] = {1.0f, 1.0f, 1.0f};
    if (n > 0)
        scene_cast(&r->tab, frame, cast);
    float limit = 2.0f * (float)(frame->width > frame->height ? frame->width : frame->height);
    int nl = 0;
    for (int i = 0; i < n; i++) {
        const nail_geom *g = &nails[i];
        nail__nail *nn = &r->nails[nl];
        if (!g->visible || !setup_space(nn, g, style_for(design, g), limit)) {
            st.nails_skipped++;
            continue;
        }
        bbox_for(nn, frame->width, frame->height);
        if (nn->x0 >= nn->x1 || nn->y0 >= nn->y1) {
            st.nails_skipped++;
            continue;
        }
        nail__shape_tabulate(&nn->shape);
        nn->seed = nail_render_seed(seed_base, g);
        nn->cells = &r->cells[nl];
        nail__pattern_setup(nn, &r->tab);
        nail__finish_setup(nn);
        measure(nn, &r->tab, frame, cast);
        nl++;
    }
    for (int i = 0; i < nl; i++) {
        const nail__nail *nn = &r->nails[i];
        st.pixels_touched += paint(&r->nails[i], &r->tab, &r->ref, frame);
        st.rects[st.nrects++] = (lq_pixel_rect){nn->x0, nn->y0, nn->x1 - nn->x0, nn->y1 - nn->y0};
        st.nails_painted++;
    }
    if (stats)
        *stats = st;
    return 0;
}

int nail_render_frame(nail_renderer *r, lq_image *frame, const nail_geom *nails, int n,
                      const nail_design *design, uint32_t seed_base)
{
    return nail_render_frame_ex(r, frame, nails, n, design, seed_base, NULL);
}

float nail_render_distance(const nail_geom *g, const nail_style *style, float x, float y)
{
    nail__nail n;
    if (!g || !style || !setup_space(&n, g, style, 1e6f))
        return 1e9f;
    float u, v;
    to_nail(&n, x, y, &u, &v);
    float d = nail__shape_sdf(&n.shape, u, v);
    return nail__shape_frame_distance(&n.shape, u, v, d);
}
