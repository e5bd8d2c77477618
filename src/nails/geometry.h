/*
 * geometry.h - where each visible fingernail is, from hand landmarks and pixels.
 *
 *   nail_geom nails[LQ_HAND_MAX * NAIL_FINGERS];
 *   int n = 0;
 *   nail_locate(frame, &hands, opts, nails, &n);       // landmarks -> refined outlines
 *   nail_geom_rasterize(nails, n, mask, w, h, w);       // 255 = nail (natural outline)
 *
 * A nail is described parametrically in its own frame: the axis runs from the
 * cuticle (proximal fold) toward the free edge; the natural plate is a rounded
 * shape of `width` across and `length` along the axis, centred on (cx, cy).
 * The renderer extends it beyond the free edge for long and shaped designs.
 * A parametric outline stays stable from frame to frame and is cheap to paint
 * with signed distances; refinement from the pixels adjusts its parameters.
 */
#ifndef LQ_NAILS_GEOMETRY_H
#define LQ_NAILS_GEOMETRY_H

#include <stdint.h>

#include "hand/hand.h"
#include "image/image.h"

#define NAIL_MAX (LQ_HAND_MAX * 5)

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
} nail_geom;

#endif
