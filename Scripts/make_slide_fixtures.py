#!/usr/bin/env python3
"""Writes small synthetic whole-slide images and the pixels OpenSlide reads from them.

Usage:
    python3 -m venv /work/scratch/slidevenv
    /work/scratch/slidevenv/bin/pip install numpy==2.4.6 tifffile==2026.3.3 imagecodecs==2026.3.6 \
        pillow==13.0.0 openslide-python==1.4.7 openslide-bin==4.0.1.2
    /work/scratch/slidevenv/bin/python Scripts/make_slide_fixtures.py [OUT]   # writes, then verifies
    /work/scratch/slidevenv/bin/python Scripts/make_slide_fixtures.py --verify [OUT]
    /work/scratch/slidevenv/bin/python Scripts/make_slide_fixtures.py --probe-codecs

OUT defaults to Tests/Fixtures/slides. The venv may live anywhere (keep it out of the repository); the
versions above are the ones the committed fixtures were made with (OpenSlide 4.0.1 from openslide-bin).

Files written (all pictures are synthetic "H&E-like" tissue: pink/purple blobs with darker nuclei on a
near-white background; nothing comes from a real slide):
    generic-jpeg.tiff     generic pyramidal tiled TIFF, JPEG tiles (YCbCr 4:2:0), 1000x750, 3 levels
    generic-deflate.tiff  generic pyramidal tiled TIFF, deflate tiles (lossless), 777x555, 3 levels,
                          XResolution/YResolution in pixels per centimetre (OpenSlide derives the mpp)
    aperio.svs            Aperio-style SVS (ImageDescription "Aperio Image Library ...|MPP = 0.2520|AppMag = 40"),
                          JPEG tiles (photometric RGB), 1100x800, 3 levels downsampled by 4, and a
                          stripped thumbnail page as Aperio writes it
    truncated.tiff        generic-jpeg.tiff cut at 60 % of its length
    lying.tiff            generic-deflate.tiff with one level-0 tile offset pointing past the end of the file
    NAME.REGION.npy       uint8 RGBA, H x W x 4: np.asarray(OpenSlide(NAME).read_region((x, y), level, (w, h)))
    manifest.json         every slide's OpenSlide metadata, the regions, and what the broken files do

The layout OpenSlide's generic-tiff driver needs: every level a tiled page in the main IFD chain, level 0
first, every page after the first marked NewSubfileType = 1 (reduced resolution) -- without that tag
OpenSlide skips the page and reports one level. Lower levels are box means of level 0 (2x2 for the generic
files, 4x4 for the SVS), cropped to whole blocks, so they are consistent with level 0.

Reading through openslide-python means the reference RGBA is already un-premultiplied (openslide-python's
_convert.argb2rgba: alpha 255 -> the raw RGB; alpha 0 -> left as stored, which is 0; otherwise
255 * c // a). Every byte the script writes is deterministic for fixed package versions.
"""
import hashlib
import json
import math
import os
import shutil
import struct
import sys
import tempfile
from importlib.metadata import version
from pathlib import Path

import numpy as np
import openslide
import tifffile
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "Tests" / "Fixtures" / "slides"

TRUNCATE_FRACTION = 0.60
# lying.tiff: this tile of this level of generic-deflate.tiff gets an offset past the end of the file
LYING_LEVEL, LYING_COL, LYING_ROW = 0, 2, 1


# ---------------------------------------------------------------------------------------------- pictures

def smooth_field(rng, h, w, cell):
    """Uniform noise on a coarse grid (one value per `cell` pixels), bicubic-upsampled: smooth blobs."""
    ch, cw = h // cell + 3, w // cell + 3
    coarse = rng.random((ch, cw)).astype(np.float32)
    big = np.asarray(Image.fromarray(coarse, mode="F").resize((cw * cell, ch * cell), Image.BICUBIC))
    return big[cell:cell + h, cell:cell + w]


def synth_tissue(h, w, seed, noise_tissue, noise_bg, frac=0.30, steps=0):
    """H x W x 3 uint8: a near-white background with pink/purple tissue blobs covering about `frac` of it.

    noise_*: standard deviation of added Gaussian noise (texture, so JPEG has work to do).
    steps: if > 0, the eosin/haematoxylin mixture is quantised to that many steps (flat areas, so deflate
    stays small)."""
    rng = np.random.default_rng(seed)
    field = smooth_field(rng, h, w, 90) + 0.35 * smooth_field(rng, h, w, 30)
    yy, xx = np.mgrid[0:h, 0:w]
    edge = np.minimum.reduce([xx, yy, w - 1 - xx, h - 1 - yy]).astype(np.float32)
    field = field - 0.6 * np.clip(1 - edge / 40, 0, 1)  # keep tissue off the slide's border
    threshold = np.quantile(field, 1 - frac)
    alpha = np.clip((field - threshold) / 0.04, 0, 1)[..., None]
    mix = smooth_field(rng, h, w, 25)[..., None]
    if steps:
        mix = np.round(mix * steps) / steps
    pink = np.array([228, 150, 192], np.float32)
    purple = np.array([150, 96, 178], np.float32)
    tissue = pink * (1 - mix) + purple * mix
    nuclei = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(nuclei)
    for _ in range(int(h * w * frac / 180)):
        x, y = int(rng.integers(0, w)), int(rng.integers(0, h))
        r, squash = float(rng.uniform(1.5, 3.5)), float(rng.uniform(0.7, 1.3))
        if alpha[y, x, 0] >= 0.9:
            draw.ellipse((x - r, y - r * squash, x + r, y + r), fill=255)
    nuc = (np.asarray(nuclei, np.float32) / 255)[..., None] * 0.8
    tissue = tissue * (1 - nuc) + np.array([85, 45, 125], np.float32) * nuc
    background = np.array([244, 242, 246], np.float32)
    img = background * (1 - alpha) + tissue * alpha
    sigma = noise_bg * (1 - alpha) + noise_tissue * alpha
    img = img + rng.normal(0, 1, img.shape).astype(np.float32) * sigma
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def box_down(a, f):
    """f x f box mean (rounded), cropping to whole blocks: a level f times smaller than `a`."""
    h, w = a.shape[0] // f * f, a.shape[1] // f * f
    return np.rint(a[:h, :w].reshape(h // f, f, w // f, f, 3).astype(np.float64).mean((1, 3))).astype(np.uint8)


def pyramid(level0, factor, count):
    levels = [level0]
    for _ in range(count - 1):
        levels.append(box_down(levels[-1], factor))
    return levels


# ---------------------------------------------------------------------------------------------- writers

def write_generic(path, levels, tile, compression, compressionargs, resolution=None):
    with tifffile.TiffWriter(path) as tw:
        for i, lv in enumerate(levels):
            kw = {}
            if resolution is not None:
                kw = dict(resolution=(resolution / 2 ** i, resolution / 2 ** i), resolutionunit="CENTIMETER")
            tw.write(lv, tile=(tile, tile), photometric="rgb", compression=compression,
                     compressionargs=compressionargs, subfiletype=1 if i else 0,
                     metadata=None, software=False, **kw)


def aperio_description(w0, h0, tile, w, h, first):
    head = "Aperio Image Library v12.0.15 \r\n"
    tail = ("|AppMag = 40|MPP = 0.2520|StripeWidth = 1024|ScanScope ID = SYNTH-0001|Filename = headroom-synthetic"
            "|Date = 01/02/26|Time = 12:00:00|Title = Headroom synthetic fixture|Left = 25.0|Top = 18.0")
    if first:
        return f"{head}{w0}x{h0} [0,0 {w0}x{h0}] ({tile}x{tile}) JPEG/RGB Q=70{tail}"
    return f"{head}{w0}x{h0} -> {w}x{h} - {tail}"


def write_aperio(path, levels, thumb, tile, quality):
    h0, w0 = levels[0].shape[:2]
    jpeg = dict(compression="jpeg", compressionargs={"level": quality, "outcolorspace": "rgb"}, photometric="rgb",
                metadata=None, software=False)
    with tifffile.TiffWriter(path) as tw:
        # Aperio order: level 0 (tiled), thumbnail (stripped), the other levels (tiled)
        tw.write(levels[0], tile=(tile, tile), description=aperio_description(w0, h0, tile, w0, h0, True), **jpeg)
        tw.write(thumb, rowsperstrip=16,
                 description=aperio_description(w0, h0, tile, thumb.shape[1], thumb.shape[0], False), **jpeg)
        for lv in levels[1:]:
            tw.write(lv, tile=(tile, tile),
                     description=aperio_description(w0, h0, tile, lv.shape[1], lv.shape[0], False), **jpeg)


def break_tile(src, dst, level, col, row):
    """Copy src to dst, pointing one tile's TileOffsets entry past the end of the file."""
    shutil.copyfile(src, dst)
    with tifffile.TiffFile(dst) as tf:
        page = tf.pages[level]
        tiles_across = -(-page.imagewidth // page.tilewidth)
        index = row * tiles_across + col
        tag = page.tags["TileOffsets"]
        assert tag.dtype == 4 and not tf.is_bigtiff, "expects classic TIFF with LONG tile offsets"
        entry = tag.valueoffset + 4 * index
        old_offset, old_count = page.dataoffsets[index], page.databytecounts[index]
        tile_w, tile_h = page.tilewidth, page.tilelength
        width, height = page.imagewidth, page.imagelength
    size = os.path.getsize(dst)
    new_offset = size + 1_000_000
    with open(dst, "r+b") as f:
        f.seek(entry)
        assert struct.unpack("<I", f.read(4))[0] == old_offset
        f.seek(entry)
        f.write(struct.pack("<I", new_offset))
    x, y = col * tile_w, row * tile_h
    return {
        "level": level, "tile_col": col, "tile_row": row, "tile_index": index,
        "rect_in_level": [x, y, min(tile_w, width - x), min(tile_h, height - y)],
        "tile_offsets_entry_at": entry, "offset_was": old_offset, "offset_now": new_offset,
        "byte_count": old_count, "file_bytes": size,
    }


# ---------------------------------------------------------------------------------------------- references

def sha256(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def read_rgba(slide, r):
    return np.asarray(slide.read_region((r["x"], r["y"]), r["level"], (r["w"], r["h"])))


def inside_level(r, dims, downsamples):
    """Whether every output pixel is covered by level pixels: OpenSlide starts the region at x / downsample,
    y / downsample in the level and, when that is fractional, interpolates each pixel from its neighbours
    to the right and below as well."""
    lw, lh = dims[r["level"]]
    ds = downsamples[r["level"]]
    return bool(r["x"] >= 0 and r["y"] >= 0
                and math.ceil(r["x"] / ds) + r["w"] <= lw and math.ceil(r["y"] / ds) + r["h"] <= lh)


def alpha_stats(rgba):
    a = rgba[..., 3]
    return {
        "opaque": bool((a == 255).all()),
        "alpha_255_pixels": int((a == 255).sum()),
        "alpha_0_pixels": int((a == 0).sum()),
        "alpha_partial_pixels": int(((a > 0) & (a < 255)).sum()),
    }


def regions_for(dims, tile, downsamples):
    """The reference regions: tile-aligned, unaligned across tile seams, bottom-right edge partly outside,
    top-left partly outside (negative coordinates), level 1 and the last level at level-0 coordinates that are
    not multiples of the downsample (OpenSlide then resamples, see level_origin), level 1 at its bottom-right
    edge with such coordinates (partly transparent pixels), and the whole smallest level."""
    (w0, h0) = dims[0]
    last = len(dims) - 1
    (lw, lh), ds = dims[last], downsamples[last]
    (w1, h1), ds1 = dims[1], downsamples[1]
    return [
        dict(name="aligned", level=0, x=2 * tile, y=tile, w=128, h=128,
             what="level 0, origin on a tile corner, inside the level"),
        dict(name="unaligned", level=0, x=3 * tile - 41, y=2 * tile - 37, w=80, h=72,
             what="level 0, crosses a tile seam in x and in y"),
        dict(name="edge", level=0, x=w0 - 40, y=h0 - 28, w=64, h=48,
             what="level 0, bottom-right corner: the right 24 columns and bottom 20 rows are outside (alpha 0)"),
        dict(name="negative", level=0, x=-24, y=-16, w=64, h=48,
             what="level 0, negative origin: the left 24 columns and top 16 rows are outside (alpha 0)"),
        dict(name="level1", level=1, x=37, y=53, w=96, h=72,
             what="level 1, x and y (level-0 pixels) not multiples of the downsample"),
        dict(name="level1_edge", level=1, x=int((w1 - 20) * ds1) + 1, y=int((h1 - 12) * ds1) + 1, w=32, h=24,
             what="level 1, bottom-right corner at a fractional level origin: partly outside, "
                  "with partly transparent pixels along the level's edge"),
        dict(name=f"level{last}", level=last, x=101, y=67,
             w=min(64, lw - math.ceil(101 / ds) - 4), h=min(48, lh - math.ceil(67 / ds) - 4),
             what=f"level {last}, x and y (level-0 pixels) not multiples of the downsample"),
        dict(name="smallest", level=last, x=0, y=0, w=lw, h=lh,
             what=f"the whole of level {last}, the smallest (tissue-mask reference)"),
    ]


def describe_slide(path, spec):
    slide = openslide.OpenSlide(str(path))
    props = dict(slide.properties)
    dims = [list(d) for d in slide.level_dimensions]
    downs = list(slide.level_downsamples)

    def fprop(key):
        return float(props[key]) if key in props else None

    entry = {
        "file": path.name,
        "bytes": path.stat().st_size,
        "sha256": sha256(path),
        "what": spec["what"],
        "vendor": openslide.OpenSlide.detect_format(str(path)),
        "compression": spec["compression"],
        "photometric": spec["photometric"],
        "lossless": spec["lossless"],
        "tile": [spec["tile"], spec["tile"]],
        "level_count": slide.level_count,
        "level_dimensions": dims,
        "level_downsamples": downs,
        "level_tile_sizes": [[int(props[f"openslide.level[{i}].tile-width"]),
                              int(props[f"openslide.level[{i}].tile-height"])] for i in range(slide.level_count)],
        "mpp_x": fprop(openslide.PROPERTY_NAME_MPP_X),
        "mpp_y": fprop(openslide.PROPERTY_NAME_MPP_Y),
        "objective_power": props.get(openslide.PROPERTY_NAME_OBJECTIVE_POWER),
        "background_color": props.get(openslide.PROPERTY_NAME_BACKGROUND_COLOR),
        "associated_images": {k: list(v.size) for k, v in sorted(slide.associated_images.items())},
        "properties": {k: props[k] for k in sorted(props)},
        "regions": [],
    }
    stem = path.name.rsplit(".", 1)[0]
    for r in regions_for(dims, spec["tile"], downs):
        rgba = read_rgba(slide, r)
        assert rgba.shape == (r["h"], r["w"], 4) and rgba.dtype == np.uint8
        npy = f"{stem}.{r['name']}.npy"
        np.save(path.parent / npy, rgba, allow_pickle=False)
        ds = downs[r["level"]]
        origin = [r["x"] / ds, r["y"] / ds]
        entry["regions"].append({**{k: r[k] for k in ("name", "level", "x", "y", "w", "h")}, "npy": npy,
                                 "level_origin": origin,
                                 "fractional_origin": any(o != math.floor(o) for o in origin),
                                 "inside_level": inside_level(r, dims, downs),
                                 **alpha_stats(rgba), "what": r["what"]})
    entry["smallest_level_npy"] = entry["regions"][-1]["npy"]
    slide.close()
    return entry


def attempt(fn):
    """Run fn; return {"ok": True, ...} or the exception's class and message."""
    try:
        value = fn()
        return {"ok": True, **(value or {})}
    except Exception as e:  # noqa: BLE001 - recording whatever openslide-python raises
        return {"ok": False, "error": type(e).__name__, "message": str(e)}


def probe_broken(path, reads):
    """What openslide-python does with a damaged file: detect, open, then each read (but those marked
    repeat) on a fresh handle, and finally all the reads in order on one handle (OpenSlide's errors are
    sticky: after one failure every later call on that handle fails with the same message)."""
    out = {"detect_vendor": attempt(lambda: {"vendor": openslide.OpenSlide.detect_format(str(path))})}

    def open_info():
        s = openslide.OpenSlide(str(path))
        info = {"level_count": s.level_count, "level_dimensions": [list(d) for d in s.level_dimensions]}
        s.close()
        return info

    out["open"] = attempt(open_info)
    if not out["open"]["ok"]:
        return out
    results = []
    for r in reads:
        if r.get("repeat"):
            continue
        s = openslide.OpenSlide(str(path))
        res = attempt(lambda: alpha_stats(read_rgba(s, r)))
        s.close()
        results.append({k: v for k, v in r.items() if k != "repeat"} | res)
    out["reads_fresh_handle"] = results
    s = openslide.OpenSlide(str(path))
    seq = []
    for r in reads:
        res = attempt(lambda: alpha_stats(read_rgba(s, r)))
        seq.append({"name": r["name"], "ok": res["ok"], **({"message": res["message"]} if not res["ok"] else {})})
    s.close()
    out["reads_one_handle_in_order"] = seq
    return out


# ---------------------------------------------------------------------------------------------- main

SLIDES = [
    dict(file="generic-jpeg.tiff", compression="jpeg", photometric="ycbcr (JPEG 4:2:0; tifffile default)",
         lossless=False, tile=128,
         what="generic tiled pyramidal TIFF, JPEG tiles, no resolution tags (no mpp)"),
    dict(file="generic-deflate.tiff", compression="deflate", photometric="rgb", lossless=True, tile=128,
         what="generic tiled pyramidal TIFF, deflate tiles, resolution 20000 px/cm at level 0 (0.5 um/px)"),
    dict(file="aperio.svs", compression="jpeg", photometric="rgb (JPEG without colour transform)", lossless=False,
         tile=256, what="Aperio SVS: level 0, stripped thumbnail, levels downsampled by 4; MPP 0.2520, AppMag 40"),
]


def generate(out):
    out.mkdir(parents=True, exist_ok=True)
    for old in list(out.glob("*.npy")) + [out / n for n in ("manifest.json", "truncated.tiff", "lying.tiff")]:
        if old.exists():
            old.unlink()

    jpeg_levels = pyramid(synth_tissue(750, 1000, seed=1, noise_tissue=4, noise_bg=1), 2, 3)
    write_generic(out / "generic-jpeg.tiff", jpeg_levels, 128, "jpeg", {"level": 75})

    deflate_levels = pyramid(synth_tissue(555, 777, seed=2, noise_tissue=0, noise_bg=0, steps=8), 2, 3)
    write_generic(out / "generic-deflate.tiff", deflate_levels, 128, "zlib", {"level": 9}, resolution=20000.0)

    svs0 = synth_tissue(800, 1100, seed=3, noise_tissue=4, noise_bg=1, frac=0.25)
    svs_levels = pyramid(svs0, 4, 3)
    write_aperio(out / "aperio.svs", svs_levels, box_down(svs0, 8), 256, 70)

    data = (out / "generic-jpeg.tiff").read_bytes()
    cut = int(len(data) * TRUNCATE_FRACTION)
    (out / "truncated.tiff").write_bytes(data[:cut])
    lying = break_tile(out / "generic-deflate.tiff", out / "lying.tiff", LYING_LEVEL, LYING_COL, LYING_ROW)

    manifest = {
        "generator": "Scripts/make_slide_fixtures.py",
        "openslide_library": openslide.__library_version__,
        "packages": {p: version(p) for p in
                     ("openslide-bin", "openslide-python", "tifffile", "imagecodecs", "numpy", "pillow")},
        "npy": "uint8 RGBA, shape (h, w, 4): numpy.asarray(OpenSlide(file).read_region((x, y), level, (w, h))); "
               "x, y in level-0 pixels, w, h in pixels of `level`. openslide_read_region gives premultiplied ARGB "
               "(uint32, native order); openslide-python turns it into RGBA: alpha 255 -> the raw R, G, B; "
               "alpha 0 -> 0, 0, 0, 0; otherwise c = 255 * c // alpha (truncating). A level > 0 read whose "
               "x / downsample or y / downsample is fractional (level_origin) is resampled bilinearly by "
               "OpenSlide (cairo); at the level's edge that gives partly transparent pixels.",
        "slides": [],
        "broken": [],
    }
    for spec in SLIDES:
        manifest["slides"].append(describe_slide(out / spec["file"], spec))

    jpeg_dims = manifest["slides"][0]["level_dimensions"]
    trunc_reads = [
        dict(name="level0_first_tile", level=0, x=0, y=0, w=128, h=128),
        dict(name="level0_last_tile", level=0, x=jpeg_dims[0][0] - 104, y=jpeg_dims[0][1] - 110, w=104, h=110),
        dict(name="level0_whole", level=0, x=0, y=0, w=jpeg_dims[0][0], h=jpeg_dims[0][1]),
    ]
    with tifffile.TiffFile(out / "generic-jpeg.tiff") as tf:
        ifds = [p.offset for p in tf.pages]
    manifest["broken"].append({
        "file": "truncated.tiff", "source": "generic-jpeg.tiff", "bytes": cut, "sha256": sha256(out / "truncated.tiff"),
        "what": f"the first {cut} of {len(data)} bytes ({TRUNCATE_FRACTION:.0%}) of generic-jpeg.tiff",
        "source_ifd_offsets": ifds,
        "ifds_past_cut": sum(o >= cut for o in ifds),
        "why": "the IFD chain points past the end of the file, so OpenSlide's TIFF detection fails and "
               "openslide_open returns NULL (openslide-python: OpenSlideUnsupportedFormatError)",
        "reads": trunc_reads,
        "openslide_python": probe_broken(out / "truncated.tiff", trunc_reads),
    })

    bx, by, bw, bh = lying["rect_in_level"]
    lying_reads = [
        dict(name="clear_of_broken_tile", level=0, x=0, y=0, w=128, h=128),
        dict(name="inside_broken_tile", level=0, x=bx + 16, y=by + 16, w=32, h=32),
        dict(name="level1_whole", level=1, x=0, y=0,
              w=manifest["slides"][1]["level_dimensions"][1][0], h=manifest["slides"][1]["level_dimensions"][1][1]),
        dict(name="clear_of_broken_tile_again", level=0, x=0, y=0, w=128, h=128, repeat=True),
    ]
    manifest["broken"].append({
        "file": "lying.tiff", "source": "generic-deflate.tiff", "bytes": (out / "lying.tiff").stat().st_size,
        "sha256": sha256(out / "lying.tiff"),
        "what": "generic-deflate.tiff with one level-0 TileOffsets entry pointing 1,000,000 bytes past the end",
        "why": "open succeeds (OpenSlide reads only the smallest level's tiles at open, for quickhash-1); a read "
               "touching the tile fails in libtiff and puts the handle in OpenSlide's sticky error state. "
               "The libtiff row/col numbers in the message vary with the handle's history: match on "
               f"'TIFFFillTile: Read error' and 'tile {lying['tile_index']};'",
        "broken_tile": lying,
        "reads": lying_reads,
        "openslide_python": probe_broken(out / "lying.tiff", lying_reads),
    })
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def verify(out):
    """Re-open every slide and compare with the manifest and the .npy files."""
    manifest = json.loads((out / "manifest.json").read_text())
    problems = []
    for e in manifest["slides"]:
        path = out / e["file"]
        if sha256(path) != e["sha256"]:
            problems.append(f"{e['file']}: sha256 differs")
        s = openslide.OpenSlide(str(path))
        checks = {
            "vendor": openslide.OpenSlide.detect_format(str(path)),
            "level_count": s.level_count,
            "level_dimensions": [list(d) for d in s.level_dimensions],
            "level_downsamples": list(s.level_downsamples),
            "properties": {k: s.properties[k] for k in sorted(s.properties)},
        }
        for k, v in checks.items():
            if v != e[k]:
                problems.append(f"{e['file']}: {k} {v!r} != manifest {e[k]!r}")
        for r in e["regions"]:
            got = read_rgba(s, r)
            want = np.load(out / r["npy"], allow_pickle=False)
            if got.shape != want.shape or not np.array_equal(got, want):
                problems.append(f"{e['file']} {r['name']}: pixels differ from {r['npy']}")
            if alpha_stats(got)["opaque"] != r["opaque"]:
                problems.append(f"{e['file']} {r['name']}: opacity differs")
            if r["inside_level"] and not r["opaque"]:
                problems.append(f"{e['file']} {r['name']}: inside the level but not opaque")
            print(f"  {e['file']:22s} {r['name']:11s} L{r['level']} ({r['x']},{r['y']}) {r['w']}x{r['h']} "
                  f"inside={r['inside_level']!s:5s} fractional={r['fractional_origin']!s:5s} opaque={r['opaque']!s:5s} "
                  f"partial={r['alpha_partial_pixels']} zero={r['alpha_0_pixels']}")
        s.close()
    for e in manifest["broken"]:
        path = out / e["file"]
        if sha256(path) != e["sha256"]:
            problems.append(f"{e['file']}: sha256 differs")
        again = probe_broken(path, e["reads"])
        if again != e["openslide_python"]:
            problems.append(f"{e['file']}: openslide-python behaves differently from the manifest")
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    for p in sorted(out.iterdir()):
        print(f"  {p.stat().st_size:9d}  {p.name}")
    print(f"  {total:9d}  total ({len(list(out.iterdir()))} files)")
    if problems:
        print("\n".join(problems))
        sys.exit(1)
    print("verified: every slide, region and broken-file behaviour matches manifest.json")


def probe_codecs():
    """Which TIFF compressions OpenSlide's generic-tiff driver opens and decodes (printed, not saved)."""
    img = synth_tissue(300, 400, seed=0, noise_tissue=3, noise_bg=1)
    levels = pyramid(img, 2, 2)
    cases = [("none", None, {}), ("lzw", "lzw", {}), ("deflate (8)", "zlib", {}), ("deflate (32946)", 32946, {}),
             ("deflate + predictor", "zlib", {"predictor": True}), ("packbits", "packbits", {}),
             ("jpeg ycbcr", "jpeg", {}), ("jpeg rgb", "jpeg", {"outcolorspace": "rgb"}), ("zstd", "zstd", {}),
             ("webp", "webp", {}), ("lzma", "lzma", {}), ("jpeg2000", "jpeg2000", {}), ("jpegxl", "jpegxl", {})]
    with tempfile.TemporaryDirectory() as tmp:
        for name, comp, args in cases:
            fn = Path(tmp) / "p.tiff"
            args = dict(args)
            predictor = args.pop("predictor", None)
            try:
                with tifffile.TiffWriter(fn) as tw:
                    for i, lv in enumerate(levels):
                        tw.write(lv, tile=(128, 128), photometric="rgb", compression=comp, compressionargs=args,
                                 predictor=predictor, subfiletype=1 if i else 0, metadata=None, software=False)
                tag = int(tifffile.TiffFile(fn).pages[0].compression)
            except Exception as e:  # noqa: BLE001
                print(f"  {name:22s} tifffile cannot write: {e}")
                continue
            try:
                s = openslide.OpenSlide(str(fn))
                got = np.asarray(s.read_region((0, 0), 0, (400, 300)))[..., :3].astype(int)
                print(f"  {name:22s} Compression={tag:<6d} reads, max |diff| vs source {np.abs(got - img).max()}")
                s.close()
            except Exception as e:  # noqa: BLE001
                print(f"  {name:22s} Compression={tag:<6d} {type(e).__name__}: {e}")


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    out = Path(args[0]).resolve() if args else DEFAULT_OUT
    print(f"OpenSlide {openslide.__library_version__}, openslide-python {openslide.__version__}")
    if "--probe-codecs" in argv:
        probe_codecs()
        return
    if "--verify" not in argv:
        generate(out)
    verify(out)


if __name__ == "__main__":
    main(sys.argv[1:])
