/*
 * design.h - a nail design: what the shopper picked.
 *
 *   nail_design d;
 *   char err[256];
 *   if (nail_design_parse_json(json_text, len, &d, err, sizeof err) < 0)
 *       reply_error("INVALID_DESIGN", err);     // err names the field and allowed values
 *   if (!d.colors_given && have_reference_palette)
 *       nail_design_set_colors(&d, palette, n);  // colours from the reference photo
 *   paint(..., &d.finger[f]);                    // the resolved style of finger f
 *
 * Parsed from the seed guide's nail reference metadata (Appendix C):
 *   {"shape": "almond", "pattern": "french_tips", "size": "medium",
 *    "colors": ["pink", "white"], "finish": "glossy",
 *    "length": 1.4,                                  (optional, overrides size)
 *    "fingers": {"ring": {"colors": ["gold"], "pattern": "glitter"}}}  (optional accents)
 * docs/designs.md is the reference for the backend team: every field, value,
 * alias, default and error. In short:
 *   - Every field is optional; a missing (or null) field takes its default:
 *     almond, medium, solid, glossy, and the pattern's default colours.
 *   - Values and field names are case-insensitive; in values ' ' and '-' count
 *     as '_' ("French Tips" = "french_tips"). A few aliases are accepted
 *     (french, french_tip -> french_tips; jelly -> sheer; ballerina -> coffin;
 *     see the tables in design.c and docs/designs.md).
 *   - "colors" is an array of 1..4 colour strings (color.h) or one string;
 *     "color" is accepted as another spelling of the same field.
 *   - Patterns that need more colours than given are completed with
 *     pattern-specific defaults (french_tips with one colour gets a white tip).
 *   - "fingers" maps thumb|index|middle|ring|pinky (also pinkie, little) to a
 *     partial style (any of shape, size, length, pattern, colors, finish)
 *     that overrides the base for that finger: an accent nail.
 *   - Unknown fields are ignored with a warning (logged at WARN, and counted
 *     in nail_design.warnings); unknown finger names, unknown values, wrong
 *     JSON types, a field given twice, or invalid JSON are errors.
 * Every error is LQ_EINVAL with a one-line message that starts with the path
 * of the field ("fingers.ring.finish: ...") and lists the allowed values,
 * except input over the limits below, which is LQ_ELIMIT.
 *
 * A design is plain data (no pointers): copy it by value; it is immutable
 * while painting, so one design may be shared by readers on many threads.
 * Parsing allocates (cJSON) and is meant for session set-up, not per frame.
 */
#ifndef LQ_NAILS_DESIGN_H
#define LQ_NAILS_DESIGN_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "nails/color.h" /* nail_rgb, nail_color_parse */

#define NAIL_MAX_COLORS 4
#define NAIL_FINGERS 5          /* 0 thumb, 1 index, 2 middle, 3 ring, 4 pinky */
#define NAIL_DESIGN_MAX_JSON (64u * 1024u)  /* bytes of JSON text */
#define NAIL_DESIGN_MAX_DEPTH 8             /* nesting of objects/arrays; the root is 1 */
#define NAIL_DESIGN_MAX_NODES 1024          /* JSON values in the whole design */
#define NAIL_DESIGN_MAX_VALUE_LEN 32        /* characters in a shape/size/... value */
#define NAIL_LENGTH_MIN 0.8f                /* range of "length" */
#define NAIL_LENGTH_MAX 2.2f

typedef enum nail_shape {
    NAIL_SHAPE_ALMOND = 0,
    NAIL_SHAPE_SQUARE,
    NAIL_SHAPE_OVAL,
    NAIL_SHAPE_STILETTO,
    NAIL_SHAPE_COFFIN,
    NAIL_SHAPE_ROUND,
    NAIL_SHAPE_SQUOVAL,
    NAIL_SHAPE_COUNT
} nail_shape;

/* Colour roles per pattern (colors[0], colors[1], ...), and the minimum the
 * design completes to:
 *   solid        polish (1)
 *   french_tips  nail bed, tip (2)
 *   ombre        cuticle colour ... tip colour: 2..4 stops along the axis (2)
 *   glitter      base, then 1..3 particle colours (2)
 *   marble       base, then 1..3 vein colours (2)
 *   floral       background, petals, flower centres, [leaves] (3)
 *   reference    fallback colours if the reference texture is unavailable (1) */
typedef enum nail_pattern {
    NAIL_PATTERN_SOLID = 0,
    NAIL_PATTERN_FRENCH_TIPS,
    NAIL_PATTERN_OMBRE,
    NAIL_PATTERN_GLITTER,
    NAIL_PATTERN_MARBLE,
    NAIL_PATTERN_FLORAL,
    NAIL_PATTERN_REFERENCE,     /* the reference photo's nail art mapped onto each nail */
    NAIL_PATTERN_COUNT
} nail_pattern;

typedef enum nail_size { NAIL_SIZE_SHORT = 0, NAIL_SIZE_MEDIUM, NAIL_SIZE_LONG, NAIL_SIZE_COUNT } nail_size;

typedef enum nail_finish {
    NAIL_FINISH_GLOSSY = 0,
    NAIL_FINISH_MATTE,
    NAIL_FINISH_METALLIC,
    NAIL_FINISH_CREAM,
    NAIL_FINISH_SHEER,          /* jelly: the natural nail shows through */
    NAIL_FINISH_PEARL,
    NAIL_FINISH_SHIMMER,
    NAIL_FINISH_COUNT
} nail_finish;

/* Which fields a JSON object set explicitly (nail_design.base_fields and
 * override_fields[]). */
enum nail_field {
    NAIL_FIELD_SHAPE = 1u << 0,
    NAIL_FIELD_PATTERN = 1u << 1,
    NAIL_FIELD_FINISH = 1u << 2,
    NAIL_FIELD_SIZE = 1u << 3,
    NAIL_FIELD_LENGTH = 1u << 4,
    NAIL_FIELD_COLORS = 1u << 5,
};

/* The look of one nail. */
typedef struct nail_style {
    nail_shape shape;
    nail_pattern pattern;
    nail_finish finish;
    float length;               /* painted length, cuticle to tip, as a factor of the
                                   natural nail (the plate as nail geometry finds it,
                                   free edge included): 1.0 = ends at the natural free
                                   edge; from "length" (3 decimals) or from size */
    int ncolors;                /* 1..NAIL_MAX_COLORS once the design is complete */
    nail_rgb colors[NAIL_MAX_COLORS];
    nail_size size;             /* as given or default; length is what to paint */
} nail_style;

typedef struct nail_design {
    nail_style base;                    /* applies to every finger ... */
    nail_style finger[NAIL_FINGERS];    /* ... resolved per finger (accents applied) */
    int has_override[NAIL_FINGERS];     /* 1 if "fingers" set anything for finger f */
    int colors_given;                   /* number of colours given for the base (0: none;
                                           colours should come from the reference photo,
                                           else the pattern's defaults are used) */
    int warnings;                       /* unknown fields seen while parsing */

    /* What was given, kept so the design can be re-resolved (set_colors). */
    unsigned base_fields;                       /* NAIL_FIELD_* bits */
    nail_rgb given_colors[NAIL_MAX_COLORS];     /* the first colors_given are valid */
    unsigned override_fields[NAIL_FINGERS];     /* NAIL_FIELD_* bits per finger */
    nail_style override[NAIL_FINGERS];          /* only the fields in override_fields
                                                   are meaningful; colors as given */
} nail_design;

/* Length factors for the named sizes: short 1.0 (polish ends at the natural
 * free edge), medium 1.3, long 1.7 (docs/designs.md explains the numbers).
 * Out-of-range sizes give the medium factor. */
float nail_size_length(nail_size s);

/* Fills a sensible default: almond, medium, solid, glossy, a classic red
 * (#b11226), no overrides, colors_given 0. */
void nail_design_default(nail_design *d);

/* Parses the JSON metadata object (json need not be NUL-terminated). On
 * failure returns LQ_EINVAL (or LQ_ELIMIT for input over NAIL_DESIGN_MAX_JSON,
 * NAIL_DESIGN_MAX_DEPTH or NAIL_DESIGN_MAX_NODES), writes the reason into err
 * (may be NULL; truncated to errlen), and leaves *out untouched.
 * Thread-safe except for cJSON's own last-error pointer (which we never read). */
int nail_design_parse_json(const char *json, size_t len, nail_design *out, char *err,
                           size_t errlen) LQ_NODISCARD;

/* Parses from an already parsed cJSON object (the service's init_session
 * "metadata"); the same rules and limits (depth counted from obj). NULL or a
 * cJSON null means "no metadata": the default design. obj is not modified. */
struct cJSON;
int nail_design_from_cjson(const struct cJSON *obj, nail_design *out, char *err,
                           size_t errlen) LQ_NODISCARD;

/* Replaces the base colours (e.g. the reference photo's palette; n 1..4) and
 * re-resolves: fingers without their own colours follow, each completed for
 * its pattern. colors_given becomes n. Returns LQ_EINVAL (design untouched)
 * for a bad n or NULL. */
int nail_design_set_colors(nail_design *d, const nail_rgb *colors, int n) LQ_NODISCARD;

/* Recomputes base colours/length and finger[] from base, given_colors and the
 * overrides. Call it after changing base.shape/pattern/finish/size (or
 * override[]/override_fields[]) directly. base.length is recomputed from
 * base.size unless base_fields has NAIL_FIELD_LENGTH. */
void nail_design_resolve(nail_design *d);

/* Writes the design as canonical JSON (names, "#rrggbb" colours, overrides;
 * resolved base fields, and colors/length only when given) into buf; parsing
 * it back gives the same resolved design. Returns the length written, or
 * LQ_ELIMIT if buf is too small (1024 bytes always suffice). */
int nail_design_to_json(const nail_design *d, char *buf, size_t buflen);

/* Names for enum values, as used in JSON ("french_tips"); NULL if out of range. */
const char *nail_shape_name(nail_shape s);
const char *nail_pattern_name(nail_pattern p);
const char *nail_size_name(nail_size s);
const char *nail_finish_name(nail_finish f);
const char *nail_finger_name(int finger);     /* "thumb" ... "pinky" */

/* Parses a value as the JSON parser does (case, separators, aliases).
 * Returns 0 or LQ_EINVAL (then *out is untouched). For command-line flags. */
int nail_shape_parse(const char *s, nail_shape *out) LQ_NODISCARD;
int nail_pattern_parse(const char *s, nail_pattern *out) LQ_NODISCARD;
int nail_size_parse(const char *s, nail_size *out) LQ_NODISCARD;
int nail_finish_parse(const char *s, nail_finish *out) LQ_NODISCARD;

#endif
