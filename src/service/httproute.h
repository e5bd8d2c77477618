/*
 * httproute.h - the HTTP API's routes, query values and status codes
 * (docs/http-api.md). Pure functions: httpapi.c applies them to requests.
 *
 *   api_route r;
 *   char err[128];
 *   if (api_route_parse("/api/tryon/sessions/abc/frames", &r, err, sizeof err) == 0 &&
 *       api_route_method_ok(r.kind, API_METHOD_POST))
 *       ...r.kind == API_ROUTE_FRAMES, r.session_id == "abc"...
 *
 * Routes (a trailing slash is accepted):
 *   POST   /api/tryon/sessions                  API_ROUTE_SESSIONS
 *   DELETE /api/tryon/sessions/{id}             API_ROUTE_SESSION
 *   POST   /api/tryon/sessions/{id}/frames      API_ROUTE_FRAMES
 *   GET    /api/tryon/sessions/{id}/stats       API_ROUTE_STATS
 *   POST   /api/tryon/process-stream            API_ROUTE_STREAM
 * {id} is a session id as in the WebSocket protocol (1..WS_SESSION_ID_MAX
 * characters of A-Z a-z 0-9 . _ : -).
 */
#ifndef LQ_SERVICE_HTTPROUTE_H
#define LQ_SERVICE_HTTPROUTE_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "service/protocol.h"

#define API_PATH_PREFIX "/api/"
#define API_TRYON_PREFIX "/api/tryon/"

typedef enum api_method {
    API_METHOD_OTHER = 0,
    API_METHOD_GET,
    API_METHOD_POST,
    API_METHOD_DELETE,
} api_method;

typedef enum api_route_kind {
    API_ROUTE_NONE = 0,
    API_ROUTE_SESSIONS, /* POST: create a session */
    API_ROUTE_SESSION,  /* DELETE: close it */
    API_ROUTE_FRAMES,   /* POST: process one frame */
    API_ROUTE_STATS,    /* GET: its statistics */
    API_ROUTE_STREAM,   /* POST: process-stream */
} api_route_kind;

typedef struct api_route {
    api_route_kind kind;
    char session_id[WS_SESSION_ID_MAX + 1]; /* "" for SESSIONS and STREAM */
} api_route;

/* 1 if path belongs to the API ("/api" or under "/api/"). */
int api_is_api_path(const char *path);

/* Parses a request path (without the query string). 0 and *out filled;
 * LQ_ENOTFOUND when no route matches; LQ_EINVAL when the route matches but
 * the session id in it is not valid (err says why). *out is untouched on
 * failure. */
int api_route_parse(const char *path, api_route *out, char *err, size_t errlen) LQ_NODISCARD;

/* 1 if the route accepts the method. */
int api_route_method_ok(api_route_kind kind, api_method method);

/* The value of an Allow header for the route ("POST", "GET", "DELETE"). */
const char *api_route_allow(api_route_kind kind);

/* A sequence number: decimal digits only, 0..2^53. 0 or LQ_EINVAL. */
int api_parse_sequence(const char *s, int64_t *out) LQ_NODISCARD;

/* A timestamp in epoch milliseconds: decimal digits only, 0..2^53. */
int api_parse_timestamp(const char *s, int64_t *out) LQ_NODISCARD;

typedef enum api_format { API_FORMAT_IMAGE = 0, API_FORMAT_JSON = 1 } api_format;

/* "image" (or "binary") or "json" -> 0; anything else LQ_EINVAL. */
int api_parse_format(const char *s, api_format *out) LQ_NODISCARD;

/* 1 if a request Content-Type is acceptable for a frame body: empty/absent,
 * image/webp, image/jpeg, image/jpg, image/png or application/octet-stream
 * (parameters after ';' ignored, case-insensitive). The bytes decide the
 * format; this only refuses bodies that say they are something else.
 * application/x-www-form-urlencoded (what curl -d sends by default) counts
 * as no type, here and in api_json_content_type_ok. */
int api_frame_content_type_ok(const char *ctype);

/* 1 if a Content-Type is JSON (application/json, or absent/empty). */
int api_json_content_type_ok(const char *ctype);

/* The HTTP status for an error code (400, 401, 404, 413, 415, 422, 429,
 * 500, 503; see the table in docs/http-api.md). */
int api_http_status(ws_error_code code);

#endif
