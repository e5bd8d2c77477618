/*
 * nail_jitter.h - how steady the nails are on a video: frame-to-frame
 * movement of each nail's centre on the stillest stretch, lag and popping on
 * the moving ones. Test and benchmark support (reads files, allocates).
 *
 *   lq_jitter_opts jo = LQ_JITTER_OPTS_DEFAULT;
 *   jo.frames_dir = lq_test_data("video/thumb_ok");
 *   lq_jitter_result r;
 *   rc = lq_jitter_run(&jo, my_hands_fn, my_ctx, &r);
 *
 * For each frame (the folder's .webp/.jpg/.png files in name order, at
 * jo.fps) hands_fn gives the hands; nail_locate finds the nails (with
 * jo.locate) and a nail_track (jo.track) smooths them. Both the raw nails and
 * the smoothed ones are recorded, keyed by (track_id, finger).
 *
 * Hand motion per frame = mean displacement of the 21 landmarks between
 * consecutive frames (pixels; it includes the landmarks' own jitter). The stillest stretch is the run
 * of `window` consecutive frames with the smallest mean hand motion among
 * runs where the hand is present throughout. On it:
 *   jitter = sqrt(mean |c(t) - c(t-1)|^2) over every nail present in both
 *   frames in both the raw and the smoothed output (so both figures cover
 *   the same nails), for the raw and the smoothed nails; and the same with the hand's
 *   own smooth motion removed (RMS second difference / sqrt(3), which equals
 *   the first-difference RMS for noise on a perfectly still hand).
 * On frames where the hand moves faster than `moving_px` per frame:
 *   lag_px = mean distance between the smoothed and the raw centre;
 *   lag_ms = the time shift (0..200 ms, 5 ms steps) of the raw centre track
 *   that best matches the smoothed one (least squares).
 * Pops = number of times a nail appears or disappears, per nail-second.
 */
#ifndef LQ_TEST_NAIL_JITTER_H
#define LQ_TEST_NAIL_JITTER_H

#include "hand/hand.h"
#include "image/image.h"
#include "nails/geometry.h"
#include "nails/nail_track.h"

#define LQ_JITTER_MAX_FRAMES 2048

/* Hands for frame `index` (0-based) whose image is img; path is the file. */
typedef int (*lq_jitter_hands_fn)(void *ud, int index, const char *path, const lq_image *img,
                                  lq_hands *out);

typedef struct lq_jitter_opts {
    const char *frames_dir;
    double fps;                 /* frame rate of the video (timestamps) */
    int window;                 /* frames in the still stretch */
    float moving_px;            /* hand motion per frame that counts as moving */
    nail_locate_opts locate;
    nail_track_opts track;
} lq_jitter_opts;

#define LQ_JITTER_OPTS_DEFAULT                                                 \
    {NULL, 25.0, 25, 3.0f, NAIL_LOCATE_OPTS_DEFAULT, NAIL_TRACK_OPTS_DEFAULT}

typedef struct lq_jitter_result {
    int frames;                 /* frames read */
    int frames_with_hand;
    int still_start;            /* first frame of the still stretch, -1 if none */
    double still_motion_px;     /* mean hand motion per frame over it */
    int still_samples;          /* nail frame pairs measured on it */
    double jitter_raw_px;       /* RMS frame-to-frame centre movement, raw nails */
    double jitter_px;           /* ... smoothed nails */
    double jitter_detrended_raw_px; /* second-difference jitter, raw nails */
    double jitter_detrended_px;     /* ... smoothed nails */
    int moving_frames;
    double lag_px;              /* mean smoothed-vs-raw centre distance when moving */
    double lag_ms;              /* best-matching time shift when moving */
    double pops_raw;            /* appear/disappear events per nail-second, raw */
    double pops;                /* ... smoothed */
    double nails_per_frame;     /* mean smoothed nails shown per frame */
} lq_jitter_result;

/* Runs the measurement. Returns 0, LQ_ENOENT (folder), LQ_ELIMIT (too many
 * frames), LQ_ENOMEM, a decoder error or hands_fn's error. */
int lq_jitter_run(const lq_jitter_opts *o, lq_jitter_hands_fn hands_fn, void *ud,
                  lq_jitter_result *r);

#endif
