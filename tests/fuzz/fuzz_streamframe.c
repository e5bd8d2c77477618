/*
 * fuzz_streamframe.c - libFuzzer target for the process-stream record parser
 * (src/service/streamframe.c) and the HTTP/1.1 chunked body decoder that can
 * sit in front of it (src/service/chunked.c).
 *
 *   CC=clang cmake -S . -B build-fuzz -DLQ_FUZZ=ON && cmake --build build-fuzz --target
 * fuzz_streamframe build-fuzz/tests/fuzz/fuzz_streamframe -max_total_time=120 /tmp/work
 * tests/fuzz/corpus/streamframe
 *
 * Input: byte 0 picks the piece sizes the stream is fed in (0 = all at once),
 * byte 1 bit 0 says whether the rest is a chunked body to decode first; the
 * rest is the stream. Invariants beyond "no crash, no leak":
 *  - feeding in pieces gives exactly the records, offsets and outcome (code
 *    and message) of feeding the whole stream at once;
 *  - every record is within its type's limit, has a NUL after its payload,
 *    and records tile the stream (each starts where the previous one ended);
 *  - consumed bytes never exceed what was fed, and a failure has a message;
 *  - the chunked decoder never produces more bytes than it was given and,
 *    fed byte by byte, produces the same body and outcome as fed whole.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "service/chunked.h"
#include "service/streamframe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_RECORDS 512

typedef struct outcome {
    int n;
    int types[MAX_RECORDS];
    uint64_t offsets[MAX_RECORDS];
    size_t lens[MAX_RECORDS];
    uint32_t sums[MAX_RECORDS];
    int rc;     /* first failure of feed, 0 if none */
    int finish; /* sf_parser_finish */
    char err[SF_ERR_MAX];
} outcome;

static const sf_limits LIM = {512, 8192};

static uint32_t sum(const uint8_t *p, size_t n)
{
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < n; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

static void run(const uint8_t *d, size_t size, unsigned step_seed, outcome *o)
{
    memset(o, 0, sizeof *o);
    sf_parser p;
    sf_parser_init(&p, &LIM);
    size_t pos = 0;
    uint64_t next_offset = 0;
    unsigned k = step_seed;
    while (pos < size && o->rc == 0) {
        size_t piece = size - pos;
        if (step_seed) {
            k = k * 1103515245u + 12345u;
            piece = 1 + (k >> 16) % 37;
            if (piece > size - pos)
                piece = size - pos;
        }
        const uint8_t *q = d + pos;
        size_t left = piece;
        while (left > 0) {
            sf_record r;
            size_t used = 0;
            int rc = sf_parser_feed(&p, q, left, &used, &r);
            if (used > left)
                abort();
            q += used;
            left -= used;
            if (rc < 0) {
                if (!p.err[0] || p.state != SF_FAILED || p.buf)
                    abort();
                o->rc = rc;
                break;
            }
            if (rc == 0) {
                if (left != 0)
                    abort();
                break;
            }
            size_t max = r.type == SF_JSON ? LIM.max_json : r.type == SF_IMAGE ? LIM.max_image : 0;
            if (r.len > max || r.payload[r.len] != 0 || r.offset != next_offset)
                abort();
            next_offset = r.offset + SF_HEADER_SIZE + r.len;
            if (o->n < MAX_RECORDS) {
                o->types[o->n] = r.type;
                o->offsets[o->n] = r.offset;
                o->lens[o->n] = r.len;
                o->sums[o->n] = sum(r.payload, r.len);
            }
            o->n++;
            free(r.payload);
        }
        pos += piece;
    }
    o->finish = sf_parser_finish(&p);
    memcpy(o->err, p.err, sizeof o->err);
    if (o->rc == 0 && o->finish == 0 && p.state == SF_OK && p.offset != size)
        abort(); /* everything fed was consumed */
    sf_parser_release(&p);
}

static void same(const outcome *a, const outcome *b)
{
    if (a->n != b->n || a->rc != b->rc || a->finish != b->finish || strcmp(a->err, b->err) != 0)
        abort();
    int n = a->n < MAX_RECORDS ? a->n : MAX_RECORDS;
    for (int i = 0; i < n; i++)
        if (a->types[i] != b->types[i] || a->offsets[i] != b->offsets[i] ||
            a->lens[i] != b->lens[i] || a->sums[i] != b->sums[i])
            abort();
}

/* Decodes a chunked body; returns the decoder's final code, body in out. */
static int dechunk(const uint8_t *d, size_t size, int bytewise, uint8_t *out, size_t *out_len)
{
    http_chunked c;
    http_chunked_init(&c);
    *out_len = 0;
    int rc = HTTP_CHUNKED_MORE;
    size_t pos = 0;
    while (pos < size && rc == HTTP_CHUNKED_MORE) {
        size_t left = bytewise ? 1 : size - pos;
        const uint8_t *q = d + pos;
        while (left > 0 && rc == HTTP_CHUNKED_MORE) {
            const uint8_t *part;
            size_t plen, used;
            rc = http_chunked_feed(&c, q, left, &used, &part, &plen);
            if (rc < 0) {
                if (!c.err[0])
                    abort();
                return rc;
            }
            if (used > left || plen > used || (plen && (part < q || part + plen > q + used)))
                abort();
            if (plen)
                memcpy(out + *out_len, part, plen);
            *out_len += plen;
            q += used;
            left -= used;
            pos += used;
            if (used == 0 && rc == HTTP_CHUNKED_MORE)
                abort(); /* no progress */
        }
    }
    return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    unsigned seed = data[0];
    int chunked = data[1] & 1;
    const uint8_t *d = data + 2;
    size -= 2;
    uint8_t *body = NULL;
    if (chunked) {
        body = malloc(size + 1);
        uint8_t *body2 = malloc(size + 1);
        if (!body || !body2)
            abort();
        size_t n1, n2;
        int rc1 = dechunk(d, size, 0, body, &n1);
        int rc2 = dechunk(d, size, 1, body2, &n2);
        if (rc1 != rc2 || n1 != n2 || memcmp(body, body2, n1) != 0 || n1 > size)
            abort();
        free(body2);
        d = body;
        size = n1;
    }
    static outcome whole, pieces;
    run(d, size, 0, &whole);
    run(d, size, seed | 1u, &pieces);
    same(&whole, &pieces);
    free(body);
    return 0;
}
