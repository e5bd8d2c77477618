/*
 * render_finish.c - how the polish reflects light: one function per finish,
 * all in linear light and all driven by what was measured under the nail
 * (nail__nail.light: exposure and colour cast; .shade: the smooth shading of
 * the real nail; .uh/.vh: where its highlight sits).
 *
 * The specular terms are streaks elongated along the nail axis, because a
 * nail is curved much more across than along: a light source reflects in it
 * as a band at the across-position where the real nail is brightest.
 */
#include <math.h>

#include "nails/render_internal.h"

/* Soft shoulder instead of hard clipping for values near white. */
static float shoulder(float x)
{
    const float k = 0.82f, room = 1.0f - k;
    if (x <= k)
        return x;
    float e = x - k;
    return k + e / (1.0f + e / room);
}

/* The real nail's shading re-applied: the fitted smooth luma, continued past
 * the free edge, times a curvature falloff at the side walls (so that even a
 * flat-lit nail reads as curved). */
static float shading(const nail__nail *n, const nail__px *p)
{
    float un = p->un;
    float vn = p->v * n->inv_L;
    float beyond = 0.0f;
    if (vn > 1.0f) {
        beyond = vn - 1.0f;
        vn = 1.0f;
    }
    if (vn < 0.0f)
        vn = 0.0f;
    const float *k = n->shade;
    float s = k[0] + k[1] * un + k[2] * un * un + k[3] * vn + k[4] * un * vn;
    s = nail__clampf(s, 0.45f, 1.45f);
    float u2 = un * un;
    s *= 1.0f - 0.28f * u2 * u2;
    /* the extension has no finger under it: slightly less light reaches it */
    s *= 1.0f - 0.08f * nail__clampf(beyond, 0.0f, 1.0f);
    return s;
}

/* Highlight streaks: `core` is narrow and bright, `broad` a soft sheen. */
typedef struct spec_terms {
    float core, broad, along, side;
} spec_terms;

/* sc, sb: the widths (in un) of the core and broad streaks; inlined with
 * constant widths so the divisions fold away. */
static inline void spec(const nail__nail *n, const nail__tables *t, const nail__px *p, float sc,
                        float sb, spec_terms *o)
{
    float x = p->un - n->uh;
    float y = (p->v - n->vh) * n->spec_iv;
    float y2 = y * y;
    o->along = nail__expn(t, y2 * y2 * 1.5f);
    /* the streak narrows toward its ends, like a reflected window on a curve
     * (1.9 - 0.9 w approximates 1 / w over w in 0.55..1) */
    float xn = x * (1.9f - 0.9f * (0.55f + 0.45f * o->along));
    o->core = nail__expn(t, xn * xn * (0.5f / (sc * sc))) * o->along;
    o->broad = nail__expn(t, x * x * (0.5f / (sb * sb))) * (0.35f + 0.65f * o->along);
    /* which side wall faces the light */
    o->side = nail__clampf(0.5f + 0.5f * p->un * (n->uh >= 0.0f ? 1.0f : -1.0f), 0.0f, 1.0f);
}

/* The broad term of spec() alone (sb its width), for the flakes' flash;
 * along: spec()'s along term if the finish computed it, else < 0. */
static inline float spec_broad(const nail__nail *n, const nail__tables *t, const nail__px *p,
                               float sb, float along)
{
    float x = p->un - n->uh;
    if (along < 0.0f) {
        float y = (p->v - n->vh) * n->spec_iv;
        float y2 = y * y;
        along = nail__expn(t, y2 * y2 * 1.5f);
    }
    return nail__expn(t, x * x * (0.5f / (sb * sb))) * (0.35f + 0.65f * along);
}

static void add_light(float out[3], const float light[3], const float tint[3], float k)
{
    out[0] += light[0] * tint[0] * k;
    out[1] += light[1] * tint[1] * k;
    out[2] += light[2] * tint[2] * k;
}

static const float WHITE3[3] = {1.0f, 1.0f, 1.0f};

/* One shimmer particle per cell (or none): a soft dot anywhere in its cell,
 * reaching at most half a cell out, so the 2 x 2 nearest cells cover a
 * point. Soft dots change brightness smoothly under sub-pixel motion
 * instead of popping. One hash: presence (bits 0-7), position (8-15,
 * 16-23), brightness (24-31). */
static inline void sparkle_decode(const nail__nail *n, int ix, int iy, nail__spk *o)
{
    uint32_t h =
        nail__hash((n->seed ^ 0x5417u) + (uint32_t)ix * 0x9e3779b1u + (uint32_t)iy * 0x85ebca77u);
    if ((h & 0xffu) > 115u) {
        o->cx = o->cy = o->amp = 0.0f;
        return;
    }
    o->cx = (float)((h >> 8) & 0xffu) * (1.0f / 256.0f);
    o->cy = (float)((h >> 16) & 0xffu) * (1.0f / 256.0f);
    float b = (float)(h >> 24) * (1.0f / 256.0f);
    o->amp = 0.1f + 0.9f * b * b * b;
}

static float shimmer_cell_size(const nail__nail *n)
{
    float cell = n->W / 12.0f;
    return cell < 2.2f ? 2.2f : cell;
}

/* The bump of particle sp (of cell ix, iy) at grid point (gx, gy); k_r2 =
 * 1 / (2 sigma^2) of the bump, in frame pixels. Without branches (which
 * particles are present and near is random, so a branch on it is
 * mispredicted half the time): an absent particle has amplitude 0, a far
 * one a clamped bump. */
static inline float sparkle(const nail__spk *sp, float cell, float fs, float k_r2, float ix,
                            float iy, float gx, float gy)
{
    float dx = (gx - ix - sp->cx) * cell;
    float dy = (gy - iy - sp->cy) * cell * fs;
    float k = (dx * dx + dy * dy) * k_r2;
    float e = 1.0f - k * 0.25f; /* cheap bump, 1 at centre, 0 at k = 4 */
    e = 0.5f * (e + fabsf(e));  /* max(e, 0), exactly, without a branch */
    return e * e * sp->amp;
}

/* Out of line: inlined, it makes the shared glossy path slower for every
 * other finish (about 5% on a solid glossy design). */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static float shimmer(const nail__nail *n, const nail__px *p)
{
    float cell = shimmer_cell_size(n), inv = 1.0f / cell;
    float sig = 0.18f * cell;
    if (sig < 0.45f)
        sig = 0.45f;
    float k_r2 = 0.5f / (sig * sig);
    float gx = p->u * inv + 512.0f, gy = p->v * inv;
    int ix = nail__floori(gx), iy = nail__floori(gy);
    int ox = nail__nearer_side(gx, ix), oy = nail__nearer_side(gy, iy);
    /* the 2 x 2 cells nearest to the point: from the nail's table when it
     * holds all four (one test), else decoded here */
    int xa = ix + (ox - 1) / 2, ya = iy + (oy - 1) / 2;
    const nail__cells *c = n->cells;
    const nail__spk *b;
    int stride;
    nail__spk tmp[4];
    if (c && xa >= c->spk.ix0 && xa - c->spk.ix0 < c->spk.nx - 1 && ya >= c->spk.iy0 &&
        ya - c->spk.iy0 < c->spk.ny - 1) {
        b = &c->spark[(ya - c->spk.iy0) * c->spk.nx + (xa - c->spk.ix0)];
        stride = c->spk.nx;
    } else {
        for (int k = 0; k < 4; k++)
            sparkle_decode(n, xa + (k & 1), ya + (k >> 1), &tmp[k]);
        b = tmp;
        stride = 2;
    }
    /* summed in the same order as ever: own cell, across, along, diagonal
     * (picked by arithmetic: which side is nearer is a coin toss) */
    int cx0 = ix - xa, cx1 = cx0 + ox, ry0 = (iy - ya) * stride, ry1 = ry0 + oy * stride;
    const nail__spk *own = b + ry0 + cx0, *acr = b + ry0 + cx1;
    const nail__spk *alo = b + ry1 + cx0, *dia = b + ry1 + cx1;
    const float fs = n->fs;
    float fx = (float)ix, fy = (float)iy, fxo = (float)(ix + ox), fyo = (float)(iy + oy);
    return sparkle(own, cell, fs, k_r2, fx, fy, gx, gy) +
           sparkle(acr, cell, fs, k_r2, fxo, fy, gx, gy) +
           sparkle(alo, cell, fs, k_r2, fx, fyo, gx, gy) +
           sparkle(dia, cell, fs, k_r2, fxo, fyo, gx, gy);
}

void nail__finish_setup(nail__nail *n)
{
    nail__cells *c = n->cells;
    if (!c)
        return;
    c->spk.nx = c->spk.ny = 0;
    if (n->st->finish != NAIL_FINISH_SHIMMER)
        return;
    /* every cell a painted pixel (the outline plus 2 px) can look at */
    float cell = shimmer_cell_size(n);
    float umax = n->shape.hw + 2.0f, vmin = -2.0f / n->fs, vmax = n->shape.T + 2.0f / n->fs;
    nail__grid *g = &c->spk;
    g->ix0 = (int)floorf(-umax / cell + 512.0f) - 1;
    g->iy0 = (int)floorf(vmin / cell) - 1;
    int nx = (int)floorf(umax / cell + 512.0f) + 1 - g->ix0 + 1;
    int ny = (int)floorf(vmax / cell) + 1 - g->iy0 + 1;
    g->first = 0;
    if (nx <= 0 || ny <= 0 || nx * ny > NAIL__SPARK_MAX)
        return; /* a very long nail: decode per pixel */
    for (int y = 0; y < ny; y++)
        for (int x = 0; x < nx; x++)
            sparkle_decode(n, g->ix0 + x, g->iy0 + y, &c->spark[y * nx + x]);
    g->nx = nx;
    g->ny = ny;
}

/*
 * Matte: a rough top coat scatters the light diffusely instead of mirroring
 * it, so there is no streak, but the curved plate still turns toward and away
 * from the light: the side facing it is lighter, the far side darker and
 * richer in colour (light bounces inside the pigment longer there), a broad
 * soft glow sits where glossy would have its streak, the rims at grazing
 * angles pick up a faint whitish haze (the roughness scatters back), and
 * the surface has a fine, even grain. The cross-section is taken as an arc
 * of MATTE_ARC radians either side of the axis; the light's direction
 * follows where the real nail is brightest (uh).
 */
#define MATTE_ARC 1.0f

static void matte(const nail__nail *n, const nail__tables *t, const nail__px *p, float S, float e,
                  const float a[3], float out[3])
{
    const float *L = n->light;
    float th = p->un * MATTE_ARC;            /* surface tilt across the nail */
    float tl = 1.6f * n->uh * MATTE_ARC;     /* toward the light (its mirror sits at uh) */
    float d = th - tl;
    float lambert = 1.0f - 0.5f * d * d + d * d * d * d * (1.0f / 24.0f); /* cos d, |d| < 2.6 */
    lambert = nail__clampf(lambert, 0.0f, 1.0f);
    float D = 0.55f + 0.45f * lambert;
    /* the real nail's own shading already holds the curvature falloff; keep
     * it, but undo the glossy-specific side-wall darkening partly */
    float shade = S * D;
    float x = p->un - n->uh;
    float glow = nail__expn(t, x * x * 2.0f) * 0.06f;
    float haze = p->un * p->un;
    haze = 0.05f * haze * haze;
    /* fine grain: +-2.5% over texels about 1.5 px wide, fixed to the nail */
    float g = nail__noise(t, p->u * 0.7f + (float)(n->seed & 63u), p->v * 0.7f) - 0.5f;
    float grain = 1.0f + 0.1f * g;
    float y = nail__luma(a);
    float rich = 0.25f * (1.0f - lambert);
    for (int c = 0; c < 3; c++) {
        /* desaturated a little where lit (a thin white veil of scattered
         * light), more saturated in the shadow */
        float ac = a[c] + (y - a[c]) * (0.1f - rich);
        ac = nail__clampf(ac, 0.0f, 1.0f);
        float tint = 0.6f * ac + 0.4f * y;
        out[c] = L[c] * ((ac * shade * (1.0f - 0.1f * e) + 0.015f) * grain + tint * glow + haze);
    }
}

void nail__finish_shade(const nail__nail *n, const nail__tables *t, const nail__surface *sf,
                        const nail__px *p, float out[3])
{
    const float *L = n->light;
    float S = shading(n, p);
    /* 1 on the outline, 0 two pixels inside: thickness and rim effects */
    float e = p->edge >= 2.2f ? 0.0f : 1.0f - nail__smooth(0.0f, 2.2f, p->edge);
    spec_terms sp;
    float a[3] = {sf->a[0], sf->a[1], sf->a[2]};
    nail_finish f = n->st->finish;

    switch (f) {
    case NAIL_FINISH_MATTE:
        matte(n, t, p, S, e, a, out);
        break;
    case NAIL_FINISH_METALLIC: {
        /* chrome: a mirror of a bright-above, dark-below surrounding, so the
         * colour swings hard across the curve; highlights take the metal's colour */
        spec(n, t, p, 0.07f, 0.24f, &sp);
        float x = p->un - n->uh;
        float sgn = n->uh >= 0.0f ? -1.0f : 1.0f;
        float second = nail__expn(t, (x - sgn * 1.05f) * (x - sgn * 1.05f) / 0.09f);
        float env = 0.3f + 1.1f * sp.broad + 0.35f * second * sp.along;
        env *= 0.75f + 0.25f * sp.along;
        env *= 1.0f - 0.3f * e;
        float Sm = 0.65f + 0.35f * S;
        for (int c = 0; c < 3; c++) {
            float tint = a[c] + (1.0f - a[c]) * 0.35f;
            out[c] = L[c] * (a[c] * env * Sm + tint * 0.85f * sp.core);
        }
        break;
    }
    case NAIL_FINISH_SHEER: {
        /* jelly: a coloured filter over the real nail, with a little body
         * colour of its own; the extension shows a synthetic free edge */
        spec(n, t, p, 0.075f, 0.22f, &sp);
        float m = a[0] > a[1] ? a[0] : a[1];
        m = m > a[2] ? m : a[2];
        m = m > 0.02f ? m : 0.02f;
        for (int c = 0; c < 3; c++) {
            float synth = n->tip[c] * S;
            float under = synth + (p->under[c] - synth) * p->plate_w;
            float filt = 0.2f + 0.8f * (a[c] / m);
            float tinted = under * filt * 0.92f;
            float body = a[c] * L[c] * S;
            out[c] = tinted + (body - tinted) * 0.4f;
            out[c] *= 1.0f - 0.18f * e;
        }
        add_light(out, L, WHITE3, 0.8f * sp.core + 0.1f * sp.broad + 0.1f * e * sp.side);
        break;
    }
    case NAIL_FINISH_PEARL: {
        /* a soft sheen whose hue shifts across the curve (thin-film colours) */
        spec(n, t, p, 0.09f, 0.36f, &sp);
        static const float IRID[6][3] = {
            {1.0f, 0.72f, 0.84f}, {1.0f, 0.9f, 0.66f},  {0.74f, 1.0f, 0.82f},
            {0.7f, 0.88f, 1.0f},  {0.86f, 0.74f, 1.0f}, {1.0f, 0.72f, 0.84f},
        };
        float ph = 0.5f + 0.7f * (p->un - n->uh) + 0.45f * (p->v / n->shape.T - 0.5f);
        ph = nail__clampf(ph, 0.0f, 0.999f) * 5.0f;
        int i = (int)ph;
        float fr = ph - (float)i;
        float ir[3];
        for (int c = 0; c < 3; c++)
            ir[c] = IRID[i][c] + (IRID[i + 1][c] - IRID[i][c]) * fr;
        /* the interference colour tints the body (so it shows on white
         * too) and adds a little light of its own */
        float sheen = 0.3f * sp.broad, tint = 0.22f + 0.3f * sp.broad;
        for (int c = 0; c < 3; c++) {
            float ac = a[c] + (0.85f - a[c]) * 0.05f;
            ac *= 1.0f + (ir[c] - 1.0f) * tint;
            out[c] = L[c] * ac * S * (1.0f - 0.25f * sheen) * (1.0f - 0.15f * e);
        }
        add_light(out, L, ir, sheen);
        add_light(out, L, WHITE3, 0.4f * sp.core);
        break;
    }
    case NAIL_FINISH_CREAM:
    case NAIL_FINISH_GLOSSY:
    case NAIL_FINISH_SHIMMER:
    default: {
        int cream = f == NAIL_FINISH_CREAM;
        spec(n, t, p, cream ? 0.13f : 0.065f, cream ? 0.3f : 0.2f, &sp);
        for (int c = 0; c < 3; c++)
            out[c] = L[c] * a[c] * S * (1.0f - 0.2f * e);
        float core = cream ? 0.32f : 0.95f;
        float broad = cream ? 0.14f : 0.1f;
        add_light(out, L, WHITE3, core * sp.core + broad * sp.broad);
        /* clear-coat rim: a thin light line on the wall facing the light */
        add_light(out, L, WHITE3, (cream ? 0.05f : 0.12f) * e * e * sp.side);
        if (f == NAIL_FINISH_SHIMMER) {
            float k = shimmer(n, p) * (0.25f + 0.9f * sp.broad);
            float tint[3];
            for (int c = 0; c < 3; c++)
                tint[c] = a[c] * 0.8f + (1.0f - a[c]) * 0.3f;
            add_light(out, L, tint, k);
        }
        break;
    }
    }

    /* glitter flakes and metallic accents flash where the light falls (the
     * broad streak of width 0.42 only) */
    if (sf->spark > 0.0f) {
        float broad = spec_broad(n, t, p, 0.42f, f == NAIL_FINISH_MATTE ? -1.0f : sp.along);
        float k = sf->spark * (0.45f + 1.4f * broad);
        float tint[3];
        for (int c = 0; c < 3; c++)
            tint[c] = sf->spark_col[c] + (1.0f - sf->spark_col[c]) * 0.45f;
        add_light(out, L, tint, k);
    }

    for (int c = 0; c < 3; c++)
        out[c] = shoulder(out[c]);
}
