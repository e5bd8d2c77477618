/* test_tryon_json.c - the per-frame result as JSON (shared by the service and the batch worker). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <string.h>

#include "tryon/tryon_json.h"

static lq_tryon_result sample(void)
{
    lq_tryon_result r;
    memset(&r, 0, sizeof r);
    r.hands.count = 1;
    r.hands.hand[0].handedness = LQ_HAND_LEFT;
    r.hands.hand[0].handedness_score = 0.98765f;
    r.hands.hand[0].presence = 0.9f;
    r.hands.hand[0].track_id = 7;
    r.nnails = 3;
    for (int i = 0; i < 3; i++) {
        r.nails[i].hand = 0;
        r.nails[i].finger = i + 1;
        r.nails[i].visible = 1;
        r.nails[i].cx = 100.04f + (float)i;
        r.nails[i].cy = 50.0f;
        r.nails[i].ax = 0.0f;
        r.nails[i].ay = -1.0f;
        r.nails[i].width = 12.0f;
        r.nails[i].length = 15.0f;
        r.nails[i].confidence = 0.8f;
    }
    r.nails[2].hand = -1;
    r.nails[2].finger = -1;
    r.nails_segmented = 1;
    r.fingertips_mask = (1u << 1) | (1u << 2);
    r.problems = LQ_PROBLEM_PARTIAL_HAND | LQ_PROBLEM_LOW_LIGHT;
    r.hand_luma = 40.04f;
    r.overlay_applied = 1;
    r.t.landmark_ms = 9.12345;
    r.t.seg_ms = 2.5;
    return r;
}

static void detection_info_lists_fingers_and_problems_in_order(void **s)
{
    (void)s;
    lq_tryon_result r = sample();
    cJSON *o = cJSON_CreateObject();
    lq_tryon_json_add_detection(o, &r);
    cJSON *di = cJSON_GetObjectItem(o, "detection_info");
    assert_non_null(di);
    assert_int_equal(cJSON_GetObjectItem(di, "hands_detected")->valueint, 1);
    cJSON *tips = cJSON_GetObjectItem(di, "fingertips_detected");
    assert_int_equal(cJSON_GetArraySize(tips), 2);
    assert_int_equal(cJSON_GetArrayItem(tips, 0)->valueint, 1);
    cJSON *probs = cJSON_GetObjectItem(di, "problems");
    assert_int_equal(cJSON_GetArraySize(probs), 2);
    assert_string_equal(cJSON_GetArrayItem(probs, 0)->valuestring, "LOW_LIGHT");
    assert_string_equal(cJSON_GetArrayItem(probs, 1)->valuestring, "PARTIAL_HAND_DETECTED");
    assert_true(fabs(cJSON_GetObjectItem(di, "hand_luma")->valuedouble - 40.0) < 1e-9);
    assert_int_equal(cJSON_GetObjectItem(di, "nails_segmented")->valueint, 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(di, "overlay_applied")));
    cJSON_Delete(o);
}

static void nails_say_where_they_came_from(void **s)
{
    (void)s;
    lq_tryon_result r = sample();
    cJSON *o = cJSON_CreateObject();
    lq_tryon_json_add_nails(o, &r);
    cJSON *nails = cJSON_GetObjectItem(o, "nails");
    assert_int_equal(cJSON_GetArraySize(nails), 3);
    cJSON *n0 = cJSON_GetArrayItem(nails, 0), *n2 = cJSON_GetArrayItem(nails, 2);
    assert_string_equal(cJSON_GetObjectItem(n0, "finger")->valuestring, "index");
    assert_string_equal(cJSON_GetObjectItem(n0, "source")->valuestring, "landmarks");
    assert_int_equal(cJSON_GetObjectItem(n0, "hand")->valueint, 0);
    assert_true(fabs(cJSON_GetObjectItem(n0, "cx")->valuedouble - 100.0) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItem(n0, "angle")->valuedouble - (-1.571)) < 1e-9);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(n2, "finger")));
    assert_string_equal(cJSON_GetObjectItem(n2, "source")->valuestring, "segmentation");
    assert_int_equal(cJSON_GetObjectItem(n2, "hand")->valueint, -1);
    cJSON_Delete(o);
}

static void hands_and_timings(void **s)
{
    (void)s;
    lq_tryon_result r = sample();
    cJSON *o = cJSON_CreateObject();
    lq_tryon_json_add_hands(o, &r, 1);
    cJSON *h0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "hands"), 0);
    assert_int_equal(cJSON_GetObjectItem(h0, "track_id")->valueint, 7);
    assert_string_equal(cJSON_GetObjectItem(h0, "handedness")->valuestring, "left");
    assert_true(fabs(cJSON_GetObjectItem(h0, "handedness_score")->valuedouble - 0.988) < 1e-9);
    cJSON *o2 = cJSON_CreateObject();
    lq_tryon_json_add_hands(o2, &r, 0);
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(o2, "hands"), 0),
                                    "track_id"));
    cJSON *t = cJSON_CreateObject();
    lq_tryon_json_add_stage_timings(t, &r);
    assert_true(fabs(cJSON_GetObjectItem(t, "landmark")->valuedouble - 9.123) < 1e-9);
    assert_true(fabs(cJSON_GetObjectItem(t, "segmentation")->valuedouble - 2.5) < 1e-9);
    cJSON_Delete(o);
    cJSON_Delete(o2);
    cJSON_Delete(t);
}

static void problem_codes(void **s)
{
    (void)s;
    int n = 0;
    const unsigned *order = lq_tryon_problem_order(&n);
    assert_int_equal(n, 4);
    for (int i = 0; i < n; i++)
        assert_non_null(lq_tryon_problem_code(order[i]));
    assert_null(lq_tryon_problem_code(0));
    assert_null(lq_tryon_problem_code(LQ_PROBLEM_LOW_LIGHT | LQ_PROBLEM_BLUR));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(detection_info_lists_fingers_and_problems_in_order),
        cmocka_unit_test(nails_say_where_they_came_from),
        cmocka_unit_test(hands_and_timings),
        cmocka_unit_test(problem_codes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
