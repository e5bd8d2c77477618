/*
 * streamframe.h - the record framing of POST /api/tryon/process-stream
 * (docs/http-api.md): the request body and the response body are each a
 * sequence of records
 *
 *     +--------------------+----------+---------------------+
 *     | length: 4 bytes BE | type: 1  | payload: length     |
 *     +--------------------+----------+---------------------+
 *
 * where length counts the payload only (not the 5-byte header). Types:
 *
 *   SF_JSON  (1)  a UTF-8 JSON object. Client: options for the next image
 *                 ({"sequence": 7, "timestamp": ...}) or {"type": "stats"}.
 *                 Server: a processed_frame, error or stats message.
 *   SF_IMAGE (2)  an image. Client: one frame (WebP, JPEG or PNG). Server:
 *                 the processed frame, right after its processed_frame JSON.
 *   SF_END   (3)  no payload (length 0): the sender sends nothing more.
 *
 *   sf_parser p;
 *   sf_parser_init(&p, &(sf_limits){.max_json = SF_JSON_MAX, .max_image = 10 << 20});
 *   while (len > 0) {
 *       sf_record r;
 *       size_t used;
 *       int rc = sf_parser_feed(&p, data, len, &used, &r);
 *       data += used; len -= used;
 *       if (rc < 0) { report p.err; stop reading; break; }   // the stream is corrupt
 *       if (rc == 1) { handle r; free(r.payload); }
 *   }
 *   ...at the end of the body: if (sf_parser_finish(&p) < 0) report p.err;
 *   sf_parser_release(&p);
 *
 * Limits: a JSON record carries at most lim.max_json bytes, an image record at
 * most lim.max_image bytes; a longer length field is refused before anything
 * is allocated, so a corrupt or hostile length cannot make the parser
 * allocate more than the limit. An unknown type, an END record with a
 * payload and any byte after an END record are corrupt. A corrupt stream
 * cannot be resynchronised (a record boundary is only known from the
 * previous header), so after an error the parser refuses all further input.
 *
 * The parser is pure (no I/O, no clock); each record's payload is a fresh
 * malloc'd buffer handed to the caller. Thread-safety: one parser per stream,
 * used by one thread.
 */
#ifndef LQ_SERVICE_STREAMFRAME_H
#define LQ_SERVICE_STREAMFRAME_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define SF_HEADER_SIZE 5
#define SF_JSON_MAX (64u * 1024u) /* default cap of a JSON record */
#define SF_ERR_MAX 160

typedef enum sf_type { SF_JSON = 1, SF_IMAGE = 2, SF_END = 3 } sf_type;

/* "json", "image", "end"; "unknown" otherwise. */
const char *sf_type_name(int type);

typedef struct sf_limits {
    uint32_t max_json;  /* bytes of a JSON record's payload */
    uint32_t max_image; /* bytes of an image record's payload */
} sf_limits;

typedef struct sf_record {
    sf_type type;
    uint8_t *payload; /* malloc'd, len bytes followed by a NUL; the caller frees it */
    size_t len;
    uint64_t offset; /* where the record's header starts in the stream */
} sf_record;

typedef enum sf_state { SF_OK = 0, SF_ENDED = 1, SF_FAILED = -1 } sf_state;

typedef struct sf_parser {
    sf_limits lim;
    sf_state state;
    uint8_t hdr[SF_HEADER_SIZE];
    size_t hdr_len; /* header bytes collected for the current record */
    sf_type type;   /* of the current record once its header is complete */
    uint32_t len;
    uint8_t *buf; /* its payload so far (owned until handed out) */
    size_t have;
    uint64_t offset;        /* stream bytes consumed */
    uint64_t record_offset; /* where the current record starts */
    uint64_t records;       /* complete records handed out */
    char err[SF_ERR_MAX];   /* why the stream is corrupt (state SF_FAILED) */
} sf_parser;

/* A parser at the start of a stream. lim is copied. */
void sf_parser_init(sf_parser *p, const sf_limits *lim);

/* Frees a partly received payload. The parser may be re-initialised. */
void sf_parser_release(sf_parser *p);

/* Consumes bytes of data[0..len) until one record is complete or the data
 * runs out; *used says how many bytes were consumed. Returns
 *   1  a record is complete: *rec is filled and the caller owns rec->payload;
 *      call again with the rest of the data;
 *   0  every byte was consumed and no record is complete yet;
 *   LQ_EFORMAT  corrupt stream (unknown type, END with a payload, data after
 *      END), LQ_ELIMIT (a length over its limit) or LQ_ENOMEM: p->err says
 *      what and at which stream offset; every later call fails the same way.
 * After an END record, further calls with len 0 return 0; any byte fails. */
int sf_parser_feed(sf_parser *p, const uint8_t *data, size_t len, size_t *used,
                   sf_record *rec) LQ_NODISCARD;

/* The input ended. 0 if it ended between records (or after END);
 * LQ_EFORMAT if it ended inside a record (p->err says how much was
 * missing), or the earlier error if the stream had already failed. */
int sf_parser_finish(sf_parser *p) LQ_NODISCARD;

/* Writes the 5-byte header of a record of this type and payload length. */
void sf_write_header(uint8_t out[SF_HEADER_SIZE], sf_type type, uint32_t len);

#endif
