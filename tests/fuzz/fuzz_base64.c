/*
 * fuzz_base64.c - libFuzzer target for the base64 path of process_frame
 * (ws_base64_decode / ws_base64_encode in src/service/protocol.c, sized as
 * the worker sizes its buffer in src/service/pipeline.c).
 *
 *   CC=clang cmake -S . -B build-fuzz -DLQ_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_base64
 *   build-fuzz/tests/fuzz/fuzz_base64 \
 *       /tmp/work tests/fuzz/corpus/base64
 *
 * Invariants checked beyond "no crash" (every buffer is a heap block of the
 * exact size, so ASan catches a write one past the end):
 *  - decoding into ws_base64_decoded_max(len) bytes never reports LQ_ELIMIT:
 *    the worker's buffer is always big enough; any result is 0 or LQ_EFORMAT;
 *  - decoding into a buffer one byte too small fails with LQ_ELIMIT and the
 *    output length is untouched on every failure;
 *  - what decodes re-encodes to text that decodes to the same bytes; the
 *    input taken as bytes encodes (exactly ws_base64_encoded_len characters
 *    of the standard alphabet) and decodes back to itself, also in the
 *    URL-safe alphabet, unpadded, wrapped in lines, and behind a data: prefix.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t *dup_bytes(const void *p, size_t n)
{
    uint8_t *b = malloc(n ? n : 1);
    if (!b)
        abort();
    memcpy(b, p, n);
    return b;
}

/* Decodes text[0..n) into an exact-size buffer; aborts unless it gives want. */
static void expect_decodes_to(const char *text, size_t n, const uint8_t *want, size_t want_len)
{
    char *in = (char *)dup_bytes(text, n);
    size_t cap = ws_base64_decoded_max(n);
    uint8_t *out = malloc(cap);
    size_t got = (size_t)-1;
    if (ws_base64_decode(in, n, out, cap, &got) != 0 || got != want_len ||
        memcmp(out, want, want_len) != 0)
        abort();
    free(out);
    free(in);
}

static void roundtrip(const uint8_t *data, size_t size)
{
    size_t elen = ws_base64_encoded_len(size);
    char *enc = malloc(elen ? elen : 1);
    ws_base64_encode(data, size, enc);
    for (size_t i = 0; i < elen; i++) {
        char c = enc[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/' || (c == '=' && i + 2 >= elen);
        if (!ok)
            abort();
    }
    expect_decodes_to(enc, elen, data, size);

    /* URL-safe alphabet without padding */
    size_t ulen = elen;
    while (ulen && enc[ulen - 1] == '=')
        ulen--;
    char *url = (char *)dup_bytes(enc, ulen);
    for (size_t i = 0; i < ulen; i++)
        url[i] = url[i] == '+' ? '-' : url[i] == '/' ? '_' : url[i];
    expect_decodes_to(url, ulen, data, size);
    free(url);

    /* MIME-style lines and a data: URL prefix */
    static const char prefix[] = "data:image/webp;base64,";
    size_t wlen = (sizeof prefix - 1) + elen + 2 * (elen / 76 + 1);
    char *wrapped = malloc(wlen);
    size_t o = 0;
    memcpy(wrapped, prefix, sizeof prefix - 1);
    o += sizeof prefix - 1;
    for (size_t i = 0; i < elen; i++) {
        if (i && i % 76 == 0) {
            wrapped[o++] = '\r';
            wrapped[o++] = '\n';
        }
        wrapped[o++] = enc[i];
    }
    expect_decodes_to(wrapped, o, data, size);
    free(wrapped);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* 1. the input as base64 text, with the worker's buffer size */
    char *in = (char *)dup_bytes(data, size);
    size_t cap = ws_base64_decoded_max(size);
    uint8_t *out = malloc(cap);
    size_t n = 12345;
    int rc = ws_base64_decode(in, size, out, cap, &n);
    if (rc != 0 && (rc != LQ_EFORMAT || n != 12345))
        abort();
    if (rc == 0) {
        if (n > cap)
            abort();
        /* the same text into a buffer one byte short: LQ_ELIMIT, n untouched */
        if (n > 0) {
            uint8_t *small = malloc(n - 1 ? n - 1 : 1);
            size_t m = 777;
            if (ws_base64_decode(in, size, small, n - 1, &m) != LQ_ELIMIT || m != 777)
                abort();
            free(small);
        }
        /* canonical re-encoding decodes to the same bytes */
        uint8_t *copy = dup_bytes(out, n);
        size_t elen = ws_base64_encoded_len(n);
        char *enc = malloc(elen ? elen : 1);
        ws_base64_encode(copy, n, enc);
        expect_decodes_to(enc, elen, copy, n);
        free(enc);
        free(copy);
    }
    free(out);
    free(in);

    /* 2. the input as bytes to carry */
    roundtrip(data, size);
    return 0;
}
