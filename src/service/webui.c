/* webui.c - serves the embedded browser demo (web/) over HTTP. Loop thread only. */
#include "service/webui.h"

#include <libwebsockets.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "service/server_internal.h"

#define TAG SVC_TAG
#define URI_MAX 128

const svc_web_asset *svc_web_find(const char *uri)
{
    if (!uri)
        return NULL;
    size_t n = strnlen(uri, URI_MAX + 1);
    if (n == 0 || n > URI_MAX)
        return NULL;
    if (strcmp(uri, "/") == 0)
        uri = "/index.html";
    for (size_t i = 0; i < svc__web_asset_count; i++)
        if (svc__web_assets[i].path && strcmp(svc__web_assets[i].path, uri) == 0)
            return &svc__web_assets[i];
    return NULL;
}

/* 1 when the request's If-None-Match lists etag (or is "*"). Weak validators
 * (W/"...") match too, as RFC 9110 asks for If-None-Match. */
static int etag_matches(struct lws *wsi, const char *etag)
{
    char buf[256];
    if (lws_hdr_total_length(wsi, WSI_TOKEN_HTTP_IF_NONE_MATCH) <= 0 ||
        lws_hdr_copy(wsi, buf, (int)sizeof buf, WSI_TOKEN_HTTP_IF_NONE_MATCH) <= 0)
        return 0;
    if (strcmp(buf, "*") == 0)
        return 1;
    return strstr(buf, etag) != NULL;
}

static int add_header(struct lws *wsi, const char *name, const char *value, unsigned char **p,
                      unsigned char *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

/* The headers every page response carries, whatever its status. */
static int add_page_headers(struct lws *wsi, const svc_web_asset *a, unsigned char **p,
                            unsigned char *end)
{
    if (a && (add_header(wsi, "etag:", a->etag, p, end) ||
              add_header(wsi, "cache-control:", "no-cache", p, end)))
        return -1;
    return add_header(wsi, "content-security-policy:", SVC_WEB_CSP, p, end) ||
                   add_header(wsi, "x-content-type-options:", "nosniff", p, end) ||
                   add_header(wsi, "referrer-policy:", "no-referrer", p, end)
               ? -1
               : 0;
}

/* Takes a malloc'd copy of the body for svc__http_writeable (which frees it). */
static int set_body(svc_pss *pss, const void *data, size_t len)
{
    char *body = malloc(LWS_PRE + len + 1);
    if (!body)
        return -1;
    if (len)
        memcpy(body + LWS_PRE, data, len);
    body[LWS_PRE + len] = '\0';
    pss->http_body = body;
    pss->http_len = len;
    return 0;
}

int svc__web_request(struct lws *wsi, svc_pss *pss, const char *uri)
{
    /* the page belongs to the service's port, not to METRICS_PORT */
    lq_server *srv = svc__server_of(wsi);
    if (!srv || lws_get_vhost(wsi) != srv->vh_main)
        return 0;
    const svc_web_asset *a = svc_web_find(uri);
    if (!a)
        return 0;
    uint8_t hdr[LWS_PRE + 1536], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;

    if (lws_hdr_total_length(wsi, WSI_TOKEN_GET_URI) <= 0) {
        /* Answered at once and the connection closed: a request body (POST...) is not
         * read, and libwebsockets would end the transaction at the end of that body
         * before a writeable callback could send ours. */
        static const char msg[] = "use GET\n";
        unsigned char out[LWS_PRE + sizeof msg];
        memcpy(out + LWS_PRE, msg, sizeof msg - 1);
        if (lws_add_http_common_headers(wsi, HTTP_STATUS_METHOD_NOT_ALLOWED,
                                        "text/plain; charset=utf-8", sizeof msg - 1, &p, end) ||
            add_header(wsi, "allow:", "GET", &p, end) ||
            add_header(wsi, "connection:", "close", &p, end) ||
            add_page_headers(wsi, NULL, &p, end) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        if (lws_write(wsi, out + LWS_PRE, sizeof msg - 1, LWS_WRITE_HTTP_FINAL) < 0)
            LQ_DEBUG(TAG, "could not write the 405 reply");
        return -1;
    }

    if (etag_matches(wsi, a->etag)) {
        if (lws_add_http_header_status(wsi, HTTP_STATUS_NOT_MODIFIED, &p, end) ||
            add_page_headers(wsi, a, &p, end) ||
            lws_finalize_write_http_header(wsi, start, &p, end))
            return -1;
        /* no body: the transaction is over (a nonzero return means close) */
        return lws_http_transaction_completed(wsi) ? -1 : 1;
    }

    if (set_body(pss, a->data, a->len) < 0) {
        LQ_ERROR(TAG, "out of memory serving %s", a->path);
        return -1;
    }
    if (lws_add_http_common_headers(wsi, HTTP_STATUS_OK, a->content_type, a->len, &p, end) ||
        add_page_headers(wsi, a, &p, end) || lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    lws_callback_on_writable(wsi);
    return 1;
}
