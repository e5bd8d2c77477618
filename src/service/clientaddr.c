/* clientaddr.c - client address, X-Forwarded-For and trusted proxies (see clientaddr.h). */
#include "service/clientaddr.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static void map_v4(const uint8_t v4[4], svc_ipaddr *out)
{
    memset(out->b, 0, 10);
    out->b[10] = 0xff;
    out->b[11] = 0xff;
    memcpy(out->b + 12, v4, 4);
}

int svc_ip_is_v4(const svc_ipaddr *a)
{
    static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    return memcmp(a->b, prefix, 12) == 0;
}

int svc_ip_equal(const svc_ipaddr *a, const svc_ipaddr *b)
{
    return memcmp(a->b, b->b, 16) == 0;
}

int svc_ip_parse(const char *s, size_t len, svc_ipaddr *out)
{
    while (len > 0 && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len > 0 && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0 || len > 64)
        return LQ_EINVAL;
    char buf[72];
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *host = buf;
    if (buf[0] == '[') {
        /* "[v6]" or "[v6]:port" */
        char *close = strchr(buf, ']');
        if (!close || (close[1] != '\0' && close[1] != ':'))
            return LQ_EINVAL;
        *close = '\0';
        host = buf + 1;
    } else {
        /* "a.b.c.d:port": exactly one colon and a dot before it */
        char *colon = strchr(buf, ':');
        if (colon && strchr(colon + 1, ':') == NULL && memchr(buf, '.', (size_t)(colon - buf)))
            *colon = '\0';
    }
    uint8_t raw[16];
    if (inet_pton(AF_INET, host, raw) == 1) {
        map_v4(raw, out);
        return 0;
    }
    if (inet_pton(AF_INET6, host, raw) == 1) {
        memcpy(out->b, raw, 16);
        return 0;
    }
    return LQ_EINVAL;
}

int svc_ip_from_sockaddr(const struct sockaddr *sa, svc_ipaddr *out)
{
    if (!sa)
        return LQ_EINVAL;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
        map_v4((const uint8_t *)&in->sin_addr, out);
        return 0;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(out->b, &in6->sin6_addr, 16);
        return 0;
    }
    return LQ_EINVAL;
}

int svc_ip_format(const svc_ipaddr *a, char *buf, size_t len)
{
    char tmp[SVC_IP_TEXT_MAX];
    const char *r = svc_ip_is_v4(a) ? inet_ntop(AF_INET, a->b + 12, tmp, sizeof tmp)
                                    : inet_ntop(AF_INET6, a->b, tmp, sizeof tmp);
    return snprintf(buf, len, "%s", r ? r : "?");
}

static void mask(svc_ipaddr *a, int bits)
{
    for (int i = 0; i < 16; i++) {
        int keep = bits - 8 * i;
        if (keep >= 8)
            continue;
        a->b[i] = keep <= 0 ? 0 : (uint8_t)(a->b[i] & (0xff << (8 - keep)));
    }
}

static int parse_cidr(const char *s, size_t len, svc_cidr *out)
{
    const char *slash = memchr(s, '/', len);
    svc_ipaddr a;
    if (svc_ip_parse(s, slash ? (size_t)(slash - s) : len, &a) < 0)
        return LQ_EINVAL;
    int v4 = svc_ip_is_v4(&a);
    int bits = v4 ? 32 : 128;
    if (slash) {
        const char *p = slash + 1, *end = s + len;
        while (end > p && isspace((unsigned char)end[-1]))
            end--;
        if (p == end || end - p > 3)
            return LQ_EINVAL;
        bits = 0;
        for (; p < end; p++) {
            if (!isdigit((unsigned char)*p))
                return LQ_EINVAL;
            bits = bits * 10 + (*p - '0');
        }
        if (bits > (v4 ? 32 : 128))
            return LQ_EINVAL;
    }
    out->bits = v4 ? bits + 96 : bits;
    mask(&a, out->bits);
    out->net = a;
    return 0;
}

int svc_cidr_list_parse(const char *list, svc_cidr *out, int max, int *n, char *err,
                        size_t errlen)
{
    int count = 0;
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
        if (l > 0) {
            if (count >= max) {
                if (err && errlen)
                    snprintf(err, errlen, "more than %d entries", max);
                return LQ_ELIMIT;
            }
            if (parse_cidr(q, l, &out[count]) < 0) {
                if (err && errlen)
                    snprintf(err, errlen, "'%.*s' is not an IP address or CIDR block "
                             "(e.g. 10.0.0.0/8)", (int)(l > 64 ? 64 : l), q);
                return LQ_EINVAL;
            }
            count++;
        }
        p += len;
        if (*p == ',')
            p++;
    }
    *n = count;
    return 0;
}

int svc_cidr_contains(const svc_cidr *c, const svc_ipaddr *a)
{
    svc_ipaddr m = *a;
    mask(&m, c->bits);
    return svc_ip_equal(&m, &c->net);
}

int svc_cidr_list_contains(const svc_cidr *list, int n, const svc_ipaddr *a)
{
    for (int i = 0; i < n; i++)
        if (svc_cidr_contains(&list[i], a))
            return 1;
    return 0;
}

int svc_client_addr(const svc_ipaddr *peer, const char *xff, const svc_cidr *trusted, int ntrusted,
                    svc_ipaddr *out)
{
    *out = *peer;
    if (!xff || !*xff || !svc_cidr_list_contains(trusted, ntrusted, peer))
        return 0;
    /* Walk the entries from the right; stop at the first one no trusted
     * proxy vouches for, or at garbage (then the last good one stands). */
    int from_xff = 0;
    size_t end = strlen(xff);
    for (int seen = 0; end > 0 && seen < SVC_XFF_MAX_ENTRIES; seen++) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        svc_ipaddr a;
        if (svc_ip_parse(xff + start, end - start, &a) < 0)
            break;
        *out = a;
        from_xff = 1;
        if (!svc_cidr_list_contains(trusted, ntrusted, &a))
            break;
        end = start > 0 ? start - 1 : 0;
    }
    return from_xff;
}

void svc_ip_limit_key(const svc_ipaddr *a, svc_ipaddr *key)
{
    *key = *a;
    if (!svc_ip_is_v4(a))
        mask(key, 64);
}
