#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch/job.h"
#include "image/codec.h"
#include "lq_test.h"

static const batch_job_limits limits = {10u << 20, 1920, 1080};

static batch_field fs(const char *name, const char *value)
{
    return (batch_field){name, strlen(name), (const uint8_t *)value, strlen(value)};
}

static batch_field fb(const char *name, const uint8_t *value, size_t len)
{
    return (batch_field){name, strlen(name), value, len};
}

static void parse_reads_every_field(void **state)
{
    (void)state;
    static const uint8_t img[] = {1, 2, 3};
    batch_field f[] = {fb("image", img, 3),
                       fs("design", "{\"shape\": \"coffin\", \"colors\": [\"#112233\"]}"),
                       fs("job_id", "order-17:a"), fs("output_format", "JPG"),
                       fs("output_quality", "90"), fs("quality", "low"), fs("max_hands", "1"),
                       fs("dead_reason", "ignored"), fs("extra", "ignored")};
    batch_job j;
    batch_outcome out = {0};
    assert_int_equal(batch_job_parse(f, 9, "1-0", &limits, &j, &out), 0);
    assert_string_equal(j.job_id, "order-17:a");
    assert_string_equal(out.job_id, "order-17:a");
    assert_ptr_equal(j.image, img);
    assert_int_equal(j.image_len, 3);
    assert_int_equal(j.design.base.shape, NAIL_SHAPE_COFFIN);
    assert_int_equal(j.output_format, LQ_FMT_JPEG);
    assert_int_equal(j.output_quality, 90);
    assert_int_equal(j.quality, BATCH_QUALITY_LOW);
    assert_int_equal(j.max_hands, 1);
    assert_int_equal(j.unknown_fields, 2);

    batch_field g[] = {fb("image", img, 3)};
    assert_int_equal(batch_job_parse(g, 1, "1700000000000-3", &limits, &j, &out), 0);
    assert_string_equal(j.job_id, "1700000000000-3"); /* no job_id: the entry id */
    assert_int_equal(j.output_format, LQ_FMT_WEBP);
    assert_int_equal(j.output_quality, 75);
    assert_int_equal(j.quality, BATCH_QUALITY_BALANCED);
    assert_int_equal(j.max_hands, 2);
    assert_int_equal(j.design.base.shape, NAIL_SHAPE_ALMOND);
}

static void parse_refuses_bad_jobs_with_a_code(void **state)
{
    (void)state;
    static const uint8_t img[] = {1, 2, 3};
    struct {
        batch_field f[3];
        size_t n;
        batch_error_code code;
        const char *needle;
    } cases[] = {
        {{fs("design", "{}")}, 1, BATCH_ERR_INVALID_JOB, "no image"},
        {{fb("image", img, 0)}, 1, BATCH_ERR_INVALID_JOB, "no image"},
        {{fb("image", img, 3), fb("image", img, 3)}, 2, BATCH_ERR_INVALID_JOB, "twice"},
        {{fb("image", img, 3), fs("job_id", "has space")}, 2, BATCH_ERR_INVALID_JOB, "job_id"},
        {{fb("image", img, 3), fs("job_id", "")}, 2, BATCH_ERR_INVALID_JOB, "job_id"},
        {{fb("image", img, 3), fs("design", "{\"shape\": 3}")}, 2, BATCH_ERR_INVALID_DESIGN,
         "design: shape"},
        {{fb("image", img, 3), fs("design", "{")}, 2, BATCH_ERR_INVALID_DESIGN, "design:"},
        {{fb("image", img, 3), fs("output_format", "gif")}, 2, BATCH_ERR_INVALID_CONFIG,
         "output_format"},
        {{fb("image", img, 3), fs("output_quality", "101")}, 2, BATCH_ERR_INVALID_CONFIG,
         "output_quality"},
        {{fb("image", img, 3), fs("output_quality", "7x")}, 2, BATCH_ERR_INVALID_CONFIG,
         "output_quality"},
        {{fb("image", img, 3), fs("quality", "ultra")}, 2, BATCH_ERR_INVALID_CONFIG, "quality"},
        {{fb("image", img, 3), fs("max_hands", "3")}, 2, BATCH_ERR_INVALID_CONFIG, "max_hands"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        batch_job j;
        batch_outcome out = {0};
        int rc = batch_job_parse(cases[i].f, cases[i].n, "5-0", &limits, &j, &out);
        if (rc != LQ_EINVAL || out.code != cases[i].code || !strstr(out.message, cases[i].needle))
            fail_msg("case %zu: rc %d code %s message '%s'", i, rc, batch_error_name(out.code),
                     out.message);
        assert_false(batch_error_retryable(out.code));
    }
    /* Over the size limit, and too many fields. */
    batch_job_limits small = {2, 1920, 1080};
    batch_field big[] = {fb("image", img, 3), fs("job_id", "j9")};
    batch_job j;
    batch_outcome out = {0};
    assert_int_equal(batch_job_parse(big, 2, "5-0", &small, &j, &out), LQ_EINVAL);
    assert_int_equal(out.code, BATCH_ERR_FRAME_TOO_LARGE);
    assert_string_equal(out.job_id, "j9"); /* the error can name the job */
    batch_field many[BATCH_JOB_MAX_FIELDS + 1];
    for (size_t i = 0; i < BATCH_JOB_MAX_FIELDS + 1; i++)
        many[i] = fb("image", img, 3);
    assert_int_equal(batch_job_parse(many, BATCH_JOB_MAX_FIELDS + 1, "5-0", &limits, &j, &out),
                     LQ_EINVAL);
    assert_int_equal(out.code, BATCH_ERR_INVALID_JOB);
}

static void error_table_is_complete(void **state)
{
    (void)state;
    for (int c = 0; c < BATCH_ERR_COUNT; c++) {
        assert_string_not_equal(batch_error_name((batch_error_code)c), "UNKNOWN");
        assert_true(strlen(batch_error_message((batch_error_code)c)) > 5);
    }
    assert_string_equal(batch_error_name(BATCH_ERR_COUNT), "UNKNOWN");
    assert_true(batch_error_retryable(BATCH_ERR_MODEL_ERROR));
    assert_true(batch_error_retryable(BATCH_ERR_INTERNAL_ERROR));
    assert_false(batch_error_retryable(BATCH_ERR_HAND_NOT_DETECTED));
    assert_false(batch_error_retryable(BATCH_ERR_MAX_ATTEMPTS_EXCEEDED));
}

/* ---- processing, with the real models ---- */

typedef struct fixture {
    lq_tryon_engine *engine;
    lq_tryon_worker *worker;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof *f);
    char err[256];
    lq_tryon_engine_opts eo = {.models_dir = LQ_MODELS_DIR, .load_lite = 1};
    if (!f || lq_tryon_engine_create(&eo, &f->engine, err, sizeof err) < 0 ||
        lq_tryon_worker_create(f->engine, &f->worker) < 0) {
        fprintf(stderr, "cannot load the models from %s: %s\n", LQ_MODELS_DIR, err);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture *f = *state;
    lq_tryon_worker_destroy(f->worker);
    lq_tryon_engine_destroy(f->engine);
    free(f);
    return 0;
}

static void run(fixture *fx, batch_field *f, size_t n, batch_outcome *out)
{
    batch_job j;
    batch_outcome_reset(out);
    assert_int_equal(batch_job_parse(f, n, "7-0", &limits, &j, out), 0);
    batch_job_process(fx->engine, fx->worker, &j, &limits, out);
}

static void paints_a_hand_photo_and_describes_it(void **state)
{
    fixture *fx = *state;
    size_t len = 0;
    uint8_t *photo = lq_test_read_file(lq_test_data("hands/tfjs_hands_two_dorsal.jpg"), &len);
    assert_non_null(photo);
    batch_field f[] = {fb("image", photo, len), fs("job_id", "two-hands"),
                       fs("design", "{\"colors\": [\"#00c000\"], \"finish\": \"matte\"}"),
                       fs("output_format", "png")};
    batch_outcome out = {0};
    run(fx, f, 4, &out);
    assert_true(out.ok);
    assert_int_equal(out.format, LQ_FMT_PNG);
    assert_int_equal(lq_test_write_artifact("batch_job_two_hands.png", out.image.data, out.image.len), 0);

    /* The painted nails are green: more pure-green pixels than in the photo. */
    lq_image before = {0}, after = {0};
    lq_decode_limits dl = LQ_DECODE_LIMITS_DEFAULT;
    assert_int_equal(lq_image_decode(photo, len, &dl, &before, NULL, 0), 0);
    assert_int_equal(lq_image_decode(out.image.data, out.image.len, &dl, &after, NULL, 0), 0);
    assert_int_equal(after.width, before.width);
    assert_int_equal(after.height, before.height);
    long green_before = 0, green_after = 0;
    for (int y = 0; y < after.height; y++)
        for (int x = 0; x < after.width; x++) {
            const uint8_t *a = lq_image_px(&after, x, y), *b = lq_image_px(&before, x, y);
            green_after += a[1] > a[0] + 40 && a[1] > a[2] + 40;
            green_before += b[1] > b[0] + 40 && b[1] > b[2] + 40;
        }
    assert_true(green_after > green_before + 200);

    cJSON *m = cJSON_Parse(out.metadata);
    assert_non_null(m);
    assert_string_equal(cJSON_GetObjectItem(m, "job_id")->valuestring, "two-hands");
    assert_int_equal(cJSON_GetObjectItem(m, "width")->valueint, 720);
    assert_int_equal(cJSON_GetObjectItem(m, "size_bytes")->valueint, (int)out.image.len);
    cJSON *di = cJSON_GetObjectItem(m, "detection_info");
    assert_int_equal(cJSON_GetObjectItem(di, "hands_detected")->valueint, 2);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(di, "overlay_applied")));
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(m, "nails")) >= 6);
    cJSON *design = cJSON_GetObjectItem(m, "design");
    assert_string_equal(cJSON_GetObjectItem(design, "finish")->valuestring, "matte");
    assert_true(cJSON_GetObjectItem(cJSON_GetObjectItem(m, "timings_ms"), "total")->valuedouble > 0);
    cJSON_Delete(m);

    /* The same job again gives the same image (static mode: no state carried over). */
    lq_encoded first = {0};
    first.data = malloc(out.image.len);
    assert_non_null(first.data);
    memcpy(first.data, out.image.data, out.image.len);
    first.len = out.image.len;
    run(fx, f, 4, &out);
    assert_true(out.ok);
    assert_int_equal(out.image.len, first.len);
    assert_memory_equal(out.image.data, first.data, first.len);

    lq_encoded_free(&first);
    lq_image_free(&before);
    lq_image_free(&after);
    batch_outcome_release(&out);
    free(photo);
}

static void image_problems_are_final_errors(void **state)
{
    fixture *fx = *state;
    size_t len = 0;
    uint8_t *photo = lq_test_read_file(lq_test_data("hands/tfjs_hands_two_dorsal.jpg"), &len);
    assert_non_null(photo);
    batch_outcome out = {0};

    batch_field trunc[] = {fb("image", photo, len / 3)};
    run(fx, trunc, 1, &out);
    assert_false(out.ok);
    assert_int_equal(out.code, BATCH_ERR_INVALID_FRAME);
    assert_null(out.metadata);

    static const uint8_t gif[] = "GIF89a\x01\x00\x01\x00";
    batch_field g[] = {fb("image", gif, sizeof gif - 1)};
    run(fx, g, 1, &out);
    assert_int_equal(out.code, BATCH_ERR_UNSUPPORTED_FORMAT);

    /* A blank frame: no hand; the metadata says what was measured. */
    lq_image blank = {0};
    assert_int_equal(lq_image_alloc(&blank, 320, 240), 0);
    memset(blank.data, 128, (size_t)blank.stride * 240);
    lq_encoded png = {0};
    assert_int_equal(lq_image_encode(&blank, LQ_FMT_PNG, 0, 1, &png), 0);
    batch_field b[] = {fb("image", png.data, png.len)};
    run(fx, b, 1, &out);
    assert_false(out.ok);
    assert_int_equal(out.code, BATCH_ERR_HAND_NOT_DETECTED);
    assert_false(batch_error_retryable(out.code));
    assert_non_null(out.metadata);
    assert_non_null(strstr(out.metadata, "\"hands_detected\":0"));

    /* Over the frame limits: refused from the header. */
    batch_job_limits tight = {10u << 20, 300, 200};
    batch_job j;
    batch_outcome_reset(&out);
    assert_int_equal(batch_job_parse(b, 1, "8-0", &tight, &j, &out), 0);
    batch_job_process(fx->engine, fx->worker, &j, &tight, &out);
    assert_int_equal(out.code, BATCH_ERR_FRAME_TOO_LARGE);
    assert_non_null(strstr(out.message, "320x240"));

    lq_encoded_free(&png);
    lq_image_free(&blank);
    batch_outcome_release(&out);
    free(photo);
}

int main(void)
{
    const struct CMUnitTest plain[] = {
        cmocka_unit_test(parse_reads_every_field),
        cmocka_unit_test(parse_refuses_bad_jobs_with_a_code),
        cmocka_unit_test(error_table_is_complete),
    };
    const struct CMUnitTest with_models[] = {
        cmocka_unit_test(paints_a_hand_photo_and_describes_it),
        cmocka_unit_test(image_problems_are_final_errors),
    };
    int rc = cmocka_run_group_tests(plain, NULL, NULL);
    return rc | cmocka_run_group_tests(with_models, setup, teardown);
}
