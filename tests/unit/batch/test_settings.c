#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "batch/settings.h"
#include "lq_test.h"

static char *const no_env[] = {NULL};

static void defaults_are_valid_and_documented(void **state)
{
    (void)state;
    batch_settings s;
    batch_settings_defaults(&s);
    char err[256];
    assert_int_equal(batch_settings_validate(&s, err, sizeof err), 0);
    assert_string_equal(s.stream, "tryon:jobs");
    assert_string_equal(s.group, "lacquer");
    assert_string_equal(s.results, "tryon:results");
    assert_string_equal(s.dead, "tryon:dead");
    assert_int_equal(s.max_attempts, 3);
    assert_int_equal(s.threads, 1);
    assert_int_equal(s.max_job_bytes, 10 << 20);
    size_t n = 0;
    const batch_setting *t = batch_settings_table(&n);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(t[i].help);
        assert_int_equal(strncmp(t[i].flag, "--", 2), 0);
    }
}

static void environment_then_flags_and_the_rest_passes_through(void **state)
{
    (void)state;
    char *env[] = {"REDIS_URL=redis://r:6390/1", "BATCH_MAX_ATTEMPTS=5", "BATCH_THREADS=4",
                   "UNRELATED=1", NULL};
    char *argv[] = {"worker", "--threads", "2", "--model-path", "/m", "--stream=jobs:x",
                    "--delete-done", "--log-level", "debug", "--results-maxlen", "0", NULL};
    int argc = 11;
    batch_settings s;
    char *rest[16];
    int nrest = 0;
    char err[256];
    assert_int_equal(batch_settings_load(&s, argc, argv, env, rest, 16, &nrest, err, sizeof err), 0);
    assert_string_equal(s.redis_url, "redis://r:6390/1");
    assert_int_equal(s.max_attempts, 5);
    assert_int_equal(s.threads, 2); /* the flag wins over the environment */
    assert_string_equal(s.stream, "jobs:x");
    assert_int_equal(s.delete_done, 1);
    assert_int_equal(s.results_maxlen, 0);
    assert_int_equal(nrest, 5);
    assert_string_equal(rest[0], "worker");
    assert_string_equal(rest[1], "--model-path");
    assert_string_equal(rest[2], "/m");
    assert_string_equal(rest[3], "--log-level");
    assert_string_equal(rest[4], "debug");

    char *argv2[] = {"worker", "--no-delete-done", "--max-job-bytes", "2m", NULL};
    assert_int_equal(batch_settings_load(&s, 4, argv2, no_env, rest, 16, &nrest, err, sizeof err), 0);
    assert_int_equal(s.delete_done, 0);
    assert_int_equal(s.max_job_bytes, 2 << 20);
    assert_int_equal(nrest, 1);
}

static void bad_values_name_the_setting(void **state)
{
    (void)state;
    struct {
        char *args[4];
        const char *needle;
    } cases[] = {
        {{"worker", "--max-attempts", "0"}, "--max-attempts"},
        {{"worker", "--threads", "many"}, "--threads"},
        {{"worker", "--redis", "http://x"}, "--redis"},
        {{"worker", "--results", "tryon:jobs"}, "different"},
        {{"worker", "--claim-idle-ms", "500"}, "--claim-idle-ms"}, /* <= block-ms 1000 */
        {{"worker", "--group", "a b"}, "--group"},
        {{"worker", "--consumer", "q\"uote"}, "--consumer"},
        {{"worker", "--max-job-bytes", "5x"}, "--max-job-bytes"},
        {{"worker", "--delete-done=maybe"}, "--delete-done"},
        {{"worker", "--stream"}, "--stream"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int argc = 0;
        while (argc < 4 && cases[i].args[argc])
            argc++;
        batch_settings s;
        char *rest[8];
        int nrest = 0;
        char err[256] = "";
        int rc = batch_settings_load(&s, argc, cases[i].args, no_env, rest, 8, &nrest, err, sizeof err);
        if (rc != LQ_EINVAL || !strstr(err, cases[i].needle))
            fail_msg("case %zu: rc %d err '%s'", i, rc, err);
    }
    batch_settings s;
    char err[256];
    char *env[] = {"BATCH_BLOCK_MS=5", NULL};
    char *argv[] = {"worker", NULL};
    char *rest[4];
    int nrest;
    assert_int_equal(batch_settings_load(&s, 1, argv, env, rest, 4, &nrest, err, sizeof err),
                     LQ_EINVAL);
    assert_non_null(strstr(err, "BATCH_BLOCK_MS"));
    batch_settings_defaults(&s);
    assert_int_equal(batch_settings_set(&s, "nope", "1", err, sizeof err), LQ_ENOTFOUND);
    assert_int_equal(batch_settings_set(&s, "BATCH_GROUP", "g2", err, sizeof err), 0);
    assert_string_equal(s.group, "g2");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_are_valid_and_documented),
        cmocka_unit_test(environment_then_flags_and_the_rest_passes_through),
        cmocka_unit_test(bad_values_name_the_setting),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
