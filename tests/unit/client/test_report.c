/*
 * test_report.c - src/client/report.c: counters, the code table and the JSON shape.
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

#include "client/report.h"
#include "lq_test.h"

static void codes_are_counted_and_overflow_into_other(void **state)
{
    (void)state;
    lq_load_report *r = malloc(sizeof *r);
    assert_non_null(r);
    lq_load_report_reset(r);
    lq_load_report_count_code(r, "LOW_LIGHT");
    lq_load_report_count_code(r, "LOW_LIGHT");
    lq_load_report_count_code(r, NULL);
    assert_int_equal(lq_load_report_code(r, "LOW_LIGHT"), 2);
    assert_int_equal(lq_load_report_code(r, "UNKNOWN"), 1);
    assert_int_equal(lq_load_report_code(r, "BLUR_DETECTED"), 0);
    char code[32];
    for (int i = 0; i < 100; i++) {
        snprintf(code, sizeof code, "CODE_%d", i);
        lq_load_report_count_code(r, code);
    }
    assert_int_equal(r->ncodes, LQ_LOAD_REPORT_CODES);
    uint64_t total = 0;
    for (int i = 0; i < r->ncodes; i++)
        total += r->codes[i].n;
    assert_int_equal(total, 103);
    assert_true(lq_load_report_code(r, "OTHER") > 0);
    free(r);
}

static void failures_keep_the_first_few(void **state)
{
    (void)state;
    lq_load_report *r = malloc(sizeof *r);
    assert_non_null(r);
    lq_load_report_reset(r);
    for (int i = 0; i < 20; i++)
        lq_load_report_failure(r, "failure %d", i);
    assert_int_equal(r->nfailures, LQ_LOAD_REPORT_FAILURES);
    assert_int_equal(r->failures_total, 20);
    assert_string_equal(r->failures[0], "failure 0");
    free(r);
}

static void json_has_every_section(void **state)
{
    (void)state;
    lq_load_report *r = malloc(sizeof *r);
    assert_non_null(r);
    lq_load_report_reset(r);
    snprintf(r->url, sizeof r->url, "ws://127.0.0.1:1/ws/tryon");
    snprintf(r->encoding, sizeof r->encoding, "text");
    r->sessions = r->sessions_ready = 2;
    r->fps = 25;
    r->seconds = 4;
    r->slots = 200;
    r->sent = 199;
    r->client_drops = 1;
    r->processed = 190;
    r->server_drops = 3;
    r->errors = 6;
    r->replies = 199;
    r->streaming_s = 4.0;
    for (int i = 1; i <= 190; i++) {
        lq_client_hist_add(&r->latency_us, (uint64_t)(10000 + 100 * i));
        lq_client_hist_add(&r->server_us, (uint64_t)(8000 + 100 * i));
    }
    r->stage_ms_sum[LQ_STAGE_ENCODE] = 190 * 4.5;
    r->stage_n[LQ_STAGE_ENCODE] = 190;
    lq_load_report_count_code(r, "PROCESSING_TIMEOUT");
    char *js = lq_load_report_json(r);
    assert_non_null(js);
    cJSON *o = cJSON_Parse(js);
    assert_non_null(o);
    cJSON *fr = cJSON_GetObjectItem(o, "frames");
    assert_int_equal(cJSON_GetObjectItem(fr, "received")->valueint, 190);
    assert_int_equal(cJSON_GetObjectItem(fr, "sent")->valueint, 199);
    cJSON *dr = cJSON_GetObjectItem(o, "drops");
    assert_int_equal(cJSON_GetObjectItem(dr, "client")->valueint, 1);
    assert_int_equal(cJSON_GetObjectItem(dr, "server")->valueint, 3);
    assert_int_equal(cJSON_GetObjectItem(dr, "total")->valueint, 4);
    cJSON *lat = cJSON_GetObjectItem(o, "latency_ms");
    const double p50 = cJSON_GetObjectItem(lat, "p50")->valuedouble;
    assert_true(p50 > 19.3 && p50 < 19.7); /* exact: 19.5 ms */
    assert_true(cJSON_GetObjectItem(lat, "p99")->valuedouble <=
                cJSON_GetObjectItem(lat, "max")->valuedouble);
    assert_true(cJSON_GetObjectItem(lat, "max")->valuedouble == 29.0);
    assert_non_null(cJSON_GetObjectItem(o, "server_processing_ms"));
    cJSON *st = cJSON_GetObjectItem(o, "server_stages_ms");
    assert_true(cJSON_GetObjectItem(st, "encode")->valuedouble == 4.5);
    assert_null(cJSON_GetObjectItem(st, "palm")); /* no samples: left out */
    cJSON *tp = cJSON_GetObjectItem(o, "throughput");
    assert_true(cJSON_GetObjectItem(tp, "fps")->valuedouble == 47.5);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(o, "errors_by_code"), "PROCESSING_TIMEOUT")
            ->valueint,
        1);
    cJSON_Delete(o);
    free(js);
    /* the table prints without crashing and names the sections */
    char *text = NULL;
    size_t tlen = 0;
    FILE *f = open_memstream(&text, &tlen);
    lq_load_report_print(r, f);
    fclose(f);
    assert_non_null(strstr(text, "end-to-end latency"));
    assert_non_null(strstr(text, "PROCESSING_TIMEOUT 1"));
    free(text);
    free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(codes_are_counted_and_overflow_into_other),
        cmocka_unit_test(failures_keep_the_first_few),
        cmocka_unit_test(json_has_every_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
