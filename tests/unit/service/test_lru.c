#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq_test.h"
#include "service/lru.h"

/* Values are heap ints; freeing one records its number so tests can see
 * exactly which entries were evicted. */
static int g_freed[64];
static int g_nfreed;

static void free_value(void *v)
{
    int *p = v;
    if (g_nfreed < 64)
        g_freed[g_nfreed] = *p;
    g_nfreed++;
    free(p);
}

static int *val(int n)
{
    int *p = malloc(sizeof *p);
    assert_non_null(p);
    *p = n;
    return p;
}

static int reset_freed(void **state)
{
    (void)state;
    g_nfreed = 0;
    memset(g_freed, 0, sizeof g_freed);
    return 0;
}

static void get_returns_what_was_put(void **state)
{
    (void)state;
    lq_lru *c = NULL;
    assert_int_equal(lq_lru_create(4, 1000, 0, free_value, &c), 0);
    assert_int_equal(lq_lru_put(c, "http://a/1.jpg", val(1), 10, 0), 0);
    assert_int_equal(lq_lru_put(c, "http://a/2.jpg", val(2), 20, 0), 0);
    int *v = lq_lru_get(c, "http://a/1.jpg", 0);
    assert_non_null(v);
    assert_int_equal(*v, 1);
    v = lq_lru_get(c, "http://a/2.jpg", 0);
    assert_non_null(v);
    assert_int_equal(*v, 2);
    assert_null(lq_lru_get(c, "http://a/3.jpg", 0));
    assert_int_equal(lq_lru_count(c), 2);
    assert_int_equal(lq_lru_bytes(c), 30);
    lq_lru_destroy(c);
    assert_int_equal(g_nfreed, 2);
}

static void count_cap_evicts_least_recently_used(void **state)
{
    (void)state;
    lq_lru *c = NULL;
    assert_int_equal(lq_lru_create(3, 1000, 0, free_value, &c), 0);
    assert_int_equal(lq_lru_put(c, "a", val(1), 1, 0), 0);
    assert_int_equal(lq_lru_put(c, "b", val(2), 1, 0), 0);
    assert_int_equal(lq_lru_put(c, "c", val(3), 1, 0), 0);
    /* Touch "a": now "b" is the least recently used. */
    assert_non_null(lq_lru_get(c, "a", 0));
    assert_int_equal(lq_lru_put(c, "d", val(4), 1, 0), 0);
    assert_int_equal(g_nfreed, 1);
    assert_int_equal(g_freed[0], 2);
    assert_null(lq_lru_get(c, "b", 0));
    assert_non_null(lq_lru_get(c, "a", 0));
    assert_non_null(lq_lru_get(c, "c", 0));
    assert_non_null(lq_lru_get(c, "d", 0));
    assert_int_equal(lq_lru_count(c), 3);
    assert_int_equal(lq_lru_evictions(c), 1);
    lq_lru_destroy(c);
}

static void byte_cap_evicts_until_it_fits(void **state)
{
    (void)state;
    lq_lru *c = NULL;
    assert_int_equal(lq_lru_create(100, 100, 0, free_value, &c), 0);
    assert_int_equal(lq_lru_put(c, "a", val(1), 40, 0), 0);
    assert_int_equal(lq_lru_put(c, "b", val(2), 40, 0), 0);
    assert_int_equal(lq_lru_put(c, "c", val(3), 10, 0), 0);
    /* 90 used; 70 more needs "a" and "b" gone (oldest first), "c" stays. */
    assert_int_equal(lq_lru_put(c, "d", val(4), 70, 0), 0);
    assert_int_equal(g_nfreed, 2);
    assert_int_equal(g_freed[0], 1);
    assert_int_equal(g_freed[1], 2);
    assert_int_equal(lq_lru_bytes(c), 80);
    assert_int_equal(lq_lru_count(c), 2);
    assert_non_null(lq_lru_get(c, "c", 0));
    assert_non_null(lq_lru_get(c, "d", 0));
    lq_lru_destroy(c);
}

static void oversized_value_is_refused_and_stays_with_caller(void **state)
{
    (void)state;
    lq_lru *c = NULL;
    assert_int_equal(lq_lru_create(4, 100, 0, free_value, &c), 0);
    assert_int_equal(lq_lru_put(c, "a", val(1), 50, 0), 0);
    int *big = val(9);
    assert_int_equal(lq_lru_put(c, "big", big, 101, 0), LQ_ELIMIT);
    assert_int_equal(g_nfreed, 0); /* nothing evicted for a value that can't fit */
    assert_int_equal(lq_lru_count(c), 1);
    assert_null(lq_lru_get(c, "big", 0));
    free(big);
    lq_lru_destroy(c);
}

static void replacing_a_key_frees_the_old_value(void **state)
{
    (void)state;
    lq_lru *c = NULL;
    assert_int_equal(lq_lru_create(4, 100, 0, free_value, &c), 0);
    assert_int_equal(lq_lru_put(c, "k", val(1), 30, 0), 0);
    assert_int_equal(lq_lru_put(c, "k", val(2), 20, 0), 0);
    assert_int_equal(g_nfreed, 1);
    assert_int_equal(g_freed[0], 1);
    assert_int_equal(lq_lru_count(c), 1);
    assert_int_equal(lq_lru_bytes(c), 20);
    assert_int_equal(*(int *)lq_lru_get(c, "k", 0), 2);
    assert_int_equal(lq_lru_evictions(c), 0);
    lq_lru_destroy(c);
}

static void entries_expire_after_ttl(void **state)
{
    (void)state;
    lq_lru *c = NULL;
    assert_int_equal(lq_lru_create(4, 100, 1000, free_value, &c), 0);
    assert_int_equal(lq_lru_put(c, "old", val(1), 1, 0), 0);
    assert_int_equal(lq_lru_put(c, "new", val(2), 1, 600), 0);
    assert_non_null(lq_lru_get(c, "old", 999));
    assert_null(lq_lru_get(c, "old", 1000)); /* expired: removed and freed */
    assert_int_equal(g_nfreed, 1);
    assert_int_equal(lq_lru_count(c), 1);
    /* A put sweeps other expired entries even when there is room. */
    assert_int_equal(lq_lru_put(c, "x", val(3), 1, 1700), 0);
    assert_int_equal(g_nfreed, 2);
    assert_int_equal(g_freed[1], 2);
    assert_int_equal(lq_lru_count(c), 1);
    assert_int_equal(lq_lru_evictions(c), 2);
    lq_lru_destroy(c);
}

static void remove_and_bad_arguments(void **state)
{
    (void)state;
    lq_lru *c = NULL;
    assert_int_equal(lq_lru_create(0, 100, 0, free_value, &c), LQ_EINVAL);
    assert_int_equal(lq_lru_create(LQ_LRU_MAX_ENTRIES + 1, 100, 0, free_value, &c), LQ_EINVAL);
    assert_int_equal(lq_lru_create(4, 0, 0, free_value, &c), LQ_EINVAL);
    assert_int_equal(lq_lru_create(4, 100, -1, free_value, &c), LQ_EINVAL);
    assert_null(c);
    assert_int_equal(lq_lru_create(4, 100, 0, free_value, &c), 0);
    assert_int_equal(lq_lru_put(c, NULL, NULL, 1, 0), LQ_EINVAL);
    char *longkey = malloc(LQ_LRU_MAX_KEY + 2);
    assert_non_null(longkey);
    memset(longkey, 'k', LQ_LRU_MAX_KEY + 1);
    longkey[LQ_LRU_MAX_KEY + 1] = 0;
    assert_int_equal(lq_lru_put(c, longkey, NULL, 1, 0), LQ_EINVAL);
    assert_null(lq_lru_get(c, longkey, 0));
    free(longkey);
    assert_int_equal(lq_lru_put(c, "a", val(1), 1, 0), 0);
    assert_int_equal(lq_lru_remove(c, "a"), 0);
    assert_int_equal(lq_lru_remove(c, "a"), LQ_ENOTFOUND);
    assert_int_equal(g_nfreed, 1);
    assert_int_equal(lq_lru_count(c), 0);
    assert_int_equal(lq_lru_bytes(c), 0);
    lq_lru_destroy(c);
    lq_lru_destroy(NULL);
}

/* Many keys through a small cache: the structure stays consistent (every key
 * that is reported present returns its own value, counts match). */
static void churn_keeps_structure_consistent(void **state)
{
    (void)state;
    lq_lru *c = NULL;
    assert_int_equal(lq_lru_create(8, 64, 0, free_value, &c), 0);
    char key[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(key, sizeof key, "k%d", (i * 7919) % 50);
        int *got = lq_lru_get(c, key, i);
        if (got)
            assert_int_equal(*got % 50, (i * 7919) % 50);
        else
            assert_int_equal(lq_lru_put(c, key, val((i * 7919) % 50 + 50 * (i % 3)),
                                        (size_t)(1 + i % 13), i), 0);
        assert_true(lq_lru_count(c) <= 8);
        assert_true(lq_lru_bytes(c) <= 64);
    }
    size_t n = lq_lru_count(c);
    int before = g_nfreed;
    lq_lru_destroy(c);
    assert_int_equal((size_t)(g_nfreed - before), n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(get_returns_what_was_put, reset_freed),
        cmocka_unit_test_setup(count_cap_evicts_least_recently_used, reset_freed),
        cmocka_unit_test_setup(byte_cap_evicts_until_it_fits, reset_freed),
        cmocka_unit_test_setup(oversized_value_is_refused_and_stays_with_caller, reset_freed),
        cmocka_unit_test_setup(replacing_a_key_frees_the_old_value, reset_freed),
        cmocka_unit_test_setup(entries_expire_after_ttl, reset_freed),
        cmocka_unit_test_setup(remove_and_bad_arguments, reset_freed),
        cmocka_unit_test_setup(churn_keeps_structure_consistent, reset_freed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
