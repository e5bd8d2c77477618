#include "service/fetch_policy.h"

#include <ctype.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static void set_err(char *err, size_t errlen, const char *fmt, ...) LQ_PRINTF(3, 4);

static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static void copy_str(char *dst, size_t dstlen, const char *src)
{
    if (!dst || dstlen == 0)
        return;
    snprintf(dst, dstlen, "%s", src ? src : "");
}

/* ---- host names ---------------------------------------------------------- */

/* Host characters we accept: DNS names and IPv4 literals ([a-z0-9.-]), or an
 * IPv6 literal in brackets ([0-9a-f:.] inside). Anything else (percent
 * escapes, non-ASCII, '_' or '@') is refused rather than interpreted. */
static int host_chars_ok(const char *h, size_t n)
{
    if (n == 0)
        return 0;
    if (h[0] == '[') {
        if (n < 3 || h[n - 1] != ']')
            return 0;
        for (size_t i = 1; i + 1 < n; i++)
            if (!isxdigit((unsigned char)h[i]) && h[i] != ':' && h[i] != '.')
                return 0;
        return 1;
    }
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)h[i];
        if (!(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '.' && c != '-')
            return 0;
    }
    return 1;
}

/* Lower-cases src[0..n) into dst, dropping one trailing dot. Returns the length
 * or -1 if it does not fit. */
static int normalise_host(const char *src, size_t n, char *dst, size_t dstlen)
{
    if (n > 1 && src[n - 1] == '.' && src[0] != '[')
        n--;
    if (n + 1 > dstlen)
        return -1;
    for (size_t i = 0; i < n; i++)
        dst[i] = (char)tolower((unsigned char)src[i]);
    dst[n] = 0;
    return (int)n;
}

int lq__fetch_allowlist_parse(const char *spec, lq__fetch_allowlist *out, char *err,
                              size_t errlen)
{
    if (!out)
        return LQ_EINVAL;
    out->count = 0;
    if (!spec)
        return 0;
    const char *p = spec;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *s = p;
        while (n > 0 && isspace((unsigned char)s[0])) {
            s++;
            n--;
        }
        while (n > 0 && isspace((unsigned char)s[n - 1]))
            n--;
        if (n == 0) {
            /* A wholly empty spec means "no allow-list"; an empty entry inside
             * a list is a typo worth reporting. */
            if (!end && out->count == 0 && p == spec)
                return 0;
            set_err(err, errlen, "allowed_hosts: empty entry");
            return LQ_EINVAL;
        }
        if (out->count >= LQ_FETCH_MAX_HOSTS) {
            set_err(err, errlen, "allowed_hosts: more than %d entries", LQ_FETCH_MAX_HOSTS);
            return LQ_EINVAL;
        }
        if (n > LQ_FETCH_MAX_HOST_LEN) {
            set_err(err, errlen, "allowed_hosts: entry longer than %d characters",
                    LQ_FETCH_MAX_HOST_LEN);
            return LQ_EINVAL;
        }
        char *dst = out->entry[out->count];
        int wildcard = n >= 2 && s[0] == '*' && s[1] == '.';
        const char *name = wildcard ? s + 1 : s; /* keep the dot: ".example.com" */
        size_t nn = wildcard ? n - 1 : n;
        if (n == 1 && s[0] == '*') {
            set_err(err, errlen, "allowed_hosts: '*' alone is not an allow-list; leave it "
                                 "empty to allow every public host");
            return LQ_EINVAL;
        }
        int len = normalise_host(name, nn, dst, sizeof out->entry[0]);
        if (len < 0)
            return LQ_EINVAL;
        const char *check = wildcard ? dst + 1 : dst;
        size_t checklen = wildcard ? (size_t)len - 1 : (size_t)len;
        if (checklen == 0 || !host_chars_ok(check, checklen) || check[0] == '.' ||
            strstr(check, "..")) {
            set_err(err, errlen,
                    "allowed_hosts: entry '%.*s' is not a host name, IP address or "
                    "'*.suffix' (no scheme, port, path or other wildcard)",
                    (int)(n > 64 ? 64 : n), s);
            return LQ_EINVAL;
        }
        out->count++;
        if (!end)
            break;
        p = end + 1;
    }
    return 0;
}

int lq__fetch_allowlist_match(const lq__fetch_allowlist *al, const char *host)
{
    if (!al || !host || al->count == 0)
        return 0;
    char h[LQ_FETCH_MAX_HOST_LEN + 2];
    int n = normalise_host(host, strlen(host), h, sizeof h);
    if (n <= 0)
        return 0;
    for (int i = 0; i < al->count; i++) {
        const char *e = al->entry[i];
        size_t en = strlen(e);
        if (e[0] == '.') {
            /* Suffix: at least one label before it. */
            if ((size_t)n > en && memcmp(h + (size_t)n - en, e, en) == 0)
                return 1;
        } else if ((size_t)n == en && memcmp(h, e, en) == 0) {
            return 1;
        }
    }
    return 0;
}

/* ---- URLs --------------------------------------------------------------- */

enum lq_fetch_kind lq__fetch_check_url(const char *url, const lq__fetch_allowlist *al,
                                       char *norm, size_t normlen, char *host,
                                       size_t hostlen, char *reason, size_t reasonlen)
{
    copy_str(norm, normlen, "");
    copy_str(host, hostlen, "");
    copy_str(reason, reasonlen, "");
    if (!url || !url[0]) {
        set_err(reason, reasonlen, "the reference URL is empty");
        return LQ_FETCH_BAD_URL;
    }
    size_t ulen = strnlen(url, LQ_FETCH_MAX_URL + 1);
    if (ulen > LQ_FETCH_MAX_URL) {
        set_err(reason, reasonlen, "the reference URL is longer than %d bytes",
                LQ_FETCH_MAX_URL);
        return LQ_FETCH_BAD_URL;
    }
    CURLU *u = curl_url();
    if (!u) {
        set_err(reason, reasonlen, "out of memory parsing the URL");
        return LQ_FETCH_INTERNAL;
    }
    enum lq_fetch_kind kind = LQ_FETCH_OK;
    char *scheme = NULL, *h = NULL, *user = NULL, *pass = NULL, *full = NULL;
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, CURLU_NON_SUPPORT_SCHEME);
    if (uc != CURLUE_OK) {
        set_err(reason, reasonlen, "the reference URL is malformed (%s)", curl_url_strerror(uc));
        kind = LQ_FETCH_BAD_URL;
        goto done;
    }
    if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK || !scheme) {
        set_err(reason, reasonlen, "the reference URL has no scheme");
        kind = LQ_FETCH_BAD_URL;
        goto done;
    }
    for (char *c = scheme; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
        set_err(reason, reasonlen, "scheme '%.16s' is not allowed: only http and https",
                scheme);
        kind = LQ_FETCH_BLOCKED;
        goto done;
    }
    if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK ||
        curl_url_get(u, CURLUPART_PASSWORD, &pass, 0) == CURLUE_OK) {
        set_err(reason, reasonlen, "URLs with a user name or password are not allowed");
        kind = LQ_FETCH_BLOCKED;
        goto done;
    }
    if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK || !h || !h[0]) {
        set_err(reason, reasonlen, "the reference URL has no host");
        kind = LQ_FETCH_BAD_URL;
        goto done;
    }
    char lh[LQ_FETCH_MAX_HOST_LEN + 2];
    int hn = normalise_host(h, strlen(h), lh, sizeof lh);
    if (hn <= 0 || !host_chars_ok(lh, (size_t)hn)) {
        set_err(reason, reasonlen, "the reference URL's host is not a plain host name or IP "
                                   "address");
        kind = LQ_FETCH_BAD_URL;
        goto done;
    }
    copy_str(host, hostlen, lh);
    if (al && al->count > 0 && !lq__fetch_allowlist_match(al, lh)) {
        set_err(reason, reasonlen, "host '%.100s' is not on the allow-list", lh);
        kind = LQ_FETCH_BLOCKED;
        goto done;
    }
    if (curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK || !full) {
        set_err(reason, reasonlen, "the reference URL could not be normalised");
        kind = LQ_FETCH_BAD_URL;
        goto done;
    }
    if (strlen(full) + 1 > normlen || strlen(full) > LQ_FETCH_MAX_URL) {
        set_err(reason, reasonlen, "the reference URL is longer than %d bytes",
                LQ_FETCH_MAX_URL);
        kind = LQ_FETCH_BAD_URL;
        goto done;
    }
    copy_str(norm, normlen, full);
done:
    curl_free(scheme);
    curl_free(h);
    curl_free(user);
    curl_free(pass);
    curl_free(full);
    curl_url_cleanup(u);
    if (kind != LQ_FETCH_OK)
        copy_str(norm, normlen, "");
    return kind;
}

/* ---- addresses ---------------------------------------------------------- */

static int in4(uint32_t a, uint32_t net, int bits)
{
    uint32_t mask = bits == 0 ? 0 : 0xffffffffu << (32 - bits);
    return (a & mask) == (net & mask);
}

#define IP4(a, b, c, d) (((uint32_t)(a) << 24) | ((uint32_t)(b) << 16) | ((uint32_t)(c) << 8) | (uint32_t)(d))

static enum lq__addr_class classify_v4(uint32_t a)
{
    if (in4(a, IP4(127, 0, 0, 0), 8))
        return LQ__ADDR_LOOPBACK;
    if (in4(a, IP4(10, 0, 0, 0), 8) || in4(a, IP4(172, 16, 0, 0), 12) ||
        in4(a, IP4(192, 168, 0, 0), 16) || in4(a, IP4(100, 64, 0, 0), 10))
        return LQ__ADDR_PRIVATE;
    if (in4(a, IP4(169, 254, 0, 0), 16))
        return LQ__ADDR_LINK_LOCAL;
    if (in4(a, IP4(224, 0, 0, 0), 4))
        return LQ__ADDR_MULTICAST;
    /* 0/8 ("this network": connect() to 0.0.0.0 reaches the local host),
     * IETF assignments, the three documentation nets, benchmarking, 240/4
     * and broadcast. */
    if (in4(a, IP4(0, 0, 0, 0), 8) || in4(a, IP4(192, 0, 0, 0), 24) ||
        in4(a, IP4(192, 0, 2, 0), 24) || in4(a, IP4(198, 51, 100, 0), 24) ||
        in4(a, IP4(203, 0, 113, 0), 24) || in4(a, IP4(198, 18, 0, 0), 15) ||
        in4(a, IP4(240, 0, 0, 0), 4))
        return LQ__ADDR_RESERVED;
    return LQ__ADDR_PUBLIC;
}

static uint32_t v4_at(const uint8_t *b)
{
    return IP4(b[0], b[1], b[2], b[3]);
}

static enum lq__addr_class classify_v6(const uint8_t b[16])
{
    static const uint8_t zero[16];
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (memcmp(b, zero, 15) == 0 && b[15] == 1)
        return LQ__ADDR_LOOPBACK;
    if (memcmp(b, zero, 12) == 0) /* ::, and deprecated IPv4-compatible ::a.b.c.d */
        return LQ__ADDR_RESERVED;
    if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
        return classify_v4(v4_at(b + 12));
    if (b[0] == 0x20 && b[1] == 0x02) /* 6to4: 2002:AABB:CCDD::/48 */
        return classify_v4(v4_at(b + 2));
    if (b[0] == 0xff)
        return LQ__ADDR_MULTICAST;
    if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
        return LQ__ADDR_LINK_LOCAL;
    if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0))
        return LQ__ADDR_PRIVATE;
    if ((b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) || /* documentation */
        (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00) || /* Teredo */
        (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b) || /* local NAT64 */
        (b[0] == 0x01 && b[1] == 0x00 && memcmp(b + 2, zero, 6) == 0))    /* discard */
        return LQ__ADDR_RESERVED;
    return LQ__ADDR_PUBLIC;
}

enum lq__addr_class lq__fetch_classify_addr(const struct sockaddr *sa, socklen_t len)
{
    if (!sa)
        return LQ__ADDR_RESERVED;
    if (sa->sa_family == AF_INET && len >= (socklen_t)sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return classify_v4(ntohl(s4->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6 && len >= (socklen_t)sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        return classify_v6(s6->sin6_addr.s6_addr);
    }
    return LQ__ADDR_RESERVED;
}

const char *lq__fetch_addr_class_name(enum lq__addr_class c)
{
    switch (c) {
    case LQ__ADDR_PUBLIC: return "public";
    case LQ__ADDR_LOOPBACK: return "loopback";
    case LQ__ADDR_PRIVATE: return "private";
    case LQ__ADDR_LINK_LOCAL: return "link-local";
    case LQ__ADDR_MULTICAST: return "multicast";
    case LQ__ADDR_RESERVED: return "reserved";
    }
    return "reserved";
}

/* ---- bodies ------------------------------------------------------------- */

void lq__fetch_printable_prefix(const uint8_t *p, size_t n, char *out, size_t outlen)
{
    if (!out || outlen == 0)
        return;
    size_t k = 0;
    for (size_t i = 0; p && i < n && k + 1 < outlen; i++) {
        unsigned char c = p[i];
        out[k++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\' && c != '\'') ? (char)c : '.';
    }
    out[k] = 0;
}
