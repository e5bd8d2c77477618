/* nail_track.c - per-session nail smoothing with visibility hysteresis. */
#include "nails/nail_track.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define PI_F 3.14159265358979f

/* A One Euro filter on a 2-D point: one speed (the length of the velocity)
 * sets the cutoff of both coordinates, and speeds up to `still` count as
 * none, so a hand that only drifts or trembles keeps the lowest cutoff. */
typedef struct euro2 {
    double x, y, dx, dy;
    double rx, ry;       /* last raw sample (the speed is measured on those) */
    int64_t t_us;
    int primed;
} euro2;

static double alpha_for(double te, double fc)
{
    const double tau = 1.0 / (2.0 * M_PI * fc);
    return 1.0 / (1.0 + tau / te);
}

static void euro2_apply(euro2 *f, const lq_one_euro_params *p, float still, int64_t t_us,
                        float *x, float *y, float value_scale)
{
    if (!f->primed || t_us <= f->t_us) {
        if (!f->primed) {
            f->x = f->rx = *x;
            f->y = f->ry = *y;
            f->dx = f->dy = 0.0;
            f->t_us = t_us;
            f->primed = 1;
        }
        *x = (float)f->x;
        *y = (float)f->y;
        return;
    }
    const double te = (double)(t_us - f->t_us) * 1e-6;
    f->t_us = t_us;
    const double a_d = alpha_for(te, p->d_cutoff);
    f->dx += a_d * (((double)*x - f->rx) / te - f->dx);
    f->dy += a_d * (((double)*y - f->ry) / te - f->dy);
    f->rx = *x;
    f->ry = *y;
    double speed = sqrt(f->dx * f->dx + f->dy * f->dy) * (double)value_scale - (double)still;
    const double cutoff = (double)p->min_cutoff + (double)p->beta * (speed > 0.0 ? speed : 0.0);
    const double a = alpha_for(te, cutoff);
    f->x += a * ((double)*x - f->x);
    f->y += a * ((double)*y - f->y);
    *x = (float)f->x;
    *y = (float)f->y;
}

typedef struct nail_state {
    int active;          /* filters hold a state */
    int shown;           /* painted on the last frame */
    int missing;         /* consecutive frames without a measurement */
    float angle;         /* last smoothed axis angle (unwrapped), radians */
    /* the landmark prediction (centre, sizes) and the measured outline's
     * offset from it (along/across in predicted lengths/widths, log size
     * ratios), each with its own filters */
    euro2 fc;            /* centre (x, y) */
    lq_one_euro fang, fw, fl;
    lq_one_euro fdu, fdv, frw, frl;
    float du, dv, rw, rl; /* last smoothed offsets */
    nail_geom last;      /* last smoothed nail */
} nail_state;

typedef struct hand_slot {
    int used;
    int track_id;
    uint64_t last_frame; /* frame counter when a nail of this hand was last seen */
    nail_state nail[5];
} hand_slot;

struct nail_track {
    nail_track_opts o;
    int64_t last_us;
    uint64_t frame;      /* frames processed since the last reset */
    hand_slot hand[NAIL_TRACK_MAX_HANDS];
};

static int euro_ok(const lq_one_euro_params *p)
{
    return p->min_cutoff > 0.0f && p->min_cutoff <= 100.0f && p->beta >= 0.0f &&
           p->beta <= 1000.0f && p->d_cutoff > 0.0f && p->d_cutoff <= 100.0f;
}

int nail_track_opts_validate(const nail_track_opts *o)
{
    if (!o)
        return LQ_EINVAL;
    if (!euro_ok(&o->centre) || !euro_ok(&o->shape) || !euro_ok(&o->angle) ||
        !euro_ok(&o->offset)) {
        LQ_WARN("nails", "nail_track_opts: One Euro parameters out of range "
                         "(min_cutoff, d_cutoff in (0,100] Hz, beta in [0,1000])");
        return LQ_EINVAL;
    }
    if (!(o->show_facing >= 0.0f && o->show_facing <= 1.0f && o->hide_facing >= 0.0f &&
          o->hide_facing <= o->show_facing)) {
        LQ_WARN("nails", "nail_track_opts: need 0 <= hide_facing <= show_facing <= 1");
        return LQ_EINVAL;
    }
    if (!(o->still_speed >= 0.0f && o->still_speed <= 10.0f)) {
        LQ_WARN("nails", "nail_track_opts.still_speed must be in [0,10] nail lengths per second");
        return LQ_EINVAL;
    }
    if (o->hold_frames < 0 || o->hold_frames > 30 || o->keep_frames < o->hold_frames ||
        o->keep_frames > 300) {
        LQ_WARN("nails", "nail_track_opts: need 0 <= hold_frames <= 30 and "
                         "hold_frames <= keep_frames <= 300");
        return LQ_EINVAL;
    }
    return 0;
}

int nail_track_create(const nail_track_opts *o, nail_track **out)
{
    if (!out)
        return LQ_EINVAL;
    int rc = nail_track_opts_validate(o);
    if (rc < 0)
        return rc;
    nail_track *t = calloc(1, sizeof *t);
    if (!t)
        return LQ_ENOMEM;
    t->o = *o;
    *out = t;
    return 0;
}

void nail_track_destroy(nail_track *t)
{
    free(t);
}

void nail_track_reset(nail_track *t)
{
    if (!t)
        return;
    memset(t->hand, 0, sizeof t->hand);
    t->frame = 0;
    t->last_us = 0;
}

static int nail_usable(const nail_geom *g)
{
    return g->finger >= 0 && g->finger < 5 && isfinite(g->cx) && isfinite(g->cy) &&
           isfinite(g->ax) && isfinite(g->ay) && isfinite(g->width) && isfinite(g->length) &&
           isfinite(g->facing) && g->width > 0.0f && g->length > 0.0f &&
           fabsf(g->cx) <= NAIL_MAX_COORD && fabsf(g->cy) <= NAIL_MAX_COORD &&
           g->width <= NAIL_MAX_COORD && g->length <= NAIL_MAX_COORD &&
           (g->ax != 0.0f || g->ay != 0.0f);
}

static int hand_alive(const lq_hands *hands, int track_id, int *index)
{
    if (!hands)
        return 1;
    int nh = hands->count < 0 ? 0 : hands->count > LQ_HAND_MAX ? LQ_HAND_MAX : hands->count;
    for (int i = 0; i < nh; i++)
        if (hands->hand[i].track_id == track_id) {
            if (index)
                *index = i;
            return 1;
        }
    return 0;
}

/* The slot of a track id, creating one (reusing the least recently seen slot
 * when all are taken). */
static hand_slot *slot_for(nail_track *t, int track_id)
{
    hand_slot *free_slot = NULL, *oldest = NULL;
    for (int i = 0; i < NAIL_TRACK_MAX_HANDS; i++) {
        hand_slot *s = &t->hand[i];
        if (s->used && s->track_id == track_id)
            return s;
        if (!s->used && !free_slot)
            free_slot = s;
        if (s->used && (!oldest || s->last_frame < oldest->last_frame))
            oldest = s;
    }
    hand_slot *s = free_slot ? free_slot : oldest;
    memset(s, 0, sizeof *s);
    s->used = 1;
    s->track_id = track_id;
    return s;
}

static float wrap_near(float a, float ref)
{
    while (a - ref > PI_F)
        a -= 2.0f * PI_F;
    while (a - ref < -PI_F)
        a += 2.0f * PI_F;
    return a;
}

static float clamp_abs(float x, float m)
{
    return x < -m ? -m : x > m ? m : x;
}

/* One measurement g of a nail; pred is the landmark-only nail of the same
 * finger on this frame (NULL if unknown). The outline is split into the
 * prediction, which follows the hand, and the outline's offset from it in
 * the nail's own frame, which is a property of this nail and the landmark
 * model's bias: it changes slowly, so it can be smoothed hard without making
 * the painted nail trail a moving hand. */
static void measure(nail_track *t, nail_state *st, int64_t ts, const nail_geom *g,
                    const nail_geom *pred)
{
    const nail_track_opts *o = &t->o;
    float ang = atan2f(g->ay, g->ax);
    if (!st->active) {
        memset(st, 0, sizeof *st);
        lq_one_euro_reset(&st->fang);
        lq_one_euro_reset(&st->fw);
        lq_one_euro_reset(&st->fl);
        lq_one_euro_reset(&st->fdu);
        lq_one_euro_reset(&st->fdv);
        lq_one_euro_reset(&st->frw);
        lq_one_euro_reset(&st->frl);
        st->active = 1;
        st->angle = ang;
    }
    ang = wrap_near(ang, st->angle);
    float an = sqrtf(g->ax * g->ax + g->ay * g->ay);
    float ax = g->ax / an, ay = g->ay / an;
    float pcx, pcy, pw, pl;
    if (pred && pred->width > 0.0f && pred->length > 0.0f) {
        pcx = pred->cx;
        pcy = pred->cy;
        pw = pred->width;
        pl = pred->length;
        float ex = g->cx - pcx, ey = g->cy - pcy;
        float du = clamp_abs((ex * ax + ey * ay) / pl, 2.0f);
        float dv = clamp_abs((-ex * ay + ey * ax) / pw, 2.0f);
        float rw = clamp_abs(logf(g->width / pw), 2.0f);
        float rl = clamp_abs(logf(g->length / pl), 2.0f);
        st->du = lq_one_euro_apply(&st->fdu, &o->offset, ts, du, 1.0f);
        st->dv = lq_one_euro_apply(&st->fdv, &o->offset, ts, dv, 1.0f);
        st->rw = lq_one_euro_apply(&st->frw, &o->offset, ts, rw, 1.0f);
        st->rl = lq_one_euro_apply(&st->frl, &o->offset, ts, rl, 1.0f);
    } else {
        /* no prediction: keep the offsets learnt so far and take the
         * prediction as the measurement without them */
        pw = g->width / expf(st->rw);
        pl = g->length / expf(st->rl);
        pcx = g->cx - st->du * pl * ax + st->dv * pw * ay;
        pcy = g->cy - st->du * pl * ay - st->dv * pw * ax;
    }
    float len_scale = 1.0f / (pl > 1.0f ? pl : 1.0f);
    nail_geom s = *g;
    float x = pcx, y = pcy;
    euro2_apply(&st->fc, &o->centre, o->still_speed, ts, &x, &y, len_scale);
    st->angle = lq_one_euro_apply(&st->fang, &o->angle, ts, ang, 1.0f);
    s.ax = cosf(st->angle);
    s.ay = sinf(st->angle);
    float w = lq_one_euro_apply(&st->fw, &o->shape, ts, pw, len_scale);
    float l = lq_one_euro_apply(&st->fl, &o->shape, ts, pl, len_scale);
    s.width = w * expf(st->rw);
    s.length = l * expf(st->rl);
    s.cx = x + st->du * l * s.ax - st->dv * w * s.ay;
    s.cy = y + st->du * l * s.ay + st->dv * w * s.ax;
    s.visible = 1;
    st->last = s;
    st->missing = 0;
    st->shown = st->shown ? g->facing >= o->hide_facing : g->facing >= o->show_facing;
}

/* The landmark-only nails of every hand (visible or not), to split each
 * measured outline into prediction and offset. */
static int predictions(const lq_hands *hands, nail_geom *pred, int cap)
{
    if (!hands)
        return 0;
    nail_locate_opts lo = NAIL_LOCATE_OPTS_DEFAULT;
    lo.refine = 0;
    lo.min_facing = 0.0f;
    lo.min_presence = 0.0f;
    lo.min_size_px = 0.0f;
    int np = 0;
    if (nail_geom_from_hands(hands, &lo, pred, cap, &np) < 0)
        return 0;
    return np;
}

static const nail_geom *prediction_of(const nail_geom *pred, int np, const nail_geom *g)
{
    for (int i = 0; i < np; i++)
        if (pred[i].track_id == g->track_id && pred[i].finger == g->finger)
            return &pred[i];
    return NULL;
}

int nail_track_update(nail_track *t, int64_t timestamp_us, const lq_hands *hands,
                      const nail_geom *in, int n, nail_geom *out, int cap, int *nout)
{
    if (!t || !nout || n < 0 || cap < 0 || (n > 0 && !in) || (cap > 0 && !out))
        return LQ_EINVAL;
    if (t->frame > 0 && timestamp_us <= t->last_us)
        nail_track_reset(t);
    t->frame++;
    t->last_us = timestamp_us;

    /* track loss: a hand that is gone takes its nails with it */
    for (int i = 0; i < NAIL_TRACK_MAX_HANDS; i++)
        if (t->hand[i].used && !hand_alive(hands, t->hand[i].track_id, NULL))
            memset(&t->hand[i], 0, sizeof t->hand[i]);

    nail_geom pred[NAIL_MAX];
    int np = predictions(hands, pred, NAIL_MAX);
    unsigned seen[NAIL_TRACK_MAX_HANDS] = {0};
    for (int k = 0; k < n; k++) {
        const nail_geom *g = &in[k];
        if (!nail_usable(g) || !hand_alive(hands, g->track_id, NULL))
            continue;
        hand_slot *s = slot_for(t, g->track_id);
        int si = (int)(s - t->hand);
        if (seen[si] & (1u << g->finger))
            continue; /* a duplicate key: the first one wins */
        seen[si] |= 1u << g->finger;
        s->last_frame = t->frame;
        measure(t, &s->nail[g->finger], timestamp_us, g, prediction_of(pred, np, g));
    }

    int count = 0;
    for (int i = 0; i < NAIL_TRACK_MAX_HANDS; i++) {
        hand_slot *s = &t->hand[i];
        if (!s->used)
            continue;
        int index = -1;
        hand_alive(hands, s->track_id, &index);
        for (int f = 0; f < 5; f++) {
            nail_state *st = &s->nail[f];
            if (!st->active)
                continue;
            if (!(seen[i] & (1u << f))) {
                st->missing++;
                if (st->missing > t->o.keep_frames) {
                    st->active = 0;
                    st->shown = 0;
                    continue;
                }
                if (st->missing > t->o.hold_frames)
                    st->shown = 0;
            }
            if (!st->shown || count >= cap)
                continue;
            out[count] = st->last;
            if (index >= 0)
                out[count].hand = index;
            count++;
        }
    }
    *nout = count;
    return 0;
}
