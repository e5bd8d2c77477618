/*
 * xgraph.c - nets (a validated plan, shared read-only) and runners (one
 * XNNPACK runtime each, with its own input/output buffers).
 *
 * xnn_create_runtime_v2 optimises, and so changes, the subgraph it is given;
 * each runner therefore defines a fresh subgraph from the immutable plan and
 * deletes it once its runtime exists. Static data (weights) belongs to the
 * plan, which outlives every runner of the net.
 */
#include "model/xgraph.h"

#include <math.h>
#include <pthread.h>
#include <pthreadpool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <xnnpack.h>

#include "base/log.h"
#include "model/xalloc.h"
#include "model/xgraph_internal.h"

#define XG_MAX_THREADS 64

struct xg_net {
    xg__plan plan;
};

struct xg_runner {
    const xg_net *net;
    xnn_runtime_t rt;
    pthreadpool_t pool;
    float *in[XG_MAX_IO];
    float *out[XG_MAX_IO];
};

/* ---- initialisation ---------------------------------------------------- */

static pthread_once_t g_init_once = PTHREAD_ONCE_INIT;
static enum xnn_status g_init_status = xnn_status_uninitialized;

static void init_once(void)
{
    g_init_status = xnn_initialize(xa_allocator());
}

int xg_init(void)
{
    if (pthread_once(&g_init_once, init_once) != 0)
        return LQ_EINTERNAL;
    if (g_init_status != xnn_status_success) {
        LQ_ERROR("xgraph", "xnn_initialize failed (status %d)", (int)g_init_status);
        return g_init_status == xnn_status_out_of_memory ? LQ_ENOMEM : LQ_EUNSUPPORTED;
    }
    return 0;
}

/* ---- nets -------------------------------------------------------------- */

int xg_net_create(const tfl_model *model, xg_net **out, char *err, size_t errlen)
{
    if (!model || !out) {
        if (err && errlen)
            snprintf(err, errlen, "xgraph: invalid argument");
        return LQ_EINVAL;
    }
    xg_net *net = calloc(1, sizeof *net);
    if (!net) {
        if (err && errlen)
            snprintf(err, errlen, "xgraph: out of memory");
        return LQ_ENOMEM;
    }
    int rc = xg__plan_build(model, &net->plan, err, errlen);
    if (rc < 0) {
        xg_net_destroy(net);
        return rc;
    }
    *out = net;
    return 0;
}

void xg_net_destroy(xg_net *net)
{
    if (!net)
        return;
    xg__plan_free(&net->plan);
    free(net);
}

int xg_net_num_inputs(const xg_net *net)
{
    return net ? net->plan.ninputs : 0;
}

int xg_net_num_outputs(const xg_net *net)
{
    return net ? net->plan.noutputs : 0;
}

static const xg__io *net_io(const xg_net *net, int i, int output)
{
    if (!net)
        return NULL;
    int n = output ? net->plan.noutputs : net->plan.ninputs;
    if (i < 0 || i >= n)
        return NULL;
    return output ? &net->plan.outputs[i] : &net->plan.inputs[i];
}

static int io_shape(const xg__io *io, int dims[TFL_MAX_DIMS])
{
    if (!io)
        return -1;
    if (dims)
        memcpy(dims, io->dims, sizeof io->dims);
    return io->ndims;
}

int xg_net_input_shape(const xg_net *net, int i, int dims[TFL_MAX_DIMS])
{
    return io_shape(net_io(net, i, 0), dims);
}

int xg_net_output_shape(const xg_net *net, int i, int dims[TFL_MAX_DIMS])
{
    return io_shape(net_io(net, i, 1), dims);
}

size_t xg_net_input_size(const xg_net *net, int i)
{
    const xg__io *io = net_io(net, i, 0);
    return io ? io->count : 0;
}

size_t xg_net_output_size(const xg_net *net, int i)
{
    const xg__io *io = net_io(net, i, 1);
    return io ? io->count : 0;
}

const char *xg_net_output_name(const xg_net *net, int i)
{
    const xg__io *io = net_io(net, i, 1);
    return io ? io->name : NULL;
}

int xg_net_find_output(const xg_net *net, const char *name)
{
    if (!net || !name)
        return -1;
    for (int i = 0; i < net->plan.noutputs; i++)
        if (strcmp(net->plan.outputs[i].name, name) == 0)
            return i;
    return -1;
}

/* ---- subgraph construction --------------------------------------------- */

static enum xnn_status define_node(xnn_subgraph_t sg, const xg__node *n)
{
    switch (n->kind) {
    case XG__CONV:
        return xnn_define_convolution_2d(sg, n->pad_top, n->pad_right, n->pad_bottom,
                                         n->pad_left, n->kh, n->kw, n->sh, n->sw, n->dh, n->dw,
                                         1, n->in_channels, n->out_channels, n->out_min,
                                         n->out_max, n->in[0], n->in[1], n->in[2], n->out,
                                         n->flags);
    case XG__DWCONV:
        return xnn_define_depthwise_convolution_2d(
            sg, n->pad_top, n->pad_right, n->pad_bottom, n->pad_left, n->kh, n->kw, n->sh, n->sw, n->dh, n->dw, (uint32_t)n->out_channels,
            n->in_channels, n->out_min, n->out_max, n->in[0], n->in[1], n->in[2], n->out,
            n->flags);
    case XG__ADD:
        return xnn_define_add2(sg, n->out_min, n->out_max, n->in[0], n->in[1], n->out, 0);
    case XG__GAP:
        return xnn_define_global_average_pooling_2d(sg, -INFINITY, INFINITY, n->in[0], n->out,
                                                    0);
    case XG__FC:
        return xnn_define_fully_connected(sg, n->out_min, n->out_max, n->in[0], n->in[1],
                                          n->in[2], n->out, n->flags);
    case XG__SIGMOID:
        return xnn_define_sigmoid(sg, n->in[0], n->out, 0);
    case XG__MAXPOOL:
        return xnn_define_max_pooling_2d(sg, n->pad_top, n->pad_right, n->pad_bottom,
                                         n->pad_left, n->kh, n->kw, n->sh, n->sw, 1, 1,
                                         n->out_min, n->out_max, n->in[0], n->out, n->flags);
    case XG__PRELU:
        return xnn_define_prelu(sg, n->in[0], n->in[1], n->out, 0);
    case XG__PAD:
        return xnn_define_static_constant_pad(sg, n->pre, n->post, 0.0f, n->in[0], n->out, 0);
    case XG__RESIZE:
        return xnn_define_static_resize_bilinear_2d(sg, n->new_h, n->new_w, n->in[0], n->out,
                                                    n->flags);
    case XG__RESHAPE:
        return xnn_define_static_reshape(sg, (size_t)n->ndims, n->shape, n->in[0], n->out, 0);
    }
    return xnn_status_invalid_parameter;
}

static int xnn_fail(const char *what, int index, enum xnn_status st)
{
    LQ_ERROR("xgraph", "%s %d failed (XNNPACK status %d)", what, index, (int)st);
    return st == xnn_status_out_of_memory ? LQ_ENOMEM : LQ_EMODEL;
}

static int build_subgraph(const xg__plan *p, xnn_subgraph_t *out)
{
    xnn_subgraph_t sg = NULL;
    enum xnn_status st = xnn_create_subgraph(p->nvalues, 0, &sg);
    if (st != xnn_status_success)
        return xnn_fail("xnn_create_subgraph", 0, st);
    for (uint32_t v = 0; v < p->nvalues; v++) {
        const xg__value *val = &p->values[v];
        if (!val->used)
            continue;
        uint32_t id;
        st = xnn_define_tensor_value(sg, xnn_datatype_fp32, (size_t)val->ndims, val->dims,
                                     val->data, v, val->flags, &id);
        if (st != xnn_status_success) {
            xnn_delete_subgraph(sg);
            return xnn_fail("defining value", (int)v, st);
        }
    }
    for (int i = 0; i < p->nnodes; i++) {
        st = define_node(sg, &p->nodes[i]);
        if (st != xnn_status_success) {
            xnn_delete_subgraph(sg);
            return xnn_fail("defining the node of TFLite operator", p->nodes[i].op, st);
        }
    }
    *out = sg;
    return 0;
}

/* ---- runners ----------------------------------------------------------- */

static float *alloc_io(size_t count)
{
    /* XNNPACK may read (never write) up to XNN_EXTRA_BYTES past an input. */
    size_t bytes = count * sizeof(float) + XNN_EXTRA_BYTES;
    bytes = (bytes + 63) & ~(size_t)63;
    float *f = aligned_alloc(64, bytes);
    if (f)
        memset(f, 0, bytes);
    return f;
}

void xg_runner_destroy(xg_runner *r)
{
    if (!r)
        return;
    if (r->rt)
        xnn_delete_runtime(r->rt);
    if (r->pool)
        pthreadpool_destroy(r->pool);
    for (int i = 0; i < XG_MAX_IO; i++) {
        free(r->in[i]);
        free(r->out[i]);
    }
    free(r);
}

static int setup_runtime(xg_runner *r)
{
    const xg__plan *p = &r->net->plan;
    struct xnn_external_value ext[2 * XG_MAX_IO * XG__MAX_SLICES];
    size_t n = 0;
    for (int j = 0; j < p->ninputs; j++)
        for (int k = 0; k < p->inputs[j].nslots; k++)
            ext[n++] = (struct xnn_external_value){p->inputs[j].slot[k].value,
                                                   r->in[j] + p->inputs[j].slot[k].offset};
    for (int j = 0; j < p->noutputs; j++)
        for (int k = 0; k < p->outputs[j].nslots; k++)
            ext[n++] = (struct xnn_external_value){p->outputs[j].slot[k].value,
                                                   r->out[j] + p->outputs[j].slot[k].offset};
    enum xnn_status st = xnn_setup_runtime(r->rt, n, ext);
    return st == xnn_status_success ? 0 : xnn_fail("xnn_setup_runtime", 0, st);
}

int xg_runner_create(const xg_net *net, int threads, xg_runner **out)
{
    if (!net || !out || threads < 1 || threads > XG_MAX_THREADS)
        return LQ_EINVAL;
    int rc = xg_init();
    if (rc < 0)
        return rc;
    const xg__plan *p = &net->plan;
    xg_runner *r = calloc(1, sizeof *r);
    if (!r)
        return LQ_ENOMEM;
    r->net = net;
    for (int j = 0; j < p->ninputs; j++)
        if (!(r->in[j] = alloc_io(p->inputs[j].count)))
            goto nomem;
    for (int j = 0; j < p->noutputs; j++)
        if (!(r->out[j] = alloc_io(p->outputs[j].count)))
            goto nomem;
    if (threads > 1 && !(r->pool = pthreadpool_create((size_t)threads)))
        goto nomem;
    xnn_subgraph_t sg;
    if ((rc = build_subgraph(p, &sg)) < 0) {
        xg_runner_destroy(r);
        return rc;
    }
    /* Inside the guard an allocation the system refuses comes from a reserve
     * (XNNPACK dereferences some without checking; xalloc.h): if any did, the
     * runtime is out of memory and goes before the reserve is reused.
     * With a pool, its threads sleep after each inference instead of
     * spinning: an idle spinning thread takes a core from another worker. */
    xa_guard_begin();
    enum xnn_status st =
        xnn_create_runtime_v2(sg, r->pool, r->pool ? XNN_FLAG_YIELD_WORKERS : 0, &r->rt);
    xnn_delete_subgraph(sg);
    if (xa_guard_used() > 0) {
        if (st == xnn_status_success && r->rt)
            xnn_delete_runtime(r->rt);
        r->rt = NULL;
        st = xnn_status_out_of_memory;
    }
    xa_guard_end();
    /* XNNPACK 0~git20220216 (Debian 12) returns success without a runtime
     * when its blob or workspace allocation fails: its status still holds the
     * last operator's success. Out of memory, not a runtime to set up. */
    if (st == xnn_status_success && !r->rt)
        st = xnn_status_out_of_memory;
    if (st != xnn_status_success) {
        r->rt = NULL;
        xg_runner_destroy(r);
        return xnn_fail("xnn_create_runtime_v2", 0, st);
    }
    if ((rc = setup_runtime(r)) < 0) {
        xg_runner_destroy(r);
        return rc;
    }
    *out = r;
    return 0;
nomem:
    xg_runner_destroy(r);
    return LQ_ENOMEM;
}

float *xg_runner_input(xg_runner *r, int i)
{
    return r && i >= 0 && i < r->net->plan.ninputs ? r->in[i] : NULL;
}

const float *xg_runner_output(const xg_runner *r, int i)
{
    return r && i >= 0 && i < r->net->plan.noutputs ? r->out[i] : NULL;
}

int xg_runner_invoke(xg_runner *r)
{
    if (!r)
        return LQ_EINVAL;
    enum xnn_status st = xnn_invoke_runtime(r->rt);
    if (st != xnn_status_success) {
        LQ_ERROR("xgraph", "xnn_invoke_runtime failed (XNNPACK status %d)", (int)st);
        return LQ_EMODEL;
    }
    return 0;
}
