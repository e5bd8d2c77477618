/*
 * palm.h - MediaPipe's palm detector: letterbox, SSD decoding, weighted NMS,
 * letterbox removal, and the hand ROI a detection implies.
 *
 *   lq_palm_detector *pd;                         // one per thread
 *   lq_palm_detector_create(net, 1, &pd);         // net: palm_detection_*.tflite
 *   lq_palm_detection d[LQ_PALM_MAX_OUT];
 *   int n;
 *   lq_palm_detect(pd, &frame, 0.5f, d, LQ_PALM_MAX_OUT, &n, &timings);
 *   lq_hand_rect roi;
 *   lq_palm_to_rect(&d[0], frame.width, frame.height, &roi);   // for the landmark model
 *   lq_palm_detector_destroy(pd);
 *
 * The steps follow mediapipe/modules/palm_detection/palm_detection_cpu.pbtxt:
 * ImageToTensor (192x192, keep aspect ratio, [0,1], zero border), the model,
 * TensorsToDetections (2016 boxes, 18 coords: box x,y,w,h then 7 keypoints
 * x,y, each divided by 192 and scaled by its anchor; score = sigmoid of the
 * logit clipped to +-100; keep score >= min_score), NonMaxSuppression
 * (WEIGHTED, IoU > 0.3 merges), DetectionLetterboxRemoval. Then
 * palm_detection_detection_to_roi.pbtxt: rotation from keypoint 0 (wrist) to
 * keypoint 2 (middle finger MCP) made upright, scale 2.6, shift_y -0.5,
 * square on the long side.
 *
 * The decoding functions are pure and exposed for tests. The detector object
 * holds an XNNPACK runner and scratch buffers sized at creation, so detection
 * does not allocate. Thread-safety: one detector per thread; detectors on the
 * same net may run concurrently.
 */
#ifndef LQ_HAND_PALM_H
#define LQ_HAND_PALM_H

#include "base/error.h"
#include "hand/anchors.h"
#include "hand/hand.h"
#include "hand/roi.h"
#include "image/image.h"
#include "model/xgraph.h"

#define LQ_PALM_INPUT 192
#define LQ_PALM_KEYPOINTS 7
#define LQ_PALM_COORDS 18               /* 4 box + 7 keypoints x 2 */
#define LQ_PALM_MAX_OUT 16              /* detections kept after NMS */

typedef struct lq_palm_detection {
    lq_box box;                          /* normalized to the image (or the letterbox) */
    float kp[LQ_PALM_KEYPOINTS][2];      /* x, y normalized likewise */
    float score;                         /* sigmoid score */
} lq_palm_detection;

/* TensorsToDetectionsCalculator for the palm model. raw_boxes holds
 * num_boxes x 18 floats, raw_scores num_boxes logits, anchors num_boxes
 * entries. Writes the detections with score >= min_score (and non-negative
 * size), in anchor order, into out (at most cap) and returns how many. */
int lq_palm_decode(const float *raw_boxes, const float *raw_scores, const lq_ssd_anchor *anchors,
                   int num_boxes, float min_score, lq_palm_detection *out, int cap);

/* Weighted non-maximum suppression (NonMaxSuppressionCalculator, WEIGHTED,
 * INTERSECTION_OVER_UNION): detections are visited by decreasing score; each
 * one absorbs every remaining detection overlapping it by IoU > iou_thresh and
 * becomes their score-weighted average (box corners and keypoints; the score
 * stays the top one's). `order` is scratch space for n ints. Writes at most
 * cap results, by decreasing score, and returns how many. */
int lq_palm_nms_weighted(const lq_palm_detection *in, int n, float iou_thresh, int *order,
                         lq_palm_detection *out, int cap);

/* DetectionLetterboxRemovalCalculator: maps a detection on the letterboxed
 * square back to the unpadded image; pad_x/pad_y are the normalized padding
 * on each side (lq_affine_letterbox). */
void lq_palm_remove_letterbox(lq_palm_detection *d, float pad_x, float pad_y);

/* PalmDetectionDetectionToRoi: the landmark model's ROI for a detection on an
 * img_w x img_h image. */
void lq_palm_to_rect(const lq_palm_detection *d, int img_w, int img_h, lq_hand_rect *out);

typedef struct lq_palm_detector lq_palm_detector;

/* Checks that net looks like a palm detector (one 1x192x192x3 input, outputs
 * "Identity" 2016x18 and "Identity_1" 2016x1). Returns LQ_EFORMAT with a
 * reason in err otherwise. */
int lq_palm_net_check(const xg_net *net, char *err, size_t errlen) LQ_NODISCARD;

/* Creates a detector on net (which must outlive it). threads as
 * xg_runner_create. Errors: LQ_EFORMAT (wrong model), LQ_ENOMEM. */
int lq_palm_detector_create(const xg_net *net, int threads, lq_palm_detector **out) LQ_NODISCARD;
void lq_palm_detector_destroy(lq_palm_detector *d);

/* Detects palms on img. Writes up to cap detections (normalized to img, by
 * decreasing score) and their number into *n. Adds its time to t (palm_ms,
 * warp_ms) if t is not NULL. Errors: LQ_EINVAL (bad arguments or empty
 * image), LQ_EMODEL (inference failed); on error *n is 0. */
int lq_palm_detect(lq_palm_detector *d, const lq_image *img, float min_score,
                   lq_palm_detection *out, int cap, int *n, lq_hand_timings *t) LQ_NODISCARD;

#endif
