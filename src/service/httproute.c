/* httproute.c - HTTP API routes, query values and statuses (see httproute.h). */
#include "service/httproute.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define SESSIONS "sessions"
#define STREAM "process-stream"

int api_is_api_path(const char *path)
{
    return path && (strcmp(path, "/api") == 0 || strncmp(path, API_PATH_PREFIX, 5) == 0);
}

/* Splits the next path segment off *p: its start and length. 0 at the end. */
static int next_segment(const char **p, const char **seg, size_t *len)
{
    const char *s = *p;
    if (*s == '\0')
        return 0;
    const char *slash = strchr(s, '/');
    *seg = s;
    *len = slash ? (size_t)(slash - s) : strlen(s);
    *p = slash ? slash + 1 : s + *len;
    return 1;
}

static int seg_is(const char *seg, size_t len, const char *word)
{
    return len == strlen(word) && memcmp(seg, word, len) == 0;
}

int api_route_parse(const char *path, api_route *out, char *err, size_t errlen)
{
    if (!path || strncmp(path, API_TRYON_PREFIX, strlen(API_TRYON_PREFIX)) != 0) {
        snprintf(err, errlen, "no such API route");
        return LQ_ENOTFOUND;
    }
    const char *p = path + strlen(API_TRYON_PREFIX);
    size_t plen = strlen(p);
    if (plen > 0 && p[plen - 1] == '/')
        plen--; /* one trailing slash */
    char rest[WS_SESSION_ID_MAX + 64];
    if (plen >= sizeof rest) {
        snprintf(err, errlen, "no such API route (path too long)");
        return LQ_ENOTFOUND;
    }
    memcpy(rest, p, plen);
    rest[plen] = '\0';
    if (plen > 0 && rest[plen - 1] == '/') {
        snprintf(err, errlen, "no such API route (empty path segment)");
        return LQ_ENOTFOUND;
    }
    const char *cur = rest, *seg[4];
    size_t len[4];
    int n = 0;
    while (n < 4 && next_segment(&cur, &seg[n], &len[n]))
        n++;
    if (*cur != '\0' || n == 0) {
        snprintf(err, errlen, "no such API route");
        return LQ_ENOTFOUND;
    }
    for (int i = 0; i < n; i++)
        if (len[i] == 0) {
            snprintf(err, errlen, "no such API route (empty path segment)");
            return LQ_ENOTFOUND;
        }
    api_route r;
    memset(&r, 0, sizeof r);
    if (n == 1 && seg_is(seg[0], len[0], STREAM)) {
        r.kind = API_ROUTE_STREAM;
    } else if (seg_is(seg[0], len[0], SESSIONS)) {
        if (n == 1) {
            r.kind = API_ROUTE_SESSIONS;
        } else if (n == 2) {
            r.kind = API_ROUTE_SESSION;
        } else if (n == 3 && seg_is(seg[2], len[2], "frames")) {
            r.kind = API_ROUTE_FRAMES;
        } else if (n == 3 && seg_is(seg[2], len[2], "stats")) {
            r.kind = API_ROUTE_STATS;
        } else {
            snprintf(err, errlen, "no such API route");
            return LQ_ENOTFOUND;
        }
        if (n >= 2) {
            if (len[1] > WS_SESSION_ID_MAX || !ws_session_id_valid(seg[1], len[1])) {
                snprintf(err, errlen,
                         "the session id in the path must be 1..%d characters from A-Z a-z 0-9 . "
                         "_ : -",
                         WS_SESSION_ID_MAX);
                return LQ_EINVAL;
            }
            memcpy(r.session_id, seg[1], len[1]);
            r.session_id[len[1]] = '\0';
        }
    } else {
        snprintf(err, errlen, "no such API route");
        return LQ_ENOTFOUND;
    }
    *out = r;
    return 0;
}

int api_route_method_ok(api_route_kind kind, api_method method)
{
    switch (kind) {
    case API_ROUTE_SESSIONS:
    case API_ROUTE_FRAMES:
    case API_ROUTE_STREAM:
        return method == API_METHOD_POST;
    case API_ROUTE_SESSION:
        return method == API_METHOD_DELETE;
    case API_ROUTE_STATS:
        return method == API_METHOD_GET;
    case API_ROUTE_NONE:
        break;
    }
    return 0;
}

const char *api_route_allow(api_route_kind kind)
{
    switch (kind) {
    case API_ROUTE_SESSIONS:
    case API_ROUTE_FRAMES:
    case API_ROUTE_STREAM:
        return "POST";
    case API_ROUTE_SESSION:
        return "DELETE";
    case API_ROUTE_STATS:
        return "GET";
    case API_ROUTE_NONE:
        break;
    }
    return "";
}

#define MAX_SAFE_INT ((int64_t)1 << 53)

static int parse_uint53(const char *s, int64_t *out)
{
    if (!s || !*s || strlen(s) > 16)
        return LQ_EINVAL;
    int64_t v = 0;
    for (const char *c = s; *c; c++) {
        if (*c < '0' || *c > '9')
            return LQ_EINVAL;
        v = v * 10 + (*c - '0');
    }
    if (v > MAX_SAFE_INT)
        return LQ_EINVAL;
    *out = v;
    return 0;
}

int api_parse_sequence(const char *s, int64_t *out)
{
    return parse_uint53(s, out);
}

int api_parse_timestamp(const char *s, int64_t *out)
{
    return parse_uint53(s, out);
}

int api_parse_format(const char *s, api_format *out)
{
    if (!s)
        return LQ_EINVAL;
    if (strcmp(s, "image") == 0 || strcmp(s, "binary") == 0) {
        *out = API_FORMAT_IMAGE;
        return 0;
    }
    if (strcmp(s, "json") == 0) {
        *out = API_FORMAT_JSON;
        return 0;
    }
    return LQ_EINVAL;
}

/* The media type of a Content-Type value: trimmed, parameters cut off. */
static size_t media_type(const char *ctype, const char **start)
{
    while (*ctype == ' ' || *ctype == '\t')
        ctype++;
    size_t n = strcspn(ctype, ";");
    while (n > 0 && (ctype[n - 1] == ' ' || ctype[n - 1] == '\t'))
        n--;
    *start = ctype;
    return n;
}

static int media_is(const char *ctype, const char *const *types)
{
    if (!ctype)
        return 1;
    const char *t;
    size_t n = media_type(ctype, &t);
    /* curl's -d and --data-binary send this unless told otherwise: as if untyped */
    static const char form[] = "application/x-www-form-urlencoded";
    if (n == 0 || (n == sizeof form - 1 && strncasecmp(t, form, n) == 0))
        return 1;
    for (; *types; types++)
        if (strlen(*types) == n && strncasecmp(t, *types, n) == 0)
            return 1;
    return 0;
}

int api_frame_content_type_ok(const char *ctype)
{
    static const char *const ok[] = {
        "image/webp", "image/jpeg", "image/jpg", "image/png", "application/octet-stream", NULL};
    return media_is(ctype, ok);
}

int api_json_content_type_ok(const char *ctype)
{
    static const char *const ok[] = {"application/json", NULL};
    return media_is(ctype, ok);
}

int api_http_status(ws_error_code code)
{
    switch (code) {
    case WS_ERR_INVALID_MESSAGE:
        return 400;
    case WS_ERR_UNAUTHORIZED:
        return 401;
    case WS_ERR_INVALID_SESSION:
        return 404;
    case WS_ERR_FRAME_TOO_LARGE:
        return 413;
    case WS_ERR_UNSUPPORTED_FORMAT:
        return 415;
    case WS_ERR_INVALID_FRAME:
    case WS_ERR_INVALID_DESIGN:
    case WS_ERR_INVALID_CONFIG:
    case WS_ERR_HAND_NOT_DETECTED:
    case WS_ERR_PARTIAL_HAND_DETECTED:
    case WS_ERR_LOW_LIGHT:
    case WS_ERR_BLUR_DETECTED:
    case WS_ERR_REFERENCE_FETCH_FAILED:
        return 422;
    case WS_ERR_RATE_LIMITED:
        return 429;
    case WS_ERR_PROCESSING_TIMEOUT:
    case WS_ERR_SERVER_BUSY:
    case WS_ERR_SHUTTING_DOWN:
        return 503;
    case WS_ERR_MODEL_ERROR:
    case WS_ERR_PROCESSING_FAILED:
    case WS_ERR_INTERNAL_ERROR:
    case WS_ERR_COUNT:
        break;
    }
    return 500;
}
