#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nails/color.h"
#include "lq_test.h"

static nail_rgb rgb(int r, int g, int b)
{
    nail_rgb c = {(uint8_t)r, (uint8_t)g, (uint8_t)b};
    return c;
}

static void assert_parses_to(const char *s, int r, int g, int b)
{
    nail_rgb c = {1, 2, 3};
    const char *why = NULL;
    int rc = nail_color_parse_ex(s, &c, &why);
    if (rc != 0)
        fail_msg("\"%s\" refused: %s", s, why ? why : "?");
    if (c.r != r || c.g != g || c.b != b)
        fail_msg("\"%s\" -> %d,%d,%d, expected %d,%d,%d", s, c.r, c.g, c.b, r, g, b);
}

static void assert_refused(const char *s, const char *why_contains)
{
    nail_rgb c = {1, 2, 3};
    const char *why = NULL;
    assert_int_equal(nail_color_parse_ex(s, &c, &why), LQ_EINVAL);
    assert_non_null(why);
    if (why_contains && !strstr(why, why_contains))
        fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", s ? s : "(null)", why, why_contains);
    /* output untouched on failure */
    assert_int_equal(c.r, 1);
    assert_int_equal(c.g, 2);
    assert_int_equal(c.b, 3);
}

static void every_name_in_the_table_parses_to_its_colour(void **state)
{
    (void)state;
    int n = nail_color_name_count(), ncss = 0;
    assert_true(n >= 148 + 30);
    const char *prev = NULL;
    for (int i = 0; i < n; i++) {
        nail_rgb want, got;
        int is_css = -1;
        const char *name = nail_color_name_at(i, &want, &is_css);
        assert_non_null(name);
        assert_true(is_css == 0 || is_css == 1);
        ncss += is_css;
        assert_int_equal(nail_color_parse(name, &got), 0);
        assert_memory_equal(&want, &got, sizeof want);
        if (prev)
            assert_true(strcmp(prev, name) != 0);
        prev = name;
    }
    assert_int_equal(ncss, 148);
    assert_null(nail_color_name_at(n, NULL, NULL));
    assert_null(nail_color_name_at(-1, NULL, NULL));
}

static void css_names_have_css_values(void **state)
{
    (void)state;
    assert_parses_to("pink", 0xff, 0xc0, 0xcb);
    assert_parses_to("white", 255, 255, 255);
    assert_parses_to("gold", 0xff, 0xd7, 0x00);
    assert_parses_to("silver", 0xc0, 0xc0, 0xc0);
    assert_parses_to("rebeccapurple", 0x66, 0x33, 0x99);
    /* the four names where X11 and CSS disagree take the CSS value */
    assert_parses_to("gray", 0x80, 0x80, 0x80);
    assert_parses_to("grey", 0x80, 0x80, 0x80);
    assert_parses_to("green", 0x00, 0x80, 0x00);
    assert_parses_to("maroon", 0x80, 0x00, 0x00);
    assert_parses_to("purple", 0x80, 0x00, 0x80);
    assert_parses_to("lightgoldenrodyellow", 0xfa, 0xfa, 0xd2);
    assert_parses_to("darkslategrey", 0x2f, 0x4f, 0x4f);
    assert_parses_to("aqua", 0, 255, 255);
    assert_parses_to("cyan", 0, 255, 255);
}

static void polish_names_and_spellings(void **state)
{
    (void)state;
    const char *polish[] = {"nude",  "rose_gold",   "champagne",   "burgundy",    "mauve",
                            "blush", "ballet_pink", "classic_red", "milky_white", "nude_pink"};
    for (size_t i = 0; i < sizeof polish / sizeof polish[0]; i++) {
        nail_rgb c;
        assert_int_equal(nail_color_parse(polish[i], &c), 0);
    }
    assert_parses_to("rose_gold", 0xb7, 0x6e, 0x79);
    assert_parses_to("Rose Gold", 0xb7, 0x6e, 0x79);
    assert_parses_to("rose-gold", 0xb7, 0x6e, 0x79);
    assert_parses_to("ROSEGOLD", 0xb7, 0x6e, 0x79);
    assert_parses_to("  LightPink ", 0xff, 0xb6, 0xc1);
    assert_parses_to("light pink", 0xff, 0xb6, 0xc1);
    assert_parses_to("burgundy", 0x80, 0x00, 0x20);
}

static void hex_forms(void **state)
{
    (void)state;
    assert_parses_to("#fff", 255, 255, 255);
    assert_parses_to("#F0a", 0xff, 0x00, 0xaa);
    assert_parses_to("#ff69b4", 0xff, 0x69, 0xb4);
    assert_parses_to("#FF69B4", 0xff, 0x69, 0xb4);
    assert_parses_to("#000000", 0, 0, 0);
    assert_refused("#ff69b", "3 or 6 hex digits");
    assert_refused("#", "3 or 6 hex digits");
    assert_refused("#ff69b4a", "3 or 6 hex digits");
    assert_refused("#ggg", "hex digits");
    assert_refused("#12 456", "hex digits");
    assert_refused("#ff69b4ff", "alpha");
    assert_refused("#f0f8", "alpha");
    assert_refused("ff69b4", "not a colour");
}

static void rgb_function_forms(void **state)
{
    (void)state;
    assert_parses_to("rgb(255,105,180)", 255, 105, 180);
    assert_parses_to("rgb( 255 , 105 , 180 )", 255, 105, 180);
    assert_parses_to("rgb(255 105 180)", 255, 105, 180);
    assert_parses_to("RGB(100%, 0%, 50%)", 255, 0, 128);
    assert_parses_to("rgb(12.6, 0, 0)", 13, 0, 0);
    assert_refused("rgb(256,0,0)", "rgb()");
    assert_refused("rgb(1,2)", "rgb()");
    assert_refused("rgb(1,2,3,4)", "rgb()");
    assert_refused("rgb(1,2,3", "rgb()");
    assert_refused("rgb(-1,2,3)", "rgb()");
    assert_refused("rgb(101%,0,0)", "rgb()");
    assert_refused("rgb(,1,2,3)", "rgb()");
    assert_refused("rgb(1,,2)", "rgb()");
    assert_refused("rgb(1 2 3) x", "rgb()");
    assert_refused("rgba(1,2,3,0.5)", "rgba");
}

static void bad_strings(void **state)
{
    (void)state;
    char long_name[80];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_refused(NULL, "no colour");
    assert_refused("", "empty");
    assert_refused("   ", "empty");
    assert_refused(long_name, "longer than 64");
    assert_refused("pnik", "unknown colour name");
    assert_refused("red2", "not a colour");
    assert_refused("red;", "not a colour");
    assert_refused("blue\x01", "not a colour");
    assert_int_equal(nail_color_parse("pink", NULL), LQ_EINVAL);
}

static void format_and_nearest_name(void **state)
{
    (void)state;
    char buf[8];
    assert_string_equal(nail_color_format(rgb(255, 105, 180), buf), "#ff69b4");
    assert_string_equal(nail_color_format(rgb(0, 1, 2), buf), "#000102");
    float de = -1.0f;
    assert_string_equal(nail_color_nearest_name(rgb(0xff, 0xc0, 0xcb), &de), "pink");
    assert_true(de < 1e-3f);
    const char *n = nail_color_nearest_name(rgb(0xb8, 0x6f, 0x7a), &de);
    assert_string_equal(n, "rose_gold");
    assert_true(de > 0.0f && de < 1.5f);
}

/* ---- transfer function ------------------------------------------------- */

static double srgb_decode_d(double s)
{
    return s <= 0.04045 ? s / 12.92 : pow((s + 0.055) / 1.055, 2.4);
}

static double srgb_encode_d(double l)
{
    return l <= 0.0031308 ? l * 12.92 : 1.055 * pow(l, 1.0 / 2.4) - 0.055;
}

static void lookup_tables_match_the_srgb_formula(void **state)
{
    (void)state;
    for (int v = 0; v < 256; v++) {
        double want = srgb_decode_d(v / 255.0);
        assert_true(fabs(nail_srgb8_to_linear((uint8_t)v) - want) <= 1e-6 * (want + 1e-3));
        assert_true(fabs(nail_srgb_decode(v / 255.0f) - want) < 1e-5);
        /* every 8-bit value survives decode -> encode through the table */
        assert_int_equal(nail_linear_to_srgb8(nail_srgb8_to_linear((uint8_t)v)), v);
    }
    for (int i = 0; i < NAIL_LINEAR_LUT_SIZE; i++) {
        double lin = i / (double)(NAIL_LINEAR_LUT_SIZE - 1);
        int want = (int)(srgb_encode_d(lin) * 255.0 + 0.5);
        assert_int_equal(nail__linear_to_srgb8_lut[i], want);
    }
    /* between table entries: within 1 of the exact rounding */
    for (int k = 0; k <= 100000; k++) {
        double lin = k / 100000.0;
        double exact = srgb_encode_d(lin) * 255.0;
        assert_true(fabs(nail_linear_to_srgb8((float)lin) - exact) <= 1.0);
    }
    assert_int_equal(nail_linear_to_srgb8(-0.5f), 0);
    assert_int_equal(nail_linear_to_srgb8(7.0f), 255);
    assert_int_equal(nail_linear_to_srgb8(NAN), 0);
    assert_true(fabs(nail_srgb_encode(nail_srgb_decode(0.3f)) - 0.3f) < 1e-5);
}

/* ---- Lab / OKLab -------------------------------------------------------- */

static void assert_lab_near(nail_lab got, double L, double a, double b, double tol)
{
    if (fabs(got.L - L) > tol || fabs(got.a - a) > tol || fabs(got.b - b) > tol)
        fail_msg("got (%.5f, %.5f, %.5f), expected (%.5f, %.5f, %.5f)", got.L, got.a, got.b, L, a,
                 b);
}

static void cie_lab_reference_values(void **state)
{
    (void)state;
    /* computed from the CIE 1976 formulas with the sRGB matrix and D65 white */
    assert_lab_near(nail_rgb_to_lab(rgb(255, 255, 255)), 100.0, 0.0, 0.0, 0.01);
    assert_lab_near(nail_rgb_to_lab(rgb(0, 0, 0)), 0.0, 0.0, 0.0, 0.01);
    assert_lab_near(nail_rgb_to_lab(rgb(255, 0, 0)), 53.2408, 80.0925, 67.2032, 0.01);
    assert_lab_near(nail_rgb_to_lab(rgb(0, 255, 0)), 87.7347, -86.1827, 83.1793, 0.01);
    assert_lab_near(nail_rgb_to_lab(rgb(0, 0, 255)), 32.2970, 79.1875, -107.8602, 0.01);
    assert_lab_near(nail_rgb_to_lab(rgb(128, 128, 128)), 53.5850, 0.0, 0.0, 0.01);
    assert_lab_near(nail_rgb_to_lab(rgb(255, 192, 203)), 83.5865, 24.1436, 3.3259, 0.01);
}

static void oklab_reference_values(void **state)
{
    (void)state;
    /* Ottosson's published values for the sRGB primaries and white */
    assert_lab_near(nail_rgb_to_oklab(rgb(255, 255, 255)), 1.0, 0.0, 0.0, 1e-4);
    assert_lab_near(nail_rgb_to_oklab(rgb(255, 0, 0)), 0.62796, 0.22486, 0.12585, 1e-4);
    assert_lab_near(nail_rgb_to_oklab(rgb(0, 255, 0)), 0.86644, -0.23389, 0.17950, 1e-4);
    assert_lab_near(nail_rgb_to_oklab(rgb(0, 0, 255)), 0.45201, -0.03246, -0.31153, 1e-4);
}

static void conversions_round_trip(void **state)
{
    (void)state;
    for (int r = 0; r < 256; r += 15)
        for (int g = 0; g < 256; g += 15)
            for (int b = 0; b < 256; b += 15) {
                nail_rgb c = rgb(r, g, b);
                nail_rgb x = nail_lab_to_rgb(nail_rgb_to_lab(c));
                nail_rgb y = nail_oklab_to_rgb(nail_rgb_to_oklab(c));
                nail_rgb z = nail_linear_to_rgb(nail_rgb_to_linear(c));
                assert_memory_equal(&c, &x, sizeof c);
                assert_memory_equal(&c, &y, sizeof c);
                assert_memory_equal(&c, &z, sizeof c);
            }
}

/* Test pairs from Sharma, Wu and Dalal (2005), "The CIEDE2000 color-difference
 * formula: implementation notes, supplementary test data". */
static void ciede2000_matches_published_test_data(void **state)
{
    (void)state;
    static const double pairs[][7] = {
        {50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425},
        {50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615},
        {50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412},
        {50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000},
        {50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000},
        {50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000},
        {50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669},
        {50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669},
        {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792},
        {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792},
        {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195},
        {50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195},
        {50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045},
        {50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492},
        {50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977},
        {50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030},
        {50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535},
        {50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000},
        {60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644},
        {63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630},
        {61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731},
        {35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645},
        {22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373},
        {36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146},
        {90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441},
        {90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381},
        {6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377},
        {2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082},
    };
    for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
        const double *p = pairs[i];
        nail_lab x = {(float)p[0], (float)p[1], (float)p[2]};
        nail_lab y = {(float)p[3], (float)p[4], (float)p[5]};
        float de = nail_delta_e2000(x, y);
        if (fabs(de - p[6]) > 1e-3)
            fail_msg("pair %zu: got %.4f, expected %.4f", i + 1, de, p[6]);
        assert_true(fabsf(nail_delta_e2000(y, x) - de) < 1e-4f);
    }
    nail_lab a = {50, 10, 10};
    assert_true(nail_delta_e2000(a, a) == 0.0f);
    nail_lab b = {53, 14, 10};
    assert_true(fabsf(nail_delta_e76(a, b) - 5.0f) < 1e-5f);
    assert_true(fabsf(nail_lab_chroma(b) - sqrtf(14 * 14 + 10 * 10)) < 1e-5f);
}

/* ---- mixing ------------------------------------------------------------- */

static void mixing(void **state)
{
    (void)state;
    nail_rgb k = rgb(0, 0, 0), w = rgb(255, 255, 255), r = rgb(200, 30, 60);
    nail_rgb m = nail_color_mix(k, w, 0.5f); /* half the light: sRGB 188 */
    assert_int_equal(m.r, 188);
    assert_int_equal(m.g, 188);
    m = nail_color_mix_oklab(k, w, 0.5f); /* half the lightness: OKLab L 0.5 */
    assert_true(fabsf(nail_rgb_to_oklab(m).L - 0.5f) < 0.005f);
    nail_rgb e = nail_color_mix(r, w, 0.0f);
    assert_memory_equal(&e, &r, sizeof r);
    e = nail_color_mix(r, w, 1.0f);
    assert_memory_equal(&e, &w, sizeof w);
    e = nail_color_mix(r, w, -3.0f); /* t clamps */
    assert_memory_equal(&e, &r, sizeof r);
    e = nail_color_mix_oklab(r, w, 9.0f);
    assert_memory_equal(&e, &w, sizeof w);
    nail_lin a = {0.2f, 0.4f, 0.6f}, b = {0.4f, 0.0f, 1.0f};
    nail_lin c = nail_lin_mix(a, b, 0.25f);
    assert_true(fabsf(c.r - 0.25f) < 1e-6f && fabsf(c.g - 0.3f) < 1e-6f &&
                fabsf(c.b - 0.7f) < 1e-6f);

    nail_rgb rose = rgb(180, 100, 120); /* inside the gamut after shading */
    nail_lab before = nail_rgb_to_oklab(rose);
    nail_lab lighter = nail_rgb_to_oklab(nail_color_shade(rose, 0.1f));
    nail_lab darker = nail_rgb_to_oklab(nail_color_shade(rose, -0.1f));
    assert_true(fabsf(lighter.L - before.L - 0.1f) < 0.02f);
    assert_true(fabsf(before.L - darker.L - 0.1f) < 0.02f);
    /* hue is kept */
    float h0 = atan2f(before.b, before.a), h1 = atan2f(darker.b, darker.a);
    assert_true(fabsf(h0 - h1) < 0.05f);
    assert_true(fabsf(nail_linear_luminance(nail_rgb_to_linear(w)) - 1.0f) < 1e-4f);
}

static void whitish(void **state)
{
    (void)state;
    nail_rgb c;
    const char *white_like[] = {"white", "snow", "ivory", "#fafafa", "ghostwhite"};
    const char *not_white[] = {"pink", "cream", "lightgray", "black", "gold", "ballet_pink"};
    for (size_t i = 0; i < sizeof white_like / sizeof *white_like; i++) {
        assert_int_equal(nail_color_parse(white_like[i], &c), 0);
        if (!nail_color_is_whitish(c))
            fail_msg("%s should count as white", white_like[i]);
    }
    for (size_t i = 0; i < sizeof not_white / sizeof *not_white; i++) {
        assert_int_equal(nail_color_parse(not_white[i], &c), 0);
        if (nail_color_is_whitish(c))
            fail_msg("%s should not count as white", not_white[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(every_name_in_the_table_parses_to_its_colour),
        cmocka_unit_test(css_names_have_css_values),
        cmocka_unit_test(polish_names_and_spellings),
        cmocka_unit_test(hex_forms),
        cmocka_unit_test(rgb_function_forms),
        cmocka_unit_test(bad_strings),
        cmocka_unit_test(format_and_nearest_name),
        cmocka_unit_test(lookup_tables_match_the_srgb_formula),
        cmocka_unit_test(cie_lab_reference_values),
        cmocka_unit_test(oklab_reference_values),
        cmocka_unit_test(conversions_round_trip),
        cmocka_unit_test(ciede2000_matches_published_test_data),
        cmocka_unit_test(mixing),
        cmocka_unit_test(whitish),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
