/* segment_frame.c - where the network looks on a frame, then fusion. */
#include "nails/segment_frame.h"

#include <math.h>
#include <string.h>

#include "base/log.h"

#define TAG "nailseg"
#define MIN_SIDE 32

int nail_seg_frame_opts_validate(const nail_seg_frame_opts *o)
{
    if (!o)
        return LQ_EINVAL;
    if (nail_seg_blob_opts_validate(&o->blobs) < 0 || nail_seg_fuse_opts_validate(&o->fuse) < 0)
        return LQ_EINVAL;
    const char *bad = NULL;
    if (o->hand_region != 0 && o->hand_region != 1)
        bad = "hand_region (0 or 1)";
    else if (o->zoom < NAIL_SEG_ZOOM_OFF || o->zoom > NAIL_SEG_ZOOM_EACH)
        bad = "zoom (0, 1 or 2)";
    else if (!(o->zoom_grow >= 0.0f && o->zoom_grow <= 8.0f))
        bad = "zoom_grow (0..8)";
    else if (!(o->zoom_grow_untracked >= 0.0f && o->zoom_grow_untracked <= 8.0f))
        bad = "zoom_grow_untracked (0..8)";
    else if ((o->flips_untracked & ~(NAIL_SEG_FLIP_H | NAIL_SEG_FLIP_V | NAIL_SEG_FLIP_HV)) != 0)
        bad = "flips_untracked (NAIL_SEG_FLIP_* bits)";
    if (!bad)
        return 0;
    LQ_WARN(TAG, "invalid frame option: %s", bad);
    return LQ_EINVAL;
}

int nail_seg_nails_region(const nail_geom *lm, int n, float grow, int in_w, int in_h,
                          int frame_w, int frame_h, int box[4])
{
    if (!lm || !box || n <= 0 || in_w < 1 || in_h < 1 || frame_w < MIN_SIDE ||
        frame_h < MIN_SIDE || !(grow >= 0.0f && grow <= 8.0f))
        return 0;
    float x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY, size = 0.0f;
    for (int i = 0; i < n; i++) {
        const nail_geom *g = &lm[i];
        float r = 0.5f * fmaxf(g->length, g->width);
        if (!g->visible || !isfinite(g->cx) || !isfinite(g->cy) || !(r > 0.0f) ||
            !(r < NAIL_MAX_COORD) || fabsf(g->cx) > NAIL_MAX_COORD || fabsf(g->cy) > NAIL_MAX_COORD)
            continue;
        x0 = fminf(x0, g->cx - r);
        x1 = fmaxf(x1, g->cx + r);
        y0 = fminf(y0, g->cy - r);
        y1 = fmaxf(y1, g->cy + r);
        size = fmaxf(size, 2.0f * r);
    }
    if (!(x1 > x0 && y1 > y0))
        return 0;
    float g = grow * size;
    x0 -= g;
    y0 -= g;
    x1 += g;
    y1 += g;
    /* the input's aspect, turned for a tall box */
    float w = x1 - x0, h = y1 - y0, cx = 0.5f * (x0 + x1), cy = 0.5f * (y0 + y1);
    float aspect = (float)in_w / (float)in_h;
    if ((h > w) != (in_h > in_w))
        aspect = 1.0f / aspect;
    if (w / h < aspect)
        w = h * aspect;
    else
        h = w / aspect;
    w = fminf(fmaxf(w, (float)MIN_SIDE), (float)frame_w);
    h = fminf(fmaxf(h, (float)MIN_SIDE), (float)frame_h);
    /* shifted into the frame rather than cut, so the nails keep their context */
    float bx = fminf(fmaxf(cx - 0.5f * w, 0.0f), (float)frame_w - w);
    float by = fminf(fmaxf(cy - 0.5f * h, 0.0f), (float)frame_h - h);
    int ix = (int)floorf(bx), iy = (int)floorf(by);
    int iw = (int)ceilf(bx + w) - ix, ih = (int)ceilf(by + h) - iy;
    iw = iw > frame_w - ix ? frame_w - ix : iw;
    ih = ih > frame_h - iy ? frame_h - iy : ih;
    box[0] = ix;
    box[1] = iy;
    box[2] = iw;
    box[3] = ih;
    return 1;
}

/* One pass on box (the whole frame when box is NULL), its blobs, the fusion. */
static int segment_and_fuse(nail_seg *s, const lq_image *frame, const int *box,
                            const lq_hands *hands, const nail_geom *lm, int nlm,
                            const nail_seg_blob_opts *bo, const nail_seg_fuse_opts *fo,
                            nail_geom *out, int cap, int *nout, int *nhand)
{
    int rc = box ? nail_seg_run_region(s, frame, box[0], box[1], box[2], box[3])
                 : nail_seg_run(s, frame);
    nail_seg_blob blobs[NAIL_SEG_MAX_BLOBS];
    int nb = 0;
    if (rc == 0)
        rc = nail_seg_blobs(s, frame, bo, blobs, NAIL_SEG_MAX_BLOBS, &nb);
    if (rc == 0)
        rc = nail_seg_fuse(lm, nlm, blobs, nb, hands, fo, out, cap, nout, nhand);
    return rc;
}

/* Did any visible landmark nail take a blob (its fused copy differs and
 * is not hidden by rule 5)? */
static int any_matched(const nail_geom *lm, const nail_geom *fused, int n)
{
    for (int i = 0; i < n; i++)
        if (lm[i].visible && fused[i].visible && memcmp(&lm[i], &fused[i], sizeof lm[i]) != 0)
            return 1;
    return 0;
}

/* NAIL_SEG_ZOOM_EACH: one pass around each visible landmark nail; from
 * each, the blob nearest to that nail (within match_dist of its size);
 * these blobs are fused with the landmarks (no rule 5: the landmarks have
 * been believed already). */
static int refine_each_nail(nail_seg *s, const lq_image *frame, const lq_hands *hands,
                            const nail_geom *lm, int nlm, const nail_seg_frame_opts *o,
                            nail_geom *out, int *nout, int *nhand, nail_seg_frame_info *fi)
{
    int in_w = 0, in_h = 0;
    nail_seg_input_size(s, &in_w, &in_h);
    nail_seg_blob z[NAIL_SEG_MAX_BLOBS], b[NAIL_SEG_MAX_BLOBS];
    int nz = 0, rc = 0;
    for (int i = 0; i < nlm && nz < NAIL_SEG_MAX_BLOBS; i++) {
        int box[4], nb = 0;
        if (!lm[i].visible ||
            !nail_seg_nails_region(&lm[i], 1, o->zoom_grow, in_w, in_h, frame->width,
                                   frame->height, box))
            continue;
        fi->passes++;
        if ((rc = nail_seg_run_region(s, frame, box[0], box[1], box[2], box[3])) < 0 ||
            (rc = nail_seg_blobs(s, frame, &o->blobs, b, NAIL_SEG_MAX_BLOBS, &nb)) < 0)
            return rc;
        float reach = o->fuse.match_dist * fmaxf(lm[i].length, lm[i].width), best = INFINITY;
        int bj = -1;
        for (int j = 0; j < nb; j++) {
            float d = hypotf(b[j].cx - lm[i].cx, b[j].cy - lm[i].cy);
            if (d <= reach && d < best) {
                best = d;
                bj = j;
            }
        }
        if (bj >= 0)
            z[nz++] = b[bj];
    }
    nail_seg_fuse_opts zf = o->fuse;
    zf.distrust_min_blobs = 0;
    return nail_seg_fuse(lm, nlm, z, nz, hands, &zf, out, NAIL_MAX, nout, nhand);
}

/* Without a hand (NAIL_SEG_ZOOM_EACH): one pass around each nail the
 * frame's pass found; its outline becomes that of the nearest blob there
 * (within match_dist of its size), or stays when there is none. */
static int refine_each_blob(nail_seg *s, const lq_image *frame, const nail_seg_frame_opts *o,
                            nail_geom *nails, int n, nail_seg_frame_info *fi)
{
    int in_w = 0, in_h = 0;
    nail_seg_input_size(s, &in_w, &in_h);
    nail_seg_blob b[NAIL_SEG_MAX_BLOBS];
    for (int i = 0; i < n; i++) {
        int box[4], nb = 0, rc;
        if (!nails[i].visible ||
            !nail_seg_nails_region(&nails[i], 1, o->zoom_grow_untracked, in_w, in_h,
                                   frame->width, frame->height, box))
            continue;
        fi->passes++;
        if ((rc = nail_seg_run_region(s, frame, box[0], box[1], box[2], box[3])) < 0 ||
            (rc = nail_seg_blobs(s, frame, &o->blobs, b, NAIL_SEG_MAX_BLOBS, &nb)) < 0)
            return rc;
        float reach = o->fuse.match_dist * fmaxf(nails[i].length, nails[i].width), best = INFINITY;
        int bj = -1;
        for (int j = 0; j < nb; j++) {
            float d = hypotf(b[j].cx - nails[i].cx, b[j].cy - nails[i].cy);
            if (d <= reach && d < best) {
                best = d;
                bj = j;
            }
        }
        if (bj < 0)
            continue;
        /* the zoomed outline replaces the frame pass's; the nail keeps its
         * confidence and base-to-tip sign */
        nail_geom g;
        nail_seg_blob_to_geom(&b[bj], &g);
        if (g.ax * nails[i].ax + g.ay * nails[i].ay < 0.0f) {
            g.ax = -g.ax;
            g.ay = -g.ay;
        }
        nails[i].cx = g.cx;
        nails[i].cy = g.cy;
        nails[i].ax = g.ax;
        nails[i].ay = g.ay;
        nails[i].width = g.width;
        nails[i].length = g.length;
    }
    return 0;
}

int nail_seg_find_nails(nail_seg *s, const lq_image *frame, const lq_hands *hands,
                        const nail_geom *lm, int nlm, const nail_seg_frame_opts *o,
                        nail_geom *out, int cap, int *nout, int *nhand,
                        nail_seg_frame_info *info)
{
    if (!s || !frame || !frame->data || !o || !nout || !nhand || nlm < 0 || nlm > NAIL_MAX ||
        (nlm > 0 && !lm) || cap < 0 || (cap > 0 && !out))
        return LQ_EINVAL;
    if (nail_seg_frame_opts_validate(o) < 0)
        return LQ_EINVAL;
    nail_seg_frame_info fi;
    memset(&fi, 0, sizeof fi);
    const int W = frame->width, H = frame->height;
    const int tracked = hands && hands->count > 0;
    nail_geom tmp[NAIL_MAX];
    int ntmp = 0, ntmph = 0, rc = 0, done = 0;
    int in_w = 0, in_h = 0, box[4];
    nail_seg_input_size(s, &in_w, &in_h);
    if (tracked && o->zoom == NAIL_SEG_ZOOM_NAILS &&
        nail_seg_nails_region(lm, nlm, o->zoom_grow, in_w, in_h, W, H, box)) {
        nail_seg_fuse_opts zf = o->fuse;
        zf.distrust_min_blobs = 0; /* the box comes from the landmarks: no rule 5 here */
        if ((rc = nail_seg_set_flips(s, 0)) < 0)
            return rc;
        fi.passes++;
        fi.zoomed = 1;
        rc = segment_and_fuse(s, frame, box, hands, lm, nlm, &o->blobs, &zf, tmp, NAIL_MAX,
                              &ntmp, &ntmph);
        if (rc < 0)
            return rc;
        done = any_matched(lm, tmp, nlm < ntmp ? nlm : ntmp);
        fi.fell_back = !done;
    }
    if (!done) {
        int use_region = tracked && o->hand_region && nail_seg_hands_region(hands, W, H, box);
        if (!use_region) {
            box[0] = box[1] = 0;
            box[2] = W;
            box[3] = H;
        }
        unsigned flips = tracked ? 0u : o->flips_untracked;
        if ((rc = nail_seg_set_flips(s, flips)) < 0)
            return rc;
        fi.passes += 1 + ((flips & NAIL_SEG_FLIP_H) != 0) + ((flips & NAIL_SEG_FLIP_V) != 0) +
                     ((flips & NAIL_SEG_FLIP_HV) != 0);
        rc = segment_and_fuse(s, frame, use_region ? box : NULL, hands, lm, nlm, &o->blobs,
                              &o->fuse, tmp, NAIL_MAX, &ntmp, &ntmph);
        if (flips) {
            int off = nail_seg_set_flips(s, 0); /* cannot fail: no bits */
            rc = rc < 0 ? rc : off;
        }
        if (rc < 0)
            return rc;
    }
    if (tracked && o->zoom == NAIL_SEG_ZOOM_EACH && any_matched(lm, tmp, nlm < ntmp ? nlm : ntmp)) {
        fi.zoomed = 1;
        if ((rc = nail_seg_set_flips(s, 0)) < 0 ||
            (rc = refine_each_nail(s, frame, hands, lm, nlm, o, tmp, &ntmp, &ntmph, &fi)) < 0)
            return rc;
    }
    if (!tracked && o->zoom == NAIL_SEG_ZOOM_EACH) {
        if ((rc = nail_seg_set_flips(s, 0)) < 0 ||
            (rc = refine_each_blob(s, frame, o, tmp, ntmp, &fi)) < 0)
            return rc;
    }
    memcpy(fi.box, box, sizeof fi.box);
    int k = ntmp < cap ? ntmp : cap;
    if (k > 0)
        memcpy(out, tmp, sizeof *out * (size_t)k);
    *nout = k;
    *nhand = ntmph < k ? ntmph : k;
    if (info)
        *info = fi;
    return 0;
}
