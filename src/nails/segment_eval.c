/* segment_eval.c - cross-validated nail-mask IoU of landmarks, segmentation and fusion. */
#include "nails/segment_eval.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"

#define TAG "nailseg"

/* ---- folds.json --------------------------------------------------------- */

static const char *const LIST_KEYS[] = {"val", "validation", "val_images", "valid", "files",
                                        "images"};

/* The file-name array of one fold entry (an array, or an object holding one). */
static const cJSON *fold_list(const cJSON *e)
{
    if (cJSON_IsArray(e))
        return e;
    if (!cJSON_IsObject(e))
        return NULL;
    for (size_t i = 0; i < sizeof LIST_KEYS / sizeof LIST_KEYS[0]; i++) {
        const cJSON *a = cJSON_GetObjectItemCaseSensitive(e, LIST_KEYS[i]);
        if (cJSON_IsArray(a))
            return a;
    }
    return NULL;
}

static int add_fold(nail_seg_folds *f, int k, const cJSON *list, const char *path)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, list)
    {
        if (!cJSON_IsString(it) || strlen(it->valuestring) >= sizeof f->file[0]) {
            LQ_ERROR(TAG, "%s: fold %d: entries must be file names", path, k);
            return LQ_EFORMAT;
        }
        /* a name may come with a folder: keep the base name */
        const char *name = strrchr(it->valuestring, '/');
        name = name ? name + 1 : it->valuestring;
        if (nail_seg_folds_find(f, name) >= 0) {
            LQ_ERROR(TAG, "%s: %s is in two folds", path, name);
            return LQ_EFORMAT;
        }
        if (f->nfiles == NAIL_EVAL_MAX_IMAGES)
            return LQ_ELIMIT;
        snprintf(f->file[f->nfiles], sizeof f->file[0], "%s", name);
        f->fold[f->nfiles++] = k;
    }
    return 0;
}

int nail_seg_folds_load(const char *path, nail_seg_folds *out)
{
    if (!path || !out)
        return LQ_EINVAL;
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return LQ_ENOENT;
    char *text = malloc(NAIL_SEG_FOLDS_MAX_BYTES + 1);
    if (!text) {
        fclose(fp);
        return LQ_ENOMEM;
    }
    size_t len = fread(text, 1, NAIL_SEG_FOLDS_MAX_BYTES + 1, fp);
    fclose(fp);
    if (len > NAIL_SEG_FOLDS_MAX_BYTES) {
        free(text);
        return LQ_ELIMIT;
    }
    text[len] = 0;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (!root) {
        LQ_ERROR(TAG, "%s: not JSON", path);
        return LQ_EFORMAT;
    }
    nail_seg_folds *f = calloc(1, sizeof *f);
    if (!f) {
        cJSON_Delete(root);
        return LQ_ENOMEM;
    }
    int rc = 0;
    const cJSON *folds = cJSON_IsObject(root) ? cJSON_GetObjectItemCaseSensitive(root, "folds")
                                              : root;
    if (cJSON_IsArray(folds)) {
        const cJSON *e;
        int k = 0;
        cJSON_ArrayForEach(e, folds)
        {
            const cJSON *list = fold_list(e);
            const cJSON *idx = cJSON_IsObject(e) ? cJSON_GetObjectItemCaseSensitive(e, "fold")
                                                 : NULL;
            int fk = cJSON_IsNumber(idx) ? idx->valueint : k;
            if (!list || fk < 0 || fk >= NAIL_SEG_FOLDS_MAX || k >= NAIL_SEG_FOLDS_MAX) {
                rc = k >= NAIL_SEG_FOLDS_MAX ? LQ_ELIMIT : LQ_EFORMAT;
                break;
            }
            if ((rc = add_fold(f, fk, list, path)) < 0)
                break;
            f->k = fk + 1 > f->k ? fk + 1 : f->k;
            k++;
        }
    } else if (cJSON_IsObject(root)) {
        for (int k = 0; k < NAIL_SEG_FOLDS_MAX && rc == 0; k++) {
            char key[16];
            snprintf(key, sizeof key, "%d", k);
            const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, key);
            if (!e) {
                snprintf(key, sizeof key, "fold%d", k);
                e = cJSON_GetObjectItemCaseSensitive(root, key);
            }
            const cJSON *list = e ? fold_list(e) : NULL;
            if (!list)
                continue;
            rc = add_fold(f, k, list, path);
            f->k = k + 1;
        }
    } else {
        rc = LQ_EFORMAT;
    }
    cJSON_Delete(root);
    if (rc == 0 && (f->k < 1 || f->nfiles < 1)) {
        LQ_ERROR(TAG, "%s: no folds found (see assets/nailseg/LOADER_NOTES.md)", path);
        rc = LQ_EFORMAT;
    }
    if (rc == 0)
        *out = *f;
    free(f);
    return rc;
}

int nail_seg_folds_find(const nail_seg_folds *f, const char *file)
{
    for (int i = 0; f && file && i < f->nfiles; i++)
        if (strcmp(f->file[i], file) == 0)
            return f->fold[i];
    return -1;
}

/* ---- evaluation --------------------------------------------------------- */

const char *nail_seg_eval_mode_name(int mode)
{
    static const char *const names[] = {"landmarks", "segment",  "fused",
                                        "segment_raw", "outlined", "landmarks_outlined"};
    return mode >= 0 && mode < NAIL_SEG_EVAL_MODES ? names[mode] : "?";
}

typedef struct eval_ctx {
    const nail_seg_eval_opts *o;
    nail_eval_hands_fn hands_fn;
    void *ud;
    nail_seg_folds *folds;          /* NULL with model_path */
    nail_seg_model *model[NAIL_SEG_FOLDS_MAX];
    nail_seg *seg[NAIL_SEG_FOLDS_MAX];
    int nmodels;
    nail_outline_model *omodel[NAIL_SEG_FOLDS_MAX];
    nail_outline *outline[NAIL_SEG_FOLDS_MAX];      /* NULL without o->outline */
    double outline_ms_sum;
    nail_seg_eval_result *res;
    int image;                      /* index of the image being scored */
    double ms_sum;
    double fused_ms_sum;
} eval_ctx;

static int count_visible(const nail_geom *g, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += g[i].visible != 0;
    return k;
}

static int eval_image(void *ud, const char *file, const lq_image *img, int npred,
                      uint8_t *const *pred, nail_eval_image *rows)
{
    eval_ctx *c = ud;
    const nail_seg_eval_opts *o = c->o;
    if (npred != NAIL_SEG_EVAL_MODES || c->image >= NAIL_EVAL_MAX_IMAGES)
        return LQ_EINVAL;
    int m = 0;
    if (c->folds) {
        m = nail_seg_folds_find(c->folds, file);
        if ((m < 0 || m >= c->nmodels) && o->partial) {
            c->res->left_out++;
            return 1;
        }
        if (m < 0 || m >= c->nmodels) {
            LQ_ERROR(TAG, "%s is in no fold's validation list: it cannot be scored honestly",
                     file);
            return LQ_EFORMAT;
        }
    }
    c->res->fold_of[c->image++] = c->folds ? m : -1;

    lq_hands hands;
    memset(&hands, 0, sizeof hands);
    int rc = c->hands_fn ? c->hands_fn(c->ud, file, img, &hands) : 0;
    if (rc < 0)
        return rc;
    nail_geom lm[NAIL_MAX], fused[NAIL_MAX], segn[NAIL_MAX];
    int nlm = 0, nf = 0, nhand = 0, ns = 0, nsh = 0;
    double t0 = lq_clock_ms();
    if (hands.count > 0 && (rc = nail_locate(img, &hands, &o->locate, lm, NAIL_MAX, &nlm)) < 0)
        return rc;
    double t1 = lq_clock_ms();
    if ((rc = nail_seg_run(c->seg[m], img)) < 0)
        return rc;
    double t2 = lq_clock_ms();
    nail_seg_blob blobs[NAIL_SEG_MAX_BLOBS], blobs2[NAIL_SEG_MAX_BLOBS];
    int nb = 0;
    if ((rc = nail_seg_blobs(c->seg[m], img, &o->blobs, blobs, NAIL_SEG_MAX_BLOBS, &nb)) < 0)
        return rc;
    memcpy(blobs2, blobs, sizeof blobs);
    if (hands.count > 0) {
        /* how often the direction rules without landmarks agree with them */
        nail_seg_blob chk[NAIL_SEG_MAX_BLOBS];
        nail_geom tmp[NAIL_MAX];
        int nt = 0, nth = 0;
        memcpy(chk, blobs, sizeof blobs);
        if ((rc = nail_seg_fuse(NULL, 0, chk, nb, &hands, &o->fuse, tmp, 0, &nt, &nth)) < 0)
            return rc;
        for (int i = 0; i < nb; i++) {
            if (chk[i].dir_source != NAIL_SEG_DIR_LANDMARKS || blobs[i].elongation < 1.15f)
                continue;
            int k = blobs[i].dir_source == NAIL_SEG_DIR_CONTEXT ? 0 : 1;
            c->res->dir_checked[k]++;
            c->res->dir_agree[k] += chk[i].ax * blobs[i].ax + chk[i].ay * blobs[i].ay > 0.0f;
        }
    }
    /* segmentation alone: every confident blob is a nail */
    nail_seg_fuse_opts so = o->fuse;
    so.orphans = 1;
    if ((rc = nail_seg_fuse(NULL, 0, blobs2, nb, NULL, &so, segn, NAIL_MAX, &ns, &nsh)) < 0)
        return rc;
    double seg_ms = t2 - t1;
    c->ms_sum += seg_ms;
    if (seg_ms > c->res->seg_ms_max)
        c->res->seg_ms_max = seg_ms;
    const int w = img->width, h = img->height;
    if ((rc = nail_seg_mask(c->seg[m], 0, pred[NAIL_SEG_EVAL_SEGMENT_RAW], w, h, w)) < 0)
        return rc;
    /* fused: as the try-on pipeline does it */
    double t3 = lq_clock_ms();
    nail_seg_frame_opts fo = {o->blobs, o->fuse, o->hand_region, o->zoom, o->zoom_grow,
                              o->flips_untracked, o->zoom_grow_untracked};
    nail_seg_frame_info fi;
    if ((rc = nail_seg_find_nails(c->seg[m], img, &hands, lm, nlm, &fo, fused, NAIL_MAX, &nf,
                                  &nhand, &fi)) < 0)
        return rc;
    double t4 = lq_clock_ms();
    c->fused_ms_sum += t4 - t3;
    if (t4 - t3 > c->res->fused_ms_max)
        c->res->fused_ms_max = t4 - t3;
    c->res->fused_passes += fi.passes;
    c->res->fused_zoomed += fi.zoomed;
    c->res->fused_fell_back += fi.fell_back;
    if ((rc = nail_geom_rasterize(lm, nlm, pred[NAIL_SEG_EVAL_LANDMARKS], w, h, w)) < 0 ||
        (rc = nail_geom_rasterize(segn, ns, pred[NAIL_SEG_EVAL_SEGMENT], w, h, w)) < 0 ||
        (rc = nail_geom_rasterize(fused, nf, pred[NAIL_SEG_EVAL_FUSED], w, h, w)) < 0)
        return rc;
    /* the outline stage on the fused nails, and on the landmark nails alone */
    nail_geom outl[NAIL_MAX], lmo[NAIL_MAX];
    memcpy(outl, fused, sizeof(nail_geom) * (size_t)nf);
    memcpy(lmo, lm, sizeof(nail_geom) * (size_t)nlm);
    int changed = 0, lchanged = 0;
    double t5 = lq_clock_ms();
    if (c->outline[m] &&
        (rc = nail_outline_fit_all(c->outline[m], img, outl, nf, &o->outline_opts, &changed)) < 0)
        return rc;
    double t6 = lq_clock_ms();
    if (c->outline[m] &&
        (rc = nail_outline_fit_all(c->outline[m], img, lmo, nlm, &o->outline_opts, &lchanged)) <
            0)
        return rc;
    c->outline_ms_sum += t6 - t5;
    if (t6 - t5 > c->res->outline_ms_max)
        c->res->outline_ms_max = t6 - t5;
    c->res->outline_nails += changed;
    c->res->outline_dropped += count_visible(fused, nf) - count_visible(outl, nf);
    c->res->outline_kept += count_visible(outl, nf) - changed;
    if ((rc = nail_geom_rasterize(outl, nf, pred[NAIL_SEG_EVAL_OUTLINED], w, h, w)) < 0 ||
        (rc = nail_geom_rasterize(lmo, nlm, pred[NAIL_SEG_EVAL_LANDMARKS_OUTLINED], w, h, w)) <
            0)
        return rc;
    for (int k = 0; k < NAIL_SEG_EVAL_MODES; k++)
        rows[k].hands = hands.count;
    rows[NAIL_SEG_EVAL_LANDMARKS].nails = count_visible(lm, nlm);
    rows[NAIL_SEG_EVAL_LANDMARKS].locate_ms = t1 - t0;
    rows[NAIL_SEG_EVAL_SEGMENT].nails = ns;
    rows[NAIL_SEG_EVAL_SEGMENT].locate_ms = seg_ms;
    rows[NAIL_SEG_EVAL_FUSED].nails = count_visible(fused, nf);
    rows[NAIL_SEG_EVAL_FUSED].locate_ms = (t1 - t0) + (t4 - t3);
    rows[NAIL_SEG_EVAL_SEGMENT_RAW].nails = nb;
    rows[NAIL_SEG_EVAL_SEGMENT_RAW].locate_ms = seg_ms;
    rows[NAIL_SEG_EVAL_OUTLINED].nails = count_visible(outl, nf);
    rows[NAIL_SEG_EVAL_OUTLINED].locate_ms = (t1 - t0) + (t4 - t3) + (t6 - t5);
    rows[NAIL_SEG_EVAL_LANDMARKS_OUTLINED].nails = count_visible(lmo, nlm);
    rows[NAIL_SEG_EVAL_LANDMARKS_OUTLINED].locate_ms = (t1 - t0) + (lq_clock_ms() - t6);
    return 0;
}

static int load_models(eval_ctx *c, char *err, size_t errlen)
{
    const nail_seg_eval_opts *o = c->o;
    char path[4096];
    int n = c->folds ? c->folds->k : 1;
    for (int k = 0; k < n; k++) {
        if (c->folds)
            snprintf(path, sizeof path, "%s/fold%d.tflite", o->folds_dir, k);
        else
            snprintf(path, sizeof path, "%s", o->model_path);
        int rc = nail_seg_model_load(path, &c->model[k], err, errlen);
        if (rc < 0) {
            LQ_ERROR(TAG, "%s", err);
            return rc;
        }
        c->nmodels = k + 1;
        if ((rc = nail_seg_create(c->model[k], &c->seg[k])) < 0) {
            LQ_ERROR(TAG, "%s: %s", path, lq_strerror(rc));
            return rc;
        }
        if (!o->outline)
            continue;
        if (c->folds)
            snprintf(path, sizeof path, "%s/outline_fold%d.tflite", o->folds_dir, k);
        else if (o->outline_path)
            snprintf(path, sizeof path, "%s", o->outline_path);
        else
            continue;
        if ((rc = nail_outline_model_load_set(path, &c->omodel[k], err, errlen)) < 0) {
            LQ_ERROR(TAG, "%s", err);
            return rc;
        }
        if ((rc = nail_outline_create(c->omodel[k], &c->outline[k])) < 0) {
            LQ_ERROR(TAG, "%s: %s", path, lq_strerror(rc));
            return rc;
        }
    }
    return 0;
}

int nail_seg_eval_dataset(const nail_seg_eval_opts *o, nail_eval_hands_fn hands_fn, void *ud,
                          nail_seg_eval_result *res)
{
    if (!o || !res || !o->images_dir || !o->masks_dir || (!o->folds_dir == !o->model_path))
        return LQ_EINVAL;
    nail_seg_frame_opts fo = {o->blobs, o->fuse, o->hand_region, o->zoom, o->zoom_grow,
                              o->flips_untracked, o->zoom_grow_untracked};
    if (nail_locate_opts_validate(&o->locate) < 0 || nail_seg_frame_opts_validate(&fo) < 0 ||
        (o->outline && nail_outline_opts_validate(&o->outline_opts) < 0))
        return LQ_EINVAL;
    memset(res, 0, sizeof *res);
    eval_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.hands_fn = hands_fn;
    c.ud = ud;
    c.res = res;
    int rc = 0;
    char err[512] = "";
    if (o->folds_dir) {
        char path[4096];
        snprintf(path, sizeof path, "%s/folds.json", o->folds_dir);
        c.folds = calloc(1, sizeof *c.folds);
        if (!c.folds)
            return LQ_ENOMEM;
        if ((rc = nail_seg_folds_load(path, c.folds)) < 0) {
            LQ_ERROR(TAG, "%s: %s", path, lq_strerror(rc));
            goto done;
        }
    }
    if ((rc = load_models(&c, err, sizeof err)) < 0)
        goto done;
    nail_seg_model_sizes(c.model[0], &res->in_w, &res->in_h, NULL, NULL);
    nail_eval_opts eo = NAIL_EVAL_OPTS_DEFAULT;
    eo.images_dir = o->images_dir;
    eo.masks_dir = o->masks_dir;
    eo.overlay_dir = o->overlay_dir;
    rc = nail_eval_dataset_masks(&eo, eval_image, &c, NAIL_SEG_EVAL_MODES, res->mode);
    if (rc < 0)
        goto done;
    int images = res->mode[0].images;
    res->seg_ms_mean = images ? c.ms_sum / images : 0.0;
    res->fused_ms_mean = images ? c.fused_ms_sum / images : 0.0;
    res->outline_ms_mean = images ? c.outline_ms_sum / images : 0.0;
    res->folds = c.folds ? c.folds->k : 0;
    for (int k = 0; k < res->folds; k++) {
        for (int i = 0; i < images; i++)
            if (res->fold_of[i] == k) {
                res->fold_images[k]++;
                for (int md = 0; md < NAIL_SEG_EVAL_MODES; md++)
                    res->fold_mean_iou[md][k] += res->mode[md].per[i].iou;
            }
        for (int md = 0; md < NAIL_SEG_EVAL_MODES && res->fold_images[k] > 0; md++)
            res->fold_mean_iou[md][k] /= res->fold_images[k];
    }
done:
    for (int k = 0; k < c.nmodels; k++) {
        nail_seg_destroy(c.seg[k]);
        nail_seg_model_destroy(c.model[k]);
        nail_outline_destroy(c.outline[k]);
        nail_outline_model_destroy(c.omodel[k]);
    }
    free(c.folds);
    return rc;
}
