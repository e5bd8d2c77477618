/*
 * test_cmd_detect.c - `lacquer detect`, run as a process (the real binary).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include <cjson/cJSON.h>

#include "lq_test.h"

#define OUT_MAX (4u << 20)

/* Runs `lacquer <args>` with stderr discarded; returns its exit code and
 * its stdout in a malloc'd string (*out). */
static int run(const char *args, char **out)
{
    char cmd[16384];
    snprintf(cmd, sizeof cmd, "LQ_MODELS_DIR='%s' '%s/lacquer' %s 2>/dev/null", LQ_MODELS_DIR,
             LQ_BINARY_DIR, args);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *buf = malloc(OUT_MAX + 1);
    assert_non_null(buf);
    size_t n = fread(buf, 1, OUT_MAX, p);
    buf[n] = 0;
    const int st = pclose(p);
    *out = buf;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void help_lists_every_option(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(run("detect --help", &out), 0);
    static const char *opts[] = {"--model",     "--max-hands", "--video",
                                 "--no-smooth", "--models",    "--help"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        assert_non_null(strstr(out, opts[i]));
    free(out);
    assert_int_equal(run("--help", &out), 0);
    assert_non_null(strstr(out, "detect"));
    free(out);
}

static void bad_usage_exits_2(void **state)
{
    (void)state;
    char *out = NULL;
    assert_int_equal(run("detect", &out), 2);
    free(out);
    assert_int_equal(run("detect --max-hands 3 x.jpg", &out), 2);
    free(out);
    assert_int_equal(run("detect --model heavy x.jpg", &out), 2);
    free(out);
    assert_int_equal(run("detect --bogus x.jpg", &out), 2);
    free(out);
}

static double ref_lm(const cJSON *hand, int i, int c)
{
    return cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(hand, "landmarks"), i), c)
        ->valuedouble;
}

static void prints_mediapipe_shaped_json(void **state)
{
    (void)state;
    char args[9000], *out = NULL;
    /* lq_test_data returns one static buffer: copy before the second call. */
    char first[4096];
    snprintf(first, sizeof first, "%s", lq_test_data("hands/tfjs_hands_two_dorsal.jpg"));
    snprintf(args, sizeof args, "detect --compact '%s' '%s'", first,
             lq_test_data("hands/kagglenails_09aefeec-e05f-11e8-87a6-0242ac1c0002.jpg"));
    assert_int_equal(run(args, &out), 0);
    cJSON *doc = cJSON_Parse(out);
    free(out);
    assert_non_null(doc);
    const cJSON *images = cJSON_GetObjectItem(doc, "images");
    assert_int_equal(cJSON_GetArraySize(images), 2);
    const cJSON *im = cJSON_GetArrayItem(images, 0);
    assert_string_equal(cJSON_GetObjectItem(im, "file")->valuestring, "tfjs_hands_two_dorsal.jpg");
    assert_int_equal(cJSON_GetObjectItem(im, "width")->valueint, 720);
    assert_int_equal(cJSON_GetObjectItem(im, "height")->valueint, 382);
    assert_int_equal(cJSON_GetObjectItem(im, "numHands")->valueint, 2);
    const cJSON *hands = cJSON_GetObjectItem(im, "hands");

    /* Same hands as MediaPipe's reference output for this image. */
    size_t len = 0;
    uint8_t *buf = lq_test_read_file(lq_test_data("landmarks/mediapipe_hands_full.json"), &len);
    assert_non_null(buf);
    cJSON *ref = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    const cJSON *rim = NULL, *it;
    cJSON_ArrayForEach(it, cJSON_GetObjectItem(ref, "images"))
    {
        if (strcmp(cJSON_GetObjectItem(it, "file")->valuestring, "tfjs_hands_two_dorsal.jpg") == 0)
            rim = it;
    }
    assert_non_null(rim);
    const cJSON *rh;
    cJSON_ArrayForEach(rh, cJSON_GetObjectItem(rim, "hands"))
    {
        double best = INFINITY;
        const cJSON *match = NULL, *h;
        cJSON_ArrayForEach(h, hands)
        {
            double d = 0;
            for (int i = 0; i < 21; i++)
                d += fabs(ref_lm(h, i, 0) - ref_lm(rh, i, 0)) +
                     fabs(ref_lm(h, i, 1) - ref_lm(rh, i, 1));
            if (d < best)
                best = d, match = h;
        }
        assert_non_null(match);
        assert_true(best / 42 < 0.002); /* normalized units */
        for (int i = 0; i < 21; i++)    /* z at the scale of x */
            assert_float_equal(ref_lm(match, i, 2), ref_lm(rh, i, 2), 0.01);
        const cJSON *hd = cJSON_GetObjectItem(match, "handedness");
        const cJSON *rhd = cJSON_GetObjectItem(rh, "handedness");
        assert_string_equal(cJSON_GetObjectItem(hd, "label")->valuestring,
                            cJSON_GetObjectItem(rhd, "label")->valuestring);
        assert_int_equal(cJSON_GetObjectItem(hd, "index")->valueint,
                         cJSON_GetObjectItem(rhd, "index")->valueint);
        assert_float_equal(cJSON_GetObjectItem(hd, "score")->valuedouble,
                           cJSON_GetObjectItem(rhd, "score")->valuedouble, 0.01);
        const cJSON *w = cJSON_GetObjectItem(match, "worldLandmarks");
        assert_int_equal(cJSON_GetArraySize(w), 21);
        assert_float_equal(
            cJSON_GetArrayItem(cJSON_GetArrayItem(w, 4), 0)->valuedouble,
            cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(rh, "worldLandmarks"), 4), 0)
                ->valuedouble,
            0.002);
    }
    /* A nail close-up where MediaPipe finds no hand: neither do we. */
    im = cJSON_GetArrayItem(images, 1);
    assert_int_equal(cJSON_GetObjectItem(im, "numHands")->valueint, 0);
    cJSON_Delete(ref);
    cJSON_Delete(doc);
}

static void video_mode_tracks_and_unreadable_files_fail(void **state)
{
    (void)state;
    char args[8192], *out = NULL;
    int k = snprintf(args, sizeof args, "detect --compact --video --max-hands 1");
    for (int i = 1; i <= 5; i++) {
        char rel[64];
        snprintf(rel, sizeof rel, "video/palm_reach/%04d.webp", i);
        k += snprintf(args + k, sizeof args - (size_t)k, " '%s'", lq_test_data(rel));
    }
    snprintf(args + k, sizeof args - (size_t)k, " /nonexistent/frame.webp");
    assert_int_equal(run(args, &out), 1); /* the missing file fails the run... */
    cJSON *doc = cJSON_Parse(out);
    free(out);
    assert_non_null(doc); /* ...but every image still gets its entry */
    const cJSON *images = cJSON_GetObjectItem(doc, "images");
    assert_int_equal(cJSON_GetArraySize(images), 6);
    int id = -1;
    for (int i = 0; i < 5; i++) {
        const cJSON *im = cJSON_GetArrayItem(images, i);
        assert_int_equal(cJSON_GetObjectItem(im, "numHands")->valueint, 1);
        const int tid =
            cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(im, "hands"), 0), "trackId")
                ->valueint;
        if (id < 0)
            id = tid;
        assert_int_equal(tid, id); /* one track through the clip */
    }
    assert_non_null(cJSON_GetObjectItem(cJSON_GetArrayItem(images, 5), "error"));
    cJSON_Delete(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_lists_every_option),
        cmocka_unit_test(bad_usage_exits_2),
        cmocka_unit_test(prints_mediapipe_shaped_json),
        cmocka_unit_test(video_mode_tracks_and_unreadable_files_fail),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
