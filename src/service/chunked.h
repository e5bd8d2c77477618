/*
 * chunked.h - decoding an HTTP/1.1 request body sent with
 * "Transfer-Encoding: chunked" (RFC 9112 section 7.1).
 *
 * libwebsockets 4.1.6 does not decode chunked request bodies: a POST without
 * Content-Length reaches LWS_CALLBACK_HTTP_BODY as the raw chunked bytes,
 * and the body never "completes". The HTTP API (httpapi.c) runs them
 * through this decoder, which also tells it where the body ends.
 *
 *   http_chunked d;
 *   http_chunked_init(&d);
 *   while (len > 0) {
 *       const uint8_t *part; size_t part_len, used;
 *       int rc = http_chunked_feed(&d, in, len, &used, &part, &part_len);
 *       in += used; len -= used;
 *       if (rc < 0) { 400: d.err; break; }
 *       if (part_len) consume(part, part_len);    // a slice of the input
 *       if (rc == HTTP_CHUNKED_DONE) { the body is complete; break; }
 *   }
 *
 * Limits: a chunk-size line (size and extensions) is at most
 * HTTP_CHUNKED_LINE_MAX bytes, a chunk at most HTTP_CHUNKED_SIZE_MAX bytes,
 * the trailer section at most HTTP_CHUNKED_TRAILER_MAX bytes. Extensions
 * and trailer fields are skipped. Bytes after the end of the body are not
 * consumed. Pure; one decoder per body, one thread.
 */
#ifndef LQ_SERVICE_CHUNKED_H
#define LQ_SERVICE_CHUNKED_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define HTTP_CHUNKED_LINE_MAX 256
#define HTTP_CHUNKED_SIZE_MAX ((uint64_t)1 << 31)
#define HTTP_CHUNKED_TRAILER_MAX 4096
#define HTTP_CHUNKED_ERR_MAX 128

enum { HTTP_CHUNKED_MORE = 0, HTTP_CHUNKED_DONE = 1 };

typedef struct http_chunked {
    int state;
    uint64_t size;    /* of the current chunk */
    uint64_t left;    /* bytes of it still to come */
    size_t line;      /* bytes of the current size or trailer line */
    size_t trailer;   /* bytes of the trailer section */
    int digits;       /* hex digits of the current size */
    uint64_t decoded; /* body bytes produced so far */
    char err[HTTP_CHUNKED_ERR_MAX];
} http_chunked;

void http_chunked_init(http_chunked *d);

/* Decodes from in[0..len). *used = bytes consumed; *part, *part_len = the body
 * bytes found (a slice of in; part_len 0 if none). Call again with the rest
 * of the input after a part. Returns HTTP_CHUNKED_MORE (need more input, or
 * call again for the next part), HTTP_CHUNKED_DONE (the last chunk and the
 * trailers were read: the body is complete), or LQ_EFORMAT / LQ_ELIMIT with
 * d->err set; a failed decoder refuses all further input. */
int http_chunked_feed(http_chunked *d, const uint8_t *in, size_t len, size_t *used,
                      const uint8_t **part, size_t *part_len) LQ_NODISCARD;

/* 1 once the whole body has been decoded. */
int http_chunked_done(const http_chunked *d);

#endif
