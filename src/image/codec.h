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
 * Alpha is dropped (frames are opaque).
 *
 * Thread-safety: all functions are reentrant; no shared state.
 */
#ifndef LQ_IMAGE_CODEC_H
#define LQ_IMAGE_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "image/image.h"

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
 * JPEG). Returns LQ_EUNSUPPORTED for an unknown format, LQ_EFORMAT if the
 * header is broken. */
int lq_image_probe(const uint8_t *buf, size_t len, lq_format *fmt, int *width,
                   int *height) LQ_NODISCARD;

/* Decodes into a newly allocated RGB8 image. Errors: LQ_EUNSUPPORTED (not a
 * JPEG/PNG/WebP), LQ_ELIMIT (dimensions or size over the limits), LQ_EFORMAT
 * (corrupt data), LQ_ENOMEM. err (may be NULL) receives a one-line reason.
 * On failure *out is untouched. */
int lq_image_decode(const uint8_t *buf, size_t len, const lq_decode_limits *lim,
                    lq_image *out, char *err, size_t errlen) LQ_NODISCARD;

/* Reads a whole file (at most lim->max_bytes) and decodes it. */
int lq_image_load(const char *path, const lq_decode_limits *lim, lq_image *out,
                  char *err, size_t errlen) LQ_NODISCARD;

typedef struct lq_encoded {
    uint8_t *data;     /* malloc'd; release with lq_encoded_free */
    size_t len;
    size_t cap;        /* reusable: encoders grow data as needed */
} lq_encoded;

void lq_encoded_free(lq_encoded *e);

/* Encodes img. quality 0..100 (JPEG, WebP lossy); effort 0..6 (WebP method,
 * PNG compression level mapped onto 0..9). out may be reused across calls:
 * its buffer is grown, not reallocated, when big enough. */
int lq_image_encode(const lq_image *img, lq_format fmt, int quality, int effort,
                    lq_encoded *out) LQ_NODISCARD;

/* Encodes by the file name's extension (.jpg/.jpeg/.png/.webp) and writes it. */
int lq_image_save(const lq_image *img, const char *path, int quality) LQ_NODISCARD;

#endif
