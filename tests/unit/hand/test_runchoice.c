/* test_runchoice.c - the measured choice between one-thread and parallel runs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>

#include "hand/runchoice.h"

/* Runs n picks against fixed costs per way; returns how often way 1 ran. */
static int simulate(lq_runchoice *c, int n, double ms0, double ms1)
{
    int ones = 0;
    for (int i = 0; i < n; i++) {
        const int way = lq_runchoice_pick(c);
        ones += way;
        lq_runchoice_record(c, way, way ? ms1 : ms0);
    }
    return ones;
}

static void tries_each_way_once_parallel_first(void **s)
{
    (void)s;
    lq_runchoice c = LQ_RUNCHOICE_INIT;
    assert_int_equal(lq_runchoice_preferred(&c), -1);
    assert_int_equal(lq_runchoice_pick(&c), 1);
    lq_runchoice_record(&c, 1, 5.0);
    assert_int_equal(lq_runchoice_preferred(&c), -1);
    assert_int_equal(lq_runchoice_pick(&c), 0);
    lq_runchoice_record(&c, 0, 9.0);
    assert_int_equal(lq_runchoice_preferred(&c), 1);
}

/* Idle cores: parallel (5 ms) beats one thread (9 ms); one thread is still
 * tried every 16th run to keep its figure fresh. */
static void keeps_the_faster_way_and_probes_the_other(void **s)
{
    (void)s;
    lq_runchoice c = LQ_RUNCHOICE_INIT;
    const int ones = simulate(&c, 1000, 9.0, 5.0);
    assert_int_equal(lq_runchoice_preferred(&c), 1);
    /* the losing probes back off: 16, 32, ... 512 runs apart */
    assert_true(ones >= 1000 - 8);
    assert_true(ones < 1000);
    assert_int_equal(c.probe_every, LQ_RUNCHOICE_PROBE_MAX);
}

/* Busy cores: parallel (40 ms) loses to one thread (9 ms) and is kept off,
 * tried ever more rarely. */
static void busy_cores_turn_parallel_off(void **s)
{
    (void)s;
    lq_runchoice c = LQ_RUNCHOICE_INIT;
    const int ones = simulate(&c, 2000, 9.0, 40.0);
    assert_int_equal(lq_runchoice_preferred(&c), 0);
    assert_true(ones <= 8);
    assert_true(ones >= 2);
}

/* The cores free up: a probe that wins resets the back-off and the averages
 * move over within a few probes. */
static void follows_a_change_of_load(void **s)
{
    (void)s;
    lq_runchoice c = LQ_RUNCHOICE_INIT;
    simulate(&c, 300, 9.0, 40.0);
    assert_int_equal(lq_runchoice_preferred(&c), 0);
    simulate(&c, 3000, 9.0, 5.0);
    assert_int_equal(lq_runchoice_preferred(&c), 1);
    simulate(&c, 3000, 9.0, 40.0);
    assert_int_equal(lq_runchoice_preferred(&c), 0);
}

static void ignores_bad_records(void **s)
{
    (void)s;
    lq_runchoice c = LQ_RUNCHOICE_INIT;
    lq_runchoice_record(&c, -1, 3.0);
    lq_runchoice_record(&c, 2, 3.0);
    lq_runchoice_record(&c, 0, NAN);
    lq_runchoice_record(&c, 1, -1.0);
    assert_true(c.ms[0] == 0.0 && c.ms[1] == 0.0);
    lq_runchoice_record(&c, 0, 10.0);
    lq_runchoice_record(&c, 0, 20.0);
    assert_true(fabs(c.ms[0] - 12.0) < 1e-9); /* 10 + 0.2 * (20 - 10) */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(tries_each_way_once_parallel_first),
        cmocka_unit_test(keeps_the_faster_way_and_probes_the_other),
        cmocka_unit_test(busy_cores_turn_parallel_off),
        cmocka_unit_test(follows_a_change_of_load),
        cmocka_unit_test(ignores_bad_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
