#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "batch/redis_url.h"
#include "lq_test.h"

static void parses_the_usual_forms(void **state)
{
    (void)state;
    batch_redis_url u;
    char err[256];
    assert_int_equal(batch_redis_url_parse("redis://127.0.0.1:6380/2", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "127.0.0.1");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_string_equal(u.password, "");
    assert_int_equal(batch_redis_url_parse("REDIS://redis", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "redis");
    assert_int_equal(u.port, 6379);
    assert_int_equal(u.db, 0);
    assert_int_equal(batch_redis_url_parse("redis://redis:7000/", &u, err, sizeof err), 0);
    assert_int_equal(u.port, 7000);
    assert_int_equal(batch_redis_url_parse("redis://[::1]:6379/15", &u, err, sizeof err), 0);
    assert_string_equal(u.host, "::1");
    assert_int_equal(u.db, 15);
}

static void reads_credentials_percent_decoded(void **state)
{
    (void)state;
    batch_redis_url u;
    char err[256];
    assert_int_equal(batch_redis_url_parse("redis://:s3cr%40t@cache:6379/1", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "");
    assert_string_equal(u.password, "s3cr@t");
    assert_string_equal(u.host, "cache");
    assert_int_equal(batch_redis_url_parse("redis://app:pw@cache", &u, err, sizeof err), 0);
    assert_string_equal(u.user, "app");
    assert_string_equal(u.password, "pw");
    char shown[256];
    batch_redis_url_format(&u, shown, sizeof shown);
    assert_string_equal(shown, "redis://app:***@cache:6379/0");
    assert_null(strstr(shown, "pw@"));
}

static void refuses_what_it_cannot_use(void **state)
{
    (void)state;
    const char *bad[] = {
        "http://redis:6379",       "rediss://redis:6379",  "redis://",
        "redis://:6379",           "redis://host:0",       "redis://host:65536",
        "redis://host:12ab",       "redis://host/db",      "redis://host/70000",
        "redis://host/1/extra",    "redis://host?db=1",    "redis://ho st",
        "redis://[::1",            "redis://user@host",    "redis://:bad%zz@host",
        "redis://:nul%00@host",    "redis://host:6379#x",  "unix:///tmp/redis.sock",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        batch_redis_url u;
        memset(&u, 0x5a, sizeof u);
        char err[256] = "";
        int rc = batch_redis_url_parse(bad[i], &u, err, sizeof err);
        if (rc != LQ_EINVAL)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(strstr(err, "bad Redis URL"));
        assert_int_equal(((unsigned char *)&u)[0], 0x5a); /* untouched on failure */
    }
    char longurl[1100];
    memset(longurl, 'a', sizeof longurl - 1);
    memcpy(longurl, "redis://", 8);
    longurl[sizeof longurl - 1] = '\0';
    batch_redis_url u;
    assert_int_equal(batch_redis_url_parse(longurl, &u, NULL, 0), LQ_EINVAL);
    assert_int_equal(batch_redis_url_parse(NULL, &u, NULL, 0), LQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_the_usual_forms),
        cmocka_unit_test(reads_credentials_percent_decoded),
        cmocka_unit_test(refuses_what_it_cannot_use),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
