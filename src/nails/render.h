/*
 * render.h - paints nail polish onto the nails of a frame, in place.
 *
 *   nail_renderer *r;
 *   if (nail_renderer_create(&r) < 0) ...;              // once per worker thread
 *   ...
 *   rc = nail_render_frame(r, &frame, nails, n, &design, session_seed);
 *   ...
 *   nail_renderer_destroy(r);
 *
 * What it does with each visible nail_geom (geometry.h):
 *  - outline: an anti-aliased signed-distance shape in nail-local coordinates
 *    (u across, v along the axis from the cuticle). The natural plate runs from
 *    the cuticle to the free edge; the design's shape (almond, square, oval,
 *    stiletto, coffin, round, squoval) is extended beyond the free edge by
 *    (style.length - 1) x the natural plate length (no extension below 1.0; a
 *    painted nail is never shorter than the real one). Lengths along the axis
 *    are apparent (foreshortened) lengths, so curves are foreshortened too.
 *    Polish stops about half a pixel short of the cuticle and fades over ~1.5 px.
 *  - lighting: the real nail's shading is measured under the plate (a smooth
 *    fit of its linear-light luma across and along the nail, and where it is
 *    brightest) and re-applied to the polish, together with the exposure at
 *    the nail and the scene's colour cast. The extension continues the plate's
 *    shading and gets a thin edge so it does not look pasted onto the background.
 *  - finish: glossy, matte, metallic, cream, sheer (the nail shows through),
 *    pearl, shimmer; pattern: solid, french_tips, ombre (in OKLab), glitter,
 *    marble, floral, reference (see nail_renderer_set_reference).
 * Procedural patterns are anchored in nail-local coordinates and seeded from
 * (seed_base, the nail's track_id, finger): the same nail gets the same
 * pattern on every frame, and the pattern moves with the nail.
 *
 * Only pixels inside a nail's painted shape plus a 1 px anti-aliasing margin
 * are written. The output depends only on the inputs (same frame, nails,
 * design and seed -> same bytes, whatever renderer instance is used).
 *
 * Cost (bench/bench_nails.c, one thread): about 0.7-0.8 ms per 640x480
 * frame with 10 long nails for a solid glossy design; patterns and finishes
 * add up to about 3x (glitter with shimmer: about 2 ms), the others less
 * (docs/designs.md, "Cost of a design"). Only pixels within each nail's oriented bounding box are
 * visited; sRGB conversions and exponentials go through tables.
 *
 * Threading: a renderer is not thread-safe; use one per worker thread. It
 * holds no per-session state, so any session's frames may go through any
 * renderer. Designs and nail arrays are only read.
 * Memory: everything is allocated by nail_renderer_create (and by
 * nail_renderer_set_reference); nail_render_frame never allocates.
 */
#ifndef LQ_NAILS_RENDER_H
#define LQ_NAILS_RENDER_H

#include <stdint.h>

#include "base/error.h"
#include "image/image.h"
#include "nails/design.h"
#include "nails/geometry.h"

typedef struct nail_renderer nail_renderer;

/* Caps on what the renderer accepts. */
#define NAIL_RENDER_MAX_NAILS NAIL_MAX /* nails per call */
#define NAIL_RENDER_REF_MAX_DIM 4096   /* reference texture side */

/* Creates a renderer (lookup tables, noise tables). Returns LQ_EINVAL if out is
 * NULL, LQ_ENOMEM on allocation failure (*out untouched). */
int nail_renderer_create(nail_renderer **out) LQ_NODISCARD;

/* Releases everything; NULL is fine. */
void nail_renderer_destroy(nail_renderer *r);

/*
 * Sets the texture that pattern "reference" maps onto each nail: an RGB image
 * of nail art, ideally a crop of one painted nail with its free edge at the
 * top (row 0) and its cuticle at the bottom (columns left to right across
 * the nail seen with its tip up), e.g. from
 * nail_reference_texture() and nail_texture_view() (reference.h). The image
 * is resampled (at most 256 texels on its longer side) and copied, so
 * the caller keeps ownership of tex. It is stretched over each nail's whole
 * painted outline, cuticle to tip. NULL clears it; without a texture,
 * "reference" paints the style's first colour as a solid.
 * Returns LQ_EINVAL for an empty image or one over NAIL_RENDER_REF_MAX_DIM
 * (the previous texture is kept), LQ_ENOMEM on allocation failure.
 */
int nail_renderer_set_reference(nail_renderer *r, const lq_image *tex) LQ_NODISCARD;

/* Per-call statistics (optional output of nail_render_frame_ex). */
typedef struct nail_render_stats {
    int nails_painted;   /* nails that were visible, valid and on screen */
    int nails_skipped;   /* not visible, degenerate or non-finite geometry */
    long pixels_touched; /* pixels written (coverage > 0) */
    int nrects;          /* = nails_painted: the box each painted nail was drawn in; */
    lq_pixel_rect rects[NAIL_RENDER_MAX_NAILS]; /* no pixel outside them changed */
} nail_render_stats;

/*
 * Paints the design onto the n nails of frame, in place. Each nail uses
 * design->finger[nails[i].finger] (finger clamped to 0..4). Nails with
 * visible == 0, non-finite fields, or width/length under 1 px are skipped;
 * they are not errors. n may be 0.
 * Returns 0, or LQ_EINVAL (NULL renderer/frame/design/nails with n > 0, an
 * empty frame, n < 0) or LQ_ELIMIT (n > NAIL_RENDER_MAX_NAILS); on error the
 * frame is untouched.
 */
int nail_render_frame(nail_renderer *r, lq_image *frame, const nail_geom *nails, int n,
                      const nail_design *design, uint32_t seed_base) LQ_NODISCARD;

/* Same, and fills *stats (may be NULL). */
int nail_render_frame_ex(nail_renderer *r, lq_image *frame, const nail_geom *nails, int n,
                         const nail_design *design, uint32_t seed_base,
                         nail_render_stats *stats) LQ_NODISCARD;

/*
 * Signed distance, in frame pixels (negative inside), from the frame point
 * (x, y) to the outline that nail_render_frame paints for this nail and style
 * (the extended design shape, before the cuticle inset). Pixel centres are at
 * (i + 0.5, j + 0.5). For tests and tools (e.g. drawing outlines); returns a
 * large positive value for a degenerate nail.
 */
float nail_render_distance(const nail_geom *g, const nail_style *style, float x, float y);

/* The seed a nail's procedural pattern uses (exposed for tests). */
uint32_t nail_render_seed(uint32_t seed_base, const nail_geom *g);

#endif
