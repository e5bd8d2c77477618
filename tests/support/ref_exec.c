/*
 * ref_exec.c - reference TFLite executor for tests: straightforward loops
 * with double accumulation, written from the TFLite operator semantics.
 */
#include "ref_exec.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ref_exec {
    const tfl_model *m;
    int n;
    float **buf;       /* per tensor; NULL for non-float tensors */
};

float ref_half_to_float(unsigned h)
{
    int sign = (h >> 15) & 1, e = (h >> 10) & 31, man = h & 1023;
    double v;
    if (e == 31)
        v = man ? NAN : INFINITY;
    else if (e == 0)
        v = ldexp((double)man, -24);
    else
        v = ldexp(1.0 + man / 1024.0, e - 15);
    return (float)(sign ? -v : v);
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return LQ_EUNSUPPORTED;
}

void ref_exec_destroy(ref_exec *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->n; i++)
        free(r->buf[i]);
    free(r->buf);
    free(r);
}

int ref_exec_create(const tfl_model *m, ref_exec **out, char *err, size_t errlen)
{
    ref_exec *r = calloc(1, sizeof *r);
    if (!r)
        return LQ_ENOMEM;
    r->m = m;
    r->n = tfl_model_num_tensors(m);
    r->buf = calloc((size_t)(r->n ? r->n : 1), sizeof *r->buf);
    if (!r->buf) {
        free(r);
        return LQ_ENOMEM;
    }
    for (int i = 0; i < r->n; i++) {
        const tfl_tensor *t = tfl_model_tensor(m, i);
        if (t->type != TFL_FLOAT32 && t->type != TFL_FLOAT16)
            continue;
        size_t cnt = tfl_tensor_count(t);
        r->buf[i] = calloc(cnt ? cnt : 1, sizeof(float));
        if (!r->buf[i]) {
            ref_exec_destroy(r);
            return fail(err, errlen, "out of memory"), LQ_ENOMEM;
        }
        if (!t->data)
            continue;
        for (size_t k = 0; k < cnt; k++) {
            if (t->type == TFL_FLOAT32)
                memcpy(&r->buf[i][k], t->data + 4 * k, 4);
            else
                r->buf[i][k] = ref_half_to_float((unsigned)t->data[2 * k] |
                                                 ((unsigned)t->data[2 * k + 1] << 8));
        }
    }
    *out = r;
    return 0;
}

float *ref_exec_tensor(ref_exec *r, int t)
{
    return r && t >= 0 && t < r->n ? r->buf[t] : NULL;
}

/* ---- helpers ----------------------------------------------------------- */

static const tfl_tensor *T(const ref_exec *r, int i)
{
    return tfl_model_tensor(r->m, i);
}

static int i32_at(const tfl_tensor *t, size_t i)
{
    const uint8_t *p = t->data + 4 * i;
    return (int)(int32_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                          ((uint32_t)p[3] << 24));
}

static double act(double v, enum tfl_activation a)
{
    switch (a) {
    case TFL_ACT_RELU: return v < 0 ? 0 : v;
    case TFL_ACT_RELU6: return v < 0 ? 0 : v > 6 ? 6 : v;
    case TFL_ACT_RELU_N1_TO_1: return v < -1 ? -1 : v > 1 ? 1 : v;
    default: return v;
    }
}

static int pad_before(enum tfl_padding p, int in, int out, int k, int s, int d)
{
    if (p == TFL_PAD_VALID)
        return 0;
    int total = (out - 1) * s + (k - 1) * d + 1 - in;
    return total > 0 ? total / 2 : 0;
}

/* Index into tensor `t` (broadcast right-aligned) at output coords c. */
static size_t bcast_index(const tfl_tensor *t, const int *c, int nd)
{
    size_t idx = 0;
    for (int i = 0; i < t->ndims; i++) {
        int oc = c[nd - t->ndims + i];
        idx = idx * (size_t)t->dims[i] + (size_t)(t->dims[i] == 1 ? 0 : oc);
    }
    return idx;
}

static void coords(size_t flat, const int *dims, int nd, int *c)
{
    for (int i = nd - 1; i >= 0; i--) {
        c[i] = dims[i] ? (int)(flat % (size_t)dims[i]) : 0;
        flat = dims[i] ? flat / (size_t)dims[i] : 0;
    }
}

/* ---- operators --------------------------------------------------------- */

static void conv(ref_exec *r, const tfl_op *op, int depthwise)
{
    const tfl_tensor *ti = T(r, op->inputs[0]), *tf = T(r, op->inputs[1]),
                     *to = T(r, op->outputs[0]);
    const float *in = r->buf[op->inputs[0]], *f = r->buf[op->inputs[1]];
    const float *bias = op->ninputs > 2 && op->inputs[2] >= 0 ? r->buf[op->inputs[2]] : NULL;
    float *out = r->buf[op->outputs[0]];
    const tfl_op_options *o = &op->opt;
    int N = ti->dims[0], IH = ti->dims[1], IW = ti->dims[2], IC = ti->dims[3];
    int OH = to->dims[1], OW = to->dims[2], OC = to->dims[3];
    int KH = tf->dims[1], KW = tf->dims[2];
    int M = depthwise ? OC / IC : 1;
    int ph = pad_before(o->padding, IH, OH, KH, o->stride_h, o->dilation_h);
    int pw = pad_before(o->padding, IW, OW, KW, o->stride_w, o->dilation_w);
    for (int b = 0; b < N; b++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                for (int oc = 0; oc < OC; oc++) {
                    double acc = bias ? bias[oc] : 0.0;
                    for (int ky = 0; ky < KH; ky++) {
                        int iy = oy * o->stride_h - ph + ky * o->dilation_h;
                        if (iy < 0 || iy >= IH)
                            continue;
                        for (int kx = 0; kx < KW; kx++) {
                            int ix = ox * o->stride_w - pw + kx * o->dilation_w;
                            if (ix < 0 || ix >= IW)
                                continue;
                            const float *px = in + (((size_t)b * IH + iy) * IW + ix) * IC;
                            if (depthwise) {
                                acc += (double)px[oc / M] * f[((size_t)ky * KW + kx) * OC + oc];
                            } else {
                                const float *fw = f + (((size_t)oc * KH + ky) * KW + kx) * IC;
                                for (int ic = 0; ic < IC; ic++)
                                    acc += (double)px[ic] * fw[ic];
                            }
                        }
                    }
                    out[(((size_t)b * OH + oy) * OW + ox) * OC + oc] = (float)act(acc, o->activation);
                }
}

static void maxpool(ref_exec *r, const tfl_op *op)
{
    const tfl_tensor *ti = T(r, op->inputs[0]), *to = T(r, op->outputs[0]);
    const float *in = r->buf[op->inputs[0]];
    float *out = r->buf[op->outputs[0]];
    const tfl_op_options *o = &op->opt;
    int N = ti->dims[0], IH = ti->dims[1], IW = ti->dims[2], C = ti->dims[3];
    int OH = to->dims[1], OW = to->dims[2];
    int ph = pad_before(o->padding, IH, OH, o->filter_h, o->stride_h, 1);
    int pw = pad_before(o->padding, IW, OW, o->filter_w, o->stride_w, 1);
    for (int b = 0; b < N; b++)
        for (int oy = 0; oy < OH; oy++)
            for (int ox = 0; ox < OW; ox++)
                for (int c = 0; c < C; c++) {
                    double m = -INFINITY;
                    for (int ky = 0; ky < o->filter_h; ky++)
                        for (int kx = 0; kx < o->filter_w; kx++) {
                            int iy = oy * o->stride_h - ph + ky, ix = ox * o->stride_w - pw + kx;
                            if (iy < 0 || iy >= IH || ix < 0 || ix >= IW)
                                continue;
                            double v = in[(((size_t)b * IH + iy) * IW + ix) * C + c];
                            if (v > m)
                                m = v;
                        }
                    out[(((size_t)b * OH + oy) * OW + ox) * C + c] = (float)act(m, o->activation);
                }
}

static void add_or_prelu(ref_exec *r, const tfl_op *op, int prelu)
{
    const tfl_tensor *ta = T(r, op->inputs[0]), *tb = T(r, op->inputs[1]),
                     *to = T(r, op->outputs[0]);
    const float *a = r->buf[op->inputs[0]], *b = r->buf[op->inputs[1]];
    float *out = r->buf[op->outputs[0]];
    size_t n = tfl_tensor_count(to);
    int c[TFL_MAX_DIMS];
    for (size_t i = 0; i < n; i++) {
        coords(i, to->dims, to->ndims, c);
        double x = a[bcast_index(ta, c, to->ndims)], y = b[bcast_index(tb, c, to->ndims)];
        double v = prelu ? (x >= 0 ? x : x * y) : x + y;
        out[i] = (float)act(v, prelu ? TFL_ACT_NONE : op->opt.activation);
    }
}

static void mean(ref_exec *r, const tfl_op *op)
{
    const tfl_tensor *ti = T(r, op->inputs[0]), *tax = T(r, op->inputs[1]);
    const float *in = r->buf[op->inputs[0]];
    float *out = r->buf[op->outputs[0]];
    int reduce[TFL_MAX_DIMS] = {0}, odims[TFL_MAX_DIMS];
    for (size_t k = 0; k < tfl_tensor_count(tax); k++) {
        int ax = i32_at(tax, k);
        reduce[ax < 0 ? ax + ti->ndims : ax] = 1;
    }
    size_t nout = 1, per = 1;
    for (int d = 0; d < ti->ndims; d++) {
        odims[d] = reduce[d] ? 1 : ti->dims[d];
        nout *= (size_t)odims[d];
        per *= reduce[d] ? (size_t)ti->dims[d] : 1;
    }
    double *acc = calloc(nout ? nout : 1, sizeof *acc);
    int c[TFL_MAX_DIMS];
    for (size_t i = 0; i < tfl_tensor_count(ti); i++) {
        coords(i, ti->dims, ti->ndims, c);
        size_t o = 0;
        for (int d = 0; d < ti->ndims; d++)
            o = o * (size_t)odims[d] + (size_t)(reduce[d] ? 0 : c[d]);
        acc[o] += in[i];
    }
    for (size_t o = 0; o < nout; o++)
        out[o] = (float)(acc[o] / (double)per);
    free(acc);
}

static void fully_connected(ref_exec *r, const tfl_op *op)
{
    const tfl_tensor *ti = T(r, op->inputs[0]), *tw = T(r, op->inputs[1]);
    const float *in = r->buf[op->inputs[0]], *w = r->buf[op->inputs[1]];
    const float *bias = op->ninputs > 2 && op->inputs[2] >= 0 ? r->buf[op->inputs[2]] : NULL;
    float *out = r->buf[op->outputs[0]];
    size_t O = (size_t)tw->dims[0], I = (size_t)tw->dims[1], B = tfl_tensor_count(ti) / I;
    for (size_t b = 0; b < B; b++)
        for (size_t o = 0; o < O; o++) {
            double acc = bias ? bias[o] : 0.0;
            for (size_t i = 0; i < I; i++)
                acc += (double)in[b * I + i] * w[o * I + i];
            out[b * O + o] = (float)act(acc, op->opt.activation);
        }
}

static void pad(ref_exec *r, const tfl_op *op)
{
    const tfl_tensor *ti = T(r, op->inputs[0]), *tp = T(r, op->inputs[1]),
                     *to = T(r, op->outputs[0]);
    const float *in = r->buf[op->inputs[0]];
    float *out = r->buf[op->outputs[0]];
    memset(out, 0, tfl_tensor_count(to) * sizeof *out);
    int c[TFL_MAX_DIMS];
    for (size_t i = 0; i < tfl_tensor_count(ti); i++) {
        coords(i, ti->dims, ti->ndims, c);
        size_t o = 0;
        for (int d = 0; d < ti->ndims; d++)
            o = o * (size_t)to->dims[d] + (size_t)(c[d] + i32_at(tp, 2 * (size_t)d));
        out[o] = in[i];
    }
}

static void resize_bilinear(ref_exec *r, const tfl_op *op)
{
    const tfl_tensor *ti = T(r, op->inputs[0]), *to = T(r, op->outputs[0]);
    const float *in = r->buf[op->inputs[0]];
    float *out = r->buf[op->outputs[0]];
    int N = ti->dims[0], IH = ti->dims[1], IW = ti->dims[2], C = ti->dims[3];
    int OH = to->dims[1], OW = to->dims[2];
    int ac = op->opt.align_corners, hp = op->opt.half_pixel_centers;
    double sh = ac && OH > 1 ? (double)(IH - 1) / (OH - 1) : (double)IH / OH;
    double sw = ac && OW > 1 ? (double)(IW - 1) / (OW - 1) : (double)IW / OW;
    for (int b = 0; b < N; b++)
        for (int y = 0; y < OH; y++) {
            double fy = hp ? (y + 0.5) * sh - 0.5 : y * sh;
            int y0 = (int)floor(fy), y1 = (int)ceil(fy);
            y0 = y0 < 0 ? 0 : y0;
            y1 = y1 > IH - 1 ? IH - 1 : y1;
            double ly = fy - y0;
            for (int x = 0; x < OW; x++) {
                double fx = hp ? (x + 0.5) * sw - 0.5 : x * sw;
                int x0 = (int)floor(fx), x1 = (int)ceil(fx);
                x0 = x0 < 0 ? 0 : x0;
                x1 = x1 > IW - 1 ? IW - 1 : x1;
                double lx = fx - x0;
                for (int c = 0; c < C; c++) {
#define P(yy, xx) (double)in[(((size_t)b * IH + (yy)) * IW + (xx)) * C + c]
                    double v = P(y0, x0) * (1 - ly) * (1 - lx) + P(y1, x0) * ly * (1 - lx) +
                               P(y0, x1) * (1 - ly) * lx + P(y1, x1) * ly * lx;
#undef P
                    out[(((size_t)b * OH + y) * OW + x) * C + c] = (float)v;
                }
            }
        }
}

static void concat(ref_exec *r, const tfl_op *op)
{
    const tfl_tensor *to = T(r, op->outputs[0]);
    float *out = r->buf[op->outputs[0]];
    int axis = op->opt.axis < 0 ? op->opt.axis + to->ndims : op->opt.axis;
    size_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= (size_t)to->dims[d];
    for (int d = axis + 1; d < to->ndims; d++)
        inner *= (size_t)to->dims[d];
    size_t orow = (size_t)to->dims[axis] * inner, off = 0;
    for (int k = 0; k < op->ninputs; k++) {
        const tfl_tensor *ti = T(r, op->inputs[k]);
        const float *in = r->buf[op->inputs[k]];
        size_t row = (size_t)ti->dims[axis] * inner;
        for (size_t o = 0; o < outer; o++)
            memcpy(out + o * orow + off, in + o * row, row * sizeof *out);
        off += row;
    }
    size_t n = tfl_tensor_count(to);
    for (size_t i = 0; i < n; i++)
        out[i] = (float)act(out[i], op->opt.activation);
}

int ref_exec_run(ref_exec *r, char *err, size_t errlen)
{
    for (int i = 0; i < tfl_model_num_ops(r->m); i++) {
        const tfl_op *op = tfl_model_op(r->m, i);
        for (int k = 0; k < op->noutputs; k++)
            if (!r->buf[op->outputs[k]])
                return fail(err, errlen, "ref: operator %d: non-float output", i);
        float *out = r->buf[op->outputs[0]];
        size_t n = tfl_tensor_count(T(r, op->outputs[0]));
        switch (op->builtin) {
        case TFL_OP_DEQUANTIZE:
        case TFL_OP_RESHAPE:
            memcpy(out, r->buf[op->inputs[0]], n * sizeof *out);
            break;
        case TFL_OP_CONV_2D: conv(r, op, 0); break;
        case TFL_OP_DEPTHWISE_CONV_2D: conv(r, op, 1); break;
        case TFL_OP_MAX_POOL_2D: maxpool(r, op); break;
        case TFL_OP_ADD: add_or_prelu(r, op, 0); break;
        case TFL_OP_PRELU: add_or_prelu(r, op, 1); break;
        case TFL_OP_MEAN: mean(r, op); break;
        case TFL_OP_FULLY_CONNECTED: fully_connected(r, op); break;
        case TFL_OP_PAD: pad(r, op); break;
        case TFL_OP_RESIZE_BILINEAR: resize_bilinear(r, op); break;
        case TFL_OP_CONCATENATION: concat(r, op); break;
        case TFL_OP_LOGISTIC: {
            const float *in = r->buf[op->inputs[0]];
            for (size_t k = 0; k < n; k++)
                out[k] = (float)(1.0 / (1.0 + exp(-(double)in[k])));
            break;
        }
        default:
            return fail(err, errlen, "ref: operator %d (%s) not implemented", i, op->builtin_name);
        }
    }
    return 0;
}
