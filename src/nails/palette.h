/*
 * palette.h - the polish colours of a reference photo.
 *
 *   nail_palette pal;
 *   if (nail_palette_extract(&photo, NULL, &pal) == 0 && !design.colors_given) {
 *       nail_rgb c[NAIL_PALETTE_MAX];
 *       int n = nail_palette_colors(&pal, c, NAIL_PALETTE_MAX);
 *       (void)nail_design_set_colors(&design, c, n);
 *   }
 *
 * How: the photo is area-averaged in linear light to a small working image
 * (opts.work_size on its longer side) and converted to OKLab; background
 * (smooth regions running along the image border) and skin (the YCbCr skin
 * chroma box, narrowed to the photo's own skin tone) are set aside (see
 * refscan.h); the rest is clustered with weighted k-means in OKLab
 * (k-means++ seeding from a fixed seed: the same photo always gives the same
 * palette), pixels near the centre counting more. Close clusters are merged;
 * small specular highlights and shadows are dropped; the clusters are ranked
 * by area times a chroma bonus, since polish is usually more colourful than
 * what surrounds it. With opts.mask only the masked pixels are clustered and
 * nothing is set aside.
 * When no distinct foreground is left (a photo of bare or nude nails, whose
 * colour falls inside the skin tone), the palette falls back to the lightest,
 * least saturated part of the skin region, where bare nail plates are
 * (pal.fallback = 1); when there is no skin either (a colour swatch), to the
 * colours of the whole photo (pal.fallback = 2).
 *
 * Measured on the 40 photos of ../shared/data/nails with their masks (see
 * tests/unit/nails/test_palette.c and docs/designs.md for the numbers).
 *
 * Cost: one pass over the photo plus a few milliseconds on the working image;
 * it allocates (malloc) and is meant for session set-up, not for each frame.
 * Reentrant; no shared state.
 */
#ifndef LQ_NAILS_PALETTE_H
#define LQ_NAILS_PALETTE_H

#include <stdint.h>

#include "base/error.h"
#include "image/image.h"
#include "nails/color.h"

#define NAIL_PALETTE_MAX 4
#define NAIL_PALETTE_WORK_DEFAULT 160

typedef struct nail_palette_opts {
    int max_colors;          /* 1..NAIL_PALETTE_MAX; 0 means NAIL_PALETTE_MAX */
    int work_size;           /* longer side of the working image, 16..512; 0 means 160 */
    const uint8_t *mask;     /* optional 8-bit mask, same size as the photo; > 127 = use */
    int mask_stride;         /* bytes per mask row (>= width) */
} nail_palette_opts;

typedef struct nail_palette_color {
    nail_rgb rgb;            /* the cluster's mean colour (averaged in linear light) */
    nail_lab oklab;          /* the same in OKLab */
    float share;             /* its share of the clustered area, 0..1 */
    float score;             /* ranking score (area x chroma bonus); decreasing in c[] */
} nail_palette_color;

typedef struct nail_palette {
    int n;                                   /* 1..max_colors */
    nail_palette_color c[NAIL_PALETTE_MAX];  /* most prominent first */
    float background;        /* share of the photo set aside as background, 0..1 */
    float skin;              /* share set aside as skin */
    int fallback;            /* 0: colours set apart from skin and background (polish);
                                1: nothing was, the colour came from the skin region
                                (bare nails); 2: no skin either: the colours of the
                                whole photo (a swatch, a flat graphic) */
} nail_palette;

/* Extracts 1..max_colors colours. opts may be NULL (defaults). Returns 0, or
 * LQ_EINVAL (NULL or empty image, stride too small, bad options, mask_stride
 * under the width), LQ_ELIMIT (image over LQ_IMAGE_MAX_DIM/MAX_PIXELS),
 * LQ_ENOTFOUND (the mask selects no pixel), LQ_ENOMEM. On failure *out is
 * untouched. */
int nail_palette_extract(const lq_image *img, const nail_palette_opts *opts,
                         nail_palette *out) LQ_NODISCARD;

/* Copies up to max colours of p into out (most prominent first); returns how
 * many (0 if p or out is NULL). */
int nail_palette_colors(const nail_palette *p, nail_rgb *out, int max);

#endif
