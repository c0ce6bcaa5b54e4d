#!/usr/bin/env python3
"""Writes the full-depth, multi-band image fixtures and the values they hold.

Usage: python3 Scripts/make-sample-fixtures.py  (needs numpy, tifffile and imagecodecs:
pip install numpy tifffile imagecodecs)

Every file is written by tifffile (TIFF) or by this script's own PNG encoder from a numpy
array, and that array is saved beside it as NAME.npy (float32, [bands, height, width]): the
Swift decoder is checked against what was written, not against itself. The files cover what
the loader must read: tiles (with tiles past the edge), BigTIFF, separate planes, LZW and
deflate, GeoTIFF tags, int16 and float32 samples, a marked alpha band, and 16-bit PNGs.
"""
import struct
import zlib
from pathlib import Path

import numpy as np
import tifffile

OUT = Path(__file__).resolve().parent.parent / "Tests" / "HeadroomTests" / "Bands" / "Fixtures"
rng = np.random.default_rng(32)


def samples(bands, height, width, dtype):
    """A smooth ramp per band plus noise in the low bits: compressible, and every byte matters."""
    y, x = np.mgrid[0:height, 0:width]
    info = np.iinfo(dtype) if np.issubdtype(dtype, np.integer) else None
    planes = []
    for band in range(bands):
        ramp = (x * (band + 1) + y * 3) / (width * (band + 1) + height * 3)
        if info is None:
            plane = (ramp - 0.5) * 2000.0 * (band + 1) + rng.normal(0, 1, (height, width))
        else:
            span = float(info.max) - float(info.min)
            plane = info.min + ramp * span * 0.9 + rng.integers(0, 200, (height, width))
            plane = np.clip(plane, info.min, info.max)
        planes.append(plane.astype(dtype))
    return np.stack(planes)  # [bands, height, width]


def save(name, array):
    np.save(OUT / (name + ".npy"), array.astype(np.float32))


def tiff(name, array, **options):
    """tifffile takes [height, width, bands] for contiguous samples, [bands, height, width] for separate planes."""
    if array.shape[0] == 1:
        data = array[0]
    elif options.get("planarconfig") == "separate":
        data = array
    else:
        data = np.moveaxis(array, 0, -1)
    tifffile.imwrite(OUT / name, data, **options)
    save(Path(name).stem, array)


def png(name, array, colour_type):
    """A 16-bit PNG (grey: colour type 0, RGB: 2), big-endian samples, filter 0 on every row."""
    bands, height, width = array.shape
    rows = np.moveaxis(array, 0, -1).astype(">u2").reshape(height, width * bands)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, colour_type, 0, 0, 0)
    (OUT / name).write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    save(Path(name).stem, array)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    # Sentinel-2-like: 13 uint16 bands, tiled 16×16 over 40×24 (tiles past both edges), deflate.
    tiff("s2-13band-uint16-tiled.tif", samples(13, 24, 40, np.uint16), photometric="minisblack",
         planarconfig="contig", tile=(16, 16), compression="zlib")
    # BigTIFF, float32, 4 bands, strips of 5 rows.
    tiff("bigtiff-4band-float32.tif", samples(4, 21, 18, np.float32), photometric="minisblack",
         planarconfig="contig", bigtiff=True, rowsperstrip=5)
    # Separate planes (PlanarConfiguration 2), int16, LZW.
    tiff("planar-3band-int16-lzw.tif", samples(3, 17, 23, np.int16), photometric="minisblack",
         planarconfig="separate", compression="lzw", rowsperstrip=4)
    # GeoTIFF tags (pixel scale, tie point, a geokey directory) on a 2-band uint16 tile.
    geo = [(33550, "d", 3, (10.0, 10.0, 0.0), True), (33922, "d", 6, (0.0, 0.0, 0.0, 499980.0, 5300040.0, 0.0), True),
           (34735, "H", 16, (1, 1, 0, 3, 1024, 0, 1, 1, 1025, 0, 1, 1, 3072, 0, 1, 32633), True)]
    tiff("geotiff-2band-uint16.tif", samples(2, 12, 16, np.uint16), photometric="minisblack",
         planarconfig="contig", extratags=geo)
    # uint8 with 5 bands: not a photo, read as samples.
    tiff("multispectral-5band-uint8.tif", samples(5, 9, 11, np.uint8), photometric="minisblack", planarconfig="contig")
    # RGB + unassociated alpha, uint16: the alpha band is dropped, three bands remain.
    rgba = samples(4, 10, 12, np.uint16)
    tifffile.imwrite(OUT / "rgba-uint16.tif", np.moveaxis(rgba, 0, -1), photometric="rgb", extrasamples=["unassalpha"])
    save("rgba-uint16", rgba[:3])
    # 16-bit PNGs: grey stays one band, RGB keeps three, both with their low bytes.
    png("png-grey16.png", samples(1, 13, 15, np.uint16), 0)
    png("png-rgb16.png", samples(3, 11, 9, np.uint16), 2)
    print(f"wrote {len(list(OUT.glob('*.npy')))} fixtures to {OUT}")


if __name__ == "__main__":
    main()
