/*
 * clientaddr.h - who is the client: the peer address, or the address a
 * trusted proxy wrote into X-Forwarded-For; and the key per-address limits
 * are counted under.
 *
 *   svc_cidr trusted[SVC_CIDR_MAX];
 *   int n;
 *   char err[160];
 *   if (svc_cidr_list_parse("10.0.0.0/8, 127.0.0.1", trusted, SVC_CIDR_MAX, &n, err,
 *                           sizeof err) < 0) die(err);
 *   svc_ipaddr peer, client, key;
 *   svc_ip_parse("10.1.2.3", &peer);
 *   svc_client_addr(&peer, "203.0.113.9, 10.0.0.7", trusted, n, &client);  // 203.0.113.9
 *   svc_ip_limit_key(&client, &key);
 *
 * Addresses are kept as 16 bytes: IPv4 as IPv4-mapped IPv6 (::ffff:a.b.c.d),
 * so one type and one comparison serve both families.
 *
 * X-Forwarded-For is honoured only when the peer itself is a trusted proxy,
 * and then read from the right: each proxy appends the address it saw, so
 * the rightmost entry that is not a trusted proxy is the first address that
 * no trusted party vouched for any further, i.e. the client. Entries to its
 * left were written by the client (or proxies we do not know) and may be
 * forged, so they are never used. A peer that is not trusted is the client,
 * whatever X-Forwarded-For says. A trusted peer with no usable entry (missing
 * header, garbage) is taken as the client itself.
 *
 * Limit keys: an IPv4 client is counted per address; an IPv6 client per /64
 * prefix, since one subscriber usually holds a whole /64 and could otherwise
 * take a fresh address for every connection.
 *
 * Pure and reentrant.
 */
#ifndef LQ_SERVICE_CLIENTADDR_H
#define LQ_SERVICE_CLIENTADDR_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define SVC_CIDR_MAX 64          /* entries in TRUSTED_PROXIES */
#define SVC_XFF_MAX_ENTRIES 32   /* X-Forwarded-For entries looked at, from the right */
#define SVC_IP_TEXT_MAX 46       /* INET6_ADDRSTRLEN */

typedef struct svc_ipaddr {
    uint8_t b[16];
} svc_ipaddr;

typedef struct svc_cidr {
    svc_ipaddr net;              /* masked */
    int bits;                    /* prefix length over the 128-bit form */
} svc_cidr;

/* Parses "192.0.2.1", "2001:db8::1", "[2001:db8::1]", "192.0.2.1:4711" or
 * "[2001:db8::1]:443" (a port is ignored). Surrounding spaces are allowed.
 * LQ_EINVAL if it is not an address (host names are not addresses). */
int svc_ip_parse(const char *s, size_t len, svc_ipaddr *out) LQ_NODISCARD;

/* From a socket address (AF_INET or AF_INET6). LQ_EINVAL otherwise. */
struct sockaddr;
int svc_ip_from_sockaddr(const struct sockaddr *sa, svc_ipaddr *out) LQ_NODISCARD;

int svc_ip_is_v4(const svc_ipaddr *a);
int svc_ip_equal(const svc_ipaddr *a, const svc_ipaddr *b);

/* "192.0.2.1" or "2001:db8::1". Returns snprintf's count. */
int svc_ip_format(const svc_ipaddr *a, char *buf, size_t len);

/* Comma-separated addresses and CIDR blocks ("10.0.0.0/8, ::1, 192.0.2.7").
 * An empty list is valid (n = 0). LQ_EINVAL with err naming the bad entry,
 * LQ_ELIMIT over max entries. */
int svc_cidr_list_parse(const char *list, svc_cidr *out, int max, int *n, char *err,
                        size_t errlen) LQ_NODISCARD;

int svc_cidr_contains(const svc_cidr *c, const svc_ipaddr *a);
int svc_cidr_list_contains(const svc_cidr *list, int n, const svc_ipaddr *a);

/* The client's address (see above). xff may be NULL. Returns 1 if it came
 * from X-Forwarded-For, 0 if it is the peer. */
int svc_client_addr(const svc_ipaddr *peer, const char *xff, const svc_cidr *trusted, int ntrusted,
                    svc_ipaddr *out);

/* The key per-address limits are counted under (IPv6: the /64). */
void svc_ip_limit_key(const svc_ipaddr *a, svc_ipaddr *key);

#endif
