/*
 * tfl_builder.c - a minimal flatbuffer writer for TFLite test models.
 *
 * Objects are laid out top-down: a parent table is written first with
 * placeholder offsets that are patched once each child has been appended
 * after it, so every uoffset points forward as the format requires. Each
 * vtable sits just before its table.
 */
#include "tfl_builder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TFLB_MAX_TENSORS 256
#define TFLB_MAX_OPS 128

typedef struct tensor_def {
    char name[64];
    int type;
    int ndims;
    int dims[TFL_MAX_DIMS];
    uint8_t *data;
    size_t len;
    int buffer;       /* buffer index (0 = none) */
} tensor_def;

typedef struct op_def {
    int builtin;
    int nin, nout;
    int in[TFL_MAX_OP_IO], out[TFL_MAX_OP_IO];
    int has_opts;
    tflb_opts opts;
} op_def;

struct tflb {
    int ntensors, nops, nin, nout;
    tensor_def t[TFLB_MAX_TENSORS];
    op_def op[TFLB_MAX_OPS];
    int in[TFL_MAX_GRAPH_IO], out[TFL_MAX_GRAPH_IO];
    int opcode_style;
    int external;
};

void tflb_set_opcode_style(tflb *b, int style)
{
    b->opcode_style = style;
}

void tflb_set_external_buffers(tflb *b, int on)
{
    b->external = on;
}

static void *xmalloc(size_t n)
{
    void *p = calloc(1, n ? n : 1);
    if (!p)
        abort();
    return p;
}

tflb *tflb_create(void)
{
    return xmalloc(sizeof(tflb));
}

void tflb_destroy(tflb *b)
{
    if (!b)
        return;
    for (int i = 0; i < b->ntensors; i++)
        free(b->t[i].data);
    free(b);
}

int tflb_tensor(tflb *b, const char *name, int type, const int *dims, int ndims,
                const void *data, size_t len)
{
    if (b->ntensors >= TFLB_MAX_TENSORS || ndims > TFL_MAX_DIMS)
        abort();
    tensor_def *t = &b->t[b->ntensors];
    snprintf(t->name, sizeof t->name, "%s", name);
    t->type = type;
    t->ndims = ndims;
    if (ndims)
        memcpy(t->dims, dims, (size_t)ndims * sizeof *dims);
    if (data) {
        t->data = xmalloc(len);
        memcpy(t->data, data, len);
        t->len = len;
    }
    return b->ntensors++;
}

int tflb_op(tflb *b, int builtin, const int *in, int nin, const int *out, int nout,
            const tflb_opts *opts)
{
    if (b->nops >= TFLB_MAX_OPS || nin > TFL_MAX_OP_IO || nout > TFL_MAX_OP_IO)
        abort();
    op_def *o = &b->op[b->nops];
    o->builtin = builtin;
    o->nin = nin;
    o->nout = nout;
    if (nin)
        memcpy(o->in, in, (size_t)nin * sizeof *in);
    if (nout)
        memcpy(o->out, out, (size_t)nout * sizeof *out);
    if (opts) {
        o->has_opts = 1;
        o->opts = *opts;
    }
    return b->nops++;
}

void tflb_io(tflb *b, const int *in, int nin, const int *out, int nout)
{
    b->nin = nin;
    b->nout = nout;
    memcpy(b->in, in, (size_t)nin * sizeof *in);
    memcpy(b->out, out, (size_t)nout * sizeof *out);
}

tflb_opts tflb_opts_make(int type)
{
    tflb_opts o;
    memset(&o, 0, sizeof o);
    o.type = type;
    o.vec_id = -1;
    return o;
}

void tflb_opts_add(tflb_opts *o, int id, int size, int64_t value)
{
    if (o->nfields >= 8)
        abort();
    o->field[o->nfields++] = (tflb_field){id, size, value};
}

uint32_t tflb_rand(uint32_t *s)
{
    /* xorshift32 */
    uint32_t x = *s ? *s : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

void tflb_fill_random(float *out, size_t n, uint32_t *state, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        out[i] = lo + (hi - lo) * (float)(tflb_rand(state) >> 8) / 16777216.0f;
}

uint16_t tflb_float_to_half(float f)
{
    uint32_t x;
    memcpy(&x, &f, 4);
    uint32_t sign = (x >> 16) & 0x8000u;
    float a = fabsf(f);
    if (isnan(f))
        return (uint16_t)(sign | 0x7e00u);
    if (a >= 65520.0f)
        return (uint16_t)(sign | 0x7c00u);
    if (a < 6.103515625e-05f) {   /* subnormal half: multiples of 2^-24 */
        float q = nearbyintf(a * 16777216.0f);
        return (uint16_t)(sign | (uint32_t)q);
    }
    int e;
    float m = frexpf(a, &e);            /* a = m * 2^e, m in [0.5,1) */
    float q = nearbyintf(m * 2048.0f);  /* 11 significant bits */
    if (q >= 2048.0f) {
        q /= 2.0f;
        e++;
    }
    uint32_t hexp = (uint32_t)(e - 1 + 15);
    return (uint16_t)(sign | (hexp << 10) | ((uint32_t)q - 1024u));
}

/* ---- the writer -------------------------------------------------------- */

typedef struct wr {
    uint8_t *p;
    size_t len, cap;
} wr;

static void w_need(wr *w, size_t n)
{
    if (w->len + n <= w->cap)
        return;
    size_t cap = w->cap ? w->cap : 1024;
    while (cap < w->len + n)
        cap *= 2;
    uint8_t *np = realloc(w->p, cap);
    if (!np)
        abort();
    memset(np + w->cap, 0, cap - w->cap);
    w->p = np;
    w->cap = cap;
}

static void w_align(wr *w, size_t a)
{
    size_t pad = (a - w->len % a) % a;
    w_need(w, pad);
    memset(w->p + w->len, 0, pad);
    w->len += pad;
}

static void w_put(wr *w, uint64_t v, int size)
{
    w_need(w, (size_t)size);
    for (int i = 0; i < size; i++)
        w->p[w->len++] = (uint8_t)(v >> (8 * i));
}

static void w_set32(wr *w, size_t at, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        w->p[at + (size_t)i] = (uint8_t)(v >> (8 * i));
}

/* Points the uoffset at `field` to the current end (after aligning). */
static void w_patch_here(wr *w, size_t field, size_t align)
{
    w_align(w, align);
    w_set32(w, field, (uint32_t)(w->len - field));
}

typedef struct wfield {
    int id;
    int size;      /* 1, 4, 8; 0 = uoffset placeholder */
    uint64_t value;
    size_t at;     /* out: where it was written */
} wfield;

/* Writes vtable + table; fields in the given order. Returns table start. */
static size_t w_table(wr *w, wfield *f, int n)
{
    int maxid = -1;
    for (int i = 0; i < n; i++)
        if (f[i].id > maxid)
            maxid = f[i].id;
    /* Table layout: soffset, then fields each aligned to its size. */
    size_t off[32] = {0};
    size_t tsize = 4;
    for (int i = 0; i < n; i++) {
        size_t sz = f[i].size ? (size_t)f[i].size : 4;
        tsize = (tsize + sz - 1) / sz * sz;
        off[i] = tsize;
        tsize += sz;
    }
    size_t vtsize = 4 + 2 * (size_t)(maxid + 1);
    /* vtable (2-byte aligned) directly followed by the 8-aligned table. */
    w_align(w, 2);
    size_t pad = (8 - (w->len + vtsize) % 8) % 8;
    w_need(w, pad);
    w->len += pad;
    size_t vt = w->len;
    w_put(w, vtsize, 2);
    w_put(w, tsize, 2);
    for (int id = 0; id <= maxid; id++) {
        uint64_t fo = 0;
        for (int i = 0; i < n; i++)
            if (f[i].id == id)
                fo = off[i];
        w_put(w, fo, 2);
    }
    size_t t = w->len;
    w_need(w, tsize);
    memset(w->p + t, 0, tsize);
    w_set32(w, t, (uint32_t)(t - vt));
    for (int i = 0; i < n; i++) {
        f[i].at = t + off[i];
        size_t sz = f[i].size ? (size_t)f[i].size : 4;
        for (size_t k = 0; k < sz; k++)
            w->p[f[i].at + k] = (uint8_t)(f[i].value >> (8 * k));
    }
    w->len = t + tsize;
    return t;
}

static void w_ints(wr *w, size_t field, const int *v, int n)
{
    w_patch_here(w, field, 4);
    w_put(w, (uint32_t)n, 4);
    for (int i = 0; i < n; i++)
        w_put(w, (uint32_t)v[i], 4);
}

static void w_string(wr *w, size_t field, const char *s)
{
    size_t n = strlen(s);
    w_patch_here(w, field, 4);
    w_put(w, (uint32_t)n, 4);
    w_need(w, n + 1);
    memcpy(w->p + w->len, s, n + 1);
    w->len += n + 1;
}

/* A vector of n table offsets; returns where its elements start. */
static size_t w_table_vec(wr *w, size_t field, int n)
{
    w_patch_here(w, field, 4);
    w_put(w, (uint32_t)n, 4);
    size_t first = w->len;
    for (int i = 0; i < n; i++)
        w_put(w, 0, 4);
    return first;
}

static void set_ref(wr *w, size_t field, size_t target)
{
    w_set32(w, field, (uint32_t)(target - field));
}

static size_t write_tensor(wr *w, const tensor_def *t)
{
    wfield f[] = {{0, 0, 0, 0}, {1, 1, (uint64_t)t->type, 0}, {2, 4, (uint64_t)t->buffer, 0},
                  {3, 0, 0, 0}};
    size_t tab = w_table(w, f, 4);
    w_ints(w, f[0].at, t->dims, t->ndims);
    w_string(w, f[3].at, t->name);
    return tab;
}

static void write_options(wr *w, size_t field, const tflb_opts *o)
{
    wfield f[10];
    int n = 0;
    for (int i = 0; i < o->nfields; i++)
        f[n++] = (wfield){o->field[i].id, o->field[i].size, (uint64_t)o->field[i].value, 0};
    if (o->vec_id >= 0)
        f[n++] = (wfield){o->vec_id, 0, 0, 0};
    set_ref(w, field, w_table(w, f, n));
    if (o->vec_id >= 0)
        w_ints(w, f[n - 1].at, o->vec, o->nvec);
}

static size_t write_operator(wr *w, const op_def *op, int opcode)
{
    int typed = op->has_opts && op->opts.type != 0;
    wfield f[5] = {{0, 4, (uint64_t)opcode, 0}, {1, 0, 0, 0}, {2, 0, 0, 0},
                   {3, 1, typed ? (uint64_t)op->opts.type : 0, 0}, {4, 0, 0, 0}};
    size_t tab = w_table(w, f, typed ? 5 : 4);
    w_ints(w, f[1].at, op->in, op->nin);
    w_ints(w, f[2].at, op->out, op->nout);
    if (typed)
        write_options(w, f[4].at, &op->opts);
    return tab;
}

/* With `ext`, writes Buffer.offset/size placeholders; *offset_at gets the
 * position of the offset field to fill in once the data is placed. */
static size_t write_buffer(wr *w, const tensor_def *t, int ext, size_t *offset_at)
{
    if (t && ext) {
        wfield e[] = {{1, 8, 0, 0}, {2, 8, (uint64_t)t->len, 0}};
        size_t tab = w_table(w, e, 2);
        *offset_at = e[0].at;
        return tab;
    }
    wfield f[] = {{0, 0, 0, 0}};
    size_t tab = w_table(w, f, t ? 1 : 0);
    if (t) {
        /* data 16-byte aligned, as converters write it */
        w_align(w, 4);
        while ((w->len + 4) % 16)
            w_put(w, 0, 4);
        set_ref(w, f[0].at, w->len);
        w_put(w, (uint32_t)t->len, 4);
        w_need(w, t->len);
        memcpy(w->p + w->len, t->data, t->len);
        w->len += t->len;
    }
    return tab;
}

uint8_t *tflb_finish(tflb *b, size_t *len)
{
    wr w = {0};
    /* Distinct operator codes. */
    int codes[TFLB_MAX_OPS], ncodes = 0, opcode[TFLB_MAX_OPS];
    for (int i = 0; i < b->nops; i++) {
        int k = 0;
        while (k < ncodes && codes[k] != b->op[i].builtin)
            k++;
        if (k == ncodes)
            codes[ncodes++] = b->op[i].builtin;
        opcode[i] = k;
    }
    /* Buffer 0 is the empty sentinel; constants get 1, 2, ... */
    int nbuf = 1;
    for (int i = 0; i < b->ntensors; i++)
        b->t[i].buffer = b->t[i].data ? nbuf++ : 0;

    w_put(&w, 0, 4);               /* root offset, set below */
    w_put(&w, 0x334c4654u, 4);     /* "TFL3" */
    wfield model[] = {{0, 4, 3, 0}, {1, 0, 0, 0}, {2, 0, 0, 0}, {4, 0, 0, 0}};
    w_set32(&w, 0, (uint32_t)w_table(&w, model, 4));

    size_t el = w_table_vec(&w, model[1].at, ncodes);
    for (int k = 0; k < ncodes; k++) {
        int dep = codes[k] < 127 ? codes[k] : 127;
        wfield oc[] = {{0, 1, (uint64_t)dep, 0}, {2, 4, 1, 0}, {3, 4, (uint64_t)codes[k], 0}};
        wfield *first = b->opcode_style == 2 ? oc + 1 : oc;
        int n = b->opcode_style == 0 ? 3 : 2;
        set_ref(&w, el + 4 * (size_t)k, w_table(&w, first, n));
    }

    el = w_table_vec(&w, model[2].at, 1);
    wfield sg[] = {{0, 0, 0, 0}, {1, 0, 0, 0}, {2, 0, 0, 0}, {3, 0, 0, 0}};
    set_ref(&w, el, w_table(&w, sg, 4));
    el = w_table_vec(&w, sg[0].at, b->ntensors);
    for (int i = 0; i < b->ntensors; i++)
        set_ref(&w, el + 4 * (size_t)i, write_tensor(&w, &b->t[i]));
    w_ints(&w, sg[1].at, b->in, b->nin);
    w_ints(&w, sg[2].at, b->out, b->nout);
    el = w_table_vec(&w, sg[3].at, b->nops);
    for (int i = 0; i < b->nops; i++)
        set_ref(&w, el + 4 * (size_t)i, write_operator(&w, &b->op[i], opcode[i]));

    el = w_table_vec(&w, model[3].at, nbuf);
    size_t dummy, *offset_at = calloc((size_t)nbuf, sizeof *offset_at);
    if (!offset_at)
        abort();
    set_ref(&w, el, write_buffer(&w, NULL, 0, &dummy));
    for (int i = 0, k = 1; i < b->ntensors; i++)
        if (b->t[i].data) {
            set_ref(&w, el + 4 * (size_t)k,
                    write_buffer(&w, &b->t[i], b->external, &offset_at[k]));
            k++;
        }
    if (b->external) {
        for (int i = 0, k = 1; i < b->ntensors; i++)
            if (b->t[i].data) {
                w_align(&w, 16);
                for (int j = 0; j < 8; j++)
                    w.p[offset_at[k] + (size_t)j] = (uint8_t)((uint64_t)w.len >> (8 * j));
                w_need(&w, b->t[i].len);
                memcpy(w.p + w.len, b->t[i].data, b->t[i].len);
                w.len += b->t[i].len;
                k++;
            }
    }
    free(offset_at);
    *len = w.len;
    return w.p;
}
