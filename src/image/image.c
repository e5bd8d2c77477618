#include "image/image.h"

#include <stdlib.h>
#include <string.h>

int lq_image_alloc(lq_image *img, int width, int height)
{
    if (!img || width <= 0 || height <= 0)
        return LQ_EINVAL;
    if (width > LQ_IMAGE_MAX_DIM || height > LQ_IMAGE_MAX_DIM ||
        (uint64_t)width * (uint64_t)height > LQ_IMAGE_MAX_PIXELS)
        return LQ_ELIMIT;
    size_t stride = (size_t)width * 3u;
    uint8_t *data = malloc(stride * (size_t)height);
    if (!data)
        return LQ_ENOMEM;
    img->width = width;
    img->height = height;
    img->stride = (int)stride;
    img->data = data;
    img->owned = 1;
    return 0;
}

void lq_image_free(lq_image *img)
{
    if (!img)
        return;
    if (img->owned)
        free(img->data);
    memset(img, 0, sizeof *img);
}

int lq_image_copy(lq_image *dst, const lq_image *src)
{
    lq_image tmp;
    int rc = lq_image_alloc(&tmp, src->width, src->height);
    if (rc < 0)
        return rc;
    for (int y = 0; y < src->height; y++)
        memcpy(tmp.data + (size_t)y * (size_t)tmp.stride,
               src->data + (size_t)y * (size_t)src->stride, (size_t)src->width * 3u);
    *dst = tmp;
    return 0;
}
