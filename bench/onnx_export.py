"""`headroom export --to model.onnx` checked in onnxruntime against `headroom predict`.

Trains a small run (demo-data at 64 × 64, resnet18, one epoch at 56 px, the default
precision: bf16 on a CPU with native bf16), exports it to ONNX and to safetensors, checks
the ONNX file with onnx's own checker, then classifies the validation images four ways, with
default options everywhere: `headroom predict --json` on the run directory and on the
safetensors export, onnxruntime on the ONNX file, and torchvision's resnet18 in eval mode
(fp32) with the exported state dict, the last two on the same pixels normalised with the
mean and std the file records. The images are 64 px, which validation's resize
(56 / 0.875 = 64) leaves as they are, so every side sees identical inputs and any
difference is the model's. Writes bench/results/onnx.md. Goal: every largest probability
difference against the run's `predict` ≤ 1e-4.

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

from common import HEADROOM, cpu_description, write_result

SIZE = 56
RESIZED = 64  # int(56 / 0.875): validation's resize leaves a 64 px image unchanged


def main():
    work = tempfile.mkdtemp(prefix="headroom-onnx-")
    data, run, model_path, weights_path = (os.path.join(work, name) for name in ("data", "run", "model.onnx", "model.safetensors"))
    subprocess.run([HEADROOM, "demo-data", data, "--width", str(RESIZED), "--height", str(RESIZED), "--format", "png",
                    "--train-per-class", "16", "--val-per-class", "8"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([HEADROOM, "train", data, "--out", run, "--epochs", "1", "--batch-size", "16",
                    "--image-size", str(SIZE), "--device", "cpu"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run([HEADROOM, "export", run, "--to", model_path], check=True)
    subprocess.run([HEADROOM, "export", run, "--to", weights_path], check=True)
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    metadata = {entry.key: entry.value for entry in model.metadata_props}
    classes = json.loads(metadata["headroom.class_names"])
    normalization = json.loads(metadata["headroom.normalization"])
    assert int(metadata["headroom.image_size"]) == SIZE, metadata

    images = sorted(os.path.join(root, name) for root, _, names in os.walk(os.path.join(data, "val")) for name in names)
    def predict(source):
        """`headroom predict` with default options: {path: {class: probability}}."""
        rows = json.loads(subprocess.run([HEADROOM, "predict", source, *images, "--json", "--top-k", str(len(classes))],
                                         check=True, capture_output=True, text=True).stdout)
        return {row["path"]: {c["name"]: c["probability"] for c in row["classes"]} for row in rows}

    ours = predict(run)
    from_export = predict(weights_path)

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

    reference = torchvision_eval(weights_path, len(classes), batch)
    precision = json.load(open(os.path.join(run, "config.json")))["precision"]

    def compare(other):
        """(largest probability difference, top-1 agreements) of `other` against the run's predict."""
        worst = max(abs(other(i, path, k, name) - ours[path][name])
                    for i, path in enumerate(images) for k, name in enumerate(classes))
        agree = sum(int(np.argmax([other(i, path, k, name) for k, name in enumerate(classes)]))
                    == classes.index(max(ours[path], key=ours[path].get)) for i, path in enumerate(images))
        return worst, agree

    rows = [
        ("`predict model.safetensors` (the export)", compare(lambda i, path, k, name: from_export[path][name])),
        (f"onnxruntime {onnxruntime.__version__}, `model.onnx`", compare(lambda i, path, k, name: float(probabilities[i, k]))),
        ("torchvision resnet18, eval, fp32", compare(lambda i, path, k, name: float(reference[i, k]))),
    ]
    table = "\n".join([
        f"`headroom export` to ONNX (opset {model.opset_import[0].version}, IR {model.ir_version}, "
        f"{os.path.getsize(model_path) / 2**20:.1f} MiB; onnx.checker full check passed) and to safetensors, against "
        f"`headroom predict RUN_DIR`, all with default options: resnet18 trained one epoch in {precision} on demo-data at "
        f"{SIZE} px, its {len(images)} validation images, on {cpu_description()}; onnxruntime at 2 threads ran "
        f"{len(images) / seconds:.0f} img/s.",
        "",
        "| against `predict RUN_DIR` | top-1 agreement | largest probability difference | goal |",
        "|---|---|---|---|",
        *(f"| {name} | {agree}/{len(images)} | {worst:.1e} | ≤ 1e-4 |" for name, (worst, agree) in rows),
    ])
    write_result("onnx.md", table)
    print(table)
    shutil.rmtree(work)
    failures = [name for name, (worst, agree) in rows if worst > 1e-4 or agree != len(images)]
    if failures:
        raise SystemExit(f"these disagree with predict: {', '.join(failures)}")


def torchvision_eval(weights_path, class_count, batch):
    """torchvision's resnet18 in eval mode, fp32, with the exported state dict: softmax probabilities."""
    import torch
    import torchvision
    from safetensors.torch import load_file

    model = torchvision.models.resnet18(num_classes=class_count)
    model.load_state_dict(load_file(weights_path), strict=True)
    model.eval()
    with torch.no_grad():
        return torch.softmax(model(torch.from_numpy(batch)), dim=1).numpy()


if __name__ == "__main__":
    main()
