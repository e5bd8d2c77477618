/*
 * logsink.h - where `lacquer serve` writes its log: stdout and LOG_FILE.
 *
 *   svc_logsink *ls;
 *   if (svc_logsink_open(&cfg, &ls, err, sizeof err) < 0) ...;   // installs the sink
 *   ...
 *   svc_logsink_close(ls);                                       // restores stderr text
 *
 * With LOG_FORMAT=json every line is one JSON object: ts, level, module, msg
 * and the structured fields of the call (session_id, sequence, timings...).
 * The same line goes to stdout and, when LOG_FILE is set, is appended to
 * that file. LOG_LEVEL sets the threshold. Writing is thread-safe: each line
 * is written with one stdio call per stream (stdio locks the stream).
 */
#ifndef LQ_SERVICE_LOGSINK_H
#define LQ_SERVICE_LOGSINK_H

#include <stddef.h>

#include "base/config.h"
#include "base/error.h"

typedef struct svc_logsink svc_logsink;

/* Opens LOG_FILE (append) if set and installs the sink. LQ_EIO with err
 * naming the file when it cannot be opened. */
int svc_logsink_open(const lq_config *cfg, svc_logsink **out, char *err,
                     size_t errlen) LQ_NODISCARD;

/* Restores the default sink and closes LOG_FILE. NULL ok. */
void svc_logsink_close(svc_logsink *ls);

#endif
