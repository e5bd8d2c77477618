/*
 * segment.h - nails found by our own segmentation network, without landmarks.
 *
 *   char err[256];
 *   nail_seg_model *m;                                   // once, shared read-only
 *   if (nail_seg_model_load("assets/nailseg/nailseg.tflite", &m, err, sizeof err) < 0) ...;
 *   nail_seg *s;                                         // one per worker thread
 *   if (nail_seg_create(m, &s) < 0) ...;
 *   per frame:
 *       nail_seg_blob b[NAIL_SEG_MAX_BLOBS]; int nb;
 *       nail_seg_blob_opts bo = NAIL_SEG_BLOB_OPTS_DEFAULT;
 *       if (nail_seg_run(s, &frame) == 0 &&
 *           nail_seg_blobs(s, &frame, &bo, b, NAIL_SEG_MAX_BLOBS, &nb) == 0) ...
 *       nail_seg_mask(s, mask, w, h, w);      // the kept blobs at frame resolution
 *   nail_seg_destroy(s); nail_seg_model_destroy(m);
 *
 * The model (assets/nailseg/MODEL_CARD.md) is a fully convolutional network
 * run through our TFLite loader on XNNPACK (model/xgraph.h), one thread:
 *   input   float32 [1,H,W,3], RGB / 255 (H, W from the file: 240 x 320 for
 *           ours). The frame is scaled keeping its aspect ratio and
 *           letterboxed, centred, zero padded. A portrait frame runs
 *           through the model's portrait companion ([1,W,H,3], same
 *           weights) when there is one; else (the loader has no
 *           input-shape override) it is turned a quarter turn first (input
 *           x = frame y, input y = W - frame x) and fills the input as a
 *           landscape frame would; the network is trained on all
 *           rotations. Every output is turned back, so maps, blobs and
 *           masks are always in the frame's orientation.
 *           Downscales by at most 2x are sampled bilinearly straight into
 *           the input tensor (exactly the 2x2 mean at 640x480 -> 320x240);
 *           larger ones are area-averaged first.
 *   output  float32 [1,h,w,1], nail probability after LOGISTIC, with
 *           W / w = H / h an integer (2 for ours: a 160 x 120 map).
 *           An optional output [1,h,w,2] is read as a base-to-tip direction
 *           field (x right, y down); other extra outputs are ignored.
 *
 * Blobs: connected components (4-neighbour) of the probability map at the
 * threshold, smaller than min_area_px frame pixels or min_rel_area of the
 * largest blob dropped, the largest max_blobs kept (at most
 * NAIL_SEG_MAX_BLOBS). Each blob gets its centre and
 * principal axis from the second moments of its cells (in frame pixels), a
 * width and length from the moments scaled so that the nail outline of
 * geometry.h with those sizes has the blob's area, and its mean probability
 * as confidence. Its base-to-tip sign (see nail_seg_blob.dir_source):
 *   1. the network's direction output, when it has one;
 *   2. else, when the axis leaves the frame at one end only (half a length
 *      and half a width past the blob's centre), that end is the base: the
 *      finger enters from that edge;
 *   3. else the tip points up the image (on the shared hand photos this
 *      agreed with the landmarks' DIP->TIP on 28 of 46 blobs: a weak rule;
 *      a colour rule comparing the skin past each end did no better than
 *      chance and was dropped).
 * A caller with landmarks should override the sign (segment_fuse.h does).
 *
 * Memory: every buffer is allocated by nail_seg_create; nail_seg_run
 * allocates only when a frame must be shrunk by more than 2x (the area
 * filter's row scratch), nail_seg_blobs and nail_seg_mask never.
 * Thread-safety: a model is immutable and shared; a nail_seg is used by one
 * thread at a time. Failure leaves outputs untouched.
 */
#ifndef LQ_NAILS_SEGMENT_H
#define LQ_NAILS_SEGMENT_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "image/image.h"
#include "nails/geometry.h"

#define NAIL_SEG_MAX_BLOBS 16
#define NAIL_SEG_MAX_INPUT_DIM 1024 /* model input sides above this are refused */

typedef struct nail_seg_model nail_seg_model;
typedef struct nail_seg nail_seg;

/* Loads and compiles a model file, and its portrait companion when the file
 * "<name>_portrait.tflite" sits beside "<name>.tflite" (the same weights for
 * the transposed input, as the trainer exports them): frames whose
 * orientation matches it run through it instead of being turned. A
 * companion that does not load or fit is ignored with a warning. Errors (message in err): LQ_ENOENT (no
 * such file), LQ_EFORMAT / LQ_EUNSUPPORTED (the loader's reason, naming the
 * table and offset or the operator), LQ_EFORMAT when the input is not
 * [1,H,W,3] float32 with 8 <= H, W <= NAIL_SEG_MAX_INPUT_DIM or no output is
 * [1,h,w,1] with W/w = H/h a whole number, LQ_ENOMEM. *out is untouched on
 * failure. */
int nail_seg_model_load(const char *path, nail_seg_model **out, char *err,
                        size_t errlen) LQ_NODISCARD;
void nail_seg_model_destroy(nail_seg_model *m);

/* Model input and output sizes (for reports). */
void nail_seg_model_sizes(const nail_seg_model *m, int *in_w, int *in_h, int *out_w, int *out_h);
/* 1 if the model has a direction output. */
int nail_seg_model_has_direction(const nail_seg_model *m);
/* 1 if a portrait companion was loaded (see nail_seg_model_load). */
int nail_seg_model_has_portrait(const nail_seg_model *m);

/* The landscape input size of the runner's model (nail_seg_model_sizes). */
void nail_seg_input_size(const nail_seg *s, int *in_w, int *in_h);

/* A per-thread runner with all its buffers. The model must outlive it.
 * LQ_EINVAL, LQ_ENOMEM, LQ_EMODEL (XNNPACK refused). */
int nail_seg_create(const nail_seg_model *m, nail_seg **out) LQ_NODISCARD;
void nail_seg_destroy(nail_seg *s);

/* Runs the network on an RGB frame (any size up to LQ_IMAGE_MAX_DIM).
 * LQ_EINVAL for a bad frame, LQ_ENOMEM, LQ_EMODEL if inference failed. The
 * probability map and the frame geometry are kept until the next run. */
int nail_seg_run(nail_seg *s, const lq_image *frame) LQ_NODISCARD;

/* Runs the network on the region [x0, x0 + w) x [y0, y0 + h) of frame only
 * (e.g. around the tracked hands: their nails get more of the input's
 * pixels); blobs, masks and coordinates are in frame pixels as after
 * nail_seg_run, and the frame of this run is the whole frame. LQ_EINVAL for
 * a region outside the frame; else as nail_seg_run. */
int nail_seg_run_region(nail_seg *s, const lq_image *frame, int x0, int y0, int w,
                        int h) LQ_NODISCARD;

/* Test-time flips: every later nail_seg_run / nail_seg_run_region also
 * runs the network on the flipped input (NAIL_SEG_FLIP_H: mirrored left to
 * right, NAIL_SEG_FLIP_V: upside down, NAIL_SEG_FLIP_HV: both, i.e. turned
 * half a turn; any combination of the three bits) and averages the
 * probability maps, each flipped back: one more inference per bit. 0 (the
 * default) turns them off. The network is trained on mirrored and turned
 * crops, so its errors on the flipped input are partly independent; on the
 * cross-validated photos without a hand all three raise the mean IoU from
 * 0.695 to 0.718 (docs/segmentation.md). Allocates the input copy on the
 * first call that turns flips on. LQ_EINVAL (bits outside the three),
 * LQ_EUNSUPPORTED (the model has a direction output: its vectors would
 * need flipping too), LQ_ENOMEM. */
#define NAIL_SEG_FLIP_H 1u
#define NAIL_SEG_FLIP_V 2u
#define NAIL_SEG_FLIP_HV 4u
int nail_seg_set_flips(nail_seg *s, unsigned flips) LQ_NODISCARD;

/* The last run's probability map in the frame's orientation (row-major,
 * *w x *h floats, 0..1; a portrait frame's map is out_h wide); NULL before
 * the first run. */
const float *nail_seg_prob(const nail_seg *s, int *w, int *h);

/* Maps frame pixel coordinates to probability-map coordinates (continuous,
 * cell (i, j) covers [i, i+1) x [j, j+1)) and back, for the last run. */
void nail_seg_frame_to_map(const nail_seg *s, float x, float y, float *mx, float *my);
void nail_seg_map_to_frame(const nail_seg *s, float mx, float my, float *x, float *y);

enum nail_seg_dir_source {
    NAIL_SEG_DIR_NETWORK = 0,   /* the network's direction output */
    NAIL_SEG_DIR_CONTEXT = 1,   /* the axis leaves the frame at the base end */
    NAIL_SEG_DIR_UPRIGHT = 2,   /* ambiguous: tip toward the top of the image */
    NAIL_SEG_DIR_LANDMARKS = 3, /* set by a caller from the hand landmarks */
};

typedef struct nail_seg_blob {
    float cx, cy;          /* centre, frame pixels */
    float ax, ay;          /* unit principal axis, base -> tip */
    float length, width;   /* along / across the axis, frame pixels */
    float area;            /* frame pixels */
    float elongation;      /* sqrt(major / minor variance), >= 1 */
    float confidence;      /* mean probability over the blob's cells */
    int dir_source;        /* enum nail_seg_dir_source */
    int label;             /* 1..n: the blob's id in the last nail_seg_blobs call */
    int x0, y0, x1, y1;    /* bounding box in frame pixels, [x0, x1) x [y0, y1) */
} nail_seg_blob;

typedef struct nail_seg_blob_opts {
    float threshold;       /* cells with probability >= this are nail (0..1) */
    float min_area_px;     /* smaller blobs (frame pixels) are dropped */
    int max_blobs;         /* keep the largest this many (1..NAIL_SEG_MAX_BLOBS) */
    float min_rel_area;    /* drop blobs under this fraction of the largest one's area
                              (0..1; a photo's nails differ in area by 2-3x, specks more) */
} nail_seg_blob_opts;

#define NAIL_SEG_BLOB_OPTS_DEFAULT {0.5f, 24.0f, NAIL_SEG_MAX_BLOBS, 0.12f}

/* 0 if every field is in range, else LQ_EINVAL (and logs which field). */
int nail_seg_blob_opts_validate(const nail_seg_blob_opts *o) LQ_NODISCARD;

/* Blobs of the last run, largest first; frame is the frame of that run (for
 * the direction heuristic; may be NULL: then only rules 1 and 3). Returns 0
 * (also with *n = 0), LQ_EINVAL (bad options, no run yet, frame size not
 * that of the run). */
int nail_seg_blobs(nail_seg *s, const lq_image *frame, const nail_seg_blob_opts *o,
                   nail_seg_blob *out, int cap, int *n) LQ_NODISCARD;

/* Writes the kept blobs of the last nail_seg_blobs call at frame resolution
 * into an 8-bit mask (255 = nail): the probability map sampled bilinearly
 * at each pixel centre, at the blobs' threshold, restricted to the cells of
 * kept blobs (and their neighbours, so edges stay smooth). label = 0 writes
 * every kept blob, else only that one. The mask is cleared first. LQ_EINVAL
 * if w x h is not the run's frame size, stride < w, or no blobs call yet. */
int nail_seg_mask(const nail_seg *s, int label, uint8_t *mask, int w, int h,
                  int stride) LQ_NODISCARD;

/* The blob finder on its own, for any probability map (tests, tools): w x h
 * floats at prob; labels and queue are caller scratch of w * h ints each;
 * cell (i, j) is mapped to frame pixels as x = cell_x * (i + 0.5) + ox,
 * y = cell_y * (j + 0.5) + oy (cell sizes in frame pixels). Blob labels
 * written to labels[] are 1..*n (0 = background or dropped). No direction
 * resolution: the axis sign is the upright rule. Same returns as above. */
int nail_seg_find_blobs(const float *prob, int w, int h, float cell_x, float cell_y, float ox,
                        float oy,
                        const nail_seg_blob_opts *o, int *labels, int *queue,
                        nail_seg_blob *out, int cap, int *n) LQ_NODISCARD;

/* A nail frame (geometry.h) for a blob: its centre, axis, width and length,
 * confidence, visible = 1, facing 1, fit -1, hand / track_id / finger -1
 * (the caller fills what it knows). The outline is the blob's: a rounded
 * plate (cuticle_round 0.8, tip_round 1). */
void nail_seg_blob_to_geom(const nail_seg_blob *b, nail_geom *g);

#endif
