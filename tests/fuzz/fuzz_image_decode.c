/*
 * fuzz_image_decode.c - libFuzzer target for the image decoders
 * (src/image/codec*.c): sniffing, probing, decoding under tight limits, the
 * EXIF orientation parser, and a warp of whatever decodes; the Y'CbCr path
 * (lq_image_decode_ex) must agree with the plain decoder on success and
 * failure, and its planes survive a rectangle update and an encode.
 *
 * Build: CC=clang cmake -S . -B build-fuzz -DLQ_FUZZ=ON && cmake --build build-fuzz
 * Run:   build-fuzz/tests/fuzz/fuzz_image_decode tests/fuzz/corpus/image
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "image/codec.h"
#include "image/codec_internal.h"
#include "image/warp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* Small limits keep each run fast and the fuzzer's RSS bounded; the
     * header-before-allocation checks are what is under test. */
    const lq_decode_limits lim = {2048, 2048, 1u << 20, 1u << 20};
    lq_format fmt = LQ_FMT_UNKNOWN;
    int pw = 0, ph = 0;
    int probe_rc = lq_image_probe(data, size, &fmt, &pw, &ph);
    int o = lq__jpeg_exif_orientation(data, size);
    if (o < 1 || o > 8)
        abort();

    lq_image img = {0};
    char err[128];
    int rc = lq_image_decode(data, size, &lim, &img, err, sizeof err);
    if (rc != 0) {
        if (img.data)
            abort(); /* outputs must stay untouched on failure */
        return 0;
    }
    /* whatever decodes was probed first, and fits the limits */
    if (probe_rc != 0 || img.width != pw || img.height != ph || img.width > lim.max_width ||
        img.height > lim.max_height || (uint64_t)img.width * (uint64_t)img.height > lim.max_pixels)
        abort();
    float tensor[8 * 8 * 3];
    lq_affine M = lq_affine_letterbox(img.width, img.height, 8, NULL, NULL);
    lq_warp_affine_to_tensor(&img, &M, 8, 8, 1.0f / 255.0f, 0.0f, LQ_BORDER_ZERO, tensor);

    lq_image img2 = {0};
    lq_yuv420 yuv;
    if (lq_image_decode_ex(data, size, &lim, &img2, &yuv, err, sizeof err) != 0)
        abort(); /* the plain decoder took it */
    if (img2.width != img.width || img2.height != img.height)
        abort();
    if (yuv.width) {
        if (fmt != LQ_FMT_WEBP || yuv.width != img.width || yuv.height != img.height)
            abort();
        const lq_pixel_rect r = {img.width / 3, img.height / 3, img.width / 2 + 1,
                                 img.height / 2 + 1};
        lq_yuv420_update_rect(&yuv, &img2, &r);
        lq_encoded enc = {0};
        if (img.width * img.height <= 256 * 256 && lq_image_encode_yuv(&yuv, 50, 0, &enc) != 0)
            abort();
        lq_encoded_free(&enc);
    }
    lq_yuv420_free(&yuv);
    lq_image_free(&img2);
    lq_image_free(&img);
    return 0;
}
