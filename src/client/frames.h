/*
 * frames.h - the frames a load generator replays: a folder of images in memory.
 *
 *   lq_client_frames *fr;
 *   lq_client_frames_limits lim = LQ_CLIENT_FRAMES_LIMITS_DEFAULT;
 *   if (lq_client_frames_load("video/palm_reach", &lim, &fr, err, sizeof err) < 0) ...
 *   const lq_client_frame *f = lq_client_frames_at(fr, k);   // k wraps around: looping
 *   lq_client_frames_destroy(fr);
 *
 * Every regular file whose name ends in .webp, .jpg, .jpeg or .png (any case)
 * is read, sorted by name (byte order, as `ls` in the C locale), and checked:
 * its bytes must be a WebP, JPEG or PNG (sniffed, not trusted from the name)
 * with a readable header, within the limits below. Files are read up front so
 * that disk access never delays a frame. Other files are ignored; a folder
 * without any frame is an error.
 *
 * Errors: LQ_ENOENT (no such folder), LQ_EIO (unreadable), LQ_ELIMIT (a file,
 * the count or the total over a limit), LQ_EFORMAT (a file is not a valid
 * image), LQ_EINVAL (no frames, bad arguments), LQ_ENOMEM; err names the file.
 *
 * The set is immutable once loaded: any number of threads may read it.
 */
#ifndef LQ_CLIENT_FRAMES_H
#define LQ_CLIENT_FRAMES_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "image/codec.h"

typedef struct lq_client_frames lq_client_frames;

typedef struct lq_client_frame {
    const uint8_t *data;
    size_t len;
    int width, height;
    lq_format format;
    const char *name; /* file name without the folder */
} lq_client_frame;

typedef struct lq_client_frames_limits {
    size_t max_file_bytes;  /* per frame file */
    size_t max_total_bytes; /* whole folder */
    int max_files;
    int max_dim; /* width and height, from the header */
} lq_client_frames_limits;

/* 10 MiB per file (the service's default WS_MAX_MESSAGE_SIZE), 1 GiB in all,
 * 100000 files, 8192 pixels per side. */
#define LQ_CLIENT_FRAMES_LIMITS_DEFAULT                                                            \
    {                                                                                              \
        (size_t)10 << 20, (size_t)1 << 30, 100000, 8192                                            \
    }

int lq_client_frames_load(const char *dir, const lq_client_frames_limits *lim,
                          lq_client_frames **out, char *err, size_t errlen) LQ_NODISCARD;
void lq_client_frames_destroy(lq_client_frames *fr);

int lq_client_frames_count(const lq_client_frames *fr);
/* Frame k modulo the count (k >= 0). */
const lq_client_frame *lq_client_frames_at(const lq_client_frames *fr, int64_t k);
/* The largest file, in bytes. */
size_t lq_client_frames_max_bytes(const lq_client_frames *fr);
const char *lq_client_frames_dir(const lq_client_frames *fr);

#endif
