/*
 * test_cmd_render.c - `lacquer render`, run as a process (the real binary):
 * usage errors, and where it paints. A hand photo is painted with and
 * without the nail segmentation network; a close-up of nails in which the
 * palm detector finds no hand is painted only with it (its nails come from
 * the network alone), and --no-segmentation leaves it unchanged.
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

#include "image/codec.h"
#include "cli_run.h"
#include "lq_test.h"

static void help_and_usage_errors(void **state)
{
    (void)state;
    char *help = NULL;
    assert_int_equal(lq_test_run("render --help", &help), 0);
    assert_non_null(strstr(help, "--no-segmentation"));
    free(help);
    char args[8192];
    const char *photo = lq_test_data("hands/kagglenails_d639e532-db67-11e8-9658-0242ac1c0002.jpg");
    assert_int_equal(lq_test_run("render", NULL), 2);
    assert_int_equal(lq_test_run("render --no-segmentation", NULL), 2);
    assert_int_equal(lq_test_run("render --no-segmentation in.jpg", NULL), 2);
    assert_int_equal(lq_test_run("render --bogus in.jpg out.png", NULL), 2);
    assert_int_equal(lq_test_run("render --no-segmentation=1 in.jpg out.png", NULL), 2);
    assert_int_equal(lq_test_run("render in.jpg out.txt", NULL), 2);
    assert_int_equal(lq_test_run("render --shape blob in.jpg out.png", NULL), 2);
    assert_int_equal(lq_test_run("render --length 9 in.jpg out.png", NULL), 2);
    /* runtime failures: a missing input, missing models */
    snprintf(args, sizeof args, "render --no-segmentation /nonexistent/in.jpg '%s/x.png'",
             LQ_BINARY_DIR);
    assert_int_equal(lq_test_run(args, NULL), 1);
    snprintf(args, sizeof args, "render --models /nonexistent '%s' '%s/x.png'", photo,
             LQ_BINARY_DIR);
    assert_int_equal(lq_test_run(args, NULL), 1);
}

/* Renders IN (under the shared data) to a PNG and returns the number of
 * pixels that differ from IN as decoded here. */
static long painted_pixels(const char *rel, const char *flags)
{
    char in[4096], out[4096], args[12288], err[256];
    snprintf(in, sizeof in, "%s", lq_test_data(rel));
    snprintf(out, sizeof out, "%s/test_cmd_render_%d.png", LQ_BINARY_DIR, (int)getpid());
    snprintf(args, sizeof args, "render --quiet --colors crimson %s '%s' '%s'", flags, in, out);
    assert_int_equal(lq_test_run(args, NULL), 0);
    lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
    lq_image a, b;
    assert_int_equal(lq_image_load(in, &lim, &a, err, sizeof err), 0);
    assert_int_equal(lq_image_load(out, &lim, &b, err, sizeof err), 0);
    assert_int_equal(a.width, b.width);
    assert_int_equal(a.height, b.height);
    long changed = 0;
    for (int y = 0; y < a.height; y++)
        for (int x = 0; x < a.width; x++)
            changed += memcmp(lq_image_px(&a, x, y), lq_image_px(&b, x, y), 3) != 0;
    lq_image_free(&a);
    lq_image_free(&b);
    unlink(out);
    return changed;
}

static void closeup_without_a_hand_is_painted_only_with_segmentation(void **state)
{
    (void)state;
    const char *rel = "nails/images/1eecab90-1a92-43a7-b952-0204384e1fae.jpg";
    if (!lq_test_have_render_models() || !lq_test_exists(lq_test_data(rel))) {
        print_message("no models, nail segmentation model or shared data, skipped\n");
        skip();
    }
    const long seg = painted_pixels(rel, "");
    const long landmarks = painted_pixels(rel, "--no-segmentation");
    print_message("1eecab90 close-up: %ld px painted with segmentation, %ld without\n", seg,
                  landmarks);
    assert_true(seg > 5000); /* five large nails on a 384x512 photo */
    assert_int_equal(landmarks, 0);
}

static void hand_photo_is_painted_either_way(void **state)
{
    (void)state;
    const char *rel = "hands/kagglenails_d639e532-db67-11e8-9658-0242ac1c0002.jpg";
    if (!lq_test_have_render_models() || !lq_test_exists(lq_test_data(rel))) {
        print_message("no models, nail segmentation model or shared data, skipped\n");
        skip();
    }
    const long seg = painted_pixels(rel, "");
    const long landmarks = painted_pixels(rel, "--no-segmentation");
    print_message("d639e532 hands: %ld px painted with segmentation, %ld without\n", seg,
                  landmarks);
    assert_true(seg > 2000);
    assert_true(landmarks > 2000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_and_usage_errors),
        cmocka_unit_test(closeup_without_a_hand_is_painted_only_with_segmentation),
        cmocka_unit_test(hand_photo_is_painted_either_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
