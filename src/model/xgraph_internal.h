/*
 * xgraph_internal.h - the validated plan shared by the files of the xgraph
 * module (xg__ names). Not part of the public API.
 *
 * xg__plan_build (xgraph_plan.c) turns a tfl_model into a plan: a list of
 * XNNPACK values (one per TFLite tensor that survives, plus a few extra ones)
 * and nodes with every parameter resolved and every shape checked. The plan
 * owns float32 copies of all constants. xgraph.c turns a plan into an
 * XNNPACK subgraph once per runner. A plan is immutable once built.
 */
#ifndef LQ_MODEL_XGRAPH_INTERNAL_H
#define LQ_MODEL_XGRAPH_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "model/tflite.h"
#include "model/xgraph.h"

#define XG__MAX_SLICES TFL_MAX_OP_IO

enum xg__node_kind {
    XG__CONV,
    XG__DWCONV,
    XG__ADD,
    XG__GAP,          /* MEAN over H,W */
    XG__FC,
    XG__SIGMOID,
    XG__MAXPOOL,
    XG__PRELU,
    XG__PAD,
    XG__RESIZE,
    XG__RESHAPE,
};

typedef struct xg__value {
    int ndims;
    size_t dims[TFL_MAX_DIMS];
    const float *data;     /* static data owned by the plan, or NULL */
    uint32_t flags;        /* XNN_VALUE_FLAG_EXTERNAL_* */
    int used;              /* referenced by a node or an external slot */
} xg__value;

typedef struct xg__node {
    enum xg__node_kind kind;
    int op;                    /* source TFLite operator index */
    uint32_t in[3];            /* value ids; UINT32_MAX = none */
    uint32_t out;
    uint32_t flags;
    float out_min, out_max;
    /* convolution, depthwise convolution, max pooling */
    uint32_t kh, kw, sh, sw, dh, dw;
    uint32_t pad_top, pad_right, pad_bottom, pad_left;
    size_t in_channels, out_channels;     /* conv: group in/out; dw: in, multiplier */
    /* pad */
    size_t pre[TFL_MAX_DIMS], post[TFL_MAX_DIMS];
    /* resize */
    size_t new_h, new_w;
    /* reshape */
    int ndims;
    size_t shape[TFL_MAX_DIMS];
} xg__node;

/* One external slot: a value whose memory is `offset` floats into the I/O
 * buffer of a graph input or output. A CONCATENATION feeding a graph output
 * has one slot per input; other I/O have one slot at offset 0 (or none for a
 * graph input nothing reads). */
typedef struct xg__slot {
    uint32_t value;
    size_t offset;
} xg__slot;

typedef struct xg__io {
    char name[128];
    int ndims;
    int dims[TFL_MAX_DIMS];
    size_t count;              /* floats */
    int nslots;
    xg__slot slot[XG__MAX_SLICES];
} xg__io;

typedef struct xg__plan {
    uint32_t nvalues;
    xg__value *values;
    int nnodes;
    xg__node *nodes;
    int ninputs, noutputs;
    xg__io inputs[XG_MAX_IO];
    xg__io outputs[XG_MAX_IO];
    /* float32 constant blocks owned by the plan */
    int nblocks, cap_blocks;
    float **blocks;
} xg__plan;

/* Validates the model and fills *plan (zeroed by the caller). On failure
 * returns LQ_EFORMAT / LQ_EUNSUPPORTED / LQ_ELIMIT / LQ_ENOMEM with a reason
 * in err; the caller then frees the partial plan with xg__plan_free. */
int xg__plan_build(const tfl_model *m, xg__plan *plan, char *err, size_t errlen);
void xg__plan_free(xg__plan *plan);

#endif
