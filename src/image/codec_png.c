/*
 * codec_png.c - PNG through libspng.
 *
 * spng converts every colour type and bit depth to RGB8 or RGBA8 for us; the
 * alpha channel, when we have to ask for it, is dropped after decoding.
 * spng's own limits (image size, chunk size, chunk cache) are set from the
 * caller's limits so a hostile file is refused inside the library too.
 */
#include <spng.h>
#include <stdlib.h>
#include <string.h>

#include "image/codec_internal.h"

/* Ancillary chunks (text, ICC profiles, EXIF) are no use to us: cap them. */
#define PNG_CHUNK_MAX ((size_t)4 << 20)
#define PNG_CHUNK_CACHE_MAX ((size_t)16 << 20)

static int png_error(int spng_rc, char *err, size_t errlen, const char *what)
{
    int code = LQ_EFORMAT;
    if (spng_rc == SPNG_EMEM)
        code = LQ_ENOMEM;
    else if (spng_rc == SPNG_EUSER_WIDTH || spng_rc == SPNG_EUSER_HEIGHT ||
             spng_rc == SPNG_ECHUNK_LIMITS)
        code = LQ_ELIMIT;
    return lq__codec_fail(err, errlen, code, "%s: %s", what, spng_strerror(spng_rc));
}

static int open_png(const uint8_t *buf, size_t len, uint32_t max_w, uint32_t max_h,
                    size_t chunk_max, spng_ctx **out, struct spng_ihdr *ihdr, char *err,
                    size_t errlen)
{
    spng_ctx *ctx = spng_ctx_new(0);
    if (!ctx)
        return lq__codec_fail(err, errlen, LQ_ENOMEM, "cannot create a PNG decoder");
    int rc = spng_set_image_limits(ctx, max_w, max_h);
    if (!rc)
        rc = spng_set_chunk_limits(ctx, chunk_max, PNG_CHUNK_CACHE_MAX);
    if (!rc)
        rc = spng_set_png_buffer(ctx, buf, len);
    if (!rc)
        rc = spng_get_ihdr(ctx, ihdr);
    if (rc) {
        spng_ctx_free(ctx);
        return png_error(rc, err, errlen, "bad PNG header");
    }
    *out = ctx;
    return 0;
}

static uint32_t cap_dim(int lim)
{
    return lim > 0 && lim < LQ_IMAGE_MAX_DIM ? (uint32_t)lim : LQ_IMAGE_MAX_DIM;
}

int lq__png_probe(const uint8_t *buf, size_t len, int *width, int *height, char *err,
                  size_t errlen)
{
    spng_ctx *ctx = NULL;
    struct spng_ihdr ihdr;
    /* Probing reports any size the format can express (PNG's maximum is
     * 2^31-1); limits are the decoder's business. */
    int rc = open_png(buf, len, 0x7fffffffu, 0x7fffffffu, PNG_CHUNK_MAX, &ctx, &ihdr, err,
                      errlen);
    if (rc < 0)
        return rc;
    spng_ctx_free(ctx);
    *width = (int)ihdr.width;
    *height = (int)ihdr.height;
    return 0;
}

/* RGBA rows to RGB in place (the RGB row never overtakes its RGBA source). */
static void drop_alpha(uint8_t *px, size_t npix)
{
    for (size_t i = 0; i < npix; i++) {
        px[3 * i + 0] = px[4 * i + 0];
        px[3 * i + 1] = px[4 * i + 1];
        px[3 * i + 2] = px[4 * i + 2];
    }
}

int lq__png_decode(const uint8_t *buf, size_t len, const lq_decode_limits *lim, lq_image *out,
                   char *err, size_t errlen)
{
    spng_ctx *ctx = NULL;
    struct spng_ihdr ihdr;
    size_t chunk_max = lim->max_bytes < PNG_CHUNK_MAX ? lim->max_bytes : PNG_CHUNK_MAX;
    int rc = open_png(buf, len, cap_dim(lim->max_width), cap_dim(lim->max_height), chunk_max, &ctx,
                      &ihdr, err, errlen);
    if (rc < 0)
        return rc;
    rc = lq__check_dims(lim, ihdr.width, ihdr.height, err, errlen);
    if (rc < 0) {
        spng_ctx_free(ctx);
        return rc;
    }
    size_t npix = (size_t)ihdr.width * ihdr.height;
    size_t rgb_size = 0, rgba_size = 0;
    int fmt = SPNG_FMT_RGB8;
    if (spng_decoded_image_size(ctx, SPNG_FMT_RGB8, &rgb_size) != 0 || rgb_size != npix * 3) {
        fmt = SPNG_FMT_RGBA8;
        int s = spng_decoded_image_size(ctx, SPNG_FMT_RGBA8, &rgba_size);
        if (s != 0 || rgba_size != npix * 4) {
            spng_ctx_free(ctx);
            return lq__codec_fail(err, errlen, LQ_EUNSUPPORTED,
                                  "PNG colour type %d depth %d cannot be converted",
                                  ihdr.color_type, ihdr.bit_depth);
        }
    }
    lq_image img;
    rc = lq_image_alloc(&img, (int)ihdr.width, (int)ihdr.height);
    if (rc < 0) {
        spng_ctx_free(ctx);
        return lq__codec_fail(err, errlen, rc, "cannot allocate %ux%u pixels", ihdr.width,
                              ihdr.height);
    }
    uint8_t *dst = img.data;
    if (fmt == SPNG_FMT_RGBA8) {
        dst = malloc(rgba_size);
        if (!dst) {
            lq_image_free(&img);
            spng_ctx_free(ctx);
            return lq__codec_fail(err, errlen, LQ_ENOMEM, "no memory for RGBA rows");
        }
    }
    int s = spng_decode_image(ctx, dst, fmt == SPNG_FMT_RGB8 ? rgb_size : rgba_size, fmt, 0);
    /* Read on to IEND so a truncated or damaged trailer is caught too. */
    if (s == 0)
        s = spng_decode_chunks(ctx);
    spng_ctx_free(ctx);
    if (s != 0) {
        if (dst != img.data)
            free(dst);
        lq_image_free(&img);
        return png_error(s, err, errlen, "corrupt PNG data");
    }
    if (dst != img.data) {
        drop_alpha(dst, npix);
        memcpy(img.data, dst, npix * 3);
        free(dst);
    }
    *out = img;
    return 0;
}

static int png_write(spng_ctx *ctx, void *user, void *src, size_t n)
{
    (void)ctx;
    return lq__encoded_append(user, src, n) == 0 ? 0 : SPNG_IO_ERROR;
}

int lq__png_encode(const lq_image *img, int level, lq_encoded *out)
{
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    if (!ctx)
        return LQ_ENOMEM;
    struct spng_ihdr ihdr = {
        .width = (uint32_t)img->width,
        .height = (uint32_t)img->height,
        .bit_depth = 8,
        .color_type = SPNG_COLOR_TYPE_TRUECOLOR,
    };
    size_t row = (size_t)img->width * 3u;
    int rc = spng_set_png_stream(ctx, png_write, out);
    if (!rc)
        rc = spng_set_ihdr(ctx, &ihdr);
    if (!rc)
        rc = spng_set_option(ctx, SPNG_IMG_COMPRESSION_LEVEL, level);
    /* Row by row, so any stride works without a copy. */
    if (!rc)
        rc = spng_encode_image(ctx, NULL, 0, SPNG_FMT_PNG,
                               SPNG_ENCODE_PROGRESSIVE | SPNG_ENCODE_FINALIZE);
    for (int y = 0; !rc && y < img->height; y++)
        rc = spng_encode_row(ctx, img->data + (size_t)y * (size_t)img->stride, row);
    spng_ctx_free(ctx);
    if (rc == SPNG_EOI)
        rc = 0;
    if (rc == SPNG_EMEM || rc == SPNG_IO_ERROR)
        return LQ_ENOMEM;
    return rc ? LQ_EINTERNAL : 0;
}
