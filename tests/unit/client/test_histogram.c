/*
 * test_histogram.c - src/client/histogram.c: bucket arithmetic and
 * percentiles against the exact nearest-rank values of sorted samples.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "client/histogram.h"
#include "lq_test.h"

static int cmp_u64(const void *a, const void *b)
{
    const uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t exact_rank(const uint64_t *sorted, size_t n, double p)
{
    size_t rank = (size_t)ceil(p / 100.0 * (double)n);
    if (rank < 1)
        rank = 1;
    return sorted[rank - 1];
}

static void buckets_tile_the_range(void **state)
{
    (void)state;
    /* Every bucket starts where the previous one ends, and every value maps
     * to the bucket that contains it. */
    uint64_t next = 0;
    for (unsigned i = 0; i < LQ_CLIENT_HIST_BUCKETS; i++) {
        assert_int_equal(lq_client_hist_bucket_low(i), next);
        const uint64_t w = lq_client_hist_bucket_width(i);
        assert_true(w >= 1);
        assert_int_equal(lq_client_hist_bucket_of(next), i);
        assert_int_equal(lq_client_hist_bucket_of(next + w - 1), i);
        /* relative width at most 1/64 above the linear range */
        if (i >= LQ_CLIENT_HIST_LINEAR)
            assert_true(w * 64 <= lq_client_hist_bucket_low(i));
        next += w;
    }
    assert_int_equal(next - 1, LQ_CLIENT_HIST_MAX_VALUE);
    assert_int_equal(lq_client_hist_bucket_of(UINT64_MAX), LQ_CLIENT_HIST_BUCKETS - 1);
}

static void small_values_are_exact(void **state)
{
    (void)state;
    lq_client_hist h;
    lq_client_hist_reset(&h);
    for (uint64_t v = 1; v <= 100; v++)
        lq_client_hist_add(&h, v);
    assert_int_equal(h.count, 100);
    assert_int_equal(lq_client_hist_percentile(&h, 50), 50);
    assert_int_equal(lq_client_hist_percentile(&h, 95), 95);
    assert_int_equal(lq_client_hist_percentile(&h, 99), 99);
    assert_int_equal(lq_client_hist_percentile(&h, 100), 100);
    assert_int_equal(lq_client_hist_percentile(&h, 0), 1);
    assert_true(fabs(lq_client_hist_mean(&h) - 50.5) < 1e-9);
}

static void percentiles_within_one_percent_of_exact(void **state)
{
    (void)state;
    enum { N = 20000 };
    uint64_t *v = malloc(N * sizeof *v);
    assert_non_null(v);
    srand(7);
    lq_client_hist h;
    lq_client_hist_reset(&h);
    for (int i = 0; i < N; i++) {
        /* a latency-like long tail: 5..200 ms in microseconds */
        double u = (rand() + 1.0) / (RAND_MAX + 2.0);
        v[i] = (uint64_t)(5000.0 * pow(40.0, u * u * u));
        lq_client_hist_add(&h, v[i]);
    }
    qsort(v, N, sizeof *v, cmp_u64);
    const double ps[] = {1, 10, 50, 90, 95, 99, 99.9};
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        const double exact = (double)exact_rank(v, N, ps[k]);
        const double got = (double)lq_client_hist_percentile(&h, ps[k]);
        assert_true(fabs(got - exact) <= exact / 100.0);
    }
    assert_int_equal(h.min, v[0]);
    assert_int_equal(h.max, v[N - 1]);
    free(v);
}

static void merge_equals_adding_everything(void **state)
{
    (void)state;
    lq_client_hist a, b, all;
    lq_client_hist_reset(&a);
    lq_client_hist_reset(&b);
    lq_client_hist_reset(&all);
    for (uint64_t i = 0; i < 5000; i++) {
        uint64_t x = (i * 7919) % 100000 + 1;
        lq_client_hist_add(i % 3 ? &a : &b, x);
        lq_client_hist_add(&all, x);
    }
    lq_client_hist_merge(&a, &b);
    assert_int_equal(a.count, all.count);
    assert_int_equal(a.sum, all.sum);
    assert_int_equal(a.min, all.min);
    assert_int_equal(a.max, all.max);
    assert_memory_equal(a.bucket, all.bucket, sizeof a.bucket);
    lq_client_hist empty;
    lq_client_hist_reset(&empty);
    lq_client_hist_merge(&a, &empty);
    assert_int_equal(a.count, all.count);
}

static void empty_and_huge_values(void **state)
{
    (void)state;
    lq_client_hist h;
    lq_client_hist_reset(&h);
    assert_int_equal(lq_client_hist_percentile(&h, 50), 0);
    assert_true(lq_client_hist_mean(&h) == 0.0);
    lq_client_hist_add(&h, UINT64_C(1) << 50); /* over the top bucket: clamped, max exact */
    assert_int_equal(h.max, UINT64_C(1) << 50);
    assert_int_equal(lq_client_hist_percentile(&h, 50), UINT64_C(1) << 50);
    lq_client_hist_add(&h, 0);
    assert_int_equal(lq_client_hist_percentile(&h, 50), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(buckets_tile_the_range),
        cmocka_unit_test(small_values_are_exact),
        cmocka_unit_test(percentiles_within_one_percent_of_exact),
        cmocka_unit_test(merge_equals_adding_everything),
        cmocka_unit_test(empty_and_huge_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
