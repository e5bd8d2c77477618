/* handnails.c - hands and nails of a still image for the CLI tools. */
#include "cli/handnails.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *lq_cli_models_dir(const char *flag)
{
    if (flag && *flag)
        return flag;
    const char *env = getenv("LQ_MODELS_DIR");
    return env && *env ? env : "models";
}

int lq_cli_nails_open(lq_cli_nails *p, const char *models_dir, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    int rc = lq_hand_models_load(models_dir, LQ_HAND_LOAD_FULL, &p->models, err, errlen);
    if (rc < 0)
        return rc;
    lq_tracker_opts o = LQ_TRACKER_OPTS_DEFAULT;
    o.static_mode = 1;
    o.smoothing = 0;
    rc = lq_tracker_create(p->models, &o, &p->tracker);
    if (rc < 0) {
        if (err && errlen)
            snprintf(err, errlen, "cannot create the hand tracker: %s", lq_strerror(rc));
        lq_hand_models_destroy(p->models);
        memset(p, 0, sizeof *p);
    }
    return rc;
}

int lq_cli_nails_find(lq_cli_nails *p, const lq_image *img, lq_hands *hands, nail_geom *nails,
                      int *n)
{
    *n = 0;
    int rc = lq_tracker_process(p->tracker, img, 0, hands);
    if (rc < 0)
        return rc;
    nail_locate_opts o = NAIL_LOCATE_OPTS_DEFAULT;
    return nail_locate(img, hands, &o, nails, NAIL_MAX, n);
}

void lq_cli_nails_close(lq_cli_nails *p)
{
    lq_tracker_destroy(p->tracker);
    lq_hand_models_destroy(p->models);
    memset(p, 0, sizeof *p);
}
