/*
 * handnails.h - for the CLI tools that paint photos (render, gallery): hands
 * and nails of one still image, through the product's own pipeline (the
 * hand tracker in static mode, then nail_locate with refinement).
 *
 *   lq_cli_nails p;
 *   if (lq_cli_nails_open(&p, models_dir, err, sizeof err) < 0) ...;
 *   lq_hands hands; nail_geom nails[NAIL_MAX]; int n;
 *   rc = lq_cli_nails_find(&p, &img, &hands, nails, &n);
 *   lq_cli_nails_close(&p);
 *
 * Not thread-safe (one tracker); for command-line use.
 */
#ifndef LQ_CLI_HANDNAILS_H
#define LQ_CLI_HANDNAILS_H

#include <stddef.h>

#include "hand/tracker.h"
#include "nails/geometry.h"

typedef struct lq_cli_nails {
    lq_hand_models *models;
    lq_tracker *tracker;
} lq_cli_nails;

/* The models directory from --models, else $LQ_MODELS_DIR, else "models". */
const char *lq_cli_models_dir(const char *flag);

/* Loads the full models and creates a static-mode tracker (2 hands). On
 * failure returns a negative code with the reason in err; *p owns nothing. */
int lq_cli_nails_open(lq_cli_nails *p, const char *models_dir, char *err,
                      size_t errlen) LQ_NODISCARD;

/* Finds the hands and the visible nails (at most NAIL_MAX) of img. Returns 0
 * (*n may be 0) or the tracker's / nail_locate's error. */
int lq_cli_nails_find(lq_cli_nails *p, const lq_image *img, lq_hands *hands, nail_geom *nails,
                      int *n) LQ_NODISCARD;

void lq_cli_nails_close(lq_cli_nails *p);

#endif
