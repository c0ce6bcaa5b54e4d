#!/usr/bin/env python3
"""Data-parallel training on this machine: 1 process against 2 (Gloo over 127.0.0.1).

`headroom train` on the demo set (`headroom demo-data`) for one epoch at 128 px, resnet18,
effective batch 16, fp32, a forced micro-batch of the rank's share (no planning), 1 decoding
worker per process; one process uses 2 intra-op threads, two processes 1 each (2 cores in
all either way). Two processes three ways: the gradient all-reduce overlapped with the last
backward (the default), after it (`--allreduce-overlap off`), and with `--sync-bn`. From rank
0's metrics.jsonl: the median step's samples/s over the steps after the first, and the
exposed all-reduce time (`allreduce_s`: the wait after backward, the slower rank included).
PyTorch DDP on random tensors of the same shape (no data loading), 1 and 2 processes, its
exposed time being a step's time minus the same step under `no_sync()`; DDP with
`SyncBatchNorm.convert_sync_batchnorm` (PyTorch refuses it on the CPU: its message is
reported as measured). Then the all-reduce alone: `headroom benchmark-allreduce` (resnet18's
11,689,512 float32 gradient values in the step's buckets, 2 processes) against
torch.distributed.all_reduce of one tensor of the same size with Gloo.

    bench/.venv/bin/python bench/distributed.py [--repeats 2]
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile

from common import HEADROOM, ROOT, write_result
ELEMENTS = 11_689_512  # resnet18 with 1000 classes

PEER = r'''
import contextlib, json, os, sys, time, statistics, torch, torch.distributed as dist, torch.multiprocessing as mp, torchvision

def allreduce(rank, size, port, out):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=size)
    bucket = torch.full((ELEMENTS,), 1.0 / size)
    for _ in range(3):
        dist.all_reduce(bucket)
    dist.barrier()
    times = []
    for _ in range(20):
        start = time.perf_counter()
        dist.all_reduce(bucket)
        times.append(time.perf_counter() - start)
    if rank == 0:
        out.put(statistics.median(times))
    dist.destroy_process_group()

def ddp(rank, size, port, out, sync=False):
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(2 // size)
    dist.init_process_group("gloo", rank=rank, world_size=size)
    torch.manual_seed(0)
    model = torchvision.models.resnet18(num_classes=3)
    if sync:
        model = torch.nn.SyncBatchNorm.convert_sync_batchnorm(model)
    try:
        model = torch.nn.parallel.DistributedDataParallel(model) if size > 1 else model
    except Exception as error:
        if rank == 0:
            out.put(repr(str(error)))
        dist.destroy_process_group()
        return
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    share = 16 // size
    images, labels = torch.randn(share, 3, 128, 128), torch.randint(0, 3, (share,))
    def steps(context):
        times = []
        for step in range(9):
            start = time.perf_counter()
            with context():
                loss = torch.nn.functional.cross_entropy(model(images), labels)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
            optimizer.step()
            loss.item()
            times.append(time.perf_counter() - start)
        return statistics.median(times[1:])
    synced = steps(contextlib.nullcontext)
    # Without the all-reduce (no_sync): the difference is the communication DDP leaves exposed.
    alone = steps(model.no_sync) if size > 1 else synced
    if rank == 0:
        out.put(json.dumps({"samples_per_s": 16 / synced, "exposed_s": max(0.0, synced - alone)}))
    dist.destroy_process_group()

if __name__ == "__main__":
    ELEMENTS = int(sys.argv[2])  # a module global: the forked workers inherit it
    kind, size, port = sys.argv[1], int(sys.argv[3]), int(sys.argv[4])
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    target = allreduce if kind == "allreduce" else ddp
    extra = (True,) if kind == "ddp-sync" else ()
    workers = [ctx.Process(target=target, args=(r, size, port, out) + extra) for r in range(size)]
    for w in workers: w.start()
    value = out.get()
    for w in workers: w.join()
    print(value)
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def headroom_epoch(data, processes, sync_bn=False, overlap=True):
    run = tempfile.mkdtemp()
    shutil.rmtree(run)
    command = [HEADROOM, "train", data, "--out", run, "--epochs", "1", "--batch-size", "16", "--image-size", "128",
               "--lr", "0.02", "--precision", "fp32", "--device", "cpu", "--workers", "1",
               "--threads", str(2 // processes), "--micro-batch", str(16 // processes)]
    if processes > 1:
        command += ["--nproc-per-node", str(processes), "--master-port", str(free_port())]
    if sync_bn:
        command += ["--sync-bn"]
    if processes > 1 and not overlap:
        command += ["--allreduce-overlap", "off"]
    subprocess.run(command, check=True, capture_output=True)
    steps = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl")) if '"type":"step"' in line]
    shutil.rmtree(run)
    steps = steps[1:]  # the first step warms up
    rate = statistics.median(s["samples_per_s"] for s in steps)
    exposed = None
    if processes > 1:
        exposed = statistics.median(s["allreduce_s"] for s in steps)
    return rate, exposed


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data = os.path.join(ROOT, "runs", "demo-data")
    subprocess.run([HEADROOM, "demo-data", data], check=True, capture_output=True)
    script = os.path.join(tempfile.mkdtemp(), "peer.py")
    with open(script, "w") as f:
        f.write(PEER)

    rows = {name: [] for name in ["one", "two", "serial", "synced"]}
    exposed = {name: [] for name in ["two", "serial", "synced"]}
    ours, theirs, ddp1, ddp2, ddp_exposed, ddp_sync = [], [], [], [], [], None
    for _ in range(args.repeats):
        rows["one"].append(headroom_epoch(data, 1)[0])
        for name, options in [("two", {}), ("serial", {"overlap": False}), ("synced", {"sync_bn": True})]:
            rate, seconds = headroom_epoch(data, 2, **options)
            rows[name].append(rate)
            exposed[name].append(seconds)
        result = subprocess.run([HEADROOM, "benchmark-allreduce", "--elements", str(ELEMENTS), "--master-port", str(free_port())],
                                check=True, capture_output=True, text=True)
        ours.append(json.loads(result.stdout.strip().splitlines()[-1])["median_s"])
        peer = lambda kind, size: subprocess.run(
            [sys.executable, script, kind, str(ELEMENTS), str(size), str(free_port())],
            capture_output=True, text=True).stdout.strip().splitlines()[-1]
        theirs.append(float(peer("allreduce", 2)))
        ddp1.append(json.loads(peer("ddp", 1))["samples_per_s"])
        two = json.loads(peer("ddp", 2))
        ddp2.append(two["samples_per_s"])
        ddp_exposed.append(two["exposed_s"])
        ddp_sync = peer("ddp-sync", 2)

    one = max(rows["one"])
    def row(label, name):
        return (f"| {label} | {max(rows[name]):.1f} | {max(rows[name]) / one:.2f}× | {1000 * min(exposed[name]):.0f} ms |")
    # A number of samples/s, or PyTorch's refusal (quoted).
    ddp_sync_text = ddp_sync if ddp_sync.startswith("'") else f"{json.loads(ddp_sync)['samples_per_s']:.1f}"
    text = "\n".join([
        f"resnet18, demo set at 128 px, effective batch 16, fp32, 2 cores in all (1 process × 2 threads or 2 × 1); "
        f"median step after the first; best of {args.repeats}. Exposed all-reduce: Headroom's wait after backward "
        f"(metrics.jsonl's allreduce_s, the slower rank included); PyTorch's, a DDP step's time minus the same step "
        f"under no_sync().",
        "",
        "| | samples/s | vs 1 process | exposed all-reduce per step |",
        "|---|---|---|---|",
        f"| headroom train, 1 process (data loading included) | {one:.1f} | 1.00× | – |",
        row("headroom train, 2 processes, all-reduce overlapped with backward", "two"),
        row("headroom train, 2 processes, all-reduce after backward (--allreduce-overlap off)", "serial"),
        row("headroom train, 2 processes, --sync-bn", "synced"),
        f"| PyTorch DDP step on random tensors, 1 process (no loading) | {max(ddp1):.1f} | 1.00× | – |",
        f"| PyTorch DDP step on random tensors, 2 processes | {max(ddp2):.1f} | {max(ddp2) / max(ddp1):.2f}× "
        f"| {1000 * min(ddp_exposed):.0f} ms |",
        f"| PyTorch DDP with SyncBatchNorm, 2 processes | {ddp_sync_text} | – | – |",
        "",
        f"all-reduce of {ELEMENTS:,} float32 values (resnet18's parameters, 46.8 MB), 2 processes, Gloo on 127.0.0.1, "
        f"median of 20:",
        "",
        "| Headroom (the step's 25 MB buckets, gradients as their views) | torch.distributed.all_reduce (one tensor) "
        "| Headroom / PyTorch (time) |",
        "|---|---|---|",
        f"| {1000 * min(ours):.1f} ms | {1000 * min(theirs):.1f} ms | {min(ours) / min(theirs):.2f} |",
    ])
    print(text)
    write_result("distributed.md", text)


if __name__ == "__main__":
    main()
