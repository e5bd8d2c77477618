/*
 * image.h - the 8-bit RGB image that flows through Lacquer.
 *
 *   lq_image img;
 *   if (lq_image_alloc(&img, 640, 480) == 0) { ...; lq_image_free(&img); }
 *
 * Pixels are interleaved R,G,B bytes, row-major, `stride` bytes per row
 * (stride >= 3 * width). An lq_image either owns its pixels (allocated by
 * lq_image_alloc or a decoder; release with lq_image_free) or is a view on
 * memory owned by someone else (owned == 0; lq_image_free then only clears it).
 */
#ifndef LQ_IMAGE_IMAGE_H
#define LQ_IMAGE_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

/* Hard caps for any image Lacquer allocates, whatever the configuration. */
#define LQ_IMAGE_MAX_DIM 16384
#define LQ_IMAGE_MAX_PIXELS (64u * 1024u * 1024u)

typedef struct lq_image {
    int width;
    int height;
    int stride;     /* bytes per row */
    uint8_t *data;  /* RGB8 */
    int owned;      /* 1 if lq_image_free must release data */
} lq_image;

/* Allocates an uninitialised width x height RGB image. Returns LQ_ELIMIT if
 * the size exceeds the caps above, LQ_ENOMEM on allocation failure; on failure
 * *img is left untouched. */
int lq_image_alloc(lq_image *img, int width, int height) LQ_NODISCARD;

/* Releases owned pixels and zeroes *img. Safe on a zeroed or view image. */
void lq_image_free(lq_image *img);

/* Deep copy into a newly allocated image. */
int lq_image_copy(lq_image *dst, const lq_image *src) LQ_NODISCARD;

/* An axis-aligned pixel rectangle: columns x..x+w-1, rows y..y+h-1. */
typedef struct lq_pixel_rect {
    int x, y, w, h;
} lq_pixel_rect;

static inline uint8_t *lq_image_px(const lq_image *img, int x, int y)
{
    return img->data + (size_t)y * (size_t)img->stride + (size_t)x * 3u;
}

#endif
