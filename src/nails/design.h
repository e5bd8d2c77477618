/*
 * design.h - a nail design: what the shopper picked.
 *
 *   nail_design d;
 *   char err[256];
 *   if (nail_design_parse_json(json_text, len, &d, err, sizeof err) < 0)
 *       reply_error("INVALID_DESIGN", err);     // err names the field and allowed values
 *
 * Parsed from the seed guide's nail reference metadata (Appendix C):
 *   {"shape": "almond", "pattern": "french_tips", "size": "medium",
 *    "colors": ["pink", "white"], "finish": "glossy",
 *    "length": 1.4,                                  (optional, overrides size)
 *    "fingers": {"ring": {"colors": ["gold"], "pattern": "glitter"}}}  (optional accents)
 * Unknown fields are ignored with a warning (logged, and counted in
 * nail_design.warnings). Every invalid field is refused with LQ_EINVAL and a
 * message naming the field and listing the allowed values.
 *
 * A design is plain data (no pointers): copy it by value; it is immutable
 * while painting, so one design may be shared by readers on many threads.
 */
#ifndef LQ_NAILS_DESIGN_H
#define LQ_NAILS_DESIGN_H

#include <stddef.h>
#include <stdint.h>

#include "base/error.h"

#define NAIL_MAX_COLORS 4
#define NAIL_FINGERS 5          /* 0 thumb, 1 index, 2 middle, 3 ring, 4 pinky */
#define NAIL_DESIGN_MAX_JSON (64u * 1024u)
#define NAIL_DESIGN_MAX_DEPTH 8

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

typedef struct nail_rgb {
    uint8_t r, g, b;
} nail_rgb;

/* The look of one nail. */
typedef struct nail_style {
    nail_shape shape;
    nail_pattern pattern;
    nail_finish finish;
    float length;               /* free-edge length as a factor of the natural nail
                                   plate length: 1.0 = natural; from size or "length" */
    int ncolors;                /* 1..NAIL_MAX_COLORS once the design is complete */
    nail_rgb colors[NAIL_MAX_COLORS];
} nail_style;

typedef struct nail_design {
    nail_style base;                    /* applies to every finger ... */
    nail_style finger[NAIL_FINGERS];    /* ... resolved per finger (accents applied) */
    int has_override[NAIL_FINGERS];
    int colors_given;                   /* 0: colours must come from a reference photo
                                           (or fall back to a default) */
    int warnings;                       /* unknown fields seen while parsing */
} nail_design;

/* Length factors for the named sizes (documented in docs/designs.md). */
float nail_size_length(nail_size s);

/* Fills a sensible default: almond, solid, glossy, medium, a classic red. */
void nail_design_default(nail_design *d);

/* Parses the JSON metadata object. On failure returns LQ_EINVAL (or LQ_ELIMIT
 * for input over NAIL_DESIGN_MAX_JSON / NAIL_DESIGN_MAX_DEPTH), writes the
 * reason into err, and leaves *out untouched. */
int nail_design_parse_json(const char *json, size_t len, nail_design *out, char *err,
                           size_t errlen) LQ_NODISCARD;

/* Parses from an already parsed cJSON object (the service's init_session). */
struct cJSON;
int nail_design_from_cjson(const struct cJSON *obj, nail_design *out, char *err,
                           size_t errlen) LQ_NODISCARD;

/* Names for enum values, as used in JSON ("french_tips"); NULL if out of range. */
const char *nail_shape_name(nail_shape s);
const char *nail_pattern_name(nail_pattern p);
const char *nail_size_name(nail_size s);
const char *nail_finish_name(nail_finish f);

/* Parses a CSS colour: a CSS named colour ("pink", "rebeccapurple", plus a few
 * polish names such as "nude", "gold", "silver", "rose_gold"), "#rgb" or
 * "#rrggbb" (case-insensitive). */
int nail_color_parse(const char *s, nail_rgb *out) LQ_NODISCARD;

#endif
