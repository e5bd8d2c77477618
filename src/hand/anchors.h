/*
 * anchors.h - SSD anchor boxes, generated as MediaPipe's SsdAnchorsCalculator does.
 *
 *   lq_ssd_anchor a[LQ_PALM_NUM_ANCHORS];
 *   int n;
 *   lq_ssd_anchor_opts o = lq_palm_anchor_opts();
 *   if (lq_ssd_anchors_generate(&o, a, LQ_PALM_NUM_ANCHORS, &n) == 0) ... n == 2016
 *
 * Only the non-multiscale path of the calculator is implemented (the one the
 * palm detector uses): layers with equal strides are merged, anchors are laid
 * out row-major per feature map with all aspect ratios of a cell together,
 * coordinates normalized to [0,1] of the input size.
 *
 * Thread-safety: pure functions, reentrant.
 */
#ifndef LQ_HAND_ANCHORS_H
#define LQ_HAND_ANCHORS_H

#include "base/error.h"

#define LQ_SSD_MAX_LAYERS 8
#define LQ_SSD_MAX_ASPECTS 8
#define LQ_PALM_NUM_ANCHORS 2016

typedef struct lq_ssd_anchor {
    float x_center, y_center, w, h;   /* normalized to the model input */
} lq_ssd_anchor;

typedef struct lq_ssd_anchor_opts {
    int num_layers;
    float min_scale, max_scale;
    int input_w, input_h;
    float offset_x, offset_y;
    int strides[LQ_SSD_MAX_LAYERS];        /* num_layers entries */
    float aspect_ratios[LQ_SSD_MAX_ASPECTS];
    int num_aspect_ratios;
    float interpolated_scale_aspect_ratio; /* 0 = none (MediaPipe's default is 1.0) */
    int reduce_boxes_in_lowest_layer;
    int fixed_anchor_size;                 /* 1: every anchor has w = h = 1 */
} lq_ssd_anchor_opts;

/* The options of mediapipe/modules/palm_detection/palm_detection_cpu.pbtxt:
 * 4 layers, scales 0.1484375..0.75, 192x192, offsets 0.5, strides 8,16,16,16,
 * aspect ratio 1.0, fixed anchor size. The proto default of
 * interpolated_scale_aspect_ratio (1.0) applies, adding one anchor per layer:
 * 24*24*2 + 12*12*6 = 2016. */
lq_ssd_anchor_opts lq_palm_anchor_opts(void);

/* Number of anchors the options produce, or LQ_EINVAL for invalid options
 * (layers, strides, sizes out of range). */
int lq_ssd_anchors_count(const lq_ssd_anchor_opts *o) LQ_NODISCARD;

/* Writes the anchors into out (cap entries) and their number into *n.
 * Returns LQ_EINVAL for invalid options, LQ_ELIMIT if cap is too small (then
 * nothing is written). */
int lq_ssd_anchors_generate(const lq_ssd_anchor_opts *o, lq_ssd_anchor *out, int cap,
                            int *n) LQ_NODISCARD;

#endif
