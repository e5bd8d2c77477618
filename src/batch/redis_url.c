/* redis_url.c - parsing redis:// URLs (see redis_url.h). */
#include "batch/redis_url.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errlen, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "bad Redis URL: %s (expected redis://[:PASSWORD@]HOST[:PORT][/DB])",
                 why);
    return LQ_EINVAL;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1;
}

/* Percent-decodes s[0..n) into out (cap bytes with the NUL). -1 on a bad
 * escape, a NUL byte or overflow. */
static int pct_decode(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        int c = (unsigned char)s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return -1;
            int hi = hexval((unsigned char)s[i + 1]), lo = hexval((unsigned char)s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            c = hi * 16 + lo;
            i += 2;
        }
        if (c == 0 || o + 1 >= cap)
            return -1;
        out[o++] = (char)c;
    }
    out[o] = '\0';
    return 0;
}

/* Parses a decimal number in [lo, hi] from s[0..n); -1 if it is not one. */
static long parse_num(const char *s, size_t n, long lo, long hi)
{
    if (n == 0 || n > 6)
        return -1;
    long v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v < lo || v > hi ? -1 : v;
}

static int host_char_ok(int c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_';
}

int batch_redis_url_parse(const char *url, batch_redis_url *out, char *err, size_t errlen)
{
    if (!url || !out)
        return fail(err, errlen, "no URL");
    size_t len = strnlen(url, BATCH_URL_MAX + 1);
    if (len > BATCH_URL_MAX)
        return fail(err, errlen, "longer than 1024 bytes");
    if (strncasecmp(url, "rediss://", 9) == 0)
        return fail(err, errlen, "rediss:// (TLS) is not supported by this build's hiredis");
    if (strncasecmp(url, "redis://", 8) != 0)
        return fail(err, errlen, "it must start with redis://");
    batch_redis_url u;
    memset(&u, 0, sizeof u);
    u.port = 6379;
    const char *p = url + 8, *end = url + len;
    if (memchr(p, '?', (size_t)(end - p)) || memchr(p, '#', (size_t)(end - p)))
        return fail(err, errlen, "query strings and fragments are not supported");

    /* Authority ends at the first '/' after the last '@'. */
    const char *at = NULL;
    for (const char *q = p; q < end && *q != '/'; q++)
        if (*q == '@')
            at = q;
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        const char *ue = colon ? colon : at;
        if (pct_decode(p, (size_t)(ue - p), u.user, sizeof u.user) < 0)
            return fail(err, errlen, "bad user name");
        if (colon && pct_decode(colon + 1, (size_t)(at - colon - 1), u.password,
                                sizeof u.password) < 0)
            return fail(err, errlen, "bad password");
        if (u.user[0] && !u.password[0])
            return fail(err, errlen, "a user name needs a password");
        p = at + 1;
    }

    const char *hs = p, *he;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(end - p));
        if (!rb || rb == p + 1)
            return fail(err, errlen, "unterminated IPv6 address");
        for (const char *q = p + 1; q < rb; q++)
            if (!isxdigit((unsigned char)*q) && *q != ':' && *q != '.')
                return fail(err, errlen, "bad IPv6 address");
        hs = p + 1;
        he = rb;
        p = rb + 1;
    } else {
        while (p < end && *p != ':' && *p != '/')
            p++;
        he = p;
        for (const char *q = hs; q < he; q++)
            if (!host_char_ok((unsigned char)*q))
                return fail(err, errlen, "bad character in the host name");
    }
    if (he == hs)
        return fail(err, errlen, "no host");
    if ((size_t)(he - hs) > BATCH_URL_HOST_MAX)
        return fail(err, errlen, "host name too long");
    memcpy(u.host, hs, (size_t)(he - hs));
    u.host[he - hs] = '\0';

    if (p < end && *p == ':') {
        const char *ps = ++p;
        while (p < end && *p != '/')
            p++;
        long port = parse_num(ps, (size_t)(p - ps), 1, 65535);
        if (port < 0)
            return fail(err, errlen, "the port must be 1..65535");
        u.port = (int)port;
    }
    if (p < end && *p == '/') {
        p++;
        const char *ds = p;
        while (p < end && *p != '/')
            p++;
        if (p > ds) {
            long db = parse_num(ds, (size_t)(p - ds), 0, 65535);
            if (db < 0)
                return fail(err, errlen, "the database must be a number 0..65535");
            u.db = (int)db;
        }
        if (p < end && !(p + 1 == end && *p == '/'))
            return fail(err, errlen, "unexpected path after the database number");
        p = end;
    }
    if (p != end)
        return fail(err, errlen, "unexpected characters after the host");
    *out = u;
    return 0;
}

int batch_redis_url_format(const batch_redis_url *u, char *buf, size_t len)
{
    int v6 = strchr(u->host, ':') != NULL;
    return snprintf(buf, len, "redis://%s%s%s%s%s%s:%d/%d", u->user, u->password[0] ? ":***" : "",
                    u->password[0] ? "@" : "", v6 ? "[" : "", u->host, v6 ? "]" : "", u->port,
                    u->db);
}
