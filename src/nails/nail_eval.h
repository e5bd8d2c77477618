/*
 * nail_eval.h - score nail outlines against hand-drawn nail masks.
 *
 *   nail_eval_result *r = calloc(1, sizeof *r);
 *   nail_eval_opts eo = NAIL_EVAL_OPTS_DEFAULT;
 *   eo.images_dir = ".../nails/images";  eo.masks_dir = ".../nails/masks";
 *   rc = nail_eval_dataset(&eo, my_hands_fn, my_ctx, r);
 *   printf("mean IoU %.3f over %d images\n", r->mean_iou, r->images);
 *
 * For every image in images_dir (sorted by name; .jpg/.jpeg/.png/.webp) the
 * mask with the same file name in masks_dir is the truth (pixel > 127 = nail,
 * first channel). The caller's hands_fn supplies the hands for each image (our
 * own tracker, reference landmarks, ...); nail_locate finds the nails, their
 * natural outlines are rasterized (nail_geom_rasterize) and compared.
 *
 * Figures:
 *   mean_iou        mean over all images of the per-image IoU of the union of
 *                   outlines with the mask; an image where no nail is found
 *                   scores 0 (if its mask is empty too it scores 1);
 *   mean_iou_hand   the same mean over the images where hands_fn found a hand;
 *   precision, recall  pooled over all images' pixels (tp / (tp + fp), tp / (tp + fn));
 *   precision_hand, recall_hand  the same over the images with a hand.
 * The per-image rows are kept in ->per[] for reports.
 *
 * Not for the frame path: it reads files and allocates. Reentrant: calls may
 * run on several threads if their hands_fn contexts are distinct.
 */
#ifndef LQ_NAILS_NAIL_EVAL_H
#define LQ_NAILS_NAIL_EVAL_H

#include <stdint.h>

#include "base/error.h"
#include "hand/hand.h"
#include "image/image.h"
#include "nails/geometry.h"

#define NAIL_EVAL_MAX_IMAGES 256

/* Fills *out with the hands of `img` (file is the bare file name). Returns 0
 * (also when no hand is found: out->count = 0) or a negative LQ_E* code, which
 * aborts the evaluation. */
typedef int (*nail_eval_hands_fn)(void *ud, const char *file, const lq_image *img,
                                  lq_hands *out);

typedef struct nail_eval_opts {
    const char *images_dir;
    const char *masks_dir;
    nail_locate_opts locate;      /* how nails are found */
    const char *overlay_dir;      /* if set: writes <file>.png overlays there (green =
                                     mask, red = outline, yellow = both) */
} nail_eval_opts;

#define NAIL_EVAL_OPTS_DEFAULT {NULL, NULL, NAIL_LOCATE_OPTS_DEFAULT, NULL}

typedef struct nail_eval_image {
    char file[128];
    int hands;                    /* hands found */
    int nails;                    /* visible nails found */
    double iou, precision, recall;
    uint64_t tp, fp, fn;
    double locate_ms;             /* time spent in nail_locate */
} nail_eval_image;

typedef struct nail_eval_result {
    int images;                   /* images scored */
    int images_with_hand;
    int images_without_hand;
    double mean_iou;
    double mean_iou_hand;
    double precision, recall;
    double precision_hand, recall_hand;
    double locate_ms_mean;        /* mean nail_locate time per image with a hand */
    nail_eval_image per[NAIL_EVAL_MAX_IMAGES];
} nail_eval_result;

/* Compares a predicted 8-bit mask (w x h, pstride bytes a row, > 127 = nail)
 * with a truth image of the same size (first channel > 127 = nail) and adds
 * the pixel counts to *tp, *fp, *fn. LQ_EINVAL on a size mismatch. */
int nail_eval_compare(const uint8_t *pred, int pstride, const lq_image *truth, uint64_t *tp,
                      uint64_t *fp, uint64_t *fn) LQ_NODISCARD;

/* IoU from pixel counts; 1 when both masks are empty. */
double nail_eval_iou(uint64_t tp, uint64_t fp, uint64_t fn);

/* Runs the whole evaluation (see above). Returns 0, LQ_EINVAL (bad options),
 * LQ_ENOENT (a folder or a mask is missing), LQ_ELIMIT (more than
 * NAIL_EVAL_MAX_IMAGES images), a decoder error, or hands_fn's error. */
int nail_eval_dataset(const nail_eval_opts *opts, nail_eval_hands_fn hands_fn, void *ud,
                      nail_eval_result *res) LQ_NODISCARD;

/* Several predictions per image, made by the caller (e.g. landmarks only,
 * segmentation only, fused: see nails/segment_eval.h). For each image fn
 * fills pred[k] (img->width x img->height bytes, a row every img->width
 * bytes, zeroed before the call; > 127 = nail) for k < npred, and for each
 * k sets rows[k].hands (hands found: the image counts in the _hand figures
 * when > 0), rows[k].nails and rows[k].locate_ms (the time it spent); the
 * evaluation fills in the rest of the rows. Returns 0, 1 to leave this
 * image out (not scored, not counted), or a negative LQ_E* code, which
 * aborts the evaluation. */
typedef int (*nail_eval_masks_fn)(void *ud, const char *file, const lq_image *img, int npred,
                                  uint8_t *const *pred, nail_eval_image *rows);

#define NAIL_EVAL_MAX_PREDICTIONS 8

/* Like nail_eval_dataset, for npred (1..NAIL_EVAL_MAX_PREDICTIONS)
 * predictions at once into res[0..npred-1]; opts->locate is not used.
 * Overlays are written as <file>.<k>.png when npred > 1. Same returns. */
int nail_eval_dataset_masks(const nail_eval_opts *opts, nail_eval_masks_fn fn, void *ud,
                            int npred, nail_eval_result *res) LQ_NODISCARD;

/* Recomputes the means and pooled figures of res from res->per[0..images-1]
 * (after a caller changed or filtered rows). */
void nail_eval_summarize(nail_eval_result *res);

#endif
