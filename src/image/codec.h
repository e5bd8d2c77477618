/*
 * codec.h - JPEG, PNG and WebP in and out of lq_image, with limits.
 *
 *   lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
 *   lq_image img;
 *   int rc = lq_image_decode(buf, len, &lim, &img, err, sizeof err);
 *   ...
 *   lq_encoded out = {0};
 *   rc = lq_image_encode(&img, LQ_FMT_WEBP, 75, 4, &out);
 *   send(out.data, out.len); lq_encoded_free(&out);
 *
 * The format is sniffed from the bytes (magic numbers), never trusted from a
 * caller's label. Dimensions are read from the header and checked against the
 * limits BEFORE any pixel memory is allocated, so an image that claims huge
 * dimensions costs nothing. JPEG EXIF orientation (tag 0x0112) is applied.
 * Alpha is dropped, not blended (frames are opaque).
 *
 * What is accepted: baseline and progressive JPEG in gray, YCbCr or RGB (not
 * CMYK/YCCK: LQ_EUNSUPPORTED), decoded strictly (a truncated or corrupt
 * stream, even one libjpeg would only warn about, is LQ_EFORMAT; at most 500
 * progressive scans); PNG of every colour type and bit depth, interlaced or
 * not, 16-bit reduced to 8, with CRCs checked and chunk sizes capped; still
 * WebP, lossy or lossless, with or without alpha (animations:
 * LQ_EUNSUPPORTED).
 *
 * Thread-safety: all functions are reentrant; no shared state.
 */
#ifndef LQ_IMAGE_CODEC_H
#define LQ_IMAGE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"
#include "image/yuv.h"

typedef enum lq_format {
    LQ_FMT_UNKNOWN = 0,
    LQ_FMT_JPEG,
    LQ_FMT_PNG,
    LQ_FMT_WEBP,
} lq_format;

typedef struct lq_decode_limits {
    int max_width;          /* refuse wider images (LQ_ELIMIT) */
    int max_height;
    uint64_t max_pixels;    /* refuse width*height above this */
    size_t max_bytes;       /* refuse larger encoded inputs */
} lq_decode_limits;

/* Generous defaults for files on disk; the service passes its own settings. */
#define LQ_DECODE_LIMITS_DEFAULT                                               \
    {LQ_IMAGE_MAX_DIM, LQ_IMAGE_MAX_DIM, LQ_IMAGE_MAX_PIXELS, (size_t)64 << 20}

/* Format from the first bytes; LQ_FMT_UNKNOWN if none matches. */
lq_format lq_image_sniff(const uint8_t *buf, size_t len);
const char *lq_format_name(lq_format f);          /* "jpeg", "png", "webp", "unknown" */
lq_format lq_format_parse(const char *name);      /* accepts "jpg" too; UNKNOWN if none */
const char *lq_format_mime(lq_format f);          /* "image/webp", ... */

/* Reads format and dimensions from the header only (after EXIF rotation for
 * JPEG: orientations 5-8 swap width and height). Returns LQ_EUNSUPPORTED for
 * an unknown format, LQ_EFORMAT if the header is broken. No pixel memory is
 * allocated; the outputs (any may be NULL) are written only on success. */
int lq_image_probe(const uint8_t *buf, size_t len, lq_format *fmt, int *width,
                   int *height) LQ_NODISCARD;

/* Decodes into a newly allocated RGB8 image. Errors: LQ_EUNSUPPORTED (not a
 * JPEG/PNG/WebP), LQ_ELIMIT (dimensions or size over the limits), LQ_EFORMAT
 * (corrupt data), LQ_ENOMEM. err (may be NULL) receives a one-line reason.
 * On failure *out is untouched. */
int lq_image_decode(const uint8_t *buf, size_t len, const lq_decode_limits *lim,
                    lq_image *out, char *err, size_t errlen) LQ_NODISCARD;

/* As lq_image_decode, and when yuv is not NULL and the input is lossy WebP,
 * also keeps the decoder's Y'CbCr 4:2:0 planes in *yuv (image/yuv.h; *out is
 * converted from them, within 1 of lq_image_decode's pixels). For any other
 * input, or on failure, *yuv is zeroed (width 0). The caller frees both. */
int lq_image_decode_ex(const uint8_t *buf, size_t len, const lq_decode_limits *lim,
                       lq_image *out, lq_yuv420 *yuv, char *err, size_t errlen) LQ_NODISCARD;

/* Reads a whole file (at most lim->max_bytes) and decodes it. LQ_ENOENT if
 * it does not exist, LQ_EIO if it cannot be read, else as lq_image_decode.
 * lim may be NULL in both (LQ_DECODE_LIMITS_DEFAULT). */
int lq_image_load(const char *path, const lq_decode_limits *lim, lq_image *out,
                  char *err, size_t errlen) LQ_NODISCARD;

typedef struct lq_encoded {
    uint8_t *data;     /* malloc'd; release with lq_encoded_free */
    size_t len;
    size_t cap;        /* reusable: encoders grow data as needed */
} lq_encoded;

/* Frees the buffer and zeroes *e. Safe on a zeroed lq_encoded. */
void lq_encoded_free(lq_encoded *e);

/* Encodes img. quality 0..100 (JPEG, WebP lossy; ignored for PNG); effort
 * 0..6 (WebP method; PNG zlib level effort*9/6 rounded down: 0,1,3,4,6,7,9;
 * ignored for JPEG, which is always baseline 4:2:0). out may be reused across
 * calls: it is overwritten (out->len is set), and its buffer is only grown
 * when too small, never shrunk, so a steady stream of frames stops
 * allocating after the first few. A JPEG encode reserves libjpeg-turbo's
 * worst-case size of the frame up front (0.9 MB for 640x480) so it can write
 * in place; JPEG quality 0 is taken as 1. Returns LQ_EINVAL
 * for a bad image, format or parameter, LQ_ENOMEM, or LQ_EINTERNAL if the
 * library fails; on failure out->len is 0 and its buffer is kept. */
int lq_image_encode(const lq_image *img, lq_format fmt, int quality, int effort,
                    lq_encoded *out) LQ_NODISCARD;

/* The full set of encoder options (lq_image_encode is this with lossless 0). */
typedef struct lq_encode_opts {
    lq_format format;
    int quality;    /* 0..100 */
    int effort;     /* 0..6 */
    int lossless;   /* WebP only: 1 selects lossless WebP (quality then trades
                       speed for size, as in libwebp) */
} lq_encode_opts;

int lq_image_encode_opts(const lq_image *img, const lq_encode_opts *opts,
                         lq_encoded *out) LQ_NODISCARD;

/* Encodes Y'CbCr 4:2:0 planes as lossy WebP: quality 0..100, effort 0..6
 * (WebP method), out reused as in lq_image_encode. Errors as there. */
int lq_image_encode_yuv(const lq_yuv420 *p, int quality, int effort,
                        lq_encoded *out) LQ_NODISCARD;

/* Encodes by the file name's extension (.jpg/.jpeg/.png/.webp, any case) with
 * effort 4 and writes it. LQ_EINVAL for another extension, LQ_EIO if the file
 * cannot be written completely. */
int lq_image_save(const lq_image *img, const char *path, int quality) LQ_NODISCARD;

#endif
