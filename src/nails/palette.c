/*
 * palette.c - dominant polish colours of a reference photo (palette.h).
 */
#include "nails/palette.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nails/refscan.h"

#define KMAX 8 /* clusters before merging */
#define KMEANS_ITERS 20
#define MERGE_DIST 0.05f /* OKLab (L weighted): clusters closer than this are one colour */
#define MERGE_L_WEIGHT 0.35
#define MIN_SHARE 0.04f /* clusters under this share of the area are not reported */
#define FG_MIN 0.004f   /* foreground share under which the photo has no distinct polish */

typedef struct cluster {
    double w;      /* weight (area x centre prior) */
    double lab[3]; /* weighted OKLab sum, then mean */
    double lin[3]; /* weighted linear RGB sum, then mean */
    int alive;
} cluster;

typedef struct points {
    int n;
    float *lab; /* 3 per point */
    float *lin;
    float *w;
    int *label;
} points;

/* A small deterministic generator (xorshift32): the palette must not depend
 * on anything but the photo. */
static uint32_t next_random(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static float dist2(const float *a, const float *b)
{
    float d0 = a[0] - b[0], d1 = a[1] - b[1], d2 = a[2] - b[2];
    return d0 * d0 + d1 * d1 + d2 * d2;
}

/* Picks an index with probability proportional to p[i] (sum > 0). */
static int pick_weighted(const float *p, int n, double sum, uint32_t *rng)
{
    double r = (next_random(rng) / 4294967296.0) * sum, acc = 0.0;
    for (int i = 0; i < n; i++) {
        acc += p[i];
        if (acc > r)
            return i;
    }
    return n - 1;
}

/* Weighted k-means with k-means++ seeding. Returns the number of centres. */
static int kmeans(points *pt, int k, float (*centre)[3], float *tmp)
{
    uint32_t rng = 0x9e3779b9u;
    double sum = 0.0;
    for (int i = 0; i < pt->n; i++)
        sum += pt->w[i];
    int c0 = pick_weighted(pt->w, pt->n, sum, &rng);
    memcpy(centre[0], pt->lab + 3 * c0, sizeof centre[0]);
    int kk = 1;
    for (; kk < k; kk++) {
        double s = 0.0;
        for (int i = 0; i < pt->n; i++) {
            float best = INFINITY;
            for (int j = 0; j < kk; j++) {
                float d = dist2(pt->lab + 3 * i, centre[j]);
                if (d < best)
                    best = d;
            }
            tmp[i] = pt->w[i] * best;
            s += tmp[i];
        }
        if (s <= 1e-12)
            break; /* fewer distinct colours than k */
        int c = pick_weighted(tmp, pt->n, s, &rng);
        memcpy(centre[kk], pt->lab + 3 * c, sizeof centre[kk]);
    }
    for (int it = 0; it < KMEANS_ITERS; it++) {
        int changed = 0;
        double acc[KMAX][4];
        memset(acc, 0, sizeof acc);
        for (int i = 0; i < pt->n; i++) {
            int best = 0;
            float bd = INFINITY;
            for (int j = 0; j < kk; j++) {
                float d = dist2(pt->lab + 3 * i, centre[j]);
                if (d < bd) {
                    bd = d;
                    best = j;
                }
            }
            if (pt->label[i] != best) {
                pt->label[i] = best;
                changed = 1;
            }
            double w = pt->w[i];
            acc[best][0] += w;
            for (int c = 0; c < 3; c++)
                acc[best][c + 1] += w * pt->lab[3 * i + c];
        }
        for (int j = 0; j < kk; j++)
            if (acc[j][0] > 0.0)
                for (int c = 0; c < 3; c++)
                    centre[j][c] = (float)(acc[j][c + 1] / acc[j][0]);
        if (!changed && it > 0)
            break;
    }
    return kk;
}

static void cluster_stats(const points *pt, int k, cluster *cl)
{
    memset(cl, 0, (size_t)k * sizeof *cl);
    for (int i = 0; i < pt->n; i++) {
        cluster *c = &cl[pt->label[i]];
        double w = pt->w[i];
        c->w += w;
        for (int j = 0; j < 3; j++) {
            c->lab[j] += w * pt->lab[3 * i + j];
            c->lin[j] += w * pt->lin[3 * i + j];
        }
    }
    for (int j = 0; j < k; j++) {
        cluster *c = &cl[j];
        c->alive = c->w > 0.0;
        if (!c->alive)
            continue;
        for (int m = 0; m < 3; m++) {
            c->lab[m] /= c->w;
            c->lin[m] /= c->w;
        }
    }
}

/* For merging: lightness counts a third, so the lit and the shaded side of
 * one polish (same hue and chroma, different L) become one colour. */
static double cl_dist(const cluster *a, const cluster *b)
{
    double d0 = (a->lab[0] - b->lab[0]) * MERGE_L_WEIGHT, d1 = a->lab[1] - b->lab[1],
           d2 = a->lab[2] - b->lab[2];
    return sqrt(d0 * d0 + d1 * d1 + d2 * d2);
}

static void merge_close(cluster *cl, int k)
{
    for (;;) {
        int bi = -1, bj = -1;
        double bd = MERGE_DIST;
        for (int i = 0; i < k; i++)
            for (int j = i + 1; j < k; j++)
                if (cl[i].alive && cl[j].alive && cl_dist(&cl[i], &cl[j]) < bd) {
                    bd = cl_dist(&cl[i], &cl[j]);
                    bi = i;
                    bj = j;
                }
        if (bi < 0)
            return;
        cluster *a = &cl[bi], *b = &cl[bj];
        double w = a->w + b->w;
        for (int m = 0; m < 3; m++) {
            a->lab[m] = (a->lab[m] * a->w + b->lab[m] * b->w) / w;
            a->lin[m] = (a->lin[m] * a->w + b->lin[m] * b->w) / w;
        }
        a->w = w;
        b->alive = 0;
    }
}

static double cl_chroma(const cluster *c)
{
    return sqrt(c->lab[1] * c->lab[1] + c->lab[2] * c->lab[2]);
}

/* Specular highlights (very light, nearly grey) and shadows (very dark,
 * nearly grey) that are small next to the largest cluster are lighting, not
 * polish. */
static void drop_lighting(cluster *cl, int k)
{
    double wmax = 0.0;
    for (int j = 0; j < k; j++)
        if (cl[j].alive && cl[j].w > wmax)
            wmax = cl[j].w;
    for (int j = 0; j < k; j++) {
        cluster *c = &cl[j];
        if (!c->alive || c->w >= 0.25 * wmax || cl_chroma(c) > 0.035)
            continue;
        if (c->lab[0] > 0.85 || c->lab[0] < 0.3)
            c->alive = 0;
    }
}

/* Ranking: area, times how far the colour is from the skin in a/b (what is
 * left of the skin after classification is shading of the skin's own hue;
 * polish, even white or grey, differs in hue or chroma), or without a skin
 * tone how colourful it is; dark clusters are mostly shadows, gaps and
 * clothes, so they keep only part of their weight (dark polish still wins
 * when it is what the photo is about). */
static double score_of(const cluster *c, const nail__scan *s)
{
    double bonus;
    if (s->has_skin && !s->masked) {
        double da = c->lab[1] - s->skin.a, db = c->lab[2] - s->skin.b;
        bonus = sqrt(da * da + db * db) / 0.05;
    } else {
        bonus = cl_chroma(c) / 0.1;
    }
    if (bonus > 1.5)
        bonus = 1.5;
    double dark = c->lab[0] / 0.4;
    dark = 0.5 + 0.5 * (dark > 1.0 ? 1.0 : dark);
    return c->w * (0.3 + bonus) * dark;
}

/* Collects the pixels of class cls (-1: every pixel the photo has). */
static void collect(const nail__scan *s, int cls, points *pt)
{
    pt->n = 0;
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++) {
            int i = y * s->w + x;
            if ((cls >= 0 && s->cls[i] != cls) || s->wgt[i] <= 0.0f)
                continue;
            int k = pt->n++;
            memcpy(pt->lab + 3 * k, s->lab + 3 * i, 3 * sizeof(float));
            memcpy(pt->lin + 3 * k, s->lin + 3 * i, 3 * sizeof(float));
            float w = s->wgt[i];
            if (!s->masked)
                w *= nail__centre_prior(x, y, s->w, s->h);
            if (s->enclosure && cls == NAIL__PX_FG) {
                /* polish sits on fingertips, ringed by skin; what only touches
                 * skin along one side (sleeves, tables) is something else */
                w *= s->enclosure[i];
            }
            pt->w[k] = w;
            pt->label[k] = -1;
        }
}

static void fill_color(nail_palette_color *o, const cluster *c, double total, double score)
{
    nail_lin l = {(float)c->lin[0], (float)c->lin[1], (float)c->lin[2]};
    o->rgb = nail_linear_to_rgb(l);
    o->oklab = nail_linear_to_oklab(l);
    o->share = (float)(c->w / total);
    o->score = (float)score;
}

/* Bare nails: the plate is lighter and less saturated than the skin around
 * it. Among the skin clusters, take the one that is most so. */
static int rank_clusters(cluster *cl, int k, const nail__scan *s, int max_colors,
                         nail_palette *out);

static int cluster_and_rank(const nail__scan *s, points *pt, float *tmp, int max_colors,
                            int drop_light, nail_palette *res)
{
    if (pt->n == 0)
        return LQ_ENOTFOUND;
    float centre[KMAX][3];
    cluster cl[KMAX];
    int k = kmeans(pt, pt->n < KMAX ? pt->n : KMAX, centre, tmp);
    cluster_stats(pt, k, cl);
    merge_close(cl, k);
    /* Without a mask, highlights inside a nail are regions ringed by polish
     * rather than skin and have already lost their weight. */
    if (drop_light)
        drop_lighting(cl, k);
    return rank_clusters(cl, k, s, max_colors, res);
}

static int fallback_colors(const nail__scan *s, points *pt, float *tmp, nail_palette *out)
{
    collect(s, NAIL__PX_SKIN, pt);
    if (pt->n == 0)
        return LQ_ENOTFOUND;
    float centre[KMAX][3];
    cluster cl[KMAX];
    int k = kmeans(pt, pt->n < 4 ? pt->n : 4, centre, tmp);
    cluster_stats(pt, k, cl);
    double total = 0.0, best = -INFINITY;
    int bi = -1;
    for (int j = 0; j < k; j++)
        total += cl[j].alive ? cl[j].w : 0.0;
    for (int j = 0; j < k; j++) {
        if (!cl[j].alive || cl[j].w < 0.03 * total)
            continue;
        double nailness =
            (cl[j].lab[0] - s->skin.L) -
            2.0 * (cl_chroma(&cl[j]) - sqrt(s->skin.a * s->skin.a + s->skin.b * s->skin.b));
        if (nailness > best) {
            best = nailness;
            bi = j;
        }
    }
    if (bi < 0)
        return LQ_ENOTFOUND;
    out->n = 1;
    fill_color(&out->c[0], &cl[bi], total, score_of(&cl[bi], s));
    out->fallback = 1;
    return 0;
}

static int rank_clusters(cluster *cl, int k, const nail__scan *s, int max_colors, nail_palette *out)
{
    double total = 0.0;
    for (int j = 0; j < k; j++)
        if (cl[j].alive)
            total += cl[j].w;
    if (total <= 0.0)
        return LQ_ENOTFOUND;
    int order[KMAX], m = 0;
    double score[KMAX];
    for (int j = 0; j < k; j++) {
        if (!cl[j].alive)
            continue;
        score[j] = score_of(&cl[j], s);
        int p = m++;
        while (p > 0 && score[order[p - 1]] < score[j]) {
            order[p] = order[p - 1];
            p--;
        }
        order[p] = j;
    }
    out->n = 0;
    for (int r = 0; r < m && out->n < max_colors; r++) {
        const cluster *c = &cl[order[r]];
        if (out->n > 0 && c->w < MIN_SHARE * total)
            break;
        fill_color(&out->c[out->n++], c, total, score[order[r]]);
    }
    return 0;
}

int nail_palette_extract(const lq_image *img, const nail_palette_opts *opts, nail_palette *out)
{
    nail_palette_opts o = {0, 0, NULL, 0};
    if (opts)
        o = *opts;
    if (o.max_colors == 0)
        o.max_colors = NAIL_PALETTE_MAX;
    if (o.work_size == 0)
        o.work_size = NAIL_PALETTE_WORK_DEFAULT;
    if (!img || !out || o.max_colors < 1 || o.max_colors > NAIL_PALETTE_MAX)
        return LQ_EINVAL;

    nail__scan s;
    int rc = nail__scan_create(img, o.mask, o.mask_stride, o.work_size, &s);
    if (rc < 0)
        return rc;
    nail__scan_classify(&s);

    size_t n = (size_t)s.w * (size_t)s.h;
    points pt = {0, malloc(n * 3u * sizeof(float)), malloc(n * 3u * sizeof(float)),
                 malloc(n * sizeof(float)), malloc(n * sizeof(int))};
    float *tmp = malloc(n * sizeof(float));
    nail_palette res;
    memset(&res, 0, sizeof res);
    res.background = s.bg;
    res.skin = s.skinf;
    if (!pt.lab || !pt.lin || !pt.w || !pt.label || !tmp) {
        rc = LQ_ENOMEM;
        goto done;
    }
    rc = LQ_ENOTFOUND;
    if (s.masked || s.fg >= FG_MIN) {
        collect(&s, NAIL__PX_FG, &pt);
        rc = cluster_and_rank(&s, &pt, tmp, o.max_colors, s.masked, &res);
    }
    if (rc == LQ_ENOTFOUND && s.has_skin)
        rc = fallback_colors(&s, &pt, tmp, &res);
    if (rc == LQ_ENOTFOUND) {
        /* nothing apart from the background: a swatch, a flat graphic */
        collect(&s, -1, &pt);
        rc = cluster_and_rank(&s, &pt, tmp, o.max_colors, 0, &res);
        res.fallback = 2;
    }
    if (rc == 0)
        *out = res;
done:
    free(pt.lab);
    free(pt.lin);
    free(pt.w);
    free(pt.label);
    free(tmp);
    nail__scan_free(&s);
    return rc;
}

int nail_palette_colors(const nail_palette *p, nail_rgb *out, int max)
{
    if (!p || !out)
        return 0;
    int n = p->n < max ? p->n : max;
    for (int i = 0; i < n; i++)
        out[i] = p->c[i].rgb;
    return n > 0 ? n : 0;
}
