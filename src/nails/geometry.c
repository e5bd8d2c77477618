/* geometry.c - nail frames from hand landmarks; the natural outline as a shape. */
#include "nails/geometry.h"

#include <math.h>
#include <string.h>

#include "base/log.h"
#include "nails/refine.h"

/*
 * Proportions of the natural plate, as fractions of the distal phalanx's 3-D
 * length (DIP->TIP, thumb IP->TIP). Measured on the 18 photos of
 * shared/data/nails that MediaPipe finds hands on (masks against reference
 * landmarks; medians over the dorsal views, 56 fingers and 14 thumbs):
 * plate length 0.65 (quartiles 0.57-0.74), width 0.52 (0.46-0.56), centre
 * 0.05 behind the TIP landmark (-0.12..0.00). The thumb's plate is shorter
 * relative to its phalanx (0.56) and as wide when seen face-on (~0.46).
 */
typedef struct finger_model {
    float len;        /* plate length / phalanx length */
    float wid;        /* plate width / phalanx length */
    float off;        /* centre offset from TIP along the phalanx / phalanx length */
    float lift;       /* centre offset along the plate normal (dorsal surface vs joint axis) */
} finger_model;

static const finger_model FINGER = {0.66f, 0.54f, -0.06f, 0.0f};
static const finger_model THUMB = {0.60f, 0.50f, -0.08f, 0.15f};

/* The thumb's plate normal in a relaxed hand: this many radians from the back
 * of the hand toward the radial side (a flat dorsal hand shows the thumb nail
 * obliquely: its apparent width there is ~0.3 of its face-on width). On the
 * annotated photos 0.8 to 1.4 rad score within 0.02 IoU; 1.1 rather than 0.8
 * because a thumb painted too wide shows more than one painted too narrow
 * (same mean IoU, 0.263; precision 0.813 -> 0.826, recall 0.200 -> 0.196). */
#define THUMB_RADIAL_TILT 1.1f
/* Sine of the thumb's bend (metacarpal vs distal phalanx) from which its own
 * bending plane starts to define the plate normal; fully at twice this. */
#define THUMB_BEND_MIN 0.2f

/* Default outline rounding (the annotated plates are close to rounded ovals). */
#define NAIL_CUTICLE_ROUND 0.9f
#define NAIL_TIP_ROUND 0.9f

/* facing at which confidence saturates */
#define FACING_FULL 0.6f

typedef struct v3 {
    float x, y, z;
} v3;

static v3 v3_of(lq_point3 p)
{
    return (v3){p.x, p.y, p.z};
}

static v3 v3_sub(v3 a, v3 b)
{
    return (v3){a.x - b.x, a.y - b.y, a.z - b.z};
}

static v3 v3_add_scaled(v3 a, v3 b, float s)
{
    return (v3){a.x + s * b.x, a.y + s * b.y, a.z + s * b.z};
}

static v3 v3_scale(v3 a, float s)
{
    return (v3){a.x * s, a.y * s, a.z * s};
}

static float v3_dot(v3 a, v3 b)
{
    return a.x * b.x + a.y * b.y + a.z * b.z;
}

static v3 v3_cross(v3 a, v3 b)
{
    return (v3){a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
}

static float v3_len(v3 a)
{
    return sqrtf(v3_dot(a, a));
}

/* Normalizes in place; returns 0 if the vector is too short to have a direction. */
static int v3_normalize(v3 *a, float min_len)
{
    float l = v3_len(*a);
    if (!(l > min_len))
        return 0;
    *a = v3_scale(*a, 1.0f / l);
    return 1;
}

static int point_ok(lq_point3 p)
{
    return isfinite(p.x) && isfinite(p.y) && isfinite(p.z) && fabsf(p.x) <= NAIL_MAX_COORD &&
           fabsf(p.y) <= NAIL_MAX_COORD && fabsf(p.z) <= NAIL_MAX_COORD;
}

static float clampf(float x, float lo, float hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

int nail_locate_opts_validate(const nail_locate_opts *o)
{
    if (!o)
        return LQ_EINVAL;
    if (o->refine != 0 && o->refine != 1) {
        LQ_WARN("nails", "nail_locate_opts.refine must be 0 or 1 (got %d)", o->refine);
        return LQ_EINVAL;
    }
    if (!(o->min_facing >= 0.0f && o->min_facing <= 1.0f)) {
        LQ_WARN("nails", "nail_locate_opts.min_facing must be in [0,1]");
        return LQ_EINVAL;
    }
    if (!(o->min_presence >= 0.0f && o->min_presence <= 1.0f)) {
        LQ_WARN("nails", "nail_locate_opts.min_presence must be in [0,1]");
        return LQ_EINVAL;
    }
    if (!(o->min_size_px >= 0.0f && o->min_size_px <= 1000.0f)) {
        LQ_WARN("nails", "nail_locate_opts.min_size_px must be in [0,1000]");
        return LQ_EINVAL;
    }
    return 0;
}

/* What one hand contributes to every finger: its orientation in 3-D. */
typedef struct hand_frame {
    v3 dorsal;     /* unit normal out of the back of the hand */
    v3 lateral;    /* unit flexion axis, index MCP -> pinky MCP */
    float side;    /* +1 if (index - wrist) x (pinky - wrist) is the dorsal side */
    v3 thumb_meta; /* unit direction CMC -> MCP of the thumb */
} hand_frame;

static int hand_frame_of(const lq_hand *h, const lq_point3 *lm, hand_frame *hf)
{
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++)
        if (!point_ok(lm[i]))
            return 0;
    v3 w = v3_of(lm[LQ_LM_WRIST]);
    v3 im = v3_of(lm[LQ_LM_INDEX_MCP]);
    v3 pm = v3_of(lm[LQ_LM_PINKY_MCP]);
    /* Image axes x right, y down, z away from the camera form a right-handed
     * frame. For MediaPipe's "Right" (the subject's left hand on an unmirrored
     * frame) seen from the back, (index - wrist) x (pinky - wrist) points at
     * the camera, i.e. out of the back of the hand. */
    hf->side = h->handedness == LQ_HAND_RIGHT ? 1.0f : -1.0f;
    hf->dorsal = v3_scale(v3_cross(v3_sub(im, w), v3_sub(pm, w)), hf->side);
    hf->lateral = v3_sub(pm, im);
    hf->thumb_meta = v3_sub(v3_of(lm[LQ_LM_THUMB_MCP]), v3_of(lm[LQ_LM_THUMB_CMC]));
    if (!v3_normalize(&hf->thumb_meta, 1e-3f))
        hf->thumb_meta = (v3){0.0f, 0.0f, 0.0f};
    return v3_normalize(&hf->dorsal, 1e-3f) && v3_normalize(&hf->lateral, 1e-3f);
}

static void finger_joints(int finger, int *dip, int *tip)
{
    if (finger == 0) {
        *dip = LQ_LM_THUMB_IP;
        *tip = LQ_LM_THUMB_TIP;
    } else {
        *dip = LQ_LM_INDEX_DIP + 4 * (finger - 1);
        *tip = LQ_LM_INDEX_TIP + 4 * (finger - 1);
    }
}

/* The plate's outward normal for a distal phalanx of direction d (unit). */
static int plate_normal(const hand_frame *hf, int finger, v3 d, v3 *n)
{
    v3 raw;
    if (finger == 0) {
        /* radial = away from the pinky side, within the hand */
        v3 radial = v3_scale(hf->lateral, -1.0f);
        raw = v3_add_scaled(v3_scale(hf->dorsal, cosf(THUMB_RADIAL_TILT)), radial,
                            sinf(THUMB_RADIAL_TILT));
        /* A bent thumb shows its own rotation: the plate normal lies in the
         * plane the thumb bends in (metacarpal and distal phalanx), on the
         * side the relaxed model says (robust to a hyperextended IP joint);
         * blend toward it as the bend becomes measurable. */
        v3 m = v3_cross(hf->thumb_meta, d);
        float sin_bend = v3_len(m);
        v3 n2 = v3_cross(m, d);
        if (sin_bend > THUMB_BEND_MIN && v3_normalize(&n2, 1e-6f)) {
            if (v3_dot(n2, raw) < 0.0f)
                n2 = v3_scale(n2, -1.0f);
            float t = clampf((sin_bend - THUMB_BEND_MIN) / THUMB_BEND_MIN, 0.0f, 1.0f);
            float rl = v3_len(raw);
            raw = v3_add_scaled(v3_scale(raw, (1.0f - t) / rl), n2, t);
        }
    } else {
        /* Perpendicular to the phalanx and the flexion axis: follows the finger
         * as it curls. Fall back to the back of the hand when the phalanx lies
         * along the flexion axis (no defined curl plane). */
        raw = v3_scale(v3_cross(d, hf->lateral), hf->side);
        if (v3_len(raw) < 0.2f)
            raw = hf->dorsal;
    }
    *n = v3_add_scaled(raw, d, -v3_dot(raw, d));
    return v3_normalize(n, 1e-4f);
}

/*
 * Occlusion by the rest of the hand. A curled finger seen from the palm side
 * has its plate facing the camera, but behind its own middle phalanx, the
 * thumb or the palm: facing alone would paint polish on the knuckles. The
 * hand is modelled as capsules around its bones (radius FINGER_RADIUS_M,
 * larger for the thumb, smaller for the pinky) and the palm as a slab
 * through its landmarks; the depth comes from the world landmarks (metric,
 * image axes), brought to pixels by the scale that best maps the world x, y
 * onto the image x, y (weak perspective), since the image landmarks' own z
 * flattens a curled finger (on video/asl_hand's fists it puts fingertips in
 * front of the knuckles that hide them). Points on the plate's surface along
 * the distal phalanx are tested; the share hidden scales the facing. The
 * margins are generous (on asl_hand the thumb over a fist's index and the
 * fingertips tucked behind their knuckles are hidden, the curled fingers of
 * its "E" shape whose nails show are kept).
 */
#define FINGER_RADIUS_M 0.0085f  /* half a finger's thickness, metres */
#define OCCLUDE_MARGIN 1.5f     /* depth differences below this x radius are no occlusion */
/* The finger's own middle phalanx counts this much thicker: its end is the
 * knuckle that a fingertip curled away from the camera disappears behind
 * (the landmarks sit inside the joint, the knuckle's skin well outside). */
#define KNUCKLE_K 2.0f
/* ... when the distal phalanx points away from the camera this steeply
 * (z of its direction; asl_hand's fists 0.84-0.98; fingertips resting on a
 * table in the nail photos up to 0.51), ramping in over +-0.1 around it */
#define KNUCKLE_AWAY 0.75f
#define OCCLUDE_SAMPLES 5

typedef struct hand_depth {
    v3 p[LQ_HAND_LANDMARKS]; /* image x, y; depth in pixels (larger = farther) */
    float s;                 /* pixels per metre */
} hand_depth;

static int hand_depth_of(const lq_hand *h, hand_depth *hd)
{
    float mwx = 0, mwy = 0, mix = 0, miy = 0;
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
        if (!point_ok(h->world[i]))
            return 0;
        mwx += h->world[i].x;
        mwy += h->world[i].y;
        mix += h->lm[i].x;
        miy += h->lm[i].y;
    }
    const float k = 1.0f / LQ_HAND_LANDMARKS;
    mwx *= k, mwy *= k, mix *= k, miy *= k;
    float num = 0, den = 0;
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
        float wx = h->world[i].x - mwx, wy = h->world[i].y - mwy;
        num += wx * (h->lm[i].x - mix) + wy * (h->lm[i].y - miy);
        den += wx * wx + wy * wy;
    }
    /* a hand is ~0.1-0.2 m across: world landmarks spanning under 1 cm are
     * missing (zeros) or broken */
    if (!(den > LQ_HAND_LANDMARKS * 1e-4f) || !(num > 0.0f))
        return 0;
    hd->s = num / den;
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++)
        hd->p[i] = (v3){h->lm[i].x, h->lm[i].y, hd->s * h->world[i].z};
    return isfinite(hd->s);
}

static float finger_radius(const hand_depth *hd, int finger)
{
    static const float K[5] = {1.15f, 1.0f, 1.0f, 0.95f, 0.85f};
    return FINGER_RADIUS_M * K[finger] * hd->s;
}

/* How much (0..1) q (image x, y, depth) is hidden behind the capsule a-b of
 * radius r: 0 up to (OCCLUDE_MARGIN - 1/2) x rm behind its front surface, 1
 * from (OCCLUDE_MARGIN + 1/2) x rm (a ramp, so that hiding is gradual and
 * the tracker's hysteresis on facing can keep a nail from popping). */
static float behind_capsule(v3 q, v3 a, v3 b, float r, float rm)
{
    float ux = b.x - a.x, uy = b.y - a.y;
    float l2 = ux * ux + uy * uy;
    float t = l2 > 1e-6f ? ((q.x - a.x) * ux + (q.y - a.y) * uy) / l2 : 0.0f;
    t = clampf(t, 0.0f, 1.0f);
    float dx = q.x - (a.x + t * ux), dy = q.y - (a.y + t * uy);
    float d2 = dx * dx + dy * dy;
    if (d2 >= r * r)
        return 0.0f;
    float front = a.z + t * (b.z - a.z) - sqrtf(r * r - d2);
    return clampf((q.z - front) / rm - OCCLUDE_MARGIN + 0.5f, 0.0f, 1.0f);
}

/* How much q is behind the palm slab (thickness 2r around the plane through
 * the triangle a, b, c) where it projects inside the triangle (the same ramp,
 * from the slab's back face). */
static float behind_palm(v3 q, v3 a, v3 b, v3 c, float r)
{
    float d = (b.y - c.y) * (a.x - c.x) + (c.x - b.x) * (a.y - c.y);
    if (fabsf(d) < 1e-6f)
        return 0.0f;
    float l1 = ((b.y - c.y) * (q.x - c.x) + (c.x - b.x) * (q.y - c.y)) / d;
    float l2 = ((c.y - a.y) * (q.x - c.x) + (a.x - c.x) * (q.y - c.y)) / d;
    float l3 = 1.0f - l1 - l2;
    if (l1 < 0.0f || l2 < 0.0f || l3 < 0.0f)
        return 0.0f;
    float z = l1 * a.z + l2 * b.z + l3 * c.z;
    return clampf((q.z - z) / r - 1.0f - OCCLUDE_MARGIN + 0.5f, 0.0f, 1.0f);
}

/* The share (0..1) of finger's plate hidden by the rest of the hand; nw is
 * the plate normal in world axes. */
static float occluded_share(const hand_depth *hd, int finger, v3 nw, float away)
{
    static const int CHAIN[5][4] = {
        {LQ_LM_THUMB_CMC, LQ_LM_THUMB_MCP, LQ_LM_THUMB_IP, LQ_LM_THUMB_TIP},
        {LQ_LM_INDEX_MCP, LQ_LM_INDEX_PIP, LQ_LM_INDEX_DIP, LQ_LM_INDEX_TIP},
        {LQ_LM_MIDDLE_MCP, LQ_LM_MIDDLE_PIP, LQ_LM_MIDDLE_DIP, LQ_LM_MIDDLE_TIP},
        {LQ_LM_RING_MCP, LQ_LM_RING_PIP, LQ_LM_RING_DIP, LQ_LM_RING_TIP},
        {LQ_LM_PINKY_MCP, LQ_LM_PINKY_PIP, LQ_LM_PINKY_DIP, LQ_LM_PINKY_TIP},
    };
    static const int PALM[4][3] = {
        {LQ_LM_WRIST, LQ_LM_THUMB_CMC, LQ_LM_INDEX_MCP},
        {LQ_LM_WRIST, LQ_LM_INDEX_MCP, LQ_LM_MIDDLE_MCP},
        {LQ_LM_WRIST, LQ_LM_MIDDLE_MCP, LQ_LM_RING_MCP},
        {LQ_LM_WRIST, LQ_LM_RING_MCP, LQ_LM_PINKY_MCP},
    };
    v3 dip = hd->p[CHAIN[finger][2]], tip = hd->p[CHAIN[finger][3]];
    float r = finger_radius(hd, finger);
    /* the own knuckle grows as the fingertip turns away (a ramp around
     * KNUCKLE_AWAY) */
    float kt = clampf((away - KNUCKLE_AWAY) / 0.2f + 0.5f, 0.0f, 1.0f);
    float kr = 1.0f + (KNUCKLE_K - 1.0f) * kt;
    float hidden = 0.0f;
    for (int k = 0; k < OCCLUDE_SAMPLES; k++) {
        /* the plate runs over the distal ~60% of the phalanx, on its back */
        float t = 0.4f + 0.5f * (float)k / (float)(OCCLUDE_SAMPLES - 1);
        v3 q = v3_add_scaled(v3_add_scaled(dip, v3_sub(tip, dip), t), nw, r);
        float behind = 0.0f;
        for (int f = 0; f < 5; f++) {
            float rf = finger_radius(hd, f);
            for (int j = 0; j < 3; j++) {
                if (f == finger && j == 2)
                    continue; /* the phalanx the plate lies on */
                /* the finger's own middle phalanx ends in the knuckle the
                 * plate hides behind when the fingertip curls away */
                float rk = f == finger && j == 1 ? rf * kr : rf;
                float w = behind_capsule(q, hd->p[CHAIN[f][j]], hd->p[CHAIN[f][j + 1]], rk, rf);
                behind = w > behind ? w : behind;
            }
        }
        for (int j = 0; j < 4; j++) {
            float w = behind_palm(q, hd->p[PALM[j][0]], hd->p[PALM[j][1]], hd->p[PALM[j][2]], r);
            behind = w > behind ? w : behind;
        }
        hidden += behind;
    }
    return hidden / OCCLUDE_SAMPLES;
}

/* The plate normal in world axes and how much the distal phalanx points away
 * from the camera (the z of its unit direction), for the occlusion test. */
static int world_normal(const lq_hand *h, const hand_frame *hw, int finger, v3 *n, float *away)
{
    int jd, jt;
    finger_joints(finger, &jd, &jt);
    v3 d = v3_sub(v3_of(h->world[jt]), v3_of(h->world[jd]));
    if (!v3_normalize(&d, 1e-5f) || !plate_normal(hw, finger, d, n))
        return 0;
    *away = d.z;
    return 1;
}

static int finger_nail(const lq_hand *h, const hand_frame *hf, const hand_frame *hw,
                       const hand_depth *hd, int finger, const nail_locate_opts *o, nail_geom *g)
{
    int jd, jt;
    finger_joints(finger, &jd, &jt);
    v3 dip = v3_of(h->lm[jd]);
    v3 tip = v3_of(h->lm[jt]);
    v3 d = v3_sub(tip, dip);
    float L = v3_len(d);
    if (!(L > 0.5f))
        return 0;
    d = v3_scale(d, 1.0f / L);
    v3 n;
    if (!plate_normal(hf, finger, d, &n))
        return 0;
    float fs = sqrtf(d.x * d.x + d.y * d.y);
    if (!(fs > 1e-3f))
        return 0;
    v3 e = v3_cross(d, n); /* across the plate, unit */
    float es = sqrtf(e.x * e.x + e.y * e.y);
    const finger_model *m = finger == 0 ? &THUMB : &FINGER;

    memset(g, 0, sizeof *g);
    g->finger = finger;
    g->track_id = h->track_id;
    g->ax = d.x / fs;
    g->ay = d.y / fs;
    g->length = m->len * L * fs;
    g->width = m->wid * L * es;
    g->cx = tip.x + m->off * L * d.x + m->lift * L * n.x;
    g->cy = tip.y + m->off * L * d.y + m->lift * L * n.y;
    g->foreshorten = fs;
    g->facing = -n.z;
    v3 nw;
    float away;
    if (hw && hd && g->facing > 0.0f && world_normal(h, hw, finger, &nw, &away))
        g->facing *= 1.0f - occluded_share(hd, finger, nw, away);
    g->cuticle_round = NAIL_CUTICLE_ROUND;
    g->tip_round = NAIL_TIP_ROUND;
    g->fit = -1.0f;
    float vis = clampf((g->facing - o->min_facing) / (FACING_FULL - o->min_facing + 1e-6f), 0.0f,
                       1.0f);
    g->confidence = clampf(h->presence, 0.0f, 1.0f) * vis;
    g->visible = g->facing >= o->min_facing && g->length >= o->min_size_px &&
                 g->width >= o->min_size_px;
    return isfinite(g->cx) && isfinite(g->cy) && isfinite(g->length) && isfinite(g->width);
}

int nail_geom_from_hands(const lq_hands *hands, const nail_locate_opts *opts, nail_geom *out,
                         int cap, int *n)
{
    if (!hands || !opts || !n || cap < 0 || (!out && cap > 0))
        return LQ_EINVAL;
    int rc = nail_locate_opts_validate(opts);
    if (rc < 0)
        return rc;
    int count = 0;
    int nh = hands->count < 0 ? 0 : hands->count > LQ_HAND_MAX ? LQ_HAND_MAX : hands->count;
    for (int hi = 0; hi < nh; hi++) {
        const lq_hand *h = &hands->hand[hi];
        if (!(h->presence >= opts->min_presence))
            continue;
        hand_frame hf, hw;
        if (!hand_frame_of(h, h->lm, &hf))
            continue;
        hand_depth hd;
        int has_world = hand_frame_of(h, h->world, &hw) && hand_depth_of(h, &hd);
        for (int f = 0; f < 5 && count < cap; f++) {
            nail_geom g;
            if (!finger_nail(h, &hf, has_world ? &hw : NULL, has_world ? &hd : NULL, f, opts,
                             &g))
                continue;
            g.hand = hi;
            out[count++] = g;
        }
    }
    *n = count;
    return 0;
}

int nail_locate(const lq_image *frame, const lq_hands *hands, const nail_locate_opts *opts,
                nail_geom *out, int cap, int *n)
{
    if (!hands || !opts || !n || cap < 0 || (!out && cap > 0))
        return LQ_EINVAL;
    if (opts->refine && (!frame || !frame->data))
        return LQ_EINVAL;
    nail_geom all[NAIL_MAX];
    int na = 0;
    int rc = nail_geom_from_hands(hands, opts, all, NAIL_MAX, &na);
    if (rc < 0)
        return rc;
    int count = 0;
    for (int i = 0; i < na && count < cap; i++)
        if (all[i].visible)
            out[count++] = all[i];
    if (opts->refine && count > 0) {
        nail_refine_opts ro = NAIL_REFINE_OPTS_DEFAULT;
        rc = nail_refine(frame, out, count, &ro);
        if (rc < 0)
            return rc;
    }
    *n = count;
    return 0;
}

float nail_geom_half_width(float length, float width, float cuticle_round, float tip_round,
                           float u)
{
    float hl = 0.5f * length, hw = 0.5f * width;
    if (!(fabsf(u) <= hl))
        return 0.0f;
    float rmax = hl < hw ? hl : hw;
    float r = (u < 0.0f ? clampf(cuticle_round, 0, 1) : clampf(tip_round, 0, 1)) * rmax;
    float t = fabsf(u) - (hl - r);
    if (t <= 0.0f)
        return hw;
    float s = r * r - t * t;
    return hw - r + (s > 0.0f ? sqrtf(s) : 0.0f);
}

float nail_geom_sdf(const nail_geom *g, float x, float y)
{
    float dx = x - g->cx, dy = y - g->cy;
    float u = dx * g->ax + dy * g->ay;
    float v = -dx * g->ay + dy * g->ax;
    float hl = 0.5f * g->length, hw = 0.5f * g->width;
    float rmax = hl < hw ? hl : hw;
    float r = (u < 0.0f ? clampf(g->cuticle_round, 0, 1) : clampf(g->tip_round, 0, 1)) * rmax;
    float qx = fabsf(u) - hl + r, qy = fabsf(v) - hw + r;
    float ox = qx > 0.0f ? qx : 0.0f, oy = qy > 0.0f ? qy : 0.0f;
    float inside = qx > qy ? qx : qy;
    return (inside < 0.0f ? inside : 0.0f) + sqrtf(ox * ox + oy * oy) - r;
}

static int geom_ok(const nail_geom *g)
{
    return isfinite(g->cx) && isfinite(g->cy) && isfinite(g->ax) && isfinite(g->ay) &&
           isfinite(g->width) && isfinite(g->length) && g->width > 0.0f && g->length > 0.0f &&
           fabsf(g->cx) <= NAIL_MAX_COORD && fabsf(g->cy) <= NAIL_MAX_COORD &&
           g->width <= NAIL_MAX_COORD && g->length <= NAIL_MAX_COORD &&
           fabsf(g->ax * g->ax + g->ay * g->ay - 1.0f) < 1e-2f;
}

int nail_geom_rasterize(const nail_geom *nails, int n, uint8_t *mask, int w, int h, int stride)
{
    if (!mask || w < 1 || h < 1 || w > LQ_IMAGE_MAX_DIM || h > LQ_IMAGE_MAX_DIM || stride < w ||
        n < 0 || (n > 0 && !nails))
        return LQ_EINVAL;
    for (int y = 0; y < h; y++)
        memset(mask + (size_t)y * (size_t)stride, 0, (size_t)w);
    for (int i = 0; i < n; i++) {
        const nail_geom *g = &nails[i];
        if (!g->visible || !geom_ok(g))
            continue;
        float ext = 0.5f * (g->length + g->width) + 1.0f;
        int x0 = (int)floorf(g->cx - ext), x1 = (int)ceilf(g->cx + ext);
        int y0 = (int)floorf(g->cy - ext), y1 = (int)ceilf(g->cy + ext);
        if (x0 < 0)
            x0 = 0;
        if (y0 < 0)
            y0 = 0;
        if (x1 > w - 1)
            x1 = w - 1;
        if (y1 > h - 1)
            y1 = h - 1;
        for (int y = y0; y <= y1; y++) {
            uint8_t *row = mask + (size_t)y * (size_t)stride;
            for (int x = x0; x <= x1; x++)
                if (nail_geom_sdf(g, (float)x + 0.5f, (float)y + 0.5f) <= 0.0f)
                    row[x] = 255;
        }
    }
    return 0;
}
