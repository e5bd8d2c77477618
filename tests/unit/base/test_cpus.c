/* test_cpus.c - usable CPU count and the cgroup cpu.max parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <unistd.h>

#include "base/cpus.h"

static void parses_cpu_max(void **s)
{
    (void)s;
    assert_int_equal(lq_cpus_parse_cpu_max("max 100000\n"), 0);
    assert_int_equal(lq_cpus_parse_cpu_max("200000 100000\n"), 2);
    assert_int_equal(lq_cpus_parse_cpu_max("150000 100000"), 2); /* 1.5 CPUs -> 2 */
    assert_int_equal(lq_cpus_parse_cpu_max("50000 100000"), 1);
    assert_int_equal(lq_cpus_parse_cpu_max(""), -1);
    assert_int_equal(lq_cpus_parse_cpu_max("max"), -1);
    assert_int_equal(lq_cpus_parse_cpu_max("abc 100000"), -1);
    assert_int_equal(lq_cpus_parse_cpu_max("-5 100000"), -1);
    assert_int_equal(lq_cpus_parse_cpu_max("100000 0"), -1);
    assert_int_equal(lq_cpus_parse_cpu_max(NULL), -1);
    assert_int_equal(lq_cpus_parse_cpu_max("999999999999999 1"), 4096);
}

static void usable_is_within_online(void **s)
{
    (void)s;
    int n = lq_cpus_usable();
    assert_true(n >= 1);
    assert_true(n <= sysconf(_SC_NPROCESSORS_ONLN));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parses_cpu_max),
        cmocka_unit_test(usable_is_within_online),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
