#!/usr/bin/env python3
"""Checks that a Headroom-written model file loads into torchvision unchanged.

    HEADROOM_KEEP_EXPORT=/tmp/headroom-export.safetensors swift test --filter ModelFileTests
    python3 Scripts/check-torchvision-load.py /tmp/headroom-export.safetensors
"""
import json
import sys

import torchvision
from safetensors import safe_open
from safetensors.torch import load_file

path = sys.argv[1]
state_dict = load_file(path)
with safe_open(path, "pt") as f:
    metadata = f.metadata() or {}
classes = json.loads(metadata["headroom.class_names"])
model = torchvision.models.resnet18(num_classes=len(classes))
model.load_state_dict(state_dict, strict=True)
print(f"ok: {len(state_dict)} tensors loaded strictly into torchvision resnet18; classes {classes}")
