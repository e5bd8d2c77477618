/*
 * nail_track.h - keeps each painted nail steady from frame to frame.
 *
 *   nail_track_opts o = NAIL_TRACK_OPTS_DEFAULT;
 *   nail_track *t;
 *   if (nail_track_create(&o, &t) < 0) ...;
 *   per frame (in order):
 *       nail_locate(frame, &hands, &lo, raw, NAIL_MAX, &nraw);      // lo.min_facing <= o.hide_facing
 *       nail_track_update(t, timestamp_us, &hands, raw, nraw, out, NAIL_MAX, &nout);
 *       paint out[0..nout-1]
 *   nail_track_destroy(t);
 *
 * Nails are keyed by (hand track_id, finger). Each measured outline is split
 * into two parts that move differently (when `hands` is given):
 *   - the landmark prediction (nail_geom_from_hands on the same hands: the
 *     centre, width and length before refinement). It carries the hand's
 *     motion. Its centre runs through a 2-D One Euro filter whose speed is
 *     measured on the raw samples in nail lengths per second (so the same
 *     parameters work near and far) and whose cutoff stays at its minimum up
 *     to still_speed: a hand that only drifts or trembles (measured on the
 *     shared videos: 0.0-0.9 nail lengths/s, median 0.34) is smoothed hard,
 *     a moving one (median 6.5) lightly. Sizes and axis angle have their own
 *     One Euro filters (hand/one_euro.h);
 *   - the refined outline's offset from that prediction, in the nail's own
 *     frame (along and across, in predicted lengths and widths; log size
 *     ratios). Refinement from the pixels moves the outline by a pixel or
 *     two from frame to frame, but the true offset is a property of the nail
 *     and of the landmark model's bias: it changes slowly whatever the hand
 *     does, so it is smoothed hard (`offset`) without making a moving nail
 *     trail.
 * Measured on video/palm_reach (bench/bench_nails.c, frames 100-202, a
 * still hand): frame-to-frame centre RMS 1.26 px as found, 0.60 px with the
 * previous single One Euro per coordinate, 0.44 px now; on its moving frames
 * the painted centre trails the found one by about 1.0 px (5 ms) against
 * 1.9 px (15 ms) before. The price: a hand moving steadily just below
 * still_speed (0.8 nail lengths per second: 0.6 px per frame for a 20 px
 * nail at 25 fps) is followed with the minimum cutoff, up to 0.15 nail
 * lengths (3 px) behind, where the previous filter trailed by 1.4 px;
 * faster motion opens the filter (1.0 px behind at 1 px per frame).
 * Without `hands` (or for a hand whose landmarks give no prediction) the
 * offsets learnt so far are kept and the measured outline stands for the
 * prediction.
 *
 * Visibility has hysteresis so that nails do not pop: a nail is shown once
 * its facing reaches show_facing and stays shown until it drops below
 * hide_facing (nail_locate must be run with min_facing <= hide_facing so the
 * tracker sees those nails at all). A nail missing from a frame while its
 * hand is still tracked is shown for up to hold_frames more frames at its
 * last smoothed place (a refinement or landmark hiccup), then hidden; its
 * filters are kept for keep_frames so that it comes back without a jump.
 * When a hand's track_id disappears from `hands` (track loss), every state of
 * that hand is dropped at once: a new hand must not inherit an old one's
 * position.
 *
 * Ownership: the tracker owns its state (fixed size, allocated once by
 * create; update does not allocate). One tracker per video stream; not
 * thread-safe (a session's frames are processed one at a time).
 */
#ifndef LQ_NAILS_NAIL_TRACK_H
#define LQ_NAILS_NAIL_TRACK_H

#include <stdint.h>

#include "base/error.h"
#include "hand/hand.h"
#include "hand/one_euro.h"
#include "nails/geometry.h"

/* Hands (track ids) the tracker remembers at once; the least recently seen
 * one is forgotten first. */
#define NAIL_TRACK_MAX_HANDS 4

typedef struct nail_track_opts {
    lq_one_euro_params centre;   /* centre x/y; speed in nail lengths per second */
    lq_one_euro_params shape;    /* width, length (slower: sizes change slowly) */
    lq_one_euro_params angle;    /* axis direction, radians */
    float show_facing;           /* start showing a nail at this facing (0..1) */
    float hide_facing;           /* stop showing it below this facing (<= show_facing) */
    int hold_frames;             /* frames a missing nail stays shown (0..30) */
    int keep_frames;             /* frames a missing nail's filters are kept (>= hold_frames, <= 300) */
    lq_one_euro_params offset;   /* the outline's offset from the landmark prediction
                                    (in nail lengths/widths, log size ratios) */
    float still_speed;           /* centre speeds up to this (nail lengths per second) count as
                                    still: the centre's cutoff stays at its minimum (0..10) */
} nail_track_opts;

#define NAIL_TRACK_OPTS_DEFAULT                                                \
    {{0.8f, 8.0f, 1.0f}, {0.3f, 0.5f, 1.0f}, {0.6f, 1.5f, 1.0f}, 0.15f, 0.08f, 2, 15,      \
     {0.15f, 0.0f, 1.0f}, 0.8f}

/* 0 if every field is in range, else LQ_EINVAL (and logs which field). */
int nail_track_opts_validate(const nail_track_opts *o) LQ_NODISCARD;

typedef struct nail_track nail_track;

/* Creates a tracker (copies *o). LQ_EINVAL for bad options, LQ_ENOMEM; on
 * failure *out is untouched. */
int nail_track_create(const nail_track_opts *o, nail_track **out) LQ_NODISCARD;
void nail_track_destroy(nail_track *t);

/* Forgets every nail (a new stream, a scene cut). */
void nail_track_reset(nail_track *t);

/* Smooths one frame's nails. hands: the frame's tracked hands (their
 * track_ids say which hands are still alive; may be NULL = all alive). in:
 * the frame's nails from nail_locate (visible ones; in any order). Writes the
 * nails to paint into out (at most cap, smoothed, visible = 1) and sets *nout.
 * Timestamps must increase; a frame whose timestamp is not after the last one
 * resets the tracker first. Returns 0 or LQ_EINVAL (NULL pointers, n < 0,
 * cap < 0). Nails with non-finite fields or a finger outside 0..4 are
 * ignored. */
int nail_track_update(nail_track *t, int64_t timestamp_us, const lq_hands *hands,
                      const nail_geom *in, int n, nail_geom *out, int cap,
                      int *nout) LQ_NODISCARD;

#endif
