/*
 * stats.h - brightness and sharpness of a region of an RGB8 image, for the
 * service's LOW_LIGHT and BLUR_DETECTED checks on the hand region.
 *
 *   lq_luma_stats st;
 *   lq_pixel_rect r = {x, y, w, h};   // e.g. the hand's bounding box
 *   if (lq_luma_stats_rect(&frame, r, &st) == 0 && st.mean < 40) ... too dark
 *
 * Luma is BT.601 (Y = 0.299 R + 0.587 G + 0.114 B, in 0..255, computed in
 * 8.8 fixed point). Sharpness is the variance of the 4-neighbour Laplacian
 * (Y[x-1] + Y[x+1] + Y[y-1] + Y[y+1] - 4 Y) over the region's interior
 * pixels, the usual "variance of the Laplacian" focus measure: a sharp,
 * textured region scores in the hundreds or more, a blurred one in the tens
 * or less (the value depends on content and scale: compare regions of a
 * similar size, e.g. a hand crop resized to a fixed size).
 *
 * Thread-safety: reentrant; no allocation.
 */
#ifndef LQ_IMAGE_STATS_H
#define LQ_IMAGE_STATS_H

#include "image/image.h"

typedef struct lq_luma_stats {
    double mean;           /* mean luma over the region, 0..255 */
    double stddev;         /* standard deviation of luma (global contrast) */
    double laplacian_var;  /* variance of the Laplacian of luma (0 if no interior) */
    long long count;       /* pixels in the (clipped) region */
    long long interior;    /* pixels the Laplacian was measured on */
} lq_luma_stats;

/* Measures the part of r that lies inside img. The Laplacian uses only
 * neighbours inside that part, so its outermost ring is not measured.
 * Returns LQ_EINVAL if img is invalid or r misses the image entirely (out
 * untouched). */
int lq_luma_stats_rect(const lq_image *img, lq_pixel_rect r, lq_luma_stats *out) LQ_NODISCARD;

/* The whole image. */
int lq_luma_stats_image(const lq_image *img, lq_luma_stats *out) LQ_NODISCARD;

/* BT.601 luma of one RGB pixel, 0..255. */
static inline int lq_luma(const uint8_t *rgb)
{
    return (77 * rgb[0] + 150 * rgb[1] + 29 * rgb[2] + 128) >> 8;
}

#endif
