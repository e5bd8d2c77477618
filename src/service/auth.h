/*
 * auth.h - who may open a try-on session (AUTH_MODE): where the token comes
 * from, and how it is checked.
 *
 *   svc_auth_options o;  svc_auth_options_default(&o);
 *   o.mode = SVC_AUTH_JWT; o.jwt_alg = SVC_JWT_HS256; o.jwt_key = secret; ...
 *   svc_auth *a;
 *   if (svc_auth_create(&o, &a, err, sizeof err) < 0) die(err);
 *
 *   char token[SVC_TOKEN_MAX + 1];
 *   const char *src;
 *   rc = svc_auth_extract_token(query_token, authorization, subprotocols, token,
 *                               sizeof token, &src, err, sizeof err);
 *   svc_auth_result res;
 *   uint64_t id;
 *   rc = svc_auth_check(a, token, time(NULL), on_done, ud, &res, &id);
 *   // 0: res says yes or no now; SVC_AUTH_PENDING: on_done(&res, ud) runs
 *   // later on the loop thread, from svc_auth_dispatch(a) (redis mode).
 *
 * Modes:
 *   none   everybody may connect (the default, for `make run` and tests;
 *          the service logs a warning at start-up). Never expose it.
 *   token  one shared secret (AUTH_TOKEN), compared in constant time. The
 *          token is not bound to a session. (AUTH_TOKEN without AUTH_MODE
 *          selects this mode, as before AUTH_MODE existed.)
 *   jwt    a JSON Web Token the shop's backend signs for one session: HS256
 *          with a shared secret, or RS256 / ES256 checked with a public key.
 *          Verified by libjwt; checked here: the header's alg is exactly the
 *          configured one (so "none" and HS256-signed-with-the-public-key
 *          forgeries are refused before libjwt looks at the signature), then
 *          the signature, then the claims: exp (required) and nbf (if present)
 *          against the clock with AUTH_JWT_LEEWAY seconds of skew; exp no
 *          further than AUTH_JWT_MAX_TTL in the future (tokens must be short
 *          lived); aud (a string or an array) contains AUTH_JWT_AUDIENCE;
 *          iss equals AUTH_JWT_ISSUER when that is set; session_id is a
 *          valid session id. The caller then checks that init_session names
 *          that session.
 *   redis  the token is a key in a shared Redis: GET <prefix><token> gives
 *          the session id (the backend SETs it with a TTL; an expired key is
 *          a missing key). Looked up on a thread (see tokenstore.h), so the
 *          event loop never waits on Redis.
 *
 * Where the token comes from (svc_auth_extract_token), in this order:
 *   1. "Authorization: Bearer <token>" (servers: the Django backend);
 *   2. a WebSocket subprotocol "bearer.<token>" offered next to the real
 *      protocol name: Sec-WebSocket-Protocol: lacquer-tryon, bearer.<token>
 *      (browsers cannot set headers on a WebSocket). libwebsockets 4.1 reads
 *      at most 127 bytes of that header, so this only carries short tokens
 *      (a Redis token; not a JWT);
 *   3. the query parameter ?token=<token> (browsers; the URL may end up in
 *      proxy logs, so prefer the subprotocol for short tokens).
 * Two sources carrying different tokens are refused. A token is 1..
 * SVC_TOKEN_MAX bytes of [A-Za-z0-9-._~+/=]; anything else is refused before
 * it is looked at further.
 *
 * Thread-safety: svc_auth_check/dispatch/cancel run on one thread (the
 * event loop); the redis lookups run on the tokenstore's own thread.
 */
#ifndef LQ_SERVICE_AUTH_H
#define LQ_SERVICE_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "service/protocol.h"

#define SVC_TOKEN_MAX 4096
#define SVC_AUTH_REASON_MAX 160
#define SVC_AUTH_PENDING 1
#define SVC_SUBPROTOCOL_BEARER "bearer."

typedef enum svc_auth_mode {
    SVC_AUTH_NONE = 0,
    SVC_AUTH_TOKEN,
    SVC_AUTH_JWT,
    SVC_AUTH_REDIS,
} svc_auth_mode;

typedef enum svc_jwt_alg { SVC_JWT_HS256 = 0, SVC_JWT_RS256, SVC_JWT_ES256 } svc_jwt_alg;

const char *svc_auth_mode_name(svc_auth_mode m);   /* "none", "token", "jwt", "redis" */
const char *svc_jwt_alg_name(svc_jwt_alg a);       /* "HS256", ... */

typedef struct svc_auth_options {
    svc_auth_mode mode;
    /* token */
    const char *shared_token;
    /* jwt */
    svc_jwt_alg jwt_alg;
    const unsigned char *jwt_key;   /* HS256: the secret; RS256/ES256: a PEM public key */
    size_t jwt_key_len;
    const char *jwt_audience;       /* required, non-empty */
    const char *jwt_issuer;         /* "" or NULL = not checked */
    int jwt_leeway_s;               /* clock skew allowed on exp and nbf, 0..300 */
    int jwt_max_ttl_s;              /* exp at most this far ahead; 0 = no cap */
    /* redis */
    const char *redis_url;          /* redis://[[user]:password@]host[:port][/db] */
    const char *redis_prefix;       /* "tryon:token:" */
    int redis_timeout_ms;           /* connect and command timeout, 10..10000 */
    int redis_max_pending;          /* lookups waiting at once; more are refused */
    void (*notify)(void *ud);       /* wakes the loop when a lookup is done (any thread) */
    void *notify_ud;
} svc_auth_options;

void svc_auth_options_default(svc_auth_options *o);

/* Why a check failed; stable names for logs and metrics. */
typedef enum svc_auth_failure {
    SVC_AUTH_OK = 0,
    SVC_AUTH_MISSING,       /* no token at all */
    SVC_AUTH_MALFORMED,     /* bad characters, too long, conflicting sources, not a JWT */
    SVC_AUTH_BAD_ALG,       /* JWT alg is not the configured one (incl. "none") */
    SVC_AUTH_BAD_SIGNATURE, /* JWT signature does not verify */
    SVC_AUTH_EXPIRED,       /* exp passed */
    SVC_AUTH_NOT_YET,       /* nbf in the future */
    SVC_AUTH_TOO_LONG,      /* exp further ahead than the max TTL */
    SVC_AUTH_BAD_CLAIMS,    /* aud, iss, session_id missing or wrong */
    SVC_AUTH_UNKNOWN,       /* shared token wrong; Redis has no such token (or it expired) */
    SVC_AUTH_UNAVAILABLE,   /* the token store could not be asked (Redis down, busy) */
} svc_auth_failure;

const char *svc_auth_failure_name(svc_auth_failure f);

typedef struct svc_auth_result {
    svc_auth_failure failure;                      /* SVC_AUTH_OK = allowed */
    char session_id[WS_SESSION_ID_MAX + 1];        /* the session the token is for; "" = any */
    char reason[SVC_AUTH_REASON_MAX];              /* one sentence; never contains the token */
} svc_auth_result;

typedef void (*svc_auth_done_fn)(const svc_auth_result *res, void *ud);

typedef struct svc_auth svc_auth;

/* Validates the options (err names the setting at fault), loads the key,
 * and in redis mode starts the lookup thread (which connects lazily: a
 * Redis that is down at start-up only makes lookups fail). */
int svc_auth_create(const svc_auth_options *o, svc_auth **out, char *err,
                    size_t errlen) LQ_NODISCARD;

/* Stops the lookup thread; pending callbacks never run. NULL ok. */
void svc_auth_destroy(svc_auth *a);

svc_auth_mode svc_auth_get_mode(const svc_auth *a);

/* Picks the token out of what the client sent (see above). Any argument may
 * be NULL. query_token: the value of ?token= (already URL-decoded);
 * authorization: the Authorization header; subprotocols: the
 * Sec-WebSocket-Protocol header. Returns 0 with the token in out and *source
 * ("header", "subprotocol", "query"); LQ_ENOTFOUND when there is none;
 * LQ_EINVAL (err says why) when one is malformed or two disagree. */
int svc_auth_extract_token(const char *query_token, const char *authorization,
                           const char *subprotocols, char *out, size_t cap, const char **source,
                           char *err, size_t errlen) LQ_NODISCARD;

/* 1 if every byte of token (len bytes) is allowed and 0 < len <= SVC_TOKEN_MAX. */
int svc_auth_token_chars_ok(const char *token, size_t len);

/* Checks a token (NULL or "" = none was sent) at time now_s (Unix seconds).
 * Returns 0 with *res filled (res->failure says allowed or why not), or
 * SVC_AUTH_PENDING (redis) with *id set: cb(res, ud) will run once, from
 * svc_auth_dispatch, unless svc_auth_cancel(a, id) is called first. A
 * negative return (LQ_ENOMEM) means neither happened. */
int svc_auth_check(svc_auth *a, const char *token, int64_t now_s, svc_auth_done_fn cb, void *ud,
                   svc_auth_result *res, uint64_t *id) LQ_NODISCARD;

/* Runs the callbacks of finished lookups (loop thread). */
void svc_auth_dispatch(svc_auth *a);

/* The callback of lookup id will not run. Unknown ids are ignored. */
void svc_auth_cancel(svc_auth *a, uint64_t id);

/* The JWT check alone (jwt mode's svc_auth_check), for tests. */
void svc_auth_verify_jwt(const svc_auth *a, const char *token, int64_t now_s,
                         svc_auth_result *res);

#endif
