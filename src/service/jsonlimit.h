/*
 * jsonlimit.h - JSON_MAX_SIZE: how much JSON a message may hold, measured
 * before it is parsed.
 *
 *   if (svc_json_weight(buf, len) > cfg.json_max_size) refuse (INVALID_MESSAGE);
 *
 * A parsed JSON document costs memory per value (a cJSON node is about 64
 * bytes), so a 10 MB message of "[1,1,1,...]" would become ~300 MB of
 * nodes: the size of the message is not a bound on the size of the tree.
 * One large string is cheap (one copy), and one large string is exactly what
 * a base64 frame carries (frame_data). So the weight of a message is its
 * length minus its single longest string literal; JSON_MAX_SIZE bounds that,
 * and WS_MAX_MESSAGE_SIZE still bounds the whole message.
 *
 * Pure and reentrant; a linear scan that allocates nothing. Escapes inside
 * strings are honoured; an unterminated string counts as ending at len.
 */
#ifndef LQ_SERVICE_JSONLIMIT_H
#define LQ_SERVICE_JSONLIMIT_H

#include <stddef.h>

size_t svc_json_weight(const char *buf, size_t len);

#endif
