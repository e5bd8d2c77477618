/*
 * cmd_gallery.c - `lacquer gallery [options] OUTDIR`: every shape x pattern x
 * finish painted on real photos, as labelled contact sheets (PNG).
 *
 * Each photo is first brought to camera size (longer side --frame, default
 * 640), as a live frame would be; hands and nails are found once per photo
 * as the product finds them in a photo (cli/handnails.h: landmarks fused
 * with the nail segmentation network's outlines; --no-segmentation:
 * landmarks only); each cell of a sheet is that frame painted with one
 * design and cropped around the painted nails, at 100% or shrunk (never
 * enlarged) so a sheet shows what a shopper sees.
 *
 * Sheets: gallery_<pattern>.png (rows: shapes, each on the next photo;
 * columns: finishes), gallery.png, a small overview of eight designs, and
 * gallery_outlines.png: the outlines of the nails found in hand photos and
 * in close-ups without a detectable hand, landmarks only beside with
 * segmentation.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/log.h"
#include "cli/cli.h"
#include "cli/cli_opts.h"
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
#define OUTLINE_W 360 /* gallery_outlines.png cells: the pattern cells' aspect */
#define OUTLINE_H 270
#define OUTLINE_LAB 22 /* the nail count under each cell */

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

/* The rows of gallery_outlines.png: hands MediaPipe finds (from --photos),
 * then close-ups of ../shared/data/nails/images (--closeups): one with a hand
 * whose landmarks show few nails, three without a detectable hand. Missing
 * files are skipped. */
static const struct {
    int closeup;
    const char *name;
} OUTLINE_PHOTOS[] = {
    {0, "kagglenails_d639e532-db67-11e8-9658-0242ac1c0002.jpg"},
    {0, "kagglenails_b25b81b1-d562-4891-ae4f-83a82a2b64b5.jpg"},
    {1, "3493127D-7B19-4E50-94AE-2401BD2A91C8.jpg"},
    {1, "1eecab90-1a92-43a7-b952-0204384e1fae.jpg"},
    {1, "F6F9B3E6-FA7B-4DAC-B08C-1AD19BC43A76.jpg"},
    {1, "34404E67-4BB8-432E-863E-C1BEF5EB37E0.jpg"},
};
#define N_OUTLINE_PHOTOS (sizeof OUTLINE_PHOTOS / sizeof OUTLINE_PHOTOS[0])

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
    const char *closeups;
    int frame;
    int seed;
    int no_segmentation;
} gallery_opts;

#define OFF(f) offsetof(gallery_opts, f)
static const lq_cli_opt opt_table[] = {
    {"--models", "DIR", LQ_CLI_PATH, OFF(models), 0, 0,
     "folder with the .tflite models (default $LQ_MODELS_DIR or ./models)"},
    {"--photos", "DIR", LQ_CLI_PATH, OFF(photos), 0, 0,
     "folder with the hand photos (default $LQ_SHARED_DATA/hands or ../shared/data/hands)"},
    {"--closeups", "DIR", LQ_CLI_PATH, OFF(closeups), 0, 0,
     "folder with the nail close-ups of gallery_outlines.png (default "
     "$LQ_SHARED_DATA/nails/images or ../shared/data/nails/images)"},
    {"--frame", "N", LQ_CLI_INT, OFF(frame), 160, 1920,
     "longer side of the camera frame, 160..1920 (default 640)"},
    {"--seed", "N", LQ_CLI_INT, OFF(seed), 0, 2147483647.0, "pattern seed (default 1)"},
    {"--no-segmentation", NULL, LQ_CLI_FLAG, OFF(no_segmentation), 0, 1,
     "paint the pattern sheets on nails from the hand landmarks only, without the nail "
     "segmentation network (gallery_outlines.png always shows both)"},
};
#define N_OPTS (sizeof opt_table / sizeof opt_table[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: lacquer gallery [options] OUTDIR\n\n"
               "Renders every shape x pattern x finish on shared photos into contact sheets:\n"
               "OUTDIR/gallery_<pattern>.png (rows: shapes, columns: finishes),\n"
               "OUTDIR/gallery.png (an overview) and OUTDIR/gallery_outlines.png (the nails\n"
               "found in each photo, landmarks only beside with segmentation).\n\noptions:\n");
    lq_cli_opts_help(f, opt_table, N_OPTS, 18);
}

/* Returns 0, or -1 on a usage error (the message is printed). */
static int parse_args(int argc, char **argv, gallery_opts *o, const char **outdir)
{
    *outdir = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] != 0) { /* options may follow OUTDIR */
            if (lq_cli_opt_take("gallery", opt_table, N_OPTS, argc, argv, &i, o) < 0)
                return -1;
        } else if (!*outdir) {
            *outdir = a;
        } else {
            fprintf(stderr, "lacquer gallery: one OUTDIR only\n");
            return -1;
        }
    }
    if (!*outdir)
        fprintf(stderr, "lacquer gallery: no OUTDIR given\n");
    return *outdir ? 0 : -1;
}

static void fill(lq_image *img, int x0, int y0, int w, int h, uint8_t v)
{
    for (int y = y0; y < y0 + h && y < img->height; y++)
        for (int x = x0; x < x0 + w && x < img->width; x++)
            memset(lq_image_px(img, x, y), v, 3);
}

static void set_crop(photo *p, float xmin, float xmax, float ymin, float ymax, float min_w);

/* The crop: the painted nails' extent (with the longest design) plus a
 * margin, widened to the cell's aspect ratio, kept inside the frame. Uses
 * the hand with the most nails when two hands are far apart, and the nails
 * the segmentation network found alone (hand -1) when no nail has a hand. */
static void choose_crop(photo *p)
{
    float xmin = 1e9f, xmax = -1e9f, ymin = 1e9f, ymax = -1e9f;
    int best_hand = -1, counts[LQ_HAND_MAX] = {0};
    for (int i = 0; i < p->n; i++)
        if (p->nails[i].hand >= 0 && p->nails[i].hand < LQ_HAND_MAX) {
            counts[p->nails[i].hand]++;
            best_hand = 0;
        }
    if (best_hand == 0 && counts[1] > counts[0])
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
    /* small nails: show them at 100%+, not huge */
    set_crop(p, xmin, xmax, ymin, ymax, CELL_W * 0.75f);
}

/* p's crop: the box widened to the cells' aspect ratio and to at least
 * min_w wide, then shrunk to fit inside the frame, around the box's centre
 * as far as the frame allows. */
static void set_crop(photo *p, float xmin, float xmax, float ymin, float ymax, float min_w)
{
    float w = xmax - xmin, h = ymax - ymin;
    float aspect = (float)CELL_W / (float)CELL_H;
    if (w / h < aspect)
        w = h * aspect;
    else
        h = w / aspect;
    if (w < min_w) {
        w = min_w;
        h = min_w / aspect;
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

/* Loads dir/name at camera size into p->frame and names p after the file.
 * Returns 1 if loaded, 0 if skipped (the reason printed), or LQ_ELIMIT /
 * LQ_ENOMEM. */
static int load_frame(const char *dir, const char *name, int frame, photo *p)
{
    char path[2048], err[256];
    int pn = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (pn < 0 || (size_t)pn >= sizeof path) {
        fprintf(stderr, "lacquer gallery: photo folder path too long\n");
        return LQ_ELIMIT;
    }
    lq_image full;
    if (lq_image_load(path, NULL, &full, err, sizeof err) < 0) {
        fprintf(stderr, "lacquer gallery: skipping %s: %s\n", path, err);
        return 0;
    }
    memset(p, 0, sizeof *p);
    int rc = lq_image_thumbnail(&full, frame, &p->frame);
    lq_image_free(&full);
    if (rc < 0)
        return rc;
    snprintf(p->name, sizeof p->name, "%.20s", name);
    char *dot = strchr(p->name, '.');
    if (dot)
        *dot = 0;
    return 1;
}

static int load_photos(const gallery_opts *o, lq_cli_nails *pipe, photo *ph, int *nph)
{
    *nph = 0;
    for (size_t i = 0; i < sizeof DEFAULT_PHOTOS / sizeof DEFAULT_PHOTOS[0]; i++) {
        photo *p = &ph[*nph];
        int rc = load_frame(o->photos, DEFAULT_PHOTOS[i], o->frame, p);
        if (rc <= 0) {
            if (rc < 0)
                return rc;
            continue;
        }
        lq_hands hands;
        rc = lq_cli_nails_find(pipe, &p->frame, !o->no_segmentation, &hands, p->nails, &p->n);
        if (rc < 0 || p->n == 0) {
            fprintf(stderr, "lacquer gallery: skipping %s: %s\n", DEFAULT_PHOTOS[i],
                    rc < 0 ? lq_strerror(rc) : "no nail found");
            lq_image_free(&p->frame);
            continue;
        }
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

/* work (at least the frame's size) becomes a copy of the photo's frame. */
static void copy_frame(const photo *p, lq_image *work)
{
    for (int row = 0; row < p->frame.height; row++)
        memcpy(lq_image_px(work, 0, row), lq_image_px(&p->frame, 0, row),
               (size_t)p->frame.width * 3u);
    work->width = p->frame.width;
    work->height = p->frame.height;
}

/* The scale a cw x ch cell shows p's crop at: 1, or less to fit. */
static float cell_scale(const photo *p, int cw, int ch)
{
    if (p->cw <= cw && p->ch <= ch)
        return 1.0f;
    return fminf((float)cw / (float)p->cw, (float)ch / (float)p->ch);
}

/* Puts work's crop (p's) into the sheet at (x, y), shrunk to fit cw x ch if
 * needed, centred. */
static int place_crop(const photo *p, const lq_image *work, lq_image *sheet, int x, int y, int cw,
                      int ch)
{
    lq_image view = {.width = p->cw,
                     .height = p->ch,
                     .stride = work->stride,
                     .data = lq_image_px(work, p->cx0, p->cy0),
                     .owned = 0};
    lq_image cell;
    int tw = p->cw, th = p->ch;
    if (tw > cw || th > ch) {
        float k = cell_scale(p, cw, ch);
        tw = (int)((float)tw * k);
        th = (int)((float)th * k);
    }
    if (tw < 1 || th < 1)
        return LQ_EINVAL;
    int rc = lq_image_resize(&view, tw, th, LQ_RESIZE_AREA, &cell);
    if (rc < 0)
        return rc;
    int ox = x + (cw - tw) / 2, oy = y + (ch - th) / 2;
    for (int row = 0; row < th; row++)
        memcpy(lq_image_px(sheet, ox, oy + row), lq_image_px(&cell, 0, row), (size_t)tw * 3u);
    lq_image_free(&cell);
    return 0;
}

/* Paints one design on a copy of the photo's frame and puts the crop into
 * the sheet at (x, y), shrunk to fit cw x ch if needed. */
static int paint_cell(nail_renderer *r, const photo *p, const nail_design *d, uint32_t seed,
                      lq_image *work, lq_image *sheet, int x, int y, int cw, int ch)
{
    copy_frame(p, work);
    int rc = nail_render_frame(r, work, p->nails, p->n, d, seed);
    if (rc < 0)
        return rc;
    return place_crop(p, work, sheet, x, y, cw, ch);
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

/* The crop of an outlines row: every nail either way found, with a margin,
 * at least a cell's size (shown at 100%) when the frame is larger; a frame
 * that fits in a cell, or one where nothing is found: the whole frame. */
static void outline_crop(photo *p, const nail_geom *more, int nmore)
{
    float xmin = 1e9f, xmax = -1e9f, ymin = 1e9f, ymax = -1e9f;
    for (int i = 0; i < p->n + nmore; i++) {
        const nail_geom *g = i < p->n ? &p->nails[i] : &more[i - p->n];
        float ext = 0.75f * (g->length + g->width);
        xmin = fminf(xmin, g->cx - ext);
        xmax = fmaxf(xmax, g->cx + ext);
        ymin = fminf(ymin, g->cy - ext);
        ymax = fmaxf(ymax, g->cy + ext);
    }
    if (p->frame.width <= OUTLINE_W && p->frame.height <= OUTLINE_H) {
        p->cx0 = p->cy0 = 0; /* a small photo: all of it, at 100% */
        p->cw = p->frame.width;
        p->ch = p->frame.height;
        return;
    }
    if (!(xmin < xmax && ymin < ymax)) {
        xmin = 0;
        ymin = 0;
        xmax = (float)p->frame.width;
        ymax = (float)p->frame.height;
    }
    set_crop(p, xmin, xmax, ymin, ymax, (float)OUTLINE_W);
}

/* Draws the boundary of each nail's natural outline (the nail geometry's
 * own rasterizer, one nail at a time so touching nails keep their borders)
 * into img: the mask pixels with a pixel outside the mask (or the frame)
 * within `thick` pixels. mask: img's size, scratch. */
static int draw_outlines(lq_image *img, const nail_geom *nails, int n, int thick, uint8_t *mask)
{
    static const uint8_t COLORS[][3] = {
        {255, 40, 40}, {255, 230, 0},   {0, 230, 255},   {80, 255, 80}, {255, 80, 255},
        {255, 150, 0}, {140, 140, 255}, {255, 255, 255}, {0, 170, 90},  {200, 110, 255},
    };
    const int w = img->width, h = img->height, t = thick - 1;
    for (int k = 0; k < n; k++) {
        const nail_geom *g = &nails[k];
        int rc = nail_geom_rasterize(g, 1, mask, w, h, w);
        if (rc < 0)
            return rc;
        const uint8_t *c = COLORS[k % (int)(sizeof COLORS / sizeof COLORS[0])];
        float ext = 0.5f * (g->length + g->width) + 2.0f;
        if (!(ext < (float)(w + h)) || !(fabsf(g->cx) < 1e6f) || !(fabsf(g->cy) < 1e6f))
            continue; /* non-finite or absurd: nothing drawn */
        int x0 = (int)(g->cx - ext), x1 = (int)(g->cx + ext);
        int y0 = (int)(g->cy - ext), y1 = (int)(g->cy + ext);
        x0 = x0 < 0 ? 0 : x0;
        y0 = y0 < 0 ? 0 : y0;
        x1 = x1 >= w ? w - 1 : x1;
        y1 = y1 >= h ? h - 1 : y1;
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++) {
                if (!mask[(size_t)y * (size_t)w + (size_t)x])
                    continue;
                int edge = 0;
                for (int dy = -t - 1; dy <= t + 1 && !edge; dy++)
                    for (int dx = -t - 1; dx <= t + 1 && !edge; dx++) {
                        if ((dx * dx + dy * dy) > (t + 1) * (t + 1))
                            continue;
                        int xx = x + dx, yy = y + dy;
                        edge = xx < 0 || yy < 0 || xx >= w || yy >= h ||
                               !mask[(size_t)yy * (size_t)w + (size_t)xx];
                    }
                if (edge)
                    memcpy(lq_image_px(img, x, y), c, 3);
            }
    }
    return 0;
}

/* One cell of gallery_outlines.png: p's frame with the outlines of nails
 * drawn, p's crop, and the count underneath. The outline is about 1 pixel
 * wide in the cell whatever the crop's scale. */
static int outline_cell(const photo *p, const nail_geom *nails, int n, int hands, uint8_t *mask,
                        lq_image *work, lq_image *sheet, int x, int y)
{
    copy_frame(p, work);
    int thick = (int)lroundf(1.0f / cell_scale(p, OUTLINE_W, OUTLINE_H));
    int rc = draw_outlines(work, nails, n, thick < 1 ? 1 : thick, mask);
    if (rc == 0)
        rc = place_crop(p, work, sheet, x, y, OUTLINE_W, OUTLINE_H);
    if (rc < 0)
        return rc;
    int alone = 0;
    for (int i = 0; i < n; i++)
        alone += nails[i].hand < 0;
    char label[96];
    snprintf(label, sizeof label, "%d NAIL%s", n, n == 1 ? "" : "S");
    int lw = lq_font_draw(sheet, x + 4, y + OUTLINE_H + 4, 2, label, 255, 255, 255);
    if (alone > 0)
        snprintf(label, sizeof label, "%d hand%s, %d by the network alone", hands,
                 hands == 1 ? "" : "s", alone);
    else
        snprintf(label, sizeof label, "%d hand%s", hands, hands == 1 ? "" : "s");
    lq_font_draw(sheet, x + 4 + lw + 10, y + OUTLINE_H + 8, 1, label, 200, 200, 200);
    return 0;
}

/* gallery_outlines.png: for each photo of OUTLINE_PHOTOS that loads, the
 * nails found with the landmarks only beside those found with segmentation,
 * as outlines on the frame, both with the same crop. Writes nothing (and
 * says so) when no photo loads. */
static int outlines_sheet(const gallery_opts *o, lq_cli_nails *pipe, const char *dir)
{
    static photo ph[N_OUTLINE_PHOTOS];
    static nail_geom lm[N_OUTLINE_PHOTOS][NAIL_MAX];
    int nlm[N_OUTLINE_PHOTOS], hands[N_OUTLINE_PHOTOS][2];
    int nph = 0, rc = 0, maxw = 0, maxh = 0;
    lq_image sheet = {0}, work = {0};
    uint8_t *mask = NULL;
    for (size_t i = 0; i < N_OUTLINE_PHOTOS && rc >= 0; i++) {
        photo *p = &ph[nph];
        const char *folder = OUTLINE_PHOTOS[i].closeup ? o->closeups : o->photos;
        rc = load_frame(folder, OUTLINE_PHOTOS[i].name, o->frame, p);
        if (rc <= 0)
            continue;
        lq_hands h;
        rc = lq_cli_nails_find(pipe, &p->frame, 0, &h, lm[nph], &nlm[nph]);
        hands[nph][0] = h.count;
        if (rc == 0)
            rc = lq_cli_nails_find(pipe, &p->frame, 1, &h, p->nails, &p->n);
        hands[nph][1] = h.count;
        if (rc < 0) {
            fprintf(stderr, "lacquer gallery: %s: %s\n", OUTLINE_PHOTOS[i].name, lq_strerror(rc));
            lq_image_free(&p->frame);
            break;
        }
        outline_crop(p, lm[nph], nlm[nph]);
        maxw = p->frame.width > maxw ? p->frame.width : maxw;
        maxh = p->frame.height > maxh ? p->frame.height : maxh;
        nph++;
    }
    if (rc < 0)
        goto done;
    if (nph == 0) {
        fprintf(stderr, "lacquer gallery: no photo for gallery_outlines.png in %s or %s\n",
                o->photos, o->closeups);
        goto done;
    }
    mask = malloc((size_t)maxw * (size_t)maxh);
    rc = mask ? lq_image_alloc(&work, maxw, maxh) : LQ_ENOMEM;
    if (rc == 0)
        rc = lq_image_alloc(&sheet, LABEL_W + 2 * (OUTLINE_W + 4),
                            HEAD_H + nph * (OUTLINE_H + OUTLINE_LAB + 4));
    if (rc < 0)
        goto done;
    fill(&sheet, 0, 0, sheet.width, sheet.height, 24);
    lq_font_draw(&sheet, 10, 8, 3, "NAIL OUTLINES FOUND IN EACH PHOTO", 255, 255, 255);
    static const char *const HEADS[2] = {"LANDMARKS ONLY", "WITH SEGMENTATION"};
    for (int c = 0; c < 2; c++)
        lq_font_draw(&sheet, LABEL_W + c * (OUTLINE_W + 4) + 6, HEAD_H - 20, 2, HEADS[c], 255, 220,
                     160);
    for (int i = 0; i < nph && rc == 0; i++) {
        const photo *p = &ph[i];
        int y = HEAD_H + i * (OUTLINE_H + OUTLINE_LAB + 4);
        lq_font_draw(&sheet, 8, y + 8, 1, p->name, 200, 200, 200);
        lq_font_draw(&sheet, 8, y + 24, 1, hands[i][1] > 0 ? "hand found" : "no hand found", 150,
                     150, 150);
        rc = outline_cell(p, lm[i], nlm[i], hands[i][0], mask, &work, &sheet, LABEL_W, y);
        if (rc == 0)
            rc = outline_cell(p, p->nails, p->n, hands[i][1], mask, &work, &sheet,
                              LABEL_W + OUTLINE_W + 4, y);
    }
    if (rc == 0)
        rc = save_sheet(&sheet, dir, "gallery_outlines.png");
done:
    for (int i = 0; i < nph; i++)
        lq_image_free(&ph[i].frame);
    lq_image_free(&sheet);
    lq_image_free(&work);
    free(mask);
    return rc < 0 ? rc : 0;
}

int lq_cmd_gallery(int argc, char **argv)
{
    if (lq_cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    gallery_opts o = {.frame = 640, .seed = 1};
    const char *outdir = NULL;
    if (parse_args(argc, argv, &o, &outdir) < 0) {
        usage(stderr);
        return 2;
    }
    char default_photos[2048], default_closeups[2048];
    const char *shared = getenv("LQ_SHARED_DATA");
    shared = shared && *shared ? shared : "../shared/data";
    snprintf(default_photos, sizeof default_photos, "%s/hands", shared);
    snprintf(default_closeups, sizeof default_closeups, "%s/nails/images", shared);
    if (!o.photos)
        o.photos = default_photos;
    if (!o.closeups)
        o.closeups = default_closeups;
    if (mkdir(outdir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "lacquer gallery: cannot create %s: %s\n", outdir, strerror(errno));
        return 1;
    }
    char err[512];
    lq_cli_nails *pipe = NULL;
    /* the network is loaded even with --no-segmentation: the outlines sheet
     * shows both */
    const lq_cli_nails_opts po = {.models_dir = lq_cli_models_dir(o.models), .segmentation = 1};
    int rc = lq_cli_nails_open(&po, &pipe, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "lacquer gallery: %s\n", err);
        return 1;
    }
    static photo ph[GALLERY_MAX_PHOTOS];
    int nph = 0;
    nail_renderer *r = NULL;
    lq_image work = {0};
    int status = 1;
    rc = load_photos(&o, pipe, ph, &nph);
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
    if ((rc = outlines_sheet(&o, pipe, outdir)) < 0) {
        fprintf(stderr, "lacquer gallery: gallery_outlines.png: %s\n", lq_strerror(rc));
        goto done;
    }
    status = 0;
done:
    for (int i = 0; i < nph; i++)
        lq_image_free(&ph[i].frame);
    lq_image_free(&work);
    nail_renderer_destroy(r);
    lq_cli_nails_close(pipe);
    return status;
}
