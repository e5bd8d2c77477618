/*
 * settings.h - the settings of `lacquer worker`: one table, environment then flags.
 *
 *   batch_settings s;
 *   char *rest[64]; int nrest = 0;
 *   if (batch_settings_load(&s, argc, argv, NULL, rest, 64, &nrest, err, sizeof err) < 0)
 *       usage error: err names the setting;
 *   then lq_config_load(&cfg, nrest, rest, ...) for the settings shared with
 *   `lacquer serve` (MODEL_PATH, LOG_LEVEL, LOG_FORMAT, LOG_FILE,
 *   MAX_FRAME_WIDTH/HEIGHT, --env-file ...).
 *
 * Each row has a name, an environment variable, a flag, a type (string, int,
 * bytes with k/m/g suffix, bool), a default and bounds. Sources, later ones
 * winning: the default, the environment, the flags (--flag VALUE,
 * --flag=VALUE; booleans also bare --flag / --no-flag). Arguments that are
 * not flags of this table are copied to rest[] (argv[0] first) in order, for
 * the service's settings loader. batch_settings_validate then checks the
 * whole struct and names the first bad setting.
 *
 * Thread-safety: plain data; the table is static const.
 */
#ifndef LQ_BATCH_SETTINGS_H
#define LQ_BATCH_SETTINGS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "base/error.h"
#include "batch/queue.h"

typedef struct batch_settings {
    char redis_url[BATCH_URL_MAX + 1];
    char stream[BATCH_KEY_MAX + 1];
    char group[BATCH_KEY_MAX + 1];
    char consumer[BATCH_KEY_MAX + 1];   /* "" = "<hostname>-<pid>" */
    char results[BATCH_KEY_MAX + 1];
    char dead[BATCH_KEY_MAX + 1];
    int max_attempts;                   /* deliveries before dead-lettering */
    int threads;                        /* 0 = one per core */
    int claim_idle_ms;                  /* a pending job idle this long is taken over */
    int block_ms;                       /* longest wait for a new job (and for SIGTERM) */
    int64_t max_job_bytes;              /* image bytes in one job */
    int64_t results_maxlen;             /* results stream trimmed to about this, 0 = never */
    int delete_done;                    /* XDEL finished jobs */
    char heartbeat_file[1024];          /* touched every loop turn, "" = none */
} batch_settings;

typedef enum batch_set_type { BATCH_SET_STRING = 0, BATCH_SET_INT, BATCH_SET_BYTES, BATCH_SET_BOOL } batch_set_type;

typedef struct batch_setting {
    const char *name;
    const char *env;
    const char *flag;
    batch_set_type type;
    size_t offset, size;
    const char *def;
    double min, max;
    const char *help;
} batch_setting;

const batch_setting *batch_settings_table(size_t *count);

/* Every setting at its default. */
void batch_settings_defaults(batch_settings *s);

/* Parses value for the setting key (name, env var or flag). LQ_ENOTFOUND for
 * an unknown key, LQ_EINVAL for a bad value (err names the setting). */
int batch_settings_set(batch_settings *s, const char *key, const char *value, char *err,
                       size_t errlen) LQ_NODISCARD;

/* Defaults, environment (envp NULL = the process's), flags, validate. rest
 * receives argv[0] and the arguments this table does not know (at most
 * rest_cap; LQ_ELIMIT beyond). */
int batch_settings_load(batch_settings *s, int argc, char **argv, char *const *envp, char **rest,
                        int rest_cap, int *nrest, char *err, size_t errlen) LQ_NODISCARD;

/* Bounds, the URL, distinct stream names. LQ_EINVAL naming the setting. */
int batch_settings_validate(const batch_settings *s, char *err, size_t errlen) LQ_NODISCARD;

/* The options section of `lacquer worker --help`. */
void batch_settings_print_help(FILE *f);

#endif
