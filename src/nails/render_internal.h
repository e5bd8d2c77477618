/*
 * render_internal.h - shared between the files of the polish renderer
 * (render.c, render_color.c, render_shape.c, render_pattern.c,
 * render_finish.c). Not part of the public API.
 *
 * Nail space: u across the nail (pixels, 0 on the axis, positive to the left
 * of the axis direction), v along the axis from the cuticle (0) toward the
 * free edge, in *unforeshortened* pixels: a frame point is
 *   cuticle + u * across + (v * fs) * axis.
 * Shapes are signed distance fields in nail space; the painter converts them
 * to frame-pixel distances with the local gradient.
 */
#ifndef LQ_NAILS_RENDER_INTERNAL_H
#define LQ_NAILS_RENDER_INTERNAL_H

#include <math.h>
#include <stdint.h>

#include "nails/color.h"
#include "nails/design.h"
#include "nails/geometry.h"
#include "nails/render.h"

/* ---- colour, tables, hashing, noise (render_color.c) ---- */

#define NAIL__EXP_N 512 /* exp(-x) table over [0, NAIL__EXP_MAX] */
#define NAIL__EXP_MAX 16.0f
#define NAIL__NOISE_N 128 /* periodic noise tile side */

typedef struct nail__tables {
    float expn[NAIL__EXP_N + 2];                /* exp(-i * MAX / N) */
    float noise[NAIL__NOISE_N * NAIL__NOISE_N]; /* fbm value noise in ~[0,1], periodic */
} nail__tables;

void nail__tables_init(nail__tables *t);

/* exp(-x) for x >= 0 by table with linear interpolation; 0 beyond the table. */
static inline float nail__expn(const nail__tables *t, float x)
{
    if (!(x > 0.0f))
        return 1.0f;
    float f = x * ((float)NAIL__EXP_N / NAIL__EXP_MAX);
    if (f >= (float)NAIL__EXP_N)
        return 0.0f;
    int i = (int)f;
    float a = f - (float)i;
    return t->expn[i] + a * (t->expn[i + 1] - t->expn[i]);
}

/* floorf(x) as an int, for |x| < 2^31: without SSE4.1 (the x86-64 baseline
 * the build targets) floorf is a library call, and the patterns need
 * several per pixel. Same value as (int)floorf(x). */
static inline int nail__floori(float x)
{
    int i = (int)x; /* toward zero */
    return i - (x < (float)i);
}

/* -1 or +1: toward the nearer neighbour of cell ix = nail__floori(x),
 * by arithmetic (which half of its cell a pixel falls in is a coin toss,
 * so a compiler's branch on the comparison is mispredicted half the time).
 * The fraction x - ix is in [0, 1], 1 when rounding (a tiny negative x)
 * gets there: the same side as the comparison x - ix < 0.5 picks. */
static inline int nail__nearer_side(float x, int ix)
{
    int h = (int)((x - (float)ix) * 2.0f); /* 0, 1 or (at 1) 2 */
    h -= h >> 1;
    return 2 * h - 1;
}

/* Periodic fbm value noise, bilinear; x, y in tile texels (any real value).
 * Inline: patterns call it several times per pixel. */
static inline float nail__noise(const nail__tables *t, float x, float y)
{
    const int n = NAIL__NOISE_N;
    int ix = nail__floori(x), iy = nail__floori(y);
    float fx = x - (float)ix, fy = y - (float)iy;
    int xi = ix & (n - 1), yi = iy & (n - 1);
    int xj = (xi + 1) & (n - 1), yj = (yi + 1) & (n - 1);
    const float *r0 = t->noise + yi * n, *r1 = t->noise + yj * n;
    float a = r0[xi] + (r0[xj] - r0[xi]) * fx;
    float b = r1[xi] + (r1[xj] - r1[xi]) * fx;
    return a + (b - a) * fy;
}

/* The same noise and its gradient (per texel) from one lookup: the
 * derivatives of the bilinear patch the point lies in. */
static inline float nail__noise_grad(const nail__tables *t, float x, float y, float *gx, float *gy)
{
    const int n = NAIL__NOISE_N;
    int ix = nail__floori(x), iy = nail__floori(y);
    float fx = x - (float)ix, fy = y - (float)iy;
    int xi = ix & (n - 1), yi = iy & (n - 1);
    int xj = (xi + 1) & (n - 1), yj = (yi + 1) & (n - 1);
    const float *r0 = t->noise + yi * n, *r1 = t->noise + yj * n;
    float dx0 = r0[xj] - r0[xi], dx1 = r1[xj] - r1[xi];
    float a = r0[xi] + dx0 * fx;
    float b = r1[xi] + dx1 * fx;
    *gx = dx0 + (dx1 - dx0) * fy;
    *gy = b - a;
    return a + (b - a) * fy;
}

/* Integer hash (a multiply-xorshift finalizer). Inline: glitter and shimmer
 * hash their cells for every pixel. */
static inline uint32_t nail__hash(uint32_t x)
{
    x ^= x >> 16;
    x *= 0x21f0aaadu;
    x ^= x >> 15;
    x *= 0x735a2d97u;
    x ^= x >> 15;
    return x;
}
static inline uint32_t nail__hash2(uint32_t a, uint32_t b)
{
    return nail__hash(a ^ nail__hash(b + 0x9e3779b9u));
}
/* Uniform in [0, 1). */
static inline float nail__unit(uint32_t h)
{
    return (float)(h >> 8) * (1.0f / 16777216.0f);
}

void nail__lin_to_oklab(const float lin[3], float lab[3]);
void nail__oklab_to_lin(const float lab[3], float lin[3]);
float nail__luma(const float lin[3]);

static inline float nail__clampf(float x, float lo, float hi)
{
    return x < lo ? lo : (x > hi ? hi : x);
}
static inline float nail__smooth(float e0, float e1, float x)
{
    float t = nail__clampf((x - e0) / (e1 - e0), 0.0f, 1.0f);
    return t * t * (3.0f - 2.0f * t);
}
static inline float nail__mix(float a, float b, float t)
{
    return a + (b - a) * t;
}

/* ---- outlines (render_shape.c) ---- */

#define NAIL__HW_N 32 /* samples of the tip's half-width profile */

typedef struct nail__shape {
    nail_shape kind;
    float fs;                     /* foreshortening */
    float hw;                     /* half width */
    float rc, rt;                 /* cuticle / free-edge corner radii, frame pixels */
    float cr, ntr;                /* the same as depths along the axis in nail space */
    float L, E, T;                /* natural plate length, extension, total (nail space) */
    float vt;                     /* where the design's tip primitive starts (full width there) */
    float th;                     /* tip primitive length beyond vt */
    float rr;                     /* tip rounding radius */
    float top_hw;                 /* coffin: half width of the flat tip */
    float ves_r, ves_d, ves_b;    /* almond/stiletto vesica (before rounding) */
    float hw_tab[NAIL__HW_N + 1]; /* half width from vt to T (nail__shape_tabulate) */
} nail__shape;

/* Fills *s from the nail and its style; lengths in nail space (fs removed). */
void nail__shape_setup(nail__shape *s, const nail_geom *g, const nail_style *st, float fs);

/* Signed distance (nail-space pixels, negative inside) to the painted outline. */
float nail__shape_sdf(const nail__shape *s, float u, float v);

/* Same for the natural plate (cuticle to free edge, no design tip). */
float nail__plate_sdf(const nail__shape *s, float u, float v);

/* Half width of the painted outline at v (0 beyond the tip), from the table
 * filled by nail__shape_tabulate (call it once after setup). */
float nail__shape_halfwidth(const nail__shape *s, float v);
void nail__shape_tabulate(nail__shape *s);

/* The field at (u, v) (d = nail__shape_sdf there) as a frame-pixel distance. */
float nail__shape_frame_distance(const nail__shape *s, float u, float v, float d);

/* ---- one nail being painted ---- */

#define NAIL__MAX_FLOWERS 5
#define NAIL__OMBRE_N 64

typedef struct nail__flower {
    float s, t;   /* centre, nail-width units */
    float r;      /* outer petal radius */
    float cs, sn; /* rotation */
    int petals;   /* 5 or 6 */
} nail__flower;

/* Glitter flakes and shimmer sparkles of one nail, decoded once per frame
 * from their cell hashes (the pattern looks them up per pixel instead of
 * hashing 8 or 4 cells for every pixel). A cell outside the table, or a
 * call with another anti-aliasing width, decodes on the fly: same result. */
#define NAIL__CELLS_MAX 2048 /* flake cells of both glitter layers */
#define NAIL__SPARK_MAX 1024 /* shimmer cells */

typedef struct nail__flk {
    float cx, cy; /* centre, in cell units of the layer's grid */
    float r;      /* apothem (cell units); 0: no flake in this cell */
    float reach2; /* squared distance beyond which it covers nothing */
    float rc, rs; /* rotation (cos, sin) */
    float col[3]; /* colour (linear, the facet's brightness applied) */
    float flash;  /* how much it flashes in the light, 0.. */
} nail__flk;

typedef struct nail__spk {
    float cx, cy; /* centre, cell units */
    float amp;    /* brightness; 0: no sparkle in this cell */
} nail__spk;

typedef struct nail__grid {
    int ix0, iy0, nx, ny; /* cells [ix0, ix0 + nx) x [iy0, iy0 + ny); nx = 0: no table */
    int first;            /* index of cell (ix0, iy0) in the pool */
} nail__grid;

typedef struct nail__cells {
    float aa;              /* the anti-aliasing width the flakes were decoded for */
    nail__grid glit[2];    /* the two flake layers */
    nail__grid spk;
    nail__flk flk[NAIL__CELLS_MAX];
    nail__spk spark[NAIL__SPARK_MAX];
} nail__cells;

typedef struct nail__nail {
    const nail_geom *g;
    const nail_style *st;
    uint32_t seed;
    /* frame <-> nail space */
    float ox, oy; /* cuticle point (frame pixels) */
    float ax, ay; /* axis unit vector */
    float bx, by; /* across unit vector (-ay, ax) */
    float fs;     /* foreshortening: frame v = nail v * fs */
    float W;      /* width (pixels) */
    nail__shape shape;
    int x0, y0, x1, y1; /* bounding box, inclusive-exclusive, clipped */
    /* lighting measured under the plate */
    float expo;     /* exposure relative to a reference nail */
    float light[3]; /* illuminant colour x exposure (linear) */
    float shade[5]; /* luma fit: 1, un, un^2, vn, un*vn (relative to mean) */
    float uh;       /* across position of the brightest streak, -1..1 */
    float vh;       /* along centre of the highlight (nail-space v) */
    float spec_iv;  /* 1 / the highlight's half length */
    float inv_L;    /* 1 / shape.L */
    float plate[3]; /* mean linear colour of the plate */
    float tip[3];   /* mean linear colour of its distal quarter (the free edge) */
    float nat[3];   /* the plate's colour with the light divided out (its albedo) */
    int measured;   /* 1 if enough plate pixels were seen */
    /* colours (linear) */
    float col[NAIL_MAX_COLORS][3];
    int ncol;
    float nude[3], white[3], gold[3], silver[3]; /* stand-ins for missing colours */
    float ombre[NAIL__OMBRE_N + 1][3];
    float french_depth; /* nail-space depth of the french tip band */
    nail__flower flower[NAIL__MAX_FLOWERS];
    int nflowers;
    float noise_ox, noise_oy, noise_c, noise_s; /* marble placement */
    float vein_k[4];                            /* marble: strength of each iso-line */
    nail__cells *cells; /* decoded glitter/shimmer cells, or NULL (decode per pixel) */
} nail__nail;

/* The anti-aliasing width (a frame pixel in nail widths) the painter passes
 * to nail__pattern_eval for this nail. */
static inline float nail__aa(const nail__nail *n)
{
    return 0.5f * (1.0f + 1.0f / n->fs) / n->W;
}

/* What the pattern gives the finish at one pixel. */
typedef struct nail__surface {
    float a[3];         /* albedo, linear */
    float spark;        /* extra specular sparkle (glitter flakes), 0.. */
    float spark_col[3]; /* its tint */
    float metal;        /* 0..1: metallic flake (reflects coloured) */
} nail__surface;

/* A reference texture in linear light, free edge at row 0. */
typedef struct nail__ref {
    int w, h;
    float *lin; /* w * h * 3 */
} nail__ref;

/* ---- patterns (render_pattern.c) ---- */

/* Per-nail preparation (colours, ombre table, flowers, marble placement;
 * glitter flakes and shimmer sparkles into n->cells if it is set). */
void nail__pattern_setup(nail__nail *n, const nail__tables *t);

/* The surface at nail-space (u, v); aa = frame pixel size in nail-width units. */
void nail__pattern_eval(const nail__nail *n, const nail__tables *t, const nail__ref *ref, float u,
                        float v, float aa, nail__surface *out);

/* ---- finishes (render_finish.c) ---- */

typedef struct nail__px {
    float u, v;     /* nail space */
    float un;       /* u / local half width, -1..1 */
    float edge;     /* frame-pixel distance inside the outline (>= 0) */
    float plate_w;  /* sheer only: 1 over the natural plate, 0 on the extension */
    float under[3]; /* the frame pixel, linear */
} nail__px;

/* Per-nail preparation (shimmer sparkles into n->cells if it is set); after
 * nail__shape_setup. */
void nail__finish_setup(nail__nail *n);

/* Colour of the polish at one pixel (linear, before coverage blending). */
void nail__finish_shade(const nail__nail *n, const nail__tables *t, const nail__surface *sf,
                        const nail__px *p, float out[3]);

#endif
