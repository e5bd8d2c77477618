/* test_chunked.c - HTTP/1.1 chunked request bodies (src/service/chunked.c): what curl
 * sends, extensions and trailers, every piece size, bytes after the body, and each
 * malformed case. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lq_test.h"
#include "service/chunked.h"

/* Decodes in pieces of `step` (0 = whole); returns the last code, the body in out. */
static int decode(const char *in, size_t len, size_t step, char *out, size_t *out_len,
                  size_t *consumed, http_chunked *d)
{
    http_chunked_init(d);
    *out_len = 0;
    *consumed = 0;
    int rc = HTTP_CHUNKED_MORE;
    size_t pos = 0;
    while (pos < len && rc == HTTP_CHUNKED_MORE) {
        size_t piece = step ? step : len;
        if (piece > len - pos)
            piece = len - pos;
        const uint8_t *p = (const uint8_t *)in + pos;
        size_t left = piece;
        while (left > 0) {
            const uint8_t *part;
            size_t part_len, used;
            rc = http_chunked_feed(d, p, left, &used, &part, &part_len);
            if (rc < 0)
                return rc;
            if (part_len)
                memcpy(out + *out_len, part, part_len);
            *out_len += part_len;
            p += used;
            left -= used;
            *consumed += used;
            if (rc == HTTP_CHUNKED_DONE)
                break;
        }
        pos += piece;
    }
    return rc;
}

static void curl_style_body_in_every_piece_size(void **state)
{
    (void)state;
    const char in[] = "5\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n";
    for (size_t step = 0; step <= sizeof in - 1; step++) {
        char out[64];
        size_t n, used;
        http_chunked d;
        assert_int_equal(decode(in, sizeof in - 1, step, out, &n, &used, &d), HTTP_CHUNKED_DONE);
        assert_int_equal(n, 31);
        assert_memory_equal(out, "helloabcdefghijklmnopqrstuvwxyz", 31);
        assert_int_equal(used, sizeof in - 1);
        assert_true(http_chunked_done(&d));
        assert_int_equal(d.decoded, 31);
    }
}

static void extensions_trailers_and_upper_case_hex(void **state)
{
    (void)state;
    const char in[] = "A;name=value\r\n0123456789\r\n0;last\r\nX-Check: 1\r\nY: 2\r\n\r\n";
    char out[32];
    size_t n, used;
    http_chunked d;
    assert_int_equal(decode(in, sizeof in - 1, 1, out, &n, &used, &d), HTTP_CHUNKED_DONE);
    assert_int_equal(n, 10);
    assert_memory_equal(out, "0123456789", 10);
}

static void bytes_after_the_body_are_not_consumed(void **state)
{
    (void)state;
    const char in[] = "3\r\nabc\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    char out[32];
    size_t n, used;
    http_chunked d;
    assert_int_equal(decode(in, sizeof in - 1, 0, out, &n, &used, &d), HTTP_CHUNKED_DONE);
    assert_int_equal(n, 3);
    assert_int_equal(used, 13);
}

static void empty_body(void **state)
{
    (void)state;
    char out[8];
    size_t n, used;
    http_chunked d;
    assert_int_equal(decode("0\r\n\r\n", 5, 0, out, &n, &used, &d), HTTP_CHUNKED_DONE);
    assert_int_equal(n, 0);
    /* not finished yet: more input needed */
    assert_int_equal(decode("0\r\n", 3, 0, out, &n, &used, &d), HTTP_CHUNKED_MORE);
    assert_false(http_chunked_done(&d));
}

static void expect_bad(const char *in, int code, const char *needle)
{
    char out[256];
    size_t n, used;
    http_chunked d;
    assert_int_equal(decode(in, strlen(in), 0, out, &n, &used, &d), code);
    if (!strstr(d.err, needle))
        fail_msg("'%s' lacks '%s'", d.err, needle);
    /* a failed decoder refuses the rest */
    const uint8_t *part;
    size_t part_len;
    assert_int_equal(
        http_chunked_feed(&d, (const uint8_t *)"0\r\n\r\n", 5, &used, &part, &part_len),
        LQ_EFORMAT);
    assert_int_equal(used, 0);
}

static void malformed_bodies(void **state)
{
    (void)state;
    expect_bad("xyz\r\n", LQ_EFORMAT, "not a hexadecimal number");
    expect_bad("\r\n", LQ_EFORMAT, "not a hexadecimal number");
    expect_bad("5\nhello", LQ_EFORMAT, "unexpected byte in the chunk size line");
    expect_bad("5\rxhello", LQ_EFORMAT, "not ended by CRLF");
    expect_bad("5;ext\nhello", LQ_EFORMAT, "bare LF");
    expect_bad("3\r\nabcX\r\n", LQ_EFORMAT, "chunk data not followed by CRLF");
    expect_bad("3\r\nabc\rX", LQ_EFORMAT, "chunk data not followed by CRLF");
    expect_bad("0\r\nBad\nline\r\n\r\n", LQ_EFORMAT, "bare LF in the trailer");
    expect_bad("0\r\nA: b\rX", LQ_EFORMAT, "trailer line not ended by CRLF");
    expect_bad("3\r\nabc\r\n-1\r\n", LQ_EFORMAT, "after 3 body bytes");
}

static void limits(void **state)
{
    (void)state;
    expect_bad("100000000\r\n", LQ_ELIMIT, "larger than 2 GiB");
    expect_bad("FFFFFFFFFFFFFFFFFFFF\r\n", LQ_ELIMIT, "larger than 2 GiB");
    char line[400] = "5;";
    memset(line + 2, 'e', 300);
    line[302] = 0;
    expect_bad(line, LQ_ELIMIT, "size line too long");
    char trailer[5000] = "0\r\n";
    memset(trailer + 3, 't', 4500);
    trailer[4503] = 0;
    expect_bad(trailer, LQ_ELIMIT, "trailer section too long");
    /* exactly 2 GiB is allowed as a size (the caller's body cap applies) */
    char out[8];
    size_t n, used;
    http_chunked d;
    assert_int_equal(decode("80000000\r\n", 10, 0, out, &n, &used, &d), HTTP_CHUNKED_MORE);
    assert_int_equal(d.left, (uint64_t)1 << 31);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(curl_style_body_in_every_piece_size),
        cmocka_unit_test(extensions_trailers_and_upper_case_hex),
        cmocka_unit_test(bytes_after_the_body_are_not_consumed),
        cmocka_unit_test(empty_body),
        cmocka_unit_test(malformed_bodies),
        cmocka_unit_test(limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
