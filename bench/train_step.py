#!/usr/bin/env python3
"""Training-step throughput: Headroom against PyTorch eager, in the same run.

Both sides train torchvision's resnet18 (1000 classes) with SGD (momentum 0.9, weight
decay 1e-4) on a fixed synthetic uint8 batch, normalised on the device, same batch size,
resolution, precision, memory format and thread count; each side runs warm-up steps,
then timed steps, alternating sides and repeating, and the table shows min and median.

    bench/peer/bin/python bench/train_step.py [--configs 16x224,8x512] [--repeats 3] [--threads 2]
"""
import argparse
import json
import os
import statistics
import subprocess
import time

import torch
import torchvision

from common import HEADROOM, ROOT, write_result


def pytorch_steps(batch, resolution, steps, warm_up, threads, channels_last, device="cpu", precision="fp32"):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=1000)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model = model.to(device=device, memory_format=memory_format)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=1e-4)
    images = (torch.rand(batch, 3, resolution, resolution) * 255).to(torch.uint8)
    labels = torch.randint(0, 1000, (batch,)).to(device)
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1).to(device) * 255
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1).to(device) * 255
    autocast = torch.autocast(device_type=device.split(":")[0], dtype=torch.bfloat16, enabled=precision == "bf16")
    times = []
    for index in range(warm_up + steps):
        start = time.perf_counter()
        x = ((images.to(device, non_blocking=True).float() - mean) / std).contiguous(memory_format=memory_format)
        with autocast:
            logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.float(), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()
        if index >= warm_up:
            times.append(time.perf_counter() - start)
    return times


def headroom_steps(batch, resolution, steps, warm_up, threads, channels_last, device="cpu", precision="fp32"):
    command = [os.environ.get("HEADROOM", HEADROOM), "benchmark-step", "--batch", str(batch), "--resolution", str(resolution),
               "--steps", str(steps), "--warm-up", str(warm_up), "--threads", str(threads), "--device", device,
               "--precision", precision]
    if channels_last:
        command.append("--channels-last")
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(output)["seconds_per_step"]


def matmul_gflops(threads):
    torch.set_num_threads(threads)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    torch.mm(a, b)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - start)
    return 2 * 2048**3 / best / 1e9


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--configs", default="16x224,8x512")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=4)
    parser.add_argument("--warm-up", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    parser.add_argument("--output", default="train_step.md")
    args = parser.parse_args()

    ceiling = matmul_gflops(args.threads) if args.device == "cpu" else float("nan")
    lines = [
        f"resnet18 training step, {args.device} {args.precision}{' channels-last' if args.channels_last else ''}, {args.threads} threads, SGD; {args.repeats} alternating repeats of "
        f"{args.steps} timed steps after {args.warm_up} warm-up; matmul ceiling {ceiling:.0f} GFLOP/s (2048², best of 5)",
        "",
        "| batch × px | PyTorch img/s (min / median step) | Headroom img/s | Headroom / PyTorch | GFLOP/s PyTorch / Headroom |",
        "|---|---|---|---|---|",
    ]
    for config in args.configs.split(","):
        batch, resolution = map(int, config.split("x"))
        peer, ours = [], []
        for _ in range(args.repeats):
            peer += pytorch_steps(batch, resolution, args.steps, args.warm_up, args.threads, args.channels_last, args.device, args.precision)
            ours += headroom_steps(batch, resolution, args.steps, args.warm_up, args.threads, args.channels_last, args.device, args.precision)
        # Training ≈ 3 × the forward's 1.82 GMAC at 224², scaling with pixels; 2 FLOP per MAC.
        flops = 3 * 2 * 1.82e9 * (resolution / 224) ** 2 * batch
        peer_rate, our_rate = batch / statistics.median(peer), batch / statistics.median(ours)
        lines.append(
            f"| {batch} × {resolution} | {batch / max(peer):.2f}–{peer_rate:.2f} (min {min(peer):.2f} s, median {statistics.median(peer):.2f} s) | "
            f"{batch / max(ours):.2f}–{our_rate:.2f} (min {min(ours):.2f} s, median {statistics.median(ours):.2f} s) | "
            f"{our_rate / peer_rate:.2f}× | {flops / statistics.median(peer) / 1e9:.0f} / {flops / statistics.median(ours) / 1e9:.0f} |")
    text = "\n".join(lines)
    print(text)
    write_result(args.output, text)


if __name__ == "__main__":
    main()
