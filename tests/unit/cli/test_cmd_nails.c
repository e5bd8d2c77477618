/*
 * test_cmd_nails.c - `lacquer nails`, run as a process (the real binary):
 * usage errors, the JSON, and the mask file (8-bit gray PNG, input size,
 * 0/255, scoring well against the annotated mask).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "image/codec.h"
#include "cli_run.h"
#include "lq_test.h"

static int have_inputs(void)
{
    return lq_test_exists(lq_test_model("palm_detection_full.tflite")) &&
           lq_test_exists(lq_test_data("nails/images"));
}

static void help_and_usage_errors(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(lq_test_run("nails --help", &out), 0);
    static const char *opts[] = {"--mask",      "--overlay",        "--models",
                                 "--model",     "--no-refine",      "--no-segmentation"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        assert_non_null(strstr(out, opts[i]));
    free(out);
    assert_int_equal(lq_test_run("--help", &out), 0);
    assert_non_null(strstr(out, "nails"));
    free(out);
    assert_int_equal(lq_test_run("nails", &out), 2);
    free(out);
    assert_int_equal(lq_test_run("nails --bogus x.jpg", &out), 2);
    free(out);
    assert_int_equal(lq_test_run("nails a.jpg b.jpg", &out), 2);
    free(out);
    assert_int_equal(lq_test_run("nails --mask", &out), 2);
    free(out);
    assert_int_equal(lq_test_run("nails --model heavy x.jpg", &out), 2);
    free(out);
    /* a file that is not there is a runtime failure */
    assert_int_equal(lq_test_run("nails /nonexistent/photo.jpg", &out), 1);
    free(out);
}

static void writes_the_mask_and_the_json(void **state)
{
    (void)state;
    if (!have_inputs()) {
        print_message("no models or shared data, skipped\n");
        skip();
    }
    const char *name = "d639e532-db67-11e8-9658-0242ac1c0002.jpg";
    char in[4096], truth_path[4096], mask_path[4096], args[12288], rel[256];
    snprintf(rel, sizeof rel, "nails/images/%s", name);
    snprintf(in, sizeof in, "%s", lq_test_data(rel));
    snprintf(rel, sizeof rel, "nails/masks/%s", name);
    snprintf(truth_path, sizeof truth_path, "%s", lq_test_data(rel));
    snprintf(mask_path, sizeof mask_path, "%s/test_cmd_nails_%d.png", LQ_BINARY_DIR, (int)getpid());
    snprintf(args, sizeof args, "nails --compact --mask '%s' '%s'", mask_path, in);
    char *out = NULL;
    assert_int_equal(lq_test_run(args, &out), 0);

    cJSON *root = cJSON_Parse(out);
    assert_non_null(root);
    assert_int_equal(cJSON_GetObjectItem(root, "width")->valueint, 767);
    assert_int_equal(cJSON_GetObjectItem(root, "height")->valueint, 512);
    assert_int_equal(cJSON_GetObjectItem(root, "numHands")->valueint, 2);
    const cJSON *nails = cJSON_GetObjectItem(root, "nails");
    assert_true(cJSON_IsArray(nails) && cJSON_GetArraySize(nails) >= 6);
    const cJSON *n0 = cJSON_GetArrayItem(nails, 0);
    static const char *fields[] = {"hand",  "finger", "finger_name", "confidence", "centre",
                                   "axis",  "length", "width",       "foreshorten", "facing",
                                   "fit"};
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        assert_non_null(cJSON_GetObjectItem(n0, fields[i]));
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(root, "fingertips_detected")) >= 4);
    double json_pixels = cJSON_GetObjectItem(root, "mask_pixels")->valuedouble;

    /* the mask: a gray PNG the size of the input, only 0 and 255 */
    size_t len = 0;
    uint8_t *png = lq_test_read_file(mask_path, &len);
    assert_non_null(png);
    assert_true(len > 33 && memcmp(png + 1, "PNG", 3) == 0);
    assert_int_equal(png[24], 8); /* bit depth */
    assert_int_equal(png[25], 0); /* colour type: grayscale */
    free(png);
    lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
    lq_image mask, truth;
    char err[256];
    assert_int_equal(lq_image_load(mask_path, &lim, &mask, err, sizeof err), 0);
    assert_int_equal(lq_image_load(truth_path, &lim, &truth, err, sizeof err), 0);
    assert_int_equal(mask.width, truth.width);
    assert_int_equal(mask.height, truth.height);
    long on = 0, inter = 0, uni = 0;
    for (int y = 0; y < mask.height; y++)
        for (int x = 0; x < mask.width; x++) {
            uint8_t v = lq_image_px(&mask, x, y)[0];
            assert_true(v == 0 || v == 255);
            int p = v == 255, t = lq_image_px(&truth, x, y)[0] > 127;
            on += p;
            inter += p && t;
            uni += p || t;
        }
    assert_true((double)on == json_pixels);
    double iou = (double)inter / (double)uni;
    print_message("lacquer nails on %.8s: %d nails, mask IoU %.3f\n", name,
                  cJSON_GetArraySize(nails), iou);
    assert_true(iou > 0.6);
    lq_image_free(&mask);
    lq_image_free(&truth);
    cJSON_Delete(root);
    free(out);
    unlink(mask_path);
}

/* A close-up on which the palm detector finds no hand: the nails come from
 * the segmentation network alone (hand -1, finger null, source
 * "segmentation"); without the network the mask is empty. */
static void no_hand_nails_come_from_segmentation(void **state)
{
    (void)state;
    if (!have_inputs() || !lq_test_exists(LQ_MODELS_DIR "/../assets/nailseg/nailseg.tflite")) {
        print_message("no models, nail segmentation model or shared data, skipped\n");
        skip();
    }
    const char *name = "09aefeec-e05f-11e8-87a6-0242ac1c0002.jpg";
    char in[4096], mask_path[4096], args[12288], rel[256];
    snprintf(rel, sizeof rel, "nails/images/%s", name);
    snprintf(in, sizeof in, "%s", lq_test_data(rel));
    snprintf(mask_path, sizeof mask_path, "%s/test_cmd_nails_empty_%d.png", LQ_BINARY_DIR,
             (int)getpid());
    for (int seg = 1; seg >= 0; seg--) {
        snprintf(args, sizeof args, "nails --compact %s --mask '%s' '%s'",
                 seg ? "" : "--no-segmentation", mask_path, in);
        char *out = NULL;
        assert_int_equal(lq_test_run(args, &out), 0);
        cJSON *root = cJSON_Parse(out);
        assert_non_null(root);
        assert_int_equal(cJSON_GetObjectItem(root, "numHands")->valueint, 0);
        const cJSON *nails = cJSON_GetObjectItem(root, "nails");
        const double pixels = cJSON_GetObjectItem(root, "mask_pixels")->valuedouble;
        if (seg) {
            assert_true(cJSON_GetArraySize(nails) >= 1);
            const cJSON *n0 = cJSON_GetArrayItem(nails, 0);
            assert_string_equal(cJSON_GetObjectItem(n0, "source")->valuestring, "segmentation");
            assert_int_equal(cJSON_GetObjectItem(n0, "hand")->valueint, -1);
            assert_true(cJSON_IsNull(cJSON_GetObjectItem(n0, "finger")));
            assert_true(pixels > 100.0);
            assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(root, "fingertips_detected")),
                             0);
        } else {
            assert_int_equal(cJSON_GetArraySize(nails), 0);
            assert_true(pixels == 0.0);
        }
        lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
        lq_image mask;
        char err[256];
        assert_int_equal(lq_image_load(mask_path, &lim, &mask, err, sizeof err), 0);
        assert_int_equal(mask.width, 750);
        assert_int_equal(mask.height, 340);
        lq_image_free(&mask);
        cJSON_Delete(root);
        free(out);
    }
    unlink(mask_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_and_usage_errors),
        cmocka_unit_test(writes_the_mask_and_the_json),
        cmocka_unit_test(no_hand_nails_come_from_segmentation),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
