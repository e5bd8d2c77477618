/* streamframe.c - process-stream record framing (see streamframe.h). */
#include "service/streamframe.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *sf_type_name(int type)
{
    switch (type) {
    case SF_JSON:
        return "json";
    case SF_IMAGE:
        return "image";
    case SF_END:
        return "end";
    }
    return "unknown";
}

void sf_parser_init(sf_parser *p, const sf_limits *lim)
{
    memset(p, 0, sizeof *p);
    p->lim = *lim;
}

void sf_parser_release(sf_parser *p)
{
    free(p->buf);
    p->buf = NULL;
    p->have = 0;
}

static int fail(sf_parser *p, int code, const char *fmt, ...) LQ_PRINTF(3, 4);

static int fail(sf_parser *p, int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    sf_parser_release(p);
    p->state = SF_FAILED;
    return code;
}

/* The header is complete: check it and get ready for the payload. */
static int start_payload(sf_parser *p)
{
    const uint8_t *h = p->hdr;
    uint32_t len = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 | (uint32_t)h[2] << 8 | h[3];
    int type = h[4];
    unsigned long long at = (unsigned long long)p->record_offset;
    uint32_t max;
    switch (type) {
    case SF_JSON:
        max = p->lim.max_json;
        break;
    case SF_IMAGE:
        max = p->lim.max_image;
        break;
    case SF_END:
        if (len != 0)
            return fail(p, LQ_EFORMAT, "END record at byte %llu has a %u-byte payload (must be 0)",
                        at, len);
        max = 0;
        break;
    default:
        return fail(p, LQ_EFORMAT,
                    "record at byte %llu has unknown type %d (1 json, 2 image, 3 end)", at, type);
    }
    if (len > max)
        return fail(p, LQ_ELIMIT, "%s record at byte %llu has %u bytes; the limit is %u",
                    sf_type_name(type), at, len, max);
    p->type = (sf_type)type;
    p->len = len;
    p->have = 0;
    p->buf = malloc((size_t)len + 1);
    if (!p->buf)
        return fail(p, LQ_ENOMEM, "out of memory for a %u-byte record", len);
    return 0;
}

int sf_parser_feed(sf_parser *p, const uint8_t *data, size_t len, size_t *used, sf_record *rec)
{
    *used = 0;
    if (p->state == SF_FAILED)
        return LQ_EFORMAT;
    if (p->state == SF_ENDED) {
        if (len == 0)
            return 0;
        return fail(p, LQ_EFORMAT, "data after the END record (at byte %llu)",
                    (unsigned long long)p->offset);
    }
    size_t pos = 0;
    while (pos < len) {
        if (p->hdr_len < SF_HEADER_SIZE) {
            if (p->hdr_len == 0)
                p->record_offset = p->offset + pos;
            size_t take = SF_HEADER_SIZE - p->hdr_len;
            if (take > len - pos)
                take = len - pos;
            memcpy(p->hdr + p->hdr_len, data + pos, take);
            p->hdr_len += take;
            pos += take;
            if (p->hdr_len < SF_HEADER_SIZE)
                break;
            int rc = start_payload(p);
            if (rc < 0) {
                p->offset += pos;
                *used = pos;
                return rc;
            }
        }
        size_t take = p->len - p->have;
        if (take > len - pos)
            take = len - pos;
        if (take) {
            memcpy(p->buf + p->have, data + pos, take);
            p->have += take;
            pos += take;
        }
        if (p->have < p->len)
            break;
        /* one complete record */
        p->buf[p->len] = 0;
        rec->type = p->type;
        rec->payload = p->buf;
        rec->len = p->len;
        rec->offset = p->record_offset;
        p->buf = NULL;
        p->have = 0;
        p->hdr_len = 0;
        p->records++;
        p->offset += pos;
        *used = pos;
        if (rec->type == SF_END)
            p->state = SF_ENDED; /* bytes after it fail on the next call */
        return 1;
    }
    p->offset += pos;
    *used = pos;
    return 0;
}

int sf_parser_finish(sf_parser *p)
{
    if (p->state == SF_FAILED)
        return LQ_EFORMAT;
    if (p->state == SF_ENDED || p->hdr_len == 0)
        return 0;
    unsigned long long at = (unsigned long long)p->record_offset;
    if (p->hdr_len < SF_HEADER_SIZE)
        return fail(p, LQ_EFORMAT,
                    "the stream ended inside the header of the record at byte %llu (%zu of %d "
                    "bytes)",
                    at, p->hdr_len, SF_HEADER_SIZE);
    return fail(p, LQ_EFORMAT,
                "the stream ended inside the %s record at byte %llu (%zu of %u payload bytes)",
                sf_type_name(p->type), at, p->have, p->len);
}

void sf_write_header(uint8_t out[SF_HEADER_SIZE], sf_type type, uint32_t len)
{
    out[0] = (uint8_t)(len >> 24);
    out[1] = (uint8_t)(len >> 16);
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    out[4] = (uint8_t)type;
}
