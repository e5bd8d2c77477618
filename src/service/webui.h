/*
 * webui.h - the browser demo page (web/), compiled into the binary and served by
 * `lacquer serve` at / (see web/README.md). Not a public header: used by http.c
 * and by the source that cmake/embed_web.cmake generates.
 *
 *   GET /            web/index.html
 *   GET /app.js      web/app.js       (every file of web/ with an embedded extension
 *   GET /style.css   web/style.css     is served under its own name)
 *
 * Responses carry the file's Content-Type, a strong ETag (If-None-Match gives 304),
 * "Cache-Control: no-cache" (the browser revalidates, so a new binary's page shows at
 * once), a Content-Security-Policy that allows only this origin's scripts, styles and
 * WebSocket, plus nosniff, no-referrer and frame-ancestors 'none'. GET only: any other
 * method (HEAD included) gets 405 with "Allow: GET".
 * Paths that are not in the table are not handled here (http.c answers 404), nor is any
 * request on the METRICS_PORT listener.
 *
 * Event loop thread only; the table is read-only.
 */
#ifndef LQ_SERVICE_WEBUI_H
#define LQ_SERVICE_WEBUI_H

#include <stddef.h>

#include "base/error.h"

/* One embedded file. path is "/<file name>"; etag includes its double quotes. */
typedef struct svc_web_asset {
    const char *path;
    const char *content_type;
    const unsigned char *data;
    size_t len;
    const char *etag;
} svc_web_asset;

/* Generated at build time from web/ (cmake/embed_web.cmake). */
extern const svc_web_asset svc__web_assets[];
extern const size_t svc__web_asset_count;

/* The Content-Security-Policy sent with every page response. */
#define SVC_WEB_CSP                                                                                \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; "        \
    "media-src 'self' blob: mediastream:; connect-src 'self'; base-uri 'none'; "                   \
    "form-action 'none'; frame-ancestors 'none'"

/* The asset served at uri ("/" is "/index.html"), or NULL. uri is the path only (no
 * query string), as libwebsockets passes it; at most 128 bytes are looked at. */
const svc_web_asset *svc_web_find(const char *uri);

struct lws;
struct svc_pss;
struct lq_server;

/* Answers an HTTP request for uri when it names an embedded asset: returns 1 when it
 * has written the response headers (the body, if any, is left in pss->http_body for
 * svc__http_writeable), 0 when uri is not a page asset (the caller goes on routing),
 * or -1 when the connection must be closed (out of memory, header write failed). */
LQ_NODISCARD int svc__web_request(struct lws *wsi, struct svc_pss *pss, const char *uri);

#endif
