"""Golden outputs of torchvision's automatic-augmentation operations for ImageOperationTests.

Each case is torchvision.transforms.autoaugment._apply_op (what TrivialAugmentWide, RandAugment,
AutoAugment and AugMix call) on a uint8 tensor, no fill, NEAREST (the classes' default) or
BILINEAR (the reference recipe's).

    python Scripts/make_augment_fixtures.py   # with torchvision==0.26.0 (torch==2.11.0)
"""
import base64
import json
import math
from pathlib import Path

import torch
import torchvision
from torchvision.transforms import InterpolationMode
from torchvision.transforms.autoaugment import _apply_op

OUT = Path(__file__).resolve().parent.parent / "Tests/HeadroomTests/Recipe/Fixtures/augment-operations.json"


def image(bands, height, width, seed):
    """Smooth gradients with noise and a few saturated pixels: every operation has work to do."""
    g = torch.Generator().manual_seed(seed)
    y = torch.linspace(0, 1, height).view(height, 1)
    x = torch.linspace(0, 1, width).view(1, width)
    planes = []
    for band in range(bands):
        base = 40 + 150 * (0.6 * x + 0.4 * y) * (1 - 0.3 * band) + 20 * torch.sin(9 * x * (band + 1) + 5 * y)
        noise = torch.randint(-12, 13, (height, width), generator=g).float()
        planes.append((base + noise).clamp(0, 255))
    img = torch.stack(planes).round().to(torch.uint8)
    if bands == 3:  # one band spans 0…255 (AutoContrast leaves it), the others do not
        img[0, 0, 0] = 0
        img[0, -1, -1] = 255
    return img


def encode(tensor):
    return base64.b64encode(tensor.contiguous().numpy().tobytes()).decode()


CASES = [
    ("Identity", 0.0),
    ("ShearX", 0.3), ("ShearX", -0.99), ("ShearY", 0.5), ("ShearY", -0.2),
    ("TranslateX", 7.0), ("TranslateX", -12.6), ("TranslateY", 5.0), ("TranslateY", -3.0),
    ("Rotate", 30.0), ("Rotate", -135.0), ("Rotate", 9.0),
    ("Brightness", 0.4), ("Brightness", -0.7), ("Color", 0.8), ("Color", -0.5),
    ("Contrast", 0.6), ("Contrast", -0.9), ("Sharpness", 0.9), ("Sharpness", -0.6),
    ("Posterize", 2.0), ("Posterize", 5.0), ("Posterize", 8.0),
    ("Solarize", 128.0), ("Solarize", 0.0), ("Solarize", 255.0),
    ("AutoContrast", 0.0), ("Equalize", 0.0), ("Invert", 0.0),
]
# The reference recipe samples its warps bilinearly (train.py's --interpolation default).
BILINEAR = [("ShearX", 0.3), ("ShearY", -0.2), ("TranslateX", -12.6), ("Rotate", 30.0), ("Rotate", -7.0)]


def main():
    images = []
    for bands, height, width, seed in [(3, 23, 31, 1), (1, 20, 17, 2)]:
        img = image(bands, height, width, seed)
        cases = []
        for name, magnitude in CASES:
            if name == "Color" and bands == 1:
                continue  # saturation needs three bands
            out = _apply_op(img.clone(), name, magnitude, interpolation=InterpolationMode.NEAREST, fill=None)
            cases.append({"op": name, "magnitude": magnitude, "interpolation": "nearest", "data": encode(out)})
        for name, magnitude in BILINEAR:
            out = _apply_op(img.clone(), name, magnitude, interpolation=InterpolationMode.BILINEAR, fill=None)
            cases.append({"op": name, "magnitude": magnitude, "interpolation": "bilinear", "data": encode(out)})
        images.append({"bands": bands, "height": height, "width": width, "data": encode(img), "cases": cases})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps({"torch": torch.__version__, "torchvision": torchvision.__version__, "images": images}, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
