/*
 * gen_image_corpus.c - writes the seed corpus of fuzz_image_decode: tiny
 * images of every kind the decoders handle (JPEG baseline/progressive/gray
 * with EXIF in both byte orders, PNG of each colour type, WebP lossy/
 * lossless/alpha) and a few bare headers. Usage: gen_image_corpus <dir>
 */
#include <spng.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>
#include <webp/encode.h>

#include "image/codec.h"

static int write_file(const char *dir, const char *name, const void *buf, size_t len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(buf, 1, len, f) != len) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f)
            fclose(f);
        return 1;
    }
    printf("%-28s %5zu bytes\n", name, len);
    return fclose(f) != 0;
}

static void fill(uint8_t *px, int w, int h, int ch)
{
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++)
            for (int c = 0; c < ch; c++)
                px[(y * w + x) * ch + c] = (uint8_t)(x * 30 + y * 7 + c * 60);
}

static int jpeg(const char *dir, const char *name, int gray, int flags, const uint8_t *app1,
                size_t app1_len)
{
    uint8_t px[8 * 8 * 3];
    fill(px, 8, 8, 3);
    tjhandle tj = tjInitCompress();
    unsigned char *out = NULL;
    unsigned long len = 0;
    int rc = tjCompress2(tj, px, 8, 0, 8, TJPF_RGB, &out, &len, gray ? TJSAMP_GRAY : TJSAMP_420,
                         40, flags);
    tjDestroy(tj);
    if (rc)
        return 1;
    uint8_t *buf = malloc(len + app1_len);
    memcpy(buf, out, 2);
    memcpy(buf + 2, app1, app1_len);
    memcpy(buf + 2 + app1_len, out + 2, len - 2);
    rc = write_file(dir, name, buf, len + app1_len);
    free(buf);
    tjFree(out);
    return rc;
}

static size_t exif(uint8_t *b, int be, unsigned o)
{
    /* APP1 "Exif\0\0", TIFF header, IFD0 with one Orientation SHORT entry */
    const uint8_t le[] = {'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 1, 3, 0, 1, 0, 0, 0,
                          (uint8_t)o, 0, 0, 0, 0, 0, 0, 0};
    const uint8_t bg[] = {'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 1, 0x12, 0, 3, 0, 0, 0, 1,
                          0, (uint8_t)o, 0, 0, 0, 0, 0, 0};
    size_t n = sizeof le, seg = 2 + 6 + n;
    b[0] = 0xff, b[1] = 0xe1, b[2] = 0, b[3] = (uint8_t)seg;
    memcpy(b + 4, "Exif\0\0", 6);
    memcpy(b + 10, be ? bg : le, n);
    return 2 + seg;
}

static int spng_out(spng_ctx *ctx, void *user, void *src, size_t n)
{
    (void)ctx;
    lq_encoded *e = user;
    if (e->len + n > e->cap) {
        e->cap = (e->len + n) * 2;
        e->data = realloc(e->data, e->cap);
        if (!e->data)
            return SPNG_IO_ERROR;
    }
    memcpy(e->data + e->len, src, n);
    e->len += n;
    return 0;
}

static int png(const char *dir, const char *name, int color_type, int depth, int interlace)
{
    static const int channels[] = {1, 0, 3, 1, 2, 0, 4};
    uint8_t px[8 * 8 * 8];
    int bytes_per_sample = depth == 16 ? 2 : 1;
    size_t row = depth < 8 ? (size_t)(8 * depth + 7) / 8
                           : (size_t)8 * channels[color_type] * bytes_per_sample;
    fill(px, (int)row, 8, 1);
    lq_encoded e = {0};
    spng_ctx *ctx = spng_ctx_new(SPNG_CTX_ENCODER);
    struct spng_ihdr ihdr = {8, 8, (uint8_t)depth, (uint8_t)color_type, 0, 0, (uint8_t)interlace};
    spng_set_png_stream(ctx, spng_out, &e);
    spng_set_ihdr(ctx, &ihdr);
    if (color_type == SPNG_COLOR_TYPE_INDEXED) {
        struct spng_plte plte = {.n_entries = 1u << depth};
        for (unsigned k = 0; k < plte.n_entries; k++)
            plte.entries[k] = (struct spng_plte_entry){(uint8_t)(k * 60), 90, (uint8_t)k, 0};
        spng_set_plte(ctx, &plte);
    }
    int rc = spng_encode_image(ctx, px, row * 8, SPNG_FMT_PNG, SPNG_ENCODE_FINALIZE);
    spng_ctx_free(ctx);
    if (!rc)
        rc = write_file(dir, name, e.data, e.len);
    free(e.data);
    return rc != 0;
}

static int webp(const char *dir, const char *name, int lossless, int alpha)
{
    uint8_t px[8 * 8 * 4];
    fill(px, 8, 8, 4);
    uint8_t *out = NULL;
    size_t n;
    if (alpha)
        n = lossless ? WebPEncodeLosslessRGBA(px, 8, 8, 32, &out)
                     : WebPEncodeRGBA(px, 8, 8, 32, 50, &out);
    else
        n = lossless ? WebPEncodeLosslessRGB(px, 8, 8, 24, &out)
                     : WebPEncodeRGB(px, 8, 8, 24, 50, &out);
    int rc = n ? write_file(dir, name, out, n) : 1;
    WebPFree(out);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s <corpus-dir>\n", argv[0]);
        return 2;
    }
    const char *d = argv[1];
    uint8_t app1[64];
    int bad = 0;
    bad |= jpeg(d, "baseline.jpg", 0, 0, NULL, 0);
    bad |= jpeg(d, "gray.jpg", 1, 0, NULL, 0);
    bad |= jpeg(d, "progressive.jpg", 0, TJFLAG_PROGRESSIVE, NULL, 0);
    bad |= jpeg(d, "exif6_be.jpg", 1, 0, app1, exif(app1, 1, 6));
    bad |= jpeg(d, "exif3_le.jpg", 1, 0, app1, exif(app1, 0, 3));
    bad |= png(d, "rgb8.png", SPNG_COLOR_TYPE_TRUECOLOR, 8, 0);
    bad |= png(d, "rgba16_interlaced.png", SPNG_COLOR_TYPE_TRUECOLOR_ALPHA, 16, 1);
    bad |= png(d, "gray1.png", SPNG_COLOR_TYPE_GRAYSCALE, 1, 0);
    bad |= png(d, "gray_alpha8.png", SPNG_COLOR_TYPE_GRAYSCALE_ALPHA, 8, 0);
    bad |= png(d, "palette2.png", SPNG_COLOR_TYPE_INDEXED, 2, 1);
    bad |= webp(d, "lossy.webp", 0, 0);
    bad |= webp(d, "lossy_alpha.webp", 0, 1);
    bad |= webp(d, "lossless.webp", 1, 0);
    bad |= webp(d, "lossless_alpha.webp", 1, 1);
    /* bare headers claiming large sizes */
    const uint8_t vp8x[] = {'R', 'I', 'F', 'F', 22,  0,   0,   0,   'W', 'E', 'B', 'P', 'V', 'P', '8',
                            'X', 10,  0,   0,   0,   0,   0,   0,   0,   0x5f, 0xea, 0, 0x5f, 0xea, 0};
    bad |= write_file(d, "vp8x_header.webp", vp8x, sizeof vp8x);
    const uint8_t sof[] = {0xff, 0xd8, 0xff, 0xc0, 0, 11, 8, 0xfd, 0xe8, 0xfd, 0xe8, 1, 1, 0x11, 0,
                           0xff, 0xda, 0, 8, 1, 1, 0, 0, 63, 0};
    bad |= write_file(d, "sof_header.jpg", sof, sizeof sof);
    return bad;
}
