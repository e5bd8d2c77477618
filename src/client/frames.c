/* frames.c - a folder of frames read into memory (see frames.h). */
#include "client/frames.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

struct lq_client_frames {
    int n;
    lq_client_frame *items;
    size_t max_bytes;
    char *dir;
};

static int errf(char *err, size_t errlen, int rc, const char *fmt, const char *a, const char *b)
{
    if (err && errlen)
        snprintf(err, errlen, fmt, a, b);
    return rc;
}

static int has_image_ext(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return 0;
    return strcasecmp(dot, ".webp") == 0 || strcasecmp(dot, ".jpg") == 0 ||
           strcasecmp(dot, ".jpeg") == 0 || strcasecmp(dot, ".png") == 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Collects the sorted image file names of dir (malloc'd array of malloc'd strings). */
static int list_names(const char *dir, const lq_client_frames_limits *lim, char ***names_out,
                      int *n_out, char *err, size_t errlen)
{
    DIR *d = opendir(dir);
    if (!d)
        return errf(err, errlen, errno == ENOENT ? LQ_ENOENT : LQ_EIO, "cannot open folder %s: %s",
                    dir, strerror(errno));
    char **names = NULL;
    int n = 0, cap = 0, rc = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_image_ext(e->d_name))
            continue;
        if (n >= lim->max_files) {
            char lim_s[32];
            snprintf(lim_s, sizeof lim_s, "%d", lim->max_files);
            rc = errf(err, errlen, LQ_ELIMIT, "folder %s has more than %s frames", dir, lim_s);
            break;
        }
        if (n == cap) {
            int nc = cap ? cap * 2 : 64;
            char **nn = realloc(names, (size_t)nc * sizeof *nn);
            if (!nn) {
                rc = LQ_ENOMEM;
                break;
            }
            names = nn;
            cap = nc;
        }
        names[n] = strdup(e->d_name);
        if (!names[n]) {
            rc = LQ_ENOMEM;
            break;
        }
        n++;
    }
    closedir(d);
    if (rc == 0 && n == 0)
        rc = errf(err, errlen, LQ_EINVAL, "folder %s has no .webp, .jpg, .jpeg or .png file%s", dir,
                  "");
    if (rc < 0) {
        for (int i = 0; i < n; i++)
            free(names[i]);
        free(names);
        return rc;
    }
    qsort(names, (size_t)n, sizeof *names, cmp_names);
    *names_out = names;
    *n_out = n;
    return 0;
}

/* Reads one file of at most max bytes. */
static int read_file(const char *path, size_t max, uint8_t **data, size_t *len, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return errf(err, errlen, LQ_EIO, "cannot open %s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        return errf(err, errlen, LQ_EIO, "%s is not a regular file%s", path, "");
    }
    if ((uint64_t)st.st_size > (uint64_t)max) {
        fclose(f);
        char lim_s[32];
        snprintf(lim_s, sizeof lim_s, "%zu", max);
        return errf(err, errlen, LQ_ELIMIT, "%s is larger than the frame limit of %s bytes", path,
                    lim_s);
    }
    const size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        fclose(f);
        return LQ_ENOMEM;
    }
    const size_t got = fread(buf, 1, n, f);
    const int extra = fgetc(f) != EOF; /* the file grew while we read it */
    fclose(f);
    if (got != n || extra) {
        free(buf);
        return errf(err, errlen, LQ_EIO, "cannot read %s completely%s", path, "");
    }
    *data = buf;
    *len = n;
    return 0;
}

void lq_client_frames_destroy(lq_client_frames *fr)
{
    if (!fr)
        return;
    for (int i = 0; i < fr->n; i++) {
        free((void *)fr->items[i].data);
        free((void *)fr->items[i].name);
    }
    free(fr->items);
    free(fr->dir);
    free(fr);
}

int lq_client_frames_load(const char *dir, const lq_client_frames_limits *lim_in,
                          lq_client_frames **out, char *err, size_t errlen)
{
    if (!dir || !out)
        return LQ_EINVAL;
    const lq_client_frames_limits lim =
        lim_in ? *lim_in : (lq_client_frames_limits)LQ_CLIENT_FRAMES_LIMITS_DEFAULT;
    char **names = NULL;
    int n = 0;
    int rc = list_names(dir, &lim, &names, &n, err, errlen);
    if (rc < 0)
        return rc;
    lq_client_frames *fr = calloc(1, sizeof *fr);
    if (fr)
        fr->items = calloc((size_t)n, sizeof *fr->items);
    if (fr)
        fr->dir = strdup(dir);
    if (!fr || !fr->items || !fr->dir) {
        rc = LQ_ENOMEM;
        goto out;
    }
    size_t total = 0;
    char path[4096];
    for (int i = 0; i < n && rc == 0; i++) {
        if (snprintf(path, sizeof path, "%s/%s", dir, names[i]) >= (int)sizeof path) {
            rc = errf(err, errlen, LQ_EINVAL, "path too long: %s/%s", dir, names[i]);
            break;
        }
        lq_client_frame *f = &fr->items[i];
        uint8_t *data = NULL;
        size_t len = 0;
        rc = read_file(path, lim.max_file_bytes, &data, &len, err, errlen);
        if (rc < 0)
            break;
        f->data = data;
        f->len = len;
        f->name = names[i];
        names[i] = NULL;
        fr->n = i + 1;
        total += len;
        if (total > lim.max_total_bytes) {
            char lim_s[32];
            snprintf(lim_s, sizeof lim_s, "%zu", lim.max_total_bytes);
            rc = errf(err, errlen, LQ_ELIMIT, "the frames of %s add up to more than %s bytes", dir,
                      lim_s);
            break;
        }
        if (lq_image_probe(data, len, &f->format, &f->width, &f->height) < 0) {
            rc = errf(err, errlen, LQ_EFORMAT, "%s is not a readable WebP, JPEG or PNG image%s",
                      path, "");
            break;
        }
        if (f->width < 1 || f->height < 1 || f->width > lim.max_dim || f->height > lim.max_dim) {
            char dims[48];
            snprintf(dims, sizeof dims, "%dx%d", f->width, f->height);
            rc = errf(err, errlen, LQ_ELIMIT, "%s is %s pixels, over the frame size limit", path,
                      dims);
            break;
        }
        if (len > fr->max_bytes)
            fr->max_bytes = len;
    }
out:
    for (int i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (rc < 0) {
        lq_client_frames_destroy(fr);
        return rc;
    }
    *out = fr;
    return 0;
}

int lq_client_frames_count(const lq_client_frames *fr)
{
    return fr ? fr->n : 0;
}

const lq_client_frame *lq_client_frames_at(const lq_client_frames *fr, int64_t k)
{
    if (!fr || fr->n == 0 || k < 0)
        return NULL;
    return &fr->items[k % fr->n];
}

size_t lq_client_frames_max_bytes(const lq_client_frames *fr)
{
    return fr ? fr->max_bytes : 0;
}

const char *lq_client_frames_dir(const lq_client_frames *fr)
{
    return fr ? fr->dir : "";
}
