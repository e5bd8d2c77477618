/* nail_eval.c - IoU / precision / recall of nail outlines against nail masks. */
#include "nails/nail_eval.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/clock.h"
#include "base/log.h"
#include "image/codec.h"

#define PATH_MAX_LEN 4096

int nail_eval_compare(const uint8_t *pred, int pstride, const lq_image *truth, uint64_t *tp,
                      uint64_t *fp, uint64_t *fn)
{
    if (!pred || !truth || !truth->data || !tp || !fp || !fn || pstride < truth->width)
        return LQ_EINVAL;
    uint64_t a = 0, b = 0, c = 0;
    for (int y = 0; y < truth->height; y++) {
        const uint8_t *p = pred + (size_t)y * (size_t)pstride;
        for (int x = 0; x < truth->width; x++) {
            int t = lq_image_px(truth, x, y)[0] > 127;
            int q = p[x] > 127;
            a += (uint64_t)(t & q);
            b += (uint64_t)(q & !t);
            c += (uint64_t)(t & !q);
        }
    }
    *tp += a;
    *fp += b;
    *fn += c;
    return 0;
}

double nail_eval_iou(uint64_t tp, uint64_t fp, uint64_t fn)
{
    uint64_t u = tp + fp + fn;
    return u == 0 ? 1.0 : (double)tp / (double)u;
}

static int has_image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot)
        return 0;
    return strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 ||
           strcasecmp(dot, ".png") == 0 || strcasecmp(dot, ".webp") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

/* Sorted image file names of dir into names[NAIL_EVAL_MAX_IMAGES][128]. */
static int list_images(const char *dir, char (*names)[128], int *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        LQ_ERROR("nails", "cannot open image folder %s", dir);
        return LQ_ENOENT;
    }
    int n = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_image_ext(e->d_name) || strlen(e->d_name) >= 128)
            continue;
        if (n == NAIL_EVAL_MAX_IMAGES) {
            LQ_ERROR("nails", "more than %d images in %s", NAIL_EVAL_MAX_IMAGES, dir);
            rc = LQ_ELIMIT;
            break;
        }
        strcpy(names[n++], e->d_name);
    }
    closedir(d);
    if (rc < 0)
        return rc;
    qsort(names, (size_t)n, sizeof names[0], cmp_names);
    *count = n;
    return 0;
}

/* Tints the frame: green = truth only, red = outline only, yellow = both. */
static void write_overlay(const char *dir, const char *file, const lq_image *img,
                          const uint8_t *pred, const lq_image *truth)
{
    lq_image ov;
    if (lq_image_copy(&ov, img) < 0)
        return;
    for (int y = 0; y < ov.height; y++) {
        for (int x = 0; x < ov.width; x++) {
            uint8_t *p = lq_image_px(&ov, x, y);
            int t = lq_image_px(truth, x, y)[0] > 127;
            int q = pred[(size_t)y * (size_t)ov.width + (size_t)x] > 127;
            if (!t && !q)
                continue;
            int tint[3] = {q ? 255 : 0, t ? 255 : 0, 0};
            for (int c = 0; c < 3; c++)
                p[c] = (uint8_t)((p[c] + tint[c]) / 2);
        }
    }
    char path[PATH_MAX_LEN];
    snprintf(path, sizeof path, "%s/%s.png", dir, file);
    if (lq_image_save(&ov, path, 90) < 0)
        LQ_WARN("nails", "cannot write overlay %s", path);
    lq_image_free(&ov);
}

/* Loads images_dir/file and its mask masks_dir/file, which must be the same
 * size; on failure logs why and frees both. */
static int load_pair(const nail_eval_opts *o, const char *file, lq_image *img, lq_image *truth)
{
    char path[PATH_MAX_LEN], err[256];
    lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
    int rc;
    snprintf(path, sizeof path, "%s/%s", o->images_dir, file);
    if ((rc = lq_image_load(path, &lim, img, err, sizeof err)) < 0) {
        LQ_ERROR("nails", "%s: %s", path, err);
        return rc;
    }
    snprintf(path, sizeof path, "%s/%s", o->masks_dir, file);
    if ((rc = lq_image_load(path, &lim, truth, err, sizeof err)) < 0) {
        LQ_ERROR("nails", "mask %s: %s", path, err);
        lq_image_free(img);
        return rc;
    }
    if (truth->width != img->width || truth->height != img->height) {
        LQ_ERROR("nails", "mask %s is %dx%d, image %dx%d", path, truth->width, truth->height,
                 img->width, img->height);
        lq_image_free(img);
        lq_image_free(truth);
        return LQ_EFORMAT;
    }
    return 0;
}

static int eval_one(const nail_eval_opts *o, const char *file, nail_eval_hands_fn fn, void *ud,
                    nail_eval_image *row)
{
    lq_image img = {0}, truth = {0};
    uint8_t *pred = NULL;
    int rc;
    memset(row, 0, sizeof *row);
    snprintf(row->file, sizeof row->file, "%s", file);

    if ((rc = load_pair(o, file, &img, &truth)) < 0)
        return rc;
    lq_hands hands;
    memset(&hands, 0, sizeof hands);
    if ((rc = fn(ud, file, &img, &hands)) < 0)
        goto done;
    row->hands = hands.count;

    nail_geom nails[NAIL_MAX];
    int n = 0;
    double t0 = lq_clock_ms();
    rc = nail_locate(&img, &hands, &o->locate, nails, NAIL_MAX, &n);
    row->locate_ms = lq_clock_ms() - t0;
    if (rc < 0)
        goto done;
    row->nails = n;

    pred = malloc((size_t)img.width * (size_t)img.height);
    if (!pred) {
        rc = LQ_ENOMEM;
        goto done;
    }
    if ((rc = nail_geom_rasterize(nails, n, pred, img.width, img.height, img.width)) < 0 ||
        (rc = nail_eval_compare(pred, img.width, &truth, &row->tp, &row->fp, &row->fn)) < 0)
        goto done;
    row->iou = nail_eval_iou(row->tp, row->fp, row->fn);
    row->precision = row->tp + row->fp ? (double)row->tp / (double)(row->tp + row->fp) : 0.0;
    row->recall = row->tp + row->fn ? (double)row->tp / (double)(row->tp + row->fn) : 1.0;
    if (o->overlay_dir)
        write_overlay(o->overlay_dir, file, &img, pred, &truth);
done:
    free(pred);
    lq_image_free(&img);
    lq_image_free(&truth);
    return rc;
}

int nail_eval_dataset(const nail_eval_opts *opts, nail_eval_hands_fn hands_fn, void *ud,
                      nail_eval_result *res)
{
    if (!opts || !opts->images_dir || !opts->masks_dir || !hands_fn || !res)
        return LQ_EINVAL;
    int rc = nail_locate_opts_validate(&opts->locate);
    if (rc < 0)
        return rc;
    char(*names)[128] = malloc(sizeof(char[NAIL_EVAL_MAX_IMAGES][128]));
    if (!names)
        return LQ_ENOMEM;
    int count = 0;
    if ((rc = list_images(opts->images_dir, names, &count)) < 0) {
        free(names);
        return rc;
    }
    memset(res, 0, sizeof *res);
    for (int i = 0; i < count; i++) {
        if ((rc = eval_one(opts, names[i], hands_fn, ud, &res->per[i])) < 0)
            break;
        res->images++;
    }
    free(names);
    if (rc < 0)
        return rc;
    nail_eval_summarize(res);
    return 0;
}

void nail_eval_summarize(nail_eval_result *res)
{
    uint64_t tp = 0, fp = 0, fn = 0, htp = 0, hfp = 0, hfn = 0;
    double sum_iou = 0, sum_iou_hand = 0, sum_ms = 0;
    res->images_with_hand = res->images_without_hand = 0;
    for (int i = 0; i < res->images; i++) {
        const nail_eval_image *row = &res->per[i];
        sum_iou += row->iou;
        tp += row->tp;
        fp += row->fp;
        fn += row->fn;
        if (row->hands > 0) {
            res->images_with_hand++;
            sum_iou_hand += row->iou;
            htp += row->tp;
            hfp += row->fp;
            hfn += row->fn;
            sum_ms += row->locate_ms;
        } else {
            res->images_without_hand++;
        }
    }
    res->mean_iou = res->images ? sum_iou / res->images : 0.0;
    res->mean_iou_hand = res->images_with_hand ? sum_iou_hand / res->images_with_hand : 0.0;
    res->precision = tp + fp ? (double)tp / (double)(tp + fp) : 0.0;
    res->recall = tp + fn ? (double)tp / (double)(tp + fn) : 0.0;
    res->precision_hand = htp + hfp ? (double)htp / (double)(htp + hfp) : 0.0;
    res->recall_hand = htp + hfn ? (double)htp / (double)(htp + hfn) : 0.0;
    res->locate_ms_mean = res->images_with_hand ? sum_ms / res->images_with_hand : 0.0;
}

/* One image, npred predictions (nail_eval_dataset_masks). */
static int eval_one_masks(const nail_eval_opts *o, const char *file, nail_eval_masks_fn fn,
                          void *ud, int npred, nail_eval_image *rows)
{
    lq_image img = {0}, truth = {0};
    uint8_t *buf = NULL;
    uint8_t *pred[NAIL_EVAL_MAX_PREDICTIONS];
    int rc;
    for (int k = 0; k < npred; k++) {
        memset(&rows[k], 0, sizeof rows[k]);
        snprintf(rows[k].file, sizeof rows[k].file, "%s", file);
    }
    if ((rc = load_pair(o, file, &img, &truth)) < 0)
        return rc;
    size_t px = (size_t)img.width * (size_t)img.height;
    buf = calloc((size_t)npred, px);
    if (!buf) {
        rc = LQ_ENOMEM;
        goto done;
    }
    for (int k = 0; k < npred; k++)
        pred[k] = buf + (size_t)k * px;
    if ((rc = fn(ud, file, &img, npred, pred, rows)) != 0)
        goto done; /* an error, or 1: left out */
    for (int k = 0; k < npred; k++) {
        nail_eval_image *row = &rows[k];
        row->tp = row->fp = row->fn = 0;
        if ((rc = nail_eval_compare(pred[k], img.width, &truth, &row->tp, &row->fp, &row->fn)) < 0)
            goto done;
        row->iou = nail_eval_iou(row->tp, row->fp, row->fn);
        row->precision = row->tp + row->fp ? (double)row->tp / (double)(row->tp + row->fp) : 0.0;
        row->recall = row->tp + row->fn ? (double)row->tp / (double)(row->tp + row->fn) : 1.0;
        if (o->overlay_dir) {
            char name[160];
            if (npred > 1)
                snprintf(name, sizeof name, "%.120s.%d", file, k);
            else
                snprintf(name, sizeof name, "%.120s", file);
            write_overlay(o->overlay_dir, name, &img, pred[k], &truth);
        }
    }
done:
    free(buf);
    lq_image_free(&img);
    lq_image_free(&truth);
    return rc;
}

int nail_eval_dataset_masks(const nail_eval_opts *opts, nail_eval_masks_fn fn, void *ud,
                            int npred, nail_eval_result *res)
{
    if (!opts || !opts->images_dir || !opts->masks_dir || !fn || !res || npred < 1 ||
        npred > NAIL_EVAL_MAX_PREDICTIONS)
        return LQ_EINVAL;
    char(*names)[128] = malloc(sizeof(char[NAIL_EVAL_MAX_IMAGES][128]));
    if (!names)
        return LQ_ENOMEM;
    int count = 0, rc;
    if ((rc = list_images(opts->images_dir, names, &count)) < 0) {
        free(names);
        return rc;
    }
    for (int k = 0; k < npred; k++)
        memset(&res[k], 0, sizeof res[k]);
    nail_eval_image rows[NAIL_EVAL_MAX_PREDICTIONS];
    for (int i = 0; i < count; i++) {
        if ((rc = eval_one_masks(opts, names[i], fn, ud, npred, rows)) < 0)
            break;
        if (rc == 1) {
            rc = 0;
            continue;
        }
        for (int k = 0; k < npred; k++)
            res[k].per[res[k].images++] = rows[k];
    }
    free(names);
    if (rc < 0)
        return rc;
    for (int k = 0; k < npred; k++)
        nail_eval_summarize(&res[k]);
    return 0;
}
