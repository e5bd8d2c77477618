/*
 * cmd_gallery.c - `lacquer gallery [options] OUTDIR`: every shape x pattern x
 * finish painted on real photos, as labelled contact sheets (PNG).
 *
 * Each photo is first brought to camera size (longer side --frame, default
 * 640), as a live frame would be; hands and nails are found once per photo
 * by the product's pipeline; each cell of a sheet is that frame painted with
 * one design and cropped around the painted nails, at 100% or shrunk (never
 * enlarged) so a sheet shows what a shopper sees.
 *
 * Sheets: gallery_<pattern>.png (rows: shapes, each on the next photo;
 * columns: finishes), and gallery.png, a small overview of eight designs.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/font.h"
#include "cli/handnails.h"
#include "image/codec.h"
#include "image/resize.h"
#include "nails/color.h"
#include "nails/design.h"
#include "nails/render.h"

#define GALLERY_MAX_PHOTOS 16
#define CELL_W 240
#define CELL_H 180
#define LABEL_W 150
#define HEAD_H 58

/* Photos of ../shared/data/hands whose nails face the camera, light and
 * darker skin, plain and busy backgrounds; missing files are skipped. */
static const char *const DEFAULT_PHOTOS[] = {
    "tfjs_hands_two_dorsal.jpg",
    "kagglenails_d639e532-db67-11e8-9658-0242ac1c0002.jpg",
    "kagglenails_d60f3ecc-db67-11e8-9658-0242ac1c0002.jpg",
    "kagglenails_b25b81b1-d562-4891-ae4f-83a82a2b64b5.jpg",
    "kagglenails_4c490eae-e402-11e8-97db-0242ac1c0002.jpg",
    "kagglenails_cc25f453-04ca-4c24-92bc-f26c5a94e78c.jpg",
    "kagglenails_feb2c029-b89c-4ce5-b208-db2114516a40.jpg",
    "mediapipe_woman_hands.jpg",
};

/* Colours per pattern, one set per sheet row (so each sheet shows several). */
static const char *const PATTERN_COLORS[NAIL_PATTERN_COUNT][7] = {
    [NAIL_PATTERN_SOLID] = {"crimson", "#f4c2c2", "navy", "#6b2d5c", "coral", "black", "#c8a2c8"},
    [NAIL_PATTERN_FRENCH_TIPS] = {"pink,white", "nude,white", "#f7d6d0,#d4af37", "pink,white",
                                  "nude,black", "#f3d1d6,white", "pink,navy"},
    [NAIL_PATTERN_OMBRE] = {"hotpink,white", "navy,skyblue", "nude,white", "purple,pink",
                            "orange,yellow", "black,silver", "red,pink"},
    [NAIL_PATTERN_GLITTER] = {"navy,#d4af37,silver", "champagne,#d4af37", "black,silver",
                              "pink,silver,white", "red,#d4af37", "purple,silver", "white,#d4af37"},
    [NAIL_PATTERN_MARBLE] = {"white,gray,#d4af37", "white,black", "pink,white",
                             "black,white,#d4af37", "#e8f0f2,slategray", "white,gray",
                             "nude,white,#d4af37"},
    [NAIL_PATTERN_FLORAL] = {"lightpink,white,gold", "skyblue,white,yellow", "nude,pink,gold",
                             "white,hotpink,yellow", "black,white,gold", "mint,white,pink",
                             "lavender,white,gold"},
    [NAIL_PATTERN_REFERENCE] = {"nude", "nude", "nude", "nude", "nude", "nude", "nude"},
};

typedef struct photo {
    char name[64];
    lq_image frame;
    nail_geom nails[NAIL_MAX];
    int n;
    int cx0, cy0, cw, ch; /* crop around the painted nails */
} photo;

typedef struct gallery_opts {
    const char *models;
    const char *photos;
    int frame;
    int seed;
} gallery_opts;

static void usage(FILE *f)
{
    fprintf(f,
            "usage: lacquer gallery [options] OUTDIR\n\n"
            "Renders every shape x pattern x finish on shared photos into contact sheets:\n"
            "OUTDIR/gallery_<pattern>.png (rows: shapes, columns: finishes) and\n"
            "OUTDIR/gallery.png (an overview).\n\noptions:\n"
            "  --models DIR   folder with the .tflite models (default $LQ_MODELS_DIR or ./models)\n"
            "  --photos DIR   folder with the photos (default $LQ_SHARED_DATA/hands or\n"
            "                 ../shared/data/hands)\n"
            "  --frame N      longer side of the camera frame, 160..1920 (default 640)\n"
            "  --seed N       pattern seed (default 1)\n"
            "  -h, --help     show this help\n");
}

static int parse_int(const char *v, int lo, int hi, int *out)
{
    char *end = NULL;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || !end || *end || end == v || x < lo || x > hi)
        return -1;
    *out = (int)x;
    return 0;
}

static void fill(lq_image *img, int x0, int y0, int w, int h, uint8_t v)
{
    for (int y = y0; y < y0 + h && y < img->height; y++)
        for (int x = x0; x < x0 + w && x < img->width; x++)
            memset(lq_image_px(img, x, y), v, 3);
}

/* The crop: the painted nails' extent (with the longest design) plus a
 * margin, widened to the cell's aspect ratio, kept inside the frame. Uses
 * the hand with the most nails when two hands are far apart. */
static void choose_crop(photo *p)
{
    float xmin = 1e9f, xmax = -1e9f, ymin = 1e9f, ymax = -1e9f;
    int best_hand = 0, counts[LQ_HAND_MAX] = {0};
    for (int i = 0; i < p->n; i++)
        if (p->nails[i].hand >= 0 && p->nails[i].hand < LQ_HAND_MAX)
            counts[p->nails[i].hand]++;
    if (counts[1] > counts[0])
        best_hand = 1;
    /* the thumb is often far from the other nails: frame the fingers when
     * there are enough of them */
    int fingers = 0;
    for (int i = 0; i < p->n; i++)
        fingers += p->nails[i].hand == best_hand && p->nails[i].finger > 0;
    for (int i = 0; i < p->n; i++) {
        const nail_geom *g = &p->nails[i];
        if (g->hand != best_hand || (fingers >= 3 && g->finger == 0))
            continue;
        float ext = 1.2f * g->length + 0.5f * g->width;
        float tx = g->cx + g->ax * ext, ty = g->cy + g->ay * ext;
        float bx = g->cx - g->ax * 0.6f * g->length, by = g->cy - g->ay * 0.6f * g->length;
        xmin = fminf(xmin, fminf(tx, bx) - g->width);
        xmax = fmaxf(xmax, fmaxf(tx, bx) + g->width);
        ymin = fminf(ymin, fminf(ty, by) - g->width);
        ymax = fmaxf(ymax, fmaxf(ty, by) + g->width);
    }
    if (xmin > xmax) {
        xmin = 0;
        ymin = 0;
        xmax = (float)p->frame.width;
        ymax = (float)p->frame.height;
    }
    float w = xmax - xmin, h = ymax - ymin;
    float aspect = (float)CELL_W / (float)CELL_H;
    if (w / h < aspect)
        w = h * aspect;
    else
        h = w / aspect;
    if (w < CELL_W * 0.75f) { /* small nails: show them at 100%+, not huge */
        w = CELL_W * 0.75f;
        h = CELL_H * 0.75f;
    }
    if (w > (float)p->frame.width) {
        w = (float)p->frame.width;
        h = w / aspect;
    }
    if (h > (float)p->frame.height) {
        h = (float)p->frame.height;
        w = h * aspect;
    }
    float cx = 0.5f * (xmin + xmax), cy = 0.5f * (ymin + ymax);
    int x0 = (int)(cx - 0.5f * w), y0 = (int)(cy - 0.5f * h);
    p->cw = (int)w;
    p->ch = (int)h;
    if (x0 + p->cw > p->frame.width)
        x0 = p->frame.width - p->cw;
    if (y0 + p->ch > p->frame.height)
        y0 = p->frame.height - p->ch;
    p->cx0 = x0 < 0 ? 0 : x0;
    p->cy0 = y0 < 0 ? 0 : y0;
}

static int load_photos(const gallery_opts *o, lq_cli_nails *pipe, photo *ph, int *nph)
{
    *nph = 0;
    for (size_t i = 0; i < sizeof DEFAULT_PHOTOS / sizeof DEFAULT_PHOTOS[0]; i++) {
        char path[2048], err[256];
        int pn = snprintf(path, sizeof path, "%s/%s", o->photos, DEFAULT_PHOTOS[i]);
        if (pn < 0 || (size_t)pn >= sizeof path) {
            fprintf(stderr, "lacquer gallery: photo folder path too long\n");
            return LQ_ELIMIT;
        }
        lq_image full;
        if (lq_image_load(path, NULL, &full, err, sizeof err) < 0) {
            fprintf(stderr, "lacquer gallery: skipping %s: %s\n", path, err);
            continue;
        }
        photo *p = &ph[*nph];
        memset(p, 0, sizeof *p);
        int rc = lq_image_thumbnail(&full, o->frame, &p->frame);
        lq_image_free(&full);
        if (rc < 0)
            return rc;
        lq_hands hands;
        rc = lq_cli_nails_find(pipe, &p->frame, &hands, p->nails, &p->n);
        if (rc < 0 || p->n == 0) {
            fprintf(stderr, "lacquer gallery: skipping %s: %s\n", DEFAULT_PHOTOS[i],
                    rc < 0 ? lq_strerror(rc) : "no nail found");
            lq_image_free(&p->frame);
            continue;
        }
        snprintf(p->name, sizeof p->name, "%.20s", DEFAULT_PHOTOS[i]);
        char *dot = strchr(p->name, '.');
        if (dot)
            *dot = 0;
        choose_crop(p);
        (*nph)++;
    }
    return 0;
}

static int set_colors(nail_design *d, const char *list)
{
    nail_rgb c[NAIL_MAX_COLORS];
    int n = 0;
    char buf[128];
    snprintf(buf, sizeof buf, "%s", list);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t && n < NAIL_MAX_COLORS;
         t = strtok_r(NULL, ",", &save))
        if (nail_color_parse(t, &c[n]) == 0)
            n++;
    return n > 0 ? nail_design_set_colors(d, c, n) : LQ_EINVAL;
}

/* Paints one design on a copy of the photo's frame and puts the crop into
 * the sheet at (x, y), shrunk to fit cw x ch if needed. */
static int paint_cell(nail_renderer *r, const photo *p, const nail_design *d, uint32_t seed,
                      lq_image *work, lq_image *sheet, int x, int y, int cw, int ch)
{
    for (int row = 0; row < p->frame.height; row++)
        memcpy(lq_image_px(work, 0, row), lq_image_px(&p->frame, 0, row),
               (size_t)p->frame.width * 3u);
    work->width = p->frame.width;
    work->height = p->frame.height;
    int rc = nail_render_frame(r, work, p->nails, p->n, d, seed);
    if (rc < 0)
        return rc;
    lq_image view = {.width = p->cw,
                     .height = p->ch,
                     .stride = work->stride,
                     .data = lq_image_px(work, p->cx0, p->cy0),
                     .owned = 0};
    lq_image cell;
    int tw = p->cw, th = p->ch;
    if (tw > cw || th > ch) {
        float k = fminf((float)cw / (float)tw, (float)ch / (float)th);
        tw = (int)((float)tw * k);
        th = (int)((float)th * k);
    }
    if (tw < 1 || th < 1)
        return LQ_EINVAL;
    rc = lq_image_resize(&view, tw, th, LQ_RESIZE_AREA, &cell);
    if (rc < 0)
        return rc;
    int ox = x + (cw - tw) / 2, oy = y + (ch - th) / 2;
    for (int row = 0; row < th; row++)
        memcpy(lq_image_px(sheet, ox, oy + row), lq_image_px(&cell, 0, row), (size_t)tw * 3u);
    lq_image_free(&cell);
    return 0;
}

static int save_sheet(const lq_image *sheet, const char *dir, const char *name)
{
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = lq_image_save(sheet, path, 90);
    if (rc < 0)
        fprintf(stderr, "lacquer gallery: cannot write %s: %s\n", path, lq_strerror(rc));
    else
        printf("%s\n", path);
    return rc;
}

static int pattern_sheet(nail_renderer *r, const photo *ph, int nph, nail_pattern pat,
                         uint32_t seed, lq_image *work, const char *dir)
{
    const int cols = NAIL_FINISH_COUNT, rows = NAIL_SHAPE_COUNT;
    lq_image sheet;
    int rc = lq_image_alloc(&sheet, LABEL_W + cols * (CELL_W + 4), HEAD_H + rows * (CELL_H + 4));
    if (rc < 0)
        return rc;
    fill(&sheet, 0, 0, sheet.width, sheet.height, 24);
    char title[128];
    snprintf(title, sizeof title, "PATTERN %s  -  ROWS: SHAPE  COLUMNS: FINISH",
             nail_pattern_name(pat));
    lq_font_draw(&sheet, 10, 8, 3, title, 255, 255, 255);
    for (int c = 0; c < cols; c++)
        lq_font_draw(&sheet, LABEL_W + c * (CELL_W + 4) + 6, HEAD_H - 20, 2,
                     nail_finish_name((nail_finish)c), 255, 220, 160);
    for (int s = 0; s < rows && rc == 0; s++) {
        const photo *p = &ph[s % nph];
        const char *colors = PATTERN_COLORS[pat][s];
        int y = HEAD_H + s * (CELL_H + 4);
        lq_font_draw(&sheet, 8, y + 8, 2, nail_shape_name((nail_shape)s), 255, 220, 160);
        lq_font_draw(&sheet, 8, y + 34, 1, colors, 200, 200, 200);
        lq_font_draw(&sheet, 8, y + 50, 1, p->name, 150, 150, 150);
        for (int c = 0; c < cols && rc == 0; c++) {
            nail_design d;
            nail_design_default(&d);
            d.base.shape = (nail_shape)s;
            d.base.pattern = pat;
            d.base.finish = (nail_finish)c;
            d.base.size = (s % 3 == 0) ? NAIL_SIZE_LONG : NAIL_SIZE_MEDIUM;
            nail_design_resolve(&d);
            if (set_colors(&d, colors) < 0)
                continue;
            rc = paint_cell(r, p, &d, seed, work, &sheet, LABEL_W + c * (CELL_W + 4), y, CELL_W,
                            CELL_H);
        }
    }
    char name[64];
    snprintf(name, sizeof name, "gallery_%s.png", nail_pattern_name(pat));
    if (rc == 0)
        rc = save_sheet(&sheet, dir, name);
    lq_image_free(&sheet);
    return rc;
}

/* A small overview for the README: eight designs, two rows. */
static int overview_sheet(nail_renderer *r, const photo *ph, int nph, uint32_t seed, lq_image *work,
                          const char *dir)
{
    static const struct {
        nail_shape shape;
        nail_pattern pattern;
        nail_finish finish;
        nail_size size;
        const char *colors;
    } PICKS[8] = {
        {NAIL_SHAPE_ALMOND, NAIL_PATTERN_SOLID, NAIL_FINISH_GLOSSY, NAIL_SIZE_MEDIUM, "crimson"},
        {NAIL_SHAPE_SQUOVAL, NAIL_PATTERN_FRENCH_TIPS, NAIL_FINISH_GLOSSY, NAIL_SIZE_MEDIUM,
         "pink,white"},
        {NAIL_SHAPE_COFFIN, NAIL_PATTERN_OMBRE, NAIL_FINISH_CREAM, NAIL_SIZE_LONG, "hotpink,white"},
        {NAIL_SHAPE_STILETTO, NAIL_PATTERN_GLITTER, NAIL_FINISH_GLOSSY, NAIL_SIZE_LONG,
         "navy,#d4af37,silver"},
        {NAIL_SHAPE_OVAL, NAIL_PATTERN_MARBLE, NAIL_FINISH_GLOSSY, NAIL_SIZE_MEDIUM,
         "white,gray,#d4af37"},
        {NAIL_SHAPE_ROUND, NAIL_PATTERN_FLORAL, NAIL_FINISH_CREAM, NAIL_SIZE_MEDIUM,
         "lightpink,white,gold"},
        {NAIL_SHAPE_ALMOND, NAIL_PATTERN_SOLID, NAIL_FINISH_METALLIC, NAIL_SIZE_MEDIUM, "#d4af37"},
        {NAIL_SHAPE_SQUARE, NAIL_PATTERN_SOLID, NAIL_FINISH_MATTE, NAIL_SIZE_SHORT, "#6b2d5c"},
    };
    const int cw = 200, ch = 150, lab = 22;
    lq_image sheet;
    int rc = lq_image_alloc(&sheet, 4 * (cw + 4), 2 * (ch + lab + 4));
    if (rc < 0)
        return rc;
    fill(&sheet, 0, 0, sheet.width, sheet.height, 24);
    for (int i = 0; i < 8 && rc == 0; i++) {
        int x = (i % 4) * (cw + 4), y = (i / 4) * (ch + lab + 4);
        nail_design d;
        nail_design_default(&d);
        d.base.shape = PICKS[i].shape;
        d.base.pattern = PICKS[i].pattern;
        d.base.finish = PICKS[i].finish;
        d.base.size = PICKS[i].size;
        nail_design_resolve(&d);
        if (set_colors(&d, PICKS[i].colors) < 0)
            continue;
        static const int PHOTO_OF[8] = {0, 1, 4, 3, 5, 6, 2, 1};
        rc = paint_cell(r, &ph[PHOTO_OF[i] % nph], &d, seed, work, &sheet, x, y, cw, ch);
        char label[64];
        snprintf(label, sizeof label, "%s %s %s", nail_shape_name(PICKS[i].shape),
                 PICKS[i].pattern == NAIL_PATTERN_SOLID ? "" : nail_pattern_name(PICKS[i].pattern),
                 nail_finish_name(PICKS[i].finish));
        lq_font_draw(&sheet, x + 4, y + ch + 6, 1, label, 235, 235, 235);
    }
    if (rc == 0)
        rc = save_sheet(&sheet, dir, "gallery.png");
    lq_image_free(&sheet);
    return rc;
}

int lq_cmd_gallery(int argc, char **argv)
{
    if (lq_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    gallery_opts o = {.frame = 640, .seed = 1};
    char default_photos[2048];
    const char *shared = getenv("LQ_SHARED_DATA");
    snprintf(default_photos, sizeof default_photos, "%s/hands",
             shared && *shared ? shared : "../shared/data");
    o.photos = default_photos;
    const char *outdir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (strcmp(a, "--models") == 0 && has) {
            o.models = argv[++i];
        } else if (strcmp(a, "--photos") == 0 && has) {
            o.photos = argv[++i];
        } else if (strcmp(a, "--frame") == 0 && has) {
            if (parse_int(argv[++i], 160, 1920, &o.frame) < 0) {
                fprintf(stderr, "lacquer gallery: --frame must be 160..1920\n");
                return 2;
            }
        } else if (strcmp(a, "--seed") == 0 && has) {
            if (parse_int(argv[++i], 0, 2147483647, &o.seed) < 0) {
                fprintf(stderr, "lacquer gallery: --seed must be a non-negative integer\n");
                return 2;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "lacquer gallery: unknown option or missing value: %s\n\n", a);
            usage(stderr);
            return 2;
        } else if (!outdir) {
            outdir = a;
        } else {
            fprintf(stderr, "lacquer gallery: one OUTDIR only\n");
            return 2;
        }
    }
    if (!outdir) {
        usage(stderr);
        return 2;
    }
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "lacquer gallery: cannot create %s: %s\n", outdir, strerror(errno));
        return 1;
    }
    char err[512];
    lq_cli_nails pipe;
    int rc = lq_cli_nails_open(&pipe, lq_cli_models_dir(o.models), err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "lacquer gallery: %s\n", err);
        return 1;
    }
    static photo ph[GALLERY_MAX_PHOTOS];
    int nph = 0;
    nail_renderer *r = NULL;
    lq_image work = {0};
    int status = 1;
    rc = load_photos(&o, &pipe, ph, &nph);
    if (rc < 0 || nph == 0) {
        fprintf(stderr, "lacquer gallery: no usable photo in %s\n", o.photos);
        goto done;
    }
    int maxw = 0, maxh = 0;
    for (int i = 0; i < nph; i++) {
        maxw = ph[i].frame.width > maxw ? ph[i].frame.width : maxw;
        maxh = ph[i].frame.height > maxh ? ph[i].frame.height : maxh;
    }
    if (lq_image_alloc(&work, maxw, maxh) < 0 || nail_renderer_create(&r) < 0) {
        fprintf(stderr, "lacquer gallery: out of memory\n");
        goto done;
    }
    for (int p = 0; p < NAIL_PATTERN_COUNT; p++) {
        if (p == NAIL_PATTERN_REFERENCE)
            continue; /* needs a reference photo: see lacquer render --reference */
        if (pattern_sheet(r, ph, nph, (nail_pattern)p, (uint32_t)o.seed, &work, outdir) < 0)
            goto done;
    }
    if (overview_sheet(r, ph, nph, (uint32_t)o.seed, &work, outdir) < 0)
        goto done;
    status = 0;
done:
    for (int i = 0; i < nph; i++)
        lq_image_free(&ph[i].frame);
    lq_image_free(&work);
    nail_renderer_destroy(r);
    lq_cli_nails_close(&pipe);
    return status;
}
