/* http.c - GET /health and GET /metrics (see docs/protocol.md), and the demo page
 * (webui.c). Loop thread only. */
#include <cjson/cJSON.h>
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "image/codec.h"
#include "nails/design.h"
#include "service/httpapi.h"
#include "service/job.h"
#include "service/server_internal.h"
#include "service/webui.h"

#define TAG SVC_TAG

/* ------------------------------------------------------------------ */
/* HTTP                                                                */

static char *health_json(lq_server *srv, size_t *len)
{
    char *body = malloc(LWS_PRE + 512);
    if (!body)
        return NULL;
    double uptime = (double)(lq_clock_ns() - srv->started_ns) / 1e9;
    int n = snprintf(body + LWS_PRE, 512,
                     "{\"status\":\"%s\",\"model_loaded\":%s,\"active_sessions\":%d,"
                     "\"max_sessions\":%d,\"connections\":%d,\"workers\":%d,"
                     "\"queued_frames\":%d,\"device\":\"cpu\",\"version\":\"%s\","
                     "\"uptime_s\":%.3f}",
                     srv->stopping ? "shutting_down" : "healthy", srv->engine ? "true" : "false",
                     srv->nsessions, srv->cfg.max_concurrent_sessions, srv->nconns,
                     svc_workers_threads(srv->workers), svc_workers_pending(srv->workers),
                     LQ_VERSION, uptime);
    *len = (size_t)n;
    return body;
}

static char *metrics_text(lq_server *srv, size_t *len)
{
    size_t n = 0;
    char *text = svc_metrics_render(&srv->metrics, srv->nsessions,
                                    svc_workers_pending(srv->workers), &n);
    if (!text)
        return NULL;
    char *body = malloc(LWS_PRE + n + 1);
    if (body)
        memcpy(body + LWS_PRE, text, n + 1);
    free(text);
    *len = n;
    return body;
}

int svc__http_request(lq_server *srv, struct lws *wsi, svc_pss *pss, const char *uri)
{
    int status = HTTP_STATUS_OK;
    const char *ctype = "application/json";
    char *body = NULL;
    size_t len = 0;
    if (api_is_api_path(uri)) /* the HTTP API (httpapi.c) */
        return svc__api_http(srv, wsi, pss, uri);
    int web = svc__web_request(wsi, pss, uri); /* the demo page, web/ (webui.c) */
    if (web != 0)
        return web < 0 ? -1 : 0;
    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
        status = HTTP_STATUS_METHOD_NOT_ALLOWED;
    } else if (strcmp(uri, "/health") == 0) {
        body = health_json(srv, &len);
        if (srv->stopping)
            status = HTTP_STATUS_SERVICE_UNAVAILABLE;
    } else if (strcmp(uri, "/metrics") == 0 && srv->cfg.enable_metrics) {
        body = metrics_text(srv, &len);
        ctype = "text/plain; version=0.0.4; charset=utf-8";
    } else {
        status = HTTP_STATUS_NOT_FOUND;
    }
    if (!body) {
        const char *msg = status == HTTP_STATUS_NOT_FOUND ? "{\"error\":\"not found\"}"
                          : status == HTTP_STATUS_OK      ? "{\"error\":\"out of memory\"}"
                                                          : "{\"error\":\"use GET\"}";
        if (status == HTTP_STATUS_OK)
            status = HTTP_STATUS_INTERNAL_SERVER_ERROR;
        ctype = "application/json";
        len = strlen(msg);
        body = malloc(LWS_PRE + len + 1);
        if (!body)
            return -1;
        memcpy(body + LWS_PRE, msg, len + 1);
    }
    pss->http_body = body;
    pss->http_len = len;
    uint8_t hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
    if (lws_add_http_common_headers(wsi, (unsigned)status, ctype, len, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end) ||
        lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    /* A request that is not a GET may carry a body; lws 4.1.6 frees such a
     * request's state without the CLOSED_HTTP callback once the body is in,
     * so a reply left for the writeable callback would leak: answer now. */
    if (status == HTTP_STATUS_METHOD_NOT_ALLOWED)
        return svc__http_writeable(wsi, pss) < 0 ? -1 : 0;
    lws_callback_on_writable(wsi);
    return 0;
}

int svc__http_writeable(struct lws *wsi, svc_pss *pss)
{
    if (!pss->http_body)
        return 0;
    int n = lws_write(wsi, (unsigned char *)pss->http_body + LWS_PRE, pss->http_len,
                      LWS_WRITE_HTTP_FINAL);
    free(pss->http_body);
    pss->http_body = NULL;
    if (n < 0)
        return -1;
    return lws_http_transaction_completed(wsi) ? -1 : 0;
}

