/*
 * log.h - level-checked logging with a module tag and a replaceable sink.
 *
 *   LQ_INFO("tfl", "loaded %s: %d tensors", path, n);
 *
 * The level is checked before the message is formatted, so a disabled DEBUG
 * line costs one comparison. The sink is process-wide configuration (set once
 * at start-up, before threads start); writing a line is thread-safe: each
 * line is formatted into a stack buffer and handed to the sink in one call.
 * Lines longer than LQ_LOG_LINE_MAX are truncated.
 */
#ifndef LQ_BASE_LOG_H
#define LQ_BASE_LOG_H

#include "base/error.h"

#define LQ_LOG_LINE_MAX 2048

enum lq_log_level {
    LQ_LOG_DEBUG = 0,
    LQ_LOG_INFO = 1,
    LQ_LOG_WARN = 2,
    LQ_LOG_ERROR = 3,
    LQ_LOG_OFF = 4,
};

/*
 * A sink receives one complete message (no trailing newline). `fields` is an
 * optional JSON object body without braces ("\"session_id\":\"x\",\"seq\":3")
 * or NULL. Called from any thread; must be thread-safe.
 */
typedef void (*lq_log_sink_fn)(void *ud, enum lq_log_level level, const char *tag,
                               const char *fields, const char *msg);

/* Current threshold; messages below it are dropped before formatting. */
extern int lq__log_threshold;

void lq_log_set_level(enum lq_log_level level);

/* Parses "debug", "info", "warn"/"warning", "error", "off" (any case). */
int lq_log_level_parse(const char *s, enum lq_log_level *out) LQ_NODISCARD;
const char *lq_log_level_name(enum lq_log_level level);

/* Replace the sink (NULL restores the default text sink on stderr). */
void lq_log_set_sink(lq_log_sink_fn fn, void *ud);

/* Built-in sinks. The JSON sink writes one object per line to the FILE* in ud
 * (stdout if NULL); the text sink writes "LEVEL tag: msg" lines. */
void lq_log_sink_text(void *ud, enum lq_log_level level, const char *tag,
                      const char *fields, const char *msg);
void lq_log_sink_json(void *ud, enum lq_log_level level, const char *tag,
                      const char *fields, const char *msg);

void lq__log_write(enum lq_log_level level, const char *tag, const char *fields,
                   const char *fmt, ...) LQ_PRINTF(4, 5);

#define LQ_LOGF(level, tag, fields, ...)                                       \
    do {                                                                       \
        if ((int)(level) >= lq__log_threshold)                                 \
            lq__log_write((level), (tag), (fields), __VA_ARGS__);              \
    } while (0)

#define LQ_DEBUG(tag, ...) LQ_LOGF(LQ_LOG_DEBUG, tag, NULL, __VA_ARGS__)
#define LQ_INFO(tag, ...) LQ_LOGF(LQ_LOG_INFO, tag, NULL, __VA_ARGS__)
#define LQ_WARN(tag, ...) LQ_LOGF(LQ_LOG_WARN, tag, NULL, __VA_ARGS__)
#define LQ_ERROR(tag, ...) LQ_LOGF(LQ_LOG_ERROR, tag, NULL, __VA_ARGS__)

#endif
