#!/usr/bin/env python3
"""Writes the small reference fixtures that Headroom's model tests compare against.

Run once with PyTorch 2.11.0 + torchvision 0.26.0 (e.g. the bench venv):
    python3 Scripts/make-reference-data.py
Output: Tests/HeadroomTests/Fixtures/resnet-reference.json (kilobytes; no weights are
committed: both sides fill the weights with the same deterministic formula).

Every value is computed in float64: the tests compare the network's definition (its
structure, BatchNorm's rule, SGD's rule), so rounding must not depend on the CPU that ran
this script. Weights and inputs come from integer formulas, exact in float32 and float64.
"""
import json
import math
import os

import torch
import torchvision

OUT = os.path.join(os.path.dirname(__file__), "..", "Tests", "HeadroomTests", "Fixtures", "resnet-reference.json")


def formula(count, tensor_index):
    """u_i in [-1, 1]: the same integers on both sides, so the floats match exactly."""
    i = torch.arange(count, dtype=torch.int64)
    return (((i * 7919 + tensor_index * 104729) % 2001) - 1000).to(torch.float64) / 1000.0


def fill_deterministically(model):
    """Every state-dict entry from `formula`, scaled by its role (see ResNetParityTests.swift)."""
    with torch.no_grad():
        for index, (key, tensor) in enumerate(model.state_dict().items()):
            if key.endswith("num_batches_tracked"):
                tensor.zero_()
                continue
            u = formula(tensor.numel(), index).reshape(tensor.shape)
            if key.endswith("running_var"):
                value = 1 + 0.5 * u
            elif tensor.dim() == 1 and key.endswith("weight"):
                value = 1 + 0.1 * u
            elif tensor.dim() == 1:
                value = 0.1 * u
            else:
                fan_in = tensor[0].numel()
                value = u * math.sqrt(6.0 / fan_in)
            tensor.copy_(value.to(tensor.dtype))


def input_batch(shape):
    count = math.prod(shape)
    i = torch.arange(count, dtype=torch.int64)
    return (((i * 31) % 257).to(torch.float64) / 128.0 - 1.0).reshape(shape)


def flat(t, n=None):
    values = t.detach().reshape(-1).tolist()
    return values if n is None else values[:n]


def main():
    torch.set_num_threads(2)
    reference = {"torch": torch.__version__, "torchvision": torchvision.__version__, "dtype": "float64", "architectures": {}}
    family = ["resnet18", "resnet34", "resnet50", "resnet101", "resnet152", "resnext50_32x4d", "resnext101_32x8d",
              "resnext101_64x4d", "wide_resnet50_2", "wide_resnet101_2"]
    for name in family:
        model = getattr(torchvision.models, name)(num_classes=1000)
        reference["architectures"][name] = {
            "parameter_count": sum(p.numel() for p in model.parameters()),
            "state_dict": [[k, list(v.shape)] for k, v in model.state_dict().items()],
        }

    # torchvision's published weights: the enum's tags, file names and ImageNet top-1.
    reference["weights"] = []
    for name in family:
        enum = torchvision.models.get_model_weights(name)
        for weights in enum:
            reference["weights"].append([name, enum.__name__, weights.name, weights.url.rsplit("/", 1)[1],
                                         weights.meta["_metrics"]["ImageNet-1K"]["acc@1"]])

    shape = [2, 3, 64, 64]
    # Logits for each kind of block: basic, bottleneck, grouped (ResNeXt) and wide.
    for name in ["resnet18", "resnet50", "resnext50_32x4d", "wide_resnet50_2"]:
        model = getattr(torchvision.models, name)(num_classes=10).double()
        fill_deterministically(model)
        x = input_batch(shape)
        entry = reference["architectures"][name]
        model.eval()
        with torch.no_grad():
            entry["eval_logits"] = flat(model(x))
        model.train()
        with torch.no_grad():
            entry["train_logits"] = flat(model(x))
        entry["after_train_forward"] = {
            "bn1.running_mean": flat(model.bn1.running_mean),
            "bn1.running_var": flat(model.bn1.running_var),
            "layer4.1.bn2.running_var.sum": float(model.state_dict()["layer4.1.bn2.running_var"].sum())
            if name == "resnet18" else None,
        }

    # One SGD step (momentum, weight decay) on a fixed batch from the deterministic weights.
    model = torchvision.models.resnet18(num_classes=10).double()
    fill_deterministically(model)
    before = {k: v.detach().clone() for k, v in model.named_parameters()}
    model.train()
    x = input_batch(shape)
    labels = torch.tensor([3, 7])
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    loss = torch.nn.functional.cross_entropy(model(x), labels)
    loss.backward()
    optimizer.step()
    reference["sgd_step"] = {
        "input_shape": shape,
        "labels": labels.tolist(),
        "lr": 0.1, "momentum": 0.9, "weight_decay": 1e-4,
        "loss": loss.item(),
        "conv1.weight.first": flat(model.conv1.weight, 8),
        "conv1.weight.sum": float(model.conv1.weight.detach().sum()),
        "layer3.0.downsample.0.weight.sum": float(model.layer3[0].downsample[0].weight.detach().sum()),
        "fc.weight.first": flat(model.fc.weight, 8),
        "fc.bias": flat(model.fc.bias),
        # ‖after − before‖ of every parameter: each one's gradient path, in 62 numbers.
        "update_norms": [[k, float((v.detach() - before[k]).norm())] for k, v in model.named_parameters()],
    }
    reference["input_shape"] = shape

    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(reference, f, separators=(",", ":"))
    print(f"wrote {OUT} ({os.path.getsize(OUT)} bytes)")


if __name__ == "__main__":
    main()
