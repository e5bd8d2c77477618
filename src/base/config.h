/*
 * config.h - the service settings: one table, four sources, one validate call.
 *
 *   lq_config cfg;
 *   char err[256];
 *   int rc = lq_config_load(&cfg, argc, argv, NULL, err, sizeof err);
 *   if (rc < 0) { fprintf(stderr, "lacquer serve: %s\n", err); return 2; }
 *
 * Every setting is one row of a table (name, environment variable, flag,
 * type, default, bounds, help). Values are applied in this order, each
 * source overriding the previous one:
 *
 *   1. the default written in the table (parsed by the same code as input);
 *   2. a .env file: the one named by --env-file or LACQUER_ENV_FILE, else
 *      ./.env when it exists (KEY=VALUE lines, `export ` prefix, # comments,
 *      quotes stripped; keys that are not ours are ignored with a warning);
 *   3. the process environment (the variables in the table);
 *   4. command-line flags: --flag VALUE, --flag=VALUE; booleans also take
 *      a bare --flag (true) or --no-flag (false).
 *
 * Types: bool (true/false/1/0/yes/no/on/off), int, double, bytes (an integer
 * with an optional k/m/g suffix, binary multiples: "10M" = 10485760), string
 * (bounded length) and enum (one of a fixed list, case-insensitive). A value
 * that does not parse or is out of bounds is refused at once with a message
 * that names the setting, its source and the allowed range; lq_config_validate
 * then checks the whole struct (bounds again, plus relations between
 * settings) and names the first offending setting.
 *
 * `lacquer serve --help` is generated from the same table
 * (lq_config_print_help).
 *
 * Thread-safety: an lq_config is plain data (no pointers); load it once at
 * start-up and share it read-only. The table itself is static and const.
 */
#ifndef LQ_BASE_CONFIG_H
#define LQ_BASE_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"

#define LQ_CONFIG_PATH_MAX 1024
#define LQ_CONFIG_STR_MAX 256
#define LQ_CONFIG_LIST_MAX 1024
#define LQ_CONFIG_MAX_SETTINGS 96
#define LQ_CONFIG_ENV_FILE_MAX_BYTES (1u << 20)
#define LQ_CONFIG_LINE_MAX 4096

/* MODEL_DEVICE. Only the CPU runs models; "cuda" is accepted so the guide's
 * sample .env works, and the service warns at start-up and runs on the CPU. */
enum lq_device { LQ_DEVICE_CPU = 0, LQ_DEVICE_CUDA = 1 };

/* MODEL_PRECISION. fp16 is accepted with a warning: the weights run in fp32. */
enum lq_precision { LQ_PRECISION_FP32 = 0, LQ_PRECISION_FP16 = 1 };

/* AUTH_MODE (docs/security.md). LQ_AUTH_NONE lets anyone in. */
enum lq_auth_mode { LQ_AUTH_NONE = 0, LQ_AUTH_TOKEN, LQ_AUTH_JWT, LQ_AUTH_REDIS };

/* AUTH_JWT_ALG: the one JWT algorithm accepted. */
enum lq_jwt_alg { LQ_JWT_HS256 = 0, LQ_JWT_RS256, LQ_JWT_ES256 };

/* LOG_FORMAT: one JSON object per line, or "LEVEL tag: message" text. */
enum lq_log_format { LQ_LOG_FORMAT_JSON = 0, LQ_LOG_FORMAT_TEXT = 1 };

/* Where a setting's current value came from (for the start-up log). */
enum lq_config_source {
    LQ_CFG_SRC_DEFAULT = 0,
    LQ_CFG_SRC_ENV_FILE,
    LQ_CFG_SRC_ENV,
    LQ_CFG_SRC_FLAG,
    LQ_CFG_SRC_SET,     /* lq_config_set by a program (tests) */
};

typedef struct lq_config {
    /* model */
    char model_path[LQ_CONFIG_PATH_MAX];    /* folder with the .tflite files */
    int model_device;                       /* enum lq_device */
    int model_precision;                    /* enum lq_precision */
    int workers;                            /* 0 = one per core (see lq_config_workers) */
    int inference_threads;                  /* 0 = one per core (lq_config_inference_threads) */
    /* sessions and frames */
    int max_concurrent_sessions;
    int frame_queue_size;                   /* frames waiting per session */
    int target_fps;                         /* default for a session's config.target_fps */
    int rate_limit_fps;                     /* frames/s accepted per session, 0 = no limit */
    int max_frame_width;
    int max_frame_height;
    int frame_deadline_ms;                  /* a frame waiting longer is dropped, 0 = never */
    int max_hands;
    int nail_segmentation;                  /* default config.segmentation: 0 off, 1 always, 2 untracked */
    int nail_outline;                       /* default config.outline (bool) */
    /* network */
    char ws_host[LQ_CONFIG_STR_MAX];
    int ws_port;
    int64_t ws_max_message_size;            /* bytes, one WebSocket message */
    int64_t output_queue_max;               /* bytes queued for one slow reader */
    double idle_timeout;                    /* s without a message, 0 = never */
    double ping_interval;                   /* s between keep-alive pings, 0 = off */
    double stats_interval;                  /* s between stats messages, 0 = only at close */
    double shutdown_timeout;                /* s allowed for draining on SIGTERM */
    char auth_token[LQ_CONFIG_STR_MAX];     /* shared secret of AUTH_MODE=token */
    /* access control (docs/security.md "Access control") */
    int auth_mode;                          /* enum lq_auth_mode */
    int auth_jwt_alg;                       /* enum lq_jwt_alg */
    char auth_jwt_secret[LQ_CONFIG_STR_MAX];          /* HS256 shared secret */
    char auth_jwt_public_key_file[LQ_CONFIG_PATH_MAX]; /* RS256/ES256 PEM public key */
    char auth_jwt_audience[LQ_CONFIG_STR_MAX];
    char auth_jwt_issuer[LQ_CONFIG_STR_MAX];          /* empty = not checked */
    int auth_jwt_leeway;                    /* s of clock skew on exp/nbf */
    int auth_jwt_max_ttl;                   /* s: exp at most this far ahead, 0 = no cap */
    char auth_redis_url[LQ_CONFIG_STR_MAX];
    char auth_redis_prefix[LQ_CONFIG_STR_MAX];
    int auth_redis_timeout_ms;
    double conn_rate_per_addr;              /* new WebSocket connections/s per address, 0 = off */
    int conn_burst_per_addr;
    int max_conns_per_addr;                 /* open WebSocket connections per address, 0 = off */
    char trusted_proxies[LQ_CONFIG_LIST_MAX]; /* addresses/CIDRs whose X-Forwarded-For counts */
    char allowed_origins[LQ_CONFIG_LIST_MAX]; /* browser origins; empty = same origin only */
    int64_t json_max_size;                  /* bytes of JSON besides one large string */
    /* reference images */
    int fetch_timeout_ms;
    int64_t fetch_max_bytes;
    int fetch_max_redirects;
    char fetch_allow_hosts[LQ_CONFIG_LIST_MAX]; /* comma-separated; empty = any public host */
    int fetch_cache_entries;
    int64_t fetch_cache_bytes;
    int fetch_allow_private;                /* allow loopback/private addresses (tests) */
    /* logging and metrics */
    int log_level;                          /* enum lq_log_level */
    int log_format;                         /* enum lq_log_format */
    char log_file[LQ_CONFIG_PATH_MAX];      /* empty = stdout only */
    int enable_metrics;
    int metrics_port;                       /* 0 = /metrics only on WS_PORT */
    /* HTTP API, HTTP/2 and TLS (docs/http-api.md) */
    double http_session_timeout;            /* s an HTTP session may go unused, 0 = never */
    int h2c_port;                           /* cleartext HTTP/2 (prior knowledge), 0 = off */
    char tls_cert_file[LQ_CONFIG_PATH_MAX]; /* PEM; with the key: https/wss on WS_PORT */
    char tls_key_file[LQ_CONFIG_PATH_MAX];
    /* bookkeeping */
    char env_file[LQ_CONFIG_PATH_MAX];      /* the .env file that was read, or "" */
    unsigned char source[LQ_CONFIG_MAX_SETTINGS]; /* enum lq_config_source per table row */
} lq_config;

typedef enum lq_cfg_type {
    LQ_CFG_BOOL = 0,
    LQ_CFG_INT,
    LQ_CFG_DOUBLE,
    LQ_CFG_BYTES,
    LQ_CFG_STRING,
    LQ_CFG_ENUM,
} lq_cfg_type;

typedef struct lq_cfg_choice {
    const char *name;
    int value;
} lq_cfg_choice;

/* One row of the settings table. */
typedef struct lq_config_setting {
    const char *name;       /* "ws_port" (used in messages) */
    const char *env;        /* "WS_PORT" (also the .env key) */
    const char *flag;       /* "--ws-port" */
    lq_cfg_type type;
    size_t offset;          /* into lq_config */
    size_t size;            /* of the field (strings: buffer size) */
    const char *def;        /* default, as text */
    double min, max;        /* numeric bounds (int, double, bytes) */
    const lq_cfg_choice *choices; /* enum: NULL-terminated list */
    const char *help;
} lq_config_setting;

/* The table, and its number of rows. */
const lq_config_setting *lq_config_table(size_t *count);

/* Finds a row by name, environment variable or flag (with or without the
 * leading "--"); NULL if none. */
const lq_config_setting *lq_config_find(const char *key);

/* Fills every setting with its default. Cannot fail (the defaults are tested). */
void lq_config_defaults(lq_config *c);

/* Parses `value` for the setting named `key` (name, env var or flag) and
 * stores it. Returns LQ_ENOTFOUND for an unknown key, LQ_EINVAL when the
 * value does not parse or is out of bounds (err names the setting and what
 * is allowed). On failure the field keeps its old value. */
int lq_config_set(lq_config *c, const char *key, const char *value,
                  enum lq_config_source src, char *err, size_t errlen) LQ_NODISCARD;

/* Applies a .env file. Lines: KEY=VALUE, optionally prefixed by "export ";
 * blank lines and lines starting with # are skipped; an unquoted value ends
 * at " #" (inline comment); 'single' or "double" quotes are stripped.
 * Unknown keys are skipped (logged as a warning). Errors: LQ_ENOENT (missing
 * file), LQ_EIO, LQ_ELIMIT (file over LQ_CONFIG_ENV_FILE_MAX_BYTES or a line
 * over LQ_CONFIG_LINE_MAX), LQ_EFORMAT (a line without '=': err says
 * file:line), LQ_EINVAL (a bad value: err says file:line and the setting).
 * Settings before the failing line stay applied. */
int lq_config_load_env_file(lq_config *c, const char *path, char *err,
                            size_t errlen) LQ_NODISCARD;

/* Same, from text in memory (name is used in messages). */
int lq_config_load_env_text(lq_config *c, const char *text, size_t len, const char *name,
                            char *err, size_t errlen) LQ_NODISCARD;

/* Applies the variables of the table found in envp ("KEY=VALUE" strings,
 * NULL-terminated; NULL = the process environment). */
int lq_config_load_env(lq_config *c, char *const *envp, char *err, size_t errlen) LQ_NODISCARD;

/* Applies flags from argv[1..argc-1] (argv[0] is the subcommand). -h/--help
 * and --env-file are recognised and skipped. LQ_EINVAL for an unknown flag,
 * a missing value, a stray argument or a bad value (err says which). */
int lq_config_load_args(lq_config *c, int argc, char **argv, char *err,
                        size_t errlen) LQ_NODISCARD;

/* Checks every setting against its bounds and the relations between
 * settings (e.g. metrics_port != ws_port, max frame area under the image
 * caps). Returns 0 or LQ_EINVAL with err naming the first bad setting. */
int lq_config_validate(const lq_config *c, char *err, size_t errlen) LQ_NODISCARD;

/* The whole sequence: defaults, .env, environment, flags, validate.
 * envp NULL = the process environment. The .env file is the one given by
 * --env-file PATH (or --env-file=PATH), else LACQUER_ENV_FILE, else ./.env
 * if it exists (a missing file is an error only when named explicitly). */
int lq_config_load(lq_config *c, int argc, char **argv, char *const *envp, char *err,
                   size_t errlen) LQ_NODISCARD;

/* Worker threads to start: c->workers, or the usable CPUs (lq_cpus_usable:
 * affinity mask and cgroup quota count) if 0. */
int lq_config_workers(const lq_config *c);

/* Threads one frame's inference may use while no other frame is being
 * processed: c->inference_threads, or the usable CPUs (lq_cpus_usable, at
 * most 4: the hand models gain little beyond that) if 0. */
int lq_config_inference_threads(const lq_config *c);

/* Writes the options section of `--help`, generated from the table. */
void lq_config_print_help(FILE *f);

/* Formats a setting's current value as text (secrets are shown as "***").
 * Returns the number of characters written (snprintf semantics). */
int lq_config_format_value(const lq_config *c, const lq_config_setting *s, char *buf,
                           size_t len);

/* Name of a source ("default", "env-file", "env", "flag", "set"). */
const char *lq_config_source_name(enum lq_config_source src);

/* Names for enum values ("cpu", "fp16", ...). */
const char *lq_config_device_name(int device);
const char *lq_config_precision_name(int precision);

#endif
