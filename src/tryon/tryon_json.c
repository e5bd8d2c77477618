/* tryon_json.c - one frame's try-on result as JSON (see tryon_json.h). */
#include "tryon/tryon_json.h"

#include <math.h>

static double r1(double v)
{
    return round(v * 10.0) / 10.0;
}

static double r3(double v)
{
    return round(v * 1000.0) / 1000.0;
}

static const unsigned problem_order[] = {LQ_PROBLEM_LOW_LIGHT, LQ_PROBLEM_BLUR,
                                         LQ_PROBLEM_PARTIAL_HAND, LQ_PROBLEM_NO_HAND};

static const char *const finger_names[NAIL_FINGERS] = {"thumb", "index", "middle", "ring",
                                                       "pinky"};

const char *lq_tryon_problem_code(unsigned problem_bit)
{
    switch (problem_bit) {
    case LQ_PROBLEM_LOW_LIGHT: return "LOW_LIGHT";
    case LQ_PROBLEM_BLUR: return "BLUR_DETECTED";
    case LQ_PROBLEM_PARTIAL_HAND: return "PARTIAL_HAND_DETECTED";
    case LQ_PROBLEM_NO_HAND: return "HAND_NOT_DETECTED";
    }
    return NULL;
}

const unsigned *lq_tryon_problem_order(int *n)
{
    *n = (int)(sizeof problem_order / sizeof problem_order[0]);
    return problem_order;
}

void lq_tryon_json_add_detection(cJSON *obj, const lq_tryon_result *res)
{
    cJSON *di = cJSON_AddObjectToObject(obj, "detection_info");
    if (!di)
        return;
    cJSON_AddNumberToObject(di, "hands_detected", res->hands.count);
    cJSON *tips = cJSON_AddArrayToObject(di, "fingertips_detected");
    for (int f = 0; f < NAIL_FINGERS && tips; f++)
        if (res->fingertips_mask & (1u << f))
            cJSON_AddItemToArray(tips, cJSON_CreateNumber(f));
    cJSON_AddBoolToObject(di, "overlay_applied", res->overlay_applied);
    cJSON *probs = cJSON_AddArrayToObject(di, "problems");
    for (size_t i = 0; i < sizeof problem_order / sizeof problem_order[0] && probs; i++)
        if (res->problems & problem_order[i])
            cJSON_AddItemToArray(probs,
                                 cJSON_CreateString(lq_tryon_problem_code(problem_order[i])));
    cJSON_AddNumberToObject(di, "hand_luma", r1(res->hand_luma));
    cJSON_AddNumberToObject(di, "hand_sharpness", r1(res->hand_sharpness));
    cJSON_AddNumberToObject(di, "nails_segmented", res->nails_segmented);
}

void lq_tryon_json_add_stage_timings(cJSON *t, const lq_tryon_result *res)
{
    cJSON_AddNumberToObject(t, "palm", r3(res->t.palm_ms));
    cJSON_AddNumberToObject(t, "landmark", r3(res->t.landmark_ms));
    cJSON_AddNumberToObject(t, "nails", r3(res->t.nails_ms));
    cJSON_AddNumberToObject(t, "segmentation", r3(res->t.seg_ms));
    cJSON_AddNumberToObject(t, "outline", r3(res->t.outline_ms));
    cJSON_AddNumberToObject(t, "quality", r3(res->t.quality_ms));
    cJSON_AddNumberToObject(t, "paint", r3(res->t.paint_ms));
}

void lq_tryon_json_add_hands(cJSON *obj, const lq_tryon_result *res, int with_track_id)
{
    cJSON *hands = cJSON_AddArrayToObject(obj, "hands");
    for (int h = 0; hands && h < res->hands.count && h < LQ_HAND_MAX; h++) {
        const lq_hand *hd = &res->hands.hand[h];
        cJSON *jh = cJSON_CreateObject();
        if (!jh)
            return;
        if (with_track_id)
            cJSON_AddNumberToObject(jh, "track_id", hd->track_id);
        cJSON_AddStringToObject(jh, "handedness", hd->handedness == LQ_HAND_LEFT ? "left" : "right");
        cJSON_AddNumberToObject(jh, "handedness_score", r3(hd->handedness_score));
        cJSON_AddNumberToObject(jh, "presence", r3(hd->presence));
        cJSON_AddItemToArray(hands, jh);
    }
}

void lq_tryon_json_add_nails(cJSON *obj, const lq_tryon_result *res)
{
    cJSON *nails = cJSON_AddArrayToObject(obj, "nails");
    const int n = res->nnails < NAIL_MAX ? res->nnails : NAIL_MAX;
    const int first_seg = n - (res->nails_segmented > 0 ? res->nails_segmented : 0);
    for (int i = 0; nails && i < n; i++) {
        const nail_geom *g = &res->nails[i];
        cJSON *jn = cJSON_CreateObject();
        if (!jn)
            return;
        const int seg_only = i >= first_seg || g->finger < 0 || g->finger >= NAIL_FINGERS;
        cJSON_AddNumberToObject(jn, "hand", seg_only ? -1 : g->hand);
        if (seg_only)
            cJSON_AddNullToObject(jn, "finger");
        else
            cJSON_AddStringToObject(jn, "finger", finger_names[g->finger]);
        cJSON_AddStringToObject(jn, "source", seg_only ? "segmentation" : "landmarks");
        cJSON_AddBoolToObject(jn, "visible", g->visible);
        cJSON_AddNumberToObject(jn, "cx", r1(g->cx));
        cJSON_AddNumberToObject(jn, "cy", r1(g->cy));
        cJSON_AddNumberToObject(jn, "angle", r3(atan2(g->ay, g->ax)));
        cJSON_AddNumberToObject(jn, "width", r1(g->width));
        cJSON_AddNumberToObject(jn, "length", r1(g->length));
        cJSON_AddNumberToObject(jn, "confidence", r3(g->confidence));
        cJSON_AddItemToArray(nails, jn);
    }
}
