/*
 * lq_test.h - shared helpers for unit tests (never linked into the product).
 *
 * Include after <stdarg.h>, <stddef.h>, <setjmp.h>, <stdint.h> and <cmocka.h>.
 */
#ifndef LQ_TEST_H
#define LQ_TEST_H

#include <stddef.h>
#include <stdint.h>

/* Reads a whole file (at most 256 MiB) into a malloc'd buffer the caller frees.
 * Returns NULL (and *len untouched) if it cannot. */
uint8_t *lq_test_read_file(const char *path, size_t *len);

/* Reads exactly count little-endian float32 values (a torch reference
 * output, say) into a malloc'd array the caller frees; NULL if the file is
 * missing or not count * 4 bytes long. */
float *lq_test_read_f32(const char *path, size_t count);

/* Writes buf into "<build>/test-output/<name>" (creating the folder) and
 * returns 0; tests use it to keep artifacts a person can look at. */
int lq_test_write_artifact(const char *name, const void *buf, size_t len);

/* Formats "<LQ_SHARED_DATA>/<rel>" into a static thread-local buffer. */
const char *lq_test_data(const char *rel);

/* Formats "<LQ_MODELS_DIR>/<name>" into a static thread-local buffer. */
const char *lq_test_model(const char *name);

/* 1 if the path exists and is readable. */
int lq_test_exists(const char *path);

/* Sleeps ms milliseconds (0 <= ms). */
void lq_test_sleep_ms(int ms);

#endif
