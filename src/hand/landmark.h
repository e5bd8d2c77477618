/*
 * landmark.h - MediaPipe's hand landmark model on one rotated ROI.
 *
 *   lq_landmarker *lm;                              // one per thread
 *   lq_landmarker_create(net, 1, &lm);              // net: hand_landmark_*.tflite
 *   lq_hand h;
 *   lq_landmark_run(lm, &frame, &roi, &h, &timings);
 *   if (h.presence > 0.5f) { ...h.lm[LQ_LM_INDEX_TIP]... }
 *   lq_hand_rect next;
 *   lq_landmarks_to_rect(&h, frame.width, frame.height, &next);  // ROI for the next frame
 *   lq_landmarker_destroy(lm);
 *
 * Follows mediapipe/modules/hand_landmark/hand_landmark_cpu.pbtxt: the ROI is
 * padded to the model's square aspect (keep_aspect_ratio), warped in one
 * bilinear pass from the RGB8 frame into the 224x224 float input ([0,1],
 * replicated border), and the outputs are decoded as TensorsToLandmarks
 * (x, y / 224; z / 224 / 0.4), LandmarkLetterboxRemoval, LandmarkProjection
 * (rotate by the ROI rotation, scale by its size; z scaled like x) and
 * WorldLandmarkProjection (world x, y rotated by the ROI rotation). The
 * presence and handedness outputs are probabilities already: both models end
 * them with a LOGISTIC op, and the graph applies no further activation
 * (presence must exceed the threshold, 0.5 by default). Handedness is
 * P("Left"), MediaPipe's label for the subject's right hand on an unmirrored
 * frame (see hand.h).
 *
 * lq_landmarks_to_rect is hand_landmark_landmarks_to_roi.pbtxt:
 * HandLandmarksToRectCalculator (rotation from the wrist to the mean of the
 * index/ring MCPs and the middle MCP, extent of landmarks 0,1,2,3,5,6,9,10,
 * 13,14,17,18 in the rotated frame) then RectTransformation scale 2.0,
 * shift_y -0.1, square on the long side.
 *
 * Thread-safety: decoding functions are pure; a landmarker is used by one
 * thread at a time; landmarkers on one net may run concurrently.
 */
#ifndef LQ_HAND_LANDMARK_H
#define LQ_HAND_LANDMARK_H

#include "base/error.h"
#include "hand/hand.h"
#include "image/image.h"
#include "model/xgraph.h"

#define LQ_LANDMARK_INPUT 224

/* Decodes raw model outputs for a hand seen through roi on an img_w x img_h
 * frame into out (lm in pixels, world in metres, presence, handedness, roi).
 * raw_lm and raw_world hold 21 x 3 floats. Leaves detection_score and
 * track_id untouched. */
void lq_landmark_decode(const float *raw_lm, const float *raw_world, float presence,
                        float handedness_left, const lq_hand_rect *roi, int img_w, int img_h,
                        lq_hand *out);

/* The ROI for the next frame from a hand's landmarks (see above). */
void lq_landmarks_to_rect(const lq_hand *h, int img_w, int img_h, lq_hand_rect *out);

/* The ROI actually sampled: roi in pixels, padded to the model's square aspect
 * as ImageToTensorCalculator does; pad_x/pad_y receive the normalized padding
 * per side. Returns the rect in pixels via cx, cy, w, h (rotation unchanged). */
void lq_landmark_padded_roi(const lq_hand_rect *roi, int img_w, int img_h, float *cx, float *cy,
                            float *w, float *h, float *pad_x, float *pad_y);

/* 1 if b looks like a second copy of hand a (two ROIs on one hand), by the
 * rule of MediaPipe Tasks' HandLandmarksDeduplicationCalculator: at least 10
 * of the 21 landmarks closer than 0.2 x the larger "baseline" (longest side
 * of the wrist / index MCP / pinky MCP triangle) and landmark bounding boxes
 * overlapping with IoU > 0.2. */
int lq_hands_duplicate(const lq_hand *a, const lq_hand *b);

typedef struct lq_landmarker lq_landmarker;

/* Checks that net looks like a hand landmark model (input 1x224x224x3;
 * outputs Identity 63, Identity_1 1, Identity_2 1, Identity_3 63). */
int lq_landmark_net_check(const xg_net *net, char *err, size_t errlen) LQ_NODISCARD;

int lq_landmarker_create(const xg_net *net, int threads, lq_landmarker **out) LQ_NODISCARD;
void lq_landmarker_destroy(lq_landmarker *l);

/* Runs the model on roi (normalized, w and h > 0) of img and decodes into
 * out, whatever the presence score (the caller applies its threshold). Adds
 * landmark_ms and warp_ms to t if not NULL. Errors: LQ_EINVAL (bad arguments,
 * empty or non-finite ROI), LQ_EMODEL; on error *out is untouched. */
int lq_landmark_run(lq_landmarker *l, const lq_image *img, const lq_hand_rect *roi, lq_hand *out,
                    lq_hand_timings *t) LQ_NODISCARD;

#endif
