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

/* Cuticle cap (rounded proximal corners) and the full-width body up to vt,
 * evaluated in frame pixels (w = v * fs) like geometry.h's outline. Seams
 * between primitives must lie inside another primitive, or the union would
 * have a false edge there: the cap is only cut where the body or the tip
 * takes over, and the tip reaches back into the body (see below). */
static float cuticle_and_body(const nail__shape *s, float u, float v)
{
    float w = v * s->fs, rc = s->rc, wend = s->vt * s->fs;
    float d = 1e9f;
    if (wend > rc)
        d = sd_box(u, w, 0.5f * (rc + wend), s->hw, 0.5f * (wend - rc), 0.0f);
    if (rc > 0.0f)
        d = minf(d, maxf(sd_box(u, w, rc, s->hw, rc, rc), w - maxf(rc, wend)));
    return d;
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

float nail__shape_sdf(const nail__shape *s, float u, float v)
{
    float vt = s->vt, d;
    /* the tip primitives extend back below vt (into the body) to this cut */
    float cut = maxf(vt - s->th, 0.5f * s->cr);
    switch (s->kind) {
    case NAIL_SHAPE_SQUARE:
    case NAIL_SHAPE_SQUOVAL:
        return sd_square(s, u, v);
    case NAIL_SHAPE_ALMOND:
    case NAIL_SHAPE_STILETTO:
        d = maxf(sd_vesica(s, u, v, vt) - s->rr, cut - v);
        break;
    case NAIL_SHAPE_COFFIN: {
        /* the taper's trapezoid continued back to the cut, clipped to the
         * nail's width: its sides meet the body's at vt */
        float k = (s->hw - s->top_hw) / s->th;
        float top = s->T - s->rr;
        float r1 = s->hw + k * (vt - cut) - s->rr, r2 = s->top_hw - s->rr;
        float he = 0.5f * (top - cut);
        d = sd_trapezoid(u, v, cut + he, r1, r2, he) - s->rr;
        d = maxf(d, fabsf(u) - s->hw);
        break;
    }
    case NAIL_SHAPE_OVAL:
    case NAIL_SHAPE_ROUND:
    default:
        d = s->th > 0.25f ? maxf(sd_ellipse(u, v, vt, s->hw, s->th), cut - v) : 1e9f;
        break;
    }
    return minf(d, cuticle_and_body(s, u, v));
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
    if (v >= s->T)
        return 0.0f;
    float y = v - s->vt, w;
    switch (s->kind) {
    case NAIL_SHAPE_SQUARE:
    case NAIL_SHAPE_SQUOVAL: {
        float c = s->T - s->rr;
        if (v <= c || s->rr <= 0.0f)
            return s->hw;
        float dy = v - c;
        return s->hw - s->rr + sqrtf(maxf(s->rr * s->rr - dy * dy, 0.0f));
    }
    case NAIL_SHAPE_ALMOND:
    case NAIL_SHAPE_STILETTO:
        w = sqrtf(maxf(s->ves_r * s->ves_r - y * y, 0.0f)) - s->ves_d + s->rr;
        break;
    case NAIL_SHAPE_COFFIN:
        w = s->hw + (s->top_hw - s->hw) * (y / s->th);
        break;
    default: {
        float q = y / s->th;
        w = s->hw * sqrtf(maxf(1.0f - q * q, 0.0f));
        break;
    }
    }
    return nail__clampf(w, 0.0f, s->hw);
}
