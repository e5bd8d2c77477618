/*
 * warp.c - bilinear affine warps from RGB8 into float tensors or RGB8
 * images, and the affine maps the hand pipeline needs (letterbox, rotated
 * ROI).
 *
 * Speed: per output row the source position of pixel 0 is computed once and
 * the per-pixel position is start + x * (m0, m3), one multiply-add each (no
 * accumulated drift, no division). Samples whose 2x2 neighbourhood is inside
 * the source take a branch-free fast path; only the border ring takes the
 * slow path that handles BORDER_ZERO / BORDER_REPLICATE.
 */
#include "image/warp.h"

#include <math.h>
#include <string.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/* Interior samples are blended in fixed point: 11-bit fractions (1/2048 px,
 * far below what a model can see), exact integer products, and one float
 * conversion per channel instead of four. */
#define FRAC_BITS 11
#define FRAC_ONE (1 << FRAC_BITS)
#define BLEND_SHIFT (2 * FRAC_BITS)

/* Bilinear blend of channel c at an interior point, scaled by
 * 2^BLEND_SHIFT: p is row y0 at x0, q row y0+1; bx = FRAC_ONE - ax. Kept
 * scalar per channel: writing the three sums to a small array made the
 * compiler spill and reload them as one vector (a store-forwarding stall
 * that cost 40% of the loop). */
static inline int32_t blend(const uint8_t *p, const uint8_t *q, int c, int ax, int bx, int ay,
                            int by)
{
    int32_t top = p[c] * bx + p[c + 3] * ax;
    int32_t bot = q[c] * bx + q[c + 3] * ax;
    return top * by + bot * ay;
}

/* Fraction of a non-negative coordinate, rounded to FRAC_BITS. */
static inline int frac_of(float f, int i)
{
    return (int)((f - (float)i) * (float)FRAC_ONE + 0.5f);
}

#if defined(__SSE2__)
/* One RGB pixel as four float lanes (R, G, B, and the next byte, unused).
 * Reads 4 bytes: the caller makes sure the 4th is inside the buffer. */
static inline __m128 load_px(const uint8_t *p)
{
    int32_t v;
    memcpy(&v, p, 4);
    const __m128i z = _mm_setzero_si128();
    __m128i b = _mm_cvtsi32_si128(v);
    return _mm_cvtepi32_ps(_mm_unpacklo_epi16(_mm_unpacklo_epi8(b, z), z));
}
#endif

/* Bilinear sample anywhere, with the border rule. fx, fy are in pixel-index
 * units (pixel i's centre is i). */
static void sample_border(const lq_image *src, float fx, float fy, lq_border border, float v[3])
{
    const int W = src->width, H = src->height;
    /* No tap inside (the letterbox pads, mostly; NaN too): zero at once. */
    if (border == LQ_BORDER_ZERO &&
        !(fx > -1.0f && fy > -1.0f && fx < (float)W && fy < (float)H)) {
        v[0] = v[1] = v[2] = 0.0f;
        return;
    }
    /* Clamping a far-away (or NaN) coordinate to two pixels outside keeps
     * the int conversion defined and reads the same values. */
    if (!(fx >= -2.0f))
        fx = -2.0f;
    if (fx > (float)W + 1.0f)
        fx = (float)W + 1.0f;
    if (!(fy >= -2.0f))
        fy = -2.0f;
    if (fy > (float)H + 1.0f)
        fy = (float)H + 1.0f;
    int x0 = (int)floorf(fx), y0 = (int)floorf(fy);
    float ax = fx - (float)x0, ay = fy - (float)y0;
    int xs[2] = {x0, x0 + 1}, ys[2] = {y0, y0 + 1};
    float wx[2] = {1.0f - ax, ax}, wy[2] = {1.0f - ay, ay};
    v[0] = v[1] = v[2] = 0.0f;
    for (int j = 0; j < 2; j++) {
        int yy = ys[j];
        if (yy < 0 || yy >= H) {
            if (border == LQ_BORDER_ZERO)
                continue;
            yy = yy < 0 ? 0 : H - 1;
        }
        for (int i = 0; i < 2; i++) {
            int xx = xs[i];
            if (xx < 0 || xx >= W) {
                if (border == LQ_BORDER_ZERO)
                    continue;
                xx = xx < 0 ? 0 : W - 1;
            }
            const uint8_t *s = lq_image_px(src, xx, yy);
            float w = wx[i] * wy[j];
            v[0] += w * (float)s[0];
            v[1] += w * (float)s[1];
            v[2] += w * (float)s[2];
        }
    }
}

static int src_is_valid(const lq_image *src)
{
    return src && src->data && src->width > 0 && src->height > 0 &&
           src->stride >= 3 * src->width;
}

/* Position of output pixel (0, y)'s centre in source pixel-index units. */
static void row_start(const lq_affine *M, int y, float *fx, float *fy)
{
    const float *m = M->m;
    double yc = (double)y + 0.5;
    *fx = (float)(m[0] * 0.5 + m[1] * yc + m[2] - 0.5);
    *fy = (float)(m[3] * 0.5 + m[4] * yc + m[5] - 0.5);
}

void lq_warp_affine_to_tensor(const lq_image *src, const lq_affine *M, int out_w, int out_h,
                              float scale, float bias, lq_border border, float *out)
{
    if (!M || !out || out_w <= 0 || out_h <= 0)
        return;
    if (!src_is_valid(src)) {
        for (size_t i = 0; i < (size_t)out_w * (size_t)out_h * 3u; i++)
            out[i] = bias;
        return;
    }
    const float dx = M->m[0], dy = M->m[3];
    const float xmax = (float)(src->width - 1), ymax = (float)(src->height - 1);
    const size_t stride = (size_t)src->stride;
    const float iscale = scale / (float)(1 << BLEND_SHIFT);
#if defined(__SSE2__)
    /* The vector path reads one byte past the right-hand pixel of the pair
     * (q[6]): it is in the buffer unless that pixel ends the last row. */
    const size_t buf_end = (size_t)(src->height - 1) * stride + (size_t)src->width * 3u;
    const __m128 vbias = _mm_set1_ps(bias);
#endif
    for (int y = 0; y < out_h; y++) {
        float fx0, fy0;
        row_start(M, y, &fx0, &fy0);
        float *o = out + (size_t)y * (size_t)out_w * 3u;
        for (int x = 0; x < out_w; x++, o += 3) {
            float fx = fx0 + dx * (float)x, fy = fy0 + dy * (float)x;
            if (fx >= 0.0f && fy >= 0.0f && fx < xmax && fy < ymax) {
                int x0 = (int)fx, y0 = (int)fy; /* non-negative: truncation is floor */
                const uint8_t *p = src->data + (size_t)y0 * stride + (size_t)x0 * 3u;
                const uint8_t *q = p + stride;
#if defined(__SSE2__)
                /* Stores 4 floats; the 4th is the next pixel's first and is
                 * overwritten by it, so the row's last pixel goes scalar. */
                if (x + 1 < out_w && (size_t)(q - src->data) + 7u <= buf_end) {
                    float ax = fx - (float)x0, ay = fy - (float)y0;
                    float w11 = ax * ay * scale, w01 = ax * scale - w11;
                    float w10 = ay * scale - w11, w00 = scale - ax * scale - w10;
                    __m128 acc = _mm_add_ps(
                        _mm_add_ps(_mm_mul_ps(load_px(p), _mm_set1_ps(w00)),
                                   _mm_mul_ps(load_px(p + 3), _mm_set1_ps(w01))),
                        _mm_add_ps(_mm_mul_ps(load_px(q), _mm_set1_ps(w10)),
                                   _mm_mul_ps(load_px(q + 3), _mm_set1_ps(w11))));
                    _mm_storeu_ps(o, _mm_add_ps(acc, vbias));
                    continue;
                }
#endif
                int ax = frac_of(fx, x0), ay = frac_of(fy, y0);
                int bx = FRAC_ONE - ax, by = FRAC_ONE - ay;
                o[0] = (float)blend(p, q, 0, ax, bx, ay, by) * iscale + bias;
                o[1] = (float)blend(p, q, 1, ax, bx, ay, by) * iscale + bias;
                o[2] = (float)blend(p, q, 2, ax, bx, ay, by) * iscale + bias;
            } else {
                float v[3];
                sample_border(src, fx, fy, border, v);
                o[0] = v[0] * scale + bias;
                o[1] = v[1] * scale + bias;
                o[2] = v[2] * scale + bias;
            }
        }
    }
}

static inline uint8_t to_byte(float v)
{
    v += 0.5f;
    return v <= 0.0f ? 0 : v >= 255.0f ? 255 : (uint8_t)v;
}

void lq_warp_affine_to_image(const lq_image *src, const lq_affine *M, lq_border border,
                             lq_image *out)
{
    if (!M || !out || !out->data || out->width <= 0 || out->height <= 0)
        return;
    const int ok = src_is_valid(src);
    const float dx = M->m[0], dy = M->m[3];
    const float xmax = ok ? (float)(src->width - 1) : 0.0f;
    const float ymax = ok ? (float)(src->height - 1) : 0.0f;
    for (int y = 0; y < out->height; y++) {
        uint8_t *o = out->data + (size_t)y * (size_t)out->stride;
        if (!ok) {
            for (int i = 0; i < out->width * 3; i++)
                o[i] = 0;
            continue;
        }
        float fx0, fy0;
        row_start(M, y, &fx0, &fy0);
        for (int x = 0; x < out->width; x++, o += 3) {
            float fx = fx0 + dx * (float)x, fy = fy0 + dy * (float)x;
            if (fx >= 0.0f && fy >= 0.0f && fx < xmax && fy < ymax) {
                int x0 = (int)fx, y0 = (int)fy;
                const uint8_t *p = lq_image_px(src, x0, y0);
                const uint8_t *q = p + src->stride;
                int ax = frac_of(fx, x0), ay = frac_of(fy, y0);
                int bx = FRAC_ONE - ax, by = FRAC_ONE - ay;
                const int32_t half = 1 << (BLEND_SHIFT - 1);
                o[0] = (uint8_t)((blend(p, q, 0, ax, bx, ay, by) + half) >> BLEND_SHIFT);
                o[1] = (uint8_t)((blend(p, q, 1, ax, bx, ay, by) + half) >> BLEND_SHIFT);
                o[2] = (uint8_t)((blend(p, q, 2, ax, bx, ay, by) + half) >> BLEND_SHIFT);
            } else {
                float v[3];
                sample_border(src, fx, fy, border, v);
                o[0] = to_byte(v[0]);
                o[1] = to_byte(v[1]);
                o[2] = to_byte(v[2]);
            }
        }
    }
}

lq_affine lq_affine_letterbox(int src_w, int src_h, int size, float *pad_x, float *pad_y)
{
    lq_affine id = {{1, 0, 0, 0, 1, 0}};
    if (pad_x)
        *pad_x = 0.0f;
    if (pad_y)
        *pad_y = 0.0f;
    if (src_w <= 0 || src_h <= 0 || size <= 0)
        return id;
    /* MediaPipe pads the whole-frame ROI to the tensor's (square) aspect:
     * the long side stays, the short side grows to match it. */
    float side = (float)(src_w > src_h ? src_w : src_h);
    if (src_w < src_h && pad_x)
        *pad_x = (1.0f - (float)src_w / (float)src_h) / 2.0f;
    if (src_h < src_w && pad_y)
        *pad_y = (1.0f - (float)src_h / (float)src_w) / 2.0f;
    return lq_affine_roi(0.5f * (float)src_w, 0.5f * (float)src_h, side, side, 0.0f, size, size);
}

lq_affine lq_affine_roi(float cx, float cy, float w, float h, float rotation, int out_w,
                        int out_h)
{
    lq_affine M = {{1, 0, 0, 0, 1, 0}};
    if (out_w <= 0 || out_h <= 0)
        return M;
    /* src = c + w*(u-0.5)*(cos, sin) + h*(v-0.5)*(-sin, cos), u = x/out_w, v = y/out_h */
    double c = cos((double)rotation), s = sin((double)rotation);
    double ux = (double)w * c / out_w, uy = (double)w * s / out_w;   /* per output x */
    double vx = -(double)h * s / out_h, vy = (double)h * c / out_h;  /* per output y */
    M.m[0] = (float)ux;
    M.m[1] = (float)vx;
    M.m[2] = (float)(cx - 0.5 * ((double)w * c - (double)h * s));
    M.m[3] = (float)uy;
    M.m[4] = (float)vy;
    M.m[5] = (float)(cy - 0.5 * ((double)w * s + (double)h * c));
    return M;
}

void lq_affine_apply(const lq_affine *M, float x, float y, float *ox, float *oy)
{
    const float *m = M->m;
    float rx = m[0] * x + m[1] * y + m[2];
    float ry = m[3] * x + m[4] * y + m[5];
    if (ox)
        *ox = rx;
    if (oy)
        *oy = ry;
}

int lq_affine_invert(const lq_affine *M, lq_affine *inv)
{
    if (!M || !inv)
        return LQ_EINVAL;
    const float *m = M->m;
    double a = m[0], b = m[1], c = m[2], d = m[3], e = m[4], f = m[5];
    double det = a * e - b * d;
    double norm = fabs(a) + fabs(b) + fabs(d) + fabs(e);
    if (!isfinite(det) || !isfinite(c) || !isfinite(f) || norm == 0.0 ||
        fabs(det) <= 1e-12 * norm * norm)
        return LQ_EINVAL;
    inv->m[0] = (float)(e / det);
    inv->m[1] = (float)(-b / det);
    inv->m[2] = (float)((b * f - c * e) / det);
    inv->m[3] = (float)(-d / det);
    inv->m[4] = (float)(a / det);
    inv->m[5] = (float)((c * d - a * f) / det);
    return 0;
}
