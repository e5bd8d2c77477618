/*
 * outline.h - each nail's outline from a second network that sees only that
 * nail.
 *
 *   char err[256];
 *   nail_outline_model *m;                     // once, shared read-only
 *   if (nail_outline_model_load("assets/nailseg/outline.tflite", &m, err, sizeof err) < 0) ...;
 *   nail_outline *o;                           // one per worker thread
 *   if (nail_outline_create(m, &o) < 0) ...;
 *   per frame, after the nails are found (landmarks, segmentation, fusion):
 *       nail_outline_opts oo = NAIL_OUTLINE_OPTS_DEFAULT;
 *       int changed;
 *       rc = nail_outline_fit_all(o, &frame, nails, n, &oo, &changed);  // in place
 *   nail_outline_destroy(o); nail_outline_model_destroy(m);
 *
 * The whole-frame network (segment.h) finds nails, but sees a whole hand's
 * nail in 6-12 of its input pixels; landmarks place a nail but do not see
 * its edges. This network (scripts/train/nailoutline.py, model card in
 * assets/nailseg/MODEL_CARD.md) is given a crop centred on one nail's
 * current estimate, turned so that its axis runs down the crop and scaled
 * so that the crop's side is 2 x max(length, 1.2 x width):
 *   crop point (x, y) (pixel centres at i + 0.5) = C + s (x - S/2) P + s (y - S/2) A
 * with A the nail's axis, P = (-ay, ax), s = side / S frame pixels per crop
 * pixel; each crop pixel is the mean of k x k bilinear samples at its
 * sub-pixel centres, k = clamp(ceil(s), 1, 4), frame edges replicated.
 *   input   float32 [1,S,S,4]: RGB / 255, and the estimate's rounded plate
 *           (1 inside, both ends rounded by 0.9 x half the smaller side)
 *           centred upright in the crop
 *   output  float32 [1,S,S,1]: that nail's probability (S = 64 for ours)
 * The blob of the thresholded output that covers most of the estimate's
 * plate gives the new outline (segment.h's blob moments: centre, axis,
 * length and width of the rounded plate with the blob's area), mapped back
 * to the frame. Of the blob's two principal directions the one nearer the
 * estimate's axis becomes the axis (its sign kept), so a nail wider than
 * long keeps its direction. With fit_plate (the default) that plate is then
 * moved, in the crop, to the best soft IoU with the blob's cells: centre,
 * angle, length, width and both ends' roundness by coordinate search (the
 * moments assume one fixed roundness; real plates are not ellipses). The
 * estimate is kept (nothing written) when no blob covers it, or when the
 * blob's area is outside [min_area, max_area] x the estimate's plate or its
 * centre is more than max_shift lengths away.
 *
 * A model may be an ensemble of up to NAIL_OUTLINE_MAX_MEMBERS networks
 * with the same contract (nail_outline_model_add, _load_set): every member
 * sees the same crop and the blob is found in the mean of their outputs.
 *
 * Memory: every buffer is allocated by nail_outline_create; fitting never
 * allocates. Thread-safety: a model, once its members are added, is
 * immutable and shared; a nail_outline is used by one thread at a time.
 * Cost: one inference per nail and member (see docs/segmentation.md for the
 * measured figures), up to 16 bilinear passes over the 64 x 64 crop, and
 * with fit_plate up to 96 plate scores over the blob's cells.
 */
#ifndef LQ_NAILS_OUTLINE_H
#define LQ_NAILS_OUTLINE_H

#include <stddef.h>

#include "base/error.h"
#include "image/image.h"
#include "nails/geometry.h"

#define NAIL_OUTLINE_MAX_INPUT 256 /* model crop sides above this are refused */
#define NAIL_OUTLINE_CROP_EXT 2.0f /* crop side / max(length, NAIL_OUTLINE_WIDTH_K x width) */
#define NAIL_OUTLINE_WIDTH_K 1.2f
#define NAIL_OUTLINE_MAX_SUB 4 /* sub-samples per crop pixel and axis, at most */
#define NAIL_OUTLINE_PRIOR_ROUND 0.9f
#define NAIL_OUTLINE_MAX_MEMBERS 4 /* networks in one ensemble */

typedef struct nail_outline_model nail_outline_model;
typedef struct nail_outline nail_outline;

/* Loads and compiles a model file. Errors (message in err): LQ_ENOENT,
 * LQ_EFORMAT / LQ_EUNSUPPORTED (the loader's reason), LQ_EFORMAT when the
 * input is not [1,S,S,4] with 8 <= S <= NAIL_OUTLINE_MAX_INPUT or the
 * first output not [1,S,S,1], LQ_EMODEL (XNNPACK), LQ_ENOMEM. *out is
 * untouched on failure. */
int nail_outline_model_load(const char *path, nail_outline_model **out, char *err,
                            size_t errlen) LQ_NODISCARD;
void nail_outline_model_destroy(nail_outline_model *m);

/* Adds another network with the same contract and crop side to m (an
 * ensemble: fits average the members' outputs before finding the blob).
 * Call it before m is shared or runners are created from it (a runner keeps
 * the members m had when it was created). Errors as nail_outline_model_load
 * (message in err), LQ_EFORMAT for a different crop side, LQ_EINVAL when m
 * already has NAIL_OUTLINE_MAX_MEMBERS; m is unchanged on failure. */
int nail_outline_model_add(nail_outline_model *m, const char *path, char *err,
                           size_t errlen) LQ_NODISCARD;

/* nail_outline_model_load(path), then nail_outline_model_add for each of
 * its siblings path_b, path_c, ... (the suffix before the extension:
 * outline.tflite -> outline_b.tflite) that exist, in order, up to
 * NAIL_OUTLINE_MAX_MEMBERS. A sibling that exists but does not load fails
 * the whole load (a broken ensemble is not silently halved). */
int nail_outline_model_load_set(const char *path, nail_outline_model **out, char *err,
                                size_t errlen) LQ_NODISCARD;

/* The crop side S of the model, and its number of networks. */
int nail_outline_model_size(const nail_outline_model *m);
int nail_outline_model_members(const nail_outline_model *m);

/* A per-thread runner with its buffers; the model must outlive it.
 * LQ_EINVAL, LQ_ENOMEM, LQ_EMODEL. */
int nail_outline_create(const nail_outline_model *m, nail_outline **out) LQ_NODISCARD;
void nail_outline_destroy(nail_outline *o);

typedef struct nail_outline_opts {
    float threshold;   /* output probability that counts as nail (0.05..0.95) */
    float min_area;    /* keep the estimate when the blob's area is below this x the
                          estimate's plate area (0..1) */
    float max_area;    /* ... or above this (1..16) */
    float max_shift;   /* ... or its centre is further than this x the estimate's
                          length (0..4) */
    float min_size_px; /* nails whose length or width is below this are not fitted (1..64) */
    int iterations;    /* fits per nail, each from the previous one's outline (1..4) */
    int mirror;        /* 1: also run the crop mirrored across the axis and average the two
                          outputs (twice the inferences) */
    int drop_unseen;   /* 1: nail_outline_fit_all hides (visible = 0) nails found by the
                          segmentation network alone (hand < 0) whose crop shows no nail
                          (NAIL_OUTLINE_NO_NAIL): a false blob on skin or background */
    int fit_plate;     /* 1: after the moments, move the plate (centre, axis, length, width,
                          both ends' roundness) to the best soft IoU with the blob's
                          cells (a search of at most 96 plate scores per nail) */
    int max_members;   /* 0: every network of the model's ensemble; else at most this
                          many, the first ones (1..NAIL_OUTLINE_MAX_MEMBERS; streams
                          use 1: the members' cost adds up) */
} nail_outline_opts;

#define NAIL_OUTLINE_OPTS_DEFAULT                                                                  \
    {                                                                                              \
        0.5f, 0.25f, 4.0f, 1.0f, 4.0f, 1, 0, 0, 1, 0                                               \
    }

#define NAIL_OUTLINE_NO_NAIL 2 /* nail_outline_fit: no blob covers the estimate */

/* 0 if every field is in range, else LQ_EINVAL (and logs which field). */
int nail_outline_opts_validate(const nail_outline_opts *o) LQ_NODISCARD;

/* Fits one nail (opts->iterations times, each from the last outline, the
 * limits always against the first estimate): on success with a usable
 * blob, writes g's cx, cy, ax, ay, length and width (and with fit_plate
 * cuticle_round and tip_round; nothing else) and
 * returns 1; returns NAIL_OUTLINE_NO_NAIL when no blob of the first fit
 * covers the estimate, 0 when the estimate is kept for another reason (see
 * above); g is untouched in both cases; LQ_EINVAL (bad arguments or options, an
 * estimate that is not finite), LQ_EMODEL (inference failed). frame is RGB
 * of any size up to LQ_IMAGE_MAX_DIM. */
int nail_outline_fit(nail_outline *o, const lq_image *frame, nail_geom *g,
                     const nail_outline_opts *opts) LQ_NODISCARD;

/* nail_outline_fit on every visible nail of nails[0..n-1]; *changed (may be
 * NULL) counts the nails written; with opts->drop_unseen, nails with
 * hand < 0 that come back NAIL_OUTLINE_NO_NAIL get visible = 0. A nail whose
 * geometry is not finite is skipped (left as it is). LQ_EINVAL for bad
 * arguments or options; stops at the first inference error, LQ_EMODEL
 * (nails already fitted stay fitted). */
int nail_outline_fit_all(nail_outline *o, const lq_image *frame, nail_geom *nails, int n,
                         const nail_outline_opts *opts, int *changed) LQ_NODISCARD;

/* The last fit's network input (S x S x 4 floats; the first member's, after
 * the mirror when opts->mirror) and the output its blob was found in (S x S:
 * the members' mean, with the mirrored crop's averaged in when opts->mirror),
 * for tests and tools; NULL before the first fit. */
const float *nail_outline_last_input(const nail_outline *o);
const float *nail_outline_last_output(const nail_outline *o);

#endif
