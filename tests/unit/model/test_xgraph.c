/*
 * test_xgraph.c - the XNNPACK runner against the plain C reference executor
 * (tests/support/ref_exec.c), on the four MediaPipe models and on small
 * synthetic models covering the operator options the real models do not
 * use; plus the graph validation that protects XNNPACK from bad graphs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "lq_test.h"
#include "model/tflite.h"
#include "model/xgraph.h"
#include "ref_exec.h"
#include "tfl_builder.h"

#define MAX_REL_ERR 1e-4

/* max|a-b| / (max|b| + 1e-6) */
static double rel_err(const float *a, const float *b, size_t n)
{
    double d = 0, m = 0;
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)a[i] - (double)b[i]);
        if (!(e <= d))   /* also catches NaN */
            d = isnan(e) ? INFINITY : e;
        if (fabs((double)b[i]) > m)
            m = fabs((double)b[i]);
    }
    return d / (m + 1e-6);
}

/* Runs model on XNNPACK and on the reference with the same random input;
 * returns the worst relative error over all outputs (and prints each). */
static double compare_with_reference(const tfl_model *m, const char *label, uint32_t seed,
                                     float lo, float hi)
{
    char err[256] = "";
    xg_net *net = NULL;
    xg_runner *r = NULL;
    ref_exec *ref = NULL;
    int rc = xg_net_create(m, &net, err, sizeof err);
    if (rc < 0)
        fail_msg("%s: xg_net_create: %s", label, err);
    assert_int_equal(xg_runner_create(net, 1, &r), 0);
    assert_int_equal(ref_exec_create(m, &ref, err, sizeof err), 0);
    for (int i = 0; i < xg_net_num_inputs(net); i++) {
        size_t n = xg_net_input_size(net, i);
        float *x = xg_runner_input(r, i);
        tflb_fill_random(x, n, &seed, lo, hi);
        memcpy(ref_exec_tensor(ref, tfl_model_input(m, i)), x, n * sizeof *x);
    }
    assert_int_equal(xg_runner_invoke(r), 0);
    rc = ref_exec_run(ref, err, sizeof err);
    if (rc < 0)
        fail_msg("%s: reference: %s", label, err);
    double worst = 0;
    for (int o = 0; o < xg_net_num_outputs(net); o++) {
        size_t n = xg_net_output_size(net, o);
        double e = rel_err(xg_runner_output(r, o), ref_exec_tensor(ref, tfl_model_output(m, o)), n);
        printf("  %-26s output %-12s (%6zu floats): max rel err %.3g\n", label,
               xg_net_output_name(net, o), n, e);
        if (e > worst || isnan(e))
            worst = isnan(e) ? INFINITY : e;
    }
    ref_exec_destroy(ref);
    xg_runner_destroy(r);
    xg_net_destroy(net);
    return worst;
}

static tfl_model *load_model(const char *name)
{
    char err[256];
    tfl_model *m = NULL;
    const char *path = lq_test_model(name);
    if (tfl_model_load_file(path, &m, err, sizeof err) < 0)
        fail_msg("cannot load %s (run scripts/fetch-models.sh): %s", path, err);
    return m;
}

static const char *const k_models[] = {
    "palm_detection_full.tflite", "palm_detection_lite.tflite",
    "hand_landmark_full.tflite", "hand_landmark_lite.tflite",
};

/* ---- the real models --------------------------------------------------- */

static void real_models_match_reference(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof k_models / sizeof *k_models; k++) {
        tfl_model *m = load_model(k_models[k]);
        double t0 = lq_clock_ms();
        double e = compare_with_reference(m, k_models[k], 1234u + (uint32_t)k, 0.0f, 1.0f);
        printf("  %s: worst %.3g (XNNPACK + reference run in %.0f ms)\n", k_models[k], e,
               lq_clock_ms() - t0);
        assert_true(e < MAX_REL_ERR);
        tfl_model_destroy(m);
    }
}

static void outputs_have_names_and_shapes(void **state)
{
    (void)state;
    char err[256];
    static const char *const lm_names[] = {"Identity", "Identity_1", "Identity_2", "Identity_3"};
    static const size_t lm_sizes[] = {63, 1, 1, 63};
    for (size_t k = 0; k < sizeof k_models / sizeof *k_models; k++) {
        tfl_model *m = load_model(k_models[k]);
        xg_net *net;
        assert_int_equal(xg_net_create(m, &net, err, sizeof err), 0);
        tfl_model_destroy(m);   /* the net keeps what it needs */
        int dims[TFL_MAX_DIMS];
        int nd = xg_net_input_shape(net, 0, dims);
        assert_int_equal(nd, 4);
        int side = k < 2 ? 192 : 224;
        assert_int_equal(dims[1], side);
        assert_int_equal(dims[2], side);
        assert_int_equal(dims[3], 3);
        assert_int_equal(xg_net_input_size(net, 0), (size_t)side * side * 3);
        for (int o = 0; o < xg_net_num_outputs(net); o++) {
            nd = xg_net_output_shape(net, o, dims);
            printf("  %s output %d '%s' [", k_models[k], o, xg_net_output_name(net, o));
            for (int d = 0; d < nd; d++)
                printf(d ? ",%d" : "%d", dims[d]);
            printf("]\n");
        }
        if (k < 2) {
            int boxes = xg_net_find_output(net, "Identity");
            int scores = xg_net_find_output(net, "Identity_1");
            assert_true(boxes >= 0 && scores >= 0);
            assert_int_equal(xg_net_output_size(net, boxes), 2016 * 18);
            assert_int_equal(xg_net_output_size(net, scores), 2016);
        } else {
            for (int i = 0; i < 4; i++) {
                int o = xg_net_find_output(net, lm_names[i]);
                assert_true(o >= 0);
                assert_int_equal(xg_net_output_size(net, o), lm_sizes[i]);
            }
        }
        assert_int_equal(xg_net_find_output(net, "nope"), -1);
        assert_null(xg_net_output_name(net, 99));
        xg_runner *r;
        assert_int_equal(xg_runner_create(net, 1, &r), 0);
        assert_null(xg_runner_input(r, 1));
        assert_null(xg_runner_output(r, -1));
        xg_runner_destroy(r);
        xg_net_destroy(net);
    }
}

typedef struct thread_job {
    const xg_net *net;
    const float *input;
    float *output;      /* output 0 */
    int rc;
} thread_job;

static void *thread_run(void *arg)
{
    thread_job *j = arg;
    xg_runner *r;
    j->rc = xg_runner_create(j->net, 1, &r);
    if (j->rc < 0)
        return NULL;
    memcpy(xg_runner_input(r, 0), j->input, xg_net_input_size(j->net, 0) * sizeof(float));
    for (int k = 0; k < 2 && j->rc == 0; k++)
        j->rc = xg_runner_invoke(r);
    memcpy(j->output, xg_runner_output(r, 0), xg_net_output_size(j->net, 0) * sizeof(float));
    xg_runner_destroy(r);
    return NULL;
}

static void runners_are_created_from_many_threads(void **state)
{
    (void)state;
    char err[256];
    tfl_model *m = load_model("palm_detection_lite.tflite");
    xg_net *net;
    assert_int_equal(xg_net_create(m, &net, err, sizeof err), 0);
    tfl_model_destroy(m);
    size_t nin = xg_net_input_size(net, 0), nout = xg_net_output_size(net, 0);
    float *input = malloc(nin * sizeof *input);
    uint32_t seed = 7;
    tflb_fill_random(input, nin, &seed, -1.0f, 1.0f);
    enum { NT = 4 };
    thread_job jobs[NT];
    pthread_t th[NT];
    for (int i = 0; i < NT; i++) {
        jobs[i] = (thread_job){net, input, malloc(nout * sizeof(float)), -100};
        assert_int_equal(pthread_create(&th[i], NULL, thread_run, &jobs[i]), 0);
    }
    for (int i = 0; i < NT; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i < NT; i++) {
        assert_int_equal(jobs[i].rc, 0);
        assert_memory_equal(jobs[i].output, jobs[0].output, nout * sizeof(float));
    }
    /* A runner with its own thread pool computes the same within rounding. */
    xg_runner *r;
    assert_int_equal(xg_runner_create(net, 2, &r), 0);
    memcpy(xg_runner_input(r, 0), input, nin * sizeof *input);
    assert_int_equal(xg_runner_invoke(r), 0);
    double e = rel_err(xg_runner_output(r, 0), jobs[0].output, nout);
    printf("  2-thread runner vs 1-thread: rel err %.3g\n", e);
    assert_true(e < 1e-5);
    xg_runner_destroy(r);
    for (int i = 0; i < NT; i++)
        free(jobs[i].output);
    free(input);
    xg_net_destroy(net);
}

static void bad_arguments_are_refused(void **state)
{
    (void)state;
    char err[64];
    xg_net *net = NULL;
    xg_runner *r = NULL;
    assert_int_equal(xg_init(), 0);
    assert_int_equal(xg_init(), 0);
    assert_int_equal(xg_net_create(NULL, &net, err, sizeof err), LQ_EINVAL);
    assert_int_equal(xg_runner_create(NULL, 1, &r), LQ_EINVAL);
    assert_int_equal(xg_runner_invoke(NULL), LQ_EINVAL);
    assert_int_equal(xg_net_num_inputs(NULL), 0);
    assert_int_equal(xg_net_find_output(NULL, "Identity"), -1);
    xg_runner_destroy(NULL);
    xg_net_destroy(NULL);
}

/* ---- synthetic models -------------------------------------------------- */

typedef struct syn {
    tflb *b;
    uint32_t rng;
    int n;        /* name counter */
} syn;

static int s_act(syn *s, const int *dims, int nd)
{
    char name[32];
    snprintf(name, sizeof name, "t%d", s->n++);
    return tflb_tensor(s->b, name, TFL_FLOAT32, dims, nd, NULL, 0);
}

/* A float16 constant behind DEQUANTIZE, like the MediaPipe models. */
static int s_weight(syn *s, const int *dims, int nd, float lo, float hi)
{
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= (size_t)dims[i];
    float *f = malloc(n * sizeof *f);
    uint16_t *h = malloc(n * sizeof *h);
    tflb_fill_random(f, n, &s->rng, lo, hi);
    for (size_t i = 0; i < n; i++)
        h[i] = tflb_float_to_half(f[i]);
    char name[32];
    snprintf(name, sizeof name, "w%d", s->n++);
    int c16 = tflb_tensor(s->b, name, TFL_FLOAT16, dims, nd, h, n * sizeof *h);
    int c32 = s_act(s, dims, nd);
    tflb_op(s->b, TFL_OP_DEQUANTIZE, &c16, 1, &c32, 1, NULL);
    free(f);
    free(h);
    return c32;
}

/* A float32 constant stored directly. */
static int s_const32(syn *s, const int *dims, int nd)
{
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= (size_t)dims[i];
    float *f = malloc(n * sizeof *f);
    tflb_fill_random(f, n, &s->rng, -1.0f, 1.0f);
    char name[32];
    snprintf(name, sizeof name, "c%d", s->n++);
    int t = tflb_tensor(s->b, name, TFL_FLOAT32, dims, nd, f, n * sizeof *f);
    free(f);
    return t;
}

static int s_ints(syn *s, const int *v, int n)
{
    char name[32];
    snprintf(name, sizeof name, "i%d", s->n++);
    return tflb_tensor(s->b, name, TFL_INT32, (int[]){n}, 1, v, (size_t)n * sizeof *v);
}

static tflb_opts conv_opts(int pad, int sw, int sh, int act, int dw, int dh)
{
    tflb_opts o = tflb_opts_make(TFLB_OPT_CONV2D);
    tflb_opts_add(&o, 0, 1, pad);
    tflb_opts_add(&o, 1, 4, sw);
    tflb_opts_add(&o, 2, 4, sh);
    tflb_opts_add(&o, 3, 1, act);
    tflb_opts_add(&o, 4, 4, dw);
    tflb_opts_add(&o, 5, 4, dh);
    return o;
}

static tflb_opts dw_opts(int pad, int sw, int sh, int mult, int act)
{
    tflb_opts o = tflb_opts_make(TFLB_OPT_DEPTHWISE);
    tflb_opts_add(&o, 0, 1, pad);
    tflb_opts_add(&o, 1, 4, sw);
    tflb_opts_add(&o, 2, 4, sh);
    tflb_opts_add(&o, 3, 4, mult);
    tflb_opts_add(&o, 4, 1, act);
    return o;
}

static tflb_opts pool_opts(int pad, int sw, int sh, int fw, int fh, int act)
{
    tflb_opts o = tflb_opts_make(TFLB_OPT_POOL2D);
    tflb_opts_add(&o, 0, 1, pad);
    tflb_opts_add(&o, 1, 4, sw);
    tflb_opts_add(&o, 2, 4, sh);
    tflb_opts_add(&o, 3, 4, fw);
    tflb_opts_add(&o, 4, 4, fh);
    tflb_opts_add(&o, 5, 1, act);
    return o;
}

static tfl_model *s_finish(syn *s, const int *in, int nin, const int *out, int nout)
{
    tflb_io(s->b, in, nin, out, nout);
    size_t len;
    uint8_t *file = tflb_finish(s->b, &len);
    tflb_destroy(s->b);
    s->b = NULL;
    char err[256];
    tfl_model *m = NULL;
    int rc = tfl_model_load_buffer(file, len, &m, err, sizeof err);
    free(file);
    if (rc < 0)
        fail_msg("synthetic model does not load: %s", err);
    return m;
}

static void check_synthetic(tfl_model *m, const char *label)
{
    double e = compare_with_reference(m, label, 99, -1.0f, 1.0f);
    assert_true(e < MAX_REL_ERR);
    tfl_model_destroy(m);
}

static void convolutions_match_reference(void **state)
{
    (void)state;
    syn s = {tflb_create(), 1, 0};
    int x = s_act(&s, (int[]){1, 9, 8, 3}, 4);
    /* SAME, stride 2 on odd/even sizes, RELU6 */
    int w1 = s_weight(&s, (int[]){5, 3, 3, 3}, 4, -0.5f, 0.5f), b1 = s_weight(&s, (int[]){5}, 1, -1, 1);
    int y1 = s_act(&s, (int[]){1, 5, 4, 5}, 4);
    tflb_opts o = conv_opts(TFL_PAD_SAME, 2, 2, TFL_ACT_RELU6, 1, 1);
    tflb_op(s.b, TFL_OP_CONV_2D, (int[]){x, w1, b1}, 3, &y1, 1, &o);
    /* VALID, dilation 2, RELU, float32 weights */
    int w2 = s_const32(&s, (int[]){4, 3, 3, 3}, 4), b2 = s_const32(&s, (int[]){4}, 1);
    int y2 = s_act(&s, (int[]){1, 5, 4, 4}, 4);
    o = conv_opts(TFL_PAD_VALID, 1, 1, TFL_ACT_RELU, 2, 2);
    tflb_op(s.b, TFL_OP_CONV_2D, (int[]){x, w2, b2}, 3, &y2, 1, &o);
    /* SAME with stride_w != stride_h and kh != kw, no bias, RELU_N1_TO_1 */
    int w3 = s_weight(&s, (int[]){4, 3, 2, 3}, 4, -0.5f, 0.5f);
    int y3 = s_act(&s, (int[]){1, 5, 8, 4}, 4);
    o = conv_opts(TFL_PAD_SAME, 1, 2, TFL_ACT_RELU_N1_TO_1, 1, 1);
    tflb_op(s.b, TFL_OP_CONV_2D, (int[]){x, w3, -1}, 3, &y3, 1, &o);
    /* depthwise SAME stride 2, multiplier 2 */
    int w4 = s_weight(&s, (int[]){1, 3, 3, 6}, 4, -1, 1), b4 = s_weight(&s, (int[]){6}, 1, -1, 1);
    int y4 = s_act(&s, (int[]){1, 5, 4, 6}, 4);
    o = dw_opts(TFL_PAD_SAME, 2, 2, 2, TFL_ACT_NONE);
    tflb_op(s.b, TFL_OP_DEPTHWISE_CONV_2D, (int[]){x, w4, b4}, 3, &y4, 1, &o);
    /* depthwise VALID 5x3 */
    int w5 = s_weight(&s, (int[]){1, 5, 3, 3}, 4, -1, 1), b5 = s_weight(&s, (int[]){3}, 1, -1, 1);
    int y5 = s_act(&s, (int[]){1, 5, 6, 3}, 4);
    o = dw_opts(TFL_PAD_VALID, 1, 1, 1, TFL_ACT_RELU);
    tflb_op(s.b, TFL_OP_DEPTHWISE_CONV_2D, (int[]){x, w5, b5}, 3, &y5, 1, &o);
    check_synthetic(s_finish(&s, &x, 1, (int[]){y1, y2, y3, y4, y5}, 5), "conv/depthwise");
}

static void pooling_and_elementwise_match_reference(void **state)
{
    (void)state;
    syn s = {tflb_create(), 2, 0};
    int x = s_act(&s, (int[]){1, 9, 8, 4}, 4);
    int p1 = s_act(&s, (int[]){1, 4, 3, 4}, 4), p2 = s_act(&s, (int[]){1, 5, 4, 4}, 4);
    tflb_opts o = pool_opts(TFL_PAD_VALID, 2, 2, 3, 3, TFL_ACT_NONE);
    tflb_op(s.b, TFL_OP_MAX_POOL_2D, &x, 1, &p1, 1, &o);
    o = pool_opts(TFL_PAD_SAME, 2, 2, 2, 2, TFL_ACT_RELU);
    tflb_op(s.b, TFL_OP_MAX_POOL_2D, &x, 1, &p2, 1, &o);
    /* ADD with a broadcast constant, fused RELU; ADD of two activations */
    int c = s_weight(&s, (int[]){4}, 1, -1, 1), a1 = s_act(&s, (int[]){1, 9, 8, 4}, 4);
    tflb_opts ao = tflb_opts_make(TFLB_OPT_ADD);
    tflb_opts_add(&ao, 0, 1, TFL_ACT_RELU);
    tflb_op(s.b, TFL_OP_ADD, (int[]){x, c}, 2, &a1, 1, &ao);
    int sg = s_act(&s, (int[]){1, 9, 8, 4}, 4), a2 = s_act(&s, (int[]){1, 9, 8, 4}, 4);
    tflb_op(s.b, TFL_OP_LOGISTIC, &x, 1, &sg, 1, NULL);
    tflb_op(s.b, TFL_OP_ADD, (int[]){sg, a1}, 2, &a2, 1, NULL);
    /* PRELU with [1,1,C] and [C] slopes */
    int s1 = s_weight(&s, (int[]){1, 1, 4}, 3, -0.5f, 0.5f), s2 = s_const32(&s, (int[]){4}, 1);
    int r1 = s_act(&s, (int[]){1, 9, 8, 4}, 4), r2 = s_act(&s, (int[]){1, 9, 8, 4}, 4);
    tflb_op(s.b, TFL_OP_PRELU, (int[]){x, s1}, 2, &r1, 1, NULL);
    tflb_op(s.b, TFL_OP_PRELU, (int[]){r1, s2}, 2, &r2, 1, NULL);
    /* PAD on every axis */
    int pads = s_ints(&s, (int[]){0, 0, 1, 2, 0, 1, 0, 2}, 8);
    tflb_tensor(s.b, "unused", TFL_FLOAT32, (int[]){1}, 1, NULL, 0);
    int pd = s_act(&s, (int[]){1, 12, 9, 6}, 4);
    tflb_op(s.b, TFL_OP_PAD, (int[]){x, pads}, 2, &pd, 1, NULL);
    check_synthetic(s_finish(&s, &x, 1, (int[]){p1, p2, a2, r2, pd}, 5), "pool/add/prelu/pad");
}

static void resize_mean_fc_reshape_concat_match_reference(void **state)
{
    (void)state;
    syn s = {tflb_create(), 3, 0};
    int x = s_act(&s, (int[]){1, 3, 4, 2}, 4);
    int size = s_ints(&s, (int[]){7, 9}, 2);
    int rz[3];
    for (int mode = 0; mode < 3; mode++) {
        tflb_opts o = tflb_opts_make(TFLB_OPT_RESIZE_BILINEAR);
        tflb_opts_add(&o, 2, 1, mode == 1);   /* align_corners */
        tflb_opts_add(&o, 3, 1, mode == 2);   /* half_pixel_centers */
        rz[mode] = s_act(&s, (int[]){1, 7, 9, 2}, 4);
        tflb_op(s.b, TFL_OP_RESIZE_BILINEAR, (int[]){x, size}, 2, &rz[mode], 1, &o);
    }
    /* MEAN keep_dims=1 -> FC keep_num_dims=1; MEAN keep_dims=0 -> FC -> LOGISTIC */
    int axes = s_ints(&s, (int[]){1, 2}, 2);
    int m1 = s_act(&s, (int[]){1, 1, 1, 2}, 4), m2 = s_act(&s, (int[]){1, 2}, 2);
    tflb_opts ro = tflb_opts_make(TFLB_OPT_REDUCER);
    tflb_opts_add(&ro, 0, 1, 1);
    tflb_op(s.b, TFL_OP_MEAN, (int[]){x, axes}, 2, &m1, 1, &ro);
    tflb_op(s.b, TFL_OP_MEAN, (int[]){x, axes}, 2, &m2, 1, NULL);
    int fw = s_weight(&s, (int[]){3, 2}, 2, -1, 1), fb = s_weight(&s, (int[]){3}, 1, -1, 1);
    int f1 = s_act(&s, (int[]){1, 1, 1, 3}, 4), f2 = s_act(&s, (int[]){1, 3}, 2);
    int f3 = s_act(&s, (int[]){1, 3}, 2);
    tflb_opts fo = tflb_opts_make(TFLB_OPT_FULLY_CONNECTED);
    tflb_opts_add(&fo, 2, 1, 1);
    tflb_op(s.b, TFL_OP_FULLY_CONNECTED, (int[]){m1, fw, fb}, 3, &f1, 1, &fo);
    tflb_op(s.b, TFL_OP_FULLY_CONNECTED, (int[]){m2, fw, -1}, 3, &f2, 1, NULL);
    tflb_op(s.b, TFL_OP_LOGISTIC, &f2, 1, &f3, 1, NULL);
    /* FC flattening a 4-D input (no keep_num_dims): [1,3,4,2] -> [3,5] */
    int gw = s_weight(&s, (int[]){5, 8}, 2, -1, 1), g = s_act(&s, (int[]){3, 5}, 2);
    tflb_op(s.b, TFL_OP_FULLY_CONNECTED, (int[]){x, gw}, 2, &g, 1, NULL);
    /* RESHAPE (shape operand and new_shape option) into a CONCATENATION */
    int sh = s_ints(&s, (int[]){1, -1, 2}, 3);
    int q1 = s_act(&s, (int[]){1, 12, 2}, 3), q2 = s_act(&s, (int[]){1, 63, 2}, 3);
    tflb_op(s.b, TFL_OP_RESHAPE, (int[]){x, sh}, 2, &q1, 1, NULL);
    tflb_opts rso = tflb_opts_make(TFLB_OPT_RESHAPE);
    rso.vec_id = 0;
    rso.nvec = 3;
    memcpy(rso.vec, (int[]){1, 63, 2}, 3 * sizeof(int));
    tflb_op(s.b, TFL_OP_RESHAPE, &rz[2], 1, &q2, 1, &rso);
    int cat = s_act(&s, (int[]){1, 75, 2}, 3);
    tflb_opts co = tflb_opts_make(TFLB_OPT_CONCATENATION);
    tflb_opts_add(&co, 0, 4, 1);
    tflb_op(s.b, TFL_OP_CONCATENATION, (int[]){q1, q2}, 2, &cat, 1, &co);
    /* a concatenation along the last axis of [1,1,n] tensors */
    int v1 = s_act(&s, (int[]){1, 1, 3}, 3), v2 = s_act(&s, (int[]){1, 1, 3}, 3);
    int sh2 = s_ints(&s, (int[]){1, 1, 3}, 3);
    tflb_op(s.b, TFL_OP_RESHAPE, (int[]){f2, sh2}, 2, &v1, 1, NULL);
    tflb_op(s.b, TFL_OP_RESHAPE, (int[]){f3, sh2}, 2, &v2, 1, NULL);
    int cat2 = s_act(&s, (int[]){1, 1, 6}, 3);
    co = tflb_opts_make(TFLB_OPT_CONCATENATION);
    tflb_opts_add(&co, 0, 4, -1);
    tflb_op(s.b, TFL_OP_CONCATENATION, (int[]){v1, v2}, 2, &cat2, 1, &co);
    check_synthetic(s_finish(&s, &x, 1, (int[]){rz[0], rz[1], f1, g, cat, cat2}, 6),
                    "resize/mean/fc/concat");
}

static void unused_operators_are_dropped(void **state)
{
    (void)state;
    syn s = {tflb_create(), 4, 0};
    int x = s_act(&s, (int[]){1, 4, 4, 2}, 4), dead = s_act(&s, (int[]){1, 4, 4, 2}, 4);
    int y = s_act(&s, (int[]){1, 4, 4, 2}, 4), dead2 = s_act(&s, (int[]){1, 4, 4, 2}, 4);
    tflb_op(s.b, TFL_OP_LOGISTIC, &x, 1, &dead, 1, NULL);        /* nobody reads it */
    tflb_op(s.b, TFL_OP_LOGISTIC, &x, 1, &y, 1, NULL);
    tflb_op(s.b, TFL_OP_ADD, (int[]){dead, y}, 2, &dead2, 1, NULL); /* nor this */
    check_synthetic(s_finish(&s, &x, 1, &y, 1), "dead operators");
}

/* Random single-operator models with odd but legal parameters (kernels
 * larger than the input, strides larger than kernels, dilations, every
 * padding and activation): each must either be refused or run on XNNPACK
 * and match the reference. One in eight has a wrong declared output shape
 * and must be refused. XNNPACK aborts the process on what it dislikes, so
 * this guards the validation as much as the numerics. */
static int rnd(uint32_t *s, int lo, int hi)
{
    return lo + (int)(tflb_rand(s) % (uint32_t)(hi - lo + 1));
}

static int tfl_out(int pad, int in, int k, int st, int dil)
{
    int eff = (k - 1) * dil + 1;
    return pad == TFL_PAD_SAME ? (in + st - 1) / st : in < eff ? 0 : (in - eff) / st + 1;
}

static void random_windowed_operators_build_or_refuse(void **state)
{
    (void)state;
    uint32_t rng = 77;
    int ran = 0, refused = 0, wrong_refused = 0;
    for (int trial = 0; trial < 240; trial++) {
        int kind = trial % 3;   /* conv, depthwise, max pool */
        int h = rnd(&rng, 1, 9), w = rnd(&rng, 1, 9), c = rnd(&rng, 1, 5);
        int kh = rnd(&rng, 1, 5), kw = rnd(&rng, 1, 5), sh = rnd(&rng, 1, 3), sw = rnd(&rng, 1, 3);
        int dh = kind == 2 ? 1 : rnd(&rng, 1, 3), dw = kind == 2 ? 1 : rnd(&rng, 1, 3);
        int pad = rnd(&rng, 0, 1), actf = rnd(&rng, 0, 3), mult = rnd(&rng, 1, 2);
        int oc = kind == 0 ? rnd(&rng, 1, 6) : kind == 1 ? c * mult : c;
        int oh = tfl_out(pad, h, kh, sh, dh), ow = tfl_out(pad, w, kw, sw, dw);
        int wrong = trial % 8 == 7;
        if (oh < 1 || ow < 1)
            continue;
        syn s = {tflb_create(), (uint32_t)trial + 1, 0};
        int x = s_act(&s, (int[]){1, h, w, c}, 4);
        int y = s_act(&s, (int[]){1, oh + wrong, ow, oc}, 4);
        tflb_opts o;
        if (kind == 0) {
            int f = s_weight(&s, (int[]){oc, kh, kw, c}, 4, -1, 1);
            int bias = s_weight(&s, (int[]){oc}, 1, -1, 1);
            o = conv_opts(pad, sw, sh, actf, dw, dh);
            tflb_op(s.b, TFL_OP_CONV_2D, (int[]){x, f, bias}, 3, &y, 1, &o);
        } else if (kind == 1) {
            int f = s_weight(&s, (int[]){1, kh, kw, oc}, 4, -1, 1);
            int bias = s_weight(&s, (int[]){oc}, 1, -1, 1);
            o = dw_opts(pad, sw, sh, mult, actf);
            tflb_opts_add(&o, 5, 4, dw);
            tflb_opts_add(&o, 6, 4, dh);
            tflb_op(s.b, TFL_OP_DEPTHWISE_CONV_2D, (int[]){x, f, bias}, 3, &y, 1, &o);
        } else {
            o = pool_opts(pad, sw, sh, kw, kh, actf);
            tflb_op(s.b, TFL_OP_MAX_POOL_2D, &x, 1, &y, 1, &o);
        }
        tfl_model *m = s_finish(&s, &x, 1, &y, 1);
        char err[256], label[96];
        xg_net *net = NULL;
        int rc = xg_net_create(m, &net, err, sizeof err);
        xg_net_destroy(net);
        snprintf(label, sizeof label, "%s %dx%dx%d k%dx%d s%dx%d d%dx%d %s",
                 kind == 0 ? "conv" : kind == 1 ? "dwconv" : "maxpool", h, w, c, kh, kw, sh, sw,
                 dh, dw, pad == TFL_PAD_SAME ? "SAME" : "VALID");
        if (wrong) {
            /* EUNSUPPORTED when another check (a 1x1 pool) comes first */
            assert_true(rc == LQ_EFORMAT || rc == LQ_EUNSUPPORTED);
            wrong_refused++;
        } else if (rc < 0) {
            printf("  refused %s: %s\n", label, err);
            refused++;
        } else {
            double e = compare_with_reference(m, label, (uint32_t)trial, -1.0f, 1.0f);
            if (!(e < MAX_REL_ERR))
                fail_msg("%s: rel err %g", label, e);
            ran++;
        }
        tfl_model_destroy(m);
    }
    printf("  random operators: %d ran and matched, %d refused, %d wrong shapes refused\n", ran,
           refused, wrong_refused);
    assert_true(ran > 100);
}

/* Random RESIZE_BILINEAR (every mode, up and down, sizes of 1), broadcast
 * ADD (ranks 1-4, constant or not) and PAD models: refused or matching. */
static void random_resize_add_pad_build_or_refuse(void **state)
{
    (void)state;
    uint32_t rng = 91;
    int ran = 0, refused = 0;
    for (int trial = 0; trial < 180; trial++) {
        int kind = trial % 3;
        syn s = {tflb_create(), (uint32_t)trial + 3, 0};
        int x, y;
        char label[96];
        if (kind == 0) {
            int h = rnd(&rng, 1, 7), w = rnd(&rng, 1, 7), c = rnd(&rng, 1, 3);
            int oh = rnd(&rng, 1, 12), ow = rnd(&rng, 1, 12), mode = rnd(&rng, 0, 2);
            x = s_act(&s, (int[]){1, h, w, c}, 4);
            y = s_act(&s, (int[]){1, oh, ow, c}, 4);
            int size = s_ints(&s, (int[]){oh, ow}, 2);
            tflb_opts o = tflb_opts_make(TFLB_OPT_RESIZE_BILINEAR);
            tflb_opts_add(&o, 2, 1, mode == 1);
            tflb_opts_add(&o, 3, 1, mode == 2);
            tflb_op(s.b, TFL_OP_RESIZE_BILINEAR, (int[]){x, size}, 2, &y, 1, &o);
            snprintf(label, sizeof label, "resize %dx%d->%dx%d %s", h, w, oh, ow,
                     mode == 0 ? "legacy" : mode == 1 ? "align_corners" : "half_pixel");
        } else if (kind == 1) {
            int nd = rnd(&rng, 1, 4), da[4], db[4], dout[4], nb = rnd(&rng, 1, nd);
            for (int i = 0; i < nd; i++) {
                dout[i] = rnd(&rng, 1, 4);
                da[i] = rnd(&rng, 0, 3) ? dout[i] : 1;
            }
            for (int i = 0; i < nb; i++)
                db[i] = rnd(&rng, 0, 2) ? dout[nd - nb + i] : 1;
            for (int i = 0; i < nd; i++)   /* the output takes the larger of the two */
                dout[i] = da[i] > (i >= nd - nb ? db[i - (nd - nb)] : 1)
                              ? da[i] : (i >= nd - nb ? db[i - (nd - nb)] : 1);
            x = s_act(&s, da, nd);
            int other = rnd(&rng, 0, 1) ? s_const32(&s, db, nb) : x;
            if (other == x)
                nb = nd;
            y = s_act(&s, other == x ? da : dout, nd);
            tflb_opts o = tflb_opts_make(TFLB_OPT_ADD);
            tflb_opts_add(&o, 0, 1, rnd(&rng, 0, 3));
            tflb_op(s.b, TFL_OP_ADD, (int[]){x, other}, 2, &y, 1, &o);
            snprintf(label, sizeof label, "add rank %d/%d%s", nd, nb, other == x ? " self" : "");
        } else {
            int d[4] = {1, rnd(&rng, 1, 5), rnd(&rng, 1, 5), rnd(&rng, 1, 4)}, pads[8], od[4];
            for (int i = 0; i < 8; i++)
                pads[i] = i < 2 ? 0 : rnd(&rng, 0, 3);
            for (int i = 0; i < 4; i++)
                od[i] = d[i] + pads[2 * i] + pads[2 * i + 1];
            x = s_act(&s, d, 4);
            y = s_act(&s, od, 4);
            int p = tflb_tensor(s.b, "pads", TFL_INT32, (int[]){4, 2}, 2, pads, sizeof pads);
            tflb_op(s.b, TFL_OP_PAD, (int[]){x, p}, 2, &y, 1, NULL);
            snprintf(label, sizeof label, "pad %dx%dx%d", d[1], d[2], d[3]);
        }
        tfl_model *m = s_finish(&s, &x, 1, &y, 1);
        char err[256];
        xg_net *net = NULL;
        int rc = xg_net_create(m, &net, err, sizeof err);
        xg_net_destroy(net);
        if (rc < 0) {
            printf("  refused %s: %s\n", label, err);
            refused++;
        } else {
            double e = compare_with_reference(m, label, (uint32_t)trial, -1.0f, 1.0f);
            if (!(e < MAX_REL_ERR))
                fail_msg("%s: rel err %g", label, e);
            ran++;
        }
        tfl_model_destroy(m);
    }
    printf("  random resize/add/pad: %d ran and matched, %d refused\n", ran, refused);
    assert_true(ran > 150);
}

/* ---- validation -------------------------------------------------------- */

static void expect_refused(tfl_model *m, int code, const char *needle)
{
    char err[256] = "";
    xg_net *net = NULL;
    int rc = xg_net_create(m, &net, err, sizeof err);
    printf("  refused (%s): %s\n", lq_err_name(rc), err);
    assert_int_equal(rc, code);
    assert_null(net);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
    tfl_model_destroy(m);
}

static void invalid_graphs_are_refused(void **state)
{
    (void)state;
    int d[4] = {1, 4, 4, 2};
    /* two producers for one tensor */
    syn s = {tflb_create(), 5, 0};
    int x = s_act(&s, d, 4), y = s_act(&s, d, 4);
    tflb_op(s.b, TFL_OP_LOGISTIC, &x, 1, &y, 1, NULL);
    tflb_op(s.b, TFL_OP_LOGISTIC, &x, 1, &y, 1, NULL);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EFORMAT, "also written");
    /* read before it is written */
    s = (syn){tflb_create(), 5, 0};
    x = s_act(&s, d, 4);
    y = s_act(&s, d, 4);
    int z = s_act(&s, d, 4);
    tflb_op(s.b, TFL_OP_LOGISTIC, &y, 1, &z, 1, NULL);
    tflb_op(s.b, TFL_OP_LOGISTIC, &x, 1, &y, 1, NULL);
    expect_refused(s_finish(&s, &x, 1, &z, 1), LQ_EFORMAT, "not defined before use");
    /* declared output shape disagrees with the computed one */
    s = (syn){tflb_create(), 5, 0};
    x = s_act(&s, d, 4);
    int w = s_weight(&s, (int[]){3, 3, 3, 2}, 4, -1, 1);
    y = s_act(&s, (int[]){1, 4, 4, 3}, 4);
    tflb_opts o = conv_opts(TFL_PAD_SAME, 2, 2, 0, 1, 1);
    tflb_op(s.b, TFL_OP_CONV_2D, (int[]){x, w, -1}, 3, &y, 1, &o);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EFORMAT, "computes to [1,2,2,3]");
    /* unsupported fused activation */
    s = (syn){tflb_create(), 5, 0};
    x = s_act(&s, d, 4);
    y = s_act(&s, d, 4);
    tflb_opts ao = tflb_opts_make(TFLB_OPT_ADD);
    tflb_opts_add(&ao, 0, 1, TFL_ACT_TANH);
    tflb_op(s.b, TFL_OP_ADD, (int[]){x, x}, 2, &y, 1, &ao);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EUNSUPPORTED, "TANH");
    /* zero stride */
    s = (syn){tflb_create(), 5, 0};
    x = s_act(&s, d, 4);
    y = s_act(&s, (int[]){1, 2, 2, 2}, 4);
    tflb_opts po = pool_opts(TFL_PAD_SAME, 0, 2, 2, 2, 0);
    tflb_op(s.b, TFL_OP_MAX_POOL_2D, &x, 1, &y, 1, &po);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EFORMAT, "stride");
    /* a CONCATENATION read by another operator */
    s = (syn){tflb_create(), 5, 0};
    x = s_act(&s, d, 4);
    y = s_act(&s, (int[]){1, 8, 4, 2}, 4);
    z = s_act(&s, (int[]){1, 8, 4, 2}, 4);
    tflb_opts co = tflb_opts_make(TFLB_OPT_CONCATENATION);
    tflb_opts_add(&co, 0, 4, 1);
    int l = s_act(&s, d, 4);
    tflb_op(s.b, TFL_OP_LOGISTIC, &x, 1, &l, 1, NULL);
    tflb_op(s.b, TFL_OP_CONCATENATION, (int[]){l, l}, 2, &y, 1, &co);
    tflb_op(s.b, TFL_OP_LOGISTIC, &y, 1, &z, 1, NULL);
    expect_refused(s_finish(&s, &x, 1, &z, 1), LQ_EUNSUPPORTED, "CONCATENATION");
    /* the same tensor twice in a concatenation */
    s = (syn){tflb_create(), 5, 0};
    x = s_act(&s, d, 4);
    l = s_act(&s, d, 4);
    y = s_act(&s, (int[]){1, 8, 4, 2}, 4);
    tflb_op(s.b, TFL_OP_LOGISTIC, &x, 1, &l, 1, NULL);
    tflb_op(s.b, TFL_OP_CONCATENATION, (int[]){l, l}, 2, &y, 1, &co);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EUNSUPPORTED, "concatenated");
    /* a graph output nothing computes */
    s = (syn){tflb_create(), 5, 0};
    x = s_act(&s, d, 4);
    y = s_act(&s, d, 4);
    tflb_op(s.b, TFL_OP_LOGISTIC, &x, 1, &y, 1, NULL);
    expect_refused(s_finish(&s, &x, 1, (int[]){y, x}, 2), LQ_EUNSUPPORTED, "not computed");
    /* PAD of a channel count that does not match the declared output */
    s = (syn){tflb_create(), 5, 0};
    x = s_act(&s, d, 4);
    int pads = s_ints(&s, (int[]){0, 0, 0, 0, 0, 0, 0, 2}, 8);
    y = s_act(&s, (int[]){1, 4, 4, 3}, 4);
    tflb_op(s.b, TFL_OP_PAD, (int[]){x, pads}, 2, &y, 1, NULL);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EFORMAT, "declared");
    /* an empty dimension (found by the fuzzer: XNNPACK refuses it at runtime
     * creation, so the net must not be built) */
    s = (syn){tflb_create(), 5, 0};
    x = s_act(&s, (int[]){1, 0, 4, 2}, 4);
    y = s_act(&s, (int[]){1, 0, 4, 2}, 4);
    tflb_op(s.b, TFL_OP_LOGISTIC, &x, 1, &y, 1, NULL);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EUNSUPPORTED, "empty dimension");
    /* a pooling window whose indirection buffer would take gigabytes */
    s = (syn){tflb_create(), 5, 0};
    x = s_act(&s, (int[]){1, 4096, 4096, 1}, 4);
    y = s_act(&s, (int[]){1, 4096, 4096, 1}, 4);
    po = pool_opts(TFL_PAD_SAME, 1, 1, 64, 64, 0);
    tflb_op(s.b, TFL_OP_MAX_POOL_2D, &x, 1, &y, 1, &po);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_ELIMIT, "window taps");
    /* activations over the memory cap */
    s = (syn){tflb_create(), 5, 0};
    x = s_act(&s, (int[]){1, 8192, 8192, 2}, 4);
    y = s_act(&s, (int[]){1, 8192, 8192, 2}, 4);
    tflb_op(s.b, TFL_OP_LOGISTIC, &x, 1, &y, 1, NULL);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_ELIMIT, "activations need");
    /* a float16 weight used without DEQUANTIZE */
    s = (syn){tflb_create(), 5, 0};
    x = s_act(&s, d, 4);
    uint16_t half[2] = {0x3c00, 0x3c00};
    int hw = tflb_tensor(s.b, "half", TFL_FLOAT16, (int[]){2}, 1, half, sizeof half);
    y = s_act(&s, d, 4);
    tflb_op(s.b, TFL_OP_ADD, (int[]){x, hw}, 2, &y, 1, NULL);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EUNSUPPORTED, "without DEQUANTIZE");
}

/* Options the mapping does not implement: each refused at load, naming the
 * operator and the option (the MediaPipe models use none of them). */
static void unsupported_options_are_named(void **state)
{
    (void)state;
    int d[4] = {1, 4, 4, 2};
    /* MEAN over the height only (not a global average pool) */
    syn s = {tflb_create(), 7, 0};
    int x = s_act(&s, d, 4), y = s_act(&s, (int[]){1, 1, 4, 2}, 4);
    int axes = s_ints(&s, (int[]){1}, 1);
    tflb_opts ro = tflb_opts_make(TFLB_OPT_REDUCER);
    tflb_opts_add(&ro, 0, 1, 1); /* keep_dims */
    tflb_op(s.b, TFL_OP_MEAN, (int[]){x, axes}, 2, &y, 1, &ro);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EUNSUPPORTED,
                   "(MEAN): only the mean over axes 1 and 2");
    /* FULLY_CONNECTED with shuffled (int8 kernel) weights */
    s = (syn){tflb_create(), 7, 0};
    x = s_act(&s, (int[]){1, 8}, 2);
    int w = s_weight(&s, (int[]){3, 8}, 2, -1, 1);
    y = s_act(&s, (int[]){1, 3}, 2);
    tflb_opts fo = tflb_opts_make(TFLB_OPT_FULLY_CONNECTED);
    tflb_opts_add(&fo, 1, 1, 1); /* weights_format SHUFFLED4x16INT8 */
    tflb_op(s.b, TFL_OP_FULLY_CONNECTED, (int[]){x, w, -1}, 3, &y, 1, &fo);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EUNSUPPORTED,
                   "(FULLY_CONNECTED): weights format 1");
    /* PRELU with a slope per row (TFLite broadcasts it; XNNPACK takes [C]) */
    s = (syn){tflb_create(), 7, 0};
    x = s_act(&s, d, 4);
    int sl = s_weight(&s, (int[]){4, 1, 2}, 3, -0.5f, 0.5f);
    y = s_act(&s, d, 4);
    tflb_op(s.b, TFL_OP_PRELU, (int[]){x, sl}, 2, &y, 1, NULL);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EUNSUPPORTED, "(PRELU): slope must have shape");
    /* RESIZE_BILINEAR with both align_corners and half_pixel_centers */
    s = (syn){tflb_create(), 7, 0};
    x = s_act(&s, d, 4);
    int size = s_ints(&s, (int[]){8, 8}, 2);
    y = s_act(&s, (int[]){1, 8, 8, 2}, 4);
    tflb_opts zo = tflb_opts_make(TFLB_OPT_RESIZE_BILINEAR);
    tflb_opts_add(&zo, 2, 1, 1);
    tflb_opts_add(&zo, 3, 1, 1);
    tflb_op(s.b, TFL_OP_RESIZE_BILINEAR, (int[]){x, size}, 2, &y, 1, &zo);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EUNSUPPORTED,
                   "(RESIZE_BILINEAR): align_corners together with half_pixel_centers");
    /* CONV_2D with a fused TANH */
    s = (syn){tflb_create(), 7, 0};
    x = s_act(&s, d, 4);
    w = s_weight(&s, (int[]){2, 3, 3, 2}, 4, -1, 1);
    y = s_act(&s, d, 4);
    tflb_opts co = conv_opts(TFL_PAD_SAME, 1, 1, TFL_ACT_TANH, 1, 1);
    tflb_op(s.b, TFL_OP_CONV_2D, (int[]){x, w, -1}, 3, &y, 1, &co);
    expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EUNSUPPORTED, "(CONV_2D): fused activation TANH");
    /* CONCATENATION with a fused RELU, and along an axis with a batch of 2 before it */
    for (int k = 0; k < 2; k++) {
        s = (syn){tflb_create(), 7, 0};
        const int batch = k ? 2 : 1;
        int in4[4] = {batch, 4, 4, 2}, out4[4] = {batch, 8, 4, 2};
        x = s_act(&s, in4, 4);
        int a = s_act(&s, in4, 4), c = s_act(&s, in4, 4);
        y = s_act(&s, out4, 4);
        tflb_op(s.b, TFL_OP_LOGISTIC, &x, 1, &a, 1, NULL);
        tflb_op(s.b, TFL_OP_LOGISTIC, &a, 1, &c, 1, NULL);
        tflb_opts cc = tflb_opts_make(TFLB_OPT_CONCATENATION);
        tflb_opts_add(&cc, 0, 4, 1);                    /* axis */
        tflb_opts_add(&cc, 1, 1, k ? 0 : TFL_ACT_RELU); /* fused activation */
        tflb_op(s.b, TFL_OP_CONCATENATION, (int[]){a, c}, 2, &y, 1, &cc);
        expect_refused(s_finish(&s, &x, 1, &y, 1), LQ_EUNSUPPORTED,
                       k ? "(CONCATENATION): only concatenation with all dimensions before the axis"
                         : "(CONCATENATION): fused activation is not supported");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bad_arguments_are_refused),
        cmocka_unit_test(convolutions_match_reference),
        cmocka_unit_test(pooling_and_elementwise_match_reference),
        cmocka_unit_test(resize_mean_fc_reshape_concat_match_reference),
        cmocka_unit_test(unused_operators_are_dropped),
        cmocka_unit_test(random_windowed_operators_build_or_refuse),
        cmocka_unit_test(random_resize_add_pad_build_or_refuse),
        cmocka_unit_test(invalid_graphs_are_refused),
        cmocka_unit_test(unsupported_options_are_named),
        cmocka_unit_test(outputs_have_names_and_shapes),
        cmocka_unit_test(runners_are_created_from_many_threads),
        cmocka_unit_test(real_models_match_reference),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
