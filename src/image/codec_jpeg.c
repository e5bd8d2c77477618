/*
 * codec_jpeg.c - JPEG through libturbojpeg, plus the EXIF orientation tag.
 *
 * Decoding is strict (TJFLAG_STOPONWARNING): a stream libjpeg would finish
 * with grey fill or only a warning is refused, because a half-grey frame fed
 * to the hand models is worse than a dropped one. Progressive scans are
 * capped (TJFLAG_LIMITSCANS) so a crafted file cannot burn CPU.
 */
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "image/codec_internal.h"

#define JPEG_DECODE_FLAGS (TJFLAG_STOPONWARNING | TJFLAG_LIMITSCANS)

/* ---- EXIF orientation -------------------------------------------------- */

static unsigned rd16(const uint8_t *p, int big_endian)
{
    return big_endian ? (unsigned)p[0] << 8 | p[1] : (unsigned)p[1] << 8 | p[0];
}

static uint32_t rd32(const uint8_t *p, int big_endian)
{
    return big_endian ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3]
                      : (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Orientation from a TIFF block (the APP1 payload after "Exif\0\0"); 0 if
 * the block has no valid orientation entry in IFD0. */
static int tiff_orientation(const uint8_t *t, size_t n)
{
    if (n < 8)
        return 0;
    int be;
    if (t[0] == 'I' && t[1] == 'I')
        be = 0;
    else if (t[0] == 'M' && t[1] == 'M')
        be = 1;
    else
        return 0;
    if (rd16(t + 2, be) != 42)
        return 0;
    uint32_t ifd = rd32(t + 4, be);
    if (ifd > n || n - ifd < 2)
        return 0;
    unsigned count = rd16(t + ifd, be);
    size_t entries = (n - ifd - 2) / 12;
    if (count > entries)
        count = (unsigned)entries;
    for (unsigned i = 0; i < count; i++) {
        const uint8_t *e = t + ifd + 2 + 12u * i;
        if (rd16(e, be) != 0x0112)
            continue;
        /* type SHORT (3), count 1: the value sits in the first two bytes of
         * the value field, in the file's byte order. */
        if (rd16(e + 2, be) != 3 || rd32(e + 4, be) != 1)
            return 0;
        unsigned v = rd16(e + 8, be);
        return v >= 1 && v <= 8 ? (int)v : 0;
    }
    return 0;
}

int lq__jpeg_exif_orientation(const uint8_t *buf, size_t len)
{
    if (!buf || len < 4 || buf[0] != 0xff || buf[1] != 0xd8)
        return 1;
    size_t pos = 2;
    while (pos + 4 <= len) {
        if (buf[pos] != 0xff)
            return 1;
        uint8_t m = buf[pos + 1];
        if (m == 0xff) { /* fill byte */
            pos++;
            continue;
        }
        if (m == 0xd8 || m == 0x01 || (m >= 0xd0 && m <= 0xd7)) { /* no length */
            pos += 2;
            continue;
        }
        if (m == 0xda || m == 0xd9) /* start of scan / end: no more headers */
            return 1;
        size_t seg = rd16(buf + pos + 2, 1);
        if (seg < 2 || seg > len - pos - 2)
            return 1;
        const uint8_t *p = buf + pos + 4;
        size_t n = seg - 2;
        if (m == 0xe1 && n >= 6 && memcmp(p, "Exif\0\0", 6) == 0) {
            int o = tiff_orientation(p + 6, n - 6);
            if (o)
                return o;
        }
        pos += 2 + seg;
    }
    return 1;
}

/* ---- orientation ------------------------------------------------------- */

int lq__image_orient(const lq_image *src, int o, lq_image *out)
{
    int W = src->width, H = src->height;
    int swap = o >= 5 && o <= 8;
    lq_image dst;
    int rc = lq_image_alloc(&dst, swap ? H : W, swap ? W : H);
    if (rc < 0)
        return rc;
    /* Output (x,y) reads source (sx,sy) = (ax*x + bx*y + cx, ay*x + by*y + cy). */
    int ax = 1, bx = 0, cx = 0, ay = 0, by = 1, cy = 0;
    switch (o) {
    case 2: ax = -1, cx = W - 1; break;                           /* mirror horizontally */
    case 3: ax = -1, cx = W - 1, by = -1, cy = H - 1; break;      /* rotate 180 */
    case 4: by = -1, cy = H - 1; break;                           /* mirror vertically */
    case 5: ax = 0, bx = 1, ay = 1, by = 0; break;                /* transpose */
    case 6: ax = 0, bx = 1, ay = -1, by = 0, cy = H - 1; break;   /* rotate 90 clockwise */
    case 7: ax = 0, bx = -1, cx = W - 1, ay = -1, by = 0, cy = H - 1; break; /* transverse */
    case 8: ax = 0, bx = -1, cx = W - 1, ay = 1, by = 0; break;   /* rotate 90 counter-cw */
    default: break;
    }
    for (int y = 0; y < dst.height; y++) {
        uint8_t *d = dst.data + (size_t)y * (size_t)dst.stride;
        int sx = bx * y + cx, sy = by * y + cy;
        for (int x = 0; x < dst.width; x++, d += 3, sx += ax, sy += ay) {
            const uint8_t *s = lq_image_px(src, sx, sy);
            d[0] = s[0];
            d[1] = s[1];
            d[2] = s[2];
        }
    }
    *out = dst;
    return 0;
}

/* ---- decode ------------------------------------------------------------ */

static int read_header(tjhandle tj, const uint8_t *buf, size_t len, int *w, int *h, int *cs,
                       char *err, size_t errlen)
{
    int subsamp = 0;
    if (len > 0xffffffffu)
        return lq__codec_fail(err, errlen, LQ_ELIMIT, "JPEG over 4 GiB");
    if (tjDecompressHeader3(tj, buf, (unsigned long)len, w, h, &subsamp, cs) != 0)
        return lq__codec_fail(err, errlen, LQ_EFORMAT, "bad JPEG header: %s",
                              tjGetErrorStr2(tj));
    return 0;
}

static void oriented_size(int o, int w, int h, int *ow, int *oh)
{
    int swap = o >= 5 && o <= 8;
    *ow = swap ? h : w;
    *oh = swap ? w : h;
}

int lq__jpeg_probe(const uint8_t *buf, size_t len, int *width, int *height, char *err,
                   size_t errlen)
{
    tjhandle tj = tjInitDecompress();
    if (!tj)
        return lq__codec_fail(err, errlen, LQ_ENOMEM, "cannot create a JPEG decoder");
    int w = 0, h = 0, cs = 0;
    int rc = read_header(tj, buf, len, &w, &h, &cs, err, errlen);
    tjDestroy(tj);
    if (rc < 0)
        return rc;
    oriented_size(lq__jpeg_exif_orientation(buf, len), w, h, width, height);
    return 0;
}

int lq__jpeg_decode(const uint8_t *buf, size_t len, const lq_decode_limits *lim, lq_image *out,
                    char *err, size_t errlen)
{
    tjhandle tj = tjInitDecompress();
    if (!tj)
        return lq__codec_fail(err, errlen, LQ_ENOMEM, "cannot create a JPEG decoder");
    int w = 0, h = 0, cs = 0, ow, oh;
    int rc = read_header(tj, buf, len, &w, &h, &cs, err, errlen);
    int orientation = lq__jpeg_exif_orientation(buf, len);
    oriented_size(orientation, w, h, &ow, &oh);
    if (rc == 0)
        rc = lq__check_dims(lim, ow, oh, err, errlen);
    if (rc == 0 && (cs == TJCS_CMYK || cs == TJCS_YCCK))
        rc = lq__codec_fail(err, errlen, LQ_EUNSUPPORTED, "CMYK JPEG is not supported");
    lq_image raw = {0};
    if (rc == 0 && (rc = lq_image_alloc(&raw, w, h)) < 0)
        lq__codec_fail(err, errlen, rc, "cannot allocate %dx%d pixels", w, h);
    if (rc == 0 && tjDecompress2(tj, buf, (unsigned long)len, raw.data, w, raw.stride, h,
                                 TJPF_RGB, JPEG_DECODE_FLAGS) != 0)
        rc = lq__codec_fail(err, errlen, LQ_EFORMAT, "corrupt JPEG data: %s",
                            tjGetErrorStr2(tj));
    tjDestroy(tj);
    if (rc < 0) {
        lq_image_free(&raw);
        return rc;
    }
    if (orientation == 1) {
        *out = raw;
        return 0;
    }
    rc = lq__image_orient(&raw, orientation, out);
    lq_image_free(&raw);
    if (rc < 0)
        return lq__codec_fail(err, errlen, rc, "cannot allocate the rotated image");
    return 0;
}

/* ---- encode ------------------------------------------------------------ */

int lq__jpeg_encode(const lq_image *img, int quality, lq_encoded *out)
{
    unsigned long bound = tjBufSize(img->width, img->height, TJSAMP_420);
    if (bound == (unsigned long)-1)
        return LQ_EINVAL;
    int rc = lq__encoded_reserve(out, bound);
    if (rc < 0)
        return rc;
    tjhandle tj = tjInitCompress();
    if (!tj)
        return LQ_ENOMEM;
    unsigned char *dst = out->data;
    unsigned long size = (unsigned long)out->cap;
    /* NOREALLOC: turbojpeg writes into our buffer, which is big enough for
     * the worst case, instead of allocating its own. */
    if (tjCompress2(tj, img->data, img->width, img->stride, img->height, TJPF_RGB, &dst, &size,
                    TJSAMP_420, quality < 1 ? 1 : quality, TJFLAG_NOREALLOC) != 0 ||
        dst != out->data) {
        tjDestroy(tj);
        return LQ_EINTERNAL;
    }
    tjDestroy(tj);
    out->len = size;
    return 0;
}
