/* origin.c - the Origin allow-list (see origin.h). */
#include "service/origin.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int default_port(const char *scheme)
{
    return strcmp(scheme, "https") == 0 ? 443 : 80;
}

static int host_char_ok(int c)
{
    return isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
}

/* Splits "host[:port]" (host may be "[v6]"), lower-cases the host. */
static int split_authority(const char *s, size_t len, char *host, size_t hostcap, int *port)
{
    if (len == 0 || len >= hostcap)
        return -1;
    size_t hlen = len;
    *port = 0;
    const char *colon = NULL;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', len);
        if (!close)
            return -1;
        if ((size_t)(close - s) + 1 < len) {
            if (close[1] != ':')
                return -1;
            colon = close + 1;
        }
    } else {
        colon = memchr(s, ':', len);
    }
    if (colon) {
        hlen = (size_t)(colon - s);
        const char *p = colon + 1, *end = s + len;
        if (p == end || end - p > 5)
            return -1;
        int v = 0;
        for (; p < end; p++) {
            if (!isdigit((unsigned char)*p))
                return -1;
            v = v * 10 + (*p - '0');
        }
        if (v < 1 || v > 65535)
            return -1;
        *port = v;
    }
    if (hlen == 0)
        return -1;
    for (size_t i = 0; i < hlen; i++) {
        if (!host_char_ok((unsigned char)s[i]))
            return -1;
        host[i] = (char)tolower((unsigned char)s[i]);
    }
    host[hlen] = '\0';
    return 0;
}

/* "scheme://authority" with nothing after it (an Origin never has a path). */
static int parse_origin(const char *s, size_t len, svc_origin_rule *r, int allow_wildcard)
{
    memset(r, 0, sizeof *r);
    if (len == 4 && strncasecmp(s, "null", 4) == 0) {
        r->is_null = 1;
        return 0;
    }
    const char *sep = NULL;
    for (size_t i = 0; i + 2 < len; i++)
        if (s[i] == ':' && s[i + 1] == '/' && s[i + 2] == '/') {
            sep = s + i;
            break;
        }
    if (!sep)
        return -1;
    size_t slen = (size_t)(sep - s);
    if (slen == 4 && strncasecmp(s, "http", 4) == 0)
        snprintf(r->scheme, sizeof r->scheme, "http");
    else if (slen == 5 && strncasecmp(s, "https", 5) == 0)
        snprintf(r->scheme, sizeof r->scheme, "https");
    else
        return -1;
    const char *a = sep + 3;
    size_t alen = len - slen - 3;
    if (alen > 0 && a[alen - 1] == '/') /* tolerate "https://shop.example/" in the setting */
        alen--;
    if (allow_wildcard && alen > 2 && a[0] == '*' && a[1] == '.') {
        r->wildcard = 1;
        a += 1; /* keep the dot: the suffix is ".shop.example" */
        alen -= 1;
    }
    if (split_authority(a, alen, r->host, sizeof r->host, &r->port) < 0)
        return -1;
    if (r->wildcard && strchr(r->host + 1, '.') == NULL)
        return -1; /* "*.com" is not a sensible rule */
    if (r->port == 0)
        r->port = default_port(r->scheme);
    return 0;
}

int svc_origins_parse(const char *list, svc_origins *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    const char *p = list ? list : "";
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *q = p;
        size_t l = len;
        while (l > 0 && isspace((unsigned char)*q)) {
            q++;
            l--;
        }
        while (l > 0 && isspace((unsigned char)q[l - 1]))
            l--;
        if (l == 1 && q[0] == '*') {
            out->any = 1;
        } else if (l > 0) {
            if (out->n >= SVC_ORIGINS_MAX) {
                if (err && errlen)
                    snprintf(err, errlen, "more than %d origins", SVC_ORIGINS_MAX);
                return LQ_ELIMIT;
            }
            if (parse_origin(q, l, &out->rules[out->n], 1) < 0) {
                if (err && errlen)
                    snprintf(err, errlen, "'%.*s' is not an origin (scheme://host[:port], "
                             "https://*.domain, null or *)", (int)(l > 80 ? 80 : l), q);
                return LQ_EINVAL;
            }
            out->n++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    return 0;
}

static int rule_matches(const svc_origin_rule *r, const svc_origin_rule *o)
{
    if (r->is_null || o->is_null)
        return r->is_null && o->is_null;
    if (strcmp(r->scheme, o->scheme) != 0 || r->port != o->port)
        return 0;
    if (!r->wildcard)
        return strcmp(r->host, o->host) == 0;
    size_t hl = strlen(o->host), sl = strlen(r->host);
    return hl > sl && strcmp(o->host + hl - sl, r->host) == 0;
}

svc_origin_verdict svc_origin_check(const svc_origins *o, const char *origin, const char *host)
{
    if (!origin || !*origin)
        return SVC_ORIGIN_NONE;
    svc_origin_rule got;
    if (parse_origin(origin, strlen(origin), &got, 0) < 0)
        return o->any ? SVC_ORIGIN_LISTED : SVC_ORIGIN_REFUSED;
    if (!got.is_null && host && *host) {
        char h[SVC_ORIGIN_TEXT_MAX];
        int port = 0;
        if (split_authority(host, strlen(host), h, sizeof h, &port) == 0) {
            if (port == 0)
                port = default_port(got.scheme);
            if (strcmp(h, got.host) == 0 && port == got.port)
                return SVC_ORIGIN_SAME;
        }
    }
    if (o->any)
        return SVC_ORIGIN_LISTED;
    for (int i = 0; i < o->n; i++)
        if (rule_matches(&o->rules[i], &got))
            return SVC_ORIGIN_LISTED;
    return SVC_ORIGIN_REFUSED;
}
