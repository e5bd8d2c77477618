/* segment_fuse.c - landmark nails + segmentation blobs, and the smoother of
 * nails found by segmentation alone. */
#include "nails/segment_fuse.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

#define TAG "nailseg"
#define PI_F 3.14159265358979f

int nail_seg_fuse_opts_validate(const nail_seg_fuse_opts *o)
{
    const char *bad = NULL;
    if (!o)
        bad = "opts";
    else if (!(o->match_dist > 0.0f && o->match_dist <= 5.0f))
        bad = "match_dist (0..5)";
    else if (!(o->min_area_ratio >= 0.0f && o->min_area_ratio <= 1.0f))
        bad = "min_area_ratio (0..1)";
    else if (!(o->max_area_ratio >= 1.0f && o->max_area_ratio <= 100.0f))
        bad = "max_area_ratio (1..100)";
    else if (!(o->max_axis_deg >= 0.0f && o->max_axis_deg <= 90.0f))
        bad = "max_axis_deg (0..90)";
    else if (!(o->min_orphan_conf >= 0.0f && o->min_orphan_conf <= 1.0f))
        bad = "min_orphan_conf (0..1)";
    else if (o->orphans != 0 && o->orphans != 1)
        bad = "orphans (0 or 1)";
    else if (!(o->min_overlap >= 0.0f && o->min_overlap <= 1.0f))
        bad = "min_overlap (0..1)";
    else if (!(o->max_orphan_elongation >= 1.0f && o->max_orphan_elongation <= 100.0f))
        bad = "max_orphan_elongation (1..100)";
    else if (!(o->blob_weight >= 0.0f && o->blob_weight <= 1.0f))
        bad = "blob_weight (0..1)";
    else if (o->far_orphans != 0 && o->far_orphans != 1)
        bad = "far_orphans (0 or 1)";
    else if (o->tip_orphans != 0 && o->tip_orphans != 1)
        bad = "tip_orphans (0 or 1)";
    else if (!(o->min_orphan_conf_hand >= 0.0f && o->min_orphan_conf_hand <= 1.0f))
        bad = "min_orphan_conf_hand (0..1)";
    else if (o->distrust_min_blobs < 0 || o->distrust_min_blobs > NAIL_SEG_MAX_BLOBS)
        bad = "distrust_min_blobs (0..16)";
    if (!bad)
        return 0;
    LQ_WARN(TAG, "invalid fusion option: %s", bad);
    return LQ_EINVAL;
}

static int finite_point(const lq_point3 *p)
{
    return isfinite(p->x) && isfinite(p->y) && fabsf(p->x) < NAIL_MAX_COORD &&
           fabsf(p->y) < NAIL_MAX_COORD;
}

/* Rule 1: the fingertip nearest to the blob's centre, within match_dist x its
 * distal segment. Sets *hand_i and *finger; returns 0 if none. */
static int nearest_fingertip(const lq_hands *hands, const nail_seg_blob *b, float match_dist,
                             int *hand_i, int *finger, float *dx, float *dy)
{
    float best = INFINITY;
    int found = 0;
    for (int h = 0; hands && h < hands->count && h < LQ_HAND_MAX; h++) {
        const lq_hand *hd = &hands->hand[h];
        if (!isfinite(hd->presence))
            continue;
        for (int f = 0; f < 5; f++) {
            const lq_point3 *tip = &hd->lm[4 + 4 * f], *dip = &hd->lm[3 + 4 * f];
            if (!finite_point(tip) || !finite_point(dip))
                continue;
            float sx = tip->x - dip->x, sy = tip->y - dip->y;
            float seg = sqrtf(sx * sx + sy * sy);
            if (!(seg > 1.0f))
                continue;
            float d = hypotf(b->cx - tip->x, b->cy - tip->y) / seg;
            if (d <= match_dist && d < best) {
                best = d;
                *hand_i = h;
                *finger = f;
                *dx = sx / seg;
                *dy = sy / seg;
                found = 1;
            }
        }
    }
    return found;
}

static float plate_area(const nail_geom *g)
{
    /* the rounded plate's area is between the ellipse's and the rectangle's */
    return 0.85f * g->width * g->length;
}

/* Overlap (intersection over union) of two nail outlines, sampled on a
 * 16 x 16 grid over the box of both. */
static float outline_iou(const nail_geom *a, const nail_geom *b)
{
    float ra = 0.5f * fmaxf(a->length, a->width), rb = 0.5f * fmaxf(b->length, b->width);
    float x0 = fminf(a->cx - ra, b->cx - rb), x1 = fmaxf(a->cx + ra, b->cx + rb);
    float y0 = fminf(a->cy - ra, b->cy - rb), y1 = fmaxf(a->cy + ra, b->cy + rb);
    enum { N = 16 };
    int both = 0, any = 0;
    for (int j = 0; j < N; j++)
        for (int i = 0; i < N; i++) {
            float x = x0 + (x1 - x0) * ((float)i + 0.5f) / N;
            float y = y0 + (y1 - y0) * ((float)j + 0.5f) / N;
            int ia = nail_geom_sdf(a, x, y) <= 0.0f, ib = nail_geom_sdf(b, x, y) <= 0.0f;
            both += ia && ib;
            any += ia || ib;
        }
    return any ? (float)both / (float)any : 0.0f;
}

/* Step 2's checks: may this blob take over this landmark nail's outline?
 * Near enough, of a plausible size, and overlapping it. */
static int blob_fits(const nail_geom *g, const nail_seg_blob *b, const nail_seg_fuse_opts *o,
                     float *cost)
{
    float L = fmaxf(g->length, g->width);
    if (!(L > 0.0f))
        return 0;
    float d = hypotf(b->cx - g->cx, b->cy - g->cy) / L;
    float ratio = b->area / fmaxf(plate_area(g), 1.0f);
    if (d > o->match_dist || ratio < o->min_area_ratio || ratio > o->max_area_ratio)
        return 0;
    nail_geom bg;
    nail_seg_blob_to_geom(b, &bg);
    float iou = outline_iou(g, &bg);
    if (iou < o->min_overlap)
        return 0;
    *cost = 1.0f - iou;
    return 1;
}

/* The blob's outline as a nail on the landmark nail's axis (see take_blob). */
static void blob_outline(nail_geom *g, const nail_seg_blob *b, const nail_seg_fuse_opts *o)
{
    float ax = b->ax, ay = b->ay;
    float dot = ax * g->ax + ay * g->ay;
    if (dot < 0.0f) {
        ax = -ax;
        ay = -ay;
        dot = -dot;
    }
    int use_axis = b->elongation >= 1.15f && dot >= cosf(o->max_axis_deg * PI_F / 180.0f);
    g->cx = b->cx;
    g->cy = b->cy;
    if (use_axis) {
        g->ax = ax;
        g->ay = ay;
        g->width = b->width;
        g->length = b->length;
    } else {
        /* the blob's extent measured along the landmark axis: same area,
         * the blob's aspect when the axes roughly agree, else round */
        float k = dot >= 0.7f ? b->length / fmaxf(b->width, 1e-3f) : 1.0f;
        float s = sqrtf(b->length * b->width / fmaxf(k, 1e-3f));
        g->width = s;
        g->length = s * k;
    }
    nail_geom tmp;
    nail_seg_blob_to_geom(b, &tmp);
    g->cuticle_round = tmp.cuticle_round;
    g->tip_round = tmp.tip_round;
}

/* Moves the landmark nail toward the blob's outline by w = blob_weight x
 * (how far the blob's confidence is above 0.5, saturating at 0.9): centre
 * and roundness linearly, sizes geometrically, the axis by its angle. Two
 * estimates with independent errors average out; a weak blob moves the
 * nail little. */
static void take_blob(nail_geom *g, const nail_seg_blob *b, const nail_seg_fuse_opts *o)
{
    nail_geom t = *g;
    blob_outline(&t, b, o);
    float w = o->blob_weight * fminf(fmaxf((b->confidence - 0.5f) / 0.4f, 0.0f), 1.0f);
    g->cx += w * (t.cx - g->cx);
    g->cy += w * (t.cy - g->cy);
    g->width *= powf(t.width / g->width, w);
    g->length *= powf(t.length / g->length, w);
    float ax = g->ax + w * (t.ax - g->ax), ay = g->ay + w * (t.ay - g->ay);
    float n = hypotf(ax, ay);
    if (n > 1e-3f) {
        g->ax = ax / n;
        g->ay = ay / n;
    }
    g->cuticle_round += w * (t.cuticle_round - g->cuticle_round);
    g->tip_round += w * (t.tip_round - g->tip_round);
    g->confidence = 0.5f * (g->confidence + b->confidence);
    g->fit = b->confidence;
}

/* Rule 5: no landmark nail took a blob, yet enough blobs look like
 * confident nail plates. */
static int landmarks_miss_nails(const int *matched_lm, int nlm, const nail_seg_blob *blobs, int nb,
                                const nail_seg_fuse_opts *o)
{
    if (o->distrust_min_blobs <= 0)
        return 0;
    for (int i = 0; i < nlm; i++)
        if (matched_lm[i])
            return 0;
    int strong = 0;
    for (int j = 0; j < nb; j++)
        strong += blobs[j].confidence >= o->min_orphan_conf_hand &&
                  blobs[j].length <= o->max_orphan_elongation * blobs[j].width;
    return strong >= o->distrust_min_blobs;
}

int nail_seg_fuse(const nail_geom *lm, int nlm, nail_seg_blob *blobs, int nb,
                  const lq_hands *hands, const nail_seg_fuse_opts *o, nail_geom *out, int cap,
                  int *nout, int *nhand)
{
    if (!nout || !nhand || nlm < 0 || nb < 0 || cap < 0 || (nlm > 0 && !lm) ||
        (nb > 0 && !blobs) || (cap > 0 && !out) || nb > NAIL_SEG_MAX_BLOBS || nlm > NAIL_MAX)
        return LQ_EINVAL;
    if (nail_seg_fuse_opts_validate(o) < 0)
        return LQ_EINVAL;
    int tip_hand[NAIL_SEG_MAX_BLOBS], tip_finger[NAIL_SEG_MAX_BLOBS];
    for (int i = 0; i < nb; i++) {
        float dx, dy;
        tip_hand[i] = tip_finger[i] = -1;
        if (nearest_fingertip(hands, &blobs[i], o->match_dist, &tip_hand[i], &tip_finger[i], &dx,
                              &dy)) {
            if (blobs[i].ax * dx + blobs[i].ay * dy < 0.0f) {
                blobs[i].ax = -blobs[i].ax;
                blobs[i].ay = -blobs[i].ay;
            }
            blobs[i].dir_source = NAIL_SEG_DIR_LANDMARKS;
        }
    }
    /* step 2: closest pairs first */
    int n = 0, used[NAIL_SEG_MAX_BLOBS] = {0};
    int nkeep = nlm < cap ? nlm : cap;
    for (int i = 0; i < nkeep; i++)
        out[n++] = lm[i];
    int matched_lm[NAIL_MAX] = {0};
    for (;;) {
        float best = INFINITY;
        int bi = -1, bj = -1;
        for (int i = 0; i < nkeep; i++) {
            if (matched_lm[i] || !out[i].visible)
                continue;
            for (int j = 0; j < nb; j++) {
                float c;
                if (!used[j] && blob_fits(&out[i], &blobs[j], o, &c) && c < best) {
                    best = c;
                    bi = i;
                    bj = j;
                }
            }
        }
        if (bi < 0)
            break;
        matched_lm[bi] = 1;
        used[bj] = 1;
        take_blob(&out[bi], &blobs[bj], o);
    }
    int tracked = hands && hands->count > 0;
    if (tracked && landmarks_miss_nails(matched_lm, nkeep, blobs, nb, o)) {
        /* rule 5: the blobs decide, as in a frame without a hand */
        for (int i = 0; i < nkeep; i++)
            out[i].visible = 0;
        tracked = 0;
        for (int j = 0; j < nb; j++)
            tip_hand[j] = tip_finger[j] = -1;
    }
    /* step 4: orphans at fingertips stay with their hand... */
    for (int pass = 0; pass < 2; pass++) {
        for (int j = 0; j < nb && o->orphans; j++) {
            if (used[j] || blobs[j].confidence < o->min_orphan_conf ||
                blobs[j].length > o->max_orphan_elongation * blobs[j].width)
                continue;
            int at_tip = tip_hand[j] >= 0;
            if ((pass == 0) != at_tip || (at_tip && !o->tip_orphans))
                continue;
            if (tracked && (blobs[j].confidence < o->min_orphan_conf_hand ||
                            (!at_tip && !o->far_orphans)))
                continue;
            if (at_tip) {
                /* a landmark nail of this finger that took no blob is the same nail */
                int dup = 0;
                for (int i = 0; i < nkeep && !dup; i++)
                    dup = out[i].hand == tip_hand[j] && out[i].finger == tip_finger[j] &&
                          out[i].visible;
                if (dup)
                    continue;
            }
            if (n == cap)
                break;
            nail_geom *g = &out[n++];
            nail_seg_blob_to_geom(&blobs[j], g);
            if (at_tip) {
                g->hand = tip_hand[j];
                g->track_id = hands->hand[tip_hand[j]].track_id;
                g->finger = tip_finger[j];
            }
            used[j] = 1;
        }
        if (pass == 0)
            *nhand = n;
    }
    *nout = n;
    return 0;
}

int nail_seg_hands_region(const lq_hands *hands, int frame_w, int frame_h, int box[4])
{
    float x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
    for (int h = 0; hands && h < hands->count && h < LQ_HAND_MAX; h++)
        for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
            const lq_point3 *p = &hands->hand[h].lm[i];
            if (!finite_point(p))
                continue;
            x0 = fminf(x0, p->x);
            y0 = fminf(y0, p->y);
            x1 = fmaxf(x1, p->x);
            y1 = fmaxf(y1, p->y);
        }
    if (!(x1 >= x0 && y1 >= y0) || frame_w < 32 || frame_h < 32)
        return 0;
    float g = 0.25f * fmaxf(x1 - x0, y1 - y0);
    int bx0 = (int)fmaxf(0.0f, floorf(x0 - g)), by0 = (int)fmaxf(0.0f, floorf(y0 - g));
    int bx1 = (int)fminf((float)frame_w, ceilf(x1 + g));
    int by1 = (int)fminf((float)frame_h, ceilf(y1 + g));
    if (bx1 - bx0 < 32) {
        bx0 = bx0 + 32 > frame_w ? frame_w - 32 : bx0;
        bx1 = bx0 + 32;
    }
    if (by1 - by0 < 32) {
        by0 = by0 + 32 > frame_h ? frame_h - 32 : by0;
        by1 = by0 + 32;
    }
    if (bx0 >= frame_w || by0 >= frame_h || bx1 <= 0 || by1 <= 0)
        return 0;
    box[0] = bx0;
    box[1] = by0;
    box[2] = bx1 - bx0;
    box[3] = by1 - by0;
    return 1;
}

/* ---- fusion memory ------------------------------------------------------ */

#define MEM_SLOTS 32
#define MEM_FORGET 30

typedef struct mem_slot {
    int used, track_id, finger, age;
    float du, dv, lw, ll, da, dcr, dtr;
} mem_slot;

struct nail_seg_fuse_memory {
    mem_slot slot[MEM_SLOTS];
};

int nail_seg_fuse_memory_create(nail_seg_fuse_memory **out)
{
    if (!out)
        return LQ_EINVAL;
    nail_seg_fuse_memory *m = calloc(1, sizeof *m);
    if (!m)
        return LQ_ENOMEM;
    *out = m;
    return 0;
}

void nail_seg_fuse_memory_destroy(nail_seg_fuse_memory *m)
{
    free(m);
}

void nail_seg_fuse_memory_reset(nail_seg_fuse_memory *m)
{
    if (m)
        memset(m, 0, sizeof *m);
}

static mem_slot *mem_find(nail_seg_fuse_memory *m, int track_id, int finger)
{
    mem_slot *free_slot = NULL, *oldest = &m->slot[0];
    for (int i = 0; i < MEM_SLOTS; i++) {
        mem_slot *sl = &m->slot[i];
        if (sl->used && sl->track_id == track_id && sl->finger == finger)
            return sl;
        if (!sl->used && !free_slot)
            free_slot = sl;
        if (sl->age > oldest->age)
            oldest = sl;
    }
    mem_slot *sl = free_slot ? free_slot : oldest;
    memset(sl, 0, sizeof *sl);
    sl->used = 1;
    sl->track_id = track_id;
    sl->finger = finger;
    return sl;
}

static int geom_usable(const nail_geom *g)
{
    return isfinite(g->cx) && isfinite(g->cy) && isfinite(g->ax) && isfinite(g->ay) &&
           g->width > 0.5f && g->length > 0.5f && isfinite(g->width) && isfinite(g->length);
}

void nail_seg_fuse_memory_apply(nail_seg_fuse_memory *m, const nail_geom *lm, nail_geom *fused,
                                int n)
{
    if (!m || !lm || !fused || n <= 0)
        return;
    for (int i = 0; i < MEM_SLOTS; i++)
        if (m->slot[i].used && ++m->slot[i].age > MEM_FORGET)
            m->slot[i].used = 0;
    for (int i = 0; i < n; i++) {
        const nail_geom *l = &lm[i];
        nail_geom *f = &fused[i];
        if (l->finger < 0 || l->finger > 4 || !geom_usable(l) || !geom_usable(f))
            continue;
        mem_slot *sl = mem_find(m, l->track_id, l->finger);
        sl->age = 0;
        float nx = -l->ay, ny = l->ax;
        if (memcmp(l, f, sizeof *l) != 0 && f->visible) {
            /* this frame's correction, followed (a nail hidden by rule 5 took no blob) */
            float dx = f->cx - l->cx, dy = f->cy - l->cy, k = NAIL_SEG_FUSE_MEMORY_FOLLOW;
            float du = (dx * l->ax + dy * l->ay) / l->length;
            float dv = (dx * nx + dy * ny) / l->length;
            float da = atan2f(l->ax * f->ay - l->ay * f->ax, l->ax * f->ax + l->ay * f->ay);
            sl->du += k * (du - sl->du);
            sl->dv += k * (dv - sl->dv);
            sl->lw += k * (logf(f->width / l->width) - sl->lw);
            sl->ll += k * (logf(f->length / l->length) - sl->ll);
            sl->da += k * (da - sl->da);
            sl->dcr += k * (f->cuticle_round - l->cuticle_round - sl->dcr);
            sl->dtr += k * (f->tip_round - l->tip_round - sl->dtr);
        } else {
            const float d = NAIL_SEG_FUSE_MEMORY_DECAY;
            sl->du *= d;
            sl->dv *= d;
            sl->lw *= d;
            sl->ll *= d;
            sl->da *= d;
            sl->dcr *= d;
            sl->dtr *= d;
        }
        float conf = f->confidence, fit = f->fit;
        int visible = f->visible; /* rule 5 may have hidden it */
        *f = *l;
        f->visible = visible;
        f->cx = l->cx + (sl->du * l->ax + sl->dv * nx) * l->length;
        f->cy = l->cy + (sl->du * l->ay + sl->dv * ny) * l->length;
        f->width = l->width * expf(sl->lw);
        f->length = l->length * expf(sl->ll);
        float c = cosf(sl->da), sn = sinf(sl->da);
        f->ax = l->ax * c - l->ay * sn;
        f->ay = l->ax * sn + l->ay * c;
        f->cuticle_round = fminf(fmaxf(l->cuticle_round + sl->dcr, 0.0f), 1.0f);
        f->tip_round = fminf(fmaxf(l->tip_round + sl->dtr, 0.0f), 1.0f);
        f->confidence = conf;
        f->fit = fit;
    }
}

/* ---- smoothing of nails found by segmentation alone --------------------- */

typedef struct seg_slot {
    int live;
    int id;
    int missed;            /* frames since last seen */
    nail_geom g;           /* last smoothed */
    float angle;           /* unwrapped, radians */
    lq_one_euro fx, fy, fa, fw, fl;
} seg_slot;

struct nail_seg_track {
    seg_slot slot[NAIL_SEG_TRACK_MAX];
    int next_id;
    int64_t last_us;
    int primed;
};

static const lq_one_euro_params CENTRE = {0.6f, 1.5f, 1.0f};
static const lq_one_euro_params SHAPE = {0.3f, 0.5f, 1.0f};
static const lq_one_euro_params ANGLE = {0.6f, 1.5f, 1.0f};
#define HOLD_FRAMES 2

int nail_seg_track_create(nail_seg_track **out)
{
    if (!out)
        return LQ_EINVAL;
    nail_seg_track *t = calloc(1, sizeof *t);
    if (!t)
        return LQ_ENOMEM;
    *out = t;
    return 0;
}

void nail_seg_track_destroy(nail_seg_track *t)
{
    free(t);
}

void nail_seg_track_reset(nail_seg_track *t)
{
    if (!t)
        return;
    int id = t->next_id;
    memset(t, 0, sizeof *t);
    t->next_id = id; /* ids stay unique over resets */
}

static int geom_ok(const nail_geom *g)
{
    return isfinite(g->cx) && isfinite(g->cy) && isfinite(g->ax) && isfinite(g->ay) &&
           isfinite(g->width) && isfinite(g->length) && g->width > 0.0f && g->length > 0.0f;
}

static void slot_start(nail_seg_track *t, seg_slot *s, const nail_geom *g, int64_t ts)
{
    memset(s, 0, sizeof *s);
    s->live = 1;
    s->id = t->next_id++ & (NAIL_SEG_TRACK_ID_BASE - 1);
    s->g = *g;
    s->angle = atan2f(g->ay, g->ax);
    lq_one_euro_reset(&s->fx);
    lq_one_euro_reset(&s->fy);
    lq_one_euro_reset(&s->fa);
    lq_one_euro_reset(&s->fw);
    lq_one_euro_reset(&s->fl);
    float scale = 1.0f / fmaxf(g->length, 1.0f);
    (void)lq_one_euro_apply(&s->fx, &CENTRE, ts, g->cx, scale);
    (void)lq_one_euro_apply(&s->fy, &CENTRE, ts, g->cy, scale);
    (void)lq_one_euro_apply(&s->fa, &ANGLE, ts, s->angle, 1.0f);
    (void)lq_one_euro_apply(&s->fw, &SHAPE, ts, g->width, scale);
    (void)lq_one_euro_apply(&s->fl, &SHAPE, ts, g->length, scale);
    s->g.track_id = NAIL_SEG_TRACK_ID_BASE + s->id;
}

static void slot_update(seg_slot *s, const nail_geom *g, int64_t ts)
{
    /* keep the axis sign of the track; unwrap the angle */
    float ax = g->ax, ay = g->ay;
    if (ax * s->g.ax + ay * s->g.ay < 0.0f) {
        ax = -ax;
        ay = -ay;
    }
    float a = atan2f(ay, ax);
    while (a - s->angle > PI_F)
        a -= 2.0f * PI_F;
    while (a - s->angle < -PI_F)
        a += 2.0f * PI_F;
    float scale = 1.0f / fmaxf(s->g.length, 1.0f);
    nail_geom n = *g;
    n.cx = lq_one_euro_apply(&s->fx, &CENTRE, ts, g->cx, scale);
    n.cy = lq_one_euro_apply(&s->fy, &CENTRE, ts, g->cy, scale);
    s->angle = lq_one_euro_apply(&s->fa, &ANGLE, ts, a, 1.0f);
    n.ax = cosf(s->angle);
    n.ay = sinf(s->angle);
    n.width = lq_one_euro_apply(&s->fw, &SHAPE, ts, g->width, scale);
    n.length = lq_one_euro_apply(&s->fl, &SHAPE, ts, g->length, scale);
    n.track_id = s->g.track_id;
    s->g = n;
    s->missed = 0;
}

int nail_seg_track_update(nail_seg_track *t, int64_t timestamp_us, const nail_geom *in, int n,
                          nail_geom *out, int cap, int *nout)
{
    if (!t || !nout || n < 0 || cap < 0 || (n > 0 && !in) || (cap > 0 && !out))
        return LQ_EINVAL;
    if (t->primed && timestamp_us <= t->last_us)
        nail_seg_track_reset(t);
    t->primed = 1;
    t->last_us = timestamp_us;
    int taken[NAIL_SEG_TRACK_MAX] = {0};
    int m = n < NAIL_SEG_TRACK_MAX ? n : NAIL_SEG_TRACK_MAX;
    int assigned[NAIL_SEG_TRACK_MAX];
    for (int i = 0; i < m; i++)
        assigned[i] = -1;
    /* closest pairs first */
    for (;;) {
        float best = INFINITY;
        int bi = -1, bs = -1;
        for (int i = 0; i < m; i++) {
            if (assigned[i] >= 0 || !geom_ok(&in[i]))
                continue;
            for (int k = 0; k < NAIL_SEG_TRACK_MAX; k++) {
                const seg_slot *s = &t->slot[k];
                if (!s->live || taken[k])
                    continue;
                float d = hypotf(in[i].cx - s->g.cx, in[i].cy - s->g.cy);
                if (d <= 0.6f * fmaxf(s->g.length, s->g.width) && d < best) {
                    best = d;
                    bi = i;
                    bs = k;
                }
            }
        }
        if (bi < 0)
            break;
        assigned[bi] = bs;
        taken[bs] = 1;
        slot_update(&t->slot[bs], &in[bi], timestamp_us);
    }
    for (int k = 0; k < NAIL_SEG_TRACK_MAX; k++)
        if (t->slot[k].live && !taken[k] && ++t->slot[k].missed > HOLD_FRAMES)
            t->slot[k].live = 0;
    for (int i = 0; i < m; i++) {
        if (assigned[i] >= 0 || !geom_ok(&in[i]))
            continue;
        for (int k = 0; k < NAIL_SEG_TRACK_MAX; k++)
            if (!t->slot[k].live) {
                slot_start(t, &t->slot[k], &in[i], timestamp_us);
                taken[k] = 1;
                break;
            }
    }
    int w = 0;
    for (int k = 0; k < NAIL_SEG_TRACK_MAX && w < cap; k++)
        if (t->slot[k].live)
            out[w++] = t->slot[k].g;
    *nout = w;
    return 0;
}
