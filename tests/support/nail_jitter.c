#include "nail_jitter.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/error.h"
#include "base/log.h"
#include "image/codec.h"

typedef struct frame_rec {
    int has_hand;
    int track_id;
    float lm[LQ_HAND_LANDMARKS][2]; /* landmarks of hand 0 */
    int nraw, nsm;
    nail_geom raw[NAIL_MAX];
    nail_geom sm[NAIL_MAX];
} frame_rec;

static int is_frame_file(const char *name)
{
    const char *dot = strrchr(name, '.');
    return dot && (strcasecmp(dot, ".webp") == 0 || strcasecmp(dot, ".jpg") == 0 ||
                   strcasecmp(dot, ".png") == 0);
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, int n)
{
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static int list_frames(const char *dir, char ***out, int *count)
{
    DIR *d = opendir(dir);
    if (!d)
        return LQ_ENOENT;
    char **names = calloc(LQ_JITTER_MAX_FRAMES, sizeof *names);
    if (!names) {
        closedir(d);
        return LQ_ENOMEM;
    }
    int n = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!is_frame_file(e->d_name))
            continue;
        if (n == LQ_JITTER_MAX_FRAMES) {
            rc = LQ_ELIMIT;
            break;
        }
        if (!(names[n] = strdup(e->d_name))) {
            rc = LQ_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc < 0) {
        free_names(names, n);
        return rc;
    }
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    *out = names;
    *count = n;
    return 0;
}

static int key_of(const nail_geom *g)
{
    return g->track_id * 8 + g->finger;
}

static const nail_geom *find_key(const nail_geom *nails, int n, int key)
{
    for (int i = 0; i < n; i++)
        if (key_of(&nails[i]) == key)
            return &nails[i];
    return NULL;
}

/* The key is in both the raw and the smoothed nails of frame t: jitter is
 * compared on the same nails (hysteresis shows some that raw does not). */
static int in_both(const frame_rec *f, int t, int key)
{
    return find_key(f[t].raw, f[t].nraw, key) && find_key(f[t].sm, f[t].nsm, key);
}

/* Hand motion between frames t-1 and t (NAN if the same hand is not in both). */
static double motion_at(const frame_rec *f, int t)
{
    if (t < 1 || !f[t].has_hand || !f[t - 1].has_hand || f[t].track_id != f[t - 1].track_id)
        return NAN;
    double m = 0.0;
    for (int k = 0; k < LQ_HAND_LANDMARKS; k++)
        m += hypot(f[t].lm[k][0] - f[t - 1].lm[k][0], f[t].lm[k][1] - f[t - 1].lm[k][1]);
    return m / LQ_HAND_LANDMARKS;
}

static double rms_step(const frame_rec *f, int t0, int t1, int smoothed, int *samples)
{
    double sum = 0.0;
    int n = 0;
    for (int t = t0 + 1; t <= t1; t++) {
        const nail_geom *cur = smoothed ? f[t].sm : f[t].raw;
        const nail_geom *prev = smoothed ? f[t - 1].sm : f[t - 1].raw;
        int nc = smoothed ? f[t].nsm : f[t].nraw, np = smoothed ? f[t - 1].nsm : f[t - 1].nraw;
        for (int i = 0; i < nc; i++) {
            const nail_geom *p = find_key(prev, np, key_of(&cur[i]));
            if (!p || !in_both(f, t, key_of(&cur[i])) || !in_both(f, t - 1, key_of(&cur[i])))
                continue;
            double dx = cur[i].cx - p->cx, dy = cur[i].cy - p->cy;
            sum += dx * dx + dy * dy;
            n++;
        }
    }
    if (samples)
        *samples = n;
    return n ? sqrt(sum / n) : NAN;
}

/* Jitter with the hand's own smooth motion removed: the RMS second
 * difference c(t+1) - 2c(t) + c(t-1) over nails present in all three frames,
 * divided by sqrt(3) so that for still-hand white noise it equals the RMS
 * first difference. */
static double rms_detrended(const frame_rec *f, int t0, int t1, int smoothed)
{
    double sum = 0.0;
    int n = 0;
    for (int t = t0 + 1; t < t1; t++) {
        const nail_geom *cur = smoothed ? f[t].sm : f[t].raw;
        int nc = smoothed ? f[t].nsm : f[t].nraw;
        for (int i = 0; i < nc; i++) {
            int key = key_of(&cur[i]);
            const nail_geom *a = smoothed ? find_key(f[t - 1].sm, f[t - 1].nsm, key)
                                          : find_key(f[t - 1].raw, f[t - 1].nraw, key);
            const nail_geom *b = smoothed ? find_key(f[t + 1].sm, f[t + 1].nsm, key)
                                          : find_key(f[t + 1].raw, f[t + 1].nraw, key);
            if (!a || !b || !in_both(f, t - 1, key) || !in_both(f, t, key) ||
                !in_both(f, t + 1, key))
                continue;
            double dx = b->cx - 2.0 * cur[i].cx + a->cx, dy = b->cy - 2.0 * cur[i].cy + a->cy;
            sum += dx * dx + dy * dy;
            n++;
        }
    }
    return n ? sqrt(sum / n / 3.0) : NAN;
}

/* Raw centre of `key` at fractional frame time t (linear between frames). */
static int raw_at(const frame_rec *f, int frames, double t, int key, double *x, double *y)
{
    if (t < 0.0)
        return 0;
    int a = (int)floor(t);
    int b = a + 1 < frames ? a + 1 : a;
    double w = t - a;
    const nail_geom *pa = find_key(f[a].raw, f[a].nraw, key);
    const nail_geom *pb = find_key(f[b].raw, f[b].nraw, key);
    if (!pa || !pb)
        return 0;
    *x = pa->cx + w * (pb->cx - pa->cx);
    *y = pa->cy + w * (pb->cy - pa->cy);
    return 1;
}

static double pops(const frame_rec *f, int frames, int smoothed, double fps)
{
    int events = 0;
    long shown = 0;
    for (int t = 1; t < frames; t++) {
        const nail_geom *cur = smoothed ? f[t].sm : f[t].raw;
        const nail_geom *prev = smoothed ? f[t - 1].sm : f[t - 1].raw;
        int nc = smoothed ? f[t].nsm : f[t].nraw, np = smoothed ? f[t - 1].nsm : f[t - 1].nraw;
        shown += nc;
        if (!f[t].has_hand || !f[t - 1].has_hand || f[t].track_id != f[t - 1].track_id)
            continue; /* the hand itself came or went */
        for (int i = 0; i < nc; i++)
            events += find_key(prev, np, key_of(&cur[i])) == NULL;
        for (int i = 0; i < np; i++)
            events += find_key(cur, nc, key_of(&prev[i])) == NULL;
    }
    return shown ? events / (shown / fps) : 0.0;
}

static void analyse(const lq_jitter_opts *o, const frame_rec *f, int frames, lq_jitter_result *r)
{
    /* the stillest window with the hand present throughout */
    r->still_start = -1;
    double best = INFINITY;
    for (int s = 0; s + o->window <= frames; s++) {
        double sum = 0.0;
        int ok = 1;
        for (int t = s + 1; t < s + o->window && ok; t++) {
            double m = motion_at(f, t);
            if (isnan(m))
                ok = 0;
            else
                sum += m;
        }
        if (ok && sum < best) {
            best = sum;
            r->still_start = s;
        }
    }
    if (r->still_start >= 0) {
        int s = r->still_start, e = s + o->window - 1;
        r->still_motion_px = best / (o->window - 1);
        r->jitter_raw_px = rms_step(f, s, e, 0, NULL);
        r->jitter_px = rms_step(f, s, e, 1, &r->still_samples);
        r->jitter_detrended_raw_px = rms_detrended(f, s, e, 0);
        r->jitter_detrended_px = rms_detrended(f, s, e, 1);
    } else {
        r->still_motion_px = r->jitter_raw_px = r->jitter_px = NAN;
        r->jitter_detrended_raw_px = r->jitter_detrended_px = NAN;
    }

    /* lag where the hand moves */
    double lag = 0.0;
    int nlag = 0;
    for (int t = 1; t < frames; t++) {
        double m = motion_at(f, t);
        if (isnan(m) || m <= o->moving_px)
            continue;
        r->moving_frames++;
        for (int i = 0; i < f[t].nsm; i++) {
            const nail_geom *p = find_key(f[t].raw, f[t].nraw, key_of(&f[t].sm[i]));
            if (p) {
                lag += hypot(f[t].sm[i].cx - p->cx, f[t].sm[i].cy - p->cy);
                nlag++;
            }
        }
    }
    r->lag_px = nlag ? lag / nlag : NAN;
    double best_err = INFINITY;
    r->lag_ms = NAN;
    for (int ms = 0; ms <= 200; ms += 5) {
        double shift = ms * o->fps / 1000.0, err = 0.0;
        int n = 0;
        for (int t = 1; t < frames; t++) {
            double m = motion_at(f, t);
            if (isnan(m) || m <= o->moving_px)
                continue;
            for (int i = 0; i < f[t].nsm; i++) {
                double x, y;
                if (!raw_at(f, frames, t - shift, key_of(&f[t].sm[i]), &x, &y))
                    continue;
                err += (f[t].sm[i].cx - x) * (f[t].sm[i].cx - x) +
                       (f[t].sm[i].cy - y) * (f[t].sm[i].cy - y);
                n++;
            }
        }
        if (n > 0 && err / n < best_err) {
            best_err = err / n;
            r->lag_ms = ms;
        }
    }
    r->pops_raw = pops(f, frames, 0, o->fps);
    r->pops = pops(f, frames, 1, o->fps);
    long shown = 0;
    for (int t = 0; t < frames; t++)
        shown += f[t].nsm;
    r->nails_per_frame = frames ? (double)shown / frames : 0.0;
}

int lq_jitter_run(const lq_jitter_opts *o, lq_jitter_hands_fn hands_fn, void *ud,
                  lq_jitter_result *r)
{
    if (!o || !o->frames_dir || !hands_fn || !r || o->window < 2 || !(o->fps > 0.0))
        return LQ_EINVAL;
    char **names = NULL;
    int frames = 0;
    int rc = list_frames(o->frames_dir, &names, &frames);
    if (rc < 0)
        return rc;
    frame_rec *f = calloc(frames > 0 ? (size_t)frames : 1u, sizeof *f);
    nail_track *tr = NULL;
    if (!f) {
        free_names(names, frames);
        return LQ_ENOMEM;
    }
    if ((rc = nail_track_create(&o->track, &tr)) < 0)
        goto done;
    memset(r, 0, sizeof *r);
    for (int t = 0; t < frames; t++) {
        char path[4096], err[256];
        snprintf(path, sizeof path, "%s/%s", o->frames_dir, names[t]);
        lq_decode_limits lim = LQ_DECODE_LIMITS_DEFAULT;
        lq_image img;
        if ((rc = lq_image_load(path, &lim, &img, err, sizeof err)) < 0) {
            LQ_ERROR("test", "%s: %s", path, err);
            goto done;
        }
        lq_hands hands;
        memset(&hands, 0, sizeof hands);
        rc = hands_fn(ud, t, path, &img, &hands);
        nail_geom all[NAIL_MAX];
        int nall = 0;
        if (rc == 0)
            rc = nail_locate(&img, &hands, &o->locate, all, NAIL_MAX, &nall);
        memcpy(f[t].raw, all, sizeof all);
        f[t].nraw = nall;
        lq_image_free(&img);
        if (rc < 0)
            goto done;
        /* what a painter without hysteresis would show */
        int kept = 0;
        for (int i = 0; i < f[t].nraw; i++)
            if (f[t].raw[i].facing >= o->track.show_facing)
                f[t].raw[kept++] = f[t].raw[i];
        int64_t ts = (int64_t)llround(t * 1e6 / o->fps);
        if ((rc = nail_track_update(tr, ts, &hands, all, nall, f[t].sm, NAIL_MAX, &f[t].nsm)) < 0)
            goto done;
        if (hands.count > 0) {
            f[t].has_hand = 1;
            f[t].track_id = hands.hand[0].track_id;
            for (int k = 0; k < LQ_HAND_LANDMARKS; k++) {
                f[t].lm[k][0] = hands.hand[0].lm[k].x;
                f[t].lm[k][1] = hands.hand[0].lm[k].y;
            }
            r->frames_with_hand++;
        }
    }
    r->frames = frames;
    analyse(o, f, frames, r);
    rc = 0;
done:
    nail_track_destroy(tr);
    free(f);
    free_names(names, frames);
    return rc;
}
