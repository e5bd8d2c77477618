/*
 * httpresp.c - writing HTTP API responses on HTTP/1.1 and HTTP/2 (see
 * httpapi.h). One lws_write per writeable callback, as lws asks.
 *
 * HTTP/2 in lws 4.1.6 puts each lws_write into one DATA frame without
 * looking at the peer's flow-control window or frame size limit, so bodies
 * go out in pieces of at most 16384 bytes (the smallest maximum frame size
 * a peer may announce) and never more than the window the peer granted;
 * when the window is shut the writer waits (lws asks for a writeable
 * callback again when a WINDOW_UPDATE arrives).
 */
#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/httpapi.h"

void api__resp_free(api_resp *resp)
{
    free(resp->buf);
    free(resp->meta);
    resp->buf = NULL;
    resp->meta = NULL;
}

void api__resp_body(api_resp *resp, uint8_t *buf, size_t len)
{
    free(resp->buf);
    resp->buf = buf;
    resp->len = len;
    resp->sent = 0;
}

size_t api__resp_room(struct lws *wsi, int h2)
{
    if (!h2)
        return API_WRITE_H1;
    lws_fileofs_t allowed = lws_get_peer_write_allowance(wsi);
    if (allowed < 0)
        return API_WRITE_H2;
    return allowed < API_WRITE_H2 ? (size_t)allowed : API_WRITE_H2;
}

int api__resp_write_piece(struct lws *wsi, uint8_t *p, size_t len, int chunked, int final)
{
    enum lws_write_protocol wp = final ? LWS_WRITE_HTTP_FINAL : LWS_WRITE_HTTP;
    if (!chunked)
        return lws_write(wsi, p, len, wp) < 0 ? -1 : 0;
    /* HTTP/1.1 chunk: size in hex, CRLF, data, CRLF; the last one "0" CRLF CRLF */
    char head[16];
    int hl = len ? snprintf(head, sizeof head, "%zx\r\n", len) : 0;
    uint8_t *start = p - hl;
    memcpy(start, head, (size_t)hl);
    size_t n = (size_t)hl + len;
    if (len) {
        p[len] = '\r';
        p[len + 1] = '\n';
        n += 2;
    }
    if (final) {
        memcpy(start + n, "0\r\n\r\n", 5);
        n += 5;
    }
    return lws_write(wsi, start, n, wp) < 0 ? -1 : 0;
}

static int add_header(struct lws *wsi, const char *name, const char *value, uint8_t **p,
                      uint8_t *end)
{
    return lws_add_http_header_by_name(wsi, (const unsigned char *)name,
                                       (const unsigned char *)value, (int)strlen(value), p, end);
}

int api__resp_send_head(lq_server *srv, svc_api_req *r)
{
    api_resp *rs = &r->resp;
    struct lws *wsi = r->wsi;
    uint8_t *start = srv->api->scratch + LWS_PRE, *p = start;
    uint8_t *end = start + API_HEADERS_MAX - 1;
    char num[32];
    if (lws_add_http_header_status(wsi, (unsigned)rs->status, &p, end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CONTENT_TYPE,
                                     (const unsigned char *)rs->ctype, (int)strlen(rs->ctype), &p,
                                     end) ||
        lws_add_http_header_by_token(wsi, WSI_TOKEN_HTTP_CACHE_CONTROL,
                                     (const unsigned char *)"no-store", 8, &p, end))
        return -1;
    if (!rs->streaming) {
        if (lws_add_http_header_content_length(wsi, rs->len, &p, end))
            return -1;
    } else if (!r->h2 && add_header(wsi, "transfer-encoding:", "chunked", &p, end)) {
        return -1;
    }
    if (rs->meta && add_header(wsi, "x-tryon-metadata:", rs->meta, &p, end))
        return -1;
    if (rs->status == 401 && add_header(wsi, "www-authenticate:", "Bearer", &p, end))
        return -1;
    if (rs->location[0] && add_header(wsi, "location:", rs->location, &p, end))
        return -1;
    if (rs->allow && add_header(wsi, "allow:", rs->allow, &p, end))
        return -1;
    if (rs->retry_after >= 0) {
        snprintf(num, sizeof num, "%d", rs->retry_after);
        if (add_header(wsi, "retry-after:", num, &p, end))
            return -1;
    }
    /* lws cannot delimit an HTTP/1.1 chunked request body, and a stream's
     * body has no end lws knows of: the connection ends with the response. */
    if (!r->h2 && (r->chunked || rs->streaming) && add_header(wsi, "connection:", "close", &p, end))
        return -1;
    if (lws_finalize_write_http_header(wsi, start, &p, end))
        return -1;
    rs->head_sent = 1;
    return 0;
}

int api__resp_write(lq_server *srv, svc_api_req *r)
{
    api_resp *rs = &r->resp;
    if (!rs->head_sent) {
        if (api__resp_send_head(srv, r) < 0)
            return -1;
        lws_callback_on_writable(r->wsi);
        return 0;
    }
    if (!rs->buf) { /* no body could be allocated: an empty one */
        rs->buf = malloc(LWS_PRE + 1);
        rs->len = 0;
        if (!rs->buf)
            return -1;
    }
    size_t room = api__resp_room(r->wsi, r->h2);
    if (room == 0)
        return 0; /* the peer's window is shut: lws calls back on WINDOW_UPDATE */
    size_t n = rs->len - rs->sent;
    if (n > room)
        n = room;
    int final = rs->sent + n == rs->len;
    /* the bytes before this piece (LWS_PRE headroom, or body already sent)
     * are the headroom lws_write needs */
    if (api__resp_write_piece(r->wsi, rs->buf + LWS_PRE + rs->sent, n, 0, final) < 0)
        return -1;
    rs->sent += n;
    srv->metrics.bytes_out += n;
    if (!final) {
        lws_callback_on_writable(r->wsi);
        return 0;
    }
    rs->final_sent = 1;
    return 1;
}
