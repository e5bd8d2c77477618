/*
 * test_outline.c - the nail outline stage (src/nails/outline.c) and its
 * trained model (assets/nailseg/outline.tflite, scripts/train/train_outline.py).
 *
 * assets/nailseg/check/outline.json names three photos and one nail's
 * estimate in each (its true moments); outline_in<k>.f32 is the crop the
 * trainer built for it (S x S x 4) and outline_out<k>.f32 torch's output.
 * The C stage must build the same crop from the same estimate (the contract
 * between trainer and pipeline) and the exported network must compute
 * torch's output. LQ_NAILSEG_DIR overrides the folder (a fresh export).
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
#include <unistd.h>

#include <cjson/cJSON.h>

#include "base/clock.h"
#include "image/codec.h"
#include "lq_test.h"
#include "model/tflite.h"
#include "model/xgraph.h"
#include "nails/geometry.h"
#include "nails/outline.h"
#include "ref_exec.h"

static const char *asset(const char *rel)
{
    static char buf[1024];
    const char *dir = getenv("LQ_NAILSEG_DIR");
    if (dir && *dir)
        snprintf(buf, sizeof buf, "%s/%s", dir, rel);
    else
        snprintf(buf, sizeof buf, "%s/assets/nailseg/%s", LQ_SOURCE_DIR, rel);
    return buf;
}

static float *read_f32(const char *path, size_t count)
{
    float *f = lq_test_read_f32(path, count);
    if (!f)
        fail_msg("cannot read %zu floats from %s", count, path);
    return f;
}

static nail_outline_model *load_model(void)
{
    char err[512];
    nail_outline_model *m = NULL;
    if (nail_outline_model_load(asset("outline.tflite"), &m, err, sizeof err) < 0)
        fail_msg("%s", err);
    return m;
}

static nail_geom estimate(float cx, float cy, float ax, float ay, float length, float width)
{
    nail_geom g;
    memset(&g, 0, sizeof g);
    g.cx = cx;
    g.cy = cy;
    g.ax = ax;
    g.ay = ay;
    g.length = length;
    g.width = width;
    g.visible = 1;
    g.confidence = 1.0f;
    g.facing = 1.0f;
    g.cuticle_round = 0.8f;
    g.tip_round = 1.0f;
    g.fit = -1.0f;
    return g;
}

/* check/outline.json, parsed (the caller deletes it). */
static cJSON *check_json(void)
{
    size_t len = 0;
    char *js = (char *)lq_test_read_file(asset("check/outline.json"), &len);
    assert_non_null(js);
    cJSON *root = cJSON_ParseWithLength(js, len);
    free(js);
    assert_non_null(root);
    return root;
}

/* One case of check/outline.json: its photo (loaded into img) and its estimate. */
static nail_geom check_case(const cJSON *c, lq_image *img)
{
    char rel[512], err[256];
    snprintf(rel, sizeof rel, "nails/images/%s", cJSON_GetObjectItem(c, "image")->valuestring);
    if (lq_image_load(lq_test_data(rel), NULL, img, err, sizeof err) < 0)
        fail_msg("%s: %s", rel, err);
    return estimate((float)cJSON_GetObjectItem(c, "cx")->valuedouble,
                    (float)cJSON_GetObjectItem(c, "cy")->valuedouble,
                    (float)cJSON_GetObjectItem(c, "ax")->valuedouble,
                    (float)cJSON_GetObjectItem(c, "ay")->valuedouble,
                    (float)cJSON_GetObjectItem(c, "length")->valuedouble,
                    (float)cJSON_GetObjectItem(c, "width")->valuedouble);
}

static void options_are_validated(void **state)
{
    (void)state;
    nail_outline_opts o = NAIL_OUTLINE_OPTS_DEFAULT;
    assert_int_equal(nail_outline_opts_validate(&o), 0);
    o.threshold = 1.0f;
    assert_int_equal(nail_outline_opts_validate(&o), LQ_EINVAL);
    o = (nail_outline_opts)NAIL_OUTLINE_OPTS_DEFAULT;
    o.max_area = 0.5f;
    assert_int_equal(nail_outline_opts_validate(&o), LQ_EINVAL);
    o = (nail_outline_opts)NAIL_OUTLINE_OPTS_DEFAULT;
    o.max_shift = NAN;
    assert_int_equal(nail_outline_opts_validate(&o), LQ_EINVAL);
    o = (nail_outline_opts)NAIL_OUTLINE_OPTS_DEFAULT;
    o.fit_plate = 2;
    assert_int_equal(nail_outline_opts_validate(&o), LQ_EINVAL);
    o = (nail_outline_opts)NAIL_OUTLINE_OPTS_DEFAULT;
    o.max_members = NAIL_OUTLINE_MAX_MEMBERS + 1;
    assert_int_equal(nail_outline_opts_validate(&o), LQ_EINVAL);
    o.max_members = -1;
    assert_int_equal(nail_outline_opts_validate(&o), LQ_EINVAL);
    assert_int_equal(nail_outline_opts_validate(NULL), LQ_EINVAL);
}

static void bad_models_are_refused_by_name(void **state)
{
    (void)state;
    char err[512] = "";
    nail_outline_model *m = (nail_outline_model *)(uintptr_t)1;
    assert_int_equal(nail_outline_model_load("/nonexistent/outline.tflite", &m, err, sizeof err),
                     LQ_ENOENT);
    assert_ptr_equal(m, (nail_outline_model *)(uintptr_t)1);
    assert_non_null(strstr(err, "no such file"));
    /* the whole-frame network: [1,240,320,3] */
    char seg[1024];
    snprintf(seg, sizeof seg, "%s/assets/nailseg/nailseg.tflite", LQ_SOURCE_DIR);
    assert_int_equal(nail_outline_model_load(seg, &m, err, sizeof err), LQ_EFORMAT);
    assert_non_null(strstr(err, "[1,S,S,4]"));
    assert_non_null(strstr(err, "[1,240,320,3]"));
}

/* The crop and the network against the trainer's own, on three photos. */
static void crop_and_network_match_the_trainer(void **state)
{
    (void)state;
    cJSON *root = check_json();
    const int S = cJSON_GetObjectItem(root, "size")->valueint;
    nail_outline_model *m = load_model();
    assert_int_equal(nail_outline_model_size(m), S);
    nail_outline *o = NULL;
    assert_int_equal(nail_outline_create(m, &o), 0);
    assert_null(nail_outline_last_input(o));
    const cJSON *c;
    int ncase = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases"))
    {
        char rel[512];
        lq_image img;
        nail_geom g = check_case(c, &img);
        nail_geom before = g;
        nail_outline_opts oo = NAIL_OUTLINE_OPTS_DEFAULT;
        double t0 = lq_clock_ms();
        int rc = nail_outline_fit(o, &img, &g, &oo);
        double ms = lq_clock_ms() - t0;
        assert_true(rc == 0 || rc == 1);
        snprintf(rel, sizeof rel, "check/%s", cJSON_GetObjectItem(c, "input_f32")->valuestring);
        float *want_in = read_f32(asset(rel), (size_t)S * S * 4);
        const float *in = nail_outline_last_input(o);
        assert_non_null(in);
        float dmax_rgb = 0.0f, dmean = 0.0f;
        int prior_diff = 0;
        for (size_t i = 0; i < (size_t)S * S * 4; i++) {
            float d = fabsf(in[i] - want_in[i]);
            if (i % 4 == 3)
                prior_diff += d > 0.5f;
            else {
                dmax_rgb = d > dmax_rgb ? d : dmax_rgb;
                dmean += d;
            }
        }
        dmean /= (float)S * S * 3;
        /* the trainer samples with torch's grid_sample in float: the same
         * bilinear samples up to rounding */
        printf("case %d (%s): crop max |C - trainer| %.2e (mean %.2e), prior cells differing %d, "
               "fit %d in %.2f ms\n",
               ncase, cJSON_GetObjectItem(c, "image")->valuestring, (double)dmax_rgb, (double)dmean,
               prior_diff, rc, ms);
        assert_true(dmax_rgb < 2e-3f);
        assert_true(prior_diff <= S / 8); /* cells on the plate's edge may round either way */
        free(want_in);
        if (rc == 1) { /* a true nail's estimate moves little */
            assert_true(hypotf(g.cx - before.cx, g.cy - before.cy) < 0.25f * before.length);
            assert_true(g.length > 0.6f * before.length && g.length < 1.6f * before.length);
            assert_true(g.ax * before.ax + g.ay * before.ay > 0.9f);
        }
        lq_image_free(&img);
        ncase++;
    }
    assert_int_equal(ncase, 3);
    nail_outline_destroy(o);
    nail_outline_model_destroy(m);
    cJSON_Delete(root);
}

/* The experiment options (a second fit, the mirrored crop averaged in) on a
 * real nail: each still fits, and lands near the plain fit. */
static void second_fit_and_mirror_stay_near_the_plain_fit(void **state)
{
    (void)state;
    cJSON *root = check_json();
    const cJSON *c = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "cases"), 0);
    lq_image img;
    const nail_geom g0 = check_case(c, &img);
    nail_outline_model *m = load_model();
    nail_outline *o = NULL;
    assert_int_equal(nail_outline_create(m, &o), 0);
    nail_geom fit[3] = {g0, g0, g0};
    nail_outline_opts oo[3] = {NAIL_OUTLINE_OPTS_DEFAULT, NAIL_OUTLINE_OPTS_DEFAULT,
                               NAIL_OUTLINE_OPTS_DEFAULT};
    oo[1].iterations = 2;
    oo[2].mirror = 1;
    for (int k = 0; k < 3; k++)
        assert_int_equal(nail_outline_fit(o, &img, &fit[k], &oo[k]), 1);
    for (int k = 1; k < 3; k++) {
        print_message("variant %d: centre moved %.2f px from the plain fit, length %.1f vs %.1f\n",
                      k, (double)hypotf(fit[k].cx - fit[0].cx, fit[k].cy - fit[0].cy),
                      (double)fit[k].length, (double)fit[0].length);
        assert_true(hypotf(fit[k].cx - fit[0].cx, fit[k].cy - fit[0].cy) < 0.1f * g0.length);
        assert_true(fabsf(fit[k].length - fit[0].length) < 0.15f * g0.length);
        assert_true(fabsf(fit[k].width - fit[0].width) < 0.15f * g0.width);
    }
    nail_outline_destroy(o);
    nail_outline_model_destroy(m);
    lq_image_free(&img);
    cJSON_Delete(root);
}

/* IoU, over the crop's cells, of the plate g (frame pixels) with the
 * network's thresholded output; the crop is the one built from the estimate
 * e by the map outline.h documents. */
static float crop_plate_iou(const float *prob, int S, const nail_geom *e, const nail_geom *g)
{
    const float an = hypotf(e->ax, e->ay), ax = e->ax / an, ay = e->ay / an;
    const float s =
        NAIL_OUTLINE_CROP_EXT * fmaxf(e->length, NAIL_OUTLINE_WIDTH_K * e->width) / (float)S;
    int inter = 0, uni = 0;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float u = s * ((float)x + 0.5f - 0.5f * (float)S);
            float v = s * ((float)y + 0.5f - 0.5f * (float)S);
            float fx = e->cx - u * ay + v * ax, fy = e->cy + u * ax + v * ay;
            int a = nail_geom_sdf(g, fx, fy) <= 0.0f, b = prob[y * S + x] >= 0.5f;
            inter += a && b;
            uni += a || b;
        }
    return uni ? (float)inter / (float)uni : 0.0f;
}

/* fit_plate moves each check case's plate to a better match of the
 * network's own mask than the blob's moments give (the same crop: the
 * output is the same network run on the same estimate). */
static void fitted_plate_matches_the_mask_better(void **state)
{
    (void)state;
    cJSON *root = check_json();
    nail_outline_model *m = load_model();
    const int S = nail_outline_model_size(m);
    nail_outline *o = NULL;
    assert_int_equal(nail_outline_create(m, &o), 0);
    float *prob = malloc((size_t)S * S * sizeof *prob);
    assert_non_null(prob);
    const cJSON *c;
    int ncase = 0;
    cJSON_ArrayForEach(c, cJSON_GetObjectItem(root, "cases"))
    {
        lq_image img;
        const nail_geom e = check_case(c, &img);
        nail_geom plain = e, fitted = e;
        nail_outline_opts oo = NAIL_OUTLINE_OPTS_DEFAULT;
        oo.fit_plate = 0;
        assert_int_equal(nail_outline_fit(o, &img, &plain, &oo), 1);
        memcpy(prob, nail_outline_last_output(o), (size_t)S * S * sizeof *prob);
        oo.fit_plate = 1;
        assert_int_equal(nail_outline_fit(o, &img, &fitted, &oo), 1);
        assert_memory_equal(prob, nail_outline_last_output(o), (size_t)S * S * sizeof *prob);
        float i0 = crop_plate_iou(prob, S, &e, &plain), i1 = crop_plate_iou(prob, S, &e, &fitted);
        print_message("case %d: plate vs network mask IoU %.3f (moments) -> %.3f (fitted); "
                      "ends rounded %.2f / %.2f\n",
                      ncase, (double)i0, (double)i1, (double)fitted.cuticle_round,
                      (double)fitted.tip_round);
        assert_true(i1 > i0);
        assert_true(i1 > 0.85f);
        assert_true(fitted.cuticle_round >= 0.0f && fitted.cuticle_round <= 1.0f);
        assert_true(fitted.tip_round >= 0.0f && fitted.tip_round <= 1.0f);
        assert_true(fabsf(hypotf(fitted.ax, fitted.ay) - 1.0f) < 1e-4f);
        assert_true(fitted.ax * plain.ax + fitted.ay * plain.ay > 0.9f);
        assert_true(hypotf(fitted.cx - plain.cx, fitted.cy - plain.cy) < 0.2f * plain.length);
        lq_image_free(&img);
        ncase++;
    }
    assert_int_equal(ncase, 3);
    free(prob);
    nail_outline_destroy(o);
    nail_outline_model_destroy(m);
    cJSON_Delete(root);
}

/* The last output of one fit of estimate g with model m, using at most
 * max_members of its networks (S x S floats, malloc'd). */
static float *fit_output(const nail_outline_model *m, const lq_image *img, nail_geom g,
                         int max_members)
{
    nail_outline *o = NULL;
    assert_int_equal(nail_outline_create(m, &o), 0);
    nail_outline_opts oo = NAIL_OUTLINE_OPTS_DEFAULT;
    oo.max_members = max_members;
    assert_int_equal(nail_outline_fit(o, img, &g, &oo), 1);
    const int S = nail_outline_model_size(m);
    float *out = malloc((size_t)S * S * sizeof *out);
    assert_non_null(out);
    memcpy(out, nail_outline_last_output(o), (size_t)S * S * sizeof *out);
    nail_outline_destroy(o);
    return out;
}

/* The committed stage is two networks (outline.tflite and outline_b.tflite):
 * an ensemble's fit finds its blob in the mean of its members' outputs, and
 * load_set picks the member up beside the first file. */
static void ensemble_averages_its_members(void **state)
{
    (void)state;
    char err[512], a[1024], b[1024];
    snprintf(a, sizeof a, "%s", asset("outline.tflite"));
    snprintf(b, sizeof b, "%s", asset("outline_b.tflite"));
    nail_outline_model *ma = NULL, *mb = NULL, *mab = NULL, *set = NULL;
    assert_int_equal(nail_outline_model_load(a, &ma, err, sizeof err), 0);
    assert_int_equal(nail_outline_model_load(b, &mb, err, sizeof err), 0);
    assert_int_equal(nail_outline_model_load(a, &mab, err, sizeof err), 0);
    assert_int_equal(nail_outline_model_members(mab), 1);
    assert_int_equal(nail_outline_model_add(mab, b, err, sizeof err), 0);
    assert_int_equal(nail_outline_model_members(mab), 2);
    assert_int_equal(nail_outline_model_load_set(a, &set, err, sizeof err), 0);
    assert_int_equal(nail_outline_model_members(set), 2);

    cJSON *root = check_json();
    lq_image img;
    const nail_geom g0 =
        check_case(cJSON_GetArrayItem(cJSON_GetObjectItem(root, "cases"), 0), &img);
    const int S = nail_outline_model_size(ma);
    float *pa = fit_output(ma, &img, g0, 0), *pb = fit_output(mb, &img, g0, 0);
    float *pab = fit_output(mab, &img, g0, 0), *pset = fit_output(set, &img, g0, 0);
    float *pfirst = fit_output(set, &img, g0, 1); /* max_members 1: the first network alone */
    float dmean = 0.0f, dmembers = 0.0f;
    for (size_t q = 0; q < (size_t)S * S; q++) {
        dmean = fmaxf(dmean, fabsf(pab[q] - 0.5f * (pa[q] + pb[q])));
        dmembers = fmaxf(dmembers, fabsf(pa[q] - pb[q]));
    }
    print_message("members differ by up to %.3f; the ensemble is their mean within %.1e\n",
                  (double)dmembers, (double)dmean);
    assert_true(dmembers > 0.05f); /* two different networks: the mean is not either one */
    assert_true(dmean < 1e-6f);
    assert_memory_equal(pab, pset, (size_t)S * S * sizeof *pab);
    assert_memory_equal(pa, pfirst, (size_t)S * S * sizeof *pa);
    free(pfirst);
    free(pa);
    free(pb);
    free(pab);
    free(pset);
    lq_image_free(&img);
    cJSON_Delete(root);
    nail_outline_model_destroy(ma);
    nail_outline_model_destroy(mb);
    nail_outline_model_destroy(mab);
    nail_outline_model_destroy(set);
}

/* Members must fit the contract and the first member's crop; at most
 * NAIL_OUTLINE_MAX_MEMBERS; a sibling that exists but is broken fails
 * load_set instead of leaving a smaller ensemble. */
static void ensemble_members_are_checked(void **state)
{
    (void)state;
    char err[512] = "", a[1024], seg[1024];
    snprintf(a, sizeof a, "%s", asset("outline.tflite"));
    snprintf(seg, sizeof seg, "%s/assets/nailseg/nailseg.tflite", LQ_SOURCE_DIR);
    nail_outline_model *m = NULL;
    assert_int_equal(nail_outline_model_load(a, &m, err, sizeof err), 0);
    assert_int_equal(nail_outline_model_add(m, seg, err, sizeof err), LQ_EFORMAT);
    assert_non_null(strstr(err, "[1,S,S,4]"));
    assert_int_equal(nail_outline_model_add(m, "/nonexistent/x.tflite", err, sizeof err),
                     LQ_ENOENT);
    assert_int_equal(nail_outline_model_add(m, NULL, err, sizeof err), LQ_EINVAL);
    assert_int_equal(nail_outline_model_members(m), 1);
    for (int k = 1; k < NAIL_OUTLINE_MAX_MEMBERS; k++)
        assert_int_equal(nail_outline_model_add(m, a, err, sizeof err), 0);
    assert_int_equal(nail_outline_model_add(m, a, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "already"));
    assert_int_equal(nail_outline_model_members(m), NAIL_OUTLINE_MAX_MEMBERS);
    nail_outline_model_destroy(m);

    /* a folder with x.tflite alone, then with a broken x_b.tflite beside it */
    char dir[] = "/tmp/lq_outline_XXXXXX", x[1100], xb[1100];
    assert_non_null(mkdtemp(dir));
    snprintf(x, sizeof x, "%s/x.tflite", dir);
    snprintf(xb, sizeof xb, "%s/x_b.tflite", dir);
    size_t len = 0;
    uint8_t *bytes = lq_test_read_file(a, &len);
    assert_non_null(bytes);
    FILE *f = fopen(x, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(bytes, 1, len, f), len);
    fclose(f);
    free(bytes);
    m = NULL;
    assert_int_equal(nail_outline_model_load_set(x, &m, err, sizeof err), 0);
    assert_int_equal(nail_outline_model_members(m), 1);
    nail_outline_model_destroy(m);
    f = fopen(xb, "wb");
    assert_non_null(f);
    fputs("not a model", f);
    fclose(f);
    m = (nail_outline_model *)(uintptr_t)1;
    int rc = nail_outline_model_load_set(x, &m, err, sizeof err);
    assert_true(rc < 0);
    assert_ptr_equal(m, (nail_outline_model *)(uintptr_t)1);
    assert_non_null(strstr(err, "x_b.tflite"));
    remove(xb);
    remove(x);
    rmdir(dir);
}

/* The exported network computes torch's output on the trainer's inputs, and
 * agrees with the plain C reference executor. */
static void network_matches_torch_and_reference(void **state)
{
    (void)state;
    char err[256];
    assert_int_equal(xg_init(), 0);
    tfl_model *tm = NULL;
    if (tfl_model_load_file(asset("outline.tflite"), &tm, err, sizeof err) < 0)
        fail_msg("%s", err);
    for (int i = 0; i < tfl_model_num_ops(tm); i++) {
        int b = tfl_model_op(tm, i)->builtin;
        assert_true(b == TFL_OP_CONV_2D || b == TFL_OP_DEPTHWISE_CONV_2D || b == TFL_OP_ADD ||
                    b == TFL_OP_RESIZE_BILINEAR || b == TFL_OP_LOGISTIC);
    }
    xg_net *net = NULL;
    assert_int_equal(xg_net_create(tm, &net, err, sizeof err), 0);
    int d[TFL_MAX_DIMS];
    assert_int_equal(xg_net_input_shape(net, 0, d), 4);
    const int S = d[1];
    xg_runner *r = NULL;
    assert_int_equal(xg_runner_create(net, 1, &r), 0);
    ref_exec *ref = NULL;
    if (ref_exec_create(tm, &ref, err, sizeof err) < 0)
        fail_msg("ref_exec_create: %s", err);
    const size_t nin = (size_t)S * S * 4, nout = (size_t)S * S;
    for (int k = 0; k < 3; k++) {
        char rel[64];
        snprintf(rel, sizeof rel, "check/outline_in%d.f32", k);
        float *x = read_f32(asset(rel), nin);
        snprintf(rel, sizeof rel, "check/outline_out%d.f32", k);
        float *want = read_f32(asset(rel), nout);
        memcpy(xg_runner_input(r, 0), x, nin * sizeof *x);
        memcpy(ref_exec_tensor(ref, tfl_model_input(tm, 0)), x, nin * sizeof *x);
        double t0 = lq_clock_ms();
        assert_int_equal(xg_runner_invoke(r), 0);
        double ms = lq_clock_ms() - t0;
        assert_int_equal(ref_exec_run(ref, err, sizeof err), 0);
        const float *got = xg_runner_output(r, 0);
        const float *rx = ref_exec_tensor(ref, tfl_model_output(tm, 0));
        float dt = 0.0f, dr = 0.0f;
        size_t over = 0;
        for (size_t i = 0; i < nout; i++) {
            dt = fmaxf(dt, fabsf(got[i] - want[i]));
            dr = fmaxf(dr, fabsf(got[i] - rx[i]));
            over += want[i] > 0.5f;
        }
        printf("outline check %d: max |xnnpack - torch| %.2e, |xnnpack - reference| %.2e, "
               "nail cells %zu, %.3f ms\n",
               k, (double)dt, (double)dr, over, ms);
        assert_true(dt < 1e-4f);
        assert_true(dr < 1e-4f);
        /* a real nail in the middle of the crop: neither nothing nor everything */
        assert_true(over > nout / 50 && over < nout / 2);
        free(x);
        free(want);
    }
    ref_exec_destroy(ref);
    xg_runner_destroy(r);
    xg_net_destroy(net);
    tfl_model_destroy(tm);
}

/* The crop's geometry on a frame whose red channel is x and green is y:
 * every crop pixel must hold the frame point the documented map gives. */
static void crop_follows_the_documented_map(void **state)
{
    (void)state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 256, 256), 0);
    for (int y = 0; y < 256; y++)
        for (int x = 0; x < 256; x++) {
            uint8_t *p = lq_image_px(&img, x, y);
            p[0] = (uint8_t)x;
            p[1] = (uint8_t)y;
            p[2] = 128;
        }
    nail_outline_model *m = load_model();
    nail_outline *o = NULL;
    assert_int_equal(nail_outline_create(m, &o), 0);
    const int S = nail_outline_model_size(m);
    const float ang = 0.6f;
    /* small enough (s < 1: one sample per pixel) and large (s > 1: box filter of a
     * linear ramp = the ramp at the centre); both well inside the frame */
    const float lengths[2] = {20.0f, 40.0f};
    for (int t = 0; t < 2; t++) {
        nail_geom g = estimate(128.3f, 121.7f, cosf(ang), sinf(ang), lengths[t], 14.0f);
        nail_outline_opts oo = NAIL_OUTLINE_OPTS_DEFAULT;
        int rc = nail_outline_fit(o, &img, &g, &oo);
        assert_true(rc == 0 || rc == 1);
        const float *in = nail_outline_last_input(o);
        const float s = NAIL_OUTLINE_CROP_EXT * lengths[t] / (float)S;
        const float ax = cosf(ang), ay = sinf(ang), px = -ay, py = ax;
        float dmax = 0.0f;
        int prior = 0;
        for (int y = 0; y < S; y++)
            for (int x = 0; x < S; x++) {
                float u = ((float)x + 0.5f - 0.5f * (float)S) * s;
                float v = ((float)y + 0.5f - 0.5f * (float)S) * s;
                float fx = 128.3f + u * px + v * ax, fy = 121.7f + u * py + v * ay;
                /* pixel i's value i sits at continuous i + 0.5 */
                const float *q = in + 4 * ((size_t)y * S + (size_t)x);
                dmax = fmaxf(dmax, fabsf(q[0] * 255.0f - (fx - 0.5f)));
                dmax = fmaxf(dmax, fabsf(q[1] * 255.0f - (fy - 0.5f)));
                assert_true(fabsf(q[2] - 128.0f / 255.0f) < 1e-5f);
                prior += q[3] > 0.5f;
            }
        /* the prior: the rounded plate's area in cells, (L W - (4 - pi) r^2) / s^2 with
         * r = 0.9 x 7; cell centres on a thin plate's edge round either way */
        float r = NAIL_OUTLINE_PRIOR_ROUND * 7.0f;
        float want = (lengths[t] * 14.0f - (4.0f - (float)M_PI) * r * r) / (s * s);
        printf("length %.0f: s %.3f, max ramp error %.4f, prior cells %d (plate ~%.0f)\n",
               (double)lengths[t], (double)s, (double)dmax, prior, (double)want);
        assert_true(dmax < 0.02f);
        assert_true(prior > 0.9f * want && prior < 1.1f * want);
    }
    nail_outline_destroy(o);
    nail_outline_model_destroy(m);
    lq_image_free(&img);
}

static void bad_estimates_are_refused_or_kept(void **state)
{
    (void)state;
    lq_image img;
    assert_int_equal(lq_image_alloc(&img, 64, 48), 0);
    memset(img.data, 90, (size_t)img.stride * 48);
    nail_outline_model *m = load_model();
    nail_outline *o = NULL;
    assert_int_equal(nail_outline_create(m, &o), 0);
    nail_outline_opts oo = NAIL_OUTLINE_OPTS_DEFAULT;
    nail_geom g = estimate(NAN, 10.0f, 0.0f, -1.0f, 20.0f, 10.0f);
    assert_int_equal(nail_outline_fit(o, &img, &g, &oo), LQ_EINVAL);
    g = estimate(10.0f, 10.0f, 0.0f, 0.0f, 20.0f, 10.0f); /* no axis */
    assert_int_equal(nail_outline_fit(o, &img, &g, &oo), LQ_EINVAL);
    g = estimate(10.0f, 10.0f, 0.0f, -1.0f, -3.0f, 10.0f);
    assert_int_equal(nail_outline_fit(o, &img, &g, &oo), LQ_EINVAL);
    /* too small to fit: kept, nothing run */
    g = estimate(10.0f, 10.0f, 0.0f, -1.0f, 3.0f, 2.0f);
    nail_geom before = g;
    assert_int_equal(nail_outline_fit(o, &img, &g, &oo), 0);
    assert_memory_equal(&g, &before, sizeof g);
    assert_null(nail_outline_last_input(o));
    /* a flat grey frame: whatever the network makes of the prior, the outline
     * stays within the limits (centre, area) or the estimate is kept */
    g = estimate(32.0f, 24.0f, 0.0f, -1.0f, 20.0f, 12.0f);
    before = g;
    int rc = nail_outline_fit(o, &img, &g, &oo);
    assert_true(rc == 0 || rc == 1 || rc == NAIL_OUTLINE_NO_NAIL);
    if (rc != 1)
        assert_memory_equal(&g, &before, sizeof g);
    assert_true(hypotf(g.cx - 32.0f, g.cy - 24.0f) <= oo.max_shift * 20.0f);
    /* fields the stage does not own are left alone; the ends' roundness stays in range */
    assert_true(g.visible == 1 && g.confidence == 1.0f && g.fit == -1.0f);
    assert_true(g.cuticle_round >= 0.0f && g.cuticle_round <= 1.0f);
    assert_true(g.tip_round >= 0.0f && g.tip_round <= 1.0f);
    /* an estimate far outside the frame samples replicated edges, never outside memory */
    g = estimate(5000.0f, -4000.0f, 1.0f, 0.0f, 300.0f, 200.0f);
    rc = nail_outline_fit(o, &img, &g, &oo);
    assert_true(rc == 0 || rc == 1 || rc == NAIL_OUTLINE_NO_NAIL);
    /* fit_all skips invisible nails and counts */
    nail_geom two[2] = {estimate(32.0f, 24.0f, 0.0f, -1.0f, 20.0f, 12.0f),
                        estimate(NAN, 0.0f, 0.0f, 1.0f, 1.0f, 1.0f)};
    two[1].visible = 0;
    nail_geom one = two[0];
    int want = nail_outline_fit(o, &img, &one, &oo);
    int changed = -1;
    assert_int_equal(nail_outline_fit_all(o, &img, two, 2, &oo, &changed), 0);
    assert_int_equal(changed, want == 1);
    assert_true(isnan(two[1].cx)); /* invisible: not touched */
    /* a visible nail with a broken geometry is skipped, the others are fitted */
    nail_geom three[2] = {estimate(NAN, 0.0f, 0.0f, 1.0f, 20.0f, 12.0f),
                          estimate(32.0f, 24.0f, 0.0f, -1.0f, 20.0f, 12.0f)};
    assert_int_equal(nail_outline_fit_all(o, &img, three, 2, &oo, &changed), 0);
    assert_int_equal(changed, want == 1);
    assert_true(isnan(three[0].cx) && three[0].visible == 1);
    oo.threshold = 2.0f;
    assert_int_equal(nail_outline_fit_all(o, &img, three, 2, &oo, &changed), LQ_EINVAL);
    oo.threshold = 0.5f;
    /* drop_unseen hides a nail the network found alone (hand -1) when its crop shows
     * no nail, never a hand's nail */
    nail_geom seg_only = estimate(32.0f, 24.0f, 0.0f, -1.0f, 20.0f, 12.0f), hand_nail = seg_only;
    seg_only.hand = -1;
    nail_geom pair[2] = {hand_nail, seg_only};
    oo.drop_unseen = 1;
    assert_int_equal(nail_outline_fit_all(o, &img, pair, 2, &oo, &changed), 0);
    assert_int_equal(pair[0].visible, 1);
    assert_int_equal(pair[1].visible, want == NAIL_OUTLINE_NO_NAIL ? 0 : 1);
    oo.drop_unseen = 0;
    assert_int_equal(nail_outline_fit_all(o, &img, NULL, 1, &oo, &changed), LQ_EINVAL);
    assert_int_equal(nail_outline_fit(NULL, &img, &g, &oo), LQ_EINVAL);
    nail_outline_destroy(o);
    nail_outline_destroy(NULL);
    nail_outline_model_destroy(m);
    nail_outline_model_destroy(NULL);
    lq_image_free(&img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(options_are_validated),
        cmocka_unit_test(bad_models_are_refused_by_name),
        cmocka_unit_test(crop_follows_the_documented_map),
        cmocka_unit_test(crop_and_network_match_the_trainer),
        cmocka_unit_test(network_matches_torch_and_reference),
        cmocka_unit_test(second_fit_and_mirror_stay_near_the_plain_fit),
        cmocka_unit_test(fitted_plate_matches_the_mask_better),
        cmocka_unit_test(ensemble_averages_its_members),
        cmocka_unit_test(ensemble_members_are_checked),
        cmocka_unit_test(bad_estimates_are_refused_or_kept),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
