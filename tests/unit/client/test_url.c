/*
 * test_url.c - src/client/url.c: what ws:// URLs are accepted and how they split.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "client/url.h"
#include "lq_test.h"

static void splits_host_port_path(void **state)
{
    (void)state;
    lq_client_url u;
    char err[256];
    assert_int_equal(lq_client_url_parse("ws://127.0.0.1:8002/ws/tryon", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 8002);
    assert_string_equal(u.path, "/ws/tryon");
    assert_int_equal(lq_client_url_parse("WS://localhost", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "localhost");
    assert_int_equal(u.port, 80);
    assert_string_equal(u.path, "/");
    assert_int_equal(lq_client_url_parse("ws://[::1]:9/ws/tryon?token=abc", &u, err, sizeof err),
                     0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.port, 9);
    assert_string_equal(u.path, "/ws/tryon?token=abc");
    assert_int_equal(lq_client_url_parse("ws://h?x=1", &u, err, sizeof err), 0);
    assert_string_equal(u.path, "/?x=1");
}

static void refuses_what_is_not_a_ws_url(void **state)
{
    (void)state;
    static const char *bad[] = {
        "http://127.0.0.1:8002/ws/tryon",
        "127.0.0.1:8002",
        "ws://",
        "ws://:80/",
        "ws://h:0/",
        "ws://h:65536/",
        "ws://h:12ab/",
        "ws://h:/",
        "ws://[::1/",
        "ws://[]:80/",
        "ws://ho st/",
        "ws://h/a b",
        "ws://h/a#frag",
        "ws://h@x/",
        "",
    };
    lq_client_url u;
    memset(&u, 0x5a, sizeof u);
    lq_client_url before = u;
    char err[256];
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        assert_int_equal(lq_client_url_parse(bad[i], &u, err, sizeof err), LQ_EINVAL);
        assert_true(err[0] != 0);
    }
    assert_memory_equal(&u, &before, sizeof u); /* untouched on failure */
    assert_int_equal(lq_client_url_parse("wss://h/", &u, err, sizeof err), LQ_EUNSUPPORTED);
    assert_non_null(strstr(err, "wss"));
    assert_int_equal(lq_client_url_parse(NULL, &u, NULL, 0), LQ_EINVAL);
}

static void enforces_length_limits(void **state)
{
    (void)state;
    char url[LQ_CLIENT_URL_MAX + 64];
    lq_client_url u;
    /* a host of 256 characters */
    strcpy(url, "ws://");
    memset(url + 5, 'a', 256);
    strcpy(url + 5 + 256, ":1/");
    assert_int_equal(lq_client_url_parse(url, &u, NULL, 0), LQ_EINVAL);
    url[5 + 255] = ':';
    strcpy(url + 5 + 255, ":1/");
    assert_int_equal(lq_client_url_parse(url, &u, NULL, 0), 0);
    /* a URL over 2048 bytes */
    strcpy(url, "ws://h/");
    memset(url + 7, 'p', LQ_CLIENT_URL_MAX);
    url[7 + LQ_CLIENT_URL_MAX] = 0;
    assert_int_equal(lq_client_url_parse(url, &u, NULL, 0), LQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(splits_host_port_path),
        cmocka_unit_test(refuses_what_is_not_a_ws_url),
        cmocka_unit_test(enforces_length_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
