#!/usr/bin/env python3
"""The popular "halve the batch on out-of-memory" recipe, run as-is, against `headroom train`
under the same memory budget on the same data.

The recipe is the one Accelerate's `find_executable_batch_size` and Lightning's batch-size
finder package: run the training function; if it raises an out-of-memory error, halve the
batch and run it again from the start. Both sides train resnet18 for one epoch of the demo
set (1024×768 sources, RandomResizedCrop(512) + flip, requested batch 32, SGD lr 0.1,
fp32, 2 threads, 2 workers) and validate, each under the same budget on the bytes held
through libtorch's CPU allocator (bench/alloc_counter.c, LD_PRELOAD, with a limit: past it
an allocation fails and libtorch raises its out-of-memory error). Headroom is told the same
budget with --memory-budget.

The table shows what each optimiser step saw: the recipe silently trains with a smaller
batch (and as many more steps at the same learning rate); Headroom keeps the batch.

    bench/.venv/bin/python bench/oom_recipe.py [--budget-gib 1.5] [--image-size 512]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

from checkpointing import build_counter
from common import HEADROOM, PEER_TRAIN_ONE_EPOCH, write_result

PYTORCH_RECIPE = r'''
import gc, json, sys, torch, torchvision
from torchvision import transforms
''' + PEER_TRAIN_ONE_EPOCH + r'''
root, batch_size, image_size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(2)

def out_of_memory(error):
    # What the recipe's helpers look for: the CUDA caching allocator's and libtorch's CPU
    # allocator's messages.
    return isinstance(error, RuntimeError) and any(
        text in str(error) for text in ("out of memory", "can't allocate memory", "not enough memory"))

def train(batch_size):
    """One epoch and a validation pass, everything built inside (the recipe restarts it)."""
    torch.manual_seed(0)
    normalize = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
    train_set = torchvision.datasets.ImageFolder(root + "/train", transforms.Compose([
        transforms.RandomResizedCrop(image_size), transforms.RandomHorizontalFlip(), transforms.ToTensor(), normalize]))
    val_set = torchvision.datasets.ImageFolder(root + "/val", transforms.Compose([
        transforms.Resize(image_size), transforms.CenterCrop(image_size), transforms.ToTensor(), normalize]))
    train_loader = torch.utils.data.DataLoader(train_set, batch_size=batch_size, shuffle=True, num_workers=2, drop_last=True)
    val_loader = torch.utils.data.DataLoader(val_set, batch_size=batch_size, num_workers=2)
    model = torchvision.models.resnet18(num_classes=len(train_set.classes))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sizes = train_one_epoch(model, optimizer, train_loader)
    model.eval()
    with torch.no_grad():
        for images, labels in val_loader:
            model(images)
    return len(sizes), sorted(set(sizes))

failed = []
while True:
    try:
        steps, seen = train(batch_size)
        break
    except RuntimeError as error:
        if not out_of_memory(error) or batch_size == 1:
            raise
        failed.append(batch_size)
        del error
        gc.collect()
        batch_size //= 2
print(json.dumps({"steps": steps, "step_batches": seen, "failed_batches": failed, "final_batch": batch_size}))
'''


def run(command, env, peak_file):
    """Wall time, standard output and the peak bytes the process held (its loader workers
    write theirs earlier, as they exit first)."""
    start = time.perf_counter()
    result = subprocess.run(command, env=dict(env, ALLOC_COUNTER_OUT=peak_file), capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"{command[0]} failed:\n{result.stderr[-3000:]}")
    seconds = time.perf_counter() - start
    with open(peak_file) as file:
        return seconds, result.stdout, int(file.read())


def headroom_summary(run_dir):
    """Optimiser steps, the samples each saw, micro-batch × accumulation and OOM events."""
    steps, samples, shapes, ooms, seen = 0, set(), set(), 0, 0
    with open(os.path.join(run_dir, "metrics.jsonl")) as file:
        for line in file:
            row = json.loads(line)
            if row["type"] == "step":
                steps += 1
                samples.add(row["samples"] - seen)  # the row counts samples seen so far
                seen = row["samples"]
                shapes.add(f"{row['micro_batch']} × {row['accumulation']}")
            elif row["type"] == "oom":
                ooms += 1
    return steps, samples, shapes, ooms


def mib(count):
    return f"{count / 2**20:.0f} MiB"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget-gib", type=float, default=1.5)
    parser.add_argument("--image-size", type=int, default=512)
    parser.add_argument("--batch-size", type=int, default=32)
    args = parser.parse_args()
    budget = int(args.budget_gib * 2**30)
    work = tempfile.mkdtemp()
    data = os.path.join(work, "data")
    subprocess.run([HEADROOM, "demo-data", data, "--train-per-class", "13", "--val-per-class", "2"], check=True,
                   capture_output=True)
    script = os.path.join(work, "recipe.py")
    with open(script, "w") as file:
        file.write(PYTORCH_RECIPE)
    env = dict(os.environ, LD_PRELOAD=build_counter(work), ALLOC_COUNTER_LIMIT=str(budget))

    peer_seconds, output, peer_peak = run([sys.executable, script, data, str(args.batch_size), str(args.image_size)], env,
                                          os.path.join(work, "peer-peak"))
    peer = json.loads(output.strip().splitlines()[-1])
    run_dir = os.path.join(work, "run")
    ours_seconds, _, our_peak = run([HEADROOM, "train", data, "--out", run_dir, "--epochs", "1", "--batch-size", str(args.batch_size),
                           "--image-size", str(args.image_size), "--lr", "0.1", "--precision", "fp32", "--device", "cpu",
                           "--threads", "2", "--workers", "2", "--memory-budget", f"{args.budget_gib}GiB"], env,
                          os.path.join(work, "our-peak"))
    steps, samples, shapes, ooms = headroom_summary(run_dir)
    shutil.rmtree(work)

    failed = ", ".join(str(batch) for batch in peer["failed_batches"]) or "none"
    text = "\n".join([
        f"resnet18, one epoch of 65 demo images (1024×768) at {args.image_size} px and validation, requested batch "
        f"{args.batch_size}, fp32, 2 threads, 2 workers; both processes under a {args.budget_gib:g} GiB limit on bytes held "
        "through libtorch's CPU allocator (alloc_counter.c with ALLOC_COUNTER_LIMIT); whole-process wall time",
        "",
        "| | samples per optimiser step | optimiser steps | per pass | out-of-memory errors | most held | wall time |",
        "|---|---|---|---|---|---|---|",
        f"| halve-on-OOM recipe (PyTorch) | {', '.join(map(str, peer['step_batches']))} | {peer['steps']} | "
        f"{peer['final_batch']} | {len(peer['failed_batches'])} (restarted after batch {failed}) | {mib(peer_peak)} | {peer_seconds:.1f} s |",
        f"| headroom train | {', '.join(map(str, sorted(samples)))} | {steps} | {', '.join(sorted(shapes))} "
        f"(micro-batch × accumulation) | {ooms} | {mib(our_peak)} | {ours_seconds:.1f} s |",
        "",
        f"Command: `bench/.venv/bin/python bench/oom_recipe.py --budget-gib {args.budget_gib:g} --image-size {args.image_size}`",
    ])
    print(text)
    write_result("oom_recipe.md", text)


if __name__ == "__main__":
    main()
