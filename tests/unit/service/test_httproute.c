/* test_httproute.c - the HTTP API's routes, methods, query values, content types and the
 * error-code -> HTTP status table (src/service/httproute.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "lq_test.h"
#include "service/httproute.h"

static void routes(void **state)
{
    (void)state;
    struct {
        const char *path;
        api_route_kind kind;
        const char *sid;
    } ok[] = {
        {"/api/tryon/sessions", API_ROUTE_SESSIONS, ""},
        {"/api/tryon/sessions/", API_ROUTE_SESSIONS, ""},
        {"/api/tryon/sessions/abc", API_ROUTE_SESSION, "abc"},
        {"/api/tryon/sessions/abc/", API_ROUTE_SESSION, "abc"},
        {"/api/tryon/sessions/550e8400-e29b-41d4-a716-446655440000/frames", API_ROUTE_FRAMES,
         "550e8400-e29b-41d4-a716-446655440000"},
        {"/api/tryon/sessions/a.b_c:d-e/stats", API_ROUTE_STATS, "a.b_c:d-e"},
        {"/api/tryon/sessions/x/frames/", API_ROUTE_FRAMES, "x"},
        {"/api/tryon/process-stream", API_ROUTE_STREAM, ""},
        {"/api/tryon/process-stream/", API_ROUTE_STREAM, ""},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        api_route r;
        char err[128] = "";
        if (api_route_parse(ok[i].path, &r, err, sizeof err) != 0)
            fail_msg("%s: %s", ok[i].path, err);
        assert_int_equal(r.kind, ok[i].kind);
        assert_string_equal(r.session_id, ok[i].sid);
    }
}

static void unknown_routes(void **state)
{
    (void)state;
    const char *bad[] = {
        "/api",
        "/api/",
        "/api/tryon",
        "/api/tryon/",
        "/api/other/sessions",
        "/api/tryon/session",
        "/api/tryon/sessions/x/frame",
        "/api/tryon/sessions/x/stats/more",
        "/api/tryon/sessions//frames",
        "/api/tryon/sessions/x//",
        "/api/tryon/process-stream/x",
        "/api/tryon/sessionsx",
        "/api/tryon//sessions",
        "/health",
        "",
        "/api/tryon/sessions/x/y/z/w",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        api_route r = {.kind = API_ROUTE_STATS, .session_id = "keep"};
        char err[128] = "";
        if (api_route_parse(bad[i], &r, err, sizeof err) != LQ_ENOTFOUND)
            fail_msg("'%s' was accepted", bad[i]);
        assert_non_null(strstr(err, "no such API route"));
        assert_int_equal(r.kind, API_ROUTE_STATS); /* untouched */
        assert_string_equal(r.session_id, "keep");
    }
    api_route r;
    char err[128];
    assert_int_equal(api_route_parse(NULL, &r, err, sizeof err), LQ_ENOTFOUND);
    /* a very long path is refused without overflowing anything */
    char longp[600] = "/api/tryon/sessions/";
    memset(longp + strlen(longp), 'a', 500);
    longp[599] = 0;
    assert_int_equal(api_route_parse(longp, &r, err, sizeof err), LQ_ENOTFOUND);
}

static void bad_session_ids(void **state)
{
    (void)state;
    char id129[200] = "/api/tryon/sessions/";
    size_t n = strlen(id129);
    memset(id129 + n, 'a', 129);
    id129[n + 129] = 0;
    const char *bad[] = {"/api/tryon/sessions/a b/stats", "/api/tryon/sessions/%41/frames",
                         "/api/tryon/sessions/a?b", "/api/tryon/sessions/\xc3\xa9", id129};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        api_route r;
        char err[128] = "";
        if (api_route_parse(bad[i], &r, err, sizeof err) != LQ_EINVAL)
            fail_msg("'%s' not refused as a bad id", bad[i]);
        assert_non_null(strstr(err, "session id"));
    }
    /* 128 characters is the longest id */
    id129[n + 128] = 0;
    api_route r;
    char err[128];
    assert_int_equal(api_route_parse(id129, &r, err, sizeof err), 0);
    assert_int_equal(strlen(r.session_id), 128);
}

static void methods(void **state)
{
    (void)state;
    assert_true(api_route_method_ok(API_ROUTE_SESSIONS, API_METHOD_POST));
    assert_false(api_route_method_ok(API_ROUTE_SESSIONS, API_METHOD_GET));
    assert_true(api_route_method_ok(API_ROUTE_FRAMES, API_METHOD_POST));
    assert_false(api_route_method_ok(API_ROUTE_FRAMES, API_METHOD_DELETE));
    assert_true(api_route_method_ok(API_ROUTE_STATS, API_METHOD_GET));
    assert_false(api_route_method_ok(API_ROUTE_STATS, API_METHOD_POST));
    assert_true(api_route_method_ok(API_ROUTE_SESSION, API_METHOD_DELETE));
    assert_false(api_route_method_ok(API_ROUTE_SESSION, API_METHOD_GET));
    assert_true(api_route_method_ok(API_ROUTE_STREAM, API_METHOD_POST));
    assert_false(api_route_method_ok(API_ROUTE_STREAM, API_METHOD_OTHER));
    assert_false(api_route_method_ok(API_ROUTE_NONE, API_METHOD_GET));
    assert_string_equal(api_route_allow(API_ROUTE_STATS), "GET");
    assert_string_equal(api_route_allow(API_ROUTE_SESSION), "DELETE");
    assert_string_equal(api_route_allow(API_ROUTE_STREAM), "POST");
    assert_true(api_is_api_path("/api"));
    assert_true(api_is_api_path("/api/anything"));
    assert_false(api_is_api_path("/apix"));
    assert_false(api_is_api_path("/"));
    assert_false(api_is_api_path(NULL));
}

static void query_values(void **state)
{
    (void)state;
    int64_t v = -1;
    assert_int_equal(api_parse_sequence("0", &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(api_parse_sequence("9007199254740992", &v), 0); /* 2^53 */
    assert_int_equal(v, (int64_t)1 << 53);
    v = 5;
    const char *bad[] = {"",
                         "-1",
                         "+1",
                         "1.5",
                         "1e3",
                         " 1",
                         "1 ",
                         "0x10",
                         "9007199254740993",
                         "99999999999999999999",
                         "abc"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (api_parse_sequence(bad[i], &v) != LQ_EINVAL)
            fail_msg("sequence '%s' accepted", bad[i]);
        assert_int_equal(v, 5); /* untouched */
    }
    assert_int_equal(api_parse_sequence(NULL, &v), LQ_EINVAL);
    assert_int_equal(api_parse_timestamp("1699564800150", &v), 0);
    assert_int_equal(v, 1699564800150);
    assert_int_equal(api_parse_timestamp("-5", &v), LQ_EINVAL);
    api_format f = API_FORMAT_JSON;
    assert_int_equal(api_parse_format("image", &f), 0);
    assert_int_equal(f, API_FORMAT_IMAGE);
    assert_int_equal(api_parse_format("json", &f), 0);
    assert_int_equal(f, API_FORMAT_JSON);
    assert_int_equal(api_parse_format("binary", &f), 0);
    assert_int_equal(f, API_FORMAT_IMAGE);
    assert_int_equal(api_parse_format("JSON", &f), LQ_EINVAL);
    assert_int_equal(api_parse_format("", &f), LQ_EINVAL);
    assert_int_equal(api_parse_format(NULL, &f), LQ_EINVAL);
}

static void content_types(void **state)
{
    (void)state;
    const char *frame_ok[] = {NULL,
                              "",
                              "image/webp",
                              "IMAGE/WEBP",
                              "image/jpeg",
                              "image/jpg",
                              "image/png",
                              "application/octet-stream",
                              " image/png ; q=1",
                              "image/webp;charset=binary",
                              "application/x-www-form-urlencoded"};
    for (size_t i = 0; i < sizeof frame_ok / sizeof frame_ok[0]; i++)
        if (!api_frame_content_type_ok(frame_ok[i]))
            fail_msg("frame type '%s' refused", frame_ok[i]);
    const char *frame_bad[] = {"image/gif",   "text/plain", "application/json",
                               "image/webpx", "image",      "multipart/form-data; boundary=x"};
    for (size_t i = 0; i < sizeof frame_bad / sizeof frame_bad[0]; i++)
        if (api_frame_content_type_ok(frame_bad[i]))
            fail_msg("frame type '%s' accepted", frame_bad[i]);
    assert_true(api_json_content_type_ok("application/json; charset=utf-8"));
    assert_true(api_json_content_type_ok(NULL));
    assert_true(api_json_content_type_ok("application/x-www-form-urlencoded"));
    assert_false(api_json_content_type_ok("text/plain"));
    assert_false(api_json_content_type_ok("image/png"));
}

static void statuses(void **state)
{
    (void)state;
    struct {
        ws_error_code code;
        int status;
    } t[] = {
        {WS_ERR_INVALID_MESSAGE, 400},    {WS_ERR_UNAUTHORIZED, 401},
        {WS_ERR_INVALID_SESSION, 404},    {WS_ERR_FRAME_TOO_LARGE, 413},
        {WS_ERR_UNSUPPORTED_FORMAT, 415}, {WS_ERR_INVALID_FRAME, 422},
        {WS_ERR_HAND_NOT_DETECTED, 422},  {WS_ERR_PARTIAL_HAND_DETECTED, 422},
        {WS_ERR_LOW_LIGHT, 422},          {WS_ERR_BLUR_DETECTED, 422},
        {WS_ERR_INVALID_DESIGN, 422},     {WS_ERR_INVALID_CONFIG, 422},
        {WS_ERR_RATE_LIMITED, 429},       {WS_ERR_PROCESSING_TIMEOUT, 503},
        {WS_ERR_SERVER_BUSY, 503},        {WS_ERR_SHUTTING_DOWN, 503},
        {WS_ERR_MODEL_ERROR, 500},        {WS_ERR_PROCESSING_FAILED, 500},
        {WS_ERR_INTERNAL_ERROR, 500},     {WS_ERR_REFERENCE_FETCH_FAILED, 422},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
        if (api_http_status(t[i].code) != t[i].status)
            fail_msg("%s -> %d, expected %d", ws_error_name(t[i].code), api_http_status(t[i].code),
                     t[i].status);
    /* every code has a status in the documented set */
    for (int c = 0; c < WS_ERR_COUNT; c++) {
        int s = api_http_status((ws_error_code)c);
        assert_true(s == 400 || s == 401 || s == 404 || s == 413 || s == 415 || s == 422 ||
                    s == 429 || s == 500 || s == 503);
    }
    assert_int_equal(api_http_status((ws_error_code)999), 500);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(routes),          cmocka_unit_test(unknown_routes),
        cmocka_unit_test(bad_session_ids), cmocka_unit_test(methods),
        cmocka_unit_test(query_values),    cmocka_unit_test(content_types),
        cmocka_unit_test(statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
