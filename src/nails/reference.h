/*
 * reference.h - the nail art of a reference photo as a small texture, for
 * pattern "reference".
 *
 *   nail_texture tex;                       // plain data, about 24 KiB
 *   if (nail_reference_texture(&photo, NULL, &tex) == 0) {
 *       lq_image view;
 *       nail_texture_view(&tex, &view);      // no copy; valid while tex lives
 *       (void)nail_renderer_set_reference(renderer, &view);   // render.h copies it
 *   }
 *
 * Texture layout (what a sampler may rely on)
 *   - NAIL_TEXTURE_W x NAIL_TEXTURE_H (64 x 128) texels, 8-bit sRGB, RGB
 *     interleaved, rows of 3 * 64 bytes, no padding.
 *   - Rows run along the nail: row 0 is the free edge (tip), the last row the
 *     cuticle. In nail coordinates v (0 at the cuticle, 1 at the free edge)
 *     row = (1 - v) * (H - 1). This is the convention of
 *     nail_renderer_set_reference (render.h).
 *   - Columns run across the nail: column 0 is the left side of the nail as
 *     seen from outside (the dorsal side facing the viewer) with its tip
 *     pointing up; u = 0..1 from left to right, column = u * (W - 1). The
 *     photo is only rotated into this frame, never mirrored.
 *   - The texture spans the nail's oriented bounding box in the photo, its
 *     full width and its length from cuticle to free edge, slightly inset
 *     (NAIL_TEXTURE_INSET of the width on each side, of the length at each
 *     end) so that no skin or background is sampled at the rim. Texels of the
 *     box that fall outside the nail's own outline (the rounded corners) are
 *     filled from the nearest texel inside the outline in the same row (or,
 *     for rows with none, the nearest row that has one): every texel is nail.
 *     A sampler can therefore map the box of its own nail, whatever its shape.
 *   - Unless opts.keep_lighting, the photo's lighting is taken out: the
 *     shading across and along the nail (its curvature under the photo's
 *     light) is flattened to the nail's mean lightness and specular
 *     highlights are replaced by the surrounding colour, so that the renderer
 *     can apply the shopper's own lighting. Colours, patterns and art stay.
 *
 * Which nail
 *   - With opts.mask (an 8-bit mask of the photo's nails, > 127 = nail, e.g.
 *     from nail geometry run on the reference photo, or a hand-drawn one):
 *     the largest connected region of the mask. Most reliable.
 *   - Without: the most nail-like region of the photo as the palette sees it
 *     (palette.h, refscan.h): a colour-uniform region outlined mostly by skin,
 *     with everything it encloses (art, highlights). On a close-up of painted
 *     nails this is usually a nail; on a photo where no such region exists,
 *     the centre of the photo (source NAIL_TEXTURE_FROM_CENTRE), which is where
 *     nail-art photos put the art.
 *   - Which end is the cuticle: the end with skin beyond it (the finger),
 *     else the end nearer to the hand's skin as a whole; with no skin at all,
 *     the lower end of the photo.
 *
 * Cost: proportional to the photo (one pass) plus about 150k bilinear samples;
 * allocates temporarily (malloc); for session set-up, not per frame.
 * Reentrant; no shared state. A filled nail_texture is plain data: copy it,
 * share it read-only between threads.
 */
#ifndef LQ_NAILS_REFERENCE_H
#define LQ_NAILS_REFERENCE_H

#include <stdint.h>

#include "base/error.h"
#include "image/image.h"
#include "nails/color.h"

#define NAIL_TEXTURE_W 64
#define NAIL_TEXTURE_H 128
#define NAIL_TEXTURE_INSET 0.06f

typedef enum nail_texture_source {
    NAIL_TEXTURE_FROM_MASK = 0,    /* the largest region of opts.mask */
    NAIL_TEXTURE_FROM_NAIL = 1,    /* the most nail-like region found in the photo */
    NAIL_TEXTURE_FROM_CENTRE = 2,  /* nothing nail-like: the centre of the photo */
} nail_texture_source;

typedef struct nail_texture {
    int width;                     /* NAIL_TEXTURE_W */
    int height;                    /* NAIL_TEXTURE_H */
    uint8_t rgb[NAIL_TEXTURE_H * NAIL_TEXTURE_W * 3];  /* see "Texture layout" */
    nail_rgb mean;                 /* mean colour (averaged in linear light) */
    nail_texture_source source;
    /* Where it was taken from, in photo pixels (for tools and tests): the
     * box centre, the unit axis from cuticle to free edge, and the box size
     * before the inset. */
    float cx, cy, ax, ay, box_width, box_length;
} nail_texture;

typedef struct nail_texture_opts {
    const uint8_t *mask;           /* optional nail mask, same size as the photo */
    int mask_stride;               /* bytes per mask row (>= width) */
    int keep_lighting;             /* 1: keep the photo's shading and highlights */
} nail_texture_opts;

/* Fills *out from the reference photo. opts may be NULL (no mask, lighting
 * removed). Returns 0, or LQ_EINVAL (NULL/empty image, stride or mask_stride
 * too small), LQ_ELIMIT (image over LQ_IMAGE_MAX_DIM/MAX_PIXELS),
 * LQ_ENOTFOUND (the mask selects no pixel), LQ_ENOMEM; on failure *out is
 * untouched. */
int nail_reference_texture(const lq_image *ref, const nail_texture_opts *opts,
                           nail_texture *out) LQ_NODISCARD;

/* An lq_image view (owned = 0) on t's texels: width 64, height 128, stride
 * 192. Valid while t is; do not lq_image_free it (it is safe to: it only
 * clears the view). */
void nail_texture_view(const nail_texture *t, lq_image *view);

/* Bilinear sample at (u, v) (u across, v from cuticle 0 to free edge 1, both
 * clamped to 0..1), interpolated in linear light. */
nail_rgb nail_texture_sample(const nail_texture *t, float u, float v);

#endif
