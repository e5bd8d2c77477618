/*
 * fuzz_session_init.c - libFuzzer target for what the service does with an
 * init_session: ws_parse_text, ws_parse_session_config, the design from
 * nail_reference.metadata (nail_design_from_cjson, as handle_init in
 * src/service/requests.c calls it) and the session_ready / error replies.
 *
 *   CC=clang cmake -S . -B build-fuzz -DLQ_FUZZ=ON
 *   cmake --build build-fuzz --target fuzz_session_init
 *   build-fuzz/tests/fuzz/fuzz_session_init -dict=tests/fuzz/protocol.dict \
 *       /tmp/work tests/fuzz/corpus/session_init
 *
 * Input layout, so that mutations land in the config and the design:
 *   starts with '{': the whole text message;
 *   otherwise:       CONFIG '\n' METADATA, spliced into
 *     {"type":"init_session","session_id":"s","nail_reference":{"url":"http://x/y",
 *      "metadata":METADATA},"config":CONFIG}
 *   (an empty part is left out).
 *
 * Invariants checked beyond "no crash":
 *  - a parsed init_session has a config inside its bounds that session_ready
 *    echoes exactly (fps, quality, format, output quality, hands, smoothing,
 *    overlay, model variant), as one JSON object in valid UTF-8;
 *  - ws_parse_session_config on the "config" member agrees with the parse;
 *    a refused config is INVALID_CONFIG naming "config";
 *  - the design either parses (and then the reply would be session_ready) or
 *    gives an INVALID_DESIGN message naming a field, whose error reply is one
 *    JSON object in valid UTF-8.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "fuzz_support.h"
#include "image/codec.h"
#include "nails/design.h"
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

static int num_is(const cJSON *o, const char *k, int v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(x) && x->valuedouble == (double)v;
}

static int str_is(const cJSON *o, const char *k, const char *v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(x) && strcmp(x->valuestring, v) == 0;
}

static int bool_is(const cJSON *o, const char *k, int v)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsBool(x) && cJSON_IsTrue(x) == !!v;
}

static void check_ready(const ws_request *rq)
{
    const ws_session_config *c = &rq->config;
    ws_out *m = ws_build_session_ready(rq->session_id, 1, c, "none", 1);
    cJSON *root = fz_check_reply(m, "session_ready");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "config");
    if (!cJSON_IsObject(e) || !num_is(e, "target_fps", c->target_fps) ||
        !str_is(e, "quality", ws_quality_name(c->quality)) ||
        !str_is(e, "output_format", lq_format_name((lq_format)c->output_format)) ||
        !num_is(e, "output_quality", c->output_quality) || !num_is(e, "max_hands", c->max_hands) ||
        !bool_is(e, "smoothing", c->smoothing) || !bool_is(e, "overlay", c->overlay) ||
        !str_is(e, "model_variant",
                ws_quality_variant(c->quality) == LQ_MODEL_LITE ? "lite" : "full") ||
        !str_is(root, "session_id", rq->session_id))
        abort();
    if (c->target_fps < 1 || c->target_fps > limits.max_fps || c->output_quality < 1 ||
        c->output_quality > 100 || c->max_hands < 1 || c->max_hands > limits.max_hands)
        abort();
    cJSON_Delete(root);
    ws_out_free(m);
}

static void check_error(const char *sid, ws_error_code code, const char *msg)
{
    ws_out *m = ws_build_error(sid, 0, 0, code, msg, 1);
    cJSON *root = fz_check_reply(m, "error");
    if (!str_is(root, "code", ws_error_name(code)))
        abort();
    cJSON_Delete(root);
    ws_out_free(m);
}

/* What handle_init does with the request before a session exists. */
static void check_init(const ws_request *rq)
{
    check_ready(rq);
    /* the config member alone gives the same config */
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(rq->json, "config");
    ws_session_config again;
    ws_error e;
    memset(&e, 0, sizeof e);
    if (ws_parse_session_config(cfg, &limits, &again, &e) != 0 ||
        memcmp(&again, &rq->config, sizeof again) != 0)
        abort();
    if (rq->metadata) {
        nail_design d;
        char err[WS_MESSAGE_MAX - 32] = "";
        int rc = nail_design_from_cjson(rq->metadata, &d, err, sizeof err);
        if (rc < 0) {
            if (!err[0] || !strstr(err, ": "))
                abort();
            char msg[WS_MESSAGE_MAX];
            snprintf(msg, sizeof msg, "nail_reference.metadata: %s", err);
            check_error(rq->session_id, WS_ERR_INVALID_DESIGN, msg);
        }
    }
}

static void run(const char *text, size_t len)
{
    ws_request rq;
    ws_error e;
    if (ws_parse_text(text, len, &limits, &rq, &e) < 0) {
        if (e.code == WS_ERR_INVALID_CONFIG && !strstr(e.message, "config"))
            abort();
        check_error(e.session_id[0] ? e.session_id : NULL, e.code, e.message);
        return;
    }
    if (rq.type == WS_MSG_INIT_SESSION)
        check_init(&rq);
    ws_request_free(&rq);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        lq_log_set_level(LQ_LOG_OFF);
        init = 1;
    }
    if (size > 64 * 1024)
        return 0;
    if (size > 0 && data[0] == '{') {
        char *text = malloc(size);
        memcpy(text, data, size);
        run(text, size);
        free(text);
        return 0;
    }
    const uint8_t *nl = memchr(data, '\n', size);
    size_t clen = nl ? (size_t)(nl - data) : size;
    const uint8_t *md = nl ? nl + 1 : data + size;
    size_t mlen = (size_t)(data + size - md);
    static const char head[] =
        "{\"type\":\"init_session\",\"session_id\":\"s\",\"nail_reference\":{\"url\":"
        "\"http://x/y\"";
    size_t cap = sizeof head + clen + mlen + 64;
    char *text = malloc(cap);
    size_t o = 0;
    memcpy(text, head, sizeof head - 1);
    o += sizeof head - 1;
    if (mlen) {
        memcpy(text + o, ",\"metadata\":", 12);
        o += 12;
        memcpy(text + o, md, mlen);
        o += mlen;
    }
    text[o++] = '}';
    if (clen) {
        memcpy(text + o, ",\"config\":", 10);
        o += 10;
        memcpy(text + o, data, clen);
        o += clen;
    }
    text[o++] = '}';
    run(text, o);
    free(text);
    return 0;
}
