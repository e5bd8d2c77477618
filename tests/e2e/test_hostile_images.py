"""Hostile peers, batch 3: truncated, corrupt, lying and oversized images.

Every format the service takes (lossy and lossless WebP, baseline and progressive JPEG, PNG)
truncated and corrupted at several points; headers that claim huge dimensions; small files
that expand hugely (decompression bombs: image data, zTXt, iCCP, chunk floods); formats the
service does not take. Each case is one frame with its exact answer (error code and a phrase of
the message, or a processed frame). The peak RSS of the server (VmHWM) may grow by under
200 MB over the whole batch (about 60 MB measured), where one lying header believed would cost
768 MB or more: nothing was decoded that the limits forbid. After every case the canary frame
must still come back exactly as at the start.
"""
import base64
import json
import time

import pytest

import badimages as B
from conftest import HEADER_SIZE, SANITIZED
from hostile import module_server, open_raw_session

srv = module_server("--rate-limit-fps", "0")

SID = "img"
OK = ("processed_frame", None, "")


def err(code, needle=""):
    return ("error", code, needle)


TRUNC = err("INVALID_FRAME", "cannot decode the image")
HEADER = err("INVALID_FRAME", "the image header is corrupt")
TOO_BIG = err("FRAME_TOO_LARGE", "the limit is 1920x1080 (either orientation)")
NOT_OURS = err("UNSUPPORTED_FORMAT", "not WebP, JPEG or PNG")


def _formats():
    return {"webp_lossy": B.webp_lossy(), "webp_lossless": B.webp_lossless(),
            "jpeg_baseline": B.jpeg_baseline(), "jpeg_progressive": B.jpeg_progressive(),
            "png": B.png_rgb()}


# format -> expected outcome of: 16 bytes, 40 bytes, half, all but the last byte, 64 bytes
# inverted at the middle, 16 bytes inverted at 10%
DAMAGE = {
    "webp_lossy": [HEADER, TRUNC, TRUNC, TRUNC, TRUNC, TRUNC],
    "webp_lossless": [HEADER, TRUNC, TRUNC, TRUNC, TRUNC, TRUNC],
    "jpeg_baseline": [HEADER, HEADER, err("INVALID_FRAME", "Premature end of JPEG file"),
                      err("INVALID_FRAME", "Premature end of JPEG file"),
                      err("INVALID_FRAME", "corrupt JPEG data"),
                      OK],  # the inverted bytes land in data that still decodes
    "jpeg_progressive": [HEADER, HEADER, err("INVALID_FRAME", "Premature end of JPEG file"),
                         err("INVALID_FRAME", "Premature end of JPEG file"),
                         err("INVALID_FRAME", "corrupt JPEG data"),
                         err("INVALID_FRAME", "bad Huffman code")],
    "png": [HEADER, err("INVALID_FRAME", "end of stream"), err("INVALID_FRAME", "end of stream"),
            OK,  # only the CRC of IEND is missing: every pixel is there
            err("INVALID_FRAME", "invalid scanline filter"),
            err("INVALID_FRAME", "invalid scanline filter")],
}
DAMAGE_KINDS = ["first_16_bytes", "first_40_bytes", "half", "all_but_last_byte",
                "inverted_middle", "inverted_early"]


def damaged(data, kind):
    return {"first_16_bytes": lambda: data[:16], "first_40_bytes": lambda: data[:40],
            "half": lambda: data[:len(data) // 2], "all_but_last_byte": lambda: data[:-1],
            "inverted_middle": lambda: B.flipped(data, 0.5, 64),
            "inverted_early": lambda: B.flipped(data, 0.1, 16)}[kind]()


def _crafted():
    wl, jb, jp = B.webp_lossy(), B.jpeg_baseline(), B.jpeg_progressive()
    return {
        # headers that claim huge (or no) dimensions: refused before any pixel is allocated
        "png_claims_100000x100000": (B.png_claims(100000, 100000),
                                     err("FRAME_TOO_LARGE", "100000x100000")),
        "png_claims_1921x1080": (B.png_claims(1921, 1080), err("FRAME_TOO_LARGE", "1921x1080")),
        "png_claims_1081x1921": (B.png_claims(1081, 1921), err("FRAME_TOO_LARGE", "1081x1921")),
        "png_claims_width_0": (B.png_claims(0, 480), HEADER),
        "jpeg_sof_65500x65500": (B.jpeg_set_dims(jb, 65500, 65500),
                                 err("FRAME_TOO_LARGE", "65500x65500")),
        "jpeg_sof_2000x1080": (B.jpeg_set_dims(jb, 2000, 1080),
                               err("FRAME_TOO_LARGE", "2000x1080")),
        "jpeg_sof_width_0": (B.jpeg_set_dims(jb, 0, 480), HEADER),
        "webp_vp8_claims_16383x16383": (B.webp_vp8_claims(wl, 16383, 16383),
                                        err("FRAME_TOO_LARGE", "16383x16383")),
        "webp_vp8l_claims_16384x16384": (B.webp_vp8l_claims(16384, 16384),
                                         err("FRAME_TOO_LARGE", "16384x16384")),
        "webp_vp8x_canvas_16384_over_640x480": (B.webp_vp8x_claims(wl, 16384, 16384), HEADER),
        "webp_riff_size_2gb": (B.webp_riff_size_lies(wl), TRUNC),
        # decompression bombs
        "png_black_1920x1080_6kb": (B.png_black(1920, 1080), err("LOW_LIGHT", "too low")),
        "png_black_1080x1920_6kb": (B.png_black(1080, 1920), err("LOW_LIGHT", "too low")),
        "png_idat_inflates_50x_too_much": (B.png_idat_too_long(640, 480, 50),
                                           err("LOW_LIGHT", "too low")),
        "png_ztxt_inflates_to_200mb": (B.png_ztxt_bomb(64, 64, 200 << 20),
                                       err("FRAME_TOO_LARGE", "chunk/cache limits")),
        "png_iccp_inflates_to_200mb": (B.png_iccp_bomb(64, 64, 200 << 20),
                                       err("FRAME_TOO_LARGE", "chunk/cache limits")),
        "png_200000_text_chunks": (B.png_many_chunks(64, 64, 200000),
                                   err("FRAME_TOO_LARGE", "chunk/cache limits")),
        "jpeg_600_extra_scans": (B.jpeg_many_scans(jp, 600),
                                 err("INVALID_FRAME", "progression")),
        # broken in other ways
        "png_ihdr_crc_wrong": (B.png_bad_crc(), err("INVALID_FRAME", "invalid chunk checksum")),
        "png_adler32_wrong": (B.png_bad_adler(), err("INVALID_FRAME", "IDAT stream error")),
        "png_filter_type_9": (B.png_bad_filter(), err("INVALID_FRAME", "invalid scanline filter")),
        "png_colour_type_5": (B.png_bad_colour_type(), HEADER),
        "png_1x1": (B.png_black(1, 1), err("LOW_LIGHT", "too low")),
        # variants and formats the service does not take
        "jpeg_cmyk": (B.jpeg_cmyk(), err("UNSUPPORTED_FORMAT", "CMYK JPEG is not supported")),
        "webp_animated": (B.webp_animated(), NOT_OURS),
        "gif": (B.gif(), NOT_OURS),
        "bmp": (B.bmp(), NOT_OURS),
        "tiff": (B.tiff(), NOT_OURS),
        "svg": (B.svg(), NOT_OURS),
        "zero_bytes_only": (bytes(4096), NOT_OURS),
    }


@pytest.fixture(scope="module")
def images():
    fmts = _formats()
    cases = {}
    for fmt, data in fmts.items():
        cases[f"{fmt}_intact"] = (data, OK)
        for kind, want in zip(DAMAGE_KINDS, DAMAGE[fmt]):
            cases[f"{fmt}_{kind}"] = (damaged(data, kind), want)
    cases.update(_crafted())
    return cases


CASE_NAMES = ([f"{f}_intact" for f in DAMAGE] +
              [f"{f}_{k}" for f in DAMAGE for k in DAMAGE_KINDS] +
              ["png_claims_100000x100000", "png_claims_1921x1080", "png_claims_1081x1921",
               "png_claims_width_0", "jpeg_sof_65500x65500", "jpeg_sof_2000x1080",
               "jpeg_sof_width_0", "webp_vp8_claims_16383x16383", "webp_vp8l_claims_16384x16384",
               "webp_vp8x_canvas_16384_over_640x480", "webp_riff_size_2gb",
               "png_black_1920x1080_6kb", "png_black_1080x1920_6kb",
               "png_idat_inflates_50x_too_much", "png_ztxt_inflates_to_200mb",
               "png_iccp_inflates_to_200mb", "png_200000_text_chunks", "jpeg_600_extra_scans",
               "png_ihdr_crc_wrong", "png_adler32_wrong", "png_filter_type_9",
               "png_colour_type_5", "png_1x1", "jpeg_cmyk", "webp_animated", "gif", "bmp",
               "tiff", "svg", "zero_bytes_only"])


def vm_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise AssertionError(key)


def send(ws, seq, data, encoding):
    hdr = {"type": "process_frame", "session_id": SID, "sequence": seq}
    if encoding == 1:
        ws.send_text(json.dumps(hdr))
        ws.send_binary(data)
    elif encoding == 2:
        ws.send_binary(json.dumps(hdr).encode().ljust(HEADER_SIZE) + data)
    else:
        ws.send_text(json.dumps({**hdr, "frame_data": base64.b64encode(data).decode()}))


def answer(ws, encoding):
    m = ws.recv_message()
    if isinstance(m, bytes):
        return json.loads(m[:HEADER_SIZE].rstrip(b" \0"))
    out = json.loads(m)
    if out["type"] == "processed_frame" and encoding == 1:
        assert isinstance(ws.recv_message(), bytes)
    return out


def check(got, want, seq):
    kind, code, needle = want
    assert got["type"] == kind, (got, want)
    assert got["sequence"] == seq, got
    if kind == "error":
        assert got["code"] == code and needle in got["message"], (got, want)
        assert got["recoverable"] is True, got


@pytest.fixture(scope="module")
def hwm_start(srv):
    server, canary = srv
    return vm_kb(server.proc.pid, "VmHWM")


@pytest.mark.parametrize("name", CASE_NAMES)
def test_bad_image(srv, images, hwm_start, name):
    server, canary = srv
    data, want = images[name]
    ws = open_raw_session(server.port, SID)
    t0 = time.time()
    send(ws, 1, data, 1)
    check(answer(ws, 1), want, 1)
    assert time.time() - t0 < 5.0, f"{name} took {time.time() - t0:.1f} s"
    ws.close()
    canary.check(name)


@pytest.mark.parametrize("encoding", [2, 3])
@pytest.mark.parametrize("name", ["png_claims_100000x100000", "png_ztxt_inflates_to_200mb",
                                  "webp_lossy_half", "gif"])
def test_bad_image_other_encodings(srv, images, name, encoding):
    """The same answers when the image comes in the 1024-byte header or base64 encodings."""
    server, canary = srv
    data, want = images[name]
    ws = open_raw_session(server.port, SID)
    send(ws, 7, data, encoding)
    check(answer(ws, encoding), want, 7)
    ws.close()


def test_zz_peak_memory_stayed_bounded(srv, hwm_start):
    """Runs last in the module: over all the bombs, the server's peak RSS grew by far less
    than one lying header would have cost had it been believed."""
    server, canary = srv
    grown_mb = (vm_kb(server.proc.pid, "VmHWM") - hwm_start) / 1024
    if SANITIZED:
        pytest.skip("ASan's quarantine keeps freed blocks resident: peak RSS is not ours")
    # measured: about 60 MB (two workers' arenas at their largest: 1920x1080 frames, spng's
    # 16 MB chunk cache, a 3 MB message); one believed 16384x16384 header alone needs 768 MB
    assert grown_mb < 200, f"peak RSS grew by {grown_mb:.0f} MB during the image batch"
