/* chunked.c - HTTP/1.1 chunked request bodies (see chunked.h). */
#include "service/chunked.h"

#include <stdio.h>
#include <string.h>

enum {
    ST_SIZE = 0,   /* hex digits of the chunk size */
    ST_EXT,        /* chunk extensions, up to CR */
    ST_SIZE_LF,    /* LF after the size line */
    ST_DATA,       /* chunk bytes */
    ST_DATA_CR,    /* CR after the chunk */
    ST_DATA_LF,    /* LF after the chunk */
    ST_TRAILER,    /* a trailer line (or the empty line that ends the body) */
    ST_TRAILER_LF, /* LF after a trailer line */
    ST_DONE,
    ST_FAILED,
};

void http_chunked_init(http_chunked *d)
{
    memset(d, 0, sizeof *d);
}

int http_chunked_done(const http_chunked *d)
{
    return d->state == ST_DONE;
}

static int fail(http_chunked *d, int code, const char *what)
{
    snprintf(d->err, sizeof d->err, "bad chunked encoding after %llu body bytes: %s",
             (unsigned long long)d->decoded, what);
    d->state = ST_FAILED;
    return code;
}

static int hexval(uint8_t c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* The size line ended: a zero size starts the trailers. */
static void size_line_done(http_chunked *d)
{
    d->left = d->size;
    d->line = 0;
    d->state = d->size ? ST_DATA : ST_TRAILER;
}

int http_chunked_feed(http_chunked *d, const uint8_t *in, size_t len, size_t *used,
                      const uint8_t **part, size_t *part_len)
{
    *used = 0;
    *part = NULL;
    *part_len = 0;
    if (d->state == ST_FAILED)
        return LQ_EFORMAT;
    size_t i = 0;
    while (i < len && d->state != ST_DONE) {
        uint8_t c = in[i];
        switch (d->state) {
        case ST_SIZE: {
            int v = hexval(c);
            if (v >= 0) {
                if (d->size > (HTTP_CHUNKED_SIZE_MAX >> 4))
                    return fail(d, LQ_ELIMIT, "chunk larger than 2 GiB");
                d->size = d->size << 4 | (uint64_t)v;
                d->digits++;
            } else if (d->digits == 0) {
                return fail(d, LQ_EFORMAT, "chunk size is not a hexadecimal number");
            } else if (c == ';' || c == ' ' || c == '\t') {
                d->state = ST_EXT;
            } else if (c == '\r') {
                d->state = ST_SIZE_LF;
            } else {
                return fail(d, LQ_EFORMAT, "unexpected byte in the chunk size line");
            }
            if (d->size > HTTP_CHUNKED_SIZE_MAX)
                return fail(d, LQ_ELIMIT, "chunk larger than 2 GiB");
            if (++d->line > HTTP_CHUNKED_LINE_MAX)
                return fail(d, LQ_ELIMIT, "chunk size line too long");
            i++;
            break;
        }
        case ST_EXT:
            if (c == '\r')
                d->state = ST_SIZE_LF;
            else if (c == '\n')
                return fail(d, LQ_EFORMAT, "bare LF in the chunk size line");
            if (++d->line > HTTP_CHUNKED_LINE_MAX)
                return fail(d, LQ_ELIMIT, "chunk size line too long");
            i++;
            break;
        case ST_SIZE_LF:
            if (c != '\n')
                return fail(d, LQ_EFORMAT, "chunk size line not ended by CRLF");
            i++;
            size_line_done(d);
            break;
        case ST_DATA: {
            size_t take = len - i;
            if ((uint64_t)take > d->left)
                take = (size_t)d->left;
            *part = in + i;
            *part_len = take;
            d->left -= take;
            d->decoded += take;
            i += take;
            if (d->left == 0)
                d->state = ST_DATA_CR;
            *used = i;
            return HTTP_CHUNKED_MORE; /* hand this part out before going on */
        }
        case ST_DATA_CR:
            if (c != '\r')
                return fail(d, LQ_EFORMAT, "chunk data not followed by CRLF");
            d->state = ST_DATA_LF;
            i++;
            break;
        case ST_DATA_LF:
            if (c != '\n')
                return fail(d, LQ_EFORMAT, "chunk data not followed by CRLF");
            d->state = ST_SIZE;
            d->size = 0;
            d->digits = 0;
            d->line = 0;
            i++;
            break;
        case ST_TRAILER:
            if (c == '\r')
                d->state = ST_TRAILER_LF;
            else if (c == '\n')
                return fail(d, LQ_EFORMAT, "bare LF in the trailer section");
            else
                d->line++;
            if (++d->trailer > HTTP_CHUNKED_TRAILER_MAX)
                return fail(d, LQ_ELIMIT, "trailer section too long");
            i++;
            break;
        case ST_TRAILER_LF:
            if (c != '\n')
                return fail(d, LQ_EFORMAT, "trailer line not ended by CRLF");
            i++;
            if (d->line == 0) {
                d->state = ST_DONE; /* the empty line: end of the body */
            } else {
                d->line = 0;
                d->state = ST_TRAILER;
            }
            break;
        default:
            return fail(d, LQ_EFORMAT, "internal state");
        }
    }
    *used = i;
    return d->state == ST_DONE ? HTTP_CHUNKED_DONE : HTTP_CHUNKED_MORE;
}
