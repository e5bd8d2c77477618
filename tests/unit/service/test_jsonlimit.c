/* Tests src/service/jsonlimit.c: the weight JSON_MAX_SIZE bounds. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq_test.h"
#include "service/jsonlimit.h"

static size_t w(const char *s)
{
    return svc_json_weight(s, strlen(s));
}

static void one_large_string_is_free(void **state)
{
    (void)state;
    assert_int_equal(w(""), 0);
    assert_int_equal(w("{}"), 2);
    assert_int_equal(w("\"abc\""), 0);
    /* {"a":"xyz"}: 11 bytes, the longest literal is "xyz" (5 with quotes) */
    assert_int_equal(w("{\"a\":\"xyz\"}"), 6);
    /* a base64 frame: only the envelope counts */
    size_t n = 1 << 20;
    char *msg = malloc(n + 200);
    int head = snprintf(msg, 200, "{\"type\":\"process_frame\",\"session_id\":\"s1\",\"sequence\":1,"
                                  "\"frame_data\":\"");
    memset(msg + head, 'A', n);
    strcpy(msg + head + n, "\"}");
    size_t len = strlen(msg);
    assert_int_equal(svc_json_weight(msg, len), len - (n + 2));
    assert_true(svc_json_weight(msg, len) < 100);
    free(msg);
}

static void many_values_weigh_what_they_are(void **state)
{
    (void)state;
    /* "[1,1,1,...]": no string at all, the whole message counts */
    size_t n = 100000;
    char *msg = malloc(2 * n + 2);
    msg[0] = '[';
    for (size_t i = 0; i < n; i++) {
        msg[1 + 2 * i] = '1';
        msg[2 + 2 * i] = ',';
    }
    msg[2 * n] = ']';
    msg[2 * n + 1] = '\0';
    assert_int_equal(svc_json_weight(msg, 2 * n + 1), 2 * n + 1);
    free(msg);
    /* two big strings: only the longest is free */
    assert_int_equal(w("[\"aaaa\",\"bbbbbb\"]"), 17 - 8);
}

static void escapes_and_unterminated_strings(void **state)
{
    (void)state;
    /* an escaped quote does not end the string */
    assert_int_equal(w("[\"a\\\"b\\\\\",1]"), 4); /* 12 bytes, the string 8 */
    /* unterminated: the string runs to the end */
    assert_int_equal(w("{\"k\":\"abcdef"), 5);
    assert_int_equal(w("\"\\"), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(one_large_string_is_free),
        cmocka_unit_test(many_values_weigh_what_they_are),
        cmocka_unit_test(escapes_and_unterminated_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
