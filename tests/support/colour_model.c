/* colour_model.c - see colour_model.h. */
#include "colour_model.h"

#include <stdio.h>
#include <stdlib.h>

#include "lq_test.h"
#include "tfl_builder.h"

const char *lq_test_colour_model(const char *name, const lq_test_colour_model_opts *o)
{
    int oh = (o->in_h + 1) / 2, ow = (o->in_w + 1) / 2, in_c = o->in_c, out_c = o->out_c;
    if (in_c < 1 || out_c < 1 || out_c > 4)
        return NULL;
    size_t nw = (size_t)out_c * 9u * (size_t)in_c;
    float *wt = calloc(nw, sizeof *wt);
    float *dw = calloc(2u * 9u * (size_t)in_c, sizeof *dw);
    if (!wt || !dw) {
        free(wt);
        free(dw);
        return NULL;
    }
    for (int k = 0; k < out_c; k++)
        for (int c = 0; c < in_c; c++)
            wt[((k * 3 + 1) * 3 + 1) * in_c + c] = c == o->positive ? 20.0f : -20.0f;
    const float bias[4] = {-1.0f, -1.0f, -1.0f, -1.0f};

    tflb *b = tflb_create();
    int x = tflb_tensor(b, "image", TFL_FLOAT32, (int[]){1, o->in_h, o->in_w, in_c}, 4, NULL, 0);
    int w = tflb_tensor(b, "w", TFL_FLOAT32, (int[]){out_c, 3, 3, in_c}, 4, wt,
                        sizeof(float) * nw);
    int bb = tflb_tensor(b, "b", TFL_FLOAT32, (int[]){out_c}, 1, bias,
                         sizeof(float) * (size_t)out_c);
    int logit = tflb_tensor(b, "logit", TFL_FLOAT32, (int[]){1, oh, ow, out_c}, 4, NULL, 0);
    int prob = tflb_tensor(b, "prob", TFL_FLOAT32, (int[]){1, oh, ow, out_c}, 4, NULL, 0);
    /* SAME padding, stride 2x2, no activation, dilation 1 */
    tflb_opts co = tflb_opts_make(TFLB_OPT_CONV2D);
    tflb_opts_add(&co, 0, 1, 0);
    tflb_opts_add(&co, 1, 4, 2);
    tflb_opts_add(&co, 2, 4, 2);
    tflb_opts_add(&co, 3, 1, 0);
    tflb_opts_add(&co, 4, 4, 1);
    tflb_opts_add(&co, 5, 4, 1);
    tflb_op(b, TFL_OP_CONV_2D, (int[]){x, w, bb}, 3, (int[]){logit}, 1, &co);
    tflb_op(b, TFL_OP_LOGISTIC, (int[]){logit}, 1, (int[]){prob}, 1, NULL);
    if (o->with_dir) {
        float dbias[2] = {o->dir_x, o->dir_y};
        int w2 = tflb_tensor(b, "dw", TFL_FLOAT32, (int[]){2, 3, 3, in_c}, 4, dw,
                             sizeof(float) * 18u * (size_t)in_c);
        int b2 = tflb_tensor(b, "db", TFL_FLOAT32, (int[]){2}, 1, dbias, sizeof dbias);
        int dir = tflb_tensor(b, "direction", TFL_FLOAT32, (int[]){1, oh, ow, 2}, 4, NULL, 0);
        tflb_op(b, TFL_OP_CONV_2D, (int[]){x, w2, b2}, 3, (int[]){dir}, 1, &co);
        tflb_io(b, (int[]){x}, 1, (int[]){prob, dir}, 2);
    } else {
        tflb_io(b, (int[]){x}, 1, (int[]){prob}, 1);
    }
    size_t len = 0;
    uint8_t *file = tflb_finish(b, &len);
    tflb_destroy(b);
    free(wt);
    free(dw);
    int rc = file ? lq_test_write_artifact(name, file, len) : -1;
    free(file);
    if (rc != 0)
        return NULL;
    static _Thread_local char path[4096];
    snprintf(path, sizeof path, "%s/test-output/%s", LQ_BINARY_DIR, name);
    return path;
}

const char *lq_test_red_nail_model(const char *name)
{
    const lq_test_colour_model_opts red = LQ_TEST_COLOUR_MODEL_RED;
    return lq_test_colour_model(name, &red);
}
