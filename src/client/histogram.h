/*
 * histogram.h - a fixed-size latency histogram with percentiles.
 *
 *   lq_client_hist h;
 *   lq_client_hist_reset(&h);
 *   lq_client_hist_add(&h, 14250);                 // microseconds
 *   uint64_t p99 = lq_client_hist_percentile(&h, 99.0);
 *
 * Values are non-negative integers (the load generator records microseconds).
 * Buckets are log-linear: values below 128 have one bucket each; above, every
 * power of two is split into 64 equal buckets, so a percentile is within
 * 1/128 (0.8%) of the exact nearest-rank value of the samples. Values above
 * LQ_CLIENT_HIST_MAX_VALUE land in the last bucket (count, sum and max stay
 * exact). min, max, count and sum (hence the mean) are always exact.
 *
 * The histogram is plain data of fixed size (16 KiB, no pointers): it can be
 * embedded, copied and reset with memset; recording never allocates. Not
 * thread-safe: one writer, or a lock around it.
 */
#ifndef LQ_CLIENT_HISTOGRAM_H
#define LQ_CLIENT_HISTOGRAM_H

#include <stdint.h>

#define LQ_CLIENT_HIST_SUB_BITS 6                             /* 64 buckets per octave */
#define LQ_CLIENT_HIST_LINEAR (2u << LQ_CLIENT_HIST_SUB_BITS) /* 128 exact buckets */
#define LQ_CLIENT_HIST_MAX_BITS 36                            /* top octave: 2^36 - 1 */
#define LQ_CLIENT_HIST_MAX_VALUE ((UINT64_C(1) << LQ_CLIENT_HIST_MAX_BITS) - 1)
#define LQ_CLIENT_HIST_BUCKETS                                                                     \
    (LQ_CLIENT_HIST_LINEAR +                                                                       \
     (LQ_CLIENT_HIST_MAX_BITS - LQ_CLIENT_HIST_SUB_BITS - 1) * (1u << LQ_CLIENT_HIST_SUB_BITS))

typedef struct lq_client_hist {
    uint64_t count;
    uint64_t sum;
    uint64_t min; /* UINT64_MAX while empty */
    uint64_t max;
    uint64_t bucket[LQ_CLIENT_HIST_BUCKETS];
} lq_client_hist;

/* Empties the histogram. */
void lq_client_hist_reset(lq_client_hist *h);

/* Records one value. */
void lq_client_hist_add(lq_client_hist *h, uint64_t v);

/* Adds every sample of src into dst. */
void lq_client_hist_merge(lq_client_hist *dst, const lq_client_hist *src);

/* The nearest-rank percentile p (0..100; p <= 0 gives min, p >= 100 gives
 * max): the midpoint of the bucket holding the ceil(p/100 * count)-th
 * smallest sample, clamped to [min, max]. 0 for an empty histogram. */
uint64_t lq_client_hist_percentile(const lq_client_hist *h, double p);

/* Mean of the samples; 0 for an empty histogram. */
double lq_client_hist_mean(const lq_client_hist *h);

/* Bucket arithmetic, exposed for tests: the bucket of v, and the smallest
 * value and the width of bucket i (i < LQ_CLIENT_HIST_BUCKETS). */
unsigned lq_client_hist_bucket_of(uint64_t v);
uint64_t lq_client_hist_bucket_low(unsigned i);
uint64_t lq_client_hist_bucket_width(unsigned i);

#endif
