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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
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

#define OFF(f) offsetof(detect_opts, f)
static const lq_cli_opt opt_table[] = {
    {"--model", "full|lite", LQ_CLI_STRING, OFF(model), 0, 0, "model variant (default full)"},
    {"--models", "DIR", LQ_CLI_STRING, OFF(models_dir), 0, 0,
     "folder with the .tflite models (default $LQ_MODELS_DIR or ./models)"},
    {"--max-hands", "N", LQ_CLI_INT, OFF(max_hands), 1, LQ_HAND_MAX,
     "maximum number of hands, 1..2 (default 2)"},
    {"--video", NULL, LQ_CLI_FLAG, OFF(video), 0, 1,
     "treat the images as consecutive video frames: tracking and smoothing on"},
    {"--no-smooth", NULL, LQ_CLI_FLAG, OFF(no_smooth), 0, 1,
     "with --video: no One Euro smoothing of the landmarks"},
    {"--fps", "N", LQ_CLI_INT, OFF(fps), 1, 1000, "with --video: frame rate (default 25)"},
    {"--min-detection", "X", LQ_CLI_DOUBLE, OFF(min_detection), 0, 1,
     "palm detector score threshold (default 0.5)"},
    {"--min-presence", "X", LQ_CLI_DOUBLE, OFF(min_presence), 0, 1,
     "hand presence threshold, to accept and to keep tracking (default 0.5)"},
    {"--threads", "N", LQ_CLI_INT, OFF(threads), 1, 64,
     "XNNPACK threads per inference (default 1)"},
    {"--timings", NULL, LQ_CLI_FLAG, OFF(timings), 0, 1, "add per-image stage timings (ms)"},
    {"--compact", NULL, LQ_CLI_FLAG, OFF(compact), 0, 1, "print the JSON on one line"},
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: lacquer detect [options] IMAGE...\n\n"
               "Finds hands in JPEG, PNG or WebP images and prints their 21 landmarks as JSON\n"
               "(the shape of MediaPipe's reference files). Each image is processed on its\n"
               "own unless --video is given.\n\noptions:\n");
    lq_cli_opts_help(f, opt_table, N_OPTS, 24);
}

/* Parses argv into o; returns the index of the first image or -1. */
static int parse_args(int argc, char **argv, detect_opts *o)
{
    return lq_cli_opts_parse("detect", opt_table, N_OPTS, argc, argv, o);
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
