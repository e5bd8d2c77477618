/*
 * test_cmd_gallery.c - `lacquer gallery`, run as a process (the real
 * binary): usage errors; a close-up of nails without a detectable hand is
 * usable with the nail segmentation network and not without it; and
 * gallery_outlines.png, its layout and its outlines.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/codec.h"
#include "cli_run.h"
#include "lq_test.h"

/* The layout of gallery_outlines.png (cmd_gallery.c): a label column, two
 * cells per row under a heading, the nail count under each cell. */
#define LABEL_W 150
#define HEAD_H 58
#define CELL_W 360
#define CELL_H 270
#define ROW_H (CELL_H + 22 + 4)
#define OUTLINE_ROWS 6 /* the photos it lists, all in the shared data */

/* A fresh folder under the build folder: "<build>/test_cmd_gallery_<pid>_<tag>". */
static void scratch_dir(const char *tag, char *dir, size_t cap)
{
    snprintf(dir, cap, "%s/test_cmd_gallery_%d_%s", LQ_BINARY_DIR, (int)getpid(), tag);
    char cmd[10240];
    snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s'", dir, dir);
    assert_int_equal(system(cmd), 0);
}

static void remove_dir(const char *dir)
{
    char cmd[8192];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static int file_in(const char *dir, const char *name)
{
    char path[8192];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return lq_test_exists(path);
}

static void help_and_usage_errors(void **state)
{
    (void)state;
    char *help = NULL;
    assert_int_equal(lq_test_run("gallery --help", &help), 0);
    static const char *opts[] = {"--models", "--photos",          "--closeups",          "--frame",
                                 "--seed",   "--no-segmentation", "gallery_outlines.png"};
    for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
        assert_non_null(strstr(help, opts[i]));
    free(help);

    char out[4096], args[12288];
    scratch_dir("usage", out, sizeof out);
    assert_int_equal(lq_test_run("gallery", NULL), 2);
    assert_int_equal(lq_test_run("gallery --no-segmentation", NULL), 2);
    snprintf(args, sizeof args, "gallery --bogus '%s'", out);
    assert_int_equal(lq_test_run(args, NULL), 2);
    snprintf(args, sizeof args, "gallery '%s' '%s'", out, out);
    assert_int_equal(lq_test_run(args, NULL), 2);
    snprintf(args, sizeof args, "gallery --frame 100 '%s'", out);
    assert_int_equal(lq_test_run(args, NULL), 2);
    snprintf(args, sizeof args, "gallery --frame big '%s'", out);
    assert_int_equal(lq_test_run(args, NULL), 2);
    snprintf(args, sizeof args, "gallery --seed -1 '%s'", out);
    assert_int_equal(lq_test_run(args, NULL), 2);
    snprintf(args, sizeof args, "gallery '%s' --frame", out);
    assert_int_equal(lq_test_run(args, NULL), 2);
    snprintf(args, sizeof args, "gallery --photos '' '%s'", out);
    assert_int_equal(lq_test_run(args, NULL), 2);
    /* runtime failures: no models, no photo */
    snprintf(args, sizeof args, "gallery --models /nonexistent '%s'", out);
    assert_int_equal(lq_test_run(args, NULL), 1);
    if (lq_test_have_render_models()) {
        snprintf(args, sizeof args, "gallery --photos /nonexistent --closeups /nonexistent '%s'",
                 out);
        assert_int_equal(lq_test_run(args, NULL), 1);
    }
    assert_false(file_in(out, "gallery.png"));
    remove_dir(out);
}

/* A photo folder whose only photo is a close-up without a detectable hand
 * (under the name of one of the gallery's photos): with segmentation its
 * nails are found and painted into every sheet; with --no-segmentation no
 * nail is found, so there is no usable photo and no sheet. */
static void closeup_without_a_hand_needs_segmentation(void **state)
{
    (void)state;
    const char *closeup = lq_test_data("nails/images/1eecab90-1a92-43a7-b952-0204384e1fae.jpg");
    if (!lq_test_have_render_models() || !lq_test_exists(closeup)) {
        print_message("no models, nail segmentation model or shared data, skipped\n");
        skip();
    }
    char photos[4096], empty[4096], out[4096], cmd[20480];
    scratch_dir("photos", photos, sizeof photos);
    scratch_dir("empty", empty, sizeof empty);
    scratch_dir("out", out, sizeof out);
    snprintf(cmd, sizeof cmd, "ln -s '%s' '%s/tfjs_hands_two_dorsal.jpg'", closeup, photos);
    assert_int_equal(system(cmd), 0);

    snprintf(cmd, sizeof cmd, "gallery --no-segmentation --photos '%s' --closeups '%s' '%s'",
             photos, empty, out);
    assert_int_equal(lq_test_run(cmd, NULL), 1);
    assert_false(file_in(out, "gallery_solid.png"));
    assert_false(file_in(out, "gallery.png"));

    snprintf(cmd, sizeof cmd, "gallery --photos '%s' --closeups '%s' '%s'", photos, empty, out);
    assert_int_equal(lq_test_run(cmd, NULL), 0);
    static const char *sheets[] = {
        "gallery_solid.png",  "gallery_french_tips.png", "gallery_ombre.png", "gallery_glitter.png",
        "gallery_marble.png", "gallery_floral.png",      "gallery.png"};
    for (size_t i = 0; i < sizeof sheets / sizeof sheets[0]; i++)
        assert_true(file_in(out, sheets[i]));
    /* none of the outline photos is in these folders */
    assert_false(file_in(out, "gallery_outlines.png"));
    remove_dir(photos);
    remove_dir(empty);
    remove_dir(out);
}

/* Pixels that differ between the two cells of row r. */
static long cells_differ(const lq_image *sheet, int r)
{
    long d = 0;
    const int y0 = HEAD_H + r * ROW_H;
    for (int y = y0; y < y0 + CELL_H; y++)
        for (int x = 0; x < CELL_W; x++)
            d += memcmp(lq_image_px(sheet, LABEL_W + x, y),
                        lq_image_px(sheet, LABEL_W + CELL_W + 4 + x, y), 3) != 0;
    return d;
}

/* The whole gallery on the shared photos: the sheets, and
 * gallery_outlines.png with one row per listed photo. Both cells of a row
 * show the same crop of the same frame, so they differ only by outlines;
 * the close-ups without a hand (rows 3 to 5) have none with the landmarks
 * alone, so their cells differ by the outlines of the nails the network
 * found. */
static void writes_gallery_outlines(void **state)
{
    (void)state;
    if (!lq_test_have_render_models() || !lq_test_exists(lq_test_data("hands")) ||
        !lq_test_exists(lq_test_data("nails/images"))) {
        print_message("no models, nail segmentation model or shared data, skipped\n");
        skip();
    }
    char out[4096], hands[4096], closeups[4096], args[16384], path[8192], err[256];
    scratch_dir("full", out, sizeof out);
    snprintf(hands, sizeof hands, "%s", lq_test_data("hands")); /* one static buffer */
    snprintf(closeups, sizeof closeups, "%s", lq_test_data("nails/images"));
    snprintf(args, sizeof args, "gallery --photos '%s' --closeups '%s' '%s'", hands, closeups, out);
    assert_int_equal(lq_test_run(args, NULL), 0);
    assert_true(file_in(out, "gallery.png"));
    snprintf(path, sizeof path, "%s/gallery_outlines.png", out);
    lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
    lq_image sheet;
    assert_int_equal(lq_image_load(path, &lim, &sheet, err, sizeof err), 0);
    assert_int_equal(sheet.width, LABEL_W + 2 * (CELL_W + 4));
    assert_int_equal(sheet.height, HEAD_H + OUTLINE_ROWS * ROW_H);
    long diff[OUTLINE_ROWS];
    for (int r = 0; r < OUTLINE_ROWS; r++) {
        diff[r] = cells_differ(&sheet, r);
        print_message("gallery_outlines.png row %d: %ld px differ between the columns\n", r,
                      diff[r]);
    }
    for (int r = 3; r < OUTLINE_ROWS; r++)
        assert_true(diff[r] > 200);
    size_t len = 0; /* kept for a person to look at */
    uint8_t *png = lq_test_read_file(path, &len);
    assert_non_null(png);
    assert_int_equal(lq_test_write_artifact("gallery_outlines.png", png, len), 0);
    free(png);
    lq_image_free(&sheet);
    remove_dir(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(help_and_usage_errors),
        cmocka_unit_test(closeup_without_a_hand_needs_segmentation),
        cmocka_unit_test(writes_gallery_outlines),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
