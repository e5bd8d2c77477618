/*
 * transport.h - how the service's listening sockets speak: TLS (https://,
 * wss://, ALPN "h2" and "http/1.1") on WS_PORT when TLS_CERT_FILE and
 * TLS_KEY_FILE are set, and cleartext HTTP/2 with prior knowledge (h2c) on
 * H2C_PORT (docs/http-api.md).
 *
 * Why h2c has its own port: libwebsockets 4.1.6 chooses HTTP/1.1 or HTTP/2
 * for a cleartext connection per listening vhost
 * (LWS_SERVER_OPTION_H2_PRIOR_KNOWLEDGE makes every connection of the vhost
 * HTTP/2), and does not look for the HTTP/2 connection preface on an
 * HTTP/1.1 listener. WS_PORT keeps HTTP/1.1 and WebSocket clients working;
 * over TLS, ALPN lets one port serve all three.
 *
 * Not a public header; used by server.c when it creates the lws context and
 * vhosts.
 */
#ifndef LQ_SERVICE_TRANSPORT_H
#define LQ_SERVICE_TRANSPORT_H

#include <libwebsockets.h>
#include <stddef.h>

#include "base/config.h"
#include "base/error.h"

#define SVC_VHOST_MAIN "tryon"
#define SVC_VHOST_H2C "h2c"
#define SVC_ALPN "h2,http/1.1"

/* 1 if TLS is configured. */
int svc_transport_tls(const lq_config *cfg);

/* Checks that the certificate and key files can be read (lws would only
 * say that the vhost could not be created). 0 or LQ_EIO with err set. */
int svc_transport_check(const lq_config *cfg, char *err, size_t errlen) LQ_NODISCARD;

/* Context options TLS needs. */
void svc_transport_context(const lq_config *cfg, struct lws_context_creation_info *info);

/* Vhost options by vhost name: TLS and ALPN for SVC_VHOST_MAIN when
 * configured, prior-knowledge HTTP/2 for SVC_VHOST_H2C. The strings stay
 * owned by cfg, which must outlive the vhost. */
void svc_transport_vhost(const lq_config *cfg, const char *name,
                         struct lws_context_creation_info *info);

#endif
