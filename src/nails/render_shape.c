/*
 * render_shape.c - nail outlines as signed distance fields in nail space.
 *
 * Every outline is a union of simple exact (or near-exact) distance
 * primitives that meet with matching tangents:
 *   cuticle cap   half ellipse (depth cr) on the proximal side,
 *   body          box of the full width from the cap to vt,
 *   design tip    from vt to the tip T: half ellipse (round, oval), half
 *                 vesica with a rounded point (almond, stiletto), rounded
 *                 trapezoid (coffin) or rounded box (square, squoval).
 * Each primitive is cut by a half plane so that it only adds area on its own
 * side of the seam. Distances are exact near the boundary, which is all the
 * anti-aliasing needs; deep inside they are only a bound.
 */
#include <math.h>

#include "nails/render_internal.h"

static float sd_box(float u, float v, float cy, float hx, float hy, float rr)
{
    float qx = fabsf(u) - hx + rr, qy = fabsf(v - cy) - hy + rr;
    float mx = qx > 0.0f ? qx : 0.0f, my = qy > 0.0f ? qy : 0.0f;
    float in = qx > qy ? qx : qy;
    return sqrtf(mx * mx + my * my) + (in < 0.0f ? in : 0.0f) - rr;
}

/* Approximate distance to an axis-aligned ellipse centred on (0, cy): exact on
 * the boundary, first-order accurate near it. */
static float sd_ellipse(float u, float v, float cy, float a, float b)
{
    float y = v - cy;
    float k0 = sqrtf((u * u) / (a * a) + (y * y) / (b * b));
    float k1 = sqrtf((u * u) / (a * a * a * a) + (y * y) / (b * b * b * b));
    if (k1 < 1e-12f)
        return -(a < b ? a : b);
    return k0 * (k0 - 1.0f) / k1;
}

/* Lens (intersection of two circles of radius r whose centres sit d either
 * side of the axis), centred on (0, cy); its points are at cy -/+ b. */
static float sd_vesica(const nail__shape *s, float u, float v, float cy)
{
    float px = fabsf(u), py = fabsf(v - cy);
    float r = s->ves_r, d = s->ves_d, b = s->ves_b;
    if ((py - b) * d > px * b)
        return sqrtf(px * px + (py - b) * (py - b));
    return sqrtf((px + d) * (px + d) + py * py) - r;
}

/* Isosceles trapezoid centred on (0, cy): half width r1 at cy - he, r2 at cy + he. */
static float sd_trapezoid(float u, float v, float cy, float r1, float r2, float he)
{
    float px = fabsf(u), py = v - cy;
    float cap = py < 0.0f ? r1 : r2;
    float cax = px - (px < cap ? px : cap), cay = fabsf(py) - he;
    float k2x = r2 - r1, k2y = 2.0f * he;
    float t = ((r2 - px) * k2x + (he - py) * k2y) / (k2x * k2x + k2y * k2y);
    t = nail__clampf(t, 0.0f, 1.0f);
    float cbx = px - r2 + k2x * t, cby = py - he + k2y * t;
    float sgn = (cbx < 0.0f && cay < 0.0f) ? -1.0f : 1.0f;
    float da = cax * cax + cay * cay, db = cbx * cbx + cby * cby;
    return sgn * sqrtf(da < db ? da : db);
}

static float maxf(float a, float b)
{
    return a > b ? a : b;
}

static float minf(float a, float b)
{
    return a < b ? a : b;
}

void nail__shape_setup(nail__shape *s, const nail_geom *g, const nail_style *st, float fs)
{
    float hw = 0.5f * g->width;
    float L = g->length / fs;
    float factor = st->length > 1.0f ? st->length : 1.0f;
    float E = (factor - 1.0f) * L;
    s->kind = (unsigned)st->shape < NAIL_SHAPE_COUNT ? st->shape : NAIL_SHAPE_ALMOND;
    s->fs = fs;
    s->hw = hw;
    s->L = L;
    s->E = E;
    s->T = L + E;
    /* the natural plate is geometry.h's rounded rectangle, in frame pixels:
     * corner radii cuticle_round * r and tip_round * r, r = min(hl, hw) */
    float r = minf(0.5f * g->length, hw);
    s->rc = nail__clampf(g->cuticle_round, 0.0f, 1.0f) * r;
    s->rt = nail__clampf(g->tip_round, 0.0f, 1.0f) * r;
    s->cr = s->rc / fs;
    s->ntr = s->rt / fs;

    float avail = s->T - s->cr; /* room for the design tip */
    float h = 0.0f;
    s->rr = 0.0f;
    s->top_hw = hw;
    switch (s->kind) {
    case NAIL_SHAPE_ROUND:
        h = 0.9f * hw;
        break;
    case NAIL_SHAPE_OVAL:
        h = 1.1f * hw + 0.45f * E;
        break;
    case NAIL_SHAPE_SQUARE:
        s->rr = 0.16f * hw;
        h = s->rr;
        break;
    case NAIL_SHAPE_SQUOVAL:
        s->rr = 0.5f * hw;
        h = s->rr;
        break;
    case NAIL_SHAPE_ALMOND:
        s->rr = 0.45f * hw;
        h = 1.15f * hw + 0.6f * E;
        break;
    case NAIL_SHAPE_STILETTO:
        s->rr = 0.05f * hw;
        h = 1.7f * hw + 0.85f * E;
        break;
    case NAIL_SHAPE_COFFIN:
        s->rr = 0.14f * hw;
        s->top_hw = 0.58f * hw;
        h = 0.9f * hw + 0.6f * E;
        break;
    default:
        break;
    }
    h = minf(h, avail);
    /* A lens needs to be at least as long as it is wide; a nail too short for
     * that falls back to an elliptical tip of the same length. */
    if ((s->kind == NAIL_SHAPE_ALMOND || s->kind == NAIL_SHAPE_STILETTO) &&
        h - s->rr < 1.02f * (hw - s->rr))
        s->kind = NAIL_SHAPE_OVAL;
    if (s->kind == NAIL_SHAPE_SQUARE || s->kind == NAIL_SHAPE_SQUOVAL) {
        s->rr = minf(s->rr, 0.5f * avail);
        h = s->rr;
    }
    s->th = h > 0.0f ? h : 0.0f;
    s->vt = s->T - s->th;
    if (s->kind == NAIL_SHAPE_ALMOND || s->kind == NAIL_SHAPE_STILETTO) {
        float a = hw - s->rr, b = s->th - s->rr;
        s->ves_r = (b * b + a * a) / (2.0f * a);
        s->ves_d = s->ves_r - a;
        s->ves_b = b;
    } else {
        s->ves_r = s->ves_d = s->ves_b = 0.0f;
    }
}

/* Square and squoval: one rounded rectangle (frame pixels) with the cuticle's
 * corner radius at the proximal end and the design's at the tip. */
static float sd_square(const nail__shape *s, float u, float v)
{
    float w = v * s->fs, hl = 0.5f * s->T * s->fs;
    float y = w - hl;
    float r = y < 0.0f ? s->rc : minf(s->rr, hl);
    return sd_box(u, y, 0.0f, s->hw, hl, r);
}

/* The design's tip primitive, uncut: a half ellipse, lens or trapezoid
 * whose widest line (the full nail width) is at vt. The coffin's trapezoid
 * is continued below vt, clipped to the nail's width. */
static float tip_raw(const nail__shape *s, float u, float v)
{
    float vt = s->vt;
    switch (s->kind) {
    case NAIL_SHAPE_ALMOND:
    case NAIL_SHAPE_STILETTO:
        return sd_vesica(s, u, v, vt) - s->rr;
    case NAIL_SHAPE_COFFIN: {
        float bottom = s->cr;
        float k = (s->hw - s->top_hw) / s->th;
        float top = s->T - s->rr;
        float r1 = s->hw + k * (vt - bottom) - s->rr, r2 = s->top_hw - s->rr;
        float he = 0.5f * (top - bottom);
        float d = sd_trapezoid(u, v, bottom + he, r1, r2, he) - s->rr;
        return maxf(d, fabsf(u) - s->hw);
    }
    case NAIL_SHAPE_OVAL:
    case NAIL_SHAPE_ROUND:
    default:
        return s->th > 0.25f ? sd_ellipse(u, v, vt, s->hw, s->th) : 1e9f;
    }
}

/*
 * The union of cap, body and tip. Seams between primitives must lie inside
 * another primitive, well away from its edge, or the union would show a
 * false edge there:
 *   - the tip reaches back below vt to `cut` (into the body or the cap, never
 *     below the cap's full-width line, where it would poke out of the
 *     cuticle's rounded corners);
 *   - the cap (frame pixels, like geometry.h's outline) reaches 3 px past
 *     where the body or tip takes over, clipped there to the tip's own
 *     outline so it never widens a tapering tip;
 *   - the body is the full-width box between them.
 */
float nail__shape_sdf(const nail__shape *s, float u, float v)
{
    if (s->kind == NAIL_SHAPE_SQUARE || s->kind == NAIL_SHAPE_SQUOVAL)
        return sd_square(s, u, v);
    float vt = s->vt, raw = tip_raw(s, u, v);
    float cut = s->kind == NAIL_SHAPE_COFFIN ? s->cr : maxf(vt - s->th, s->cr);
    float d = maxf(raw, cut - v);
    float w = v * s->fs, rc = s->rc, wend = vt * s->fs;
    if (wend > rc)
        d = minf(d, sd_box(u, w, 0.5f * (rc + wend), s->hw, 0.5f * (wend - rc), 0.0f));
    if (rc > 0.0f) {
        float cap = maxf(sd_box(u, w, rc, s->hw, rc, rc), w - maxf(rc, wend) - 3.0f);
        if (w > wend)
            cap = maxf(cap, raw);
        d = minf(d, cap);
    }
    return d;
}

float nail__plate_sdf(const nail__shape *s, float u, float v)
{
    float w = v * s->fs, hl = 0.5f * s->L * s->fs;
    float y = w - hl;
    float r = y < 0.0f ? s->rc : s->rt;
    return sd_box(u, y, 0.0f, s->hw, hl, r);
}

float nail__shape_halfwidth(const nail__shape *s, float v)
{
    if (v <= s->vt)
        return s->hw;
    if (v >= s->T || s->T <= s->vt)
        return 0.0f;
    float x = (v - s->vt) / (s->T - s->vt) * (float)NAIL__HW_N;
    int i = (int)x;
    if (i >= NAIL__HW_N)
        return s->hw_tab[NAIL__HW_N];
    float f = x - (float)i;
    return s->hw_tab[i] + (s->hw_tab[i + 1] - s->hw_tab[i]) * f;
}

/* The half width of the outline at v, by bisection on the field (setup only). */
static float bisect_halfwidth(const nail__shape *s, float v)
{
    if (nail__shape_sdf(s, 0.0f, v) >= 0.0f)
        return 0.0f;
    float lo = 0.0f, hi = s->hw + 1.0f;
    for (int k = 0; k < 10; k++) {
        float mid = 0.5f * (lo + hi);
        if (nail__shape_sdf(s, mid, v) < 0.0f)
            lo = mid;
        else
            hi = mid;
    }
    return minf(0.5f * (lo + hi), s->hw);
}

void nail__shape_tabulate(nail__shape *s)
{
    for (int i = 0; i <= NAIL__HW_N; i++)
        s->hw_tab[i] = bisect_halfwidth(s, s->vt + (s->T - s->vt) * (float)i / (float)NAIL__HW_N);
}

/* Frame-pixel signed distance from the nail-space field: the field divided by
 * its gradient in frame pixels (nail space is stretched along the axis by
 * 1/fs). For a true distance in nail space that gradient lies in [1, 1/fs]
 * (frame-pixel pieces have exactly 1), so it is clamped there: a finite
 * difference across a seam of the union cannot blow the result up. With
 * little foreshortening the gradient is skipped (under 10% difference, which
 * anti-aliasing does not notice). */
float nail__shape_frame_distance(const nail__shape *s, float u, float v, float d)
{
    if (s->fs >= 0.9f)
        return d * (0.5f + 0.5f * s->fs);
    const float h = 0.25f;
    float gu = (nail__shape_sdf(s, u + h, v) - d) / h;
    float gv = (nail__shape_sdf(s, u, v + h) - d) / h / s->fs;
    float gl = nail__clampf(sqrtf(gu * gu + gv * gv), 1.0f, 1.0f / s->fs);
    return d / gl;
}
