/*
 * test_tflite.c - the TFLite reader on the real MediaPipe models and on
 * malformed files: truncations, corrupted bytes, bad magic, huge vectors,
 * offsets out of the file, aliased tables, unsupported operators. Every
 * malformed file must give an error (or load) and never crash; run under
 * ASan/UBSan too (LQ_SANITIZE=ON).
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

#include "lq_test.h"
#include "model/tflite.h"
#include "model/xgraph.h"
#include "ref_exec.h"
#include "tfl_builder.h"

static uint8_t *read_model(const char *name, size_t *len)
{
    uint8_t *buf = lq_test_read_file(lq_test_model(name), len);
    if (!buf)
        fail_msg("cannot read %s (run scripts/fetch-models.sh)", lq_test_model(name));
    return buf;
}

static int count_ops(const tfl_model *m, int builtin)
{
    int n = 0;
    for (int i = 0; i < tfl_model_num_ops(m); i++)
        n += tfl_model_op(m, i)->builtin == builtin;
    return n;
}

static void assert_dims(const tfl_tensor *t, int nd, const int *dims)
{
    assert_non_null(t);
    assert_int_equal(t->ndims, nd);
    for (int i = 0; i < nd; i++)
        assert_int_equal(t->dims[i], dims[i]);
}

/* ---- the real models --------------------------------------------------- */

typedef struct model_facts {
    const char *file;
    int tensors, ops, outputs, side;
    int conv, dwconv, dequant, add, prelu, fc, concat;
} model_facts;

static const model_facts k_facts[] = {
    {"palm_detection_full.tflite", 413, 272, 2, 192, 35, 28, 133, 30, 31, 0, 2},
    {"palm_detection_lite.tflite", 353, 232, 2, 192, 30, 23, 113, 25, 26, 0, 2},
    {"hand_landmark_full.tflite", 269, 165, 4, 224, 31, 16, 102, 9, 0, 4, 0},
    {"hand_landmark_lite.tflite", 271, 167, 4, 224, 31, 16, 102, 10, 0, 4, 0},
};

static void real_models_have_the_known_structure(void **state)
{
    (void)state;
    for (size_t k = 0; k < sizeof k_facts / sizeof *k_facts; k++) {
        const model_facts *f = &k_facts[k];
        char err[256];
        tfl_model *m = NULL;
        int rc = tfl_model_load_file(lq_test_model(f->file), &m, err, sizeof err);
        if (rc < 0)
            fail_msg("%s: %s", f->file, err);
        assert_int_equal(tfl_model_num_tensors(m), f->tensors);
        assert_int_equal(tfl_model_num_ops(m), f->ops);
        assert_int_equal(tfl_model_num_inputs(m), 1);
        assert_int_equal(tfl_model_num_outputs(m), f->outputs);
        const tfl_tensor *in = tfl_model_tensor(m, tfl_model_input(m, 0));
        assert_dims(in, 4, (int[]){1, f->side, f->side, 3});
        assert_string_equal(in->name, "input_1");
        assert_int_equal(in->type, TFL_FLOAT32);
        assert_null(in->data);
        assert_int_equal(count_ops(m, TFL_OP_CONV_2D), f->conv);
        assert_int_equal(count_ops(m, TFL_OP_DEPTHWISE_CONV_2D), f->dwconv);
        assert_int_equal(count_ops(m, TFL_OP_DEQUANTIZE), f->dequant);
        assert_int_equal(count_ops(m, TFL_OP_ADD), f->add);
        assert_int_equal(count_ops(m, TFL_OP_PRELU), f->prelu);
        assert_int_equal(count_ops(m, TFL_OP_FULLY_CONNECTED), f->fc);
        assert_int_equal(count_ops(m, TFL_OP_CONCATENATION), f->concat);
        assert_int_equal(tfl_model_find_tensor(m, "input_1"), tfl_model_input(m, 0));
        assert_int_equal(tfl_model_find_tensor(m, "Identity"), tfl_model_output(m, 0));
        assert_int_equal(tfl_model_find_tensor(m, "no such tensor"), -1);
        /* Every DEQUANTIZE reads a float16 constant of the right size. */
        for (int i = 0; i < tfl_model_num_ops(m); i++) {
            const tfl_op *op = tfl_model_op(m, i);
            if (op->builtin != TFL_OP_DEQUANTIZE)
                continue;
            const tfl_tensor *c = tfl_model_tensor(m, op->inputs[0]);
            assert_int_equal(c->type, TFL_FLOAT16);
            assert_non_null(c->data);
            assert_int_equal(c->data_len, 2 * tfl_tensor_count(c));
        }
        /* The first compute operator: a 2-strided SAME convolution. */
        const tfl_op *first = NULL;
        for (int i = 0; i < tfl_model_num_ops(m) && !first; i++)
            if (tfl_model_op(m, i)->builtin != TFL_OP_DEQUANTIZE)
                first = tfl_model_op(m, i);
        assert_int_equal(first->builtin, TFL_OP_CONV_2D);
        assert_string_equal(first->builtin_name, "CONV_2D");
        assert_int_equal(first->opt.padding, TFL_PAD_SAME);
        assert_int_equal(first->opt.stride_w, 2);
        assert_int_equal(first->opt.stride_h, 2);
        assert_int_equal(first->opt.dilation_w, 1);
        assert_int_equal(first->opt.dilation_h, 1);
        assert_int_equal(first->inputs[0], tfl_model_input(m, 0));
        int half = f->side / 2;
        assert_dims(tfl_model_tensor(m, first->outputs[0]), 4,
                    (int[]){1, half, half, f->side == 192 ? 32 : 24});
        for (int i = 0; i < tfl_model_num_ops(m); i++) {
            const tfl_op *op = tfl_model_op(m, i);
            if (op->builtin == TFL_OP_RESIZE_BILINEAR) {
                assert_int_equal(op->opt.half_pixel_centers, 1);
                assert_int_equal(op->opt.align_corners, 0);
            }
            if (op->builtin == TFL_OP_CONCATENATION)
                assert_int_equal(op->opt.axis, 1);
            if (op->builtin == TFL_OP_MEAN)
                assert_int_equal(op->opt.keep_dims, 0);
        }
        if (f->side == 192) {
            assert_dims(tfl_model_tensor(m, tfl_model_output(m, 0)), 3, (int[]){1, 2016, 18});
            assert_dims(tfl_model_tensor(m, tfl_model_output(m, 1)), 3, (int[]){1, 2016, 1});
        } else {
            assert_dims(tfl_model_tensor(m, tfl_model_output(m, 0)), 2, (int[]){1, 63});
            assert_dims(tfl_model_tensor(m, tfl_model_output(m, 3)), 2, (int[]){1, 63});
        }
        assert_null(tfl_model_tensor(m, -1));
        assert_null(tfl_model_tensor(m, f->tensors));
        assert_null(tfl_model_op(m, f->ops));
        assert_int_equal(tfl_model_input(m, 1), -1);
        tfl_model_destroy(m);
    }
}

static void half_floats_convert_exactly(void **state)
{
    (void)state;
    assert_true(tfl_half_to_float(0x3c00) == 1.0f);
    assert_true(tfl_half_to_float(0xc000) == -2.0f);
    assert_true(tfl_half_to_float(0x7bff) == 65504.0f);
    assert_true(tfl_half_to_float(0x0400) == ldexpf(1.0f, -14));
    assert_true(tfl_half_to_float(0x0001) == ldexpf(1.0f, -24));
    assert_true(tfl_half_to_float(0x03ff) == ldexpf(1023.0f, -24));
    assert_true(tfl_half_to_float(0x7c00) == INFINITY);
    assert_true(tfl_half_to_float(0xfc00) == -INFINITY);
    assert_true(isnan(tfl_half_to_float(0x7e00)));
    assert_true(isnan(tfl_half_to_float(0xfc01)));
    assert_true(signbit(tfl_half_to_float(0x8000)) && tfl_half_to_float(0x8000) == 0.0f);
    /* All 65536 against the independent reference conversion. */
    for (unsigned h = 0; h < 65536; h++) {
        float a = tfl_half_to_float((uint16_t)h), b = ref_half_to_float(h);
        if (isnan(b))
            assert_true(isnan(a));
        else if (a != b || signbit(a) != signbit(b))
            fail_msg("half 0x%04x: %g vs %g", h, (double)a, (double)b);
    }
    assert_int_equal(tflb_float_to_half(1.0f), 0x3c00);
    assert_int_equal(tflb_float_to_half(ldexpf(1.0f, -24)), 0x0001);
}

/* ---- synthetic models -------------------------------------------------- */

/* A small palm-like model: DEQUANTIZE'd weights, CONV, PRELU, ADD, PAD,
 * MAX_POOL, RESHAPE and CONCATENATION into the outputs. */
static uint8_t *make_small_model(size_t *len, int external_buffers, int opcode_style)
{
    tflb *b = tflb_create();
    tflb_set_external_buffers(b, external_buffers);
    tflb_set_opcode_style(b, opcode_style);
    uint32_t rng = 42;
    float wf[4 * 3 * 3 * 2];
    uint16_t wh[4 * 3 * 3 * 2];
    tflb_fill_random(wf, 72, &rng, -1, 1);
    for (int i = 0; i < 72; i++)
        wh[i] = tflb_float_to_half(wf[i]);
    float slope[4] = {0.1f, 0.2f, -0.3f, 0.25f}, bias[4] = {0.5f, -0.5f, 0, 1};
    int pads[8] = {0, 0, 0, 0, 0, 0, 0, 2}, shape[3] = {1, 16, 2};
    int x = tflb_tensor(b, "input", TFL_FLOAT32, (int[]){1, 8, 8, 2}, 4, NULL, 0);
    int w16 = tflb_tensor(b, "w16", TFL_FLOAT16, (int[]){4, 3, 3, 2}, 4, wh, sizeof wh);
    int w = tflb_tensor(b, "w", TFL_FLOAT32, (int[]){4, 3, 3, 2}, 4, NULL, 0);
    int bi = tflb_tensor(b, "bias", TFL_FLOAT32, (int[]){4}, 1, bias, sizeof bias);
    int c = tflb_tensor(b, "conv", TFL_FLOAT32, (int[]){1, 4, 4, 4}, 4, NULL, 0);
    int sl = tflb_tensor(b, "slope", TFL_FLOAT32, (int[]){1, 1, 4}, 3, slope, sizeof slope);
    int p = tflb_tensor(b, "prelu", TFL_FLOAT32, (int[]){1, 4, 4, 4}, 4, NULL, 0);
    int mp = tflb_tensor(b, "pool", TFL_FLOAT32, (int[]){1, 4, 4, 2}, 4, NULL, 0);
    int pd = tflb_tensor(b, "paddings", TFL_INT32, (int[]){4, 2}, 2, pads, sizeof pads);
    int pp = tflb_tensor(b, "padded", TFL_FLOAT32, (int[]){1, 4, 4, 4}, 4, NULL, 0);
    int a = tflb_tensor(b, "sum", TFL_FLOAT32, (int[]){1, 4, 4, 4}, 4, NULL, 0);
    int sh = tflb_tensor(b, "shape", TFL_INT32, (int[]){3}, 1, shape, sizeof shape);
    int r1 = tflb_tensor(b, "r1", TFL_FLOAT32, (int[]){1, 32, 2}, 3, NULL, 0);
    int r2 = tflb_tensor(b, "r2", TFL_FLOAT32, (int[]){1, 32, 2}, 3, NULL, 0);
    int out = tflb_tensor(b, "Identity", TFL_FLOAT32, (int[]){1, 64, 2}, 3, NULL, 0);
    shape[1] = 32;
    int sh2 = tflb_tensor(b, "shape2", TFL_INT32, (int[]){3}, 1, shape, sizeof shape);
    tflb_op(b, TFL_OP_DEQUANTIZE, &w16, 1, &w, 1, NULL);
    tflb_opts o = tflb_opts_make(TFLB_OPT_CONV2D);
    tflb_opts_add(&o, 1, 4, 2);
    tflb_opts_add(&o, 2, 4, 2);
    tflb_op(b, TFL_OP_CONV_2D, (int[]){x, w, bi}, 3, &c, 1, &o);
    tflb_op(b, TFL_OP_PRELU, (int[]){c, sl}, 2, &p, 1, NULL);
    o = tflb_opts_make(TFLB_OPT_POOL2D);
    tflb_opts_add(&o, 0, 1, TFL_PAD_VALID);
    tflb_opts_add(&o, 1, 4, 2);
    tflb_opts_add(&o, 2, 4, 2);
    tflb_opts_add(&o, 3, 4, 2);
    tflb_opts_add(&o, 4, 4, 2);
    tflb_op(b, TFL_OP_MAX_POOL_2D, &x, 1, &mp, 1, &o);
    tflb_op(b, TFL_OP_PAD, (int[]){mp, pd}, 2, &pp, 1, NULL);
    tflb_op(b, TFL_OP_ADD, (int[]){pp, p}, 2, &a, 1, NULL);
    tflb_op(b, TFL_OP_RESHAPE, (int[]){a, sh2}, 2, &r1, 1, NULL);
    tflb_op(b, TFL_OP_RESHAPE, (int[]){p, sh2}, 2, &r2, 1, NULL);
    o = tflb_opts_make(TFLB_OPT_CONCATENATION);
    tflb_opts_add(&o, 0, 4, 1);
    tflb_op(b, TFL_OP_CONCATENATION, (int[]){r1, r2}, 2, &out, 1, &o);
    (void)sh;
    tflb_io(b, &x, 1, &out, 1);
    uint8_t *file = tflb_finish(b, len);
    tflb_destroy(b);
    return file;
}

static int is_error_code(int rc)
{
    return rc == LQ_EFORMAT || rc == LQ_EUNSUPPORTED || rc == LQ_ELIMIT;
}

/* Loads a (possibly broken) file; if it loads, builds and runs it too when
 * `run` is set. Returns the load status. */
static int load_and_maybe_run(const uint8_t *buf, size_t len, int run, char *err, size_t errlen)
{
    tfl_model *m = NULL;
    int rc = tfl_model_load_buffer(buf, len, &m, err, errlen);
    if (rc < 0) {
        assert_true(is_error_code(rc));
        assert_null(m);
        assert_true(strncmp(err, "tflite: ", 8) == 0);
        return rc;
    }
    /* It parsed: exercise everything a consumer would read. */
    for (int i = 0; i < tfl_model_num_tensors(m); i++) {
        const tfl_tensor *t = tfl_model_tensor(m, i);
        assert_true(strlen(t->name) < len);
        if (t->data) {
            volatile uint8_t sum = 0;
            for (size_t k = 0; k < t->data_len; k++)
                sum = (uint8_t)(sum + t->data[k]);
            (void)sum;
        }
    }
    xg_net *net = NULL;
    char xerr[256];
    int xrc = xg_net_create(m, &net, xerr, sizeof xerr);
    assert_true(xrc == 0 || is_error_code(xrc));
    if (xrc == 0 && run) {
        xg_runner *r = NULL;
        assert_int_equal(xg_runner_create(net, 1, &r), 0);
        assert_int_equal(xg_runner_invoke(r), 0);
        xg_runner_destroy(r);
    }
    xg_net_destroy(net);
    tfl_model_destroy(m);
    return rc;
}

static void synthetic_model_loads_in_every_layout(void **state)
{
    (void)state;
    for (int ext = 0; ext < 2; ext++)
        for (int style = 0; style < 3; style++) {
            size_t len;
            uint8_t *file = make_small_model(&len, ext, style);
            char err[256];
            tfl_model *m = NULL;
            int rc = tfl_model_load_buffer(file, len, &m, err, sizeof err);
            if (rc < 0)
                fail_msg("layout ext=%d style=%d: %s", ext, style, err);
            assert_int_equal(tfl_model_num_ops(m), 9);
            assert_int_equal(tfl_model_op(m, 1)->builtin, TFL_OP_CONV_2D);
            assert_int_equal(tfl_model_op(m, 1)->opt.padding, TFL_PAD_SAME);
            assert_int_equal(tfl_model_op(m, 3)->opt.padding, TFL_PAD_VALID);
            assert_int_equal(tfl_model_op(m, 8)->builtin, TFL_OP_CONCATENATION);
            const tfl_tensor *bias = tfl_model_tensor(m, tfl_model_find_tensor(m, "bias"));
            assert_int_equal(bias->data_len, 16);
            float b0;
            memcpy(&b0, bias->data, 4);
            assert_true(b0 == 0.5f);
            xg_net *net;
            assert_int_equal(xg_net_create(m, &net, err, sizeof err), 0);
            xg_net_destroy(net);
            tfl_model_destroy(m);
            free(file);
        }
}

static void every_truncation_is_an_error(void **state)
{
    (void)state;
    char err[256];
    size_t len;
    uint8_t *file = make_small_model(&len, 0, 0);
    for (size_t cut = 0; cut < len; cut++) {
        int rc = load_and_maybe_run(file, cut, 0, err, sizeof err);
        if (rc == 0)
            fail_msg("truncated at %zu of %zu bytes, yet it loaded", cut, len);
    }
    free(file);
    printf("  small model: all %zu truncations refused\n", len);
    static const char *const names[] = {"palm_detection_lite.tflite", "hand_landmark_lite.tflite"};
    for (int k = 0; k < 2; k++) {
        uint8_t *buf = read_model(names[k], &len);
        int n = 0;
        for (size_t cut = 0; cut < len; cut = cut < 512 ? cut + 7 : cut + len / 97, n++) {
            int rc = load_and_maybe_run(buf, cut, 0, err, sizeof err);
            if (rc == 0)
                fail_msg("%s truncated at %zu loaded", names[k], cut);
        }
        printf("  %s: %d truncations refused, e.g. \"%s\"\n", names[k], n, err);
        free(buf);
    }
}

static void corrupted_bytes_never_crash(void **state)
{
    (void)state;
    char err[256];
    size_t len;
    uint8_t *file = make_small_model(&len, 0, 0);
    uint8_t *copy = malloc(len);
    static const uint8_t vals[] = {0x00, 0xff, 0x80, 0x7f, 0x01};
    int loaded = 0, refused = 0;
    for (size_t pos = 0; pos < len; pos++)
        for (size_t v = 0; v < sizeof vals; v++) {
            memcpy(copy, file, len);
            copy[pos] = vals[v];
            if (load_and_maybe_run(copy, len, 1, err, sizeof err) == 0)
                loaded++;
            else
                refused++;
        }
    /* Random multi-byte corruption, deterministic. */
    uint32_t rng = 2024;
    for (int trial = 0; trial < 3000; trial++) {
        memcpy(copy, file, len);
        int nbytes = 1 + (int)(tflb_rand(&rng) % 8);
        for (int k = 0; k < nbytes; k++)
            copy[tflb_rand(&rng) % len] = (uint8_t)tflb_rand(&rng);
        if (load_and_maybe_run(copy, len, 1, err, sizeof err) == 0)
            loaded++;
        else
            refused++;
    }
    printf("  small model: %d corrupted variants loaded, %d refused\n", loaded, refused);
    assert_true(refused > 0 && loaded > 0);
    free(copy);
    free(file);
    static const char *const names[] = {"palm_detection_lite.tflite", "hand_landmark_lite.tflite"};
    for (int k = 0; k < 2; k++) {
        uint8_t *buf = read_model(names[k], &len);
        loaded = refused = 0;
        for (int trial = 0; trial < 300; trial++) {
            /* These files keep the root table at the head, the weights in
             * the middle and the other tables at the tail: hit all three. */
            size_t head = len < 4096 ? len : 4096, tail = len < 65536 ? len : 65536;
            size_t r = tflb_rand(&rng);
            size_t pos = trial % 3 == 0   ? r % head
                         : trial % 3 == 1 ? len - 1 - r % tail
                                          : r % len;
            uint8_t old = buf[pos];
            buf[pos] = (uint8_t)tflb_rand(&rng);
            if (load_and_maybe_run(buf, len, 0, err, sizeof err) == 0)
                loaded++;
            else
                refused++;
            buf[pos] = old;
        }
        printf("  %s: %d corrupted variants loaded, %d refused\n", names[k], loaded, refused);
        free(buf);
    }
}

static void put32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

/* Position of the length prefix of string s in the file. */
static size_t find_string(const uint8_t *file, size_t len, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 4; i + n < len; i++)
        if (get32(file + i - 4) == n && memcmp(file + i, s, n + 1) == 0)
            return i - 4;
    fail_msg("string %s not found", s);
    return 0;
}

static void expect_load_error(const uint8_t *buf, size_t len, int code, const char *needle)
{
    char err[256] = "";
    tfl_model *m = NULL;
    int rc = tfl_model_load_buffer(buf, len, &m, err, sizeof err);
    printf("  %s: %s\n", lq_err_name(rc), err);
    assert_int_equal(rc, code);
    assert_null(m);
    if (!strstr(err, needle))
        fail_msg("error '%s' does not mention '%s'", err, needle);
}

static void crafted_damage_is_reported_with_its_place(void **state)
{
    (void)state;
    size_t len;
    uint8_t *file = make_small_model(&len, 0, 0);
    uint8_t *c = malloc(len);
    /* bad magic, empty and tiny files */
    memcpy(c, file, len);
    memcpy(c + 4, "TFL2", 4);
    expect_load_error(c, len, LQ_EFORMAT, "identifier");
    expect_load_error(c, 0, LQ_EFORMAT, "too short");
    expect_load_error(file, 7, LQ_EFORMAT, "too short");
    /* root offset outside the file */
    memcpy(c, file, len);
    put32(c, 0xfffffff0u);
    expect_load_error(c, len, LQ_EFORMAT, "outside the file");
    put32(c, (uint32_t)len);
    expect_load_error(c, len, LQ_EFORMAT, "outside the file");
    /* vtable offset pointing before the file, and a table that is its own vtable */
    memcpy(c, file, len);
    uint32_t root = get32(file);
    put32(c + root, root + 100);
    expect_load_error(c, len, LQ_EFORMAT, "vtable");
    put32(c + root, 0);
    expect_load_error(c, len, LQ_EFORMAT, "vtable");
    /* a string and a vector claiming huge lengths */
    size_t name = find_string(file, len, "prelu");
    memcpy(c, file, len);
    put32(c + name, 0x7fffffffu);
    expect_load_error(c, len, LQ_EFORMAT, "Tensor[6]");
    memcpy(c, file, len);
    put32(c + name, 3);   /* no NUL terminator where it says it ends */
    expect_load_error(c, len, LQ_EFORMAT, "NUL");
    memcpy(c, file, len);
    put32(c + name - 4 * 5, 0xffffffffu);   /* the 4-dim shape vector before the name */
    expect_load_error(c, len, LQ_EFORMAT, "claims");
    memcpy(c, file, len);
    put32(c + name - 4 * 5, 7);             /* rank over TFL_MAX_DIMS */
    expect_load_error(c, len, LQ_EUNSUPPORTED, "shape");
    memcpy(c, file, len);
    put32(c + name - 4 * 4, (uint32_t)-3);   /* negative dimension */
    expect_load_error(c, len, LQ_EFORMAT, "negative");
    memcpy(c, file, len);
    put32(c + name - 4 * 4, 2);             /* shape no longer matches... */
    {
        char err[256];
        /* ...an activation, so it loads; the graph check refuses it. */
        tfl_model *m = NULL;
        assert_int_equal(tfl_model_load_buffer(c, len, &m, err, sizeof err), 0);
        xg_net *net = NULL;
        assert_int_equal(xg_net_create(m, &net, err, sizeof err), LQ_EFORMAT);
        printf("  graph: %s\n", err);
        tfl_model_destroy(m);
    }
    /* a constant whose buffer no longer matches its shape */
    size_t bias = find_string(file, len, "bias");
    memcpy(c, file, len);
    put32(c + bias - 4, 5);   /* its one dimension, 4 -> 5 */
    expect_load_error(c, len, LQ_EFORMAT, "the shape needs");
    free(c);
    free(file);
}

static void aliased_tables_are_harmless(void **state)
{
    (void)state;
    char err[256];
    size_t len;
    uint8_t *file = make_small_model(&len, 0, 0);
    /* Point every element of the tensors vector at tensor 0's table: find
     * the vector by the count and first element that lead to "input". */
    size_t input_name = find_string(file, len, "input");
    int patched = 0;
    for (size_t v = 8; v + 8 < len && !patched; v += 4) {
        uint32_t n = get32(file + v);
        if (n != 16 || v + 4 + 4 * (size_t)n > len)
            continue;
        size_t t0 = v + 4 + get32(file + v + 4);
        if (t0 + 8 >= len || t0 > input_name)
            continue;
        /* tensor 0's name field must lead to the "input" string */
        int found = 0;
        for (size_t f = t0 + 4; f < t0 + 24 && f + 4 <= len; f += 4)
            found |= f + get32(file + f) == input_name;
        if (!found)
            continue;
        for (uint32_t i = 1; i < n; i++) {
            size_t at = v + 4 + 4 * (size_t)i;
            put32(file + at, (uint32_t)(t0 - at));
        }
        patched = 1;
    }
    assert_true(patched);
    /* every operator now reads and writes tensors named "input" */
    assert_true(load_and_maybe_run(file, len, 1, err, sizeof err) == 0);
    tfl_model *m = NULL;
    assert_int_equal(tfl_model_load_buffer(file, len, &m, err, sizeof err), 0);
    xg_net *net = NULL;
    int rc = xg_net_create(m, &net, err, sizeof err);
    printf("  aliased tensors: %s: %s\n", lq_err_name(rc), err);
    assert_true(rc == LQ_EFORMAT || rc == LQ_EUNSUPPORTED);
    tfl_model_destroy(m);
    free(file);
}

static void unsupported_operators_are_named(void **state)
{
    (void)state;
    static const struct { int code; const char *name; } cases[] = {
        {25, "SOFTMAX (25)"}, {150, "GELU (150)"}, {250, "UNKNOWN (250)"},
        {32, "custom operator"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        tflb *b = tflb_create();
        int x = tflb_tensor(b, "x", TFL_FLOAT32, (int[]){1, 4}, 2, NULL, 0);
        int y = tflb_tensor(b, "y", TFL_FLOAT32, (int[]){1, 4}, 2, NULL, 0);
        tflb_op(b, cases[k].code, &x, 1, &y, 1, NULL);
        tflb_io(b, &x, 1, &y, 1);
        size_t len;
        uint8_t *file = tflb_finish(b, &len);
        tflb_destroy(b);
        expect_load_error(file, len, LQ_EUNSUPPORTED, cases[k].name);
        free(file);
    }
    assert_string_equal(tfl_builtin_name(TFL_OP_PRELU), "PRELU");
    assert_string_equal(tfl_builtin_name(-1), "UNKNOWN");
    assert_string_equal(tfl_builtin_name(100000), "UNKNOWN");
}

static void index_and_type_errors_are_refused(void **state)
{
    (void)state;
    /* operator input index out of range */
    tflb *b = tflb_create();
    int x = tflb_tensor(b, "x", TFL_FLOAT32, (int[]){1, 4}, 2, NULL, 0);
    int y = tflb_tensor(b, "y", TFL_FLOAT32, (int[]){1, 4}, 2, NULL, 0);
    tflb_op(b, TFL_OP_LOGISTIC, (int[]){7}, 1, &y, 1, NULL);
    tflb_io(b, &x, 1, &y, 1);
    size_t len;
    uint8_t *file = tflb_finish(b, &len);
    tflb_destroy(b);
    expect_load_error(file, len, LQ_EFORMAT, "not a tensor index");
    free(file);
    /* graph output index out of range */
    b = tflb_create();
    x = tflb_tensor(b, "x", TFL_FLOAT32, (int[]){1, 4}, 2, NULL, 0);
    y = tflb_tensor(b, "y", TFL_FLOAT32, (int[]){1, 4}, 2, NULL, 0);
    tflb_op(b, TFL_OP_LOGISTIC, &x, 1, &y, 1, NULL);
    tflb_io(b, &x, 1, (int[]){-2}, 1);
    file = tflb_finish(b, &len);
    tflb_destroy(b);
    expect_load_error(file, len, LQ_EFORMAT, "outputs[0]");
    free(file);
    /* a tensor type we do not read (STRING = 5) */
    b = tflb_create();
    x = tflb_tensor(b, "x", 5, (int[]){1, 4}, 2, NULL, 0);
    tflb_io(b, &x, 1, &x, 1);
    file = tflb_finish(b, &len);
    tflb_destroy(b);
    expect_load_error(file, len, LQ_EUNSUPPORTED, "type 5");
    free(file);
    /* too many operator inputs */
    b = tflb_create();
    x = tflb_tensor(b, "x", TFL_FLOAT32, (int[]){1, 4}, 2, NULL, 0);
    y = tflb_tensor(b, "y", TFL_FLOAT32, (int[]){1, 4}, 2, NULL, 0);
    int many[TFL_MAX_OP_IO] = {0};
    tflb_op(b, TFL_OP_ADD, many, TFL_MAX_OP_IO, &y, 1, NULL);
    tflb_io(b, &x, 1, &y, 1);
    file = tflb_finish(b, &len);
    tflb_destroy(b);
    /* the builder caps at TFL_MAX_OP_IO; widen the vector length by one */
    {
        uint8_t *c = malloc(len + 64);
        memcpy(c, file, len);
        memset(c + len, 0, 64);
        for (size_t v = 8; v + 4 <= len; v += 4)
            if (get32(c + v) == TFL_MAX_OP_IO && get32(c + v + 4) == 0 && get32(c + v + 8) == 0) {
                put32(c + v, TFL_MAX_OP_IO + 1);
                break;
            }
        expect_load_error(c, len + 64, LQ_EUNSUPPORTED, "inputs");
        free(c);
    }
    free(file);
    /* options of the wrong union type */
    b = tflb_create();
    x = tflb_tensor(b, "x", TFL_FLOAT32, (int[]){1, 4}, 2, NULL, 0);
    y = tflb_tensor(b, "y", TFL_FLOAT32, (int[]){1, 4}, 2, NULL, 0);
    tflb_opts o = tflb_opts_make(TFLB_OPT_CONV2D);
    tflb_opts_add(&o, 0, 1, 0);
    tflb_op(b, TFL_OP_ADD, (int[]){x, x}, 2, &y, 1, &o);
    tflb_io(b, &x, 1, &y, 1);
    file = tflb_finish(b, &len);
    tflb_destroy(b);
    expect_load_error(file, len, LQ_EFORMAT, "union type");
    free(file);
}

static void files_and_limits(void **state)
{
    (void)state;
    char err[256];
    tfl_model *m = NULL;
    assert_int_equal(tfl_model_load_file("/nonexistent/x.tflite", &m, err, sizeof err),
                     LQ_ENOENT);
    assert_null(m);
    uint8_t one = 0;
    assert_int_equal(tfl_model_load_buffer(&one, (size_t)TFL_MAX_FILE_BYTES + 1, &m, err,
                                           sizeof err),
                     LQ_ELIMIT);
    assert_int_equal(tfl_model_load_buffer(NULL, 4, &m, err, sizeof err), LQ_EINVAL);
    assert_int_equal(tfl_model_load_buffer(&one, 1, NULL, err, sizeof err), LQ_EINVAL);
    /* a NULL / zero-length error buffer is fine */
    assert_int_equal(tfl_model_load_buffer(&one, 1, &m, NULL, 0), LQ_EFORMAT);
    tfl_model_destroy(NULL);
    assert_int_equal(tfl_model_num_tensors(NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(half_floats_convert_exactly),
        cmocka_unit_test(real_models_have_the_known_structure),
        cmocka_unit_test(synthetic_model_loads_in_every_layout),
        cmocka_unit_test(unsupported_operators_are_named),
        cmocka_unit_test(index_and_type_errors_are_refused),
        cmocka_unit_test(files_and_limits),
        cmocka_unit_test(crafted_damage_is_reported_with_its_place),
        cmocka_unit_test(aliased_tables_are_harmless),
        cmocka_unit_test(every_truncation_is_an_error),
        cmocka_unit_test(corrupted_bytes_never_crash),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
