#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>

#include "hand_tracker.h"

int lq_test_load_hand_models(unsigned variants, lq_hand_models **out)
{
    char err[512];
    if (lq_hand_models_load(LQ_MODELS_DIR, variants, out, err, sizeof err) < 0) {
        fprintf(stderr, "cannot load the models: %s\n", err);
        return -1;
    }
    return 0;
}

void lq_test_static_tracker(lq_hand_models **models, lq_tracker **tracker)
{
    char err[256];
    lq_hand_models *m = NULL;
    assert_int_equal(lq_hand_models_load(LQ_MODELS_DIR, LQ_HAND_LOAD_FULL, &m, err, sizeof err), 0);
    lq_tracker_opts to = LQ_TRACKER_OPTS_DEFAULT;
    to.static_mode = 1;
    to.smoothing = 0;
    lq_tracker *t = NULL;
    assert_int_equal(lq_tracker_create(m, &to, &t), 0);
    *models = m;
    *tracker = t;
}
