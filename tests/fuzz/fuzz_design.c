/*
 * fuzz_design.c - libFuzzer target for the design parser and colour parser.
 *
 *   CC=clang cmake -S . -B build-fuzz -DLQ_FUZZ=ON && cmake --build build-fuzz --target fuzz_design
 *   build-fuzz/tests/fuzz/fuzz_design -max_total_time=120 /tmp/work tests/fuzz/corpus/design
 *
 * Invariants checked beyond "no crash":
 *  - parse returns 0, LQ_EINVAL or LQ_ELIMIT, with a non-empty message that
 *    starts with the path of a field ("shape: ", "fingers.ring.colors[1]: ")
 *    or "design: " on failure, and leaves the output untouched;
 *  - a parsed design is complete: every enum in range, 1..4 colours per
 *    style, lengths within 0.8..2.2;
 *  - nail_design_to_json of it parses back to the same resolved styles;
 *  - the cJSON entry point agrees with the text entry point;
 *  - nail_color_parse on the input as a string either fails untouched or
 *    gives a colour that formats and parses back to itself.
 */
#include <cjson/cJSON.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "nails/design.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_style(const nail_style *s)
{
    if ((unsigned)s->shape >= NAIL_SHAPE_COUNT || (unsigned)s->pattern >= NAIL_PATTERN_COUNT ||
        (unsigned)s->finish >= NAIL_FINISH_COUNT || (unsigned)s->size >= NAIL_SIZE_COUNT)
        abort();
    if (s->ncolors < 1 || s->ncolors > NAIL_MAX_COLORS)
        abort();
    if (!(s->length >= NAIL_LENGTH_MIN - 1e-6f && s->length <= NAIL_LENGTH_MAX + 1e-6f))
        abort();
}

static int same_style(const nail_style *a, const nail_style *b)
{
    return a->shape == b->shape && a->pattern == b->pattern && a->finish == b->finish &&
           a->size == b->size && a->length == b->length && a->ncolors == b->ncolors &&
           memcmp(a->colors, b->colors, (size_t)a->ncolors * sizeof a->colors[0]) == 0;
}

static void check_message(int rc, const char *err)
{
    if (rc != LQ_EINVAL && rc != LQ_ELIMIT)
        abort();
    size_t n = strlen(err);
    const char *colon = strstr(err, ": ");
    if (n == 0 || !colon || colon == err)
        abort();
    /* the path before ": " is a field path or "design"; untrusted text in
     * messages is escaped, so no control character gets through */
    for (const char *p = err; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            abort();
}

static void check_color(const uint8_t *data, size_t size)
{
    char s[NAIL_COLOR_MAX_LEN + 2];
    size_t n = size < sizeof s - 1 ? size : sizeof s - 1;
    memcpy(s, data, n);
    s[n] = '\0';
    nail_rgb c = {1, 2, 3}, again;
    const char *why = NULL;
    if (nail_color_parse_ex(s, &c, &why) < 0) {
        if (!why || c.r != 1 || c.g != 2 || c.b != 3)
            abort();
        return;
    }
    char hex[8];
    if (nail_color_parse(nail_color_format(c, hex), &again) < 0 ||
        memcmp(&c, &again, sizeof c) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int init;
    if (!init) {
        lq_log_set_level(LQ_LOG_OFF); /* unknown fields warn; not interesting here */
        init = 1;
    }
    check_color(data, size);

    nail_design d, e;
    memset(&d, 0x5a, sizeof d);
    nail_design before = d;
    char err[256] = "";
    int rc = nail_design_parse_json((const char *)data, size, &d, err, sizeof err);
    if (rc < 0) {
        check_message(rc, err);
        if (memcmp(&d, &before, sizeof d) != 0)
            abort();
    } else {
        if (rc != 0)
            abort();
        check_style(&d.base);
        for (int f = 0; f < NAIL_FINGERS; f++)
            check_style(&d.finger[f]);
        char buf[1024];
        int n = nail_design_to_json(&d, buf, sizeof buf);
        if (n <= 0 || nail_design_parse_json(buf, (size_t)n, &e, err, sizeof err) != 0)
            abort();
        if (!same_style(&d.base, &e.base))
            abort();
        for (int f = 0; f < NAIL_FINGERS; f++)
            if (!same_style(&d.finger[f], &e.finger[f]))
                abort();
    }

    /* the cJSON entry point agrees (when cJSON parses the text at all) */
    if (size <= NAIL_DESIGN_MAX_JSON) {
        cJSON *root = cJSON_ParseWithLength((const char *)data, size);
        if (root) {
            char err2[256] = "";
            int rc2 = nail_design_from_cjson(root, &e, err2, sizeof err2);
            if (rc == 0 && rc2 == 0) {
                for (int f = 0; f < NAIL_FINGERS; f++)
                    if (!same_style(&d.finger[f], &e.finger[f]))
                        abort();
            } else if (rc2 < 0) {
                check_message(rc2, err2);
            }
            cJSON_Delete(root);
        }
    }
    return 0;
}
