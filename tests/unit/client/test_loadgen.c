/*
 * test_loadgen.c - src/client/loadgen.c: option validation, message limits
 * per encoding, and a run against a port nobody listens on. The run against
 * the real service is tests/e2e/test_stream.py.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "client/loadgen.h"
#include "lq_test.h"

static lq_load_opts good(void)
{
    lq_load_opts o = LQ_LOAD_OPTS_DEFAULT;
    o.url = "ws://127.0.0.1:8002/ws/tryon";
    return o;
}

static void expect_bad(const lq_load_opts *o, const char *mention)
{
    char err[512] = "";
    assert_int_equal(lq_load_opts_validate(o, err, sizeof err), LQ_EINVAL);
    if (!strstr(err, mention))
        fail_msg("error '%s' does not mention '%s'", err, mention);
}

static void defaults_validate(void **state)
{
    (void)state;
    lq_load_opts o = good();
    char err[256];
    assert_int_equal(lq_load_opts_validate(&o, err, sizeof err), 0);
    o.sessions = LQ_LOAD_MAX_SESSIONS;
    o.fps = 0.1;
    o.seconds = 0.1;
    o.design_json = "{\"shape\":\"coffin\",\"colors\":[\"#2a9d8f\"],\"finish\":\"matte\"}";
    o.quality = "low";
    o.output_format = "jpg";
    o.output_quality = 100;
    o.reference_url = "https://example.org/a.jpg";
    o.token = "s3cret";
    o.save_dir = "/tmp";
    assert_int_equal(lq_load_opts_validate(&o, err, sizeof err), 0);
}

static void every_limit_is_checked(void **state)
{
    (void)state;
    lq_load_opts o = good();
    o.url = NULL;
    expect_bad(&o, "--url");
    o = good();
    o.url = "http://x/";
    expect_bad(&o, "--url");
    o = good();
    o.sessions = 0;
    expect_bad(&o, "--sessions");
    o.sessions = LQ_LOAD_MAX_SESSIONS + 1;
    expect_bad(&o, "--sessions");
    o = good();
    o.fps = 0;
    expect_bad(&o, "--fps");
    o.fps = 241;
    expect_bad(&o, "--fps");
    o = good();
    o.seconds = 0.05;
    expect_bad(&o, "--seconds");
    o.seconds = LQ_LOAD_MAX_SECONDS + 1;
    expect_bad(&o, "--seconds");
    o = good();
    o.warmup_s = o.seconds;
    expect_bad(&o, "--warmup");
    o = good();
    o.encoding = (lq_load_encoding)4;
    expect_bad(&o, "--encoding");
    o = good();
    o.max_message = 100;
    expect_bad(&o, "--max-message");
    o.max_message = LQ_LOAD_MESSAGE_MAX + 1;
    expect_bad(&o, "--max-message");
    o = good();
    o.drain_timeout_s = -1;
    expect_bad(&o, "--drain");
    o = good();
    o.session_prefix = "has space";
    expect_bad(&o, "--session-prefix");
    o = good();
    o.quality = "ultra";
    expect_bad(&o, "--quality");
    o = good();
    o.output_format = "gif";
    expect_bad(&o, "--output-format");
    o = good();
    o.output_quality = 101;
    expect_bad(&o, "--output-quality");
    o = good();
    o.max_hands = 3;
    expect_bad(&o, "--max-hands");
    o = good();
    o.reference_url = "file:///etc/passwd";
    expect_bad(&o, "--reference");
    o = good();
    o.token = "two words";
    expect_bad(&o, "--token");
    o = good();
    o.design_json = "{\"shape\":\"triangle\"}";
    expect_bad(&o, "shape");
    o.design_json = "[]";
    expect_bad(&o, "design");
    o = good();
    o.save_dir = "/nonexistent/lq";
    expect_bad(&o, "--save");
}

static void encoding_and_check_names(void **state)
{
    (void)state;
    lq_load_encoding e;
    assert_int_equal(lq_load_encoding_parse("text", &e), 0);
    assert_int_equal(e, LQ_LOAD_ENC_TEXT);
    assert_int_equal(lq_load_encoding_parse("split", &e), 0);
    assert_int_equal(e, LQ_LOAD_ENC_TEXT);
    assert_int_equal(lq_load_encoding_parse("binary", &e), 0);
    assert_int_equal(e, LQ_LOAD_ENC_BINARY);
    assert_int_equal(lq_load_encoding_parse("3", &e), 0);
    assert_int_equal(e, LQ_LOAD_ENC_BASE64);
    assert_int_equal(lq_load_encoding_parse("json", &e), LQ_EINVAL);
    assert_string_equal(lq_load_encoding_name(LQ_LOAD_ENC_BINARY), "binary");
    lq_load_check c;
    assert_int_equal(lq_load_check_parse("decode", &c), 0);
    assert_int_equal(c, LQ_LOAD_CHECK_DECODE);
    assert_int_equal(lq_load_check_parse("all", &c), LQ_EINVAL);
}

static void frames_must_fit_the_message_limit(void **state)
{
    (void)state;
    lq_client_frames *fr = NULL;
    char err[512];
    assert_int_equal(
        lq_client_frames_load(lq_test_data("video/palm_reach"), NULL, &fr, err, sizeof err), 0);
    const size_t max = lq_client_frames_max_bytes(fr);
    const lq_client_frames *sets[] = {fr};
    lq_load_opts o = good();
    lq_load *ld = NULL;
    /* exactly the largest frame fits encoding text, not binary (+1024 header) */
    o.max_message = max;
    assert_int_equal(lq_load_create(&o, sets, 1, &ld, err, sizeof err), 0);
    lq_load_destroy(ld);
    o.encoding = LQ_LOAD_ENC_BINARY;
    assert_int_equal(lq_load_create(&o, sets, 1, &ld, err, sizeof err), LQ_ELIMIT);
    assert_non_null(strstr(err, "--max-message"));
    o.max_message = max + 1024;
    assert_int_equal(lq_load_create(&o, sets, 1, &ld, err, sizeof err), 0);
    lq_load_destroy(ld);
    o.encoding = LQ_LOAD_ENC_BASE64; /* 4/3 of the bytes */
    assert_int_equal(lq_load_create(&o, sets, 1, &ld, err, sizeof err), LQ_ELIMIT);
    assert_int_equal(lq_load_create(&o, sets, 0, &ld, err, sizeof err), LQ_EINVAL);
    lq_client_frames_destroy(fr);
}

/* A loopback port with nothing listening (bound, then closed). */
static int dead_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a;
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    socklen_t len = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    return ntohs(a.sin_port);
}

static void refused_connections_fail_the_run_cleanly(void **state)
{
    (void)state;
    lq_client_frames *fr = NULL;
    char err[512];
    assert_int_equal(
        lq_client_frames_load(lq_test_data("video/thumb_ok"), NULL, &fr, err, sizeof err), 0);
    const lq_client_frames *sets[] = {fr};
    char url[64];
    snprintf(url, sizeof url, "ws://127.0.0.1:%d/ws/tryon", dead_port());
    lq_load_opts o = good();
    o.url = url;
    o.sessions = 3;
    o.seconds = 1;
    o.ready_timeout_s = 5;
    lq_load *ld = NULL;
    assert_int_equal(lq_load_create(&o, sets, 1, &ld, err, sizeof err), 0);
    assert_int_equal(lq_load_run(ld), LQ_EIO);
    const lq_load_report *r = lq_load_get_report(ld);
    assert_int_equal(r->sessions_ready, 0);
    assert_int_equal(r->sessions_failed, 3);
    assert_int_equal(r->sent, 0);
    assert_true(r->nfailures > 0);
    assert_true(r->elapsed_s < 5.0);
    assert_int_equal(lq_load_run(ld), LQ_ESTATE); /* once per lq_load */
    lq_load_destroy(ld);
    lq_client_frames_destroy(fr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_validate),
        cmocka_unit_test(every_limit_is_checked),
        cmocka_unit_test(encoding_and_check_names),
        cmocka_unit_test(frames_must_fit_the_message_limit),
        cmocka_unit_test(refused_connections_fail_the_run_cleanly),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
