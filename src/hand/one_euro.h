/*
 * one_euro.h - the One Euro filter (Casiez, Roussel, Vogel, CHI 2012) and a
 * per-hand landmark smoother built on it.
 *
 *   lq_one_euro_params p = LQ_ONE_EURO_HAND_DEFAULT;
 *   lq_one_euro f;
 *   lq_one_euro_reset(&f);
 *   for each sample: y = lq_one_euro_apply(&f, &p, t_us, x, 1.0f / hand_size);
 *
 * A first-order low-pass whose cutoff rises with the signal's speed:
 *   cutoff = min_cutoff + beta * |smoothed speed * value_scale|,
 * so a still hand is smoothed hard (no jitter) and a moving one lightly (little
 * lag). The sampling rate comes from the timestamps, so dropped or irregular
 * frames are handled. value_scale makes the speed scale-invariant: pass
 * 1 / (hand size in the same unit as x) and the speed is measured in hand
 * sizes per second, so one set of parameters works near and far.
 *
 * Filters are plain structs, caller-owned, no allocation. Not thread-safe per
 * filter (each belongs to one track).
 */
#ifndef LQ_HAND_ONE_EURO_H
#define LQ_HAND_ONE_EURO_H

#include <stdint.h>

#include "hand/hand.h"

typedef struct lq_one_euro_params {
    float min_cutoff;    /* Hz: cutoff when still (lower = smoother, more lag) */
    float beta;          /* cutoff growth per unit of speed (speed in hand sizes / s) */
    float d_cutoff;      /* Hz: cutoff of the speed estimate */
} lq_one_euro_params;

/* Defaults chosen on the shared videos (tests/unit/hand/test_tracker_video.c
 * prints jitter and lag for these and other settings): min_cutoff 1 Hz,
 * beta 5, d_cutoff 1 Hz cut the frame-to-frame jitter by 36-56% for a lag of
 * 9-28 ms at 25 fps. Lower min_cutoff / beta smooth more and lag more. */
#define LQ_ONE_EURO_HAND_DEFAULT {1.0f, 5.0f, 1.0f}

typedef struct lq_one_euro {
    double x;            /* last filtered value */
    double dx;           /* last filtered speed (value units per second) */
    int64_t t_us;        /* timestamp of the last sample */
    int primed;          /* 0 until the first sample */
} lq_one_euro;

void lq_one_euro_reset(lq_one_euro *f);

/* Filters one sample taken at t_us (microseconds, increasing). The first
 * sample after a reset passes through unchanged. A sample whose timestamp is
 * not after the previous one returns the previous output and changes
 * nothing. value_scale > 0 (1 if the values need no normalisation). */
float lq_one_euro_apply(lq_one_euro *f, const lq_one_euro_params *p, int64_t t_us, float x,
                        float value_scale);

/* Smooths all of a hand's landmarks (x, y, z of lm and of world), each axis
 * with its own filter, scaled by the hand's size (mean of the landmarks'
 * bounding-box width and height, per coordinate system). */
typedef struct lq_hand_smoother {
    lq_one_euro lm[LQ_HAND_LANDMARKS][3];
    lq_one_euro world[LQ_HAND_LANDMARKS][3];
} lq_hand_smoother;

void lq_hand_smoother_reset(lq_hand_smoother *s);

/* Smooths h->lm and h->world in place. */
void lq_hand_smoother_apply(lq_hand_smoother *s, const lq_one_euro_params *p, int64_t t_us,
                            lq_hand *h);

/* Mean of the width and height of the bounding box of pts (x, y only). */
float lq_points_scale(const lq_point3 *pts, int n);

#endif
