/*
 * hand_tracker.h - the real hand models and trackers on them, set up the way
 * the tests of the tracker and the nail dataset evaluations use them.
 *
 *   static lq_hand_models *models;            // in a cmocka group setup:
 *   return lq_test_load_hand_models(LQ_HAND_LOAD_FULL, &models);
 *
 *   lq_hand_models *m; lq_tracker *t;         // inside a test
 *   lq_test_static_tracker(&m, &t);
 *   ... lq_tracker_process(t, img, 0, &hands) ...
 *   lq_tracker_destroy(t);
 *   lq_hand_models_destroy(m);
 */
#ifndef LQ_TEST_HAND_TRACKER_H
#define LQ_TEST_HAND_TRACKER_H

#include "hand/tracker.h"

/* Loads the models in LQ_MODELS_DIR (variants: LQ_HAND_LOAD_*) into *out.
 * Returns 0, or -1 with the reason on stderr and *out untouched, as a cmocka
 * group setup does. The caller releases *out with lq_hand_models_destroy. */
int lq_test_load_hand_models(unsigned variants, lq_hand_models **out);

/* The full models of LQ_MODELS_DIR into *models and a tracker on them into
 * *tracker, in static mode (every image on its own) without smoothing; a
 * failure fails the running cmocka test. The caller destroys the tracker,
 * then the models. */
void lq_test_static_tracker(lq_hand_models **models, lq_tracker **tracker);

#endif
