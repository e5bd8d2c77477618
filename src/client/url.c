/* url.c - ws:// URL parsing (see url.h). */
#include "client/url.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errlen, int rc, const char *msg, const char *url)
{
    if (err && errlen)
        snprintf(err, errlen, "%s: '%.80s%s'", msg, url, strlen(url) > 80 ? "..." : "");
    return rc;
}

static int host_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_';
}

int lq_client_url_parse(const char *url, lq_client_url *out, char *err, size_t errlen)
{
    if (!url || !out)
        return LQ_EINVAL;
    const size_t len = strlen(url);
    if (len > LQ_CLIENT_URL_MAX)
        return fail(err, errlen, LQ_EINVAL, "the URL is longer than 2048 bytes", url);
    const char *p;
    if (strncasecmp(url, "ws://", 5) == 0)
        p = url + 5;
    else if (strncasecmp(url, "wss://", 6) == 0)
        return fail(err, errlen, LQ_EUNSUPPORTED,
                    "wss:// is not supported (plain ws:// only; terminate TLS in a proxy)", url);
    else
        return fail(err, errlen, LQ_EINVAL, "the URL must start with ws://", url);

    lq_client_url u;
    memset(&u, 0, sizeof u);
    const char *host = p, *host_end;
    if (*p == '[') {
        host = p + 1;
        host_end = strchr(host, ']');
        if (!host_end || host_end == host)
            return fail(err, errlen, LQ_EINVAL, "bad IPv6 address in the URL", url);
        for (const char *q = host; q < host_end; q++)
            if (!((*q >= '0' && *q <= '9') || (*q >= 'a' && *q <= 'f') ||
                  (*q >= 'A' && *q <= 'F') || *q == ':' || *q == '.'))
                return fail(err, errlen, LQ_EINVAL, "bad IPv6 address in the URL", url);
        p = host_end + 1;
    } else {
        while (*p && *p != ':' && *p != '/' && *p != '?') {
            if (!host_char_ok(*p))
                return fail(err, errlen, LQ_EINVAL, "bad character in the URL's host", url);
            p++;
        }
        host_end = p;
    }
    const size_t hlen = (size_t)(host_end - host);
    if (hlen == 0)
        return fail(err, errlen, LQ_EINVAL, "the URL has no host", url);
    if (hlen > LQ_CLIENT_HOST_MAX)
        return fail(err, errlen, LQ_EINVAL, "the URL's host is longer than 255 bytes", url);
    memcpy(u.host, host, hlen);
    u.port = 80;
    if (*p == ':') {
        p++;
        long port = 0;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 6) {
            port = port * 10 + (*p - '0');
            p++;
            digits++;
        }
        if (digits == 0 || port < 1 || port > 65535 || (*p && *p != '/' && *p != '?'))
            return fail(err, errlen, LQ_EINVAL, "bad port in the URL (1..65535)", url);
        u.port = (int)port;
    } else if (*p && *p != '/' && *p != '?') {
        return fail(err, errlen, LQ_EINVAL, "bad URL", url);
    }
    if (*p == 0) {
        strcpy(u.path, "/");
    } else {
        for (const char *q = p; *q; q++)
            if ((unsigned char)*q <= 0x20 || *q == 0x7f || *q == '#')
                return fail(err, errlen, LQ_EINVAL,
                            "the URL's path has a space, control character or '#'", url);
        if (*p == '?')
            snprintf(u.path, sizeof u.path, "/%s", p);
        else
            snprintf(u.path, sizeof u.path, "%s", p);
    }
    *out = u;
    return 0;
}
