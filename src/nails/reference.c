/*
 * reference.c - a reference photo's nail art as a 64x128 texture (reference.h).
 *
 * Three steps: find the nail (a region of the caller's mask, or the most
 * nail-like region of the photo, or its centre) as a set of working-image
 * cells; fit an oriented box to it and decide which end is the cuticle;
 * resample the photo in that box in linear light, fill the texels outside
 * the nail's outline from inside ones, and take out the photo's lighting.
 */
#include "nails/reference.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "nails/refscan.h"

#define WORK_SIZE 160      /* the palette's working size: same analysis */
#define MASK_WORK_SIZE 256 /* finer for a caller's mask */
#define MIN_REGION_CELLS 6
#define MIN_NAILNESS 0.5f /* mean region weight (refscan enclosure) to count as a nail */
#define CENTRE_WIDTH 0.3f
#define SQUARE_ASPECT 1.25f /* length / width under which the long axis is not trusted */
#define ORIENT_GLOBAL 0.1f
#define HIGHLIGHT_DL 0.05f /* OKLab L above the row's median: a highlight */
#define SHADING_AB                                                                                 \
    0.08f /* columns this far from the main a/L, b/L are art, not shading */                       \
        /* weight of "the tip points away from the hand" */ /* centre fallback: box width as a     \
                                                               share of the shorter side */

typedef struct nbox {
    float cx, cy; /* photo pixels */
    float ax, ay; /* unit axis, cuticle -> tip once oriented */
    float w, l;   /* across, along */
} nbox;

/* The nail as cells of a working image: sel[i] = 1 for the nail's cells. */
typedef struct nail_cells {
    const nail__scan *s;
    uint8_t *sel;
} nail_cells;

/* ---- finding the nail ------------------------------------------------- */

/* 8-connected components of cells with sel_in[i]; keeps the heaviest (by
 * weight w[i]) in sel_out. Returns its cell count (0 if none). */
static int largest_component(const nail__scan *s, const uint8_t *sel_in, const float *w,
                             uint8_t *sel_out, int *label, int *queue)
{
    const int W = s->w, H = s->h, n = W * H;
    int best = -1, best_n = 0;
    double best_w = 0.0;
    for (int i = 0; i < n; i++)
        label[i] = -1;
    for (int start = 0; start < n; start++) {
        if (!sel_in[start] || label[start] >= 0)
            continue;
        int head = 0, tail = 0;
        double sum = 0.0;
        label[start] = start;
        queue[tail++] = start;
        while (head < tail) {
            int p = queue[head++], x = p % W, y = p / W;
            sum += w[p];
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    int xx = x + dx, yy = y + dy;
                    if (xx < 0 || yy < 0 || xx >= W || yy >= H)
                        continue;
                    int q = yy * W + xx;
                    if (sel_in[q] && label[q] < 0) {
                        label[q] = start;
                        queue[tail++] = q;
                    }
                }
        }
        if (sum > best_w) {
            best_w = sum;
            best = start;
            best_n = tail;
        }
    }
    for (int i = 0; i < n; i++)
        sel_out[i] = best >= 0 && label[i] == best;
    return best >= 0 ? best_n : 0;
}

/* Adds to sel every cell it encloses (not reachable from the border without
 * crossing sel): the art and highlights inside a nail. */
static void fill_holes(const nail__scan *s, uint8_t *sel, int *queue, uint8_t *seen)
{
    const int W = s->w, H = s->h, n = W * H;
    int head = 0, tail = 0;
    memset(seen, 0, (size_t)n);
    for (int i = 0; i < n; i++) {
        int x = i % W, y = i / W;
        if ((x == 0 || y == 0 || x == W - 1 || y == H - 1) && !sel[i]) {
            seen[i] = 1;
            queue[tail++] = i;
        }
    }
    while (head < tail) {
        int p = queue[head++], x = p % W, y = p / W;
        const int nb[4] = {x > 0 ? p - 1 : -1, x < W - 1 ? p + 1 : -1, y > 0 ? p - W : -1,
                           y < H - 1 ? p + W : -1};
        for (int k = 0; k < 4; k++)
            if (nb[k] >= 0 && !seen[nb[k]] && !sel[nb[k]]) {
                seen[nb[k]] = 1;
                queue[tail++] = nb[k];
            }
    }
    for (int i = 0; i < n; i++)
        if (!seen[i])
            sel[i] = 1;
}

/* The most nail-like colour region of a classified scan (the one with the
 * largest weighted area among those of mean weight >= MIN_NAILNESS).
 * Returns its cell count, 0 if none. */
static int best_region(const nail__scan *s, uint8_t *sel, float *score)
{
    const int n = s->w * s->h;
    if (!s->region || !s->enclosure)
        return 0;
    memset(score, 0, (size_t)n * sizeof *score);
    int *count = calloc((size_t)n, sizeof *count);
    if (!count)
        return 0;
    for (int i = 0; i < n; i++)
        if (s->region[i] >= 0) {
            score[s->region[i]] += s->enclosure[i] * s->wgt[i];
            count[s->region[i]]++;
        }
    int best = -1;
    float best_score = 0.0f;
    for (int i = 0; i < n; i++)
        if (count[i] >= MIN_REGION_CELLS && score[i] >= MIN_NAILNESS * (float)count[i] &&
            score[i] > best_score) {
            best_score = score[i];
            best = i;
        }
    int cells = best >= 0 ? count[best] : 0;
    free(count);
    for (int i = 0; i < n; i++)
        sel[i] = best >= 0 && s->region[i] == best;
    return cells;
}

/* Adds to the seed region the foreground regions next to it that are not
 * larger than it: the other colours of the nail's art (a french tip, a
 * stripe) that touch its rim and so are not enclosed by it. Larger
 * neighbours are the backdrop. The total stays under 3x the seed. */
static void add_art_regions(const nail__scan *s, uint8_t *sel, int *queue, int *size)
{
    const int W = s->w, H = s->h, n = W * H;
    memset(size, 0, (size_t)n * sizeof *size);
    for (int i = 0; i < n; i++)
        if (s->region[i] >= 0)
            size[s->region[i]]++;
    int seed_size = 0, head = 0, tail = 0;
    for (int i = 0; i < n; i++)
        if (sel[i]) {
            seed_size++;
            queue[tail++] = i;
        }
    int total = seed_size;
    while (head < tail) {
        int p = queue[head++], x = p % W, y = p / W;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int xx = x + dx, yy = y + dy;
                if (xx < 0 || yy < 0 || xx >= W || yy >= H)
                    continue;
                int q = yy * W + xx, r = s->region[q];
                if (sel[q] || r < 0 || size[r] > seed_size || total + size[r] > 3 * seed_size)
                    continue;
                for (int i = 0; i < n; i++) /* the whole neighbouring region */
                    if (s->region[i] == r) {
                        sel[i] = 1;
                        queue[tail++] = i;
                    }
                total += size[r];
            }
    }
}

/* ---- the box ------------------------------------------------------------ */

/* Fits an oriented box (long axis) to the selected cells, in photo pixels. */
static void fit_box(const nail__scan *s, const uint8_t *sel, nbox *b)
{
    const int W = s->w, H = s->h;
    double sw = 0.0, mx = 0.0, my = 0.0;
    for (int i = 0; i < W * H; i++)
        if (sel[i]) {
            double x = ((i % W) + 0.5) * s->sx, y = ((i / W) + 0.5) * s->sy;
            sw += 1.0;
            mx += x;
            my += y;
        }
    mx /= sw;
    my /= sw;
    double cxx = 0.0, cyy = 0.0, cxy = 0.0;
    for (int i = 0; i < W * H; i++)
        if (sel[i]) {
            double x = ((i % W) + 0.5) * s->sx - mx, y = ((i / W) + 0.5) * s->sy - my;
            cxx += x * x;
            cyy += y * y;
            cxy += x * y;
        }
    double th = 0.5 * atan2(2.0 * cxy, cxx - cyy);
    float ax = (float)cos(th), ay = (float)sin(th);
    float lo_a = INFINITY, hi_a = -INFINITY, lo_c = INFINITY, hi_c = -INFINITY;
    for (int i = 0; i < W * H; i++)
        if (sel[i]) {
            float x = (float)(((i % W) + 0.5) * s->sx - mx);
            float y = (float)(((i / W) + 0.5) * s->sy - my);
            float a = x * ax + y * ay, c = x * ay - y * ax;
            lo_a = a < lo_a ? a : lo_a;
            hi_a = a > hi_a ? a : hi_a;
            lo_c = c < lo_c ? c : lo_c;
            hi_c = c > hi_c ? c : hi_c;
        }
    /* each cell covers half a cell beyond its centre */
    float half = 0.5f * (fabsf(ax) * s->sx + fabsf(ay) * s->sy);
    float halfc = 0.5f * (fabsf(ay) * s->sx + fabsf(ax) * s->sy);
    float ma = 0.5f * (lo_a + hi_a), mc = 0.5f * (lo_c + hi_c);
    b->cx = (float)mx + ma * ax + mc * ay;
    b->cy = (float)my + ma * ay - mc * ax;
    b->ax = ax;
    b->ay = ay;
    b->l = hi_a - lo_a + 2.0f * half;
    b->w = hi_c - lo_c + 2.0f * halfc;
}

static int cell_at(const nail__scan *s, float x, float y)
{
    int cx = (int)floorf(x / s->sx), cy = (int)floorf(y / s->sy);
    if (cx < 0 || cy < 0 || cx >= s->w || cy >= s->h)
        return -1;
    return cy * s->w + cx;
}

/* How far skin continues beyond the end at +axis (sign 1) or -axis (-1),
 * in nail lengths (up to 2), averaged over three lines along the axis: the
 * finger continues far behind the cuticle; beyond the free edge there is
 * background or only the fingertip's pad, and beside the nail only the
 * nail fold before a gap. A gap of up to two cells (the nail's mixed rim)
 * is allowed where the run starts. */
static float skin_run(const nail__scan *s, const nbox *b, int sign)
{
    float step = 0.5f * (s->sx < s->sy ? s->sx : s->sy);
    float max_len = 2.0f * b->l;
    float total = 0.0f;
    for (int j = -1; j <= 1; j++) {
        float c = 0.25f * (float)j * b->w;
        float run = 0.0f;
        int started = 0, misses = 0;
        for (float t = 0.5f * b->l; t < 0.5f * b->l + max_len; t += step) {
            float tt = t * (float)sign;
            int i = cell_at(s, b->cx + tt * b->ax + c * b->ay, b->cy + tt * b->ay - c * b->ax);
            if (i < 0)
                break;
            if (s->cls[i] == NAIL__PX_SKIN) {
                started = 1;
                run += step;
            } else if (started || ++misses > 4) { /* 4 half-cells = 2 cells */
                break;
            }
        }
        total += run;
    }
    return total / (3.0f * b->l);
}

/* Points the axis from the cuticle to the free edge. Candidates are both
 * directions of the long axis, and for a nearly square nail (where the long
 * axis means little) both directions of the other axis too. Each is scored
 * on the local cue (skin beyond the cuticle end, the finger, and not beyond
 * the free edge) and the global one (the free edge points away from the
 * hand's skin as a whole); with no skin at all, the tip is the upper end. */
static void orient(const nail__scan *s, nbox *b)
{
    float hx = 0.0f, hy = 0.0f;
    int have_hand = 0;
    if (s && s->has_skin) {
        double sx = 0.0, sy = 0.0, n = 0.0;
        for (int i = 0; i < s->w * s->h; i++)
            if (s->cls[i] == NAIL__PX_SKIN) {
                sx += ((i % s->w) + 0.5) * s->sx;
                sy += ((i / s->w) + 0.5) * s->sy;
                n += 1.0;
            }
        if (n > 0.0) {
            hx = b->cx - (float)(sx / n);
            hy = b->cy - (float)(sy / n);
            float len = sqrtf(hx * hx + hy * hy);
            if (len > 1e-3f) {
                hx /= len;
                hy /= len;
                have_hand = 1;
            }
        }
    }
    int ncand = b->l >= SQUARE_ASPECT * b->w ? 2 : 4;
    nbox best = *b;
    float best_score = -INFINITY;
    for (int k = 0; k < ncand; k++) {
        nbox c = *b;
        if (k >= 2) { /* the other axis */
            c.ax = b->ay;
            c.ay = -b->ax;
            c.w = b->l;
            c.l = b->w;
        }
        if (k % 2) {
            c.ax = -c.ax;
            c.ay = -c.ay;
        }
        float score;
        if (s) {
            float local = skin_run(s, &c, -1) - skin_run(s, &c, 1);
            float global = have_hand ? hx * c.ax + hy * c.ay : 0.0f;
            score = local + ORIENT_GLOBAL * global;
        } else {
            score = -c.ay;
        }
        if (!s || !s->has_skin)
            score = -c.ay; /* no skin: the tip is the upper end */
        if (score > best_score + 1e-6f) {
            best_score = score;
            best = c;
        }
    }
    *b = best;
}

/* ---- sampling ----------------------------------------------------------- */

static void sample_photo(const lq_image *img, float x, float y, float out[3])
{
    x -= 0.5f;
    y -= 0.5f;
    float mx = (float)(img->width - 1), my = (float)(img->height - 1);
    x = x < 0.0f ? 0.0f : (x > mx ? mx : x);
    y = y < 0.0f ? 0.0f : (y > my ? my : y);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < img->width ? x0 + 1 : x0, y1 = y0 + 1 < img->height ? y0 + 1 : y0;
    float fx = x - (float)x0, fy = y - (float)y0;
    const uint8_t *p00 = lq_image_px(img, x0, y0), *p10 = lq_image_px(img, x1, y0);
    const uint8_t *p01 = lq_image_px(img, x0, y1), *p11 = lq_image_px(img, x1, y1);
    for (int c = 0; c < 3; c++) {
        float a = nail_srgb8_to_linear(p00[c]) * (1.0f - fx) + nail_srgb8_to_linear(p10[c]) * fx;
        float b = nail_srgb8_to_linear(p01[c]) * (1.0f - fx) + nail_srgb8_to_linear(p11[c]) * fx;
        out[c] = a * (1.0f - fy) + b * fy;
    }
}

/* Photo position of texel coordinates (u across, v cuticle -> tip, 0..1). */
static void box_point(const nbox *b, float u, float v, float *x, float *y)
{
    u = NAIL_TEXTURE_INSET + u * (1.0f - 2.0f * NAIL_TEXTURE_INSET);
    v = NAIL_TEXTURE_INSET + v * (1.0f - 2.0f * NAIL_TEXTURE_INSET);
    /* left of the nail seen tip-up is (ay, -ax); column 0 (u = 0) is there */
    float t = (v - 0.5f) * b->l, c = (0.5f - u) * b->w;
    *x = b->cx + t * b->ax + c * b->ay;
    *y = b->cy + t * b->ay - c * b->ax;
}

/* lin: W*H*3 linear texels; inside[]: texel on the nail. */
static void resample(const lq_image *img, const nbox *b, const nail_cells *nc, const uint8_t *mask,
                     int mask_stride, float *lin, uint8_t *inside)
{
    const int TW = NAIL_TEXTURE_W, TH = NAIL_TEXTURE_H;
    float foot = fmaxf(b->w / (float)TW, b->l / (float)TH);
    int ns = (int)ceilf(foot);
    ns = ns < 1 ? 1 : (ns > 4 ? 4 : ns);
    for (int j = 0; j < TH; j++)
        for (int i = 0; i < TW; i++) {
            float acc[3] = {0.0f, 0.0f, 0.0f};
            for (int sj = 0; sj < ns; sj++)
                for (int si = 0; si < ns; si++) {
                    float u = ((float)i + ((float)si + 0.5f) / (float)ns) / (float)TW;
                    float v = 1.0f - ((float)j + ((float)sj + 0.5f) / (float)ns) / (float)TH;
                    float x, y, px[3];
                    box_point(b, u, v, &x, &y);
                    sample_photo(img, x, y, px);
                    for (int c = 0; c < 3; c++)
                        acc[c] += px[c];
                }
            float *t = lin + 3 * (j * TW + i);
            for (int c = 0; c < 3; c++)
                t[c] = acc[c] / (float)(ns * ns);
            float x, y;
            box_point(b, ((float)i + 0.5f) / (float)TW, 1.0f - ((float)j + 0.5f) / (float)TH, &x,
                      &y);
            int in = 1;
            if (nc) {
                int cell = cell_at(nc->s, x, y);
                in = cell >= 0 && nc->sel[cell];
            }
            if (in && mask) {
                int mx = (int)x, my = (int)y;
                in = mx >= 0 && my >= 0 && mx < img->width && my < img->height &&
                     mask[(size_t)my * (size_t)mask_stride + (size_t)mx] > 127;
            }
            inside[j * TW + i] = (uint8_t)in;
        }
}

/* Texels outside the outline take the nearest inside texel of their row;
 * rows without one take the nearest row that has one. */
static void fill_outside(float *lin, const uint8_t *inside)
{
    const int TW = NAIL_TEXTURE_W, TH = NAIL_TEXTURE_H;
    int has[NAIL_TEXTURE_H];
    int any = 0;
    for (int j = 0; j < TH; j++) {
        const uint8_t *in = inside + j * TW;
        float *row = lin + 3 * j * TW;
        has[j] = 0;
        for (int i = 0; i < TW; i++)
            has[j] |= in[i];
        if (!has[j])
            continue;
        any = 1;
        for (int i = 0; i < TW; i++) {
            if (in[i])
                continue;
            int best = -1;
            for (int d = 1; d < TW && best < 0; d++) {
                if (i - d >= 0 && in[i - d])
                    best = i - d;
                else if (i + d < TW && in[i + d])
                    best = i + d;
            }
            memcpy(row + 3 * i, row + 3 * best, 3 * sizeof(float));
        }
    }
    if (!any)
        return;
    for (int j = 0; j < TH; j++) {
        if (has[j])
            continue;
        int src = -1;
        for (int d = 1; d < TH && src < 0; d++) {
            if (j - d >= 0 && has[j - d])
                src = j - d;
            else if (j + d < TH && has[j + d])
                src = j + d;
        }
        memcpy(lin + 3 * j * TW, lin + 3 * src * TW, 3 * (size_t)TW * sizeof(float));
    }
}

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Takes the photo's lighting out (in OKLab): the smooth lightness profiles
 * across and along the nail are flattened to the mean, and highlights
 * (outliers in lightness, paler than the rest) take the colour around them. */
static void flatten_lighting(float *lin, float *lab, float *tmp)
{
    const int TW = NAIL_TEXTURE_W, TH = NAIL_TEXTURE_H, n = TW * TH;
    for (int k = 0; k < n; k++) {
        nail_lin l = {lin[3 * k], lin[3 * k + 1], lin[3 * k + 2]};
        nail_lab o = nail_linear_to_oklab(l);
        lab[3 * k] = o.L;
        lab[3 * k + 1] = o.a;
        lab[3 * k + 2] = o.b;
    }
    /* Highlights first, so that they do not lift the profiles: texels
     * clearly lighter and paler than their row's median. Comparing with the
     * row keeps art that spans the row (a french tip) out of it. */
    uint8_t *hl = (uint8_t *)(tmp + n); /* tmp has room for n floats + n bytes */
    for (int j = 0; j < TH; j++) {
        float *rowL = tmp, *rowC = tmp + TW;
        for (int i = 0; i < TW; i++) {
            const float *p = lab + 3 * (j * TW + i);
            rowL[i] = p[0];
            rowC[i] = sqrtf(p[1] * p[1] + p[2] * p[2]);
        }
        qsort(rowL, TW, sizeof *rowL, cmp_float);
        qsort(rowC, TW, sizeof *rowC, cmp_float);
        float mL = rowL[TW / 2], mC = rowC[TW / 2];
        for (int i = 0; i < TW; i++) {
            const float *p = lab + 3 * (j * TW + i);
            float c = sqrtf(p[1] * p[1] + p[2] * p[2]);
            hl[j * TW + i] = p[0] > mL + HIGHLIGHT_DL && c < mC + 0.01f;
        }
    }
    for (int j = 0; j < TH; j++)
        for (int i = 0; i < TW; i++) {
            int k = j * TW + i;
            if (!hl[k])
                continue;
            double acc[3] = {0, 0, 0}, cnt = 0;
            for (int r = 3; r <= 12 && cnt == 0; r += 3)
                for (int y = j - r; y <= j + r; y++)
                    for (int x = i - r; x <= i + r; x++)
                        if (x >= 0 && y >= 0 && x < TW && y < TH && !hl[y * TW + x]) {
                            for (int c = 0; c < 3; c++)
                                acc[c] += lab[3 * (y * TW + x) + c];
                            cnt += 1.0;
                        }
            if (cnt > 0)
                for (int c = 0; c < 3; c++)
                    lab[3 * k + c] = (float)(acc[c] / cnt);
        }
    /* Across: the nail curves, so the light falls off toward its sides. Fit
     * L(u) = c0 + c1 u + c2 u^2 to the column medians (medians and a
     * quadratic ignore the art: stripes, dots) and take the fit's variation
     * out. Along the nail nothing is flattened: bands along it are the art
     * (a french tip, an ombre). */
    /* Only columns whose colour is the nail's main colour (median a/b close
     * to the texture's) take part: a stripe of another colour is art. */
    float med[NAIL_TEXTURE_W], ca[NAIL_TEXTURE_W], cb[NAIL_TEXTURE_W];
    for (int i = 0; i < TW; i++) {
        for (int c = 0; c < 3; c++) {
            for (int j = 0; j < TH; j++)
                tmp[j] = lab[3 * (j * TW + i) + c];
            qsort(tmp, TH, sizeof *tmp, cmp_float);
            float v = tmp[TH / 2];
            if (c == 0)
                med[i] = v;
            else if (c == 1)
                ca[i] = v;
            else
                cb[i] = v;
        }
    }
    /* compared as a/L and b/L, which do not change when the light on a
     * colour does (OKLab scales L, a and b alike with intensity) */
    for (int i = 0; i < n; i++)
        tmp[i] = lab[3 * i + 1] / fmaxf(lab[3 * i], 1e-3f);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_float);
    float main_a = tmp[n / 2];
    for (int i = 0; i < n; i++)
        tmp[i] = lab[3 * i + 2] / fmaxf(lab[3 * i], 1e-3f);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_float);
    float main_b = tmp[n / 2];
    double m[3][4] = {{0}};
    int used = 0;
    for (int i = 0; i < TW; i++) {
        float l = fmaxf(med[i], 1e-3f);
        float da = ca[i] / l - main_a, db = cb[i] / l - main_b;
        if (da * da + db * db > SHADING_AB * SHADING_AB)
            continue;
        double u = ((double)i + 0.5) / TW - 0.5, pw[3] = {1.0, u, u * u};
        for (int r = 0; r < 3; r++) {
            for (int c = 0; c < 3; c++)
                m[r][c] += pw[r] * pw[c];
            m[r][3] += pw[r] * med[i];
        }
        used++;
    }
    /* Gauss-Jordan on the 3x3 normal equations */
    int ok = used >= TW / 4;
    for (int c = 0; c < 3 && ok; c++) {
        if (fabs(m[c][c]) < 1e-12) {
            ok = 0;
            break;
        }
        for (int r = 0; r < 3; r++) {
            if (r == c)
                continue;
            double f = m[r][c] / m[c][c];
            for (int k = 0; k < 4; k++)
                m[r][k] -= f * m[c][k];
        }
    }
    double c0 = ok ? m[0][3] / m[0][0] : 0.0, c1 = ok ? m[1][3] / m[1][1] : 0.0,
           c2 = ok ? m[2][3] / m[2][2] : 0.0;
    double fit_mean = 0.0;
    for (int i = 0; i < TW; i++) {
        double u = ((double)i + 0.5) / TW - 0.5;
        tmp[i] = (float)(c0 + c1 * u + c2 * u * u);
        fit_mean += tmp[i];
    }
    fit_mean /= TW;
    for (int j = 0; j < TH; j++)
        for (int i = 0; i < TW; i++)
            lab[3 * (j * TW + i)] -= tmp[i] - (float)fit_mean;
    for (int k = 0; k < n; k++) {
        nail_lab o = {lab[3 * k], lab[3 * k + 1], lab[3 * k + 2]};
        nail_lin l = nail_oklab_to_linear(o);
        lin[3 * k] = l.r;
        lin[3 * k + 1] = l.g;
        lin[3 * k + 2] = l.b;
    }
}

/* ---- public ------------------------------------------------------------- */

static void centre_box(const lq_image *img, nbox *b)
{
    float side = (float)(img->width < img->height ? img->width : img->height);
    b->cx = 0.5f * (float)img->width;
    b->cy = 0.5f * (float)img->height;
    b->ax = 0.0f;
    b->ay = -1.0f; /* tip up */
    b->w = CENTRE_WIDTH * side;
    b->l = fminf(2.0f * b->w, 0.9f * (float)img->height);
}

int nail_reference_texture(const lq_image *ref, const nail_texture_opts *opts, nail_texture *out)
{
    nail_texture_opts o = {NULL, 0, 0};
    if (opts)
        o = *opts;
    if (!ref || !out)
        return LQ_EINVAL;

    nail__scan photo, ms;
    memset(&ms, 0, sizeof ms);
    int rc = nail__scan_create(ref, NULL, 0, WORK_SIZE, &photo);
    if (rc < 0)
        return rc;
    nail__scan_classify(&photo);
    if (o.mask) {
        rc = nail__scan_create(ref, o.mask, o.mask_stride, MASK_WORK_SIZE, &ms);
        if (rc < 0) {
            nail__scan_free(&photo);
            return rc;
        }
    }

    const nail__scan *grid = o.mask ? &ms : &photo;
    const size_t n = (size_t)grid->w * (size_t)grid->h;
    const size_t tn = (size_t)NAIL_TEXTURE_W * NAIL_TEXTURE_H;
    uint8_t *sel_in = calloc(n, 1), *sel = calloc(n, 1), *seen = calloc(n, 1);
    int *label = malloc(n * sizeof *label), *queue = malloc(n * sizeof *queue);
    float *score = malloc(n * sizeof *score);
    float *lin = malloc(tn * 3 * sizeof *lin), *lab = malloc(tn * 3 * sizeof *lab);
    float *tmp = malloc(tn * sizeof *tmp + tn);
    uint8_t *inside = malloc(tn);
    nail_texture *res = malloc(sizeof *res);
    if (!sel_in || !sel || !seen || !label || !queue || !score || !lin || !lab || !tmp || !inside ||
        !res) {
        rc = LQ_ENOMEM;
        goto done;
    }
    memset(res, 0, sizeof *res);

    nbox b;
    nail_cells cells = {grid, sel};
    int found = 0;
    if (o.mask) {
        for (size_t i = 0; i < n; i++)
            sel_in[i] = ms.wgt[i] >= 0.5f;
        found = largest_component(&ms, sel_in, ms.wgt, sel, label, queue) > 0;
        if (!found) { /* only thin slivers: take any masked cell */
            for (size_t i = 0; i < n; i++)
                sel_in[i] = ms.wgt[i] > 0.0f;
            found = largest_component(&ms, sel_in, ms.wgt, sel, label, queue) > 0;
        }
        res->source = NAIL_TEXTURE_FROM_MASK;
    } else if (best_region(&photo, sel, score) > 0) {
        add_art_regions(&photo, sel, queue, label);
        fill_holes(&photo, sel, queue, seen);
        found = 1;
        res->source = NAIL_TEXTURE_FROM_NAIL;
    }
    if (found) {
        fit_box(grid, sel, &b);
        orient(&photo, &b);
    } else {
        centre_box(ref, &b);
        res->source = NAIL_TEXTURE_FROM_CENTRE;
    }

    resample(ref, &b, found ? &cells : NULL, o.mask, o.mask_stride, lin, inside);
    fill_outside(lin, inside);
    if (!o.keep_lighting)
        flatten_lighting(lin, lab, tmp);

    double acc[3] = {0, 0, 0};
    for (size_t k = 0; k < tn; k++) {
        nail_lin l = {lin[3 * k], lin[3 * k + 1], lin[3 * k + 2]};
        nail_rgb c = nail_linear_to_rgb(l);
        res->rgb[3 * k] = c.r;
        res->rgb[3 * k + 1] = c.g;
        res->rgb[3 * k + 2] = c.b;
        acc[0] += nail_srgb8_to_linear(c.r);
        acc[1] += nail_srgb8_to_linear(c.g);
        acc[2] += nail_srgb8_to_linear(c.b);
    }
    nail_lin m = {(float)(acc[0] / tn), (float)(acc[1] / tn), (float)(acc[2] / tn)};
    res->mean = nail_linear_to_rgb(m);
    res->width = NAIL_TEXTURE_W;
    res->height = NAIL_TEXTURE_H;
    res->cx = b.cx;
    res->cy = b.cy;
    res->ax = b.ax;
    res->ay = b.ay;
    res->box_width = b.w;
    res->box_length = b.l;
    *out = *res;
    rc = 0;
done:
    free(sel_in);
    free(sel);
    free(seen);
    free(label);
    free(queue);
    free(score);
    free(lin);
    free(lab);
    free(tmp);
    free(inside);
    free(res);
    nail__scan_free(&ms);
    nail__scan_free(&photo);
    return rc;
}

void nail_texture_view(const nail_texture *t, lq_image *view)
{
    view->width = NAIL_TEXTURE_W;
    view->height = NAIL_TEXTURE_H;
    view->stride = 3 * NAIL_TEXTURE_W;
    view->data = (uint8_t *)t->rgb;
    view->owned = 0;
}

nail_rgb nail_texture_sample(const nail_texture *t, float u, float v)
{
    u = u < 0.0f ? 0.0f : (u > 1.0f ? 1.0f : u);
    v = v < 0.0f ? 0.0f : (v > 1.0f ? 1.0f : v);
    if (u != u)
        u = 0.0f;
    if (v != v)
        v = 0.0f;
    float x = u * (float)(NAIL_TEXTURE_W - 1), y = (1.0f - v) * (float)(NAIL_TEXTURE_H - 1);
    int x0 = (int)x, y0 = (int)y;
    int x1 = x0 + 1 < NAIL_TEXTURE_W ? x0 + 1 : x0, y1 = y0 + 1 < NAIL_TEXTURE_H ? y0 + 1 : y0;
    float fx = x - (float)x0, fy = y - (float)y0;
    const uint8_t *p00 = t->rgb + 3 * (y0 * NAIL_TEXTURE_W + x0);
    const uint8_t *p10 = t->rgb + 3 * (y0 * NAIL_TEXTURE_W + x1);
    const uint8_t *p01 = t->rgb + 3 * (y1 * NAIL_TEXTURE_W + x0);
    const uint8_t *p11 = t->rgb + 3 * (y1 * NAIL_TEXTURE_W + x1);
    nail_lin o;
    float *oc[3] = {&o.r, &o.g, &o.b};
    for (int c = 0; c < 3; c++) {
        float a = nail_srgb8_to_linear(p00[c]) * (1.0f - fx) + nail_srgb8_to_linear(p10[c]) * fx;
        float b = nail_srgb8_to_linear(p01[c]) * (1.0f - fx) + nail_srgb8_to_linear(p11[c]) * fx;
        *oc[c] = a * (1.0f - fy) + b * fy;
    }
    return nail_linear_to_rgb(o);
}
