#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "nails/design.h"
#include "lq_test.h"

/* ---- helpers ------------------------------------------------------------ */

static int g_warn_lines;
static char g_last_warn[LQ_LOG_LINE_MAX];

static void capture_sink(void *ud, enum lq_log_level level, const char *tag, const char *fields,
                         const char *msg)
{
    (void)ud;
    (void)fields;
    if (level == LQ_LOG_WARN && strcmp(tag, "design") == 0) {
        g_warn_lines++;
        snprintf(g_last_warn, sizeof g_last_warn, "%s", msg);
    }
}

static int setup(void **state)
{
    (void)state;
    g_warn_lines = 0;
    g_last_warn[0] = '\0';
    lq_log_set_sink(capture_sink, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    lq_log_set_sink(NULL, NULL);
    return 0;
}

static nail_design parse_ok(const char *json)
{
    nail_design d;
    char err[512] = "";
    int rc = nail_design_parse_json(json, strlen(json), &d, err, sizeof err);
    if (rc != 0)
        fail_msg("%s refused (%s): %s", json, lq_err_name(rc), err);
    return d;
}

/* Parses json expecting `code` and exactly the message `want`. */
static void expect_error(const char *json, int code, const char *want)
{
    nail_design d;
    memset(&d, 0xab, sizeof d);
    nail_design before = d;
    char err[512] = "";
    int rc = nail_design_parse_json(json, strlen(json), &d, err, sizeof err);
    if (rc != code)
        fail_msg("%s: got %s (%s), expected %s", json, lq_err_name(rc), err, lq_err_name(code));
    if (strcmp(err, want) != 0)
        fail_msg("%s:\n  got  \"%s\"\n  want \"%s\"", json, err, want);
    assert_memory_equal(&d, &before, sizeof d); /* output untouched */
}

/* Parses json expecting LQ_EINVAL and a message starting with `path: ` and
 * containing `part`. */
static void expect_einval(const char *json, const char *path, const char *part)
{
    nail_design d;
    char err[512] = "";
    int rc = nail_design_parse_json(json, strlen(json), &d, err, sizeof err);
    if (rc != LQ_EINVAL)
        fail_msg("%s: got %s (%s), expected LQ_EINVAL", json, lq_err_name(rc), err);
    size_t n = strlen(path);
    if (strncmp(err, path, n) != 0 || strncmp(err + n, ": ", 2) != 0)
        fail_msg("%s: message \"%s\" does not start with \"%s: \"", json, err, path);
    if (part && !strstr(err, part))
        fail_msg("%s: message \"%s\" lacks \"%s\"", json, err, part);
}

static void assert_rgb(nail_rgb c, unsigned hex)
{
    unsigned got = ((unsigned)c.r << 16) | ((unsigned)c.g << 8) | c.b;
    if (got != hex)
        fail_msg("colour #%06x, expected #%06x", got, hex);
}

static void assert_colors(const nail_style *s, int n, const unsigned *hex)
{
    if (s->ncolors != n)
        fail_msg("%d colours, expected %d", s->ncolors, n);
    for (int i = 0; i < n; i++)
        assert_rgb(s->colors[i], hex[i]);
}

static int styles_equal(const nail_style *a, const nail_style *b)
{
    if (a->shape != b->shape || a->pattern != b->pattern || a->finish != b->finish ||
        a->size != b->size || a->length != b->length || a->ncolors != b->ncolors)
        return 0;
    return memcmp(a->colors, b->colors, (size_t)a->ncolors * sizeof a->colors[0]) == 0;
}

static const char *const SHAPES = "almond, square, oval, stiletto, coffin, round, squoval "
                                  "(also: ballerina)";
static const char *const PATTERNS = "solid, french_tips, ombre, glitter, marble, floral, "
                                    "reference (also: french, french_tip, ombr\xc3\xa9, gradient)";
static const char *const FINISHES = "glossy, matte, metallic, cream, sheer, pearl, shimmer "
                                    "(also: gloss, jelly, creme, chrome, pearlescent)";

/* ---- valid values -------------------------------------------------------- */

static void every_shape(void **state)
{
    (void)state;
    for (int i = 0; i < NAIL_SHAPE_COUNT; i++) {
        char json[128], upper[64];
        const char *name = nail_shape_name((nail_shape)i);
        assert_non_null(name);
        snprintf(json, sizeof json, "{\"shape\": \"%s\"}", name);
        nail_design d = parse_ok(json);
        assert_int_equal(d.base.shape, i);
        for (int f = 0; f < NAIL_FINGERS; f++)
            assert_int_equal(d.finger[f].shape, i);
        size_t k = 0;
        for (; name[k]; k++)
            upper[k] = (char)(name[k] >= 'a' && name[k] <= 'z' ? name[k] - 32 : name[k]);
        upper[k] = '\0';
        snprintf(json, sizeof json, "{\"SHAPE\": \"  %s \"}", upper);
        d = parse_ok(json);
        assert_int_equal(d.base.shape, i);
    }
    assert_null(nail_shape_name(NAIL_SHAPE_COUNT));
    assert_null(nail_shape_name((nail_shape)-1));
}

static void every_pattern(void **state)
{
    (void)state;
    for (int i = 0; i < NAIL_PATTERN_COUNT; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"pattern\": \"%s\"}", nail_pattern_name((nail_pattern)i));
        nail_design d = parse_ok(json);
        assert_int_equal(d.base.pattern, i);
        assert_int_equal(d.finger[4].pattern, i);
        assert_true(d.base.ncolors >= 1 && d.base.ncolors <= NAIL_MAX_COLORS);
    }
    assert_null(nail_pattern_name(NAIL_PATTERN_COUNT));
}

static void every_size_and_its_length(void **state)
{
    (void)state;
    const float want[] = {1.0f, 1.3f, 1.7f};
    for (int i = 0; i < NAIL_SIZE_COUNT; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"size\": \"%s\"}", nail_size_name((nail_size)i));
        nail_design d = parse_ok(json);
        assert_int_equal(d.base.size, i);
        assert_true(d.base.length == want[i]);
        assert_true(d.finger[2].length == want[i]);
        assert_true(nail_size_length((nail_size)i) == want[i]);
    }
    assert_true(nail_size_length(NAIL_SIZE_SHORT) < nail_size_length(NAIL_SIZE_MEDIUM));
    assert_true(nail_size_length(NAIL_SIZE_MEDIUM) < nail_size_length(NAIL_SIZE_LONG));
    assert_true(nail_size_length(NAIL_SIZE_COUNT) == 1.3f);
    assert_null(nail_size_name(NAIL_SIZE_COUNT));
}

static void every_finish(void **state)
{
    (void)state;
    for (int i = 0; i < NAIL_FINISH_COUNT; i++) {
        char json[128];
        snprintf(json, sizeof json, "{\"finish\": \"%s\"}", nail_finish_name((nail_finish)i));
        nail_design d = parse_ok(json);
        assert_int_equal(d.base.finish, i);
        assert_int_equal(d.finger[0].finish, i);
    }
    assert_null(nail_finish_name(NAIL_FINISH_COUNT));
}

static void aliases_and_spellings(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int pattern, shape, finish;
    } cases[] = {
        {"{\"pattern\":\"french\"}", NAIL_PATTERN_FRENCH_TIPS, -1, -1},
        {"{\"pattern\":\"french_tip\"}", NAIL_PATTERN_FRENCH_TIPS, -1, -1},
        {"{\"pattern\":\"French Tips\"}", NAIL_PATTERN_FRENCH_TIPS, -1, -1},
        {"{\"pattern\":\"FRENCH-TIPS\"}", NAIL_PATTERN_FRENCH_TIPS, -1, -1},
        {"{\"pattern\":\"french tip\"}", NAIL_PATTERN_FRENCH_TIPS, -1, -1},
        {"{\"pattern\":\"ombr\xc3\xa9\"}", NAIL_PATTERN_OMBRE, -1, -1},
        {"{\"pattern\":\"gradient\"}", NAIL_PATTERN_OMBRE, -1, -1},
        {"{\"shape\":\"ballerina\"}", -1, NAIL_SHAPE_COFFIN, -1},
        {"{\"shape\":\"Squoval\"}", -1, NAIL_SHAPE_SQUOVAL, -1},
        {"{\"finish\":\"jelly\"}", -1, -1, NAIL_FINISH_SHEER},
        {"{\"finish\":\"gloss\"}", -1, -1, NAIL_FINISH_GLOSSY},
        {"{\"finish\":\"creme\"}", -1, -1, NAIL_FINISH_CREAM},
        {"{\"finish\":\"chrome\"}", -1, -1, NAIL_FINISH_METALLIC},
        {"{\"finish\":\"pearlescent\"}", -1, -1, NAIL_FINISH_PEARL},
        {"{\"Finish\":\"MATTE\"}", -1, -1, NAIL_FINISH_MATTE},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nail_design d = parse_ok(cases[i].json);
        if (cases[i].pattern >= 0)
            assert_int_equal(d.base.pattern, cases[i].pattern);
        if (cases[i].shape >= 0)
            assert_int_equal(d.base.shape, cases[i].shape);
        if (cases[i].finish >= 0)
            assert_int_equal(d.base.finish, cases[i].finish);
    }
    /* the command-line parsers agree with the JSON parser */
    nail_pattern p;
    nail_shape s;
    nail_size z;
    nail_finish f;
    assert_int_equal(nail_pattern_parse("French", &p), 0);
    assert_int_equal(p, NAIL_PATTERN_FRENCH_TIPS);
    assert_int_equal(nail_shape_parse("ballerina", &s), 0);
    assert_int_equal(s, NAIL_SHAPE_COFFIN);
    assert_int_equal(nail_size_parse("LONG", &z), 0);
    assert_int_equal(z, NAIL_SIZE_LONG);
    assert_int_equal(nail_finish_parse("jelly", &f), 0);
    assert_int_equal(f, NAIL_FINISH_SHEER);
    assert_int_equal(nail_finish_parse("satin", &f), LQ_EINVAL);
    assert_int_equal(nail_shape_parse(NULL, &s), LQ_EINVAL);
    assert_int_equal(nail_size_parse("short", NULL), LQ_EINVAL);
    for (int i = 0; i < NAIL_FINGERS; i++)
        assert_non_null(nail_finger_name(i));
    assert_null(nail_finger_name(NAIL_FINGERS));
}

static void length_overrides_size(void **state)
{
    (void)state;
    nail_design d = parse_ok("{\"size\":\"short\",\"length\":1.4}");
    assert_true(d.base.length == 1.4f);
    assert_int_equal(d.base.size, NAIL_SIZE_SHORT);
    assert_true(d.finger[3].length == 1.4f);
    d = parse_ok("{\"length\":0.8}");
    assert_true(d.base.length == 0.8f);
    d = parse_ok("{\"length\":2.2}");
    assert_true(d.base.length == 2.2f);
    d = parse_ok("{\"length\":2}");
    assert_true(d.base.length == 2.0f);
    d = parse_ok("{\"length\":1.23456}"); /* kept to 3 decimals */
    assert_true(d.base.length == 1.235f);
    assert_true(d.base_fields & NAIL_FIELD_LENGTH);
}

static void colours_arrays_strings_and_alias(void **state)
{
    (void)state;
    nail_design d = parse_ok("{\"colors\":[\"pink\",\"#fff\",\"rgb(1,2,3)\",\"Rose Gold\"]}");
    assert_int_equal(d.colors_given, 4);
    const unsigned four[] = {0xffc0cb, 0xffffff, 0x010203, 0xb76e79};
    assert_colors(&d.base, 4, four);
    assert_colors(&d.finger[1], 4, four);
    d = parse_ok("{\"colors\":\"#FF69B4\"}");
    assert_int_equal(d.colors_given, 1);
    assert_rgb(d.base.colors[0], 0xff69b4);
    d = parse_ok("{\"color\":\"burgundy\"}");
    assert_int_equal(d.colors_given, 1);
    assert_rgb(d.base.colors[0], 0x800020);
    d = parse_ok("{\"Colors\":[\"navy\"]}");
    assert_rgb(d.base.colors[0], 0x000080);
}

static void defaults(void **state)
{
    (void)state;
    nail_design def;
    nail_design_default(&def);
    nail_design d = parse_ok("{}");
    const unsigned red[] = {0xb11226};
    for (int k = 0; k < 2; k++) {
        const nail_design *x = k ? &d : &def;
        assert_int_equal(x->base.shape, NAIL_SHAPE_ALMOND);
        assert_int_equal(x->base.pattern, NAIL_PATTERN_SOLID);
        assert_int_equal(x->base.finish, NAIL_FINISH_GLOSSY);
        assert_int_equal(x->base.size, NAIL_SIZE_MEDIUM);
        assert_true(x->base.length == 1.3f);
        assert_colors(&x->base, 1, red);
        assert_int_equal(x->colors_given, 0);
        assert_int_equal(x->warnings, 0);
        for (int f = 0; f < NAIL_FINGERS; f++) {
            assert_int_equal(x->has_override[f], 0);
            assert_true(styles_equal(&x->finger[f], &x->base));
        }
    }
    /* null means "not given" */
    d = parse_ok("{\"shape\":null,\"colors\":null,\"length\":null,\"fingers\":null}");
    assert_int_equal(d.base.shape, NAIL_SHAPE_ALMOND);
    assert_int_equal(d.colors_given, 0);
    assert_true(d.base.length == 1.3f);
    /* the seed's test sends empty metadata */
    d = parse_ok(" { } ");
    assert_int_equal(d.colors_given, 0);
}

static void pattern_default_colours(void **state)
{
    (void)state;
    static const struct {
        const char *json;
        int n;
        unsigned c[4];
    } cases[] = {
        /* nothing given: the pattern's classic look */
        {"{\"pattern\":\"solid\"}", 1, {0xb11226}},
        {"{\"pattern\":\"french_tips\"}", 2, {0xf2d1d1, 0xffffff}},
        {"{\"pattern\":\"ombre\"}", 2, {0xf2d1d1, 0xffffff}},
        {"{\"pattern\":\"glitter\"}", 3, {0xf7e7ce, 0xffd700, 0xc0c0c0}},
        {"{\"pattern\":\"marble\"}", 2, {0xffffff, 0x808080}},
        {"{\"pattern\":\"floral\"}", 3, {0xf0b8b8, 0xffffff, 0xffd700}},
        {"{\"pattern\":\"reference\"}", 1, {0xe3bc9a}},
        /* one colour given: completed for the pattern */
        {"{\"pattern\":\"french_tips\",\"colors\":[\"pink\"]}", 2, {0xffc0cb, 0xffffff}},
        {"{\"pattern\":\"french_tips\",\"colors\":[\"white\"]}", 2, {0xf2d1d1, 0xffffff}},
        {"{\"pattern\":\"french_tips\",\"colors\":[\"pink\",\"gold\"]}", 2, {0xffc0cb, 0xffd700}},
        {"{\"pattern\":\"ombre\",\"colors\":[\"red\"]}", 2, {0xe3bc9a, 0xff0000}},
        {"{\"pattern\":\"ombre\",\"colors\":[\"snow\"]}", 2, {0xf2d1d1, 0xfffafa}},
        {"{\"pattern\":\"glitter\",\"colors\":[\"navy\"]}", 2, {0x000080, 0xc0c0c0}},
        {"{\"pattern\":\"glitter\",\"colors\":[\"silver\"]}", 2, {0xc0c0c0, 0xffd700}},
        {"{\"pattern\":\"marble\",\"colors\":[\"black\"]}", 2, {0x000000, 0xffffff}},
        {"{\"pattern\":\"floral\",\"colors\":[\"pink\"]}", 3, {0xffc0cb, 0xffffff, 0xffd700}},
        {"{\"pattern\":\"floral\",\"colors\":[\"white\"]}", 3, {0xffffff, 0xff69b4, 0xffd700}},
        {"{\"pattern\":\"floral\",\"colors\":[\"navy\",\"pink\"]}",
         3,
         {0x000080, 0xffc0cb, 0xffd700}},
        {"{\"pattern\":\"solid\",\"colors\":[\"navy\",\"pink\"]}", 2, {0x000080, 0xffc0cb}},
        {"{\"pattern\":\"ombre\",\"colors\":[\"a\\u0071ua\",\"navy\",\"pink\"]}",
         3,
         {0x00ffff, 0x000080, 0xffc0cb}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        nail_design d = parse_ok(cases[i].json);
        assert_colors(&d.base, cases[i].n, cases[i].c);
        assert_colors(&d.finger[2], cases[i].n, cases[i].c);
    }
    /* marble on a light colour: darker veins of the same hue */
    nail_design d = parse_ok("{\"pattern\":\"marble\",\"colors\":[\"lavender\"]}");
    assert_int_equal(d.base.ncolors, 2);
    assert_true(nail_rgb_to_oklab(d.base.colors[1]).L <
                nail_rgb_to_oklab(d.base.colors[0]).L - 0.2f);
}

static void seed_examples(void **state)
{
    (void)state;
    /* Appendix C and the init_session example of the seed guide */
    nail_design d = parse_ok("{\"shape\": \"almond\", \"pattern\": \"french_tips\", \"size\": "
                             "\"medium\", \"colors\": [\"pink\", \"white\"]}");
    assert_int_equal(d.base.shape, NAIL_SHAPE_ALMOND);
    assert_int_equal(d.base.pattern, NAIL_PATTERN_FRENCH_TIPS);
    const unsigned pw[] = {0xffc0cb, 0xffffff};
    assert_colors(&d.base, 2, pw);
    assert_int_equal(d.warnings, 0);
    d = parse_ok("{\"shape\":\"coffin\",\"pattern\":\"glitter\",\"size\":\"long\","
                 "\"colors\":[\"pink\",\"white\",\"gold\"],\"finish\":\"metallic\"}");
    assert_int_equal(d.base.finish, NAIL_FINISH_METALLIC);
    assert_int_equal(d.base.ncolors, 3);
    assert_true(d.base.length == 1.7f);
}

static void per_finger_overrides(void **state)
{
    (void)state;
    nail_design d =
        parse_ok("{\"colors\":[\"pink\"],\"shape\":\"oval\","
                 "\"fingers\":{\"ring\":{\"colors\":[\"gold\"],\"pattern\":\"glitter\"}}}");
    for (int f = 0; f < NAIL_FINGERS; f++) {
        assert_int_equal(d.has_override[f], f == 3);
        assert_int_equal(d.finger[f].shape, NAIL_SHAPE_OVAL);
    }
    const unsigned ring[] = {0xffd700, 0xc0c0c0};
    const unsigned pink[] = {0xffc0cb};
    assert_colors(&d.finger[3], 2, ring);
    assert_int_equal(d.finger[3].pattern, NAIL_PATTERN_GLITTER);
    assert_colors(&d.finger[0], 1, pink);
    assert_int_equal(d.finger[0].pattern, NAIL_PATTERN_SOLID);
    assert_int_equal(d.override_fields[3], NAIL_FIELD_COLORS | NAIL_FIELD_PATTERN);

    /* every field overridable; aliases for the little finger */
    d = parse_ok("{\"size\":\"short\",\"fingers\":{"
                 "\"thumb\":{\"shape\":\"square\"},"
                 "\"index\":{\"size\":\"long\"},"
                 "\"middle\":{\"length\":2.0,\"size\":\"short\"},"
                 "\"Ring\":{\"finish\":\"pearl\"},"
                 "\"pinkie\":{\"pattern\":\"french\"}}}");
    assert_int_equal(d.finger[0].shape, NAIL_SHAPE_SQUARE);
    assert_true(d.finger[0].length == 1.0f);
    assert_true(d.finger[1].length == 1.7f);
    assert_int_equal(d.finger[1].size, NAIL_SIZE_LONG);
    assert_true(d.finger[2].length == 2.0f); /* length beats size */
    assert_int_equal(d.finger[3].finish, NAIL_FINISH_PEARL);
    assert_int_equal(d.finger[4].pattern, NAIL_PATTERN_FRENCH_TIPS);
    /* no colours anywhere: the finger's own pattern defaults */
    const unsigned french[] = {0xf2d1d1, 0xffffff};
    assert_colors(&d.finger[4], 2, french);
    for (int f = 0; f < NAIL_FINGERS; f++)
        assert_int_equal(d.has_override[f], 1);

    d = parse_ok("{\"fingers\":{\"little\":{\"shape\":\"round\"}}}");
    assert_int_equal(d.finger[4].shape, NAIL_SHAPE_ROUND);

    /* base colours given: an accent that changes only the pattern completes them */
    d = parse_ok("{\"colors\":[\"red\"],\"fingers\":{\"index\":{\"pattern\":\"french_tips\"}}}");
    const unsigned red_white[] = {0xff0000, 0xffffff};
    assert_colors(&d.finger[1], 2, red_white);
    assert_int_equal(d.finger[0].ncolors, 1);

    /* a null finger is no override */
    d = parse_ok("{\"fingers\":{\"ring\":null}}");
    assert_int_equal(d.has_override[3], 0);
    d = parse_ok("{\"fingers\":{}}");
    assert_int_equal(d.has_override[3], 0);
}

/* ---- warnings ------------------------------------------------------------ */

static void unknown_fields_are_ignored_with_a_warning(void **state)
{
    (void)state;
    nail_design d = parse_ok("{\"shape\":\"oval\",\"sparkle\":true,\"url\":\"https://x/y.webp\"}");
    assert_int_equal(d.base.shape, NAIL_SHAPE_OVAL);
    assert_int_equal(d.warnings, 2);
    assert_int_equal(g_warn_lines, 2);
    assert_string_equal(g_last_warn, "ignoring unknown field \"url\"");

    g_warn_lines = 0;
    d = parse_ok("{\"fingers\":{\"ring\":{\"glow\":1,\"fingers\":{},\"shape\":\"round\"}}}");
    assert_int_equal(d.warnings, 2);
    assert_int_equal(g_warn_lines, 2);
    assert_string_equal(g_last_warn, "ignoring unknown field \"fingers.ring.fingers\"");
    assert_int_equal(d.finger[3].shape, NAIL_SHAPE_ROUND);

    /* many unknown fields: all counted, the log is capped */
    char json[2048];
    size_t k = (size_t)snprintf(json, sizeof json, "{");
    for (int i = 0; i < 50; i++)
        k += (size_t)snprintf(json + k, sizeof json - k, "%s\"x%d\":%d", i ? "," : "", i, i);
    snprintf(json + k, sizeof json - k, "}");
    g_warn_lines = 0;
    d = parse_ok(json);
    assert_int_equal(d.warnings, 50);
    assert_int_equal(g_warn_lines, 9);

    /* a hostile key is quoted safely in the log */
    g_warn_lines = 0;
    d = parse_ok("{\"a\\\"b\\u0001c\":1}");
    assert_int_equal(d.warnings, 1);
    assert_string_equal(g_last_warn, "ignoring unknown field \"a\\\"b?c\"");
}

/* ---- errors -------------------------------------------------------------- */

static void unknown_values(void **state)
{
    (void)state;
    char want[512];
    snprintf(want, sizeof want, "shape: unknown value \"blob\"; allowed: %s", SHAPES);
    expect_error("{\"shape\":\"blob\"}", LQ_EINVAL, want);
    snprintf(want, sizeof want, "pattern: unknown value \"stripes\"; allowed: %s", PATTERNS);
    expect_error("{\"pattern\":\"stripes\"}", LQ_EINVAL, want);
    expect_error("{\"size\":\"huge\"}", LQ_EINVAL,
                 "size: unknown value \"huge\"; allowed: short, medium, long");
    snprintf(want, sizeof want, "finish: unknown value \"satin\"; allowed: %s", FINISHES);
    expect_error("{\"finish\":\"satin\"}", LQ_EINVAL, want);
    snprintf(want, sizeof want, "fingers.ring.finish: unknown value \"glittery\"; allowed: %s",
             FINISHES);
    expect_error("{\"fingers\":{\"ring\":{\"finish\":\"glittery\"}}}", LQ_EINVAL, want);
    snprintf(want, sizeof want, "fingers.pinky.shape: unknown value \"\"; allowed: %s", SHAPES);
    expect_error("{\"fingers\":{\"pinkie\":{\"shape\":\"\"}}}", LQ_EINVAL, want);
    /* long and hostile values are cut and escaped in the message */
    expect_einval("{\"shape\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}",
                  "shape", "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa...\"");
    expect_einval("{\"shape\":\"x\\\"\\n\"}", "shape", "\"x\\\"?\"");
}

static void wrong_types(void **state)
{
    (void)state;
    char want[512];
    snprintf(want, sizeof want, "shape: must be a string, got a number; allowed: %s", SHAPES);
    expect_error("{\"shape\":3}", LQ_EINVAL, want);
    expect_einval("{\"shape\":[\"oval\"]}", "shape", "got an array");
    expect_einval("{\"pattern\":{}}", "pattern", "got an object");
    expect_einval("{\"size\":true}", "size", "got a boolean");
    expect_einval("{\"finish\":false}", "finish", "got a boolean");
    expect_error("{\"length\":\"1.4\"}", LQ_EINVAL,
                 "length: must be a number from 0.8 to 2.2, got a string");
    expect_einval("{\"fingers\":{\"index\":{\"length\":[1]}}}", "fingers.index.length",
                  "got an array");
    expect_error("{\"colors\":{\"a\":1}}", LQ_EINVAL,
                 "colors: must be an array of 1 to 4 colour strings (or one string), got an "
                 "object");
    expect_einval("{\"colors\":7}", "colors", "got a number");
    expect_error("{\"colors\":[1]}", LQ_EINVAL,
                 "colors[0]: must be a colour string (a name like \"pink\", #rgb, #rrggbb or "
                 "rgb(r, g, b)), got a number");
    expect_einval("{\"colors\":[\"pink\",null]}", "colors[1]", "got null");
    expect_einval("{\"colors\":[[\"pink\"]]}", "colors[0]", "got an array");
    expect_error("{\"fingers\":[1]}", LQ_EINVAL,
                 "fingers: must be an object mapping finger names to styles, got an array; "
                 "allowed keys: thumb, index, middle, ring, pinky (also: pinkie, little)");
    expect_error("{\"fingers\":{\"ring\":\"gold\"}}", LQ_EINVAL,
                 "fingers.ring: must be an object with any of shape, size, length, pattern, "
                 "colors, finish; got a string");
}

static void bad_lengths(void **state)
{
    (void)state;
    expect_error("{\"length\":0.79}", LQ_EINVAL,
                 "length: 0.79 is out of range; allowed: a number from 0.8 to 2.2");
    expect_error("{\"length\":2.5}", LQ_EINVAL,
                 "length: 2.5 is out of range; allowed: a number from 0.8 to 2.2");
    expect_einval("{\"length\":-1}", "length", "out of range");
    expect_einval("{\"length\":0}", "length", "out of range");
    expect_einval("{\"length\":1e999}", "length", "out of range");
    expect_einval("{\"fingers\":{\"thumb\":{\"length\":9}}}", "fingers.thumb.length",
                  "out of range");
}

static void bad_colours(void **state)
{
    (void)state;
    expect_error("{\"colors\":[]}", LQ_EINVAL, "colors: must list 1 to 4 colours, got 0");
    expect_error("{\"colors\":[\"red\",\"red\",\"red\",\"red\",\"red\"]}", LQ_EINVAL,
                 "colors: must list 1 to 4 colours, got 5");
    expect_error("{\"colors\":[\"pink\",\"#12\"]}", LQ_EINVAL,
                 "colors[1]: \"#12\": '#' must be followed by 3 or 6 hex digits (#rgb or "
                 "#rrggbb)");
    expect_einval("{\"colors\":[\"#xyz\"]}", "colors[0]", "hex digits");
    expect_einval("{\"colors\":[\"#ff000080\"]}", "colors[0]", "alpha");
    expect_einval("{\"colors\":[\"pnik\"]}", "colors[0]", "unknown colour name");
    expect_einval("{\"colors\":[\"\"]}", "colors[0]", "empty colour string");
    expect_einval("{\"colors\":\"\"}", "colors", "empty colour string");
    expect_einval("{\"colors\":\"rgb(300,0,0)\"}", "colors", "rgb()");
    expect_einval("{\"colors\":[\"pink, white\"]}", "colors[0]", "not a colour");
    expect_einval("{\"fingers\":{\"middle\":{\"colors\":[\"red\",\"blue\",\"nope\"]}}}",
                  "fingers.middle.colors[2]", "unknown colour name");
    expect_einval("{\"fingers\":{\"middle\":{\"color\":[]}}}", "fingers.middle.colors", "got 0");
    char json[256];
    snprintf(json, sizeof json, "{\"colors\":[\"%070d\"]}", 7);
    expect_einval(json, "colors[0]", "longer than 64 characters");
}

static void duplicates(void **state)
{
    (void)state;
    expect_error("{\"shape\":\"oval\",\"Shape\":\"round\"}", LQ_EINVAL,
                 "shape: given more than once");
    expect_error("{\"colors\":[\"red\"],\"color\":\"blue\"}", LQ_EINVAL,
                 "colors: given more than once");
    expect_error("{\"fingers\":{\"ring\":{\"size\":\"long\",\"size\":\"short\"}}}", LQ_EINVAL,
                 "fingers.ring.size: given more than once");
    expect_error("{\"fingers\":{\"pinky\":{},\"pinkie\":{}}}", LQ_EINVAL,
                 "fingers.pinkie: finger given more than once");
    expect_error("{\"fingers\":{},\"fingers\":{}}", LQ_EINVAL, "fingers: given more than once");
}

static void unknown_fingers(void **state)
{
    (void)state;
    expect_error("{\"fingers\":{\"toe\":{}}}", LQ_EINVAL,
                 "fingers.toe: unknown finger; allowed: thumb, index, middle, ring, pinky "
                 "(also: pinkie, little)");
    expect_einval("{\"fingers\":{\"\":{}}}", "fingers.", "unknown finger");
    expect_einval("{\"fingers\":{\"0\":{}}}", "fingers.0", "unknown finger");
}

static void non_object_roots(void **state)
{
    (void)state;
    expect_error("[]", LQ_EINVAL, "design: must be a JSON object, got an array");
    expect_error("\"almond\"", LQ_EINVAL, "design: must be a JSON object, got a string");
    expect_error("42", LQ_EINVAL, "design: must be a JSON object, got a number");
    expect_error("true", LQ_EINVAL, "design: must be a JSON object, got a boolean");
    expect_error("null", LQ_EINVAL, "design: must be a JSON object, got null");
}

static void invalid_json(void **state)
{
    (void)state;
    expect_einval("", "design", "invalid JSON");
    expect_einval("   ", "design", "invalid JSON");
    expect_einval("{", "design", "invalid JSON");
    expect_einval("{\"shape\":}", "design", "invalid JSON");
    expect_einval("{\"shape\":\"oval\"", "design", "invalid JSON");
    expect_einval("{\"shape\":\"oval\",}", "design", "invalid JSON");
    expect_einval("{'shape':'oval'}", "design", "invalid JSON");
    expect_einval("{\"shape\":\"oval\"} x", "design", "unexpected data at byte 17");
    expect_einval("{}{}", "design", "unexpected data");
    expect_einval("{/* c */}", "design", "invalid JSON");
    expect_einval("\xff\xfe{}", "design", "invalid JSON");
    expect_error("{\"shape\":\"oval\"", LQ_EINVAL, "design: invalid JSON near byte 14");

    /* not NUL-terminated: only len bytes are read */
    char buf[8] = {'{', '}', 'x', 'x', 'x', 'x', 'x', 'x'};
    nail_design d;
    char err[128];
    assert_int_equal(nail_design_parse_json(buf, 2, &d, err, sizeof err), 0);
    assert_int_equal(nail_design_parse_json(buf, 3, &d, err, sizeof err), LQ_EINVAL);
    /* NULL arguments */
    assert_int_equal(nail_design_parse_json(NULL, 0, &d, err, sizeof err), LQ_EINVAL);
    assert_string_equal(err, "design: no JSON given");
    assert_int_equal(nail_design_parse_json("{}", 2, NULL, err, sizeof err), LQ_EINVAL);
    /* err may be NULL or tiny */
    assert_int_equal(nail_design_parse_json("{\"shape\":1}", 11, &d, NULL, 0), LQ_EINVAL);
    char tiny[8];
    assert_int_equal(nail_design_parse_json("{\"shape\":1}", 11, &d, tiny, sizeof tiny), LQ_EINVAL);
    assert_string_equal(tiny, "shape: ");
}

static void nesting_limit(void **state)
{
    (void)state;
    /* depth 8 (root object + 7 arrays) is allowed, as an unknown field */
    nail_design d = parse_ok("{\"x\":[[[[[[[1]]]]]]]}");
    assert_int_equal(d.warnings, 1);
    expect_error("{\"x\":[[[[[[[[1]]]]]]]]}", LQ_ELIMIT,
                 "design: JSON nested deeper than 8 levels");
    expect_error("{\"fingers\":{\"ring\":{\"a\":{\"b\":{\"c\":{\"d\":{\"e\":{\"f\":{}}}}}}}}}",
                 LQ_ELIMIT, "design: JSON nested deeper than 8 levels");
    /* brackets inside strings do not count, escaped quotes do not end strings */
    d = parse_ok("{\"x\":\"[[[[[[[[[[[[{{{{{{{{{{\",\"y\":\"\\\"[[[[[[[[[[\"}");
    assert_int_equal(d.warnings, 2);
    /* a deep document is refused before it is parsed, however deep */
    size_t n = 20000;
    char *deep = malloc(2 * n + 1);
    assert_non_null(deep);
    memset(deep, '[', n);
    memset(deep + n, ']', n);
    deep[2 * n] = '\0';
    expect_error(deep, LQ_ELIMIT, "design: JSON nested deeper than 8 levels");
    free(deep);
}

static void size_limit(void **state)
{
    (void)state;
    size_t n = NAIL_DESIGN_MAX_JSON;
    char *buf = malloc(n + 2);
    assert_non_null(buf);
    memset(buf, ' ', n + 1);
    memcpy(buf, "{\"shape\":\"oval\"}", 16);
    buf[n + 1] = '\0';
    nail_design d;
    char err[256];
    assert_int_equal(nail_design_parse_json(buf, n, &d, err, sizeof err), 0);
    assert_int_equal(d.base.shape, NAIL_SHAPE_OVAL);
    expect_error(buf, LQ_ELIMIT, "design: JSON is 65537 bytes; the limit is 65536");
    free(buf);
}

static void value_count_limit(void **state)
{
    (void)state;
    /* 64 KiB can hold tens of thousands of values; a design needs < 100 */
    size_t cap = 8 + 2 * 1100 + 8;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t k = (size_t)snprintf(buf, cap, "{\"x\":[");
    for (int i = 0; i < 1100; i++)
        k += (size_t)snprintf(buf + k, cap - k, "%s1", i ? "," : "");
    snprintf(buf + k, cap - k, "]}");
    expect_error(buf, LQ_ELIMIT, "design: more than 1024 JSON values");
    free(buf);
}

/* ---- cJSON entry, set_colors, resolve, to_json --------------------------- */

static void from_cjson(void **state)
{
    (void)state;
    nail_design d, e;
    char err[256];
    assert_int_equal(nail_design_from_cjson(NULL, &d, err, sizeof err), 0);
    assert_int_equal(d.base.shape, NAIL_SHAPE_ALMOND);
    cJSON *null = cJSON_CreateNull();
    assert_int_equal(nail_design_from_cjson(null, &d, err, sizeof err), 0);
    cJSON_Delete(null);

    const char *text =
        "{\"type\":\"init_session\",\"nail_reference\":{\"url\":\"u\","
        "\"metadata\":{\"shape\":\"stiletto\",\"colors\":[\"pink\",\"white\"],"
        "\"pattern\":\"french_tips\",\"fingers\":{\"ring\":{\"finish\":\"matte\"}}}}}";
    cJSON *msg = cJSON_Parse(text);
    assert_non_null(msg);
    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(msg, "nail_reference"), "metadata");
    assert_int_equal(nail_design_from_cjson(meta, &d, err, sizeof err), 0);
    char *sub = cJSON_PrintUnformatted(meta);
    e = parse_ok(sub);
    free(sub);
    for (int f = 0; f < NAIL_FINGERS; f++)
        assert_true(styles_equal(&d.finger[f], &e.finger[f]));
    assert_int_equal(d.finger[3].finish, NAIL_FINISH_MATTE);
    /* the depth limit counts from the metadata object, not the message */
    cJSON_Delete(msg);

    cJSON *arr = cJSON_CreateArray();
    assert_int_equal(nail_design_from_cjson(arr, &d, err, sizeof err), LQ_EINVAL);
    assert_string_equal(err, "design: must be a JSON object, got an array");
    cJSON_Delete(arr);

    cJSON *deep = cJSON_CreateObject(), *cur = deep;
    for (int i = 0; i < 12; i++) {
        cJSON *child = cJSON_CreateObject();
        cJSON_AddItemToObject(cur, "x", child);
        cur = child;
    }
    assert_int_equal(nail_design_from_cjson(deep, &d, err, sizeof err), LQ_ELIMIT);
    assert_string_equal(err, "design: JSON nested deeper than 8 levels");
    cJSON_Delete(deep);
    assert_int_equal(nail_design_from_cjson(NULL, NULL, err, sizeof err), LQ_EINVAL);
}

static void set_colors_from_a_palette(void **state)
{
    (void)state;
    nail_design d = parse_ok("{\"pattern\":\"french_tips\",\"fingers\":{"
                             "\"ring\":{\"colors\":[\"gold\"],\"pattern\":\"glitter\"},"
                             "\"index\":{\"pattern\":\"solid\"}}}");
    assert_int_equal(d.colors_given, 0);
    nail_rgb pal[2] = {{200, 40, 80}, {250, 250, 250}};
    assert_int_equal(nail_design_set_colors(&d, pal, 1), 0);
    assert_int_equal(d.colors_given, 1);
    const unsigned base[] = {0xc82850, 0xffffff};
    assert_colors(&d.base, 2, base);
    assert_colors(&d.finger[0], 2, base);
    const unsigned solid[] = {0xc82850};
    assert_colors(&d.finger[1], 1, solid);
    const unsigned ring[] = {0xffd700, 0xc0c0c0}; /* own colours kept */
    assert_colors(&d.finger[3], 2, ring);
    assert_int_equal(nail_design_set_colors(&d, pal, 2), 0);
    const unsigned two[] = {0xc82850, 0xfafafa};
    assert_colors(&d.finger[4], 2, two);

    nail_design before = d;
    assert_int_equal(nail_design_set_colors(&d, pal, 0), LQ_EINVAL);
    assert_int_equal(nail_design_set_colors(&d, pal, 5), LQ_EINVAL);
    assert_int_equal(nail_design_set_colors(&d, NULL, 1), LQ_EINVAL);
    assert_int_equal(nail_design_set_colors(NULL, pal, 1), LQ_EINVAL);
    assert_memory_equal(&d, &before, sizeof d);
}

static void resolve_after_direct_changes(void **state)
{
    (void)state;
    nail_design d;
    nail_design_default(&d);
    d.base.pattern = NAIL_PATTERN_MARBLE;
    d.base.size = NAIL_SIZE_LONG;
    d.override_fields[1] = NAIL_FIELD_SHAPE;
    d.override[1].shape = NAIL_SHAPE_STILETTO;
    nail_design_resolve(&d);
    assert_true(d.base.length == 1.7f);
    assert_int_equal(d.base.ncolors, 2);
    assert_int_equal(d.finger[0].pattern, NAIL_PATTERN_MARBLE);
    assert_int_equal(d.finger[1].shape, NAIL_SHAPE_STILETTO);
    assert_int_equal(d.has_override[1], 1);
    assert_int_equal(d.finger[2].shape, NAIL_SHAPE_ALMOND);
}

static void canonical_json_round_trips(void **state)
{
    (void)state;
    const char *designs[] = {
        "{}",
        "{\"shape\":\"Ballerina\",\"pattern\":\"french\",\"colors\":\"pink\",\"length\":1.234}",
        "{\"size\":\"long\",\"finish\":\"jelly\",\"colors\":[\"#123\",\"rgb(1,2,3)\",\"nude\","
        "\"gold\"],\"fingers\":{\"thumb\":{\"shape\":\"square\",\"size\":\"short\",\"length\":0.9,"
        "\"pattern\":\"marble\",\"finish\":\"matte\",\"colors\":[\"tan\",\"red\",\"blue\",\"teal\"]"
        "}}}",
        "{\"pattern\":\"floral\",\"fingers\":{\"thumb\":{\"colors\":[\"teal\",\"tan\",\"tomato\","
        "\"thistle\"],\"shape\":\"square\",\"size\":\"long\",\"length\":2.2,\"pattern\":\"ombre\","
        "\"finish\":\"shimmer\"},\"index\":{\"colors\":[\"teal\",\"tan\",\"tomato\",\"thistle\"],"
        "\"shape\":\"square\",\"size\":\"long\",\"length\":2.2,\"pattern\":\"ombre\",\"finish\":"
        "\"shimmer\"},\"middle\":{\"colors\":[\"teal\",\"tan\",\"tomato\",\"thistle\"],\"shape\":"
        "\"square\",\"size\":\"long\",\"length\":2.2,\"pattern\":\"ombre\",\"finish\":\"shimmer\"},"
        "\"ring\":{\"colors\":[\"teal\",\"tan\",\"tomato\",\"thistle\"],\"shape\":\"square\","
        "\"size\":\"long\",\"length\":2.2,\"pattern\":\"ombre\",\"finish\":\"shimmer\"},\"pinky\":"
        "{\"colors\":[\"teal\",\"tan\",\"tomato\",\"thistle\"],\"shape\":\"squoval\",\"size\":"
        "\"long\",\"length\":2.2,\"pattern\":\"reference\",\"finish\":\"pearl\"}},\"length\":2.2,"
        "\"colors\":[\"teal\",\"tan\",\"tomato\",\"thistle\"]}",
    };
    for (size_t i = 0; i < sizeof designs / sizeof designs[0]; i++) {
        nail_design a = parse_ok(designs[i]);
        char buf[1024];
        int n = nail_design_to_json(&a, buf, sizeof buf);
        assert_true(n > 0 && (size_t)n < sizeof buf);
        assert_int_equal((size_t)n, strlen(buf));
        nail_design b = parse_ok(buf);
        assert_true(styles_equal(&a.base, &b.base));
        for (int f = 0; f < NAIL_FINGERS; f++) {
            assert_true(styles_equal(&a.finger[f], &b.finger[f]));
            assert_int_equal(a.override_fields[f], b.override_fields[f]);
        }
        assert_int_equal(a.colors_given, b.colors_given);
        char again[1024];
        assert_int_equal(nail_design_to_json(&b, again, sizeof again), n);
        assert_string_equal(buf, again);
        assert_int_equal(nail_design_to_json(&a, buf, 10), LQ_ELIMIT);
        assert_string_equal(buf, "");
    }
    nail_design d = parse_ok("{\"shape\":\"oval\",\"colors\":[\"pink\"],\"fingers\":{\"ring\":"
                             "{\"pattern\":\"glitter\"}}}");
    char buf[256];
    assert_true(nail_design_to_json(&d, buf, sizeof buf) > 0);
    assert_string_equal(buf, "{\"shape\":\"oval\",\"size\":\"medium\",\"pattern\":\"solid\","
                             "\"finish\":\"glossy\",\"colors\":[\"#ffc0cb\"],\"fingers\":"
                             "{\"ring\":{\"pattern\":\"glitter\"}}}");
    assert_int_equal(nail_design_to_json(NULL, buf, sizeof buf), LQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(every_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(every_pattern, setup, teardown),
        cmocka_unit_test_setup_teardown(every_size_and_its_length, setup, teardown),
        cmocka_unit_test_setup_teardown(every_finish, setup, teardown),
        cmocka_unit_test_setup_teardown(aliases_and_spellings, setup, teardown),
        cmocka_unit_test_setup_teardown(length_overrides_size, setup, teardown),
        cmocka_unit_test_setup_teardown(colours_arrays_strings_and_alias, setup, teardown),
        cmocka_unit_test_setup_teardown(defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(pattern_default_colours, setup, teardown),
        cmocka_unit_test_setup_teardown(seed_examples, setup, teardown),
        cmocka_unit_test_setup_teardown(per_finger_overrides, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_fields_are_ignored_with_a_warning, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_values, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_types, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_lengths, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_colours, setup, teardown),
        cmocka_unit_test_setup_teardown(duplicates, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_fingers, setup, teardown),
        cmocka_unit_test_setup_teardown(non_object_roots, setup, teardown),
        cmocka_unit_test_setup_teardown(invalid_json, setup, teardown),
        cmocka_unit_test_setup_teardown(nesting_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(value_count_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(from_cjson, setup, teardown),
        cmocka_unit_test_setup_teardown(set_colors_from_a_palette, setup, teardown),
        cmocka_unit_test_setup_teardown(resolve_after_direct_changes, setup, teardown),
        cmocka_unit_test_setup_teardown(canonical_json_round_trips, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
