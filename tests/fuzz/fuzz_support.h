/*
 * fuzz_support.h - checks shared by the protocol fuzz targets (header-only,
 * static functions: each target is one translation unit).
 *
 *   fz_check_utf8(s, n)      aborts unless s[0..n) is well-formed UTF-8
 *   fz_check_reply(m, type)  aborts unless a reply is one valid UTF-8 JSON
 *                            object of the given "type"
 *   fz_check_peek(buf, len)  ws_peek_ids on a message (the ids of one the
 *                            service has no memory for): reads only buf[0..len)
 *                            and finds nothing but a valid id and a sequence
 *                            in 0..2^53
 *
 * The UTF-8 check is written from RFC 3629 (table 3-7 of Unicode) on
 * purpose, not shared with the service: it is the oracle.
 */
#ifndef LQ_FUZZ_SUPPORT_H
#define LQ_FUZZ_SUPPORT_H

#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/outq.h"
#include "service/protocol.h"

static inline int fz_utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) {
            k = 2;
            cp = c & 0x1f;
        } else if ((c & 0xf0) == 0xe0) {
            k = 3;
            cp = c & 0x0f;
        } else if ((c & 0xf8) == 0xf0) {
            k = 4;
            cp = c & 0x07;
        } else {
            return 0;
        }
        if (i + k > n)
            return 0;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        static const uint32_t min_cp[5] = {0, 0, 0x80, 0x800, 0x10000};
        if (cp < min_cp[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
        i += k;
    }
    return 1;
}

static inline void fz_check_utf8(const void *s, size_t n)
{
    if (!fz_utf8_ok(s, n))
        abort();
}

/* A text reply: valid UTF-8, one JSON object with "type" == type. Returns
 * the parsed tree (caller deletes). Frees nothing. */
static inline cJSON *fz_check_reply(const ws_out *m, const char *type)
{
    if (!m || m->binary)
        abort();
    fz_check_utf8(m->payload, m->len);
    cJSON *root = cJSON_ParseWithLength((const char *)m->payload, m->len);
    if (!root || !cJSON_IsObject(root))
        abort();
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsString(t) || strcmp(t->valuestring, type) != 0)
        abort();
    return root;
}

static inline void fz_check_peek(const uint8_t *buf, size_t len)
{
    char sid[WS_SESSION_ID_MAX + 1];
    int has_seq;
    int64_t seq;
    int found = ws_peek_ids(buf, len, sid, &has_seq, &seq);
    size_t sl = strnlen(sid, sizeof sid);
    if (sl == sizeof sid || found != (sl > 0) || (sl && !ws_session_id_valid(sid, sl)) ||
        (has_seq && (seq < 0 || seq > (int64_t)1 << 53)) || (!has_seq && seq != 0))
        abort();
}

#endif
