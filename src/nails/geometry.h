/*
 * geometry.h - where each visible fingernail is, from hand landmarks and pixels.
 *
 *   nail_geom nails[NAIL_MAX];
 *   int n = 0;
 *   nail_locate_opts o = NAIL_LOCATE_OPTS_DEFAULT;
 *   if (nail_locate(frame, &hands, &o, nails, NAIL_MAX, &n) == 0)   // landmarks -> refined outlines
 *       nail_geom_rasterize(nails, n, mask, w, h, w);                // 255 = nail (natural outline)
 *
 * A nail is described parametrically in its own frame: the axis runs from the
 * cuticle (proximal fold) toward the free edge; the natural plate is a rounded
 * shape of `width` across and `length` along the axis, centred on (cx, cy).
 * The renderer extends it beyond the free edge for long and shaped designs.
 * A parametric outline stays stable from frame to frame and is cheap to paint
 * with signed distances; refinement from the pixels adjusts its parameters.
 *
 * How the landmarks become a nail (nail_geom_from_hands):
 *   - the nail plate sits on the distal phalanx, DIP->TIP (thumb: IP->TIP);
 *     its size is a fraction of that segment's 3-D length (landmark z is at
 *     the scale of x), with proportions measured on the annotated nail photos
 *     in shared/data/nails (MediaPipe's TIP landmark lies near the plate's
 *     centre in a dorsal view);
 *   - the plate's outward normal is perpendicular to the distal phalanx and to
 *     the finger's flexion axis (the line through the index and pinky MCPs),
 *     on the back of the hand; which side is the back follows from the
 *     handedness. This normal follows the finger as it curls, so a palm-facing
 *     hand hides its nails but a fist seen from the palm side shows the nails
 *     of the curled fingers. The thumb is rotated against the fingers: in a
 *     relaxed hand its plate faces between the back of the hand and the
 *     radial side; once the thumb bends, the plane it bends in (CMC->MCP vs
 *     IP->TIP) gives its rotation. Its plate centre sits off the bone axis
 *     toward the plate normal (visible when the thumb is seen from the side);
 *   - the rest of the hand may hide a plate that faces the camera: a
 *     fingertip curled behind its own knuckle (a fist seen from the palm
 *     side), the thumb folded over a fingertip, the palm. When the hand has
 *     world landmarks (metric 3-D), the hand is modelled as capsules around
 *     its bones and a slab through the palm, with depth from the world
 *     landmarks (the image landmarks' z flattens curled fingers); facing is
 *     scaled by the share of the plate's surface that nothing is in front of;
 *   - a nail is visible when its normal faces the camera enough
 *     (facing >= opts->min_facing) and its projected plate is not degenerate;
 *     length and width are the 3-D sizes projected onto the image.
 *
 * Quality (tests/unit/nails/test_nail_eval.c): on the 18 annotated photos
 * where MediaPipe finds hands, the landmark outlines score a mean IoU of 0.53
 * with the masks, 0.58 after refinement. For video, smooth the nails with
 * nail_track.h and call nail_locate with min_facing <= its hide_facing.
 *
 * Limits: coordinates with magnitude above NAIL_MAX_COORD, non-finite values,
 * coincident joints or hands with a non-finite presence produce no nail (they
 * are skipped, never an error). All functions are reentrant and allocate
 * nothing; thread-safe on distinct outputs.
 */
#ifndef LQ_NAILS_GEOMETRY_H
#define LQ_NAILS_GEOMETRY_H

#include <stdint.h>

#include "base/error.h"
#include "hand/hand.h"
#include "image/image.h"

#define NAIL_MAX (LQ_HAND_MAX * 5)
#define NAIL_MAX_COORD 1.0e5f   /* landmark coordinates beyond +-this are refused */

typedef struct nail_geom {
    int hand;              /* index into lq_hands.hand[] */
    int track_id;          /* the hand's track id (for temporal smoothing) */
    int finger;            /* 0 thumb, 1 index, 2 middle, 3 ring, 4 pinky */
    int visible;           /* 1 if the nail plate faces the camera enough to paint */
    float confidence;      /* 0..1: landmark presence x visibility x refinement fit */
    float cx, cy;          /* centre of the natural nail plate, frame pixels */
    float ax, ay;          /* unit vector from cuticle toward the free edge (image plane) */
    float width;           /* plate width across the axis, pixels */
    float length;          /* natural plate length from cuticle to free edge, pixels */
    float foreshorten;     /* apparent / expected length, 0..1 (finger tilted toward camera) */
    float cuticle_round;   /* 0 = flat proximal edge, 1 = fully rounded (semicircle) */
    float tip_round;       /* same for the natural free edge */
    /* Added after the first contract (all plain data, copy by value): */
    float facing;          /* cosine between the plate's normal and the direction
                              to the camera: 1 = seen face-on, <= 0 = turned away;
                              times the share of the plate not hidden by the rest
                              of the hand (when world landmarks are known) */
    float fit;             /* refinement fit quality 0..1; -1 if not refined */
} nail_geom;

typedef struct nail_locate_opts {
    int refine;            /* 1: refine each outline from the pixels (nail_refine) */
    float min_facing;      /* visible when facing >= this (0..1) */
    float min_presence;    /* hands with presence below this give no nails */
    float min_size_px;     /* nails whose projected width or length is smaller are dropped */
} nail_locate_opts;

#define NAIL_LOCATE_OPTS_DEFAULT {1, 0.15f, 0.5f, 2.0f}

/* 0 if every field is in range, else LQ_EINVAL (and logs which field). */
int nail_locate_opts_validate(const nail_locate_opts *o) LQ_NODISCARD;

/* Landmark-only nail frames: writes up to cap nails, five per usable hand in
 * finger order (thumb first), visible or not (check ->visible), and sets *n.
 * Hands or fingers whose landmarks are unusable are skipped. Never refines.
 * Returns 0, or LQ_EINVAL for NULL pointers / cap < 0 / invalid opts. */
int nail_geom_from_hands(const lq_hands *hands, const nail_locate_opts *opts, nail_geom *out,
                         int cap, int *n) LQ_NODISCARD;

/* The whole step: nail_geom_from_hands, keep visible nails only, then (if
 * opts->refine) nail_refine on frame. frame may be NULL when opts->refine is
 * 0. Returns 0 (also when no nail is found: *n = 0) or LQ_EINVAL. */
int nail_locate(const lq_image *frame, const lq_hands *hands, const nail_locate_opts *opts,
                nail_geom *out, int cap, int *n) LQ_NODISCARD;

/* Signed distance in pixels from (x, y) to the natural outline of g: negative
 * inside, 0 on the edge. The outline is a rounded rectangle of length x width
 * on the axis whose proximal corners have radius cuticle_round * r and distal
 * corners tip_round * r, r = min(width, length) / 2. */
float nail_geom_sdf(const nail_geom *g, float x, float y);

/* Half-width of the natural outline at signed distance u along the axis from
 * the centre (0 outside [-length/2, length/2]). Used by refinement. */
float nail_geom_half_width(float length, float width, float cuticle_round, float tip_round,
                           float u);

/* Rasterizes the union of the natural outlines of the visible nails into an
 * 8-bit mask (stride bytes per row): 255 where a pixel centre is inside, the
 * mask is cleared to 0 first. No anti-aliasing. Returns 0 or LQ_EINVAL (NULL
 * mask, w/h < 1 or > LQ_IMAGE_MAX_DIM, stride < w). Nails with non-finite
 * fields are skipped. */
int nail_geom_rasterize(const nail_geom *nails, int n, uint8_t *mask, int w, int h,
                        int stride) LQ_NODISCARD;

#endif
