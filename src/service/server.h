/*
 * server.h - `lacquer serve`: the try-on WebSocket service.
 *
 *   lq_config cfg;  ...lq_config_load(&cfg, ...)...
 *   lq_server *srv;
 *   char err[256];
 *   if (lq_server_create(&cfg, &srv, err, sizeof err) < 0) { print err; exit 1; }
 *   // install SIGTERM/SIGINT handlers that call lq_server_request_stop(srv)
 *   int rc = lq_server_run(srv);          // returns after a graceful shutdown
 *   lq_server_destroy(srv);
 *
 * One event loop thread (libwebsockets) owns every connection and session;
 * a pool of worker threads runs the frames; a fetcher thread downloads
 * reference images. Routes on WS_PORT: the WebSocket endpoint /ws/tryon,
 * GET /health and GET /metrics (also on METRICS_PORT when set). The protocol
 * is described in docs/protocol.md.
 *
 * Shutdown: lq_server_request_stop (async-signal-safe) makes the loop stop
 * accepting connections, refuse new frames, finish the frames already
 * accepted, send each session its stats and close_session (reason
 * "server_shutdown"), close every connection with 1001 and return 0. After
 * SHUTDOWN_TIMEOUT seconds whatever is left is closed anyway (still 0).
 */
#ifndef LQ_SERVICE_SERVER_H
#define LQ_SERVICE_SERVER_H

#include <stddef.h>

#include "base/config.h"
#include "base/error.h"

typedef struct lq_server lq_server;

/* Loads the models, starts the workers and the fetcher, and opens the
 * listening sockets. On failure err says why (missing models, port in use,
 * ...) and nothing is left running. cfg is copied. */
int lq_server_create(const lq_config *cfg, lq_server **out, char *err,
                     size_t errlen) LQ_NODISCARD;

/* Runs the event loop until a requested stop has completed. Returns 0 after
 * a graceful shutdown, or a negative code if the loop failed. */
int lq_server_run(lq_server *srv) LQ_NODISCARD;

/* Asks the loop to shut down gracefully. Safe from a signal handler. */
void lq_server_request_stop(lq_server *srv);

/* The port /ws/tryon listens on (WS_PORT). */
int lq_server_port(const lq_server *srv);

/* Frees everything. Call after lq_server_run returned (or instead of it). */
void lq_server_destroy(lq_server *srv);

#endif
