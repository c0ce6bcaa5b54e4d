#!/usr/bin/env python3
"""Writes the tiny image fixtures for the data tests and the values Pillow decodes from them.

Usage: python3 Scripts/make-image-fixtures.py  (needs Pillow with WebP and libtiff: pip install pillow;
/work/venv-fixtures has one)

Expected pixels come from Pillow's `Image.open(path)`, `ImageOps.exif_transpose` and
`convert("RGB")`, the loader torchvision's ImageFolder uses, so the Swift decoder is checked
against the reference rather than against itself. JPEG and lossy WebP pixels are stored raw (`.rgb`,
HWC) and compared with a tolerance, since Pillow's bundled codecs may differ from the system's;
PNG, lossless WebP, TIFF and BMP pixels are compared by an FNV-1a 64 checksum.
"""
import io
import json
import struct
import zlib
from pathlib import Path

import PIL
from PIL import Image, ImageOps

OUT = Path(__file__).resolve().parent.parent / "Tests" / "HeadroomTests" / "Data" / "Fixtures"


def fnv1a64(data: bytes) -> str:
    h = 0xCBF29CE484222325
    for b in data:
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def pattern(width, height):
    """An asymmetric RGB picture: orientation mistakes and channel swaps both show."""
    im = Image.new("RGB", (width, height))
    im.putdata([
        ((x * 255) // max(width - 1, 1),
         (y * 255) // max(height - 1, 1),
         255 if (x < width // 3 and y < height // 2) else (40 * ((x + 2 * y) % 5)))
        for y in range(height) for x in range(width)
    ])
    return im


def reference_rgb(path: Path, orient=True) -> Image.Image:
    with Image.open(path) as im:
        if orient:
            im = ImageOps.exif_transpose(im)
        return im.convert("RGB")


expected = {}


def record(name, *, exact, image=None, note=None, **extra):
    im = image if image is not None else reference_rgb(OUT / name)
    data = im.tobytes()
    entry = {"width": im.width, "height": im.height, "exact": exact}
    if exact:
        entry["fnv1a64"] = fnv1a64(data)
    else:
        raw = name.rsplit(".", 1)[0] + ".rgb"
        (OUT / raw).write_bytes(data)
        entry["rgb"] = raw
    # A few pixels in clear text, so a failure message is readable without tools.
    entry["pixels"] = [[x, y, list(im.getpixel((x, y)))] for x, y in
                       [(0, 0), (im.width - 1, 0), (0, im.height - 1), (im.width // 2, im.height // 2)]]
    if note:
        entry["note"] = note
    entry.update(extra)
    expected[name] = entry


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def write_png(path, width, height, color_type, bit_depth, rows, interlace=False):
    """A minimal PNG writer for what Pillow cannot write: 16-bit RGB and Adam7 interlacing.
    `rows` is a list of rows, each a list of samples (channels flattened)."""
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[color_type]
    fmt = ">H" if bit_depth == 16 else ">B"

    def encode(sub_rows):
        return b"".join(b"\x00" + b"".join(struct.pack(fmt, s) for s in row) for row in sub_rows)

    if interlace:
        passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
        raw = b""
        for x0, y0, dx, dy in passes:
            sub = [[s for x in range(x0, width, dx) for s in rows[y][x * channels:(x + 1) * channels]]
                   for y in range(y0, height, dy)]
            if sub and sub[0]:
                raw += encode(sub)
    else:
        raw = encode(rows)
    ihdr = struct.pack(">IIBBBBB", width, height, bit_depth, color_type, 0, 0, 1 if interlace else 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(raw, 9))
                     + png_chunk(b"IEND", b""))


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    return a if pa <= pb and pa <= pc else (b if pb <= pc else c)


def write_filtered_png(path, width, height, color_type, rows, palette=None):
    """An 8-bit PNG whose rows cycle through all five filters (None, Sub, Up, Average, Paeth), its
    compressed data split over IDAT chunks of 37 bytes: what Pillow and libpng's writers choose for
    themselves covers only some filters, and the decoder must undo each one exactly."""
    bpp = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[color_type]
    raw, previous = b"", bytes(width * bpp)
    for y, row in enumerate(rows):
        row = bytes(row)
        kind = y % 5
        out = bytearray([kind])
        for i, x in enumerate(row):
            left = row[i - bpp] if i >= bpp else 0
            up = previous[i]
            up_left = previous[i - bpp] if i >= bpp else 0
            predictor = [0, left, up, (left + up) >> 1, paeth(left, up, up_left)][kind]
            out.append((x - predictor) % 256)
        raw += bytes(out)
        previous = row
    data = zlib.compress(raw, 9)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, color_type, 0, 0, 0)
    chunks = png_chunk(b"IHDR", ihdr) + (png_chunk(b"PLTE", bytes(palette)) if palette else b"")
    chunks += b"".join(png_chunk(b"IDAT", data[i:i + 37]) for i in range(0, len(data), 37))
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunks + png_chunk(b"IEND", b""))


def write_filtered_png_fixtures(base, rgba):
    """Every 8-bit colour type through every filter (odd width, so rows do not align to 4 bytes)."""
    w, h = 31, 23
    rgb = base.crop((0, 0, w, h))
    alpha = rgba.crop((0, 0, w, h))
    images = {
        "gray": (0, list(rgb.convert("L").tobytes()), 1),
        "gray-alpha": (4, list(alpha.convert("LA").tobytes()), 2),
        "rgb": (2, list(rgb.tobytes()), 3),
        "rgba": (6, list(alpha.tobytes()), 4),
    }
    for name, (color_type, samples, channels) in images.items():
        rows = [samples[y * w * channels:(y + 1) * w * channels] for y in range(h)]
        write_filtered_png(OUT / f"png-filters-{name}.png", w, h, color_type, rows)
        record(f"png-filters-{name}.png", exact=True)
    # A 200-colour palette, so indices use the whole byte and filters act on indices, not colours.
    palette = [(i * 37 % 256, i * 91 % 256, i * 13 % 256) for i in range(200)]
    indices = [[(x * 7 + y * 11) % 200 for x in range(w)] for y in range(h)]
    write_filtered_png(OUT / "png-filters-palette.png", w, h, 3, indices, palette=[c for rgb in palette for c in rgb])
    record("png-filters-palette.png", exact=True)


def exif_orientation_bytes(value: int, big_endian: bool) -> bytes:
    """An APP1 payload holding only IFD0 with the orientation tag, in either byte order."""
    e = ">" if big_endian else "<"
    tiff = (b"MM\x00*" if big_endian else b"II*\x00") + struct.pack(e + "I", 8)
    tiff += struct.pack(e + "H", 1) + struct.pack(e + "HHI", 0x0112, 3, 1) + struct.pack(e + "HH", value, 0)
    tiff += struct.pack(e + "I", 0)
    return b"Exif\x00\x00" + tiff


def with_dimensions(data: bytes, width_at: int, height_at: int, width: int, height: int, fmt: str) -> bytes:
    """`data` with the header's width and height fields (at the given offsets, in struct format `fmt`) replaced."""
    out = bytearray(data)
    struct.pack_into(fmt, out, width_at, width)
    struct.pack_into(fmt, out, height_at, height)
    return bytes(out)


def write_webp_fixtures(base, rgba):
    base.save(OUT / "webp-lossless.webp", lossless=True)
    record("webp-lossless.webp", exact=True)
    # exact=True keeps the colour under transparent pixels, so dropping alpha shows real colours.
    rgba.save(OUT / "webp-lossless-rgba.webp", lossless=True, exact=True)
    record("webp-lossless-rgba.webp", exact=True, note="alpha dropped, colours kept, as convert('RGB')")
    base.convert("L").save(OUT / "webp-lossless-gray.webp", lossless=True)
    record("webp-lossless-gray.webp", exact=True, note="WebP stores grey as RGB")
    base.save(OUT / "webp-lossy.webp", quality=90)
    record("webp-lossy.webp", exact=False)
    rgba.save(OUT / "webp-lossy-alpha.webp", quality=90)
    record("webp-lossy-alpha.webp", exact=False, note="VP8X with an ALPH chunk")
    base.save(OUT / "webp-exif-orientation-6.webp", lossless=True, exif=exif_orientation_bytes(6, big_endian=True)[6:])
    record("webp-exif-orientation-6.webp", exact=True, orientation=6)
    base.save(OUT / "webp-animated.webp", save_all=True, append_images=[base.rotate(180)], lossless=True)
    data = (OUT / "webp-lossy.webp").read_bytes()
    (OUT / "webp-truncated.webp").write_bytes(data[: len(data) // 2])
    # A VP8L header claiming 16384 x 16384 (its 14-bit fields' maximum, 268 M pixels): only the limit rejects it.
    lossless = bytearray((OUT / "webp-lossless.webp").read_bytes())
    assert lossless[12:16] == b"VP8L" and lossless[20] == 0x2F
    bits = struct.unpack_from("<I", lossless, 21)[0]
    bits = (bits & ~0x0FFFFFFF) | (16383 << 14) | 16383
    struct.pack_into("<I", lossless, 21, bits)
    (OUT / "webp-huge-dimensions.webp").write_bytes(bytes(lossless))


def write_tiff_fixtures(base, rgba):
    base.save(OUT / "tiff-rgb.tif")
    record("tiff-rgb.tif", exact=True)
    base.save(OUT / "tiff-rgb-lzw.tif", compression="tiff_lzw")
    record("tiff-rgb-lzw.tif", exact=True)
    rgba.save(OUT / "tiff-rgba-deflate.tif", compression="tiff_adobe_deflate")
    record("tiff-rgba-deflate.tif", exact=True, note="unassociated alpha dropped, as convert('RGB')")
    base.convert("L").save(OUT / "tiff-gray-packbits.tif", compression="packbits")
    record("tiff-gray-packbits.tif", exact=True)
    base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(OUT / "tiff-palette.tif")
    record("tiff-palette.tif", exact=True, note="through libtiff's RGBA interface")
    base.convert("1").save(OUT / "tiff-bilevel-group4.tif", compression="group4")
    record("tiff-bilevel-group4.tif", exact=True, note="through libtiff's RGBA interface")
    base.save(OUT / "tiff-orientation-6.tif", tiffinfo={0x0112: 6})
    record("tiff-orientation-6.tif", exact=True, orientation=6)
    # 16-bit grey: keep the high byte, as for 16-bit PNG (Pillow's convert('RGB') clips instead).
    w, h = 20, 14
    gray16 = [(x * 3000 + y * 1100) % 65536 for y in range(h) for x in range(w)]
    Image.frombytes("I;16", (w, h), struct.pack(f"<{w * h}H", *gray16)).save(OUT / "tiff-gray16.tif")
    high = Image.frombytes("L", (w, h), bytes(s >> 8 for s in gray16)).convert("RGB")
    record("tiff-gray16.tif", exact=True, image=high, note="high byte, as for 16-bit PNG")
    data = (OUT / "tiff-rgb-lzw.tif").read_bytes()
    (OUT / "tiff-truncated.tif").write_bytes(data[: len(data) // 2])
    # A 60000 x 60000 header: find the width and height entries of the first IFD and patch them.
    data = bytearray((OUT / "tiff-rgb.tif").read_bytes())
    assert data[:4] == b"II*\x00"
    ifd = struct.unpack_from("<I", data, 4)[0]
    for i in range(struct.unpack_from("<H", data, ifd)[0]):
        entry = ifd + 2 + 12 * i
        tag, kind = struct.unpack_from("<HH", data, entry)
        if tag in (256, 257):
            struct.pack_into("<H" if kind == 3 else "<I", data, entry + 8, 60000)
    (OUT / "tiff-huge-dimensions.tif").write_bytes(bytes(data))


def write_bmp_fixtures(base, rgba):
    base.save(OUT / "bmp-rgb24.bmp")
    record("bmp-rgb24.bmp", exact=True)
    rgba.save(OUT / "bmp-rgba32.bmp")
    record("bmp-rgba32.bmp", exact=True, note="32-bit bitfields; alpha dropped")
    base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16).save(OUT / "bmp-palette8.bmp")
    record("bmp-palette8.bmp", exact=True)
    base.convert("L").save(OUT / "bmp-gray8.bmp")
    record("bmp-gray8.bmp", exact=True)
    base.convert("1").save(OUT / "bmp-bilevel1.bmp")
    record("bmp-bilevel1.bmp", exact=True)
    # Pillow writes bottom-up only: a top-down copy has a negative height and its rows reversed.
    data = (OUT / "bmp-rgb24.bmp").read_bytes()
    offset = struct.unpack_from("<I", data, 10)[0]
    width, height = struct.unpack_from("<ii", data, 18)
    stride = (width * 3 + 3) // 4 * 4
    rows = [data[offset + y * stride: offset + (y + 1) * stride] for y in range(height)]
    top_down = bytearray(data[:offset] + b"".join(reversed(rows)))
    struct.pack_into("<i", top_down, 22, -height)
    (OUT / "bmp-top-down.bmp").write_bytes(bytes(top_down))
    record("bmp-top-down.bmp", exact=True)
    # 32-bit BI_RGB (BGRX), which Pillow reads but does not write.
    bgrx = b"".join(bytes((b, g, r, 0x5A)) for y in reversed(range(height)) for (r, g, b) in
                    (base.getpixel((x, y)) for x in range(width)))
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 32, 0, len(bgrx), 2835, 2835, 0, 0)
    (OUT / "bmp-bgrx32.bmp").write_bytes(b"BM" + struct.pack("<IHHI", 54 + len(bgrx), 0, 0, 54) + info + bgrx)
    record("bmp-bgrx32.bmp", exact=True)
    # RLE8, which Pillow reads and we refuse: one run of 4 pixels of colour 1, end of line, end of bitmap.
    palette = b"\x00\x00\x00\x00" + b"\xff\x00\x00\x00"
    pixels = b"\x04\x01\x00\x00\x00\x01"
    info = struct.pack("<IiiHHIIiiII", 40, 4, 1, 1, 8, 1, len(pixels), 2835, 2835, 2, 0)
    offset = 14 + 40 + len(palette)
    (OUT / "bmp-rle8.bmp").write_bytes(
        b"BM" + struct.pack("<IHHI", offset + len(pixels), 0, 0, offset) + info + palette + pixels)
    (OUT / "bmp-truncated.bmp").write_bytes(data[: len(data) // 2])
    (OUT / "bmp-huge-dimensions.bmp").write_bytes(with_dimensions(data, 18, 22, 60000, 60000, "<i"))


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.iterdir():
        old.unlink()

    # JPEG
    base = pattern(32, 24)
    base.save(OUT / "jpeg-baseline.jpg", quality=90)
    record("jpeg-baseline.jpg", exact=False)
    base.save(OUT / "jpeg-progressive.jpg", quality=90, progressive=True)
    record("jpeg-progressive.jpg", exact=False)
    base.convert("L").save(OUT / "jpeg-gray.jpg", quality=90)
    record("jpeg-gray.jpg", exact=False)
    base.convert("CMYK").save(OUT / "jpeg-cmyk.jpg", quality=90)
    record("jpeg-cmyk.jpg", exact=False, note="Pillow writes and reads CMYK JPEGs with Adobe (inverted) polarity")

    small = pattern(24, 16)
    for orientation in range(1, 9):
        name = f"jpeg-orientation-{orientation}.jpg"
        # Orientation 6 uses Pillow's little-endian Exif writer; the rest alternate byte orders by hand.
        if orientation == 6:
            exif = Image.Exif()
            exif[0x0112] = 6
            small.save(OUT / name, quality=95, exif=exif.tobytes())
        else:
            small.save(OUT / name, quality=95, exif=exif_orientation_bytes(orientation, big_endian=orientation % 2 == 1))
        record(name, exact=False, orientation=orientation)

    large = pattern(64, 48)
    large.save(OUT / "jpeg-64x48.jpg", quality=90)
    record("jpeg-64x48.jpg", exact=False)
    with Image.open(OUT / "jpeg-64x48.jpg") as im:
        im.draft("RGB", (16, 12))  # Pillow's own DCT-domain scaling, here 1/4
        quarter = im.convert("RGB")
    assert quarter.size == (16, 12), quarter.size
    (OUT / "jpeg-64x48-quarter.rgb").write_bytes(quarter.tobytes())
    expected["jpeg-64x48.jpg"]["quarter"] = {"width": 16, "height": 12, "rgb": "jpeg-64x48-quarter.rgb"}

    data = (OUT / "jpeg-baseline.jpg").read_bytes()
    (OUT / "truncated.jpg").write_bytes(data[: len(data) * 6 // 10])
    (OUT / "truncated-header.jpg").write_bytes(data[:40])
    (OUT / "not-an-image.jpg").write_bytes(b"This is a text file with a .jpg name.\n")
    (OUT / "empty.png").write_bytes(b"")

    # PNG, lossless: checksums of what Pillow decodes.
    base.save(OUT / "png-rgb.png")
    record("png-rgb.png", exact=True)
    rgba = base.copy()
    rgba.putalpha(Image.linear_gradient("L").resize(base.size))
    rgba.save(OUT / "png-rgba.png")
    record("png-rgba.png", exact=True, note="alpha dropped, colours kept, as convert('RGB')")
    base.convert("L").save(OUT / "png-gray.png")
    record("png-gray.png", exact=True)
    la = base.convert("LA")
    la.putalpha(Image.linear_gradient("L").resize(base.size))
    la.save(OUT / "png-gray-alpha.png")
    record("png-gray-alpha.png", exact=True)
    palette = base.convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    palette.save(OUT / "png-palette-trns.png", transparency=3)
    record("png-palette-trns.png", exact=True, note="tRNS ignored by convert('RGB')")
    base.convert("1").save(OUT / "png-gray1.png")
    record("png-gray1.png", exact=True)
    rgba.save(OUT / "png-exif-orientation-6.png", exif=exif_orientation_bytes(6, big_endian=False)[6:])
    record("png-exif-orientation-6.png", exact=True, orientation=6)

    # 16-bit RGB: Pillow reads it as RGB keeping each sample's most significant byte.
    w, h = 20, 14
    rows16 = [[(x * 3000 + y * 17 + c * 9000 + 255) % 65536 for x in range(w) for c in range(3)] for y in range(h)]
    write_png(OUT / "png-rgb16.png", w, h, 2, 16, rows16)
    record("png-rgb16.png", exact=True)
    msb = Image.frombytes("RGB", (w, h), bytes(s >> 8 for row in rows16 for s in row))
    assert msb.tobytes() == reference_rgb(OUT / "png-rgb16.png").tobytes(), "Pillow no longer keeps the high byte"

    # 16-bit grey: Pillow opens it as mode I;16 and convert("RGB") clips at 255 instead of scaling;
    # we keep the high byte as for every other 16-bit PNG, so the expectation is computed, not read.
    gray16 = [[(x * 3000 + y * 1100) % 65536 for x in range(w)] for y in range(h)]
    write_png(OUT / "png-gray16.png", w, h, 0, 16, gray16)
    high = Image.frombytes("L", (w, h), bytes(s >> 8 for row in gray16 for s in row)).convert("RGB")
    pil = reference_rgb(OUT / "png-gray16.png")
    record("png-gray16.png", exact=True, image=high,
           note="high byte, as for 16-bit RGB; Pillow's convert('RGB') would clip to 255 instead",
           pillowFnv1a64=fnv1a64(pil.tobytes()))

    # Adam7-interlaced RGB with odd sizes, so every pass has partial rows.
    w, h = 13, 11
    rows8 = [[(x * 19 + y * 7 + c * 80) % 256 for x in range(w) for c in range(3)] for y in range(h)]
    write_png(OUT / "png-interlaced.png", w, h, 2, 8, rows8, interlace=True)
    record("png-interlaced.png", exact=True)
    rows_rgba16 = [[(x * 4000 + y * 300 + c * 7000) % 65536 for x in range(w) for c in range(4)] for y in range(h)]
    write_png(OUT / "png-interlaced-rgba16.png", w, h, 6, 16, rows_rgba16, interlace=True)
    record("png-interlaced-rgba16.png", exact=True)

    # Broken PNGs: one flipped byte inside IDAT (CRC mismatch), a cut file, and a header claiming
    # 100000 x 100000 pixels (with a valid CRC) so only the pixel limit can reject it.
    data = bytearray((OUT / "png-rgb.png").read_bytes())
    idat = data.index(b"IDAT")
    data[idat + 10] ^= 0xFF
    (OUT / "png-corrupt.png").write_bytes(bytes(data))
    good = (OUT / "png-rgb.png").read_bytes()
    (OUT / "png-truncated.png").write_bytes(good[: len(good) // 2])
    ihdr = struct.pack(">IIBBBBB", 100_000, 100_000, 8, 2, 0, 0, 0)
    (OUT / "png-huge-dimensions.png").write_bytes(
        b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 16))
        + png_chunk(b"IEND", b""))

    write_filtered_png_fixtures(base, rgba)
    write_webp_fixtures(base, rgba)
    write_tiff_fixtures(base, rgba)
    write_bmp_fixtures(base, rgba)

    document = {"generator": {"pillow": PIL.__version__, "script": "Scripts/make-image-fixtures.py"},
                "images": expected}
    (OUT / "expected.json").write_text(json.dumps(document, indent=1, sort_keys=True) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"wrote {len(list(OUT.iterdir()))} files, {total} bytes, to {OUT}")


if __name__ == "__main__":
    main()
