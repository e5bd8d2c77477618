/*
 * cmd_detect.c - `lacquer detect [options] IMAGE...`: hand landmarks as JSON.
 *
 * Prints one JSON document on stdout in the shape of MediaPipe's reference
 * files (../shared/data/landmarks/mediapipe_*.json): images[] with file,
 * path, width, height, numHands and hands[] (handedness {label, score,
 * index}, 21 normalized landmarks [x, y, z] with z at the scale of x, and
 * world landmarks in metres). Each image on its own by default (MediaPipe's
 * static image mode); with --video the images are consecutive frames.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "cli/cli.h"
#include "hand/tracker.h"
#include "image/codec.h"

#define DETECT_MAX_IMAGES 100000

typedef struct detect_opts {
    const char *model;
    const char *models_dir;
    int max_hands;
    int video;
    int no_smooth;
    int fps;
    int threads;
    int timings;
    int compact;
    double min_detection;
    double min_presence;
} detect_opts;

enum opt_type { OPT_FLAG, OPT_INT, OPT_DOUBLE, OPT_STRING };

/* One table drives parsing, validation and --help. */
typedef struct opt_def {
    const char *name;
    const char *arg;
    enum opt_type type;
    size_t offset;
    double min, max;
    const char *help;
} opt_def;

#define OFF(f) offsetof(detect_opts, f)
static const opt_def opt_table[] = {
    {"--model", "full|lite", OPT_STRING, OFF(model), 0, 0, "model variant (default full)"},
    {"--models", "DIR", OPT_STRING, OFF(models_dir), 0, 0,
     "folder with the .tflite models (default $LQ_MODELS_DIR or ./models)"},
    {"--max-hands", "N", OPT_INT, OFF(max_hands), 1, LQ_HAND_MAX,
     "maximum number of hands, 1..2 (default 2)"},
    {"--video", NULL, OPT_FLAG, OFF(video), 0, 1,
     "treat the images as consecutive video frames: tracking and smoothing on"},
    {"--no-smooth", NULL, OPT_FLAG, OFF(no_smooth), 0, 1,
     "with --video: no One Euro smoothing of the landmarks"},
    {"--fps", "N", OPT_INT, OFF(fps), 1, 1000, "with --video: frame rate (default 25)"},
    {"--min-detection", "X", OPT_DOUBLE, OFF(min_detection), 0, 1,
     "palm detector score threshold (default 0.5)"},
    {"--min-presence", "X", OPT_DOUBLE, OFF(min_presence), 0, 1,
     "hand presence threshold, to accept and to keep tracking (default 0.5)"},
    {"--threads", "N", OPT_INT, OFF(threads), 1, 64, "XNNPACK threads per inference (default 1)"},
    {"--timings", NULL, OPT_FLAG, OFF(timings), 0, 1, "add per-image stage timings (ms)"},
    {"--compact", NULL, OPT_FLAG, OFF(compact), 0, 1, "print the JSON on one line"},
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: lacquer detect [options] IMAGE...\n\n"
               "Finds hands in JPEG, PNG or WebP images and prints their 21 landmarks as JSON\n"
               "(the shape of MediaPipe's reference files). Each image is processed on its\n"
               "own unless --video is given.\n\noptions:\n");
    for (size_t i = 0; i < N_OPTS; i++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s%s", opt_table[i].name, opt_table[i].arg ? " " : "",
                 opt_table[i].arg ? opt_table[i].arg : "");
        fprintf(f, "  %-24s %s\n", left, opt_table[i].help);
    }
    fprintf(f, "  %-24s %s\n", "-h, --help", "show this help");
}

static int parse_value(const opt_def *d, const char *v, detect_opts *o)
{
    char *end = NULL;
    char *base = (char *)o + d->offset;
    errno = 0;
    if (d->type == OPT_STRING) {
        *(const char **)(void *)base = v;
        return 0;
    }
    if (d->type == OPT_INT) {
        const long x = strtol(v, &end, 10);
        if (errno || !end || *end || end == v || x < (long)d->min || x > (long)d->max)
            return -1;
        *(int *)(void *)base = (int)x;
        return 0;
    }
    const double x = strtod(v, &end);
    if (errno || !end || *end || end == v || !(x >= d->min && x <= d->max))
        return -1;
    *(double *)(void *)base = x;
    return 0;
}

/* Parses argv into o; returns the index of the first image or -1. */
static int parse_args(int argc, char **argv, detect_opts *o)
{
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0)
            return i + 1;
        if (a[0] != '-' || a[1] == 0)
            break;
        const opt_def *d = NULL;
        for (size_t k = 0; k < N_OPTS && !d; k++)
            if (strcmp(a, opt_table[k].name) == 0)
                d = &opt_table[k];
        if (!d) {
            fprintf(stderr, "lacquer detect: unknown option %s\n", a);
            return -1;
        }
        if (d->type == OPT_FLAG) {
            *(int *)(void *)((char *)o + d->offset) = 1;
            continue;
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "lacquer detect: %s needs a value (%s)\n", a, d->arg);
            return -1;
        }
        if (parse_value(d, argv[++i], o) < 0) {
            fprintf(stderr, "lacquer detect: bad value '%s' for %s (%s)\n", argv[i], a, d->help);
            return -1;
        }
    }
    return i;
}

static cJSON *point_array(const lq_point3 *p, float sx, float sy, float sz)
{
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; arr && i < LQ_HAND_LANDMARKS; i++) {
        const double v[3] = {p[i].x * sx, p[i].y * sy, p[i].z * sz};
        cJSON_AddItemToArray(arr, cJSON_CreateDoubleArray(v, 3));
    }
    return arr;
}

static cJSON *hand_json(const lq_hand *h, int w, int hgt, int video)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *hd = cJSON_AddObjectToObject(o, "handedness");
    cJSON_AddStringToObject(hd, "label", h->handedness == LQ_HAND_LEFT ? "Left" : "Right");
    cJSON_AddNumberToObject(hd, "score", h->handedness_score);
    cJSON_AddNumberToObject(hd, "index", h->handedness == LQ_HAND_LEFT ? 0 : 1);
    const float iw = 1.0f / (float)w, ih = 1.0f / (float)hgt;
    cJSON_AddItemToObject(o, "landmarks", point_array(h->lm, iw, ih, iw));
    cJSON_AddItemToObject(o, "worldLandmarks", point_array(h->world, 1.0f, 1.0f, 1.0f));
    cJSON_AddNumberToObject(o, "presence", h->presence);
    cJSON_AddNumberToObject(o, "palmScore", h->detection_score);
    if (video)
        cJSON_AddNumberToObject(o, "trackId", h->track_id);
    return o;
}

static const char *base_name(const char *p)
{
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

int lq_cmd_detect(int argc, char **argv)
{
    if (lq_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    detect_opts o = {.model = "full",
                     .max_hands = 2,
                     .fps = 25,
                     .threads = 1,
                     .min_detection = 0.5,
                     .min_presence = 0.5};
    o.models_dir = getenv("LQ_MODELS_DIR");
    if (!o.models_dir || !*o.models_dir)
        o.models_dir = "models";
    const int first = parse_args(argc, argv, &o);
    if (first < 0) {
        usage(stderr);
        return 2;
    }
    if (first >= argc) {
        fprintf(stderr, "lacquer detect: no image given\n\n");
        usage(stderr);
        return 2;
    }
    if (argc - first > DETECT_MAX_IMAGES) {
        fprintf(stderr, "lacquer detect: at most %d images per run\n", DETECT_MAX_IMAGES);
        return 2;
    }
    lq_tracker_opts to = LQ_TRACKER_OPTS_DEFAULT;
    if (lq_hand_variant_parse(o.model, &to.variant) < 0) {
        fprintf(stderr, "lacquer detect: --model must be full or lite, not '%s'\n", o.model);
        return 2;
    }
    to.max_hands = o.max_hands;
    to.min_detection = (float)o.min_detection;
    to.min_presence = to.min_tracking = (float)o.min_presence;
    to.static_mode = !o.video;
    to.smoothing = o.video && !o.no_smooth;
    to.threads = o.threads;

    char err[512];
    lq_hand_models *models = NULL;
    int rc = lq_hand_models_load(o.models_dir, 1u << to.variant, &models, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "lacquer detect: %s (%s)\n", err, lq_strerror(rc));
        return 1;
    }
    lq_tracker *trk = NULL;
    rc = lq_tracker_create(models, &to, &trk);
    if (rc < 0) {
        fprintf(stderr, "lacquer detect: cannot create the tracker: %s\n", lq_strerror(rc));
        lq_hand_models_destroy(models);
        return 1;
    }

    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "tool", "lacquer detect");
    cJSON_AddStringToObject(root, "version", LQ_VERSION);
    cJSON_AddStringToObject(root, "model", lq_hand_variant_name(to.variant));
    cJSON *opts = cJSON_AddObjectToObject(root, "options");
    cJSON_AddBoolToObject(opts, "staticImageMode", !o.video);
    cJSON_AddNumberToObject(opts, "maxNumHands", o.max_hands);
    cJSON_AddNumberToObject(opts, "minDetectionConfidence", o.min_detection);
    cJSON_AddNumberToObject(opts, "minTrackingConfidence", o.min_presence);
    cJSON_AddBoolToObject(opts, "smoothing", to.smoothing);
    cJSON *images = cJSON_AddArrayToObject(root, "images");

    int failures = 0;
    for (int i = first; i < argc; i++) {
        cJSON *im = cJSON_CreateObject();
        cJSON_AddItemToArray(images, im);
        cJSON_AddStringToObject(im, "file", base_name(argv[i]));
        cJSON_AddStringToObject(im, "path", argv[i]);
        lq_image img = {0};
        rc = lq_image_load(argv[i], NULL, &img, err, sizeof err);
        if (rc < 0) {
            fprintf(stderr, "lacquer detect: %s\n", err);
            cJSON_AddStringToObject(im, "error", err);
            failures++;
            continue;
        }
        lq_hands hands;
        const int64_t ts = (int64_t)(i - first) * 1000000 / o.fps;
        rc = lq_tracker_process(trk, &img, ts, &hands);
        cJSON_AddNumberToObject(im, "width", img.width);
        cJSON_AddNumberToObject(im, "height", img.height);
        if (rc < 0) {
            fprintf(stderr, "lacquer detect: %s: %s\n", argv[i], lq_strerror(rc));
            cJSON_AddStringToObject(im, "error", lq_strerror(rc));
            failures++;
        }
        cJSON_AddNumberToObject(im, "numHands", hands.count);
        cJSON *arr = cJSON_AddArrayToObject(im, "hands");
        for (int k = 0; k < hands.count; k++)
            cJSON_AddItemToArray(arr, hand_json(&hands.hand[k], img.width, img.height, o.video));
        if (o.timings) {
            cJSON *t = cJSON_AddObjectToObject(im, "timings");
            cJSON_AddNumberToObject(t, "palmMs", hands.t.palm_ms);
            cJSON_AddNumberToObject(t, "landmarkMs", hands.t.landmark_ms);
            cJSON_AddNumberToObject(t, "warpMs", hands.t.warp_ms);
            cJSON_AddNumberToObject(t, "totalMs", hands.t.total_ms);
        }
        lq_image_free(&img);
    }
    char *text = o.compact ? cJSON_PrintUnformatted(root) : cJSON_Print(root);
    if (text) {
        fputs(text, stdout);
        fputc('\n', stdout);
        free(text);
    } else {
        fprintf(stderr, "lacquer detect: out of memory formatting the JSON\n");
        failures++;
    }
    cJSON_Delete(root);
    lq_tracker_destroy(trk);
    lq_hand_models_destroy(models);
    return failures ? 1 : 0;
}
