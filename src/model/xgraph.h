/*
 * xgraph.h - runs a TFLite model on XNNPACK.
 *
 *   xg_net *net;                      // compiled once, shared read-only
 *   xg_net_create(model, &net, err, sizeof err);
 *   xg_runner *r;                     // one per worker thread
 *   xg_runner_create(net, 1, &r);
 *   float *in = xg_runner_input(r, 0);          // fill input 0
 *   xg_runner_invoke(r);
 *   const float *out = xg_runner_output(r, xg_net_find_output(net, "Identity"));
 *   xg_runner_destroy(r); xg_net_destroy(net);
 *
 * xg_net_create validates the TFLite graph before XNNPACK sees it (Debian's
 * XNNPACK keeps assert() on and trusts its input): one producer per tensor,
 * inputs defined before use, shape inference for every operator checked
 * against the declared shapes, operators whose results nobody reads removed.
 * Float16 constants behind DEQUANTIZE are converted to float32 once here.
 * An unsupported operator or option is refused with LQ_EUNSUPPORTED and its
 * name in err.
 *
 * Supported: DEQUANTIZE (fp16 constants), CONV_2D, DEPTHWISE_CONV_2D, ADD,
 * MEAN (global average over H,W), FULLY_CONNECTED, LOGISTIC, MAX_POOL_2D,
 * PRELU, PAD (channel padding), RESIZE_BILINEAR, RESHAPE, and CONCATENATION
 * when it feeds graph outputs only (batch 1, along axis 1).
 *
 * Ownership: the net keeps what it needs of the model (weights are copied to
 * float32); the model may be destroyed after xg_net_create. A net must outlive
 * its runners. Thread-safety: a net is immutable after creation; runners may
 * be created from any thread concurrently; a runner is used by one thread at
 * a time. Input and output buffers belong to the runner, are float32 in the
 * model's NHWC layout, and stay valid until xg_runner_destroy.
 */
#ifndef LQ_MODEL_XGRAPH_H
#define LQ_MODEL_XGRAPH_H

#include <stddef.h>

#include "base/error.h"
#include "model/tflite.h"

#define XG_MAX_IO 8

typedef struct xg_net xg_net;
typedef struct xg_runner xg_runner;

/* Process-wide, idempotent and thread-safe initialisation of XNNPACK. */
int xg_init(void) LQ_NODISCARD;

int xg_net_create(const tfl_model *model, xg_net **out, char *err, size_t errlen) LQ_NODISCARD;
void xg_net_destroy(xg_net *net);

int xg_net_num_inputs(const xg_net *net);
int xg_net_num_outputs(const xg_net *net);
/* Shape of graph input/output i; returns ndims and fills dims (TFL_MAX_DIMS). */
int xg_net_input_shape(const xg_net *net, int i, int dims[TFL_MAX_DIMS]);
int xg_net_output_shape(const xg_net *net, int i, int dims[TFL_MAX_DIMS]);
/* Number of float elements of input/output i. */
size_t xg_net_input_size(const xg_net *net, int i);
size_t xg_net_output_size(const xg_net *net, int i);
/* Index of the graph output whose tensor has this name, or -1. */
int xg_net_find_output(const xg_net *net, const char *name);
/* Tensor name of graph output i (owned by the net), NULL if out of range. */
const char *xg_net_output_name(const xg_net *net, int i);

/* threads: 1 = run on the calling thread; 2..64 = a private pthreadpool.
 * Builds the runner's own XNNPACK subgraph and runtime (weights are packed
 * per runner) and its input/output buffers, which are zeroed, 64-byte
 * aligned and padded by XNN_EXTRA_BYTES. Returns LQ_EINVAL, LQ_ENOMEM or
 * LQ_EMODEL (XNNPACK refused; the reason is logged). */
int xg_runner_create(const xg_net *net, int threads, xg_runner **out) LQ_NODISCARD;
void xg_runner_destroy(xg_runner *r);

float *xg_runner_input(xg_runner *r, int i);          /* NULL if out of range */
const float *xg_runner_output(const xg_runner *r, int i);
int xg_runner_invoke(xg_runner *r) LQ_NODISCARD;       /* LQ_EMODEL on failure */

#endif
