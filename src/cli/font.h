/*
 * font.h - a tiny built-in 5x7 bitmap font for labels on contact sheets.
 *
 *   lq_font_draw(&img, 10, 10, 2, "GLOSSY almond", (nail_rgb){255,255,255});
 *
 * Covers A-Z (lower case is drawn as upper case), 0-9, space and
 * _ - . , : / ( ) % + = # ; other characters are drawn as a small box. Each
 * glyph cell is 6 x 8 pixels at scale 1 (one column and one row of spacing).
 * Pixels outside the image are clipped. Reentrant; no state.
 */
#ifndef LQ_CLI_FONT_H
#define LQ_CLI_FONT_H

#include <stdint.h>

#include "image/image.h"

#define LQ_FONT_W 6 /* advance per character at scale 1 */
#define LQ_FONT_H 8 /* line height at scale 1 */

/* Draws text with its top-left corner at (x, y); scale 1..8. Returns the
 * width drawn in pixels. */
int lq_font_draw(lq_image *img, int x, int y, int scale, const char *text, uint8_t r, uint8_t g,
                 uint8_t b);

/* Width in pixels text would take at this scale. */
int lq_font_width(const char *text, int scale);

#endif
