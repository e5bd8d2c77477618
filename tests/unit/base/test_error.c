#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/error.h"
#include "lq_test.h"

static void every_code_has_a_distinct_name_and_message(void **state)
{
    (void)state;
    static const int codes[] = {
#define X(name, val, msg) LQ_##name,
        LQ_ERRNO_MAP(X)
#undef X
    };
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        assert_true(codes[i] < 0);
        assert_string_not_equal(lq_strerror(codes[i]), "unknown error");
        assert_string_not_equal(lq_err_name(codes[i]), "LQ_UNKNOWN");
        for (size_t j = i + 1; j < n; j++) {
            assert_int_not_equal(codes[i], codes[j]);
            assert_string_not_equal(lq_err_name(codes[i]), lq_err_name(codes[j]));
        }
    }
    assert_string_equal(lq_err_name(LQ_EINVAL), "LQ_EINVAL");
    assert_string_equal(lq_strerror(0), "success");
}

static void unknown_codes_are_named_unknown(void **state)
{
    (void)state;
    assert_string_equal(lq_strerror(-9999), "unknown error");
    assert_string_equal(lq_err_name(12345), "LQ_UNKNOWN");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_code_has_a_distinct_name_and_message),
        cmocka_unit_test(unknown_codes_are_named_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
