/*
 * test_messages.c - src/client/messages.c: the requests parse as the
 * protocol says, replies in all three encodings are read back.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "client/messages.h"
#include "lq_test.h"
#include "service/protocol.h"

static const uint8_t fake_image[] = {'R', 'I', 'F', 'F', 1, 2, 3, 4, 'W', 'E', 'B', 'P', 0, 255};

static lq_client_frame frame(void)
{
    lq_client_frame f = {fake_image, sizeof fake_image, 640, 480, LQ_FMT_WEBP, "0001.webp"};
    return f;
}

static void init_session_carries_design_and_config(void **state)
{
    (void)state;
    lq_client_session_config cfg = {"low", "jpeg", 80, 0, 1};
    char err[256];
    char *s =
        lq_client_msg_init("load-1", "{\"shape\":\"coffin\",\"colors\":[\"red\"]}",
                           "http://127.0.0.1:9/ref.jpg", &cfg, 1699564800000, err, sizeof err);
    assert_non_null(s);
    cJSON *o = cJSON_Parse(s);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, "init_session");
    assert_string_equal(cJSON_GetObjectItem(o, "session_id")->valuestring, "load-1");
    cJSON *ref = cJSON_GetObjectItem(o, "nail_reference");
    assert_string_equal(cJSON_GetObjectItem(ref, "url")->valuestring, "http://127.0.0.1:9/ref.jpg");
    cJSON *meta = cJSON_GetObjectItem(ref, "metadata");
    assert_string_equal(cJSON_GetObjectItem(meta, "shape")->valuestring, "coffin");
    cJSON *c = cJSON_GetObjectItem(o, "config");
    assert_string_equal(cJSON_GetObjectItem(c, "quality")->valuestring, "low");
    assert_string_equal(cJSON_GetObjectItem(c, "output_format")->valuestring, "jpeg");
    assert_int_equal(cJSON_GetObjectItem(c, "output_quality")->valueint, 80);
    assert_null(cJSON_GetObjectItem(c, "target_fps"));
    assert_int_equal(cJSON_GetObjectItem(c, "max_hands")->valueint, 1);
    assert_true(cJSON_GetObjectItem(o, "timestamp")->valuedouble == 1699564800000.0);
    cJSON_Delete(o);
    free(s);
    /* no design, no config: neither key */
    s = lq_client_msg_init("x", NULL, NULL, NULL, 1, err, sizeof err);
    o = cJSON_Parse(s);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "nail_reference"), "metadata"));
    assert_null(cJSON_GetObjectItem(o, "config"));
    cJSON_Delete(o);
    free(s);
    assert_null(lq_client_msg_init("bad id", NULL, NULL, NULL, 1, err, sizeof err));
    assert_null(lq_client_msg_init("x", "[1,2]", NULL, NULL, 1, err, sizeof err));
    assert_non_null(strstr(err, "object"));
}

static void frame_headers_parse_and_carry_the_frame(void **state)
{
    (void)state;
    lq_client_frame f = frame();
    char buf[LQ_CLIENT_FRAME_HEADER_MAX];
    int n = lq_client_msg_frame_header(buf, sizeof buf, "s-1", 42, 1700000000123, &f);
    assert_true(n > 0 && (size_t)n == strlen(buf));
    cJSON *o = cJSON_Parse(buf);
    assert_non_null(o);
    assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, "process_frame");
    assert_int_equal(cJSON_GetObjectItem(o, "sequence")->valueint, 42);
    cJSON *fm = cJSON_GetObjectItem(o, "frame_metadata");
    assert_int_equal(cJSON_GetObjectItem(fm, "width")->valueint, 640);
    assert_int_equal(cJSON_GetObjectItem(fm, "height")->valueint, 480);
    assert_string_equal(cJSON_GetObjectItem(fm, "format")->valuestring, "webp");
    assert_int_equal(cJSON_GetObjectItem(fm, "size_bytes")->valueint, (int)sizeof fake_image);
    cJSON_Delete(o);
    /* too small a buffer, bad id, negative sequence */
    assert_int_equal(lq_client_msg_frame_header(buf, 40, "s-1", 1, 1, &f), LQ_ELIMIT);
    assert_int_equal(lq_client_msg_frame_header(buf, sizeof buf, "s\"1", 1, 1, &f), LQ_EINVAL);
    assert_int_equal(lq_client_msg_frame_header(buf, sizeof buf, "s1", -1, 1, &f), LQ_EINVAL);
}

static void base64_frame_round_trips(void **state)
{
    (void)state;
    lq_client_frame f = frame();
    char *buf = NULL;
    size_t cap = 0;
    int n = lq_client_msg_frame_base64(&buf, &cap, 1 << 20, "s1", 7, 5, &f);
    assert_true(n > 0 && (size_t)n == strlen(buf));
    cJSON *o = cJSON_Parse(buf);
    assert_non_null(o);
    const char *b64 = cJSON_GetObjectItem(o, "frame_data")->valuestring;
    uint8_t out[64];
    size_t len = 0;
    assert_int_equal(ws_base64_decode(b64, strlen(b64), out, sizeof out, &len), 0);
    assert_int_equal(len, sizeof fake_image);
    assert_memory_equal(out, fake_image, len);
    assert_null(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "frame_metadata"), "size_bytes"));
    cJSON_Delete(o);
    /* over the message limit */
    assert_int_equal(lq_client_msg_frame_base64(&buf, &cap, 100, "s1", 7, 5, &f), LQ_ELIMIT);
    free(buf);
}

static void close_and_stats_requests(void **state)
{
    (void)state;
    char buf[256];
    int n = lq_client_msg_close(buf, sizeof buf, "s1", "done", 9);
    assert_true(n > 0);
    cJSON *o = cJSON_Parse(buf);
    assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, "close_session");
    assert_string_equal(cJSON_GetObjectItem(o, "reason")->valuestring, "done");
    cJSON_Delete(o);
    assert_int_equal(lq_client_msg_close(buf, sizeof buf, "s1", "a\"b", 9), LQ_EINVAL);
    assert_true(lq_client_msg_stats(buf, sizeof buf, "s1") > 0);
    o = cJSON_Parse(buf);
    assert_string_equal(cJSON_GetObjectItem(o, "type")->valuestring, "stats");
    cJSON_Delete(o);
}

static const char processed_json[] =
    "{\"type\":\"processed_frame\",\"session_id\":\"s1\",\"sequence\":12,"
    "\"processing_time_ms\":17.9,\"frame_metadata\":{\"width\":640,\"height\":480,"
    "\"format\":\"webp\",\"size_bytes\":14},\"detection_info\":{\"hands_detected\":1},"
    "\"timings_ms\":{\"queue\":0.5,\"decode\":1.2,\"palm\":0,\"landmark\":6.1,\"nails\":0.2,"
    "\"quality\":0.1,\"paint\":0.9,\"encode\":4.8,\"total\":17.9}";

static void reads_processed_frames_in_every_encoding(void **state)
{
    (void)state;
    char json[1024];
    lq_client_reply r;
    /* encoding 1: text reply (the image follows separately) */
    snprintf(json, sizeof json, "%s}", processed_json);
    assert_int_equal(lq_client_reply_parse(json, strlen(json), &r, NULL, NULL, NULL, 0), 0);
    assert_int_equal(r.type, LQ_REPLY_PROCESSED_FRAME);
    assert_true(r.has_sequence && r.sequence == 12);
    assert_true(r.processing_ms > 17.89 && r.processing_ms < 17.91);
    assert_true(r.stage_ms[LQ_STAGE_LANDMARK] > 6.09 && r.stage_ms[LQ_STAGE_LANDMARK] < 6.11);
    assert_true(r.stage_ms[LQ_STAGE_PALM] == 0.0);
    assert_int_equal(r.width, 640);
    assert_int_equal(r.size_bytes, 14);
    assert_int_equal(r.hands, 1);
    assert_string_equal(r.format, "webp");

    /* encoding 3: the image in frame_data */
    char b64[64];
    ws_base64_encode(fake_image, sizeof fake_image, b64);
    b64[ws_base64_encoded_len(sizeof fake_image)] = 0;
    snprintf(json, sizeof json, "%s,\"frame_data\":\"%s\"}", processed_json, b64);
    uint8_t *img = NULL;
    size_t cap = 0, len = 0;
    assert_int_equal(lq_client_reply_parse(json, strlen(json), &r, &img, &cap, &len, 1 << 20), 0);
    assert_int_equal(len, sizeof fake_image);
    assert_memory_equal(img, fake_image, len);
    assert_int_equal(lq_client_reply_parse(json, strlen(json), &r, &img, &cap, &len, 4), LQ_ELIMIT);
    free(img);

    /* encoding 2: 1024-byte padded header, then the image */
    uint8_t msg[LQ_CLIENT_HEADER_SIZE + sizeof fake_image];
    memset(msg, ' ', LQ_CLIENT_HEADER_SIZE);
    snprintf(json, sizeof json, "%s}", processed_json);
    memcpy(msg, json, strlen(json));
    msg[LQ_CLIENT_HEADER_SIZE - 1] = 0; /* NUL padding is allowed too */
    memcpy(msg + LQ_CLIENT_HEADER_SIZE, fake_image, sizeof fake_image);
    const uint8_t *bimg = NULL;
    size_t blen = 0;
    assert_int_equal(lq_client_reply_parse_binary(msg, sizeof msg, &r, &bimg, &blen), 0);
    assert_int_equal(r.type, LQ_REPLY_PROCESSED_FRAME);
    assert_int_equal(blen, sizeof fake_image);
    assert_memory_equal(bimg, fake_image, blen);
    assert_int_equal(lq_client_reply_parse_binary(msg, 100, &r, &bimg, &blen), LQ_EFORMAT);
}

static void reads_errors_stats_and_session_messages(void **state)
{
    (void)state;
    lq_client_reply r;
    const char *err = "{\"type\":\"error\",\"session_id\":\"s1\",\"sequence\":3,"
                      "\"code\":\"PROCESSING_TIMEOUT\",\"message\":\"frame 3 was dropped\","
                      "\"recoverable\":true}";
    assert_int_equal(lq_client_reply_parse(err, strlen(err), &r, NULL, NULL, NULL, 0), 0);
    assert_int_equal(r.type, LQ_REPLY_ERROR);
    assert_string_equal(r.code, "PROCESSING_TIMEOUT");
    assert_true(r.recoverable && r.has_sequence && r.sequence == 3);
    const char *nseq = "{\"type\":\"error\",\"session_id\":null,\"sequence\":null,"
                       "\"code\":\"INVALID_MESSAGE\",\"recoverable\":true}";
    assert_int_equal(lq_client_reply_parse(nseq, strlen(nseq), &r, NULL, NULL, NULL, 0), 0);
    assert_false(r.has_sequence);
    const char *st =
        "{\"type\":\"stats\",\"frames_received\":150,\"frames_processed\":146,"
        "\"frames_dropped\":1,\"frames_with_errors\":3,\"p95_processing_time_ms\":24.9}";
    assert_int_equal(lq_client_reply_parse(st, strlen(st), &r, NULL, NULL, NULL, 0), 0);
    assert_int_equal(r.type, LQ_REPLY_STATS);
    assert_int_equal(r.frames_received, 150);
    assert_int_equal(r.frames_dropped, 1);
    const char *cl = "{\"type\":\"close_session\",\"reason\":\"server_shutdown\"}";
    assert_int_equal(lq_client_reply_parse(cl, strlen(cl), &r, NULL, NULL, NULL, 0), 0);
    assert_int_equal(r.type, LQ_REPLY_CLOSE_SESSION);
    assert_string_equal(r.reason, "server_shutdown");
    const char *other = "{\"type\":\"pong\"}";
    assert_int_equal(lq_client_reply_parse(other, strlen(other), &r, NULL, NULL, NULL, 0), 0);
    assert_int_equal(r.type, LQ_REPLY_OTHER);
}

static void refuses_malformed_replies(void **state)
{
    (void)state;
    lq_client_reply r;
    static const char *bad[] = {"", "{", "[1]", "{\"x\":1}", "{\"type\":3}", "null"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(lq_client_reply_parse(bad[i], strlen(bad[i]), &r, NULL, NULL, NULL, 0),
                         LQ_EFORMAT);
    /* nesting deeper than 16 */
    char deep[256] = "{\"type\":\"stats\",\"a\":";
    for (int i = 0; i < 20; i++)
        strcat(deep, "[");
    for (int i = 0; i < 20; i++)
        strcat(deep, "]");
    strcat(deep, "}");
    assert_int_equal(lq_client_reply_parse(deep, strlen(deep), &r, NULL, NULL, NULL, 0),
                     LQ_EFORMAT);
    /* bad base64 */
    const char *b = "{\"type\":\"processed_frame\",\"sequence\":1,\"frame_data\":\"@@@@\"}";
    uint8_t *img = NULL;
    size_t cap = 0, len = 0;
    assert_int_equal(lq_client_reply_parse(b, strlen(b), &r, &img, &cap, &len, 1 << 20),
                     LQ_EFORMAT);
    free(img);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(init_session_carries_design_and_config),
        cmocka_unit_test(frame_headers_parse_and_carry_the_frame),
        cmocka_unit_test(base64_frame_round_trips),
        cmocka_unit_test(close_and_stats_requests),
        cmocka_unit_test(reads_processed_frames_in_every_encoding),
        cmocka_unit_test(reads_errors_stats_and_session_messages),
        cmocka_unit_test(refuses_malformed_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
