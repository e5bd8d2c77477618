/*
 * color.c - colour parsing and colour-space conversions (see color.h).
 */
#include "nails/color.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nails/color_names.h"

/* ---- parsing ----------------------------------------------------------- */

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static int is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static char ascii_lower(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static int parse_hex(const char *s, size_t n, nail_rgb *out, const char **why)
{
    /* s[0] is '#' */
    size_t nd = n - 1;
    for (size_t i = 1; i < n; i++) {
        if (hex_value(s[i]) < 0) {
            *why = "'#' must be followed by hex digits (0-9, a-f) only";
            return LQ_EINVAL;
        }
    }
    if (nd == 4 || nd == 8) {
        *why = "colours with alpha (#rgba, #rrggbbaa) are not supported: polish is opaque "
               "(use the finish \"sheer\" for a translucent look)";
        return LQ_EINVAL;
    }
    if (nd == 3) {
        out->r = (uint8_t)(hex_value(s[1]) * 17);
        out->g = (uint8_t)(hex_value(s[2]) * 17);
        out->b = (uint8_t)(hex_value(s[3]) * 17);
        return 0;
    }
    if (nd == 6) {
        out->r = (uint8_t)(hex_value(s[1]) * 16 + hex_value(s[2]));
        out->g = (uint8_t)(hex_value(s[3]) * 16 + hex_value(s[4]));
        out->b = (uint8_t)(hex_value(s[5]) * 16 + hex_value(s[6]));
        return 0;
    }
    *why = "'#' must be followed by 3 or 6 hex digits (#rgb or #rrggbb)";
    return LQ_EINVAL;
}

/* One rgb() component: a decimal number, optionally followed by '%'. Returns
 * the channel value 0..255 or -1 (out of range or not a number). */
static int parse_rgb_component(const char **pp, const char *end)
{
    const char *p = *pp;
    double v = 0.0;
    int digits = 0;
    while (p < end && *p >= '0' && *p <= '9' && digits < 8) {
        v = v * 10.0 + (*p - '0');
        p++;
        digits++;
    }
    if (p < end && *p == '.') {
        p++;
        double scale = 0.1;
        while (p < end && *p >= '0' && *p <= '9' && digits < 16) {
            v += (*p - '0') * scale;
            scale *= 0.1;
            p++;
            digits++;
        }
    }
    if (digits == 0 || (p < end && *p >= '0' && *p <= '9'))
        return -1;
    if (p < end && *p == '%') {
        p++;
        if (v > 100.0)
            return -1;
        v = v * 255.0 / 100.0;
    } else if (v > 255.0) {
        return -1;
    }
    *pp = p;
    return (int)(v + 0.5);
}

static int parse_rgb_function(const char *s, size_t n, nail_rgb *out, const char **why)
{
    static const char *const bad = "rgb() takes three numbers 0-255 or percentages "
                                   "0%-100%, e.g. rgb(255, 105, 180)";
    const char *p = s + 4; /* after "rgb(" */
    const char *end = s + n;
    int v[3];
    for (int i = 0; i < 3; i++) {
        while (p < end && is_space(*p))
            p++;
        if (i > 0 && p < end && *p == ',') {
            p++;
            while (p < end && is_space(*p))
                p++;
        }
        v[i] = parse_rgb_component(&p, end);
        if (v[i] < 0) {
            *why = bad;
            return LQ_EINVAL;
        }
    }
    while (p < end && is_space(*p))
        p++;
    if (p + 1 != end || *p != ')') {
        *why = bad;
        return LQ_EINVAL;
    }
    out->r = (uint8_t)v[0];
    out->g = (uint8_t)v[1];
    out->b = (uint8_t)v[2];
    return 0;
}

static int find_name(const char *key)
{
    int lo = 0, hi = nail__named_color_count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(key, nail__named_colors[mid].key);
        if (c == 0)
            return mid;
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return -1;
}

static int parse_name(const char *s, size_t n, nail_rgb *out, const char **why)
{
    char key[NAIL_COLOR_MAX_LEN + 1];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == ' ' || c == '-' || c == '_')
            continue;
        c = ascii_lower(c);
        if (c < 'a' || c > 'z') {
            *why = "not a colour: expected a colour name, #rgb, #rrggbb or rgb(r, g, b)";
            return LQ_EINVAL;
        }
        key[k++] = c;
    }
    key[k] = '\0';
    int i = k ? find_name(key) : -1;
    if (i < 0) {
        *why = "unknown colour name (CSS colour names such as \"pink\" and polish names "
               "such as \"nude\" or \"rose_gold\" are known; or use #rrggbb)";
        return LQ_EINVAL;
    }
    *out = nail__named_colors[i].rgb;
    return 0;
}

int nail_color_parse_ex(const char *s, nail_rgb *out, const char **why)
{
    const char *dummy;
    if (!why)
        why = &dummy;
    if (!s || !out) {
        *why = "no colour given";
        return LQ_EINVAL;
    }
    size_t n = strnlen(s, NAIL_COLOR_MAX_LEN + 1);
    if (n > NAIL_COLOR_MAX_LEN) {
        *why = "colour string longer than 64 characters";
        return LQ_EINVAL;
    }
    while (n > 0 && is_space(*s)) {
        s++;
        n--;
    }
    while (n > 0 && is_space(s[n - 1]))
        n--;
    if (n == 0) {
        *why = "empty colour string";
        return LQ_EINVAL;
    }
    nail_rgb c;
    int rc;
    if (s[0] == '#') {
        rc = parse_hex(s, n, &c, why);
    } else if (n >= 5 && ascii_lower(s[0]) == 'r' && ascii_lower(s[1]) == 'g' &&
               ascii_lower(s[2]) == 'b' && ascii_lower(s[3]) == 'a' && s[4] == '(') {
        *why = "rgba() is not supported: polish is opaque (use the finish \"sheer\" for a "
               "translucent look)";
        rc = LQ_EINVAL;
    } else if (n >= 4 && ascii_lower(s[0]) == 'r' && ascii_lower(s[1]) == 'g' &&
               ascii_lower(s[2]) == 'b' && s[3] == '(') {
        rc = parse_rgb_function(s, n, &c, why);
    } else {
        rc = parse_name(s, n, &c, why);
    }
    if (rc == 0)
        *out = c;
    return rc;
}

int nail_color_parse(const char *s, nail_rgb *out)
{
    return nail_color_parse_ex(s, out, NULL);
}

char *nail_color_format(nail_rgb c, char buf[8])
{
    snprintf(buf, 8, "#%02x%02x%02x", c.r, c.g, c.b);
    return buf;
}

int nail_color_name_count(void)
{
    return nail__named_color_count;
}

const char *nail_color_name_at(int i, nail_rgb *rgb, int *is_css)
{
    if (i < 0 || i >= nail__named_color_count)
        return NULL;
    if (rgb)
        *rgb = nail__named_colors[i].rgb;
    if (is_css)
        *is_css = nail__named_colors[i].is_css;
    return nail__named_colors[i].name;
}

const char *nail_color_nearest_name(nail_rgb c, float *delta_e)
{
    nail_lab lab = nail_rgb_to_lab(c);
    int best = 0;
    float best_de = INFINITY;
    for (int i = 0; i < nail__named_color_count; i++) {
        float de = nail_delta_e2000(lab, nail_rgb_to_lab(nail__named_colors[i].rgb));
        if (de < best_de) {
            best_de = de;
            best = i;
        }
    }
    if (delta_e)
        *delta_e = best_de;
    return nail__named_colors[best].name;
}

/* ---- transfer function ------------------------------------------------- */

float nail_srgb_decode(float s)
{
    if (s <= 0.04045f)
        return s / 12.92f;
    return powf((s + 0.055f) / 1.055f, 2.4f);
}

float nail_srgb_encode(float lin)
{
    if (lin <= 0.0031308f)
        return lin * 12.92f;
    return 1.055f * powf(lin, 1.0f / 2.4f) - 0.055f;
}

static float clamp01(float v)
{
    if (!(v > 0.0f))
        return 0.0f;
    return v > 1.0f ? 1.0f : v;
}

static uint8_t encode8_exact(float lin)
{
    return (uint8_t)(nail_srgb_encode(clamp01(lin)) * 255.0f + 0.5f);
}

nail_lin nail_rgb_to_linear(nail_rgb c)
{
    nail_lin l = {nail_srgb8_to_linear(c.r), nail_srgb8_to_linear(c.g), nail_srgb8_to_linear(c.b)};
    return l;
}

nail_rgb nail_linear_to_rgb(nail_lin c)
{
    nail_rgb o = {encode8_exact(c.r), encode8_exact(c.g), encode8_exact(c.b)};
    return o;
}

/* ---- OKLab ------------------------------------------------------------- */

nail_lab nail_linear_to_oklab(nail_lin c)
{
    float l = 0.4122214708f * c.r + 0.5363325363f * c.g + 0.0514459929f * c.b;
    float m = 0.2119034982f * c.r + 0.6806995451f * c.g + 0.1073969566f * c.b;
    float s = 0.0883024619f * c.r + 0.2817188376f * c.g + 0.6299787005f * c.b;
    float l_ = cbrtf(l), m_ = cbrtf(m), s_ = cbrtf(s);
    nail_lab o = {
        0.2104542553f * l_ + 0.7936177850f * m_ - 0.0040720468f * s_,
        1.9779984951f * l_ - 2.4285922050f * m_ + 0.4505937099f * s_,
        0.0259040371f * l_ + 0.7827717662f * m_ - 0.8086757660f * s_,
    };
    return o;
}

nail_lin nail_oklab_to_linear(nail_lab c)
{
    float l_ = c.L + 0.3963377774f * c.a + 0.2158037573f * c.b;
    float m_ = c.L - 0.1055613458f * c.a - 0.0638541728f * c.b;
    float s_ = c.L - 0.0894841775f * c.a - 1.2914855480f * c.b;
    float l = l_ * l_ * l_, m = m_ * m_ * m_, s = s_ * s_ * s_;
    nail_lin o = {
        4.0767416621f * l - 3.3077115913f * m + 0.2309699292f * s,
        -1.2684380046f * l + 2.6097574011f * m - 0.3413193965f * s,
        -0.0041960863f * l - 0.7034186147f * m + 1.7076147010f * s,
    };
    return o;
}

/* ---- CIE Lab (D65) ----------------------------------------------------- */

#define LAB_XN 0.95047
#define LAB_YN 1.0
#define LAB_ZN 1.08883
#define LAB_EPS (216.0 / 24389.0) /* (6/29)^3 */
#define LAB_KAPPA (24389.0 / 27.0)

static double lab_f(double t)
{
    return t > LAB_EPS ? cbrt(t) : (LAB_KAPPA * t + 16.0) / 116.0;
}

static double lab_finv(double f)
{
    double f3 = f * f * f;
    return f3 > LAB_EPS ? f3 : (116.0 * f - 16.0) / LAB_KAPPA;
}

nail_lab nail_linear_to_lab(nail_lin c)
{
    double r = c.r, g = c.g, b = c.b;
    double x = 0.4124564 * r + 0.3575761 * g + 0.1804375 * b;
    double y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
    double z = 0.0193339 * r + 0.1191920 * g + 0.9503041 * b;
    double fx = lab_f(x / LAB_XN), fy = lab_f(y / LAB_YN), fz = lab_f(z / LAB_ZN);
    nail_lab o = {(float)(116.0 * fy - 16.0), (float)(500.0 * (fx - fy)),
                  (float)(200.0 * (fy - fz))};
    return o;
}

nail_lin nail_lab_to_linear(nail_lab c)
{
    double fy = (c.L + 16.0) / 116.0;
    double fx = fy + c.a / 500.0;
    double fz = fy - c.b / 200.0;
    double x = lab_finv(fx) * LAB_XN, y = lab_finv(fy) * LAB_YN, z = lab_finv(fz) * LAB_ZN;
    nail_lin o = {
        (float)(3.2404542 * x - 1.5371385 * y - 0.4985314 * z),
        (float)(-0.9692660 * x + 1.8760108 * y + 0.0415560 * z),
        (float)(0.0556434 * x - 0.2040259 * y + 1.0572252 * z),
    };
    return o;
}

nail_lab nail_rgb_to_oklab(nail_rgb c)
{
    return nail_linear_to_oklab(nail_rgb_to_linear(c));
}

nail_rgb nail_oklab_to_rgb(nail_lab c)
{
    return nail_linear_to_rgb(nail_oklab_to_linear(c));
}

nail_lab nail_rgb_to_lab(nail_rgb c)
{
    return nail_linear_to_lab(nail_rgb_to_linear(c));
}

nail_rgb nail_lab_to_rgb(nail_lab c)
{
    return nail_linear_to_rgb(nail_lab_to_linear(c));
}

float nail_lab_chroma(nail_lab c)
{
    return sqrtf(c.a * c.a + c.b * c.b);
}

/* ---- differences ------------------------------------------------------- */

float nail_delta_e76(nail_lab x, nail_lab y)
{
    float dL = x.L - y.L, da = x.a - y.a, db = x.b - y.b;
    return sqrtf(dL * dL + da * da + db * db);
}

float nail_oklab_distance(nail_lab x, nail_lab y)
{
    return nail_delta_e76(x, y);
}

#define DEG2RAD (3.14159265358979323846 / 180.0)

static double hue_deg(double b, double a)
{
    if (a == 0.0 && b == 0.0)
        return 0.0;
    double h = atan2(b, a) / DEG2RAD;
    return h < 0.0 ? h + 360.0 : h;
}

float nail_delta_e2000(nail_lab x, nail_lab y)
{
    const double pow25_7 = 6103515625.0; /* 25^7 */
    double L1 = x.L, a1 = x.a, b1 = x.b, L2 = y.L, a2 = y.a, b2 = y.b;
    double C1 = sqrt(a1 * a1 + b1 * b1), C2 = sqrt(a2 * a2 + b2 * b2);
    double Cbar = 0.5 * (C1 + C2);
    double Cbar7 = pow(Cbar, 7.0);
    double G = 0.5 * (1.0 - sqrt(Cbar7 / (Cbar7 + pow25_7)));
    double a1p = (1.0 + G) * a1, a2p = (1.0 + G) * a2;
    double C1p = sqrt(a1p * a1p + b1 * b1), C2p = sqrt(a2p * a2p + b2 * b2);
    double h1p = hue_deg(b1, a1p), h2p = hue_deg(b2, a2p);

    double dLp = L2 - L1, dCp = C2p - C1p, dhp = 0.0;
    if (C1p * C2p != 0.0) {
        dhp = h2p - h1p;
        if (dhp > 180.0)
            dhp -= 360.0;
        else if (dhp < -180.0)
            dhp += 360.0;
    }
    double dHp = 2.0 * sqrt(C1p * C2p) * sin(0.5 * dhp * DEG2RAD);

    double Lbarp = 0.5 * (L1 + L2), Cbarp = 0.5 * (C1p + C2p), hbarp;
    if (C1p * C2p == 0.0)
        hbarp = h1p + h2p;
    else if (fabs(h1p - h2p) <= 180.0)
        hbarp = 0.5 * (h1p + h2p);
    else if (h1p + h2p < 360.0)
        hbarp = 0.5 * (h1p + h2p + 360.0);
    else
        hbarp = 0.5 * (h1p + h2p - 360.0);

    double T = 1.0 - 0.17 * cos((hbarp - 30.0) * DEG2RAD) + 0.24 * cos(2.0 * hbarp * DEG2RAD) +
               0.32 * cos((3.0 * hbarp + 6.0) * DEG2RAD) -
               0.20 * cos((4.0 * hbarp - 63.0) * DEG2RAD);
    double dtheta = 30.0 * exp(-((hbarp - 275.0) / 25.0) * ((hbarp - 275.0) / 25.0));
    double Cbarp7 = pow(Cbarp, 7.0);
    double RC = 2.0 * sqrt(Cbarp7 / (Cbarp7 + pow25_7));
    double l50 = (Lbarp - 50.0) * (Lbarp - 50.0);
    double SL = 1.0 + 0.015 * l50 / sqrt(20.0 + l50);
    double SC = 1.0 + 0.045 * Cbarp;
    double SH = 1.0 + 0.015 * Cbarp * T;
    double RT = -sin(2.0 * dtheta * DEG2RAD) * RC;
    double tl = dLp / SL, tc = dCp / SC, th = dHp / SH;
    return (float)sqrt(tl * tl + tc * tc + th * th + RT * tc * th);
}

/* ---- mixing ------------------------------------------------------------ */

nail_lin nail_lin_mix(nail_lin a, nail_lin b, float t)
{
    t = clamp01(t);
    nail_lin o = {a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
    return o;
}

nail_rgb nail_color_mix(nail_rgb a, nail_rgb b, float t)
{
    return nail_linear_to_rgb(nail_lin_mix(nail_rgb_to_linear(a), nail_rgb_to_linear(b), t));
}

nail_rgb nail_color_mix_oklab(nail_rgb a, nail_rgb b, float t)
{
    t = clamp01(t);
    nail_lab x = nail_rgb_to_oklab(a), y = nail_rgb_to_oklab(b);
    nail_lab m = {x.L + (y.L - x.L) * t, x.a + (y.a - x.a) * t, x.b + (y.b - x.b) * t};
    return nail_oklab_to_rgb(m);
}

nail_rgb nail_color_shade(nail_rgb c, float dL)
{
    nail_lab x = nail_rgb_to_oklab(c);
    x.L = clamp01(x.L + dL);
    return nail_oklab_to_rgb(x);
}

int nail_color_is_whitish(nail_rgb c)
{
    nail_lab x = nail_rgb_to_oklab(c);
    return x.L >= 0.9f && nail_lab_chroma(x) < 0.03f;
}
