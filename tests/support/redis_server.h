/*
 * redis_server.h - a real redis-server (Debian's /usr/bin/redis-server) for
 * the tests of code that talks to Redis (batch queue and worker, token
 * store): started as a child process on a loopback port, without
 * persistence, in its own temporary folder.
 *
 *   lq_test_redis r = {0};                  // port 0: a free one is chosen
 *   if (lq_test_redis_start(&r, NULL) < 0) ...
 *   redisConnect("127.0.0.1", r.port) ...
 *   lq_test_redis_stop(&r);                 // may be started again: same port, same folder
 *   lq_test_redis_start(&r, NULL);
 *   lq_test_redis_remove(&r);               // stops it and removes the folder
 *
 * The caller owns the lq_test_redis struct and must call lq_test_redis_remove
 * once it has started one (it kills the child and deletes the folder); the
 * struct holds no heap memory. Not thread-safe: one thread per struct.
 */
#ifndef LQ_TEST_REDIS_SERVER_H
#define LQ_TEST_REDIS_SERVER_H

#include <sys/types.h>

#define LQ_TEST_REDIS_SERVER "/usr/bin/redis-server"

typedef struct lq_test_redis {
    pid_t pid;    /* the running server, 0 when stopped */
    int port;     /* 127.0.0.1 port; 0 before the first start = choose a free one */
    char dir[64]; /* its working folder, made at the first start ("" before) */
} lq_test_redis;

/* Starts the server on r->port (a free port if 0) in r->dir (a new
 * /tmp/lq-redis-XXXXXX if empty), requiring `password` if not NULL, and
 * waits (up to 5 s) until it answers PING. Returns 0, or -1 with the reason
 * on stderr (no redis-server, no folder, it did not come up; a child that
 * did not come up is left running for lq_test_redis_remove to stop). */
int lq_test_redis_start(lq_test_redis *r, const char *password);

/* Stops the server (SIGTERM, then waits for it); r keeps its port and
 * folder. Nothing happens if it is not running. */
void lq_test_redis_stop(lq_test_redis *r);

/* Stops the server and removes its folder. Returns 0, or -1 (reason on
 * stderr) if the folder could not be removed. */
int lq_test_redis_remove(lq_test_redis *r);

/* A TCP port on 127.0.0.1 that was free a moment ago (nothing listens on
 * it), or -1. */
int lq_test_free_port(void);

#endif
