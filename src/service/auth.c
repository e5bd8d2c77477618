/* auth.c - AUTH_MODE: token extraction, shared token, JWT (libjwt) and Redis checks (see auth.h). */
#include "service/auth.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <jwt.h>
#include <limits.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "batch/redis_url.h"
#include "service/tokenstore.h"

#define TAG "auth"
#define JWT_HEADER_MAX 1024            /* decoded JOSE header */
#define JWT_AUDIENCES_MAX 16

struct svc_auth {
    svc_auth_mode mode;
    char *shared_token;
    svc_jwt_alg alg;
    unsigned char *key;
    size_t key_len;
    char audience[256];
    char issuer[256];
    int leeway_s, max_ttl_s;
    svc_tokenstore *store;
};

const char *svc_auth_mode_name(svc_auth_mode m)
{
    switch (m) {
    case SVC_AUTH_NONE: return "none";
    case SVC_AUTH_TOKEN: return "token";
    case SVC_AUTH_JWT: return "jwt";
    case SVC_AUTH_REDIS: return "redis";
    }
    return "unknown";
}

const char *svc_jwt_alg_name(svc_jwt_alg a)
{
    switch (a) {
    case SVC_JWT_HS256: return "HS256";
    case SVC_JWT_RS256: return "RS256";
    case SVC_JWT_ES256: return "ES256";
    }
    return "unknown";
}

static jwt_alg_t libjwt_alg(svc_jwt_alg a)
{
    switch (a) {
    case SVC_JWT_HS256: return JWT_ALG_HS256;
    case SVC_JWT_RS256: return JWT_ALG_RS256;
    case SVC_JWT_ES256: return JWT_ALG_ES256;
    }
    return JWT_ALG_INVAL;
}

const char *svc_auth_failure_name(svc_auth_failure f)
{
    static const char *const names[] = {"ok",      "missing",      "malformed", "bad_alg",
                                        "bad_signature", "expired", "not_yet_valid",
                                        "lifetime_too_long", "bad_claims", "unknown_token",
                                        "unavailable"};
    return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "unknown";
}

void svc_auth_options_default(svc_auth_options *o)
{
    memset(o, 0, sizeof *o);
    o->mode = SVC_AUTH_NONE;
    o->jwt_alg = SVC_JWT_HS256;
    o->jwt_audience = "lacquer";
    o->jwt_issuer = "";
    o->jwt_leeway_s = 30;
    o->jwt_max_ttl_s = 3600;
    o->redis_url = "redis://127.0.0.1:6379/0";
    o->redis_prefix = "tryon:token:";
    o->redis_timeout_ms = 250;
    o->redis_max_pending = 1024;
}

static void errf(char *err, size_t errlen, const char *fmt, ...) LQ_PRINTF(3, 4);

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/* Loads the PEM public key once at start-up, so that a wrong file is an
 * error now rather than every token being refused later. libjwt reads the
 * key again for each token. */
static int check_pem_key(const svc_auth_options *o, char *err, size_t errlen)
{
    const char *name = "auth_jwt_public_key_file (AUTH_JWT_PUBLIC_KEY_FILE)";
    if (!o->jwt_key || o->jwt_key_len == 0 || o->jwt_key_len > INT_MAX) {
        errf(err, errlen, "%s: %s needs a PEM public key", name, svc_jwt_alg_name(o->jwt_alg));
        return LQ_EINVAL;
    }
    BIO *bio = BIO_new_mem_buf(o->jwt_key, (int)o->jwt_key_len);
    EVP_PKEY *pk = bio ? PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL) : NULL;
    BIO_free(bio);
    int rc = 0;
    if (!pk) {
        errf(err, errlen, "%s: not a PEM public key (-----BEGIN PUBLIC KEY-----)", name);
        rc = LQ_EINVAL;
    } else if (o->jwt_alg == SVC_JWT_RS256 &&
               (EVP_PKEY_base_id(pk) != EVP_PKEY_RSA || EVP_PKEY_bits(pk) < 2048)) {
        errf(err, errlen, "%s: RS256 needs an RSA public key of at least 2048 bits", name);
        rc = LQ_EINVAL;
    } else if (o->jwt_alg == SVC_JWT_ES256 &&
               (EVP_PKEY_base_id(pk) != EVP_PKEY_EC || EVP_PKEY_bits(pk) != 256)) {
        errf(err, errlen, "%s: ES256 needs an EC P-256 public key", name);
        rc = LQ_EINVAL;
    }
    EVP_PKEY_free(pk);
    return rc;
}

int svc_auth_create(const svc_auth_options *o, svc_auth **out, char *err, size_t errlen)
{
    if (!o || !out) {
        errf(err, errlen, "no options");
        return LQ_EINVAL;
    }
    svc_auth *a = calloc(1, sizeof *a);
    if (!a) {
        errf(err, errlen, "out of memory");
        return LQ_ENOMEM;
    }
    a->mode = o->mode;
    int rc = 0;
    switch (o->mode) {
    case SVC_AUTH_NONE:
        break;
    case SVC_AUTH_TOKEN:
        if (!o->shared_token || !*o->shared_token) {
            errf(err, errlen, "auth_token (AUTH_TOKEN): AUTH_MODE=token needs the shared token");
            rc = LQ_EINVAL;
        } else if (!svc_auth_token_chars_ok(o->shared_token, strlen(o->shared_token))) {
            errf(err, errlen, "auth_token (AUTH_TOKEN): use only A-Z a-z 0-9 - . _ ~ + / =");
            rc = LQ_EINVAL;
        } else if (!(a->shared_token = strdup(o->shared_token))) {
            rc = LQ_ENOMEM;
        }
        break;
    case SVC_AUTH_JWT:
        a->alg = o->jwt_alg;
        if (libjwt_alg(o->jwt_alg) == JWT_ALG_INVAL) {
            errf(err, errlen, "auth_jwt_alg (AUTH_JWT_ALG): unknown algorithm");
            rc = LQ_EINVAL;
        } else if (o->jwt_alg == SVC_JWT_HS256 && (!o->jwt_key || o->jwt_key_len < 32)) {
            errf(err, errlen, "auth_jwt_secret (AUTH_JWT_SECRET): HS256 needs a secret of at "
                 "least 32 bytes (RFC 7518 3.2)");
            rc = LQ_EINVAL;
        } else if (o->jwt_alg != SVC_JWT_HS256) {
            rc = check_pem_key(o, err, errlen);
        }
        if (rc == 0 && (!o->jwt_audience || !*o->jwt_audience ||
                        strlen(o->jwt_audience) >= sizeof a->audience)) {
            errf(err, errlen, "auth_jwt_audience (AUTH_JWT_AUDIENCE): required, at most %zu "
                 "characters", sizeof a->audience - 1);
            rc = LQ_EINVAL;
        }
        if (rc == 0 && o->jwt_issuer && strlen(o->jwt_issuer) >= sizeof a->issuer) {
            errf(err, errlen, "auth_jwt_issuer (AUTH_JWT_ISSUER): too long");
            rc = LQ_EINVAL;
        }
        if (rc == 0 && (o->jwt_leeway_s < 0 || o->jwt_leeway_s > 300 || o->jwt_max_ttl_s < 0)) {
            errf(err, errlen, "auth_jwt_leeway (AUTH_JWT_LEEWAY): 0..300 seconds");
            rc = LQ_EINVAL;
        }
        if (rc == 0) {
            a->key = malloc(o->jwt_key_len + 1);
            if (!a->key) {
                rc = LQ_ENOMEM;
                break;
            }
            memcpy(a->key, o->jwt_key, o->jwt_key_len);
            a->key[o->jwt_key_len] = '\0';
            a->key_len = o->jwt_key_len;
            snprintf(a->audience, sizeof a->audience, "%s", o->jwt_audience);
            snprintf(a->issuer, sizeof a->issuer, "%s", o->jwt_issuer ? o->jwt_issuer : "");
            a->leeway_s = o->jwt_leeway_s;
            a->max_ttl_s = o->jwt_max_ttl_s;
        }
        break;
    case SVC_AUTH_REDIS: {
        batch_redis_url u;
        char uerr[160];
        if (batch_redis_url_parse(o->redis_url ? o->redis_url : "", &u, uerr, sizeof uerr) < 0) {
            errf(err, errlen, "auth_redis_url (AUTH_REDIS_URL): %s", uerr);
            rc = LQ_EINVAL;
            break;
        }
        svc_tokenstore_opts to = {
            .url = &u,
            .prefix = o->redis_prefix ? o->redis_prefix : "",
            .timeout_ms = o->redis_timeout_ms,
            .max_pending = o->redis_max_pending,
            .notify = o->notify,
            .notify_ud = o->notify_ud,
            .release_ud = free,
        };
        rc = svc_tokenstore_create(&to, &a->store);
        if (rc < 0)
            errf(err, errlen, "auth_redis_timeout_ms (AUTH_REDIS_TIMEOUT_MS) or "
                 "auth_redis_prefix (AUTH_REDIS_PREFIX): out of range, or no memory for the "
                 "lookup thread");
        break;
    }
    default:
        errf(err, errlen, "auth_mode (AUTH_MODE): unknown mode");
        rc = LQ_EINVAL;
    }
    if (rc < 0) {
        svc_auth_destroy(a);
        return rc;
    }
    *out = a;
    return 0;
}

void svc_auth_destroy(svc_auth *a)
{
    if (!a)
        return;
    svc_tokenstore_destroy(a->store);
    if (a->shared_token) {
        memset(a->shared_token, 0, strlen(a->shared_token));
        free(a->shared_token);
    }
    if (a->key) {
        memset(a->key, 0, a->key_len);
        free(a->key);
    }
    free(a);
}

svc_auth_mode svc_auth_get_mode(const svc_auth *a)
{
    return a ? a->mode : SVC_AUTH_NONE;
}

/* ---- where the token comes from ---- */

int svc_auth_token_chars_ok(const char *token, size_t len)
{
    if (!token || len == 0 || len > SVC_TOKEN_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)token[i];
        if (!(isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '+' || c == '/' ||
              c == '='))
            return 0;
    }
    return 1;
}

static int take(const char *src, size_t len, const char *name, char *out, size_t cap,
                const char **found_name, char *err, size_t errlen)
{
    if (!svc_auth_token_chars_ok(src, len) || len + 1 > cap) {
        errf(err, errlen, "the token in the %s is malformed (1..%d characters of "
             "A-Z a-z 0-9 - . _ ~ + / =)", name, SVC_TOKEN_MAX);
        return LQ_EINVAL;
    }
    if (*found_name) {
        if (strlen(out) != len || memcmp(out, src, len) != 0) {
            errf(err, errlen, "the %s and the %s carry different tokens", *found_name, name);
            return LQ_EINVAL;
        }
        return 0;
    }
    memcpy(out, src, len);
    out[len] = '\0';
    *found_name = name;
    return 0;
}

int svc_auth_extract_token(const char *query_token, const char *authorization,
                           const char *subprotocols, char *out, size_t cap, const char **source,
                           char *err, size_t errlen)
{
    const char *found = NULL;
    int rc;
    if (!out || cap == 0)
        return LQ_EINVAL;
    out[0] = '\0';
    if (authorization && *authorization) {
        const char *p = authorization;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncasecmp(p, "Bearer", 6) == 0 && (p[6] == ' ' || p[6] == '\t')) {
            p += 7;
            while (*p == ' ' || *p == '\t')
                p++;
            size_t n = strlen(p);
            while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
                n--;
            if ((rc = take(p, n, "Authorization header", out, cap, &found, err, errlen)) < 0)
                return rc;
        }
        /* other schemes (Basic for a proxy, ...) are not ours: ignored */
    }
    if (subprotocols && *subprotocols) {
        size_t plen = strlen(SVC_SUBPROTOCOL_BEARER);
        int bearers = 0;
        const char *p = subprotocols;
        while (*p) {
            while (*p == ' ' || *p == '\t' || *p == ',')
                p++;
            const char *end = p;
            while (*end && *end != ',' && *end != ' ' && *end != '\t')
                end++;
            size_t n = (size_t)(end - p);
            if (n > plen && strncasecmp(p, SVC_SUBPROTOCOL_BEARER, plen) == 0) {
                if (++bearers > 1) {
                    errf(err, errlen, "more than one bearer.<token> subprotocol");
                    return LQ_EINVAL;
                }
                rc = take(p + plen, n - plen, "WebSocket subprotocol", out, cap, &found, err,
                          errlen);
                if (rc < 0)
                    return rc;
            }
            p = end;
        }
    }
    if (query_token && *query_token) {
        rc = take(query_token, strlen(query_token), "token query parameter", out, cap, &found,
                  err, errlen);
        if (rc < 0)
            return rc;
    }
    if (!found) {
        errf(err, errlen, "no token (send Authorization: Bearer, a bearer.<token> subprotocol "
             "or ?token=)");
        return LQ_ENOTFOUND;
    }
    if (source)
        *source = strcmp(found, "Authorization header") == 0 ? "header"
                  : strcmp(found, "WebSocket subprotocol") == 0 ? "subprotocol" : "query";
    return 0;
}

/* ---- checks ---- */

static void deny(svc_auth_result *res, svc_auth_failure f, const char *fmt, ...) LQ_PRINTF(3, 4);

static void deny(svc_auth_result *res, svc_auth_failure f, const char *fmt, ...)
{
    res->failure = f;
    res->session_id[0] = '\0';
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res->reason, sizeof res->reason, fmt, ap);
    va_end(ap);
}

static int equal_const_time(const char *a, size_t la, const char *b, size_t lb)
{
    unsigned char diff = (unsigned char)(la != lb);
    for (size_t i = 0; i < la; i++)
        diff |= (unsigned char)(a[i] ^ (lb ? b[i % lb] : 0));
    return diff == 0;
}

/* Client text for a reason (which is logged and sent back): at most cap - 1
 * bytes, each outside printable ASCII replaced by '?', so that a forged
 * header can neither split a UTF-8 character nor put a line break into a
 * text log line. */
static const char *printable(const char *s, char *out, size_t cap)
{
    size_t i = 0;
    for (; s[i] && i + 1 < cap; i++)
        out[i] = (unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e ? '?' : s[i];
    out[i] = '\0';
    return out;
}

/* Decodes the base64url JOSE header and checks alg (and crit). */
static int check_header(const svc_auth *a, const char *token, size_t hlen, svc_auth_result *res)
{
    uint8_t buf[JWT_HEADER_MAX + 4];
    size_t n = 0;
    if (hlen == 0 || ws_base64_decoded_max(hlen) > sizeof buf ||
        ws_base64_decode(token, hlen, buf, sizeof buf - 1, &n) < 0) {
        deny(res, SVC_AUTH_MALFORMED, "the token is not a JWT (bad header)");
        return -1;
    }
    buf[n] = '\0';
    cJSON *h = cJSON_ParseWithLength((const char *)buf, n);
    if (!h || !cJSON_IsObject(h)) {
        cJSON_Delete(h);
        deny(res, SVC_AUTH_MALFORMED, "the token is not a JWT (header is not a JSON object)");
        return -1;
    }
    const cJSON *alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
    const cJSON *crit = cJSON_GetObjectItemCaseSensitive(h, "crit");
    int ok = cJSON_IsString(alg) && strcmp(alg->valuestring, svc_jwt_alg_name(a->alg)) == 0;
    if (!ok) {
        char quoted[17];
        deny(res, SVC_AUTH_BAD_ALG, "the token is signed with alg '%s'; only %s is accepted",
             cJSON_IsString(alg) ? printable(alg->valuestring, quoted, sizeof quoted)
                                 : "(none given)",
             svc_jwt_alg_name(a->alg));
    } else if (crit) {
        deny(res, SVC_AUTH_MALFORMED, "the token has critical header extensions (crit)");
        ok = 0;
    }
    cJSON_Delete(h);
    return ok ? 0 : -1;
}

static int aud_matches(const cJSON *aud, const char *want)
{
    if (cJSON_IsString(aud))
        return strcmp(aud->valuestring, want) == 0;
    if (!cJSON_IsArray(aud) || cJSON_GetArraySize(aud) > JWT_AUDIENCES_MAX)
        return 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, aud)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, want) == 0)
            return 1;
    }
    return 0;
}

/* A NumericDate claim: a finite number; 1 if present and valid. */
static int numeric_date(const cJSON *c, double *out)
{
    if (!cJSON_IsNumber(c) || !isfinite(c->valuedouble))
        return 0;
    *out = c->valuedouble;
    return 1;
}

static void check_claims(const svc_auth *a, const cJSON *cl, int64_t now_s, svc_auth_result *res)
{
    double exp = 0, nbf = 0, now = (double)now_s;
    const cJSON *c_exp = cJSON_GetObjectItemCaseSensitive(cl, "exp");
    const cJSON *c_nbf = cJSON_GetObjectItemCaseSensitive(cl, "nbf");
    const cJSON *c_aud = cJSON_GetObjectItemCaseSensitive(cl, "aud");
    const cJSON *c_iss = cJSON_GetObjectItemCaseSensitive(cl, "iss");
    const cJSON *c_sid = cJSON_GetObjectItemCaseSensitive(cl, "session_id");
    if (!numeric_date(c_exp, &exp))
        return deny(res, SVC_AUTH_BAD_CLAIMS, "the token has no exp claim (a NumericDate)");
    if (exp + a->leeway_s <= now)
        return deny(res, SVC_AUTH_EXPIRED, "the token expired %.0f s ago", now - exp);
    if (c_nbf && !numeric_date(c_nbf, &nbf))
        return deny(res, SVC_AUTH_BAD_CLAIMS, "the token's nbf claim is not a NumericDate");
    if (c_nbf && nbf - a->leeway_s > now)
        return deny(res, SVC_AUTH_NOT_YET, "the token is not valid for another %.0f s", nbf - now);
    if (a->max_ttl_s > 0 && exp - now > (double)a->max_ttl_s + a->leeway_s)
        return deny(res, SVC_AUTH_TOO_LONG, "the token is valid for %.0f s; at most "
                    "AUTH_JWT_MAX_TTL=%d s is accepted", exp - now, a->max_ttl_s);
    if (!aud_matches(c_aud, a->audience))
        return deny(res, SVC_AUTH_BAD_CLAIMS, "the token's audience (aud) is not '%.64s'",
                    a->audience);
    if (a->issuer[0] && !(cJSON_IsString(c_iss) && strcmp(c_iss->valuestring, a->issuer) == 0))
        return deny(res, SVC_AUTH_BAD_CLAIMS, "the token's issuer (iss) is not '%.64s'",
                    a->issuer);
    if (!cJSON_IsString(c_sid) || !ws_session_id_valid(c_sid->valuestring,
                                                       strlen(c_sid->valuestring)))
        return deny(res, SVC_AUTH_BAD_CLAIMS, "the token has no valid session_id claim");
    res->failure = SVC_AUTH_OK;
    snprintf(res->session_id, sizeof res->session_id, "%s", c_sid->valuestring);
    res->reason[0] = '\0';
}

void svc_auth_verify_jwt(const svc_auth *a, const char *token, int64_t now_s,
                         svc_auth_result *res)
{
    memset(res, 0, sizeof *res);
    size_t len = token ? strlen(token) : 0;
    if (len == 0)
        return deny(res, SVC_AUTH_MISSING, "no token");
    if (!svc_auth_token_chars_ok(token, len))
        return deny(res, SVC_AUTH_MALFORMED, "the token has characters a JWT cannot have");
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (!d1 || !d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)))
        return deny(res, SVC_AUTH_MALFORMED, "the token is not a JWT (three dot-separated parts)");
    if (check_header(a, token, (size_t)(d1 - token), res) < 0)
        return;
    if (d2 + 1 == token + len)
        return deny(res, SVC_AUTH_BAD_SIGNATURE, "the token has no signature");

    jwt_t *jwt = NULL;
    int rc = jwt_decode(&jwt, token, a->key, (int)a->key_len);
    if (rc != 0 || !jwt) {
        jwt_free(jwt);
        return deny(res, SVC_AUTH_BAD_SIGNATURE, "the token's signature does not verify with "
                    "the configured %s key", svc_jwt_alg_name(a->alg));
    }
    if (jwt_get_alg(jwt) != libjwt_alg(a->alg)) { /* checked above; belt and braces */
        jwt_free(jwt);
        return deny(res, SVC_AUTH_BAD_ALG, "the token is not signed with %s",
                    svc_jwt_alg_name(a->alg));
    }
    char *claims = jwt_get_grants_json(jwt, NULL);
    jwt_free(jwt);
    cJSON *cl = claims ? cJSON_Parse(claims) : NULL;
    free(claims);
    if (!cJSON_IsObject(cl)) {
        cJSON_Delete(cl);
        return deny(res, SVC_AUTH_MALFORMED, "the token's claims are not a JSON object");
    }
    check_claims(a, cl, now_s, res);
    cJSON_Delete(cl);
}

typedef struct redis_wait {
    svc_auth_done_fn cb;
    void *ud;
} redis_wait;

static void on_lookup(const svc_token_lookup *r, void *ud)
{
    redis_wait w = *(redis_wait *)ud;
    free(ud);
    svc_auth_result res;
    memset(&res, 0, sizeof res);
    if (r->status == 0) {
        res.failure = SVC_AUTH_OK;
        snprintf(res.session_id, sizeof res.session_id, "%s", r->session_id);
    } else if (r->status == LQ_ENOTFOUND || r->status == LQ_EFORMAT) {
        deny(&res, SVC_AUTH_UNKNOWN, "%s", r->reason);
    } else {
        deny(&res, SVC_AUTH_UNAVAILABLE, "%s", r->reason);
    }
    w.cb(&res, w.ud);
}

int svc_auth_check(svc_auth *a, const char *token, int64_t now_s, svc_auth_done_fn cb, void *ud,
                   svc_auth_result *res, uint64_t *id)
{
    memset(res, 0, sizeof *res);
    if (id)
        *id = 0;
    size_t len = token ? strlen(token) : 0;
    switch (a->mode) {
    case SVC_AUTH_NONE:
        res->failure = SVC_AUTH_OK;
        return 0;
    case SVC_AUTH_TOKEN:
        if (len == 0)
            deny(res, SVC_AUTH_MISSING, "no token");
        else if (!equal_const_time(token, len, a->shared_token, strlen(a->shared_token)))
            deny(res, SVC_AUTH_UNKNOWN, "wrong token");
        else
            res->failure = SVC_AUTH_OK;
        return 0;
    case SVC_AUTH_JWT:
        svc_auth_verify_jwt(a, token, now_s, res);
        return 0;
    case SVC_AUTH_REDIS: {
        if (len == 0) {
            deny(res, SVC_AUTH_MISSING, "no token");
            return 0;
        }
        if (!svc_auth_token_chars_ok(token, len)) {
            deny(res, SVC_AUTH_MALFORMED, "malformed token");
            return 0;
        }
        redis_wait *w = malloc(sizeof *w);
        if (!w)
            return LQ_ENOMEM;
        w->cb = cb;
        w->ud = ud;
        int rc = svc_tokenstore_lookup(a->store, token, on_lookup, w, id);
        if (rc == LQ_EBUSY) {
            free(w);
            deny(res, SVC_AUTH_UNAVAILABLE, "too many token lookups are waiting; try again");
            return 0;
        }
        if (rc < 0) {
            free(w);
            return rc;
        }
        return SVC_AUTH_PENDING;
    }
    }
    deny(res, SVC_AUTH_UNAVAILABLE, "unknown AUTH_MODE");
    return 0;
}

void svc_auth_dispatch(svc_auth *a)
{
    if (a && a->store)
        svc_tokenstore_dispatch(a->store);
}

void svc_auth_cancel(svc_auth *a, uint64_t id)
{
    if (a && a->store && id)
        svc_tokenstore_cancel(a->store, id);
}
