/* messages.c - client side of the try-on protocol (see messages.h). */
#include "client/messages.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "service/protocol.h" /* base64, shared with the service */

#define REPLY_MAX_JSON_DEPTH 16

static const char *const stage_names[LQ_STAGE_COUNT] = {
    "queue", "decode", "palm", "landmark", "nails", "quality", "paint", "encode",
};

const char *lq_client_stage_name(int stage)
{
    return stage >= 0 && stage < LQ_STAGE_COUNT ? stage_names[stage] : "unknown";
}

int lq_client_session_id_valid(const char *id)
{
    if (!id)
        return 0;
    size_t n = 0;
    for (const char *p = id; *p; p++, n++) {
        const char c = *p;
        if (n >= LQ_CLIENT_SESSION_ID_MAX)
            return 0;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == ':' || c == '-'))
            return 0;
    }
    return n > 0;
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

char *lq_client_msg_init(const char *session_id, const char *design_json, const char *reference_url,
                         const lq_client_session_config *cfg, int64_t timestamp_ms, char *err,
                         size_t errlen)
{
    if (!lq_client_session_id_valid(session_id)) {
        set_err(err, errlen, "invalid session id (1..128 of A-Z a-z 0-9 . _ : -)");
        return NULL;
    }
    cJSON *root = cJSON_CreateObject();
    cJSON *ref = cJSON_AddObjectToObject(root, "nail_reference");
    if (!root || !ref)
        goto oom;
    cJSON_AddStringToObject(root, "type", "init_session");
    cJSON_AddStringToObject(root, "session_id", session_id);
    if (reference_url && reference_url[0])
        cJSON_AddStringToObject(ref, "url", reference_url);
    if (design_json) {
        cJSON *meta = cJSON_Parse(design_json);
        if (!meta || !cJSON_IsObject(meta)) {
            cJSON_Delete(meta);
            cJSON_Delete(root);
            set_err(err, errlen, "the design is not a JSON object");
            return NULL;
        }
        cJSON_AddItemToObject(ref, "metadata", meta);
    }
    if (cfg && (cfg->quality || cfg->output_format || cfg->output_quality || cfg->target_fps ||
                cfg->max_hands)) {
        cJSON *c = cJSON_AddObjectToObject(root, "config");
        if (!c)
            goto oom;
        if (cfg->quality)
            cJSON_AddStringToObject(c, "quality", cfg->quality);
        if (cfg->output_format)
            cJSON_AddStringToObject(c, "output_format", cfg->output_format);
        if (cfg->output_quality)
            cJSON_AddNumberToObject(c, "output_quality", cfg->output_quality);
        if (cfg->target_fps)
            cJSON_AddNumberToObject(c, "target_fps", cfg->target_fps);
        if (cfg->max_hands)
            cJSON_AddNumberToObject(c, "max_hands", cfg->max_hands);
    }
    cJSON_AddNumberToObject(root, "timestamp", (double)timestamp_ms);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!s)
        set_err(err, errlen, "out of memory");
    return s;
oom:
    cJSON_Delete(root);
    set_err(err, errlen, "out of memory");
    return NULL;
}

/* The header fields shared by the three encodings, without the closing brace. */
static int header_prefix(char *buf, size_t cap, const char *sid, int64_t seq, int64_t ts,
                         const lq_client_frame *f, int with_size)
{
    if (!lq_client_session_id_valid(sid) || !f || seq < 0)
        return LQ_EINVAL;
    int n = snprintf(buf, cap,
                     "{\"type\":\"process_frame\",\"session_id\":\"%s\",\"sequence\":%" PRId64
                     ",\"timestamp\":%" PRId64
                     ",\"frame_metadata\":{\"width\":%d,\"height\":%d,\"format\":\"%s\"",
                     sid, seq, ts, f->width, f->height, lq_format_name(f->format));
    if (n < 0 || (size_t)n >= cap)
        return LQ_ELIMIT;
    if (with_size) {
        int m = snprintf(buf + n, cap - (size_t)n, ",\"size_bytes\":%zu", f->len);
        if (m < 0 || (size_t)m >= cap - (size_t)n)
            return LQ_ELIMIT;
        n += m;
    }
    if ((size_t)n + 2 >= cap)
        return LQ_ELIMIT;
    buf[n++] = '}';
    buf[n] = 0;
    return n;
}

int lq_client_msg_frame_header(char *buf, size_t cap, const char *session_id, int64_t sequence,
                               int64_t timestamp_ms, const lq_client_frame *f)
{
    if (!buf)
        return LQ_EINVAL;
    int n = header_prefix(buf, cap, session_id, sequence, timestamp_ms, f, 1);
    if (n < 0)
        return n;
    if ((size_t)n + 2 > cap)
        return LQ_ELIMIT;
    buf[n++] = '}';
    buf[n] = 0;
    return n;
}

int lq_client_msg_frame_base64(char **buf, size_t *cap, size_t max_len, const char *session_id,
                               int64_t sequence, int64_t timestamp_ms, const lq_client_frame *f)
{
    if (!buf || !cap || !f)
        return LQ_EINVAL;
    char head[LQ_CLIENT_FRAME_HEADER_MAX];
    int n = header_prefix(head, sizeof head, session_id, sequence, timestamp_ms, f, 0);
    if (n < 0)
        return n;
    static const char mid[] = ",\"frame_data\":\"";
    const size_t b64 = ws_base64_encoded_len(f->len);
    const size_t total = (size_t)n + sizeof mid - 1 + b64 + 2;
    if (total > max_len || total >= (size_t)1 << 31)
        return LQ_ELIMIT;
    if (*cap < total + 1) {
        char *nb = realloc(*buf, total + 1);
        if (!nb)
            return LQ_ENOMEM;
        *buf = nb;
        *cap = total + 1;
    }
    char *p = *buf;
    memcpy(p, head, (size_t)n);
    p += n;
    memcpy(p, mid, sizeof mid - 1);
    p += sizeof mid - 1;
    ws_base64_encode(f->data, f->len, p);
    p += b64;
    *p++ = '"';
    *p++ = '}';
    *p = 0;
    return (int)total;
}

int lq_client_msg_close(char *buf, size_t cap, const char *session_id, const char *reason,
                        int64_t timestamp_ms)
{
    if (!buf || !lq_client_session_id_valid(session_id))
        return LQ_EINVAL;
    if (reason) {
        if (strlen(reason) > 64)
            return LQ_EINVAL;
        for (const char *p = reason; *p; p++)
            if (*p == '"' || *p == '\\' || (unsigned char)*p < 0x20)
                return LQ_EINVAL;
    }
    int n = snprintf(buf, cap,
                     "{\"type\":\"close_session\",\"session_id\":\"%s\",\"reason\":\"%s\","
                     "\"timestamp\":%" PRId64 "}",
                     session_id, reason ? reason : "client_done", timestamp_ms);
    return n < 0 || (size_t)n >= cap ? LQ_ELIMIT : n;
}

int lq_client_msg_stats(char *buf, size_t cap, const char *session_id)
{
    if (!buf || !lq_client_session_id_valid(session_id))
        return LQ_EINVAL;
    int n = snprintf(buf, cap, "{\"type\":\"stats\",\"session_id\":\"%s\"}", session_id);
    return n < 0 || (size_t)n >= cap ? LQ_ELIMIT : n;
}

/* ---- replies ---- */

static double num(const cJSON *o, const char *key, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

static void str(const cJSON *o, const char *key, char *dst, size_t cap)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (cJSON_IsString(v) && v->valuestring)
        snprintf(dst, cap, "%s", v->valuestring);
}

static int depth_ok(const cJSON *o, int depth)
{
    if (depth > REPLY_MAX_JSON_DEPTH)
        return 0;
    for (const cJSON *c = o ? o->child : NULL; c; c = c->next)
        if ((cJSON_IsObject(c) || cJSON_IsArray(c)) && !depth_ok(c, depth + 1))
            return 0;
    return 1;
}

static void reply_clear(lq_client_reply *r)
{
    memset(r, 0, sizeof *r);
    r->processing_ms = -1;
    for (int i = 0; i < LQ_STAGE_COUNT; i++)
        r->stage_ms[i] = -1;
    r->size_bytes = -1;
    r->hands = -1;
    r->frames_received = r->frames_processed = r->frames_dropped = r->frames_with_errors = -1;
    r->avg_processing_ms = r->p95_processing_ms = -1;
}

static void fill_processed(const cJSON *root, lq_client_reply *r)
{
    r->processing_ms = num(root, "processing_time_ms", -1);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "timings_ms");
    for (int i = 0; i < LQ_STAGE_COUNT; i++)
        r->stage_ms[i] = num(t, stage_names[i], -1);
    const cJSON *fm = cJSON_GetObjectItemCaseSensitive(root, "frame_metadata");
    r->width = (int)num(fm, "width", 0);
    r->height = (int)num(fm, "height", 0);
    str(fm, "format", r->format, sizeof r->format);
    r->size_bytes = (int64_t)num(fm, "size_bytes", -1);
    const cJSON *di = cJSON_GetObjectItemCaseSensitive(root, "detection_info");
    r->hands = (int)num(di, "hands_detected", -1);
}

static int fill(const cJSON *root, lq_client_reply *r)
{
    if (!cJSON_IsObject(root) || !depth_ok(root, 1))
        return LQ_EFORMAT;
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!cJSON_IsString(type) || !type->valuestring)
        return LQ_EFORMAT;
    const char *t = type->valuestring;
    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(root, "sequence");
    if (cJSON_IsNumber(seq) && seq->valuedouble >= 0 && seq->valuedouble <= 9007199254740992.0) {
        r->has_sequence = 1;
        r->sequence = (int64_t)seq->valuedouble;
    }
    if (strcmp(t, "processed_frame") == 0) {
        r->type = LQ_REPLY_PROCESSED_FRAME;
        fill_processed(root, r);
    } else if (strcmp(t, "error") == 0) {
        r->type = LQ_REPLY_ERROR;
        str(root, "code", r->code, sizeof r->code);
        str(root, "message", r->message, sizeof r->message);
        r->recoverable = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "recoverable"));
        if (!r->code[0])
            snprintf(r->code, sizeof r->code, "UNKNOWN");
    } else if (strcmp(t, "stats") == 0) {
        r->type = LQ_REPLY_STATS;
        r->frames_received = (int64_t)num(root, "frames_received", -1);
        r->frames_processed = (int64_t)num(root, "frames_processed", -1);
        r->frames_dropped = (int64_t)num(root, "frames_dropped", -1);
        r->frames_with_errors = (int64_t)num(root, "frames_with_errors", -1);
        r->avg_processing_ms = num(root, "avg_processing_time_ms", -1);
        r->p95_processing_ms = num(root, "p95_processing_time_ms", -1);
    } else if (strcmp(t, "session_ready") == 0) {
        r->type = LQ_REPLY_SESSION_READY;
        str(root, "status", r->status, sizeof r->status);
        str(root, "reference", r->reason, sizeof r->reason);
    } else if (strcmp(t, "session_closed") == 0) {
        r->type = LQ_REPLY_SESSION_CLOSED;
        str(root, "reason", r->reason, sizeof r->reason);
    } else if (strcmp(t, "close_session") == 0) {
        r->type = LQ_REPLY_CLOSE_SESSION;
        str(root, "reason", r->reason, sizeof r->reason);
    } else {
        r->type = LQ_REPLY_OTHER;
    }
    return 0;
}

int lq_client_reply_parse(const char *json, size_t len, lq_client_reply *out, uint8_t **img,
                          size_t *img_cap, size_t *img_len, size_t max_img)
{
    if (!json || !out)
        return LQ_EINVAL;
    reply_clear(out);
    if (img_len)
        *img_len = 0;
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root)
        return LQ_EFORMAT;
    lq_client_reply r;
    reply_clear(&r);
    int rc = fill(root, &r);
    const cJSON *fd = cJSON_GetObjectItemCaseSensitive(root, "frame_data");
    if (rc == 0 && img && img_cap && img_len && cJSON_IsString(fd) && fd->valuestring) {
        const size_t slen = strlen(fd->valuestring);
        const size_t need = ws_base64_decoded_max(slen);
        if (need > max_img + 3) {
            rc = LQ_ELIMIT;
        } else {
            if (*img_cap < need) {
                uint8_t *nb = realloc(*img, need ? need : 1);
                if (!nb)
                    rc = LQ_ENOMEM;
                else
                    *img = nb, *img_cap = need;
            }
            size_t n = 0;
            if (rc == 0 && ws_base64_decode(fd->valuestring, slen, *img, *img_cap, &n) < 0)
                rc = LQ_EFORMAT;
            if (rc == 0 && n > max_img)
                rc = LQ_ELIMIT;
            if (rc == 0)
                *img_len = n;
        }
    }
    cJSON_Delete(root);
    if (rc == 0)
        *out = r;
    return rc;
}

int lq_client_reply_parse_binary(const uint8_t *data, size_t len, lq_client_reply *out,
                                 const uint8_t **img, size_t *img_len)
{
    if (!data || !out || !img || !img_len)
        return LQ_EINVAL;
    reply_clear(out);
    if (len < LQ_CLIENT_HEADER_SIZE)
        return LQ_EFORMAT;
    size_t n = LQ_CLIENT_HEADER_SIZE;
    while (n > 0 && (data[n - 1] == ' ' || data[n - 1] == 0))
        n--;
    int rc = lq_client_reply_parse((const char *)data, n, out, NULL, NULL, NULL, 0);
    if (rc < 0)
        return rc;
    *img = data + LQ_CLIENT_HEADER_SIZE;
    *img_len = len - LQ_CLIENT_HEADER_SIZE;
    return 0;
}
