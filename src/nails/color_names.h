/*
 * color_names.h - internal to src/nails/color*.c: the table of colour names.
 */
#ifndef LQ_NAILS_COLOR_NAMES_H
#define LQ_NAILS_COLOR_NAMES_H

#include "nails/color.h"

typedef struct nail__named_color {
    const char *key;   /* normalised: lower case, no ' ', '-', '_' */
    const char *name;  /* as documented ("rose_gold") */
    nail_rgb rgb;
    int is_css;
} nail__named_color;

extern const nail__named_color nail__named_colors[];
extern const int nail__named_color_count;

#endif
