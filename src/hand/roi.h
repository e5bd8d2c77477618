/*
 * roi.h - rectangle geometry shared by the palm detector, the landmark model
 * and the tracker, following MediaPipe's calculators to the letter.
 *
 *   lq_hand_rect r = {0.5f, 0.5f, 0.2f, 0.3f, 0.0f};
 *   lq_rect_transform_opts t = {.scale_x = 2.0f, .scale_y = 2.0f, .shift_y = -0.1f,
 *                               .square_long = 1};
 *   lq_rect_transform(&r, 640, 480, &t);
 *
 * Rectangles are normalized (see lq_hand_rect in hand.h). Rotations and the
 * "square" options are evaluated in pixels, which is why the image size is
 * passed: on a 640x480 frame a square ROI has w = 0.75 * h.
 *
 * Thread-safety: pure functions, reentrant.
 */
#ifndef LQ_HAND_ROI_H
#define LQ_HAND_ROI_H

#include "hand/hand.h"

/* Axis-aligned box in normalized coordinates (MediaPipe's RelativeBoundingBox). */
typedef struct lq_box {
    float xmin, ymin, w, h;
} lq_box;

/* RectTransformationCalculator options (rotation overrides not supported). */
typedef struct lq_rect_transform_opts {
    float scale_x, scale_y;
    float shift_x, shift_y;      /* fractions of the rect size, along its rotated axes */
    int square_long;             /* make it square in pixels, on the long side */
} lq_rect_transform_opts;

/* Wraps an angle into [-pi, pi) as MediaPipe's NormalizeRadians. */
float lq_normalize_radians(float angle);

/* RectTransformationCalculator::TransformNormalizedRect on r, in place.
 * img_w, img_h > 0. */
void lq_rect_transform(lq_hand_rect *r, int img_w, int img_h, const lq_rect_transform_opts *t);

/* Intersection over union of two boxes, 0 if they do not intersect
 * (MediaPipe's CalculateIou / NMS INTERSECTION_OVER_UNION). */
float lq_box_iou(const lq_box *a, const lq_box *b);

/* IoU of two rects' axis-aligned extents, rotation ignored, as
 * AssociationNormRectCalculator compares them. */
float lq_rect_iou(const lq_hand_rect *a, const lq_hand_rect *b);

/* Rotation that turns the vector (x0,y0)->(x1,y1), in pixels, to point up
 * (MediaPipe: target angle 90 degrees, i.e. NormalizeRadians(pi/2 - atan2(-(y1-y0), x1-x0))). */
float lq_rotation_to_upright(float x0, float y0, float x1, float y1);

#endif
