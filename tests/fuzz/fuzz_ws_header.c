/*
 * fuzz_ws_header.c - libFuzzer target for binary messages in the 1024-byte
 * header encoding (ws_parse_binary in src/service/protocol.c). Binary
 * messages are not UTF-8 checked by libwebsockets, so anything goes.
 *
 *   CC=clang cmake -S . -B build-fuzz -DLQ_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_ws_header
 *   build-fuzz/tests/fuzz/fuzz_ws_header -dict=tests/fuzz/protocol.dict \
 *       /tmp/work tests/fuzz/corpus/ws_header
 *
 * The first input byte picks the layout, so that mutations reach the JSON:
 *   even: the rest of the input is the whole binary message, as received;
 *   odd:  the rest is the header text, padded to WS_HEADER_SIZE with spaces
 *         (cut to WS_HEADER_SIZE if longer), followed by a 16-byte "image".
 *
 * Invariants checked beyond "no crash":
 *  - 0 or LQ_EFORMAT; a failure leaves no tree and a complete error whose
 *    reply is one JSON object in valid UTF-8 (RFC 6455 8.1);
 *  - a success is a process_frame in WS_ENC_HEADER with a valid session id,
 *    a sequence, and the image view exactly buf[WS_HEADER_SIZE..len), never
 *    empty; the header text itself is never taken as frame data;
 *  - ws_peek_ids on it (fz_check_peek).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "fuzz_support.h"
#include "service/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const ws_limits limits = {
    .max_width = 1920,
    .max_height = 1080,
    .max_frame_bytes = 1 << 20,
    .default_fps = 25,
    .max_fps = 25,
    .max_hands = 2,
};

static void check(const uint8_t *buf, size_t len)
{
    fz_check_peek(buf, len);
    ws_request rq;
    ws_error e;
    int rc = ws_parse_binary(buf, len, &limits, &rq, &e);
    if (rc < 0) {
        if (rc != LQ_EFORMAT || rq.json || (int)e.code < 0 || e.code >= WS_ERR_COUNT ||
            !e.message[0])
            abort();
        size_t sl = strnlen(e.session_id, sizeof e.session_id);
        if (sl == sizeof e.session_id || (sl && !ws_session_id_valid(e.session_id, sl)))
            abort();
        ws_out *m = ws_build_error(sl ? e.session_id : NULL, e.has_sequence, e.sequence, e.code,
                                   e.message, 1);
        cJSON_Delete(fz_check_reply(m, "error"));
        ws_out_free(m);
        return;
    }
    if (rc != 0 || !rq.json || rq.type != WS_MSG_PROCESS_FRAME || rq.encoding != WS_ENC_HEADER)
        abort();
    if (!ws_session_id_valid(rq.session_id, strlen(rq.session_id)) || !rq.has_sequence ||
        rq.sequence < 0 || rq.sequence > (int64_t)1 << 53)
        abort();
    if (len <= WS_HEADER_SIZE || rq.frame != buf + WS_HEADER_SIZE ||
        rq.frame_len != len - WS_HEADER_SIZE || rq.frame_b64)
        abort();
    ws_request_free(&rq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        lq_log_set_level(LQ_LOG_OFF);
        init = 1;
    }
    if (size == 0)
        return 0;
    if (!(data[0] & 1)) {
        /* exactly the bytes received: a heap copy so ASan sees the real end */
        uint8_t *buf = malloc(size - 1 ? size - 1 : 1);
        memcpy(buf, data + 1, size - 1);
        check(buf, size - 1);
        free(buf);
        return 0;
    }
    size_t n = size - 1 < WS_HEADER_SIZE ? size - 1 : WS_HEADER_SIZE;
    uint8_t *buf = malloc(WS_HEADER_SIZE + 16);
    memset(buf, ' ', WS_HEADER_SIZE);
    memcpy(buf, data + 1, n);
    memcpy(buf + WS_HEADER_SIZE, "RIFF\x08\0\0\0WEBPVP8 ", 16);
    check(buf, WS_HEADER_SIZE + 16);
    free(buf);
    return 0;
}
