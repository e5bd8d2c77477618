/*
 * stats.c - mean luma and variance of the Laplacian over a rectangle.
 *
 * One pass over the rows; the Laplacian recomputes the luma of the four
 * neighbours instead of keeping row buffers, so nothing is allocated (the
 * hand region is a few tens of thousands of pixels: well under a
 * millisecond). Sums are exact 64-bit integers.
 */
#include "image/stats.h"

#include <math.h>

static int clip_rect(const lq_image *img, lq_pixel_rect r, int *x0, int *y0, int *x1, int *y1)
{
    long long ax = r.x, ay = r.y, bx = (long long)r.x + r.w, by = (long long)r.y + r.h;
    if (r.w <= 0 || r.h <= 0)
        return 0;
    ax = ax < 0 ? 0 : ax;
    ay = ay < 0 ? 0 : ay;
    bx = bx > img->width ? img->width : bx;
    by = by > img->height ? img->height : by;
    if (ax >= bx || ay >= by)
        return 0;
    *x0 = (int)ax, *y0 = (int)ay, *x1 = (int)bx, *y1 = (int)by;
    return 1;
}

int lq_luma_stats_rect(const lq_image *img, lq_pixel_rect r, lq_luma_stats *out)
{
    if (!out || !img || !img->data || img->width <= 0 || img->height <= 0 ||
        img->stride < 3 * img->width)
        return LQ_EINVAL;
    int x0, y0, x1, y1;
    if (!clip_rect(img, r, &x0, &y0, &x1, &y1))
        return LQ_EINVAL;
    const size_t stride = (size_t)img->stride;
    long long sum = 0, sum2 = 0, lsum = 0, lsum2 = 0, n = 0, ln = 0;
    for (int y = y0; y < y1; y++) {
        const uint8_t *row = lq_image_px(img, 0, y);
        const int inner_row = y > y0 && y < y1 - 1;
        for (int x = x0; x < x1; x++) {
            const uint8_t *p = row + (size_t)x * 3u;
            int Y = lq_luma(p);
            sum += Y;
            sum2 += (long long)Y * Y;
            if (inner_row && x > x0 && x < x1 - 1) {
                int lap = lq_luma(p - 3) + lq_luma(p + 3) + lq_luma(p - stride) +
                          lq_luma(p + stride) - 4 * Y;
                lsum += lap;
                lsum2 += (long long)lap * lap;
            }
        }
        n += x1 - x0;
        if (inner_row && x1 - x0 > 2)
            ln += x1 - x0 - 2;
    }
    double mean = (double)sum / (double)n;
    double var = (double)sum2 / (double)n - mean * mean;
    lq_luma_stats st = {.mean = mean, .stddev = sqrt(var > 0 ? var : 0), .count = n,
                        .interior = ln};
    if (ln > 0) {
        double lm = (double)lsum / (double)ln;
        double lv = (double)lsum2 / (double)ln - lm * lm;
        st.laplacian_var = lv > 0 ? lv : 0;
    }
    *out = st;
    return 0;
}

int lq_luma_stats_image(const lq_image *img, lq_luma_stats *out)
{
    if (!img)
        return LQ_EINVAL;
    lq_pixel_rect r = {0, 0, img->width, img->height};
    return lq_luma_stats_rect(img, r, out);
}
