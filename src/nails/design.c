/*
 * design.c - parse and resolve a nail design (see design.h, docs/designs.md).
 *
 * Parsing is two passes over the JSON: a byte scan that enforces the size and
 * nesting limits before cJSON sees the text (so hostile input never reaches
 * a deep recursion), then a walk over the cJSON tree that validates every
 * field against the tables below and names the field at fault.
 */
#include "nails/design.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base/log.h"

#define TAG "design"
#define MAX_WARN_LOGS 8 /* unknown fields logged per parse; the rest only counted */

/* ---- value tables ------------------------------------------------------ */

/* A value name and the enum it means. The canonical names come first, in enum
 * order (they are what *_name() returns and what errors list as allowed);
 * aliases follow. */
typedef struct value_name {
    const char *name;
    int value;
} value_name;

static const value_name shape_names[] = {
    {"almond", NAIL_SHAPE_ALMOND},
    {"square", NAIL_SHAPE_SQUARE},
    {"oval", NAIL_SHAPE_OVAL},
    {"stiletto", NAIL_SHAPE_STILETTO},
    {"coffin", NAIL_SHAPE_COFFIN},
    {"round", NAIL_SHAPE_ROUND},
    {"squoval", NAIL_SHAPE_SQUOVAL},
    /* aliases: "ballerina" is the other trade name of coffin */
    {"ballerina", NAIL_SHAPE_COFFIN},
};

static const value_name pattern_names[] = {
    {"solid", NAIL_PATTERN_SOLID},
    {"french_tips", NAIL_PATTERN_FRENCH_TIPS},
    {"ombre", NAIL_PATTERN_OMBRE},
    {"glitter", NAIL_PATTERN_GLITTER},
    {"marble", NAIL_PATTERN_MARBLE},
    {"floral", NAIL_PATTERN_FLORAL},
    {"reference", NAIL_PATTERN_REFERENCE},
    /* aliases: the spellings shoppers and taggers use */
    {"french", NAIL_PATTERN_FRENCH_TIPS},
    {"french_tip", NAIL_PATTERN_FRENCH_TIPS},
    {"ombr\xc3\xa9", NAIL_PATTERN_OMBRE}, /* "ombré" in UTF-8 */
    {"gradient", NAIL_PATTERN_OMBRE},
};

static const value_name size_names[] = {
    {"short", NAIL_SIZE_SHORT},
    {"medium", NAIL_SIZE_MEDIUM},
    {"long", NAIL_SIZE_LONG},
};

static const value_name finish_names[] = {
    {"glossy", NAIL_FINISH_GLOSSY},
    {"matte", NAIL_FINISH_MATTE},
    {"metallic", NAIL_FINISH_METALLIC},
    {"cream", NAIL_FINISH_CREAM},
    {"sheer", NAIL_FINISH_SHEER},
    {"pearl", NAIL_FINISH_PEARL},
    {"shimmer", NAIL_FINISH_SHIMMER},
    /* aliases: polish-brand vocabulary */
    {"gloss", NAIL_FINISH_GLOSSY},
    {"jelly", NAIL_FINISH_SHEER},
    {"creme", NAIL_FINISH_CREAM},
    {"chrome", NAIL_FINISH_METALLIC},
    {"pearlescent", NAIL_FINISH_PEARL},
};

static const value_name finger_names[] = {
    {"thumb", 0},
    {"index", 1},
    {"middle", 2},
    {"ring", 3},
    {"pinky", 4},
    /* aliases */
    {"pinkie", 4},
    {"little", 4},
};

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

typedef struct value_table {
    const value_name *v;
    int n;      /* all entries */
    int ncanon; /* canonical entries (the enum count) */
} value_table;

static const value_table shape_table = {shape_names, COUNT(shape_names), NAIL_SHAPE_COUNT};
static const value_table pattern_table = {pattern_names, COUNT(pattern_names), NAIL_PATTERN_COUNT};
static const value_table size_table = {size_names, COUNT(size_names), NAIL_SIZE_COUNT};
static const value_table finish_table = {finish_names, COUNT(finish_names), NAIL_FINISH_COUNT};
static const value_table finger_table = {finger_names, COUNT(finger_names), NAIL_FINGERS};

static const char *table_name(const value_table *t, int value)
{
    if (value < 0 || value >= t->ncanon)
        return NULL;
    return t->v[value].name;
}

const char *nail_shape_name(nail_shape s)
{
    return table_name(&shape_table, (int)s);
}

const char *nail_pattern_name(nail_pattern p)
{
    return table_name(&pattern_table, (int)p);
}

const char *nail_size_name(nail_size s)
{
    return table_name(&size_table, (int)s);
}

const char *nail_finish_name(nail_finish f)
{
    return table_name(&finish_table, (int)f);
}

const char *nail_finger_name(int finger)
{
    return table_name(&finger_table, finger);
}

/* Normalises a value for lookup: trims spaces, lower-cases ASCII, and maps
 * ' ' and '-' to '_'. Returns 0, or -1 if longer than NAIL_DESIGN_MAX_VALUE_LEN. */
static int normalise_value(const char *s, char out[NAIL_DESIGN_MAX_VALUE_LEN + 1])
{
    size_t n = strnlen(s, 4 * NAIL_DESIGN_MAX_VALUE_LEN);
    while (n > 0 && (*s == ' ' || *s == '\t')) {
        s++;
        n--;
    }
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    if (n > NAIL_DESIGN_MAX_VALUE_LEN)
        return -1;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        else if (c == ' ' || c == '-')
            c = '_';
        out[i] = c;
    }
    out[n] = '\0';
    return 0;
}

static int table_lookup(const value_table *t, const char *s, int *out)
{
    char key[NAIL_DESIGN_MAX_VALUE_LEN + 1];
    if (!s || normalise_value(s, key) < 0)
        return LQ_EINVAL;
    for (int i = 0; i < t->n; i++) {
        if (strcmp(key, t->v[i].name) == 0) {
            *out = t->v[i].value;
            return 0;
        }
    }
    return LQ_EINVAL;
}

int nail_shape_parse(const char *s, nail_shape *out)
{
    int v;
    if (!out || table_lookup(&shape_table, s, &v) < 0)
        return LQ_EINVAL;
    *out = (nail_shape)v;
    return 0;
}

int nail_pattern_parse(const char *s, nail_pattern *out)
{
    int v;
    if (!out || table_lookup(&pattern_table, s, &v) < 0)
        return LQ_EINVAL;
    *out = (nail_pattern)v;
    return 0;
}

int nail_size_parse(const char *s, nail_size *out)
{
    int v;
    if (!out || table_lookup(&size_table, s, &v) < 0)
        return LQ_EINVAL;
    *out = (nail_size)v;
    return 0;
}

int nail_finish_parse(const char *s, nail_finish *out)
{
    int v;
    if (!out || table_lookup(&finish_table, s, &v) < 0)
        return LQ_EINVAL;
    *out = (nail_finish)v;
    return 0;
}

/* ---- sizes and colour defaults ----------------------------------------- */

float nail_size_length(nail_size s)
{
    switch (s) {
    case NAIL_SIZE_SHORT:
        return 1.0f;
    case NAIL_SIZE_LONG:
        return 1.7f;
    case NAIL_SIZE_MEDIUM:
    default:
        return 1.3f;
    }
}

#define RGB(hex)                                                                                   \
    {                                                                                              \
        (uint8_t)((hex) >> 16), (uint8_t)(((hex) >> 8) & 0xff), (uint8_t)((hex)&0xff)              \
    }

static const nail_rgb c_classic_red = RGB(0xb11226);
static const nail_rgb c_ballet_pink = RGB(0xf2d1d1);
static const nail_rgb c_nude = RGB(0xe3bc9a);
static const nail_rgb c_white = RGB(0xffffff);
static const nail_rgb c_champagne = RGB(0xf7e7ce);
static const nail_rgb c_gold = RGB(0xffd700);
static const nail_rgb c_silver = RGB(0xc0c0c0);
static const nail_rgb c_gray = RGB(0x808080);
static const nail_rgb c_blush = RGB(0xf0b8b8);
static const nail_rgb c_hotpink = RGB(0xff69b4);
static const nail_rgb c_charcoal = RGB(0x333333);

/* The colours a pattern needs at least (see the roles in design.h). */
static int pattern_min_colors(nail_pattern p)
{
    switch (p) {
    case NAIL_PATTERN_FRENCH_TIPS:
    case NAIL_PATTERN_OMBRE:
    case NAIL_PATTERN_GLITTER:
    case NAIL_PATTERN_MARBLE:
        return 2;
    case NAIL_PATTERN_FLORAL:
        return 3;
    default:
        return 1;
    }
}

/* Colours when none are given: the classic look of each pattern. */
static int pattern_default_colors(nail_pattern p, nail_rgb *c)
{
    switch (p) {
    case NAIL_PATTERN_FRENCH_TIPS: /* sheer pink bed, white tip */
    case NAIL_PATTERN_OMBRE:       /* "baby boomer": pink fading into white */
        c[0] = c_ballet_pink;
        c[1] = c_white;
        return 2;
    case NAIL_PATTERN_GLITTER:
        c[0] = c_champagne;
        c[1] = c_gold;
        c[2] = c_silver;
        return 3;
    case NAIL_PATTERN_MARBLE: /* white marble, grey veins */
        c[0] = c_white;
        c[1] = c_gray;
        return 2;
    case NAIL_PATTERN_FLORAL:
        c[0] = c_blush;
        c[1] = c_white;
        c[2] = c_gold;
        return 3;
    case NAIL_PATTERN_REFERENCE:
        c[0] = c_nude;
        return 1;
    case NAIL_PATTERN_SOLID:
    default:
        c[0] = c_classic_red;
        return 1;
    }
}

/* Completes n given colours (1 <= n) to what pattern p needs, in place.
 * Returns the new count. The given colours keep their roles unless the one
 * colour given for french tips or ombre is a white: then it is the tip. */
static int complete_colors(nail_pattern p, nail_rgb *c, int n)
{
    int need = pattern_min_colors(p);
    if (n >= need)
        return n;
    nail_rgb first = c[0];
    switch (p) {
    case NAIL_PATTERN_FRENCH_TIPS:
        if (nail_color_is_whitish(first)) {
            c[0] = c_ballet_pink;
            c[1] = first;
        } else {
            c[1] = c_white;
        }
        return 2;
    case NAIL_PATTERN_OMBRE:
        c[0] = nail_color_is_whitish(first) ? c_ballet_pink : c_nude;
        c[1] = first;
        return 2;
    case NAIL_PATTERN_GLITTER: {
        nail_lab ok = nail_rgb_to_oklab(first);
        /* silver sparkle, except on a light grey/silver/white base: gold */
        c[1] = (nail_lab_chroma(ok) < 0.04f && ok.L > 0.6f) ? c_gold : c_silver;
        return 2;
    }
    case NAIL_PATTERN_MARBLE: {
        nail_lab ok = nail_rgb_to_oklab(first);
        c[1] = ok.L >= 0.6f ? nail_color_mix_oklab(first, c_charcoal, 0.6f) : c_white;
        return 2;
    }
    case NAIL_PATTERN_FLORAL:
        if (n < 2)
            c[1] = nail_color_is_whitish(first) ? c_hotpink : c_white;
        c[2] = c_gold;
        return 3;
    default:
        return n;
    }
}

static void fill_colors(nail_style *s, const nail_rgb *given, int ngiven)
{
    nail_rgb c[NAIL_MAX_COLORS];
    int n;
    if (ngiven > 0) {
        memcpy(c, given, (size_t)ngiven * sizeof *c);
        n = complete_colors(s->pattern, c, ngiven);
    } else {
        n = pattern_default_colors(s->pattern, c);
    }
    memset(s->colors, 0, sizeof s->colors);
    memcpy(s->colors, c, (size_t)n * sizeof *c);
    s->ncolors = n;
}

void nail_design_resolve(nail_design *d)
{
    nail_style *b = &d->base;
    if (!(d->base_fields & NAIL_FIELD_LENGTH))
        b->length = nail_size_length(b->size);
    fill_colors(b, d->given_colors, d->colors_given);
    for (int f = 0; f < NAIL_FINGERS; f++) {
        const nail_style *o = &d->override[f];
        unsigned m = d->override_fields[f];
        nail_style s = *b;
        if (m & NAIL_FIELD_SHAPE)
            s.shape = o->shape;
        if (m & NAIL_FIELD_PATTERN)
            s.pattern = o->pattern;
        if (m & NAIL_FIELD_FINISH)
            s.finish = o->finish;
        if (m & NAIL_FIELD_SIZE) {
            s.size = o->size;
            s.length = nail_size_length(o->size);
        }
        if (m & NAIL_FIELD_LENGTH)
            s.length = o->length;
        if (m & NAIL_FIELD_COLORS)
            fill_colors(&s, o->colors, o->ncolors);
        else
            fill_colors(&s, d->given_colors, d->colors_given);
        d->finger[f] = s;
        d->has_override[f] = m != 0;
    }
}

void nail_design_default(nail_design *d)
{
    memset(d, 0, sizeof *d);
    d->base.shape = NAIL_SHAPE_ALMOND;
    d->base.pattern = NAIL_PATTERN_SOLID;
    d->base.finish = NAIL_FINISH_GLOSSY;
    d->base.size = NAIL_SIZE_MEDIUM;
    nail_design_resolve(d);
}

int nail_design_set_colors(nail_design *d, const nail_rgb *colors, int n)
{
    if (!d || !colors || n < 1 || n > NAIL_MAX_COLORS)
        return LQ_EINVAL;
    memset(d->given_colors, 0, sizeof d->given_colors);
    memcpy(d->given_colors, colors, (size_t)n * sizeof *colors);
    d->colors_given = n;
    d->base_fields |= NAIL_FIELD_COLORS;
    nail_design_resolve(d);
    return 0;
}

/* ---- parsing: context, messages ---------------------------------------- */

typedef struct parse_ctx {
    char *err;
    size_t errlen;
    int warnings;
} parse_ctx;

static int fail(parse_ctx *c, int code, const char *fmt, ...) LQ_PRINTF(3, 4);

static int fail(parse_ctx *c, int code, const char *fmt, ...)
{
    if (c->err && c->errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(c->err, c->errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}

/* Copies untrusted text for a message: at most 40 characters, quotes and
 * backslashes escaped, control characters as '?', "..." when cut. */
static const char *quoted(const char *s, char buf[128])
{
    size_t k = 0, i = 0;
    for (; s[i] && i < 40; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '"' || ch == '\\') {
            buf[k++] = '\\';
            buf[k++] = (char)ch;
        } else {
            buf[k++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
        }
    }
    if (s[i]) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k] = '\0';
    return buf;
}

static const char *json_type_name(const cJSON *v)
{
    if (cJSON_IsString(v))
        return "a string";
    if (cJSON_IsNumber(v))
        return "a number";
    if (cJSON_IsBool(v))
        return "a boolean";
    if (cJSON_IsNull(v))
        return "null";
    if (cJSON_IsArray(v))
        return "an array";
    if (cJSON_IsObject(v))
        return "an object";
    return "an invalid value";
}

/* "a, b, c" from a table's canonical names; aliases in parentheses. */
static const char *allowed_list(const value_table *t, char *buf, size_t cap)
{
    size_t k = 0;
    buf[0] = '\0';
    for (int i = 0; i < t->n && k < cap; i++) {
        const char *sep = i == 0 ? "" : (i == t->ncanon ? " (also: " : ", ");
        k += (size_t)snprintf(buf + k, cap - k, "%s%s", sep, t->v[i].name);
    }
    if (t->n > t->ncanon && k < cap)
        snprintf(buf + k, cap - k, ")");
    return buf;
}

static void warn_unknown(parse_ctx *c, const char *path, const char *key)
{
    char q[128];
    c->warnings++;
    if (c->warnings <= MAX_WARN_LOGS)
        LQ_WARN(TAG, "ignoring unknown field \"%s%s\"", path, quoted(key, q));
    else if (c->warnings == MAX_WARN_LOGS + 1)
        LQ_WARN(TAG, "more unknown fields: logging stops here (all are counted)");
}

static int parse_enum(parse_ctx *c, const cJSON *v, const char *path, const value_table *t,
                      int *out)
{
    char allowed[256], q[128];
    if (!cJSON_IsString(v) || !v->valuestring)
        return fail(c, LQ_EINVAL, "%s: must be a string, got %s; allowed: %s", path,
                    json_type_name(v), allowed_list(t, allowed, sizeof allowed));
    if (table_lookup(t, v->valuestring, out) < 0)
        return fail(c, LQ_EINVAL, "%s: unknown value \"%s\"; allowed: %s", path,
                    quoted(v->valuestring, q), allowed_list(t, allowed, sizeof allowed));
    return 0;
}

static int parse_length(parse_ctx *c, const cJSON *v, const char *path, float *out)
{
    if (!cJSON_IsNumber(v))
        return fail(c, LQ_EINVAL, "%s: must be a number from %.1f to %.1f, got %s", path,
                    (double)NAIL_LENGTH_MIN, (double)NAIL_LENGTH_MAX, json_type_name(v));
    double x = v->valuedouble;
    /* compare in double against the float bounds so 0.8 and 2.2 are inside */
    if (!isfinite(x) || x < 0.8 - 1e-9 || x > 2.2 + 1e-9)
        return fail(c, LQ_EINVAL, "%s: %g is out of range; allowed: a number from %.1f to %.1f",
                    path, x, (double)NAIL_LENGTH_MIN, (double)NAIL_LENGTH_MAX);
    *out = (float)(round(x * 1000.0) / 1000.0);
    return 0;
}

static int parse_one_color(parse_ctx *c, const cJSON *v, const char *path, nail_rgb *out)
{
    char q[128];
    const char *why = NULL;
    if (!cJSON_IsString(v) || !v->valuestring)
        return fail(c, LQ_EINVAL,
                    "%s: must be a colour string (a name like \"pink\", #rgb, #rrggbb or "
                    "rgb(r, g, b)), got %s",
                    path, json_type_name(v));
    if (nail_color_parse_ex(v->valuestring, out, &why) < 0)
        return fail(c, LQ_EINVAL, "%s: \"%s\": %s", path, quoted(v->valuestring, q), why);
    return 0;
}

static int parse_colors(parse_ctx *c, const cJSON *v, const char *path, nail_rgb *out, int *n)
{
    char p[112];
    if (cJSON_IsString(v)) {
        int rc = parse_one_color(c, v, path, &out[0]);
        if (rc < 0)
            return rc;
        *n = 1;
        return 0;
    }
    if (!cJSON_IsArray(v))
        return fail(c, LQ_EINVAL,
                    "%s: must be an array of 1 to %d colour strings (or one string), got %s", path,
                    NAIL_MAX_COLORS, json_type_name(v));
    int count = cJSON_GetArraySize(v);
    if (count < 1 || count > NAIL_MAX_COLORS)
        return fail(c, LQ_EINVAL, "%s: must list 1 to %d colours, got %d", path, NAIL_MAX_COLORS,
                    count);
    int i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        snprintf(p, sizeof p, "%s[%d]", path, i);
        int rc = parse_one_color(c, e, p, &out[i]);
        if (rc < 0)
            return rc;
    }
    *n = count;
    return 0;
}

/* ---- parsing: objects -------------------------------------------------- */

enum key_id { K_SHAPE, K_SIZE, K_LENGTH, K_PATTERN, K_COLORS, K_FINISH, K_FINGERS, K_UNKNOWN };

/* Canonical field names, used in messages whatever case or alias was sent. */
static const char *const key_names[] = {"shape",  "size",   "length", "pattern",
                                        "colors", "finish", "fingers"};

static enum key_id key_of(const char *k, int allow_fingers)
{
    static const struct {
        const char *name;
        enum key_id id;
    } keys[] = {
        {"shape", K_SHAPE},   {"size", K_SIZE},    {"length", K_LENGTH}, {"pattern", K_PATTERN},
        {"colors", K_COLORS}, {"color", K_COLORS}, {"finish", K_FINISH}, {"fingers", K_FINGERS},
    };
    if (!k)
        return K_UNKNOWN;
    for (int i = 0; i < COUNT(keys); i++) {
        if (strcasecmp(k, keys[i].name) == 0) {
            if (keys[i].id == K_FINGERS && !allow_fingers)
                return K_UNKNOWN;
            return keys[i].id;
        }
    }
    return K_UNKNOWN;
}

/* A partial style: the fields an object sets go into *s and *fields. */
typedef struct style_in {
    nail_style s;
    unsigned fields;
    nail_rgb colors[NAIL_MAX_COLORS];
    int ncolors;
} style_in;

static int parse_fingers(parse_ctx *c, const cJSON *obj, style_in *fingers);

/* prefix: "" at the root, "fingers.ring." inside an override. */
static int parse_style(parse_ctx *c, const cJSON *obj, const char *prefix, style_in *in,
                       style_in *fingers)
{
    char path[96];
    unsigned seen = 0;
    for (const cJSON *v = obj->child; v; v = v->next) {
        enum key_id id = key_of(v->string, fingers != NULL);
        if (id == K_UNKNOWN) {
            warn_unknown(c, prefix, v->string ? v->string : "");
            continue;
        }
        snprintf(path, sizeof path, "%s%s", prefix, key_names[id]);
        if (seen & (1u << id))
            return fail(c, LQ_EINVAL, "%s: given more than once", path);
        seen |= 1u << id;
        if (cJSON_IsNull(v))
            continue; /* null = not given */
        int rc = 0, x = 0;
        switch (id) {
        case K_SHAPE:
            rc = parse_enum(c, v, path, &shape_table, &x);
            in->s.shape = (nail_shape)x;
            in->fields |= NAIL_FIELD_SHAPE;
            break;
        case K_SIZE:
            rc = parse_enum(c, v, path, &size_table, &x);
            in->s.size = (nail_size)x;
            in->fields |= NAIL_FIELD_SIZE;
            break;
        case K_PATTERN:
            rc = parse_enum(c, v, path, &pattern_table, &x);
            in->s.pattern = (nail_pattern)x;
            in->fields |= NAIL_FIELD_PATTERN;
            break;
        case K_FINISH:
            rc = parse_enum(c, v, path, &finish_table, &x);
            in->s.finish = (nail_finish)x;
            in->fields |= NAIL_FIELD_FINISH;
            break;
        case K_LENGTH:
            rc = parse_length(c, v, path, &in->s.length);
            in->fields |= NAIL_FIELD_LENGTH;
            break;
        case K_COLORS:
            rc = parse_colors(c, v, path, in->colors, &in->ncolors);
            in->fields |= NAIL_FIELD_COLORS;
            break;
        case K_FINGERS:
            rc = parse_fingers(c, v, fingers);
            break;
        default:
            break;
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int parse_fingers(parse_ctx *c, const cJSON *obj, style_in *fingers)
{
    char path[96], prefix[96], allowed[256], q[128];
    if (!cJSON_IsObject(obj))
        return fail(c, LQ_EINVAL,
                    "fingers: must be an object mapping finger names to styles, got %s; "
                    "allowed keys: %s",
                    json_type_name(obj), allowed_list(&finger_table, allowed, sizeof allowed));
    unsigned seen = 0;
    for (const cJSON *v = obj->child; v; v = v->next) {
        int f;
        snprintf(path, sizeof path, "fingers.%s", quoted(v->string ? v->string : "", q));
        if (!v->string || table_lookup(&finger_table, v->string, &f) < 0)
            return fail(c, LQ_EINVAL, "%s: unknown finger; allowed: %s", path,
                        allowed_list(&finger_table, allowed, sizeof allowed));
        if (seen & (1u << f))
            return fail(c, LQ_EINVAL, "%s: finger given more than once", path);
        seen |= 1u << f;
        if (cJSON_IsNull(v))
            continue;
        if (!cJSON_IsObject(v))
            return fail(c, LQ_EINVAL,
                        "%s: must be an object with any of shape, size, length, pattern, "
                        "colors, finish; got %s",
                        path, json_type_name(v));
        /* messages use the canonical finger name ("pinkie" -> fingers.pinky) */
        snprintf(prefix, sizeof prefix, "fingers.%s.", nail_finger_name(f));
        int rc = parse_style(c, v, prefix, &fingers[f], NULL);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Nesting depth and value count of a cJSON tree, stopping early (so the
 * recursion is bounded) once a limit is passed. */
static void tree_measure(const cJSON *v, int depth, int *max_depth, int *nodes)
{
    (*nodes)++;
    if (!cJSON_IsArray(v) && !cJSON_IsObject(v))
        return; /* depth counts containers, as the text scan counts brackets */
    if (depth > *max_depth)
        *max_depth = depth;
    if (depth > NAIL_DESIGN_MAX_DEPTH || *nodes > NAIL_DESIGN_MAX_NODES)
        return;
    for (const cJSON *e = v->child; e; e = e->next) {
        tree_measure(e, depth + 1, max_depth, nodes);
        if (*max_depth > NAIL_DESIGN_MAX_DEPTH || *nodes > NAIL_DESIGN_MAX_NODES)
            return;
    }
}

static int design_from_tree(parse_ctx *c, const cJSON *obj, nail_design *out)
{
    nail_design d;
    nail_design_default(&d);
    if (!obj || cJSON_IsNull(obj)) {
        *out = d;
        return 0;
    }
    int depth = 0, nodes = 0;
    tree_measure(obj, 1, &depth, &nodes);
    if (depth > NAIL_DESIGN_MAX_DEPTH)
        return fail(c, LQ_ELIMIT, "design: JSON nested deeper than %d levels",
                    NAIL_DESIGN_MAX_DEPTH);
    if (nodes > NAIL_DESIGN_MAX_NODES)
        return fail(c, LQ_ELIMIT, "design: more than %d JSON values", NAIL_DESIGN_MAX_NODES);
    if (!cJSON_IsObject(obj))
        return fail(c, LQ_EINVAL, "design: must be a JSON object, got %s", json_type_name(obj));

    style_in base, fingers[NAIL_FINGERS];
    memset(&base, 0, sizeof base);
    memset(fingers, 0, sizeof fingers);
    base.s = d.base;
    int rc = parse_style(c, obj, "", &base, fingers);
    if (rc < 0)
        return rc;

    unsigned b = base.fields;
    if (b & NAIL_FIELD_SHAPE)
        d.base.shape = base.s.shape;
    if (b & NAIL_FIELD_PATTERN)
        d.base.pattern = base.s.pattern;
    if (b & NAIL_FIELD_FINISH)
        d.base.finish = base.s.finish;
    if (b & NAIL_FIELD_SIZE)
        d.base.size = base.s.size;
    if (b & NAIL_FIELD_LENGTH)
        d.base.length = base.s.length;
    if (b & NAIL_FIELD_COLORS) {
        memcpy(d.given_colors, base.colors, sizeof d.given_colors);
        d.colors_given = base.ncolors;
    }
    d.base_fields = b;
    for (int f = 0; f < NAIL_FINGERS; f++) {
        d.override[f] = fingers[f].s;
        d.override_fields[f] = fingers[f].fields;
        if (fingers[f].fields & NAIL_FIELD_COLORS) {
            memcpy(d.override[f].colors, fingers[f].colors, sizeof d.override[f].colors);
            d.override[f].ncolors = fingers[f].ncolors;
        }
    }
    d.warnings = c->warnings;
    nail_design_resolve(&d);
    *out = d;
    return 0;
}

int nail_design_from_cjson(const struct cJSON *obj, nail_design *out, char *err, size_t errlen)
{
    parse_ctx c = {err, errlen, 0};
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return fail(&c, LQ_EINVAL, "design: no output given");
    return design_from_tree(&c, obj, out);
}

/* Nesting depth of JSON text, counted without parsing; strings are skipped
 * so brackets inside them do not count. Stops at the first level over max. */
static int text_depth_exceeds(const char *s, size_t n, int max)
{
    int depth = 0, in_string = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (in_string) {
            if (ch == '\\')
                i++;
            else if (ch == '"')
                in_string = 0;
        } else if (ch == '"') {
            in_string = 1;
        } else if (ch == '{' || ch == '[') {
            if (++depth > max)
                return 1;
        } else if (ch == '}' || ch == ']') {
            depth--;
        }
    }
    return 0;
}

int nail_design_parse_json(const char *json, size_t len, nail_design *out, char *err, size_t errlen)
{
    parse_ctx c = {err, errlen, 0};
    if (err && errlen)
        err[0] = '\0';
    if (!out)
        return fail(&c, LQ_EINVAL, "design: no output given");
    if (!json)
        return fail(&c, LQ_EINVAL, "design: no JSON given");
    if (len > NAIL_DESIGN_MAX_JSON)
        return fail(&c, LQ_ELIMIT, "design: JSON is %zu bytes; the limit is %u", len,
                    NAIL_DESIGN_MAX_JSON);
    if (text_depth_exceeds(json, len, NAIL_DESIGN_MAX_DEPTH))
        return fail(&c, LQ_ELIMIT, "design: JSON nested deeper than %d levels",
                    NAIL_DESIGN_MAX_DEPTH);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
    if (!root) {
        size_t at = (end && end >= json && end <= json + len) ? (size_t)(end - json) : 0;
        return fail(&c, LQ_EINVAL, "design: invalid JSON near byte %zu", at);
    }
    /* cJSON stops after the first value: anything but whitespace after it is an error */
    for (const char *p = end; p && p < json + len; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            cJSON_Delete(root);
            return fail(&c, LQ_EINVAL, "design: invalid JSON: unexpected data at byte %zu",
                        (size_t)(p - json));
        }
    }
    if (cJSON_IsNull(root)) {
        cJSON_Delete(root);
        return fail(&c, LQ_EINVAL, "design: must be a JSON object, got null");
    }
    int rc = design_from_tree(&c, root, out);
    cJSON_Delete(root);
    return rc;
}

/* ---- canonical JSON ---------------------------------------------------- */

typedef struct outbuf {
    char *p;
    size_t cap, len;
    int over;
} outbuf;

static void put(outbuf *o, const char *fmt, ...) LQ_PRINTF(2, 3);

static void put(outbuf *o, const char *fmt, ...)
{
    if (o->over)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(o->p + o->len, o->cap - o->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= o->cap - o->len)
        o->over = 1;
    else
        o->len += (size_t)n;
}

static void put_colors(outbuf *o, const nail_rgb *c, int n)
{
    char hex[8];
    put(o, "\"colors\":[");
    for (int i = 0; i < n; i++)
        put(o, "%s\"%s\"", i ? "," : "", nail_color_format(c[i], hex));
    put(o, "]");
}

int nail_design_to_json(const nail_design *d, char *buf, size_t buflen)
{
    if (!d || !buf || buflen == 0)
        return LQ_EINVAL;
    outbuf o = {buf, buflen, 0, 0};
    buf[0] = '\0';
    const nail_style *b = &d->base;
    put(&o, "{\"shape\":\"%s\",\"size\":\"%s\"", nail_shape_name(b->shape),
        nail_size_name(b->size));
    if (d->base_fields & NAIL_FIELD_LENGTH)
        put(&o, ",\"length\":%.3f", (double)b->length);
    put(&o, ",\"pattern\":\"%s\",\"finish\":\"%s\"", nail_pattern_name(b->pattern),
        nail_finish_name(b->finish));
    if (d->colors_given > 0) {
        put(&o, ",");
        put_colors(&o, d->given_colors, d->colors_given);
    }
    int any = 0;
    for (int f = 0; f < NAIL_FINGERS; f++) {
        unsigned m = d->override_fields[f];
        const nail_style *s = &d->override[f];
        if (!m)
            continue;
        put(&o, "%s\"%s\":{", any ? "," : ",\"fingers\":{", nail_finger_name(f));
        any = 1;
        const char *sep = "";
        if (m & NAIL_FIELD_SHAPE) {
            put(&o, "%s\"shape\":\"%s\"", sep, nail_shape_name(s->shape));
            sep = ",";
        }
        if (m & NAIL_FIELD_SIZE) {
            put(&o, "%s\"size\":\"%s\"", sep, nail_size_name(s->size));
            sep = ",";
        }
        if (m & NAIL_FIELD_LENGTH) {
            put(&o, "%s\"length\":%.3f", sep, (double)s->length);
            sep = ",";
        }
        if (m & NAIL_FIELD_PATTERN) {
            put(&o, "%s\"pattern\":\"%s\"", sep, nail_pattern_name(s->pattern));
            sep = ",";
        }
        if (m & NAIL_FIELD_FINISH) {
            put(&o, "%s\"finish\":\"%s\"", sep, nail_finish_name(s->finish));
            sep = ",";
        }
        if (m & NAIL_FIELD_COLORS) {
            put(&o, "%s", sep);
            put_colors(&o, s->colors, s->ncolors);
        }
        put(&o, "}");
    }
    put(&o, any ? "}}" : "}");
    if (o.over) {
        buf[0] = '\0';
        return LQ_ELIMIT;
    }
    return (int)o.len;
}
