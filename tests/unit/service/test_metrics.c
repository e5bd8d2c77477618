/* test_metrics.c - Prometheus text: names, labels, cumulative buckets, no session ids. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq_test.h"
#include "service/metrics.h"

static void histogram_buckets(void **state)
{
    (void)state;
    svc_histogram h;
    const double b[] = {0.1, 0.5, 1.0};
    svc_histogram_init(&h, b, 3);
    svc_histogram_observe(&h, 0.05);
    svc_histogram_observe(&h, 0.1); /* le is inclusive */
    svc_histogram_observe(&h, 0.3);
    svc_histogram_observe(&h, 7.0);
    assert_int_equal(h.counts[0], 2);
    assert_int_equal(h.counts[1], 1);
    assert_int_equal(h.counts[2], 0);
    assert_int_equal(h.counts[3], 1);
    assert_int_equal(h.count, 4);
    assert_true(h.sum > 7.449 && h.sum < 7.451);
}

static int has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)) != NULL; p++)
        if ((p == text || p[-1] == '\n') && (p[n] == '\n'))
            return 1;
    return 0;
}

static void render(void **state)
{
    (void)state;
    svc_metrics m;
    svc_metrics_init(&m, 2, 1700000000123);
    m.frames[SVC_FRAME_SUCCESS] = 10;
    m.frames[SVC_FRAME_NO_RESULT] = 2;
    m.hands[1] = 9;
    m.hands[0] = 3;
    m.dropped[SVC_DROP_QUEUE_FULL] = 4;
    m.errors[WS_ERR_LOW_LIGHT] = 1;
    svc_histogram_observe(&m.processing, 0.012);
    svc_histogram_observe(&m.processing, 0.04);
    svc_histogram_observe(&m.processing, 2.0);
    svc_histogram_observe(&m.stage[SVC_STAGE_DECODE], 0.0009);
    size_t len = 0;
    char *t = svc_metrics_render(&m, 3, 1, &len);
    assert_non_null(t);
    assert_int_equal(strlen(t), len);
    const char *lines[] = {
        "# TYPE tryon_frames_processed_total counter",
        "tryon_frames_processed_total{status=\"success\"} 10",
        "tryon_frames_processed_total{status=\"no_result\"} 2",
        "tryon_frames_processed_total{status=\"error\"} 0",
        "# TYPE tryon_processing_seconds histogram",
        "tryon_processing_seconds_bucket{le=\"0.01\"} 0",
        "tryon_processing_seconds_bucket{le=\"0.05\"} 2",
        "tryon_processing_seconds_bucket{le=\"0.1\"} 2",
        "tryon_processing_seconds_bucket{le=\"0.15\"} 2",
        "tryon_processing_seconds_bucket{le=\"0.2\"} 2",
        "tryon_processing_seconds_bucket{le=\"0.5\"} 2",
        "tryon_processing_seconds_bucket{le=\"1\"} 2",
        "tryon_processing_seconds_bucket{le=\"+Inf\"} 3",
        "tryon_processing_seconds_sum 2.052",
        "tryon_processing_seconds_count 3",
        "# TYPE tryon_active_sessions gauge",
        "tryon_active_sessions 3",
        "tryon_hands_detected_total{num_hands=\"0\"} 3",
        "tryon_hands_detected_total{num_hands=\"1\"} 9",
        "tryon_hands_detected_total{num_hands=\"2\"} 0",
        "tryon_frames_dropped_total{reason=\"queue_full\"} 4",
        "tryon_stage_seconds_bucket{stage=\"decode\",le=\"0.001\"} 1",
        "tryon_stage_seconds_count{stage=\"decode\"} 1",
        "tryon_errors_total{code=\"LOW_LIGHT\"} 1",
        "tryon_queued_frames 1",
        "tryon_workers 2",
        "tryon_start_time_seconds 1700000000.123",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++)
        if (!has_line(t, lines[i]))
            fail_msg("missing line: %s", lines[i]);
    assert_null(strstr(t, "session_id"));
    /* every sample line is "name{labels} value" or "name value", and ends in \n */
    assert_int_equal(t[len - 1], '\n');
    for (char *line = t; *line;) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        if (line[0] != '#') {
            char *sp = memchr(line, ' ', (size_t)(nl - line));
            assert_non_null(sp);
            char *end = NULL;
            strtod(sp + 1, &end);
            assert_ptr_equal(end, nl);
        }
        line = nl + 1;
    }
    free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(histogram_buckets),
        cmocka_unit_test(render),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
