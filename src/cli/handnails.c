/* handnails.c - hands and nails of a still image for the CLI tools, through
 * the try-on pipeline in a static, analysis-only session. */
#include "cli/handnails.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nails/design.h"
#include "tryon/tryon.h"

struct lq_cli_nails {
    lq_tryon_engine *engine;
    lq_tryon_worker *worker;
    lq_tryon_session *session[2]; /* [0] landmarks only, [1] with the network;
                                     created on first use */
    lq_cli_nails_opts opts;
    lq_tryon_result res; /* scratch for lq_tryon_process */
};

const char *lq_cli_models_dir(const char *flag)
{
    if (flag && *flag)
        return flag;
    const char *env = getenv("LQ_MODELS_DIR");
    return env && *env ? env : "models";
}

int lq_cli_nails_open(const lq_cli_nails_opts *o, lq_cli_nails **out, char *err, size_t errlen)
{
    if (!o || !o->models_dir || !out) {
        if (err && errlen)
            snprintf(err, errlen, "%s", lq_strerror(LQ_EINVAL));
        return LQ_EINVAL;
    }
    lq_cli_nails *p = calloc(1, sizeof *p);
    if (!p) {
        if (err && errlen)
            snprintf(err, errlen, "%s", lq_strerror(LQ_ENOMEM));
        return LQ_ENOMEM;
    }
    p->opts = *o;
    lq_tryon_engine_opts eo = {.models_dir = o->models_dir, .load_lite = o->lite != 0};
    if (!o->segmentation) { /* nothing to load */
        eo.nailseg_path = "";
        eo.outline_path = "";
    }
    int rc = lq_tryon_engine_create(&eo, &p->engine, err, errlen);
    if (rc == 0 && (rc = lq_tryon_worker_create(p->engine, &p->worker)) < 0 && err && errlen)
        snprintf(err, errlen, "%s", lq_strerror(rc));
    if (rc < 0) {
        lq_cli_nails_close(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* The static session of one mode: every image on its own, no smoothing,
 * analysis only (the caller paints). */
static int session_for(lq_cli_nails *p, int segmentation, lq_tryon_session **out)
{
    lq_tryon_session **s = &p->session[segmentation ? 1 : 0];
    if (!*s) {
        lq_tryon_session_opts so = LQ_TRYON_SESSION_OPTS_DEFAULT;
        so.variant = p->opts.lite ? LQ_MODEL_LITE : LQ_MODEL_FULL;
        so.static_mode = 1;
        so.smoothing = 0;
        so.paint = 0;
        so.segmentation = segmentation ? 1 : 0;
        so.outline = segmentation ? 1 : 0; /* with the network: the outline stage too */
        nail_design design;
        nail_design_default(&design);
        int rc = lq_tryon_session_create(p->engine, &design, &so, s);
        if (rc < 0)
            return rc;
    }
    *out = *s;
    return 0;
}

int lq_cli_nails_find(lq_cli_nails *p, const lq_image *img, int segmentation, lq_hands *hands,
                      nail_geom *nails, int *n)
{
    if (!p || !img || !hands || !nails || !n)
        return LQ_EINVAL;
    memset(hands, 0, sizeof *hands);
    *n = 0;
    lq_tryon_session *s = NULL;
    int rc = session_for(p, segmentation, &s);
    if (rc < 0)
        return rc;
    /* a session that does not paint never writes to the frame */
    lq_image view = *img;
    view.owned = 0;
    rc = lq_tryon_process(p->worker, s, &view, 0, &p->res);
    if (rc < 0)
        return rc;
    *hands = p->res.hands;
    *n = p->res.nnails < NAIL_MAX ? p->res.nnails : NAIL_MAX;
    memcpy(nails, p->res.nails, (size_t)*n * sizeof nails[0]);
    return 0;
}

void lq_cli_nails_close(lq_cli_nails *p)
{
    if (!p)
        return;
    lq_tryon_session_destroy(p->session[0]);
    lq_tryon_session_destroy(p->session[1]);
    lq_tryon_worker_destroy(p->worker);
    lq_tryon_engine_destroy(p->engine);
    free(p);
}
