/*
 * fetch_policy.h - the rules the reference fetcher applies, as pure functions:
 * URL and scheme checks, the host allow-list, classification of the addresses
 * curl is about to connect to, and printable excerpts for error reasons.
 * (Image sniffing is lq_image_sniff in image/codec.h.)
 *
 * Internal to src/service (fetch.c and its tests); the public contract and the
 * rationale are in fetch.h and docs/security.md. Everything here is
 * thread-safe: no state beyond the arguments.
 */
#ifndef LQ_SERVICE_FETCH_POLICY_H
#define LQ_SERVICE_FETCH_POLICY_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "service/fetch.h"

/* A parsed allow-list: lower-case entries, either an exact host ("cdn.x.com",
 * "10.0.0.7", "[::1]") or a suffix pattern stored without its "*" (".x.com",
 * which matches "a.x.com" and "a.b.x.com" but not "x.com"). */
typedef struct lq__fetch_allowlist {
    int count; /* 0 = no allow-list */
    char entry[LQ_FETCH_MAX_HOSTS][LQ_FETCH_MAX_HOST_LEN + 2];
} lq__fetch_allowlist;

/* Parses a comma-separated list ("cdn.example.com, *.media.example.com").
 * Whitespace around entries is ignored; an empty or NULL spec gives count 0.
 * Returns 0, or LQ_EINVAL with the reason in err (empty entry, bare "*", a
 * port, a character outside [a-z0-9.-] (IPv6 literals in brackets), too long,
 * more than LQ_FETCH_MAX_HOSTS). On error *out is unspecified. */
int lq__fetch_allowlist_parse(const char *spec, lq__fetch_allowlist *out, char *err,
                              size_t errlen) LQ_NODISCARD;

/* 1 if host (as curl's URL parser gives it; compared case-insensitively, a
 * trailing dot ignored) is on the list, else 0. An empty list matches nothing. */
int lq__fetch_allowlist_match(const lq__fetch_allowlist *al, const char *host);

/*
 * Checks a URL before any network access: length (LQ_FETCH_MAX_URL), syntax
 * (curl's URL parser, no scheme guessing), scheme http/https, no user:password,
 * a host of sane characters, and the allow-list when al->count > 0.
 * Returns LQ_FETCH_OK and writes curl's normalised URL into norm (the string
 * to hand to curl, so curl fetches exactly what was checked) and the host into
 * host; or LQ_FETCH_BAD_URL / LQ_FETCH_BLOCKED (or LQ_FETCH_INTERNAL when out
 * of memory) with a sentence in reason. Every buffer is always NUL-terminated.
 */
enum lq_fetch_kind lq__fetch_check_url(const char *url, const lq__fetch_allowlist *al,
                                       char *norm, size_t normlen, char *host,
                                       size_t hostlen, char *reason, size_t reasonlen);

/* What an IP address is, for the connect-time check. */
enum lq__addr_class {
    LQ__ADDR_PUBLIC = 0,
    LQ__ADDR_LOOPBACK,   /* 127/8, ::1 */
    LQ__ADDR_PRIVATE,    /* RFC 1918, CGNAT 100.64/10, fc00::/7, fec0::/10 */
    LQ__ADDR_LINK_LOCAL, /* 169.254/16 (cloud metadata), fe80::/10 */
    LQ__ADDR_MULTICAST,  /* 224/4, ff00::/8 */
    LQ__ADDR_RESERVED,   /* unspecified, documentation, benchmarking, 240/4,
                          * IETF, Teredo, discard, unknown families */
};

/* Classifies an AF_INET or AF_INET6 address (IPv4-mapped, NAT64 64:ff9b::/96
 * and 6to4 2002::/16 addresses are judged by the IPv4 address inside). */
enum lq__addr_class lq__fetch_classify_addr(const struct sockaddr *sa, socklen_t len);

/* "public", "loopback", "private", "link-local", "multicast", "reserved". */
const char *lq__fetch_addr_class_name(enum lq__addr_class c);

/* Writes the first bytes as printable ASCII ('.' for anything else, quotes
 * and backslashes included) into out, for error reasons. */
void lq__fetch_printable_prefix(const uint8_t *p, size_t n, char *out, size_t outlen);

#endif
