/* roi.c - normalized rectangle maths (RectTransformationCalculator, IoU). */
#include "hand/roi.h"

#include <math.h>

float lq_normalize_radians(float angle)
{
    const double two_pi = 2.0 * M_PI;
    return (float)((double)angle - two_pi * floor(((double)angle + M_PI) / two_pi));
}

void lq_rect_transform(lq_hand_rect *r, int img_w, int img_h, const lq_rect_transform_opts *t)
{
    float width = r->w;
    float height = r->h;
    const float rotation = r->rotation;
    const float fw = (float)img_w, fh = (float)img_h;

    if (rotation == 0.0f) {
        r->cx += width * t->shift_x;
        r->cy += height * t->shift_y;
    } else {
        const float c = cosf(rotation), s = sinf(rotation);
        const float x_shift = (fw * width * t->shift_x * c - fh * height * t->shift_y * s) / fw;
        const float y_shift = (fw * width * t->shift_x * s + fh * height * t->shift_y * c) / fh;
        r->cx += x_shift;
        r->cy += y_shift;
    }
    if (t->square_long) {
        const float long_side = fmaxf(width * fw, height * fh);
        width = long_side / fw;
        height = long_side / fh;
    }
    r->w = width * t->scale_x;
    r->h = height * t->scale_y;
}

float lq_box_iou(const lq_box *a, const lq_box *b)
{
    const float ax1 = a->xmin + a->w, ay1 = a->ymin + a->h;
    const float bx1 = b->xmin + b->w, by1 = b->ymin + b->h;
    /* Rectangle_f::Intersects: both non-empty and overlapping (touching counts). */
    if (a->w < 0 || a->h < 0 || b->w < 0 || b->h < 0)
        return 0.0f;
    if (bx1 < a->xmin || ax1 < b->xmin || by1 < a->ymin || ay1 < b->ymin)
        return 0.0f;
    const float ix0 = fmaxf(a->xmin, b->xmin), iy0 = fmaxf(a->ymin, b->ymin);
    const float ix1 = fminf(ax1, bx1), iy1 = fminf(ay1, by1);
    const float inter = (ix0 > ix1 || iy0 > iy1) ? 0.0f : (ix1 - ix0) * (iy1 - iy0);
    const float norm = a->w * a->h + b->w * b->h - inter;
    return norm > 0.0f ? inter / norm : 0.0f;
}

float lq_rect_iou(const lq_hand_rect *a, const lq_hand_rect *b)
{
    const lq_box ba = {a->cx - a->w / 2.0f, a->cy - a->h / 2.0f, a->w, a->h};
    const lq_box bb = {b->cx - b->w / 2.0f, b->cy - b->h / 2.0f, b->w, b->h};
    return lq_box_iou(&ba, &bb);
}

float lq_rotation_to_upright(float x0, float y0, float x1, float y1)
{
    const float target = (float)(M_PI * 90.0 / 180.0);
    return lq_normalize_radians(target - atan2f(-(y1 - y0), x1 - x0));
}
