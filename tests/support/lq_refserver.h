/*
 * lq_refserver.h - starts tests/support/refserver.py (a local HTTP server on
 * 127.0.0.1 serving reference images and misbehaving routes) for a test.
 *
 *   lq_refserver s;
 *   if (lq_refserver_start(&s, NULL) != 0) fail();     // serves LQ_SHARED_DATA
 *   char url[512];
 *   lq_refserver_url(&s, "/file/hands/tfjs_hands_two_dorsal.jpg", url, sizeof url);
 *   ... long n = lq_refserver_hits(&s, "/file/hands/tfjs_hands_two_dorsal.jpg");
 *   lq_refserver_stop(&s);
 *
 * The routes are listed at the top of refserver.py. The server lives as long
 * as the pipe on its stdin: if the test dies, the server exits too.
 */
#ifndef LQ_REFSERVER_H
#define LQ_REFSERVER_H

#include <stddef.h>
#include <sys/types.h>

typedef struct lq_refserver {
    pid_t pid;
    int stdin_fd;   /* our end of the server's stdin */
    int port;
} lq_refserver;

/* Starts the server over root (NULL = the shared test data folder) and waits
 * (at most 10 s) until it listens. Returns 0 or -1 (with a message on stderr). */
int lq_refserver_start(lq_refserver *s, const char *root);

/* Stops the server and reaps it. Safe on a server that failed to start. */
void lq_refserver_stop(lq_refserver *s);

/* Writes "http://<host>:<port><path>" into buf and returns buf. host NULL means
 * "127.0.0.1". */
char *lq_refserver_url_host(const lq_refserver *s, const char *host, const char *path,
                            char *buf, size_t len);
char *lq_refserver_url(const lq_refserver *s, const char *path, char *buf, size_t len);

/* How many requests the server received for exactly this path (with query),
 * or -1 if it could not be asked. */
long lq_refserver_hits(const lq_refserver *s, const char *path);

#endif
