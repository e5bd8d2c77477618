/* test_protocol.c - request parsing (three encodings, every malformed case) and reply building. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

#include "image/codec.h"
#include "lq_test.h"
#include "service/protocol.h"

static const ws_limits lim = {
    .max_width = 1920, .max_height = 1080, .max_frame_bytes = 1 << 20,
    .default_fps = 25, .max_fps = 30, .max_hands = 2, .segmentation = 2,
};

static int parse(const char *text, ws_request *rq, ws_error *e)
{
    return ws_parse_text(text, strlen(text), &lim, rq, e);
}

/* Expects a parse failure with `code` and a message containing `needle`. */
static void expect_fail(const char *text, ws_error_code code, const char *needle)
{
    ws_request rq;
    ws_error e;
    int rc = parse(text, &rq, &e);
    if (rc == 0 || e.code != code || !strstr(e.message, needle))
        fail_msg("%s\n  -> rc %d code %s message '%s' (wanted %s '%s')", text, rc,
                 ws_error_name(e.code), e.message, ws_error_name(code), needle);
    assert_null(rq.json);
}

static void error_table_matches_the_guide(void **state)
{
    (void)state;
    struct {
        const char *name;
        int recoverable;
    } appendix_b[] = {{"HAND_NOT_DETECTED", 1}, {"PARTIAL_HAND_DETECTED", 1}, {"LOW_LIGHT", 1},
                      {"BLUR_DETECTED", 1},     {"MODEL_ERROR", 0},           {"INVALID_SESSION", 0},
                      {"PROCESSING_TIMEOUT", 1}};
    for (size_t i = 0; i < 7; i++) {
        int found = 0;
        for (int c = 0; c < WS_ERR_COUNT; c++) {
            if (strcmp(ws_error_name((ws_error_code)c), appendix_b[i].name) == 0) {
                found = 1;
                assert_int_equal(ws_error_recoverable((ws_error_code)c), appendix_b[i].recoverable);
            }
        }
        assert_true(found);
    }
    for (int c = 0; c < WS_ERR_COUNT; c++) {
        assert_true(strlen(ws_error_message((ws_error_code)c)) > 5);
        assert_true(strlen(ws_error_suggestion((ws_error_code)c)) > 5);
    }
    assert_string_equal(ws_error_name(WS_ERR_COUNT), "UNKNOWN");
}

static void init_session_from_the_guide(void **state)
{
    (void)state;
    const char *msg =
        "{\"type\":\"init_session\",\"session_id\":\"550e8400-e29b-41d4-a716-446655440000\","
        "\"nail_reference\":{\"url\":\"https://domain.com/media/posts/123.webp\",\"post_id\":123,"
        "\"metadata\":{\"shape\":\"almond\",\"pattern\":\"french_tips\",\"size\":\"medium\","
        "\"colors\":[\"pink\",\"white\"]}},"
        "\"config\":{\"target_fps\":25,\"quality\":\"balanced\",\"output_format\":\"webp\"},"
        "\"timestamp\":1699564800000}";
    ws_request rq;
    ws_error e;
    assert_int_equal(parse(msg, &rq, &e), 0);
    assert_int_equal(rq.type, WS_MSG_INIT_SESSION);
    assert_string_equal(rq.session_id, "550e8400-e29b-41d4-a716-446655440000");
    assert_string_equal(rq.reference_url, "https://domain.com/media/posts/123.webp");
    assert_string_equal(rq.post_id, "123");
    assert_non_null(rq.metadata);
    assert_string_equal(cJSON_GetObjectItem(rq.metadata, "shape")->valuestring, "almond");
    assert_int_equal(rq.config.target_fps, 25);
    assert_int_equal(rq.config.quality, WS_QUALITY_BALANCED);
    assert_int_equal(rq.config.output_format, LQ_FMT_WEBP);
    assert_int_equal(rq.config.output_quality, 75);
    assert_int_equal(rq.config.max_hands, 2);
    assert_true(rq.has_timestamp);
    assert_int_equal(rq.timestamp, 1699564800000LL);
    ws_request_free(&rq);

    /* minimal: metadata {} and no config -> defaults */
    assert_int_equal(parse("{\"type\":\"init_session\",\"session_id\":\"a\",\"nail_reference\":"
                           "{\"url\":\"\",\"metadata\":{}}}",
                           &rq, &e),
                     0);
    assert_string_equal(rq.reference_url, "");
    assert_int_equal(rq.config.quality, WS_QUALITY_BALANCED);
    ws_request_free(&rq);
}

static void session_config_values(void **state)
{
    (void)state;
    ws_session_config c;
    ws_error e;
    cJSON *j = cJSON_Parse("{\"quality\":\"LOW\",\"output_format\":\"jpg\",\"output_quality\":90,"
                           "\"max_hands\":1,\"smoothing\":false,\"overlay\":false,\"extra\":1}");
    assert_int_equal(ws_parse_session_config(j, &lim, &c, &e), 0);
    assert_int_equal(c.quality, WS_QUALITY_LOW);
    assert_int_equal(ws_quality_variant(c.quality), LQ_MODEL_LITE);
    assert_int_equal(c.output_format, LQ_FMT_JPEG);
    assert_int_equal(c.output_quality, 90);
    assert_int_equal(c.max_hands, 1);
    assert_int_equal(c.smoothing, 0);
    assert_int_equal(c.overlay, 0);
    assert_int_equal(c.unknown_keys, 1);
    cJSON_Delete(j);
    assert_int_equal(ws_parse_session_config(NULL, &lim, &c, &e), 0);
    assert_int_equal(c.segmentation, lim.segmentation); /* the server's default */
    const char *seg[] = {"off", "always", "untracked"};
    for (int m = 0; m < 3; m++) {
        char text[64];
        snprintf(text, sizeof text, "{\"segmentation\":\"%s\"}", seg[m]);
        j = cJSON_Parse(text);
        assert_int_equal(ws_parse_session_config(j, &lim, &c, &e), 0);
        assert_int_equal(c.segmentation, m);
        cJSON_Delete(j);
    }
    /* config.outline: the server's default (NAIL_OUTLINE), or a bool */
    assert_int_equal(ws_parse_session_config(NULL, &lim, &c, &e), 0);
    assert_int_equal(c.outline, 0);
    ws_limits lim_on = lim;
    lim_on.outline = 1;
    assert_int_equal(ws_parse_session_config(NULL, &lim_on, &c, &e), 0);
    assert_int_equal(c.outline, 1);
    j = cJSON_Parse("{\"outline\":false}");
    assert_int_equal(ws_parse_session_config(j, &lim_on, &c, &e), 0);
    assert_int_equal(c.outline, 0);
    assert_int_equal(c.smoothing, 1);
    assert_int_equal(c.overlay, 1);
    cJSON_Delete(j);
    j = cJSON_Parse("{\"outline\":true}");
    assert_int_equal(ws_parse_session_config(j, &lim, &c, &e), 0);
    assert_int_equal(c.outline, 1);
    cJSON_Delete(j);
    assert_int_equal(ws_quality_variant(WS_QUALITY_HIGH), LQ_MODEL_FULL);
    assert_true(ws_quality_effort(WS_QUALITY_LOW) <= ws_quality_effort(WS_QUALITY_BALANCED));
    assert_true(ws_quality_effort(WS_QUALITY_BALANCED) <= ws_quality_effort(WS_QUALITY_HIGH));

    const char *bad[][2] = {
        {"{\"quality\":\"ultra\"}", "low, balanced, high"},
        {"{\"quality\":3}", "low, balanced, high"},
        {"{\"output_format\":\"gif\"}", "webp, jpeg, png"},
        {"{\"output_quality\":0}", "1..100"},
        {"{\"output_quality\":75.5}", "1..100"},
        {"{\"target_fps\":31}", "1..30"},
        {"{\"max_hands\":3}", "1..2"},
        {"{\"smoothing\":\"yes\"}", "true or false"},
        {"{\"segmentation\":true}", "off, always, untracked"},
        {"{\"segmentation\":\"sometimes\"}", "off, always, untracked"},
        {"{\"outline\":\"always\"}", "config.outline must be true or false"},
        {"{\"outline\":1}", "config.outline must be true or false"},
        {"[1]", "must be an object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        j = cJSON_Parse(bad[i][0]);
        assert_int_equal(ws_parse_session_config(j, &lim, &c, &e), LQ_EFORMAT);
        assert_int_equal(e.code, WS_ERR_INVALID_CONFIG);
        if (!strstr(e.message, bad[i][1]))
            fail_msg("%s -> %s", bad[i][0], e.message);
        cJSON_Delete(j);
    }
}

static void malformed_text_messages(void **state)
{
    (void)state;
    expect_fail("", WS_ERR_INVALID_MESSAGE, "empty");
    expect_fail("not json", WS_ERR_INVALID_MESSAGE, "invalid JSON");
    expect_fail("{\"type\":\"stats\"", WS_ERR_INVALID_MESSAGE, "invalid JSON");
    expect_fail("[1,2]", WS_ERR_INVALID_MESSAGE, "JSON object");
    expect_fail("{} {}", WS_ERR_INVALID_MESSAGE, "after the JSON");
    expect_fail("{}", WS_ERR_INVALID_MESSAGE, "missing field 'type'");
    expect_fail("{\"type\":5}", WS_ERR_INVALID_MESSAGE, "'type' must be a string");
    expect_fail("{\"type\":\"dance\"}", WS_ERR_INVALID_MESSAGE, "unknown message type 'dance'");
    expect_fail("{\"type\":\"stats\"}", WS_ERR_INVALID_MESSAGE, "missing field 'session_id'");
    expect_fail("{\"type\":\"stats\",\"session_id\":\"\"}", WS_ERR_INVALID_MESSAGE, "session_id");
    expect_fail("{\"type\":\"stats\",\"session_id\":\"a b\"}", WS_ERR_INVALID_MESSAGE, "session_id");
    expect_fail("{\"type\":\"stats\",\"session_id\":\"a\\\"b\"}", WS_ERR_INVALID_MESSAGE, "session_id");
    expect_fail("{\"type\":\"stats\",\"session_id\":7}", WS_ERR_INVALID_MESSAGE, "session_id");
    char longid[300];
    snprintf(longid, sizeof longid, "{\"type\":\"stats\",\"session_id\":\"%0129d\"}", 0);
    expect_fail(longid, WS_ERR_INVALID_MESSAGE, "session_id");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\"}", WS_ERR_INVALID_MESSAGE,
                "needs 'sequence'");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":-1}",
                WS_ERR_INVALID_MESSAGE, "sequence");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":1.5}",
                WS_ERR_INVALID_MESSAGE, "sequence");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":\"1\"}",
                WS_ERR_INVALID_MESSAGE, "sequence");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":1e300}",
                WS_ERR_INVALID_MESSAGE, "sequence");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":1,\"timestamp\":\"x\"}",
                WS_ERR_INVALID_MESSAGE, "timestamp");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":1,\"frame_data\":5}",
                WS_ERR_INVALID_MESSAGE, "base64 string");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":1,\"frame_data\":\"\"}",
                WS_ERR_INVALID_MESSAGE, "empty");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":1,\"frame_metadata\":[]}",
                WS_ERR_INVALID_MESSAGE, "frame_metadata must be an object");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":1,"
                "\"frame_metadata\":{\"format\":\"gif\"}}",
                WS_ERR_UNSUPPORTED_FORMAT, "gif");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":1,"
                "\"frame_metadata\":{\"width\":3840,\"height\":2160}}",
                WS_ERR_FRAME_TOO_LARGE, "3840x2160");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":1,"
                "\"frame_metadata\":{\"width\":0}}",
                WS_ERR_INVALID_MESSAGE, "width");
    expect_fail("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":1,"
                "\"frame_metadata\":{\"size_bytes\":99999999}}",
                WS_ERR_FRAME_TOO_LARGE, "size_bytes");
    expect_fail("{\"type\":\"init_session\",\"session_id\":\"a\"}", WS_ERR_INVALID_MESSAGE,
                "needs 'nail_reference'");
    expect_fail("{\"type\":\"init_session\",\"session_id\":\"a\",\"nail_reference\":\"x\"}",
                WS_ERR_INVALID_MESSAGE, "must be an object");
    expect_fail("{\"type\":\"init_session\",\"session_id\":\"a\",\"nail_reference\":{\"url\":"
                "\"ftp://x/y.png\"}}",
                WS_ERR_INVALID_MESSAGE, "http or https");
    expect_fail("{\"type\":\"init_session\",\"session_id\":\"a\",\"nail_reference\":{\"url\":7}}",
                WS_ERR_INVALID_MESSAGE, "url must be a string");
    expect_fail("{\"type\":\"init_session\",\"session_id\":\"a\",\"nail_reference\":{\"metadata\":[]}}",
                WS_ERR_INVALID_DESIGN, "metadata must be an object");
    expect_fail("{\"type\":\"init_session\",\"session_id\":\"a\",\"nail_reference\":{\"post_id\":[1]}}",
                WS_ERR_INVALID_MESSAGE, "post_id");
    expect_fail("{\"type\":\"init_session\",\"session_id\":\"a\",\"nail_reference\":{},"
                "\"config\":{\"quality\":\"max\"}}",
                WS_ERR_INVALID_CONFIG, "quality");
    expect_fail("{\"type\":\"close_session\",\"session_id\":\"a\",\"reason\":42}",
                WS_ERR_INVALID_MESSAGE, "reason");

    /* nesting bomb */
    char deep[200];
    size_t n = 0;
    for (int i = 0; i < 40; i++)
        deep[n++] = '[';
    for (int i = 0; i < 40; i++)
        deep[n++] = ']';
    deep[n] = '\0';
    expect_fail(deep, WS_ERR_INVALID_MESSAGE, "nested deeper");
    assert_true(ws_json_depth_ok("{\"a\":\"[[[[[[[[[[[[[[[[[[[[[[\"}", 26, 2));
    /* a URL over the limit */
    char *url = malloc(WS_URL_MAX + 200);
    int k = snprintf(url, WS_URL_MAX + 200,
                     "{\"type\":\"init_session\",\"session_id\":\"a\",\"nail_reference\":{\"url\":\"https://");
    memset(url + k, 'a', WS_URL_MAX);
    strcpy(url + k + WS_URL_MAX, "\"}}");
    expect_fail(url, WS_ERR_INVALID_MESSAGE, "longer than");
    free(url);
}

static void errors_keep_what_was_known(void **state)
{
    (void)state;
    ws_request rq;
    ws_error e;
    assert_int_equal(parse("{\"type\":\"process_frame\",\"session_id\":\"s1\",\"sequence\":9,"
                           "\"frame_metadata\":{\"format\":\"bmp\"}}",
                           &rq, &e),
                     LQ_EFORMAT);
    assert_string_equal(e.session_id, "s1");
    assert_true(e.has_sequence);
    assert_int_equal(e.sequence, 9);
}

static void close_and_stats(void **state)
{
    (void)state;
    ws_request rq;
    ws_error e;
    assert_int_equal(parse("{\"type\":\"close_session\",\"session_id\":\"a\",\"reason\":\"user_disconnected\","
                           "\"timestamp\":1699564800000}",
                           &rq, &e),
                     0);
    assert_int_equal(rq.type, WS_MSG_CLOSE_SESSION);
    assert_string_equal(rq.reason, "user_disconnected");
    ws_request_free(&rq);
    assert_int_equal(parse("{\"type\":\"close_session\",\"session_id\":\"a\"}", &rq, &e), 0);
    assert_string_equal(rq.reason, "user_disconnected");
    ws_request_free(&rq);
    assert_int_equal(parse("{\"type\":\"stats\",\"session_id\":\"a\"}", &rq, &e), 0);
    assert_int_equal(rq.type, WS_MSG_STATS);
    ws_request_free(&rq);
}

static void process_frame_split_and_base64(void **state)
{
    (void)state;
    ws_request rq;
    ws_error e;
    /* encoding 1: what the guide's Django client sends first */
    assert_int_equal(parse("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":1,"
                           "\"timestamp\":1699564800150,\"frame_metadata\":{\"format\":\"webp\","
                           "\"size_bytes\":35840}}",
                           &rq, &e),
                     0);
    assert_int_equal(rq.encoding, WS_ENC_SPLIT);
    assert_int_equal(rq.sequence, 1);
    assert_int_equal(rq.declared_format, LQ_FMT_WEBP);
    assert_int_equal(rq.declared_size, 35840);
    ws_request_free(&rq);
    /* encoding 3 */
    assert_int_equal(parse("{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":2,"
                           "\"frame_data\":\"UklGRg==\",\"frame_metadata\":{\"width\":480,\"height\":640,"
                           "\"format\":\"jpeg\"}}",
                           &rq, &e),
                     0);
    assert_int_equal(rq.encoding, WS_ENC_BASE64);
    assert_int_equal(rq.frame_b64_len, 8);
    assert_memory_equal(rq.frame_b64, "UklGRg==", 8);
    assert_int_equal(rq.declared_width, 480); /* portrait within 1920x1080 is fine */
    ws_request_free(&rq);
    /* base64 longer than the byte limit allows */
    size_t big = (lim.max_frame_bytes / 3 + 10) * 4;
    char *msg = malloc(big + 100);
    int k = snprintf(msg, 100, "{\"type\":\"process_frame\",\"session_id\":\"a\",\"sequence\":3,\"frame_data\":\"");
    memset(msg + k, 'A', big);
    strcpy(msg + k + big, "\"}");
    expect_fail(msg, WS_ERR_FRAME_TOO_LARGE, "decodes to more than");
    free(msg);
}

static uint8_t *header_message(const char *json, size_t pad_with, const uint8_t *img, size_t img_len,
                               size_t *len)
{
    *len = WS_HEADER_SIZE + img_len;
    uint8_t *m = malloc(*len);
    memset(m, (int)pad_with, WS_HEADER_SIZE);
    memcpy(m, json, strlen(json));
    memcpy(m + WS_HEADER_SIZE, img, img_len);
    return m;
}

static void binary_header_encoding(void **state)
{
    (void)state;
    const uint8_t img[] = {0xff, 0xd8, 0xff, 0xe0, 1, 2, 3};
    const char *hdr = "{\"type\":\"process_frame\",\"session_id\":\"b\",\"sequence\":5,"
                      "\"frame_metadata\":{\"format\":\"jpeg\",\"size_bytes\":7}}";
    ws_request rq;
    ws_error e;
    size_t len;
    for (int pad = 0; pad < 2; pad++) {
        uint8_t *m = header_message(hdr, pad ? ' ' : '\0', img, sizeof img, &len);
        assert_int_equal(ws_parse_binary(m, len, &lim, &rq, &e), 0);
        assert_int_equal(rq.encoding, WS_ENC_HEADER);
        assert_int_equal(rq.sequence, 5);
        assert_int_equal(rq.frame_len, sizeof img);
        assert_ptr_equal(rq.frame, m + WS_HEADER_SIZE);
        assert_memory_equal(rq.frame, img, sizeof img);
        ws_request_free(&rq);
        free(m);
    }
    /* newline padding after the JSON is tolerated too */
    uint8_t *m = header_message("{\"type\":\"process_frame\",\"session_id\":\"b\",\"sequence\":6}\n", ' ',
                                img, sizeof img, &len);
    assert_int_equal(ws_parse_binary(m, len, &lim, &rq, &e), 0);
    ws_request_free(&rq);
    free(m);

    struct {
        const char *json;
        int pad;
        size_t img;
        const char *needle;
    } bad[] = {
        {"{\"type\":\"process_frame\",\"session_id\":\"b\",\"sequence\":5}", ' ', 0, "no image after"},
        {"{\"type\":\"init_session\",\"session_id\":\"b\",\"nail_reference\":{}}", ' ', 7, "must be a process_frame"},
        {"{\"type\":\"process_frame\",\"session_id\":\"b\",\"sequence\":5}xx", ' ', 7, "after the JSON"},
        {"{\"type\":\"process_frame\",\"session_id\":\"b\",\"sequence\":5", ' ', 7, "invalid JSON"},
        {"{\"type\":\"process_frame\",\"session_id\":\"b\",\"sequence\":5,\"frame_data\":\"AA==\"}", ' ', 7,
         "frame_data is not allowed"},
        {"{\"type\":\"process_frame\",\"session_id\":\"b\",\"sequence\":5}", 'x', 7, "after the JSON"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        m = header_message(bad[i].json, (size_t)bad[i].pad, img, bad[i].img, &len);
        assert_int_equal(ws_parse_binary(m, len, &lim, &rq, &e), LQ_EFORMAT);
        assert_int_equal(e.code, WS_ERR_INVALID_MESSAGE);
        if (!strstr(e.message, bad[i].needle))
            fail_msg("case %zu: %s", i, e.message);
        free(m);
    }
    /* shorter than the header, or not starting with '{' */
    uint8_t small[100] = {'{'};
    assert_int_equal(ws_parse_binary(small, sizeof small, &lim, &rq, &e), LQ_EFORMAT);
    assert_non_null(strstr(e.message, "1024-byte JSON header"));
    uint8_t *raw = calloc(1, 2000);
    raw[0] = 0xff;
    assert_int_equal(ws_parse_binary(raw, 2000, &lim, &rq, &e), LQ_EFORMAT);
    free(raw);
    /* a header JSON that fills all 1024 bytes exactly */
    char exact[WS_HEADER_SIZE + 1];
    int k = snprintf(exact, sizeof exact, "{\"type\":\"process_frame\",\"session_id\":\"b\",\"sequence\":5,\"x\":\"");
    memset(exact + k, 'y', WS_HEADER_SIZE - (size_t)k - 2);
    exact[WS_HEADER_SIZE - 2] = '"';
    exact[WS_HEADER_SIZE - 1] = '}';
    exact[WS_HEADER_SIZE] = '\0';
    m = header_message(exact, ' ', img, sizeof img, &len);
    assert_int_equal(ws_parse_binary(m, len, &lim, &rq, &e), 0);
    ws_request_free(&rq);
    free(m);
}

static void base64_round_trip_and_errors(void **state)
{
    (void)state;
    uint8_t in[256], out[300];
    char enc[400];
    for (int i = 0; i < 256; i++)
        in[i] = (uint8_t)(i * 7 + 3);
    for (size_t n = 0; n < 20; n++) {
        size_t el = ws_base64_encoded_len(n);
        assert_int_equal(el % 4, 0);
        ws_base64_encode(in, n, enc);
        size_t got = 0;
        assert_int_equal(ws_base64_decode(enc, el, out, sizeof out, &got), 0);
        assert_int_equal(got, n);
        assert_memory_equal(out, in, n);
        assert_true(ws_base64_decoded_max(el) >= n);
    }
    size_t got;
    assert_int_equal(ws_base64_decode("TWFu", 4, out, sizeof out, &got), 0);
    assert_memory_equal(out, "Man", 3);
    assert_int_equal(ws_base64_decode("TWE", 3, out, sizeof out, &got), 0); /* no padding */
    assert_int_equal(got, 2);
    assert_int_equal(ws_base64_decode("TW\nFu\r\n", 7, out, sizeof out, &got), 0);
    assert_int_equal(got, 3);
    const char *url = "data:image/webp;base64,TWFu";
    assert_int_equal(ws_base64_decode(url, strlen(url), out, sizeof out, &got), 0);
    assert_int_equal(got, 3);
    assert_int_equal(ws_base64_decode("TW-_", 4, out, sizeof out, &got), 0); /* url-safe */
    assert_int_equal(ws_base64_decode("TW!u", 4, out, sizeof out, &got), LQ_EFORMAT);
    assert_int_equal(ws_base64_decode("T", 1, out, sizeof out, &got), LQ_EFORMAT);
    assert_int_equal(ws_base64_decode("TQ==TQ==", 8, out, sizeof out, &got), LQ_EFORMAT);
    assert_int_equal(ws_base64_decode("TWFuTWFu", 8, out, 4, &got), LQ_ELIMIT);
    assert_int_equal(ws_base64_decode("data:nocomma", 12, out, sizeof out, &got), LQ_EFORMAT);
}

static lq_tryon_result sample_result(int nnails)
{
    lq_tryon_result r;
    memset(&r, 0, sizeof r);
    r.hands.count = 1;
    r.hands.hand[0].handedness = LQ_HAND_RIGHT;
    r.hands.hand[0].handedness_score = 0.97f;
    r.hands.hand[0].presence = 0.99f;
    r.hands.hand[0].track_id = 4;
    r.nnails = nnails;
    for (int i = 0; i < nnails; i++) {
        r.nails[i].hand = i / 5;
        r.nails[i].finger = i % 5;
        r.nails[i].visible = 1;
        r.nails[i].confidence = 0.8123456f;
        r.nails[i].cx = 100.123f + (float)i;
        r.nails[i].cy = 200.456f;
        r.nails[i].ax = 0;
        r.nails[i].ay = -1;
        r.nails[i].width = 12.34f;
        r.nails[i].length = 15.67f;
    }
    r.fingertips_mask = 0x1f;
    r.confidence = 0.92f;
    r.problems = LQ_PROBLEM_BLUR;
    r.hand_luma = 120.25f;
    r.hand_sharpness = 35.5f;
    r.overlay_applied = 1;
    r.t.palm_ms = 3.25;
    r.t.landmark_ms = 4.5;
    return r;
}

static cJSON *json_of(const ws_out *m, size_t maxlen)
{
    size_t n = m->len < maxlen ? m->len : maxlen;
    return cJSON_ParseWithLength((const char *)m->payload, n);
}

static void processed_frame_in_each_encoding(void **state)
{
    (void)state;
    lq_tryon_result res = sample_result(5);
    ws_frame_reply r = {.session_id = "s", .sequence = 12, .has_request_timestamp = 1,
                        .request_timestamp = 1699564800150, .timestamp = 1699564800250,
                        .processing_ms = 17.5, .decode_ms = 1, .encode_ms = 2, .queue_ms = 0.5,
                        .width = 640, .height = 480, .format = LQ_FMT_WEBP, .size_bytes = 6,
                        .res = &res};
    const uint8_t img[6] = {'R', 'I', 'F', 'F', 0, 1};
    ws_out *a, *b;

    assert_int_equal(ws_build_processed_frame(&r, WS_ENC_SPLIT, img, sizeof img, &a, &b), 0);
    assert_non_null(b);
    assert_false(a->binary);
    assert_true(b->binary);
    assert_int_equal(a->kind, WS_OUT_FRAME);
    assert_int_equal(b->len, sizeof img);
    assert_memory_equal(b->payload, img, sizeof img);
    cJSON *j = json_of(a, a->len);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "processed_frame");
    assert_int_equal(cJSON_GetObjectItem(j, "sequence")->valuedouble, 12);
    assert_true(cJSON_GetObjectItem(j, "timestamp")->valuedouble == 1699564800250.0);
    assert_true(cJSON_GetObjectItem(j, "processing_time_ms")->valuedouble == 17.5);
    assert_true(cJSON_GetObjectItem(j, "confidence_score")->valuedouble == 0.92);
    cJSON *md = cJSON_GetObjectItem(j, "frame_metadata");
    assert_int_equal(cJSON_GetObjectItem(md, "width")->valueint, 640);
    assert_int_equal(cJSON_GetObjectItem(md, "height")->valueint, 480);
    assert_string_equal(cJSON_GetObjectItem(md, "format")->valuestring, "webp");
    assert_int_equal(cJSON_GetObjectItem(md, "size_bytes")->valueint, 6);
    cJSON *di = cJSON_GetObjectItem(j, "detection_info");
    assert_int_equal(cJSON_GetObjectItem(di, "hands_detected")->valueint, 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(di, "fingertips_detected")), 5);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(di, "overlay_applied")));
    cJSON *probs = cJSON_GetObjectItem(di, "problems");
    assert_int_equal(cJSON_GetArraySize(probs), 1);
    assert_string_equal(cJSON_GetArrayItem(probs, 0)->valuestring, "BLUR_DETECTED");
    cJSON *expl = cJSON_GetObjectItem(j, "problem_details");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(expl, 0), "suggestion")->valuestring,
                        ws_error_suggestion(WS_ERR_BLUR_DETECTED));
    cJSON *t = cJSON_GetObjectItem(j, "timings_ms");
    assert_true(cJSON_GetObjectItem(t, "palm")->valuedouble == 3.25);
    assert_non_null(cJSON_GetObjectItem(t, "encode"));
    cJSON *hands = cJSON_GetObjectItem(j, "hands");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetArrayItem(hands, 0), "handedness")->valuestring,
                        "right");
    cJSON *nails = cJSON_GetObjectItem(j, "nails");
    assert_int_equal(cJSON_GetArraySize(nails), 5);
    cJSON *n0 = cJSON_GetArrayItem(nails, 0);
    assert_string_equal(cJSON_GetObjectItem(n0, "finger")->valuestring, "thumb");
    assert_true(cJSON_GetObjectItem(n0, "cx")->valuedouble == 100.1);
    assert_true(fabs(cJSON_GetObjectItem(n0, "angle")->valuedouble + 1.571) < 1e-9);
    cJSON_Delete(j);
    ws_out_free(a);
    ws_out_free(b);

    assert_int_equal(ws_build_processed_frame(&r, WS_ENC_BASE64, img, sizeof img, &a, &b), 0);
    assert_null(b);
    assert_false(a->binary);
    j = json_of(a, a->len);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "frame_data")->valuestring, "UklGRgAB");
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(j, "nails")), 5);
    cJSON_Delete(j);
    ws_out_free(a);

    /* header encoding: fits in 1024 bytes, dropping detail when needed */
    for (int nn = 0; nn <= NAIL_MAX; nn += 5) {
        res = sample_result(nn);
        res.hands.count = nn > 5 ? 2 : 1;
        res.problems = nn == 5 ? 0 : 0xf;
        assert_int_equal(ws_build_processed_frame(&r, WS_ENC_HEADER, img, sizeof img, &a, &b), 0);
        assert_null(b);
        assert_true(a->binary);
        size_t used = WS_HEADER_SIZE;
        while (used > 0 && a->payload[used - 1] == ' ')
            used--;
        print_message("header with %d nails, problems %x: %zu bytes of JSON\n", nn, res.problems, used);
        assert_int_equal(a->len, WS_HEADER_SIZE + sizeof img);
        assert_memory_equal(a->payload + WS_HEADER_SIZE, img, sizeof img);
        assert_int_equal(a->payload[WS_HEADER_SIZE - 1], ' ');
        j = json_of(a, WS_HEADER_SIZE);
        assert_non_null(j);
        assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "processed_frame");
        assert_non_null(cJSON_GetObjectItem(j, "detection_info"));
        assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "detection_info"),
                                                                "problems")),
                         res.problems ? 4 : 0);
        if (nn == 5) /* the common case keeps the per-hand details */
            assert_non_null(cJSON_GetObjectItem(j, "hands"));
        if (nn == NAIL_MAX)
            assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "details_omitted")));
        cJSON_Delete(j);
        ws_out_free(a);
    }
}

static void other_replies(void **state)
{
    (void)state;
    ws_session_config cfg;
    ws_error e;
    assert_int_equal(ws_parse_session_config(NULL, &lim, &cfg, &e), 0);
    ws_out *m = ws_build_session_ready("s", 1, &cfg, "fetched", 1699564800100);
    cJSON *j = json_of(m, m->len);
    assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "session_ready");
    assert_string_equal(cJSON_GetObjectItem(j, "status")->valuestring, "ready");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "model_loaded")));
    assert_string_equal(cJSON_GetObjectItem(j, "reference")->valuestring, "fetched");
    assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "model_variant")->valuestring,
                        "full");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "config"), "outline")));
    cJSON_Delete(j);
    ws_out_free(m);

    m = ws_build_error("s", 1, 3, WS_ERR_LOW_LIGHT, NULL, 5);
    j = json_of(m, m->len);
    assert_string_equal(cJSON_GetObjectItem(j, "code")->valuestring, "LOW_LIGHT");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(j, "recoverable")));
    assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring, ws_error_message(WS_ERR_LOW_LIGHT));
    assert_true(strlen(cJSON_GetObjectItem(j, "suggestion")->valuestring) > 10);
    assert_int_equal(cJSON_GetObjectItem(j, "sequence")->valueint, 3);
    cJSON_Delete(j);
    ws_out_free(m);
    m = ws_build_error(NULL, 0, 0, WS_ERR_INVALID_SESSION, "custom \"quoted\"", 5);
    j = json_of(m, m->len);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "session_id")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(j, "sequence")));
    assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring, "custom \"quoted\"");
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(j, "recoverable")));
    cJSON_Delete(j);
    ws_out_free(m);

    ws_stats st = {.frames_received = 10, .frames_processed = 8, .frames_dropped = 1,
                   .frames_with_errors = 1, .avg_processing_ms = 12.34567,
                   .p95_processing_ms = 20.5, .avg_confidence = 0.9, .duration_s = 3};
    m = ws_build_stats("s", &st, 1);
    j = json_of(m, m->len);
    assert_int_equal(cJSON_GetObjectItem(j, "frames_processed")->valueint, 8);
    assert_int_equal(cJSON_GetObjectItem(j, "frames_dropped")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(j, "frames_with_errors")->valueint, 1);
    assert_true(cJSON_GetObjectItem(j, "avg_processing_time_ms")->valuedouble == 12.346);
    assert_true(cJSON_GetObjectItem(j, "p95_processing_time_ms")->valuedouble == 20.5);
    assert_true(cJSON_GetObjectItem(j, "avg_confidence")->valuedouble == 0.9);
    cJSON_Delete(j);
    ws_out_free(m);

    m = ws_build_close("close_session", "s", "timeout", 1);
    j = json_of(m, m->len);
    assert_string_equal(cJSON_GetObjectItem(j, "type")->valuestring, "close_session");
    assert_string_equal(cJSON_GetObjectItem(j, "reason")->valuestring, "timeout");
    cJSON_Delete(j);
    ws_out_free(m);
}

static void problem_priority(void **state)
{
    (void)state;
    lq_tryon_result r;
    memset(&r, 0, sizeof r);
    r.problems = LQ_PROBLEM_NO_HAND;
    assert_int_equal(ws_problem_error(&r), WS_ERR_HAND_NOT_DETECTED);
    r.problems |= LQ_PROBLEM_BLUR;
    assert_int_equal(ws_problem_error(&r), WS_ERR_BLUR_DETECTED);
    r.problems |= LQ_PROBLEM_LOW_LIGHT;
    assert_int_equal(ws_problem_error(&r), WS_ERR_LOW_LIGHT);
    r.problems = LQ_PROBLEM_PARTIAL_HAND;
    r.hands.count = 1;
    assert_int_equal(ws_problem_error(&r), WS_ERR_PARTIAL_HAND_DETECTED);
    r.problems = 0;
    assert_int_equal(ws_problem_error(&r), WS_ERR_PARTIAL_HAND_DETECTED);
}

/* The ids of a message too big for the memory left, from its first bytes. */
static void ids_are_peeked_from_a_message_head(void **state)
{
    (void)state;
    char sid[WS_SESSION_ID_MAX + 1];
    int has_seq;
    int64_t seq;
#define PEEK(text) ws_peek_ids((const uint8_t *)(text), strlen(text), sid, &has_seq, &seq)
    assert_int_equal(PEEK("{\"type\":\"process_frame\",\"session_id\":\"s-1.a:b_c\","
                          "\"sequence\":42,\"frame_data\":\"UklGR"), 1);
    assert_string_equal(sid, "s-1.a:b_c");
    assert_true(has_seq);
    assert_int_equal(seq, 42);
    /* spaces, other order, a cut-off tail */
    assert_int_equal(PEEK("{ \"sequence\" : 9007199254740992 , \"session_id\" : \"x\" , \"fr"), 1);
    assert_string_equal(sid, "x");
    assert_int_equal(seq, 9007199254740992LL);
    /* only top-level keys; values and nested keys named alike are not ids */
    assert_int_equal(PEEK("{\"config\":{\"session_id\":\"inner\",\"sequence\":3},"
                          "\"note\":\"session_id\",\"session_id\":\"outer\"}"), 1);
    assert_string_equal(sid, "outer");
    assert_false(has_seq);
    /* an escaped quote inside a string does not end it */
    assert_int_equal(PEEK("{\"a\":\"x\\\",\\\"session_id\\\":\\\"no\",\"sequence\":7}"), 0);
    assert_string_equal(sid, "");
    assert_true(has_seq);
    assert_int_equal(seq, 7);
    /* invalid values are not taken */
    assert_int_equal(PEEK("{\"session_id\":\"has space\",\"sequence\":-1}"), 0);
    assert_false(has_seq);
    assert_int_equal(PEEK("{\"session_id\":\"a\\u0041\",\"sequence\":1.5}"), 0);
    assert_false(has_seq);
    assert_int_equal(PEEK("{\"session_id\":5,\"sequence\":9007199254740993}"), 0);
    assert_false(has_seq);
    assert_int_equal(PEEK("{\"sequence\":123456789012345678901}"), 0);
    assert_false(has_seq);
    assert_int_equal(PEEK("{\"session_id\":\"cut"), 0);
    assert_int_equal(PEEK(""), 0);
    assert_int_equal(ws_peek_ids(NULL, 0, sid, &has_seq, &seq), 0);
    /* only the first WS_HEADER_SIZE bytes are read */
    char big[WS_HEADER_SIZE + 64];
    memset(big, ' ', sizeof big);
    memcpy(big, "{", 1);
    memcpy(big + WS_HEADER_SIZE + 4, "\"sequence\":1}", 13);
    assert_int_equal(ws_peek_ids((const uint8_t *)big, sizeof big, sid, &has_seq, &seq), 0);
    assert_false(has_seq);
#undef PEEK
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(error_table_matches_the_guide),
        cmocka_unit_test(init_session_from_the_guide),
        cmocka_unit_test(session_config_values),
        cmocka_unit_test(malformed_text_messages),
        cmocka_unit_test(errors_keep_what_was_known),
        cmocka_unit_test(close_and_stats),
        cmocka_unit_test(process_frame_split_and_base64),
        cmocka_unit_test(binary_header_encoding),
        cmocka_unit_test(base64_round_trip_and_errors),
        cmocka_unit_test(processed_frame_in_each_encoding),
        cmocka_unit_test(other_replies),
        cmocka_unit_test(problem_priority),
        cmocka_unit_test(ids_are_peeked_from_a_message_head),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
