/*
 * origin.h - which web pages may open a WebSocket to the service
 * (ALLOWED_ORIGINS), against cross-site WebSocket hijacking.
 *
 *   svc_origins o;
 *   char err[160];
 *   if (svc_origins_parse("https://shop.example, http://localhost:8080", &o, err,
 *                         sizeof err) < 0) die(err);
 *   svc_origin_verdict v = svc_origin_check(&o, origin_header, host_header);
 *
 * Browsers send an Origin header with every WebSocket handshake, and the
 * same-origin policy does not apply to WebSockets: without this check any
 * page a shopper visits could open /ws/tryon with the shopper's cookies and
 * network position. Servers (the Django backend, curl, Python clients) send
 * no Origin; they are always let through here (authentication is AUTH_MODE's
 * job, not this one's).
 *
 * The list (comma-separated):
 *   ""                      only same-origin pages: the Origin's host[:port]
 *                           equals the Host header (the demo page served by
 *                           the service itself, or through a proxy that keeps
 *                           Host);
 *   "*"                     any page (development only: turns the check off);
 *   "https://shop.example"  that exact origin (scheme, host, port; the default
 *                           port may be written or not);
 *   a wildcard              the host "*.shop.example" after the scheme: any
 *                           sub-domain of shop.example with that scheme (not
 *                           shop.example itself);
 *   "null"                  the opaque origin of sandboxed frames and file://
 *                           pages (refused unless listed).
 * Comparison ignores case; the same-origin rule is always on (a listed origin
 * adds to it).
 *
 * Pure and reentrant.
 */
#ifndef LQ_SERVICE_ORIGIN_H
#define LQ_SERVICE_ORIGIN_H

#include <stddef.h>

#include "base/error.h"

#define SVC_ORIGINS_MAX 32
#define SVC_ORIGIN_TEXT_MAX 256

typedef struct svc_origin_rule {
    char scheme[8];                     /* "http", "https" or "" for the "null" rule */
    char host[SVC_ORIGIN_TEXT_MAX];     /* lower case; for a wildcard the suffix ".shop.example" */
    int port;                           /* explicit or the scheme's default */
    int wildcard;
    int is_null;
} svc_origin_rule;

typedef struct svc_origins {
    int any;                            /* "*" */
    int n;
    svc_origin_rule rules[SVC_ORIGINS_MAX];
} svc_origins;

typedef enum svc_origin_verdict {
    SVC_ORIGIN_NONE = 0,                /* no Origin header: not a browser; allowed */
    SVC_ORIGIN_SAME,                    /* same origin as the Host header; allowed */
    SVC_ORIGIN_LISTED,                  /* in the list (or the list is "*"); allowed */
    SVC_ORIGIN_REFUSED,                 /* a browser page from elsewhere */
} svc_origin_verdict;

/* LQ_EINVAL with err naming the bad entry, LQ_ELIMIT for too many entries. */
int svc_origins_parse(const char *list, svc_origins *out, char *err, size_t errlen) LQ_NODISCARD;

/* origin: the Origin header or NULL/"" if absent; host: the Host header (or
 * HTTP/2 :authority) or NULL. */
svc_origin_verdict svc_origin_check(const svc_origins *o, const char *origin, const char *host);

static inline int svc_origin_allowed(svc_origin_verdict v)
{
    return v != SVC_ORIGIN_REFUSED;
}

#endif
