/* logsink.c - the service's log sink: stdout + LOG_FILE (see logsink.h). */
#include "service/logsink.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"

struct svc_logsink {
    FILE *file;
    int json;
};

static void sink(void *ud, enum lq_log_level level, const char *tag, const char *fields,
                 const char *msg)
{
    svc_logsink *ls = ud;
    if (ls->json) {
        lq_log_sink_json(stdout, level, tag, fields, msg);
        if (ls->file)
            lq_log_sink_json(ls->file, level, tag, fields, msg);
    } else {
        lq_log_sink_text(stdout, level, tag, fields, msg);
        fflush(stdout);
        if (ls->file) {
            lq_log_sink_text(ls->file, level, tag, fields, msg);
            fflush(ls->file);
        }
    }
}

int svc_logsink_open(const lq_config *cfg, svc_logsink **out, char *err, size_t errlen)
{
    svc_logsink *ls = calloc(1, sizeof *ls);
    if (!ls)
        return LQ_ENOMEM;
    ls->json = cfg->log_format == LQ_LOG_FORMAT_JSON;
    if (cfg->log_file[0]) {
        ls->file = fopen(cfg->log_file, "a");
        if (!ls->file) {
            snprintf(err, errlen, "log_file (LOG_FILE): cannot open %s: %s", cfg->log_file,
                     strerror(errno));
            free(ls);
            return LQ_EIO;
        }
    }
    lq_log_set_level((enum lq_log_level)cfg->log_level);
    lq_log_set_sink(sink, ls);
    *out = ls;
    return 0;
}

void svc_logsink_close(svc_logsink *ls)
{
    if (!ls)
        return;
    lq_log_set_sink(NULL, NULL);
    if (ls->file)
        fclose(ls->file);
    free(ls);
}
