/* one_euro.c - One Euro filter and the per-hand landmark smoother. */
#include "hand/one_euro.h"

#include <math.h>
#include <string.h>

void lq_one_euro_reset(lq_one_euro *f)
{
    memset(f, 0, sizeof *f);
}

/* Smoothing factor of a first-order low-pass with cutoff fc, sampled every te s. */
static double alpha_for(double te, double fc)
{
    const double tau = 1.0 / (2.0 * M_PI * fc);
    return 1.0 / (1.0 + tau / te);
}

float lq_one_euro_apply(lq_one_euro *f, const lq_one_euro_params *p, int64_t t_us, float x,
                        float value_scale)
{
    if (!f->primed) {
        f->x = x;
        f->dx = 0.0;
        f->t_us = t_us;
        f->primed = 1;
        return x;
    }
    if (t_us <= f->t_us)
        return (float)f->x;
    const double te = (double)(t_us - f->t_us) * 1e-6;
    f->t_us = t_us;
    const double dx = ((double)x - f->x) / te;
    const double a_d = alpha_for(te, p->d_cutoff);
    f->dx = a_d * dx + (1.0 - a_d) * f->dx;
    const double speed = fabs(f->dx) * (double)value_scale;
    const double cutoff = (double)p->min_cutoff + (double)p->beta * speed;
    const double a = alpha_for(te, cutoff);
    f->x = a * (double)x + (1.0 - a) * f->x;
    return (float)f->x;
}

float lq_points_scale(const lq_point3 *pts, int n)
{
    if (n <= 0)
        return 0.0f;
    float x0 = pts[0].x, x1 = pts[0].x, y0 = pts[0].y, y1 = pts[0].y;
    for (int i = 1; i < n; i++) {
        x0 = fminf(x0, pts[i].x);
        x1 = fmaxf(x1, pts[i].x);
        y0 = fminf(y0, pts[i].y);
        y1 = fmaxf(y1, pts[i].y);
    }
    return ((x1 - x0) + (y1 - y0)) / 2.0f;
}

void lq_hand_smoother_reset(lq_hand_smoother *s)
{
    memset(s, 0, sizeof *s);
}

static void smooth_points(lq_one_euro (*f)[3], const lq_one_euro_params *p, int64_t t_us,
                          lq_point3 *pts)
{
    const float scale = lq_points_scale(pts, LQ_HAND_LANDMARKS);
    /* A degenerate hand (all points equal) has no size: smooth unscaled. */
    const float vs = scale > 1e-6f && isfinite(scale) ? 1.0f / scale : 1.0f;
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
        pts[i].x = lq_one_euro_apply(&f[i][0], p, t_us, pts[i].x, vs);
        pts[i].y = lq_one_euro_apply(&f[i][1], p, t_us, pts[i].y, vs);
        pts[i].z = lq_one_euro_apply(&f[i][2], p, t_us, pts[i].z, vs);
    }
}

void lq_hand_smoother_apply(lq_hand_smoother *s, const lq_one_euro_params *p, int64_t t_us,
                            lq_hand *h)
{
    smooth_points(s->lm, p, t_us, h->lm);
    smooth_points(s->world, p, t_us, h->world);
}
