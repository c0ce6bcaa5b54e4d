"""`headroom export --to model.onnx` checked in onnxruntime against `headroom predict`.

Trains a small run (demo-data at 64 × 64, resnet18, one epoch at 56 px), exports it to ONNX,
checks the file with onnx's own checker, then classifies the validation images twice: with
`headroom predict --json` and with onnxruntime on the same pixels, normalised with the mean
and std the file records. The images are 64 px, which validation's resize (56 / 0.875 = 64)
leaves as they are, so both sides see identical inputs and any difference is the model's.
Writes bench/results/onnx.md. Goal: the largest probability difference ≤ 1e-4.

    bench/.venv/bin/python bench/onnx_export.py
"""
import json
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np
import onnx
import onnxruntime
from PIL import Image

from common import HEADROOM, write_result

SIZE = 56
RESIZED = 64  # int(56 / 0.875): validation's resize leaves a 64 px image unchanged


def main():
    work = tempfile.mkdtemp(prefix="headroom-onnx-")
    data, run, model_path = (os.path.join(work, name) for name in ("data", "run", "model.onnx"))
    subprocess.run([HEADROOM, "demo-data", data, "--width", str(RESIZED), "--height", str(RESIZED), "--format", "png",
                    "--train-per-class", "16", "--val-per-class", "8"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([HEADROOM, "train", data, "--out", run, "--epochs", "1", "--batch-size", "16",
                    "--image-size", str(SIZE), "--device", "cpu", "--precision", "fp32"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([HEADROOM, "export", run, "--to", model_path], check=True)
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    classes = json.loads(metadata["headroom.class_names"])
    normalization = json.loads(metadata["headroom.normalization"])
    assert int(metadata["headroom.image_size"]) == SIZE, metadata

    images = sorted(os.path.join(root, name) for root, _, names in os.walk(os.path.join(data, "val")) for name in names)
    predicted = json.loads(subprocess.run(
        [HEADROOM, "predict", run, *images, "--json", "--top-k", str(len(classes)), "--device", "cpu", "--precision", "fp32"],
        check=True, capture_output=True, text=True).stdout)
    ours = {row["path"]: {c["name"]: c["probability"] for c in row["classes"]} for row in predicted}

    mean = np.array(normalization["mean"], dtype=np.float32).reshape(1, 3, 1, 1)
    std = np.array(normalization["std"], dtype=np.float32).reshape(1, 3, 1, 1)
    margin = (RESIZED - SIZE) // 2
    pixels = np.stack([np.asarray(Image.open(path).convert("RGB"), dtype=np.float32).transpose(2, 0, 1) for path in images])
    batch = ((pixels[:, :, margin:margin + SIZE, margin:margin + SIZE] / 255 - mean) / std).astype(np.float32)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
    start = time.perf_counter()
    probabilities, = session.run(["probabilities"], {"input": batch})
    seconds = time.perf_counter() - start

    differences = [abs(float(probabilities[i, k]) - ours[path][name])
                   for i, path in enumerate(images) for k, name in enumerate(classes)]
    agree = sum(int(np.argmax(probabilities[i])) == classes.index(max(ours[path], key=ours[path].get))
                for i, path in enumerate(images))
    worst = max(differences)
    table = "\n".join([
        f"`headroom export --to model.onnx` (opset {model.opset_import[0].version}, IR {model.ir_version}, "
        f"{os.path.getsize(model_path) / 2**20:.1f} MiB) in onnxruntime {onnxruntime.__version__} against "
        f"`headroom predict`, resnet18 trained one epoch on demo-data at {SIZE} px, on its {len(images)} validation images:",
        "",
        "| onnx.checker (full) | images | top-1 agreement | largest probability difference | goal | onnxruntime, 2 threads |",
        "|---|---|---|---|---|---|",
        f"| passed | {len(images)} | {agree}/{len(images)} | {worst:.1e} | ≤ 1e-4 | {len(images) / seconds:.0f} img/s |",
    ])
    write_result("onnx.md", table)
    print(table)
    shutil.rmtree(work)
    if worst > 1e-4 or agree != len(images):
        raise SystemExit(f"ONNX and predict disagree: largest difference {worst:.2e}, top-1 agreement {agree}/{len(images)}")


if __name__ == "__main__":
    main()
