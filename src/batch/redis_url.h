/*
 * redis_url.h - where the batch worker's Redis is: redis://[[USER]:PASSWORD@]HOST[:PORT][/DB].
 *
 *   batch_redis_url u;
 *   char err[160];
 *   if (batch_redis_url_parse("redis://:s3cret@redis:6379/2", &u, err, sizeof err) < 0)
 *       die(err);
 *   connect(u.host, u.port); if (u.password[0]) AUTH ...; if (u.db) SELECT u.db;
 *
 * Accepted: scheme "redis" (any case); HOST a name, an IPv4 address or an
 * IPv6 address in brackets ("[::1]"); PORT 1..65535 (default 6379); DB
 * 0..65535 (default 0); user and password percent-decoded. A trailing "/"
 * is allowed. Refused (LQ_EINVAL, err says why): "rediss://" (TLS: the
 * hiredis of Debian 12 is built without it), unix sockets, query strings,
 * anything over the limits below.
 *
 * Pure and reentrant. *out is written only on success.
 */
#ifndef LQ_BATCH_REDIS_URL_H
#define LQ_BATCH_REDIS_URL_H

#include <stddef.h>

#include "base/error.h"

#define BATCH_URL_MAX 1024
#define BATCH_URL_HOST_MAX 255
#define BATCH_URL_CRED_MAX 255

typedef struct batch_redis_url {
    char host[BATCH_URL_HOST_MAX + 1];      /* without brackets */
    int port;
    int db;
    char user[BATCH_URL_CRED_MAX + 1];      /* "" = default user */
    char password[BATCH_URL_CRED_MAX + 1];  /* "" = no AUTH */
} batch_redis_url;

int batch_redis_url_parse(const char *url, batch_redis_url *out, char *err,
                          size_t errlen) LQ_NODISCARD;

/* Writes the URL with the password masked ("redis://:***@host:6379/0"), for
 * logs. Returns snprintf's count. */
int batch_redis_url_format(const batch_redis_url *u, char *buf, size_t len);

#endif
