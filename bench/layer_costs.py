#!/usr/bin/env python3
"""Where a training step's time goes, layer by layer: the measurement behind the planner's
time weights (`ComputeWeights.measured` in Sources/HeadroomModels/ResNet+Compute.swift).

Multiply-adds alone undercount resnet's early layers. This times forward + backward of each
part of a torchvision resnet18 at micro-batch 1 in PyTorch eager (the same libtorch as
Headroom), and derives: the rate of the 3×3 convolutions per stage (each stage's time less its
BatchNorms' and ReLUs', over its multiply-adds), the time of a BatchNorm and ReLU per element in
multiply-adds at that rate, and how much slower conv1 (3 input channels) runs per multiply-add.

    bench/.venv/bin/python bench/layer_costs.py [--resolution 1024] [--threads 2]
"""
import argparse
import statistics
import time

import torch
import torchvision

from common import cpu_description, write_result


def median_seconds(step, repeats=5):
    step()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def forward_backward(module, inputs, input_gradient=True):
    inputs = inputs.detach().requires_grad_(input_gradient)

    def step():
        module(inputs).sum().backward()
    return step


def conv_multiply_adds(conv, output):
    return conv.weight.numel() // conv.out_channels * output.numel()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--resolution", type=int, default=1024)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = torchvision.models.resnet18().train()
    image = torch.randn(1, 3, args.resolution, args.resolution)
    with torch.no_grad():
        stem = model.conv1(image)
    # A BatchNorm and ReLU, forward and backward, per element of conv1's output.
    norm_seconds = median_seconds(forward_backward(torch.nn.Sequential(model.bn1, model.relu), stem))
    per_element = norm_seconds / stem.numel()
    # conv1 never computes its input's gradient: forward and weight gradient, two passes.
    conv1_seconds = median_seconds(forward_backward(model.conv1, image, input_gradient=False))
    conv1_rate = 2 * conv_multiply_adds(model.conv1, stem) / conv1_seconds
    with torch.no_grad():
        x = model.maxpool(model.relu(model.bn1(stem)))
    rows, rates = [], []
    for name in ["layer1", "layer2", "layer3", "layer4"]:
        stage = getattr(model, name)
        outputs, multiply_adds = [], 0

        def record(module, _, output):
            outputs.append(output.numel())
            nonlocal multiply_adds
            multiply_adds += conv_multiply_adds(module, output)
        hooks = [conv.register_forward_hook(record) for conv in stage.modules() if isinstance(conv, torch.nn.Conv2d)]
        with torch.no_grad():
            y = stage(x)
        for hook in hooks:
            hook.remove()
        seconds = median_seconds(forward_backward(stage, x))
        convolution_seconds = seconds - per_element * sum(outputs)
        rate = 3 * multiply_adds / convolution_seconds
        rates.append(rate)
        rows.append(f"| {name} | {seconds * 1000:.0f} ms | {multiply_adds / 1e9:.2f} G | {sum(outputs) / 1e6:.1f} M | {rate / 1e9:.0f} G/s |")
        x = y
    rate = statistics.median(rates)
    # Forward + backward is three forward passes: a per-element time in forward multiply-adds.
    element_weight = per_element * rate / 3
    narrow_input = rate / conv1_rate
    lines = [
        f"resnet18, micro-batch 1, {args.resolution} px, fp32, {args.threads} threads, PyTorch {torch.__version__} eager, "
        f"{cpu_description()}: forward + backward of each part, the median of 5.",
        "",
        "| part | time | multiply-adds | conv outputs | 3×3 convolutions' rate |",
        "|---|---|---|---|---|",
        f"| conv1 (no input gradient) | {conv1_seconds * 1000:.0f} ms | {conv_multiply_adds(model.conv1, stem) / 1e9:.2f} G "
        f"| {stem.numel() / 1e6:.1f} M | {conv1_rate / 1e9:.0f} G/s |",
        f"| BatchNorm + ReLU on conv1's output | {norm_seconds * 1000:.0f} ms | – | {stem.numel() / 1e6:.1f} M | – |",
    ] + rows + [
        "",
        f"A BatchNorm and ReLU per element = **{element_weight:.0f} multiply-adds** at the stages' median rate; conv1 runs "
        f"**{narrow_input:.1f}× slower** per multiply-add (the planner's `ComputeWeights.measured`: 160 and 2.7, from an "
        "AMD EPYC with AVX-512 BF16).",
        "",
        f"Command: `bench/.venv/bin/python bench/layer_costs.py --resolution {args.resolution} --threads {args.threads}`",
    ]
    write_result("layer-costs.md", "\n".join(lines))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
