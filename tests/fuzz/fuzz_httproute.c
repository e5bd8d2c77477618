/*
 * fuzz_httproute.c - libFuzzer target for the HTTP API's request parsing that
 * is the service's own (src/service/httproute.c): the route and the session
 * id in the path, the query and header values (sequence, timestamp, format)
 * and the Content-Type checks. (The query string itself is split and
 * URL-decoded by libwebsockets; its values arrive here decoded.)
 *
 *   CC=clang cmake -S . -B build-fuzz -DLQ_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_httproute
 *   build-fuzz/tests/fuzz/fuzz_httproute /tmp/work tests/fuzz/corpus/httproute
 *
 * The input is "path \0 value \0 content-type" (missing parts are empty).
 *
 * Invariants checked beyond "no crash", each against an oracle written here
 * from docs/http-api.md:
 *  - api_route_parse gives exactly the route of the grammar (prefix
 *    /api/tryon/, one optional trailing slash, no empty segment, the five
 *    routes, a session id of 1..128 characters of A-Z a-z 0-9 . _ : -), the
 *    id copied verbatim, LQ_ENOTFOUND / LQ_EINVAL as documented, the output
 *    untouched on failure and a non-empty error text;
 *  - sequence and timestamp values are accepted exactly when they are 1..16
 *    decimal digits worth at most 2^53, with that value;
 *  - format is "image", "binary" or "json" exactly;
 *  - a Content-Type is accepted exactly when its media type (trimmed,
 *    parameters cut) is empty, curl's form type, or one of the listed types,
 *    case-insensitively.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "service/httproute.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FIELD_MAX 4096

static const char *field(const uint8_t **p, const uint8_t *end, char *buf)
{
    const uint8_t *z = memchr(*p, 0, (size_t)(end - *p));
    size_t n = (size_t)((z ? z : end) - *p);
    if (n > FIELD_MAX)
        n = FIELD_MAX;
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p = z ? z + 1 : end;
    return buf;
}

static int id_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == ':' || c == '-';
}

/* The route grammar: kind (0 = none), LQ_ENOTFOUND or LQ_EINVAL; id filled. */
static int oracle_route(const char *path, api_route_kind *kind, char *id)
{
    const char *prefix = "/api/tryon/";
    if (strncmp(path, prefix, strlen(prefix)) != 0)
        return LQ_ENOTFOUND;
    const char *rest = path + strlen(prefix);
    size_t n = strlen(rest);
    if (n > 0 && rest[n - 1] == '/')
        n--;
    if (n >= WS_SESSION_ID_MAX + 64)
        return LQ_ENOTFOUND; /* longer than any route */
    const char *seg[5];
    size_t len[5];
    int count = 0;
    size_t i = 0;
    if (n == 0)
        return LQ_ENOTFOUND;
    while (i <= n) {
        size_t j = i;
        while (j < n && rest[j] != '/')
            j++;
        if (count == 5)
            return LQ_ENOTFOUND;
        seg[count] = rest + i;
        len[count] = j - i;
        count++;
        i = j + 1;
    }
    if (count > 4)
        return LQ_ENOTFOUND;
    for (int k = 0; k < count; k++)
        if (len[k] == 0)
            return LQ_ENOTFOUND;
#define IS(k, w) (len[k] == strlen(w) && memcmp(seg[k], w, len[k]) == 0)
    if (count == 1 && IS(0, "process-stream")) {
        *kind = API_ROUTE_STREAM;
        return 0;
    }
    if (!IS(0, "sessions"))
        return LQ_ENOTFOUND;
    if (count == 1)
        *kind = API_ROUTE_SESSIONS;
    else if (count == 2)
        *kind = API_ROUTE_SESSION;
    else if (count == 3 && IS(2, "frames"))
        *kind = API_ROUTE_FRAMES;
    else if (count == 3 && IS(2, "stats"))
        *kind = API_ROUTE_STATS;
    else
        return LQ_ENOTFOUND;
#undef IS
    if (count >= 2) {
        if (len[1] > WS_SESSION_ID_MAX)
            return LQ_EINVAL;
        for (size_t k = 0; k < len[1]; k++)
            if (!id_char((unsigned char)seg[1][k]))
                return LQ_EINVAL;
        memcpy(id, seg[1], len[1]);
        id[len[1]] = '\0';
    }
    return 0;
}

static void check_route(const char *path)
{
    api_route r, want_r;
    memset(&r, 0x5a, sizeof r);
    memset(&want_r, 0, sizeof want_r);
    char err[128] = "";
    api_route_kind kind = API_ROUTE_NONE;
    int want = oracle_route(path, &kind, want_r.session_id);
    int rc = api_route_parse(path, &r, err, sizeof err);
    if (rc != want)
        abort();
    if (rc == 0) {
        if (r.kind != kind || strcmp(r.session_id, want_r.session_id) != 0)
            abort();
        if (r.kind != API_ROUTE_SESSIONS && r.kind != API_ROUTE_STREAM && !r.session_id[0])
            abort();
    } else {
        const uint8_t *b = (const uint8_t *)&r;
        for (size_t i = 0; i < sizeof r; i++)
            if (b[i] != 0x5a)
                abort(); /* untouched */
        if (!err[0] || !memchr(err, 0, sizeof err))
            abort();
    }
    if (api_is_api_path(path) != (strcmp(path, "/api") == 0 || strncmp(path, "/api/", 5) == 0))
        abort();
}

static void check_values(const char *v)
{
    size_t n = strlen(v);
    int digits = n >= 1 && n <= 16;
    uint64_t val = 0;
    for (size_t i = 0; digits && i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            digits = 0;
        else
            val = val * 10 + (uint64_t)(v[i] - '0');
    }
    int ok = digits && val <= (1ull << 53);
    int64_t s = -7, t = -7;
    int rs = api_parse_sequence(v, &s), rt = api_parse_timestamp(v, &t);
    if ((rs == 0) != ok || (rt == 0) != ok || (rs != 0 && rs != LQ_EINVAL))
        abort();
    if (ok ? (s != (int64_t)val || t != (int64_t)val) : (s != -7 || t != -7))
        abort();
    api_format f = (api_format)7;
    int rf = api_parse_format(v, &f);
    int fok = !strcmp(v, "image") || !strcmp(v, "binary") || !strcmp(v, "json");
    if ((rf == 0) != fok || (fok && f != (strcmp(v, "json") ? API_FORMAT_IMAGE : API_FORMAT_JSON)))
        abort();
}

static int type_in(const char *ct, const char *const *types)
{
    const char *t = ct;
    while (*t == ' ' || *t == '\t')
        t++;
    const char *semi = strchr(t, ';');
    size_t n = semi ? (size_t)(semi - t) : strlen(t);
    while (n && (t[n - 1] == ' ' || t[n - 1] == '\t'))
        n--;
    if (n == 0 || (n == 33 && !strncasecmp(t, "application/x-www-form-urlencoded", 33)))
        return 1;
    for (; *types; types++)
        if (strlen(*types) == n && !strncasecmp(t, *types, n))
            return 1;
    return 0;
}

static void check_ctype(const char *ct)
{
    static const char *const frame[] = {
        "image/webp", "image/jpeg", "image/jpg", "image/png", "application/octet-stream", NULL};
    static const char *const json[] = {"application/json", NULL};
    if (api_frame_content_type_ok(ct) != type_in(ct, frame) ||
        api_json_content_type_ok(ct) != type_in(ct, json))
        abort();
    if (!api_frame_content_type_ok(NULL) || !api_json_content_type_ok(NULL))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[FIELD_MAX + 1], value[FIELD_MAX + 1], ctype[FIELD_MAX + 1];
    const uint8_t *p = data, *end = data + size;
    check_route(field(&p, end, path));
    check_values(field(&p, end, value));
    check_ctype(field(&p, end, ctype));
    return 0;
}
