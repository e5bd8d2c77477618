/* test_outq.c - output queue: FIFO order, byte accounting, headroom for lws_write. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <libwebsockets.h>
#include <string.h>

#include "lq_test.h"
#include "service/outq.h"

static void fifo_and_bytes(void **state)
{
    (void)state;
    ws_outq q;
    memset(&q, 0, sizeof q);
    for (int i = 1; i <= 5; i++) {
        ws_out *m = ws_out_new((size_t)i * 100, i & 1);
        assert_non_null(m);
        assert_true(m->payload - m->storage >= LWS_PRE);
        memset(m->payload, i, m->len);
        assert_int_equal(m->payload[m->len], 0);
        ws_outq_push(&q, m);
    }
    assert_int_equal(q.count, 5);
    assert_int_equal(q.bytes, 1500);
    for (int i = 1; i <= 3; i++) {
        ws_out *m = ws_outq_pop(&q);
        assert_int_equal(m->len, (size_t)i * 100);
        assert_int_equal(m->binary, i & 1);
        assert_int_equal(m->payload[0], i);
        ws_out_free(m);
    }
    assert_int_equal(q.bytes, 900);
    ws_outq_clear(&q);
    assert_int_equal(q.count, 0);
    assert_int_equal(q.bytes, 0);
    assert_null(ws_outq_pop(&q));
    assert_null(q.tail);
}

static void truncate_and_limits(void **state)
{
    (void)state;
    ws_out *m = ws_out_new(10, 0);
    memcpy(m->payload, "0123456789", 10);
    ws_out_truncate(m, 4);
    assert_int_equal(m->len, 4);
    assert_string_equal((char *)m->payload, "0123");
    ws_out_truncate(m, 8); /* never grows */
    assert_int_equal(m->len, 4);
    ws_out_free(m);
    assert_null(ws_out_new(SIZE_MAX / 2, 1));
    ws_out_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fifo_and_bytes),
        cmocka_unit_test(truncate_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
