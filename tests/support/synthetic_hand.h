/*
 * synthetic_hand.h - hands and landmark nails with known coordinates for the
 * tests of the nail code (geometry, tracking, segmentation fusion), so that
 * a test knows exactly where every fingertip and nail is.
 *
 * Everything is returned or filled by value: nothing to free. A test sets the
 * fields it cares about (track ids, scores) on the result.
 */
#ifndef LQ_TEST_SYNTHETIC_HAND_H
#define LQ_TEST_SYNTHETIC_HAND_H

#include "hand/hand.h"
#include "nails/geometry.h"

/* A flat hand seen from the back, fingers pointing up (-y), wrist at
 * (320 + dx, 400 + dy), image pixels. MediaPipe's "Right" label (the
 * subject's left hand on an unmirrored frame) has its thumb on the image's
 * right (+x) in this view. Fingertips slightly closer to the camera than the
 * joints, as MediaPipe reports for a relaxed hand. presence 1, handedness
 * LQ_HAND_RIGHT; handedness_score, track_id and everything else 0. */
lq_hand lq_test_dorsal_hand(float dx, float dy);

/* *hs = one hand (presence 0.99, track_id) whose fingers point up: finger
 * f's (0 = thumb) tip at (tip_x + 40 f, tip_y), its DIP 30 px and its PIP
 * 60 px below it; every other landmark at (rest_x, rest_y), z 0. */
void lq_test_fingers_up_hands(lq_hands *hs, float tip_x, float tip_y, float rest_x, float rest_y,
                              int track_id);

/* A visible nail as the landmarks give it: hand 0, centre (cx, cy), axis
 * pointing up (0, -1), width x length pixels, confidence 0.8, foreshorten 1,
 * cuticle_round 0.5, tip_round 1, facing 0.9, fit 0.5; everything else 0. */
nail_geom lq_test_upright_nail(int track_id, int finger, float cx, float cy, float width,
                               float length);

#endif
