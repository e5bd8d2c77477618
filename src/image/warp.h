/*
 * warp.h - geometric transforms from an RGB8 frame into model input tensors.
 *
 * An affine map M (2x3, row-major) takes OUTPUT pixel coordinates to SOURCE
 * pixel coordinates:  src_x = m[0]*x + m[1]*y + m[2],  src_y = m[3]*x + m[4]*y + m[5],
 * sampled at pixel centres (output pixel (x,y) is evaluated at (x+0.5, y+0.5)
 * in continuous coordinates, and source pixel (i,j) covers [i,i+1)x[j,j+1)).
 * Sampling is bilinear; samples outside the source read as 0 (BORDER_ZERO) or
 * the nearest edge pixel (BORDER_REPLICATE).
 *
 * The float output is NHWC (batch 1), 3 channels, value = byte * scale + bias
 * (scale 1/255, bias 0 gives [0,1]). One pass, no intermediate image.
 *
 * Thread-safety: reentrant, no shared state.
 */
#ifndef LQ_IMAGE_WARP_H
#define LQ_IMAGE_WARP_H

#include "image/image.h"

typedef enum lq_border { LQ_BORDER_ZERO = 0, LQ_BORDER_REPLICATE = 1 } lq_border;

typedef struct lq_affine {
    float m[6];
} lq_affine;

/* Warps src through M into a out_w x out_h float RGB tensor at out (room for
 * out_w*out_h*3 floats). Samples of BORDER_ZERO outside the source are byte 0,
 * i.e. `bias`. Far-away or non-finite source positions are sampled as
 * outside. Does nothing if M or out is NULL or a size is not positive; an
 * empty src (no pixels) fills the tensor with `bias`. */
void lq_warp_affine_to_tensor(const lq_image *src, const lq_affine *M, int out_w, int out_h,
                              float scale, float bias, lq_border border, float *out);

/* Same, into an RGB8 image (out must be allocated with the output size; the
 * bilinear value is rounded to nearest). An empty src gives a black image. */
void lq_warp_affine_to_image(const lq_image *src, const lq_affine *M, lq_border border,
                             lq_image *out);

/* The affine map of an aspect-preserving letterbox of a src_w x src_h frame
 * into a size x size square, centred, with the padding on the short side.
 * pad_x/pad_y receive the normalised padding on each side (MediaPipe's
 * LETTERBOX_PADDING: left=right=pad_x, top=bottom=pad_y), used to map
 * detections back. The map is lq_affine_roi of the whole frame padded to a
 * square (MediaPipe's PadRoi). pad_x/pad_y may be NULL. Non-positive sizes
 * give the identity and zero pads. */
lq_affine lq_affine_letterbox(int src_w, int src_h, int size, float *pad_x, float *pad_y);

/* The affine map for a rotated rectangle ROI in the source (centre cx,cy in
 * pixels, width w and height h in pixels, rotation r in radians as in
 * MediaPipe's NormalizedRect) sampled into out_w x out_h. The output's x axis
 * runs along (cos r, sin r) in source pixels (y down), its y axis along
 * (-sin r, cos r): output (u,v) in [0,1]^2 maps to
 *   src = (cx,cy) + w*(u-0.5)*(cos r, sin r) + h*(v-0.5)*(-sin r, cos r),
 * which is MediaPipe's GetRotatedSubRectToRectTransformMatrix (in pixels
 * instead of normalised units). Output pixel (x,y) is at u = x/out_w, so a
 * warp through this map samples the centres u = (x+0.5)/out_w. Non-positive
 * output sizes give the identity. */
lq_affine lq_affine_roi(float cx, float cy, float w, float h, float rotation, int out_w,
                        int out_h);

/* Applies M to a point. */
void lq_affine_apply(const lq_affine *M, float x, float y, float *ox, float *oy);

/* Inverse of an affine map; returns LQ_EINVAL (and leaves *inv untouched) if
 * it is singular or not finite. */
int lq_affine_invert(const lq_affine *M, lq_affine *inv) LQ_NODISCARD;

#endif
