/*
 * resize.h - scaling an lq_image: area averaging for downscales (thumbnails,
 * the reference photo), bilinear for anything else.
 *
 *   lq_image thumb;
 *   if (lq_image_thumbnail(&photo, 256, &thumb) == 0) { ...; lq_image_free(&thumb); }
 *
 * Thread-safety: reentrant, no shared state. Failure leaves outputs untouched.
 */
#ifndef LQ_IMAGE_RESIZE_H
#define LQ_IMAGE_RESIZE_H

#include "image/image.h"

typedef enum lq_resize_filter {
    /* Each output pixel is the exact area-weighted mean of the source area it
     * covers (a box filter with fractional edges): no aliasing on downscales.
     * On an upscaled axis it blends at most two neighbouring pixels. */
    LQ_RESIZE_AREA = 0,
    /* Bilinear at pixel centres with the edges replicated: the warp of
     * warp.h with a pure scale. Aliases when shrinking by more than 2x. */
    LQ_RESIZE_BILINEAR = 1,
} lq_resize_filter;

/* Resizes src into dst, whose width/height give the target size (dst must
 * be allocated; it may not alias src). LQ_EINVAL for bad images or filter,
 * LQ_ENOMEM if the area filter cannot get its scratch (one float row of the
 * source, 12 bytes per source pixel of width, plus the column weights). */
int lq_image_resize_into(const lq_image *src, lq_image *dst, lq_resize_filter filter) LQ_NODISCARD;

/* Allocates *dst at width x height and resizes src into it. */
int lq_image_resize(const lq_image *src, int width, int height, lq_resize_filter filter,
                    lq_image *dst) LQ_NODISCARD;

/* The largest size with the aspect ratio of w x h whose longer side is at
 * most max_side (never larger than w x h, never below 1x1). */
void lq_image_fit_size(int w, int h, int max_side, int *out_w, int *out_h);

/* Area-downscales src so its longer side is at most max_side (a plain copy
 * if it already fits) into a newly allocated *dst. */
int lq_image_thumbnail(const lq_image *src, int max_side, lq_image *dst) LQ_NODISCARD;

#endif
