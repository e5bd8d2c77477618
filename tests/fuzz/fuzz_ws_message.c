/*
 * fuzz_ws_message.c - libFuzzer target for the service's text messages
 * (ws_parse_text in src/service/protocol.c: init_session, process_frame with
 * or without frame_data, stats, close_session) and the replies built from
 * what it returns.
 *
 *   CC=clang cmake -S . -B build-fuzz -DLQ_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_ws_message
 *   build-fuzz/tests/fuzz/fuzz_ws_message -dict=tests/fuzz/protocol.dict \
 *       /tmp/work tests/fuzz/corpus/ws_message
 *
 * Invariants checked beyond "no crash":
 *  - the result is 0 or LQ_EFORMAT; a failure fills a known error code, a
 *    non-empty message, a session id that is "" or valid, and frees the tree;
 *  - a parsed request is complete and within the limits: a valid session id,
 *    process_frame with a sequence in 0..2^53 and split or base64 encoding
 *    (base64: a non-empty string whose decoded size fits), init_session with
 *    a config inside its bounds and an http(s) URL of at most WS_URL_MAX bytes,
 *    close_session with a reason of at most WS_REASON_MAX bytes;
 *  - every reply the service would send for it (error, session_closed) is one
 *    JSON object in valid UTF-8 (RFC 6455 8.1) that echoes the code and id;
 *  - ws_peek_ids on it (fz_check_peek).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"
#include "fuzz_support.h"
#include "image/codec.h"
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

/* The error reply for e: valid UTF-8 JSON naming e's code and session. */
static void check_error_reply(const ws_error *e)
{
    if ((int)e->code < 0 || e->code >= WS_ERR_COUNT || !memchr(e->message, 0, sizeof e->message) ||
        !e->message[0])
        abort();
    size_t sl = strnlen(e->session_id, sizeof e->session_id);
    if (sl == sizeof e->session_id || (sl && !ws_session_id_valid(e->session_id, sl)))
        abort();
    ws_out *m = ws_build_error(sl ? e->session_id : NULL, e->has_sequence, e->sequence, e->code,
                               e->message, 1);
    cJSON *root = fz_check_reply(m, "error");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(root, "code");
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(root, "session_id");
    if (!cJSON_IsString(code) || strcmp(code->valuestring, ws_error_name(e->code)) != 0)
        abort();
    if (sl ? !cJSON_IsString(sid) || strcmp(sid->valuestring, e->session_id) != 0
           : !cJSON_IsNull(sid))
        abort();
    cJSON_Delete(root);
    ws_out_free(m);
}

static void check_config(const ws_session_config *c)
{
    if (c->target_fps < 1 || c->target_fps > limits.max_fps || (int)c->quality < 0 ||
        c->quality > WS_QUALITY_HIGH || c->output_quality < 1 || c->output_quality > 100 ||
        c->max_hands < 1 || c->max_hands > limits.max_hands || (c->smoothing & ~1) ||
        (c->overlay & ~1) || c->unknown_keys < 0)
        abort();
    if (c->output_format != LQ_FMT_WEBP && c->output_format != LQ_FMT_JPEG &&
        c->output_format != LQ_FMT_PNG)
        abort();
}

static void check_request(const ws_request *rq)
{
    if (!ws_session_id_valid(rq->session_id, strlen(rq->session_id)))
        abort();
    if (rq->has_sequence && (rq->sequence < 0 || rq->sequence > (int64_t)1 << 53))
        abort();
    if (rq->has_timestamp && (rq->timestamp < 0 || rq->timestamp > (int64_t)1 << 53))
        abort();
    switch (rq->type) {
    case WS_MSG_PROCESS_FRAME:
        if (!rq->has_sequence || rq->frame || rq->frame_len)
            abort();
        if (rq->encoding == WS_ENC_BASE64) {
            if (!rq->frame_b64 || rq->frame_b64_len == 0 ||
                strlen(rq->frame_b64) != rq->frame_b64_len ||
                ws_base64_decoded_max(rq->frame_b64_len) > limits.max_frame_bytes + 3)
                abort();
        } else if (rq->encoding != WS_ENC_SPLIT || rq->frame_b64) {
            abort();
        }
        if (rq->declared_width < 0 || rq->declared_height < 0 ||
            rq->declared_width > limits.max_width || rq->declared_height > limits.max_width ||
            rq->declared_size < -1 || rq->declared_size > (int64_t)limits.max_frame_bytes)
            abort();
        break;
    case WS_MSG_INIT_SESSION: {
        check_config(&rq->config);
        size_t n = strnlen(rq->reference_url, sizeof rq->reference_url);
        if (n > WS_URL_MAX || (n && strncasecmp(rq->reference_url, "http://", 7) != 0 &&
                               strncasecmp(rq->reference_url, "https://", 8) != 0))
            abort();
        if (rq->metadata && !cJSON_IsObject(rq->metadata))
            abort();
        if (strnlen(rq->post_id, sizeof rq->post_id) == sizeof rq->post_id)
            abort();
        break;
    }
    case WS_MSG_CLOSE_SESSION: {
        if (strnlen(rq->reason, sizeof rq->reason) > WS_REASON_MAX)
            abort();
        ws_out *m = ws_build_close("session_closed", rq->session_id, rq->reason, 1);
        cJSON *root = fz_check_reply(m, "session_closed");
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(root, "reason");
        /* a reason that is valid UTF-8 comes back as it was */
        if (!cJSON_IsString(r) || (fz_utf8_ok((const uint8_t *)rq->reason, strlen(rq->reason)) &&
                                   strcmp(r->valuestring, rq->reason) != 0))
            abort();
        cJSON_Delete(root);
        ws_out_free(m);
        break;
    }
    case WS_MSG_STATS:
        break;
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        lq_log_set_level(LQ_LOG_OFF);
        init = 1;
    }
    fz_check_peek(data, size);
    ws_request rq;
    ws_error e;
    int rc = ws_parse_text((const char *)data, size, &limits, &rq, &e);
    if (rc < 0) {
        if (rc != LQ_EFORMAT || rq.json)
            abort();
        check_error_reply(&e);
        return 0;
    }
    if (rc != 0 || !rq.json)
        abort();
    check_request(&rq);
    ws_request_free(&rq);
    if (rq.json)
        abort();
    return 0;
}
