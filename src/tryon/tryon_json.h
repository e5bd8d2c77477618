/*
 * tryon_json.h - one frame's try-on result as JSON, the same for every
 * caller: the service's processed_frame (src/service/protocol.c) and the
 * batch worker's metadata (src/batch/job.c) both describe a frame with these
 * pieces, documented in docs/protocol.md:
 *
 *   "detection_info": {"hands_detected", "fingertips_detected" [0 thumb ..
 *                      4 pinky], "overlay_applied", "problems" [codes],
 *                      "hand_luma", "hand_sharpness", "nails_segmented"}
 *   timings:          "palm", "landmark", "nails", "segmentation", "quality",
 *                     "paint" (ms) added to the caller's timings object
 *   "hands":          [{"track_id"?, "handedness", "handedness_score", "presence"}]
 *   "nails":          [{"hand", "finger", "source", "visible", "cx", "cy",
 *                       "angle", "width", "length", "confidence"}]
 *
 * A nail found by the segmentation network alone (no hand landmarks near it)
 * has "hand": -1, "finger": null and "source": "segmentation"; every other
 * nail has "source": "landmarks". Times and scores are rounded to 3
 * decimals, pixels to 1.
 *
 * The functions add members to a cJSON object the caller owns; out of memory
 * leaves members out (cJSON's own behaviour), never crashes. Thread-safe.
 */
#ifndef LQ_TRYON_TRYON_JSON_H
#define LQ_TRYON_TRYON_JSON_H

#include <cjson/cJSON.h>

#include "tryon/tryon.h"

/* "LOW_LIGHT", "BLUR_DETECTED", "PARTIAL_HAND_DETECTED", "HAND_NOT_DETECTED"
 * for one LQ_PROBLEM_* bit, NULL for anything else. */
const char *lq_tryon_problem_code(unsigned problem_bit);

/* The LQ_PROBLEM_* bits in the order problems are listed (most actionable
 * first); count in *n. */
const unsigned *lq_tryon_problem_order(int *n);

void lq_tryon_json_add_detection(cJSON *obj, const lq_tryon_result *res);
void lq_tryon_json_add_stage_timings(cJSON *timings, const lq_tryon_result *res);
void lq_tryon_json_add_hands(cJSON *obj, const lq_tryon_result *res, int with_track_id);
void lq_tryon_json_add_nails(cJSON *obj, const lq_tryon_result *res);

#endif
