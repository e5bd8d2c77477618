/*
 * gen_tflite_corpus.c - writes the tiny hand-made seed models of
 * corpus/tflite/ (regenerate with: gen_tflite_corpus tests/fuzz/corpus/tflite).
 * One model per supported operator and option family, a small palm-like
 * graph in each layout (inline or out-of-line buffers; old, new or both
 * operator-code fields) and one unsupported operator. Never the real models.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tfl_builder.h"

static const char *g_dir;
static uint32_t g_rng = 1;

static void save(tflb *b, const char *name)
{
    size_t len;
    uint8_t *file = tflb_finish(b, &len);
    char path[1024];
    snprintf(path, sizeof path, "%s/%s.tflite", g_dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(file, 1, len, f) != len) {
        perror(path);
        exit(1);
    }
    fclose(f);
    free(file);
    tflb_destroy(b);
    printf("%s: %zu bytes\n", path, len);
}

static int act(tflb *b, const char *name, const int *d, int nd)
{
    return tflb_tensor(b, name, TFL_FLOAT32, d, nd, NULL, 0);
}

static int weight16(tflb *b, const char *name, const int *d, int nd)
{
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        n *= (size_t)d[i];
    float f[256];
    uint16_t h[256];
    if (n > 256)
        abort();
    tflb_fill_random(f, n, &g_rng, -1, 1);
    for (size_t i = 0; i < n; i++)
        h[i] = tflb_float_to_half(f[i]);
    char nm[64];
    snprintf(nm, sizeof nm, "%s_f16", name);
    int c16 = tflb_tensor(b, nm, TFL_FLOAT16, d, nd, h, n * 2);
    int c32 = act(b, name, d, nd);
    tflb_op(b, TFL_OP_DEQUANTIZE, &c16, 1, &c32, 1, NULL);
    return c32;
}

static int ints(tflb *b, const char *name, const int *v, int n)
{
    return tflb_tensor(b, name, TFL_INT32, (int[]){n}, 1, v, (size_t)n * 4);
}

static void palm_like(const char *name, int ext, int style)
{
    tflb *b = tflb_create();
    tflb_set_external_buffers(b, ext);
    tflb_set_opcode_style(b, style);
    int x = act(b, "input_1", (int[]){1, 4, 4, 2}, 4);
    int w = weight16(b, "w", (int[]){3, 3, 3, 2}, 4), bias = weight16(b, "b", (int[]){3}, 1);
    int c = act(b, "conv", (int[]){1, 2, 2, 3}, 4);
    tflb_opts o = tflb_opts_make(TFLB_OPT_CONV2D);
    tflb_opts_add(&o, 1, 4, 2);
    tflb_opts_add(&o, 2, 4, 2);
    tflb_op(b, TFL_OP_CONV_2D, (int[]){x, w, bias}, 3, &c, 1, &o);
    int s = weight16(b, "slope", (int[]){1, 1, 3}, 3), p = act(b, "prelu", (int[]){1, 2, 2, 3}, 4);
    tflb_op(b, TFL_OP_PRELU, (int[]){c, s}, 2, &p, 1, NULL);
    int sh = ints(b, "shape", (int[]){1, 4, 3}, 3);
    int r = act(b, "r", (int[]){1, 4, 3}, 3), r2 = act(b, "r2", (int[]){1, 4, 3}, 3);
    tflb_op(b, TFL_OP_RESHAPE, (int[]){p, sh}, 2, &r, 1, NULL);
    tflb_op(b, TFL_OP_RESHAPE, (int[]){c, sh}, 2, &r2, 1, NULL);
    int out = act(b, "Identity", (int[]){1, 8, 3}, 3);
    o = tflb_opts_make(TFLB_OPT_CONCATENATION);
    tflb_opts_add(&o, 0, 4, 1);
    tflb_op(b, TFL_OP_CONCATENATION, (int[]){r, r2}, 2, &out, 1, &o);
    tflb_io(b, &x, 1, &out, 1);
    save(b, name);
}

static void landmark_like(void)
{
    tflb *b = tflb_create();
    int x = act(b, "input_1", (int[]){1, 4, 4, 2}, 4);
    int w = weight16(b, "dw", (int[]){1, 3, 3, 2}, 4), bias = weight16(b, "db", (int[]){2}, 1);
    int d = act(b, "dwconv", (int[]){1, 4, 4, 2}, 4);
    tflb_opts o = tflb_opts_make(TFLB_OPT_DEPTHWISE);
    tflb_opts_add(&o, 1, 4, 1);
    tflb_opts_add(&o, 2, 4, 1);
    tflb_opts_add(&o, 3, 4, 1);
    tflb_opts_add(&o, 4, 1, 3);
    tflb_op(b, TFL_OP_DEPTHWISE_CONV_2D, (int[]){x, w, bias}, 3, &d, 1, &o);
    int a = act(b, "add", (int[]){1, 4, 4, 2}, 4);
    tflb_op(b, TFL_OP_ADD, (int[]){x, d}, 2, &a, 1, NULL);
    int mp = act(b, "pool", (int[]){1, 2, 2, 2}, 4);
    o = tflb_opts_make(TFLB_OPT_POOL2D);
    tflb_opts_add(&o, 1, 4, 2);
    tflb_opts_add(&o, 2, 4, 2);
    tflb_opts_add(&o, 3, 4, 2);
    tflb_opts_add(&o, 4, 4, 2);
    tflb_op(b, TFL_OP_MAX_POOL_2D, &a, 1, &mp, 1, &o);
    int axes = ints(b, "axes", (int[]){1, 2}, 2), m = act(b, "mean", (int[]){1, 2}, 2);
    tflb_op(b, TFL_OP_MEAN, (int[]){mp, axes}, 2, &m, 1, NULL);
    int fw = weight16(b, "fw", (int[]){3, 2}, 2), fb = weight16(b, "fb", (int[]){3}, 1);
    int f = act(b, "Identity", (int[]){1, 3}, 2), l = act(b, "Identity_1", (int[]){1, 3}, 2);
    tflb_op(b, TFL_OP_FULLY_CONNECTED, (int[]){m, fw, fb}, 3, &f, 1, NULL);
    tflb_op(b, TFL_OP_LOGISTIC, &f, 1, &l, 1, NULL);
    tflb_io(b, &x, 1, (int[]){f, l}, 2);
    save(b, "landmark_like");
}

static void resize_pad(void)
{
    tflb *b = tflb_create();
    int x = act(b, "input_1", (int[]){1, 2, 3, 2}, 4);
    int size = ints(b, "size", (int[]){4, 6}, 2), y = act(b, "resized", (int[]){1, 4, 6, 2}, 4);
    tflb_opts o = tflb_opts_make(TFLB_OPT_RESIZE_BILINEAR);
    tflb_opts_add(&o, 3, 1, 1);
    tflb_op(b, TFL_OP_RESIZE_BILINEAR, (int[]){x, size}, 2, &y, 1, &o);
    int pads = tflb_tensor(b, "paddings", TFL_INT32, (int[]){4, 2}, 2,
                           (int[]){0, 0, 1, 0, 0, 1, 0, 2}, 32);
    int p = act(b, "Identity", (int[]){1, 5, 7, 4}, 4);
    tflb_op(b, TFL_OP_PAD, (int[]){y, pads}, 2, &p, 1, NULL);
    tflb_io(b, &x, 1, &p, 1);
    save(b, "resize_pad");
}

static void unsupported(void)
{
    tflb *b = tflb_create();
    int x = act(b, "x", (int[]){1, 4}, 2), y = act(b, "y", (int[]){1, 4}, 2);
    tflb_op(b, 25, &x, 1, &y, 1, NULL);   /* SOFTMAX */
    tflb_io(b, &x, 1, &y, 1);
    save(b, "softmax_unsupported");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus dir>\n", argv[0]);
        return 2;
    }
    g_dir = argv[1];
    palm_like("palm_like", 0, 0);
    palm_like("palm_like_external_buffers", 1, 0);
    palm_like("palm_like_old_opcodes", 0, 1);
    palm_like("palm_like_new_opcodes", 0, 2);
    landmark_like();
    resize_pad();
    unsupported();
    return 0;
}
