/* histogram.c - log-linear latency histogram (see histogram.h). */
#include "client/histogram.h"

#include <math.h>
#include <string.h>

#define SUB (1u << LQ_CLIENT_HIST_SUB_BITS)

void lq_client_hist_reset(lq_client_hist *h)
{
    memset(h, 0, sizeof *h);
    h->min = UINT64_MAX;
}

unsigned lq_client_hist_bucket_of(uint64_t v)
{
    if (v < LQ_CLIENT_HIST_LINEAR)
        return (unsigned)v;
    if (v > LQ_CLIENT_HIST_MAX_VALUE)
        return LQ_CLIENT_HIST_BUCKETS - 1;
    const unsigned msb = 63u - (unsigned)__builtin_clzll(v); /* >= SUB_BITS + 1 */
    const unsigned shift = msb - LQ_CLIENT_HIST_SUB_BITS;
    const unsigned sub = (unsigned)(v >> shift) & (SUB - 1);
    return LQ_CLIENT_HIST_LINEAR + (msb - LQ_CLIENT_HIST_SUB_BITS - 1) * SUB + sub;
}

uint64_t lq_client_hist_bucket_low(unsigned i)
{
    if (i < LQ_CLIENT_HIST_LINEAR)
        return i;
    const unsigned octave = (i - LQ_CLIENT_HIST_LINEAR) / SUB; /* msb - SUB_BITS - 1 */
    const unsigned sub = (i - LQ_CLIENT_HIST_LINEAR) % SUB;
    return (uint64_t)(SUB + sub) << (octave + 1);
}

uint64_t lq_client_hist_bucket_width(unsigned i)
{
    if (i < LQ_CLIENT_HIST_LINEAR)
        return 1;
    return UINT64_C(1) << ((i - LQ_CLIENT_HIST_LINEAR) / SUB + 1);
}

void lq_client_hist_add(lq_client_hist *h, uint64_t v)
{
    h->bucket[lq_client_hist_bucket_of(v)]++;
    h->count++;
    h->sum += v;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void lq_client_hist_merge(lq_client_hist *dst, const lq_client_hist *src)
{
    if (src->count == 0)
        return;
    for (unsigned i = 0; i < LQ_CLIENT_HIST_BUCKETS; i++)
        dst->bucket[i] += src->bucket[i];
    dst->count += src->count;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t lq_client_hist_percentile(const lq_client_hist *h, double p)
{
    if (h->count == 0)
        return 0;
    if (!(p > 0))
        return h->min;
    if (p >= 100)
        return h->max;
    uint64_t rank = (uint64_t)ceil(p / 100.0 * (double)h->count);
    if (rank < 1)
        rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < LQ_CLIENT_HIST_BUCKETS; i++) {
        seen += h->bucket[i];
        if (seen >= rank) {
            uint64_t v = lq_client_hist_bucket_low(i) + lq_client_hist_bucket_width(i) / 2;
            if (v < h->min)
                v = h->min;
            if (v > h->max)
                v = h->max;
            return v;
        }
    }
    return h->max;
}

double lq_client_hist_mean(const lq_client_hist *h)
{
    return h->count ? (double)h->sum / (double)h->count : 0.0;
}
