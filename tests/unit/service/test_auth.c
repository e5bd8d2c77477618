/* Tests src/service/auth.c: token extraction, the shared token, and JWT checks
 * with tokens signed here by libjwt (HS256, and RS256/ES256 with keys made
 * here by OpenSSL), plus hand-made forgeries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <jwt.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq_test.h"
#include "service/auth.h"

#define NOW 1700000000
#define SECRET "0123456789abcdef0123456789abcdef-hs256"

/* ---- extraction ---- */

static void extracts_from_each_source(void **state)
{
    (void)state;
    char tok[SVC_TOKEN_MAX + 1], err[200];
    const char *src = NULL;
    assert_int_equal(svc_auth_extract_token(NULL, "Bearer abc.def", NULL, tok, sizeof tok, &src,
                                            err, sizeof err), 0);
    assert_string_equal(tok, "abc.def");
    assert_string_equal(src, "header");
    assert_int_equal(svc_auth_extract_token(NULL, "  bearer   abc  ", NULL, tok, sizeof tok, &src,
                                            err, sizeof err), 0);
    assert_string_equal(tok, "abc");
    assert_int_equal(svc_auth_extract_token(NULL, NULL, "lacquer-tryon, bearer.r4nd0m_T0k-en",
                                            tok, sizeof tok, &src, err, sizeof err), 0);
    assert_string_equal(tok, "r4nd0m_T0k-en");
    assert_string_equal(src, "subprotocol");
    assert_int_equal(svc_auth_extract_token("q.r.s", NULL, "lacquer-tryon", tok, sizeof tok, &src,
                                            err, sizeof err), 0);
    assert_string_equal(tok, "q.r.s");
    assert_string_equal(src, "query");
    /* the same token twice is fine */
    assert_int_equal(svc_auth_extract_token("same", "Bearer same", "bearer.same", tok, sizeof tok,
                                            &src, err, sizeof err), 0);
    assert_string_equal(src, "header");
    /* other Authorization schemes are not ours */
    assert_int_equal(svc_auth_extract_token("q", "Basic dXNlcjpwdw==", NULL, tok, sizeof tok, &src,
                                            err, sizeof err), 0);
    assert_string_equal(src, "query");
}

static void refuses_missing_malformed_and_conflicting(void **state)
{
    (void)state;
    char tok[SVC_TOKEN_MAX + 1], err[200];
    const char *src = NULL;
    assert_int_equal(svc_auth_extract_token(NULL, NULL, NULL, tok, sizeof tok, &src, err,
                                            sizeof err), LQ_ENOTFOUND);
    assert_int_equal(svc_auth_extract_token("", "Basic x", "lacquer-tryon", tok, sizeof tok, &src,
                                            err, sizeof err), LQ_ENOTFOUND);
    assert_non_null(strstr(err, "no token"));
    assert_int_equal(svc_auth_extract_token("a", "Bearer b", NULL, tok, sizeof tok, &src, err,
                                            sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "different tokens"));
    assert_int_equal(svc_auth_extract_token(NULL, NULL, "bearer.a, bearer.b", tok, sizeof tok,
                                            &src, err, sizeof err), LQ_EINVAL);
    assert_int_equal(svc_auth_extract_token("a\"b", NULL, NULL, tok, sizeof tok, &src, err,
                                            sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "malformed"));
    assert_int_equal(svc_auth_extract_token(NULL, "Bearer a b", NULL, tok, sizeof tok, &src, err,
                                            sizeof err), LQ_EINVAL);
    assert_int_equal(svc_auth_extract_token(NULL, "Bearer ", NULL, tok, sizeof tok, &src, err,
                                            sizeof err), LQ_EINVAL);
    char *big = malloc(SVC_TOKEN_MAX + 2);
    memset(big, 'a', SVC_TOKEN_MAX + 1);
    big[SVC_TOKEN_MAX + 1] = '\0';
    assert_int_equal(svc_auth_extract_token(big, NULL, NULL, tok, sizeof tok, &src, err,
                                            sizeof err), LQ_EINVAL);
    big[SVC_TOKEN_MAX] = '\0';
    assert_int_equal(svc_auth_extract_token(big, NULL, NULL, tok, sizeof tok, &src, err,
                                            sizeof err), 0);
    /* a caller buffer too small is an error, not a truncated token */
    char small[8];
    assert_int_equal(svc_auth_extract_token("123456789", NULL, NULL, small, sizeof small, &src,
                                            err, sizeof err), LQ_EINVAL);
    free(big);
}

/* ---- shared token and none ---- */

static void shared_token_and_none(void **state)
{
    (void)state;
    svc_auth_options o;
    svc_auth_options_default(&o);
    svc_auth *a;
    char err[200];
    svc_auth_result r;
    uint64_t id;
    assert_int_equal(svc_auth_create(&o, &a, err, sizeof err), 0);
    assert_int_equal(svc_auth_check(a, NULL, NOW, NULL, NULL, &r, &id), 0);
    assert_int_equal(r.failure, SVC_AUTH_OK);
    svc_auth_destroy(a);

    o.mode = SVC_AUTH_TOKEN;
    assert_int_equal(svc_auth_create(&o, &a, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "AUTH_TOKEN"));
    o.shared_token = "s3cret-token";
    assert_int_equal(svc_auth_create(&o, &a, err, sizeof err), 0);
    assert_int_equal(svc_auth_check(a, "s3cret-token", NOW, NULL, NULL, &r, &id), 0);
    assert_int_equal(r.failure, SVC_AUTH_OK);
    assert_string_equal(r.session_id, "");
    assert_int_equal(svc_auth_check(a, "s3cret-tokeN", NOW, NULL, NULL, &r, &id), 0);
    assert_int_equal(r.failure, SVC_AUTH_UNKNOWN);
    assert_int_equal(svc_auth_check(a, "s3cret-token-and-more", NOW, NULL, NULL, &r, &id), 0);
    assert_int_equal(r.failure, SVC_AUTH_UNKNOWN);
    assert_int_equal(svc_auth_check(a, "", NOW, NULL, NULL, &r, &id), 0);
    assert_int_equal(r.failure, SVC_AUTH_MISSING);
    svc_auth_destroy(a);
}

/* ---- JWT ---- */

typedef struct keys {
    char *rsa_priv, *rsa_pub, *ec_priv, *ec_pub, *rsa1024_pub, *ec384_pub;
} keys;

static char *pem_of(EVP_PKEY *pk, int private_key)
{
    BIO *b = BIO_new(BIO_s_mem());
    if (private_key)
        assert_int_equal(PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL), 1);
    else
        assert_int_equal(PEM_write_bio_PUBKEY(b, pk), 1);
    char *data;
    long n = BIO_get_mem_data(b, &data);
    char *out = malloc((size_t)n + 1);
    memcpy(out, data, (size_t)n);
    out[n] = '\0';
    BIO_free(b);
    return out;
}

static int make_keys(void **state)
{
    keys *k = calloc(1, sizeof *k);
    EVP_PKEY *rsa = EVP_RSA_gen(2048), *ec = EVP_EC_gen("P-256");
    EVP_PKEY *rsa1024 = EVP_RSA_gen(1024), *ec384 = EVP_EC_gen("P-384");
    if (!rsa || !ec || !rsa1024 || !ec384)
        return -1;
    k->rsa_priv = pem_of(rsa, 1);
    k->rsa_pub = pem_of(rsa, 0);
    k->ec_priv = pem_of(ec, 1);
    k->ec_pub = pem_of(ec, 0);
    k->rsa1024_pub = pem_of(rsa1024, 0);
    k->ec384_pub = pem_of(ec384, 0);
    EVP_PKEY_free(rsa);
    EVP_PKEY_free(ec);
    EVP_PKEY_free(rsa1024);
    EVP_PKEY_free(ec384);
    *state = k;
    return 0;
}

static int free_keys(void **state)
{
    keys *k = *state;
    free(k->rsa_priv);
    free(k->rsa_pub);
    free(k->ec_priv);
    free(k->ec_pub);
    free(k->rsa1024_pub);
    free(k->ec384_pub);
    free(k);
    return 0;
}

/* Signs claims (a JSON object) with libjwt. */
static char *sign(jwt_alg_t alg, const char *key, size_t keylen, const char *claims)
{
    jwt_t *j = NULL;
    assert_int_equal(jwt_new(&j), 0);
    assert_int_equal(jwt_add_grants_json(j, claims), 0);
    assert_int_equal(jwt_set_alg(j, alg, (const unsigned char *)key, (int)keylen), 0);
    char *t = jwt_encode_str(j);
    assert_non_null(t);
    jwt_free(j);
    return t;
}

static char *claims(long exp, const char *aud, const char *sid)
{
    static char buf[512];
    snprintf(buf, sizeof buf, "{\"session_id\":\"%s\",\"exp\":%ld,\"aud\":\"%s\",\"iat\":%d}", sid,
             exp, aud, NOW);
    return buf;
}

static svc_auth *jwt_auth(svc_jwt_alg alg, const char *key, const char *issuer)
{
    svc_auth_options o;
    svc_auth_options_default(&o);
    o.mode = SVC_AUTH_JWT;
    o.jwt_alg = alg;
    o.jwt_key = (const unsigned char *)key;
    o.jwt_key_len = strlen(key);
    o.jwt_issuer = issuer;
    svc_auth *a = NULL;
    char err[200] = "";
    if (svc_auth_create(&o, &a, err, sizeof err) < 0)
        fail_msg("svc_auth_create: %s", err);
    return a;
}

static svc_auth_failure verify(svc_auth *a, const char *token, svc_auth_result *r)
{
    svc_auth_verify_jwt(a, token, NOW, r);
    return r->failure;
}

static void hs256_good_token_and_its_claims(void **state)
{
    (void)state;
    svc_auth *a = jwt_auth(SVC_JWT_HS256, SECRET, "");
    svc_auth_result r;
    char *t = sign(JWT_ALG_HS256, SECRET, strlen(SECRET), claims(NOW + 300, "lacquer", "sess-1"));
    assert_int_equal(verify(a, t, &r), SVC_AUTH_OK);
    assert_string_equal(r.session_id, "sess-1");
    /* through svc_auth_check too (synchronous in jwt mode) */
    uint64_t id = 7;
    assert_int_equal(svc_auth_check(a, t, NOW, NULL, NULL, &r, &id), 0);
    assert_int_equal(r.failure, SVC_AUTH_OK);
    assert_int_equal(id, 0);
    free(t);
    /* aud as an array */
    t = sign(JWT_ALG_HS256, SECRET, strlen(SECRET),
             "{\"session_id\":\"s2\",\"exp\":1700000100,\"aud\":[\"shop\",\"lacquer\"]}");
    assert_int_equal(verify(a, t, &r), SVC_AUTH_OK);
    free(t);
    svc_auth_destroy(a);
}

static void hs256_refusals(void **state)
{
    (void)state;
    svc_auth *a = jwt_auth(SVC_JWT_HS256, SECRET, "https://shop.example");
    svc_auth_result r;
    const char *other = "another-secret-another-secret-another-secret";
    struct {
        const char *claims;
        const char *key;
        svc_auth_failure want;
        const char *needle;
    } cases[] = {
        {"{\"session_id\":\"s\",\"exp\":1700000300,\"aud\":\"lacquer\",\"iss\":\"https://shop.example\"}",
         SECRET, SVC_AUTH_OK, ""},
        {"{\"session_id\":\"s\",\"exp\":1700000300,\"aud\":\"lacquer\",\"iss\":\"https://shop.example\"}",
         NULL, SVC_AUTH_BAD_SIGNATURE, "signature"}, /* signed with another secret */
        {"{\"session_id\":\"s\",\"exp\":1699999900,\"aud\":\"lacquer\",\"iss\":\"https://shop.example\"}",
         SECRET, SVC_AUTH_EXPIRED, "expired 100 s ago"},
        {"{\"session_id\":\"s\",\"exp\":1699999980,\"aud\":\"lacquer\",\"iss\":\"https://shop.example\"}",
         SECRET, SVC_AUTH_OK, ""}, /* 20 s late: within the 30 s leeway */
        {"{\"session_id\":\"s\",\"exp\":1700000300,\"nbf\":1700000100,\"aud\":\"lacquer\","
         "\"iss\":\"https://shop.example\"}",
         SECRET, SVC_AUTH_NOT_YET, "not valid for another 100 s"},
        {"{\"session_id\":\"s\",\"exp\":1700100000,\"aud\":\"lacquer\",\"iss\":\"https://shop.example\"}",
         SECRET, SVC_AUTH_TOO_LONG, "AUTH_JWT_MAX_TTL=3600"},
        {"{\"session_id\":\"s\",\"exp\":1700000300,\"aud\":\"other\",\"iss\":\"https://shop.example\"}",
         SECRET, SVC_AUTH_BAD_CLAIMS, "audience"},
        {"{\"session_id\":\"s\",\"exp\":1700000300,\"iss\":\"https://shop.example\"}", SECRET,
         SVC_AUTH_BAD_CLAIMS, "audience"},
        {"{\"session_id\":\"s\",\"exp\":1700000300,\"aud\":\"lacquer\",\"iss\":\"https://evil\"}",
         SECRET, SVC_AUTH_BAD_CLAIMS, "issuer"},
        {"{\"session_id\":\"s\",\"aud\":\"lacquer\",\"iss\":\"https://shop.example\"}", SECRET,
         SVC_AUTH_BAD_CLAIMS, "no exp"},
        {"{\"session_id\":\"s\",\"exp\":\"1700000300\",\"aud\":\"lacquer\",\"iss\":\"https://shop.example\"}",
         SECRET, SVC_AUTH_BAD_CLAIMS, "no exp"},
        {"{\"exp\":1700000300,\"aud\":\"lacquer\",\"iss\":\"https://shop.example\"}", SECRET,
         SVC_AUTH_BAD_CLAIMS, "session_id"},
        {"{\"session_id\":\"bad id!\",\"exp\":1700000300,\"aud\":\"lacquer\",\"iss\":\"https://shop.example\"}",
         SECRET, SVC_AUTH_BAD_CLAIMS, "session_id"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *key = cases[i].key ? cases[i].key : other;
        char *t = sign(JWT_ALG_HS256, key, strlen(key), cases[i].claims);
        assert_int_equal(verify(a, t, &r), cases[i].want);
        if (cases[i].needle[0] && !strstr(r.reason, cases[i].needle))
            fail_msg("case %zu: reason '%s' lacks '%s'", i, r.reason, cases[i].needle);
        assert_null(strstr(r.reason, t)); /* the token is never quoted */
        free(t);
    }
    svc_auth_destroy(a);
}

/* base64url without padding */
static char *b64url(const char *s)
{
    size_t n = strlen(s);
    char *out = malloc(ws_base64_encoded_len(n) + 1);
    ws_base64_encode((const uint8_t *)s, n, out);
    out[ws_base64_encoded_len(n)] = '\0';
    for (char *p = out; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
        else if (*p == '=')
            *p = '\0';
    }
    return out;
}

static char *hand_token(const char *header, const char *payload, const char *sig)
{
    char *h = b64url(header), *p = b64url(payload);
    char *t = malloc(strlen(h) + strlen(p) + strlen(sig) + 3);
    sprintf(t, "%s.%s.%s", h, p, sig);
    free(h);
    free(p);
    return t;
}

static void forgeries_are_refused(void **state)
{
    keys *k = *state;
    svc_auth_result r;
    svc_auth *hs = jwt_auth(SVC_JWT_HS256, SECRET, "");
    svc_auth *rs = jwt_auth(SVC_JWT_RS256, k->rsa_pub, "");
    const char *good = "{\"session_id\":\"s1\",\"exp\":1700000300,\"aud\":\"lacquer\"}";

    /* alg none, with and without a signature part */
    char *t = hand_token("{\"alg\":\"none\",\"typ\":\"JWT\"}", good, "");
    assert_int_equal(verify(hs, t, &r), SVC_AUTH_BAD_ALG);
    assert_non_null(strstr(r.reason, "'none'"));
    assert_int_equal(verify(rs, t, &r), SVC_AUTH_BAD_ALG);
    free(t);
    t = hand_token("{\"alg\":\"none\"}", good, "c2ln");
    assert_int_equal(verify(hs, t, &r), SVC_AUTH_BAD_ALG);
    free(t);
    t = hand_token("{\"typ\":\"JWT\"}", good, "c2ln");
    assert_int_equal(verify(hs, t, &r), SVC_AUTH_BAD_ALG);
    assert_non_null(strstr(r.reason, "(none given)"));
    free(t);
    /* a forged alg is quoted as printable ASCII only (reasons are logged and
     * sent back: no line break into a text log, no cut UTF-8; fuzz_token) */
    t = hand_token("{\"alg\":\"HS\\n\xc3\xa9\\u20ac256789012345678\"}", good, "c2ln");
    assert_int_equal(verify(hs, t, &r), SVC_AUTH_BAD_ALG);
    assert_non_null(strstr(r.reason, "alg 'HS??????25678901'"));
    free(t);

    /* alg confusion: HS256 "signed" with the RSA public key as the secret */
    t = sign(JWT_ALG_HS256, k->rsa_pub, strlen(k->rsa_pub), good);
    assert_int_equal(verify(rs, t, &r), SVC_AUTH_BAD_ALG);
    assert_non_null(strstr(r.reason, "only RS256"));
    free(t);
    /* RS256 token against an HS256 verifier */
    t = sign(JWT_ALG_RS256, k->rsa_priv, strlen(k->rsa_priv), good);
    assert_int_equal(verify(hs, t, &r), SVC_AUTH_BAD_ALG);
    assert_int_equal(verify(rs, t, &r), SVC_AUTH_OK);
    /* a payload swapped under a good signature */
    char *dot1 = strchr(t, '.'), *dot2 = strchr(dot1 + 1, '.');
    char *evil = b64url("{\"session_id\":\"victim\",\"exp\":1700000300,\"aud\":\"lacquer\"}");
    char *swapped = malloc(strlen(t) + strlen(evil) + 1);
    sprintf(swapped, "%.*s.%s%s", (int)(dot1 - t), t, evil, dot2);
    assert_int_equal(verify(rs, swapped, &r), SVC_AUTH_BAD_SIGNATURE);
    free(swapped);
    free(evil);
    /* a flipped signature byte */
    char *last = t + strlen(t) - 5;
    *last = *last == 'A' ? 'B' : 'A';
    assert_int_equal(verify(rs, t, &r), SVC_AUTH_BAD_SIGNATURE);
    free(t);
    /* a signature stripped off */
    t = sign(JWT_ALG_HS256, SECRET, strlen(SECRET), good);
    *(strrchr(t, '.') + 1) = '\0';
    assert_int_equal(verify(hs, t, &r), SVC_AUTH_BAD_SIGNATURE);
    free(t);
    /* not a JWT at all */
    const char *junk[] = {"abc", "a.b", "a.b.c.d", "!!!.x.y", "e30.e30.sig", ""};
    for (size_t i = 0; i < sizeof junk / sizeof junk[0]; i++) {
        svc_auth_failure f = verify(hs, junk[i], &r);
        assert_true(f == SVC_AUTH_MALFORMED || f == SVC_AUTH_BAD_ALG || f == SVC_AUTH_MISSING);
    }
    /* critical header extensions are refused */
    t = hand_token("{\"alg\":\"HS256\",\"crit\":[\"b64\"],\"b64\":false}", good, "c2ln");
    assert_int_equal(verify(hs, t, &r), SVC_AUTH_MALFORMED);
    free(t);
    svc_auth_destroy(hs);
    svc_auth_destroy(rs);
}

static void rs256_and_es256(void **state)
{
    keys *k = *state;
    svc_auth_result r;
    const char *good = "{\"session_id\":\"s-42\",\"exp\":1700000300,\"aud\":\"lacquer\"}";
    svc_auth *rs = jwt_auth(SVC_JWT_RS256, k->rsa_pub, "");
    svc_auth *es = jwt_auth(SVC_JWT_ES256, k->ec_pub, "");
    char *t = sign(JWT_ALG_RS256, k->rsa_priv, strlen(k->rsa_priv), good);
    assert_int_equal(verify(rs, t, &r), SVC_AUTH_OK);
    assert_string_equal(r.session_id, "s-42");
    assert_int_equal(verify(es, t, &r), SVC_AUTH_BAD_ALG);
    free(t);
    t = sign(JWT_ALG_ES256, k->ec_priv, strlen(k->ec_priv), good);
    assert_int_equal(verify(es, t, &r), SVC_AUTH_OK);
    assert_int_equal(verify(rs, t, &r), SVC_AUTH_BAD_ALG);
    /* ES256 signature is R||S, 64 bytes = 86 base64url characters */
    assert_int_equal(strlen(strrchr(t, '.') + 1), 86);
    free(t);
    /* signed by another EC key */
    EVP_PKEY *other = EVP_EC_gen("P-256");
    char *other_priv = pem_of(other, 1);
    t = sign(JWT_ALG_ES256, other_priv, strlen(other_priv), good);
    assert_int_equal(verify(es, t, &r), SVC_AUTH_BAD_SIGNATURE);
    free(t);
    free(other_priv);
    EVP_PKEY_free(other);
    svc_auth_destroy(rs);
    svc_auth_destroy(es);
}

static void bad_keys_are_refused_at_start_up(void **state)
{
    keys *k = *state;
    svc_auth_options o;
    svc_auth_options_default(&o);
    o.mode = SVC_AUTH_JWT;
    svc_auth *a = NULL;
    char err[200];
    o.jwt_key = (const unsigned char *)"short";
    o.jwt_key_len = 5;
    assert_int_equal(svc_auth_create(&o, &a, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "AUTH_JWT_SECRET"));
    struct {
        svc_jwt_alg alg;
        const char *pem;
        const char *needle;
    } cases[] = {
        {SVC_JWT_RS256, "not a key", "not a PEM public key"},
        {SVC_JWT_RS256, k->rsa_priv, "not a PEM public key"},
        {SVC_JWT_RS256, k->ec_pub, "RSA public key"},
        {SVC_JWT_RS256, k->rsa1024_pub, "2048 bits"},
        {SVC_JWT_ES256, k->rsa_pub, "P-256"},
        {SVC_JWT_ES256, k->ec384_pub, "P-256"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        o.jwt_alg = cases[i].alg;
        o.jwt_key = (const unsigned char *)cases[i].pem;
        o.jwt_key_len = strlen(cases[i].pem);
        err[0] = '\0';
        assert_int_equal(svc_auth_create(&o, &a, err, sizeof err), LQ_EINVAL);
        if (!strstr(err, cases[i].needle) || !strstr(err, "AUTH_JWT_PUBLIC_KEY_FILE"))
            fail_msg("case %zu: '%s'", i, err);
    }
    o.jwt_alg = SVC_JWT_HS256;
    o.jwt_key = (const unsigned char *)SECRET;
    o.jwt_key_len = strlen(SECRET);
    o.jwt_audience = "";
    assert_int_equal(svc_auth_create(&o, &a, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "AUTH_JWT_AUDIENCE"));
    assert_null(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(extracts_from_each_source),
        cmocka_unit_test(refuses_missing_malformed_and_conflicting),
        cmocka_unit_test(shared_token_and_none),
        cmocka_unit_test(hs256_good_token_and_its_claims),
        cmocka_unit_test(hs256_refusals),
        cmocka_unit_test(forgeries_are_refused),
        cmocka_unit_test(rs256_and_es256),
        cmocka_unit_test(bad_keys_are_refused_at_start_up),
    };
    return cmocka_run_group_tests(tests, make_keys, free_keys);
}
