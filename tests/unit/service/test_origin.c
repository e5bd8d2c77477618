/* Tests src/service/origin.c: ALLOWED_ORIGINS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lq_test.h"
#include "service/origin.h"

static svc_origins parse(const char *list)
{
    svc_origins o;
    char err[160] = "";
    assert_int_equal(svc_origins_parse(list, &o, err, sizeof err), 0);
    return o;
}

static void default_allows_servers_and_same_origin_only(void **state)
{
    (void)state;
    svc_origins o = parse("");
    assert_int_equal(svc_origin_check(&o, NULL, "tryon.example:8002"), SVC_ORIGIN_NONE);
    assert_int_equal(svc_origin_check(&o, "", "tryon.example:8002"), SVC_ORIGIN_NONE);
    assert_int_equal(svc_origin_check(&o, "http://tryon.example:8002", "tryon.example:8002"),
                     SVC_ORIGIN_SAME);
    assert_int_equal(svc_origin_check(&o, "https://TryOn.Example", "tryon.example"),
                     SVC_ORIGIN_SAME);
    assert_int_equal(svc_origin_check(&o, "https://tryon.example", "tryon.example:443"),
                     SVC_ORIGIN_SAME);
    assert_int_equal(svc_origin_check(&o, "http://127.0.0.1:9000", "127.0.0.1:8002"),
                     SVC_ORIGIN_REFUSED);
    assert_int_equal(svc_origin_check(&o, "https://evil.example", "tryon.example"),
                     SVC_ORIGIN_REFUSED);
    assert_int_equal(svc_origin_check(&o, "null", "tryon.example"), SVC_ORIGIN_REFUSED);
    assert_int_equal(svc_origin_check(&o, "not an origin", "tryon.example"), SVC_ORIGIN_REFUSED);
    assert_int_equal(svc_origin_check(&o, "https://evil.example", NULL), SVC_ORIGIN_REFUSED);
    assert_false(svc_origin_allowed(SVC_ORIGIN_REFUSED));
    assert_true(svc_origin_allowed(SVC_ORIGIN_NONE));
}

static void listed_origins(void **state)
{
    (void)state;
    svc_origins o = parse(" https://shop.example , http://localhost:3000/, https://*.cdn.example");
    assert_int_equal(o.n, 3);
    const char *host = "tryon.internal:8002";
    assert_int_equal(svc_origin_check(&o, "https://shop.example", host), SVC_ORIGIN_LISTED);
    assert_int_equal(svc_origin_check(&o, "https://SHOP.example:443", host), SVC_ORIGIN_LISTED);
    assert_int_equal(svc_origin_check(&o, "http://shop.example", host), SVC_ORIGIN_REFUSED);
    assert_int_equal(svc_origin_check(&o, "https://shop.example:8443", host), SVC_ORIGIN_REFUSED);
    assert_int_equal(svc_origin_check(&o, "https://shop.example.evil.example", host),
                     SVC_ORIGIN_REFUSED);
    assert_int_equal(svc_origin_check(&o, "http://localhost:3000", host), SVC_ORIGIN_LISTED);
    assert_int_equal(svc_origin_check(&o, "http://localhost:3001", host), SVC_ORIGIN_REFUSED);
    assert_int_equal(svc_origin_check(&o, "https://a.b.cdn.example", host), SVC_ORIGIN_LISTED);
    assert_int_equal(svc_origin_check(&o, "https://cdn.example", host), SVC_ORIGIN_REFUSED);
    assert_int_equal(svc_origin_check(&o, "https://evilcdn.example", host), SVC_ORIGIN_REFUSED);
    assert_int_equal(svc_origin_check(&o, "null", host), SVC_ORIGIN_REFUSED);
    o = parse("null");
    assert_int_equal(svc_origin_check(&o, "null", host), SVC_ORIGIN_LISTED);
    o = parse("*");
    assert_true(o.any);
    assert_int_equal(svc_origin_check(&o, "https://anything.example", host), SVC_ORIGIN_LISTED);
}

static void bad_lists_name_the_entry(void **state)
{
    (void)state;
    svc_origins o;
    char err[160];
    const char *bad[] = {"shop.example", "ftp://shop.example", "https://", "https://a b",
                         "https://x:99999", "https://*.com", "https://shop.example/path"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        assert_int_equal(svc_origins_parse(bad[i], &o, err, sizeof err), LQ_EINVAL);
        assert_non_null(strstr(err, "is not an origin"));
    }
    char many[4096] = "";
    for (int i = 0; i < SVC_ORIGINS_MAX + 1; i++) {
        char one[40];
        snprintf(one, sizeof one, "%shttps://s%d.example", i ? "," : "", i);
        strcat(many, one);
    }
    assert_int_equal(svc_origins_parse(many, &o, err, sizeof err), LQ_ELIMIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(default_allows_servers_and_same_origin_only),
        cmocka_unit_test(listed_origins),
        cmocka_unit_test(bad_lists_name_the_entry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
