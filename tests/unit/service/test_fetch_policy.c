#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq_test.h"
#include "service/fetch_policy.h"

static enum lq__addr_class classify(const char *ip)
{
    struct sockaddr_in s4;
    struct sockaddr_in6 s6;
    memset(&s4, 0, sizeof s4);
    memset(&s6, 0, sizeof s6);
    if (inet_pton(AF_INET, ip, &s4.sin_addr) == 1) {
        s4.sin_family = AF_INET;
        return lq__fetch_classify_addr((struct sockaddr *)&s4, sizeof s4);
    }
    if (inet_pton(AF_INET6, ip, &s6.sin6_addr) == 1) {
        s6.sin6_family = AF_INET6;
        return lq__fetch_classify_addr((struct sockaddr *)&s6, sizeof s6);
    }
    fail_msg("bad test address %s", ip);
    return LQ__ADDR_RESERVED;
}

static void addresses_are_classified(void **state)
{
    (void)state;
    static const struct {
        const char *ip;
        enum lq__addr_class c;
    } cases[] = {
        {"8.8.8.8", LQ__ADDR_PUBLIC},
        {"93.184.216.34", LQ__ADDR_PUBLIC},
        {"1.1.1.1", LQ__ADDR_PUBLIC},
        {"127.0.0.1", LQ__ADDR_LOOPBACK},
        {"127.255.255.254", LQ__ADDR_LOOPBACK},
        {"10.0.0.1", LQ__ADDR_PRIVATE},
        {"172.16.0.1", LQ__ADDR_PRIVATE},
        {"172.31.255.255", LQ__ADDR_PRIVATE},
        {"172.32.0.1", LQ__ADDR_PUBLIC},
        {"172.15.255.255", LQ__ADDR_PUBLIC},
        {"192.168.1.1", LQ__ADDR_PRIVATE},
        {"100.64.0.1", LQ__ADDR_PRIVATE},
        {"100.100.100.200", LQ__ADDR_PRIVATE}, /* a cloud metadata address in CGNAT */
        {"100.128.0.1", LQ__ADDR_PUBLIC},
        {"169.254.169.254", LQ__ADDR_LINK_LOCAL}, /* the usual metadata service */
        {"224.0.0.1", LQ__ADDR_MULTICAST},
        {"0.0.0.0", LQ__ADDR_RESERVED},
        {"0.1.2.3", LQ__ADDR_RESERVED},
        {"192.0.0.192", LQ__ADDR_RESERVED},
        {"192.0.2.1", LQ__ADDR_RESERVED},
        {"198.18.0.1", LQ__ADDR_RESERVED},
        {"198.51.100.7", LQ__ADDR_RESERVED},
        {"203.0.113.9", LQ__ADDR_RESERVED},
        {"240.0.0.1", LQ__ADDR_RESERVED},
        {"255.255.255.255", LQ__ADDR_RESERVED},
        {"2606:4700:4700::1111", LQ__ADDR_PUBLIC},
        {"::1", LQ__ADDR_LOOPBACK},
        {"::", LQ__ADDR_RESERVED},
        {"::127.0.0.1", LQ__ADDR_RESERVED},
        {"::ffff:127.0.0.1", LQ__ADDR_LOOPBACK},
        {"::ffff:10.1.2.3", LQ__ADDR_PRIVATE},
        {"::ffff:169.254.169.254", LQ__ADDR_LINK_LOCAL},
        {"::ffff:8.8.8.8", LQ__ADDR_PUBLIC},
        {"64:ff9b::7f00:1", LQ__ADDR_LOOPBACK},
        {"64:ff9b::808:808", LQ__ADDR_PUBLIC},
        {"2002:7f00:1::", LQ__ADDR_LOOPBACK},
        {"2002:a00:1::1", LQ__ADDR_PRIVATE},
        {"fc00::1", LQ__ADDR_PRIVATE},
        {"fd00:ec2::254", LQ__ADDR_PRIVATE}, /* AWS metadata over IPv6 */
        {"fec0::1", LQ__ADDR_PRIVATE},
        {"fe80::1", LQ__ADDR_LINK_LOCAL},
        {"ff02::1", LQ__ADDR_MULTICAST},
        {"2001:db8::1", LQ__ADDR_RESERVED},
        {"2001::1", LQ__ADDR_RESERVED},
        {"100::1", LQ__ADDR_RESERVED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum lq__addr_class got = classify(cases[i].ip);
        if (got != cases[i].c)
            fail_msg("%s: got %s, want %s", cases[i].ip, lq__fetch_addr_class_name(got),
                     lq__fetch_addr_class_name(cases[i].c));
    }
    struct sockaddr_in short4;
    memset(&short4, 0, sizeof short4);
    short4.sin_family = AF_INET;
    assert_int_equal(lq__fetch_classify_addr((struct sockaddr *)&short4, 4), LQ__ADDR_RESERVED);
    assert_int_equal(lq__fetch_classify_addr(NULL, 0), LQ__ADDR_RESERVED);
    struct sockaddr unix_like = {.sa_family = AF_UNIX};
    assert_int_equal(lq__fetch_classify_addr(&unix_like, sizeof unix_like), LQ__ADDR_RESERVED);
}

static void allow_list_parses_and_matches(void **state)
{
    (void)state;
    lq__fetch_allowlist *al = malloc(sizeof *al);
    assert_non_null(al);
    char err[256];
    assert_int_equal(lq__fetch_allowlist_parse(" CDN.Example.com , *.media.example.net,10.0.0.7,"
                                               "[::1]", al, err, sizeof err), 0);
    assert_int_equal(al->count, 4);
    assert_true(lq__fetch_allowlist_match(al, "cdn.example.com"));
    assert_true(lq__fetch_allowlist_match(al, "CDN.EXAMPLE.COM."));
    assert_false(lq__fetch_allowlist_match(al, "example.com"));
    assert_false(lq__fetch_allowlist_match(al, "evil-cdn.example.com"));
    assert_false(lq__fetch_allowlist_match(al, "cdn.example.com.evil.org"));
    assert_true(lq__fetch_allowlist_match(al, "a.media.example.net"));
    assert_true(lq__fetch_allowlist_match(al, "a.b.media.example.net"));
    assert_false(lq__fetch_allowlist_match(al, "media.example.net"));
    assert_false(lq__fetch_allowlist_match(al, "xmedia.example.net"));
    assert_true(lq__fetch_allowlist_match(al, "10.0.0.7"));
    assert_false(lq__fetch_allowlist_match(al, "10.0.0.70"));
    assert_true(lq__fetch_allowlist_match(al, "[::1]"));
    assert_false(lq__fetch_allowlist_match(al, ""));
    assert_false(lq__fetch_allowlist_match(al, NULL));

    assert_int_equal(lq__fetch_allowlist_parse(NULL, al, err, sizeof err), 0);
    assert_int_equal(al->count, 0);
    assert_false(lq__fetch_allowlist_match(al, "cdn.example.com"));
    assert_int_equal(lq__fetch_allowlist_parse("   ", al, err, sizeof err), 0);
    assert_int_equal(al->count, 0);

    static const char *bad[] = {
        "a.com,,b.com", "a.com,", "*", "*.", "https://a.com", "a.com:443", "a.com/x",
        "a*.com", "*.*.com", "a..com", ".a.com", "a_b.com", "user@a.com", "[::1",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        if (lq__fetch_allowlist_parse(bad[i], al, err, sizeof err) != LQ_EINVAL)
            fail_msg("'%s' was accepted", bad[i]);
        assert_non_null(strstr(err, "allowed_hosts"));
    }
    char big[LQ_FETCH_MAX_HOSTS * 8 + 16];
    size_t n = 0;
    for (int i = 0; i <= LQ_FETCH_MAX_HOSTS; i++)
        n += (size_t)snprintf(big + n, sizeof big - n, "%sh%d.io", i ? "," : "", i);
    assert_int_equal(lq__fetch_allowlist_parse(big, al, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "more than"));
    free(al);
}

static void urls_are_checked_and_normalised(void **state)
{
    (void)state;
    lq__fetch_allowlist *al = malloc(sizeof *al);
    assert_non_null(al);
    char err[256], norm[LQ_FETCH_MAX_URL + 1], host[300], why[LQ_FETCH_REASON_MAX];
    assert_int_equal(lq__fetch_allowlist_parse("", al, err, sizeof err), 0);

    assert_int_equal(lq__fetch_check_url("HTTPS://CDN.Example.com/a/b.webp?x=1", al, norm,
                                         sizeof norm, host, sizeof host, why, sizeof why),
                     LQ_FETCH_OK);
    assert_string_equal(host, "cdn.example.com");
    assert_string_equal(why, "");
    assert_non_null(strstr(norm, "/a/b.webp?x=1"));
    assert_int_equal(strncmp(norm, "https://", 8), 0);

    assert_int_equal(lq__fetch_check_url("http://[::1]:8080/x.jpg", al, norm, sizeof norm, host,
                                         sizeof host, why, sizeof why),
                     LQ_FETCH_OK);
    assert_string_equal(host, "[::1]");

    static const struct {
        const char *url;
        enum lq_fetch_kind kind;
    } cases[] = {
        {"", LQ_FETCH_BAD_URL},
        {"/relative/path.jpg", LQ_FETCH_BAD_URL},
        {"cdn.example.com/x.jpg", LQ_FETCH_BAD_URL},
        {"http://", LQ_FETCH_BAD_URL},
        {"http://exa mple.com/", LQ_FETCH_BAD_URL},
        {"http://bad_host.com/", LQ_FETCH_BAD_URL},
        {"ftp://cdn.example.com/x.jpg", LQ_FETCH_BLOCKED},
        {"file:///etc/passwd", LQ_FETCH_BLOCKED},
        {"dict://127.0.0.1:11211/", LQ_FETCH_BLOCKED},
        {"gopher://127.0.0.1/", LQ_FETCH_BLOCKED},
        {"http://user@cdn.example.com/x.jpg", LQ_FETCH_BLOCKED},
        {"http://user:pw@cdn.example.com/x.jpg", LQ_FETCH_BLOCKED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum lq_fetch_kind k = lq__fetch_check_url(cases[i].url, al, norm, sizeof norm, host,
                                                   sizeof host, why, sizeof why);
        if (k != cases[i].kind)
            fail_msg("%s: %s (%s)", cases[i].url, lq_fetch_kind_name(k), why);
        assert_true(why[0] != 0);
        assert_string_equal(norm, "");
    }
    assert_int_equal(lq__fetch_check_url(NULL, al, norm, sizeof norm, host, sizeof host, why,
                                         sizeof why),
                     LQ_FETCH_BAD_URL);

    /* With an allow-list, only listed hosts pass. */
    assert_int_equal(lq__fetch_allowlist_parse("*.example.com", al, err, sizeof err), 0);
    assert_int_equal(lq__fetch_check_url("https://cdn.example.com/x.jpg", al, norm, sizeof norm,
                                         host, sizeof host, why, sizeof why),
                     LQ_FETCH_OK);
    assert_int_equal(lq__fetch_check_url("https://example.com.evil.org/x.jpg", al, norm,
                                         sizeof norm, host, sizeof host, why, sizeof why),
                     LQ_FETCH_BLOCKED);
    assert_non_null(strstr(why, "not on the allow-list"));
    /* curl decodes the host before we judge it: what is checked is what is
     * connected to. */
    assert_int_equal(lq__fetch_check_url("https://cdn.ex%61mple.com/x.jpg", al, norm,
                                         sizeof norm, host, sizeof host, why, sizeof why),
                     LQ_FETCH_OK);
    assert_string_equal(host, "cdn.example.com");
    free(al);
}

static void printable_prefix_is_safe_for_messages(void **state)
{
    (void)state;
    char out[32];
    static const uint8_t in[] = {'<', 'a', ' ', 'h', '=', '"', 'x', '\\', '\'', 0, 0xff, '\n'};
    lq__fetch_printable_prefix(in, sizeof in, out, sizeof out);
    assert_string_equal(out, "<a h=.x.....");
    lq__fetch_printable_prefix(in, sizeof in, out, 4);
    assert_string_equal(out, "<a ");
    lq__fetch_printable_prefix(NULL, 5, out, sizeof out);
    assert_string_equal(out, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(addresses_are_classified),
        cmocka_unit_test(allow_list_parses_and_matches),
        cmocka_unit_test(urls_are_checked_and_normalised),
        cmocka_unit_test(printable_prefix_is_safe_for_messages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
