/*
 * resize.c - area-averaging and bilinear scaling of RGB8 images.
 *
 * The area filter is separable: for each output row the source rows it
 * covers are summed with their coverage weights into one float row, which
 * is then reduced across columns with precomputed column spans. Every source
 * pixel is read once or twice, whatever the scale.
 */
#include "image/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image/warp.h"

/* Which source pixels output pixel o covers along one axis, with weights
 * that sum to 1: first[o], count[o], and weight[first_weight[o] + k]. */
typedef struct span_table {
    int *first;
    int *count;
    int *offset;
    float *weight;
} span_table;

static void spans_free(span_table *t)
{
    free(t->first);
    free(t->count);
    free(t->offset);
    free(t->weight);
}

static int spans_build(span_table *t, int n_in, int n_out)
{
    memset(t, 0, sizeof *t);
    size_t max_weights = (size_t)n_in + 2u * (size_t)n_out;
    t->first = malloc(sizeof(int) * (size_t)n_out);
    t->count = malloc(sizeof(int) * (size_t)n_out);
    t->offset = malloc(sizeof(int) * (size_t)n_out);
    t->weight = malloc(sizeof(float) * max_weights);
    if (!t->first || !t->count || !t->offset || !t->weight) {
        spans_free(t);
        return LQ_ENOMEM;
    }
    const double scale = (double)n_in / (double)n_out;
    size_t k = 0;
    for (int o = 0; o < n_out; o++) {
        double a = o * scale, b = (o + 1) * scale;
        int i0 = (int)floor(a), i1 = (int)ceil(b);
        if (i1 > n_in)
            i1 = n_in;
        if (i1 <= i0)
            i1 = i0 + 1;
        t->first[o] = i0;
        t->count[o] = i1 - i0;
        t->offset[o] = (int)k;
        for (int i = i0; i < i1; i++) {
            double lo = a > i ? a : i, hi = b < i + 1 ? b : i + 1;
            t->weight[k++] = (float)((hi - lo) / scale);
        }
    }
    return 0;
}

static int image_ok(const lq_image *img)
{
    return img && img->data && img->width > 0 && img->height > 0 &&
           img->width <= LQ_IMAGE_MAX_DIM && img->height <= LQ_IMAGE_MAX_DIM &&
           img->stride >= 3 * img->width;
}

static int resize_area(const lq_image *src, lq_image *dst)
{
    span_table cols, rows;
    int rc = spans_build(&cols, src->width, dst->width);
    if (rc < 0)
        return rc;
    rc = spans_build(&rows, src->height, dst->height);
    if (rc < 0) {
        spans_free(&cols);
        return rc;
    }
    const size_t row_len = (size_t)src->width * 3u;
    float *acc = malloc(sizeof(float) * row_len);
    if (!acc) {
        spans_free(&cols);
        spans_free(&rows);
        return LQ_ENOMEM;
    }
    for (int oy = 0; oy < dst->height; oy++) {
        memset(acc, 0, sizeof(float) * row_len);
        for (int k = 0; k < rows.count[oy]; k++) {
            const float w = rows.weight[rows.offset[oy] + k];
            const uint8_t *s = lq_image_px(src, 0, rows.first[oy] + k);
            for (size_t i = 0; i < row_len; i++)
                acc[i] += w * (float)s[i];
        }
        uint8_t *d = lq_image_px(dst, 0, oy);
        for (int ox = 0; ox < dst->width; ox++, d += 3) {
            const float *a = acc + (size_t)cols.first[ox] * 3u;
            const float *w = cols.weight + cols.offset[ox];
            float r = 0, g = 0, b = 0;
            for (int k = 0; k < cols.count[ox]; k++, a += 3) {
                r += w[k] * a[0];
                g += w[k] * a[1];
                b += w[k] * a[2];
            }
            d[0] = (uint8_t)(r >= 255.0f ? 255 : r <= 0.0f ? 0 : (int)(r + 0.5f));
            d[1] = (uint8_t)(g >= 255.0f ? 255 : g <= 0.0f ? 0 : (int)(g + 0.5f));
            d[2] = (uint8_t)(b >= 255.0f ? 255 : b <= 0.0f ? 0 : (int)(b + 0.5f));
        }
    }
    free(acc);
    spans_free(&cols);
    spans_free(&rows);
    return 0;
}

int lq_image_resize_into(const lq_image *src, lq_image *dst, lq_resize_filter filter)
{
    if (!image_ok(src) || !image_ok(dst) || src->data == dst->data)
        return LQ_EINVAL;
    if (filter == LQ_RESIZE_AREA)
        return resize_area(src, dst);
    if (filter != LQ_RESIZE_BILINEAR)
        return LQ_EINVAL;
    lq_affine M = {{(float)src->width / (float)dst->width, 0, 0, 0,
                    (float)src->height / (float)dst->height, 0}};
    lq_warp_affine_to_image(src, &M, LQ_BORDER_REPLICATE, dst);
    return 0;
}

int lq_image_resize(const lq_image *src, int width, int height, lq_resize_filter filter,
                    lq_image *dst)
{
    if (!dst || !image_ok(src))
        return LQ_EINVAL;
    lq_image tmp;
    int rc = lq_image_alloc(&tmp, width, height);
    if (rc < 0)
        return rc;
    rc = lq_image_resize_into(src, &tmp, filter);
    if (rc < 0) {
        lq_image_free(&tmp);
        return rc;
    }
    *dst = tmp;
    return 0;
}

void lq_image_fit_size(int w, int h, int max_side, int *out_w, int *out_h)
{
    int ow = w > 0 ? w : 1, oh = h > 0 ? h : 1;
    if (max_side < 1)
        max_side = 1;
    if (ow > max_side || oh > max_side) {
        if (ow >= oh) {
            oh = (int)((double)oh * max_side / ow + 0.5);
            ow = max_side;
        } else {
            ow = (int)((double)ow * max_side / oh + 0.5);
            oh = max_side;
        }
        ow = ow < 1 ? 1 : ow;
        oh = oh < 1 ? 1 : oh;
    }
    if (out_w)
        *out_w = ow;
    if (out_h)
        *out_h = oh;
}

int lq_image_thumbnail(const lq_image *src, int max_side, lq_image *dst)
{
    if (!dst || !image_ok(src))
        return LQ_EINVAL;
    int w, h;
    lq_image_fit_size(src->width, src->height, max_side, &w, &h);
    if (w == src->width && h == src->height)
        return lq_image_copy(dst, src);
    return lq_image_resize(src, w, h, LQ_RESIZE_AREA, dst);
}
