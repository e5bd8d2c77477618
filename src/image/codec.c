/*
 * codec.c - format sniffing, limits and dispatch to the per-format back ends
 * (codec_jpeg.c, codec_png.c, codec_webp.c), file loading and saving, and the
 * reusable output buffer.
 */
#include "image/codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "image/codec_internal.h"

int lq__codec_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

int lq__check_dims(const lq_decode_limits *lim, long long width, long long height, char *err,
                   size_t errlen)
{
    if (width <= 0 || height <= 0)
        return lq__codec_fail(err, errlen, LQ_EFORMAT, "image header has size %lldx%lld",
                              width, height);
    long long max_w = lim->max_width < LQ_IMAGE_MAX_DIM ? lim->max_width : LQ_IMAGE_MAX_DIM;
    long long max_h = lim->max_height < LQ_IMAGE_MAX_DIM ? lim->max_height : LQ_IMAGE_MAX_DIM;
    uint64_t max_px = lim->max_pixels < LQ_IMAGE_MAX_PIXELS ? lim->max_pixels : LQ_IMAGE_MAX_PIXELS;
    if (width > max_w || height > max_h)
        return lq__codec_fail(err, errlen, LQ_ELIMIT, "image is %lldx%lld, limit is %lldx%lld",
                              width, height, max_w, max_h);
    if ((uint64_t)width * (uint64_t)height > max_px)
        return lq__codec_fail(err, errlen, LQ_ELIMIT,
                              "image is %lldx%lld = %llu pixels, limit is %llu", width, height,
                              (unsigned long long)((uint64_t)width * (uint64_t)height),
                              (unsigned long long)max_px);
    return 0;
}

int lq__encoded_reserve(lq_encoded *e, size_t extra)
{
    if (extra > SIZE_MAX - e->len)
        return LQ_ENOMEM;
    size_t need = e->len + extra;
    if (need <= e->cap && e->data)
        return 0;
    size_t cap = e->cap ? e->cap : 4096;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    uint8_t *p = realloc(e->data, cap);
    if (!p)
        return LQ_ENOMEM;
    e->data = p;
    e->cap = cap;
    return 0;
}

int lq__encoded_append(lq_encoded *e, const void *data, size_t n)
{
    int rc = lq__encoded_reserve(e, n);
    if (rc < 0)
        return rc;
    if (n)
        memcpy(e->data + e->len, data, n);
    e->len += n;
    return 0;
}

void lq_encoded_free(lq_encoded *e)
{
    if (!e)
        return;
    free(e->data);
    memset(e, 0, sizeof *e);
}

lq_format lq_image_sniff(const uint8_t *buf, size_t len)
{
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (!buf)
        return LQ_FMT_UNKNOWN;
    if (len >= 3 && buf[0] == 0xff && buf[1] == 0xd8 && buf[2] == 0xff)
        return LQ_FMT_JPEG;
    if (len >= 8 && memcmp(buf, png_sig, 8) == 0)
        return LQ_FMT_PNG;
    if (len >= 12 && memcmp(buf, "RIFF", 4) == 0 && memcmp(buf + 8, "WEBP", 4) == 0)
        return LQ_FMT_WEBP;
    return LQ_FMT_UNKNOWN;
}

const char *lq_format_name(lq_format f)
{
    switch (f) {
    case LQ_FMT_JPEG:
        return "jpeg";
    case LQ_FMT_PNG:
        return "png";
    case LQ_FMT_WEBP:
        return "webp";
    default:
        return "unknown";
    }
}

lq_format lq_format_parse(const char *name)
{
    if (!name)
        return LQ_FMT_UNKNOWN;
    if (strcasecmp(name, "jpeg") == 0 || strcasecmp(name, "jpg") == 0)
        return LQ_FMT_JPEG;
    if (strcasecmp(name, "png") == 0)
        return LQ_FMT_PNG;
    if (strcasecmp(name, "webp") == 0)
        return LQ_FMT_WEBP;
    return LQ_FMT_UNKNOWN;
}

const char *lq_format_mime(lq_format f)
{
    switch (f) {
    case LQ_FMT_JPEG:
        return "image/jpeg";
    case LQ_FMT_PNG:
        return "image/png";
    case LQ_FMT_WEBP:
        return "image/webp";
    default:
        return "application/octet-stream";
    }
}

int lq_image_probe(const uint8_t *buf, size_t len, lq_format *fmt, int *width, int *height)
{
    lq_format f = lq_image_sniff(buf, len);
    int w = 0, h = 0, rc;
    switch (f) {
    case LQ_FMT_JPEG:
        rc = lq__jpeg_probe(buf, len, &w, &h, NULL, 0);
        break;
    case LQ_FMT_PNG:
        rc = lq__png_probe(buf, len, &w, &h, NULL, 0);
        break;
    case LQ_FMT_WEBP:
        rc = lq__webp_probe(buf, len, &w, &h, NULL, 0);
        break;
    default:
        return LQ_EUNSUPPORTED;
    }
    if (rc < 0)
        return rc;
    if (w <= 0 || h <= 0)
        return LQ_EFORMAT;
    if (fmt)
        *fmt = f;
    if (width)
        *width = w;
    if (height)
        *height = h;
    return 0;
}

int lq_image_decode(const uint8_t *buf, size_t len, const lq_decode_limits *lim, lq_image *out,
                    char *err, size_t errlen)
{
    static const lq_decode_limits defaults = LQ_DECODE_LIMITS_DEFAULT;
    if (!lim)
        lim = &defaults;
    if (!out || (!buf && len))
        return lq__codec_fail(err, errlen, LQ_EINVAL, "no input or output");
    if (len == 0)
        return lq__codec_fail(err, errlen, LQ_EUNSUPPORTED, "empty input");
    if (len > lim->max_bytes)
        return lq__codec_fail(err, errlen, LQ_ELIMIT, "input is %zu bytes, limit is %zu", len,
                              lim->max_bytes);
    switch (lq_image_sniff(buf, len)) {
    case LQ_FMT_JPEG:
        return lq__jpeg_decode(buf, len, lim, out, err, errlen);
    case LQ_FMT_PNG:
        return lq__png_decode(buf, len, lim, out, err, errlen);
    case LQ_FMT_WEBP:
        return lq__webp_decode(buf, len, lim, out, err, errlen);
    default:
        return lq__codec_fail(err, errlen, LQ_EUNSUPPORTED, "not a JPEG, PNG or WebP image");
    }
}

int lq_image_decode_ex(const uint8_t *buf, size_t len, const lq_decode_limits *lim,
                       lq_image *out, lq_yuv420 *yuv, char *err, size_t errlen)
{
    static const lq_decode_limits defaults = LQ_DECODE_LIMITS_DEFAULT;
    if (yuv)
        memset(yuv, 0, sizeof *yuv);
    if (!lim)
        lim = &defaults;
    if (yuv && out && buf && len > 0 && len <= lim->max_bytes &&
        lq_image_sniff(buf, len) == LQ_FMT_WEBP) {
        int rc = lq__webp_decode_yuv(buf, len, lim, out, yuv, err, errlen);
        if (rc != LQ_EUNSUPPORTED)
            return rc;
        /* lossless, or animated: the plain path says which */
    }
    return lq_image_decode(buf, len, lim, out, err, errlen);
}

int lq_image_load(const char *path, const lq_decode_limits *lim, lq_image *out, char *err,
                  size_t errlen)
{
    static const lq_decode_limits defaults = LQ_DECODE_LIMITS_DEFAULT;
    if (!lim)
        lim = &defaults;
    if (!path || !out)
        return lq__codec_fail(err, errlen, LQ_EINVAL, "no path or output");
    FILE *f = fopen(path, "rb");
    if (!f)
        return lq__codec_fail(err, errlen, errno == ENOENT ? LQ_ENOENT : LQ_EIO,
                              "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return lq__codec_fail(err, errlen, LQ_EIO, "%s is not a regular file", path);
    }
    if ((uint64_t)st.st_size > (uint64_t)lim->max_bytes) {
        fclose(f);
        return lq__codec_fail(err, errlen, LQ_ELIMIT, "%s is %lld bytes, limit is %zu", path,
                              (long long)st.st_size, lim->max_bytes);
    }
    size_t size = (size_t)st.st_size;
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) {
        fclose(f);
        return lq__codec_fail(err, errlen, LQ_ENOMEM, "no memory for %zu bytes", size);
    }
    size_t got = fread(buf, 1, size, f);
    int rd_err = ferror(f);
    fclose(f);
    if (got != size || rd_err) {
        free(buf);
        return lq__codec_fail(err, errlen, LQ_EIO, "short read on %s", path);
    }
    int rc = lq_image_decode(buf, size, lim, out, err, errlen);
    free(buf);
    return rc;
}

static int image_is_valid(const lq_image *img)
{
    return img && img->data && img->width > 0 && img->height > 0 &&
           img->width <= LQ_IMAGE_MAX_DIM && img->height <= LQ_IMAGE_MAX_DIM &&
           img->stride >= 3 * img->width;
}

int lq_image_encode_yuv(const lq_yuv420 *p, int quality, int effort, lq_encoded *out)
{
    if (!out)
        return LQ_EINVAL;
    out->len = 0;
    if (!p || !p->buf || p->width < 1 || p->height < 1 || p->width > LQ_IMAGE_MAX_DIM ||
        p->height > LQ_IMAGE_MAX_DIM || quality < 0 || quality > 100 || effort < 0 || effort > 6)
        return LQ_EINVAL;
    int rc = lq__webp_encode_yuv(p, quality, effort, out);
    if (rc < 0)
        out->len = 0;
    return rc;
}

int lq_image_encode_opts(const lq_image *img, const lq_encode_opts *o, lq_encoded *out)
{
    if (!out)
        return LQ_EINVAL;
    out->len = 0;
    if (!o || !image_is_valid(img) || o->quality < 0 || o->quality > 100 || o->effort < 0 ||
        o->effort > 6)
        return LQ_EINVAL;
    int rc;
    switch (o->format) {
    case LQ_FMT_JPEG:
        rc = lq__jpeg_encode(img, o->quality, out);
        break;
    case LQ_FMT_PNG:
        rc = lq__png_encode(img, o->effort * 9 / 6, out);
        break;
    case LQ_FMT_WEBP:
        rc = lq__webp_encode(img, o->quality, o->effort, o->lossless != 0, out);
        break;
    default:
        return LQ_EINVAL;
    }
    if (rc < 0)
        out->len = 0;
    return rc;
}

int lq_image_encode(const lq_image *img, lq_format fmt, int quality, int effort, lq_encoded *out)
{
    lq_encode_opts o = {fmt, quality, effort, 0};
    return lq_image_encode_opts(img, &o, out);
}

static lq_format format_from_path(const char *path)
{
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash))
        return LQ_FMT_UNKNOWN;
    return lq_format_parse(dot + 1);
}

int lq_image_save(const lq_image *img, const char *path, int quality)
{
    if (!path)
        return LQ_EINVAL;
    lq_format fmt = format_from_path(path);
    if (fmt == LQ_FMT_UNKNOWN)
        return LQ_EINVAL;
    lq_encoded enc = {0};
    int rc = lq_image_encode(img, fmt, quality, 4, &enc);
    if (rc < 0)
        return rc;
    FILE *f = fopen(path, "wb");
    if (!f) {
        lq_encoded_free(&enc);
        return LQ_EIO;
    }
    size_t put = fwrite(enc.data, 1, enc.len, f);
    int close_rc = fclose(f);
    rc = (put == enc.len && close_rc == 0) ? 0 : LQ_EIO;
    lq_encoded_free(&enc);
    return rc;
}
