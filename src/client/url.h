/*
 * url.h - parsing the ws:// URL the load generator connects to.
 *
 *   lq_client_url u;
 *   if (lq_client_url_parse("ws://127.0.0.1:8002/ws/tryon", &u, err, sizeof err) < 0) ...
 *   // u.host "127.0.0.1", u.port 8002, u.path "/ws/tryon"
 *
 * Accepted: ws://HOST[:PORT][/PATH][?QUERY] with HOST a name, an IPv4
 * address or a bracketed IPv6 address ([::1]); the scheme is
 * case-insensitive; the port defaults to 80 and the path to "/" (the query
 * is kept as part of path). wss:// is refused with LQ_EUNSUPPORTED (the
 * tool speaks plain WebSocket; put TLS in front with a proxy). Everything
 * else that is not such a URL, or that is longer than the limits below, is
 * LQ_EINVAL with a reason in err. Plain data, reentrant.
 */
#ifndef LQ_CLIENT_URL_H
#define LQ_CLIENT_URL_H

#include <stddef.h>

#include "base/error.h"

#define LQ_CLIENT_URL_MAX 2048
#define LQ_CLIENT_HOST_MAX 255

typedef struct lq_client_url {
    char host[LQ_CLIENT_HOST_MAX + 1]; /* without the IPv6 brackets */
    int port;                          /* 1..65535 */
    char path[LQ_CLIENT_URL_MAX + 1];  /* starts with '/', query included */
} lq_client_url;

/* On failure *out is untouched and err (may be NULL) says why. */
int lq_client_url_parse(const char *url, lq_client_url *out, char *err, size_t errlen) LQ_NODISCARD;

#endif
