/*
 * handnails.h - for the CLI tools that look at photos (render, gallery,
 * nails): the hands and nails of one still image, found the way the product
 * finds them in a photo. That is the try-on pipeline (tryon/tryon.h) in a
 * static session that analyses and does not paint: hands from our tracker,
 * each nail from its landmarks refined from the pixels, and, with
 * segmentation, those outlines fused with the nail segmentation network's,
 * a zoomed network pass around each nail, and the nails the network finds
 * where no hand is found (docs/segmentation.md). Without segmentation the
 * nails come from the landmarks alone (a photo without a detectable hand
 * has none).
 *
 *   lq_cli_nails_opts o = {.models_dir = lq_cli_models_dir(flag), .segmentation = 1};
 *   lq_cli_nails *p;
 *   if (lq_cli_nails_open(&o, &p, err, sizeof err) < 0) ...;   // err says why
 *   lq_hands hands; nail_geom nails[NAIL_MAX]; int n;
 *   rc = lq_cli_nails_find(p, &img, 1, &hands, nails, &n);      // 1: with the network
 *   rc = lq_cli_nails_find(p, &img, 0, &hands, nails, &n);      // landmarks only
 *   lq_cli_nails_close(p);
 *
 * Not thread-safe (one worker, sessions created on first use); for
 * command-line use.
 */
#ifndef LQ_CLI_HANDNAILS_H
#define LQ_CLI_HANDNAILS_H

#include <stddef.h>

#include "hand/hand.h"
#include "image/image.h"
#include "nails/geometry.h"

typedef struct lq_cli_nails lq_cli_nails;

typedef struct lq_cli_nails_opts {
    const char *models_dir; /* folder with the hand models (required) */
    int lite;               /* 1: the lite hand models (also loads the full ones) */
    int segmentation;       /* 1: load the nail segmentation network (the engine's
                               default path: <models_dir>/nailseg.tflite, else
                               <models_dir>/../assets/nailseg/nailseg.tflite; a
                               missing file is one warning and landmarks only);
                               0: landmarks only, nothing else is loaded */
} lq_cli_nails_opts;

/* The models directory from --models, else $LQ_MODELS_DIR, else "models". */
const char *lq_cli_models_dir(const char *flag);

/* Loads the models (tens of ms) into a new handle *out, released with
 * lq_cli_nails_close. On failure returns a negative code with the reason in
 * err (the engine's message, or lq_strerror's) and leaves *out untouched. */
int lq_cli_nails_open(const lq_cli_nails_opts *o, lq_cli_nails **out, char *err,
                      size_t errlen) LQ_NODISCARD;

/* Finds the hands and the nails the pipeline would paint in img (at most
 * NAIL_MAX; nails the network found alone come last, with hand and finger
 * -1). segmentation 1 uses the network when open loaded it, 0 the landmarks
 * alone. img is only read. Returns 0 (*n may be 0, hands->count may be 0
 * while *n is not) or a negative code (LQ_EINVAL, LQ_ENOMEM, LQ_EMODEL);
 * after the arguments are checked, *hands and *n are set to nothing found
 * on failure. */
int lq_cli_nails_find(lq_cli_nails *p, const lq_image *img, int segmentation, lq_hands *hands,
                      nail_geom *nails, int *n) LQ_NODISCARD;

/* Releases everything open made; NULL is a no-op. */
void lq_cli_nails_close(lq_cli_nails *p);

#endif
