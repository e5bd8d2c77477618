/* test_streamframe.c - the process-stream record parser (src/service/streamframe.c):
 * well-formed streams fed whole, byte by byte and in random pieces, and every malformed
 * case with its error and the offset it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq_test.h"
#include "service/streamframe.h"

static const sf_limits LIM = {64, 1000};

/* Appends one record to buf at *n. */
static void put(uint8_t *buf, size_t *n, int type, const void *payload, uint32_t len)
{
    uint8_t h[SF_HEADER_SIZE];
    sf_write_header(h, (sf_type)type, len);
    h[4] = (uint8_t)type; /* also for types sf_type does not name */
    memcpy(buf + *n, h, SF_HEADER_SIZE);
    *n += SF_HEADER_SIZE;
    if (len && payload)
        memcpy(buf + *n, payload, len);
    *n += len;
}

typedef struct got {
    int n;
    int types[16];
    size_t lens[16];
    uint64_t offsets[16];
    char first[16][8];
    int rc; /* last negative return, 0 if none */
} got;

/* Feeds data in pieces of `step` bytes (0 = all at once); collects the records. */
static void feed_all(sf_parser *p, const uint8_t *data, size_t len, size_t step, got *g)
{
    memset(g, 0, sizeof *g);
    size_t pos = 0;
    while (pos < len) {
        size_t piece = step ? step : len;
        if (piece > len - pos)
            piece = len - pos;
        const uint8_t *d = data + pos;
        size_t left = piece;
        while (left > 0) {
            sf_record r;
            size_t used = 99;
            int rc = sf_parser_feed(p, d, left, &used, &r);
            assert_true(used <= left);
            d += used;
            left -= used;
            if (rc < 0) {
                g->rc = rc;
                return;
            }
            if (rc == 1) {
                assert_true(g->n < 16);
                g->types[g->n] = r.type;
                g->lens[g->n] = r.len;
                g->offsets[g->n] = r.offset;
                assert_non_null(r.payload);
                assert_int_equal(r.payload[r.len], 0); /* NUL after the payload */
                snprintf(g->first[g->n], sizeof g->first[0], "%.*s", (int)(r.len < 7 ? r.len : 7),
                         (const char *)r.payload);
                g->n++;
                free(r.payload);
            } else {
                assert_int_equal(left, 0); /* 0: everything was consumed */
            }
        }
        pos += piece;
    }
}

static size_t sample_stream(uint8_t *buf)
{
    size_t n = 0;
    put(buf, &n, SF_JSON, "{\"sequence\":7}", 14);
    put(buf, &n, SF_IMAGE, "RIFFxxxxWEBPdata", 16);
    put(buf, &n, SF_IMAGE, "", 0); /* an empty image is well framed */
    put(buf, &n, SF_JSON, "{\"type\":\"stats\"}", 16);
    put(buf, &n, SF_END, NULL, 0);
    return n;
}

static void check_sample(const got *g)
{
    assert_int_equal(g->rc, 0);
    assert_int_equal(g->n, 5);
    int types[] = {SF_JSON, SF_IMAGE, SF_IMAGE, SF_JSON, SF_END};
    size_t lens[] = {14, 16, 0, 16, 0};
    uint64_t offs[] = {0, 19, 40, 45, 66};
    for (int i = 0; i < 5; i++) {
        assert_int_equal(g->types[i], types[i]);
        assert_int_equal(g->lens[i], lens[i]);
        assert_int_equal(g->offsets[i], offs[i]);
    }
    assert_string_equal(g->first[1], "RIFFxxx");
}

static void whole_stream_in_one_piece(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = sample_stream(buf);
    sf_parser p;
    sf_parser_init(&p, &LIM);
    got g;
    feed_all(&p, buf, n, 0, &g);
    check_sample(&g);
    assert_int_equal(p.state, SF_ENDED);
    assert_int_equal(p.records, 5);
    assert_int_equal(sf_parser_finish(&p), 0);
    sf_parser_release(&p);
}

static void byte_by_byte_and_every_piece_size(void **state)
{
    (void)state;
    uint8_t buf[256];
    size_t n = sample_stream(buf);
    for (size_t step = 1; step <= n; step++) {
        sf_parser p;
        sf_parser_init(&p, &LIM);
        got g;
        feed_all(&p, buf, n, step, &g);
        check_sample(&g);
        assert_int_equal(sf_parser_finish(&p), 0);
        sf_parser_release(&p);
    }
}

static void records_exactly_at_the_limits(void **state)
{
    (void)state;
    uint8_t buf[2048], json[64], img[1000];
    memset(json, 'j', sizeof json);
    memset(img, 'i', sizeof img);
    size_t n = 0;
    put(buf, &n, SF_JSON, json, 64);
    put(buf, &n, SF_IMAGE, img, 1000);
    sf_parser p;
    sf_parser_init(&p, &LIM);
    got g;
    feed_all(&p, buf, n, 0, &g);
    assert_int_equal(g.rc, 0);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.lens[1], 1000);
    /* no END record: a body that ends between records is complete */
    assert_int_equal(sf_parser_finish(&p), 0);
    sf_parser_release(&p);
}

/* Feeds a malformed stream; checks the code and that err contains `needle`. */
static void expect_failure(const uint8_t *buf, size_t n, int code, const char *needle,
                           int records_before)
{
    for (size_t step = 0; step <= 3; step += 3) { /* whole, and 3 bytes at a time */
        sf_parser p;
        sf_parser_init(&p, &LIM);
        got g;
        feed_all(&p, buf, n, step, &g);
        assert_int_equal(g.rc, code);
        assert_int_equal(g.n, records_before);
        assert_int_equal(p.state, SF_FAILED);
        if (!strstr(p.err, needle))
            fail_msg("error '%s' does not mention '%s'", p.err, needle);
        /* a failed parser refuses everything after */
        sf_record r;
        size_t used = 7;
        assert_int_equal(sf_parser_feed(&p, buf, n, &used, &r), LQ_EFORMAT);
        assert_int_equal(used, 0);
        assert_int_equal(sf_parser_finish(&p), LQ_EFORMAT);
        assert_null(p.buf);
        sf_parser_release(&p);
    }
}

static void unknown_types(void **state)
{
    (void)state;
    uint8_t buf[64];
    int bad[] = {0, 4, 0x7f, 0xff};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t n = 0;
        put(buf, &n, SF_JSON, "{}", 2);
        put(buf, &n, bad[i], "x", 1);
        char needle[48];
        snprintf(needle, sizeof needle, "at byte 7 has unknown type %d", bad[i]);
        expect_failure(buf, n, LQ_EFORMAT, needle, 1);
    }
}

static void lengths_over_the_limits(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t n = 0;
    put(buf, &n, SF_JSON, NULL, 65); /* header only: refused before any payload */
    expect_failure(buf, SF_HEADER_SIZE, LQ_ELIMIT, "json record at byte 0 has 65 bytes", 0);
    n = 0;
    put(buf, &n, SF_IMAGE, NULL, 1001);
    expect_failure(buf, SF_HEADER_SIZE, LQ_ELIMIT, "image record at byte 0 has 1001 bytes", 0);
    /* a corrupt length near 4 GiB is refused without allocating it */
    uint8_t huge[SF_HEADER_SIZE] = {0xff, 0xff, 0xff, 0xff, SF_IMAGE};
    expect_failure(huge, sizeof huge, LQ_ELIMIT, "4294967295 bytes", 0);
}

static void end_record_with_a_payload(void **state)
{
    (void)state;
    uint8_t buf[32];
    size_t n = 0;
    put(buf, &n, SF_END, "zz", 2);
    expect_failure(buf, n, LQ_EFORMAT, "END record at byte 0 has a 2-byte payload", 0);
}

static void data_after_end(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = 0;
    put(buf, &n, SF_END, NULL, 0);
    put(buf, &n, SF_JSON, "{}", 2);
    /* whole or in pieces: END is handed out, then the bytes after it fail */
    for (size_t step = 0; step <= 5; step += 1) {
        sf_parser p;
        sf_parser_init(&p, &LIM);
        got g;
        feed_all(&p, buf, n, step, &g);
        assert_int_equal(g.n, 1);
        assert_int_equal(g.types[0], SF_END);
        assert_int_equal(g.rc, LQ_EFORMAT);
        if (!strstr(p.err, "data after the END record (at byte 5)"))
            fail_msg("step %zu: %s", step, p.err);
        sf_parser_release(&p);
    }
    /* after END, an empty feed is fine and the stream is complete */
    sf_parser p;
    sf_parser_init(&p, &LIM);
    got g;
    feed_all(&p, buf, SF_HEADER_SIZE, 0, &g);
    assert_int_equal(g.n, 1);
    sf_record r;
    size_t used = 3;
    assert_int_equal(sf_parser_feed(&p, buf, 0, &used, &r), 0);
    assert_int_equal(used, 0);
    assert_int_equal(sf_parser_finish(&p), 0);
    sf_parser_release(&p);
}

static void stream_ends_inside_a_record(void **state)
{
    (void)state;
    uint8_t buf[64];
    size_t n = 0;
    put(buf, &n, SF_JSON, "{}", 2);
    put(buf, &n, SF_IMAGE, "abcdefghij", 10);
    /* cut inside the second header, then inside its payload */
    struct {
        size_t cut;
        const char *needle;
    } cases[] = {
        {9, "inside the header of the record at byte 7 (2 of 5 bytes)"},
        {16, "inside the image record at byte 7 (4 of 10 payload bytes)"},
        {12, "inside the image record at byte 7 (0 of 10 payload bytes)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sf_parser p;
        sf_parser_init(&p, &LIM);
        got g;
        feed_all(&p, buf, cases[i].cut, 1, &g);
        assert_int_equal(g.rc, 0);
        assert_int_equal(g.n, 1);
        assert_int_equal(sf_parser_finish(&p), LQ_EFORMAT);
        if (!strstr(p.err, cases[i].needle))
            fail_msg("'%s' lacks '%s'", p.err, cases[i].needle);
        assert_null(p.buf); /* the partial payload is freed */
        sf_parser_release(&p);
    }
    /* an empty stream is a complete one */
    sf_parser p;
    sf_parser_init(&p, &LIM);
    assert_int_equal(sf_parser_finish(&p), 0);
}

static void header_writer_round_trips(void **state)
{
    (void)state;
    uint8_t h[SF_HEADER_SIZE];
    sf_write_header(h, SF_IMAGE, 0x01020304u);
    assert_memory_equal(h, "\x01\x02\x03\x04\x02", 5);
    sf_write_header(h, SF_END, 0);
    assert_memory_equal(h, "\0\0\0\0\x03", 5);
    assert_string_equal(sf_type_name(SF_JSON), "json");
    assert_string_equal(sf_type_name(9), "unknown");
}

static void random_pieces_match_the_whole(void **state)
{
    (void)state;
    /* 40 records of random types and sizes, fed in random pieces */
    uint8_t *buf = malloc(64 * 1024);
    assert_non_null(buf);
    srand(7);
    size_t n = 0;
    int types[40];
    size_t lens[40];
    for (int i = 0; i < 40; i++) {
        types[i] = rand() % 2 ? SF_JSON : SF_IMAGE;
        lens[i] = (size_t)(rand() % (types[i] == SF_JSON ? 65 : 1001));
        uint8_t pl[1000];
        for (size_t k = 0; k < lens[i]; k++)
            pl[k] = (uint8_t)(i + k);
        put(buf, &n, types[i], pl, (uint32_t)lens[i]);
    }
    for (int trial = 0; trial < 50; trial++) {
        sf_parser p;
        sf_parser_init(&p, &LIM);
        size_t pos = 0;
        int count = 0;
        while (pos < n) {
            size_t piece = 1 + (size_t)(rand() % 700);
            if (piece > n - pos)
                piece = n - pos;
            size_t left = piece;
            const uint8_t *d = buf + pos;
            while (left) {
                sf_record r;
                size_t used;
                int rc = sf_parser_feed(&p, d, left, &used, &r);
                assert_true(rc >= 0);
                d += used;
                left -= used;
                if (rc == 1) {
                    assert_int_equal(r.type, types[count]);
                    assert_int_equal(r.len, lens[count]);
                    for (size_t k = 0; k < r.len; k++)
                        assert_int_equal(r.payload[k], (uint8_t)(count + k));
                    free(r.payload);
                    count++;
                }
            }
            pos += piece;
        }
        assert_int_equal(count, 40);
        assert_int_equal(p.offset, n);
        assert_int_equal(sf_parser_finish(&p), 0);
        sf_parser_release(&p);
    }
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(whole_stream_in_one_piece),
        cmocka_unit_test(byte_by_byte_and_every_piece_size),
        cmocka_unit_test(records_exactly_at_the_limits),
        cmocka_unit_test(unknown_types),
        cmocka_unit_test(lengths_over_the_limits),
        cmocka_unit_test(end_record_with_a_payload),
        cmocka_unit_test(data_after_end),
        cmocka_unit_test(stream_ends_inside_a_record),
        cmocka_unit_test(header_writer_round_trips),
        cmocka_unit_test(random_pieces_match_the_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
