/* protocol.c - request parsing and reply building (see protocol.h, docs/protocol.md). */
#include "service/protocol.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "image/codec.h"
#include "tryon/tryon_json.h"

/* ---- error table ---- */

static const struct {
    const char *name;
    int recoverable;
    const char *message;
    const char *suggestion;
} error_table[] = {
#define WS__ERR_ROW(name, rec, msg, sugg) {#name, rec, msg, sugg},
    WS_ERROR_MAP(WS__ERR_ROW)
#undef WS__ERR_ROW
};

static int code_ok(ws_error_code c)
{
    return (int)c >= 0 && c < WS_ERR_COUNT;
}

const char *ws_error_name(ws_error_code code)
{
    return code_ok(code) ? error_table[code].name : "UNKNOWN";
}

int ws_error_recoverable(ws_error_code code)
{
    return code_ok(code) ? error_table[code].recoverable : 0;
}

const char *ws_error_message(ws_error_code code)
{
    return code_ok(code) ? error_table[code].message : "error";
}

const char *ws_error_suggestion(ws_error_code code)
{
    return code_ok(code) ? error_table[code].suggestion : "";
}

const char *ws_encoding_name(ws_encoding e)
{
    switch (e) {
    case WS_ENC_SPLIT: return "split";
    case WS_ENC_HEADER: return "header";
    case WS_ENC_BASE64: return "base64";
    }
    return "unknown";
}

static const char *const quality_names[] = {"low", "balanced", "high"};
static const char *const segmentation_names[] = {"off", "always", "untracked"};

const char *ws_quality_name(ws_quality q)
{
    return (int)q >= 0 && q <= WS_QUALITY_HIGH ? quality_names[q] : "unknown";
}

lq_model_variant ws_quality_variant(ws_quality q)
{
    return q == WS_QUALITY_LOW ? LQ_MODEL_LITE : LQ_MODEL_FULL;
}

int ws_quality_effort(ws_quality q)
{
    /* WebP method / PNG zlib effort. Measured on palm_reach frames (640x480,
     * q75, one thread): method 0 3.2 ms, method 1 4.4 ms (9% smaller files),
     * method 2 6.0 ms; method 3 and up add rate-distortion passes costing
     * 40 ms and more, too slow for live video. Balanced takes method 0: the
     * millisecond matters more on a live stream than the 9%. */
    switch (q) {
    case WS_QUALITY_LOW: return 0;
    case WS_QUALITY_BALANCED: return 0;
    case WS_QUALITY_HIGH: return 2;
    }
    return 0;
}

/* ---- small helpers ---- */

static int fail(ws_error *e, ws_error_code code, const char *fmt, ...) LQ_PRINTF(3, 4);

static int fail(ws_error *e, ws_error_code code, const char *fmt, ...)
{
    e->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof e->message, fmt, ap);
    va_end(ap);
    return LQ_EFORMAT;
}

int ws_json_depth_ok(const char *buf, size_t len, int max_depth)
{
    int depth = 0, in_str = 0;
    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_str) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
        } else if (c == '{' || c == '[') {
            if (++depth > max_depth)
                return 0;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return 1;
}

int ws_session_id_valid(const char *id, size_t len)
{
    if (len == 0 || len > WS_SESSION_ID_MAX)
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)id[i];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || c == '.' || c == ':';
        if (!ok)
            return 0;
    }
    return 1;
}

static size_t skip_space(const uint8_t *b, size_t i, size_t n)
{
    while (i < n && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n'))
        i++;
    return i;
}

/* A top-level value of the peeked object at b[i..n): session_id or sequence. */
static void peek_value(const uint8_t *b, size_t i, size_t n, const uint8_t *key, size_t klen,
                       char *sid, int *has_seq, int64_t *seq)
{
    if (klen == 10 && memcmp(key, "session_id", 10) == 0 && i < n && b[i] == '"') {
        size_t j = i + 1;
        while (j < n && b[j] != '"' && b[j] != '\\')
            j++;
        if (j < n && b[j] == '"' && ws_session_id_valid((const char *)b + i + 1, j - i - 1)) {
            memcpy(sid, b + i + 1, j - i - 1);
            sid[j - i - 1] = '\0';
        }
    } else if (klen == 8 && memcmp(key, "sequence", 8) == 0) {
        int64_t v = 0;
        size_t j = i;
        while (j < n && j - i < 17 && b[j] >= '0' && b[j] <= '9')
            v = v * 10 + (b[j++] - '0');
        int ends = j < n && b[j] != '.' && b[j] != 'e' && b[j] != 'E' && (b[j] < '0' || b[j] > '9');
        if (j > i && ends && v <= (int64_t)1 << 53) {
            *seq = v;
            *has_seq = 1;
        }
    }
}

int ws_peek_ids(const uint8_t *head, size_t len, char *sid, int *has_seq, int64_t *seq)
{
    sid[0] = '\0';
    *has_seq = 0;
    *seq = 0;
    size_t n = len < WS_HEADER_SIZE ? len : WS_HEADER_SIZE;
    int depth = 0;
    for (size_t i = 0; head && i < n; i++) {
        uint8_t c = head[i];
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            depth--;
        } else if (c == '"') {
            size_t j = i + 1;
            while (j < n && head[j] != '"')
                j += head[j] == '\\' ? 2 : 1;
            if (j >= n)
                break; /* cut off inside a string */
            size_t k = skip_space(head, j + 1, n);
            if (depth == 1 && k < n && head[k] == ':')
                peek_value(head, skip_space(head, k + 1, n), n, head + i + 1, j - i - 1, sid,
                           has_seq, seq);
            i = j;
        }
    }
    return sid[0] != '\0';
}

/* An integer-valued JSON number within [lo, hi]. */
static int get_int(const cJSON *v, double lo, double hi, int64_t *out)
{
    if (!cJSON_IsNumber(v))
        return 0;
    double d = v->valuedouble;
    if (!isfinite(d) || d != floor(d) || d < lo || d > hi)
        return 0;
    *out = (int64_t)d;
    return 1;
}

#define MAX_SAFE_INT 9007199254740992.0

static int format_from_name(const char *name)
{
    lq_format f = lq_format_parse(name);
    return (int)f;
}

/* ---- session config ---- */

int ws_parse_session_config(const cJSON *config, const ws_limits *lim, ws_session_config *out,
                            ws_error *e)
{
    ws_session_config c = {
        .target_fps = lim->default_fps,
        .quality = WS_QUALITY_BALANCED,
        .output_format = LQ_FMT_WEBP,
        .output_quality = 75,
        .max_hands = lim->max_hands,
        .smoothing = 1,
        .overlay = 1,
        .segmentation = lim->segmentation,
        .outline = lim->outline != 0,
        .unknown_keys = 0,
    };
    if (config && !cJSON_IsNull(config)) {
        if (!cJSON_IsObject(config))
            return fail(e, WS_ERR_INVALID_CONFIG, "config must be an object");
        const cJSON *it;
        cJSON_ArrayForEach(it, config)
        {
            const char *k = it->string;
            int64_t x;
            if (strcmp(k, "target_fps") == 0) {
                if (!get_int(it, 1, lim->max_fps, &x))
                    return fail(e, WS_ERR_INVALID_CONFIG,
                                "config.target_fps must be an integer in 1..%d", lim->max_fps);
                c.target_fps = (int)x;
            } else if (strcmp(k, "quality") == 0) {
                int found = -1;
                if (cJSON_IsString(it))
                    for (int q = 0; q <= WS_QUALITY_HIGH; q++)
                        if (strcasecmp(it->valuestring, quality_names[q]) == 0)
                            found = q;
                if (found < 0)
                    return fail(e, WS_ERR_INVALID_CONFIG,
                                "config.quality must be one of low, balanced, high");
                c.quality = (ws_quality)found;
            } else if (strcmp(k, "output_format") == 0) {
                int f = cJSON_IsString(it) ? format_from_name(it->valuestring) : LQ_FMT_UNKNOWN;
                if (f == LQ_FMT_UNKNOWN)
                    return fail(e, WS_ERR_INVALID_CONFIG,
                                "config.output_format must be one of webp, jpeg, png");
                c.output_format = f;
            } else if (strcmp(k, "output_quality") == 0) {
                if (!get_int(it, 1, 100, &x))
                    return fail(e, WS_ERR_INVALID_CONFIG,
                                "config.output_quality must be an integer in 1..100");
                c.output_quality = (int)x;
            } else if (strcmp(k, "max_hands") == 0) {
                if (!get_int(it, 1, lim->max_hands, &x))
                    return fail(e, WS_ERR_INVALID_CONFIG,
                                "config.max_hands must be an integer in 1..%d", lim->max_hands);
                c.max_hands = (int)x;
            } else if (strcmp(k, "segmentation") == 0) {
                int found = -1;
                if (cJSON_IsString(it))
                    for (int m = 0; m < 3; m++)
                        if (strcmp(it->valuestring, segmentation_names[m]) == 0)
                            found = m;
                if (found < 0)
                    return fail(e, WS_ERR_INVALID_CONFIG,
                                "config.segmentation must be one of off, always, untracked");
                c.segmentation = found;
            } else if (strcmp(k, "smoothing") == 0 || strcmp(k, "overlay") == 0 ||
                       strcmp(k, "outline") == 0) {
                if (!cJSON_IsBool(it))
                    return fail(e, WS_ERR_INVALID_CONFIG, "config.%s must be true or false", k);
                *(strcmp(k, "smoothing") == 0 ? &c.smoothing
                  : strcmp(k, "overlay") == 0 ? &c.overlay
                                              : &c.outline) = cJSON_IsTrue(it);
            } else {
                c.unknown_keys++;
            }
        }
    }
    *out = c;
    return 0;
}

/* ---- requests ---- */

static int parse_type(const cJSON *root, ws_msg_type *t, ws_error *e)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(root, "type");
    if (!type)
        return fail(e, WS_ERR_INVALID_MESSAGE, "missing field 'type'");
    if (!cJSON_IsString(type))
        return fail(e, WS_ERR_INVALID_MESSAGE, "field 'type' must be a string");
    static const struct {
        const char *name;
        ws_msg_type t;
    } types[] = {{"init_session", WS_MSG_INIT_SESSION},
                 {"process_frame", WS_MSG_PROCESS_FRAME},
                 {"close_session", WS_MSG_CLOSE_SESSION},
                 {"stats", WS_MSG_STATS}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        if (strcmp(type->valuestring, types[i].name) == 0) {
            *t = types[i].t;
            return 0;
        }
    }
    return fail(e, WS_ERR_INVALID_MESSAGE,
                "unknown message type '%.48s' (expected init_session, process_frame, "
                "close_session or stats)",
                type->valuestring);
}

static int parse_common(const cJSON *root, ws_request *rq, ws_error *e)
{
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(root, "session_id");
    if (!sid)
        return fail(e, WS_ERR_INVALID_MESSAGE, "missing field 'session_id'");
    if (!cJSON_IsString(sid) || !ws_session_id_valid(sid->valuestring, strlen(sid->valuestring)))
        return fail(e, WS_ERR_INVALID_MESSAGE,
                    "session_id must be a string of 1..%d characters from A-Z a-z 0-9 . _ : -",
                    WS_SESSION_ID_MAX);
    snprintf(rq->session_id, sizeof rq->session_id, "%s", sid->valuestring);
    snprintf(e->session_id, sizeof e->session_id, "%s", sid->valuestring);

    const cJSON *seq = cJSON_GetObjectItemCaseSensitive(root, "sequence");
    if (seq && !cJSON_IsNull(seq)) {
        if (!get_int(seq, 0, MAX_SAFE_INT, &rq->sequence))
            return fail(e, WS_ERR_INVALID_MESSAGE, "sequence must be an integer in 0..2^53");
        rq->has_sequence = 1;
        e->has_sequence = 1;
        e->sequence = rq->sequence;
    }
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(root, "timestamp");
    if (ts && !cJSON_IsNull(ts)) {
        if (!cJSON_IsNumber(ts) || !isfinite(ts->valuedouble) || ts->valuedouble < 0 ||
            ts->valuedouble > MAX_SAFE_INT)
            return fail(e, WS_ERR_INVALID_MESSAGE, "timestamp must be epoch milliseconds");
        rq->timestamp = (int64_t)ts->valuedouble;
        rq->has_timestamp = 1;
    }
    return 0;
}

static int parse_frame_metadata(const cJSON *root, const ws_limits *lim, ws_request *rq,
                                ws_error *e)
{
    rq->declared_format = LQ_FMT_UNKNOWN;
    rq->declared_size = -1;
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(root, "frame_metadata");
    if (!md || cJSON_IsNull(md))
        return 0;
    if (!cJSON_IsObject(md))
        return fail(e, WS_ERR_INVALID_MESSAGE, "frame_metadata must be an object");
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(md, "format");
    if (fmt && !cJSON_IsNull(fmt)) {
        int f = cJSON_IsString(fmt) ? format_from_name(fmt->valuestring) : LQ_FMT_UNKNOWN;
        if (f == LQ_FMT_UNKNOWN)
            return fail(e, WS_ERR_UNSUPPORTED_FORMAT,
                        "frame_metadata.format '%.32s' is not one of webp, jpeg, png",
                        cJSON_IsString(fmt) ? fmt->valuestring : "?");
        rq->declared_format = f;
    }
    int64_t w = 0, h = 0, size = -1;
    const cJSON *jw = cJSON_GetObjectItemCaseSensitive(md, "width");
    const cJSON *jh = cJSON_GetObjectItemCaseSensitive(md, "height");
    const cJSON *js = cJSON_GetObjectItemCaseSensitive(md, "size_bytes");
    if (jw && !cJSON_IsNull(jw) && !get_int(jw, 1, MAX_SAFE_INT, &w))
        return fail(e, WS_ERR_INVALID_MESSAGE, "frame_metadata.width must be a positive integer");
    if (jh && !cJSON_IsNull(jh) && !get_int(jh, 1, MAX_SAFE_INT, &h))
        return fail(e, WS_ERR_INVALID_MESSAGE, "frame_metadata.height must be a positive integer");
    if (js && !cJSON_IsNull(js) && !get_int(js, 0, MAX_SAFE_INT, &size))
        return fail(e, WS_ERR_INVALID_MESSAGE, "frame_metadata.size_bytes must be an integer");
    int big = lim->max_width > lim->max_height ? lim->max_width : lim->max_height;
    int small = lim->max_width > lim->max_height ? lim->max_height : lim->max_width;
    if (w && h) {
        int64_t lo = w < h ? w : h, hi = w < h ? h : w;
        if (hi > big || lo > small)
            return fail(e, WS_ERR_FRAME_TOO_LARGE, "frame is %lldx%lld; the limit is %dx%d",
                        (long long)w, (long long)h, lim->max_width, lim->max_height);
    } else if (w > big || h > big) {
        return fail(e, WS_ERR_FRAME_TOO_LARGE, "frame is %lldx%lld; the limit is %dx%d",
                    (long long)w, (long long)h, lim->max_width, lim->max_height);
    }
    if (size > (int64_t)lim->max_frame_bytes)
        return fail(e, WS_ERR_FRAME_TOO_LARGE, "frame_metadata.size_bytes %lld is over %zu",
                    (long long)size, lim->max_frame_bytes);
    rq->declared_width = (int)w;
    rq->declared_height = (int)h;
    rq->declared_size = size;
    return 0;
}

static int parse_init(const cJSON *root, const ws_limits *lim, ws_request *rq, ws_error *e)
{
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(root, "nail_reference");
    if (!ref)
        return fail(e, WS_ERR_INVALID_MESSAGE, "init_session needs 'nail_reference'");
    if (!cJSON_IsObject(ref))
        return fail(e, WS_ERR_INVALID_MESSAGE, "nail_reference must be an object");
    const cJSON *url = cJSON_GetObjectItemCaseSensitive(ref, "url");
    if (url && !cJSON_IsNull(url)) {
        if (!cJSON_IsString(url))
            return fail(e, WS_ERR_INVALID_MESSAGE, "nail_reference.url must be a string");
        size_t n = strlen(url->valuestring);
        if (n > WS_URL_MAX)
            return fail(e, WS_ERR_INVALID_MESSAGE, "nail_reference.url is longer than %d bytes",
                        WS_URL_MAX);
        if (n > 0 && strncasecmp(url->valuestring, "http://", 7) != 0 &&
            strncasecmp(url->valuestring, "https://", 8) != 0)
            return fail(e, WS_ERR_INVALID_MESSAGE, "nail_reference.url must be http or https");
        memcpy(rq->reference_url, url->valuestring, n + 1);
    }
    const cJSON *post = cJSON_GetObjectItemCaseSensitive(ref, "post_id");
    if (post && !cJSON_IsNull(post)) {
        int64_t x;
        if (get_int(post, -MAX_SAFE_INT, MAX_SAFE_INT, &x))
            snprintf(rq->post_id, sizeof rq->post_id, "%lld", (long long)x);
        else if (cJSON_IsString(post) && strlen(post->valuestring) < sizeof rq->post_id)
            snprintf(rq->post_id, sizeof rq->post_id, "%s", post->valuestring);
        else
            return fail(e, WS_ERR_INVALID_MESSAGE,
                        "nail_reference.post_id must be an integer or a short string");
    }
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(ref, "metadata");
    if (md && !cJSON_IsNull(md)) {
        if (!cJSON_IsObject(md))
            return fail(e, WS_ERR_INVALID_DESIGN, "nail_reference.metadata must be an object");
        rq->metadata = md;
    }
    return ws_parse_session_config(cJSON_GetObjectItemCaseSensitive(root, "config"), lim,
                                   &rq->config, e);
}

static int parse_close(const cJSON *root, ws_request *rq, ws_error *e)
{
    const cJSON *reason = cJSON_GetObjectItemCaseSensitive(root, "reason");
    const char *r = "user_disconnected";
    if (reason && !cJSON_IsNull(reason)) {
        if (!cJSON_IsString(reason) || strlen(reason->valuestring) > WS_REASON_MAX)
            return fail(e, WS_ERR_INVALID_MESSAGE, "reason must be a string of at most %d bytes",
                        WS_REASON_MAX);
        r = reason->valuestring;
    }
    snprintf(rq->reason, sizeof rq->reason, "%s", r);
    return 0;
}

/* Parses one JSON object (already depth-checked) into rq. */
static int parse_object(const char *buf, size_t len, const ws_limits *lim, ws_request *rq,
                        ws_error *e, int from_header)
{
    if (!ws_json_depth_ok(buf, len, WS_JSON_MAX_DEPTH))
        return fail(e, WS_ERR_INVALID_MESSAGE, "JSON nested deeper than %d levels",
                    WS_JSON_MAX_DEPTH);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
    if (!root)
        return fail(e, WS_ERR_INVALID_MESSAGE, "invalid JSON near byte %ld",
                    end && end >= buf ? (long)(end - buf) : 0L);
    rq->json = root;
    for (const char *p = end; p && p < buf + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n' && *p != '\0')
            return fail(e, WS_ERR_INVALID_MESSAGE, "unexpected data after the JSON object");
    }
    if (!cJSON_IsObject(root))
        return fail(e, WS_ERR_INVALID_MESSAGE, "message must be a JSON object");
    /* Remember a valid session id and sequence first, so that whatever
     * fails next, the error reply can name them. */
    const cJSON *sid = cJSON_GetObjectItemCaseSensitive(root, "session_id");
    if (cJSON_IsString(sid) && ws_session_id_valid(sid->valuestring, strlen(sid->valuestring)))
        snprintf(e->session_id, sizeof e->session_id, "%s", sid->valuestring);
    int64_t seq;
    if (get_int(cJSON_GetObjectItemCaseSensitive(root, "sequence"), 0, MAX_SAFE_INT, &seq)) {
        e->has_sequence = 1;
        e->sequence = seq;
    }
    int rc = parse_type(root, &rq->type, e);
    if (rc < 0)
        return rc;
    if (!from_header && rq->type == WS_MSG_PROCESS_FRAME) {
        /* however this header fails, the client sends its image next */
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "frame_data");
        e->image_follows = !data || cJSON_IsNull(data);
    }
    if (from_header && rq->type != WS_MSG_PROCESS_FRAME)
        return fail(e, WS_ERR_INVALID_MESSAGE,
                    "a binary message with a header must be a process_frame");
    if ((rc = parse_common(root, rq, e)) < 0)
        return rc;
    switch (rq->type) {
    case WS_MSG_INIT_SESSION: return parse_init(root, lim, rq, e);
    case WS_MSG_CLOSE_SESSION: return parse_close(root, rq, e);
    case WS_MSG_STATS: return 0;
    case WS_MSG_PROCESS_FRAME: break;
    }
    if (!rq->has_sequence)
        return fail(e, WS_ERR_INVALID_MESSAGE, "process_frame needs 'sequence'");
    if ((rc = parse_frame_metadata(root, lim, rq, e)) < 0)
        return rc;
    const cJSON *data = cJSON_GetObjectItemCaseSensitive(root, "frame_data");
    if (from_header) {
        rq->encoding = WS_ENC_HEADER;
        if (data && !cJSON_IsNull(data))
            return fail(e, WS_ERR_INVALID_MESSAGE,
                        "frame_data is not allowed in a binary header (the image follows it)");
    } else if (data && !cJSON_IsNull(data)) {
        if (!cJSON_IsString(data))
            return fail(e, WS_ERR_INVALID_MESSAGE, "frame_data must be a base64 string");
        rq->encoding = WS_ENC_BASE64;
        rq->frame_b64 = data->valuestring;
        rq->frame_b64_len = strlen(data->valuestring);
        if (rq->frame_b64_len == 0)
            return fail(e, WS_ERR_INVALID_MESSAGE, "frame_data is empty");
        if (ws_base64_decoded_max(rq->frame_b64_len) > lim->max_frame_bytes + 3)
            return fail(e, WS_ERR_FRAME_TOO_LARGE, "frame_data decodes to more than %zu bytes",
                        lim->max_frame_bytes);
    } else {
        rq->encoding = WS_ENC_SPLIT;
    }
    return 0;
}

static void request_init(ws_request *rq, ws_error *e)
{
    memset(rq, 0, sizeof *rq);
    memset(e, 0, sizeof *e);
    rq->declared_size = -1;
}

int ws_parse_text(const char *buf, size_t len, const ws_limits *lim, ws_request *rq, ws_error *e)
{
    request_init(rq, e);
    if (len == 0) {
        fail(e, WS_ERR_INVALID_MESSAGE, "empty message");
        return LQ_EFORMAT;
    }
    int rc = parse_object(buf, len, lim, rq, e, 0);
    if (rc < 0)
        ws_request_free(rq);
    return rc;
}

int ws_parse_binary(const uint8_t *buf, size_t len, const ws_limits *lim, ws_request *rq,
                    ws_error *e)
{
    request_init(rq, e);
    if (len < WS_HEADER_SIZE || buf[0] != '{') {
        fail(e, WS_ERR_INVALID_MESSAGE,
             "binary message without a preceding process_frame must start with a %d-byte JSON "
             "header",
             WS_HEADER_SIZE);
        return LQ_EFORMAT;
    }
    size_t hlen = WS_HEADER_SIZE;
    while (hlen > 0 && (buf[hlen - 1] == ' ' || buf[hlen - 1] == '\0'))
        hlen--;
    int rc = parse_object((const char *)buf, hlen, lim, rq, e, 1);
    if (rc == 0 && len == WS_HEADER_SIZE)
        rc = fail(e, WS_ERR_INVALID_MESSAGE, "no image after the %d-byte header", WS_HEADER_SIZE);
    if (rc < 0) {
        ws_request_free(rq);
        return rc;
    }
    rq->frame = buf + WS_HEADER_SIZE;
    rq->frame_len = len - WS_HEADER_SIZE;
    return 0;
}

void ws_request_free(ws_request *rq)
{
    if (rq->json)
        cJSON_Delete(rq->json);
    rq->json = NULL;
    rq->metadata = NULL;
    rq->frame_b64 = NULL;
}

/* ---- base64 ---- */

static const char b64_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+' || c == '-')
        return 62;
    if (c == '/' || c == '_')
        return 63;
    return -1;
}

size_t ws_base64_decoded_max(size_t len)
{
    return len / 4 * 3 + 3;
}

size_t ws_base64_encoded_len(size_t len)
{
    return (len + 2) / 3 * 4;
}

int ws_base64_decode(const char *in, size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
    if (len > 5 && strncmp(in, "data:", 5) == 0) {
        const char *comma = memchr(in, ',', len < 256 ? len : 256);
        if (!comma)
            return LQ_EFORMAT;
        len -= (size_t)(comma + 1 - in);
        in = comma + 1;
    }
    uint32_t acc = 0;
    int nbits = 0, pad = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t')
            continue;
        if (c == '=') {
            pad++;
            continue;
        }
        int v = b64_value(c);
        if (v < 0 || pad)
            return LQ_EFORMAT;
        acc = (acc << 6) | (uint32_t)v;
        nbits += 6;
        if (nbits >= 8) {
            nbits -= 8;
            if (n >= cap)
                return LQ_ELIMIT;
            out[n++] = (uint8_t)(acc >> nbits);
            acc &= (1u << nbits) - 1u;
        }
    }
    /* 6 leftover bits means one stray character: not valid base64. */
    if (nbits >= 6 || pad > 2)
        return LQ_EFORMAT;
    *out_len = n;
    return 0;
}

void ws_base64_encode(const uint8_t *in, size_t len, char *out)
{
    size_t i = 0, o = 0;
    for (; i + 2 < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = b64_alphabet[(v >> 6) & 63];
        out[o++] = b64_alphabet[v & 63];
    }
    if (i < len) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = b64_alphabet[v >> 18];
        out[o++] = b64_alphabet[(v >> 12) & 63];
        out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
}

/* ---- replies ---- */

/* Serialises root into a new text message and frees root. */
static ws_out *to_message(cJSON *root)
{
    if (!root)
        return NULL;
    char *text = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!text)
        return NULL;
    size_t n = strlen(text);
    ws_out *m = ws_out_new(n, 0);
    if (m)
        memcpy(m->payload, text, n);
    cJSON_free(text);
    return m;
}

static cJSON *new_reply(const char *type, const char *session_id, int64_t ts)
{
    cJSON *root = cJSON_CreateObject();
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "type", type);
    if (session_id && session_id[0])
        cJSON_AddStringToObject(root, "session_id", session_id);
    else
        cJSON_AddNullToObject(root, "session_id");
    cJSON_AddNumberToObject(root, "timestamp", (double)ts);
    return root;
}

/* Rounds times and scores to 3 decimals for compact JSON. */
static double r3(double x)
{
    return round(x * 1000.0) / 1000.0;
}


ws_out *ws_build_session_ready(const char *session_id, int model_loaded,
                               const ws_session_config *cfg, const char *reference_status,
                               int64_t ts)
{
    cJSON *root = new_reply("session_ready", session_id, ts);
    if (!root)
        return NULL;
    cJSON_AddStringToObject(root, "status", "ready");
    cJSON_AddBoolToObject(root, "model_loaded", model_loaded);
    cJSON *c = cJSON_AddObjectToObject(root, "config");
    if (c) {
        cJSON_AddNumberToObject(c, "target_fps", cfg->target_fps);
        cJSON_AddStringToObject(c, "quality", ws_quality_name(cfg->quality));
        cJSON_AddStringToObject(c, "output_format", lq_format_name((lq_format)cfg->output_format));
        cJSON_AddNumberToObject(c, "output_quality", cfg->output_quality);
        cJSON_AddNumberToObject(c, "max_hands", cfg->max_hands);
        cJSON_AddBoolToObject(c, "smoothing", cfg->smoothing);
        cJSON_AddBoolToObject(c, "overlay", cfg->overlay);
        cJSON_AddStringToObject(c, "segmentation",
                                cfg->segmentation >= 0 && cfg->segmentation < 3
                                    ? segmentation_names[cfg->segmentation]
                                    : "off");
        cJSON_AddBoolToObject(c, "outline", cfg->outline);
        cJSON_AddStringToObject(c, "model_variant",
                                ws_quality_variant(cfg->quality) == LQ_MODEL_LITE ? "lite" : "full");
        if (cfg->unknown_keys)
            cJSON_AddNumberToObject(c, "ignored_keys", cfg->unknown_keys);
    }
    if (reference_status)
        cJSON_AddStringToObject(root, "reference", reference_status);
    return to_message(root);
}

/* Length of the well-formed UTF-8 sequence at p (at most n bytes), 0 if there is none. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    unsigned char c = p[0];
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) { /* no overlongs, no surrogates */
        len = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) { /* no overlongs, nothing above U+10FFFF */
        len = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else {
        return 0;
    }
    if (n < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

/* Copies s into out (cap bytes, NUL-terminated) as valid UTF-8, a byte that
 * starts no well-formed sequence becoming '?'. Error messages quote client
 * text cut to a length, which can split a character, and the JSON header of
 * a binary message is never UTF-8 checked; but a text message must be valid
 * UTF-8 (RFC 6455 8.1): clients fail the connection (1007) otherwise. */
static const char *utf8_clean(const char *s, char *out, size_t cap)
{
    size_t n = strlen(s), o = 0;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq_len((const unsigned char *)s + i, n - i);
        if (o + (k ? k : 1) >= cap)
            break;
        if (k) {
            memcpy(out + o, s + i, k);
            o += k;
            i += k;
        } else {
            out[o++] = '?';
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

ws_out *ws_build_error(const char *session_id, int has_sequence, int64_t sequence,
                       ws_error_code code, const char *message, int64_t ts)
{
    cJSON *root = new_reply("error", session_id, ts);
    if (!root)
        return NULL;
    if (has_sequence)
        cJSON_AddNumberToObject(root, "sequence", (double)sequence);
    else
        cJSON_AddNullToObject(root, "sequence");
    cJSON_AddStringToObject(root, "code", ws_error_name(code));
    char clean[2 * WS_MESSAGE_MAX];
    cJSON_AddStringToObject(root, "message",
                            utf8_clean(message && message[0] ? message : ws_error_message(code),
                                       clean, sizeof clean));
    cJSON_AddBoolToObject(root, "recoverable", ws_error_recoverable(code));
    cJSON_AddStringToObject(root, "suggestion", ws_error_suggestion(code));
    return to_message(root);
}

ws_out *ws_build_stats(const char *session_id, const ws_stats *st, int64_t ts)
{
    cJSON *root = new_reply("stats", session_id, ts);
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "frames_received", (double)st->frames_received);
    cJSON_AddNumberToObject(root, "frames_processed", (double)st->frames_processed);
    cJSON_AddNumberToObject(root, "frames_dropped", (double)st->frames_dropped);
    cJSON_AddNumberToObject(root, "frames_with_errors", (double)st->frames_with_errors);
    cJSON_AddNumberToObject(root, "avg_processing_time_ms", r3(st->avg_processing_ms));
    cJSON_AddNumberToObject(root, "p95_processing_time_ms", r3(st->p95_processing_ms));
    cJSON_AddNumberToObject(root, "avg_confidence", r3(st->avg_confidence));
    cJSON_AddNumberToObject(root, "duration_s", r3(st->duration_s));
    return to_message(root);
}

ws_out *ws_build_close(const char *type, const char *session_id, const char *reason, int64_t ts)
{
    cJSON *root = new_reply(type, session_id, ts);
    if (!root)
        return NULL;
    char clean[2 * WS_REASON_MAX + 2];
    cJSON_AddStringToObject(root, "reason",
                            utf8_clean(reason ? reason : "user_disconnected", clean, sizeof clean));
    return to_message(root);
}

static const struct {
    unsigned bit;
    ws_error_code code;
} problem_codes[] = {
    {LQ_PROBLEM_LOW_LIGHT, WS_ERR_LOW_LIGHT},
    {LQ_PROBLEM_BLUR, WS_ERR_BLUR_DETECTED},
    {LQ_PROBLEM_PARTIAL_HAND, WS_ERR_PARTIAL_HAND_DETECTED},
    {LQ_PROBLEM_NO_HAND, WS_ERR_HAND_NOT_DETECTED},
};

ws_error_code ws_problem_error(const lq_tryon_result *res)
{
    if (res->problems & LQ_PROBLEM_LOW_LIGHT)
        return WS_ERR_LOW_LIGHT;
    if (res->problems & LQ_PROBLEM_BLUR)
        return WS_ERR_BLUR_DETECTED;
    if (res->hands.count == 0 || (res->problems & LQ_PROBLEM_NO_HAND))
        return WS_ERR_HAND_NOT_DETECTED;
    return WS_ERR_PARTIAL_HAND_DETECTED;
}

/* detail: 3 = everything, 2 = no per-nail geometry, 1 = no problem explanations
 * either, 0 = no per-hand details either (what always fits in the header). */
static cJSON *frame_json(const ws_frame_reply *r, int detail)
{
    const lq_tryon_result *res = r->res;
    cJSON *root = new_reply("processed_frame", r->session_id, r->timestamp);
    if (!root)
        return NULL;
    cJSON_AddNumberToObject(root, "sequence", (double)r->sequence);
    if (r->has_request_timestamp)
        cJSON_AddNumberToObject(root, "request_timestamp", (double)r->request_timestamp);
    cJSON_AddNumberToObject(root, "processing_time_ms", r3(r->processing_ms));
    cJSON_AddNumberToObject(root, "confidence_score", r3(res->confidence));

    cJSON *md = cJSON_AddObjectToObject(root, "frame_metadata");
    cJSON_AddNumberToObject(md, "width", r->width);
    cJSON_AddNumberToObject(md, "height", r->height);
    cJSON_AddStringToObject(md, "format", lq_format_name((lq_format)r->format));
    cJSON_AddNumberToObject(md, "size_bytes", (double)r->size_bytes);

    lq_tryon_json_add_detection(root, res);

    cJSON *t = cJSON_AddObjectToObject(root, "timings_ms");
    cJSON_AddNumberToObject(t, "queue", r3(r->queue_ms));
    cJSON_AddNumberToObject(t, "decode", r3(r->decode_ms));
    lq_tryon_json_add_stage_timings(t, res);
    cJSON_AddNumberToObject(t, "encode", r3(r->encode_ms));
    cJSON_AddNumberToObject(t, "total", r3(r->processing_ms));

    if (detail >= 2 && res->problems) {
        cJSON *expl = cJSON_AddArrayToObject(root, "problem_details");
        for (size_t i = 0; i < sizeof problem_codes / sizeof problem_codes[0]; i++) {
            if (!(res->problems & problem_codes[i].bit))
                continue;
            ws_error_code code = problem_codes[i].code;
            cJSON *p = cJSON_CreateObject();
            cJSON_AddStringToObject(p, "code", ws_error_name(code));
            cJSON_AddStringToObject(p, "message", ws_error_message(code));
            cJSON_AddStringToObject(p, "suggestion", ws_error_suggestion(code));
            cJSON_AddItemToArray(expl, p);
        }
    }
    if (detail >= 1)
        lq_tryon_json_add_hands(root, res, 1);
    if (detail >= 3) {
        lq_tryon_json_add_nails(root, res);
    } else {
        cJSON_AddBoolToObject(root, "details_omitted", 1);
    }
    return root;
}

int ws_build_processed_frame(const ws_frame_reply *r, ws_encoding enc, const uint8_t *image,
                             size_t image_len, ws_out **first, ws_out **second)
{
    *first = NULL;
    *second = NULL;
    if (enc == WS_ENC_HEADER) {
        for (int detail = 3; detail >= 0; detail--) {
            cJSON *root = frame_json(r, detail);
            char *text = root ? cJSON_PrintUnformatted(root) : NULL;
            cJSON_Delete(root);
            if (!text)
                return LQ_ENOMEM;
            size_t n = strlen(text);
            if (n > WS_HEADER_SIZE) {
                cJSON_free(text);
                continue;
            }
            ws_out *m = ws_out_new(WS_HEADER_SIZE + image_len, 1);
            if (!m) {
                cJSON_free(text);
                return LQ_ENOMEM;
            }
            memcpy(m->payload, text, n);
            memset(m->payload + n, ' ', WS_HEADER_SIZE - n);
            memcpy(m->payload + WS_HEADER_SIZE, image, image_len);
            cJSON_free(text);
            m->kind = WS_OUT_FRAME;
            *first = m;
            return 0;
        }
        return LQ_EINTERNAL; /* the minimal header always fits (tested) */
    }
    cJSON *root = frame_json(r, 3);
    if (!root)
        return LQ_ENOMEM;
    if (enc == WS_ENC_BASE64) {
        /* Build "...,\"frame_data\":\"<b64>\"}" without copying the base64
         * through cJSON: print the object, then splice the string in. */
        char *text = cJSON_PrintUnformatted(root);
        cJSON_Delete(root);
        if (!text)
            return LQ_ENOMEM;
        size_t n = strlen(text); /* ends with '}' */
        static const char key[] = ",\"frame_data\":\"";
        size_t b64 = ws_base64_encoded_len(image_len);
        size_t total = n - 1 + (sizeof key - 1) + b64 + 2;
        ws_out *m = ws_out_new(total, 0);
        if (!m) {
            cJSON_free(text);
            return LQ_ENOMEM;
        }
        uint8_t *p = m->payload;
        memcpy(p, text, n - 1);
        p += n - 1;
        memcpy(p, key, sizeof key - 1);
        p += sizeof key - 1;
        ws_base64_encode(image, image_len, (char *)p);
        p += b64;
        *p++ = '"';
        *p++ = '}';
        cJSON_free(text);
        m->kind = WS_OUT_FRAME;
        *first = m;
        return 0;
    }
    ws_out *meta = to_message(root);
    ws_out *img = ws_out_new(image_len, 1);
    if (!meta || !img) {
        ws_out_free(meta);
        ws_out_free(img);
        return LQ_ENOMEM;
    }
    memcpy(img->payload, image, image_len);
    meta->kind = WS_OUT_FRAME;
    img->kind = WS_OUT_FRAME;
    *first = meta;
    *second = img;
    return 0;
}
