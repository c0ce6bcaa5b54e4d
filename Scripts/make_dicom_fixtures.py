#!/usr/bin/env python3
"""Copies a few small DICOM files from pydicom's test data and writes the values pydicom decodes from them.

Usage: python3 Scripts/make_dicom_fixtures.py [OUT]   (OUT defaults to Tests/Fixtures/dicom)
Needs pydicom 3 with the pylibjpeg plugins (pip install pydicom pylibjpeg pylibjpeg-libjpeg
pylibjpeg-openjpeg pylibjpeg-rle numpy); bench/.venv has them.

Next to each NAME.dcm it writes NAME.npy, float32, the reference modality values:
    arr = ds.pixel_array               # pydicom's default: YBR_FULL / YBR_FULL_422 converted to RGB
    arr = apply_modality_lut(arr, ds)  # Rescale Slope / Intercept
    MONOCHROME1: lo + hi - arr         # lo, hi: modality values of the smallest / largest storable value
shaped (bands, height, width) for one frame and (frames, bands, height, width) for several, and one
manifest.json describing every file. Lossless files must decode exactly; lossy ones within `tolerance`
(max absolute difference: GDCM's and pydicom's codecs differ in IDCT and chroma upsampling).
"""
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pydicom
import pydicom.data
from pydicom.pixels import apply_modality_lut

ROOT = Path(__file__).resolve().parent.parent
TEST_FILES = Path(pydicom.data.__file__).parent / "test_files"

# (fixture name, path under pydicom/data/test_files, why it is here)
FILES = [
    ("CT_small.dcm", "CT_small.dcm", "CT, explicit VR little endian, signed 16-bit, intercept -1024"),
    ("MR_small.dcm", "MR_small.dcm", "MR, explicit VR little endian"),
    ("MR_small_implicit.dcm", "MR_small_implicit.dcm", "implicit VR little endian"),
    ("MR_small_bigendian.dcm", "MR_small_bigendian.dcm", "explicit VR big endian"),
    ("MR_small_RLE.dcm", "MR_small_RLE.dcm", "RLE lossless"),
    ("MR_small_jpeg_ls_lossless.dcm", "MR_small_jpeg_ls_lossless.dcm", "JPEG-LS lossless"),
    ("MR_small_jp2klossless.dcm", "MR_small_jp2klossless.dcm", "JPEG 2000 lossless"),
    ("JPEGLSNearLossless_08.dcm", "JPEGLSNearLossless_08.dcm", "JPEG-LS near-lossless, 8-bit"),
    ("SC_rgb_jpeg_gdcm.dcm", "SC_rgb_jpeg_gdcm.dcm", "JPEG lossless (process 14, SV1), RGB"),
    ("SC_rgb_dcmtk_ebcynp.dcm", "SC_rgb_dcmtk_+eb+cy+np.dcm", "JPEG baseline, YBR_FULL_422 -> RGB"),
    ("SC_rgb_small_odd.dcm", "SC_rgb_small_odd.dcm", "RGB 3x3, explicit VR little endian"),
    ("SC_rgb_small_odd_big_endian.dcm", "SC_rgb_small_odd_big_endian.dcm", "RGB 3x3, explicit VR big endian"),
    ("SC_rgb_small_odd_jpeg.dcm", "SC_rgb_small_odd_jpeg.dcm", "JPEG baseline 3x3, YBR_FULL -> RGB"),
    ("CR_monochrome1.dcm", "dicomdirtests/77654033/CR1/6154", "MONOCHROME1, 12 of 16 bits stored"),
    ("rtdose.dcm", "rtdose.dcm", "15 frames, 32-bit, implicit VR little endian"),
]

LOSSY_TOLERANCE = {  # max absolute difference allowed against pydicom, by transfer syntax
    "1.2.840.10008.1.2.4.50": 8.0,  # JPEG baseline: IDCT and chroma upsampling differ between codecs
    "1.2.840.10008.1.2.4.51": 2.0,  # JPEG extended (12-bit)
    "1.2.840.10008.1.2.4.81": 0.0,  # JPEG-LS near-lossless: the decoding is exactly specified
    "1.2.840.10008.1.2.4.91": 1.0,  # JPEG 2000 irreversible: floating-point wavelet
}


def reference(ds):
    arr = apply_modality_lut(ds.pixel_array, ds).astype(np.float64)
    bits = int(ds.BitsStored)
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if int(ds.PixelRepresentation) else (0, 2 ** bits - 1)
    if "RescaleSlope" in ds and "RescaleIntercept" in ds:
        slope, intercept = float(ds.RescaleSlope), float(ds.RescaleIntercept)
        lo, hi = sorted((lo * slope + intercept, hi * slope + intercept))
    if ds.PhotometricInterpretation == "MONOCHROME1":
        arr = lo + hi - arr
    frames, bands = int(ds.get("NumberOfFrames", 1) or 1), int(ds.SamplesPerPixel)
    if frames == 1:
        arr = arr[None]
    arr = arr[:, None] if bands == 1 else arr.transpose(0, 3, 1, 2)  # -> (frames, bands, height, width)
    return (arr[0] if frames == 1 else arr).astype(np.float32)


def main():
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "Tests" / "Fixtures" / "dicom"
    out.mkdir(parents=True, exist_ok=True)
    manifest = {}
    for name, source, note in FILES:
        src = TEST_FILES / source
        shutil.copyfile(src, out / name)
        ds = pydicom.dcmread(src)
        arr = reference(ds)
        np.save(out / (Path(name).stem + ".npy"), arr)
        ts = str(ds.file_meta.TransferSyntaxUID)
        lossless = ts not in LOSSY_TOLERANCE
        manifest[name] = {
            "width": int(ds.Columns),
            "height": int(ds.Rows),
            "bands": int(ds.SamplesPerPixel),
            "frames": int(ds.get("NumberOfFrames", 1) or 1),
            "transfer_syntax": ts,
            "photometric": str(ds.PhotometricInterpretation),
            "lossless": lossless,
            "tolerance": 0.0 if lossless else LOSSY_TOLERANCE[ts],
            "reference": Path(name).stem + ".npy",
            "shape": list(arr.shape),
            "source": "pydicom " + pydicom.__version__ + ": pydicom/data/test_files/" + source,
            "note": note,
        }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    total = sum(p.stat().st_size for p in out.iterdir() if p.is_file())
    print(f"{len(manifest)} DICOM fixtures, {total // 1024} KiB, in {out}")


if __name__ == "__main__":
    main()
