/*
 * segment_fuse.h - landmark nails and segmentation blobs into one set of nails.
 *
 *   nail_locate(frame, &hands, &lo, lm, NAIL_MAX, &nlm);        // landmarks (may be 0)
 *   nail_seg_run(seg, frame); nail_seg_blobs(seg, frame, &bo, blobs, 16, &nb);
 *   nail_seg_fuse_opts fo = NAIL_SEG_FUSE_OPTS_DEFAULT;
 *   nail_seg_fuse(lm, nlm, blobs, nb, &hands, &fo, out, NAIL_MAX, &nout, &nhand);
 *   // out[0..nhand-1]: nails of tracked hands (smooth with nail_track.h)
 *   // out[nhand..nout-1]: nails found by segmentation alone (nail_seg_track)
 *
 * How (docs/segmentation.md has figures):
 *  1. Every blob whose centre lies within a nail's reach of a fingertip
 *     landmark (TIP, within match_dist x the DIP->TIP length, thumb IP->TIP)
 *     takes that fingertip's base-to-tip sign: its axis is turned to agree
 *     with DIP->TIP (dir_source NAIL_SEG_DIR_LANDMARKS).
 *  2. Each landmark nail (visible, from nail_locate) is matched with the
 *     nearest unused blob whose centre is within match_dist x the nail's
 *     length of the nail's centre and whose area is within
 *     [min_area_ratio, max_area_ratio] x the landmark plate's area (a blob
 *     much larger is several nails or skin merged; much smaller a speck)
 *     and whose outline overlaps the landmark outline by at least
 *     min_overlap (IoU; a blob in the gap beside the finger does not);
 *     best-overlapping pairs first. The blob's outline is its centre, width,
 *     length and its axis when the blob is elongated (>= 1.15) and within
 *     max_axis_deg of the landmark axis (else the landmark axis, the blob's
 *     area kept). A matched nail moves toward that outline by
 *     w = blob_weight x clamp((confidence - 0.5) / 0.4, 0, 1) (centre and
 *     roundness linearly, sizes geometrically, axis by angle); it keeps the
 *     landmark's hand, finger, track id and facing; confidence = mean of
 *     the two; fit = the blob's confidence.
 *     A nail that differs too much keeps the landmark geometry.
 *  3. Landmark nails without a blob keep their geometry (the fallback).
 *  4. Blobs matched to no landmark nail and with confidence >= min_orphan_conf
 *     and not longer than max_orphan_elongation x their width (a thin
 *     streak is an edge or a nail seen edge-on, not a plate to paint)
 *     become nails of their own (if opts->orphans), with hand = -1,
 *     track_id = -1, finger = -1 (unknown: the protocol reports "?", the
 *     renderer paints the thumb's style, fingertips_detected leaves it out).
 *     With opts->tip_orphans (off by default) a blob at a tracked
 *     fingertip (rule 1) takes that hand and finger (the landmarks judged
 *     that nail turned away, the pixels show a nail), unless that finger
 *     already has a visible landmark nail: on the cross-validated photos it
 *     changed nothing, on video it made a thumb seen edge-on pop in and
 *     out. While a hand is tracked, such blobs need
 *     min_orphan_conf_hand instead of min_orphan_conf (a finger pad seen
 *     from the palm side can look like a nail, and the landmarks say which
 *     side faces the camera), and blobs away from its fingertips make no
 *     nail unless opts->far_orphans (red patterns on things near the hand
 *     fooled the network more often than the palm detector missed a hand).
 *  5. Landmarks that miss the nails (opts->distrust_min_blobs > 0): while
 *     a hand is tracked, when no landmark nail took a blob in step 2 but at
 *     least distrust_min_blobs blobs are confident (>= min_orphan_conf_hand)
 *     and plate-shaped (not longer than max_orphan_elongation x their
 *     width), the landmarks are taken to be wrong about the nails (a hand
 *     seen from the back taken for its palm side, landmarks off the
 *     fingers): the landmark nails are passed through with visible = 0 and
 *     the blobs are treated as in a frame without a hand (every blob with
 *     confidence >= min_orphan_conf becomes a hand = -1 nail). On the
 *     cross-validated photos this gives 2 of the 18 hand photos their nails
 *     (3493127D 0.000 -> 0.864, 4c478f3e 0.220 -> 0.537) and changes 1
 *     (2c376c66 0.311 -> 0.381); docs/segmentation.md. On video it fired
 *     on false blobs (a face behind a thumb-up), so the try-on pipeline
 *     uses it on photos (static sessions) only.
 * Defaults: min_overlap 0.2, blob_weight 0.35, distrust_min_blobs 2,
 * chosen by nested cross-validation on the shared photos over 36 settings
 * (distrust 0/2/3 x min_overlap 0.2-0.5 x blob_weight 0.35-0.65): for each
 * held-out fold, the setting with no photo with a hand worse than its
 * landmarks on the 4 other folds and the best mean IoU there; all 5 folds
 * chose this one (docs/segmentation.md has the figures).
 * Nothing is allocated; reentrant.
 */
#ifndef LQ_NAILS_SEGMENT_FUSE_H
#define LQ_NAILS_SEGMENT_FUSE_H

#include <stdint.h>

#include "base/error.h"
#include "hand/hand.h"
#include "hand/one_euro.h"
#include "nails/geometry.h"
#include "nails/segment.h"

typedef struct nail_seg_fuse_opts {
    float match_dist;      /* in nail lengths (landmark nails) / DIP->TIP lengths (fingertips) */
    float min_area_ratio;  /* blob area / landmark plate area accepted */
    float max_area_ratio;
    float max_axis_deg;    /* blob axis within this of the landmark axis to replace it */
    float min_orphan_conf; /* a blob needs this mean probability to be a nail of its own */
    int orphans;           /* 1: unmatched blobs become nails */
    int tip_orphans;       /* 1: unmatched blobs at a tracked fingertip become that finger's nail */
    float min_orphan_conf_hand; /* min_orphan_conf while some hand is tracked */
    float min_overlap;     /* outline IoU a blob needs with a landmark nail to replace it */
    int far_orphans;       /* 1: while a hand is tracked, blobs away from its fingertips
                              may become nails too (a hand the palm detector missed) */
    float blob_weight;     /* 0..1: how far a matched nail moves to the blob's outline */
    float max_orphan_elongation; /* a nail of its own is at most this long for its width */
    int distrust_min_blobs; /* 0 = off; else rule 5 with this many blobs (1..NAIL_SEG_MAX_BLOBS) */
} nail_seg_fuse_opts;

#define NAIL_SEG_FUSE_OPTS_DEFAULT                                             \
    {0.9f, 0.5f, 2.0f, 35.0f, 0.6f, 1, 0, 0.85f, 0.2f, 0, 0.35f, 3.0f, 2}

/* 0 if every field is in range, else LQ_EINVAL (and logs which field). */
int nail_seg_fuse_opts_validate(const nail_seg_fuse_opts *o) LQ_NODISCARD;

/* Fuses (see above). lm: nail_locate's nails (nlm >= 0; invisible ones pass
 * through untouched); blobs may be modified (their axis sign, rule 1); hands
 * may be NULL (no landmarks). Writes at most cap nails: first the hand nails
 * (*nhand of them, in lm's order, then orphans at fingertips), then the
 * unknown-hand orphans, and sets *nout. Returns 0 or LQ_EINVAL. */
int nail_seg_fuse(const nail_geom *lm, int nlm, nail_seg_blob *blobs, int nb,
                  const lq_hands *hands, const nail_seg_fuse_opts *o, nail_geom *out, int cap,
                  int *nout, int *nhand) LQ_NODISCARD;

/* Keeps fusion steady over time. A blob may be found on one frame and not
 * the next, or be a little different each time; on a moving hand the fused
 * nails then jumped between the landmark outline and the blob's (painted
 * centres' second-difference RMS 9.3 px vs 5.5 px without segmentation on
 * asl_hand). Instead, each hand nail (keyed by track id and finger) keeps a
 * correction relative to its landmark nail: offset along and across the
 * nail in nail lengths, log width and length ratios, axis angle, roundness.
 * A frame where the nail took a blob moves the correction toward that
 * frame's by `follow`; a frame without one decays it by `decay`. The fused
 * nail is the landmark nail with the correction applied, so the outline
 * moves with the landmarks (which the tracker smooths) and changes shape
 * slowly. Keys unseen for 30 frames are forgotten. Fixed-size state, no
 * allocation after create; one per stream, not thread-safe. */
typedef struct nail_seg_fuse_memory nail_seg_fuse_memory;

#define NAIL_SEG_FUSE_MEMORY_FOLLOW 0.3f
#define NAIL_SEG_FUSE_MEMORY_DECAY 0.85f

int nail_seg_fuse_memory_create(nail_seg_fuse_memory **out) LQ_NODISCARD;
void nail_seg_fuse_memory_destroy(nail_seg_fuse_memory *m);
void nail_seg_fuse_memory_reset(nail_seg_fuse_memory *m);

/* lm[0..n-1]: the landmark nails given to nail_seg_fuse; fused[0..n-1]: its
 * first n outputs (same order; a nail equal to its landmark nail had no
 * blob). Rewrites fused[] as described above. Nails with a finger outside
 * 0..4 or degenerate sizes are left as they are. */
void nail_seg_fuse_memory_apply(nail_seg_fuse_memory *m, const nail_geom *lm, nail_geom *fused,
                                int n);

/* The region of the frame to segment when hands are tracked: the box of
 * their landmarks grown by a quarter of its larger side on every side (nails
 * reach past the TIP landmarks), clipped to the frame, at least 32 px a
 * side. box = x0, y0, w, h. Returns 1, or 0 (box untouched) without a usable
 * hand. */
int nail_seg_hands_region(const lq_hands *hands, int frame_w, int frame_h, int box[4]);

/* Keeps nails found by segmentation alone (hand = -1) steady from frame to
 * frame: each is matched to the nearest kept nail (centre within 0.6 x its
 * length), its centre, axis angle, width and length go through One Euro
 * filters with the speed in nail lengths per second, its axis sign is kept
 * from frame to frame (the context rule may flip on a single frame), and it
 * gets a stable track_id >= NAIL_SEG_TRACK_ID_BASE (procedural patterns are
 * seeded by it). A nail missing for up to hold_frames frames is still
 * shown; after that it is dropped. Fixed-size state; no allocation after
 * create; one per stream, not thread-safe. */
#define NAIL_SEG_TRACK_ID_BASE (1 << 20)
#define NAIL_SEG_TRACK_MAX NAIL_SEG_MAX_BLOBS

typedef struct nail_seg_track nail_seg_track;

int nail_seg_track_create(nail_seg_track **out) LQ_NODISCARD;
void nail_seg_track_destroy(nail_seg_track *t);
void nail_seg_track_reset(nail_seg_track *t);

/* in: this frame's hand = -1 nails (n >= 0). Writes at most cap smoothed
 * nails and sets *nout. A timestamp not after the last one resets first.
 * Returns 0 or LQ_EINVAL. */
int nail_seg_track_update(nail_seg_track *t, int64_t timestamp_us, const nail_geom *in, int n,
                          nail_geom *out, int cap, int *nout) LQ_NODISCARD;

#endif
