/* Tests src/service/clientaddr.c: addresses, CIDR lists, X-Forwarded-For. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "lq_test.h"
#include "service/clientaddr.h"

static svc_ipaddr ip(const char *s)
{
    svc_ipaddr a;
    assert_int_equal(svc_ip_parse(s, strlen(s), &a), 0);
    return a;
}

static const char *fmt(const svc_ipaddr *a)
{
    static char buf[SVC_IP_TEXT_MAX];
    svc_ip_format(a, buf, sizeof buf);
    return buf;
}

static void parses_addresses_with_and_without_ports(void **state)
{
    (void)state;
    svc_ipaddr a = ip(" 192.0.2.1 ");
    assert_true(svc_ip_is_v4(&a));
    assert_string_equal(fmt(&a), "192.0.2.1");
    a = ip("192.0.2.1:4711");
    assert_string_equal(fmt(&a), "192.0.2.1");
    a = ip("[2001:db8::1]:443");
    assert_false(svc_ip_is_v4(&a));
    assert_string_equal(fmt(&a), "2001:db8::1");
    a = ip("2001:db8::1");
    assert_string_equal(fmt(&a), "2001:db8::1");
    a = ip("::ffff:10.1.2.3"); /* mapped: the same as 10.1.2.3 */
    svc_ipaddr b = ip("10.1.2.3");
    assert_true(svc_ip_equal(&a, &b));
    const char *bad[] = {"", "localhost", "300.1.1.1", "1.2.3", "[::1", "[::1]x", "1.2.3.4:5:6",
                         "unknown", "_hidden"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(svc_ip_parse(bad[i], strlen(bad[i]), &a), LQ_EINVAL);
}

static void cidr_lists(void **state)
{
    (void)state;
    svc_cidr l[SVC_CIDR_MAX];
    int n = -1;
    char err[160];
    assert_int_equal(svc_cidr_list_parse("", l, SVC_CIDR_MAX, &n, err, sizeof err), 0);
    assert_int_equal(n, 0);
    assert_int_equal(svc_cidr_list_parse("10.0.0.0/8, 192.0.2.7 ,2001:db8::/32,::1", l,
                                         SVC_CIDR_MAX, &n, err, sizeof err),
                     0);
    assert_int_equal(n, 4);
    svc_ipaddr in8 = ip("10.255.1.2"), out8 = ip("11.0.0.1"), host = ip("192.0.2.7"),
               near = ip("192.0.2.8"), v6 = ip("2001:db8:ffff::5"), lo6 = ip("::1");
    assert_true(svc_cidr_list_contains(l, n, &in8));
    assert_false(svc_cidr_list_contains(l, n, &out8));
    assert_true(svc_cidr_list_contains(l, n, &host));
    assert_false(svc_cidr_list_contains(l, n, &near));
    assert_true(svc_cidr_list_contains(l, n, &v6));
    assert_true(svc_cidr_list_contains(l, n, &lo6));
    /* /0 of IPv4 holds every IPv4 address and no IPv6 one */
    assert_int_equal(svc_cidr_list_parse("0.0.0.0/0", l, SVC_CIDR_MAX, &n, err, sizeof err), 0);
    assert_true(svc_cidr_list_contains(l, n, &out8));
    assert_false(svc_cidr_list_contains(l, n, &v6));
    assert_int_equal(svc_cidr_list_parse("10.0.0.0/33", l, SVC_CIDR_MAX, &n, err, sizeof err),
                     LQ_EINVAL);
    assert_non_null(strstr(err, "10.0.0.0/33"));
    assert_int_equal(svc_cidr_list_parse("proxy.local", l, SVC_CIDR_MAX, &n, err, sizeof err),
                     LQ_EINVAL);
    assert_int_equal(svc_cidr_list_parse("10.0.0.0/", l, SVC_CIDR_MAX, &n, err, sizeof err),
                     LQ_EINVAL);
    assert_int_equal(svc_cidr_list_parse("1.1.1.1,2.2.2.2,3.3.3.3", l, 2, &n, err, sizeof err),
                     LQ_ELIMIT);
}

static void forwarded_for_only_from_trusted_proxies(void **state)
{
    (void)state;
    svc_cidr t[SVC_CIDR_MAX];
    int n;
    assert_int_equal(svc_cidr_list_parse("10.0.0.0/8", t, SVC_CIDR_MAX, &n, NULL, 0), 0);
    svc_ipaddr proxy = ip("10.0.0.5"), stranger = ip("203.0.113.50"), out;

    /* an untrusted peer is the client, whatever it claims */
    assert_int_equal(svc_client_addr(&stranger, "1.2.3.4", t, n, &out), 0);
    assert_string_equal(fmt(&out), "203.0.113.50");
    /* a trusted proxy: the entry it appended */
    assert_int_equal(svc_client_addr(&proxy, "198.51.100.9", t, n, &out), 1);
    assert_string_equal(fmt(&out), "198.51.100.9");
    /* a client forging entries to the left gets its real address (the rightmost) */
    assert_int_equal(svc_client_addr(&proxy, "1.1.1.1, 6.6.6.6, 198.51.100.9", t, n, &out), 1);
    assert_string_equal(fmt(&out), "198.51.100.9");
    /* two trusted proxies in a row: skip the inner one */
    assert_int_equal(svc_client_addr(&proxy, "198.51.100.9, 10.0.0.7", t, n, &out), 1);
    assert_string_equal(fmt(&out), "198.51.100.9");
    /* every entry trusted: the leftmost seen */
    assert_int_equal(svc_client_addr(&proxy, "10.9.9.9,10.0.0.7", t, n, &out), 1);
    assert_string_equal(fmt(&out), "10.9.9.9");
    /* ports and IPv6 */
    assert_int_equal(svc_client_addr(&proxy, "[2001:db8::7]:5555", t, n, &out), 1);
    assert_string_equal(fmt(&out), "2001:db8::7");
    /* garbage or nothing: the proxy itself */
    assert_int_equal(svc_client_addr(&proxy, "unknown", t, n, &out), 0);
    assert_string_equal(fmt(&out), "10.0.0.5");
    assert_int_equal(svc_client_addr(&proxy, NULL, t, n, &out), 0);
    assert_int_equal(svc_client_addr(&proxy, "", t, n, &out), 0);
    /* garbage left of a good entry is never reached */
    assert_int_equal(svc_client_addr(&proxy, "<script>, 198.51.100.9", t, n, &out), 1);
    assert_string_equal(fmt(&out), "198.51.100.9");
    /* garbage behind a trusted hop: the last good (trusted) entry */
    assert_int_equal(svc_client_addr(&proxy, "junk, 10.0.0.7", t, n, &out), 1);
    assert_string_equal(fmt(&out), "10.0.0.7");
    /* no trusted proxies at all (the default): X-Forwarded-For is never read */
    assert_int_equal(svc_client_addr(&proxy, "198.51.100.9", t, 0, &out), 0);
    assert_string_equal(fmt(&out), "10.0.0.5");
}

static void forwarded_for_is_bounded(void **state)
{
    (void)state;
    svc_cidr t[SVC_CIDR_MAX];
    int n;
    assert_int_equal(svc_cidr_list_parse("10.0.0.0/8", t, SVC_CIDR_MAX, &n, NULL, 0), 0);
    char xff[2048] = "198.51.100.1";
    for (int i = 0; i < 100; i++)
        strcat(xff, ", 10.0.0.1");
    svc_ipaddr proxy = ip("10.0.0.5"), out;
    /* only SVC_XFF_MAX_ENTRIES are looked at: the answer is a trusted hop */
    assert_int_equal(svc_client_addr(&proxy, xff, t, n, &out), 1);
    assert_string_equal(fmt(&out), "10.0.0.1");
}

static void limit_keys(void **state)
{
    (void)state;
    svc_ipaddr a = ip("2001:db8:1:2:aaaa::1"), b = ip("2001:db8:1:2:bbbb::9"),
               c = ip("2001:db8:1:3::1"), ka, kb, kc;
    svc_ip_limit_key(&a, &ka);
    svc_ip_limit_key(&b, &kb);
    svc_ip_limit_key(&c, &kc);
    assert_true(svc_ip_equal(&ka, &kb)); /* one /64 */
    assert_false(svc_ip_equal(&ka, &kc));
    svc_ipaddr v4a = ip("192.0.2.1"), v4b = ip("192.0.2.2"), k1, k2;
    svc_ip_limit_key(&v4a, &k1);
    svc_ip_limit_key(&v4b, &k2);
    assert_false(svc_ip_equal(&k1, &k2)); /* IPv4: per address */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_addresses_with_and_without_ports),
        cmocka_unit_test(cidr_lists),
        cmocka_unit_test(forwarded_for_only_from_trusted_proxies),
        cmocka_unit_test(forwarded_for_is_bounded),
        cmocka_unit_test(limit_keys),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
