#!/usr/bin/env python3
"""Data-parallel training on this machine: 1 process against 2 (Gloo over 127.0.0.1).

`headroom train` on the demo set (`headroom demo-data`) for one epoch at 128 px, resnet18,
effective batch 16, fp32, a forced micro-batch of the rank's share (no planning), 1 decoding
worker per process; one process uses 2 intra-op threads, two processes 1 each (2 cores in
all either way). From rank 0's metrics.jsonl: the median step's samples/s over the steps
after the first, and the share of the step spent in the gradient all-reduce (waiting for the
slower rank included). Then the all-reduce alone: `headroom benchmark-allreduce` (one flat
bucket of resnet18's 11,689,512 float32 values, 2 processes) against
torch.distributed.all_reduce on the same tensor with Gloo, and, for scale, a PyTorch DDP
step on random tensors of the same shape (no data loading) with 1 and 2 processes.
Synchronised BatchNorm: Headroom's two processes again with `--sync-bn`, and PyTorch DDP with
`SyncBatchNorm.convert_sync_batchnorm` (which PyTorch refuses on the CPU: its message is
reported as measured).

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
import os, sys, time, statistics, torch, torch.distributed as dist, torch.multiprocessing as mp, torchvision

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
    times = []
    for step in range(9):
        start = time.perf_counter()
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()
        times.append(time.perf_counter() - start)
    if rank == 0:
        out.put(16 / statistics.median(times[1:]))
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


def headroom_epoch(data, processes, sync_bn=False):
    run = tempfile.mkdtemp()
    shutil.rmtree(run)
    command = [HEADROOM, "train", data, "--out", run, "--epochs", "1", "--batch-size", "16", "--image-size", "128",
               "--lr", "0.02", "--precision", "fp32", "--device", "cpu", "--workers", "1",
               "--threads", str(2 // processes), "--micro-batch", str(16 // processes)]
    if processes > 1:
        command += ["--nproc-per-node", str(processes), "--master-port", str(free_port())]
    if sync_bn:
        command += ["--sync-bn"]
    subprocess.run(command, check=True, capture_output=True)
    steps = [json.loads(line) for line in open(os.path.join(run, "metrics.jsonl")) if '"type":"step"' in line]
    shutil.rmtree(run)
    steps = steps[1:]  # the first step warms up
    rate = statistics.median(s["samples_per_s"] for s in steps)
    share = None
    if processes > 1:
        share = statistics.median(s["allreduce_s"] * s["samples_per_s"] / 16 for s in steps)
    return rate, share


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data = os.path.join(ROOT, "runs", "demo-data")
    subprocess.run([HEADROOM, "demo-data", data], check=True, capture_output=True)
    script = os.path.join(tempfile.mkdtemp(), "peer.py")
    with open(script, "w") as f:
        f.write(PEER)

    one, two, shares, ours, theirs, ddp1, ddp2 = [], [], [], [], [], [], []
    synced, synced_shares, ddp_sync = [], [], None
    for _ in range(args.repeats):
        one.append(headroom_epoch(data, 1)[0])
        rate, share = headroom_epoch(data, 2)
        two.append(rate)
        shares.append(share)
        rate, share = headroom_epoch(data, 2, sync_bn=True)
        synced.append(rate)
        synced_shares.append(share)
        result = subprocess.run([HEADROOM, "benchmark-allreduce", "--elements", str(ELEMENTS), "--master-port", str(free_port())],
                                check=True, capture_output=True, text=True)
        ours.append(json.loads(result.stdout.strip().splitlines()[-1])["median_s"])
        peer = lambda kind, size: float(subprocess.run(
            [sys.executable, script, kind, str(ELEMENTS), str(size), str(free_port())],
            check=True, capture_output=True, text=True).stdout.strip().splitlines()[-1])
        theirs.append(peer("allreduce", 2))
        ddp1.append(peer("ddp", 1))
        ddp2.append(peer("ddp", 2))
        ddp_sync = subprocess.run(
            [sys.executable, script, "ddp-sync", str(ELEMENTS), "2", str(free_port())],
            capture_output=True, text=True).stdout.strip().splitlines()[-1]

    # A number of samples/s, or PyTorch's refusal (quoted).
    ddp_sync_text = ddp_sync if ddp_sync.startswith("'") else f"{float(ddp_sync):.1f}"
    text = "\n".join([
        f"resnet18, demo set at 128 px, effective batch 16, fp32, 2 cores in all (1 process × 2 threads or 2 × 1); "
        f"median step after the first; best of {args.repeats}",
        "",
        "| | 1 process | 2 processes | 2 / 1 | all-reduce share of a 2-process step |",
        "|---|---|---|---|---|",
        f"| headroom train (samples/s, data loading included) | {max(one):.1f} | {max(two):.1f} | {max(two) / max(one):.2f}× "
        f"| {100 * min(shares):.0f} % |",
        f"| PyTorch DDP step on random tensors (samples/s, no loading) | {max(ddp1):.1f} | {max(ddp2):.1f} "
        f"| {max(ddp2) / max(ddp1):.2f}× | – |",
        f"| headroom train --sync-bn (samples/s, data loading included) | – | {max(synced):.1f} | {max(synced) / max(one):.2f}× "
        f"| {100 * min(synced_shares):.0f} % |",
        f"| PyTorch DDP with SyncBatchNorm | – | {ddp_sync_text} | – | – |",
        "",
        f"all-reduce of {ELEMENTS:,} float32 values (resnet18's parameters, 46.8 MB), 2 processes, Gloo on 127.0.0.1, "
        f"median of 20:",
        "",
        "| Headroom (one flat bucket) | torch.distributed.all_reduce | Headroom / PyTorch (time) |",
        "|---|---|---|",
        f"| {1000 * min(ours):.1f} ms | {1000 * min(theirs):.1f} ms | {min(ours) / min(theirs):.2f} |",
    ])
    print(text)
    write_result("distributed.md", text)


if __name__ == "__main__":
    main()
