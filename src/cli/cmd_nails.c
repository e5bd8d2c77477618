/*
 * cmd_nails.c - `lacquer nails [options] --mask OUT.png IN`: the nails of a
 * photo as a mask and as JSON.
 *
 * The nails are what the try-on pipeline would paint, in static mode (each
 * image on its own): the hands from our tracker, each nail from its
 * landmarks refined from the pixels and fused with the nail segmentation
 * network's outline, plus the nails the network finds where no hand is
 * found (docs/segmentation.md). --no-segmentation leaves the network out;
 * --no-refine takes the outlines from the landmarks alone.
 * The mask is an 8-bit grayscale PNG of IN's size: 255 where a pixel centre
 * lies inside a visible nail's natural outline (before any length extension
 * a design would add), 0 elsewhere, so that anyone can score it against
 * their own masks. The JSON on stdout lists the hands and nails.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <spng.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "cli/handnails.h"
#include "hand/tracker.h"
#include "image/codec.h"
#include "nails/geometry.h"

typedef struct nails_opts {
    const char *models_dir;
    const char *model;
    const char *mask;
    const char *overlay;
    int no_refine;
    int no_segmentation;
    int compact;
} nails_opts;

#define OFF(f) offsetof(nails_opts, f)
static const lq_cli_opt opt_table[] = {
    {"--mask", "OUT.png", LQ_CLI_PATH, OFF(mask), 0, 0,
     "write the nail mask: 8-bit gray PNG, IN's size, 255 = nail (natural outline)"},
    {"--overlay", "OUT", LQ_CLI_PATH, OFF(overlay), 0, 0,
     "write IN with the outlines drawn (format from the extension: .png .jpg .webp)"},
    {"--models", "DIR", LQ_CLI_PATH, OFF(models_dir), 0, 0,
     "folder with the .tflite models (default $LQ_MODELS_DIR or ./models)"},
    {"--model", "full|lite", LQ_CLI_PATH, OFF(model), 0, 0, "hand model variant (default full)"},
    {"--no-refine", NULL, LQ_CLI_FLAG, OFF(no_refine), 0, 1,
     "outlines from the landmarks only (no pixels, no segmentation network)"},
    {"--no-segmentation", NULL, LQ_CLI_FLAG, OFF(no_segmentation), 0, 1,
     "landmarks refined from the pixels, without the nail segmentation network"},
    {"--compact", NULL, LQ_CLI_FLAG, OFF(compact), 0, 1, "print the JSON on one line"},
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

static const char *const FINGER_NAMES[5] = {"thumb", "index", "middle", "ring", "pinky"};

static void usage(FILE *f)
{
    fprintf(f, "usage: lacquer nails [options] [--mask OUT.png] IN\n\n"
               "Finds the visible fingernails in a JPEG, PNG or WebP photo, prints them as\n"
               "JSON and optionally writes their outlines as a mask.\n\noptions:\n");
    lq_cli_opts_help(f, opt_table, N_OPTS, 22);
}

/* Returns the index of the input argument, or -1 on a usage error. */
static int parse_args(int argc, char **argv, nails_opts *o)
{
    int input = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            /* the rest is positional */
            for (int k = i + 1; k < argc; k++) {
                if (input >= 0) {
                    fprintf(stderr, "lacquer nails: one input image only\n");
                    return -1;
                }
                input = k;
            }
            break;
        }
        if (a[0] == '-' && a[1] != 0) { /* options may follow the input */
            if (lq_cli_opt_take("nails", opt_table, N_OPTS, argc, argv, &i, o) < 0)
                return -1;
            continue;
        }
        if (input >= 0) {
            fprintf(stderr, "lacquer nails: one input image only ('%s' and '%s')\n",
                    argv[input], a);
            return -1;
        }
        input = i;
    }
    if (input < 0)
        fprintf(stderr, "lacquer nails: no input image given\n");
    return input;
}

/* Writes an 8-bit grayscale PNG. */
static int write_gray_png(const char *path, const uint8_t *pix, int w, int h)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fprintf(stderr, "lacquer nails: cannot write %s: %s\n", path, strerror(errno));
        return LQ_EIO;
    }
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    int rc = ctx ? 0 : SPNG_EMEM;
    struct spng_ihdr ihdr;
    memset(&ihdr, 0, sizeof ihdr);
    ihdr.width = (uint32_t)w;
    ihdr.height = (uint32_t)h;
    ihdr.bit_depth = 8;
    ihdr.color_type = SPNG_COLOR_TYPE_GRAYSCALE;
    if (!rc)
        rc = spng_set_png_file(ctx, f);
    if (!rc)
        rc = spng_set_ihdr(ctx, &ihdr);
    if (!rc)
        rc = spng_encode_image(ctx, pix, (size_t)w * (size_t)h, SPNG_FMT_PNG,
                               SPNG_ENCODE_FINALIZE);
    spng_ctx_free(ctx);
    int closed = fclose(f);
    if (rc || closed != 0) {
        fprintf(stderr, "lacquer nails: cannot write %s: %s\n", path,
                rc ? spng_strerror(rc) : strerror(errno));
        return LQ_EIO;
    }
    return 0;
}

/* A copy of img with each outline drawn in red (1.5 px band) and its axis
 * end (free edge) marked in yellow. */
static int write_overlay(const char *path, const lq_image *img, const nail_geom *nails, int n)
{
    lq_image ov;
    int rc = lq_image_copy(&ov, img);
    if (rc < 0)
        return rc;
    for (int k = 0; k < n; k++) {
        const nail_geom *g = &nails[k];
        float ext = 0.5f * (g->length + g->width) + 3.0f;
        int x0 = (int)(g->cx - ext), x1 = (int)(g->cx + ext);
        int y0 = (int)(g->cy - ext), y1 = (int)(g->cy + ext);
        float tx = g->cx + 0.5f * g->length * g->ax, ty = g->cy + 0.5f * g->length * g->ay;
        for (int y = y0 < 0 ? 0 : y0; y <= y1 && y < ov.height; y++)
            for (int x = x0 < 0 ? 0 : x0; x <= x1 && x < ov.width; x++) {
                float px = (float)x + 0.5f, py = (float)y + 0.5f;
                uint8_t *p = lq_image_px(&ov, x, y);
                float d = nail_geom_sdf(g, px, py);
                if (d > -1.5f && d <= 0.0f) {
                    p[0] = 255;
                    p[1] = 30;
                    p[2] = 30;
                }
                if ((px - tx) * (px - tx) + (py - ty) * (py - ty) < 4.0f) {
                    p[0] = 255;
                    p[1] = 230;
                    p[2] = 0;
                }
            }
    }
    rc = lq_image_save(&ov, path, 92);
    if (rc < 0)
        fprintf(stderr, "lacquer nails: cannot write %s: %s\n", path, lq_strerror(rc));
    lq_image_free(&ov);
    return rc;
}

/* Three decimals are plenty for pixels and cosines. */
static double r3(double x)
{
    return round(x * 1000.0) / 1000.0;
}

static cJSON *nails_json(const char *path, const lq_image *img, const lq_hands *hands,
                         const nail_geom *nails, int n, long mask_pixels)
{
    cJSON *root = cJSON_CreateObject();
    const char *slash = strrchr(path, '/');
    cJSON_AddStringToObject(root, "file", slash ? slash + 1 : path);
    cJSON_AddNumberToObject(root, "width", img->width);
    cJSON_AddNumberToObject(root, "height", img->height);
    cJSON_AddNumberToObject(root, "numHands", hands->count);
    cJSON *fingers = cJSON_AddArrayToObject(root, "fingertips_detected");
    unsigned seen = 0;
    for (int i = 0; i < n; i++)
        if (nails[i].finger >= 0 && nails[i].finger < 5)
            seen |= 1u << nails[i].finger;
    for (int f = 0; f < 5; f++)
        if (seen & (1u << f))
            cJSON_AddItemToArray(fingers, cJSON_CreateNumber(f));
    cJSON *arr = cJSON_AddArrayToObject(root, "nails");
    for (int i = 0; i < n; i++) {
        const nail_geom *g = &nails[i];
        cJSON *o = cJSON_CreateObject();
        const int landmarked = g->hand >= 0 && g->hand < hands->count && g->finger >= 0 &&
                               g->finger < 5;
        cJSON_AddNumberToObject(o, "hand", landmarked ? g->hand : -1);
        if (landmarked) {
            cJSON_AddStringToObject(o, "handedness", hands->hand[g->hand].handedness ==
                                                             LQ_HAND_LEFT ? "Left" : "Right");
            cJSON_AddNumberToObject(o, "finger", g->finger);
            cJSON_AddStringToObject(o, "finger_name", FINGER_NAMES[g->finger]);
        } else { /* found by the segmentation network alone */
            cJSON_AddNullToObject(o, "handedness");
            cJSON_AddNullToObject(o, "finger");
            cJSON_AddNullToObject(o, "finger_name");
        }
        cJSON_AddStringToObject(o, "source", landmarked ? "landmarks" : "segmentation");
        cJSON_AddNumberToObject(o, "confidence", r3(g->confidence));
        const double c[2] = {r3(g->cx), r3(g->cy)}, a[2] = {r3(g->ax), r3(g->ay)};
        cJSON_AddItemToObject(o, "centre", cJSON_CreateDoubleArray(c, 2));
        cJSON_AddItemToObject(o, "axis", cJSON_CreateDoubleArray(a, 2));
        cJSON_AddNumberToObject(o, "length", r3(g->length));
        cJSON_AddNumberToObject(o, "width", r3(g->width));
        cJSON_AddNumberToObject(o, "foreshorten", r3(g->foreshorten));
        cJSON_AddNumberToObject(o, "facing", r3(g->facing));
        cJSON_AddNumberToObject(o, "fit", r3(g->fit));
        cJSON_AddNumberToObject(o, "cuticle_round", r3(g->cuticle_round));
        cJSON_AddNumberToObject(o, "tip_round", r3(g->tip_round));
        cJSON_AddItemToArray(arr, o);
    }
    if (mask_pixels >= 0)
        cJSON_AddNumberToObject(root, "mask_pixels", (double)mask_pixels);
    return root;
}

int lq_cmd_nails(int argc, char **argv)
{
    if (lq_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    nails_opts o = {.model = "full"};
    int input = parse_args(argc, argv, &o);
    if (input < 0) {
        usage(stderr);
        return 2;
    }
    lq_hand_variant variant;
    if (lq_hand_variant_parse(o.model, &variant) < 0) {
        fprintf(stderr, "lacquer nails: --model must be full or lite (got '%s')\n", o.model);
        return 2;
    }
    const char *path = argv[input];
    char err[256];
    lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
    lq_image img = {0};
    if (lq_image_load(path, &lim, &img, err, sizeof err) < 0) {
        fprintf(stderr, "lacquer nails: %s: %s\n", path, err);
        return 1;
    }

    int status = 1;
    uint8_t *mask = NULL;
    lq_hand_models *models = NULL;
    lq_tracker *tracker = NULL;
    lq_cli_nails *pipe = NULL;
    const char *dir = lq_cli_models_dir(o.models_dir);
    lq_hands hands;
    memset(&hands, 0, sizeof hands);
    nail_geom nails[NAIL_MAX];
    int n = 0;
    int rc;
    if (!o.no_refine) {
        /* the try-on pipeline, analysis only: what it would paint */
        const lq_cli_nails_opts po = {.models_dir = dir,
                                      .lite = variant == LQ_HAND_LITE,
                                      .segmentation = !o.no_segmentation};
        if ((rc = lq_cli_nails_open(&po, &pipe, err, sizeof err)) < 0) {
            fprintf(stderr, "lacquer nails: %s\n", err);
            goto done;
        }
        if ((rc = lq_cli_nails_find(pipe, &img, !o.no_segmentation, &hands, nails, &n)) < 0) {
            fprintf(stderr, "lacquer nails: %s\n", lq_strerror(rc));
            goto done;
        }
        goto located;
    }
    rc = lq_hand_models_load(dir, 1u << variant, &models, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "lacquer nails: %s\n", err);
        goto done;
    }
    lq_tracker_opts to = LQ_TRACKER_OPTS_DEFAULT;
    to.variant = variant;
    to.static_mode = 1;
    to.smoothing = 0;
    if ((rc = lq_tracker_create(models, &to, &tracker)) < 0) {
        fprintf(stderr, "lacquer nails: cannot create the hand tracker: %s\n", lq_strerror(rc));
        goto done;
    }
    if ((rc = lq_tracker_process(tracker, &img, 0, &hands)) < 0) {
        fprintf(stderr, "lacquer nails: hand tracking failed: %s\n", lq_strerror(rc));
        goto done;
    }
    nail_locate_opts lo = NAIL_LOCATE_OPTS_DEFAULT;
    lo.refine = 0;
    if ((rc = nail_locate(&img, &hands, &lo, nails, NAIL_MAX, &n)) < 0) {
        fprintf(stderr, "lacquer nails: %s\n", lq_strerror(rc));
        goto done;
    }
located:; /* a label must precede a statement in C11 */

    long mask_pixels = -1;
    if (o.mask) {
        mask = malloc((size_t)img.width * (size_t)img.height);
        if (!mask) {
            fprintf(stderr, "lacquer nails: out of memory\n");
            goto done;
        }
        if (nail_geom_rasterize(nails, n, mask, img.width, img.height, img.width) < 0 ||
            write_gray_png(o.mask, mask, img.width, img.height) < 0)
            goto done;
        mask_pixels = 0;
        for (size_t i = 0; i < (size_t)img.width * (size_t)img.height; i++)
            mask_pixels += mask[i] == 255;
    }
    if (o.overlay && write_overlay(o.overlay, &img, nails, n) < 0)
        goto done;

    cJSON *root = nails_json(path, &img, &hands, nails, n, mask_pixels);
    char *text = root ? (o.compact ? cJSON_PrintUnformatted(root) : cJSON_Print(root)) : NULL;
    cJSON_Delete(root);
    if (!text) {
        fprintf(stderr, "lacquer nails: out of memory\n");
        goto done;
    }
    printf("%s\n", text);
    cJSON_free(text);
    status = fflush(stdout) == 0 ? 0 : 1;
done:
    free(mask);
    lq_cli_nails_close(pipe);
    lq_tracker_destroy(tracker);
    lq_hand_models_destroy(models);
    lq_image_free(&img);
    return status;
}
