#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int lq__log_threshold = LQ_LOG_INFO;

static lq_log_sink_fn g_sink = lq_log_sink_text;
static void *g_sink_ud = NULL;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void lq_log_set_level(enum lq_log_level level)
{
    lq__log_threshold = (int)level;
}

const char *lq_log_level_name(enum lq_log_level level)
{
    if ((int)level < 0 || (int)level > LQ_LOG_OFF)
        return "unknown";
    return level_names[level];
}

int lq_log_level_parse(const char *s, enum lq_log_level *out)
{
    if (!s)
        return LQ_EINVAL;
    for (int i = 0; i <= LQ_LOG_OFF; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum lq_log_level)i;
            return 0;
        }
    }
    if (strcasecmp(s, "warning") == 0) {
        *out = LQ_LOG_WARN;
        return 0;
    }
    if (strcasecmp(s, "critical") == 0) {
        *out = LQ_LOG_ERROR;
        return 0;
    }
    return LQ_EINVAL;
}

void lq_log_set_sink(lq_log_sink_fn fn, void *ud)
{
    g_sink = fn ? fn : lq_log_sink_text;
    g_sink_ud = fn ? ud : NULL;
}

void lq_log_sink_text(void *ud, enum lq_log_level level, const char *tag,
                      const char *fields, const char *msg)
{
    FILE *f = ud ? (FILE *)ud : stderr;
    if (fields && *fields)
        fprintf(f, "%-5s %s: %s {%s}\n", lq_log_level_name(level), tag, msg, fields);
    else
        fprintf(f, "%-5s %s: %s\n", lq_log_level_name(level), tag, msg);
}

/* Appends s to buf as a JSON string body, escaping as needed. */
static size_t json_escape(char *buf, size_t cap, size_t pos, const char *s)
{
    for (; *s && pos + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[pos++] = '\\';
            buf[pos++] = (char)c;
        } else if (c < 0x20) {
            pos += (size_t)snprintf(buf + pos, cap - pos, "\\u%04x", c);
        } else {
            buf[pos++] = (char)c;
        }
    }
    buf[pos] = '\0';
    return pos;
}

void lq_log_sink_json(void *ud, enum lq_log_level level, const char *tag,
                      const char *fields, const char *msg)
{
    FILE *f = ud ? (FILE *)ud : stdout;
    char line[LQ_LOG_LINE_MAX * 2 + 256];
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t pos = (size_t)snprintf(line, sizeof line,
                                  "{\"ts\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\","
                                  "\"level\":\"%s\",\"module\":\"",
                                  tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                                  tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000L,
                                  lq_log_level_name(level));
    pos = json_escape(line, sizeof line, pos, tag);
    pos += (size_t)snprintf(line + pos, sizeof line - pos, "\",\"msg\":\"");
    pos = json_escape(line, sizeof line, pos, msg);
    if (fields && *fields && pos + strlen(fields) + 8 < sizeof line)
        pos += (size_t)snprintf(line + pos, sizeof line - pos, "\",%s}\n", fields);
    else
        pos += (size_t)snprintf(line + pos, sizeof line - pos, "\"}\n");
    fputs(line, f);
    fflush(f);
}

void lq__log_write(enum lq_log_level level, const char *tag, const char *fields,
                   const char *fmt, ...)
{
    char msg[LQ_LOG_LINE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    g_sink(g_sink_ud, level, tag, fields, msg);
}
