/* test_config.c - the settings table: types, bounds, .env, environment, flags, validation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "lq_test.h"

static char err[512];

static void every_default_parses_and_validates(void **state)
{
    (void)state;
    lq_config c;
    lq_config_defaults(&c);
    assert_int_equal(lq_config_validate(&c, err, sizeof err), 0);
    assert_string_equal(c.model_path, "./models");
    assert_int_equal(c.ws_port, 8002);
    assert_string_equal(c.ws_host, "0.0.0.0");
    assert_int_equal(c.ws_max_message_size, 10485760);
    assert_int_equal(c.frame_queue_size, 2);
    assert_int_equal(c.max_concurrent_sessions, 50);
    assert_int_equal(c.target_fps, 25);
    assert_int_equal(c.max_frame_width, 1920);
    assert_int_equal(c.max_frame_height, 1080);
    assert_int_equal(c.model_device, LQ_DEVICE_CPU);
    assert_int_equal(c.model_precision, LQ_PRECISION_FP32);
    assert_int_equal(c.log_level, LQ_LOG_INFO);
    assert_int_equal(c.enable_metrics, 1);
    assert_int_equal(c.workers, 0);
    assert_true(lq_config_workers(&c) >= 1);
    assert_int_equal(c.output_queue_max, 8 << 20);
    size_t n = 0;
    const lq_config_setting *t = lq_config_table(&n);
    assert_true(n >= 20 && n <= LQ_CONFIG_MAX_SETTINGS);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(c.source[i], LQ_CFG_SRC_DEFAULT);
        /* every row is reachable by each of its three names */
        assert_ptr_equal(lq_config_find(t[i].name), &t[i]);
        assert_ptr_equal(lq_config_find(t[i].env), &t[i]);
        assert_ptr_equal(lq_config_find(t[i].flag), &t[i]);
        assert_non_null(t[i].help);
    }
}

static void guide_env_variables_are_all_there(void **state)
{
    (void)state;
    static const char *const guide[] = {
        "MODEL_PATH", "MODEL_DEVICE", "MODEL_PRECISION", "MAX_CONCURRENT_SESSIONS",
        "FRAME_QUEUE_SIZE", "TARGET_FPS", "WS_HOST", "WS_PORT", "WS_MAX_MESSAGE_SIZE",
        "LOG_LEVEL", "LOG_FILE", "ENABLE_METRICS", "METRICS_PORT", "WORKERS", "STATS_INTERVAL",
        "IDLE_TIMEOUT", "MAX_FRAME_WIDTH", "MAX_FRAME_HEIGHT", "FETCH_TIMEOUT_MS",
        "FETCH_MAX_BYTES", "FETCH_ALLOW_HOSTS"};
    for (size_t i = 0; i < sizeof guide / sizeof guide[0]; i++)
        assert_non_null(lq_config_find(guide[i]));
    assert_null(lq_config_find("NOT_A_SETTING"));
    assert_null(lq_config_find(NULL));
}

static void each_type_parses_and_refuses(void **state)
{
    (void)state;
    lq_config c;
    lq_config_defaults(&c);
    /* bool */
    const char *yes[] = {"1", "true", "TRUE", "yes", "on"};
    const char *no[] = {"0", "false", "No", "off"};
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal(lq_config_set(&c, "ENABLE_METRICS", no[i % 4], LQ_CFG_SRC_SET, err, sizeof err), 0);
        assert_int_equal(c.enable_metrics, 0);
        assert_int_equal(lq_config_set(&c, "ENABLE_METRICS", yes[i], LQ_CFG_SRC_SET, err, sizeof err), 0);
        assert_int_equal(c.enable_metrics, 1);
    }
    assert_int_equal(lq_config_set(&c, "enable_metrics", "maybe", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "enable_metrics (ENABLE_METRICS)"));
    assert_non_null(strstr(err, "true|false"));
    /* int with bounds */
    assert_int_equal(lq_config_set(&c, "--ws-port", "9000", LQ_CFG_SRC_SET, err, sizeof err), 0);
    assert_int_equal(c.ws_port, 9000);
    assert_int_equal(lq_config_set(&c, "WS_PORT", "65536", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "1..65535"));
    assert_int_equal(c.ws_port, 9000); /* unchanged on failure */
    assert_int_equal(lq_config_set(&c, "WS_PORT", "0", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_int_equal(lq_config_set(&c, "WS_PORT", "80x", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_int_equal(lq_config_set(&c, "WS_PORT", "", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_int_equal(lq_config_set(&c, "WS_PORT", "99999999999999999999", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    /* double */
    assert_int_equal(lq_config_set(&c, "STATS_INTERVAL", "0.5", LQ_CFG_SRC_SET, err, sizeof err), 0);
    assert_true(c.stats_interval == 0.5);
    assert_int_equal(lq_config_set(&c, "STATS_INTERVAL", "-1", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_int_equal(lq_config_set(&c, "STATS_INTERVAL", "nan", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_int_equal(lq_config_set(&c, "STATS_INTERVAL", "inf", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    /* bytes */
    struct {
        const char *text;
        int64_t value;
    } bytes[] = {{"10485760", 10485760}, {"10M", 10 << 20}, {"10MiB", 10 << 20}, {"10mb", 10 << 20},
                 {"64k", 64 << 10},      {"1G", 1 << 30},    {"65536", 65536},     {"70000b", 70000}};
    for (size_t i = 0; i < sizeof bytes / sizeof bytes[0]; i++) {
        assert_int_equal(lq_config_set(&c, "OUTPUT_QUEUE_MAX", bytes[i].text, LQ_CFG_SRC_SET, err, sizeof err), 0);
        assert_int_equal(c.output_queue_max, bytes[i].value);
    }
    assert_int_equal(lq_config_set(&c, "WS_MAX_MESSAGE_SIZE", "10X", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_int_equal(lq_config_set(&c, "WS_MAX_MESSAGE_SIZE", "-5", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_int_equal(lq_config_set(&c, "WS_MAX_MESSAGE_SIZE", "1k", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "4096.."));
    assert_int_equal(lq_config_set(&c, "WS_MAX_MESSAGE_SIZE", "99999999999G", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    /* enum, case-insensitive, aliases */
    assert_int_equal(lq_config_set(&c, "LOG_LEVEL", "INFO", LQ_CFG_SRC_SET, err, sizeof err), 0);
    assert_int_equal(c.log_level, LQ_LOG_INFO);
    assert_int_equal(lq_config_set(&c, "LOG_LEVEL", "warning", LQ_CFG_SRC_SET, err, sizeof err), 0);
    assert_int_equal(c.log_level, LQ_LOG_WARN);
    assert_int_equal(lq_config_set(&c, "LOG_LEVEL", "Critical", LQ_CFG_SRC_SET, err, sizeof err), 0);
    assert_int_equal(c.log_level, LQ_LOG_ERROR);
    assert_int_equal(lq_config_set(&c, "LOG_LEVEL", "verbose", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "debug|info|warning"));
    assert_int_equal(lq_config_set(&c, "MODEL_DEVICE", "cuda", LQ_CFG_SRC_SET, err, sizeof err), 0);
    assert_int_equal(c.model_device, LQ_DEVICE_CUDA);
    assert_string_equal(lq_config_device_name(c.model_device), "cuda");
    assert_int_equal(lq_config_set(&c, "MODEL_DEVICE", "tpu", LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_int_equal(lq_config_set(&c, "MODEL_PRECISION", "fp16", LQ_CFG_SRC_SET, err, sizeof err), 0);
    assert_string_equal(lq_config_precision_name(c.model_precision), "fp16");
    /* string with a length cap */
    char longv[LQ_CONFIG_STR_MAX + 10];
    memset(longv, 'a', sizeof longv - 1);
    longv[sizeof longv - 1] = '\0';
    assert_int_equal(lq_config_set(&c, "WS_HOST", longv, LQ_CFG_SRC_SET, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "too long"));
    assert_int_equal(lq_config_set(&c, "WS_HOST", "127.0.0.1", LQ_CFG_SRC_SET, err, sizeof err), 0);
    assert_string_equal(c.ws_host, "127.0.0.1");
    /* unknown key */
    assert_int_equal(lq_config_set(&c, "NOPE", "1", LQ_CFG_SRC_SET, err, sizeof err), LQ_ENOTFOUND);
    assert_non_null(strstr(err, "unknown setting"));
}

static const char guide_env[] =
    "# .env file for AI service\n"
    "\n"
    "# Model configuration\n"
    "MODEL_PATH=/models/nail_tryon_v2.pth\n"
    "MODEL_DEVICE=cuda  # or cpu\n"
    "MODEL_PRECISION=fp16  # or fp32\n"
    "\n"
    "# Performance settings\n"
    "MAX_CONCURRENT_SESSIONS=50\n"
    "FRAME_QUEUE_SIZE=2\n"
    "TARGET_FPS=25\n"
    "\n"
    "# WebSocket settings\n"
    "WS_HOST=0.0.0.0\n"
    "WS_PORT=8002\n"
    "WS_MAX_MESSAGE_SIZE=10485760  # 10MB\n"
    "\n"
    "# Logging\n"
    "LOG_LEVEL=INFO\n"
    "LOG_FILE=/var/log/tryon_service.log\n"
    "\n"
    "# Monitoring\n"
    "ENABLE_METRICS=true\n"
    "METRICS_PORT=9090\n";

static void the_guides_env_file_loads(void **state)
{
    (void)state;
    lq_config c;
    lq_config_defaults(&c);
    assert_int_equal(lq_config_load_env_text(&c, guide_env, strlen(guide_env), "guide.env", err, sizeof err), 0);
    assert_string_equal(c.model_path, "/models/nail_tryon_v2.pth");
    assert_int_equal(c.model_device, LQ_DEVICE_CUDA);
    assert_int_equal(c.model_precision, LQ_PRECISION_FP16);
    assert_int_equal(c.ws_max_message_size, 10485760);
    assert_string_equal(c.log_file, "/var/log/tryon_service.log");
    assert_int_equal(c.metrics_port, 9090);
    size_t n;
    const lq_config_setting *t = lq_config_table(&n);
    assert_int_equal(c.source[lq_config_find("METRICS_PORT") - t], LQ_CFG_SRC_ENV_FILE);
    assert_int_equal(c.source[lq_config_find("WORKERS") - t], LQ_CFG_SRC_DEFAULT);
    assert_int_equal(lq_config_validate(&c, err, sizeof err), 0);
}

static void env_file_syntax(void **state)
{
    (void)state;
    lq_config c;
    lq_config_defaults(&c);
    const char *ok = "export WS_PORT=9001\n"
                     "  WS_HOST = \"127.0.0.1\"  # quoted\n"
                     "LOG_FILE='/tmp/a b.log'\n"
                     "AUTH_TOKEN=abc#def\n"
                     "DEVICE=cuda\n" /* not ours: ignored */
                     "\r\n"
                     "STATS_INTERVAL=2.5\r\n";
    lq_log_set_level(LQ_LOG_ERROR); /* keep the "ignored" warning quiet */
    assert_int_equal(lq_config_load_env_text(&c, ok, strlen(ok), "t.env", err, sizeof err), 0);
    lq_log_set_level(LQ_LOG_INFO);
    assert_int_equal(c.ws_port, 9001);
    assert_string_equal(c.ws_host, "127.0.0.1");
    assert_string_equal(c.log_file, "/tmp/a b.log");
    assert_string_equal(c.auth_token, "abc#def"); /* '#' inside a word is not a comment */
    assert_true(c.stats_interval == 2.5);

    const char *no_eq = "WS_PORT=1\nJUSTAWORD\n";
    assert_int_equal(lq_config_load_env_text(&c, no_eq, strlen(no_eq), "bad.env", err, sizeof err), LQ_EFORMAT);
    assert_string_equal(err, "bad.env:2: expected KEY=VALUE");
    const char *bad_val = "\n\nWS_PORT=70000\n";
    assert_int_equal(lq_config_load_env_text(&c, bad_val, strlen(bad_val), "v.env", err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "v.env:3: ws_port (WS_PORT): invalid value '70000' (expected 1..65535)"));
    const char *quote = "WS_HOST=\"abc\n";
    assert_int_equal(lq_config_load_env_text(&c, quote, strlen(quote), "q.env", err, sizeof err), LQ_EFORMAT);
    const char *empty_key = "=5\n";
    assert_int_equal(lq_config_load_env_text(&c, empty_key, strlen(empty_key), "k.env", err, sizeof err), LQ_EFORMAT);
    char *huge = malloc(LQ_CONFIG_LINE_MAX + 100);
    memset(huge, 'x', LQ_CONFIG_LINE_MAX + 99);
    huge[LQ_CONFIG_LINE_MAX + 99] = '\0';
    assert_int_equal(lq_config_load_env_text(&c, huge, strlen(huge), "h.env", err, sizeof err), LQ_ELIMIT);
    free(huge);
    assert_int_equal(lq_config_load_env_file(&c, "/nonexistent/x.env", err, sizeof err), LQ_ENOENT);
    assert_non_null(strstr(err, "/nonexistent/x.env"));
}

static void precedence_defaults_envfile_env_flags(void **state)
{
    (void)state;
    char path[] = "/tmp/lq_test_config_XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *text = "WS_PORT=9100\nTARGET_FPS=20\nFRAME_QUEUE_SIZE=3\n";
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    close(fd);

    char envfile_flag[64];
    snprintf(envfile_flag, sizeof envfile_flag, "--env-file=%s", path);
    char *argv[] = {"serve", envfile_flag, "--ws-port", "9300", "--no-enable-metrics", "--workers=3", NULL};
    char *envp[] = {"WS_PORT=9200", "TARGET_FPS=15", "UNRELATED=1", NULL};
    lq_config c;
    assert_int_equal(lq_config_load(&c, 6, argv, envp, err, sizeof err), 0);
    assert_int_equal(c.ws_port, 9300);            /* flag beats env beats file */
    assert_int_equal(c.target_fps, 15);           /* env beats file */
    assert_int_equal(c.frame_queue_size, 3);      /* file beats default */
    assert_int_equal(c.enable_metrics, 0);
    assert_int_equal(c.workers, 3);
    assert_int_equal(lq_config_workers(&c), 3);
    assert_string_equal(c.env_file, path);
    size_t n;
    const lq_config_setting *t = lq_config_table(&n);
    assert_int_equal(c.source[lq_config_find("WS_PORT") - t], LQ_CFG_SRC_FLAG);
    assert_int_equal(c.source[lq_config_find("TARGET_FPS") - t], LQ_CFG_SRC_ENV);
    assert_int_equal(c.source[lq_config_find("FRAME_QUEUE_SIZE") - t], LQ_CFG_SRC_ENV_FILE);
    assert_string_equal(lq_config_source_name(LQ_CFG_SRC_ENV_FILE), "env-file");

    /* LACQUER_ENV_FILE names the file when no flag does */
    char *argv2[] = {"serve", NULL};
    char envvar[96];
    snprintf(envvar, sizeof envvar, "LACQUER_ENV_FILE=%s", path);
    char *envp2[] = {envvar, NULL};
    assert_int_equal(lq_config_load(&c, 1, argv2, envp2, err, sizeof err), 0);
    assert_int_equal(c.ws_port, 9100);
    unlink(path);

    /* an explicitly named but missing file is an error */
    char *argv3[] = {"serve", "--env-file", "/nonexistent/.env", NULL};
    char *envp3[] = {NULL};
    assert_int_equal(lq_config_load(&c, 3, argv3, envp3, err, sizeof err), LQ_ENOENT);
    /* a bad environment value names the variable */
    char *envp4[] = {"FRAME_QUEUE_SIZE=0", NULL};
    assert_int_equal(lq_config_load(&c, 1, argv2, envp4, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "environment FRAME_QUEUE_SIZE: frame_queue_size"));
}

static void flags(void **state)
{
    (void)state;
    lq_config c;
    lq_config_defaults(&c);
    char *a1[] = {"serve", "--enable-metrics", "--ws-host", "127.0.0.1", "--help", NULL};
    assert_int_equal(lq_config_load_args(&c, 5, a1, err, sizeof err), 0);
    assert_int_equal(c.enable_metrics, 1);
    assert_string_equal(c.ws_host, "127.0.0.1");
    char *a2[] = {"serve", "--enable-metrics", "false", NULL};
    assert_int_equal(lq_config_load_args(&c, 3, a2, err, sizeof err), 0);
    assert_int_equal(c.enable_metrics, 0);
    char *a3[] = {"serve", "--bogus", NULL};
    assert_int_equal(lq_config_load_args(&c, 2, a3, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "unknown option '--bogus'"));
    char *a4[] = {"serve", "--ws-port", NULL};
    assert_int_equal(lq_config_load_args(&c, 2, a4, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "--ws-port needs a value"));
    char *a5[] = {"serve", "stray", NULL};
    assert_int_equal(lq_config_load_args(&c, 2, a5, err, sizeof err), LQ_EINVAL);
    char *a6[] = {"serve", "--no-enable-metrics=1", NULL};
    assert_int_equal(lq_config_load_args(&c, 2, a6, err, sizeof err), LQ_EINVAL);
    char *a7[] = {"serve", "--no-ws-port", NULL}; /* --no- only for booleans */
    assert_int_equal(lq_config_load_args(&c, 2, a7, err, sizeof err), LQ_EINVAL);
    char *a8[] = {"serve", "--frame-queue-size=65", NULL};
    assert_int_equal(lq_config_load_args(&c, 2, a8, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "flag --frame-queue-size: frame_queue_size (FRAME_QUEUE_SIZE): invalid value '65' (expected 1..64)"));
}

static void validate_names_the_setting(void **state)
{
    (void)state;
    lq_config c;
    lq_config_defaults(&c);
    c.frame_queue_size = 0;
    assert_int_equal(lq_config_validate(&c, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "frame_queue_size (FRAME_QUEUE_SIZE)"));
    lq_config_defaults(&c);
    c.metrics_port = c.ws_port;
    assert_int_equal(lq_config_validate(&c, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "metrics_port (METRICS_PORT)"));
    lq_config_defaults(&c);
    c.model_path[0] = '\0';
    assert_int_equal(lq_config_validate(&c, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "MODEL_PATH"));
    lq_config_defaults(&c);
    c.ws_host[0] = '\0';
    assert_int_equal(lq_config_validate(&c, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "WS_HOST"));
    lq_config_defaults(&c);
    c.max_frame_width = 16384;
    c.max_frame_height = 16384;
    assert_int_equal(lq_config_validate(&c, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "MAX_FRAME_HEIGHT"));
    lq_config_defaults(&c);
    snprintf(c.fetch_allow_hosts, sizeof c.fetch_allow_hosts, "good.example, bad/host");
    assert_int_equal(lq_config_validate(&c, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "FETCH_ALLOW_HOSTS"));
    lq_config_defaults(&c);
    c.model_device = 7;
    assert_int_equal(lq_config_validate(&c, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "model_device"));
    lq_config_defaults(&c);
    c.idle_timeout = -3;
    assert_int_equal(lq_config_validate(&c, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "idle_timeout (IDLE_TIMEOUT)"));
    assert_int_equal(lq_config_validate(NULL, err, sizeof err), LQ_EINVAL);
}

static void help_lists_every_setting_and_hides_secrets(void **state)
{
    (void)state;
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    lq_config_print_help(f);
    fclose(f);
    size_t n;
    const lq_config_setting *t = lq_config_table(&n);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(strstr(text, t[i].flag));
        assert_non_null(strstr(text, t[i].env));
    }
    assert_non_null(strstr(text, "default 8002, 1..65535"));
    assert_non_null(strstr(text, "--env-file"));
    free(text);

    lq_config c;
    lq_config_defaults(&c);
    char v[64];
    snprintf(c.auth_token, sizeof c.auth_token, "s3cret");
    lq_config_format_value(&c, lq_config_find("AUTH_TOKEN"), v, sizeof v);
    assert_string_equal(v, "***");
    lq_config_format_value(&c, lq_config_find("LOG_LEVEL"), v, sizeof v);
    assert_string_equal(v, "info");
    lq_config_format_value(&c, lq_config_find("ENABLE_METRICS"), v, sizeof v);
    assert_string_equal(v, "true");
    lq_config_format_value(&c, lq_config_find("WS_MAX_MESSAGE_SIZE"), v, sizeof v);
    assert_string_equal(v, "10485760");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_default_parses_and_validates),
        cmocka_unit_test(guide_env_variables_are_all_there),
        cmocka_unit_test(each_type_parses_and_refuses),
        cmocka_unit_test(the_guides_env_file_loads),
        cmocka_unit_test(env_file_syntax),
        cmocka_unit_test(precedence_defaults_envfile_env_flags),
        cmocka_unit_test(flags),
        cmocka_unit_test(validate_names_the_setting),
        cmocka_unit_test(help_lists_every_setting_and_hides_secrets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
