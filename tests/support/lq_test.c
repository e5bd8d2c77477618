#include "lq_test.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

uint8_t *lq_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    if (fseek(f, 0, SEEK_END) != 0) {
        fclose(f);
        return NULL;
    }
    long n = ftell(f);
    if (n < 0 || n > (256L << 20)) {
        fclose(f);
        return NULL;
    }
    rewind(f);
    uint8_t *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
        free(buf);
        fclose(f);
        return NULL;
    }
    buf[n] = 0;
    fclose(f);
    *len = (size_t)n;
    return buf;
}

float *lq_test_read_f32(const char *path, size_t count)
{
    size_t len = 0;
    uint8_t *b = lq_test_read_file(path, &len);
    if (!b || len != count * sizeof(float)) {
        free(b);
        return NULL;
    }
    float *f = malloc(len > 0 ? len : 1);
    for (size_t i = 0; f && i < count; i++) {
        uint32_t u = (uint32_t)b[4 * i] | ((uint32_t)b[4 * i + 1] << 8) |
                     ((uint32_t)b[4 * i + 2] << 16) | ((uint32_t)b[4 * i + 3] << 24);
        memcpy(&f[i], &u, sizeof u);
    }
    free(b);
    return f;
}

int lq_test_write_artifact(const char *name, const void *buf, size_t len)
{
    char dir[4096], path[4096 + 256];
    snprintf(dir, sizeof dir, "%s/test-output", LQ_BINARY_DIR);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f)
        return -1;
    size_t w = fwrite(buf, 1, len, f);
    fclose(f);
    return w == len ? 0 : -1;
}

const char *lq_test_data(const char *rel)
{
    static _Thread_local char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", LQ_SHARED_DATA, rel);
    return buf;
}

const char *lq_test_model(const char *name)
{
    static _Thread_local char buf[4096];
    snprintf(buf, sizeof buf, "%s/%s", LQ_MODELS_DIR, name);
    return buf;
}

int lq_test_exists(const char *path)
{
    return access(path, R_OK) == 0;
}

void lq_test_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}
