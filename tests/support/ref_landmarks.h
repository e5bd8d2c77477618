/*
 * ref_landmarks.h - reference hand landmarks produced by Google's MediaPipe
 * pipeline (shared/data/landmarks/mediapipe_<set>_<model>.json), as lq_hands
 * in frame pixels. Test and benchmark support only; never linked into the
 * product.
 *
 *   lq_ref_set set;
 *   if (lq_ref_load(lq_test_data("landmarks/mediapipe_nails_full.json"), &set) == 0) {
 *       const lq_ref_image *r = lq_ref_find(&set, "d633f320-....jpg");
 *       ... r->hands.count, r->hands.hand[0].lm[8] (index tip, pixels) ...
 *       lq_ref_free(&set);
 *   }
 *
 * Conversion: x *= width, y *= height, z *= width (the file's z is at the
 * scale of x), world landmarks copied (metres). The file has no presence or
 * detection score: both are set to 1 for every hand it lists. track_id is the
 * hand's index in the image (the reference ran without tracking).
 */
#ifndef LQ_TEST_REF_LANDMARKS_H
#define LQ_TEST_REF_LANDMARKS_H

#include "hand/hand.h"

#define LQ_REF_MAX_IMAGES 4096
#define LQ_REF_MAX_BYTES ((size_t)64 << 20)

typedef struct lq_ref_image {
    char file[128];     /* file name, e.g. "0001.webp" */
    char path[256];     /* relative to shared/data, e.g. "video/palm_reach/0001.webp" */
    int width, height;
    lq_hands hands;     /* at most LQ_HAND_MAX hands; extra hands are dropped */
} lq_ref_image;

typedef struct lq_ref_set {
    int count;
    lq_ref_image *images;   /* malloc'd, count entries, in file order */
} lq_ref_set;

/* Parses one reference file. Returns 0, LQ_EIO (unreadable), LQ_EFORMAT
 * (not the expected structure), LQ_ELIMIT or LQ_ENOMEM; on failure *out is
 * untouched. */
int lq_ref_load(const char *json_path, lq_ref_set *out);

/* Releases the images and zeroes *set. */
void lq_ref_free(lq_ref_set *set);

/* The entry for a file name (exact match), or NULL. */
const lq_ref_image *lq_ref_find(const lq_ref_set *set, const char *file);

#endif
