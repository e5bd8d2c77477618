/*
 * segment_eval.h - nail-mask IoU of landmarks, segmentation and both fused,
 * cross-validated over the folds the network was trained with.
 *
 *   nail_seg_eval_opts o = NAIL_SEG_EVAL_OPTS_DEFAULT;
 *   o.images_dir = ".../nails/images"; o.masks_dir = ".../nails/masks";
 *   o.folds_dir = "assets/nailseg";                 // folds.json + fold{k}.tflite
 *   nail_seg_eval_result *r = calloc(1, sizeof *r);
 *   rc = nail_seg_eval_dataset(&o, hands_fn, ctx, r);
 *   r->mode[NAIL_SEG_EVAL_FUSED].mean_iou, r->fold_mean_iou[NAIL_SEG_EVAL_SEGMENT][k] ...
 *
 * K-fold honesty: with folds_dir, each image is scored only by the model of
 * the fold whose validation list (folds.json) holds it, i.e. by a model that
 * never trained on it; an image in no fold or in two is an error. The mean
 * over all images is then the cross-validated figure; misses count 0. With
 * model_path instead, one model scores every image (only honest on images
 * it did not train on).
 *
 * Per image, in one pass (the hands and the network run once):
 *   LANDMARKS    nail_locate's outlines (today's product without the network)
 *   SEGMENT      the blobs as nail outlines (nail_seg_blob_to_geom), no landmarks
 *   FUSED        nail_seg_find_nails (segment_frame.h): what the try-on
 *                pipeline paints on photos, with the same passes (by default
 *                the hands' region and a pass around each landmark nail, or
 *                without a hand the frame, then a pass around each nail
 *                found)
 *   SEGMENT_RAW  the network's thresholded mask itself (nail_seg_mask)
 *   OUTLINED     FUSED, then every visible nail's outline from the outline
 *                network (outline.h): what photos paint with that stage
 *   LANDMARKS_OUTLINED  LANDMARKS, then the outline network (no whole-frame
 *                network: what a tracked stream frame would cost)
 * The outline modes use <folds_dir>/outline_fold<k>.tflite for the images of
 * fold k (trained without them, scripts/train/train_outline.py), or
 * outline_path with model_path; with outline = 0 they repeat FUSED and
 * LANDMARKS.
 *
 * folds.json (assets/nailseg/LOADER_NOTES.md): {"folds": [{"val": [names]},
 * ...]} or {"folds": [[names], ...]} or {"0": [names], ...} / {"fold0": ...};
 * the list key may be val, validation, val_images, valid, files or images.
 *
 * Not for the frame path: reads files, allocates. Reentrant.
 */
#ifndef LQ_NAILS_SEGMENT_EVAL_H
#define LQ_NAILS_SEGMENT_EVAL_H

#include "base/error.h"
#include "nails/nail_eval.h"
#include "nails/outline.h"
#include "nails/segment.h"
#include "nails/segment_frame.h"
#include "nails/segment_fuse.h"

#define NAIL_SEG_FOLDS_MAX 10
#define NAIL_SEG_FOLDS_MAX_BYTES (1u << 20)   /* folds.json size cap */

typedef struct nail_seg_folds {
    int k;                                    /* number of folds */
    int nfiles;
    char file[NAIL_EVAL_MAX_IMAGES][128];
    int fold[NAIL_EVAL_MAX_IMAGES];           /* validation fold of file[i] */
} nail_seg_folds;

/* Reads a folds.json. LQ_ENOENT, LQ_ELIMIT (over the size cap, more than
 * NAIL_SEG_FOLDS_MAX folds or NAIL_EVAL_MAX_IMAGES files), LQ_EFORMAT
 * (unrecognised layout, a file in two folds; logged). */
int nail_seg_folds_load(const char *path, nail_seg_folds *out) LQ_NODISCARD;

/* Validation fold of a file name, or -1. */
int nail_seg_folds_find(const nail_seg_folds *f, const char *file);

enum nail_seg_eval_mode {
    NAIL_SEG_EVAL_LANDMARKS = 0,
    NAIL_SEG_EVAL_SEGMENT = 1,
    NAIL_SEG_EVAL_FUSED = 2,
    NAIL_SEG_EVAL_SEGMENT_RAW = 3,
    NAIL_SEG_EVAL_OUTLINED = 4,
    NAIL_SEG_EVAL_LANDMARKS_OUTLINED = 5,
    NAIL_SEG_EVAL_MODES = 6,
};

/* "landmarks", "segment", "fused", "segment_raw", "outlined", "landmarks_outlined". */
const char *nail_seg_eval_mode_name(int mode);

typedef struct nail_seg_eval_opts {
    const char *images_dir;
    const char *masks_dir;
    const char *overlay_dir;      /* overlays <file>.<mode>.png (nail_eval.h colours) */
    const char *folds_dir;        /* folds.json and fold{k}.tflite; or NULL and: */
    const char *model_path;       /* one model for every image */
    nail_locate_opts locate;
    nail_seg_blob_opts blobs;
    nail_seg_fuse_opts fuse;
    int hand_region;              /* 1: FUSED segments the tracked hands' region */
    int zoom;                     /* nail_seg_frame_opts.zoom (default: each nail, as the
                                     pipeline runs on photos) */
    float zoom_grow;              /* nail_seg_frame_opts.zoom_grow */
    unsigned flips_untracked;     /* nail_seg_frame_opts.flips_untracked (default none, as
                                     the pipeline runs on photos) */
    float zoom_grow_untracked;    /* nail_seg_frame_opts.zoom_grow_untracked */
    int partial;                  /* 1: images in no fold yet are left out (counted in
                                     left_out) instead of failing: for folds still being
                                     trained; the means then cover fewer images */
    int outline;                  /* 1: the outline modes run the outline network */
    const char *outline_path;     /* with model_path: the outline model for every image */
    nail_outline_opts outline_opts;
} nail_seg_eval_opts;

#define NAIL_SEG_EVAL_OPTS_DEFAULT                                             \
    {NULL, NULL, NULL, NULL, NULL, NAIL_LOCATE_OPTS_DEFAULT, NAIL_SEG_BLOB_OPTS_DEFAULT,      \
     NAIL_SEG_FUSE_OPTS_DEFAULT, 1, NAIL_SEG_ZOOM_EACH, 1.0f, 0, 1.5f, 0, 1, NULL,         \
     NAIL_OUTLINE_OPTS_DEFAULT}

typedef struct nail_seg_eval_result {
    nail_eval_result mode[NAIL_SEG_EVAL_MODES];  /* per[i] rows line up across modes */
    int folds;                                   /* 0 with model_path */
    int fold_of[NAIL_EVAL_MAX_IMAGES];           /* fold of per[i] (-1 with model_path) */
    int fold_images[NAIL_SEG_FOLDS_MAX];
    double fold_mean_iou[NAIL_SEG_EVAL_MODES][NAIL_SEG_FOLDS_MAX];
    double seg_ms_mean;                          /* nail_seg_run per image, one thread */
    double seg_ms_max;
    double fused_ms_mean;                        /* FUSED's network passes, blobs and fusion */
    double fused_ms_max;
    double outline_ms_mean;                      /* OUTLINED's outline stage per image */
    double outline_ms_max;
    int outline_nails;                           /* nails the outline stage fitted (OUTLINED) */
    int outline_kept;                            /* visible nails it left as they were */
    int outline_dropped;                         /* nails it hid (outline_opts.drop_unseen) */
    int fused_passes;                            /* network passes FUSED ran, all images */
    int fused_zoomed, fused_fell_back;           /* images FUSED zoomed on / fell back on */
    int in_w, in_h;                              /* the network's input size */
    int left_out;                                /* images in no fold (with partial) */
    /* Base-to-tip direction of elongated blobs at a tracked fingertip: how
     * often the rule used without landmarks agreed with DIP->TIP, [0] for
     * the context rule, [1] for the upright rule (or the network). */
    int dir_checked[2], dir_agree[2];
} nail_seg_eval_result;

/* Runs the evaluation. hands_fn may be NULL (no landmarks: LANDMARKS scores
 * nothing, FUSED = SEGMENT). Returns 0, LQ_EINVAL, a model's load error
 * (logged with its reason), folds.json's errors, LQ_EFORMAT when an image is
 * in no fold, or nail_eval_dataset_masks's errors. */
int nail_seg_eval_dataset(const nail_seg_eval_opts *o, nail_eval_hands_fn hands_fn, void *ud,
                          nail_seg_eval_result *res) LQ_NODISCARD;

#endif
