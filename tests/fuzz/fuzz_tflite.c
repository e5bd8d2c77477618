/*
 * fuzz_tflite.c - libFuzzer target for the TFLite reader and the graph
 * validation behind xg_net_create (the XNNPACK runtime itself is not run:
 * it is not instrumented and slow to create).
 *
 *   CC=clang cmake -S . -B build-fuzz -DLQ_FUZZ=ON && cmake --build build-fuzz --target fuzz_tflite
 *   build-fuzz/tests/fuzz/fuzz_tflite -max_total_time=120 /tmp/work tests/fuzz/corpus/tflite
 *
 * With LQ_FUZZ_RUN=1 in the environment, a net that builds is also run on
 * XNNPACK (runner + invoke), when its inputs and outputs are small: this
 * checks that nothing the validation accepts trips XNNPACK's asserts.
 *
 * Invariants checked beyond "no crash": a failed load returns one of the
 * documented codes with an "tflite: " message; a loaded model's names,
 * shapes, indices and constant buffers are all readable and consistent.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "model/tflite.h"
#include "model/xgraph.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t type_bytes(enum tfl_type t)
{
    switch (t) {
    case TFL_FLOAT32: case TFL_INT32: return 4;
    case TFL_FLOAT16: return 2;
    case TFL_INT64: return 8;
    default: return 1;
    }
}

static void check_model(const tfl_model *m)
{
    int nt = tfl_model_num_tensors(m);
    volatile unsigned sink = 0;
    for (int i = 0; i < nt; i++) {
        const tfl_tensor *t = tfl_model_tensor(m, i);
        sink += (unsigned)strlen(t->name);
        if (t->ndims < 0 || t->ndims > TFL_MAX_DIMS)
            abort();
        for (int d = 0; d < t->ndims; d++)
            if (t->dims[d] < 0)
                abort();
        if (t->data) {
            if (t->data_len != tfl_tensor_count(t) * type_bytes(t->type))
                abort();
            for (size_t k = 0; k < t->data_len; k++)
                sink += t->data[k];
        }
    }
    for (int i = 0; i < tfl_model_num_ops(m); i++) {
        const tfl_op *op = tfl_model_op(m, i);
        if (op->ninputs > TFL_MAX_OP_IO || op->noutputs > TFL_MAX_OP_IO)
            abort();
        for (int k = 0; k < op->ninputs; k++)
            if (op->inputs[k] < -1 || op->inputs[k] >= nt)
                abort();
        for (int k = 0; k < op->noutputs; k++)
            if (op->outputs[k] < 0 || op->outputs[k] >= nt)
                abort();
        sink += (unsigned)strlen(op->builtin_name);
    }
    for (int i = 0; i < tfl_model_num_inputs(m); i++)
        if (!tfl_model_tensor(m, tfl_model_input(m, i)))
            abort();
    for (int i = 0; i < tfl_model_num_outputs(m); i++)
        if (!tfl_model_tensor(m, tfl_model_output(m, i)))
            abort();
    (void)sink;
}

/* Runs a net whose graph inputs and outputs are small; XNNPACK must accept
 * everything the validation accepted. */
static void run_small_net(const xg_net *net)
{
    size_t total = 0;
    for (int i = 0; i < xg_net_num_inputs(net); i++)
        total += xg_net_input_size(net, i);
    for (int i = 0; i < xg_net_num_outputs(net); i++)
        total += xg_net_output_size(net, i);
    if (total > 65536)
        return;
    xg_runner *r = NULL;
    if (xg_runner_create(net, 1, &r) != 0) {
        fprintf(stderr, "fuzz: XNNPACK refused a validated net\n");
        abort();
    }
    for (int i = 0; i < xg_net_num_inputs(net); i++)
        memset(xg_runner_input(r, i), 0, xg_net_input_size(net, i) * sizeof(float));
    if (xg_runner_invoke(r) != 0)
        abort();
    xg_runner_destroy(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init, run;
    if (!init) {
        lq_log_set_level(LQ_LOG_OFF);
        const char *e = getenv("LQ_FUZZ_RUN");
        run = e && e[0] == '1';
        init = 1;
    }
    char err[256];
    tfl_model *m = NULL;
    int rc = tfl_model_load_buffer(data, size, &m, err, sizeof err);
    if (rc < 0) {
        if ((rc != LQ_EFORMAT && rc != LQ_EUNSUPPORTED && rc != LQ_ELIMIT) || m ||
            strncmp(err, "tflite: ", 8) != 0)
            abort();
        return 0;
    }
    check_model(m);
    xg_net *net = NULL;
    rc = xg_net_create(m, &net, err, sizeof err);
    if (rc < 0) {
        if ((rc != LQ_EFORMAT && rc != LQ_EUNSUPPORTED && rc != LQ_ELIMIT) || net ||
            strncmp(err, "xgraph: ", 8) != 0)
            abort();
    } else {
        for (int i = 0; i < xg_net_num_outputs(net); i++)
            if (!xg_net_output_name(net, i) || xg_net_output_size(net, i) > (1u << 28))
                abort();
        if (run)
            run_small_net(net);
        xg_net_destroy(net);
    }
    tfl_model_destroy(m);
    return 0;
}
