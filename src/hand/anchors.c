/* anchors.c - SSD anchors (MediaPipe SsdAnchorsCalculator, non-multiscale path). */
#include "hand/anchors.h"

#include <math.h>
#include <stddef.h>

#define SSD_MAX_INPUT 4096
#define SSD_MAX_PER_CELL (LQ_SSD_MAX_LAYERS * (LQ_SSD_MAX_ASPECTS + 3))

lq_ssd_anchor_opts lq_palm_anchor_opts(void)
{
    lq_ssd_anchor_opts o = {
        .num_layers = 4,
        .min_scale = 0.1484375f,
        .max_scale = 0.75f,
        .input_w = 192,
        .input_h = 192,
        .offset_x = 0.5f,
        .offset_y = 0.5f,
        .strides = {8, 16, 16, 16},
        .aspect_ratios = {1.0f},
        .num_aspect_ratios = 1,
        .interpolated_scale_aspect_ratio = 1.0f,
        .reduce_boxes_in_lowest_layer = 0,
        .fixed_anchor_size = 1,
    };
    return o;
}

static float layer_scale(float min_scale, float max_scale, int index, int count)
{
    if (count == 1)
        return (min_scale + max_scale) * 0.5f;
    return min_scale + (max_scale - min_scale) * 1.0f * (float)index / ((float)count - 1.0f);
}

static int options_valid(const lq_ssd_anchor_opts *o)
{
    if (!o || o->num_layers < 1 || o->num_layers > LQ_SSD_MAX_LAYERS)
        return 0;
    if (o->input_w < 1 || o->input_h < 1 || o->input_w > SSD_MAX_INPUT ||
        o->input_h > SSD_MAX_INPUT)
        return 0;
    if (o->num_aspect_ratios < 0 || o->num_aspect_ratios > LQ_SSD_MAX_ASPECTS)
        return 0;
    for (int i = 0; i < o->num_aspect_ratios; i++)
        if (!(o->aspect_ratios[i] > 0.0f))
            return 0;
    for (int i = 0; i < o->num_layers; i++)
        if (o->strides[i] < 1 || o->strides[i] > SSD_MAX_INPUT)
            return 0;
    return 1;
}

/* Per-cell anchor sizes of the layer group starting at `first` (layers with
 * the same stride are merged, as the calculator does). Returns the number of
 * anchors per cell and stores the index one past the group in *next. */
static int group_sizes(const lq_ssd_anchor_opts *o, int first, float *ws, float *hs, int *next)
{
    int n = 0;
    int last = first;
    while (last < o->num_layers && o->strides[last] == o->strides[first]) {
        const float scale = layer_scale(o->min_scale, o->max_scale, last, o->num_layers);
        if (last == 0 && o->reduce_boxes_in_lowest_layer) {
            static const float ratios[3] = {1.0f, 2.0f, 0.5f};
            const float scales[3] = {0.1f, scale, scale};
            for (int k = 0; k < 3; k++) {
                const float r = sqrtf(ratios[k]);
                ws[n] = scales[k] * r;
                hs[n] = scales[k] / r;
                n++;
            }
        } else {
            for (int k = 0; k < o->num_aspect_ratios; k++) {
                const float r = sqrtf(o->aspect_ratios[k]);
                ws[n] = scale * r;
                hs[n] = scale / r;
                n++;
            }
            if (o->interpolated_scale_aspect_ratio > 0.0f) {
                const float next_scale =
                    last == o->num_layers - 1
                        ? 1.0f
                        : layer_scale(o->min_scale, o->max_scale, last + 1, o->num_layers);
                const float s = sqrtf(scale * next_scale);
                const float r = sqrtf(o->interpolated_scale_aspect_ratio);
                ws[n] = s * r;
                hs[n] = s / r;
                n++;
            }
        }
        last++;
    }
    *next = last;
    return n;
}

static int feature_map_dim(int input, int stride)
{
    return (int)ceilf(1.0f * (float)input / (float)stride);
}

int lq_ssd_anchors_count(const lq_ssd_anchor_opts *o)
{
    if (!options_valid(o))
        return LQ_EINVAL;
    float ws[SSD_MAX_PER_CELL], hs[SSD_MAX_PER_CELL];
    long total = 0;
    int layer = 0;
    while (layer < o->num_layers) {
        int next;
        const int per_cell = group_sizes(o, layer, ws, hs, &next);
        const long fh = feature_map_dim(o->input_h, o->strides[layer]);
        const long fw = feature_map_dim(o->input_w, o->strides[layer]);
        total += fh * fw * per_cell;
        layer = next;
    }
    if (total > (1L << 24))
        return LQ_EINVAL;
    return (int)total;
}

int lq_ssd_anchors_generate(const lq_ssd_anchor_opts *o, lq_ssd_anchor *out, int cap, int *n)
{
    const int total = lq_ssd_anchors_count(o);
    if (total < 0)
        return total;
    if (!out || !n)
        return LQ_EINVAL;
    if (total > cap)
        return LQ_ELIMIT;
    float ws[SSD_MAX_PER_CELL], hs[SSD_MAX_PER_CELL];
    int k = 0;
    int layer = 0;
    while (layer < o->num_layers) {
        int next;
        const int per_cell = group_sizes(o, layer, ws, hs, &next);
        const int fh = feature_map_dim(o->input_h, o->strides[layer]);
        const int fw = feature_map_dim(o->input_w, o->strides[layer]);
        for (int y = 0; y < fh; y++) {
            for (int x = 0; x < fw; x++) {
                for (int a = 0; a < per_cell; a++) {
                    lq_ssd_anchor *an = &out[k++];
                    an->x_center = ((float)x + o->offset_x) * 1.0f / (float)fw;
                    an->y_center = ((float)y + o->offset_y) * 1.0f / (float)fh;
                    an->w = o->fixed_anchor_size ? 1.0f : ws[a];
                    an->h = o->fixed_anchor_size ? 1.0f : hs[a];
                }
            }
        }
        layer = next;
    }
    *n = k;
    return 0;
}
