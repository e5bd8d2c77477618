/*
 * fuzz_token.c - libFuzzer target for the token parser of AUTH_MODE
 * (src/service/auth.c): where a token is taken from (svc_auth_extract_token:
 * the Authorization header value, the Sec-WebSocket-Protocol list, the
 * ?token= value), the shared-token check, and the JWT check (header, then
 * libjwt's HS256 signature check with a fixed secret, then the claims).
 *
 *   CC=clang cmake -S . -B build-fuzz -DLQ_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_token
 *   build-fuzz/tests/fuzz/fuzz_token -dict=tests/fuzz/token.dict /tmp/work \
 *       tests/fuzz/corpus/token
 *
 * The first input byte picks a mode (low two bits):
 *   0  extraction: the rest is "query \0 authorization \0 subprotocols"; bits
 *      2..4 of the mode byte make each field absent (NULL), bits 5..7 pick a
 *      small output buffer; a token found is then checked as in mode 1;
 *   1  a raw token, checked in jwt and token mode (mostly forgeries);
 *   2  a JWT whose claims are the raw bytes that follow two choice bytes,
 *      signed here with the secret (HMAC-SHA256 from OpenSSL, not libjwt), so
 *      arbitrary claims JSON gets past the signature into libjwt's and our
 *      claims parsers;
 *   3  a JWT built from fields (header variant, signature variant, exp, nbf,
 *      aud, iss, session_id, each absent, mistyped or valued), whose outcome
 *      is computed independently here and must be exactly svc_auth's.
 * The ?token= value reaches the service already URL-decoded by
 * libwebsockets (lws_get_urlarg_by_name), so it is fed here decoded.
 *
 * Invariants checked beyond "no crash":
 *  - extraction returns 0, LQ_ENOTFOUND or LQ_EINVAL; a token found is
 *    1..cap-1 allowed characters, agrees with every source present, and the
 *    source name is one of three; the error text is printable ASCII and never
 *    quotes a token (the answer and the error text stay the same when every
 *    digit in the three sources is changed);
 *  - a JWT accepted is signed with the secret: its third part is exactly
 *    the base64url HMAC-SHA256 of the first two (computed here); it names a
 *    valid session id and the failure reason is empty;
 *  - a refusal's reason is printable ASCII (it is logged and sent to the
 *    client), stays the same when the signature's digits change (so it does
 *    not quote the signature), and the error reply built from it
 *    is one valid UTF-8 JSON object; the same token gives the same answer
 *    twice;
 *  - the shared token is accepted exactly when it is equal to the secret;
 *  - mode 3: the failure (and session id) is the one the rules in auth.h
 *    give, in their order.
 */
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "fuzz_support.h"
#include "service/auth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define NOW 1800000000
#define LEEWAY 30
#define MAX_TTL 3600
#define AUDIENCE "lacquer"
#define ISSUER "https://shop.example"
#define SECRET "fuzz-secret-0123456789abcdef-0123456789"
#define WRONG_SECRET "fuzz-secret-0123456789abcdef-012345678X"
#define SHARED "fuzz-shared-token_0123456789.abc~+/="
#define TOKEN_CAP (SVC_TOKEN_MAX + 1)

static svc_auth *jwt_plain;  /* no issuer configured */
static svc_auth *jwt_issuer; /* AUTH_JWT_ISSUER = ISSUER */
static svc_auth *shared;

static svc_auth *make(svc_auth_mode mode, const char *issuer)
{
    svc_auth_options o;
    svc_auth_options_default(&o);
    o.mode = mode;
    o.shared_token = SHARED;
    o.jwt_alg = SVC_JWT_HS256;
    o.jwt_key = (const unsigned char *)SECRET;
    o.jwt_key_len = strlen(SECRET);
    o.jwt_audience = AUDIENCE;
    o.jwt_issuer = issuer;
    o.jwt_leeway_s = LEEWAY;
    o.jwt_max_ttl_s = MAX_TTL;
    svc_auth *a = NULL;
    char err[200];
    if (svc_auth_create(&o, &a, err, sizeof err) < 0)
        abort();
    return a;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    lq_log_set_level(LQ_LOG_OFF);
    jwt_plain = make(SVC_AUTH_JWT, "");
    jwt_issuer = make(SVC_AUTH_JWT, ISSUER);
    shared = make(SVC_AUTH_TOKEN, "");
    return 0;
}

/* ---- independent helpers (the oracle) ---- */

static size_t b64url(const uint8_t *in, size_t n, char *out)
{
    static const char al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = al[v >> 18 & 63];
        out[o++] = al[v >> 12 & 63];
        if (i + 1 < n)
            out[o++] = al[v >> 6 & 63];
        if (i + 2 < n)
            out[o++] = al[v & 63];
    }
    out[o] = '\0';
    return o;
}

/* The base64url HMAC-SHA256 of msg[0..n) (43 characters). */
static void sign(const char *secret, const char *msg, size_t n, char out[64])
{
    uint8_t mac[EVP_MAX_MD_SIZE];
    unsigned int ml = 0;
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const uint8_t *)msg, n, mac, &ml))
        abort();
    b64url(mac, ml, out);
}

static int printable_ascii(const char *s, size_t cap)
{
    const char *end = memchr(s, 0, cap);
    if (!end)
        return 0;
    for (; s < end; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static int token_char(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           strchr("-._~+/=", c) != NULL;
}

static int sid_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > WS_SESSION_ID_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
    }
    return 1;
}

/* Replaces every digit d by (d + 1) % 10. Tokens are quoted nowhere, so an
 * answer must not change when the digits of a token change (the error
 * templates quote fixed numbers, never token bytes); validity, character
 * classes and the equality of two tokens are kept. Returns the count. */
static size_t rotate_digits(char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (*s >= '0' && *s <= '9') {
            *s = *s == '9' ? '0' : (char)(*s + 1);
            n++;
        }
    return n;
}

/* ---- checks of one answer ---- */

static void check_reason(const svc_auth_result *res)
{
    if (!printable_ascii(res->reason, sizeof res->reason))
        abort();
    ws_out *m = ws_build_error(NULL, 0, 0, WS_ERR_UNAUTHORIZED,
                               res->reason[0] ? res->reason : "refused", 1);
    if (!m)
        abort();
    cJSON_Delete(fz_check_reply(m, "error"));
    ws_out_free(m);
}

/* Checks one token in jwt mode (both configurations) and token mode. */
static void check_token(const char *token, svc_auth_result *out_plain)
{
    svc_auth_result res, again;
    svc_auth *confs[2] = {jwt_plain, jwt_issuer};
    for (int k = 0; k < 2; k++) {
        svc_auth_verify_jwt(confs[k], token, NOW, &res);
        if ((int)res.failure < SVC_AUTH_OK || res.failure > SVC_AUTH_UNAVAILABLE)
            abort();
        check_reason(&res);
        if (res.failure == SVC_AUTH_OK) {
            if (res.reason[0] || !sid_valid(res.session_id))
                abort();
            const char *d2 = strrchr(token, '.');
            char want[64];
            sign(SECRET, token, (size_t)(d2 - token), want);
            if (strcmp(d2 + 1, want) != 0)
                abort(); /* accepted without the secret's signature */
        } else if (res.session_id[0]) {
            abort();
        }
        svc_auth_verify_jwt(confs[k], token, NOW, &again);
        if (again.failure != res.failure || strcmp(again.session_id, res.session_id) != 0)
            abort();
        /* a refusal of a token not signed with the secret does not depend on
         * the signature's digits (so it does not quote the signature) */
        const char *dot = strrchr(token, '.');
        char right[64] = "";
        if (dot)
            sign(SECRET, token, (size_t)(dot - token), right);
        if (res.failure != SVC_AUTH_OK && dot && strcmp(dot + 1, right) != 0) {
            char *t2 = strdup(token);
            if (!t2)
                abort();
            if (rotate_digits(t2 + (dot + 1 - token))) {
                svc_auth_verify_jwt(confs[k], t2, NOW, &again);
                if (again.failure != res.failure || strcmp(again.reason, res.reason) != 0)
                    abort();
            }
            free(t2);
        }
        if (k == 0 && out_plain)
            *out_plain = res;
    }
    /* the same through svc_auth_check */
    uint64_t id = 1;
    if (svc_auth_check(jwt_plain, token, NOW, NULL, NULL, &again, &id) != 0 || id != 0 ||
        (out_plain && again.failure != out_plain->failure))
        abort();
    /* token mode: equal or not */
    if (svc_auth_check(shared, token, NOW, NULL, NULL, &res, &id) != 0)
        abort();
    svc_auth_failure want = !token[0]                    ? SVC_AUTH_MISSING
                            : strcmp(token, SHARED) == 0 ? SVC_AUTH_OK
                                                         : SVC_AUTH_UNKNOWN;
    if (res.failure != want)
        abort();
    check_reason(&res);
}

/* ---- mode 0: extraction ---- */

static const char *field(const uint8_t **p, const uint8_t *end, char *buf, size_t cap)
{
    const uint8_t *z = memchr(*p, 0, (size_t)(end - *p));
    size_t n = (size_t)((z ? z : end) - *p);
    if (n >= cap)
        n = cap - 1;
    memcpy(buf, *p, n);
    buf[n] = '\0';
    *p = z ? z + 1 : end;
    return buf;
}

static void fuzz_extract(uint8_t mode, const uint8_t *p, const uint8_t *end)
{
    static char q[TOKEN_CAP + 64], authz[TOKEN_CAP + 64], protos[2048];
    const char *fq = field(&p, end, q, sizeof q);
    const char *fa = field(&p, end, authz, sizeof authz);
    const char *fp = field(&p, end, protos, sizeof protos);
    if (mode & 0x04)
        fq = NULL;
    if (mode & 0x08)
        fa = NULL;
    if (mode & 0x10)
        fp = NULL;
    static const size_t caps[8] = {TOKEN_CAP, TOKEN_CAP, TOKEN_CAP, TOKEN_CAP, 1, 2, 9, 64};
    size_t cap = caps[mode >> 5];
    char *tok = malloc(cap); /* exact size: ASan sees any overflow */
    char err[200];
    const char *src = NULL;
    if (!tok)
        abort();
    memset(err, 0x55, sizeof err);
    int rc = svc_auth_extract_token(fq, fa, fp, tok, cap, &src, err, sizeof err);
    if (rc == 0) {
        size_t n = strnlen(tok, cap);
        if (n == cap || n == 0)
            abort();
        for (size_t i = 0; i < n; i++)
            if (!token_char((unsigned char)tok[i]))
                abort();
        if (!src || (strcmp(src, "header") && strcmp(src, "subprotocol") && strcmp(src, "query")))
            abort();
        if (fq && *fq && strcmp(fq, tok) != 0)
            abort(); /* a ?token= present must agree */
        if (strcmp(src, "query") == 0 && (!fq || strcmp(fq, tok) != 0))
            abort();
        if (strcmp(src, "header") == 0 && (!fa || !strstr(fa, tok)))
            abort();
        if (strcmp(src, "subprotocol") == 0 && (!fp || !strstr(fp, tok)))
            abort();
        if (cap == TOKEN_CAP)
            check_token(tok, NULL);
    } else if (rc == LQ_ENOTFOUND) {
        if (fq && *fq)
            abort();
        if (!printable_ascii(err, sizeof err))
            abort();
    } else if (rc == LQ_EINVAL) {
        if (!printable_ascii(err, sizeof err))
            abort();
    } else {
        abort();
    }
    /* the same with every digit of the three sources changed: the same
     * answer, the token changed likewise, the same error text */
    size_t nd = 0;
    if (fq)
        nd += rotate_digits((char *)fq);
    if (fa)
        nd += rotate_digits((char *)fa);
    if (fp)
        nd += rotate_digits((char *)fp);
    if (nd) {
        char *tok2 = malloc(cap), err2[200];
        if (!tok2)
            abort();
        const char *src2 = NULL;
        int rc2 = svc_auth_extract_token(fq, fa, fp, tok2, cap, &src2, err2, sizeof err2);
        if (rc2 != rc)
            abort();
        if (rc == 0) {
            rotate_digits(tok);
            if (strcmp(tok, tok2) != 0 || strcmp(src, src2) != 0)
                abort();
        } else if (strcmp(err, err2) != 0) {
            abort(); /* the error text quoted a token */
        }
        free(tok2);
    }
    free(tok);
}

/* ---- modes 2 and 3: tokens signed here ---- */

typedef struct rd {
    const uint8_t *p, *end;
} rd;

static unsigned byte(rd *r)
{
    return r->p < r->end ? *r->p++ : 0;
}

static int32_t i32(rd *r)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 8 | byte(r);
    return (int32_t)v;
}

/* A string of printable ASCII (up to max bytes) from the input. */
static void ascii(rd *r, char *out, size_t max)
{
    size_t n = byte(r) % (max + 1), i = 0;
    for (; i < n && r->p < r->end; i++)
        out[i] = (char)(0x20 + byte(r) % 95);
    out[i] = '\0';
}

static const char *const headers[] = {
    "{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
    "{\"alg\":\"HS256\"}",
    "{\"typ\":\"JWT\",\"alg\":\"HS256\"}",
    "{\"alg\":\"none\",\"typ\":\"JWT\"}",
    "{\"alg\":\"HS384\",\"typ\":\"JWT\"}",
    "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}",
    "{\"alg\":\"hs256\"}",
    "{\"alg\":\"HS256\",\"typ\":\"JWS\"}",
};

/* header.payload.signature; sig: 0 right, 1 wrong key, 2 none, 3 first char changed */
static char *build(unsigned hv, const char *payload, size_t plen, unsigned sig)
{
    const char *h = headers[hv];
    size_t cap = (strlen(h) + plen) * 4 / 3 + 128;
    char *t = malloc(cap);
    if (!t)
        abort();
    size_t n = b64url((const uint8_t *)h, strlen(h), t);
    t[n++] = '.';
    n += b64url((const uint8_t *)payload, plen, t + n);
    char s[64] = "";
    if (sig != 2)
        sign(sig == 1 ? WRONG_SECRET : SECRET, t, n, s);
    if (sig == 3)
        s[0] = s[0] == 'A' ? 'B' : 'A';
    t[n++] = '.';
    strcpy(t + n, s);
    return t;
}

static void fuzz_raw_claims(rd *r)
{
    unsigned hv = byte(r) % 8, sig = byte(r) % 4;
    char *t = build(hv, (const char *)r->p, (size_t)(r->end - r->p), sig);
    svc_auth_result res;
    check_token(t, &res);
    if (sig != 0 && res.failure == SVC_AUTH_OK)
        abort();
    free(t);
}

/* A NumericDate-ish claim: 0 absent, 1 number, 2 string, 3 null. */
static void add_date(rd *r, cJSON *o, const char *name, int *kind, double *v)
{
    *kind = (int)(byte(r) % 4);
    *v = (double)NOW + (double)i32(r) / (byte(r) % 2 ? 1.0 : 256.0);
    if (*kind == 1)
        cJSON_AddNumberToObject(o, name, *v);
    else if (*kind == 2)
        cJSON_AddStringToObject(o, name, "1800000000");
    else if (*kind == 3)
        cJSON_AddNullToObject(o, name);
}

static const char *const vocab[] = {AUDIENCE, "other", "", "LACQUER", ISSUER, "lacquer "};

static void fuzz_claims(rd *r)
{
    unsigned hv = byte(r) % 8, sig = byte(r) % 4, conf = byte(r) % 2;
    cJSON *o = cJSON_CreateObject();
    int exp_k, nbf_k;
    double exp, nbf;
    add_date(r, o, "exp", &exp_k, &exp);
    add_date(r, o, "nbf", &nbf_k, &nbf);
    char s[WS_SESSION_ID_MAX + 40];
    /* aud: 0 absent, 1 a string, 2 an array, 3 a number */
    unsigned aud_k = byte(r) % 4;
    int aud_ok = 0;
    if (aud_k == 1 || aud_k == 2) {
        cJSON *arr = aud_k == 2 ? cJSON_AddArrayToObject(o, "aud") : NULL;
        unsigned n = aud_k == 2 ? byte(r) % 20 : 1;
        for (unsigned i = 0; i < n; i++) {
            unsigned pick = byte(r);
            const char *v = vocab[pick % 6];
            if (pick >= 192) {
                ascii(r, s, 16);
                v = s;
            }
            if (strcmp(v, AUDIENCE) == 0 && (aud_k == 1 || n <= 16))
                aud_ok = 1;
            if (arr)
                cJSON_AddItemToArray(arr, cJSON_CreateString(v));
            else
                cJSON_AddStringToObject(o, "aud", v);
        }
    } else if (aud_k == 3) {
        cJSON_AddNumberToObject(o, "aud", 7);
    }
    /* iss: 0 absent, 1 the configured one, 2 another */
    unsigned iss_k = byte(r) % 3;
    if (iss_k)
        cJSON_AddStringToObject(o, "iss", iss_k == 1 ? ISSUER : "https://evil.example");
    /* session_id: 0 absent, 1 a string, 2 a number */
    unsigned sid_k = byte(r) % 3;
    s[0] = '\0';
    ascii(r, s, WS_SESSION_ID_MAX + 8);
    if (sid_k == 1)
        cJSON_AddStringToObject(o, "session_id", s);
    else if (sid_k == 2)
        cJSON_AddNumberToObject(o, "session_id", 12345);
    char *payload = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!payload)
        abort();
    char *t = build(hv, payload, strlen(payload), sig);
    free(payload);

    /* what the rules of auth.h say, in their order */
    svc_auth_failure want = SVC_AUTH_OK;
    double now = NOW;
    if (hv == 3 || hv == 4 || hv == 6)
        want = SVC_AUTH_BAD_ALG;
    else if (hv == 5)
        want = SVC_AUTH_MALFORMED;
    else if (sig != 0 || hv == 7)
        want = SVC_AUTH_BAD_SIGNATURE; /* libjwt refuses a typ other than JWT (any case) */
    else if (exp_k != 1)
        want = SVC_AUTH_BAD_CLAIMS;
    else if (exp + LEEWAY <= now)
        want = SVC_AUTH_EXPIRED;
    else if (nbf_k >= 2)
        want = SVC_AUTH_BAD_CLAIMS;
    else if (nbf_k == 1 && nbf - LEEWAY > now)
        want = SVC_AUTH_NOT_YET;
    else if (exp - now > (double)MAX_TTL + LEEWAY)
        want = SVC_AUTH_TOO_LONG;
    else if (!aud_ok)
        want = SVC_AUTH_BAD_CLAIMS;
    else if (conf == 1 && iss_k != 1)
        want = SVC_AUTH_BAD_CLAIMS;
    else if (sid_k != 1 || !sid_valid(s))
        want = SVC_AUTH_BAD_CLAIMS;

    svc_auth_result res;
    svc_auth_verify_jwt(conf ? jwt_issuer : jwt_plain, t, NOW, &res);
    if (res.failure != want)
        abort();
    if (want == SVC_AUTH_OK && strcmp(res.session_id, s) != 0)
        abort();
    check_token(t, NULL);
    free(t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t mode = data[0];
    const uint8_t *p = data + 1, *end = data + size;
    switch (mode & 3) {
    case 0:
        fuzz_extract(mode, p, end);
        break;
    case 1: {
        if (size - 1 > SVC_TOKEN_MAX + 16)
            return 0;
        char *t = malloc(size);
        if (!t)
            abort();
        memcpy(t, p, size - 1);
        t[size - 1] = '\0';
        check_token(t, NULL);
        free(t);
        break;
    }
    case 2: {
        if (size > 3 * SVC_TOKEN_MAX / 4)
            return 0;
        rd r = {p, end};
        fuzz_raw_claims(&r);
        break;
    }
    default: {
        rd r = {p, end};
        fuzz_claims(&r);
        break;
    }
    }
    return 0;
}
