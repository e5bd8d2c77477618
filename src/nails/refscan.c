/*
 * refscan.c - a reference photo as a small classified OKLab image (refscan.h).
 */
#include "nails/refscan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Skin: chroma-plane distance to the photo's skin tone, and lightness range
 * (shading moves skin a long way in L, little in a/b). */
#define SKIN_HIST_MIN (-0.06f) /* a/b histogram for the skin tone: from ... */
#define SKIN_HIST_BIN 0.01f
#define SKIN_HIST_N 28
#define SKIN_HIST_NL 10   /* lightness bins */
#define SKIN_HUE_LO 0.17f /* skin hues, radians (10 to 85 degrees) */
#define SKIN_HUE_HI 1.48f
#define SKIN_C_LO 0.008f /* skin chroma range */
#define SKIN_C_HI 0.18f
#define SKIN_SEED_AB 0.025f /* seeds: this close to the tone in a/b ... */
#define SKIN_SEED_DL 0.3f   /* ... and in lightness */
#define SKIN_STEP 0.03f     /* growing: step between neighbours */
#define SKIN_HUE 0.45f      /* ... hue within this of the tone's (about 26 degrees) */
#define SKIN_CMIN 0.4f      /* ... chroma within these shares of the tone's */
#define SKIN_CMAX 1.8f
#define SKIN_SHADOW_CMAX 1.2f   /* shadow: chroma at most this share of the tone's */
#define SKIN_DARK 0.12f         /* this much darker and skin-hued: shadow */
#define REGION_SKIN_LO 0.25f    /* share of a region's outline along skin: weight 0 ... */
#define REGION_SKIN_HI 0.6f     /* ... to 1 (long nails run along skin for a third) */
#define REGION_THICK 1.0f       /* area / outline - 1 at which a region counts as a blob */
#define REGION_MAX_OF_SKIN 0.3f /* regions larger than this share of the skin area */
#define REGION_STEP 0.04f       /* colour-uniform regions: step between neighbours ... */
#define REGION_FAR 0.12f        /* ... and distance from the region's first pixel */
/* A border-connected region is background only if it runs along the border:
 * border pixels >= BG_BORDER_RATIO * sqrt(area). A hand entering from one
 * side, or a close-up nail touching the frame, touches the border along a
 * short stretch compared with its area and stays foreground. */
#define BG_BORDER_RATIO 1.0f

int nail__skin_box(float r8, float g8, float b8)
{
    float cb = 128.0f - 0.168736f * r8 - 0.331264f * g8 + 0.5f * b8;
    float cr = 128.0f + 0.5f * r8 - 0.418688f * g8 - 0.081312f * b8;
    return cb >= 77.0f && cb <= 127.0f && cr >= 133.0f && cr <= 173.0f;
}

void nail__scan_free(nail__scan *s)
{
    if (!s)
        return;
    free(s->lab);
    free(s->lin);
    free(s->wgt);
    free(s->cls);
    free(s->enclosure);
    free(s->region);
    memset(s, 0, sizeof *s);
}

int nail__scan_create(const lq_image *img, const uint8_t *mask, int mask_stride, int work_size,
                      nail__scan *s)
{
    if (!s)
        return LQ_EINVAL;
    memset(s, 0, sizeof *s);
    if (!img || !img->data || img->width <= 0 || img->height <= 0)
        return LQ_EINVAL;
    if (img->width > LQ_IMAGE_MAX_DIM || img->height > LQ_IMAGE_MAX_DIM ||
        (uint64_t)img->width * (uint64_t)img->height > LQ_IMAGE_MAX_PIXELS)
        return LQ_ELIMIT;
    if (img->stride < 3 * img->width)
        return LQ_EINVAL;
    if (mask && mask_stride < img->width)
        return LQ_EINVAL;
    if (work_size < NAIL__SCAN_MIN_SIZE || work_size > NAIL__SCAN_MAX_SIZE)
        return LQ_EINVAL;

    int sw = img->width, sh = img->height;
    int W = sw, H = sh;
    int big = sw > sh ? sw : sh;
    if (big > work_size) {
        W = (int)((int64_t)sw * work_size / big);
        H = (int)((int64_t)sh * work_size / big);
        if (W < 1)
            W = 1;
        if (H < 1)
            H = 1;
    }
    size_t n = (size_t)W * (size_t)H;
    float *acc = calloc(n * 3u, sizeof *acc);
    uint32_t *cnt = calloc(n * 2u, sizeof *cnt); /* all pixels, masked pixels */
    int *cell_x = malloc((size_t)sw * sizeof *cell_x);
    s->lab = malloc(n * 3u * sizeof *s->lab);
    s->lin = malloc(n * 3u * sizeof *s->lin);
    s->wgt = malloc(n * sizeof *s->wgt);
    s->cls = malloc(n);
    if (!acc || !cnt || !cell_x || !s->lab || !s->lin || !s->wgt || !s->cls) {
        free(acc);
        free(cnt);
        free(cell_x);
        nail__scan_free(s);
        return LQ_ENOMEM;
    }
    for (int x = 0; x < sw; x++)
        cell_x[x] = (int)((int64_t)x * W / sw);
    for (int y = 0; y < sh; y++) {
        const uint8_t *row = img->data + (size_t)y * (size_t)img->stride;
        const uint8_t *mrow = mask ? mask + (size_t)y * (size_t)mask_stride : NULL;
        size_t cy = (size_t)((int64_t)y * H / sh) * (size_t)W;
        for (int x = 0; x < sw; x++) {
            size_t c = cy + (size_t)cell_x[x];
            cnt[2 * c]++;
            if (mrow && mrow[x] <= 127)
                continue;
            cnt[2 * c + 1]++;
            acc[3 * c] += nail_srgb8_to_linear(row[3 * x]);
            acc[3 * c + 1] += nail_srgb8_to_linear(row[3 * x + 1]);
            acc[3 * c + 2] += nail_srgb8_to_linear(row[3 * x + 2]);
        }
    }
    double total_w = 0.0;
    for (size_t i = 0; i < n; i++) {
        uint32_t m = cnt[2 * i + 1];
        float inv = m ? 1.0f / (float)m : 0.0f;
        nail_lin l = {acc[3 * i] * inv, acc[3 * i + 1] * inv, acc[3 * i + 2] * inv};
        nail_lab o = nail_linear_to_oklab(l);
        s->lin[3 * i] = l.r;
        s->lin[3 * i + 1] = l.g;
        s->lin[3 * i + 2] = l.b;
        s->lab[3 * i] = o.L;
        s->lab[3 * i + 1] = o.a;
        s->lab[3 * i + 2] = o.b;
        s->wgt[i] = cnt[2 * i] ? (float)m / (float)cnt[2 * i] : 0.0f;
        s->cls[i] = m ? NAIL__PX_FG : NAIL__PX_EMPTY;
        total_w += s->wgt[i];
    }
    free(acc);
    free(cnt);
    free(cell_x);
    s->w = W;
    s->h = H;
    s->sx = (float)sw / (float)W;
    s->sy = (float)sh / (float)H;
    s->masked = mask != NULL;
    if (total_w <= 0.0) {
        nail__scan_free(s);
        return LQ_ENOTFOUND;
    }
    return 0;
}

static float lab_dist(const float *p, const float *q)
{
    float d0 = p[0] - q[0], d1 = p[1] - q[1], d2 = p[2] - q[2];
    return sqrtf(d0 * d0 + d1 * d1 + d2 * d2);
}

/* Close to the photo's skin tone (the seed condition of the skin class). */
static int near_skin_tone(const nail__scan *s, int i)
{
    if (!s->has_skin)
        return 0;
    const float *p = s->lab + 3 * i;
    float da = p[1] - s->skin.a, db = p[2] - s->skin.b;
    return da * da + db * db < SKIN_SEED_AB * SKIN_SEED_AB &&
           fabsf(p[0] - s->skin.L) < SKIN_SEED_DL;
}

/* Grows one border-connected smooth region from border pixel `start` with
 * label `id`. Its pixels are left in queue[0 .. return value); its border
 * pixel count goes to *border. */
static int grow_region(nail__scan *s, int *label, int *queue, int start, int id, int *border)
{
    const int W = s->w, H = s->h;
    const float *ref = s->lab + 3 * start;
    int head = 0, tail = 0;
    label[start] = id;
    queue[tail++] = start;
    *border = 0;
    while (head < tail) {
        int p = queue[head++];
        int x = p % W, y = p / W;
        if (x == 0 || y == 0 || x == W - 1 || y == H - 1)
            (*border)++;
        const int nb[4] = {x > 0 ? p - 1 : -1, x < W - 1 ? p + 1 : -1, y > 0 ? p - W : -1,
                           y < H - 1 ? p + W : -1};
        for (int k = 0; k < 4; k++) {
            int q = nb[k];
            if (q < 0 || label[q] != 0 || s->cls[q] == NAIL__PX_EMPTY || near_skin_tone(s, q))
                continue;
            const float *lq = s->lab + 3 * q;
            if (lab_dist(s->lab + 3 * p, lq) < NAIL__BG_STEP && lab_dist(ref, lq) < NAIL__BG_FAR) {
                label[q] = id;
                queue[tail++] = q;
            }
        }
    }
    return tail;
}

static void mark_background(nail__scan *s, int *label, int *queue)
{
    const int W = s->w, H = s->h;
    memset(label, 0, (size_t)W * (size_t)H * sizeof *label);
    int next = 1;
    for (int k = 0; k < 2 * (W + H); k++) {
        /* border pixels in order: top, bottom, left, right */
        int p;
        if (k < W)
            p = k;
        else if (k < 2 * W)
            p = (H - 1) * W + (k - W);
        else if (k < 2 * W + H)
            p = (k - 2 * W) * W;
        else
            p = (k - 2 * W - H) * W + (W - 1);
        if (label[p] != 0 || s->cls[p] == NAIL__PX_EMPTY || near_skin_tone(s, p))
            continue;
        int border = 0;
        int area = grow_region(s, label, queue, p, next++, &border);
        if ((float)border >= BG_BORDER_RATIO * sqrtf((float)area))
            for (int i = 0; i < area; i++)
                s->cls[queue[i]] = NAIL__PX_BACKGROUND;
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

static float median(float *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, cmp_float);
    return n % 2 ? v[n / 2] : 0.5f * (v[n / 2 - 1] + v[n / 2]);
}

static float hue_diff(float h1, float h2)
{
    float d = fabsf(h1 - h2);
    return d > 3.14159265f ? 2.0f * 3.14159265f - d : d;
}

/* Centre prior: subjects are usually framed near the middle. */
float nail__centre_prior(int x, int y, int W, int H)
{
    float dx = ((float)x + 0.5f) / (float)W - 0.5f, dy = ((float)y + 0.5f) / (float)H - 0.5f;
    float r2 = 4.0f * (dx * dx + dy * dy); /* 0 at the centre, 1 at mid-edge, 2 at a corner */
    float p = 1.0f - 0.4f * r2;
    return p < 0.2f ? 0.2f : p;
}

/* The photo's skin tone: the mode of a weighted (a, b, L) histogram of the
 * foreground pixels with a skin-like hue and chroma, pixels inside the YCbCr
 * skin box counting three times and central pixels more than peripheral
 * ones. The hand is normally the largest thing of that hue near the middle,
 * and a mode is not pulled by polish, shadows or a warm wall in another
 * lightness. Returns 0 if there is too little of it. */
static int skin_tone(nail__scan *s, float *tmp, float tone[3])
{
    const int n = s->w * s->h;
    static const int NL = SKIN_HIST_NL, NA = SKIN_HIST_N;
    float hist[SKIN_HIST_NL][SKIN_HIST_N][SKIN_HIST_N];
    memset(hist, 0, sizeof hist);
    double total = 0.0, fg = 0.0;
    for (int i = 0; i < n; i++) {
        if (s->cls[i] != NAIL__PX_FG)
            continue;
        fg += 1.0;
        const float *p = s->lab + 3 * i;
        float c = sqrtf(p[1] * p[1] + p[2] * p[2]), h = atan2f(p[2], p[1]);
        if (c < SKIN_C_LO || c > SKIN_C_HI || h < SKIN_HUE_LO || h > SKIN_HUE_HI)
            continue;
        int ia = (int)((p[1] - SKIN_HIST_MIN) / SKIN_HIST_BIN);
        int ib = (int)((p[2] - SKIN_HIST_MIN) / SKIN_HIST_BIN);
        int il = (int)(p[0] * (float)NL);
        if (ia < 0 || ib < 0 || ia >= NA || ib >= NA || il < 0 || il >= NL)
            continue;
        const float *l = s->lin + 3 * i;
        int box = nail__skin_box(255.0f * nail_srgb_encode(l[0]), 255.0f * nail_srgb_encode(l[1]),
                                 255.0f * nail_srgb_encode(l[2]));
        hist[il][ia][ib] +=
            (box ? 3.0f : 1.0f) * nail__centre_prior(i % s->w, i / s->w, s->w, s->h);
        total += 1.0;
    }
    if (total < 16.0 || total < 0.05 * fg)
        return 0;
    int bl = 0, ba = 0, bb = 0;
    float best = -1.0f;
    for (int il = 0; il < NL; il++)
        for (int ia = 0; ia < NA; ia++)
            for (int ib = 0; ib < NA; ib++) {
                float v = 0.0f;
                for (int dl = -1; dl <= 1; dl++)
                    for (int da = -1; da <= 1; da++)
                        for (int db = -1; db <= 1; db++) {
                            int xl = il + dl, xa = ia + da, xb = ib + db;
                            if (xl >= 0 && xa >= 0 && xb >= 0 && xl < NL && xa < NA && xb < NA)
                                v += hist[xl][xa][xb];
                        }
                if (v > best) {
                    best = v;
                    bl = il;
                    ba = ia;
                    bb = ib;
                }
            }
    float cl = ((float)bl + 0.5f) / (float)NL;
    float ca = SKIN_HIST_MIN + ((float)ba + 0.5f) * SKIN_HIST_BIN;
    float cb = SKIN_HIST_MIN + ((float)bb + 0.5f) * SKIN_HIST_BIN;
    /* refine: medians of the pixels around the mode */
    for (int c = 0; c < 3; c++) {
        int k = 0;
        for (int i = 0; i < n; i++) {
            const float *p = s->lab + 3 * i;
            float da = p[1] - ca, db = p[2] - cb;
            if (s->cls[i] == NAIL__PX_FG && da * da + db * db < SKIN_SEED_AB * SKIN_SEED_AB &&
                fabsf(p[0] - cl) < 1.5f / (float)NL)
                tmp[k++] = p[c];
        }
        if (k == 0)
            return 0;
        tone[c] = median(tmp, k);
    }
    return 1;
}

/* Skin: seeds close to the skin tone, grown over smooth steps that keep a
 * skin hue (lit and shaded skin); then dark skin-hued shadows. Polish is
 * not reached because its border with the skin is a step. */
static void mark_skin(nail__scan *s, int *queue)
{
    const int n = s->w * s->h, W = s->w, H = s->h;
    if (!s->has_skin)
        return;
    const float tone[3] = {s->skin.L, s->skin.a, s->skin.b};
    const float hue = atan2f(tone[2], tone[1]);
    const float chroma = sqrtf(tone[1] * tone[1] + tone[2] * tone[2]);
    int head = 0, tail = 0;
    for (int i = 0; i < n; i++) {
        const float *p = s->lab + 3 * i;
        float da = p[1] - tone[1], db = p[2] - tone[2];
        (void)da;
        (void)db;
        if (s->cls[i] == NAIL__PX_FG && near_skin_tone(s, i)) {
            s->cls[i] = NAIL__PX_SKIN;
            queue[tail++] = i;
        }
    }
    while (head < tail) {
        int p = queue[head++];
        int x = p % W, y = p / W;
        const int nb[4] = {x > 0 ? p - 1 : -1, x < W - 1 ? p + 1 : -1, y > 0 ? p - W : -1,
                           y < H - 1 ? p + W : -1};
        for (int k = 0; k < 4; k++) {
            int q = nb[k];
            if (q < 0 || s->cls[q] != NAIL__PX_FG)
                continue;
            const float *lq = s->lab + 3 * q;
            float c = sqrtf(lq[1] * lq[1] + lq[2] * lq[2]);
            if (lab_dist(s->lab + 3 * p, lq) < SKIN_STEP && c > SKIN_CMIN * chroma &&
                c < SKIN_CMAX * chroma && hue_diff(atan2f(lq[2], lq[1]), hue) < SKIN_HUE) {
                s->cls[q] = NAIL__PX_SKIN;
                queue[tail++] = q;
            }
        }
    }
    for (int i = 0; i < n; i++) {
        const float *p = s->lab + 3 * i;
        float c = sqrtf(p[1] * p[1] + p[2] * p[2]);
        /* shade darkens and desaturates; polish of a skin-like hue (reds,
         * corals) is darker but more saturated than the skin */
        if (s->cls[i] == NAIL__PX_FG && p[0] < tone[0] - SKIN_DARK && c > 0.02f &&
            c < SKIN_SHADOW_CMAX * chroma && hue_diff(atan2f(p[2], p[1]), hue) < SKIN_HUE)
            s->cls[i] = NAIL__PX_SKIN; /* skin in shadow (creases, between fingers) */
    }
}

/* Foreground pixels next to background are mixtures of both. */
static void mark_edges(nail__scan *s)
{
    const int W = s->w, H = s->h;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            int i = y * W + x;
            if (s->cls[i] != NAIL__PX_FG)
                continue;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx >= 0 && yy >= 0 && xx < W && yy < H &&
                        s->cls[yy * W + xx] == NAIL__PX_BACKGROUND)
                        s->cls[i] = NAIL__PX_EDGE;
                }
        }
}

/* A coarse histogram of the background's OKLab colours (cells of 0.04). */
#define BGH_L 26
#define BGH_AB 18
static int bg_cell(float v, float lo, int n)
{
    int i = (int)((v - lo) / 0.04f);
    return i < 0 ? 0 : (i >= n ? n - 1 : i);
}

static int bg_bin(const float *lab)
{
    return (bg_cell(lab[0], 0.0f, BGH_L) * BGH_AB + bg_cell(lab[1], -0.36f, BGH_AB)) * BGH_AB +
           bg_cell(lab[2], -0.36f, BGH_AB);
}

/* 1 if the colour (with its neighbouring cells) is common in the background. */
static int looks_like_background(const uint16_t *hist, const float *lab, int min_count)
{
    int l0 = bg_cell(lab[0], 0.0f, BGH_L), a0 = bg_cell(lab[1], -0.36f, BGH_AB),
        b0 = bg_cell(lab[2], -0.36f, BGH_AB);
    int sum = 0;
    for (int l = l0 - 1; l <= l0 + 1; l++)
        for (int a = a0 - 1; a <= a0 + 1; a++)
            for (int b = b0 - 1; b <= b0 + 1; b++)
                if (l >= 0 && a >= 0 && b >= 0 && l < BGH_L && a < BGH_AB && b < BGH_AB)
                    sum += hist[(l * BGH_AB + a) * BGH_AB + b];
    return sum >= min_count;
}

/* How much each foreground pixel looks like part of a nail, judged on the
 * colour-uniform region it belongs to (grown like the background, over
 * small steps near the seed colour): a polished nail is such a region whose
 * outline mostly runs along skin (all but the free edge), and it is small
 * next to the hand; a table, a sleeve or a backdrop seen between the
 * fingers runs along skin for a part of its outline only, and textured
 * things (fabric, wood grain) fall apart into regions bordered by each other. */
static void weigh_regions(nail__scan *s, int *label, int *queue)
{
    const int W = s->w, H = s->h, n = W * H;
    double skin_area = 0.0;
    int nbg = 0;
    uint16_t *bg_hist = calloc(BGH_L * BGH_AB * BGH_AB, sizeof *bg_hist);
    for (int i = 0; i < n; i++) {
        label[i] = -1;
        s->enclosure[i] = 0.0f;
        skin_area += s->cls[i] == NAIL__PX_SKIN;
        if (bg_hist && s->cls[i] == NAIL__PX_BACKGROUND) {
            uint16_t *h = bg_hist + bg_bin(s->lab + 3 * i);
            if (*h < UINT16_MAX)
                (*h)++;
            nbg++;
        }
    }
    int bg_min = nbg / 500 > 4 ? nbg / 500 : 4;
    for (int start = 0; start < n; start++) {
        if (s->cls[start] != NAIL__PX_FG || label[start] >= 0)
            continue;
        const float *ref = s->lab + 3 * start;
        int head = 0, tail = 0;
        label[start] = start;
        queue[tail++] = start;
        while (head < tail) {
            int p = queue[head++], x = p % W, y = p / W;
            const int nb[4] = {x > 0 ? p - 1 : -1, x < W - 1 ? p + 1 : -1, y > 0 ? p - W : -1,
                               y < H - 1 ? p + W : -1};
            for (int k = 0; k < 4; k++) {
                int q = nb[k];
                if (q < 0 || label[q] >= 0 || s->cls[q] != NAIL__PX_FG)
                    continue;
                const float *lq = s->lab + 3 * q;
                if (lab_dist(s->lab + 3 * p, lq) < REGION_STEP && lab_dist(ref, lq) < REGION_FAR) {
                    label[q] = start;
                    queue[tail++] = q;
                }
            }
        }
        int perim = 0, along_skin = 0;
        for (int k = 0; k < tail; k++) {
            int p = queue[k], x = p % W, y = p / W;
            const int nb[4] = {x > 0 ? p - 1 : -1, x < W - 1 ? p + 1 : -1, y > 0 ? p - W : -1,
                               y < H - 1 ? p + W : -1};
            static const int ddx[4] = {-1, 1, 0, 0}, ddy[4] = {0, 0, -1, 1};
            int edge = 0, skin = 0;
            for (int j = 0; j < 4; j++) {
                if (nb[j] >= 0 && label[nb[j]] == start)
                    continue;
                edge = 1;
                /* skin right there, or behind a one-pixel seam of mixed
                 * colour (the working image averages the nail's rim) */
                for (int t = 1; t <= 2; t++) {
                    int xx = x + ddx[j] * t, yy = y + ddy[j] * t;
                    if (xx >= 0 && yy >= 0 && xx < W && yy < H &&
                        s->cls[yy * W + xx] == NAIL__PX_SKIN)
                        skin = 1;
                }
            }
            perim += edge;
            along_skin += skin;
        }
        float share = perim ? (float)along_skin / (float)perim : 0.0f;
        float f = (share - REGION_SKIN_LO) / (REGION_SKIN_HI - REGION_SKIN_LO);
        f = f < 0.0f ? 0.0f : (f > 1.0f ? 1.0f : f);
        if ((double)tail > REGION_MAX_OF_SKIN * skin_area)
            f *= 0.25f; /* as big as a good part of the hand: not a nail */
        /* creases and the shadowed gaps between fingers are lines, nails are
         * blobs: area per outline pixel is about 1 for a line */
        float thick = perim ? ((float)tail / (float)perim - 1.0f) / REGION_THICK : 1.0f;
        f *= thick < 0.1f ? 0.1f : (thick > 1.0f ? 1.0f : thick);
        float mean[3] = {0.0f, 0.0f, 0.0f};
        for (int k = 0; k < tail; k++)
            for (int c = 0; c < 3; c++)
                mean[c] += s->lab[3 * queue[k] + c] / (float)tail;
        if (bg_hist && looks_like_background(bg_hist, mean, bg_min))
            f *= 0.2f; /* the background, seen between the fingers */
        for (int k = 0; k < tail; k++)
            s->enclosure[queue[k]] = f;
    }
    free(bg_hist);
}

static void compute_shares(nail__scan *s)
{
    const int n = s->w * s->h;
    double sum[5] = {0, 0, 0, 0, 0}, tot = 0.0;
    for (int i = 0; i < n; i++) {
        sum[s->cls[i]] += s->wgt[i];
        tot += s->wgt[i];
    }
    if (tot <= 0.0)
        tot = 1.0;
    s->fg = (float)(sum[NAIL__PX_FG] / tot);
    s->bg = (float)(sum[NAIL__PX_BACKGROUND] / tot);
    s->skinf = (float)(sum[NAIL__PX_SKIN] / tot);
}

void nail__scan_classify(nail__scan *s)
{
    if (!s || !s->cls)
        return;
    const int n = s->w * s->h;
    if (!s->masked) {
        int *label = malloc((size_t)n * sizeof *label);
        int *queue = malloc((size_t)n * sizeof *queue);
        float *tmp = malloc((size_t)n * sizeof *tmp);
        if (label && queue && tmp) {
            float tone[3];
            if (skin_tone(s, tmp, tone)) {
                s->has_skin = 1;
                s->skin.L = tone[0];
                s->skin.a = tone[1];
                s->skin.b = tone[2];
            }
            mark_background(s, label, queue);
            mark_skin(s, queue);
            mark_edges(s);
            if (s->has_skin) {
                s->enclosure = malloc((size_t)n * sizeof *s->enclosure);
                if (s->enclosure) {
                    weigh_regions(s, label, queue);
                    s->region = label; /* keep the region map */
                    label = NULL;
                }
            }
        }
        /* out of memory: everything stays foreground, which is still a
         * usable (if less selective) answer */
        free(label);
        free(queue);
        free(tmp);
    }
    compute_shares(s);
}
