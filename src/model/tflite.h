/*
 * tflite.h - a bounds-checked reader for TensorFlow Lite flatbuffer models.
 *
 *   char err[256];
 *   tfl_model *m;
 *   if (tfl_model_load_file("models/hand_landmark_full.tflite", &m, err, sizeof err) < 0)
 *       fprintf(stderr, "%s\n", err);
 *   ... tfl_model_tensor(m, i) / tfl_model_op(m, i) ...
 *   tfl_model_destroy(m);
 *
 * A model file is untrusted input: every offset, vector length and string is
 * checked against the buffer before use; a truncated or corrupted file gives
 * LQ_EFORMAT with a message naming the table and byte offset at fault, never a
 * crash. Only the first subgraph is read (the MediaPipe models have one).
 *
 * The reader decodes what the graph builder needs into plain C structs owned by
 * the model: tensors (name, shape, type, constant buffer), operators (builtin
 * code, inputs, outputs, options), graph inputs and outputs. Constant buffers
 * point into the loaded file, which the model keeps alive.
 *
 * Thread-safety: a loaded model is immutable and may be read from any thread.
 */
#ifndef LQ_MODEL_TFLITE_H
#define LQ_MODEL_TFLITE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define TFL_MAX_DIMS 6
#define TFL_MAX_OP_IO 8                     /* inputs or outputs per operator */
#define TFL_MAX_FILE_BYTES (256u << 20)     /* refuse larger model files */
#define TFL_MAX_TENSORS 65536
#define TFL_MAX_OPS 65536
#define TFL_MAX_GRAPH_IO 64                 /* graph inputs or outputs */

/* TFLite TensorType values we understand (schema numbering). */
enum tfl_type {
    TFL_FLOAT32 = 0,
    TFL_FLOAT16 = 1,
    TFL_INT32 = 2,
    TFL_UINT8 = 3,
    TFL_INT64 = 4,
    TFL_INT8 = 9,
};

/* TFLite BuiltinOperator values (schema numbering) used by the models. */
enum tfl_builtin {
    TFL_OP_ADD = 0,
    TFL_OP_CONCATENATION = 2,
    TFL_OP_CONV_2D = 3,
    TFL_OP_DEPTHWISE_CONV_2D = 4,
    TFL_OP_DEQUANTIZE = 6,
    TFL_OP_FULLY_CONNECTED = 9,
    TFL_OP_LOGISTIC = 14,
    TFL_OP_MAX_POOL_2D = 17,
    TFL_OP_RESHAPE = 22,
    TFL_OP_RESIZE_BILINEAR = 23,
    TFL_OP_PAD = 34,
    TFL_OP_MEAN = 40,
    TFL_OP_PRELU = 54,
};

enum tfl_padding { TFL_PAD_SAME = 0, TFL_PAD_VALID = 1 };

enum tfl_activation {
    TFL_ACT_NONE = 0,
    TFL_ACT_RELU = 1,
    TFL_ACT_RELU_N1_TO_1 = 2,
    TFL_ACT_RELU6 = 3,
    TFL_ACT_TANH = 4,
    TFL_ACT_SIGN_BIT = 5,
};

typedef struct tfl_tensor {
    const char *name;          /* NUL-terminated copy owned by the model */
    int ndims;
    int dims[TFL_MAX_DIMS];
    enum tfl_type type;
    const uint8_t *data;       /* constant contents, or NULL for activations */
    size_t data_len;           /* bytes at data */
} tfl_tensor;

/* Options, decoded for the operators that have them; absent fields take the
 * schema defaults: SAME padding, no activation, dilation 1, and stride,
 * filter size and depth multiplier 0 (converters always write these; the
 * graph builder refuses a zero stride or filter). */
typedef struct tfl_op_options {
    enum tfl_padding padding;
    int stride_w, stride_h;
    int dilation_w, dilation_h;
    int filter_w, filter_h;            /* pools */
    int depth_multiplier;              /* depthwise conv */
    enum tfl_activation activation;    /* fused activation */
    int axis;                          /* concatenation */
    int keep_dims;                     /* mean, fully connected */
    int align_corners;                 /* resize bilinear */
    int half_pixel_centers;            /* resize bilinear */
    int weights_format;                /* fully connected: 0 = default */
    int new_shape[TFL_MAX_DIMS];       /* reshape (if given in options) */
    int new_shape_len;                 /* -1 when absent */
} tfl_op_options;

typedef struct tfl_op {
    int builtin;                       /* enum tfl_builtin value (others are refused) */
    const char *builtin_name;          /* "CONV_2D" (static storage) */
    int version;
    int ninputs, noutputs;
    int inputs[TFL_MAX_OP_IO];         /* tensor indices; -1 = optional absent */
    int outputs[TFL_MAX_OP_IO];
    tfl_op_options opt;
} tfl_op;

typedef struct tfl_model tfl_model;

/* Loads and validates a model. On failure returns LQ_EFORMAT, LQ_EUNSUPPORTED,
 * LQ_ELIMIT, LQ_EIO, LQ_ENOENT or LQ_ENOMEM, writes a one-line reason into
 * err (if errlen > 0) and leaves *out untouched.
 *
 * What the reader checks: the "TFL3" identifier and schema version 3; every
 * table, vtable, vector, string and buffer lies inside the file; tensor and
 * operator indices are in range; shapes have at most TFL_MAX_DIMS
 * non-negative dimensions; a constant buffer's size matches its tensor's
 * shape and type. Refused with LQ_EUNSUPPORTED (and named in err): an
 * operator outside enum tfl_builtin (e.g. "operator SOFTMAX (25) is not
 * supported"), custom operators, tensor types outside enum tfl_type, sparse
 * and variable tensors. Constant data stored outside the flatbuffer
 * (Buffer.offset/size, used by models over 2 GB) is supported within the
 * TFL_MAX_FILE_BYTES cap. Tensor names point into the model's copy of the
 * file. The operator code is the larger of deprecated_builtin_code and
 * builtin_code. */
int tfl_model_load_file(const char *path, tfl_model **out, char *err, size_t errlen) LQ_NODISCARD;

/* Same, from memory; the buffer is copied, the caller keeps ownership of buf. */
int tfl_model_load_buffer(const uint8_t *buf, size_t len, tfl_model **out, char *err,
                          size_t errlen) LQ_NODISCARD;

void tfl_model_destroy(tfl_model *m);

int tfl_model_num_tensors(const tfl_model *m);
int tfl_model_num_ops(const tfl_model *m);
const tfl_tensor *tfl_model_tensor(const tfl_model *m, int i);   /* NULL if out of range */
const tfl_op *tfl_model_op(const tfl_model *m, int i);           /* NULL if out of range */

int tfl_model_num_inputs(const tfl_model *m);
int tfl_model_num_outputs(const tfl_model *m);
int tfl_model_input(const tfl_model *m, int i);    /* tensor index, -1 if out of range */
int tfl_model_output(const tfl_model *m, int i);

/* Number of elements of a tensor (product of dims; 1 for a scalar). */
size_t tfl_tensor_count(const tfl_tensor *t);

/* Index of the tensor with this name, or -1. */
int tfl_model_find_tensor(const tfl_model *m, const char *name);

/* "CONV_2D" for a builtin code of the schema; "UNKNOWN" past its end. */
const char *tfl_builtin_name(int builtin);

/* Converts IEEE half floats to float32 (subnormals, inf and NaN preserved). */
float tfl_half_to_float(uint16_t h);

#endif
