#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli_run.h"
#include "lq_test.h"

int lq_test_run(const char *args, char **out)
{
    assert_non_null(args);
    const size_t args_len = strlen(args);
    if (args_len > LQ_TEST_RUN_ARGS_MAX)
        fail_msg("lq_test_run: %zu bytes of args, at most %u", args_len, LQ_TEST_RUN_ARGS_MAX);
    static const char fmt[] = "LQ_MODELS_DIR='%s' '%s/lacquer' %s %s";
    const char *redirect = out ? "2>/dev/null" : ">/dev/null 2>&1";
    const size_t cap = sizeof fmt + strlen(LQ_MODELS_DIR) + strlen(LQ_BINARY_DIR) + args_len +
                       strlen(redirect);
    char *cmd = malloc(cap);
    assert_non_null(cmd);
    snprintf(cmd, cap, fmt, LQ_MODELS_DIR, LQ_BINARY_DIR, args, redirect);
    FILE *p = popen(cmd, "r");
    free(cmd);
    assert_non_null(p);
    if (out) {
        char *buf = malloc(LQ_TEST_RUN_OUT_MAX + 1);
        assert_non_null(buf);
        size_t n = fread(buf, 1, LQ_TEST_RUN_OUT_MAX, p);
        buf[n] = 0;
        char drop[4096];
        while (fread(drop, 1, sizeof drop, p) > 0)
            ;
        *out = buf;
    }
    const int st = pclose(p);
    return st != -1 && WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int lq_test_have_render_models(void)
{
    return lq_test_exists(lq_test_model("palm_detection_full.tflite")) &&
           lq_test_exists(lq_test_model("hand_landmark_full.tflite")) &&
           lq_test_exists(LQ_MODELS_DIR "/../assets/nailseg/nailseg.tflite");
}
