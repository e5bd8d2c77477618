/*
 * refscan.h - internal to src/nails (palette.c, reference.c): a reference
 * photo reduced to a small perceptual image, with every pixel classed as
 * background, skin or foreground (what might be nail polish).
 *
 *   nail__scan s;
 *   if (nail__scan_create(img, mask, mask_stride, 160, &s) == 0) {
 *       nail__scan_classify(&s);         // background flood + skin model
 *       ... s.lab[3 * i], s.cls[i] ...
 *       nail__scan_free(&s);
 *   }
 *
 * The photo is area-averaged in linear light down to at most work_size pixels
 * on its longer side (never up), and converted to OKLab. With a mask, only
 * masked source pixels (> 127) are averaged, and a cell's weight is the share
 * of its pixels inside the mask; classify() then leaves every weighted pixel
 * foreground (the caller already said where to look).
 *
 * Background: regions connected to the image border that change smoothly
 * (each step under NAIL__BG_STEP in OKLab) and stay near the border colour
 * they grew from (NAIL__BG_FAR): walls, tables, cloth. Skin: the YCbCr chroma
 * box of Chai and Ngan (1999: Cb 77..127, Cr 133..173), narrowed to the
 * photo's own skin tone (the median OKLab of the box pixels that are not
 * background) so that nude and pink polish, which also falls in the box,
 * survives unless it is close to the skin itself.
 *
 * Allocates with malloc (session set-up, not the frame path); reentrant.
 */
#ifndef LQ_NAILS_REFSCAN_H
#define LQ_NAILS_REFSCAN_H

#include <stdint.h>

#include "image/image.h"
#include "nails/color.h"

#define NAIL__SCAN_MIN_SIZE 16
#define NAIL__SCAN_MAX_SIZE 512
#define NAIL__BG_STEP 0.03f   /* OKLab distance between neighbours inside a background */
#define NAIL__BG_FAR 0.12f    /* ... and from the border pixel it grew from */

enum nail__px_class {
    NAIL__PX_FG = 0,         /* candidate polish */
    NAIL__PX_BACKGROUND = 1,
    NAIL__PX_SKIN = 2,
    NAIL__PX_EMPTY = 3,      /* outside the caller's mask */
    NAIL__PX_EDGE = 4,       /* foreground touching background: mixed pixels */
};

typedef struct nail__scan {
    int w, h;              /* work size */
    float sx, sy;          /* source pixels per work pixel, per axis */
    float *lab;            /* OKLab, 3 floats per pixel */
    float *lin;            /* linear RGB, 3 floats per pixel */
    float *wgt;            /* 0..1 per pixel */
    uint8_t *cls;          /* enum nail__px_class per pixel */
    int masked;            /* 1 if created with a mask */
    int has_skin;          /* 1 if a skin tone was found */
    nail_lab skin;         /* the photo's skin tone (OKLab), if has_skin */
    float *enclosure;      /* per foreground pixel, 0..1: how much the colour-uniform
                              region it belongs to looks like a nail (its outline runs
                              along skin, it is small next to the hand); NULL
                              without skin */
    int *region;           /* per foreground pixel, the id of its colour-uniform
                              region (the index of its first pixel), else -1;
                              NULL without skin */
    float fg, bg, skinf;   /* weighted shares of the classes, 0..1 */
} nail__scan;

/* LQ_ELIMIT for an image over LQ_IMAGE_MAX_DIM/MAX_PIXELS, LQ_EINVAL for a
 * bad image/mask/work_size (NAIL__SCAN_MIN_SIZE..MAX_SIZE),
 * LQ_ENOTFOUND if a mask selects nothing, LQ_ENOMEM. On failure *s is
 * zeroed and owns nothing. */
int nail__scan_create(const lq_image *img, const uint8_t *mask, int mask_stride, int work_size,
                      nail__scan *s);
void nail__scan_classify(nail__scan *s);
void nail__scan_free(nail__scan *s);

/* Weight of work pixel (x, y) for "subjects are framed near the middle":
 * 1 at the centre, 0.6 at mid-edge, at least 0.2. */
float nail__centre_prior(int x, int y, int W, int H);

/* 1 if the sRGB colour falls in the YCbCr skin chroma box. */
int nail__skin_box(float r8, float g8, float b8);

#endif
