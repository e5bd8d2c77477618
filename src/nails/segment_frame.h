/*
 * segment_frame.h - one frame's nails from landmarks and the segmentation
 * network: which regions the network sees, then the fusion (segment_fuse.h).
 *
 *   nail_locate(frame, &hands, &lo, lm, NAIL_MAX, &nlm);       // may be 0 nails / 0 hands
 *   nail_seg_frame_opts fo = NAIL_SEG_FRAME_OPTS_DEFAULT;
 *   nail_seg_frame_info info;
 *   rc = nail_seg_find_nails(seg, frame, &hands, lm, nlm, &fo, out, NAIL_MAX, &nout, &nhand,
 *                            &info);
 *   // out as nail_seg_fuse's: out[0..nhand-1] hand nails in lm's order, then the rest
 *
 * Where the network looks (one pass of nail_seg_run / nail_seg_run_region
 * each, about 4 ms single thread for our 320x240 model):
 *   - no tracked hand: the whole frame;
 *   - a tracked hand with visible landmark nails and opts->zoom: the box
 *     around those nails (nail_seg_nails_region), so that whole-hand photos
 *     give their nails 2-3x more of the network's input than the hands'
 *     region does. If no landmark nail takes a blob there (the landmarks
 *     are off the nails), a second pass segments the hands' region and the
 *     fusion runs again on its blobs (its rule 5 may then let the blobs
 *     decide);
 *   - otherwise (a tracked hand without visible nails, or zoom off) the
 *     hands' region (nail_seg_hands_region), or the whole frame without
 *     opts->hand_region.
 * Without a tracked hand and with NAIL_SEG_ZOOM_EACH, after the frame's
 * pass (and its flips) one pass around each nail found there (its box
 * grown by zoom_grow_untracked x its size on every side) gives that nail
 * the outline of the nearest blob in it.
 * Without a tracked hand the pass may be averaged with flipped passes
 * (opts->flips_untracked): close-ups gain, hand photos did not (their
 * fusion with the landmarks already averages two estimates). The runner's
 * flips are set for every pass (nail_seg_set_flips) and left off.
 * The zoomed pass is fused with rule 5 off: its box comes from the
 * landmarks, so when they are wrong it holds only parts of the nails.
 *
 * Nothing is allocated; one nail_seg per thread (segment.h). On failure the
 * outputs are untouched and the network's error is returned.
 */
#ifndef LQ_NAILS_SEGMENT_FRAME_H
#define LQ_NAILS_SEGMENT_FRAME_H

#include "base/error.h"
#include "hand/hand.h"
#include "image/image.h"
#include "nails/geometry.h"
#include "nails/segment.h"
#include "nails/segment_fuse.h"

enum nail_seg_zoom {
    NAIL_SEG_ZOOM_OFF = 0,   /* the hands' region */
    NAIL_SEG_ZOOM_NAILS = 1, /* the box around the visible landmark nails instead */
    NAIL_SEG_ZOOM_EACH = 2,  /* the hands' region, then a pass around each visible landmark
                                nail; without a hand, the frame, then a pass around each
                                nail found there */
};

typedef struct nail_seg_frame_opts {
    nail_seg_blob_opts blobs;
    nail_seg_fuse_opts fuse;
    int hand_region;    /* 1: with tracked hands, segment their region, not the whole frame */
    int zoom;           /* enum nail_seg_zoom */
    float zoom_grow;    /* that box grows by this x the largest nail's size on each side (0..8) */
    unsigned flips_untracked; /* test-time flips (nail_seg_set_flips bits) of the pass on a
                                 frame without a tracked hand: one more inference each */
    float zoom_grow_untracked; /* zoom_grow for the passes around each nail found without a
                                  hand (NAIL_SEG_ZOOM_EACH) (0..8) */
} nail_seg_frame_opts;

#define NAIL_SEG_FRAME_OPTS_DEFAULT                                            \
    {NAIL_SEG_BLOB_OPTS_DEFAULT, NAIL_SEG_FUSE_OPTS_DEFAULT, 1, 0, 1.0f, 0, 1.5f}

/* 0 if every field is in range, else LQ_EINVAL (and logs which field). */
int nail_seg_frame_opts_validate(const nail_seg_frame_opts *o) LQ_NODISCARD;

typedef struct nail_seg_frame_info {
    int passes;         /* network passes run (1 or 2) */
    int zoomed;         /* 1 if the nails' box was segmented */
    int fell_back;      /* 1 if the zoomed pass matched nothing and the hands' region ran */
    int box[4];         /* the region of the pass whose blobs were fused: x0, y0, w, h */
} nail_seg_frame_info;

/* The box to segment zoomed around the visible nails of lm[0..n-1]: their
 * extent (centre +- half the larger of length and width) grown by grow x
 * the largest nail's size on every side, then widened to the aspect
 * in_w : in_h (or in_h : in_w when the box is taller than wide: such
 * regions are turned or run through the portrait companion, segment.h),
 * at least 32 px a side, shifted and clipped into the frame. box = x0, y0,
 * w, h. Returns 1, or 0 (box untouched) when no nail is visible or the
 * frame is under 32 px a side. */
int nail_seg_nails_region(const nail_geom *lm, int n, float grow, int in_w, int in_h,
                          int frame_w, int frame_h, int box[4]);

/* Runs the network where described above, finds its blobs and fuses them
 * with lm (nail_seg_fuse; hands may be NULL or have count 0; lm may be
 * NULL with nlm = 0). Writes at most cap nails, *nout, *nhand as
 * nail_seg_fuse does; info may be NULL. Returns 0, LQ_EINVAL (bad
 * arguments or options), or nail_seg_run's error. */
int nail_seg_find_nails(nail_seg *s, const lq_image *frame, const lq_hands *hands,
                        const nail_geom *lm, int nlm, const nail_seg_frame_opts *o,
                        nail_geom *out, int cap, int *nout, int *nhand,
                        nail_seg_frame_info *info) LQ_NODISCARD;

#endif
