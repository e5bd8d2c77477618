/*
 * ref_exec.h - a plain C reference executor for TFLite models, used ONLY by
 * tests to check the XNNPACK runner. Simple loops with double accumulators,
 * TFLite semantics, reading the tfl_model directly (no shared code with
 * src/model/xgraph*.c, including its own float16 conversion).
 *
 *   ref_exec *r; ref_exec_create(model, &r, err, sizeof err);
 *   memcpy(ref_exec_tensor(r, tfl_model_input(model, 0)), in, bytes);
 *   ref_exec_run(r, err, sizeof err);
 *   const float *out = ref_exec_tensor(r, tfl_model_output(model, 0));
 *   ref_exec_destroy(r);
 *
 * Operators: those of enum tfl_builtin, in their general TFLite form where
 * cheap (any MEAN axes, any PAD, any CONCATENATION axis, broadcasting ADD
 * and PRELU, all RESIZE_BILINEAR modes). The model must outlive the executor.
 */
#ifndef LQ_TEST_REF_EXEC_H
#define LQ_TEST_REF_EXEC_H

#include <stddef.h>

#include "model/tflite.h"

typedef struct ref_exec ref_exec;

/* 0, or a negative LQ_E* code with a reason in err. */
int ref_exec_create(const tfl_model *m, ref_exec **out, char *err, size_t errlen);
void ref_exec_destroy(ref_exec *r);

/* Float32 storage of tensor t (NULL for non-float tensors). */
float *ref_exec_tensor(ref_exec *r, int t);

/* Runs every operator in order. */
int ref_exec_run(ref_exec *r, char *err, size_t errlen);

/* Independent IEEE half -> float conversion. */
float ref_half_to_float(unsigned h);

#endif
