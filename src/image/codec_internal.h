/*
 * codec_internal.h - shared between codec.c and the per-format back ends
 * (codec_jpeg.c, codec_png.c, codec_webp.c). Not part of the public API.
 *
 * Back-end contract: the input was sniffed as that format and is at most
 * lim->max_bytes long; lim is never NULL. A decoder checks the header's
 * dimensions with lq__check_dims BEFORE allocating pixels, fills *out only on
 * success, and reports failures through lq__codec_fail. An encoder appends to
 * out (whose len is 0 on entry) through lq__encoded_reserve/lq__encoded_append.
 */
#ifndef LQ_IMAGE_CODEC_INTERNAL_H
#define LQ_IMAGE_CODEC_INTERNAL_H

#include "image/codec.h"
#include "image/yuv.h"

/* Writes a one-line reason into err (if err and errlen) and returns code. */
int lq__codec_fail(char *err, size_t errlen, int code, const char *fmt, ...) LQ_PRINTF(4, 5);

/* 0 if width x height is positive and within lim (and the hard caps of
 * image.h); LQ_EFORMAT for non-positive sizes, LQ_ELIMIT otherwise. */
int lq__check_dims(const lq_decode_limits *lim, long long width, long long height, char *err,
                   size_t errlen);

/* Makes room for e->len + extra bytes; grows geometrically. */
int lq__encoded_reserve(lq_encoded *e, size_t extra);
int lq__encoded_append(lq_encoded *e, const void *data, size_t n);

int lq__jpeg_probe(const uint8_t *buf, size_t len, int *width, int *height, char *err,
                   size_t errlen);
int lq__jpeg_decode(const uint8_t *buf, size_t len, const lq_decode_limits *lim, lq_image *out,
                    char *err, size_t errlen);
int lq__jpeg_encode(const lq_image *img, int quality, lq_encoded *out);

/* EXIF orientation (1..8) from the APP1 segments of a JPEG; 1 when absent or
 * malformed. Reads only within buf[0..len). */
int lq__jpeg_exif_orientation(const uint8_t *buf, size_t len);

/* Returns the image orientation o (1..8) describes, in a new image. */
int lq__image_orient(const lq_image *src, int orientation, lq_image *out);

int lq__png_probe(const uint8_t *buf, size_t len, int *width, int *height, char *err,
                  size_t errlen);
int lq__png_decode(const uint8_t *buf, size_t len, const lq_decode_limits *lim, lq_image *out,
                   char *err, size_t errlen);
int lq__png_encode(const lq_image *img, int level, lq_encoded *out);

int lq__webp_probe(const uint8_t *buf, size_t len, int *width, int *height, char *err,
                   size_t errlen);
int lq__webp_decode(const uint8_t *buf, size_t len, const lq_decode_limits *lim, lq_image *out,
                    char *err, size_t errlen);
int lq__webp_encode(const lq_image *img, int quality, int method, int lossless, lq_encoded *out);
/* Lossy WebP only (else LQ_EUNSUPPORTED, nothing touched): the decoder's
 * own planes into *yuv and their RGB into *out. */
int lq__webp_decode_yuv(const uint8_t *buf, size_t len, const lq_decode_limits *lim,
                        lq_image *out, lq_yuv420 *yuv, char *err, size_t errlen);
int lq__webp_encode_yuv(const lq_yuv420 *p, int quality, int method, lq_encoded *out);

#endif
