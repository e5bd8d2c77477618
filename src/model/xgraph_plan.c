/*
 * xgraph_plan.c - validates a TFLite graph and plans its XNNPACK subgraph.
 *
 * Debian's XNNPACK keeps assert() on and trusts its caller, so everything it
 * would trip on is checked here first:
 *   - every tensor has at most one producer, which is not a constant or a
 *     graph input; operators read only tensors defined before them;
 *   - the shape of every operator's output is inferred from its inputs and
 *     options and must equal the declared shape;
 *   - operators whose results nobody reads are dropped, so every value
 *     XNNPACK sees is consumed or is an external output;
 *   - DEQUANTIZE of float16 constants is folded into float32 constants.
 * CONCATENATION has no XNNPACK operator in this version: it is accepted only
 * where it produces a graph output from tensors that are not themselves
 * graph outputs, all dimensions before the axis being 1; each input then
 * becomes an external output aliasing its slice of the output buffer.
 */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "model/xgraph_internal.h"

#define XG__MAX_KERNEL 4096   /* kernel, stride and dilation caps */
/* XNNPACK allocates an indirection buffer of one pointer per output pixel
 * and window tap (4 taps for bilinear resize), and memory for every
 * activation: caps so that a hostile model cannot ask for gigabytes. The
 * MediaPipe models need 0.25 M taps and ~20 MB at most. */
#define XG__MAX_TAPS ((size_t)1 << 24)
#define XG__MAX_ACTIVATION_BYTES ((size_t)512 << 20)

typedef struct pb {
    const tfl_model *m;
    xg__plan *p;
    char *err;
    size_t errlen;
    int ntensors;
    uint32_t cap_values;
    int *producer;         /* operator index per tensor, -1 */
    const float **fconst;  /* float32 constant data per tensor, once resolved */
    uint8_t *avail;        /* defined so far in the forward pass */
    uint8_t *needed;
    uint8_t *kept;         /* per operator */
    uint8_t *in_slot;      /* tensor already bound to an external slot */
} pb;

static int pb_fail(pb *b, int code, int op, const char *fmt, ...) LQ_PRINTF(4, 5);

static int pb_fail(pb *b, int code, int op, const char *fmt, ...)
{
    if (b->err && b->errlen) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        if (op >= 0)
            snprintf(b->err, b->errlen, "xgraph: operator %d (%s): %s", op,
                     tfl_model_op(b->m, op)->builtin_name, msg);
        else
            snprintf(b->err, b->errlen, "xgraph: %s", msg);
    }
    return code;
}

static const tfl_tensor *ten(const pb *b, int t)
{
    return tfl_model_tensor(b->m, t);
}

static void fmt_dims_i(char *buf, size_t n, const int *d, int nd)
{
    size_t k = (size_t)snprintf(buf, n, "[");
    for (int i = 0; i < nd && k < n; i++)
        k += (size_t)snprintf(buf + k, n - k, i ? ",%d" : "%d", d[i]);
    if (k < n)
        snprintf(buf + k, n - k, "]");
}

static void fmt_dims_z(char *buf, size_t n, const size_t *d, int nd)
{
    int di[TFL_MAX_DIMS];
    for (int i = 0; i < nd; i++)
        di[i] = (int)d[i];
    fmt_dims_i(buf, n, di, nd);
}

/* ---- plan storage ------------------------------------------------------ */

static float *new_block(pb *b, size_t n)
{
    xg__plan *p = b->p;
    if (p->nblocks == p->cap_blocks) {
        int cap = p->cap_blocks ? 2 * p->cap_blocks : 64;
        float **nb = realloc(p->blocks, (size_t)cap * sizeof *nb);
        if (!nb)
            return NULL;
        p->blocks = nb;
        p->cap_blocks = cap;
    }
    float *f = calloc(n ? n : 1, sizeof *f);
    if (f)
        p->blocks[p->nblocks++] = f;
    return f;
}

/* Marks value `tid` used with the tensor's declared dims. */
static uint32_t use_tensor(pb *b, int tid)
{
    const tfl_tensor *t = ten(b, tid);
    xg__value *v = &b->p->values[tid];
    v->ndims = t->ndims;
    for (int i = 0; i < t->ndims; i++)
        v->dims[i] = (size_t)t->dims[i];
    v->used = 1;
    if (b->fconst[tid])
        v->data = b->fconst[tid];
    return (uint32_t)tid;
}

/* A new value not in the TFLite graph (reshaped slope, zero bias...). */
static int new_value(pb *b, int ndims, const size_t *dims, const float *data, uint32_t *id)
{
    if (b->p->nvalues >= b->cap_values)
        return LQ_EINTERNAL;
    xg__value *v = &b->p->values[b->p->nvalues];
    v->ndims = ndims;
    memcpy(v->dims, dims, (size_t)ndims * sizeof *dims);
    v->data = data;
    v->used = 1;
    *id = b->p->nvalues++;
    return 0;
}

static int new_node(pb *b, int op, enum xg__node_kind kind, xg__node **out)
{
    if (b->p->nnodes >= 2 * tfl_model_num_ops(b->m) + 1)
        return LQ_EINTERNAL;
    xg__node *n = &b->p->nodes[b->p->nnodes++];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->op = op;
    n->in[0] = n->in[1] = n->in[2] = UINT32_MAX;
    n->out = UINT32_MAX;
    n->out_min = -INFINITY;
    n->out_max = INFINITY;
    *out = n;
    return 0;
}

/* ---- operand checks ---------------------------------------------------- */

/* XNNPACK has no use for empty tensors and refuses zero-sized dimensions. */
static int nonempty(pb *b, int opi, int tid)
{
    const tfl_tensor *t = ten(b, tid);
    for (int i = 0; i < t->ndims; i++)
        if (t->dims[i] < 1)
            return pb_fail(b, LQ_EUNSUPPORTED, opi, "tensor '%s' has an empty dimension %d",
                           t->name, i);
    return 0;
}

static int input_tid(pb *b, int opi, int slot, int *tid)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    if (slot >= op->ninputs || op->inputs[slot] < 0)
        return pb_fail(b, LQ_EFORMAT, opi, "input %d is missing", slot);
    *tid = op->inputs[slot];
    return 0;
}

/* A float32 activation (not a constant) defined before this operator. */
static int act_input(pb *b, int opi, int slot, int ndims, uint32_t *id)
{
    int tid = -1, rc = input_tid(b, opi, slot, &tid);
    if (rc < 0)
        return rc;
    const tfl_tensor *t = ten(b, tid);
    if (t->type != TFL_FLOAT32)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "input '%s' has type %d, not float32", t->name,
                       (int)t->type);
    if (t->data || b->fconst[tid])
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "input %d ('%s') is a constant", slot, t->name);
    if (!b->avail[tid])
        return pb_fail(b, LQ_EFORMAT, opi, "input '%s' is not defined before use", t->name);
    if (ndims >= 0 && t->ndims != ndims)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "input '%s' has rank %d, need %d", t->name,
                       t->ndims, ndims);
    if ((rc = nonempty(b, opi, tid)) < 0)
        return rc;
    *id = use_tensor(b, tid);
    return 0;
}

/* float32 data of a constant: a float32 buffer (copied) or a folded
 * DEQUANTIZE of float16. */
static int const_float(pb *b, int opi, int tid, const char *what, const float **out)
{
    const tfl_tensor *t = ten(b, tid);
    if (!b->fconst[tid]) {
        if (!t->data)
            return pb_fail(b, LQ_EUNSUPPORTED, opi, "%s '%s' must be a constant", what, t->name);
        if (t->type != TFL_FLOAT32)
            return pb_fail(b, LQ_EUNSUPPORTED, opi, "%s '%s' has type %d without DEQUANTIZE",
                           what, t->name, (int)t->type);
        size_t n = tfl_tensor_count(t);
        float *f = new_block(b, n);
        if (!f)
            return LQ_ENOMEM;
        memcpy(f, t->data, n * sizeof *f);
        b->fconst[tid] = f;
    }
    *out = b->fconst[tid];
    return 0;
}

static int const_input(pb *b, int opi, int slot, const char *what, int ndims, uint32_t *id)
{
    int tid = -1, rc = input_tid(b, opi, slot, &tid);
    const float *f;
    if (rc < 0 || (rc = const_float(b, opi, tid, what, &f)) < 0)
        return rc;
    if (ndims >= 0 && ten(b, tid)->ndims != ndims)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "%s '%s' has rank %d, need %d", what,
                       ten(b, tid)->name, ten(b, tid)->ndims, ndims);
    if ((rc = nonempty(b, opi, tid)) < 0)
        return rc;
    *id = use_tensor(b, tid);
    return 0;
}

/* Bias of length n from input `slot`, or zeros when the input is absent. */
static int bias_input(pb *b, int opi, int slot, size_t n, uint32_t *id)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    if (slot >= op->ninputs || op->inputs[slot] < 0) {
        float *z = new_block(b, n);
        if (!z)
            return LQ_ENOMEM;
        return new_value(b, 1, &n, z, id);
    }
    int rc = const_input(b, opi, slot, "bias", 1, id);
    if (rc < 0)
        return rc;
    if (b->p->values[*id].dims[0] != n)
        return pb_fail(b, LQ_EFORMAT, opi, "bias has %zu elements, need %zu",
                       b->p->values[*id].dims[0], n);
    return 0;
}

static int int_input(pb *b, int opi, int slot, const char *what, int *vals, int max, int *n)
{
    int tid = -1, rc = input_tid(b, opi, slot, &tid);
    if (rc < 0)
        return rc;
    const tfl_tensor *t = ten(b, tid);
    if (!t->data || t->type != TFL_INT32)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "%s '%s' must be a constant int32 tensor", what,
                       t->name);
    size_t cnt = tfl_tensor_count(t);
    if (cnt > (size_t)max)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "%s has %zu entries (limit %d)", what, cnt, max);
    for (size_t i = 0; i < cnt; i++) {
        const uint8_t *p = t->data + 4 * i;
        vals[i] = (int32_t)((uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
                            ((uint32_t)p[3] << 24));
    }
    *n = (int)cnt;
    return 0;
}

/* The one float32 output, checked against the inferred shape. */
static int output(pb *b, int opi, const size_t *dims, int ndims, uint32_t *id)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    if (op->noutputs != 1)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "%d outputs, need 1", op->noutputs);
    int tid = op->outputs[0], rc;
    const tfl_tensor *t = ten(b, tid);
    if ((rc = nonempty(b, opi, tid)) < 0)
        return rc;
    if (t->type != TFL_FLOAT32)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "output '%s' has type %d, not float32", t->name,
                       (int)t->type);
    int same = t->ndims == ndims;
    for (int i = 0; same && i < ndims; i++)
        same = (size_t)t->dims[i] == dims[i];
    if (!same) {
        char a[96], c[96];
        fmt_dims_i(a, sizeof a, t->dims, t->ndims);
        fmt_dims_z(c, sizeof c, dims, ndims);
        return pb_fail(b, LQ_EFORMAT, opi, "output '%s' is declared %s but computes to %s",
                       t->name, a, c);
    }
    *id = use_tensor(b, tid);
    return 0;
}

static int activation_range(pb *b, int opi, enum tfl_activation a, xg__node *n)
{
    switch (a) {
    case TFL_ACT_NONE: return 0;
    case TFL_ACT_RELU: n->out_min = 0.0f; return 0;
    case TFL_ACT_RELU_N1_TO_1: n->out_min = -1.0f; n->out_max = 1.0f; return 0;
    case TFL_ACT_RELU6: n->out_min = 0.0f; n->out_max = 6.0f; return 0;
    default:
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "fused activation %s is not supported",
                       a == TFL_ACT_TANH ? "TANH" : "SIGN_BIT");
    }
}

static int window_params(pb *b, int opi, const tfl_op_options *o, int kh, int kw)
{
    if (o->stride_h < 1 || o->stride_w < 1 || o->dilation_h < 1 || o->dilation_w < 1 ||
        kh < 1 || kw < 1)
        return pb_fail(b, LQ_EFORMAT, opi,
                       "stride %dx%d, dilation %dx%d and window %dx%d must all be >= 1",
                       o->stride_h, o->stride_w, o->dilation_h, o->dilation_w, kh, kw);
    if (o->stride_h > XG__MAX_KERNEL || o->stride_w > XG__MAX_KERNEL ||
        o->dilation_h > XG__MAX_KERNEL || o->dilation_w > XG__MAX_KERNEL ||
        kh > XG__MAX_KERNEL || kw > XG__MAX_KERNEL)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "window, stride or dilation over %d",
                       XG__MAX_KERNEL);
    return 0;
}

/* TFLite output size along one axis, and the implicit padding before and
 * after: SAME pads max((out-1)*s + eff - in, 0) in total, the smaller half
 * first. The padding is given to XNNPACK explicitly: its
 * XNN_FLAG_TENSORFLOW_SAME_PADDING is wrong in this version when the total
 * would be negative (stride larger than the dilated kernel). */
static int out_size(pb *b, int opi, enum tfl_padding pad, size_t in, int k, int s, int d,
                    size_t *out, uint32_t *before, uint32_t *after)
{
    size_t eff = (size_t)(k - 1) * (size_t)d + 1;
    *before = *after = 0;
    if (pad == TFL_PAD_SAME) {
        *out = (in + (size_t)s - 1) / (size_t)s;
        size_t need = (*out - 1) * (size_t)s + eff;
        if (need > in) {
            *before = (uint32_t)((need - in) / 2);
            *after = (uint32_t)(need - in - *before);
        }
        return 0;
    }
    if (in < eff)
        return pb_fail(b, LQ_EFORMAT, opi, "VALID window of %zu exceeds input size %zu", eff, in);
    *out = (in - eff) / (size_t)s + 1;
    return 0;
}

/* After output(): od is the declared shape, so od[0]*od[1]*od[2] cannot
 * overflow (at most TFL's element cap). */
static int check_taps(pb *b, int opi, const size_t *od, size_t taps_per_pixel)
{
    size_t pixels = od[0] * od[1] * od[2];
    if (taps_per_pixel && pixels > XG__MAX_TAPS / taps_per_pixel)
        return pb_fail(b, LQ_ELIMIT, opi, "%zu output pixels x %zu window taps exceed %zu",
                       pixels, taps_per_pixel, XG__MAX_TAPS);
    return 0;
}

/* ---- operators --------------------------------------------------------- */

static int plan_conv(pb *b, int opi, int depthwise)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    const tfl_op_options *o = &op->opt;
    uint32_t in, filt, bias, out;
    xg__node *n;
    int rc;
    if (op->ninputs < 2 || op->ninputs > 3)
        return pb_fail(b, LQ_EFORMAT, opi, "%d inputs, need 2 or 3", op->ninputs);
    if ((rc = act_input(b, opi, 0, 4, &in)) < 0 ||
        (rc = const_input(b, opi, 1, "filter", 4, &filt)) < 0)
        return rc;
    const size_t *id = b->p->values[in].dims, *fd = b->p->values[filt].dims;
    size_t oc = depthwise ? fd[3] : fd[0];
    if (depthwise ? (fd[0] != 1 || id[3] == 0 || oc % id[3] != 0) : fd[3] != id[3]) {
        char a[96], c[96];
        fmt_dims_z(a, sizeof a, id, 4);
        fmt_dims_z(c, sizeof c, fd, 4);
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "filter %s does not fit input %s", c, a);
    }
    if ((rc = window_params(b, opi, o, (int)fd[1], (int)fd[2])) < 0 ||
        (rc = bias_input(b, opi, 2, oc, &bias)) < 0)
        return rc;
    size_t od[4] = {id[0], 0, 0, oc};
    uint32_t pt, pbm, pl, pr;
    if ((rc = out_size(b, opi, o->padding, id[1], (int)fd[1], o->stride_h, o->dilation_h,
                       &od[1], &pt, &pbm)) < 0 ||
        (rc = out_size(b, opi, o->padding, id[2], (int)fd[2], o->stride_w, o->dilation_w,
                       &od[2], &pl, &pr)) < 0 ||
        (rc = output(b, opi, od, 4, &out)) < 0 ||
        (rc = check_taps(b, opi, od, fd[1] * fd[2])) < 0 ||
        (rc = new_node(b, opi, depthwise ? XG__DWCONV : XG__CONV, &n)) < 0)
        return rc;
    n->in[0] = in;
    n->in[1] = filt;
    n->in[2] = bias;
    n->out = out;
    n->kh = (uint32_t)fd[1];
    n->kw = (uint32_t)fd[2];
    n->sh = (uint32_t)o->stride_h;
    n->sw = (uint32_t)o->stride_w;
    n->dh = (uint32_t)o->dilation_h;
    n->dw = (uint32_t)o->dilation_w;
    n->in_channels = id[3];
    n->out_channels = depthwise ? oc / id[3] : oc;
    n->pad_top = pt;
    n->pad_bottom = pbm;
    n->pad_left = pl;
    n->pad_right = pr;
    return activation_range(b, opi, o->activation, n);
}

static int plan_maxpool(pb *b, int opi)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    const tfl_op_options *o = &op->opt;
    uint32_t in, out;
    xg__node *n;
    int rc;
    if ((rc = act_input(b, opi, 0, 4, &in)) < 0 ||
        (rc = window_params(b, opi, o, o->filter_h, o->filter_w)) < 0)
        return rc;
    if (o->filter_h * o->filter_w == 1)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "a 1x1 pooling window is not supported");
    const size_t *id = b->p->values[in].dims;
    size_t od[4] = {id[0], 0, 0, id[3]};
    uint32_t pt, pbm, pl, pr;
    if ((rc = out_size(b, opi, o->padding, id[1], o->filter_h, o->stride_h, 1, &od[1], &pt,
                       &pbm)) < 0 ||
        (rc = out_size(b, opi, o->padding, id[2], o->filter_w, o->stride_w, 1, &od[2], &pl,
                       &pr)) < 0 ||
        (rc = output(b, opi, od, 4, &out)) < 0 ||
        (rc = check_taps(b, opi, od, (size_t)o->filter_h * (size_t)o->filter_w)) < 0 || (rc = new_node(b, opi, XG__MAXPOOL, &n)) < 0)
        return rc;
    n->in[0] = in;
    n->out = out;
    n->kh = (uint32_t)o->filter_h;
    n->kw = (uint32_t)o->filter_w;
    n->sh = (uint32_t)o->stride_h;
    n->sw = (uint32_t)o->stride_w;
    n->dh = n->dw = 1;
    n->pad_top = pt;
    n->pad_bottom = pbm;
    n->pad_left = pl;
    n->pad_right = pr;
    return activation_range(b, opi, o->activation, n);
}

/* An ADD operand: an activation or a float32 constant. */
static int add_operand(pb *b, int opi, int slot, uint32_t *id, int *is_const)
{
    int tid = -1, rc = input_tid(b, opi, slot, &tid);
    if (rc < 0)
        return rc;
    *is_const = ten(b, tid)->data != NULL || b->fconst[tid] != NULL;
    if (*is_const)
        return const_input(b, opi, slot, "operand", -1, id);
    return act_input(b, opi, slot, -1, id);
}

static int plan_add(pb *b, int opi)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    uint32_t a, c, out;
    int ca, cc, rc;
    xg__node *n;
    if (op->ninputs != 2)
        return pb_fail(b, LQ_EFORMAT, opi, "%d inputs, need 2", op->ninputs);
    if ((rc = add_operand(b, opi, 0, &a, &ca)) < 0 || (rc = add_operand(b, opi, 1, &c, &cc)) < 0)
        return rc;
    if (ca && cc)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "both operands are constants");
    const xg__value *va = &b->p->values[a], *vc = &b->p->values[c];
    int nd = va->ndims > vc->ndims ? va->ndims : vc->ndims;
    size_t od[TFL_MAX_DIMS];
    for (int i = 0; i < nd; i++) {
        int ia = i - (nd - va->ndims), ic = i - (nd - vc->ndims);
        size_t da = ia >= 0 ? va->dims[ia] : 1, dc = ic >= 0 ? vc->dims[ic] : 1;
        if (da != dc && da != 1 && dc != 1)
            return pb_fail(b, LQ_EFORMAT, opi, "operands do not broadcast (%zu vs %zu on axis %d)",
                           da, dc, i);
        od[i] = da == 1 ? dc : da;
    }
    if ((rc = output(b, opi, od, nd, &out)) < 0 || (rc = new_node(b, opi, XG__ADD, &n)) < 0)
        return rc;
    n->in[0] = a;
    n->in[1] = c;
    n->out = out;
    return activation_range(b, opi, op->opt.activation, n);
}

static int plan_mean(pb *b, int opi)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    uint32_t in, out, mid;
    int axes[TFL_MAX_DIMS], naxes, rc;
    xg__node *n;
    if ((rc = act_input(b, opi, 0, 4, &in)) < 0 ||
        (rc = int_input(b, opi, 1, "axes", axes, TFL_MAX_DIMS, &naxes)) < 0)
        return rc;
    int seen = 0;
    for (int i = 0; i < naxes; i++) {
        int ax = axes[i] < 0 ? axes[i] + 4 : axes[i];
        if (ax < 0 || ax > 3)
            return pb_fail(b, LQ_EFORMAT, opi, "axis %d out of range", axes[i]);
        seen |= 1 << ax;
    }
    if (seen != 6)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "only the mean over axes 1 and 2 is supported");
    const size_t *id = b->p->values[in].dims;
    size_t od4[4] = {id[0], 1, 1, id[3]}, od2[2] = {id[0], id[3]};
    if (op->opt.keep_dims) {
        if ((rc = output(b, opi, od4, 4, &out)) < 0 || (rc = new_node(b, opi, XG__GAP, &n)) < 0)
            return rc;
        n->in[0] = in;
        n->out = out;
        return 0;
    }
    /* XNNPACK pools into [N,1,1,C]; reshape to the declared [N,C]. */
    if ((rc = output(b, opi, od2, 2, &out)) < 0 || (rc = new_value(b, 4, od4, NULL, &mid)) < 0 ||
        (rc = new_node(b, opi, XG__GAP, &n)) < 0)
        return rc;
    n->in[0] = in;
    n->out = mid;
    if ((rc = new_node(b, opi, XG__RESHAPE, &n)) < 0)
        return rc;
    n->in[0] = mid;
    n->out = out;
    n->ndims = 2;
    memcpy(n->shape, od2, sizeof od2);
    return 0;
}

static int plan_fc(pb *b, int opi)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    uint32_t in, w, bias, out;
    xg__node *n;
    int rc;
    if (op->ninputs < 2 || op->ninputs > 3)
        return pb_fail(b, LQ_EFORMAT, opi, "%d inputs, need 2 or 3", op->ninputs);
    if (op->opt.weights_format != 0)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "weights format %d is not supported",
                       op->opt.weights_format);
    if ((rc = act_input(b, opi, 0, -1, &in)) < 0 ||
        (rc = const_input(b, opi, 1, "weights", 2, &w)) < 0)
        return rc;
    const xg__value *vi = &b->p->values[in];
    size_t nout = b->p->values[w].dims[0], nin = b->p->values[w].dims[1];
    size_t count = 1;
    for (int i = 0; i < vi->ndims; i++)
        count *= vi->dims[i];
    if (nin == 0 || count % nin != 0)
        return pb_fail(b, LQ_EFORMAT, opi, "input of %zu elements does not fit %zu-wide weights",
                       count, nin);
    if ((rc = bias_input(b, opi, 2, nout, &bias)) < 0)
        return rc;
    size_t od[TFL_MAX_DIMS];
    int nd;
    uint32_t flags;
    if (op->opt.keep_dims) {
        if (vi->ndims < 1 || vi->dims[vi->ndims - 1] != nin)
            return pb_fail(b, LQ_EFORMAT, opi, "keep_num_dims needs the last input dim = %zu",
                           nin);
        nd = vi->ndims;
        memcpy(od, vi->dims, (size_t)nd * sizeof *od);
        od[nd - 1] = nout;
        flags = 0;
    } else {
        nd = 2;
        od[0] = count / nin;
        od[1] = nout;
        flags = XNN_FLAG_TENSORFLOW_RESHAPE_2D;
    }
    if ((rc = output(b, opi, od, nd, &out)) < 0 || (rc = new_node(b, opi, XG__FC, &n)) < 0)
        return rc;
    n->in[0] = in;
    n->in[1] = w;
    n->in[2] = bias;
    n->out = out;
    n->flags = flags;
    return activation_range(b, opi, op->opt.activation, n);
}

static int plan_unary(pb *b, int opi, enum xg__node_kind kind)
{
    uint32_t in, out;
    xg__node *n;
    int rc;
    if ((rc = act_input(b, opi, 0, -1, &in)) < 0)
        return rc;
    const xg__value *v = &b->p->values[in];
    if ((rc = output(b, opi, v->dims, v->ndims, &out)) < 0 || (rc = new_node(b, opi, kind, &n)) < 0)
        return rc;
    n->in[0] = in;
    n->out = out;
    return 0;
}

static int plan_prelu(pb *b, int opi)
{
    uint32_t in, slope, out, vslope;
    xg__node *n;
    int rc;
    if ((rc = act_input(b, opi, 0, 4, &in)) < 0 ||
        (rc = const_input(b, opi, 1, "slope", -1, &slope)) < 0)
        return rc;
    const xg__value *vi = &b->p->values[in], *vs = &b->p->values[slope];
    size_t c = vi->dims[3];
    int ok = vs->ndims >= 1 && vs->dims[vs->ndims - 1] == c;
    for (int i = 0; ok && i < vs->ndims - 1; i++)
        ok = vs->dims[i] == 1;
    if (!ok)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "slope must have shape [...,1,%zu]", c);
    /* XNNPACK wants the slope as [C]: a second value on the same memory. */
    if ((rc = new_value(b, 1, &c, vs->data, &vslope)) < 0 ||
        (rc = output(b, opi, vi->dims, 4, &out)) < 0 || (rc = new_node(b, opi, XG__PRELU, &n)) < 0)
        return rc;
    n->in[0] = in;
    n->in[1] = vslope;
    n->out = out;
    return 0;
}

static int plan_pad(pb *b, int opi)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    uint32_t in, out;
    int pads[2 * TFL_MAX_DIMS], npads, rc;
    xg__node *n;
    if (op->ninputs != 2)
        return pb_fail(b, LQ_EFORMAT, opi, "%d inputs, need 2", op->ninputs);
    if ((rc = act_input(b, opi, 0, -1, &in)) < 0 ||
        (rc = int_input(b, opi, 1, "paddings", pads, 2 * TFL_MAX_DIMS, &npads)) < 0)
        return rc;
    const xg__value *v = &b->p->values[in];
    if (npads != 2 * v->ndims)
        return pb_fail(b, LQ_EFORMAT, opi, "%d padding values for rank %d", npads, v->ndims);
    size_t od[TFL_MAX_DIMS];
    for (int i = 0; i < v->ndims; i++) {
        if (pads[2 * i] < 0 || pads[2 * i + 1] < 0)
            return pb_fail(b, LQ_EFORMAT, opi, "negative padding on axis %d", i);
        od[i] = v->dims[i] + (size_t)pads[2 * i] + (size_t)pads[2 * i + 1];
    }
    if ((rc = output(b, opi, od, v->ndims, &out)) < 0 || (rc = new_node(b, opi, XG__PAD, &n)) < 0)
        return rc;
    n->in[0] = in;
    n->out = out;
    for (int i = 0; i < v->ndims; i++) {
        n->pre[i] = (size_t)pads[2 * i];
        n->post[i] = (size_t)pads[2 * i + 1];
    }
    return 0;
}

static int plan_resize(pb *b, int opi)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    uint32_t in, out;
    int size[TFL_MAX_DIMS], nsize, rc;
    xg__node *n;
    if ((rc = act_input(b, opi, 0, 4, &in)) < 0 ||
        (rc = int_input(b, opi, 1, "size", size, TFL_MAX_DIMS, &nsize)) < 0)
        return rc;
    if (nsize != 2 || size[0] < 1 || size[1] < 1)
        return pb_fail(b, LQ_EFORMAT, opi, "size must be two positive integers");
    if (op->opt.align_corners && op->opt.half_pixel_centers)
        return pb_fail(b, LQ_EUNSUPPORTED, opi,
                       "align_corners together with half_pixel_centers is not supported");
    const size_t *id = b->p->values[in].dims;
    size_t od[4] = {id[0], (size_t)size[0], (size_t)size[1], id[3]};
    if ((rc = output(b, opi, od, 4, &out)) < 0 || (rc = check_taps(b, opi, od, 4)) < 0 ||
        (rc = new_node(b, opi, XG__RESIZE, &n)) < 0)
        return rc;
    n->in[0] = in;
    n->out = out;
    n->new_h = od[1];
    n->new_w = od[2];
    /* XNNPACK's default is TFLite's half_pixel_centers sampling. */
    n->flags = op->opt.align_corners        ? XNN_FLAG_ALIGN_CORNERS
               : op->opt.half_pixel_centers ? 0
                                            : XNN_FLAG_TENSORFLOW_LEGACY_MODE;
    return 0;
}

/* Resolves a requested shape (with at most one -1) against `count`. */
static int resolve_shape(const int *req, int n, size_t count, size_t *out)
{
    size_t known = 1;
    int wild = -1;
    for (int i = 0; i < n; i++) {
        if (req[i] == -1 && wild < 0) {
            wild = i;
            continue;
        }
        if (req[i] < 0)
            return -1;
        known *= (size_t)req[i];
        out[i] = (size_t)req[i];
    }
    if (wild >= 0) {
        if (known == 0 || count % known != 0)
            return -1;
        out[wild] = count / known;
        known = count;
    }
    return known == count ? 0 : -1;
}

static int plan_reshape(pb *b, int opi)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    uint32_t in, out;
    xg__node *n;
    int rc;
    if ((rc = act_input(b, opi, 0, -1, &in)) < 0)
        return rc;
    const xg__value *v = &b->p->values[in];
    size_t count = 1;
    for (int i = 0; i < v->ndims; i++)
        count *= v->dims[i];
    /* The output tensor's static shape is what we build; a shape operand or
     * option, when given, must agree with it. */
    int req[TFL_MAX_DIMS], nreq = -1;
    if (op->ninputs >= 2 && op->inputs[1] >= 0) {
        if ((rc = int_input(b, opi, 1, "shape", req, TFL_MAX_DIMS, &nreq)) < 0)
            return rc;
    } else if (op->opt.new_shape_len >= 0) {
        nreq = op->opt.new_shape_len;
        memcpy(req, op->opt.new_shape, sizeof req);
    }
    const tfl_tensor *ot = ten(b, op->outputs[0]);
    size_t od[TFL_MAX_DIMS];
    int nd = ot->ndims;
    for (int i = 0; i < nd; i++)
        od[i] = (size_t)ot->dims[i];
    if (nreq >= 0) {
        size_t rd[TFL_MAX_DIMS];
        int same = nreq == nd && resolve_shape(req, nreq, count, rd) == 0;
        for (int i = 0; same && i < nd; i++)
            same = rd[i] == od[i];
        if (!same)
            return pb_fail(b, LQ_EFORMAT, opi, "requested shape disagrees with output '%s'",
                           ot->name);
    }
    size_t ocount = 1;
    for (int i = 0; i < nd; i++)
        ocount *= od[i];
    if (ocount != count)
        return pb_fail(b, LQ_EFORMAT, opi, "reshape of %zu elements into %zu", count, ocount);
    if ((rc = output(b, opi, od, nd, &out)) < 0 || (rc = new_node(b, opi, XG__RESHAPE, &n)) < 0)
        return rc;
    n->in[0] = in;
    n->out = out;
    n->ndims = nd;
    memcpy(n->shape, od, sizeof od);
    return 0;
}

/* A CONCATENATION producing graph output `io`: each input becomes an
 * external output at its offset in the concatenated buffer. */
static int plan_concat(pb *b, int opi, xg__io *io)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    if (op->noutputs != 1 || op->ninputs < 1)
        return pb_fail(b, LQ_EFORMAT, opi, "needs inputs and one output");
    const tfl_tensor *ot = ten(b, op->outputs[0]);
    int nd = ot->ndims, axis = op->opt.axis < 0 ? op->opt.axis + nd : op->opt.axis;
    if (axis < 0 || axis >= nd)
        return pb_fail(b, LQ_EFORMAT, opi, "axis %d out of range for rank %d", op->opt.axis, nd);
    if (op->opt.activation != TFL_ACT_NONE)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "fused activation is not supported");
    if (ot->type != TFL_FLOAT32)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "output is not float32");
    for (int i = 0; i < axis; i++)
        if (ot->dims[i] != 1)
            return pb_fail(b, LQ_EUNSUPPORTED, opi,
                           "only concatenation with all dimensions before the axis equal to 1");
    size_t inner = 1, offset = 0;
    for (int i = axis + 1; i < nd; i++)
        inner *= (size_t)ot->dims[i];
    long long total = 0;
    for (int k = 0; k < op->ninputs; k++) {
        uint32_t id;
        int rc = act_input(b, opi, k, nd, &id);
        if (rc < 0)
            return rc;
        const tfl_tensor *it = ten(b, (int)id);
        if (b->producer[id] < 0)
            return pb_fail(b, LQ_EUNSUPPORTED, opi, "input '%s' is a graph input", it->name);
        for (int i = 0; i < nd; i++)
            if (i != axis && it->dims[i] != ot->dims[i])
                return pb_fail(b, LQ_EFORMAT, opi, "input '%s' differs off the axis", it->name);
        if (b->in_slot[id])
            return pb_fail(b, LQ_EUNSUPPORTED, opi,
                           "input '%s' is already a graph output or concatenated elsewhere",
                           it->name);
        b->in_slot[id] = 1;
        b->p->values[id].flags |= XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
        io->slot[io->nslots].value = id;
        io->slot[io->nslots].offset = offset;
        io->nslots++;
        offset += (size_t)it->dims[axis] * inner;
        total += it->dims[axis];
    }
    if (total != ot->dims[axis])
        return pb_fail(b, LQ_EFORMAT, opi, "inputs add up to %lld along axis %d, output has %d",
                       total, axis, ot->dims[axis]);
    return 0;
}

static int fold_dequantize(pb *b, int opi)
{
    const tfl_op *op = tfl_model_op(b->m, opi);
    if (op->ninputs != 1 || op->noutputs != 1 || op->inputs[0] < 0)
        return pb_fail(b, LQ_EFORMAT, opi, "needs one input and one output");
    const tfl_tensor *it = ten(b, op->inputs[0]), *ot = ten(b, op->outputs[0]);
    if (!it->data || it->type != TFL_FLOAT16)
        return pb_fail(b, LQ_EUNSUPPORTED, opi, "only float16 constants can be dequantized ('%s')",
                       it->name);
    if (ot->type != TFL_FLOAT32 || ot->ndims != it->ndims ||
        memcmp(ot->dims, it->dims, (size_t)it->ndims * sizeof *it->dims) != 0)
        return pb_fail(b, LQ_EFORMAT, opi, "output '%s' must be float32 of the input's shape",
                       ot->name);
    size_t cnt = tfl_tensor_count(it);
    float *f = new_block(b, cnt);
    if (!f)
        return LQ_ENOMEM;
    for (size_t i = 0; i < cnt; i++)
        f[i] = tfl_half_to_float((uint16_t)(it->data[2 * i] | (it->data[2 * i + 1] << 8)));
    b->fconst[op->outputs[0]] = f;
    return 0;
}

/* ---- whole graph ------------------------------------------------------- */

/* One producer per tensor, never a constant or graph input. */
static int check_producers(pb *b)
{
    int nin = tfl_model_num_inputs(b->m);
    for (int i = 0; i < tfl_model_num_ops(b->m); i++) {
        const tfl_op *op = tfl_model_op(b->m, i);
        if (op->noutputs < 1)
            return pb_fail(b, LQ_EFORMAT, i, "no outputs");
        for (int k = 0; k < op->noutputs; k++) {
            int t = op->outputs[k];
            if (b->producer[t] >= 0)
                return pb_fail(b, LQ_EFORMAT, i, "tensor '%s' is also written by operator %d",
                               ten(b, t)->name, b->producer[t]);
            if (ten(b, t)->data)
                return pb_fail(b, LQ_EFORMAT, i, "writes constant tensor '%s'", ten(b, t)->name);
            for (int j = 0; j < nin; j++)
                if (tfl_model_input(b->m, j) == t)
                    return pb_fail(b, LQ_EFORMAT, i, "writes graph input '%s'", ten(b, t)->name);
            b->producer[t] = i;
        }
    }
    return 0;
}

/* Marks the operators some graph output depends on (reverse order; an
 * operator reading a tensor produced later is caught in the forward pass). */
static void mark_needed(pb *b)
{
    for (int j = 0; j < tfl_model_num_outputs(b->m); j++)
        b->needed[tfl_model_output(b->m, j)] = 1;
    for (int i = tfl_model_num_ops(b->m) - 1; i >= 0; i--) {
        const tfl_op *op = tfl_model_op(b->m, i);
        for (int k = 0; k < op->noutputs; k++)
            if (b->needed[op->outputs[k]])
                b->kept[i] = 1;
        if (!b->kept[i])
            continue;
        for (int k = 0; k < op->ninputs; k++)
            if (op->inputs[k] >= 0)
                b->needed[op->inputs[k]] = 1;
    }
}

static int plan_op(pb *b, int i)
{
    switch (tfl_model_op(b->m, i)->builtin) {
    case TFL_OP_CONV_2D: return plan_conv(b, i, 0);
    case TFL_OP_DEPTHWISE_CONV_2D: return plan_conv(b, i, 1);
    case TFL_OP_MAX_POOL_2D: return plan_maxpool(b, i);
    case TFL_OP_ADD: return plan_add(b, i);
    case TFL_OP_MEAN: return plan_mean(b, i);
    case TFL_OP_FULLY_CONNECTED: return plan_fc(b, i);
    case TFL_OP_LOGISTIC: return plan_unary(b, i, XG__SIGMOID);
    case TFL_OP_PRELU: return plan_prelu(b, i);
    case TFL_OP_PAD: return plan_pad(b, i);
    case TFL_OP_RESIZE_BILINEAR: return plan_resize(b, i);
    case TFL_OP_RESHAPE: return plan_reshape(b, i);
    default:
        return pb_fail(b, LQ_EUNSUPPORTED, i, "operator is not supported");
    }
}

static int plan_inputs(pb *b)
{
    int n = tfl_model_num_inputs(b->m);
    if (n > XG_MAX_IO)
        return pb_fail(b, LQ_ELIMIT, -1, "%d graph inputs (limit %d)", n, XG_MAX_IO);
    for (int j = 0; j < n; j++) {
        int t = tfl_model_input(b->m, j);
        const tfl_tensor *tt = ten(b, t);
        if (tt->type != TFL_FLOAT32 || tt->data)
            return pb_fail(b, LQ_EUNSUPPORTED, -1, "graph input '%s' is not a float32 activation",
                           tt->name);
        if (b->avail[t])
            return pb_fail(b, LQ_EFORMAT, -1, "graph input '%s' is listed twice", tt->name);
        b->avail[t] = 1;
        xg__io *io = &b->p->inputs[j];
        snprintf(io->name, sizeof io->name, "%s", tt->name);
        io->ndims = tt->ndims;
        memcpy(io->dims, tt->dims, sizeof io->dims);
        io->count = tfl_tensor_count(tt);
        if (b->needed[t]) {
            /* A graph input nothing reads is not given to XNNPACK. */
            io->nslots = 1;
            io->slot[0].value = (uint32_t)t;
            b->p->values[t].flags |= XNN_VALUE_FLAG_EXTERNAL_INPUT;
        }
    }
    b->p->ninputs = n;
    return 0;
}

static int plan_outputs(pb *b)
{
    int n = tfl_model_num_outputs(b->m);
    if (n > XG_MAX_IO)
        return pb_fail(b, LQ_ELIMIT, -1, "%d graph outputs (limit %d)", n, XG_MAX_IO);
    for (int j = 0; j < n; j++) {
        int t = tfl_model_output(b->m, j), prod = b->producer[t];
        const tfl_tensor *tt = ten(b, t);
        xg__io *io = &b->p->outputs[j];
        snprintf(io->name, sizeof io->name, "%s", tt->name);
        io->ndims = tt->ndims;
        memcpy(io->dims, tt->dims, sizeof io->dims);
        io->count = tfl_tensor_count(tt);
        if (prod < 0 || tfl_model_op(b->m, prod)->builtin == TFL_OP_DEQUANTIZE)
            return pb_fail(b, LQ_EUNSUPPORTED, -1, "graph output '%s' is not computed",
                           tt->name);
        if (tfl_model_op(b->m, prod)->builtin == TFL_OP_CONCATENATION) {
            int rc = plan_concat(b, prod, io);
            if (rc < 0)
                return rc;
            continue;
        }
        if (b->in_slot[t])
            return pb_fail(b, LQ_EUNSUPPORTED, -1, "graph output '%s' is listed twice or "
                           "also concatenated", tt->name);
        b->in_slot[t] = 1;
        io->nslots = 1;
        io->slot[0].value = (uint32_t)t;
        b->p->values[t].flags |= XNN_VALUE_FLAG_EXTERNAL_OUTPUT;
    }
    b->p->noutputs = n;
    return 0;
}

/* Refuses an operator that reads the output of a CONCATENATION. */
static int check_no_concat_input(pb *b, int i)
{
    const tfl_op *op = tfl_model_op(b->m, i);
    for (int k = 0; k < op->ninputs; k++) {
        int t = op->inputs[k], pr = t >= 0 ? b->producer[t] : -1;
        if (pr >= 0 && tfl_model_op(b->m, pr)->builtin == TFL_OP_CONCATENATION)
            return pb_fail(b, LQ_EUNSUPPORTED, i,
                           "reads the output of CONCATENATION %d; only graph outputs may be "
                           "concatenated", pr);
    }
    return 0;
}

/* The forward pass: fold constants, plan the kept operators in order. A
 * CONCATENATION is planned with the graph outputs. */
static int plan_ops(pb *b)
{
    for (int i = 0; i < tfl_model_num_ops(b->m); i++) {
        const tfl_op *op = tfl_model_op(b->m, i);
        int rc;
        if (!b->kept[i] || op->builtin == TFL_OP_CONCATENATION)
            continue;
        if ((rc = check_no_concat_input(b, i)) < 0)
            return rc;
        if (op->builtin == TFL_OP_DEQUANTIZE) {
            if ((rc = fold_dequantize(b, i)) < 0)
                return rc;
            continue;
        }
        if ((rc = plan_op(b, i)) < 0)
            return rc;
        b->avail[op->outputs[0]] = 1;
    }
    return 0;
}

/* A value is given to XNNPACK iff a node or an external slot refers to it. */
static void mark_used(xg__plan *p)
{
    for (uint32_t v = 0; v < p->nvalues; v++)
        p->values[v].used = 0;
    for (int i = 0; i < p->nnodes; i++) {
        const xg__node *n = &p->nodes[i];
        for (int k = 0; k < 3; k++)
            if (n->in[k] != UINT32_MAX)
                p->values[n->in[k]].used = 1;
        p->values[n->out].used = 1;
    }
    for (int j = 0; j < p->ninputs; j++)
        for (int k = 0; k < p->inputs[j].nslots; k++)
            p->values[p->inputs[j].slot[k].value].used = 1;
    for (int j = 0; j < p->noutputs; j++)
        for (int k = 0; k < p->outputs[j].nslots; k++)
            p->values[p->outputs[j].slot[k].value].used = 1;
}

void xg__plan_free(xg__plan *p)
{
    if (!p)
        return;
    for (int i = 0; i < p->nblocks; i++)
        free(p->blocks[i]);
    free(p->blocks);
    free(p->values);
    free(p->nodes);
    memset(p, 0, sizeof *p);
}

int xg__plan_build(const tfl_model *m, xg__plan *p, char *err, size_t errlen)
{
    pb b = {.m = m, .p = p, .err = err, .errlen = errlen, .ntensors = tfl_model_num_tensors(m)};
    int T = b.ntensors, nops = tfl_model_num_ops(m), rc;
    b.cap_values = (uint32_t)T + 2u * (uint32_t)nops + 1u;
    p->values = calloc(b.cap_values, sizeof *p->values);
    p->nodes = calloc(2 * (size_t)nops + 1, sizeof *p->nodes);
    p->nvalues = (uint32_t)T;
    b.producer = malloc((size_t)(T ? T : 1) * sizeof *b.producer);
    b.fconst = calloc((size_t)(T ? T : 1), sizeof *b.fconst);
    b.avail = calloc((size_t)(T ? T : 1), 1);
    b.needed = calloc((size_t)(T ? T : 1), 1);
    b.in_slot = calloc((size_t)(T ? T : 1), 1);
    b.kept = calloc((size_t)(nops ? nops : 1), 1);
    if (!p->values || !p->nodes || !b.producer || !b.fconst || !b.avail || !b.needed ||
        !b.in_slot || !b.kept) {
        rc = LQ_ENOMEM;
        goto done;
    }
    for (int t = 0; t < T; t++)
        b.producer[t] = -1;
    if (tfl_model_num_outputs(m) == 0) {
        rc = pb_fail(&b, LQ_EFORMAT, -1, "the graph has no outputs");
        goto done;
    }
    if ((rc = check_producers(&b)) < 0)
        goto done;
    mark_needed(&b);
    if ((rc = plan_inputs(&b)) < 0 || (rc = plan_ops(&b)) < 0 || (rc = plan_outputs(&b)) < 0)
        goto done;
    if (p->nnodes == 0) {
        rc = pb_fail(&b, LQ_EUNSUPPORTED, -1, "the graph computes nothing");
        goto done;
    }
    mark_used(p);
    size_t bytes = 0;
    for (uint32_t v = 0; v < p->nvalues; v++) {
        const xg__value *val = &p->values[v];
        if (!val->used || val->data)
            continue;
        size_t n = sizeof(float);
        for (int i = 0; i < val->ndims; i++)
            n *= val->dims[i];
        bytes += n;
    }
    if (bytes > XG__MAX_ACTIVATION_BYTES)
        rc = pb_fail(&b, LQ_ELIMIT, -1, "activations need %zu MB (limit %zu MB)", bytes >> 20,
                     XG__MAX_ACTIVATION_BYTES >> 20);
done:
    if (rc == LQ_ENOMEM && err && errlen)
        snprintf(err, errlen, "xgraph: out of memory");
    if (rc == LQ_EINTERNAL && err && errlen)
        snprintf(err, errlen, "xgraph: internal planning error");
    free(b.producer);
    free(b.fconst);
    free(b.avail);
    free(b.needed);
    free(b.in_slot);
    free(b.kept);
    return rc;
}
