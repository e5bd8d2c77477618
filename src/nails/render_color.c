/*
 * render_color.c - lookup tables, hashing and noise for the polish renderer,
 * and thin float[3] wrappers over color.h. Tables are built once per renderer
 * so the per-pixel path never calls pow/exp/trig (sRGB transfer: color.h's
 * tables).
 */
#include <math.h>
#include <string.h>

#include "nails/color.h"
#include "nails/render_internal.h"

float nail__luma(const float lin[3])
{
    return 0.2126f * lin[0] + 0.7152f * lin[1] + 0.0722f * lin[2];
}

void nail__lin_to_oklab(const float c[3], float lab[3])
{
    nail_lab o = nail_linear_to_oklab((nail_lin){c[0], c[1], c[2]});
    lab[0] = o.L;
    lab[1] = o.a;
    lab[2] = o.b;
}

void nail__oklab_to_lin(const float lab[3], float c[3])
{
    nail_lin l = nail_oklab_to_linear((nail_lab){lab[0], lab[1], lab[2]});
    c[0] = nail__clampf(l.r, 0.0f, 1.0f);
    c[1] = nail__clampf(l.g, 0.0f, 1.0f);
    c[2] = nail__clampf(l.b, 0.0f, 1.0f);
}

/* A 32-bit integer mixer (xorshift-multiply rounds); good avalanche, cheap. */

/* Value noise on a periodic lattice of `cells` cells across the tile. */
static float lattice_noise(int cells, uint32_t salt, float x, float y)
{
    int xi = (int)floorf(x), yi = (int)floorf(y);
    float fx = x - (float)xi, fy = y - (float)yi;
    fx = fx * fx * (3.0f - 2.0f * fx);
    fy = fy * fy * (3.0f - 2.0f * fy);
    int x0 = ((xi % cells) + cells) % cells, y0 = ((yi % cells) + cells) % cells;
    int x1 = (x0 + 1) % cells, y1 = (y0 + 1) % cells;
    float v00 = nail__unit(nail__hash2(salt, (uint32_t)(y0 * cells + x0)));
    float v10 = nail__unit(nail__hash2(salt, (uint32_t)(y0 * cells + x1)));
    float v01 = nail__unit(nail__hash2(salt, (uint32_t)(y1 * cells + x0)));
    float v11 = nail__unit(nail__hash2(salt, (uint32_t)(y1 * cells + x1)));
    float a = v00 + (v10 - v00) * fx, b = v01 + (v11 - v01) * fx;
    return a + (b - a) * fy;
}

void nail__tables_init(nail__tables *t)
{
    for (int i = 0; i < NAIL__EXP_N + 2; i++)
        t->expn[i] = expf(-(float)i * NAIL__EXP_MAX / (float)NAIL__EXP_N);
    /* Four octaves of periodic value noise, normalised to [0, 1]. */
    const int n = NAIL__NOISE_N;
    float lo = 1e9f, hi = -1e9f;
    for (int y = 0; y < n; y++) {
        for (int x = 0; x < n; x++) {
            float v = 0.0f, amp = 0.5f;
            int cells = 8;
            for (int o = 0; o < 4; o++) {
                float sx = (float)x * (float)cells / (float)n;
                float sy = (float)y * (float)cells / (float)n;
                v += amp * lattice_noise(cells, 0x51ed27u + (uint32_t)o * 7919u, sx, sy);
                amp *= 0.5f;
                cells *= 2;
            }
            t->noise[y * n + x] = v;
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
    }
    float k = hi > lo ? 1.0f / (hi - lo) : 1.0f;
    for (int i = 0; i < n * n; i++)
        t->noise[i] = (t->noise[i] - lo) * k;
}

