/*
 * Tests for src/service/fetch.c against a real local HTTP server
 * (tests/support/refserver.py), with the owner loop simulated by a pipe the
 * notify callback writes to, as lws_cancel_service() would wake lws.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/clock.h"
#include "image/codec.h"
#include "lq_refserver.h"
#include "lq_test.h"
#include "service/fetch.h"

#define JPG "/file/hands/tfjs_hands_two_dorsal.jpg"
#define JPG_FILE "hands/tfjs_hands_two_dorsal.jpg"
#define PNG "/file/hands/mpsamples_gesture_ios_thumbs-up.png"
#define PNG_FILE "hands/mpsamples_gesture_ios_thumbs-up.png"
#define WEBP "/file/video/palm_reach/0001.webp"
#define WEBP_FILE "video/palm_reach/0001.webp"

static lq_refserver g_srv;
static int g_wake[2] = {-1, -1};

/* ---- a tiny owner loop -------------------------------------------------- */

static void on_notify(void *ud)
{
    (void)ud;
    char c = 1;
    ssize_t w = write(g_wake[1], &c, 1); /* a full pipe already means "wake up" */
    (void)w;
}

typedef struct outcome {
    int calls;
    uint64_t id;
    int status;
    enum lq_fetch_kind kind;
    char reason[LQ_FETCH_REASON_MAX];
    long http_status;
    int redirects, from_cache, coalesced;
    double elapsed_ms;
    lq_format format;
    uint8_t *data;
    size_t size;
} outcome;

static int g_total_calls;

static void record(const lq_fetch_result *r, void *ud)
{
    outcome *o = ud;
    o->calls++;
    g_total_calls++;
    o->id = r->id;
    o->status = r->status;
    o->kind = r->kind;
    snprintf(o->reason, sizeof o->reason, "%s", r->reason);
    o->http_status = r->http_status;
    o->redirects = r->redirects;
    o->from_cache = r->from_cache;
    o->coalesced = r->coalesced;
    o->elapsed_ms = r->elapsed_ms;
    o->format = r->format;
    free(o->data);
    o->data = NULL;
    o->size = r->size;
    if (r->data) {
        assert_non_null(r->body);
        assert_ptr_equal(lq_fetch_body_data(r->body), r->data);
        assert_int_equal(lq_fetch_body_size(r->body), r->size);
        o->data = malloc(r->size ? r->size : 1);
        assert_non_null(o->data);
        memcpy(o->data, r->data, r->size);
    } else {
        assert_null(r->body);
        assert_int_equal(r->size, 0);
    }
    assert_true((r->status == 0) == (r->kind == LQ_FETCH_OK));
}

static void outcome_clear(outcome *o)
{
    free(o->data);
    memset(o, 0, sizeof *o);
}

/* Runs the owner loop until *calls >= want or timeout_ms passes. */
static void pump_until(lq_fetcher *f, const int *calls, int want, int timeout_ms)
{
    double end = lq_clock_ms() + timeout_ms;
    while (*calls < want) {
        double left = end - lq_clock_ms();
        if (left <= 0)
            break;
        struct pollfd p = {.fd = g_wake[0], .events = POLLIN};
        if (poll(&p, 1, (int)left + 1) > 0) {
            char buf[64];
            while (read(g_wake[0], buf, sizeof buf) > 0) {
            }
        }
        lq_fetcher_dispatch(f);
    }
}

/* Runs the loop for ms, dispatching whatever arrives. */
static void pump_for(lq_fetcher *f, int ms)
{
    int never = 0;
    pump_until(f, &never, 1, ms);
}

static lq_fetch_options base_options(void)
{
    lq_fetch_options o;
    lq_fetch_options_default(&o);
    o.allow_private_addresses = 1; /* the server is on loopback */
    o.timeout_ms = 5000;
    o.notify = on_notify;
    return o;
}

static lq_fetcher *make(const lq_fetch_options *o)
{
    lq_fetcher *f = NULL;
    assert_int_equal(lq_fetcher_create(o, &f), 0);
    assert_non_null(f);
    return f;
}

static char *url(const char *path)
{
    static char buf[8][1024];
    static int next;
    char *b = buf[next++ % 8];
    return lq_refserver_url(&g_srv, path, b, sizeof buf[0]);
}

/* Fetches one URL to completion with fetcher f. */
static void fetch_one(lq_fetcher *f, const char *u, outcome *o)
{
    uint64_t id = 0;
    assert_int_equal(lq_fetcher_start(f, u, record, o, &id), 0);
    assert_true(id != 0);
    pump_until(f, &o->calls, 1, 15000);
    assert_int_equal(o->calls, 1);
    assert_true(o->id == id);
}

static void assert_same_as_file(const outcome *o, const char *rel)
{
    size_t n = 0;
    uint8_t *want = lq_test_read_file(lq_test_data(rel), &n);
    assert_non_null(want);
    assert_int_equal(o->size, n);
    assert_memory_equal(o->data, want, n);
    free(want);
}

static void assert_reason_has(const outcome *o, const char *needle)
{
    if (!strstr(o->reason, needle))
        fail_msg("reason \"%s\" lacks \"%s\"", o->reason, needle);
}

/* ---- fixtures ----------------------------------------------------------- */

static int group_setup(void **state)
{
    (void)state;
    if (pipe2(g_wake, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    return lq_refserver_start(&g_srv, NULL);
}

static int group_teardown(void **state)
{
    (void)state;
    lq_refserver_stop(&g_srv);
    close(g_wake[0]);
    close(g_wake[1]);
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

static void fetches_jpeg_png_and_webp_intact(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    lq_fetcher *f = make(&o);
    const char *paths[3] = {JPG, PNG, WEBP};
    const char *files[3] = {JPG_FILE, PNG_FILE, WEBP_FILE};
    lq_format formats[3] = {LQ_FMT_JPEG, LQ_FMT_PNG, LQ_FMT_WEBP};
    for (int i = 0; i < 3; i++) {
        outcome out = {0};
        fetch_one(f, url(paths[i]), &out);
        assert_int_equal(out.status, 0);
        assert_int_equal(out.kind, LQ_FETCH_OK);
        assert_string_equal(out.reason, "");
        assert_int_equal(out.http_status, 200);
        assert_int_equal(out.format, formats[i]);
        assert_int_equal(out.from_cache, 0);
        assert_same_as_file(&out, files[i]);
        /* What the fetcher accepts, the decoder takes. */
        lq_image img;
        char err[128];
        lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
        assert_int_equal(lq_image_decode(out.data, out.size, &lim, &img, err, sizeof err), 0);
        assert_true(img.width > 0 && img.height > 0);
        lq_image_free(&img);
        outcome_clear(&out);
    }
    lq_fetch_stats st;
    lq_fetcher_stats(f, &st);
    assert_int_equal(st.requests, 3);
    assert_int_equal(st.transfers, 3);
    assert_int_equal(st.delivered[LQ_FETCH_OK], 3);
    assert_int_equal(st.cache_entries, 3);
    assert_int_equal(st.inflight, 0);
    lq_fetcher_destroy(f);
}

static void http_errors_give_status_and_reason(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    lq_fetcher *f = make(&o);
    outcome out = {0};
    fetch_one(f, url("/file/hands/no_such_file.jpg"), &out);
    assert_int_equal(out.kind, LQ_FETCH_HTTP_STATUS);
    assert_int_equal(out.status, LQ_ENOTFOUND);
    assert_int_equal(out.http_status, 404);
    assert_reason_has(&out, "HTTP 404");
    outcome_clear(&out);
    fetch_one(f, url("/status/500"), &out);
    assert_int_equal(out.kind, LQ_FETCH_HTTP_STATUS);
    assert_int_equal(out.status, LQ_EIO);
    assert_int_equal(out.http_status, 500);
    outcome_clear(&out);
    /* 204 is not an image either. */
    fetch_one(f, url("/status/204"), &out);
    assert_int_equal(out.kind, LQ_FETCH_HTTP_STATUS);
    assert_int_equal(out.http_status, 204);
    outcome_clear(&out);
    /* Failures are not cached: the server sees the second request. */
    fetch_one(f, url("/status/500"), &out);
    assert_int_equal(lq_refserver_hits(&g_srv, "/status/500"), 2);
    outcome_clear(&out);
    lq_fetcher_destroy(f);
}

static void redirects_are_followed_up_to_the_limit(void **state)
{
    (void)state;
    lq_fetch_options o = base_options(); /* max_redirects 3 */
    assert_int_equal(o.max_redirects, 3);
    lq_fetcher *f = make(&o);
    outcome out = {0};
    fetch_one(f, url("/redirect/3" JPG), &out);
    assert_int_equal(out.kind, LQ_FETCH_OK);
    assert_int_equal(out.redirects, 3);
    assert_same_as_file(&out, JPG_FILE);
    outcome_clear(&out);

    fetch_one(f, url("/redirect/4" JPG "?tag=four"), &out);
    assert_int_equal(out.kind, LQ_FETCH_TOO_MANY_REDIRECTS);
    assert_int_equal(out.status, LQ_ELIMIT);
    assert_int_equal(out.redirects, 3);
    assert_reason_has(&out, "more than 3");
    outcome_clear(&out);

    /* A loop: the first request plus three followed redirects, then stop. */
    fetch_one(f, url("/loop"), &out);
    assert_int_equal(out.kind, LQ_FETCH_TOO_MANY_REDIRECTS);
    assert_int_equal(lq_refserver_hits(&g_srv, "/loop"), 4);
    outcome_clear(&out);
    lq_fetcher_destroy(f);

    /* max_redirects 0: the first redirect is already too many. */
    o.max_redirects = 0;
    f = make(&o);
    fetch_one(f, url("/redirect/1" JPG "?tag=zero"), &out);
    assert_int_equal(out.kind, LQ_FETCH_TOO_MANY_REDIRECTS);
    outcome_clear(&out);
    lq_fetcher_destroy(f);
}

static void redirects_to_other_schemes_are_blocked(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    lq_fetcher *f = make(&o);
    outcome out = {0};
    fetch_one(f, url("/redirect_to?url=file:///etc/passwd"), &out);
    assert_int_equal(out.kind, LQ_FETCH_BLOCKED);
    assert_int_equal(out.status, LQ_EINVAL);
    assert_reason_has(&out, "redirect was refused");
    assert_reason_has(&out, "'file'");
    outcome_clear(&out);
    fetch_one(f, url("/redirect_to?url=ftp://127.0.0.1/x.jpg"), &out);
    assert_int_equal(out.kind, LQ_FETCH_BLOCKED);
    assert_reason_has(&out, "'ftp'");
    outcome_clear(&out);
    lq_fetcher_destroy(f);
}

static void slow_servers_time_out(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    o.timeout_ms = 500;
    lq_fetcher *f = make(&o);
    outcome out = {0};
    double t0 = lq_clock_ms();
    fetch_one(f, url(JPG "?delay_ms=3000"), &out);
    double took = lq_clock_ms() - t0;
    assert_int_equal(out.kind, LQ_FETCH_TIMEOUT);
    assert_int_equal(out.status, LQ_ETIMEDOUT);
    assert_true(took >= 450 && took < 2000);
    assert_true(out.elapsed_ms >= 450 && out.elapsed_ms < 2000);
    outcome_clear(&out);
    /* A body that trickles in is bounded by the same total timeout. */
    t0 = lq_clock_ms();
    fetch_one(f, url("/trickle"), &out);
    took = lq_clock_ms() - t0;
    assert_int_equal(out.kind, LQ_FETCH_TIMEOUT);
    assert_true(took < 2000);
    outcome_clear(&out);
    lq_fetcher_destroy(f);
}

static void oversized_bodies_are_cut_off(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    o.max_body_bytes = 256 * 1024;
    lq_fetcher *f = make(&o);
    outcome out = {0};
    /* Endless body, no Content-Length: aborted once past the cap. */
    double t0 = lq_clock_ms();
    fetch_one(f, url("/endless"), &out);
    assert_int_equal(out.kind, LQ_FETCH_TOO_LARGE);
    assert_int_equal(out.status, LQ_ELIMIT);
    assert_reason_has(&out, "262144");
    assert_true(lq_clock_ms() - t0 < 3000);
    outcome_clear(&out);
    lq_fetch_stats st;
    lq_fetcher_stats(f, &st);
    assert_true(st.bytes_received >= 256 * 1024);
    assert_true(st.bytes_received < 256 * 1024 + 256 * 1024); /* one curl buffer at most */

    /* A huge Content-Length is refused before the body (the server then
     * stalls for 30 s, so only the up-front check can be this quick). */
    t0 = lq_clock_ms();
    fetch_one(f, url("/huge"), &out);
    assert_int_equal(out.kind, LQ_FETCH_TOO_LARGE);
    assert_reason_has(&out, "1000000000000");
    assert_true(lq_clock_ms() - t0 < 1500);
    outcome_clear(&out);

    /* A real image above the cap (the PNG is 691177 bytes) fails too. */
    fetch_one(f, url(PNG), &out);
    assert_int_equal(out.kind, LQ_FETCH_TOO_LARGE);
    outcome_clear(&out);
    lq_fetcher_destroy(f);
}

static void non_images_are_rejected_with_a_clear_reason(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    lq_fetcher *f = make(&o);
    outcome out = {0};
    fetch_one(f, url("/html"), &out);
    assert_int_equal(out.kind, LQ_FETCH_NOT_IMAGE);
    assert_int_equal(out.status, LQ_EUNSUPPORTED);
    assert_reason_has(&out, "text/html");
    assert_reason_has(&out, "<!DOCTYPE html>");
    outcome_clear(&out);
    /* The server's Content-Type is not trusted. */
    fetch_one(f, url("/liar"), &out);
    assert_int_equal(out.kind, LQ_FETCH_NOT_IMAGE);
    assert_reason_has(&out, "image/jpeg");
    outcome_clear(&out);
    fetch_one(f, url("/gif"), &out);
    assert_int_equal(out.kind, LQ_FETCH_NOT_IMAGE);
    assert_reason_has(&out, "GIF89a");
    outcome_clear(&out);
    fetch_one(f, url("/empty"), &out);
    assert_int_equal(out.kind, LQ_FETCH_NOT_IMAGE);
    assert_reason_has(&out, "0 bytes");
    outcome_clear(&out);
    /* ...while a correct image with a wrong Content-Type is accepted. */
    fetch_one(f, url(JPG "?ctype=text/plain"), &out);
    assert_int_equal(out.kind, LQ_FETCH_OK);
    assert_int_equal(out.format, LQ_FMT_JPEG);
    outcome_clear(&out);
    lq_fetcher_destroy(f);
}

static void second_fetch_is_served_from_the_cache(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    lq_fetcher *f = make(&o);
    const char *path = JPG "?tag=cache";
    outcome a = {0}, b = {0};
    fetch_one(f, url(path), &a);
    assert_int_equal(a.kind, LQ_FETCH_OK);
    assert_int_equal(a.from_cache, 0);
    fetch_one(f, url(path), &b);
    assert_int_equal(b.kind, LQ_FETCH_OK);
    assert_int_equal(b.from_cache, 1);
    assert_int_equal(b.size, a.size);
    assert_memory_equal(b.data, a.data, a.size);
    assert_int_equal(lq_refserver_hits(&g_srv, path), 1);
    lq_fetch_stats st;
    lq_fetcher_stats(f, &st);
    assert_int_equal(st.cache_hits, 1);
    assert_int_equal(st.transfers, 1);
    outcome_clear(&a);
    outcome_clear(&b);
    lq_fetcher_destroy(f);
}

static void cache_evicts_by_count_and_can_be_disabled(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    o.cache_max_entries = 1;
    lq_fetcher *f = make(&o);
    const char *pa = JPG "?tag=evict-a", *pb = WEBP "?tag=evict-b";
    outcome out = {0};
    fetch_one(f, url(pa), &out);
    outcome_clear(&out);
    fetch_one(f, url(pb), &out); /* evicts a */
    outcome_clear(&out);
    fetch_one(f, url(pa), &out);
    assert_int_equal(out.from_cache, 0);
    outcome_clear(&out);
    fetch_one(f, url(pa), &out);
    assert_int_equal(out.from_cache, 1);
    outcome_clear(&out);
    assert_int_equal(lq_refserver_hits(&g_srv, pa), 2);
    lq_fetch_stats st;
    lq_fetcher_stats(f, &st);
    assert_int_equal(st.cache_entries, 1);
    assert_int_equal(st.evictions, 2);
    lq_fetcher_destroy(f);

    /* The byte cap: a cache smaller than the body keeps nothing. */
    o.cache_max_entries = 8;
    o.cache_max_bytes = 1000;
    f = make(&o);
    const char *pc = JPG "?tag=bytes";
    fetch_one(f, url(pc), &out);
    outcome_clear(&out);
    fetch_one(f, url(pc), &out);
    assert_int_equal(out.from_cache, 0);
    outcome_clear(&out);
    assert_int_equal(lq_refserver_hits(&g_srv, pc), 2);
    lq_fetcher_destroy(f);

    o.cache_max_entries = 0; /* disabled */
    f = make(&o);
    const char *pd = JPG "?tag=nocache";
    fetch_one(f, url(pd), &out);
    outcome_clear(&out);
    fetch_one(f, url(pd), &out);
    assert_int_equal(out.from_cache, 0);
    outcome_clear(&out);
    assert_int_equal(lq_refserver_hits(&g_srv, pd), 2);
    lq_fetcher_destroy(f);
}

static void concurrent_requests_share_one_transfer(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    lq_fetcher *f = make(&o);
    const char *path = JPG "?delay_ms=300&tag=coalesce";
    outcome outs[5];
    memset(outs, 0, sizeof outs);
    int calls_before = g_total_calls;
    for (int i = 0; i < 5; i++)
        assert_int_equal(lq_fetcher_start(f, url(path), record, &outs[i], NULL), 0);
    pump_until(f, &g_total_calls, calls_before + 5, 10000);
    int coalesced = 0;
    for (int i = 0; i < 5; i++) {
        assert_int_equal(outs[i].calls, 1);
        assert_int_equal(outs[i].kind, LQ_FETCH_OK);
        assert_same_as_file(&outs[i], JPG_FILE);
        coalesced += outs[i].coalesced;
        outcome_clear(&outs[i]);
    }
    assert_int_equal(coalesced, 4);
    assert_int_equal(lq_refserver_hits(&g_srv, path), 1);
    lq_fetch_stats st;
    lq_fetcher_stats(f, &st);
    assert_int_equal(st.transfers, 1);
    assert_int_equal(st.coalesced, 4);
    lq_fetcher_destroy(f);
}

static void allow_list_limits_hosts_and_redirects(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    o.allow_private_addresses = 0;   /* the allow-list alone decides */
    o.allowed_hosts = "localhost, *.example.invalid";
    lq_fetcher *f = make(&o);
    char buf[1024];
    outcome out = {0};
    const char *path = JPG "?tag=allow";
    fetch_one(f, lq_refserver_url_host(&g_srv, "localhost", path, buf, sizeof buf), &out);
    assert_int_equal(out.kind, LQ_FETCH_OK);
    assert_same_as_file(&out, JPG_FILE);
    outcome_clear(&out);

    const char *path2 = JPG "?tag=not-listed";
    fetch_one(f, url(path2), &out); /* 127.0.0.1 is not on the list */
    assert_int_equal(out.kind, LQ_FETCH_BLOCKED);
    assert_int_equal(out.status, LQ_EINVAL);
    assert_reason_has(&out, "'127.0.0.1' is not on the allow-list");
    assert_int_equal(lq_refserver_hits(&g_srv, path2), 0);
    outcome_clear(&out);

    /* A listed host redirecting to an unlisted one is stopped at the hop. */
    char target[1024], redir[2048];
    lq_refserver_url(&g_srv, JPG "?tag=hop", target, sizeof target);
    snprintf(redir, sizeof redir, "/redirect_to?url=%s", target);
    fetch_one(f, lq_refserver_url_host(&g_srv, "localhost", redir, buf, sizeof buf), &out);
    assert_int_equal(out.kind, LQ_FETCH_BLOCKED);
    assert_reason_has(&out, "redirect was refused");
    assert_reason_has(&out, "not on the allow-list");
    assert_int_equal(lq_refserver_hits(&g_srv, JPG "?tag=hop"), 0);
    outcome_clear(&out);
    lq_fetcher_destroy(f);
}

static void internal_addresses_are_refused_unless_allowed(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    o.allow_private_addresses = 0; /* the production default */
    lq_fetcher *f = make(&o);
    char buf[1024];
    outcome out = {0};
    const char *path = JPG "?tag=internal";

    fetch_one(f, url(path), &out);
    assert_int_equal(out.kind, LQ_FETCH_BLOCKED);
    assert_reason_has(&out, "127.0.0.1, a loopback address");
    outcome_clear(&out);
    /* A name is judged by the address it resolves to, at connect time. */
    fetch_one(f, lq_refserver_url_host(&g_srv, "localhost", path, buf, sizeof buf), &out);
    assert_int_equal(out.kind, LQ_FETCH_BLOCKED);
    assert_reason_has(&out, "loopback");
    outcome_clear(&out);
    /* Other spellings of local addresses. */
    fetch_one(f, lq_refserver_url_host(&g_srv, "2130706433", path, buf, sizeof buf), &out);
    assert_int_equal(out.kind, LQ_FETCH_BLOCKED);
    outcome_clear(&out);
    fetch_one(f, lq_refserver_url_host(&g_srv, "0.0.0.0", path, buf, sizeof buf), &out);
    assert_int_equal(out.kind, LQ_FETCH_BLOCKED);
    assert_reason_has(&out, "reserved");
    outcome_clear(&out);
    fetch_one(f, lq_refserver_url_host(&g_srv, "[::ffff:127.0.0.1]", path, buf, sizeof buf),
              &out);
    assert_int_equal(out.kind, LQ_FETCH_BLOCKED);
    outcome_clear(&out);
    assert_int_equal(lq_refserver_hits(&g_srv, path), 0); /* nothing reached the server */
    lq_fetcher_destroy(f);

    o.allow_private_addresses = 1;
    f = make(&o);
    fetch_one(f, url(path), &out);
    assert_int_equal(out.kind, LQ_FETCH_OK);
    outcome_clear(&out);
    assert_int_equal(lq_refserver_hits(&g_srv, path), 1);
    lq_fetcher_destroy(f);
}

static void bad_urls_are_reported_through_the_callback(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    lq_fetcher *f = make(&o);
    static const struct {
        const char *url;
        enum lq_fetch_kind kind;
        const char *reason;
    } cases[] = {
        {"", LQ_FETCH_BAD_URL, "empty"},
        {"not a url", LQ_FETCH_BAD_URL, "malformed"},
        {"cdn.example.com/x.jpg", LQ_FETCH_BAD_URL, "malformed"},
        {"ftp://127.0.0.1/x.jpg", LQ_FETCH_BLOCKED, "only http and https"},
        {"file:///etc/passwd", LQ_FETCH_BLOCKED, "only http and https"},
        {"gopher://127.0.0.1:70/", LQ_FETCH_BLOCKED, "only http and https"},
        {"http://user:pw@127.0.0.1/x.jpg", LQ_FETCH_BLOCKED, "password"},
        {"http://bad_host.example/x.jpg", LQ_FETCH_BAD_URL, "host"},
        {"http://[::1/x.jpg", LQ_FETCH_BAD_URL, "malformed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        outcome out = {0};
        fetch_one(f, cases[i].url, &out);
        if (out.kind != cases[i].kind)
            fail_msg("%s: kind %s (%s)", cases[i].url, lq_fetch_kind_name(out.kind), out.reason);
        assert_int_equal(out.status, LQ_EINVAL);
        assert_reason_has(&out, cases[i].reason);
        outcome_clear(&out);
    }
    char *longurl = malloc(LQ_FETCH_MAX_URL + 64);
    assert_non_null(longurl);
    int n = snprintf(longurl, LQ_FETCH_MAX_URL + 64, "http://127.0.0.1/");
    memset(longurl + n, 'a', LQ_FETCH_MAX_URL + 63 - (size_t)n);
    longurl[LQ_FETCH_MAX_URL + 63] = 0;
    outcome out = {0};
    fetch_one(f, longurl, &out);
    assert_int_equal(out.kind, LQ_FETCH_BAD_URL);
    assert_reason_has(&out, "longer than 2048");
    outcome_clear(&out);
    free(longurl);
    lq_fetch_stats st;
    lq_fetcher_stats(f, &st);
    assert_int_equal(st.transfers, 0);
    lq_fetcher_destroy(f);
}

static void unresolvable_hosts_are_dns_failures(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    lq_fetcher *f = make(&o);
    outcome out = {0};
    fetch_one(f, "http://lacquer-test.invalid/x.jpg", &out);
    assert_int_equal(out.kind, LQ_FETCH_DNS);
    assert_int_equal(out.status, LQ_ENOTFOUND);
    assert_reason_has(&out, "lacquer-test.invalid");
    outcome_clear(&out);
    lq_fetcher_destroy(f);
}

static void refused_connections_are_connect_failures(void **state)
{
    (void)state;
    /* Find a closed port: bind, note it, close. */
    lq_refserver tmp;
    assert_int_equal(lq_refserver_start(&tmp, NULL), 0);
    char u[256];
    lq_refserver_url(&tmp, JPG, u, sizeof u);
    lq_refserver_stop(&tmp);
    lq_fetch_options o = base_options();
    lq_fetcher *f = make(&o);
    outcome out = {0};
    fetch_one(f, u, &out);
    assert_int_equal(out.kind, LQ_FETCH_CONNECT);
    assert_int_equal(out.status, LQ_EIO);
    outcome_clear(&out);
    lq_fetcher_destroy(f);
}

static void cancelled_requests_never_call_back(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    lq_fetcher *f = make(&o);
    outcome a = {0}, b = {0}, c = {0};
    uint64_t ida = 0, idb = 0, idc = 0;
    /* Alone on its transfer: cancelling aborts the transfer. */
    assert_int_equal(lq_fetcher_start(f, url(JPG "?delay_ms=400&tag=cancel-a"), record, &a,
                                      &ida), 0);
    assert_int_equal(lq_fetcher_cancel(f, ida), 0);
    assert_int_equal(lq_fetcher_cancel(f, ida), LQ_ENOTFOUND);
    /* Two on one transfer: the one left still gets its result. */
    const char *shared = JPG "?delay_ms=300&tag=cancel-b";
    assert_int_equal(lq_fetcher_start(f, url(shared), record, &b, &idb), 0);
    assert_int_equal(lq_fetcher_start(f, url(shared), record, &c, &idc), 0);
    assert_int_equal(lq_fetcher_cancel(f, idb), 0);
    pump_until(f, &c.calls, 1, 5000);
    assert_int_equal(c.calls, 1);
    assert_int_equal(c.kind, LQ_FETCH_OK);
    pump_for(f, 600);
    assert_int_equal(a.calls, 0);
    assert_int_equal(b.calls, 0);
    lq_fetch_stats st;
    lq_fetcher_stats(f, &st);
    assert_int_equal(st.inflight, 0);
    assert_int_equal(st.cancelled, 2);
    assert_int_equal(lq_fetcher_cancel(f, idc), LQ_ENOTFOUND); /* already delivered */
    outcome_clear(&c);

    /* A finished result waiting for dispatch can still be withdrawn. */
    outcome d = {0};
    uint64_t idd = 0;
    assert_int_equal(lq_fetcher_start(f, url(shared), record, &d, &idd), 0); /* cache hit */
    assert_int_equal(lq_fetcher_cancel(f, idd), 0);
    pump_for(f, 200);
    assert_int_equal(d.calls, 0);
    lq_fetcher_destroy(f);
}

/* Callbacks may start (and cancel) fetches; what they start is delivered by a
 * later dispatch, never inside the same callback. */
typedef struct chain_ctx {
    lq_fetcher *f;
    outcome first, second;
    int first_done_when_second_ran;
} chain_ctx;

static void on_second(const lq_fetch_result *r, void *ud)
{
    chain_ctx *c = ud;
    c->first_done_when_second_ran = c->first.calls;
    record(r, &c->second);
}

static void on_first(const lq_fetch_result *r, void *ud)
{
    chain_ctx *c = ud;
    record(r, &c->first);
    assert_int_equal(lq_fetcher_start(c->f, url(WEBP "?tag=chain"), on_second, c, NULL), 0);
    /* A nested dispatch is a no-op. */
    assert_int_equal(lq_fetcher_dispatch(c->f), 0);
}

static void callbacks_can_start_fetches(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    chain_ctx c;
    memset(&c, 0, sizeof c);
    c.f = make(&o);
    assert_int_equal(lq_fetcher_start(c.f, url(JPG "?tag=chain"), on_first, &c, NULL), 0);
    pump_until(c.f, &c.second.calls, 1, 5000);
    assert_int_equal(c.first.calls, 1);
    assert_int_equal(c.second.calls, 1);
    assert_int_equal(c.first_done_when_second_ran, 1);
    assert_int_equal(c.second.format, LQ_FMT_WEBP);
    outcome_clear(&c.first);
    outcome_clear(&c.second);
    lq_fetcher_destroy(c.f);
}

static void start_refuses_bad_arguments_and_overload(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    o.max_requests = 2;
    o.max_inflight = 1;
    lq_fetcher *f = make(&o);
    outcome a = {0}, b = {0}, c = {0};
    uint64_t id = 12345;
    assert_int_equal(lq_fetcher_start(NULL, url(JPG), record, &a, &id), LQ_EINVAL);
    assert_int_equal(lq_fetcher_start(f, NULL, record, &a, &id), LQ_EINVAL);
    assert_int_equal(lq_fetcher_start(f, url(JPG), NULL, &a, &id), LQ_EINVAL);
    assert_true(id == 12345);
    const char *slow = JPG "?delay_ms=300&tag=busy";
    assert_int_equal(lq_fetcher_start(f, url(slow), record, &a, NULL), 0);
    /* max_inflight 1: another URL is refused at once... */
    assert_int_equal(lq_fetcher_start(f, url(WEBP "?tag=busy"), record, &c, &id), LQ_EBUSY);
    assert_true(id == 12345);
    /* ...but the same URL joins the transfer in flight. */
    assert_int_equal(lq_fetcher_start(f, url(slow), record, &b, NULL), 0);
    /* max_requests 2: a third undelivered request is refused. */
    assert_int_equal(lq_fetcher_start(f, url(slow), record, &c, NULL), LQ_EBUSY);
    pump_until(f, &b.calls, 1, 5000);
    pump_for(f, 100);
    assert_int_equal(a.calls, 1);
    assert_int_equal(b.calls, 1);
    assert_int_equal(c.calls, 0); /* refused starts never call back */
    outcome_clear(&a);
    outcome_clear(&b);
    /* Capacity is back once results are delivered. */
    assert_int_equal(lq_fetcher_start(f, url(WEBP "?tag=busy"), record, &c, NULL), 0);
    pump_until(f, &c.calls, 1, 5000);
    assert_int_equal(c.kind, LQ_FETCH_OK);
    outcome_clear(&c);
    lq_fetcher_destroy(f);
    assert_int_equal(lq_fetcher_cancel(NULL, 1), LQ_ENOTFOUND);
    assert_int_equal(lq_fetcher_dispatch(NULL), 0);
    lq_fetcher_destroy(NULL);
}

static void destroy_with_fetches_in_flight_is_clean(void **state)
{
    (void)state;
    lq_fetch_options o = base_options();
    o.max_body_bytes = 256u << 20; /* keeps /endless streaming */
    lq_fetcher *f = make(&o);
    int calls_before = g_total_calls;
    outcome outs[6];
    memset(outs, 0, sizeof outs);
    assert_int_equal(lq_fetcher_start(f, url(JPG "?delay_ms=2000&tag=d1"), record, &outs[0],
                                      NULL), 0);
    assert_int_equal(lq_fetcher_start(f, url(JPG "?delay_ms=2000&tag=d1"), record, &outs[1],
                                      NULL), 0);
    assert_int_equal(lq_fetcher_start(f, url("/endless"), record, &outs[2], NULL), 0);
    assert_int_equal(lq_fetcher_start(f, url("/huge"), record, &outs[3], NULL), 0);
    assert_int_equal(lq_fetcher_start(f, url("/trickle"), record, &outs[4], NULL), 0);
    assert_int_equal(lq_fetcher_start(f, "ftp://x/y", record, &outs[5], NULL), 0); /* queued */
    usleep(300 * 1000); /* let the transfers get going */
    lq_fetch_stats st;
    lq_fetcher_stats(f, &st);
    assert_true(st.inflight >= 2); /* at least the delayed and the trickling one */
    double t0 = lq_clock_ms();
    lq_fetcher_destroy(f);
    assert_true(lq_clock_ms() - t0 < 1000);
    assert_int_equal(g_total_calls, calls_before);
    /* And straight after create. */
    f = make(&o);
    lq_fetcher_destroy(f);
}

static void options_are_validated_by_name(void **state)
{
    (void)state;
    char err[256];
    lq_fetch_options o = base_options();
    assert_int_equal(lq_fetch_options_validate(&o, err, sizeof err), 0);
    o.timeout_ms = 5;
    assert_int_equal(lq_fetch_options_validate(&o, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "timeout_ms"));
    o = base_options();
    o.max_redirects = 11;
    assert_int_equal(lq_fetch_options_validate(&o, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "max_redirects"));
    o = base_options();
    o.max_body_bytes = 10;
    assert_int_equal(lq_fetch_options_validate(&o, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "max_body_bytes"));
    o = base_options();
    o.allowed_hosts = "cdn.example.com,,x.com";
    assert_int_equal(lq_fetch_options_validate(&o, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "allowed_hosts"));
    o = base_options();
    o.allowed_hosts = "https://cdn.example.com";
    assert_int_equal(lq_fetch_options_validate(&o, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "allowed_hosts"));
    o = base_options();
    o.notify = NULL;
    assert_int_equal(lq_fetch_options_validate(&o, err, sizeof err), LQ_EINVAL);
    assert_non_null(strstr(err, "notify"));
    lq_fetcher *f = (lq_fetcher *)&o; /* must stay untouched */
    assert_int_equal(lq_fetcher_create(&o, &f), LQ_EINVAL);
    assert_ptr_equal(f, (lq_fetcher *)&o);
    assert_int_equal(lq_fetcher_create(NULL, &f), LQ_EINVAL);
}

static void names_are_stable(void **state)
{
    (void)state;
    assert_string_equal(lq_fetch_kind_name(LQ_FETCH_OK), "ok");
    assert_string_equal(lq_fetch_kind_name(LQ_FETCH_TIMEOUT), "timeout");
    assert_string_equal(lq_fetch_kind_name(LQ_FETCH_TOO_MANY_REDIRECTS), "too_many_redirects");
    assert_string_equal(lq_fetch_kind_name(LQ_FETCH_KIND_COUNT), "unknown");
    for (int k = 0; k < LQ_FETCH_KIND_COUNT; k++)
        for (int m = k + 1; m < LQ_FETCH_KIND_COUNT; m++)
            assert_string_not_equal(lq_fetch_kind_name(k), lq_fetch_kind_name(m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fetches_jpeg_png_and_webp_intact),
        cmocka_unit_test(http_errors_give_status_and_reason),
        cmocka_unit_test(redirects_are_followed_up_to_the_limit),
        cmocka_unit_test(redirects_to_other_schemes_are_blocked),
        cmocka_unit_test(slow_servers_time_out),
        cmocka_unit_test(oversized_bodies_are_cut_off),
        cmocka_unit_test(non_images_are_rejected_with_a_clear_reason),
        cmocka_unit_test(second_fetch_is_served_from_the_cache),
        cmocka_unit_test(cache_evicts_by_count_and_can_be_disabled),
        cmocka_unit_test(concurrent_requests_share_one_transfer),
        cmocka_unit_test(allow_list_limits_hosts_and_redirects),
        cmocka_unit_test(internal_addresses_are_refused_unless_allowed),
        cmocka_unit_test(bad_urls_are_reported_through_the_callback),
        cmocka_unit_test(unresolvable_hosts_are_dns_failures),
        cmocka_unit_test(refused_connections_are_connect_failures),
        cmocka_unit_test(cancelled_requests_never_call_back),
        cmocka_unit_test(callbacks_can_start_fetches),
        cmocka_unit_test(start_refuses_bad_arguments_and_overload),
        cmocka_unit_test(destroy_with_fetches_in_flight_is_clean),
        cmocka_unit_test(options_are_validated_by_name),
        cmocka_unit_test(names_are_stable),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
