/*
 * tfl_builder.h - writes small TFLite flatbuffers for tests and the fuzz
 * seed corpus (never linked into the product).
 *
 *   tflb *b = tflb_create();
 *   int x = tflb_tensor(b, "x", TFL_FLOAT32, (int[]){1, 4, 4, 2}, 4, NULL, 0);
 *   int y = tflb_tensor(b, "y", TFL_FLOAT32, (int[]){1, 4, 4, 2}, 4, NULL, 0);
 *   tflb_op(b, TFL_OP_LOGISTIC, (int[]){x}, 1, (int[]){y}, 1, NULL);
 *   tflb_io(b, (int[]){x}, 1, (int[]){y}, 1);
 *   size_t len; uint8_t *file = tflb_finish(b, &len);   // malloc'd; free()
 *   tflb_destroy(b);
 *
 * Options are given as raw schema fields (id, byte size, value) of the
 * operator's BuiltinOptions table, plus an optional int vector field, so a
 * test can also write values the reader must refuse. Out of memory aborts
 * (test code only).
 */
#ifndef LQ_TEST_TFL_BUILDER_H
#define LQ_TEST_TFL_BUILDER_H

#include <stddef.h>
#include <stdint.h>

#include "model/tflite.h"

typedef struct tflb tflb;

typedef struct tflb_field {
    int id;        /* field id in the options table */
    int size;      /* 1, 4 or 8 bytes */
    int64_t value;
} tflb_field;

typedef struct tflb_opts {
    int type;                  /* BuiltinOptions union member (0 = none) */
    int nfields;
    tflb_field field[8];
    int vec_id;                /* an int vector field (e.g. new_shape), -1 = none */
    int nvec;
    int vec[TFL_MAX_DIMS];
} tflb_opts;

/* BuiltinOptions union members used by the tests. */
enum {
    TFLB_OPT_CONV2D = 1, TFLB_OPT_DEPTHWISE = 2, TFLB_OPT_POOL2D = 5,
    TFLB_OPT_FULLY_CONNECTED = 8, TFLB_OPT_CONCATENATION = 10, TFLB_OPT_ADD = 11,
    TFLB_OPT_RESIZE_BILINEAR = 15, TFLB_OPT_RESHAPE = 17, TFLB_OPT_REDUCER = 27,
};

tflb *tflb_create(void);
void tflb_destroy(tflb *b);

/* Adds a tensor; data (len bytes) becomes its constant buffer when non-NULL.
 * Returns the tensor index. */
int tflb_tensor(tflb *b, const char *name, int type, const int *dims, int ndims,
                const void *data, size_t len);

/* Adds an operator with builtin code `builtin` (any value, even unknown);
 * opts may be NULL. Returns the operator index. */
int tflb_op(tflb *b, int builtin, const int *in, int nin, const int *out, int nout,
            const tflb_opts *opts);

void tflb_io(tflb *b, const int *in, int nin, const int *out, int nout);

/* How operator codes are written: 0 = both fields (default), 1 = only the
 * old byte deprecated_builtin_code, 2 = only the int builtin_code. */
void tflb_set_opcode_style(tflb *b, int style);

/* 1 = constant data stored after the flatbuffer, found through
 * Buffer.offset/size (the >2 GB layout); 0 = inline (default). */
void tflb_set_external_buffers(tflb *b, int on);

/* Serialises the model; the caller frees the result. */
uint8_t *tflb_finish(tflb *b, size_t *len);

/* Little helpers for option tables. */
tflb_opts tflb_opts_make(int type);
void tflb_opts_add(tflb_opts *o, int id, int size, int64_t value);

/* Float32 constant of n values from a simple deterministic generator. */
void tflb_fill_random(float *out, size_t n, uint32_t *state, float lo, float hi);
uint32_t tflb_rand(uint32_t *state);

/* IEEE half from float (round to nearest even), for fp16 constants. */
uint16_t tflb_float_to_half(float f);

#endif
