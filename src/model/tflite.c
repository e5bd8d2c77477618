/*
 * tflite.c - bounds-checked reader for TFLite flatbuffers (schema version 3).
 *
 * No flatbuffers library: the few tables we need are walked by hand. Field
 * ids below are the declaration order in tensorflow/lite/schema/schema.fbs
 * (a union field takes two ids: its type byte, then its value).
 *
 * Every position read is checked against the file length first; the only
 * offsets followed are those the schema says are there, to a fixed depth, so
 * a cyclic or aliased file cannot make the reader loop, and the work done is
 * bounded by the number of elements (each at least 4 bytes of the file).
 */
#include "model/tflite.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

/* Field ids (schema.fbs declaration order). */
enum {
    F_MODEL_VERSION = 0, F_MODEL_OPCODES = 1, F_MODEL_SUBGRAPHS = 2, F_MODEL_BUFFERS = 4,
    F_SG_TENSORS = 0, F_SG_INPUTS = 1, F_SG_OUTPUTS = 2, F_SG_OPERATORS = 3,
    F_T_SHAPE = 0, F_T_TYPE = 1, F_T_BUFFER = 2, F_T_NAME = 3, F_T_IS_VARIABLE = 5,
    F_T_SPARSITY = 6,
    F_B_DATA = 0, F_B_OFFSET = 1, F_B_SIZE = 2,
    F_OC_DEPRECATED_CODE = 0, F_OC_CUSTOM = 1, F_OC_VERSION = 2, F_OC_CODE = 3,
    F_OP_OPCODE = 0, F_OP_INPUTS = 1, F_OP_OUTPUTS = 2, F_OP_OPTIONS_TYPE = 3,
    F_OP_OPTIONS = 4,
};

/* BuiltinOptions union members (1-based position in the union). */
enum {
    OPT_NONE = 0, OPT_CONV2D = 1, OPT_DEPTHWISE = 2, OPT_POOL2D = 5,
    OPT_FULLY_CONNECTED = 8, OPT_CONCATENATION = 10, OPT_ADD = 11,
    OPT_RESIZE_BILINEAR = 15, OPT_RESHAPE = 17, OPT_PAD = 22, OPT_REDUCER = 27,
    OPT_DEQUANTIZE = 38,
};

#define TFL_BUILTIN_CUSTOM 32
#define TFL_MAX_ELEMENTS (1u << 28)

struct tfl_model {
    uint8_t *file;
    size_t len;
    int ntensors, nops, ninputs, noutputs;
    tfl_tensor *tensors;
    tfl_op *ops;
    int *inputs;
    int *outputs;
};

/* ---- error reporting --------------------------------------------------- */

typedef struct rd {
    const uint8_t *p;
    size_t len;
    char *err;
    size_t errlen;
    char where[96];    /* the table being read, e.g. "Tensor[12]" */
} rd;

static int rd_fail(rd *r, int code, const char *fmt, ...) LQ_PRINTF(3, 4);

static int rd_fail(rd *r, int code, const char *fmt, ...)
{
    if (r->err && r->errlen > 0) {
        char msg[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(r->err, r->errlen, "tflite: %s: %s", r->where[0] ? r->where : "Model", msg);
    }
    return code;
}

static void rd_where(rd *r, const char *fmt, ...) LQ_PRINTF(2, 3);

static void rd_where(rd *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->where, sizeof r->where, fmt, ap);
    va_end(ap);
}

/* ---- little-endian loads (the file is little-endian by definition) ----- */

static uint16_t ld16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t ld64(const uint8_t *p)
{
    return (uint64_t)ld32(p) | ((uint64_t)ld32(p + 4) << 32);
}

/* ---- tables, fields, vectors, strings ---------------------------------- */

typedef struct tbl {
    size_t pos;     /* start of the table (its soffset to the vtable) */
    size_t vt;      /* start of the vtable */
    size_t vtlen;   /* vtable bytes */
    size_t tlen;    /* table bytes, as the vtable declares */
} tbl;

static int rd_table(rd *r, size_t pos, tbl *t)
{
    if (pos > r->len || r->len - pos < 4)
        return rd_fail(r, LQ_EFORMAT, "table at byte %zu is outside the file (%zu bytes)", pos,
                       r->len);
    int64_t vt = (int64_t)pos - (int64_t)(int32_t)ld32(r->p + pos);
    if (vt < 0 || (uint64_t)vt > r->len - 4)
        return rd_fail(r, LQ_EFORMAT, "table at byte %zu: vtable offset points to byte %lld",
                       pos, (long long)vt);
    size_t vtlen = ld16(r->p + vt), tlen = ld16(r->p + vt + 2);
    if (vtlen < 4 || (vtlen & 1) || vtlen > r->len - (size_t)vt)
        return rd_fail(r, LQ_EFORMAT, "table at byte %zu: vtable at byte %lld has bad size %zu",
                       pos, (long long)vt, vtlen);
    if (tlen < 4 || tlen > r->len - pos)
        return rd_fail(r, LQ_EFORMAT, "table at byte %zu: size %zu overruns the file", pos, tlen);
    t->pos = pos;
    t->vt = (size_t)vt;
    t->vtlen = vtlen;
    t->tlen = tlen;
    return 0;
}

/* Offset of field `id` inside its table, 0 when absent; checks that `size`
 * bytes of it lie inside the table. */
static int rd_field(rd *r, const tbl *t, int id, size_t size, const char *name, size_t *fo)
{
    size_t slot = 4 + 2 * (size_t)id;
    *fo = slot + 2 <= t->vtlen ? ld16(r->p + t->vt + slot) : 0;
    if (*fo != 0 && (*fo < 4 || *fo > t->tlen || t->tlen - *fo < size))
        return rd_fail(r, LQ_EFORMAT, "field '%s' of table at byte %zu overruns the table", name,
                       t->pos);
    return 0;
}

static int rd_uint(rd *r, const tbl *t, int id, size_t size, uint64_t def, const char *name,
                   uint64_t *out)
{
    size_t fo;
    *out = def;
    int rc = rd_field(r, t, id, size, name, &fo);
    if (rc < 0 || fo == 0)
        return rc;
    const uint8_t *p = r->p + t->pos + fo;
    *out = size == 1 ? p[0] : size == 2 ? ld16(p) : size == 4 ? ld32(p) : ld64(p);
    return 0;
}

static int rd_i32(rd *r, const tbl *t, int id, int32_t def, const char *name, int32_t *out)
{
    uint64_t v = 0;
    int rc = rd_uint(r, t, id, 4, (uint32_t)def, name, &v);
    *out = (int32_t)(uint32_t)v;
    return rc;
}

static int rd_u8(rd *r, const tbl *t, int id, uint8_t def, const char *name, int *out)
{
    uint64_t v = 0;
    int rc = rd_uint(r, t, id, 1, def, name, &v);
    *out = (int)v;
    return rc;
}

/* Follows the uoffset in field `id`; *target = 0 when the field is absent.
 * The target has at least 4 readable bytes. */
static int rd_ref(rd *r, const tbl *t, int id, const char *name, size_t *target)
{
    size_t fo;
    int rc = rd_field(r, t, id, 4, name, &fo);
    if (rc < 0)
        return rc;
    *target = 0;
    if (fo == 0)
        return 0;
    size_t at = t->pos + fo;
    uint64_t to = (uint64_t)at + ld32(r->p + at);
    if (to > r->len || r->len - to < 4)
        return rd_fail(r, LQ_EFORMAT, "field '%s' at byte %zu points outside the file (to %llu)",
                       name, at, (unsigned long long)to);
    *target = (size_t)to;
    return 0;
}

typedef struct vec {
    size_t data;   /* first element */
    uint32_t n;
} vec;

static int rd_vec_at(rd *r, size_t pos, size_t esize, const char *name, vec *v)
{
    uint32_t n = ld32(r->p + pos);
    if ((uint64_t)n * esize > r->len - pos - 4)
        return rd_fail(r, LQ_EFORMAT,
                       "vector '%s' at byte %zu claims %u elements, past the end of the file",
                       name, pos, n);
    v->data = pos + 4;
    v->n = n;
    return 0;
}

/* An absent vector reads as empty. */
static int rd_vec(rd *r, const tbl *t, int id, size_t esize, const char *name, vec *v)
{
    size_t at;
    int rc = rd_ref(r, t, id, name, &at);
    v->data = 0;
    v->n = 0;
    if (rc < 0 || at == 0)
        return rc;
    return rd_vec_at(r, at, esize, name, v);
}

/* Table element i of a vector of tables. */
static int rd_vec_table(rd *r, const vec *v, uint32_t i, tbl *t)
{
    size_t at = v->data + 4 * (size_t)i;
    uint64_t to = (uint64_t)at + ld32(r->p + at);
    if (to > r->len)
        return rd_fail(r, LQ_EFORMAT, "element %u at byte %zu points outside the file", i, at);
    return rd_table(r, (size_t)to, t);
}

/* Strings point into the model's own copy of the file; the flatbuffer
 * NUL terminator is required. An absent string reads as "". */
static int rd_str(rd *r, const tbl *t, int id, const char *name, const char **out)
{
    vec v;
    int rc = rd_vec(r, t, id, 1, name, &v);
    if (rc < 0)
        return rc;
    if (v.data == 0) {
        *out = "";
        return 0;
    }
    if (v.data + v.n >= r->len || r->p[v.data + v.n] != 0)
        return rd_fail(r, LQ_EFORMAT, "string '%s' at byte %zu is not NUL-terminated", name,
                       v.data - 4);
    *out = (const char *)r->p + v.data;
    return 0;
}

/* A vector of int32 into out[0..max), erroring with `toolong` if longer. */
static int rd_ints(rd *r, const tbl *t, int id, const char *name, int *out, int max, int *n,
                   int toolong)
{
    vec v;
    int rc = rd_vec(r, t, id, 4, name, &v);
    if (rc < 0)
        return rc;
    if (v.n > (uint32_t)max)
        return rd_fail(r, toolong, "'%s' has %u entries (limit %d)", name, v.n, max);
    for (uint32_t i = 0; i < v.n; i++)
        out[i] = (int32_t)ld32(r->p + v.data + 4 * (size_t)i);
    *n = (int)v.n;
    return 0;
}

/* ---- tensors ----------------------------------------------------------- */

static size_t type_size(int type)
{
    switch (type) {
    case TFL_FLOAT32: case TFL_INT32: return 4;
    case TFL_FLOAT16: return 2;
    case TFL_UINT8: case TFL_INT8: return 1;
    case TFL_INT64: return 8;
    default: return 0;
    }
}

/* Resolves buffer `index` of the model into (data, len). */
static int read_buffer(rd *r, const vec *buffers, uint32_t index, const uint8_t **data,
                       size_t *len)
{
    *data = NULL;
    *len = 0;
    if (index >= buffers->n) {
        if (index == 0)
            return 0;   /* no buffer table at all: index 0 means "no data" */
        return rd_fail(r, LQ_EFORMAT, "buffer index %u out of range (%u buffers)", index,
                       buffers->n);
    }
    tbl b;
    vec d;
    uint64_t off, size;
    int rc = rd_vec_table(r, buffers, index, &b);
    if (rc == 0)
        rc = rd_vec(r, &b, F_B_DATA, 1, "Buffer.data", &d);
    if (rc == 0)
        rc = rd_uint(r, &b, F_B_OFFSET, 8, 0, "Buffer.offset", &off);
    if (rc == 0)
        rc = rd_uint(r, &b, F_B_SIZE, 8, 0, "Buffer.size", &size);
    if (rc < 0)
        return rc;
    if (off > 1) {
        /* Data stored after the flatbuffer (models over 2 GB), relative to
         * the start of the file. */
        if (d.n != 0)
            return rd_fail(r, LQ_EFORMAT, "buffer %u has both inline data and an offset", index);
        if (off > r->len || size > r->len - off)
            return rd_fail(r, LQ_EFORMAT, "buffer %u: offset %llu + size %llu outside the file",
                           index, (unsigned long long)off, (unsigned long long)size);
        *data = size ? r->p + off : NULL;
        *len = (size_t)size;
        return 0;
    }
    if (d.n) {
        *data = r->p + d.data;
        *len = d.n;
    }
    return 0;
}

static int read_tensor(rd *r, const vec *tensors, const vec *buffers, int i, tfl_tensor *out)
{
    tbl t;
    rd_where(r, "Tensor[%d]", i);
    int rc = rd_vec_table(r, tensors, (uint32_t)i, &t);
    if (rc < 0)
        return rc;
    int type, is_var;
    uint64_t bufidx;
    size_t sparsity;
    if ((rc = rd_str(r, &t, F_T_NAME, "name", &out->name)) < 0)
        return rc;
    rd_where(r, "Tensor[%d] '%.48s'", i, out->name);
    if ((rc = rd_ints(r, &t, F_T_SHAPE, "shape", out->dims, TFL_MAX_DIMS, &out->ndims,
                      LQ_EUNSUPPORTED)) < 0 ||
        (rc = rd_u8(r, &t, F_T_TYPE, TFL_FLOAT32, "type", &type)) < 0 ||
        (rc = rd_uint(r, &t, F_T_BUFFER, 4, 0, "buffer", &bufidx)) < 0 ||
        (rc = rd_u8(r, &t, F_T_IS_VARIABLE, 0, "is_variable", &is_var)) < 0 ||
        (rc = rd_ref(r, &t, F_T_SPARSITY, "sparsity", &sparsity)) < 0)
        return rc;
    if (type_size(type) == 0)
        return rd_fail(r, LQ_EUNSUPPORTED, "tensor type %d is not supported", type);
    if (is_var)
        return rd_fail(r, LQ_EUNSUPPORTED, "variable tensors are not supported");
    if (sparsity)
        return rd_fail(r, LQ_EUNSUPPORTED, "sparse tensors are not supported");
    out->type = (enum tfl_type)type;
    uint64_t count = 1;
    for (int d = 0; d < out->ndims; d++) {
        if (out->dims[d] < 0)
            return rd_fail(r, LQ_EFORMAT, "dimension %d is negative (%d)", d, out->dims[d]);
        count *= (uint64_t)out->dims[d];
        if (count > TFL_MAX_ELEMENTS)
            return rd_fail(r, LQ_ELIMIT, "more than %u elements", TFL_MAX_ELEMENTS);
    }
    if ((rc = read_buffer(r, buffers, (uint32_t)bufidx, &out->data, &out->data_len)) < 0)
        return rc;
    if (out->data && out->data_len != count * type_size(type))
        return rd_fail(r, LQ_EFORMAT, "buffer %u holds %zu bytes, the shape needs %llu",
                       (unsigned)bufidx, out->data_len,
                       (unsigned long long)(count * type_size(type)));
    return 0;
}

/* ---- operators --------------------------------------------------------- */

static int read_activation(rd *r, const tbl *t, int id, tfl_op_options *o)
{
    int a;
    int rc = rd_u8(r, t, id, TFL_ACT_NONE, "fused_activation_function", &a);
    if (rc < 0)
        return rc;
    if (a > TFL_ACT_SIGN_BIT)
        return rd_fail(r, LQ_EFORMAT, "fused activation %d is not in the schema", a);
    o->activation = (enum tfl_activation)a;
    return 0;
}

static int read_padding(rd *r, const tbl *t, int id, tfl_op_options *o)
{
    int p;
    int rc = rd_u8(r, t, id, TFL_PAD_SAME, "padding", &p);
    if (rc < 0)
        return rc;
    if (p != TFL_PAD_SAME && p != TFL_PAD_VALID)
        return rd_fail(r, LQ_EFORMAT, "padding %d is not in the schema", p);
    o->padding = (enum tfl_padding)p;
    return 0;
}

static int read_bool(rd *r, const tbl *t, int id, const char *name, int *out)
{
    int v = 0;
    int rc = rd_u8(r, t, id, 0, name, &v);
    *out = v != 0;
    return rc;
}

/* The BuiltinOptions member each supported operator carries (0: none). */
static int expected_options(int builtin)
{
    switch (builtin) {
    case TFL_OP_ADD: return OPT_ADD;
    case TFL_OP_CONCATENATION: return OPT_CONCATENATION;
    case TFL_OP_CONV_2D: return OPT_CONV2D;
    case TFL_OP_DEPTHWISE_CONV_2D: return OPT_DEPTHWISE;
    case TFL_OP_DEQUANTIZE: return OPT_DEQUANTIZE;
    case TFL_OP_FULLY_CONNECTED: return OPT_FULLY_CONNECTED;
    case TFL_OP_MAX_POOL_2D: return OPT_POOL2D;
    case TFL_OP_RESHAPE: return OPT_RESHAPE;
    case TFL_OP_RESIZE_BILINEAR: return OPT_RESIZE_BILINEAR;
    case TFL_OP_PAD: return OPT_PAD;
    case TFL_OP_MEAN: return OPT_REDUCER;
    default: return OPT_NONE;   /* LOGISTIC, PRELU */
    }
}

static int is_known_builtin(int b)
{
    switch (b) {
    case TFL_OP_ADD: case TFL_OP_CONCATENATION: case TFL_OP_CONV_2D:
    case TFL_OP_DEPTHWISE_CONV_2D: case TFL_OP_DEQUANTIZE: case TFL_OP_FULLY_CONNECTED:
    case TFL_OP_LOGISTIC: case TFL_OP_MAX_POOL_2D: case TFL_OP_RESHAPE:
    case TFL_OP_RESIZE_BILINEAR: case TFL_OP_PAD: case TFL_OP_MEAN: case TFL_OP_PRELU:
        return 1;
    default:
        return 0;
    }
}

/* Decodes the options table of a supported operator. Absent fields take
 * the schema defaults; note the schema's default stride is 0 (converters
 * always write strides), which the graph builder refuses. */
static int read_options(rd *r, int builtin, const tbl *t, tfl_op_options *o)
{
    int rc = 0;
    int32_t v;
    switch (builtin) {
    case TFL_OP_CONV_2D:
    case TFL_OP_DEPTHWISE_CONV_2D: {
        int dw = builtin == TFL_OP_DEPTHWISE_CONV_2D;
        /* Conv2DOptions: padding, stride_w, stride_h, activation, dil_w, dil_h.
         * DepthwiseConv2DOptions: padding, stride_w, stride_h,
         * depth_multiplier, activation, dil_w, dil_h. */
        if ((rc = read_padding(r, t, 0, o)) < 0 ||
            (rc = rd_i32(r, t, 1, 0, "stride_w", &o->stride_w)) < 0 ||
            (rc = rd_i32(r, t, 2, 0, "stride_h", &o->stride_h)) < 0)
            return rc;
        if (dw && (rc = rd_i32(r, t, 3, 0, "depth_multiplier", &o->depth_multiplier)) < 0)
            return rc;
        if ((rc = read_activation(r, t, 3 + dw, o)) < 0 ||
            (rc = rd_i32(r, t, 4 + dw, 1, "dilation_w_factor", &o->dilation_w)) < 0 ||
            (rc = rd_i32(r, t, 5 + dw, 1, "dilation_h_factor", &o->dilation_h)) < 0)
            return rc;
        return 0;
    }
    case TFL_OP_MAX_POOL_2D:
        /* Pool2DOptions: padding, stride_w, stride_h, filter_w, filter_h, act. */
        if ((rc = read_padding(r, t, 0, o)) < 0 ||
            (rc = rd_i32(r, t, 1, 0, "stride_w", &o->stride_w)) < 0 ||
            (rc = rd_i32(r, t, 2, 0, "stride_h", &o->stride_h)) < 0 ||
            (rc = rd_i32(r, t, 3, 0, "filter_width", &o->filter_w)) < 0 ||
            (rc = rd_i32(r, t, 4, 0, "filter_height", &o->filter_h)) < 0)
            return rc;
        return read_activation(r, t, 5, o);
    case TFL_OP_FULLY_CONNECTED:
        /* FullyConnectedOptions: activation, weights_format, keep_num_dims. */
        if ((rc = read_activation(r, t, 0, o)) < 0 ||
            (rc = rd_u8(r, t, 1, 0, "weights_format", &o->weights_format)) < 0)
            return rc;
        return read_bool(r, t, 2, "keep_num_dims", &o->keep_dims);
    case TFL_OP_CONCATENATION:
        /* ConcatenationOptions: axis, activation. */
        if ((rc = rd_i32(r, t, 0, 0, "axis", &v)) < 0)
            return rc;
        o->axis = v;
        return read_activation(r, t, 1, o);
    case TFL_OP_ADD:
        /* AddOptions: activation, pot_scale_int16. */
        return read_activation(r, t, 0, o);
    case TFL_OP_RESIZE_BILINEAR:
        /* ResizeBilinearOptions: new_height (deprecated), new_width
         * (deprecated), align_corners, half_pixel_centers. */
        if ((rc = read_bool(r, t, 2, "align_corners", &o->align_corners)) < 0)
            return rc;
        return read_bool(r, t, 3, "half_pixel_centers", &o->half_pixel_centers);
    case TFL_OP_RESHAPE:
        /* ReshapeOptions: new_shape. */
        if (!t)
            return 0;
        {
            size_t at;
            if ((rc = rd_ref(r, t, 0, "new_shape", &at)) < 0)
                return rc;
            if (at == 0)
                return 0;
        }
        return rd_ints(r, t, 0, "new_shape", o->new_shape, TFL_MAX_DIMS, &o->new_shape_len,
                       LQ_EUNSUPPORTED);
    case TFL_OP_MEAN:
        /* ReducerOptions: keep_dims. */
        return read_bool(r, t, 0, "keep_dims", &o->keep_dims);
    default:
        return 0;
    }
}

static void default_options(tfl_op_options *o)
{
    memset(o, 0, sizeof *o);
    o->padding = TFL_PAD_SAME;
    o->dilation_w = o->dilation_h = 1;
    o->activation = TFL_ACT_NONE;
    o->new_shape_len = -1;
}

/* Builtin code, name and version of operator code `index`. */
static int read_opcode(rd *r, const vec *codes, uint32_t index, tfl_op *op)
{
    if (index >= codes->n)
        return rd_fail(r, LQ_EFORMAT, "opcode_index %u out of range (%u operator codes)", index,
                       codes->n);
    tbl c;
    int dep;
    int32_t code, version;
    const char *custom = "";
    int rc = rd_vec_table(r, codes, index, &c);
    if (rc < 0 || (rc = rd_u8(r, &c, F_OC_DEPRECATED_CODE, 0, "deprecated_builtin_code", &dep)) < 0 ||
        (rc = rd_i32(r, &c, F_OC_CODE, 0, "builtin_code", &code)) < 0 ||
        (rc = rd_i32(r, &c, F_OC_VERSION, 1, "version", &version)) < 0 ||
        (rc = rd_str(r, &c, F_OC_CUSTOM, "custom_code", &custom)) < 0)
        return rc;
    /* Older writers fill only the byte field, newer ones both; the int field
     * is authoritative past 127. The byte is signed in the schema. */
    dep = (int)(int8_t)(uint8_t)dep;
    op->builtin = code > dep ? code : dep;
    op->version = version;
    op->builtin_name = tfl_builtin_name(op->builtin);
    if (op->builtin == TFL_BUILTIN_CUSTOM)
        return rd_fail(r, LQ_EUNSUPPORTED, "custom operator '%.64s' is not supported", custom);
    if (!is_known_builtin(op->builtin))
        return rd_fail(r, LQ_EUNSUPPORTED, "operator %s (%d) is not supported", op->builtin_name,
                       op->builtin);
    return 0;
}

static int read_tensor_list(rd *r, const tbl *t, int id, const char *name, int *out, int *n,
                            int ntensors, int allow_absent)
{
    int rc = rd_ints(r, t, id, name, out, TFL_MAX_OP_IO, n, LQ_EUNSUPPORTED);
    if (rc < 0)
        return rc;
    for (int i = 0; i < *n; i++) {
        if (out[i] == -1 && allow_absent)
            continue;
        if (out[i] < 0 || out[i] >= ntensors)
            return rd_fail(r, LQ_EFORMAT, "%s[%d] = %d is not a tensor index (%d tensors)", name,
                           i, out[i], ntensors);
    }
    return 0;
}

static int read_operator(rd *r, const vec *ops, const vec *codes, int i, int ntensors,
                         tfl_op *op)
{
    tbl t;
    rd_where(r, "Operator[%d]", i);
    int rc = rd_vec_table(r, ops, (uint32_t)i, &t);
    if (rc < 0)
        return rc;
    uint64_t opcode;
    int otype;
    size_t oat;
    if ((rc = rd_uint(r, &t, F_OP_OPCODE, 4, 0, "opcode_index", &opcode)) < 0 ||
        (rc = read_opcode(r, codes, (uint32_t)opcode, op)) < 0)
        return rc;
    rd_where(r, "Operator[%d] (%s)", i, op->builtin_name);
    if ((rc = read_tensor_list(r, &t, F_OP_INPUTS, "inputs", op->inputs, &op->ninputs,
                               ntensors, 1)) < 0 ||
        (rc = read_tensor_list(r, &t, F_OP_OUTPUTS, "outputs", op->outputs, &op->noutputs,
                               ntensors, 0)) < 0 ||
        (rc = rd_u8(r, &t, F_OP_OPTIONS_TYPE, 0, "builtin_options_type", &otype)) < 0 ||
        (rc = rd_ref(r, &t, F_OP_OPTIONS, "builtin_options", &oat)) < 0)
        return rc;
    for (int k = op->ninputs; k < TFL_MAX_OP_IO; k++)
        op->inputs[k] = -1;
    for (int k = op->noutputs; k < TFL_MAX_OP_IO; k++)
        op->outputs[k] = -1;
    default_options(&op->opt);
    int want = expected_options(op->builtin);
    if (otype != OPT_NONE && otype != want)
        return rd_fail(r, LQ_EFORMAT, "options of union type %d, expected %d", otype, want);
    if (otype == OPT_NONE || oat == 0)
        return 0;
    tbl ot;
    if ((rc = rd_table(r, oat, &ot)) < 0)
        return rc;
    rd_where(r, "Operator[%d] (%s) options", i, op->builtin_name);
    return read_options(r, op->builtin, &ot, &op->opt);
}

/* ---- the model --------------------------------------------------------- */

static int read_graph_io(rd *r, const tbl *sg, int id, const char *name, int **out, int *n,
                         int ntensors)
{
    vec v;
    int rc = rd_vec(r, sg, id, 4, name, &v);
    if (rc < 0)
        return rc;
    if (v.n > TFL_MAX_GRAPH_IO)
        return rd_fail(r, LQ_ELIMIT, "%u graph %s (limit %d)", v.n, name, TFL_MAX_GRAPH_IO);
    *out = calloc(v.n ? v.n : 1, sizeof **out);
    if (!*out)
        return LQ_ENOMEM;
    for (uint32_t i = 0; i < v.n; i++) {
        int32_t t = (int32_t)ld32(r->p + v.data + 4 * (size_t)i);
        if (t < 0 || t >= ntensors)
            return rd_fail(r, LQ_EFORMAT, "%s[%u] = %d is not a tensor index", name, i, t);
        (*out)[i] = t;
    }
    *n = (int)v.n;
    return 0;
}

static int parse(rd *r, tfl_model *m)
{
    tbl model, sg;
    vec codes, subgraphs, buffers, tensors, ops;
    uint64_t version;
    int rc;

    if (r->len < 8)
        return rd_fail(r, LQ_EFORMAT, "file of %zu bytes is too short", r->len);
    if (memcmp(r->p + 4, "TFL3", 4) != 0)
        return rd_fail(r, LQ_EFORMAT, "file identifier at byte 4 is not \"TFL3\"");
    if ((rc = rd_table(r, ld32(r->p), &model)) < 0 ||
        (rc = rd_uint(r, &model, F_MODEL_VERSION, 4, 0, "version", &version)) < 0)
        return rc;
    if (version != 3)
        return rd_fail(r, LQ_EUNSUPPORTED, "schema version %llu (only 3 is supported)",
                       (unsigned long long)version);
    if ((rc = rd_vec(r, &model, F_MODEL_OPCODES, 4, "operator_codes", &codes)) < 0 ||
        (rc = rd_vec(r, &model, F_MODEL_SUBGRAPHS, 4, "subgraphs", &subgraphs)) < 0 ||
        (rc = rd_vec(r, &model, F_MODEL_BUFFERS, 4, "buffers", &buffers)) < 0)
        return rc;
    if (subgraphs.n == 0)
        return rd_fail(r, LQ_EFORMAT, "no subgraph");
    rd_where(r, "SubGraph[0]");
    if ((rc = rd_vec_table(r, &subgraphs, 0, &sg)) < 0 ||
        (rc = rd_vec(r, &sg, F_SG_TENSORS, 4, "tensors", &tensors)) < 0 ||
        (rc = rd_vec(r, &sg, F_SG_OPERATORS, 4, "operators", &ops)) < 0)
        return rc;
    if (tensors.n > TFL_MAX_TENSORS)
        return rd_fail(r, LQ_ELIMIT, "%u tensors (limit %d)", tensors.n, TFL_MAX_TENSORS);
    if (ops.n > TFL_MAX_OPS)
        return rd_fail(r, LQ_ELIMIT, "%u operators (limit %d)", ops.n, TFL_MAX_OPS);
    m->ntensors = (int)tensors.n;
    m->nops = (int)ops.n;
    if ((rc = read_graph_io(r, &sg, F_SG_INPUTS, "inputs", &m->inputs, &m->ninputs,
                            m->ntensors)) < 0 ||
        (rc = read_graph_io(r, &sg, F_SG_OUTPUTS, "outputs", &m->outputs, &m->noutputs,
                            m->ntensors)) < 0)
        return rc;
    m->tensors = calloc(tensors.n ? tensors.n : 1, sizeof *m->tensors);
    m->ops = calloc(ops.n ? ops.n : 1, sizeof *m->ops);
    if (!m->tensors || !m->ops)
        return LQ_ENOMEM;
    for (int i = 0; i < m->ntensors; i++)
        if ((rc = read_tensor(r, &tensors, &buffers, i, &m->tensors[i])) < 0)
            return rc;
    for (int i = 0; i < m->nops; i++)
        if ((rc = read_operator(r, &ops, &codes, i, m->ntensors, &m->ops[i])) < 0)
            return rc;
    return 0;
}

void tfl_model_destroy(tfl_model *m)
{
    if (!m)
        return;
    free(m->tensors);
    free(m->ops);
    free(m->inputs);
    free(m->outputs);
    free(m->file);
    free(m);
}

/* Takes ownership of `file` (malloc'd) in every case. */
static int load_owned(uint8_t *file, size_t len, tfl_model **out, char *err, size_t errlen)
{
    tfl_model *m = calloc(1, sizeof *m);
    if (!m) {
        free(file);
        if (err && errlen)
            snprintf(err, errlen, "tflite: out of memory");
        return LQ_ENOMEM;
    }
    m->file = file;
    m->len = len;
    rd r = {.p = file, .len = len, .err = err, .errlen = errlen};
    int rc = parse(&r, m);
    if (rc < 0) {
        if (rc == LQ_ENOMEM && err && errlen)
            snprintf(err, errlen, "tflite: out of memory");
        tfl_model_destroy(m);
        return rc;
    }
    *out = m;
    return 0;
}

int tfl_model_load_buffer(const uint8_t *buf, size_t len, tfl_model **out, char *err,
                          size_t errlen)
{
    if (!out || (!buf && len)) {
        if (err && errlen)
            snprintf(err, errlen, "tflite: invalid argument");
        return LQ_EINVAL;
    }
    if (len > TFL_MAX_FILE_BYTES) {
        if (err && errlen)
            snprintf(err, errlen, "tflite: model of %zu bytes exceeds the %u byte limit", len,
                     TFL_MAX_FILE_BYTES);
        return LQ_ELIMIT;
    }
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        if (err && errlen)
            snprintf(err, errlen, "tflite: out of memory");
        return LQ_ENOMEM;
    }
    if (len)
        memcpy(copy, buf, len);
    return load_owned(copy, len, out, err, errlen);
}

int tfl_model_load_file(const char *path, tfl_model **out, char *err, size_t errlen)
{
    if (!path || !out) {
        if (err && errlen)
            snprintf(err, errlen, "tflite: invalid argument");
        return LQ_EINVAL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        if (err && errlen)
            snprintf(err, errlen, "tflite: cannot open %s: %s", path, strerror(e));
        return e == ENOENT ? LQ_ENOENT : LQ_EIO;
    }
    long n = -1;
    if (fseek(f, 0, SEEK_END) == 0)
        n = ftell(f);
    if (n < 0 || fseek(f, 0, SEEK_SET) != 0) {
        fclose(f);
        if (err && errlen)
            snprintf(err, errlen, "tflite: cannot size %s", path);
        return LQ_EIO;
    }
    if ((unsigned long)n > TFL_MAX_FILE_BYTES) {
        fclose(f);
        if (err && errlen)
            snprintf(err, errlen, "tflite: %s has %ld bytes, over the %u byte limit", path, n,
                     TFL_MAX_FILE_BYTES);
        return LQ_ELIMIT;
    }
    uint8_t *buf = malloc(n ? (size_t)n : 1);
    if (!buf) {
        fclose(f);
        if (err && errlen)
            snprintf(err, errlen, "tflite: out of memory");
        return LQ_ENOMEM;
    }
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n) {
        free(buf);
        if (err && errlen)
            snprintf(err, errlen, "tflite: short read on %s", path);
        return LQ_EIO;
    }
    int rc = load_owned(buf, (size_t)n, out, err, errlen);
    if (rc == 0)
        LQ_DEBUG("tflite", "loaded %s: %d tensors, %d operators", path, (*out)->ntensors,
                 (*out)->nops);
    return rc;
}

/* ---- accessors --------------------------------------------------------- */

int tfl_model_num_tensors(const tfl_model *m)
{
    return m ? m->ntensors : 0;
}

int tfl_model_num_ops(const tfl_model *m)
{
    return m ? m->nops : 0;
}

const tfl_tensor *tfl_model_tensor(const tfl_model *m, int i)
{
    return m && i >= 0 && i < m->ntensors ? &m->tensors[i] : NULL;
}

const tfl_op *tfl_model_op(const tfl_model *m, int i)
{
    return m && i >= 0 && i < m->nops ? &m->ops[i] : NULL;
}

int tfl_model_num_inputs(const tfl_model *m)
{
    return m ? m->ninputs : 0;
}

int tfl_model_num_outputs(const tfl_model *m)
{
    return m ? m->noutputs : 0;
}

int tfl_model_input(const tfl_model *m, int i)
{
    return m && i >= 0 && i < m->ninputs ? m->inputs[i] : -1;
}

int tfl_model_output(const tfl_model *m, int i)
{
    return m && i >= 0 && i < m->noutputs ? m->outputs[i] : -1;
}

int tfl_model_find_tensor(const tfl_model *m, const char *name)
{
    if (!m || !name)
        return -1;
    for (int i = 0; i < m->ntensors; i++)
        if (strcmp(m->tensors[i].name, name) == 0)
            return i;
    return -1;
}

size_t tfl_tensor_count(const tfl_tensor *t)
{
    size_t n = 1;
    for (int d = 0; d < t->ndims; d++)
        n *= (size_t)t->dims[d];
    return n;
}

float tfl_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t bits;
    if (exp == 0x1f) {
        bits = sign | 0x7f800000u | (man << 13);          /* inf, NaN (payload kept) */
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (man << 13); /* normal: rebias 15 -> 127 */
    } else if (man == 0) {
        bits = sign;                                      /* +-0 */
    } else {
        /* Subnormal half: normalise the mantissa into a normal float. */
        int e = -1;
        do {
            man <<= 1;
            e++;
        } while (!(man & 0x400u));
        bits = sign | ((uint32_t)(112 - e) << 23) | ((man & 0x3ffu) << 13);
    }
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}
