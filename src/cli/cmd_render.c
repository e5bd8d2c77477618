/*
 * cmd_render.c - `lacquer render [options] IN OUT`: paint a nail design onto
 * the hands of a photo (JPEG, PNG or WebP in and out).
 *
 * The design comes from a JSON file (the seed guide's nail reference
 * metadata, see design.h) and/or from flags; flags override the file. With
 * --reference and no colours, the colours are taken from the reference
 * photo's palette. The nails are found as the product finds them in a photo
 * (cli/handnails.h): the try-on pipeline in a static session, landmarks
 * fused with the nail segmentation network's outlines, plus the nails the
 * network finds where no hand is found (a close-up of fingertips);
 * --no-segmentation takes them from the hand landmarks alone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
#include "cli/handnails.h"
#include "image/codec.h"
#include "image/resize.h"
#include "nails/color.h"
#include "nails/design.h"
#include "nails/palette.h"
#include "nails/reference.h"
#include "nails/render.h"

typedef struct render_opts {
    const char *models;
    const char *design;
    const char *shape;
    const char *pattern;
    const char *colors;
    const char *finish;
    const char *size;
    const char *reference;
    double length;
    int seed;
    int quality;
    int max_side;
    int quiet;
    int no_segmentation;
} render_opts;

#define OFF(f) offsetof(render_opts, f)
static const lq_cli_opt opt_table[] = {
    {"--models", "DIR", LQ_CLI_STRING, OFF(models), 0, 0,
     "folder with the .tflite models (default $LQ_MODELS_DIR or ./models)"},
    {"--design", "FILE", LQ_CLI_STRING, OFF(design), 0, 0,
     "design as JSON (shape, pattern, size, colors, finish, length, fingers)"},
    {"--shape", "S", LQ_CLI_STRING, OFF(shape), 0, 0,
     "almond|square|oval|stiletto|coffin|round|squoval"},
    {"--pattern", "P", LQ_CLI_STRING, OFF(pattern), 0, 0,
     "solid|french_tips|ombre|glitter|marble|floral|reference"},
    {"--colors", "C1,C2", LQ_CLI_STRING, OFF(colors), 0, 0,
     "up to 4 colours: CSS/polish names or #rgb/#rrggbb"},
    {"--finish", "F", LQ_CLI_STRING, OFF(finish), 0, 0,
     "glossy|matte|metallic|cream|sheer|pearl|shimmer"},
    {"--size", "S", LQ_CLI_STRING, OFF(size), 0, 0, "short|medium|long"},
    {"--length", "X", LQ_CLI_DOUBLE, OFF(length), 0.5, 3.0,
     "length as a factor of the natural nail, 0.5..3 (overrides --size)"},
    {"--reference", "IMG", LQ_CLI_STRING, OFF(reference), 0, 0,
     "reference photo: its palette when no colours are given, and the texture "
     "of pattern reference"},
    {"--seed", "N", LQ_CLI_INT, OFF(seed), 0, 2147483647.0, "pattern seed (default 1)"},
    {"--quality", "Q", LQ_CLI_INT, OFF(quality), 1, 100, "JPEG/WebP quality (default 92)"},
    {"--max-side", "N", LQ_CLI_INT, OFF(max_side), 0, 16384,
     "shrink the input so its longer side is at most N first (0 = keep; default 0)"},
    {"--no-segmentation", NULL, LQ_CLI_FLAG, OFF(no_segmentation), 0, 1,
     "nails from the hand landmarks only, without the nail segmentation network"},
    {"--quiet", NULL, LQ_CLI_FLAG, OFF(quiet), 0, 1, "print nothing on success"},
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: lacquer render [options] IN OUT\n\n"
               "Paints a nail design onto the hands in a photo. IN and OUT may be JPEG, PNG\n"
               "or WebP (OUT's format follows its extension). The design comes from --design\n"
               "and/or the flags below (flags win).\n\noptions:\n");
    lq_cli_opts_help(f, opt_table, N_OPTS, 20);
    fprintf(f,
            "\nexample:\n  lacquer render --shape almond --pattern french_tips --colors pink,white "
            "--finish glossy hand.jpg out.png\n");
}

static int parse_args(int argc, char **argv, render_opts *o)
{
    return lq_cli_opts_parse("render", opt_table, N_OPTS, argc, argv, o);
}

static int read_design_file(const char *path, nail_design *d)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "lacquer render: cannot open %s: %s\n", path, strerror(errno));
        return -1;
    }
    static char buf[NAIL_DESIGN_MAX_JSON + 1];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n > NAIL_DESIGN_MAX_JSON) {
        fprintf(stderr, "lacquer render: %s is over %u bytes\n", path, NAIL_DESIGN_MAX_JSON);
        return -1;
    }
    char err[256];
    if (nail_design_parse_json(buf, n, d, err, sizeof err) < 0) {
        fprintf(stderr, "lacquer render: %s: %s\n", path, err);
        return -1;
    }
    return 0;
}

/* Applies the design flags on top of *d. Returns -1 (after a message) on a bad value. */
static int apply_flags(const render_opts *o, nail_design *d)
{
    if (o->shape && nail_shape_parse(o->shape, &d->base.shape) < 0) {
        fprintf(stderr,
                "lacquer render: --shape must be one of almond, square, oval, stiletto, "
                "coffin, round, squoval (not '%s')\n",
                o->shape);
        return -1;
    }
    if (o->pattern && nail_pattern_parse(o->pattern, &d->base.pattern) < 0) {
        fprintf(stderr,
                "lacquer render: --pattern must be one of solid, french_tips, ombre, "
                "glitter, marble, floral, reference (not '%s')\n",
                o->pattern);
        return -1;
    }
    if (o->finish && nail_finish_parse(o->finish, &d->base.finish) < 0) {
        fprintf(stderr,
                "lacquer render: --finish must be one of glossy, matte, metallic, cream, "
                "sheer, pearl, shimmer (not '%s')\n",
                o->finish);
        return -1;
    }
    if (o->size) {
        if (nail_size_parse(o->size, &d->base.size) < 0) {
            fprintf(stderr, "lacquer render: --size must be short, medium or long (not '%s')\n",
                    o->size);
            return -1;
        }
        d->base_fields &= ~(unsigned)NAIL_FIELD_LENGTH;
    }
    if (o->length > 0.0) {
        d->base.length = (float)o->length;
        d->base_fields |= NAIL_FIELD_LENGTH;
    }
    /* the flags apply to every finger */
    for (int f = 0; f < NAIL_FINGERS; f++) {
        unsigned clear = 0;
        if (o->shape)
            clear |= NAIL_FIELD_SHAPE;
        if (o->pattern)
            clear |= NAIL_FIELD_PATTERN;
        if (o->finish)
            clear |= NAIL_FIELD_FINISH;
        if (o->size || o->length > 0.0)
            clear |= NAIL_FIELD_SIZE | NAIL_FIELD_LENGTH;
        if (o->colors)
            clear |= NAIL_FIELD_COLORS;
        d->override_fields[f] &= ~clear;
    }
    nail_design_resolve(d);
    if (o->colors) {
        nail_rgb c[NAIL_MAX_COLORS];
        int n = 0;
        char buf[512];
        if (strlen(o->colors) >= sizeof buf) {
            fprintf(stderr, "lacquer render: --colors is too long\n");
            return -1;
        }
        snprintf(buf, sizeof buf, "%s", o->colors);
        char *save = NULL;
        for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            if (n == NAIL_MAX_COLORS) {
                fprintf(stderr, "lacquer render: at most %d colours\n", NAIL_MAX_COLORS);
                return -1;
            }
            if (nail_color_parse(t, &c[n]) < 0) {
                fprintf(stderr,
                        "lacquer render: '%s' is not a colour (a CSS or polish name, "
                        "#rgb or #rrggbb)\n",
                        t);
                return -1;
            }
            n++;
        }
        if (n == 0 || nail_design_set_colors(d, c, n) < 0) {
            fprintf(stderr, "lacquer render: --colors needs 1 to %d colours\n", NAIL_MAX_COLORS);
            return -1;
        }
    }
    return 0;
}

/* Loads the reference photo: its palette when the design has no colours,
 * and the texture for pattern "reference". */
static int use_reference(const char *path, nail_design *d, nail_renderer *r, int quiet)
{
    lq_image ref;
    char err[256];
    int rc = lq_image_load(path, NULL, &ref, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "lacquer render: --reference %s: %s\n", path, err);
        return -1;
    }
    if (!d->colors_given) {
        nail_palette pal;
        rc = nail_palette_extract(&ref, NULL, &pal);
        if (rc == 0) {
            nail_rgb c[NAIL_PALETTE_MAX];
            int n = nail_palette_colors(&pal, c, NAIL_PALETTE_MAX);
            if (n > 0 && nail_design_set_colors(d, c, n) == 0 && !quiet) {
                fprintf(stderr, "lacquer render: colours from the reference:");
                for (int i = 0; i < n; i++) {
                    char hex[8];
                    fprintf(stderr, " %s", nail_color_format(c[i], hex));
                }
                fprintf(stderr, "%s\n", pal.fallback ? " (bare nails: skin fallback)" : "");
            }
        } else {
            fprintf(stderr, "lacquer render: no palette from the reference: %s\n", lq_strerror(rc));
        }
    }
    /* the nail art itself, for pattern "reference" (a few ms: only then) */
    int wants_texture = d->base.pattern == NAIL_PATTERN_REFERENCE;
    for (int f = 0; f < NAIL_FINGERS; f++)
        wants_texture |= d->finger[f].pattern == NAIL_PATTERN_REFERENCE;
    if (wants_texture) {
        static nail_texture tex;
        rc = nail_reference_texture(&ref, NULL, &tex);
        if (rc == 0) {
            lq_image view;
            nail_texture_view(&tex, &view);
            rc = nail_renderer_set_reference(r, &view);
        }
        if (rc < 0) {
            fprintf(stderr, "lacquer render: no nail art found in the reference: %s\n",
                    lq_strerror(rc));
            lq_image_free(&ref);
            return -1;
        }
        if (!quiet)
            fprintf(stderr, "lacquer render: reference texture from %s\n",
                    tex.source == NAIL_TEXTURE_FROM_NAIL     ? "the most nail-like region"
                    : tex.source == NAIL_TEXTURE_FROM_CENTRE ? "the centre of the photo"
                                                             : "the mask");
    }
    lq_image_free(&ref);
    return 0;
}

int lq_cmd_render(int argc, char **argv)
{
    if (lq_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    render_opts o = {.seed = 1, .quality = 92};
    int first = parse_args(argc, argv, &o);
    if (first < 0) {
        usage(stderr);
        return 2;
    }
    if (argc - first != 2) {
        fprintf(stderr, "lacquer render: need IN and OUT\n\n");
        usage(stderr);
        return 2;
    }
    const char *in = argv[first], *out = argv[first + 1];
    if (lq_format_parse(strrchr(out, '.') ? strrchr(out, '.') + 1 : "") == LQ_FMT_UNKNOWN) {
        fprintf(stderr, "lacquer render: OUT must end in .jpg, .jpeg, .png or .webp\n");
        return 2;
    }
    nail_design d;
    nail_design_default(&d);
    if (o.design && read_design_file(o.design, &d) < 0)
        return 2;
    if (apply_flags(&o, &d) < 0)
        return 2;

    nail_renderer *r = NULL;
    if (nail_renderer_create(&r) < 0) {
        fprintf(stderr, "lacquer render: out of memory\n");
        return 1;
    }
    int status = 1;
    lq_cli_nails *p = NULL;
    lq_image img = {0};
    char err[512];
    if (o.reference && use_reference(o.reference, &d, r, o.quiet) < 0)
        goto done;
    int rc = lq_image_load(in, NULL, &img, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "lacquer render: %s\n", err);
        goto done;
    }
    if (o.max_side > 0 && (img.width > o.max_side || img.height > o.max_side)) {
        lq_image small;
        if (lq_image_thumbnail(&img, o.max_side, &small) < 0) {
            fprintf(stderr, "lacquer render: cannot shrink %s\n", in);
            goto done;
        }
        lq_image_free(&img);
        img = small;
    }
    const lq_cli_nails_opts po = {.models_dir = lq_cli_models_dir(o.models),
                                  .segmentation = !o.no_segmentation};
    rc = lq_cli_nails_open(&po, &p, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "lacquer render: %s\n", err);
        goto done;
    }
    lq_hands hands;
    nail_geom nails[NAIL_MAX];
    int n = 0;
    double t0 = lq_clock_ms();
    rc = lq_cli_nails_find(p, &img, !o.no_segmentation, &hands, nails, &n);
    double t1 = lq_clock_ms();
    if (rc < 0) {
        fprintf(stderr, "lacquer render: hand/nail detection failed: %s\n", lq_strerror(rc));
        goto done;
    }
    nail_render_stats st;
    rc = nail_render_frame_ex(r, &img, nails, n, &d, (uint32_t)o.seed, &st);
    double t2 = lq_clock_ms();
    if (rc < 0) {
        fprintf(stderr, "lacquer render: painting failed: %s\n", lq_strerror(rc));
        goto done;
    }
    rc = lq_image_save(&img, out, o.quality);
    if (rc < 0) {
        fprintf(stderr, "lacquer render: cannot write %s: %s\n", out, lq_strerror(rc));
        goto done;
    }
    if (n == 0)
        fprintf(stderr, "lacquer render: no nail found in %s (%d hand(s)); wrote it unchanged\n",
                in, hands.count);
    else if (!o.quiet)
        fprintf(stderr,
                "lacquer render: %d hand(s), %d nail(s) painted (%ld px); hands+nails %.1f ms, "
                "paint %.2f ms\n",
                hands.count, st.nails_painted, st.pixels_touched, t1 - t0, t2 - t1);
    status = 0;
done:
    lq_image_free(&img);
    lq_cli_nails_close(p);
    nail_renderer_destroy(r);
    return status;
}
