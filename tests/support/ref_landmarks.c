#include "ref_landmarks.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "lq_test.h"

static int read_point(const cJSON *arr, lq_point3 *p)
{
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != 3)
        return -1;
    float v[3];
    for (int k = 0; k < 3; k++) {
        const cJSON *e = cJSON_GetArrayItem(arr, k);
        if (!cJSON_IsNumber(e))
            return -1;
        v[k] = (float)e->valuedouble;
    }
    p->x = v[0];
    p->y = v[1];
    p->z = v[2];
    return 0;
}

static int read_points(const cJSON *arr, lq_point3 *pts)
{
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) != LQ_HAND_LANDMARKS)
        return -1;
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++)
        if (read_point(cJSON_GetArrayItem(arr, i), &pts[i]) < 0)
            return -1;
    return 0;
}

static int read_hand(const cJSON *jh, int index, int width, int height, lq_hand *h)
{
    memset(h, 0, sizeof *h);
    if (read_points(cJSON_GetObjectItemCaseSensitive(jh, "landmarks"), h->lm) < 0)
        return -1;
    const cJSON *world = cJSON_GetObjectItemCaseSensitive(jh, "worldLandmarks");
    if (world && read_points(world, h->world) < 0)
        return -1;
    for (int i = 0; i < LQ_HAND_LANDMARKS; i++) {
        h->lm[i].x *= (float)width;
        h->lm[i].y *= (float)height;
        h->lm[i].z *= (float)width;
    }
    const cJSON *hd = cJSON_GetObjectItemCaseSensitive(jh, "handedness");
    const cJSON *label = cJSON_GetObjectItemCaseSensitive(hd, "label");
    const cJSON *score = cJSON_GetObjectItemCaseSensitive(hd, "score");
    if (!cJSON_IsString(label) || !cJSON_IsNumber(score))
        return -1;
    if (strcmp(label->valuestring, "Left") == 0)
        h->handedness = LQ_HAND_LEFT;
    else if (strcmp(label->valuestring, "Right") == 0)
        h->handedness = LQ_HAND_RIGHT;
    else
        return -1;
    h->handedness_score = (float)score->valuedouble;
    h->presence = 1.0f;
    h->detection_score = 1.0f;
    h->track_id = index;
    return 0;
}

static int read_image(const cJSON *ji, lq_ref_image *r)
{
    memset(r, 0, sizeof *r);
    const cJSON *file = cJSON_GetObjectItemCaseSensitive(ji, "file");
    const cJSON *path = cJSON_GetObjectItemCaseSensitive(ji, "path");
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(ji, "width");
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(ji, "height");
    const cJSON *hands = cJSON_GetObjectItemCaseSensitive(ji, "hands");
    if (!cJSON_IsString(file) || !cJSON_IsString(path) || !cJSON_IsNumber(w) ||
        !cJSON_IsNumber(h) || !cJSON_IsArray(hands))
        return -1;
    if (strlen(file->valuestring) >= sizeof r->file || strlen(path->valuestring) >= sizeof r->path)
        return -1;
    if (w->valueint < 1 || h->valueint < 1 || w->valueint > 65535 || h->valueint > 65535)
        return -1;
    strcpy(r->file, file->valuestring);
    strcpy(r->path, path->valuestring);
    r->width = w->valueint;
    r->height = h->valueint;
    int n = cJSON_GetArraySize(hands);
    for (int i = 0; i < n && r->hands.count < LQ_HAND_MAX; i++) {
        if (read_hand(cJSON_GetArrayItem(hands, i), i, r->width, r->height,
                      &r->hands.hand[r->hands.count]) < 0)
            return -1;
        r->hands.count++;
    }
    return 0;
}

int lq_ref_load(const char *json_path, lq_ref_set *out)
{
    size_t len = 0;
    uint8_t *buf = lq_test_read_file(json_path, &len);
    if (!buf)
        return LQ_EIO;
    if (len > LQ_REF_MAX_BYTES) {
        free(buf);
        return LQ_ELIMIT;
    }
    cJSON *root = cJSON_ParseWithLength((const char *)buf, len);
    free(buf);
    if (!root)
        return LQ_EFORMAT;
    int rc = LQ_EFORMAT;
    lq_ref_image *images = NULL;
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(root, "images");
    if (!cJSON_IsArray(arr))
        goto done;
    int n = cJSON_GetArraySize(arr);
    if (n < 0 || n > LQ_REF_MAX_IMAGES) {
        rc = LQ_ELIMIT;
        goto done;
    }
    images = calloc(n > 0 ? (size_t)n : 1u, sizeof *images);
    if (!images) {
        rc = LQ_ENOMEM;
        goto done;
    }
    for (int i = 0; i < n; i++)
        if (read_image(cJSON_GetArrayItem(arr, i), &images[i]) < 0)
            goto done;
    out->count = n;
    out->images = images;
    images = NULL;
    rc = 0;
done:
    free(images);
    cJSON_Delete(root);
    return rc;
}

void lq_ref_free(lq_ref_set *set)
{
    if (!set)
        return;
    free(set->images);
    set->images = NULL;
    set->count = 0;
}

const lq_ref_image *lq_ref_find(const lq_ref_set *set, const char *file)
{
    for (int i = 0; i < set->count; i++)
        if (strcmp(set->images[i].file, file) == 0)
            return &set->images[i];
    return NULL;
}
