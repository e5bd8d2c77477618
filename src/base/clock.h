/*
 * clock.h - monotonic and wall-clock time helpers. Thread-safe.
 */
#ifndef LQ_BASE_CLOCK_H
#define LQ_BASE_CLOCK_H

#include <stdint.h>

/* Monotonic time in nanoseconds (CLOCK_MONOTONIC); for measuring intervals. */
uint64_t lq_clock_ns(void);

/* Monotonic time in milliseconds as a double, for stage timings. */
double lq_clock_ms(void);

/* Wall-clock Unix epoch milliseconds; for protocol timestamps. */
int64_t lq_clock_epoch_ms(void);

#endif
