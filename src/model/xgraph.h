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
 * never a constant or a graph input; inputs defined before use; shape
 * inference for every operator checked against the declared shapes; no
 * empty dimensions; operators whose results nobody reads removed.
 * Float16 constants behind DEQUANTIZE are converted to float32 once here.
 * Errors: LQ_EFORMAT (inconsistent graph), LQ_EUNSUPPORTED (an operator or
 * option we do not run), LQ_ELIMIT, LQ_ENOMEM; the reason, naming the
 * operator index and type and the tensor at fault, goes to err.
 *
 * Supported, with TFLite semantics (checked against a reference executor):
 *   DEQUANTIZE      float16 constants only (folded at load)
 *   CONV_2D         SAME/VALID, any stride and dilation, fused RELU/RELU6/
 *                   RELU_N1_TO_1, optional bias; constant filter, groups = 1
 *   DEPTHWISE_CONV_2D  same options, any depth multiplier
 *   MAX_POOL_2D     SAME/VALID, fused activation; not a 1x1 window
 *   ADD             numpy broadcasting, one operand may be a constant
 *   MEAN            over axes {1,2} of a 4-D tensor, keep_dims or not
 *   FULLY_CONNECTED constant [out,in] weights, default weights format,
 *                   keep_num_dims or flattening (XNN_FLAG_TENSORFLOW_RESHAPE_2D)
 *   LOGISTIC, PRELU (constant slope shaped [...,1,C] on a 4-D input),
 *   PAD (constant zero padding on any axis), RESIZE_BILINEAR (align_corners,
 *   half_pixel_centers or legacy; not both flags), RESHAPE (to the output's
 *   static shape; a shape operand or option must agree with it),
 *   CONCATENATION   only where it produces a graph output from operator
 *                   results that are not graph outputs themselves, with all
 *                   dimensions before the axis equal to 1 (the palm models:
 *                   batch 1, axis 1). XNNPACK has no concatenation here:
 *                   each input becomes an external output written straight
 *                   into its slice of the output buffer.
 * SAME padding is passed to XNNPACK as explicit amounts computed the TFLite
 * way (XNNPACK's own TF-SAME flag is wrong when a stride exceeds the
 * dilated kernel).
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

/* threads: 1 = run on the calling thread; 2..64 = a private pthreadpool
 * whose threads go to sleep after each inference (XNN_FLAG_YIELD_WORKERS).
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
