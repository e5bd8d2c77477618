/* Tests src/service/ratelimit.c with a clock driven by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "lq_test.h"
#include "service/ratelimit.h"

#define assert_double_equal(a, b, eps) assert_true(fabs((double)(a) - (double)(b)) <= (eps))

#define SEC 1000000000ull
#define MS 1000000ull

static svc_ipaddr ip(const char *s)
{
    svc_ipaddr a;
    assert_int_equal(svc_ip_parse(s, strlen(s), &a), 0);
    return a;
}

static void bucket_gives_burst_then_rate(void **state)
{
    (void)state;
    svc_bucket b;
    uint64_t t0 = 5 * SEC;
    svc_bucket_init(&b, 3, t0);
    for (int i = 0; i < 3; i++)
        assert_true(svc_bucket_take(&b, 2, 3, t0));
    assert_false(svc_bucket_take(&b, 2, 3, t0));
    /* 2 tokens per second: one more after 500 ms, not before */
    assert_false(svc_bucket_take(&b, 2, 3, t0 + 499 * MS));
    assert_double_equal(svc_bucket_wait_s(&b, 2, 3, t0 + 499 * MS), 0.001, 1e-6);
    assert_true(svc_bucket_take(&b, 2, 3, t0 + 500 * MS));
    assert_false(svc_bucket_take(&b, 2, 3, t0 + 500 * MS));
    /* a long pause refills to the burst, not beyond */
    uint64_t later = t0 + 3600 * SEC;
    for (int i = 0; i < 3; i++)
        assert_true(svc_bucket_take(&b, 2, 3, later));
    assert_false(svc_bucket_take(&b, 2, 3, later));
    assert_double_equal(svc_bucket_wait_s(&b, 2, 3, later), 0.5, 1e-9);
}

static void bucket_steady_rate_never_refused(void **state)
{
    (void)state;
    /* a 30 fps camera with +-10 ms jitter against a 30/s bucket of 30 */
    svc_bucket b;
    svc_bucket_init(&b, 30, 0);
    uint64_t t = 0;
    for (int i = 0; i < 3000; i++) {
        t = (uint64_t)i * 33333333ull + ((i % 3) == 0 ? 10 * MS : 0);
        assert_true(svc_bucket_take(&b, 30, 30, t));
    }
    /* a flood at 1000/s gets 30 (the bucket) then 30/s */
    int ok = 0;
    for (int i = 0; i < 1000; i++)
        ok += svc_bucket_take(&b, 30, 30, t + (uint64_t)i * MS);
    assert_in_range(ok, 55, 62);
}

static void bucket_clock_going_back_refills_nothing(void **state)
{
    (void)state;
    svc_bucket b;
    svc_bucket_init(&b, 1, 10 * SEC);
    assert_true(svc_bucket_take(&b, 1, 1, 10 * SEC));
    assert_false(svc_bucket_take(&b, 1, 1, 2 * SEC));
    assert_false(svc_bucket_take(&b, 1, 1, 10 * SEC + 999 * MS));
    assert_true(svc_bucket_take(&b, 1, 1, 11 * SEC));
    assert_true(svc_bucket_take(&b, 0, 0, 0)); /* rate 0: no limit */
}

static void table_limits_rate_per_address(void **state)
{
    (void)state;
    svc_addr_limits lim = {.rate = 1, .burst = 2, .max_open = 0, .max_entries = 16};
    svc_addrtab *t;
    assert_int_equal(svc_addrtab_create(&lim, 42, &t), 0);
    svc_ipaddr a = ip("192.0.2.1"), b = ip("192.0.2.2");
    double retry = -1;
    assert_int_equal(svc_addrtab_admit(t, &a, SEC, &retry), SVC_ADMIT_OK);
    assert_int_equal(svc_addrtab_admit(t, &a, SEC, &retry), SVC_ADMIT_OK);
    assert_int_equal(svc_addrtab_admit(t, &a, SEC, &retry), SVC_ADMIT_RATE);
    assert_double_equal(retry, 1.0, 1e-9);
    /* another address has its own bucket */
    assert_int_equal(svc_addrtab_admit(t, &b, SEC, &retry), SVC_ADMIT_OK);
    assert_double_equal(retry, 0.0, 0);
    assert_int_equal(svc_addrtab_admit(t, &a, SEC + 999 * MS, NULL), SVC_ADMIT_RATE);
    assert_int_equal(svc_addrtab_admit(t, &a, 2 * SEC, NULL), SVC_ADMIT_OK);
    assert_int_equal(svc_addrtab_size(t), 2);
    svc_addrtab_destroy(t);
}

static void table_caps_open_connections(void **state)
{
    (void)state;
    svc_addr_limits lim = {.rate = 0, .burst = 0, .max_open = 2, .max_entries = 16};
    svc_addrtab *t;
    assert_int_equal(svc_addrtab_create(&lim, 1, &t), 0);
    svc_ipaddr a = ip("198.51.100.7");
    for (int i = 0; i < 2; i++) {
        assert_int_equal(svc_addrtab_admit(t, &a, 0, NULL), SVC_ADMIT_OK);
        assert_int_equal(svc_addrtab_hold(t, &a, 0), 0);
    }
    assert_int_equal(svc_addrtab_open(t, &a), 2);
    assert_int_equal(svc_addrtab_admit(t, &a, 0, NULL), SVC_ADMIT_OPEN);
    assert_int_equal(svc_addrtab_release(t, &a), 0);
    assert_int_equal(svc_addrtab_admit(t, &a, 0, NULL), SVC_ADMIT_OK); /* admit counts nothing */
    assert_int_equal(svc_addrtab_open(t, &a), 1);
    assert_int_equal(svc_addrtab_hold(t, &a, 0), 0);
    assert_int_equal(svc_addrtab_release(t, &a), 0);
    assert_int_equal(svc_addrtab_release(t, &a), 0);
    assert_int_equal(svc_addrtab_release(t, &a), LQ_ENOTFOUND); /* not below zero */
    svc_ipaddr unknown = ip("203.0.113.1");
    assert_int_equal(svc_addrtab_release(t, &unknown), LQ_ENOTFOUND);
    assert_int_equal(svc_addrtab_open(t, &unknown), 0);
    svc_addrtab_destroy(t);
}

/* A request on a connection already admitted (an HTTP/2 stream) checks the
 * open cap but takes no token. */
static void admit_open_takes_no_token(void **state)
{
    (void)state;
    svc_addr_limits lim = {.rate = 1, .burst = 1, .max_open = 3, .max_entries = 16};
    svc_addrtab *t;
    assert_int_equal(svc_addrtab_create(&lim, 1, &t), 0);
    svc_ipaddr a = ip("198.51.100.9");
    assert_int_equal(svc_addrtab_admit(t, &a, 0, NULL), SVC_ADMIT_OK); /* the one token */
    assert_int_equal(svc_addrtab_hold(t, &a, 0), 0);
    assert_int_equal(svc_addrtab_admit(t, &a, 0, NULL), SVC_ADMIT_RATE);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(svc_addrtab_admit_open(t, &a, 0), SVC_ADMIT_OK);
        assert_int_equal(svc_addrtab_hold(t, &a, 0), 0);
    }
    assert_int_equal(svc_addrtab_admit_open(t, &a, 0), SVC_ADMIT_OPEN);
    assert_int_equal(svc_addrtab_release(t, &a), 0);
    assert_int_equal(svc_addrtab_admit_open(t, &a, 0), SVC_ADMIT_OK);
    /* still no token for a new connection (none was taken meanwhile: 0.5 s refills half) */
    double retry = 0;
    assert_int_equal(svc_addrtab_admit(t, &a, 500 * MS, &retry), SVC_ADMIT_RATE);
    assert_double_equal(retry, 0.5, 1e-9);
    assert_int_equal(svc_addrtab_admit(t, &a, SEC, NULL), SVC_ADMIT_OK);
    /* an unknown address gets an entry (its bucket full) */
    svc_ipaddr b = ip("2001:db8::1");
    assert_int_equal(svc_addrtab_admit_open(t, &b, 0), SVC_ADMIT_OK);
    assert_int_equal(svc_addrtab_size(t), 2);
    assert_int_equal(svc_addrtab_admit(t, &b, 0, NULL), SVC_ADMIT_OK);
    svc_addrtab_destroy(t);
}

static void table_forgets_idle_addresses_first(void **state)
{
    (void)state;
    svc_addr_limits lim = {.rate = 1, .burst = 1, .max_open = 0, .max_entries = 3};
    svc_addrtab *t;
    assert_int_equal(svc_addrtab_create(&lim, 7, &t), 0);
    svc_ipaddr a = ip("10.0.0.1"), b = ip("10.0.0.2"), c = ip("10.0.0.3"), d = ip("10.0.0.4");
    assert_int_equal(svc_addrtab_admit(t, &a, 0, NULL), SVC_ADMIT_OK);
    assert_int_equal(svc_addrtab_hold(t, &a, 0), 0); /* a holds a connection */
    assert_int_equal(svc_addrtab_admit(t, &b, 0, NULL), SVC_ADMIT_OK);
    assert_int_equal(svc_addrtab_admit(t, &c, 0, NULL), SVC_ADMIT_OK);
    /* full: d evicts b (least recent without open connections), not a */
    assert_int_equal(svc_addrtab_admit(t, &d, 0, NULL), SVC_ADMIT_OK);
    assert_int_equal(svc_addrtab_size(t), 3);
    assert_int_equal(svc_addrtab_open(t, &a), 1);
    assert_int_equal(svc_addrtab_admit(t, &a, 0, NULL), SVC_ADMIT_RATE); /* a kept its bucket */
    /* b was forgotten: it comes back with a full bucket (evicting c) */
    assert_int_equal(svc_addrtab_admit(t, &b, 0, NULL), SVC_ADMIT_OK);
    svc_addrtab_destroy(t);
}

static void table_full_of_open_connections_refuses(void **state)
{
    (void)state;
    svc_addr_limits lim = {.rate = 0, .burst = 0, .max_open = 0, .max_entries = 2};
    svc_addrtab *t;
    assert_int_equal(svc_addrtab_create(&lim, 7, &t), 0);
    svc_ipaddr a = ip("10.0.0.1"), b = ip("10.0.0.2"), c = ip("10.0.0.3");
    assert_int_equal(svc_addrtab_hold(t, &a, 0), 0);
    assert_int_equal(svc_addrtab_hold(t, &b, 0), 0);
    assert_int_equal(svc_addrtab_admit(t, &c, 0, NULL), SVC_ADMIT_FULL);
    assert_int_equal(svc_addrtab_hold(t, &c, 0), LQ_EBUSY);
    assert_int_equal(svc_addrtab_release(t, &b), 0);
    assert_int_equal(svc_addrtab_admit(t, &c, 0, NULL), SVC_ADMIT_OK);
    assert_string_equal(svc_admit_name(SVC_ADMIT_FULL), "full");
    svc_addrtab_destroy(t);
}

static void table_many_addresses_stay_consistent(void **state)
{
    (void)state;
    svc_addr_limits lim = {.rate = 10, .burst = 1, .max_open = 3, .max_entries = 1000};
    svc_addrtab *t;
    assert_int_equal(svc_addrtab_create(&lim, 99, &t), 0);
    char buf[32];
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < 5000; i++) {
            snprintf(buf, sizeof buf, "10.%d.%d.%d", round, i / 256, i % 256);
            svc_ipaddr a = ip(buf);
            assert_int_equal(svc_addrtab_admit(t, &a, (uint64_t)round * SEC, NULL), SVC_ADMIT_OK);
        }
    assert_int_equal(svc_addrtab_size(t), 1000);
    svc_addrtab_destroy(t);
}

static void bad_limits_are_refused(void **state)
{
    (void)state;
    svc_addrtab *t = NULL;
    svc_addr_limits lim = {.rate = 5, .burst = 0.5, .max_open = 0, .max_entries = 4};
    assert_int_equal(svc_addrtab_create(&lim, 0, &t), LQ_EINVAL);
    lim.burst = 5;
    lim.max_entries = 0;
    assert_int_equal(svc_addrtab_create(&lim, 0, &t), LQ_EINVAL);
    lim.max_entries = 4;
    lim.max_open = -1;
    assert_int_equal(svc_addrtab_create(&lim, 0, &t), LQ_EINVAL);
    assert_null(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(bucket_gives_burst_then_rate),
        cmocka_unit_test(bucket_steady_rate_never_refused),
        cmocka_unit_test(bucket_clock_going_back_refills_nothing),
        cmocka_unit_test(table_limits_rate_per_address),
        cmocka_unit_test(table_caps_open_connections),
        cmocka_unit_test(admit_open_takes_no_token),
        cmocka_unit_test(table_forgets_idle_addresses_first),
        cmocka_unit_test(table_full_of_open_connections_refuses),
        cmocka_unit_test(table_many_addresses_stay_consistent),
        cmocka_unit_test(bad_limits_are_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
