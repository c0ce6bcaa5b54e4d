"""torchvision's ResNet family through Headroom: each architecture trains (one step), exports to
safetensors and ONNX, and the exports load strictly into torchvision and run in onnxruntime.

For each of the ten architectures: `headroom train` on demo-data (64 px, a batch of 4, one
optimiser step, fp32; at 32 px the deepest ones' validation overflows after one step, in
PyTorch too: BatchNorm's running statistics are still far from the activations), `headroom export` to model.safetensors and model.onnx, then
torchvision's builder of the same name with `load_state_dict(strict=True)`, and the largest
difference between torchvision's fp32 eval logits and onnxruntime's on the same normalised
input. Writes bench/results/family.md. Goal: every load strict, every difference ≤ 1e-4.

    bench/.venv/bin/python bench/family.py
"""
import json
import os
import subprocess
import tempfile
import time

import numpy as np
import onnxruntime
import torch
import torchvision
from safetensors import safe_open
from safetensors.torch import load_file

from common import HEADROOM, cpu_description, write_result

FAMILY = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
          "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]


def main():
    torch.set_num_threads(2)
    work = tempfile.mkdtemp(prefix="headroom-family-")
    data = os.path.join(work, "data")
    subprocess.run([HEADROOM, "demo-data", data, "--width", "72", "--height", "72", "--train-per-class", "1",
                    "--val-per-class", "1", "--classes", "4"], check=True, stdout=subprocess.DEVNULL)
    rows = []
    for name in FAMILY:
        run, weights_path, onnx_path = (os.path.join(work, name + suffix) for suffix in ("", ".safetensors", ".onnx"))
        start = time.time()
        subprocess.run([HEADROOM, "train", data, "--out", run, "--model", name, "--epochs", "1", "--batch-size", "4",
                        "--image-size", "64", "--precision", "fp32", "--device", "cpu"], check=True, stdout=subprocess.DEVNULL)
        seconds = time.time() - start
        subprocess.run([HEADROOM, "export", run, "--to", weights_path], check=True, stdout=subprocess.DEVNULL)
        subprocess.run([HEADROOM, "export", run, "--to", onnx_path], check=True, stdout=subprocess.DEVNULL)
        with safe_open(weights_path, "pt") as f:
            metadata = f.metadata()
        classes = json.loads(metadata["headroom.class_names"])
        model = getattr(torchvision.models, name)(num_classes=len(classes))
        model.load_state_dict(load_file(weights_path), strict=True)
        model.eval()
        x = torch.rand(2, 3, 64, 64, generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            expected = model(x).numpy()
        session = onnxruntime.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
        logits = session.run(["logits"], {"input": x.numpy()})[0]
        difference = float(np.abs(logits - expected).max() / max(np.abs(expected).max(), 1e-12))
        rows.append((name, metadata["headroom.architecture"], sum(p.numel() for p in model.parameters()), seconds, difference))
        print(f"{name}: strict load ok, onnxruntime vs torchvision {difference:.1e}, train {seconds:.1f} s")
    lines = [
        "# torchvision's ResNet family through Headroom", "",
        f"`bench/.venv/bin/python bench/family.py` on {cpu_description()}: `headroom train` (one step of 4 images at 64 px, fp32),",
        "`headroom export` to safetensors and ONNX, then `load_state_dict(strict=True)` into torchvision 0.26's builder of the",
        "same name, and onnxruntime's logits against torchvision's (fp32, eval, 2 × 3 × 64 × 64), relative to the largest logit.", "",
        "| architecture | file says | parameters | train (s, with start-up) | strict load | ONNX vs torchvision |",
        "|---|---|---:|---:|---|---:|",
    ]
    for name, said, count, seconds, difference in rows:
        lines.append(f"| {name} | {said} | {count:,} | {seconds:.1f} | ok | {difference:.1e} |")
    write_result("family.md", "\n".join(lines))
    assert all(row[4] <= 1e-4 for row in rows), rows


if __name__ == "__main__":
    main()
