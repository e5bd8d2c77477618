/* settings.c - the `lacquer worker` settings table (see settings.h). */
#include "batch/settings.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern char **environ;

#define ROW(name, env, flag, type, field, def, min, max, help)                                     \
    {name, env, flag, type, offsetof(batch_settings, field),                                       \
     sizeof(((batch_settings *)0)->field), def, min, max, help}

static const batch_setting table[] = {
    ROW("redis_url", "REDIS_URL", "--redis", BATCH_SET_STRING, redis_url,
        "redis://127.0.0.1:6379/0", 0, 0, "Redis to consume from: redis://[:PASSWORD@]HOST[:PORT][/DB]"),
    ROW("stream", "BATCH_STREAM", "--stream", BATCH_SET_STRING, stream, "tryon:jobs", 0, 0,
        "stream the jobs are added to (XADD)"),
    ROW("group", "BATCH_GROUP", "--group", BATCH_SET_STRING, group, "lacquer", 0, 0,
        "consumer group shared by all workers (created if missing)"),
    ROW("consumer", "BATCH_CONSUMER", "--consumer", BATCH_SET_STRING, consumer, "", 0, 0,
        "this worker's consumer name (default HOSTNAME-PID; -1, -2... per thread)"),
    ROW("results", "BATCH_RESULTS", "--results", BATCH_SET_STRING, results, "tryon:results", 0, 0,
        "stream the results are written to"),
    ROW("dead", "BATCH_DEAD", "--dead", BATCH_SET_STRING, dead, "tryon:dead", 0, 0,
        "stream for jobs that failed --max-attempts times (dead letters)"),
    ROW("max_attempts", "BATCH_MAX_ATTEMPTS", "--max-attempts", BATCH_SET_INT, max_attempts, "3",
        1, 100, "deliveries of one job before it is dead-lettered"),
    ROW("threads", "BATCH_THREADS", "--threads", BATCH_SET_INT, threads, "1", 0, 64,
        "jobs processed in parallel (one Redis connection each); 0 = one per core"),
    ROW("claim_idle_ms", "BATCH_CLAIM_IDLE_MS", "--claim-idle-ms", BATCH_SET_INT, claim_idle_ms,
        "30000", 100, 86400000,
        "a job pending this long with its consumer is taken over (the consumer is presumed dead)"),
    ROW("block_ms", "BATCH_BLOCK_MS", "--block-ms", BATCH_SET_INT, block_ms, "1000", 10, 10000,
        "longest wait for a new job; also bounds how long SIGTERM waits when idle"),
    ROW("max_job_bytes", "BATCH_MAX_JOB_BYTES", "--max-job-bytes", BATCH_SET_BYTES, max_job_bytes,
        "10M", 1024, 256.0 * 1024 * 1024, "largest image accepted in a job"),
    ROW("results_maxlen", "BATCH_RESULTS_MAXLEN", "--results-maxlen", BATCH_SET_INT,
        results_maxlen, "100000", 0, 1e12,
        "trim the results stream to about this many entries (0 = never)"),
    ROW("delete_done", "BATCH_DELETE_DONE", "--delete-done", BATCH_SET_BOOL, delete_done, "false",
        0, 1, "delete a job's entry from the jobs stream once its result is written"),
    ROW("heartbeat_file", "BATCH_HEARTBEAT_FILE", "--heartbeat-file", BATCH_SET_STRING,
        heartbeat_file, "", 0, 0,
        "file touched at least every --block-ms while the worker is healthy (health checks)"),
};

#define N_ROWS (sizeof table / sizeof table[0])

const batch_setting *batch_settings_table(size_t *count)
{
    if (count)
        *count = N_ROWS;
    return table;
}

static const batch_setting *find(const char *key, size_t keylen)
{
    for (size_t i = 0; i < N_ROWS; i++) {
        const batch_setting *s = &table[i];
        const char *cands[] = {s->name, s->env, s->flag, s->flag + 2};
        for (size_t k = 0; k < 4; k++)
            if (strlen(cands[k]) == keylen && strncmp(cands[k], key, keylen) == 0)
                return s;
    }
    return NULL;
}

static int bad(char *err, size_t errlen, const batch_setting *s, const char *value, const char *why)
{
    if (err && errlen)
        snprintf(err, errlen, "%s (%s): bad value '%.64s': %s", s->flag, s->env, value, why);
    return LQ_EINVAL;
}

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(v, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

/* An integer with an optional k/m/g suffix (binary multiples) when bytes. */
static int parse_number(const char *v, int bytes, double *out)
{
    errno = 0;
    char *end = NULL;
    long long n = strtoll(v, &end, 10);
    if (end == v || errno)
        return -1;
    double mult = 1;
    if (bytes && *end) {
        int c = tolower((unsigned char)*end);
        mult = c == 'k' ? 1024.0 : c == 'm' ? 1048576.0 : c == 'g' ? 1073741824.0 : 0;
        if (mult == 0)
            return -1;
        end++;
    }
    if (*end)
        return -1;
    *out = (double)n * mult;
    return 0;
}

static int set_row(batch_settings *st, const batch_setting *s, const char *value, char *err,
                   size_t errlen)
{
    char *field = (char *)st + s->offset;
    switch (s->type) {
    case BATCH_SET_STRING: {
        size_t n = strlen(value);
        if (n >= s->size)
            return bad(err, errlen, s, value, "too long");
        memcpy(field, value, n + 1);
        return 0;
    }
    case BATCH_SET_BOOL: {
        int b;
        if (parse_bool(value, &b) < 0)
            return bad(err, errlen, s, value, "expected true or false");
        *(int *)field = b;
        return 0;
    }
    case BATCH_SET_INT:
    case BATCH_SET_BYTES: {
        double d;
        char why[96];
        if (parse_number(value, s->type == BATCH_SET_BYTES, &d) < 0)
            return bad(err, errlen, s, value,
                       s->type == BATCH_SET_BYTES ? "expected an integer with an optional k/m/g"
                                                  : "expected an integer");
        if (d < s->min || d > s->max) {
            snprintf(why, sizeof why, "allowed %.0f..%.0f", s->min, s->max);
            return bad(err, errlen, s, value, why);
        }
        if (s->size == sizeof(int))
            *(int *)field = (int)d;
        else
            *(int64_t *)field = (int64_t)d;
        return 0;
    }
    }
    return LQ_EINVAL;
}

void batch_settings_defaults(batch_settings *s)
{
    memset(s, 0, sizeof *s);
    for (size_t i = 0; i < N_ROWS; i++)
        if (set_row(s, &table[i], table[i].def, NULL, 0) < 0)
            abort(); /* a default that does not parse is a bug in the table */
}

int batch_settings_set(batch_settings *s, const char *key, const char *value, char *err,
                       size_t errlen)
{
    const batch_setting *row = key ? find(key, strlen(key)) : NULL;
    if (!row)
        return LQ_ENOTFOUND;
    return set_row(s, row, value ? value : "", err, errlen);
}

int batch_settings_load(batch_settings *s, int argc, char **argv, char *const *envp, char **rest,
                        int rest_cap, int *nrest, char *err, size_t errlen)
{
    batch_settings_defaults(s);
    char *const *env = envp ? envp : environ;
    for (size_t i = 0; env && env[i]; i++) {
        const char *eq = strchr(env[i], '=');
        if (!eq)
            continue;
        for (size_t k = 0; k < N_ROWS; k++) {
            size_t n = strlen(table[k].env);
            if ((size_t)(eq - env[i]) == n && strncmp(env[i], table[k].env, n) == 0) {
                int rc = set_row(s, &table[k], eq + 1, err, errlen);
                if (rc < 0)
                    return rc;
            }
        }
    }
    int nr = 0;
    if (rest_cap < 1)
        return LQ_EINVAL;
    rest[nr++] = argc > 0 ? argv[0] : (char *)"worker";
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const batch_setting *row = NULL;
        const char *value = NULL;
        if (strncmp(a, "--", 2) == 0 && a[2]) {
            const char *eq = strchr(a, '=');
            size_t klen = eq ? (size_t)(eq - a) : strlen(a);
            row = find(a, klen);
            if (row && row->flag[0] && strncmp(a, row->flag, klen) == 0 &&
                strlen(row->flag) == klen) {
                if (eq)
                    value = eq + 1;
                else if (row->type == BATCH_SET_BOOL)
                    value = "true";
                else if (i + 1 < argc)
                    value = argv[++i];
                else {
                    if (err && errlen)
                        snprintf(err, errlen, "%s needs a value", row->flag);
                    return LQ_EINVAL;
                }
            } else if (!eq && strncmp(a, "--no-", 5) == 0) {
                char flag[96];
                snprintf(flag, sizeof flag, "--%s", a + 5);
                row = find(flag, strlen(flag));
                if (row && row->type == BATCH_SET_BOOL)
                    value = "false";
                else
                    row = NULL;
            } else {
                row = NULL;
            }
        }
        if (row) {
            int rc = set_row(s, row, value, err, errlen);
            if (rc < 0)
                return rc;
            continue;
        }
        if (nr >= rest_cap) {
            if (err && errlen)
                snprintf(err, errlen, "too many arguments");
            return LQ_ELIMIT;
        }
        rest[nr++] = argv[i];
    }
    *nrest = nr;
    return batch_settings_validate(s, err, errlen);
}

static int names_ok(const char *v)
{
    for (; *v; v++)
        if ((unsigned char)*v <= ' ' || *v == 0x7f || *v == '"' || *v == '\\')
            return 0;
    return 1;
}

int batch_settings_validate(const batch_settings *s, char *err, size_t errlen)
{
    batch_redis_url u;
    char why[200];
    if (batch_redis_url_parse(s->redis_url, &u, why, sizeof why) < 0) {
        if (err && errlen)
            snprintf(err, errlen, "--redis (REDIS_URL): %s", why);
        return LQ_EINVAL;
    }
    const struct {
        const char *flag, *value;
        int may_be_empty;
    } names[] = {{"--stream", s->stream, 0},  {"--group", s->group, 0},
                 {"--consumer", s->consumer, 1}, {"--results", s->results, 0},
                 {"--dead", s->dead, 0}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        if ((!names[i].may_be_empty && !names[i].value[0]) || !names_ok(names[i].value)) {
            if (err && errlen)
                snprintf(err, errlen, "%s: must be non-empty, without spaces, quotes, backslashes or control characters",
                         names[i].flag);
            return LQ_EINVAL;
        }
    }
    if (strcmp(s->stream, s->results) == 0 || strcmp(s->stream, s->dead) == 0 ||
        strcmp(s->results, s->dead) == 0) {
        if (err && errlen)
            snprintf(err, errlen, "--stream, --results and --dead must be three different streams");
        return LQ_EINVAL;
    }
    for (size_t i = 0; i < N_ROWS; i++) {
        const batch_setting *r = &table[i];
        if (r->type != BATCH_SET_INT && r->type != BATCH_SET_BYTES)
            continue;
        const char *f = (const char *)s + r->offset;
        double v = r->size == sizeof(int) ? *(const int *)f : (double)*(const int64_t *)f;
        if (v < r->min || v > r->max) {
            if (err && errlen)
                snprintf(err, errlen, "%s (%s): %.0f is outside %.0f..%.0f", r->flag, r->env, v,
                         r->min, r->max);
            return LQ_EINVAL;
        }
    }
    if (s->claim_idle_ms <= s->block_ms) {
        if (err && errlen)
            snprintf(err, errlen, "--claim-idle-ms (%d) must be longer than --block-ms (%d)",
                     s->claim_idle_ms, s->block_ms);
        return LQ_EINVAL;
    }
    return 0;
}

void batch_settings_print_help(FILE *f)
{
    fprintf(f, "options (flag, environment variable, default):\n");
    for (size_t i = 0; i < N_ROWS; i++) {
        const batch_setting *s = &table[i];
        char flag[64];
        snprintf(flag, sizeof flag, "%s%s", s->flag,
                 s->type == BATCH_SET_BOOL ? "" : s->type == BATCH_SET_STRING ? " TEXT" : " N");
        fprintf(f, "  %-24s %s\n  %-24s %s, default %s", flag, s->help, "", s->env,
                s->def[0] ? s->def : "(none)");
        if (s->type == BATCH_SET_INT || s->type == BATCH_SET_BYTES)
            fprintf(f, ", %.0f..%.0f", s->min, s->max);
        fprintf(f, "\n");
    }
}
