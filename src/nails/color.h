/*
 * color.h - polish colours: names, parsing, colour spaces, mixing.
 *
 *   nail_rgb c;
 *   if (nail_color_parse("rose gold", &c) == 0) { ... }      // also "#b76e79", "rgb(183,110,121)"
 *
 *   // per pixel: decode, work in linear light, encode
 *   float r = nail_srgb8_to_linear(px[0]);                  // table lookup
 *   px[0] = nail_linear_to_srgb8(r * shade);                 // table lookup, clamps
 *
 *   // perceptual work (palettes, gradients, distances)
 *   nail_lab ok = nail_rgb_to_oklab(c);
 *   float de = nail_delta_e2000(nail_rgb_to_lab(a), nail_rgb_to_lab(b));
 *
 * Colour spaces
 *   nail_rgb   8-bit sRGB, as in images and JSON.
 *   nail_lin   linear-light sRGB primaries (D65), 0..1 per channel; light adds
 *              up here, so blending, anti-aliasing and shading belong here.
 *   nail_lab   either CIE L*a*b* (D65 white, L 0..100; for delta E and reports)
 *              or OKLab (L 0..1, a/b about -0.4..0.4; for clustering and
 *              gradients: it is more hue-linear than CIE Lab). Which one a value
 *              holds is given by the function that made it.
 *
 * Colour names (nail_color_parse): the 148 CSS Color 4 named colours with
 * their CSS values, plus polish names that CSS lacks (nude, rose_gold,
 * champagne, burgundy, mauve, blush, ...; docs/designs.md lists them with
 * their values). CSS names keep their CSS values even where a polish shade
 * would differ ("gold" is #ffd700): a backend that sends a CSS name gets
 * exactly the CSS colour. Names are matched case-insensitively, ignoring
 * spaces, '-' and '_' ("Rose Gold" = "rose-gold" = "rosegold").
 *
 * Everything here is pure computation on values: no allocation, no global
 * mutable state (the tables are constants), safe from any thread.
 */
#ifndef LQ_NAILS_COLOR_H
#define LQ_NAILS_COLOR_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

typedef struct nail_rgb {
    uint8_t r, g, b;
} nail_rgb;

typedef struct nail_lin {
    float r, g, b;
} nail_lin;

typedef struct nail_lab {
    float L, a, b;
} nail_lab;

/* Longest colour string nail_color_parse looks at (longer ones are refused). */
#define NAIL_COLOR_MAX_LEN 64

/* ---- parsing and naming ------------------------------------------------ */

/* Parses a colour string: a CSS or polish name, "#rgb", "#rrggbb" (hex digits
 * in any case), or "rgb(r, g, b)" / "rgb(r g b)" with integers 0..255 or
 * percentages 0%..100%. Leading and trailing spaces are ignored. Alpha forms
 * (#rgba, #rrggbbaa, rgba()) are refused: polish is opaque; see the finish
 * "sheer" for translucency. Returns 0, or LQ_EINVAL (then *out is untouched). */
int nail_color_parse(const char *s, nail_rgb *out) LQ_NODISCARD;

/* Same, and on failure points *why at a static one-line reason
 * ("'#' must be followed by 3 or 6 hex digits"). why may be NULL. */
int nail_color_parse_ex(const char *s, nail_rgb *out, const char **why) LQ_NODISCARD;

/* "#rrggbb" (lower case) into buf; returns buf. */
char *nail_color_format(nail_rgb c, char buf[8]);

/* The table of names: i from 0 to nail_color_name_count()-1, in alphabetical
 * order of the normalised name. Returns the name (static storage; polish names
 * are spelled with '_', e.g. "rose_gold"), its colour in *rgb (may be NULL) and
 * whether it is a CSS name in *is_css (may be NULL); NULL if i is out of range. */
int nail_color_name_count(void);
const char *nail_color_name_at(int i, nail_rgb *rgb, int *is_css);

/* The name whose colour is perceptually closest to c (CIEDE2000), with that
 * distance in *delta_e (may be NULL). For logs and reports ("#d2a19b ~ nude"). */
const char *nail_color_nearest_name(nail_rgb c, float *delta_e);

/* ---- sRGB transfer function -------------------------------------------- */

#define NAIL_LINEAR_LUT_SIZE 4096
extern const float nail__srgb8_to_linear_lut[256];
extern const uint8_t nail__linear_to_srgb8_lut[NAIL_LINEAR_LUT_SIZE];

/* Exact transfer functions on 0..1 values (slow: pow). */
float nail_srgb_decode(float s);
float nail_srgb_encode(float lin);

/* Per-pixel fast paths. The decode table is exact (to float precision); the
 * encode table has 4096 steps: within 1 of the exactly rounded 8-bit value,
 * and every 8-bit value survives decode -> encode unchanged. Inputs outside
 * 0..1 (and NaN) are clamped. */
static inline float nail_srgb8_to_linear(uint8_t v)
{
    return nail__srgb8_to_linear_lut[v];
}

static inline uint8_t nail_linear_to_srgb8(float lin)
{
    if (!(lin > 0.0f))
        return 0;
    if (lin >= 1.0f)
        return 255;
    return nail__linear_to_srgb8_lut[(int)(lin * (float)(NAIL_LINEAR_LUT_SIZE - 1) + 0.5f)];
}

nail_lin nail_rgb_to_linear(nail_rgb c);
nail_rgb nail_linear_to_rgb(nail_lin c); /* clamps to 0..1 */

/* Relative luminance Y (0..1) of a linear colour (Rec. 709 / sRGB weights). */
static inline float nail_linear_luminance(nail_lin c)
{
    return 0.2126f * c.r + 0.7152f * c.g + 0.0722f * c.b;
}

/* ---- perceptual spaces ------------------------------------------------- */

/* OKLab (Björn Ottosson, 2020) from and to linear sRGB. The inverse does not
 * clamp: colours outside the sRGB gamut come back with channels outside 0..1. */
nail_lab nail_linear_to_oklab(nail_lin c);
nail_lin nail_oklab_to_linear(nail_lab c);

/* CIE 1976 L*a*b* with the D65 white of sRGB (X 0.95047, Y 1, Z 1.08883). */
nail_lab nail_linear_to_lab(nail_lin c);
nail_lin nail_lab_to_linear(nail_lab c);

/* Shorthands through the exact transfer function (per colour, not per pixel;
 * the *_to_rgb forms clamp into the sRGB gamut). */
nail_lab nail_rgb_to_oklab(nail_rgb c);
nail_rgb nail_oklab_to_rgb(nail_lab c);
nail_lab nail_rgb_to_lab(nail_rgb c);
nail_rgb nail_lab_to_rgb(nail_lab c);

/* Chroma sqrt(a^2 + b^2) (of either Lab). */
float nail_lab_chroma(nail_lab c);

/* Colour differences on CIE Lab: CIE76 (Euclidean) and CIEDE2000 (Sharma,
 * Wu and Dalal 2005 formulation). About 1 is a just-noticeable difference,
 * 2-3 is noticeable side by side, above 10 reads as another colour. */
float nail_delta_e76(nail_lab x, nail_lab y);
float nail_delta_e2000(nail_lab x, nail_lab y);

/* Euclidean distance in OKLab (about 0.02 is a just-noticeable difference). */
float nail_oklab_distance(nail_lab x, nail_lab y);

/* ---- mixing ------------------------------------------------------------ */

/* t = 0 gives a, t = 1 gives b (t is clamped to 0..1). */
nail_lin nail_lin_mix(nail_lin a, nail_lin b, float t);         /* light: blends, edges */
nail_rgb nail_color_mix(nail_rgb a, nail_rgb b, float t);       /* in linear light */
nail_rgb nail_color_mix_oklab(nail_rgb a, nail_rgb b, float t); /* perceptual: gradients */

/* Lightens (dL > 0) or darkens (dL < 0) in OKLab lightness (L is 0..1),
 * keeping hue and chroma, then clamps into sRGB. */
nail_rgb nail_color_shade(nail_rgb c, float dL);

/* 1 if c is light and nearly achromatic (OKLab L >= 0.9, chroma < 0.03): a
 * "white" for the purposes of design defaults (white, ivory, snow, ...). */
int nail_color_is_whitish(nail_rgb c);

#endif
