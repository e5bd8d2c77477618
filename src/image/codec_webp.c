/*
 * codec_webp.c - still WebP (lossy VP8, lossless VP8L, with or without
 * alpha) through libwebp. Decoding writes RGB straight into the lq_image (or a
 * lossy frame's own Y'CbCr planes into an lq_yuv420, image/yuv.h);
 * encoding streams into the caller's reusable lq_encoded.
 */
#include <string.h>

#include <webp/decode.h>
#include <webp/encode.h>

#include "image/codec_internal.h"

static int features(const uint8_t *buf, size_t len, WebPBitstreamFeatures *f, char *err,
                    size_t errlen)
{
    VP8StatusCode st = WebPGetFeatures(buf, len, f);
    if (st == VP8_STATUS_NOT_ENOUGH_DATA)
        return lq__codec_fail(err, errlen, LQ_EFORMAT, "truncated WebP header");
    if (st != VP8_STATUS_OK)
        return lq__codec_fail(err, errlen, LQ_EFORMAT, "bad WebP header (status %d)", (int)st);
    if (f->has_animation)
        return lq__codec_fail(err, errlen, LQ_EUNSUPPORTED, "animated WebP is not supported");
    return 0;
}

int lq__webp_probe(const uint8_t *buf, size_t len, int *width, int *height, char *err,
                   size_t errlen)
{
    WebPBitstreamFeatures f;
    int rc = features(buf, len, &f, err, errlen);
    if (rc < 0)
        return rc;
    *width = f.width;
    *height = f.height;
    return 0;
}

/* Runs libwebp's advanced decoder into the caller's memory that `into`
 * describes (colorspace and planes). The advanced API says why a decode
 * failed: libwebp allocates its own buffers, and running out of memory is
 * not a corrupt frame. */
static int decode_into(const uint8_t *buf, size_t len, const WebPDecBuffer *into, char *err,
                       size_t errlen)
{
    WebPDecoderConfig cfg;
    if (!WebPInitDecoderConfig(&cfg))
        return lq__codec_fail(err, errlen, LQ_EINTERNAL, "libwebp version mismatch");
    cfg.output = *into;
    cfg.output.is_external_memory = 1;
    VP8StatusCode st = WebPDecode(buf, len, &cfg);
    WebPFreeDecBuffer(&cfg.output);
    if (st == VP8_STATUS_OK)
        return 0;
    if (st == VP8_STATUS_OUT_OF_MEMORY)
        return lq__codec_fail(err, errlen, LQ_ENOMEM, "out of memory decoding WebP");
    return lq__codec_fail(err, errlen, LQ_EFORMAT, "corrupt or truncated WebP data");
}

int lq__webp_decode(const uint8_t *buf, size_t len, const lq_decode_limits *lim, lq_image *out,
                    char *err, size_t errlen)
{
    WebPBitstreamFeatures f;
    int rc = features(buf, len, &f, err, errlen);
    if (rc == 0)
        rc = lq__check_dims(lim, f.width, f.height, err, errlen);
    if (rc < 0)
        return rc;
    lq_image img;
    rc = lq_image_alloc(&img, f.width, f.height);
    if (rc < 0)
        return lq__codec_fail(err, errlen, rc, "cannot allocate %dx%d pixels", f.width,
                              f.height);
    WebPDecBuffer into;
    memset(&into, 0, sizeof into);
    into.colorspace = MODE_RGB;
    into.u.RGBA.rgba = img.data;
    into.u.RGBA.stride = img.stride;
    into.u.RGBA.size = (size_t)img.stride * (size_t)img.height;
    rc = decode_into(buf, len, &into, err, errlen);
    if (rc < 0) {
        lq_image_free(&img);
        return rc;
    }
    *out = img;
    return 0;
}

int lq__webp_decode_yuv(const uint8_t *buf, size_t len, const lq_decode_limits *lim,
                        lq_image *out, lq_yuv420 *yuv, char *err, size_t errlen)
{
    WebPBitstreamFeatures f;
    int rc = features(buf, len, &f, err, errlen);
    if (rc < 0)
        return rc;
    if (f.format != 1) /* lossless (or mixed): no Y'CbCr planes to keep */
        return LQ_EUNSUPPORTED;
    rc = lq__check_dims(lim, f.width, f.height, err, errlen);
    if (rc < 0)
        return rc;
    lq_yuv420 p;
    lq_image img;
    rc = lq_yuv420_alloc(&p, f.width, f.height);
    if (rc < 0)
        return lq__codec_fail(err, errlen, rc, "cannot allocate %dx%d pixels", f.width,
                              f.height);
    rc = lq_image_alloc(&img, f.width, f.height);
    if (rc < 0) {
        lq_yuv420_free(&p);
        return lq__codec_fail(err, errlen, rc, "cannot allocate %dx%d pixels", f.width,
                              f.height);
    }
    const size_t cw = (size_t)p.uv_stride, ch = (size_t)(f.height + 1) / 2;
    WebPDecBuffer into;
    memset(&into, 0, sizeof into);
    into.colorspace = MODE_YUV;
    into.u.YUVA.y = p.y;
    into.u.YUVA.y_stride = p.y_stride;
    into.u.YUVA.y_size = (size_t)p.y_stride * (size_t)f.height;
    into.u.YUVA.u = p.u;
    into.u.YUVA.u_stride = p.uv_stride;
    into.u.YUVA.u_size = cw * ch;
    into.u.YUVA.v = p.v;
    into.u.YUVA.v_stride = p.uv_stride;
    into.u.YUVA.v_size = cw * ch;
    rc = decode_into(buf, len, &into, err, errlen);
    if (rc == 0 && (rc = lq_yuv420_to_rgb(&p, &img)) < 0)
        rc = lq__codec_fail(err, errlen, rc, rc == LQ_ENOMEM ? "out of memory decoding WebP"
                                                              : "cannot convert the WebP planes");
    if (rc < 0) {
        lq_yuv420_free(&p);
        lq_image_free(&img);
        return rc;
    }
    *out = img;
    *yuv = p;
    return 0;
}

static int webp_write(const uint8_t *data, size_t n, const WebPPicture *pic)
{
    return lq__encoded_append(pic->custom_ptr, data, n) == 0;
}

int lq__webp_encode(const lq_image *img, int quality, int method, int lossless, lq_encoded *out)
{
    WebPConfig cfg;
    WebPPicture pic;
    if (!WebPConfigInit(&cfg) || !WebPPictureInit(&pic))
        return LQ_EINTERNAL;
    cfg.quality = (float)quality;
    cfg.method = method;
    cfg.lossless = lossless;
    if (lossless)
        cfg.exact = 1;
    if (!WebPValidateConfig(&cfg))
        return LQ_EINVAL;
    pic.width = img->width;
    pic.height = img->height;
    pic.use_argb = lossless;
    pic.writer = webp_write;
    pic.custom_ptr = out;
    /* A typical lossy frame is well under a bit per pixel: one reservation up
     * front saves the writer a few doublings on the first frame. */
    int rc = lq__encoded_reserve(out, (size_t)img->width * (size_t)img->height / 8 + 1024);
    if (rc < 0)
        return rc;
    if (!WebPPictureImportRGB(&pic, img->data, img->stride)) {
        WebPPictureFree(&pic);
        return LQ_ENOMEM;
    }
    int ok = WebPEncode(&cfg, &pic);
    WebPEncodingError e = pic.error_code;
    WebPPictureFree(&pic);
    if (!ok)
        return e == VP8_ENC_ERROR_OUT_OF_MEMORY || e == VP8_ENC_ERROR_BAD_WRITE ? LQ_ENOMEM
                                                                                 : LQ_EINTERNAL;
    return 0;
}

int lq__webp_encode_yuv(const lq_yuv420 *p, int quality, int method, lq_encoded *out)
{
    WebPConfig cfg;
    WebPPicture pic;
    if (!WebPConfigInit(&cfg) || !WebPPictureInit(&pic))
        return LQ_EINTERNAL;
    cfg.quality = (float)quality;
    cfg.method = method;
    if (!WebPValidateConfig(&cfg))
        return LQ_EINVAL;
    /* The picture only points at the caller's planes: libwebp reads them
     * (WebPEncode does not write a YUV picture's planes) and frees nothing. */
    pic.width = p->width;
    pic.height = p->height;
    pic.use_argb = 0;
    pic.colorspace = WEBP_YUV420;
    pic.y = p->y;
    pic.u = p->u;
    pic.v = p->v;
    pic.y_stride = p->y_stride;
    pic.uv_stride = p->uv_stride;
    pic.writer = webp_write;
    pic.custom_ptr = out;
    int rc = lq__encoded_reserve(out, (size_t)p->width * (size_t)p->height / 8 + 1024);
    if (rc < 0)
        return rc;
    int ok = WebPEncode(&cfg, &pic);
    WebPEncodingError e = pic.error_code;
    /* WebPPictureFree on a view would free the caller's planes: only the
     * encoder's own side allocations (none for a plain YUV picture) exist. */
    if (!ok)
        return e == VP8_ENC_ERROR_OUT_OF_MEMORY || e == VP8_ENC_ERROR_BAD_WRITE ? LQ_ENOMEM
                                                                                 : LQ_EINTERNAL;
    return 0;
}
