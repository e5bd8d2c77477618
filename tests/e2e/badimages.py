"""Broken, hostile and odd images for test_hostile_images.py, made from the canary frame.

Everything is built here, from the bytes up where the point is a lie in a header (PNG chunks
with their CRCs, a JPEG SOF, WebP VP8/VP8L/VP8X headers), or with ImageMagick (conftest.convert)
for the plain encodings. Each function returns bytes.
"""
import os
import struct
import zlib

from conftest import DATA, convert, read, video_frames
from hostile import CANARY_FRAME

SRC = video_frames("palm_reach")[CANARY_FRAME]  # 640x480 WebP


def webp_lossy():
    return read(SRC)


def webp_lossless():
    return convert(SRC, ["-define", "webp:lossless=true"], ".webp")


def jpeg_baseline():
    return convert(SRC, ["-quality", "85"], ".jpg")


def jpeg_progressive():
    return convert(SRC, ["-interlace", "Plane", "-quality", "85"], ".jpg")


def png_rgb():
    return convert(SRC, [], ".png")


def truncated(data, n):
    return data[:n]


def flipped(data, start_frac=0.5, count=64):
    """count bytes inverted from the middle of the file on."""
    b = bytearray(data)
    s = int(len(b) * start_frac)
    for i in range(s, min(len(b), s + count)):
        b[i] ^= 0xFF
    return bytes(b)


# ---- PNG from chunks -------------------------------------------------------------------

def png_chunk(tag, data, crc=None):
    c = zlib.crc32(tag + data) & 0xFFFFFFFF if crc is None else crc
    return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", c)


def png(width, height, idat, color_type=2, depth=8, extra=(), ihdr_crc=None, interlace=0):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color_type, 0, 0, interlace)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr, ihdr_crc) + b"".join(extra)
            + png_chunk(b"IDAT", idat) + png_chunk(b"IEND", b""))


def zeros_deflated(nbytes, level=9):
    """A zlib stream of nbytes zero bytes, made piece by piece (never all in memory)."""
    z = zlib.compressobj(level)
    piece = bytes(1 << 20)
    out = []
    left = nbytes
    while left > 0:
        n = min(left, len(piece))
        out.append(z.compress(piece[:n]))
        left -= n
    out.append(z.flush())
    return b"".join(out)


def png_black(width, height):
    """A black RGB PNG: rows of filter byte 0 and zeros (tiny, decodes to w*h*3 bytes)."""
    return png(width, height, zeros_deflated((1 + 3 * width) * height))


def png_claims(width, height):
    """IHDR says width x height; the IDAT holds one zero row."""
    return png(width, height, zlib.compress(b"\0" * 16))


def png_idat_too_long(width, height, factor):
    """A valid header whose image data inflates to factor times what the image needs."""
    return png(width, height, zeros_deflated((1 + 3 * width) * height * factor))


def png_ztxt_bomb(width, height, expands_to):
    """A small valid image carrying a zTXt chunk that inflates to expands_to bytes."""
    text = b"Comment\0\0" + zeros_deflated(expands_to)
    return png(width, height, zeros_deflated((1 + 3 * width) * height),
               extra=[png_chunk(b"zTXt", text)])


def png_iccp_bomb(width, height, expands_to):
    prof = b"icc\0\0" + zeros_deflated(expands_to)
    return png(width, height, zeros_deflated((1 + 3 * width) * height),
               extra=[png_chunk(b"iCCP", prof)])


def png_many_chunks(width, height, count):
    chunks = [png_chunk(b"tEXt", b"k\0v")] * count
    return png(width, height, zeros_deflated((1 + 3 * width) * height), extra=chunks)


def png_bad_crc():
    return png(64, 64, zeros_deflated(65 * 3 * 64 + 64), ihdr_crc=0x12345678)


def png_bad_adler():
    z = bytearray(zeros_deflated((1 + 3 * 64) * 64))
    z[-1] ^= 0xFF
    return png(64, 64, bytes(z))


def png_bad_filter():
    row = b"\x09" + b"\0" * (3 * 64)  # filter type 9 does not exist
    return png(64, 64, zlib.compress(row * 64))


def png_bad_colour_type():
    return png(64, 64, zlib.compress(b"\0" * 65 * 64), color_type=5)


# ---- JPEG ---------------------------------------------------------------------------------

def jpeg_set_dims(data, width, height):
    """Rewrites the frame size in the SOF0/SOF2 header."""
    i = 2
    while i + 4 < len(data):
        assert data[i] == 0xFF, "lost in the JPEG markers"
        m = data[i + 1]
        seglen = struct.unpack(">H", data[i + 2:i + 4])[0]
        if m in (0xC0, 0xC1, 0xC2):
            return (data[:i + 5] + struct.pack(">HH", height, width) + data[i + 9:])
        i += 2 + seglen
    raise AssertionError("no SOF marker")


def jpeg_many_scans(data, extra):
    """A progressive JPEG whose last scan is repeated extra times before EOI (more scans
    than libjpeg-turbo's TJFLAG_LIMITSCANS allows when extra is large)."""
    last_sos = data.rfind(b"\xff\xda")
    eoi = data.rfind(b"\xff\xd9")
    scan = data[last_sos:eoi]
    return data[:eoi] + scan * extra + data[eoi:]


def jpeg_cmyk():
    return convert(SRC, ["-colorspace", "CMYK", "-quality", "80"], ".jpg")


# ---- WebP -----------------------------------------------------------------------------------

def riff(chunks):
    body = b"WEBP" + chunks
    return b"RIFF" + struct.pack("<I", len(body)) + body


def webp_chunk(tag, data):
    pad = b"\0" if len(data) & 1 else b""
    return tag + struct.pack("<I", len(data)) + data + pad


def webp_vp8_claims(data, width, height):
    """Rewrites the 14-bit width and height of a lossy WebP's VP8 key frame header."""
    assert data[12:16] == b"VP8 ", data[12:16]
    b = bytearray(data)
    struct.pack_into("<HH", b, 26, width & 0x3FFF, height & 0x3FFF)
    return bytes(b)


def webp_vp8l_claims(width, height):
    """A VP8L header for width x height with no image data behind it."""
    bits = (width - 1) | ((height - 1) << 14) | (0 << 28)  # no alpha, version 0
    return riff(webp_chunk(b"VP8L", b"\x2f" + struct.pack("<I", bits) + b"\0" * 8))


def webp_vp8x_claims(data, width, height):
    """A VP8X extended header claiming a width x height canvas in front of a real image."""
    vp8x = struct.pack("<I", 0)[:4] + (width - 1).to_bytes(3, "little") + \
        (height - 1).to_bytes(3, "little")
    return riff(webp_chunk(b"VP8X", vp8x) + data[12:])


def webp_riff_size_lies(data):
    b = bytearray(data)
    struct.pack_into("<I", b, 4, 0x7FFFFFF0)
    return bytes(b)


def webp_animated():
    frames = [SRC, video_frames("palm_reach")[CANARY_FRAME + 1]]
    exe = "/usr/bin/convert"
    import subprocess
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "anim.webp")
        subprocess.run([exe, "-delay", "10", *frames, "-loop", "0", out], check=True,
                       capture_output=True)
        return read(out)


# ---- not our formats --------------------------------------------------------------------

def gif():
    return convert(SRC, [], ".gif")


def bmp():
    return convert(SRC, [], ".bmp")


def tiff():
    return convert(SRC, [], ".tif")


def svg():
    return b'<svg xmlns="http://www.w3.org/2000/svg" width="640" height="480"/>'


def photo(name):
    return read(os.path.join(DATA, "hands", name))
