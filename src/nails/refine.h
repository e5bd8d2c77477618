/*
 * refine.h - fit each nail's natural outline to the pixels around its
 * landmark prediction.
 *
 *   nail_refine_opts ro = NAIL_REFINE_OPTS_DEFAULT;
 *   rc = nail_refine(frame, nails, n, &ro);     // adjusts nails[i] in place
 *
 * Landmarks put a nail roughly in the right place, but a few pixels of
 * landmark error or an unusual nail size leave polish on the skin. For each
 * nail, refinement samples a fixed grid (NAIL_REFINE_GRID_U x _V points,
 * whatever the nail's size) in the nail's own frame around the prediction,
 * learns a local two-class colour model (a full-covariance Gaussian in RGB for
 * the plate, from the prediction's core, and one for the skin behind the
 * cuticle and beside the plate; anything unlike both counts as not-nail, so a
 * background beyond the free edge does not pull the outline out), scores
 * every sample with the log-likelihood ratio, and then searches the rounded
 * outline's cuticle, free edge and both sides (coordinate descent over
 * row-wise prefix sums, so one candidate costs one pass over the rows) for
 * the highest total score, with a pull toward the prediction. The colour
 * models are re-learned from the fitted outline and the search repeated
 * (`iterations` times). The axis direction is kept.
 *
 * The fit replaces cx, cy, width and length, sets fit (0..1, from the contrast
 * between the plate and its surroundings) and scales confidence by it. When
 * the colour evidence is too weak (flat skin, blur, a nail outside the frame)
 * the prediction is kept and fit is 0.
 *
 * Cost: independent of the frame size; about 2k samples and a few thousand
 * row passes per nail. No allocation (about 40 KB of stack per call).
 * Reentrant; thread-safe on distinct nails.
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

#define NAIL_REFINE_OPTS_DEFAULT {0.45f, 1.6f, 1.0f, 2}

/* 0 if every field is in range, else LQ_EINVAL (and logs which field). */
int nail_refine_opts_validate(const nail_refine_opts *o) LQ_NODISCARD;

/* Refines nails[0..n-1] in place from frame (nails that are not visible or
 * whose fields are not finite are left alone). Returns 0, or LQ_EINVAL for
 * NULL pointers, an empty frame, n < 0 or invalid opts (nails untouched). */
int nail_refine(const lq_image *frame, nail_geom *nails, int n,
                const nail_refine_opts *opts) LQ_NODISCARD;

#endif
