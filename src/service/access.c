/* access.c - access control on the event loop (see access.h). */
#include "service/access.h"

#include <libwebsockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/clock.h"
#include "base/log.h"
#include "service/server_internal.h"

#define TAG "access"
#define HDR_MAX 1024

static void notify_loop(void *ud)
{
    lws_cancel_service((struct lws_context *)ud);
}

static int read_file(const char *path, unsigned char **out, size_t *len, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "auth_jwt_public_key_file (AUTH_JWT_PUBLIC_KEY_FILE): cannot open "
                 "%s", path);
        return LQ_ENOENT;
    }
    unsigned char *buf = malloc(64 * 1024);
    size_t n = buf ? fread(buf, 1, 64 * 1024, f) : 0;
    int bad = !buf || ferror(f) || !feof(f) || n == 0;
    fclose(f);
    if (bad) {
        free(buf);
        snprintf(err, errlen, "auth_jwt_public_key_file (AUTH_JWT_PUBLIC_KEY_FILE): cannot read "
                 "%s (empty, or over 64 KiB)", path);
        return LQ_EIO;
    }
    *out = buf;
    *len = n;
    return 0;
}

int svc__access_create(lq_server *srv, char *err, size_t errlen)
{
    const lq_config *cfg = &srv->cfg;
    svc_access *a = calloc(1, sizeof *a);
    if (!a) {
        snprintf(err, errlen, "out of memory");
        return LQ_ENOMEM;
    }
    srv->access = a;
    char e[200] = "";
    if (svc_cidr_list_parse(cfg->trusted_proxies, a->trusted, SVC_CIDR_MAX, &a->ntrusted, e,
                            sizeof e) < 0) {
        snprintf(err, errlen, "trusted_proxies (TRUSTED_PROXIES): %s", e);
        return LQ_EINVAL;
    }
    if (svc_origins_parse(cfg->allowed_origins, &a->origins, e, sizeof e) < 0) {
        snprintf(err, errlen, "allowed_origins (ALLOWED_ORIGINS): %s", e);
        return LQ_EINVAL;
    }
    svc_addr_limits lim = {
        .rate = cfg->conn_rate_per_addr,
        .burst = cfg->conn_burst_per_addr,
        .max_open = cfg->max_conns_per_addr,
        .max_entries = 65536,
    };
    int rc = svc_addrtab_create(&lim, lq_clock_ns() ^ (uint64_t)(uintptr_t)a, &a->addrs);
    if (rc < 0) {
        snprintf(err, errlen, "conn_rate_per_addr (CONN_RATE_PER_ADDR): cannot build the "
                 "per-address table: %s", lq_strerror(rc));
        return rc;
    }

    svc_auth_options o;
    svc_auth_options_default(&o);
    o.mode = cfg->auth_mode == LQ_AUTH_TOKEN ? SVC_AUTH_TOKEN
             : cfg->auth_mode == LQ_AUTH_JWT ? SVC_AUTH_JWT
             : cfg->auth_mode == LQ_AUTH_REDIS ? SVC_AUTH_REDIS
                                               : SVC_AUTH_NONE;
    if (o.mode == SVC_AUTH_NONE && cfg->auth_token[0])
        o.mode = SVC_AUTH_TOKEN; /* AUTH_TOKEN alone keeps its old meaning */
    o.shared_token = cfg->auth_token;
    o.jwt_alg = cfg->auth_jwt_alg == LQ_JWT_RS256 ? SVC_JWT_RS256
                : cfg->auth_jwt_alg == LQ_JWT_ES256 ? SVC_JWT_ES256 : SVC_JWT_HS256;
    o.jwt_audience = cfg->auth_jwt_audience;
    o.jwt_issuer = cfg->auth_jwt_issuer;
    o.jwt_leeway_s = cfg->auth_jwt_leeway;
    o.jwt_max_ttl_s = cfg->auth_jwt_max_ttl;
    o.redis_url = cfg->auth_redis_url;
    o.redis_prefix = cfg->auth_redis_prefix;
    o.redis_timeout_ms = cfg->auth_redis_timeout_ms;
    o.notify = notify_loop;
    o.notify_ud = srv->ctx;
    unsigned char *pem = NULL;
    if (o.mode == SVC_AUTH_JWT) {
        if (o.jwt_alg == SVC_JWT_HS256) {
            o.jwt_key = (const unsigned char *)cfg->auth_jwt_secret;
            o.jwt_key_len = strlen(cfg->auth_jwt_secret);
        } else {
            rc = read_file(cfg->auth_jwt_public_key_file, &pem, &o.jwt_key_len, err, errlen);
            if (rc < 0)
                return rc;
            o.jwt_key = pem;
        }
    }
    rc = svc_auth_create(&o, &a->auth, err, errlen);
    free(pem);
    if (rc < 0)
        return rc;

    if (o.mode == SVC_AUTH_NONE)
        LQ_WARN(TAG, "AUTH_MODE=none: ANYONE who can reach %s:%d can open sessions; set AUTH_MODE "
                "to token, jwt or redis in production (docs/security.md)", cfg->ws_host,
                cfg->ws_port);
    else if (o.mode == SVC_AUTH_JWT)
        LQ_INFO(TAG, "AUTH_MODE=jwt: %s tokens for audience '%s'%s%s", svc_jwt_alg_name(o.jwt_alg),
                cfg->auth_jwt_audience, cfg->auth_jwt_issuer[0] ? " from issuer " : "",
                cfg->auth_jwt_issuer);
    else
        LQ_INFO(TAG, "AUTH_MODE=%s", svc_auth_mode_name(o.mode));
    if (a->origins.any)
        LQ_WARN(TAG, "ALLOWED_ORIGINS=*: any web page may open WebSockets to this service");
    return 0;
}

void svc__access_stop(lq_server *srv)
{
    if (srv->access) {
        svc_auth_destroy(srv->access->auth);
        srv->access->auth = NULL;
    }
}

void svc__access_destroy(lq_server *srv)
{
    svc_access *a = srv->access;
    if (!a)
        return;
    svc_auth_destroy(a->auth);
    svc_addrtab_destroy(a->addrs);
    free(a);
    srv->access = NULL;
}

/* ---- who is the client ---- */

int svc__access_client(lq_server *srv, struct lws *wsi, svc_ipaddr *addr, svc_ipaddr *key,
                       char *text, size_t textlen)
{
    char peer_text[SVC_IP_TEXT_MAX + 8] = "";
    svc_ipaddr peer;
    struct lws *nwsi = lws_get_network_wsi(wsi);
    if (!lws_get_peer_simple(nwsi ? nwsi : wsi, peer_text, sizeof peer_text) ||
        svc_ip_parse(peer_text, strlen(peer_text), &peer) < 0)
        return LQ_EINVAL;
    char xff[HDR_MAX] = "";
    svc_access *a = srv->access;
    if (a->ntrusted > 0 && lws_hdr_copy(wsi, xff, sizeof xff, WSI_TOKEN_X_FORWARDED_FOR) < 0)
        xff[0] = '\0'; /* longer than we read: use the peer */
    svc_ipaddr client;
    svc_client_addr(&peer, xff, a->trusted, a->ntrusted, &client);
    if (addr)
        *addr = client;
    if (key)
        svc_ip_limit_key(&client, key);
    if (text && textlen)
        svc_ip_format(&client, text, textlen);
    return 0;
}

int svc__access_request_token(struct lws *wsi, char *out, size_t cap, const char **source,
                              char *err, size_t errlen)
{
    char buf[SVC_TOKEN_MAX + 16], authz[SVC_TOKEN_MAX + 16], protos[HDR_MAX];
    const char *query = NULL;
    if (lws_get_urlarg_by_name(wsi, "token=", buf, (int)sizeof buf))
        query = buf + (strncmp(buf, "token=", 6) == 0 ? 6 : 0);
    if (lws_hdr_copy(wsi, authz, sizeof authz, WSI_TOKEN_HTTP_AUTHORIZATION) < 0)
        snprintf(authz, sizeof authz, "Bearer !"); /* too long: refused as malformed */
    if (lws_hdr_copy(wsi, protos, sizeof protos, WSI_TOKEN_PROTOCOL) < 0)
        protos[0] = '\0';
    return svc_auth_extract_token(query, authz, protos, out, cap, source, err, errlen);
}

/* ---- the upgrade request ---- */

static const char *status_text(int status)
{
    switch (status) {
    case 403: return "Forbidden";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    }
    return "Error";
}

/* Answers an upgrade request with an HTTP error and a JSON body. lws 4.1.6
 * has not recorded the request's HTTP version yet when it asks to confirm an
 * upgrade, so its header helpers would write "HTTP/1.0", which WebSocket
 * clients refuse to read: an HTTP/1.1 request is answered by hand. */
static int refuse_http(struct lws *wsi, int status, ws_error_code code, const char *msg,
                       int retry_after)
{
    ws_out *m = ws_build_error(NULL, 0, 0, code, msg, lq_clock_epoch_ms());
    if (!m)
        return -1;
    int rc = -1;
    if (lws_get_network_wsi(wsi) == wsi) { /* HTTP/1.1 */
        char ra[48] = "";
        if (retry_after > 0)
            snprintf(ra, sizeof ra, "retry-after: %d\r\n", retry_after);
        uint8_t buf[LWS_PRE + 512];
        char *start = (char *)buf + LWS_PRE;
        int n = snprintf(start, 512, "HTTP/1.1 %d %s\r\ncontent-type: application/json\r\n"
                         "content-length: %zu\r\ncache-control: no-store\r\n%s"
                         "connection: close\r\n\r\n", status, status_text(status), m->len, ra);
        if (n > 0 && n < 512 &&
            lws_write(wsi, (unsigned char *)start, (size_t)n, LWS_WRITE_HTTP_HEADERS) >= 0 &&
            lws_write(wsi, m->payload, m->len, LWS_WRITE_HTTP_FINAL) >= 0)
            rc = 1;
    } else { /* a stream of an HTTP/2 connection: lws frames the headers */
        uint8_t hdr[LWS_PRE + 512], *start = hdr + LWS_PRE, *p = start, *end = hdr + sizeof hdr - 1;
        char ra[16];
        int n = snprintf(ra, sizeof ra, "%d", retry_after);
        if (!lws_add_http_common_headers(wsi, (unsigned)status, "application/json", m->len, &p,
                                         end) &&
            (retry_after <= 0 ||
             !lws_add_http_header_by_name(wsi, (const unsigned char *)"retry-after:",
                                          (const unsigned char *)ra, n, &p, end)) &&
            !lws_finalize_http_header(wsi, &p, end) &&
            lws_write(wsi, start, (size_t)(p - start), LWS_WRITE_HTTP_HEADERS) >= 0 &&
            lws_write(wsi, m->payload, m->len, LWS_WRITE_HTTP_FINAL) >= 0)
            rc = 1;
    }
    ws_out_free(m);
    return rc;
}

/* The refusal for a per-address verdict (not SVC_ADMIT_OK): counts it, logs
 * it and says what to answer. what: "WebSocket" or "HTTP request". */
static void limit_refusal(lq_server *srv, svc_admit v, double retry, const char *client,
                          const char *what, svc_http_refusal *out)
{
    svc_access *a = srv->access;
    out->status = 429;
    out->code = WS_ERR_RATE_LIMITED;
    out->retry_after = 1;
    if (v == SVC_ADMIT_OPEN) {
        a->refused_open++;
        srv->metrics.rejected[SVC_REJECT_CONN_LIMIT]++;
        snprintf(out->msg, sizeof out->msg,
                 "your address already has MAX_CONNS_PER_ADDR=%d open connections",
                 srv->cfg.max_conns_per_addr);
        LQ_WARN(TAG, "%s from %s refused: %d connections open (MAX_CONNS_PER_ADDR)", what, client,
                srv->cfg.max_conns_per_addr);
    } else if (v == SVC_ADMIT_RATE) {
        a->refused_rate++;
        srv->metrics.rejected[SVC_REJECT_CONN_RATE]++;
        out->retry_after = (int)retry + 1;
        snprintf(out->msg, sizeof out->msg,
                 "more than CONN_RATE_PER_ADDR=%g new connections per second (burst %d) from "
                 "your address; retry in %d s",
                 srv->cfg.conn_rate_per_addr, srv->cfg.conn_burst_per_addr, out->retry_after);
        LQ_WARN(TAG, "%s from %s refused: new-connection rate (CONN_RATE_PER_ADDR)", what, client);
    } else {
        a->refused_full++;
        srv->metrics.rejected[SVC_REJECT_CONN_LIMIT]++;
        out->status = HTTP_STATUS_SERVICE_UNAVAILABLE;
        out->code = WS_ERR_SERVER_BUSY;
        out->retry_after = 5;
        snprintf(out->msg, sizeof out->msg,
                 "too many client addresses are connected; try again later");
        LQ_WARN(TAG, "%s from %s refused: per-address table full", what, client);
    }
}

int svc__access_confirm_upgrade(lq_server *srv, struct lws *wsi)
{
    svc_access *a = srv->access;
    char client[SVC_IP_TEXT_MAX] = "?";
    svc_ipaddr key;
    if (svc__access_client(srv, wsi, NULL, &key, client, sizeof client) < 0) {
        LQ_WARN(TAG, "WebSocket refused: the peer address is unknown");
        return -1;
    }
    char origin[SVC_ORIGIN_TEXT_MAX] = "", host[SVC_ORIGIN_TEXT_MAX] = "";
    if (lws_hdr_copy(wsi, origin, sizeof origin, WSI_TOKEN_ORIGIN) < 0)
        snprintf(origin, sizeof origin, "(too long)");
    if (lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HOST) <= 0)
        (void)lws_hdr_copy(wsi, host, sizeof host, WSI_TOKEN_HTTP_COLON_AUTHORITY);
    if (!svc_origin_allowed(svc_origin_check(&a->origins, origin, host))) {
        a->refused_origin++;
        srv->metrics.rejected[SVC_REJECT_ORIGIN]++;
        LQ_WARN(TAG, "WebSocket from %s refused: Origin %.80s is not allowed (ALLOWED_ORIGINS)",
                client, origin);
        char msg[WS_MESSAGE_MAX];
        snprintf(msg, sizeof msg, "Origin %.80s may not open WebSockets here (ALLOWED_ORIGINS)",
                 origin);
        return refuse_http(wsi, HTTP_STATUS_FORBIDDEN, WS_ERR_UNAUTHORIZED, msg, 0);
    }
    double retry = 0;
    svc_admit v = svc_addrtab_admit(a->addrs, &key, lq_clock_ns(), &retry);
    if (v == SVC_ADMIT_OK)
        return 0;
    svc_http_refusal rf;
    limit_refusal(srv, v, retry, client, "WebSocket", &rf);
    return refuse_http(wsi, rf.status, rf.code, rf.msg, rf.retry_after);
}

/* ---- HTTP API requests ---- */

int svc__access_http_admit(lq_server *srv, struct lws *wsi, svc_ipaddr *key,
                           svc_http_refusal *out)
{
    svc_access *a = srv->access;
    char client[SVC_IP_TEXT_MAX] = "?";
    if (svc__access_client(srv, wsi, NULL, key, client, sizeof client) < 0) {
        LQ_WARN(TAG, "HTTP request refused: the peer address is unknown");
        return LQ_EINVAL;
    }
    /* The network connection is marked (its opaque user pointer set to this
     * server's access state) once a request on it was admitted: later HTTP/2
     * streams on it are not new connections. The mark dies with the wsi. */
    struct lws *nwsi = lws_get_network_wsi(wsi);
    if (!nwsi)
        nwsi = wsi;
    int admitted_before = lws_get_opaque_user_data(nwsi) == (void *)a;
    uint64_t now = lq_clock_ns();
    double retry = 0;
    svc_admit v = admitted_before ? svc_addrtab_admit_open(a->addrs, key, now)
                                  : svc_addrtab_admit(a->addrs, key, now, &retry);
    if (v == SVC_ADMIT_OK && svc_addrtab_hold(a->addrs, key, now) < 0)
        v = SVC_ADMIT_FULL;
    if (v == SVC_ADMIT_OK) {
        lws_set_opaque_user_data(nwsi, a);
        return 0;
    }
    limit_refusal(srv, v, retry, client, "HTTP request", out);
    return 1;
}

void svc__access_http_release(lq_server *srv, const svc_ipaddr *key)
{
    if (srv->access)
        (void)svc_addrtab_release(srv->access->addrs, key);
}

/* ---- the established connection ---- */

static void refuse_conn(lq_server *srv, svc_conn *c, const svc_auth_result *res)
{
    c->access.auth = SVC_CONN_AUTH_REFUSED;
    srv->metrics.rejected[SVC_REJECT_AUTH]++;
    int unavailable = res->failure == SVC_AUTH_UNAVAILABLE;
    char msg[WS_MESSAGE_MAX];
    if (unavailable)
        snprintf(msg, sizeof msg, "the token could not be checked now (%s); try again later",
                 res->reason);
    else
        snprintf(msg, sizeof msg, "%s", res->reason[0] ? res->reason : "missing or wrong token");
    svc__conn_error(srv, c, NULL, 0, 0, WS_ERR_UNAUTHORIZED, msg);
    c->access.linger_until_ns = lq_clock_ns() + SVC_ACCESS_LINGER_MS * 1000000ull;
    if (c->wsi)
        lws_rx_flow_control(c->wsi, 1); /* drain what the client sends meanwhile */
    svc__conn_close(c, unavailable ? 1013 : LWS_CLOSE_STATUS_POLICY_VIOLATION,
                    unavailable ? "token store unavailable" : "authentication failed");
    LQ_WARN(TAG, "connection from %s refused: %s (%s)", c->access.addr,
            svc_auth_failure_name(res->failure), res->reason);
}

static void accept_conn(svc_conn *c, const svc_auth_result *res)
{
    c->access.auth = SVC_CONN_AUTH_OK;
    snprintf(c->access.session_id, sizeof c->access.session_id, "%s", res->session_id);
}

static void on_lookup_done(const svc_auth_result *res, void *ud)
{
    svc_conn *c = ud;
    lq_server *srv = svc__server_of(c->wsi);
    c->access.auth_id = 0;
    if (res->failure == SVC_AUTH_OK) {
        accept_conn(c, res);
        lws_rx_flow_control(c->wsi, 1);
    } else {
        refuse_conn(srv, c, res);
    }
}

void svc__access_on_open(lq_server *srv, svc_conn *c, struct lws *wsi)
{
    svc_access *a = srv->access;
    svc_ipaddr key;
    if (svc__access_client(srv, wsi, NULL, &key, c->access.addr, sizeof c->access.addr) == 0 &&
        svc_addrtab_hold(a->addrs, &key, lq_clock_ns()) == 0) {
        c->access.key = key;
        c->access.held = 1;
    }
    if (svc_auth_get_mode(a->auth) == SVC_AUTH_NONE) {
        c->access.auth = SVC_CONN_AUTH_OK;
        return;
    }
    char token[SVC_TOKEN_MAX + 1] = "";
    const char *src = NULL;
    char why[SVC_AUTH_REASON_MAX] = "";
    svc_auth_result res;
    memset(&res, 0, sizeof res);
    int rc = svc__access_request_token(wsi, token, sizeof token, &src, why, sizeof why);
    if (rc < 0) {
        res.failure = rc == LQ_ENOTFOUND ? SVC_AUTH_MISSING : SVC_AUTH_MALFORMED;
        snprintf(res.reason, sizeof res.reason, "%s", why);
        refuse_conn(srv, c, &res);
        return;
    }
    rc = svc_auth_check(a->auth, token, (int64_t)time(NULL), on_lookup_done, c, &res,
                        &c->access.auth_id);
    memset(token, 0, sizeof token);
    if (rc == SVC_AUTH_PENDING) {
        c->access.auth = SVC_CONN_AUTH_PENDING;
        lws_rx_flow_control(wsi, 0); /* nothing is read until the token is known */
        return;
    }
    if (rc < 0) {
        res.failure = SVC_AUTH_UNAVAILABLE;
        snprintf(res.reason, sizeof res.reason, "out of memory");
    }
    if (res.failure == SVC_AUTH_OK)
        accept_conn(c, &res);
    else
        refuse_conn(srv, c, &res);
}

void svc__access_on_close(lq_server *srv, svc_conn *c)
{
    svc_access *a = srv->access;
    if (!a)
        return;
    if (c->access.auth_id) {
        svc_auth_cancel(a->auth, c->access.auth_id);
        c->access.auth_id = 0;
    }
    if (c->access.held) {
        (void)svc_addrtab_release(a->addrs, &c->access.key);
        c->access.held = 0;
    }
}

int svc__access_session_allowed(lq_server *srv, svc_conn *c, const char *sid)
{
    if (c->access.auth != SVC_CONN_AUTH_OK)
        return 0;
    if (!c->access.session_id[0] || strcmp(c->access.session_id, sid) == 0)
        return 1;
    svc_auth_result res;
    memset(&res, 0, sizeof res);
    res.failure = SVC_AUTH_BAD_CLAIMS;
    snprintf(res.reason, sizeof res.reason,
             "the token is for session '%.48s', not for '%.48s'", c->access.session_id, sid);
    refuse_conn(srv, c, &res);
    return 0;
}

int svc__access_blocks_input(const svc_conn *c)
{
    return c->access.auth != SVC_CONN_AUTH_OK;
}

int svc__access_lingering(const svc_conn *c, uint64_t now_ns)
{
    return c->access.linger_until_ns && now_ns < c->access.linger_until_ns;
}

void svc__access_dispatch(lq_server *srv)
{
    if (srv->access)
        svc_auth_dispatch(srv->access->auth);
}
