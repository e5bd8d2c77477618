#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/codec.h"
#include "nails/palette.h"
#include "lq_test.h"

/* ---- synthetic images ---------------------------------------------------- */

static void fill_rect(lq_image *img, int x0, int y0, int x1, int y1, nail_rgb c)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
            uint8_t *p = lq_image_px(img, x, y);
            p[0] = c.r;
            p[1] = c.g;
            p[2] = c.b;
        }
}

static void ellipse(lq_image *img, float cx, float cy, float rx, float ry, nail_rgb c)
{
    for (int y = 0; y < img->height; y++)
        for (int x = 0; x < img->width; x++) {
            float dx = ((float)x + 0.5f - cx) / rx, dy = ((float)y + 0.5f - cy) / ry;
            if (dx * dx + dy * dy <= 1.0f)
                fill_rect(img, x, y, x + 1, y + 1, c);
        }
}

static const nail_rgb SKIN = {224, 172, 150}, TABLE = {120, 124, 128};

/* A hand with four fingers; nail i painted nails[i % nn]. Light shading
 * across each nail so that the polish is not one flat value. */
static void hand_scene(lq_image *img, const nail_rgb *nails, int nn)
{
    fill_rect(img, 0, 0, img->width, img->height, TABLE);
    ellipse(img, 200, 330, 120, 90, SKIN);
    for (int f = 0; f < 4; f++) {
        float x = 125.0f + 50.0f * (float)f;
        ellipse(img, x, 210, 19, 100, SKIN);
        nail_rgb c = nails[f % nn];
        for (int y = 120; y < 160; y++)
            for (int xx = (int)x - 13; xx <= (int)x + 13; xx++) {
                float dx = ((float)xx + 0.5f - x) / 12.0f, dy = ((float)y + 0.5f - 140.0f) / 19.0f;
                if (dx * dx + dy * dy > 1.0f)
                    continue;
                float shade = 1.0f - 0.25f * dx * dx;
                nail_lin l = nail_rgb_to_linear(c);
                l.r *= shade;
                l.g *= shade;
                l.b *= shade;
                fill_rect(img, xx, y, xx + 1, y + 1, nail_linear_to_rgb(l));
            }
    }
}

static float de(nail_rgb a, nail_rgb b)
{
    return nail_delta_e2000(nail_rgb_to_lab(a), nail_rgb_to_lab(b));
}

/* ---- synthetic tests ------------------------------------------------------ */

static void a_swatch_gives_its_colour(void **state)
{
    (void)state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 200, 150), 0);
    nail_rgb red = {177, 18, 38};
    fill_rect(&img, 0, 0, 200, 150, red);
    nail_palette p;
    assert_int_equal(nail_palette_extract(&img, NULL, &p), 0);
    assert_int_equal(p.n, 1);
    assert_true(de(p.c[0].rgb, red) < 0.5f);
    assert_true(fabsf(p.c[0].share - 1.0f) < 1e-3f);
    assert_int_equal(p.fallback, 2);
    lq_image_free(&img);
}

static void two_colour_swatch_ranked_by_area(void **state)
{
    (void)state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 300, 100), 0);
    nail_rgb navy = {31, 42, 90}, gold = {212, 175, 55};
    fill_rect(&img, 0, 0, 200, 100, navy);
    fill_rect(&img, 200, 0, 300, 100, gold);
    nail_palette p;
    assert_int_equal(nail_palette_extract(&img, NULL, &p), 0);
    assert_int_equal(p.n, 2);
    assert_true(de(p.c[0].rgb, navy) < 1.0f);
    assert_true(de(p.c[1].rgb, gold) < 1.0f);
    assert_true(p.c[0].share > p.c[1].share);
    assert_true(p.c[0].score >= p.c[1].score);
    nail_palette_opts o = {.max_colors = 1};
    assert_int_equal(nail_palette_extract(&img, &o, &p), 0);
    assert_int_equal(p.n, 1);
    lq_image_free(&img);
}

static void polish_on_a_hand_beats_skin_and_table(void **state)
{
    (void)state;
    const nail_rgb polishes[] = {{177, 18, 38}, {31, 42, 90}, {200, 162, 200}, {244, 244, 244},
                                 {21, 21, 21},  {128, 0, 32}, {170, 240, 209}};
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 400, 420), 0);
    for (size_t k = 0; k < sizeof polishes / sizeof polishes[0]; k++) {
        hand_scene(&img, &polishes[k], 1);
        nail_palette p;
        assert_int_equal(nail_palette_extract(&img, NULL, &p), 0);
        assert_int_equal(p.fallback, 0);
        float d = de(p.c[0].rgb, polishes[k]);
        if (d > 6.0f)
            fail_msg("polish #%02x%02x%02x: top colour #%02x%02x%02x, dE %.1f", polishes[k].r,
                     polishes[k].g, polishes[k].b, p.c[0].rgb.r, p.c[0].rgb.g, p.c[0].rgb.b, d);
        assert_true(p.skin > 0.2f);
        assert_true(p.background > 0.3f);
    }
    /* two polishes on alternate nails: both come out, before anything else */
    const nail_rgb two[] = {{177, 18, 38}, {212, 175, 55}};
    hand_scene(&img, two, 2);
    nail_palette p;
    assert_int_equal(nail_palette_extract(&img, NULL, &p), 0);
    assert_true(p.n >= 2);
    float a = fminf(de(p.c[0].rgb, two[0]), de(p.c[1].rgb, two[0]));
    float b = fminf(de(p.c[0].rgb, two[1]), de(p.c[1].rgb, two[1]));
    assert_true(a < 6.0f && b < 6.0f);
    lq_image_free(&img);
}

static void bare_hand_falls_back_to_the_skin_region(void **state)
{
    (void)state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 400, 420), 0);
    nail_rgb bare = SKIN;
    hand_scene(&img, &bare, 1); /* nails the colour of the skin: nothing distinct */
    nail_palette p;
    assert_int_equal(nail_palette_extract(&img, NULL, &p), 0);
    assert_int_equal(p.fallback, 1);
    assert_int_equal(p.n, 1);
    assert_true(de(p.c[0].rgb, SKIN) < 8.0f);
    lq_image_free(&img);
}

static void with_a_mask_only_the_mask_counts(void **state)
{
    (void)state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 400, 420), 0);
    nail_rgb lilac = {200, 162, 200};
    hand_scene(&img, &lilac, 1);
    uint8_t *mask = calloc(400 * 420, 1);
    assert_non_null(mask);
    for (int y = 125; y < 155; y++)
        for (int x = 118; x < 132; x++)
            mask[y * 400 + x] = 200;
    nail_palette_opts o = {.mask = mask, .mask_stride = 400};
    nail_palette p;
    assert_int_equal(nail_palette_extract(&img, &o, &p), 0);
    assert_true(de(p.c[0].rgb, lilac) < 3.0f);
    assert_true(p.c[0].share > 0.8f);
    memset(mask, 0, 400 * 420);
    nail_palette before = p;
    assert_int_equal(nail_palette_extract(&img, &o, &p), LQ_ENOTFOUND);
    assert_memory_equal(&p, &before, sizeof p);
    free(mask);
    lq_image_free(&img);
}

static void deterministic(void **state)
{
    (void)state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 400, 420), 0);
    const nail_rgb two[] = {{177, 18, 38}, {212, 175, 55}};
    hand_scene(&img, two, 2);
    nail_palette a, b;
    assert_int_equal(nail_palette_extract(&img, NULL, &a), 0);
    assert_int_equal(nail_palette_extract(&img, NULL, &b), 0);
    assert_memory_equal(&a, &b, sizeof a);
    nail_rgb c[NAIL_PALETTE_MAX];
    assert_int_equal(nail_palette_colors(&a, c, NAIL_PALETTE_MAX), a.n);
    assert_memory_equal(&c[0], &a.c[0].rgb, sizeof c[0]);
    assert_int_equal(nail_palette_colors(&a, c, 1), 1);
    assert_int_equal(nail_palette_colors(NULL, c, 4), 0);
    lq_image_free(&img);
}

static void refuses_bad_input(void **state)
{
    (void)state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 40, 30), 0);
    fill_rect(&img, 0, 0, 40, 30, TABLE);
    nail_palette p;
    memset(&p, 0x5a, sizeof p);
    nail_palette before = p;
    nail_palette_opts o = {0};
    assert_int_equal(nail_palette_extract(NULL, NULL, &p), LQ_EINVAL);
    assert_int_equal(nail_palette_extract(&img, NULL, NULL), LQ_EINVAL);
    o.max_colors = 5;
    assert_int_equal(nail_palette_extract(&img, &o, &p), LQ_EINVAL);
    o.max_colors = -1;
    assert_int_equal(nail_palette_extract(&img, &o, &p), LQ_EINVAL);
    o.max_colors = 0;
    o.work_size = 8;
    assert_int_equal(nail_palette_extract(&img, &o, &p), LQ_EINVAL);
    o.work_size = 4096;
    assert_int_equal(nail_palette_extract(&img, &o, &p), LQ_EINVAL);
    uint8_t mask[40 * 30] = {0};
    o.work_size = 0;
    o.mask = mask;
    o.mask_stride = 20;
    assert_int_equal(nail_palette_extract(&img, &o, &p), LQ_EINVAL);
    lq_image bad = img;
    bad.width = LQ_IMAGE_MAX_DIM * 2;
    assert_int_equal(nail_palette_extract(&bad, NULL, &p), LQ_ELIMIT);
    bad = img;
    bad.stride = 10;
    assert_int_equal(nail_palette_extract(&bad, NULL, &p), LQ_EINVAL);
    assert_memory_equal(&p, &before, sizeof p);
    lq_image_free(&img);
}

/* ---- real photos -------------------------------------------------------- */

typedef struct photo {
    char name[128];
    lq_image img;
    uint8_t *mask;      /* > 127 = nail */
    nail_lab nail_mean; /* CIE Lab mean of the nail pixels */
    double nail_luma;   /* mean linear luminance of the nail pixels */
} photo;

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_photos(photo **out)
{
    DIR *d = opendir(lq_test_data("nails/images"));
    if (!d)
        return 0;
    char *names[128];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 128)
        if (e->d_name[0] != '.')
            names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    photo *ph = calloc((size_t)n, sizeof *ph);
    assert_non_null(ph);
    int k = 0;
    for (int i = 0; i < n; i++) {
        char rel[256], err[128];
        lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
        lq_image mk;
        photo *p = &ph[k];
        snprintf(p->name, sizeof p->name, "%s", names[i]);
        snprintf(rel, sizeof rel, "nails/images/%s", names[i]);
        int rc = lq_image_load(lq_test_data(rel), &lim, &p->img, err, sizeof err);
        snprintf(rel, sizeof rel, "nails/masks/%s", names[i]);
        if (rc == 0 && lq_image_load(lq_test_data(rel), &lim, &mk, err, sizeof err) == 0) {
            assert_int_equal(mk.width, p->img.width);
            p->mask = malloc((size_t)mk.width * (size_t)mk.height);
            double s[3] = {0, 0, 0}, cnt = 0, luma = 0;
            for (int y = 0; y < mk.height; y++)
                for (int x = 0; x < mk.width; x++) {
                    int on = lq_image_px(&mk, x, y)[0] > 127;
                    p->mask[y * mk.width + x] = on ? 255 : 0;
                    if (!on)
                        continue;
                    const uint8_t *q = lq_image_px(&p->img, x, y);
                    nail_rgb c = {q[0], q[1], q[2]};
                    nail_lab L = nail_rgb_to_lab(c);
                    s[0] += L.L;
                    s[1] += L.a;
                    s[2] += L.b;
                    luma += nail_linear_luminance(nail_rgb_to_linear(c));
                    cnt += 1;
                }
            p->nail_mean =
                (nail_lab){(float)(s[0] / cnt), (float)(s[1] / cnt), (float)(s[2] / cnt)};
            p->nail_luma = luma / cnt;
            lq_image_free(&mk);
            k++;
        } else if (rc == 0) {
            lq_image_free(&p->img);
        }
        free(names[i]);
    }
    *out = ph;
    return k;
}

static void free_photos(photo *ph, int n)
{
    for (int i = 0; i < n; i++) {
        lq_image_free(&ph[i].img);
        free(ph[i].mask);
    }
    free(ph);
}

static float top_and_best(const nail_palette *p, nail_lab truth, float *best)
{
    float top = nail_delta_e2000(truth, nail_rgb_to_lab(p->c[0].rgb));
    *best = top;
    for (int i = 1; i < p->n; i++) {
        float d = nail_delta_e2000(truth, nail_rgb_to_lab(p->c[i].rgb));
        *best = d < *best ? d : *best;
    }
    return top;
}

/* The 40 photos with their nail masks: how close do the palette colours come
 * to the mean colour of the nail pixels (CIEDE2000)? Three measurements:
 *  masked     the palette of the nail pixels (the nail mask given): the
 *             upper bound, when nail geometry finds the nails;
 *  natural    the photos as they are (mostly bare nails, whose colour is
 *             within a few dE of the skin): the hard case;
 *  polished   the same photos with each nail recoloured to 10 polishes
 *             (the photo's own shading kept): what reference photos of
 *             painted nails look like. */
static void real_photos_palette_accuracy(void **state)
{
    (void)state;
    if (!lq_test_exists(lq_test_data("nails/images")))
        skip();
    photo *ph = NULL;
    int n = load_photos(&ph);
    assert_true(n >= 30);
    char report[32768];
    size_t rl = 0;
    rl += (size_t)snprintf(report + rl, sizeof report - rl,
                           "photo                masked  natural(top best)  polished top x10\n");
    static const nail_rgb polishes[10] = {
        {0xb1, 0x12, 0x26}, {0xff, 0x69, 0xb4}, {0xe3, 0xbc, 0x9a}, {0xf4, 0xf4, 0xf4},
        {0x1f, 0x2a, 0x5a}, {0x15, 0x15, 0x15}, {0xc8, 0xa2, 0xc8}, {0xaa, 0xf0, 0xd1},
        {0x80, 0x00, 0x20}, {0xff, 0x7f, 0x50}};
    double sum_masked = 0, sum_top = 0, sum_best = 0, sum_ptop = 0, sum_pbest = 0;
    double per_polish[10] = {0};
    int polished_under_10 = 0;
    for (int i = 0; i < n; i++) {
        photo *p = &ph[i];
        nail_palette pal;
        nail_palette_opts o = {.mask = p->mask, .mask_stride = p->img.width};
        float best;
        assert_int_equal(nail_palette_extract(&p->img, &o, &pal), 0);
        float masked = top_and_best(&pal, p->nail_mean, &best);
        assert_int_equal(nail_palette_extract(&p->img, NULL, &pal), 0);
        float top = top_and_best(&pal, p->nail_mean, &best);
        sum_masked += masked;
        sum_top += top;
        sum_best += best;
        rl += (size_t)snprintf(report + rl, sizeof report - rl, "%-20.20s %6.1f  %6.1f %6.1f     ",
                               p->name, masked, top, best);
        lq_image painted;
        assert_int_equal(lq_image_copy(&painted, &p->img), 0);
        for (int k = 0; k < 10; k++) {
            nail_lin pl = nail_rgb_to_linear(polishes[k]);
            double s[3] = {0, 0, 0}, cnt = 0;
            for (int y = 0; y < p->img.height; y++)
                for (int x = 0; x < p->img.width; x++) {
                    if (!p->mask[y * p->img.width + x])
                        continue;
                    const uint8_t *q = lq_image_px(&p->img, x, y);
                    nail_rgb c = {q[0], q[1], q[2]};
                    float sh = (float)(nail_linear_luminance(nail_rgb_to_linear(c)) / p->nail_luma);
                    nail_lin o2 = {pl.r * sh, pl.g * sh, pl.b * sh};
                    nail_rgb w = nail_linear_to_rgb(o2);
                    uint8_t *d = lq_image_px(&painted, x, y);
                    d[0] = w.r;
                    d[1] = w.g;
                    d[2] = w.b;
                    nail_lab L = nail_rgb_to_lab(w);
                    s[0] += L.L;
                    s[1] += L.a;
                    s[2] += L.b;
                    cnt += 1;
                }
            nail_lab truth = {(float)(s[0] / cnt), (float)(s[1] / cnt), (float)(s[2] / cnt)};
            assert_int_equal(nail_palette_extract(&painted, NULL, &pal), 0);
            float pt = top_and_best(&pal, truth, &best);
            sum_ptop += pt;
            sum_pbest += best;
            per_polish[k] += pt;
            polished_under_10 += pt < 10.0f;
            rl += (size_t)snprintf(report + rl, sizeof report - rl, " %4.1f", pt);
        }
        rl += (size_t)snprintf(report + rl, sizeof report - rl, "\n");
        lq_image_free(&painted);
    }
    double m_masked = sum_masked / n, m_top = sum_top / n, m_best = sum_best / n;
    double m_ptop = sum_ptop / (10.0 * n), m_pbest = sum_pbest / (10.0 * n);
    rl += (size_t)snprintf(report + rl, sizeof report - rl,
                           "\nmean dE00 over %d photos: masked %.2f | natural top %.2f, best of "
                           "palette %.2f | polished top %.2f, best %.2f, top < 10 in %d/%d\n",
                           n, m_masked, m_top, m_best, m_ptop, m_pbest, polished_under_10, 10 * n);
    rl += (size_t)snprintf(report + rl, sizeof report - rl, "polished, per polish (top):");
    for (int k = 0; k < 10; k++)
        rl += (size_t)snprintf(report + rl, sizeof report - rl, " #%02x%02x%02x %.1f",
                               polishes[k].r, polishes[k].g, polishes[k].b, per_polish[k] / n);
    rl += (size_t)snprintf(report + rl, sizeof report - rl, "\n");
    printf("%s", report);
    assert_int_equal(lq_test_write_artifact("palette_report.txt", report, rl), 0);
    /* floors a little under what was measured when this was written
     * (masked 3.4, natural 19.1 / 10.2, polished 9.1 / 4.3) */
    assert_true(m_masked < 4.5);
    assert_true(m_top < 23.0 && m_best < 12.5);
    assert_true(m_ptop < 11.0 && m_pbest < 5.5);
    free_photos(ph, n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_swatch_gives_its_colour),
        cmocka_unit_test(two_colour_swatch_ranked_by_area),
        cmocka_unit_test(polish_on_a_hand_beats_skin_and_table),
        cmocka_unit_test(bare_hand_falls_back_to_the_skin_region),
        cmocka_unit_test(with_a_mask_only_the_mask_counts),
        cmocka_unit_test(deterministic),
        cmocka_unit_test(refuses_bad_input),
        cmocka_unit_test(real_photos_palette_accuracy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
