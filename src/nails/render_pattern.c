/*
 * render_pattern.c - what is painted where on one nail: the albedo of each
 * pattern, in nail-local coordinates so that a pattern moves with its nail,
 * and seeded per nail so that it is the same on every frame.
 *
 * Pattern coordinates are in units of the nail's width: s = u / W across
 * (-0.5..0.5), t = v / W along (0 at the cuticle). Features are
 * anti-aliased with `aa`, the size of one frame pixel in those units.
 */
#include <math.h>
#include <string.h>

#include "nails/render_internal.h"

/* Default colours (sRGB) when a design brings fewer colours than a pattern uses. */
static const nail_rgb DEFAULT_POLISH = {190, 20, 45}; /* classic red */
static const nail_rgb NUDE = {238, 196, 190};         /* sheer nude pink */
static const nail_rgb WHITE = {250, 248, 244};        /* soft white */
static const nail_rgb GOLD = {222, 166, 52};
static const nail_rgb SILVER = {200, 204, 212};

static void rgb_to_lin(const nail__tables *t, nail_rgb c, float out[3])
{
    out[0] = nail_srgb8_to_linear(c.r);
    out[1] = nail_srgb8_to_linear(c.g);
    out[2] = nail_srgb8_to_linear(c.b);
}

static void copy3(float d[3], const float s[3])
{
    d[0] = s[0];
    d[1] = s[1];
    d[2] = s[2];
}

static void mix3(float d[3], const float s[3], float k)
{
    d[0] += (s[0] - d[0]) * k;
    d[1] += (s[1] - d[1]) * k;
    d[2] += (s[2] - d[2]) * k;
}

static void setup_ombre(nail__nail *n)
{
    /* Stops spread evenly along the nail; blended in OKLab so the middle of
     * e.g. pink -> white does not turn grey or muddy. With one colour the
     * ombre fades from a sheer nude at the cuticle into that colour. */
    float stops[NAIL_MAX_COLORS + 1][3];
    int ns = 0;
    if (n->ncol >= 2) {
        for (int i = 0; i < n->ncol; i++)
            nail__lin_to_oklab(n->col[i], stops[ns++]);
    } else {
        nail__lin_to_oklab(n->nude, stops[ns++]);
        nail__lin_to_oklab(n->col[0], stops[ns++]);
    }
    for (int i = 0; i <= NAIL__OMBRE_N; i++) {
        /* the blend happens over the middle of the nail, ends stay pure */
        float x = nail__smooth(0.18f, 0.88f, (float)i / (float)NAIL__OMBRE_N) * (float)(ns - 1);
        int k = (int)x;
        if (k >= ns - 1)
            k = ns - 2;
        float f = x - (float)k, lab[3];
        for (int c = 0; c < 3; c++)
            lab[c] = stops[k][c] + (stops[k + 1][c] - stops[k][c]) * f;
        nail__oklab_to_lin(lab, n->ombre[i]);
    }
}

static void setup_flowers(nail__nail *n)
{
    const nail__shape *sh = &n->shape;
    float tl = sh->T / n->W; /* nail length in widths */
    uint32_t h = nail__hash2(n->seed, 0xf10e1u);
    int count = 1 + (tl > 1.5f) + (tl > 2.4f);
    n->nflowers = 0;
    for (int i = 0; i < count && i < NAIL__MAX_FLOWERS; i++) {
        nail__flower *f = &n->flower[n->nflowers++];
        uint32_t a = nail__hash2(h, (uint32_t)i * 3u + 1u);
        uint32_t b = nail__hash2(h, (uint32_t)i * 3u + 2u);
        uint32_t c = nail__hash2(h, (uint32_t)i * 3u + 3u);
        if (i == 0) { /* the main flower, toward the free edge */
            f->s = (nail__unit(a) - 0.5f) * 0.24f;
            f->t = tl * (0.58f + 0.14f * nail__unit(b));
            f->r = 0.36f + 0.06f * nail__unit(c);
        } else { /* smaller ones, partly off the side */
            float side = (i & 1) ? 1.0f : -1.0f;
            f->s = side * (0.28f + 0.12f * nail__unit(a));
            f->t = tl * (i == 1 ? 0.3f : 0.85f) + 0.1f * (nail__unit(b) - 0.5f);
            f->r = 0.22f + 0.06f * nail__unit(c);
        }
        float ang = nail__unit(nail__hash(c)) * 6.2831853f;
        f->cs = cosf(ang);
        f->sn = sinf(ang);
        f->petals = (nail__hash(a ^ c) & 1u) ? 5 : 6;
    }
}

static void setup_glitter(nail__nail *n);

void nail__pattern_setup(nail__nail *n, const nail__tables *t)
{
    const nail_style *st = n->st;
    n->ncol = st->ncolors < 1 ? 0 : (st->ncolors > NAIL_MAX_COLORS ? NAIL_MAX_COLORS : st->ncolors);
    for (int i = 0; i < n->ncol; i++)
        rgb_to_lin(t, st->colors[i], n->col[i]);
    if (n->ncol == 0) {
        rgb_to_lin(t, DEFAULT_POLISH, n->col[0]);
        n->ncol = 1;
    }
    rgb_to_lin(t, NUDE, n->nude);
    rgb_to_lin(t, WHITE, n->white);
    rgb_to_lin(t, GOLD, n->gold);
    rgb_to_lin(t, SILVER, n->silver);
    const nail__shape *sh = &n->shape;
    switch (st->pattern) {
    case NAIL_PATTERN_OMBRE:
        setup_ombre(n);
        break;
    case NAIL_PATTERN_FRENCH_TIPS: {
        /* the tip band covers the extension plus the distal part of the plate */
        float d = 0.7f * sh->E + 0.2f * sh->L;
        float lo = 0.42f * sh->hw, hi = 0.6f * sh->T;
        n->french_depth = nail__clampf(d, lo < hi ? lo : hi, hi);
        break;
    }
    case NAIL_PATTERN_FLORAL:
        setup_flowers(n);
        break;
    case NAIL_PATTERN_GLITTER:
        setup_glitter(n);
        break;
    case NAIL_PATTERN_MARBLE: {
        uint32_t h = nail__hash2(n->seed, 0x3a4b1eu);
        float ang = (nail__unit(h) - 0.5f) * 1.6f; /* veins run roughly diagonal */
        n->noise_c = cosf(ang + 0.6f);
        n->noise_s = sinf(ang + 0.6f);
        n->noise_ox = nail__unit(nail__hash(h + 1u)) * (float)NAIL__NOISE_N;
        n->noise_oy = nail__unit(nail__hash(h + 2u)) * (float)NAIL__NOISE_N;
        for (int k = 0; k < 4; k++)
            n->vein_k[k] = 0.3f + 0.7f * nail__unit(nail__hash2(n->seed, (uint32_t)k + 7u));
        break;
    }
    default:
        break;
    }
}

/* ---- glitter ---- */

typedef struct flake_layer {
    float cell;       /* cell size (nail widths) */
    float inv_cell;   /* 1 / cell */
    float density;    /* share of cells holding a flake */
    float rmin, rmax; /* flake apothem as a share of the cell */
    uint32_t salt;
} flake_layer;

/* Sizes relative to the nail: about 9 and 5 cells across. Smaller flakes
 * would fall under a pixel at 640x480 and read as noise, not glitter. */
static const flake_layer FLAKES[2] = {
    {0.08f, 12.5f, 0.7f, 0.2f, 0.32f, 0x61u},
    {0.19f, 5.2631579f, 0.3f, 0.18f, 0.28f, 0x62u},
};

/* The flake of cell (ix, iy), if any, from its hash: one hash decides
 * presence (bits 0-7), position (8-15, 16-23) and size (24-31); a second
 * hash of it its rotation, colour and facet (decoded here once, not for
 * every pixel it covers). */
static void flake_decode(const nail__nail *n, const flake_layer *L, int ix, int iy, float aa,
                         nail__flk *o)
{
    uint32_t h =
        nail__hash((n->seed ^ L->salt) + (uint32_t)ix * 0x9e3779b1u + (uint32_t)iy * 0x85ebca77u);
    if ((float)(h & 0xffu) >= L->density * 256.0f) {
        memset(o, 0, sizeof *o);
        o->reach2 = -1.0f;
        return;
    }
    o->cx = (float)((h >> 8) & 0xffu) * (1.0f / 256.0f);
    o->cy = (float)((h >> 16) & 0xffu) * (1.0f / 256.0f);
    o->r = L->rmin + (L->rmax - L->rmin) * (float)(h >> 24) * (1.0f / 256.0f);
    /* beyond the hexagon's circumcircle (apothem x 2/sqrt(3)) plus the
     * anti-aliasing ramp it covers nothing; and never beyond half a cell
     * (only the 2 x 2 nearest cells are looked at) */
    float reach = 1.1547005f * (o->r + 0.5f * aa / L->cell);
    reach = reach < 0.5f ? reach : 0.5f;
    o->reach2 = reach * reach;
    uint32_t h2 = nail__hash(h), h3 = nail__hash(h2), h4 = h2 ^ (h3 >> 11);
    /* six-fold symmetric, so eight rotations cover it */
    static const float ROT[8][2] = {
        {1.0f, 0.0f},    {0.9914f, 0.1305f}, {0.9659f, 0.2588f}, {0.9239f, 0.3827f},
        {0.8660f, 0.5f}, {0.7934f, 0.6088f}, {0.7071f, 0.7071f}, {0.6088f, 0.7934f},
    };
    o->rc = ROT[(h2 >> 5) & 7u][0];
    o->rs = ROT[(h2 >> 5) & 7u][1];
    /* colour: one of the design's accent colours; with a single colour the
     * flakes are a lighter, metallic version of it plus some silver */
    int nacc = n->ncol > 1 ? n->ncol - 1 : 3;
    int pick = (int)((h3 >> 7) % (uint32_t)nacc);
    float fc[3];
    if (n->ncol > 1) {
        copy3(fc, n->col[1 + pick]);
    } else if (pick < 2) {
        for (int c = 0; c < 3; c++)
            fc[c] = n->col[0][c] + (1.0f - n->col[0][c]) * 0.25f;
    } else {
        copy3(fc, n->silver);
    }
    /* each flake is a tilted mirror: most are darker or brighter than the
     * base, a few catch the light and flash */
    float facet = nail__unit(h4 * 0x9e3779b1u);
    float bright = 0.2f + 1.1f * facet * facet;
    for (int c = 0; c < 3; c++)
        o->col[c] = nail__clampf(fc[c] * bright, 0.0f, 1.0f);
    o->flash = facet > 0.78f ? (facet - 0.78f) * 7.0f : 0.0f;
}

/* A flake that may cover the point (dx, dy from its centre, cell units):
 * its hexagon's coverage there, blended over what lies under it. */
static inline void flake_paint(const nail__flk *f, float dx, float dy, float cell_aa,
                               nail__surface *o)
{
    float x = fabsf(dx * f->rc - dy * f->rs), y = fabsf(dx * f->rs + dy * f->rc);
    float hx = 0.5f * x + 0.8660254f * y;
    float d = (x > hx ? x : hx) - f->r; /* hexagon, in cell units */
    float cov = nail__clampf(0.5f - d * cell_aa, 0.0f, 1.0f);
    if (cov <= 0.0f)
        return;
    mix3(o->a, f->col, cov * 0.9f);
    o->spark += cov * f->flash;
    mix3(o->spark_col, f->col, cov);
    o->metal = o->metal + (1.0f - o->metal) * cov;
}

/* One flake per cell (or none), centred anywhere in its cell and never
 * reaching more than half a cell out of it, so the 2 x 2 cells nearest to a
 * point are all that can cover it. The test for "near enough" is the only
 * branch (an absent flake has reach2 < 0 and fails it). */
static inline void flake(const nail__flk *f, float ix, float iy, float gx, float gy, float cell_aa,
                         nail__surface *o)
{
    float dx = gx - (ix + f->cx), dy = gy - (iy + f->cy);
    if (dx * dx + dy * dy <= f->reach2)
        flake_paint(f, dx, dy, cell_aa, o);
}

static inline void glitter_layer(const nail__nail *n, int li, float s, float t, float aa,
                                 nail__surface *o)
{
    const flake_layer *L = &FLAKES[li];
    float gx = s * L->inv_cell + 64.0f, gy = t * L->inv_cell;
    int ix = nail__floori(gx), iy = nail__floori(gy);
    int ox = nail__nearer_side(gx, ix), oy = nail__nearer_side(gy, iy);
    float cell_aa = L->cell / aa;
    /* the four cells from the nail's table when it holds all of them (one
     * test for the four), else decoded here */
    const nail__cells *c = n->cells;
    int xa = ix + (ox - 1) / 2, ya = iy + (oy - 1) / 2; /* the 2 x 2 block's corner */
    const nail__flk *b;
    int stride;
    nail__flk tmp[4];
    const nail__grid *g = c ? &c->glit[li] : NULL;
    if (g && aa == c->aa && xa >= g->ix0 && xa - g->ix0 < g->nx - 1 && ya >= g->iy0 &&
        ya - g->iy0 < g->ny - 1) {
        b = &c->flk[g->first + (ya - g->iy0) * g->nx + (xa - g->ix0)];
        stride = g->nx;
    } else {
        for (int k = 0; k < 4; k++)
            flake_decode(n, L, xa + (k & 1), ya + (k >> 1), aa, &tmp[k]);
        b = tmp;
        stride = 2;
    }
    /* the same order as before: own cell, across, along, diagonal (picked
     * by arithmetic: which side is nearer is a coin toss per pixel) */
    int cx0 = ix - xa, cx1 = cx0 + ox, ry0 = (iy - ya) * stride, ry1 = ry0 + oy * stride;
    const nail__flk *own = b + ry0 + cx0, *acr = b + ry0 + cx1;
    const nail__flk *alo = b + ry1 + cx0, *dia = b + ry1 + cx1;
    float fx = (float)ix, fy = (float)iy, fxo = (float)(ix + ox), fyo = (float)(iy + oy);
    flake(own, fx, fy, gx, gy, cell_aa, o);
    flake(acr, fxo, fy, gx, gy, cell_aa, o);
    flake(alo, fx, fyo, gx, gy, cell_aa, o);
    flake(dia, fxo, fyo, gx, gy, cell_aa, o);
}

/* Decodes the flakes of every cell a painted pixel of this nail can look
 * at (the outline plus the painter's 1.5 px margin, and one cell around),
 * once per frame: bounded by the nail's area in cells. */
static void setup_glitter(nail__nail *n)
{
    nail__cells *c = n->cells;
    if (!c)
        return;
    c->aa = nail__aa(n);
    const float m = 2.0f / n->W; /* 2 px, in nail widths */
    float smax = n->shape.hw / n->W + m;
    float tmin = -m / n->fs, tmax = n->shape.T / n->W + m / n->fs;
    int first = 0;
    for (int li = 0; li < 2; li++) {
        const flake_layer *L = &FLAKES[li];
        nail__grid *g = &c->glit[li];
        g->ix0 = (int)floorf(-smax / L->cell + 64.0f) - 1;
        g->iy0 = (int)floorf(tmin / L->cell) - 1;
        g->nx = (int)floorf(smax / L->cell + 64.0f) + 1 - g->ix0 + 1;
        g->ny = (int)floorf(tmax / L->cell) + 1 - g->iy0 + 1;
        g->first = first;
        if (g->nx <= 0 || g->ny <= 0 || g->nx * g->ny > NAIL__CELLS_MAX - first) {
            g->nx = g->ny = 0; /* a very long nail: decode per pixel */
            continue;
        }
        for (int y = 0; y < g->ny; y++)
            for (int x = 0; x < g->nx; x++)
                flake_decode(n, L, g->ix0 + x, g->iy0 + y, c->aa, &c->flk[first + y * g->nx + x]);
        first += g->nx * g->ny;
    }
}

/* ---- marble ---- */

static void marble(const nail__nail *n, const nail__tables *t, float s, float tt, float aa,
                   nail__surface *o)
{
    const float scale = 20.0f; /* noise texels per nail width */
    float x = (n->noise_c * s - n->noise_s * tt) * scale + n->noise_ox;
    float y = (n->noise_s * s + n->noise_c * tt) * scale + n->noise_oy;
    /* domain-warped noise: its iso-lines wander like veins in stone. The
     * distance to an iso-line is the value difference over the gradient, so
     * veins keep their width where the field is flat (the gradient is taken
     * with the warp held, which is close enough for a width; it comes with
     * the value from the same bilinear patch, one lookup). */
    float w = nail__noise(t, 0.5f * x + 37.0f, 0.5f * y + 11.0f);
    float gx, gy;
    float n2 = nail__noise_grad(t, x + 34.0f * w, 0.4f * y + 26.0f * w, &gx, &gy);
    gy *= 0.4f;
    float grad = sqrtf(gx * gx + gy * gy) + 1e-4f; /* per texel of (x, y) */
    float q = n2 * 3.0f, lv = (float)nail__floori(q + 0.5f);
    float dist = fabsf(q - lv) / (3.0f * grad) / scale; /* nail widths */
    /* the noise lies in [0, 1], so there are four iso-lines: their
     * strengths were drawn at setup */
    int li = (int)lv;
    float strength = n->vein_k[li < 0 ? 0 : li > 3 ? 3 : li];
    float width = 0.006f + 0.022f * strength;
    float vein = (1.0f - nail__smooth(width, width + aa, dist)) * 0.85f * strength;
    float halo = (1.0f - nail__smooth(0.0f, 0.09f, dist)) * 0.22f * strength;
    float n3 = nail__noise(t, 1.3f * x + 21.0f * w + 53.0f, 0.6f * y - 12.0f * w + 71.0f);
    float fine =
        (1.0f - nail__smooth(0.002f, 0.01f + aa * scale * 0.01f, fabsf(n3 - 0.47f))) * 0.4f;
    float wash = nail__smooth(0.5f, 0.85f, w) * 0.14f;
    float base[3], vc[3], fc[3];
    copy3(base, n->col[0]);
    if (n->ncol >= 2) {
        copy3(vc, n->col[1]);
        copy3(fc, n->col[n->ncol >= 3 ? 2 : 1]);
    } else {
        for (int c = 0; c < 3; c++)
            vc[c] = n->col[0][c] * 0.2f + 0.02f;
        copy3(fc, vc);
    }
    for (int c = 0; c < 3; c++)
        o->a[c] = base[c] * (0.95f + 0.08f * w);
    mix3(o->a, vc, wash);
    mix3(o->a, vc, halo);
    mix3(o->a, fc, fine);
    mix3(o->a, vc, vein);
    if (n->ncol >= 3) { /* a metallic third colour glints */
        o->spark += fine * 0.6f;
        mix3(o->spark_col, fc, fine);
    }
}

/* ---- floral ---- */

/* cos(k * theta) from c = cos(theta), without trig (Chebyshev polynomials). */
static float cos_k(int k, float c)
{
    float c2 = c * c;
    if (k == 5)
        return c * (16.0f * c2 * c2 - 20.0f * c2 + 5.0f);
    return 32.0f * c2 * c2 * c2 - 48.0f * c2 * c2 + 18.0f * c2 - 1.0f;
}

static void floral(const nail__nail *n, float s, float t, float aa, nail__surface *o)
{
    float petal[3], centre[3];
    copy3(petal, n->ncol >= 2 ? n->col[1] : n->white);
    copy3(centre, n->ncol >= 3 ? n->col[2] : n->gold);
    for (int i = 0; i < n->nflowers; i++) {
        const nail__flower *f = &n->flower[i];
        float dx = s - f->s, dy = t - f->t;
        float r2 = dx * dx + dy * dy;
        float R = f->r;
        if (r2 > R * R * 1.1f)
            continue;
        float r = sqrtf(r2);
        float x = dx * f->cs + dy * f->sn;
        float c = r > 1e-6f ? x / r : 1.0f;
        /* |cos(k theta / 2)| = sqrt((1 + cos k theta) / 2): k rounded lobes */
        float lobe = sqrtf(nail__clampf(0.5f + 0.5f * cos_k(f->petals, c), 0.0f, 1.0f));
        float rho = R * (0.32f + 0.68f * sqrtf(lobe));
        float cov = nail__clampf((rho - r) / aa + 0.5f, 0.0f, 1.0f);
        if (cov > 0.0f) {
            /* petals darker toward the centre and along the seams, with a
             * thin outline so they read as painted on */
            float shade = 0.78f + 0.26f * (r / rho);
            shade *= 0.88f + 0.12f * lobe;
            float rim = 1.0f - nail__smooth(0.0f, 1.6f * aa, rho - r);
            shade *= 1.0f - 0.22f * rim;
            float pc[3] = {petal[0] * shade, petal[1] * shade, petal[2] * shade};
            mix3(o->a, pc, cov);
        }
        float rc = 0.24f * R;
        float cc = nail__clampf((rc - r) / aa + 0.5f, 0.0f, 1.0f);
        if (cc > 0.0f) {
            float sh = 1.1f - 0.35f * (r / rc);
            float ccol[3] = {centre[0] * sh, centre[1] * sh, centre[2] * sh};
            mix3(o->a, ccol, cc);
            o->spark += cc * 0.15f;
            mix3(o->spark_col, ccol, cc);
        }
    }
}

static void french(const nail__nail *n, float u, float v, float aa, nail__surface *o)
{
    const float *base = n->ncol >= 2 ? n->col[0] : n->nude;
    const float *tip = n->ncol >= 2 ? n->col[1] : n->col[0];
    /* inside the tip band when the point, moved toward the free edge by the
     * band's depth, falls outside the outline: the smile line is the free
     * edge's own curve, moved back */
    float d = nail__shape_sdf(&n->shape, u, v + n->french_depth) / n->W;
    float k = nail__clampf(d / aa + 0.5f, 0.0f, 1.0f);
    copy3(o->a, base);
    /* a light french base (nude, pink) is a sheer wash: some of the nail's
     * own colour shows through it; a dark base is opaque */
    if (n->measured && nail__luma(base) > 0.3f)
        mix3(o->a, n->nat, 0.3f);
    mix3(o->a, tip, k);
}

static void reference(const nail__nail *n, const nail__ref *ref, float u, float v, nail__surface *o)
{
    if (!ref || !ref->lin) {
        copy3(o->a, n->col[0]);
        return;
    }
    const nail__shape *sh = &n->shape;
    float x =
        nail__clampf((u / (2.0f * sh->hw) + 0.5f) * (float)(ref->w - 1), 0.0f, (float)(ref->w - 1));
    float y = nail__clampf((1.0f - v / sh->T) * (float)(ref->h - 1), 0.0f, (float)(ref->h - 1));
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < ref->w ? x0 + 1 : x0, y1 = y0 + 1 < ref->h ? y0 + 1 : y0;
    float fx = x - (float)x0, fy = y - (float)y0;
    const float *p00 = ref->lin + ((size_t)y0 * (size_t)ref->w + (size_t)x0) * 3u;
    const float *p10 = ref->lin + ((size_t)y0 * (size_t)ref->w + (size_t)x1) * 3u;
    const float *p01 = ref->lin + ((size_t)y1 * (size_t)ref->w + (size_t)x0) * 3u;
    const float *p11 = ref->lin + ((size_t)y1 * (size_t)ref->w + (size_t)x1) * 3u;
    for (int c = 0; c < 3; c++) {
        float a = p00[c] + (p10[c] - p00[c]) * fx, b = p01[c] + (p11[c] - p01[c]) * fx;
        o->a[c] = a + (b - a) * fy;
    }
}

void nail__pattern_eval(const nail__nail *n, const nail__tables *t, const nail__ref *ref, float u,
                        float v, float aa, nail__surface *o)
{
    float s = u / n->W, tt = v / n->W;
    copy3(o->a, n->col[0]);
    o->spark = 0.0f;
    o->spark_col[0] = o->spark_col[1] = o->spark_col[2] = 1.0f;
    o->metal = 0.0f;
    switch (n->st->pattern) {
    case NAIL_PATTERN_FRENCH_TIPS:
        french(n, u, v, aa, o);
        break;
    case NAIL_PATTERN_OMBRE: {
        float x = nail__clampf(v / n->shape.T, 0.0f, 1.0f) * (float)NAIL__OMBRE_N;
        int i = (int)x;
        if (i >= NAIL__OMBRE_N)
            i = NAIL__OMBRE_N - 1;
        float f = x - (float)i;
        for (int c = 0; c < 3; c++)
            o->a[c] = n->ombre[i][c] + (n->ombre[i + 1][c] - n->ombre[i][c]) * f;
        break;
    }
    case NAIL_PATTERN_GLITTER:
        o->spark_col[0] = o->spark_col[1] = o->spark_col[2] = 0.0f;
        glitter_layer(n, 0, s, tt, aa, o);
        glitter_layer(n, 1, s, tt, aa, o);
        break;
    case NAIL_PATTERN_MARBLE:
        marble(n, t, s, tt, aa, o);
        break;
    case NAIL_PATTERN_FLORAL:
        floral(n, s, tt, aa, o);
        break;
    case NAIL_PATTERN_REFERENCE:
        reference(n, ref, u, v, o);
        break;
    case NAIL_PATTERN_SOLID:
    default:
        break;
    }
}
