/* config.c - the settings table and its four sources (see config.h). */
#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "base/cpus.h"
#include "base/log.h"
#include "image/image.h"

extern char **environ;

#define OFF(field) offsetof(lq_config, field), sizeof(((lq_config *)0)->field)

static const lq_cfg_choice device_choices[] = {
    {"cpu", LQ_DEVICE_CPU}, {"cuda", LQ_DEVICE_CUDA}, {NULL, 0}};
static const lq_cfg_choice precision_choices[] = {
    {"fp32", LQ_PRECISION_FP32}, {"fp16", LQ_PRECISION_FP16}, {NULL, 0}};
static const lq_cfg_choice level_choices[] = {
    {"debug", LQ_LOG_DEBUG}, {"info", LQ_LOG_INFO},     {"warning", LQ_LOG_WARN},
    {"warn", LQ_LOG_WARN},   {"error", LQ_LOG_ERROR},   {"critical", LQ_LOG_ERROR},
    {"off", LQ_LOG_OFF},     {NULL, 0}};
static const lq_cfg_choice auth_mode_choices[] = {
    {"none", LQ_AUTH_NONE}, {"token", LQ_AUTH_TOKEN}, {"jwt", LQ_AUTH_JWT},
    {"redis", LQ_AUTH_REDIS}, {NULL, 0}};
static const lq_cfg_choice jwt_alg_choices[] = {
    {"HS256", LQ_JWT_HS256}, {"RS256", LQ_JWT_RS256}, {"ES256", LQ_JWT_ES256}, {NULL, 0}};
static const lq_cfg_choice seg_choices[] = {
    {"off", 0}, {"always", 1}, {"untracked", 2}, {NULL, 0}};
static const lq_cfg_choice format_choices[] = {
    {"json", LQ_LOG_FORMAT_JSON}, {"text", LQ_LOG_FORMAT_TEXT}, {NULL, 0}};

#define GiB (1024.0 * 1024.0 * 1024.0)

/* The one table. Keep the guide's .env variables first, in its order. */
static const lq_config_setting settings[] = {
    {"model_path", "MODEL_PATH", "--model-path", LQ_CFG_STRING, OFF(model_path), "./models", 0, 0,
     NULL, "folder with the .tflite models (a file path selects its folder)"},
    {"model_device", "MODEL_DEVICE", "--model-device", LQ_CFG_ENUM, OFF(model_device), "cpu", 0, 0,
     device_choices, "inference device; only cpu exists: cuda logs a warning and runs on the cpu"},
    {"model_precision", "MODEL_PRECISION", "--model-precision", LQ_CFG_ENUM, OFF(model_precision),
     "fp32", 0, 0, precision_choices, "weight precision; fp16 is accepted but the weights run fp32"},
    {"max_concurrent_sessions", "MAX_CONCURRENT_SESSIONS", "--max-concurrent-sessions", LQ_CFG_INT,
     OFF(max_concurrent_sessions), "50", 1, 10000, NULL,
     "sessions at once; init_session beyond it is refused (close code 1013)"},
    {"frame_queue_size", "FRAME_QUEUE_SIZE", "--frame-queue-size", LQ_CFG_INT,
     OFF(frame_queue_size), "2", 1, 64, NULL,
     "frames waiting per session; on overflow the oldest waiting frame is dropped"},
    {"target_fps", "TARGET_FPS", "--target-fps", LQ_CFG_INT, OFF(target_fps), "25", 1, 120, NULL,
     "default frame rate of a session (its config.target_fps may lower it)"},
    {"ws_host", "WS_HOST", "--ws-host", LQ_CFG_STRING, OFF(ws_host), "0.0.0.0", 0, 0, NULL,
     "address to listen on (0.0.0.0 = every IPv4 interface)"},
    {"ws_port", "WS_PORT", "--ws-port", LQ_CFG_INT, OFF(ws_port), "8002", 1, 65535, NULL,
     "TCP port of the WebSocket endpoint /ws/tryon and of /health and /metrics"},
    {"ws_max_message_size", "WS_MAX_MESSAGE_SIZE", "--ws-max-message-size", LQ_CFG_BYTES,
     OFF(ws_max_message_size), "10485760", 4096, 256.0 * 1024 * 1024, NULL,
     "largest WebSocket message accepted, bytes (k/m/g suffixes)"},
    {"log_level", "LOG_LEVEL", "--log-level", LQ_CFG_ENUM, OFF(log_level), "info", 0, 0,
     level_choices, "least severe log level written"},
    {"log_file", "LOG_FILE", "--log-file", LQ_CFG_STRING, OFF(log_file), "", 0, 0, NULL,
     "also append the log to this file (empty = stdout only)"},
    {"enable_metrics", "ENABLE_METRICS", "--enable-metrics", LQ_CFG_BOOL, OFF(enable_metrics),
     "true", 0, 0, NULL, "serve Prometheus metrics at GET /metrics"},
    {"metrics_port", "METRICS_PORT", "--metrics-port", LQ_CFG_INT, OFF(metrics_port), "0", 0,
     65535, NULL, "extra port for /metrics and /health (0 = only on WS_PORT)"},
    {"workers", "WORKERS", "--workers", LQ_CFG_INT, OFF(workers), "0", 0, 256, NULL,
     "frame worker threads (0 = one per CPU core)"},
    {"inference_threads", "INFERENCE_THREADS", "--inference-threads", LQ_CFG_INT,
     OFF(inference_threads), "1", 0, 64, NULL,
     "threads a frame's models may use while no other frame is being processed, and only while "
     "measured faster than one thread (1 = always one; 0 = one per usable core, at most 4: for "
     "machines whose cores nothing else uses)"},
    {"stats_interval", "STATS_INTERVAL", "--stats-interval", LQ_CFG_DOUBLE, OFF(stats_interval),
     "5", 0, 3600, NULL, "seconds between stats messages per session (0 = only at close)"},
    {"idle_timeout", "IDLE_TIMEOUT", "--idle-timeout", LQ_CFG_DOUBLE, OFF(idle_timeout), "60", 0,
     86400, NULL, "seconds without a message (while no frame or reference photo of the session is being "
     "worked on) before close_session reason timeout (0 = never)"},
    {"ping_interval", "PING_INTERVAL", "--ping-interval", LQ_CFG_DOUBLE, OFF(ping_interval), "20",
     0, 3600, NULL, "seconds of silence before a WebSocket ping (0 = no pings)"},
    {"max_frame_width", "MAX_FRAME_WIDTH", "--max-frame-width", LQ_CFG_INT, OFF(max_frame_width),
     "1920", 16, LQ_IMAGE_MAX_DIM, NULL, "widest frame accepted, pixels (checked before decoding)"},
    {"max_frame_height", "MAX_FRAME_HEIGHT", "--max-frame-height", LQ_CFG_INT,
     OFF(max_frame_height), "1080", 16, LQ_IMAGE_MAX_DIM, NULL,
     "tallest frame accepted, pixels (a portrait frame may use the width as its height)"},
    {"max_hands", "MAX_HANDS", "--max-hands", LQ_CFG_INT, OFF(max_hands), "2", 1, 2, NULL,
     "hands tracked per frame (a session's config.max_hands may lower it)"},
    {"nail_segmentation", "NAIL_SEGMENTATION", "--nail-segmentation", LQ_CFG_ENUM,
     OFF(nail_segmentation), "untracked", 0, 0, seg_choices,
     "default of a session's config.segmentation: when the nail segmentation network runs "
     "(untracked = on frames without a tracked hand, close-ups; always = every frame, about "
     "5 ms more per tracked frame; off)"},
    {"nail_outline", "NAIL_OUTLINE", "--nail-outline", LQ_CFG_BOOL, OFF(nail_outline), "false", 0,
     0, NULL,
     "default of a session's config.outline: the nail outline network refits every painted "
     "nail's outline on every frame (about 1 ms a nail; photos always get it)"},
    {"frame_deadline_ms", "FRAME_DEADLINE_MS", "--frame-deadline-ms", LQ_CFG_INT,
     OFF(frame_deadline_ms), "1000", 0, 60000, NULL,
     "a frame still waiting after this many ms is dropped with PROCESSING_TIMEOUT (0 = never)"},
    {"rate_limit_fps", "RATE_LIMIT_FPS", "--rate-limit-fps", LQ_CFG_INT, OFF(rate_limit_fps), "30",
     0, 1000, NULL, "frames per second accepted from one session, more get RATE_LIMITED (0 = off)"},
    {"output_queue_max", "OUTPUT_QUEUE_MAX", "--output-queue-max", LQ_CFG_BYTES,
     OFF(output_queue_max), "8M", 65536, GiB, NULL,
     "bytes of replies queued for one connection before it stops being read"},
    {"shutdown_timeout", "SHUTDOWN_TIMEOUT", "--shutdown-timeout", LQ_CFG_DOUBLE,
     OFF(shutdown_timeout), "10", 0, 600, NULL,
     "seconds allowed to finish in-flight frames on SIGTERM/SIGINT"},
    {"auth_token", "AUTH_TOKEN", "--auth-token", LQ_CFG_STRING, OFF(auth_token), "", 0, 0, NULL,
     "shared secret of AUTH_MODE=token (set alone, it selects that mode)"},
    {"auth_mode", "AUTH_MODE", "--auth-mode", LQ_CFG_ENUM, OFF(auth_mode), "none", 0, 0,
     auth_mode_choices,
     "who may connect: none (ANYONE: development only), token, jwt or redis (docs/security.md)"},
    {"auth_jwt_alg", "AUTH_JWT_ALG", "--auth-jwt-alg", LQ_CFG_ENUM, OFF(auth_jwt_alg), "HS256", 0,
     0, jwt_alg_choices, "the only JWT algorithm accepted (others, and alg none, are refused)"},
    {"auth_jwt_secret", "AUTH_JWT_SECRET", "--auth-jwt-secret", LQ_CFG_STRING,
     OFF(auth_jwt_secret), "", 0, 0, NULL, "HS256 shared secret (at least 32 bytes)"},
    {"auth_jwt_public_key_file", "AUTH_JWT_PUBLIC_KEY_FILE", "--auth-jwt-public-key-file",
     LQ_CFG_STRING, OFF(auth_jwt_public_key_file), "", 0, 0, NULL,
     "PEM public key that verifies RS256/ES256 tokens"},
    {"auth_jwt_audience", "AUTH_JWT_AUDIENCE", "--auth-jwt-audience", LQ_CFG_STRING,
     OFF(auth_jwt_audience), "lacquer", 0, 0, NULL, "aud claim a token must carry"},
    {"auth_jwt_issuer", "AUTH_JWT_ISSUER", "--auth-jwt-issuer", LQ_CFG_STRING,
     OFF(auth_jwt_issuer), "", 0, 0, NULL, "iss claim a token must carry (empty = not checked)"},
    {"auth_jwt_leeway", "AUTH_JWT_LEEWAY", "--auth-jwt-leeway", LQ_CFG_INT, OFF(auth_jwt_leeway),
     "30", 0, 300, NULL, "seconds of clock skew allowed on exp and nbf"},
    {"auth_jwt_max_ttl", "AUTH_JWT_MAX_TTL", "--auth-jwt-max-ttl", LQ_CFG_INT,
     OFF(auth_jwt_max_ttl), "3600", 0, 604800, NULL,
     "refuse tokens whose exp is further ahead than this, s (0 = no cap)"},
    {"auth_redis_url", "AUTH_REDIS_URL", "--auth-redis-url", LQ_CFG_STRING, OFF(auth_redis_url),
     "redis://127.0.0.1:6379/0", 0, 0, NULL, "Redis holding <prefix><token> -> session id"},
    {"auth_redis_prefix", "AUTH_REDIS_PREFIX", "--auth-redis-prefix", LQ_CFG_STRING,
     OFF(auth_redis_prefix), "tryon:token:", 0, 0, NULL, "key prefix of the tokens in Redis"},
    {"auth_redis_timeout_ms", "AUTH_REDIS_TIMEOUT_MS", "--auth-redis-timeout-ms", LQ_CFG_INT,
     OFF(auth_redis_timeout_ms), "250", 10, 10000, NULL,
     "connect and GET timeout of a token lookup (runs off the event loop)"},
    {"conn_rate_per_addr", "CONN_RATE_PER_ADDR", "--conn-rate-per-addr", LQ_CFG_DOUBLE,
     OFF(conn_rate_per_addr), "100", 0, 10000, NULL,
     "new connections (WebSockets, HTTP/1.1 API requests, HTTP/2 connections) per second per "
     "client address (0 = no limit)"},
    {"conn_burst_per_addr", "CONN_BURST_PER_ADDR", "--conn-burst-per-addr", LQ_CFG_INT,
     OFF(conn_burst_per_addr), "100", 1, 100000, NULL,
     "new connections one address may open at once before CONN_RATE_PER_ADDR applies"},
    {"max_conns_per_addr", "MAX_CONNS_PER_ADDR", "--max-conns-per-addr", LQ_CFG_INT,
     OFF(max_conns_per_addr), "100", 0, 100000, NULL,
     "open WebSocket connections per client address (0 = no cap; keep it above "
     "MAX_CONCURRENT_SESSIONS when one backend host connects for every shopper)"},
    {"trusted_proxies", "TRUSTED_PROXIES", "--trusted-proxies", LQ_CFG_STRING,
     OFF(trusted_proxies), "", 0, 0, NULL,
     "proxy addresses/CIDRs whose X-Forwarded-For names the client (empty = none)"},
    {"allowed_origins", "ALLOWED_ORIGINS", "--allowed-origins", LQ_CFG_STRING,
     OFF(allowed_origins), "", 0, 0, NULL,
     "browser origins allowed to connect, comma-separated (empty = same origin only, * = any)"},
    {"json_max_size", "JSON_MAX_SIZE", "--json-max-size", LQ_CFG_BYTES, OFF(json_max_size), "64k",
     1024, 16.0 * 1024 * 1024, NULL,
     "largest JSON message, bytes, not counting a frame_data image (checked before parsing)"},
    {"fetch_timeout_ms", "FETCH_TIMEOUT_MS", "--fetch-timeout-ms", LQ_CFG_INT,
     OFF(fetch_timeout_ms), "3000", 100, 300000, NULL,
     "whole-transfer timeout of a reference image (session_ready waits for it)"},
    {"fetch_max_bytes", "FETCH_MAX_BYTES", "--fetch-max-bytes", LQ_CFG_BYTES, OFF(fetch_max_bytes),
     "10M", 1024, 256.0 * 1024 * 1024, NULL, "largest reference image downloaded"},
    {"fetch_max_redirects", "FETCH_MAX_REDIRECTS", "--fetch-max-redirects", LQ_CFG_INT,
     OFF(fetch_max_redirects), "3", 0, 10, NULL, "redirects followed when fetching a reference"},
    {"fetch_allow_hosts", "FETCH_ALLOW_HOSTS", "--fetch-allow-hosts", LQ_CFG_STRING,
     OFF(fetch_allow_hosts), "", 0, 0, NULL,
     "comma-separated hosts references may come from (empty = any public address)"},
    {"fetch_cache_entries", "FETCH_CACHE_ENTRIES", "--fetch-cache-entries", LQ_CFG_INT,
     OFF(fetch_cache_entries), "64", 0, 65536, NULL, "reference images kept in the LRU cache"},
    {"fetch_cache_bytes", "FETCH_CACHE_BYTES", "--fetch-cache-bytes", LQ_CFG_BYTES,
     OFF(fetch_cache_bytes), "64M", 0, 4.0 * GiB, NULL, "bytes of reference images kept in the cache"},
    {"fetch_allow_private", "FETCH_ALLOW_PRIVATE", "--fetch-allow-private", LQ_CFG_BOOL,
     OFF(fetch_allow_private), "false", 0, 0, NULL,
     "allow references from loopback/private addresses when no allow-list is set (tests only)"},
    {"log_format", "LOG_FORMAT", "--log-format", LQ_CFG_ENUM, OFF(log_format), "json", 0, 0,
     format_choices, "log lines as JSON objects or as text"},
    {"http_session_timeout", "HTTP_SESSION_TIMEOUT", "--http-session-timeout", LQ_CFG_DOUBLE,
     OFF(http_session_timeout), "60", 0, 86400, NULL,
     "seconds an HTTP API session may go without a request before it is closed (0 = never)"},
    {"h2c_port", "H2C_PORT", "--h2c-port", LQ_CFG_INT, OFF(h2c_port), "0", 0, 65535, NULL,
     "extra port for cleartext HTTP/2 with prior knowledge (HTTP API, /health, /metrics; 0 = off)"},
    {"tls_cert_file", "TLS_CERT_FILE", "--tls-cert-file", LQ_CFG_STRING, OFF(tls_cert_file), "", 0,
     0, NULL, "PEM certificate (chain): WS_PORT then serves https:// and wss://, ALPN h2 and http/1.1"},
    {"tls_key_file", "TLS_KEY_FILE", "--tls-key-file", LQ_CFG_STRING, OFF(tls_key_file), "", 0, 0,
     NULL, "PEM private key of TLS_CERT_FILE"},
};

#define N_SETTINGS (sizeof settings / sizeof settings[0])

_Static_assert(N_SETTINGS <= LQ_CONFIG_MAX_SETTINGS, "grow LQ_CONFIG_MAX_SETTINGS");

const lq_config_setting *lq_config_table(size_t *count)
{
    if (count)
        *count = N_SETTINGS;
    return settings;
}

static void errf(char *err, size_t errlen, const char *fmt, ...) LQ_PRINTF(3, 4);

static void errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

const lq_config_setting *lq_config_find(const char *key)
{
    if (!key)
        return NULL;
    const char *bare = key;
    if (bare[0] == '-' && bare[1] == '-')
        bare += 2;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const lq_config_setting *s = &settings[i];
        if (strcmp(key, s->name) == 0 || strcmp(key, s->env) == 0 || strcmp(bare, s->flag + 2) == 0)
            return s;
    }
    return NULL;
}

const char *lq_config_source_name(enum lq_config_source src)
{
    switch (src) {
    case LQ_CFG_SRC_DEFAULT: return "default";
    case LQ_CFG_SRC_ENV_FILE: return "env-file";
    case LQ_CFG_SRC_ENV: return "env";
    case LQ_CFG_SRC_FLAG: return "flag";
    case LQ_CFG_SRC_SET: return "set";
    }
    return "unknown";
}

static const char *choice_name(const lq_cfg_choice *ch, int value)
{
    for (; ch && ch->name; ch++)
        if (ch->value == value)
            return ch->name;
    return "unknown";
}

const char *lq_config_device_name(int device)
{
    return choice_name(device_choices, device);
}

const char *lq_config_precision_name(int precision)
{
    return choice_name(precision_choices, precision);
}

/* ---- value parsers: each returns 0 or LQ_EINVAL without touching *out ---- */

static int parse_bool(const char *v, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};
    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(v, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(v, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return LQ_EINVAL;
}

static int parse_double(const char *v, double *out)
{
    char *end = NULL;
    errno = 0;
    double d = strtod(v, &end);
    if (end == v || *end != '\0' || errno == ERANGE || !isfinite(d))
        return LQ_EINVAL;
    *out = d;
    return 0;
}

static int parse_int64(const char *v, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || errno == ERANGE)
        return LQ_EINVAL;
    *out = (int64_t)x;
    return 0;
}

/* "10485760", "10M", "10MiB", "64k", "1g" (binary multiples). */
static int parse_bytes(const char *v, int64_t *out)
{
    char *end = NULL;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || errno == ERANGE || x < 0)
        return LQ_EINVAL;
    static const struct {
        const char *suffix;
        int64_t mul;
    } units[] = {{"", 1},          {"b", 1},          {"k", 1024},       {"kb", 1024},
                 {"kib", 1024},    {"m", 1 << 20},    {"mb", 1 << 20},   {"mib", 1 << 20},
                 {"g", 1 << 30},   {"gb", 1 << 30},   {"gib", 1 << 30}};
    int64_t mul = 0;
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcasecmp(end, units[i].suffix) == 0)
            mul = units[i].mul;
    if (mul == 0)
        return LQ_EINVAL;
    if (x > INT64_MAX / mul)
        return LQ_EINVAL;
    *out = (int64_t)x * mul;
    return 0;
}

static void range_text(const lq_config_setting *s, char *buf, size_t len)
{
    if (s->type == LQ_CFG_ENUM) {
        size_t pos = 0;
        buf[0] = '\0';
        for (const lq_cfg_choice *ch = s->choices; ch->name && pos < len; ch++)
            pos += (size_t)snprintf(buf + pos, len - pos, "%s%s", pos ? "|" : "", ch->name);
    } else if (s->type == LQ_CFG_BOOL) {
        snprintf(buf, len, "true|false");
    } else if (s->type == LQ_CFG_STRING) {
        snprintf(buf, len, "at most %zu characters", s->size - 1);
    } else {
        snprintf(buf, len, "%.15g..%.15g", s->min, s->max);
    }
}

static void *field(lq_config *c, const lq_config_setting *s)
{
    return (char *)c + s->offset;
}

static const void *cfield(const lq_config *c, const lq_config_setting *s)
{
    return (const char *)c + s->offset;
}

static int store(lq_config *c, const lq_config_setting *s, const char *value, char *err,
                 size_t errlen, const char *where)
{
    char range[256];
    range_text(s, range, sizeof range);
    int ok = 0;
    switch (s->type) {
    case LQ_CFG_BOOL: {
        int b;
        if ((ok = parse_bool(value, &b)) == 0)
            *(int *)field(c, s) = b;
        break;
    }
    case LQ_CFG_INT: {
        int64_t x;
        ok = parse_int64(value, &x);
        if (ok == 0 && ((double)x < s->min || (double)x > s->max))
            ok = LQ_EINVAL;
        if (ok == 0)
            *(int *)field(c, s) = (int)x;
        break;
    }
    case LQ_CFG_BYTES: {
        int64_t x;
        ok = parse_bytes(value, &x);
        if (ok == 0 && ((double)x < s->min || (double)x > s->max))
            ok = LQ_EINVAL;
        if (ok == 0)
            *(int64_t *)field(c, s) = x;
        break;
    }
    case LQ_CFG_DOUBLE: {
        double d;
        ok = parse_double(value, &d);
        if (ok == 0 && (d < s->min || d > s->max))
            ok = LQ_EINVAL;
        if (ok == 0)
            *(double *)field(c, s) = d;
        break;
    }
    case LQ_CFG_STRING:
        if (strlen(value) >= s->size) {
            ok = LQ_EINVAL;
        } else {
            memcpy(field(c, s), value, strlen(value) + 1);
        }
        break;
    case LQ_CFG_ENUM:
        ok = LQ_EINVAL;
        for (const lq_cfg_choice *ch = s->choices; ch->name; ch++) {
            if (strcasecmp(value, ch->name) == 0) {
                *(int *)field(c, s) = ch->value;
                ok = 0;
                break;
            }
        }
        break;
    }
    if (ok < 0) {
        if (s->type == LQ_CFG_STRING)
            errf(err, errlen, "%s%s (%s): value too long (%s)", where, s->name, s->env, range);
        else
            errf(err, errlen, "%s%s (%s): invalid value '%.64s' (expected %s)", where, s->name,
                 s->env, value, range);
    }
    return ok;
}

static int set_from(lq_config *c, const lq_config_setting *s, const char *value,
                    enum lq_config_source src, char *err, size_t errlen, const char *where)
{
    int rc = store(c, s, value, err, errlen, where);
    if (rc == 0)
        c->source[s - settings] = (unsigned char)src;
    return rc;
}

int lq_config_set(lq_config *c, const char *key, const char *value, enum lq_config_source src,
                  char *err, size_t errlen)
{
    if (!c || !key || !value) {
        errf(err, errlen, "lq_config_set: missing argument");
        return LQ_EINVAL;
    }
    const lq_config_setting *s = lq_config_find(key);
    if (!s) {
        errf(err, errlen, "unknown setting '%.64s'", key);
        return LQ_ENOTFOUND;
    }
    return set_from(c, s, value, src, err, errlen, "");
}

void lq_config_defaults(lq_config *c)
{
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < N_SETTINGS; i++) {
        int rc = store(c, &settings[i], settings[i].def, NULL, 0, "");
        if (rc < 0)
            abort(); /* a broken default is a bug in the table (tested) */
    }
}

/* ---- .env files ---- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Strips quotes or an inline comment from a value, in place. */
static int unquote(char *v, char **out)
{
    if (v[0] == '"' || v[0] == '\'') {
        char q = v[0];
        char *close = strchr(v + 1, q);
        if (!close)
            return LQ_EFORMAT;
        char *after = trim(close + 1);
        if (*after && *after != '#')
            return LQ_EFORMAT;
        *close = '\0';
        *out = v + 1;
        return 0;
    }
    for (char *p = v; *p; p++) {
        if (*p == '#' && (p == v || p[-1] == ' ' || p[-1] == '\t')) {
            *p = '\0';
            break;
        }
    }
    *out = trim(v);
    return 0;
}

int lq_config_load_env_text(lq_config *c, const char *text, size_t len, const char *name,
                            char *err, size_t errlen)
{
    char line[LQ_CONFIG_LINE_MAX + 1];
    size_t pos = 0;
    int lineno = 0;
    while (pos < len) {
        size_t end = pos;
        while (end < len && text[end] != '\n')
            end++;
        lineno++;
        size_t n = end - pos;
        if (n > LQ_CONFIG_LINE_MAX) {
            errf(err, errlen, "%s:%d: line longer than %d bytes", name, lineno, LQ_CONFIG_LINE_MAX);
            return LQ_ELIMIT;
        }
        memcpy(line, text + pos, n);
        line[n] = '\0';
        pos = end + 1;
        if (memchr(line, '\0', n)) {
            errf(err, errlen, "%s:%d: NUL byte in line", name, lineno);
            return LQ_EFORMAT;
        }
        char *l = trim(line);
        if (*l == '\0' || *l == '#')
            continue;
        if (strncmp(l, "export ", 7) == 0)
            l = trim(l + 7);
        char *eq = strchr(l, '=');
        if (!eq) {
            errf(err, errlen, "%s:%d: expected KEY=VALUE", name, lineno);
            return LQ_EFORMAT;
        }
        *eq = '\0';
        char *key = trim(l);
        char *value = NULL;
        if (*key == '\0' || unquote(trim(eq + 1), &value) < 0) {
            errf(err, errlen, "%s:%d: expected KEY=VALUE (unbalanced quotes?)", name, lineno);
            return LQ_EFORMAT;
        }
        const lq_config_setting *s = NULL;
        for (size_t i = 0; i < N_SETTINGS && !s; i++)
            if (strcmp(key, settings[i].env) == 0)
                s = &settings[i];
        if (!s) {
            LQ_WARN("config", "%s:%d: %.64s is not a Lacquer setting; ignored", name, lineno, key);
            continue;
        }
        char where[LQ_CONFIG_PATH_MAX + 32];
        snprintf(where, sizeof where, "%s:%d: ", name, lineno);
        int rc = set_from(c, s, value, LQ_CFG_SRC_ENV_FILE, err, errlen, where);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int lq_config_load_env_file(lq_config *c, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        errf(err, errlen, "cannot open env file %s: %s", path, strerror(errno));
        return errno == ENOENT ? LQ_ENOENT : LQ_EIO;
    }
    char *buf = malloc(LQ_CONFIG_ENV_FILE_MAX_BYTES + 1);
    if (!buf) {
        fclose(f);
        errf(err, errlen, "out of memory reading %s", path);
        return LQ_ENOMEM;
    }
    size_t n = fread(buf, 1, LQ_CONFIG_ENV_FILE_MAX_BYTES + 1, f);
    int rd_err = ferror(f);
    fclose(f);
    int rc;
    if (rd_err) {
        errf(err, errlen, "cannot read env file %s", path);
        rc = LQ_EIO;
    } else if (n > LQ_CONFIG_ENV_FILE_MAX_BYTES) {
        errf(err, errlen, "env file %s is larger than %u bytes", path,
             LQ_CONFIG_ENV_FILE_MAX_BYTES);
        rc = LQ_ELIMIT;
    } else {
        rc = lq_config_load_env_text(c, buf, n, path, err, errlen);
        if (rc == 0)
            snprintf(c->env_file, sizeof c->env_file, "%s", path);
    }
    free(buf);
    return rc;
}

/* ---- environment ---- */

int lq_config_load_env(lq_config *c, char *const *envp, char *err, size_t errlen)
{
    if (!envp)
        envp = environ;
    if (!envp)
        return 0;
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const lq_config_setting *s = &settings[i];
        size_t klen = strlen(s->env);
        for (char *const *e = envp; *e; e++) {
            if (strncmp(*e, s->env, klen) == 0 && (*e)[klen] == '=') {
                char where[96];
                snprintf(where, sizeof where, "environment %s: ", s->env);
                int rc = set_from(c, s, *e + klen + 1, LQ_CFG_SRC_ENV, err, errlen, where);
                if (rc < 0)
                    return rc;
            }
        }
    }
    return 0;
}

/* ---- flags ---- */

static int is_help(const char *a)
{
    return strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0;
}

int lq_config_load_args(lq_config *c, int argc, char **argv, char *err, size_t errlen)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a))
            continue;
        if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
            errf(err, errlen, "unexpected argument '%.64s' (options start with --)", a);
            return LQ_EINVAL;
        }
        char name[96];
        const char *eq = strchr(a, '=');
        size_t nlen = eq ? (size_t)(eq - a) : strlen(a);
        if (nlen >= sizeof name) {
            errf(err, errlen, "unknown option '%.64s'", a);
            return LQ_EINVAL;
        }
        memcpy(name, a, nlen);
        name[nlen] = '\0';
        if (strcmp(name, "--env-file") == 0) {
            if (!eq)
                i++;
            if (!eq && i >= argc) {
                errf(err, errlen, "--env-file needs a value");
                return LQ_EINVAL;
            }
            continue;
        }
        const lq_config_setting *s = NULL;
        int negated = 0;
        for (size_t k = 0; k < N_SETTINGS && !s; k++)
            if (strcmp(name, settings[k].flag) == 0)
                s = &settings[k];
        if (!s && strncmp(name, "--no-", 5) == 0) {
            for (size_t k = 0; k < N_SETTINGS && !s; k++)
                if (settings[k].type == LQ_CFG_BOOL && strcmp(name + 5, settings[k].flag + 2) == 0)
                    s = &settings[k];
            negated = s != NULL;
        }
        if (!s) {
            errf(err, errlen, "unknown option '%.64s' (see lacquer serve --help)", name);
            return LQ_EINVAL;
        }
        const char *value;
        if (negated) {
            if (eq) {
                errf(err, errlen, "%s takes no value", name);
                return LQ_EINVAL;
            }
            value = "false";
        } else if (eq) {
            value = eq + 1;
        } else if (s->type == LQ_CFG_BOOL &&
                   (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0 ||
                    parse_bool(argv[i + 1], &(int){0}) < 0)) {
            value = "true";
        } else if (i + 1 < argc) {
            value = argv[++i];
        } else {
            errf(err, errlen, "%s needs a value", name);
            return LQ_EINVAL;
        }
        char where[112];
        snprintf(where, sizeof where, "flag %s: ", name);
        int rc = set_from(c, s, value, LQ_CFG_SRC_FLAG, err, errlen, where);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- validation ---- */

static int check_bounds(const lq_config *c, const lq_config_setting *s, char *err, size_t errlen)
{
    char range[256];
    range_text(s, range, sizeof range);
    double v;
    switch (s->type) {
    case LQ_CFG_INT: v = *(const int *)cfield(c, s); break;
    case LQ_CFG_BYTES: v = (double)*(const int64_t *)cfield(c, s); break;
    case LQ_CFG_DOUBLE: v = *(const double *)cfield(c, s); break;
    case LQ_CFG_BOOL: {
        int b = *(const int *)cfield(c, s);
        if (b != 0 && b != 1) {
            errf(err, errlen, "%s (%s): not a boolean", s->name, s->env);
            return LQ_EINVAL;
        }
        return 0;
    }
    case LQ_CFG_ENUM: {
        int x = *(const int *)cfield(c, s);
        for (const lq_cfg_choice *ch = s->choices; ch->name; ch++)
            if (ch->value == x)
                return 0;
        errf(err, errlen, "%s (%s): value %d is not one of %s", s->name, s->env, x, range);
        return LQ_EINVAL;
    }
    case LQ_CFG_STRING: {
        const char *str = cfield(c, s);
        if (memchr(str, '\0', s->size) == NULL) {
            errf(err, errlen, "%s (%s): not terminated", s->name, s->env);
            return LQ_EINVAL;
        }
        return 0;
    }
    default: return 0;
    }
    if (!(v >= s->min && v <= s->max)) {
        errf(err, errlen, "%s (%s): %.15g is out of range %s", s->name, s->env, v, range);
        return LQ_EINVAL;
    }
    return 0;
}

/* A host list: comma-separated names or addresses, no spaces inside a name. */
static int valid_host_list(const char *list)
{
    for (const char *p = list; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (!(isalnum(ch) || ch == '.' || ch == '-' || ch == ':' || ch == ',' || ch == ' ' ||
              ch == '*' || ch == '[' || ch == ']' || ch == '_'))
            return 0;
    }
    return 1;
}

int lq_config_validate(const lq_config *c, char *err, size_t errlen)
{
    if (!c) {
        errf(err, errlen, "no configuration");
        return LQ_EINVAL;
    }
    for (size_t i = 0; i < N_SETTINGS; i++) {
        int rc = check_bounds(c, &settings[i], err, errlen);
        if (rc < 0)
            return rc;
    }
    if (c->model_path[0] == '\0') {
        errf(err, errlen, "model_path (MODEL_PATH): must name the models folder");
        return LQ_EINVAL;
    }
    if (c->ws_host[0] == '\0') {
        errf(err, errlen, "ws_host (WS_HOST): must not be empty (0.0.0.0 = every interface)");
        return LQ_EINVAL;
    }
    if (c->metrics_port != 0 && c->metrics_port == c->ws_port) {
        errf(err, errlen, "metrics_port (METRICS_PORT): %d is already WS_PORT; use 0 to serve "
             "/metrics on WS_PORT", c->metrics_port);
        return LQ_EINVAL;
    }
    if (c->h2c_port != 0 && (c->h2c_port == c->ws_port || c->h2c_port == c->metrics_port)) {
        errf(err, errlen, "h2c_port (H2C_PORT): %d is already WS_PORT or METRICS_PORT",
             c->h2c_port);
        return LQ_EINVAL;
    }
    if (!c->tls_cert_file[0] != !c->tls_key_file[0]) {
        errf(err, errlen, "%s: TLS needs both TLS_CERT_FILE and TLS_KEY_FILE",
             c->tls_cert_file[0] ? "tls_key_file (TLS_KEY_FILE)" : "tls_cert_file (TLS_CERT_FILE)");
        return LQ_EINVAL;
    }
    if ((uint64_t)c->max_frame_width * (uint64_t)c->max_frame_height > LQ_IMAGE_MAX_PIXELS) {
        errf(err, errlen, "max_frame_height (MAX_FRAME_HEIGHT): %dx%d is over the %u-pixel cap",
             c->max_frame_width, c->max_frame_height, LQ_IMAGE_MAX_PIXELS);
        return LQ_EINVAL;
    }
    if (!valid_host_list(c->fetch_allow_hosts)) {
        errf(err, errlen, "fetch_allow_hosts (FETCH_ALLOW_HOSTS): expected host names or "
             "addresses separated by commas");
        return LQ_EINVAL;
    }
    if (c->auth_mode == LQ_AUTH_TOKEN && !c->auth_token[0]) {
        errf(err, errlen, "auth_token (AUTH_TOKEN): AUTH_MODE=token needs the shared token");
        return LQ_EINVAL;
    }
    if (c->auth_mode == LQ_AUTH_JWT && c->auth_jwt_alg == LQ_JWT_HS256 &&
        strlen(c->auth_jwt_secret) < 32) {
        errf(err, errlen, "auth_jwt_secret (AUTH_JWT_SECRET): AUTH_MODE=jwt with HS256 needs a "
             "secret of at least 32 bytes");
        return LQ_EINVAL;
    }
    if (c->auth_mode == LQ_AUTH_JWT && c->auth_jwt_alg != LQ_JWT_HS256 &&
        !c->auth_jwt_public_key_file[0]) {
        errf(err, errlen, "auth_jwt_public_key_file (AUTH_JWT_PUBLIC_KEY_FILE): AUTH_JWT_ALG=%s "
             "needs the PEM public key file", c->auth_jwt_alg == LQ_JWT_RS256 ? "RS256" : "ES256");
        return LQ_EINVAL;
    }
    if (c->auth_mode == LQ_AUTH_JWT && !c->auth_jwt_audience[0]) {
        errf(err, errlen, "auth_jwt_audience (AUTH_JWT_AUDIENCE): must not be empty");
        return LQ_EINVAL;
    }
    if (c->auth_mode == LQ_AUTH_REDIS && !c->auth_redis_url[0]) {
        errf(err, errlen, "auth_redis_url (AUTH_REDIS_URL): AUTH_MODE=redis needs the URL");
        return LQ_EINVAL;
    }
    if (c->idle_timeout > 0 && c->ping_interval > 0 && c->ping_interval >= c->idle_timeout) {
        /* Pings do not count as activity for the idle timeout, so this is
         * legal; it only means pings never matter. Not an error. */
    }
    return 0;
}

/* ---- the whole sequence ---- */

static const char *env_lookup(char *const *envp, const char *key)
{
    size_t klen = strlen(key);
    for (char *const *e = envp; e && *e; e++)
        if (strncmp(*e, key, klen) == 0 && (*e)[klen] == '=')
            return *e + klen + 1;
    return NULL;
}

int lq_config_load(lq_config *c, int argc, char **argv, char *const *envp, char *err,
                   size_t errlen)
{
    if (!envp)
        envp = environ;
    lq_config_defaults(c);
    const char *env_file = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--env-file") == 0 && i + 1 < argc)
            env_file = argv[i + 1];
        else if (strncmp(argv[i], "--env-file=", 11) == 0)
            env_file = argv[i] + 11;
    }
    if (!env_file)
        env_file = env_lookup(envp, "LACQUER_ENV_FILE");
    int rc;
    if (env_file) {
        rc = lq_config_load_env_file(c, env_file, err, errlen);
        if (rc < 0)
            return rc;
    } else if (access(".env", R_OK) == 0) {
        rc = lq_config_load_env_file(c, ".env", err, errlen);
        if (rc < 0)
            return rc;
    }
    rc = lq_config_load_env(c, envp, err, errlen);
    if (rc < 0)
        return rc;
    rc = lq_config_load_args(c, argc, argv, err, errlen);
    if (rc < 0)
        return rc;
    return lq_config_validate(c, err, errlen);
}

static int online_cpus(int cap)
{
    int n = lq_cpus_usable();
    return n > cap ? cap : n;
}

int lq_config_inference_threads(const lq_config *c)
{
    return c->inference_threads > 0 ? c->inference_threads : online_cpus(4);
}

int lq_config_workers(const lq_config *c)
{
    return c->workers > 0 ? c->workers : online_cpus(256);
}

int lq_config_format_value(const lq_config *c, const lq_config_setting *s, char *buf, size_t len)
{
    switch (s->type) {
    case LQ_CFG_BOOL: return snprintf(buf, len, "%s", *(const int *)cfield(c, s) ? "true" : "false");
    case LQ_CFG_INT: return snprintf(buf, len, "%d", *(const int *)cfield(c, s));
    case LQ_CFG_BYTES: return snprintf(buf, len, "%lld", (long long)*(const int64_t *)cfield(c, s));
    case LQ_CFG_DOUBLE: return snprintf(buf, len, "%g", *(const double *)cfield(c, s));
    case LQ_CFG_ENUM: return snprintf(buf, len, "%s", choice_name(s->choices, *(const int *)cfield(c, s)));
    case LQ_CFG_STRING: {
        const char *str = cfield(c, s);
        if ((strstr(s->name, "token") || strstr(s->name, "secret")) && str[0])
            return snprintf(buf, len, "***");
        if (strstr(s->name, "redis_url") && strchr(str, '@'))
            return snprintf(buf, len, "redis://***@%s", strrchr(str, '@') + 1);
        return snprintf(buf, len, "%s", str);
    }
    }
    return snprintf(buf, len, "?");
}

static const char *metavar(const lq_config_setting *s)
{
    switch (s->type) {
    case LQ_CFG_BOOL: return "[BOOL]";
    case LQ_CFG_INT: return "N";
    case LQ_CFG_DOUBLE: return "SEC";
    case LQ_CFG_BYTES: return "BYTES";
    case LQ_CFG_ENUM: return "NAME";
    case LQ_CFG_STRING: return "TEXT";
    }
    return "X";
}

void lq_config_print_help(FILE *f)
{
    fprintf(f, "options (flag, environment variable, default; flags override the environment,\n"
               "which overrides the .env file, which overrides the defaults):\n");
    for (size_t i = 0; i < N_SETTINGS; i++) {
        const lq_config_setting *s = &settings[i];
        char range[256];
        range_text(s, range, sizeof range);
        char head[128];
        snprintf(head, sizeof head, "%s %s", s->flag, metavar(s));
        fprintf(f, "  %-34s %s\n", head, s->help);
        if (s->type == LQ_CFG_STRING)
            fprintf(f, "  %-34s env %s, default \"%s\"\n", "", s->env, s->def);
        else
            fprintf(f, "  %-34s env %s, default %s, %s\n", "", s->env, s->def, range);
    }
    fprintf(f, "  %-34s %s\n", "--env-file PATH",
            "read settings from this .env file (env LACQUER_ENV_FILE; default ./.env if present)");
    fprintf(f, "  %-34s %s\n", "-h, --help", "show this help and exit");
}
