/*
 * test_frames.c - src/client/frames.c: a folder of frames, sorted, sniffed
 * and limited.
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

#include "client/frames.h"
#include "lq_test.h"

static void write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(data, 1, len, f), len);
    fclose(f);
}

static char *temp_dir(void)
{
    char *d = strdup("/tmp/lq-frames-XXXXXX");
    assert_non_null(mkdtemp(d));
    return d;
}

static void remove_dir(char *d)
{
    char cmd[1100];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", d);
    assert_int_equal(system(cmd), 0);
    free(d);
}

static void loads_a_video_folder_sorted_and_looping(void **state)
{
    (void)state;
    const char *dir = lq_test_data("video/palm_reach");
    lq_client_frames *fr = NULL;
    char err[256];
    assert_int_equal(lq_client_frames_load(dir, NULL, &fr, err, sizeof err), 0);
    assert_int_equal(lq_client_frames_count(fr), 202);
    const lq_client_frame *a = lq_client_frames_at(fr, 0);
    assert_string_equal(a->name, "0001.webp");
    assert_int_equal(a->width, 640);
    assert_int_equal(a->height, 480);
    assert_int_equal(a->format, LQ_FMT_WEBP);
    for (int k = 1; k < 202; k++)
        assert_true(strcmp(lq_client_frames_at(fr, k - 1)->name, lq_client_frames_at(fr, k)->name) <
                    0);
    assert_ptr_equal(lq_client_frames_at(fr, 202), a); /* loops */
    assert_ptr_equal(lq_client_frames_at(fr, 202 * 5 + 3), lq_client_frames_at(fr, 3));
    assert_null(lq_client_frames_at(fr, -1));
    size_t max = 0;
    for (int k = 0; k < 202; k++)
        if (lq_client_frames_at(fr, k)->len > max)
            max = lq_client_frames_at(fr, k)->len;
    assert_int_equal(lq_client_frames_max_bytes(fr), max);
    lq_client_frames_destroy(fr);
}

static void ignores_other_files_and_sniffs_the_rest(void **state)
{
    (void)state;
    char *d = temp_dir();
    size_t png_len = 0;
    uint8_t *png = lq_test_read_file(lq_test_data("video/thumb_ok/0001.webp"), &png_len);
    assert_non_null(png);
    write_file(d, "b.WEBP", png, png_len);
    write_file(d, "a.webp", png, png_len);
    write_file(d, "notes.txt", "hello", 5);
    write_file(d, ".hidden.webp", "x", 1);
    lq_client_frames *fr = NULL;
    char err[256];
    assert_int_equal(lq_client_frames_load(d, NULL, &fr, err, sizeof err), 0);
    assert_int_equal(lq_client_frames_count(fr), 2);
    assert_string_equal(lq_client_frames_at(fr, 0)->name, "a.webp");
    assert_string_equal(lq_client_frames_at(fr, 1)->name, "b.WEBP");
    lq_client_frames_destroy(fr);
    /* a .jpg that is not an image */
    write_file(d, "c.jpg", "not a jpeg at all", 17);
    fr = (lq_client_frames *)0x1;
    assert_int_equal(lq_client_frames_load(d, NULL, &fr, err, sizeof err), LQ_EFORMAT);
    assert_ptr_equal(fr, (lq_client_frames *)0x1); /* untouched */
    assert_non_null(strstr(err, "c.jpg"));
    free(png);
    remove_dir(d);
}

static void enforces_limits(void **state)
{
    (void)state;
    char *d = temp_dir();
    size_t len = 0;
    uint8_t *img = lq_test_read_file(lq_test_data("video/thumb_ok/0001.webp"), &len);
    assert_non_null(img);
    write_file(d, "1.webp", img, len);
    write_file(d, "2.webp", img, len);
    write_file(d, "3.webp", img, len);
    lq_client_frames *fr = NULL;
    char err[256];
    lq_client_frames_limits lim = LQ_CLIENT_FRAMES_LIMITS_DEFAULT;
    lim.max_file_bytes = len - 1;
    assert_int_equal(lq_client_frames_load(d, &lim, &fr, err, sizeof err), LQ_ELIMIT);
    assert_non_null(strstr(err, "1.webp"));
    lim = (lq_client_frames_limits)LQ_CLIENT_FRAMES_LIMITS_DEFAULT;
    lim.max_files = 2;
    assert_int_equal(lq_client_frames_load(d, &lim, &fr, err, sizeof err), LQ_ELIMIT);
    lim = (lq_client_frames_limits)LQ_CLIENT_FRAMES_LIMITS_DEFAULT;
    lim.max_total_bytes = 2 * len + 1;
    assert_int_equal(lq_client_frames_load(d, &lim, &fr, err, sizeof err), LQ_ELIMIT);
    lim = (lq_client_frames_limits)LQ_CLIENT_FRAMES_LIMITS_DEFAULT;
    lim.max_dim = 320; /* the frames are 640x480 */
    assert_int_equal(lq_client_frames_load(d, &lim, &fr, err, sizeof err), LQ_ELIMIT);
    assert_non_null(strstr(err, "640x480"));
    free(img);
    remove_dir(d);
}

static void missing_and_empty_folders(void **state)
{
    (void)state;
    lq_client_frames *fr = NULL;
    char err[256];
    assert_int_equal(lq_client_frames_load("/nonexistent/lq-frames", NULL, &fr, err, sizeof err),
                     LQ_ENOENT);
    char *d = temp_dir();
    assert_int_equal(lq_client_frames_load(d, NULL, &fr, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "no .webp"));
    remove_dir(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(loads_a_video_folder_sorted_and_looping),
        cmocka_unit_test(ignores_other_files_and_sniffs_the_rest),
        cmocka_unit_test(enforces_limits),
        cmocka_unit_test(missing_and_empty_folders),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
