#include "service/fetch.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "base/clock.h"
#include "base/log.h"
#include "service/fetch_policy.h"
#include "service/lru.h"

#define TAG "fetch"

/* ---- bodies ------------------------------------------------------------- */

struct lq_fetch_body {
    atomic_int refs;
    lq_format format;
    size_t size;
    uint8_t *data;
};

const uint8_t *lq_fetch_body_data(const lq_fetch_body *body)
{
    return body ? body->data : NULL;
}

size_t lq_fetch_body_size(const lq_fetch_body *body)
{
    return body ? body->size : 0;
}

lq_format lq_fetch_body_format(const lq_fetch_body *body)
{
    return body ? body->format : LQ_FMT_UNKNOWN;
}

lq_fetch_body *lq_fetch_body_retain(lq_fetch_body *body)
{
    if (body)
        atomic_fetch_add_explicit(&body->refs, 1, memory_order_relaxed);
    return body;
}

void lq_fetch_body_release(lq_fetch_body *body)
{
    if (body && atomic_fetch_sub_explicit(&body->refs, 1, memory_order_acq_rel) == 1) {
        free(body->data);
        free(body);
    }
}

static void body_release_void(void *v)
{
    lq_fetch_body_release(v);
}

/* ---- names and options -------------------------------------------------- */

const char *lq_fetch_kind_name(enum lq_fetch_kind kind)
{
    switch (kind) {
#define LQ__FETCH_KIND_CASE(name, str)                                         \
    case LQ_FETCH_##name:                                                      \
        return str;
        LQ_FETCH_KIND_MAP(LQ__FETCH_KIND_CASE)
#undef LQ__FETCH_KIND_CASE
    case LQ_FETCH_KIND_COUNT:
        break;
    }
    return "unknown";
}

void lq_fetch_options_default(lq_fetch_options *o)
{
    if (!o)
        return;
    memset(o, 0, sizeof *o);
    o->max_body_bytes = 8u << 20;
    o->max_redirects = 3;
    o->timeout_ms = 10000;
    o->connect_timeout_ms = 3000;
    o->max_inflight = 32;
    o->max_requests = 1024;
    o->cache_max_entries = 64;
    o->cache_max_bytes = 64u << 20;
    o->cache_ttl_s = 600;
    o->allowed_hosts = NULL;
    o->allow_private_addresses = 0;
}

static int bad_setting(char *err, size_t errlen, const char *fmt, ...) LQ_PRINTF(3, 4);

static int bad_setting(char *err, size_t errlen, const char *fmt, ...)
{
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return LQ_EINVAL;
}

int lq_fetch_options_validate(const lq_fetch_options *o, char *err, size_t errlen)
{
    if (err && errlen)
        err[0] = 0;
    if (!o)
        return bad_setting(err, errlen, "options: NULL");
    if (o->max_body_bytes < 1024 || o->max_body_bytes > (256u << 20))
        return bad_setting(err, errlen, "max_body_bytes: %zu is outside 1024 .. 268435456",
                           o->max_body_bytes);
    if (o->max_redirects < 0 || o->max_redirects > 10)
        return bad_setting(err, errlen, "max_redirects: %d is outside 0 .. 10", o->max_redirects);
    if (o->timeout_ms < 100 || o->timeout_ms > 300000)
        return bad_setting(err, errlen, "timeout_ms: %d is outside 100 .. 300000", o->timeout_ms);
    if (o->connect_timeout_ms < 100 || o->connect_timeout_ms > 60000)
        return bad_setting(err, errlen, "connect_timeout_ms: %d is outside 100 .. 60000",
                           o->connect_timeout_ms);
    if (o->max_inflight < 1 || o->max_inflight > 1024)
        return bad_setting(err, errlen, "max_inflight: %d is outside 1 .. 1024", o->max_inflight);
    if (o->max_requests < 1 || o->max_requests > 65536)
        return bad_setting(err, errlen, "max_requests: %d is outside 1 .. 65536", o->max_requests);
    if (o->cache_max_entries > LQ_LRU_MAX_ENTRIES)
        return bad_setting(err, errlen, "cache_max_entries: %zu is above %d",
                           o->cache_max_entries, LQ_LRU_MAX_ENTRIES);
    if (o->cache_max_entries > 0 &&
        (o->cache_max_bytes == 0 || (uint64_t)o->cache_max_bytes > (4ull << 30)))
        return bad_setting(err, errlen, "cache_max_bytes: %zu is outside 1 .. 4294967296",
                           o->cache_max_bytes);
    if (o->cache_ttl_s < 0 || o->cache_ttl_s > 7 * 86400)
        return bad_setting(err, errlen, "cache_ttl_s: %d is outside 0 .. 604800", o->cache_ttl_s);
    if (!o->notify)
        return bad_setting(err, errlen, "notify: a wake-up callback is required");
    lq__fetch_allowlist *al = malloc(sizeof *al);
    if (!al)
        return LQ_ENOMEM;
    int rc = lq__fetch_allowlist_parse(o->allowed_hosts, al, err, errlen);
    free(al);
    return rc;
}

/* ---- state -------------------------------------------------------------- */

typedef struct fetch_job fetch_job;

/* One lq_fetcher_start call: waits on a job, then sits in the done queue. */
typedef struct fetch_req {
    struct fetch_req *prev, *next;
    uint64_t id;
    lq_fetch_cb cb;
    void *ud;
    char *url;
    uint64_t t_start_ns, t_done_ns;
    /* result, filled when the request moves to the done queue */
    int status;
    enum lq_fetch_kind kind;
    long http_status;
    int redirects, from_cache, coalesced;
    lq_fetch_body *body;
    char reason[LQ_FETCH_REASON_MAX];
} fetch_req;

typedef struct req_list {
    fetch_req *head, *tail;
    size_t n;
} req_list;

/* One transfer (following its redirects), shared by every request for its URL. */
struct fetch_job {
    struct fetch_job *prev, *next; /* in f->jobs */
    struct fetch_job *work_next;   /* fetcher thread's local lists */
    lq_fetcher *f;
    char *url;                     /* as requested: the cache and coalescing key */
    /* Under f->mu. */
    req_list waiters;
    int adopted;                   /* the fetcher thread owns the curl side */
    int orphaned;                  /* no waiters left: abort and free */
    /* Fetcher thread only. */
    CURL *easy;
    uint64_t deadline_ns;
    int redirects;
    int redirect_pending;
    int headers_done, body_ok, sniffed;
    long http_status;
    long long content_length;
    uint64_t bytes_received;
    lq_format format;
    uint8_t *buf;
    size_t len, cap;
    enum lq_fetch_kind kind;       /* set when a callback aborts the transfer */
    char reason[LQ_FETCH_REASON_MAX];
    char blocked[LQ_FETCH_REASON_MAX]; /* last address refused at connect time */
    char content_type[64];
    char host[LQ_FETCH_MAX_HOST_LEN + 2];
    char cur_url[LQ_FETCH_MAX_URL + 1];
    char next_url[LQ_FETCH_MAX_URL + 1];
    char location[LQ_FETCH_MAX_URL + 1]; /* the Location header, as sent */
    size_t location_len;
    char errbuf[CURL_ERROR_SIZE];
};

struct lq_fetcher {
    lq_fetch_options o;
    char *allowed_hosts;          /* our copy of o.allowed_hosts */
    lq__fetch_allowlist al;
    CURLM *multi;
    pthread_t thread;
    pthread_mutex_t mu;
    /* Under mu. */
    fetch_job *jobs;
    int njobs;
    req_list done;                /* results waiting for dispatch */
    req_list dispatching;         /* results taken by the dispatch running now */
    size_t nreqs;                 /* requests not yet delivered */
    uint64_t next_id;
    int stopping;
    lq_lru *cache;
    lq_fetch_stats st;
    /* Owner thread only. */
    int in_dispatch;
    /* Fetcher thread only. */
    uint64_t completions;         /* jobs completed: tells the loop to notify */
};

static void list_push(req_list *l, fetch_req *r)
{
    r->next = NULL;
    r->prev = l->tail;
    if (l->tail)
        l->tail->next = r;
    else
        l->head = r;
    l->tail = r;
    l->n++;
}

static void list_remove(req_list *l, fetch_req *r)
{
    if (r->prev)
        r->prev->next = r->next;
    else
        l->head = r->next;
    if (r->next)
        r->next->prev = r->prev;
    else
        l->tail = r->prev;
    r->prev = r->next = NULL;
    l->n--;
}

static fetch_req *list_find(const req_list *l, uint64_t id)
{
    for (fetch_req *r = l->head; r; r = r->next)
        if (r->id == id)
            return r;
    return NULL;
}

static void req_free(fetch_req *r)
{
    if (!r)
        return;
    lq_fetch_body_release(r->body);
    free(r->url);
    free(r);
}

static int status_for(enum lq_fetch_kind kind, long http_status)
{
    switch (kind) {
    case LQ_FETCH_OK: return 0;
    case LQ_FETCH_BAD_URL:
    case LQ_FETCH_BLOCKED: return LQ_EINVAL;
    case LQ_FETCH_DNS: return LQ_ENOTFOUND;
    case LQ_FETCH_TIMEOUT: return LQ_ETIMEDOUT;
    case LQ_FETCH_TOO_LARGE:
    case LQ_FETCH_TOO_MANY_REDIRECTS: return LQ_ELIMIT;
    case LQ_FETCH_HTTP_STATUS:
        return (http_status == 404 || http_status == 410) ? LQ_ENOTFOUND : LQ_EIO;
    case LQ_FETCH_NOT_IMAGE: return LQ_EUNSUPPORTED;
    case LQ_FETCH_CONNECT:
    case LQ_FETCH_TLS:
    case LQ_FETCH_NETWORK: return LQ_EIO;
    case LQ_FETCH_INTERNAL:
    case LQ_FETCH_KIND_COUNT: break;
    }
    return LQ_EINTERNAL;
}

/* Fills r's result and moves it to the done queue. Caller holds f->mu. */
static void req_finish_locked(lq_fetcher *f, fetch_req *r, enum lq_fetch_kind kind,
                              const char *reason, long http_status, int redirects,
                              lq_fetch_body *body)
{
    r->kind = kind;
    r->status = status_for(kind, http_status);
    r->http_status = http_status;
    r->redirects = redirects;
    r->body = kind == LQ_FETCH_OK ? lq_fetch_body_retain(body) : NULL;
    snprintf(r->reason, sizeof r->reason, "%s", reason ? reason : "");
    r->t_done_ns = lq_clock_ns();
    list_push(&f->done, r);
}

static int64_t now_ms(void)
{
    return (int64_t)(lq_clock_ns() / 1000000u);
}

/* ---- curl callbacks (fetcher thread) ------------------------------------ */

static size_t abort_with(fetch_job *j, enum lq_fetch_kind kind, const char *fmt, ...)
    LQ_PRINTF(3, 4);

/* Records why a callback stops the transfer; returning 0 to curl aborts it. */
static size_t abort_with(fetch_job *j, enum lq_fetch_kind kind, const char *fmt, ...)
{
    j->kind = kind;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->reason, sizeof j->reason, fmt, ap);
    va_end(ap);
    return 0;
}

static int is_redirect(long code)
{
    return code == 301 || code == 302 || code == 303 || code == 307 || code == 308;
}

static int reserve(fetch_job *j, size_t want)
{
    if (want <= j->cap)
        return 0;
    size_t cap = j->cap ? j->cap : 64u << 10;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    if (cap > j->f->o.max_body_bytes)
        cap = j->f->o.max_body_bytes;
    if (cap < want)
        return LQ_ELIMIT;
    uint8_t *nb = realloc(j->buf, cap);
    if (!nb)
        return LQ_ENOMEM;
    j->buf = nb;
    j->cap = cap;
    return 0;
}

/* Resolves the Location header against the current URL the way curl itself
 * would (it may be relative) into j->next_url. */
static int resolve_location(fetch_job *j)
{
    CURLU *u = curl_url();
    char *full = NULL;
    int rc = -1;
    if (u && curl_url_set(u, CURLUPART_URL, j->cur_url, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_URL, j->location,
                     CURLU_NON_SUPPORT_SCHEME | CURLU_URLENCODE) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &full, 0) == CURLUE_OK && full &&
        strlen(full) <= LQ_FETCH_MAX_URL) {
        snprintf(j->next_url, sizeof j->next_url, "%s", full);
        rc = 0;
    }
    curl_free(full);
    curl_url_cleanup(u);
    return rc;
}

/* The blank line after a response's headers: decide whether to read its body. */
static size_t on_headers_done(fetch_job *j, size_t n)
{
    long code = 0;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &code);
    j->http_status = code;
    if (code >= 100 && code < 200)
        return n; /* interim response; the real one follows */
    j->headers_done = 1;
    if (is_redirect(code)) {
        if (j->location_len > LQ_FETCH_MAX_URL)
            return abort_with(j, LQ_FETCH_BAD_URL, "a redirect points to a URL longer than %d "
                                                   "bytes", LQ_FETCH_MAX_URL);
        if (j->location_len == 0)
            return abort_with(j, LQ_FETCH_HTTP_STATUS,
                              "the server answered HTTP %ld without a Location", code);
        if (resolve_location(j) < 0)
            return abort_with(j, LQ_FETCH_BAD_URL, "a redirect's Location is not a valid URL");
        j->redirect_pending = 1;
        return 0; /* we follow it ourselves; its body is of no use */
    }
    if (code != 200)
        return abort_with(j, LQ_FETCH_HTTP_STATUS, "the image server answered HTTP %ld", code);
    size_t max = j->f->o.max_body_bytes;
    if (j->content_length > 0 && (unsigned long long)j->content_length > max)
        return abort_with(j, LQ_FETCH_TOO_LARGE,
                          "the image is %lld bytes; the limit is %zu bytes", j->content_length,
                          max);
    if (j->content_length > 0 && reserve(j, (size_t)j->content_length) < 0)
        return abort_with(j, LQ_FETCH_INTERNAL, "out of memory for a %lld-byte image",
                          j->content_length);
    j->body_ok = 1;
    return n;
}

static int header_is(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    return n > k && strncasecmp(line, name, k) == 0 && line[k] == ':';
}

static size_t on_header(char *line, size_t size, size_t nitems, void *ud)
{
    fetch_job *j = ud;
    size_t n = size * nitems;
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A new response starts (after 1xx, or the first one). */
        j->headers_done = 0;
        j->content_length = -1;
        j->content_type[0] = 0;
        j->location[0] = 0;
        j->location_len = 0;
        return n;
    }
    if (j->headers_done)
        return n; /* trailers */
    if (n <= 2 && (line[0] == '\r' || line[0] == '\n'))
        return on_headers_done(j, n);
    if (header_is(line, n, "content-length")) {
        char tmp[32];
        size_t k = n - 15 < sizeof tmp - 1 ? n - 15 : sizeof tmp - 1;
        memcpy(tmp, line + 15, k);
        tmp[k] = 0;
        char *end = NULL;
        errno = 0;
        long long v = strtoll(tmp, &end, 10);
        /* Unparsable or absurd values are left to the streaming cap. */
        if (errno == 0 && end != tmp && v >= 0)
            j->content_length = v;
    } else if (header_is(line, n, "location")) {
        size_t s = 9, e = n;
        while (s < n && (line[s] == ' ' || line[s] == '\t'))
            s++;
        while (e > s && (line[e - 1] == '\r' || line[e - 1] == '\n' || line[e - 1] == ' '))
            e--;
        j->location_len = e - s;
        if (j->location_len <= LQ_FETCH_MAX_URL) {
            memcpy(j->location, line + s, j->location_len);
            j->location[j->location_len] = 0;
        }
    } else if (header_is(line, n, "content-type")) {
        size_t s = 13;
        while (s < n && (line[s] == ' ' || line[s] == '\t'))
            s++;
        size_t e = n;
        while (e > s && (line[e - 1] == '\r' || line[e - 1] == '\n' || line[e - 1] == ' '))
            e--;
        lq__fetch_printable_prefix((const uint8_t *)line + s, e - s, j->content_type,
                                   sizeof j->content_type);
    }
    return n;
}

static size_t reject_not_image(fetch_job *j)
{
    char head[24];
    lq__fetch_printable_prefix(j->buf, j->len < 16 ? j->len : 16, head, sizeof head);
    return abort_with(j, LQ_FETCH_NOT_IMAGE,
                      "the reference is not a JPEG, PNG or WebP image (Content-Type '%s', "
                      "%zu bytes starting \"%s\")",
                      j->content_type[0] ? j->content_type : "none", j->len, head);
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
    fetch_job *j = ud;
    size_t n = size * nmemb;
    j->bytes_received += n;
    if (!j->body_ok)
        return n; /* never reached: other responses are aborted at their headers */
    size_t max = j->f->o.max_body_bytes;
    if (n > max - j->len)
        return abort_with(j, LQ_FETCH_TOO_LARGE,
                          "the image is larger than the limit of %zu bytes", max);
    int rc = reserve(j, j->len + n);
    if (rc < 0)
        return abort_with(j, LQ_FETCH_INTERNAL, "out of memory receiving the image");
    memcpy(j->buf + j->len, p, n);
    j->len += n;
    if (!j->sniffed && j->len >= 12) {
        j->sniffed = 1;
        j->format = lq_image_sniff(j->buf, j->len);
        if (j->format == LQ_FMT_UNKNOWN)
            return reject_not_image(j); /* do not download the rest of a web page */
    }
    return n;
}

/* Refuses internal addresses at connect time (after DNS, so a host name that
 * resolves, or later re-resolves, to an internal address is caught). */
static curl_socket_t on_opensocket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    fetch_job *j = ud;
    lq_fetcher *f = j->f;
    if (purpose != CURLSOCKTYPE_IPCXN || (a->family != AF_INET && a->family != AF_INET6)) {
        snprintf(j->blocked, sizeof j->blocked, "only TCP/IP connections are allowed");
        return CURL_SOCKET_BAD;
    }
    if (f->al.count == 0 && !f->o.allow_private_addresses) {
        struct sockaddr_storage ss;
        memset(&ss, 0, sizeof ss);
        size_t len = a->addrlen < sizeof ss ? a->addrlen : sizeof ss;
        memcpy(&ss, &a->addr, len);
        enum lq__addr_class c = lq__fetch_classify_addr((struct sockaddr *)&ss, (socklen_t)len);
        if (c != LQ__ADDR_PUBLIC) {
            char ip[INET6_ADDRSTRLEN] = "?";
            const void *src = ss.ss_family == AF_INET
                                  ? (const void *)&((struct sockaddr_in *)&ss)->sin_addr
                                  : (const void *)&((struct sockaddr_in6 *)&ss)->sin6_addr;
            inet_ntop(ss.ss_family, src, ip, sizeof ip);
            snprintf(j->blocked, sizeof j->blocked,
                     "host '%.100s' resolves to %s, a %s address; internal addresses are "
                     "refused",
                     j->host, ip, lq__fetch_addr_class_name(c));
            return CURL_SOCKET_BAD;
        }
    }
    return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* ---- transfers (fetcher thread) ----------------------------------------- */

static void reset_hop(fetch_job *j)
{
    j->redirect_pending = 0;
    j->headers_done = 0;
    j->body_ok = 0;
    j->sniffed = 0;
    j->http_status = 0;
    j->content_length = -1;
    j->content_type[0] = 0;
    j->location[0] = 0;
    j->location_len = 0;
    j->len = 0;
    j->format = LQ_FMT_UNKNOWN;
    j->blocked[0] = 0;
    j->errbuf[0] = 0;
}

/* Points the easy handle at j->cur_url with what is left of the deadline. */
static int configure_hop(fetch_job *j)
{
    uint64_t now = lq_clock_ns();
    if (now >= j->deadline_ns)
        return LQ_ETIMEDOUT;
    long left_ms = (long)((j->deadline_ns - now) / 1000000u);
    if (left_ms < 1)
        left_ms = 1;
    long conn_ms = j->f->o.connect_timeout_ms < left_ms ? j->f->o.connect_timeout_ms : left_ms;
    reset_hop(j);
    if (curl_easy_setopt(j->easy, CURLOPT_URL, j->cur_url) != CURLE_OK ||
        curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, left_ms) != CURLE_OK ||
        curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS, conn_ms) != CURLE_OK)
        return LQ_EINTERNAL;
    return 0;
}

static int create_easy(fetch_job *j)
{
    CURL *e = curl_easy_init();
    if (!e)
        return LQ_ENOMEM;
    j->easy = e;
    int ok = curl_easy_setopt(e, CURLOPT_PRIVATE, j) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_PROXY, "") == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_USERAGENT, "lacquer/" LQ_VERSION) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_HEADERDATA, j) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_WRITEDATA, j) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_opensocket) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, j) == CURLE_OK &&
             curl_easy_setopt(e, CURLOPT_ERRORBUFFER, j->errbuf) == CURLE_OK;
    return ok ? 0 : LQ_EINTERNAL;
}

static void job_free(fetch_job *j)
{
    if (!j)
        return;
    if (j->easy) {
        curl_multi_remove_handle(j->f->multi, j->easy);
        curl_easy_cleanup(j->easy);
    }
    while (j->waiters.head) {
        fetch_req *r = j->waiters.head;
        list_remove(&j->waiters, r);
        req_free(r);
    }
    free(j->buf);
    free(j->url);
    free(j);
}

static void unlink_job_locked(lq_fetcher *f, fetch_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        f->jobs = j->next;
    if (j->next)
        j->next->prev = j->prev;
    j->prev = j->next = NULL;
    f->njobs--;
}

/* Ends a job: caches a success, hands the result to every waiter, frees it. */
static void job_complete(lq_fetcher *f, fetch_job *j, enum lq_fetch_kind kind,
                         const char *reason)
{
    lq_fetch_body *body = NULL;
    if (kind == LQ_FETCH_OK) {
        body = malloc(sizeof *body);
        if (body) {
            uint8_t *shrunk = realloc(j->buf, j->len);
            atomic_init(&body->refs, 1);
            body->data = shrunk ? shrunk : j->buf;
            body->size = j->len;
            body->format = j->format;
            j->buf = NULL;
            j->len = j->cap = 0;
        } else {
            kind = LQ_FETCH_INTERNAL;
            reason = "out of memory keeping the image";
        }
    }
    f->completions++;
    pthread_mutex_lock(&f->mu);
    unlink_job_locked(f, j);
    f->st.bytes_received += j->bytes_received;
    if (body && f->cache) {
        if (lq_lru_put(f->cache, j->url, lq_fetch_body_retain(body), body->size, now_ms()) < 0)
            lq_fetch_body_release(body); /* too big for the cache, or no memory: not cached */
    }
    size_t nwaiters = j->waiters.n;
    while (j->waiters.head) {
        fetch_req *r = j->waiters.head;
        list_remove(&j->waiters, r);
        req_finish_locked(f, r, kind, reason, j->http_status, j->redirects, body);
    }
    pthread_mutex_unlock(&f->mu);
    if (kind == LQ_FETCH_OK)
        LQ_INFO(TAG, "reference from %s: %zu bytes %s, %d redirect(s), %zu waiter(s)", j->host,
                body->size, lq_format_name(body->format), j->redirects, nwaiters);
    else
        LQ_WARN(TAG, "reference from %s failed (%s): %s", j->host[0] ? j->host : "?",
                lq_fetch_kind_name(kind), reason);
    lq_fetch_body_release(body);
    job_free(j);
}

static void job_fail(lq_fetcher *f, fetch_job *j, enum lq_fetch_kind kind, const char *fmt, ...)
    LQ_PRINTF(4, 5);

static void job_fail(lq_fetcher *f, fetch_job *j, enum lq_fetch_kind kind, const char *fmt, ...)
{
    char reason[LQ_FETCH_REASON_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    job_complete(f, j, kind, reason);
}

static void job_begin(lq_fetcher *f, fetch_job *j)
{
    int rc = create_easy(j);
    if (rc == 0)
        rc = configure_hop(j);
    if (rc == LQ_ETIMEDOUT) {
        job_fail(f, j, LQ_FETCH_TIMEOUT, "timed out before the transfer started");
        return;
    }
    if (rc == 0 && curl_multi_add_handle(f->multi, j->easy) != CURLM_OK)
        rc = LQ_EINTERNAL;
    if (rc < 0) {
        /* Not in the multi handle: make job_free skip the remove. */
        if (j->easy) {
            curl_easy_cleanup(j->easy);
            j->easy = NULL;
        }
        job_fail(f, j, LQ_FETCH_INTERNAL, "could not start the transfer (%s)", lq_strerror(rc));
    }
}

static void follow_redirect(lq_fetcher *f, fetch_job *j)
{
    if (j->redirects >= f->o.max_redirects) {
        job_fail(f, j, LQ_FETCH_TOO_MANY_REDIRECTS,
                 "the reference URL redirects more than %d times", f->o.max_redirects);
        return;
    }
    char host[LQ_FETCH_MAX_HOST_LEN + 2], why[LQ_FETCH_REASON_MAX - 32];
    enum lq_fetch_kind k = lq__fetch_check_url(j->next_url, &f->al, j->cur_url,
                                               sizeof j->cur_url, host, sizeof host, why,
                                               sizeof why);
    if (k != LQ_FETCH_OK) {
        job_fail(f, j, k, "a redirect was refused: %s", why);
        return;
    }
    j->redirects++;
    snprintf(j->host, sizeof j->host, "%s", host);
    curl_multi_remove_handle(f->multi, j->easy);
    int rc = configure_hop(j);
    if (rc == LQ_ETIMEDOUT) {
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
        job_fail(f, j, LQ_FETCH_TIMEOUT, "timed out after %d redirect(s)", j->redirects);
        return;
    }
    if (rc < 0 || curl_multi_add_handle(f->multi, j->easy) != CURLM_OK) {
        curl_easy_cleanup(j->easy);
        j->easy = NULL;
        job_fail(f, j, LQ_FETCH_INTERNAL, "could not follow a redirect");
    }
}

/* One hop finished with curl's verdict rc. */
static void job_hop_done(lq_fetcher *f, fetch_job *j, CURLcode rc)
{
    const char *detail = j->errbuf[0] ? j->errbuf : curl_easy_strerror(rc);
    if (j->redirect_pending) {
        follow_redirect(f, j);
        return;
    }
    if (j->kind != LQ_FETCH_OK) {
        char reason[LQ_FETCH_REASON_MAX];
        snprintf(reason, sizeof reason, "%s", j->reason);
        job_complete(f, j, j->kind, reason);
        return;
    }
    if (rc == CURLE_OK) {
        if (!j->body_ok) {
            job_fail(f, j, LQ_FETCH_HTTP_STATUS, "the image server answered HTTP %ld",
                     j->http_status);
            return;
        }
        if (!j->sniffed)
            j->format = lq_image_sniff(j->buf, j->len);
        if (j->format == LQ_FMT_UNKNOWN) {
            reject_not_image(j);
            char reason[LQ_FETCH_REASON_MAX];
            snprintf(reason, sizeof reason, "%s", j->reason);
            job_complete(f, j, LQ_FETCH_NOT_IMAGE, reason);
            return;
        }
        job_complete(f, j, LQ_FETCH_OK, "");
        return;
    }
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
        job_fail(f, j, LQ_FETCH_DNS, "host '%.100s' could not be resolved", j->host);
        return;
    case CURLE_OPERATION_TIMEDOUT:
        job_fail(f, j, LQ_FETCH_TIMEOUT, "fetching the reference timed out (%.150s)", detail);
        return;
    case CURLE_COULDNT_CONNECT:
        if (j->blocked[0]) {
            char reason[LQ_FETCH_REASON_MAX];
            snprintf(reason, sizeof reason, "%s", j->blocked);
            job_complete(f, j, LQ_FETCH_BLOCKED, reason);
        } else {
            job_fail(f, j, LQ_FETCH_CONNECT, "could not connect to '%.100s' (%.100s)", j->host,
                     detail);
        }
        return;
    case CURLE_FILESIZE_EXCEEDED:
        job_fail(f, j, LQ_FETCH_TOO_LARGE, "the image is larger than the limit of %zu bytes",
                 f->o.max_body_bytes);
        return;
    case CURLE_UNSUPPORTED_PROTOCOL:
        job_fail(f, j, LQ_FETCH_BLOCKED, "only http and https are allowed");
        return;
    case CURLE_URL_MALFORMAT:
        job_fail(f, j, LQ_FETCH_BAD_URL, "the reference URL is malformed");
        return;
    case CURLE_OUT_OF_MEMORY:
        job_fail(f, j, LQ_FETCH_INTERNAL, "out of memory");
        return;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        job_fail(f, j, LQ_FETCH_TLS, "TLS with '%.100s' failed (%.100s)", j->host, detail);
        return;
    default:
        job_fail(f, j, LQ_FETCH_NETWORK, "fetching the reference failed (%.150s)", detail);
        return;
    }
}

static void *fetch_thread(void *arg)
{
    lq_fetcher *f = arg;
    for (;;) {
        fetch_job *adopt = NULL, *drop = NULL;
        uint64_t completions_before = f->completions;
        pthread_mutex_lock(&f->mu);
        if (f->stopping) {
            pthread_mutex_unlock(&f->mu);
            break;
        }
        for (fetch_job *j = f->jobs, *next; j; j = next) {
            next = j->next;
            if (j->orphaned) {
                unlink_job_locked(f, j);
                j->work_next = drop;
                drop = j;
            } else if (!j->adopted) {
                j->adopted = 1;
                j->work_next = adopt;
                adopt = j;
            }
        }
        pthread_mutex_unlock(&f->mu);
        while (drop) {
            fetch_job *j = drop;
            drop = j->work_next;
            LQ_DEBUG(TAG, "transfer from %s abandoned: every request was cancelled", j->host);
            job_free(j);
        }
        while (adopt) {
            fetch_job *j = adopt;
            adopt = j->work_next;
            job_begin(f, j);
        }
        int running = 0;
        curl_multi_perform(f->multi, &running);
        CURLMsg *msg;
        int left = 0;
        while ((msg = curl_multi_info_read(f->multi, &left))) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            char *priv = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
            if (priv)
                job_hop_done(f, (fetch_job *)priv, msg->data.result);
        }
        if (f->completions != completions_before) {
            pthread_mutex_lock(&f->mu);
            int have_results = f->done.n > 0;
            pthread_mutex_unlock(&f->mu);
            if (have_results)
                f->o.notify(f->o.notify_ud);
        }
        curl_multi_poll(f->multi, NULL, 0, 1000, NULL);
    }
    return NULL;
}

/* ---- the owner's API ---------------------------------------------------- */

static pthread_once_t g_curl_once = PTHREAD_ONCE_INIT;
static CURLcode g_curl_init_rc = CURLE_FAILED_INIT;

static void curl_init_once(void)
{
    /* Process-wide and never undone: libcurl wants exactly one init, before
     * threads use it, and other parts of the program may use curl too. */
    g_curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int lq_fetcher_create(const lq_fetch_options *opts, lq_fetcher **out)
{
    if (!opts || !out)
        return LQ_EINVAL;
    char err[256];
    int rc = lq_fetch_options_validate(opts, err, sizeof err);
    if (rc < 0) {
        LQ_ERROR(TAG, "invalid fetcher settings: %s", err);
        return rc;
    }
    pthread_once(&g_curl_once, curl_init_once);
    if (g_curl_init_rc != CURLE_OK) {
        LQ_ERROR(TAG, "curl_global_init failed: %s", curl_easy_strerror(g_curl_init_rc));
        return LQ_EINTERNAL;
    }
    lq_fetcher *f = calloc(1, sizeof *f);
    if (!f)
        return LQ_ENOMEM;
    f->o = *opts;
    if (opts->allowed_hosts) {
        f->allowed_hosts = strdup(opts->allowed_hosts);
        if (!f->allowed_hosts) {
            free(f);
            return LQ_ENOMEM;
        }
    }
    f->o.allowed_hosts = f->allowed_hosts;
    rc = lq__fetch_allowlist_parse(f->allowed_hosts, &f->al, err, sizeof err);
    if (rc == 0 && f->o.cache_max_entries > 0)
        rc = lq_lru_create(f->o.cache_max_entries, f->o.cache_max_bytes,
                           (int64_t)f->o.cache_ttl_s * 1000, body_release_void, &f->cache);
    if (rc == 0) {
        f->multi = curl_multi_init();
        if (!f->multi)
            rc = LQ_ENOMEM;
    }
    if (rc == 0 && pthread_mutex_init(&f->mu, NULL) != 0)
        rc = LQ_EINTERNAL;
    else if (rc == 0 && pthread_create(&f->thread, NULL, fetch_thread, f) != 0) {
        pthread_mutex_destroy(&f->mu);
        rc = LQ_EINTERNAL;
    }
    if (rc < 0) {
        if (f->multi)
            curl_multi_cleanup(f->multi);
        lq_lru_destroy(f->cache);
        free(f->allowed_hosts);
        free(f);
        return rc;
    }
    LQ_INFO(TAG, "reference fetcher: %s, body <= %zu bytes, %d redirects, timeout %d ms, "
                 "cache %zu entries / %zu bytes",
            f->al.count ? "allow-list" : (f->o.allow_private_addresses ? "any address"
                                                                      : "public addresses only"),
            f->o.max_body_bytes, f->o.max_redirects, f->o.timeout_ms, f->o.cache_max_entries,
            f->o.cache_max_bytes);
    *out = f;
    return 0;
}

void lq_fetcher_destroy(lq_fetcher *f)
{
    if (!f)
        return;
    if (f->in_dispatch) {
        LQ_ERROR(TAG, "lq_fetcher_destroy called from a fetch callback");
        abort();
    }
    pthread_mutex_lock(&f->mu);
    f->stopping = 1;
    pthread_mutex_unlock(&f->mu);
    curl_multi_wakeup(f->multi);
    pthread_join(f->thread, NULL);
    /* The thread is gone: everything below is ours alone. */
    while (f->jobs) {
        fetch_job *j = f->jobs;
        unlink_job_locked(f, j);
        job_free(j);
    }
    req_list *lists[2] = {&f->done, &f->dispatching};
    for (int i = 0; i < 2; i++) {
        while (lists[i]->head) {
            fetch_req *r = lists[i]->head;
            list_remove(lists[i], r);
            req_free(r);
        }
    }
    lq_lru_destroy(f->cache);
    curl_multi_cleanup(f->multi);
    pthread_mutex_destroy(&f->mu);
    free(f->allowed_hosts);
    free(f);
}

int lq_fetcher_start(lq_fetcher *f, const char *url, lq_fetch_cb cb, void *ud, uint64_t *id_out)
{
    if (!f || !url || !cb)
        return LQ_EINVAL;
    fetch_req *r = calloc(1, sizeof *r);
    if (!r)
        return LQ_ENOMEM;
    r->url = strndup(url, LQ_FETCH_MAX_URL + 8);
    if (!r->url) {
        free(r);
        return LQ_ENOMEM;
    }
    r->cb = cb;
    r->ud = ud;
    r->t_start_ns = lq_clock_ns();

    /* Check the URL before touching shared state; a refused URL is reported
     * through the callback like any other failure. */
    char norm[LQ_FETCH_MAX_URL + 1], host[LQ_FETCH_MAX_HOST_LEN + 2], why[LQ_FETCH_REASON_MAX];
    enum lq_fetch_kind verdict = lq__fetch_check_url(url, &f->al, norm, sizeof norm, host,
                                                     sizeof host, why, sizeof why);
    int notify = 0, wake = 0;
    pthread_mutex_lock(&f->mu);
    if (f->nreqs >= (size_t)f->o.max_requests) {
        pthread_mutex_unlock(&f->mu);
        req_free(r);
        return LQ_EBUSY;
    }
    if (verdict != LQ_FETCH_OK) {
        req_finish_locked(f, r, verdict, why, 0, 0, NULL);
        notify = 1;
    } else {
        lq_fetch_body *hit = f->cache ? lq_lru_get(f->cache, url, now_ms()) : NULL;
        fetch_job *same = NULL;
        for (fetch_job *j = f->jobs; j && !hit; j = j->next)
            if (!j->orphaned && strcmp(j->url, url) == 0) {
                same = j;
                break;
            }
        if (hit) {
            r->from_cache = 1;
            f->st.cache_hits++;
            req_finish_locked(f, r, LQ_FETCH_OK, "", 200, 0, hit);
            notify = 1;
        } else if (same) {
            r->coalesced = 1;
            f->st.coalesced++;
            list_push(&same->waiters, r);
        } else {
            fetch_job *j = NULL;
            if (f->njobs >= f->o.max_inflight) {
                pthread_mutex_unlock(&f->mu);
                req_free(r);
                return LQ_EBUSY;
            }
            j = calloc(1, sizeof *j);
            char *key = strdup(url);
            if (!j || !key) {
                pthread_mutex_unlock(&f->mu);
                free(j);
                free(key);
                req_free(r);
                return LQ_ENOMEM;
            }
            j->f = f;
            j->url = key;
            j->kind = LQ_FETCH_OK;
            j->content_length = -1;
            j->deadline_ns = r->t_start_ns + (uint64_t)f->o.timeout_ms * 1000000u;
            snprintf(j->cur_url, sizeof j->cur_url, "%s", norm);
            snprintf(j->host, sizeof j->host, "%s", host);
            list_push(&j->waiters, r);
            j->next = f->jobs;
            if (f->jobs)
                f->jobs->prev = j;
            f->jobs = j;
            f->njobs++;
            f->st.transfers++;
            wake = 1;
        }
    }
    r->id = ++f->next_id;
    f->nreqs++;
    f->st.requests++;
    if (id_out)
        *id_out = r->id;
    pthread_mutex_unlock(&f->mu);
    if (wake)
        curl_multi_wakeup(f->multi);
    if (notify)
        f->o.notify(f->o.notify_ud);
    return 0;
}

int lq_fetcher_cancel(lq_fetcher *f, uint64_t id)
{
    if (!f || id == 0)
        return LQ_ENOTFOUND;
    fetch_req *found = NULL;
    int wake = 0;
    pthread_mutex_lock(&f->mu);
    if ((found = list_find(&f->done, id)))
        list_remove(&f->done, found);
    else if ((found = list_find(&f->dispatching, id)))
        list_remove(&f->dispatching, found);
    for (fetch_job *j = f->jobs; j && !found; j = j->next) {
        if ((found = list_find(&j->waiters, id))) {
            list_remove(&j->waiters, found);
            if (j->waiters.n == 0) {
                j->orphaned = 1;
                wake = 1;
            }
        }
    }
    if (found) {
        f->nreqs--;
        f->st.cancelled++;
    }
    pthread_mutex_unlock(&f->mu);
    if (wake)
        curl_multi_wakeup(f->multi);
    req_free(found);
    return found ? 0 : LQ_ENOTFOUND;
}

int lq_fetcher_dispatch(lq_fetcher *f)
{
    if (!f || f->in_dispatch)
        return 0;
    f->in_dispatch = 1;
    pthread_mutex_lock(&f->mu);
    /* Take what is queued now; later results wait for the next dispatch. */
    while (f->done.head) {
        fetch_req *r = f->done.head;
        list_remove(&f->done, r);
        list_push(&f->dispatching, r);
    }
    pthread_mutex_unlock(&f->mu);
    int ran = 0;
    for (;;) {
        pthread_mutex_lock(&f->mu);
        fetch_req *r = f->dispatching.head;
        if (r) {
            list_remove(&f->dispatching, r);
            f->nreqs--;
            f->st.delivered[r->kind]++;
        }
        pthread_mutex_unlock(&f->mu);
        if (!r)
            break;
        lq_fetch_result res = {
            .id = r->id,
            .status = r->status,
            .kind = r->kind,
            .reason = r->reason,
            .url = r->url,
            .http_status = r->http_status,
            .redirects = r->redirects,
            .from_cache = r->from_cache,
            .coalesced = r->coalesced,
            .elapsed_ms = (double)(r->t_done_ns - r->t_start_ns) / 1e6,
            .format = lq_fetch_body_format(r->body),
            .data = lq_fetch_body_data(r->body),
            .size = lq_fetch_body_size(r->body),
            .body = r->body,
        };
        r->cb(&res, r->ud);
        req_free(r);
        ran++;
    }
    f->in_dispatch = 0;
    return ran;
}

void lq_fetcher_stats(lq_fetcher *f, lq_fetch_stats *out)
{
    if (!f || !out)
        return;
    pthread_mutex_lock(&f->mu);
    *out = f->st;
    out->cache_entries = lq_lru_count(f->cache);
    out->cache_bytes = lq_lru_bytes(f->cache);
    out->evictions = lq_lru_evictions(f->cache);
    out->inflight = f->njobs;
    pthread_mutex_unlock(&f->mu);
}
