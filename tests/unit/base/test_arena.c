#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "base/arena.h"
#include "lq_test.h"

static void allocations_are_aligned_and_distinct(void **state)
{
    (void)state;
    lq_arena *a = NULL;
    assert_int_equal(lq_arena_create(256, &a), 0);
    unsigned char *p = lq_arena_alloc(a, 10);
    unsigned char *q = lq_arena_alloc(a, 100);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal((uintptr_t)p % 64, 0);
    assert_int_equal((uintptr_t)q % 64, 0);
    assert_true(q >= p + 10 || p >= q + 100);
    memset(p, 1, 10);
    memset(q, 2, 100);
    assert_int_equal(p[9], 1);
    lq_arena_destroy(a);
}

static void grows_past_initial_size_and_coalesces_on_reset(void **state)
{
    (void)state;
    lq_arena *a = NULL;
    assert_int_equal(lq_arena_create(128, &a), 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 50; i++) {
            unsigned char *p = lq_arena_alloc(a, 1000);
            assert_non_null(p);
            memset(p, i, 1000);
        }
        assert_true(lq_arena_used(a) >= 50000);
        lq_arena_reset(a);
        assert_int_equal(lq_arena_used(a), 0);
    }
    lq_arena_destroy(a);
}

static void refuses_absurd_sizes(void **state)
{
    (void)state;
    lq_arena *a = NULL;
    assert_int_equal(lq_arena_create(0, &a), 0);
    assert_null(lq_arena_alloc(a, LQ_ARENA_MAX_ALLOC + 1));
    assert_null(lq_arena_alloc(a, SIZE_MAX));
    lq_arena_destroy(a);
    assert_int_equal(lq_arena_create(16, NULL), LQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(allocations_are_aligned_and_distinct),
        cmocka_unit_test(grows_past_initial_size_and_coalesces_on_reset),
        cmocka_unit_test(refuses_absurd_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
