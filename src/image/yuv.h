/*
 * yuv.h - 8-bit Y'CbCr 4:2:0 planes as lossy WebP (VP8) stores them, and
 * their conversion to and from lq_image's RGB.
 *
 *   lq_yuv420 p;                                   // e.g. from lq_image_decode_ex
 *   lq_image rgb;
 *   lq_yuv420_to_rgb(&p, &rgb);                    // the whole frame, once
 *   ... paint a few rectangles of rgb ...
 *   lq_yuv420_update_rect(&p, &rgb, &r);           // bring those back to the planes
 *   lq_image_encode_yuv(&p, 75, 0, &out);          // codec.h: no full-frame conversion
 *   lq_yuv420_free(&p);
 *
 * Why: a frame that arrives as WebP and leaves as WebP only changes where
 * nails are painted. Keeping the decoder's planes and converting back only
 * the painted rectangles saves the encoder's full-frame RGB -> Y'CbCr import
 * (about 0.6 ms at 640x480), and the untouched pixels go back to the encoder
 * exactly as they arrived instead of through a second chroma subsampling.
 *
 * Colour: ITU-R BT.601, limited range (Y' 16..235, Cb/Cr 16..240), which is
 * what VP8 decoders assume. Chroma samples sit between each 2x2 block of
 * luma samples; RGB output interpolates them bilinearly (weights 9/16, 3/16,
 * 3/16, 1/16, edges replicated), as libwebp's default "fancy" upsampling does:
 * on the shared frames the result is within 1 of libwebp's own RGB output on
 * every sample. RGB -> Y'CbCr averages each 2x2 block's RGB for its chroma.
 *
 * Ownership: a lq_yuv420 owns its one buffer (lq_yuv420_free). Thread-safety:
 * reentrant, no shared state.
 */
#ifndef LQ_IMAGE_YUV_H
#define LQ_IMAGE_YUV_H

#include <stdint.h>

#include "base/error.h"
#include "image/image.h"

typedef struct lq_yuv420 {
    int width;          /* luma size; 0 = empty */
    int height;
    uint8_t *y;         /* width x height, y_stride bytes per row */
    uint8_t *u;         /* Cb, (width+1)/2 x (height+1)/2, uv_stride bytes per row */
    uint8_t *v;         /* Cr, same size */
    int y_stride;
    int uv_stride;
    uint8_t *buf;       /* the one allocation behind y, u, v */
} lq_yuv420;

/* Allocates uninitialised planes for width x height (the caps of image.h
 * apply: LQ_ELIMIT; LQ_ENOMEM). On failure *p is untouched. */
int lq_yuv420_alloc(lq_yuv420 *p, int width, int height) LQ_NODISCARD;

/* Frees the planes and zeroes *p; safe on a zeroed one. */
void lq_yuv420_free(lq_yuv420 *p);

/* Converts the whole of src into dst, which must be allocated at the same
 * size (LQ_EINVAL otherwise, or for an empty src). */
int lq_yuv420_to_rgb(const lq_yuv420 *src, lq_image *dst) LQ_NODISCARD;

/* Recomputes the planes under rect r from rgb (same size as p): r is grown
 * to even edges (whole chroma blocks) and clipped to the frame; an empty or
 * outside rect changes nothing. Samples outside it are left as they are. */
void lq_yuv420_update_rect(lq_yuv420 *p, const lq_image *rgb, const lq_pixel_rect *r);

#endif
