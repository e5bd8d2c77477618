/*
 * refine.h - fit each nail's natural outline to the pixels around its
 * landmark prediction.
 *
 *   nail_refine_opts ro = NAIL_REFINE_OPTS_DEFAULT;
 *   rc = nail_refine(frame, nails, n, &ro);     // adjusts nails[i] in place
 *
 * Landmarks put a nail roughly in the right place, but a few pixels of
 * landmark error or an unusual nail size leave polish on the skin. For each
 * nail, refinement samples a grid in the nail's own frame around the
 * prediction (at most NAIL_REFINE_GRID_U x _V points, about one per pixel for
 * small nails, whatever the frame size), learns local colour models (a
 * Gaussian in RGB each for the plate, from the prediction's core; the skin
 * behind the cuticle; and the background beyond the free edge and far beside
 * the finger, each refitted without its outliers), and scores every sample
 * with the log-likelihood ratio of Fisher's linear discriminant, plate
 * against skin and plate against background (a sample must beat both). It
 * then searches the rounded outline's cuticle, free edge and both sides
 * (coordinate descent, coarse then fine, over row-wise prefix sums: one
 * candidate costs one pass over its rows) for the highest total score minus a
 * quadratic pull toward the prediction (centre shift in half-sizes, log size
 * change). Since the scores are likelihood ratios, a crisp plate moves the
 * outline further from the prediction than a faint one. The colour models
 * are re-learned from the fitted outline and the search repeated
 * (`iterations` times). The axis direction is kept.
 *
 * A nail seen obliquely (facing below 0.6: a thumb turned sideways, a
 * curled finger) has a less certain width: its width prior is up to 2.5x
 * looser and it may shrink up to 2.5x further than max_scale allows (never
 * grow further), so that a side view's sliver of a plate is not painted as
 * a face-on nail.
 *
 * The fit replaces cx, cy, width and length, sets fit (0..1, from the contrast
 * k between the plate and the skin behind it in log-likelihood units:
 * k / (k + 6)) and scales confidence by 0.4 + 0.6 fit. When the colour
 * evidence is too weak (flat skin, blur, a nail mostly outside the frame) the
 * prediction is kept and fit is 0.
 *
 * Measured on the 18 annotated photos with hands (reference landmarks): mean
 * per-image IoU 0.53 from landmarks alone, 0.58 after refinement (see
 * nail_eval.h and tests/unit/nails/test_nail_eval.c).
 *
 * Cost: independent of the frame size; at most ~800 samples and a few hundred
 * candidate outlines per nail (about 0.05 ms on one core). No allocation
 * (about 30 KB of stack per call). Reentrant; thread-safe on distinct nails.
 */
#ifndef LQ_NAILS_REFINE_H
#define LQ_NAILS_REFINE_H

#include "base/error.h"
#include "image/image.h"
#include "nails/geometry.h"

#define NAIL_REFINE_GRID_U 32   /* samples along the axis */
#define NAIL_REFINE_GRID_V 24   /* samples across the axis */

typedef struct nail_refine_opts {
    float search;        /* max centre shift, fraction of the predicted length/width (0..1) */
    float max_scale;     /* length and width may grow or shrink by this factor (1..3) */
    float prior_weight;  /* pull toward the prediction, 0 = none (0..10) */
    int iterations;      /* colour-model re-estimations (1..4) */
} nail_refine_opts;

#define NAIL_REFINE_OPTS_DEFAULT {0.45f, 1.6f, 4.0f, 2}

/* 0 if every field is in range, else LQ_EINVAL (and logs which field). */
int nail_refine_opts_validate(const nail_refine_opts *o) LQ_NODISCARD;

/* Refines nails[0..n-1] in place from frame (nails that are not visible or
 * whose fields are not finite are left alone). Returns 0, or LQ_EINVAL for
 * NULL pointers, an empty frame, n < 0 or invalid opts (nails untouched). */
int nail_refine(const lq_image *frame, nail_geom *nails, int n,
                const nail_refine_opts *opts) LQ_NODISCARD;

#endif
