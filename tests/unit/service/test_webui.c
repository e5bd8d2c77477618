/* test_webui.c - the embedded demo page (src/service/webui.c and the table that
 * cmake/embed_web.cmake generates from web/). The HTTP side (headers, 304, 404, 405) is
 * exercised against the real service by tests/browser/test_demo.mjs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lq_test.h"
#include "service/webui.h"

static void root_is_index_and_files_are_found_by_name(void **state)
{
    (void)state;
    const svc_web_asset *root = svc_web_find("/");
    assert_non_null(root);
    assert_ptr_equal(root, svc_web_find("/index.html"));
    assert_string_equal(root->content_type, "text/html; charset=utf-8");
    const svc_web_asset *js = svc_web_find("/app.js");
    assert_non_null(js);
    assert_string_equal(js->content_type, "text/javascript; charset=utf-8");
    const svc_web_asset *css = svc_web_find("/style.css");
    assert_non_null(css);
    assert_string_equal(css->content_type, "text/css; charset=utf-8");
    const svc_web_asset *icon = svc_web_find("/favicon.svg");
    assert_non_null(icon);
    assert_string_equal(icon->content_type, "image/svg+xml");
}

static void other_paths_are_not_page_assets(void **state)
{
    (void)state;
    static const char *const misses[] = {
        "",          "/index",         "/README.md",   "/web/app.js", "app.js",
        "/app.js/",  "/APP.JS",        "//app.js",     "/../app.js",  "/health",
        "/metrics",  "/ws/tryon",      "/app.js?x=1",  "/index.htm",  "/style.css.map",
        "/%61pp.js", "/index.html%00", "/favicon.ico",
    };
    for (size_t i = 0; i < sizeof misses / sizeof misses[0]; i++) {
        if (svc_web_find(misses[i]))
            fail_msg("'%s' should not be served", misses[i]);
    }
    assert_null(svc_web_find(NULL));
    char longp[300];
    memset(longp, 'a', sizeof longp);
    longp[0] = '/';
    longp[sizeof longp - 1] = '\0';
    assert_null(svc_web_find(longp));
}

/* Every embedded file is byte for byte the one in web/, and its ETag is a quoted
 * 16-digit hex string that differs between files. */
static void embedded_bytes_are_the_files_of_web(void **state)
{
    (void)state;
    assert_true(svc__web_asset_count >= 4);
    for (size_t i = 0; i < svc__web_asset_count; i++) {
        const svc_web_asset *a = &svc__web_assets[i];
        char path[512];
        snprintf(path, sizeof path, "%s/web%s", LQ_SOURCE_DIR, a->path);
        size_t len = 0;
        uint8_t *disk = lq_test_read_file(path, &len);
        if (!disk)
            fail_msg("cannot read %s", path);
        assert_int_equal(len, a->len);
        assert_memory_equal(disk, a->data, len);
        free(disk);
        assert_ptr_equal(svc_web_find(a->path), a);

        assert_int_equal(strlen(a->etag), 18);
        assert_int_equal(a->etag[0], '"');
        assert_int_equal(a->etag[17], '"');
        for (int k = 1; k < 17; k++)
            assert_non_null(strchr("0123456789abcdef", a->etag[k]));
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(a->etag, svc__web_assets[j].etag);
    }
}

/* The page loads only what the CSP allows: its own script, style and icon. */
static void page_references_only_embedded_same_origin_files(void **state)
{
    (void)state;
    const svc_web_asset *root = svc_web_find("/");
    assert_non_null(root);
    char *html = malloc(root->len + 1);
    assert_non_null(html);
    memcpy(html, root->data, root->len);
    html[root->len] = '\0';
    assert_non_null(strstr(html, "<script src=\"app.js\""));
    assert_non_null(strstr(html, "href=\"style.css\""));
    assert_non_null(strstr(html, "href=\"favicon.svg\""));
    assert_null(strstr(html, "<script>"));  /* no inline script: script-src 'self' */
    assert_null(strstr(html, " style=\"")); /* no inline style: style-src 'self' */
    assert_null(strstr(html, "http://"));
    assert_null(strstr(html, "//cdn"));
    free(html);
    assert_non_null(strstr(SVC_WEB_CSP, "default-src 'none'"));
    assert_non_null(strstr(SVC_WEB_CSP, "script-src 'self'"));
    assert_non_null(strstr(SVC_WEB_CSP, "connect-src 'self'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(root_is_index_and_files_are_found_by_name),
        cmocka_unit_test(other_paths_are_not_page_assets),
        cmocka_unit_test(embedded_bytes_are_the_files_of_web),
        cmocka_unit_test(page_references_only_embedded_same_origin_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
