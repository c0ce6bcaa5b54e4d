#!/usr/bin/env python3
"""One training epoch end to end: `headroom train` against the same recipe in PyTorch.

Both train resnet18 (from the same kind of initialisation, not the same weights) on the
demo set (`headroom demo-data`) for one epoch at 224 px: RandomResizedCrop + horizontal
flip, batch 16, SGD (lr 0.02, momentum 0.9, weight decay 1e-4), fp32, 2 decoding workers,
2 threads, then validate (resize 256, centre-crop 224). Wall time of the whole process,
start-up included; Headroom runs with a forced micro-batch of 16 and no budget so that
neither side plans.

    bench/.venv/bin/python bench/epoch.py [--repeats 2]
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

from common import HEADROOM, PEER_TRAIN_ONE_EPOCH, ROOT, write_result

PYTORCH_RECIPE = r'''
import sys, torch, torchvision
from torchvision import transforms
''' + PEER_TRAIN_ONE_EPOCH + r'''
torch.set_num_threads(2)
torch.manual_seed(0)
root = sys.argv[1]
normalize = transforms.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
train = torchvision.datasets.ImageFolder(root + "/train", transforms.Compose([
    transforms.RandomResizedCrop(224), transforms.RandomHorizontalFlip(), transforms.ToTensor(), normalize]))
val = torchvision.datasets.ImageFolder(root + "/val", transforms.Compose([
    transforms.Resize(256), transforms.CenterCrop(224), transforms.ToTensor(), normalize]))
train_loader = torch.utils.data.DataLoader(train, batch_size=16, shuffle=True, num_workers=2, drop_last=True)
val_loader = torch.utils.data.DataLoader(val, batch_size=32, num_workers=2)
model = torchvision.models.resnet18(num_classes=len(train.classes))
optimizer = torch.optim.SGD(model.parameters(), lr=0.02, momentum=0.9, weight_decay=1e-4)
train_one_epoch(model, optimizer, train_loader)
model.eval()
correct = 0
with torch.no_grad():
    for images, labels in val_loader:
        correct += (model(images).argmax(1) == labels).sum().item()
print(correct / len(val))
'''


def timed(command):
    start = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    data = os.path.join(ROOT, "runs", "demo-data")
    # The set `headroom demo` writes there (demo-data's own defaults are 1024×768, 48 + 16 per class).
    subprocess.run([HEADROOM, "demo-data", data, "--train-per-class", "29", "--val-per-class", "10", "--width", "160",
                    "--height", "120"], check=True, capture_output=True)
    script = os.path.join(tempfile.mkdtemp(), "recipe.py")
    with open(script, "w") as f:
        f.write(PYTORCH_RECIPE)
    peer, ours = [], []
    for _ in range(args.repeats):
        peer.append(timed([sys.executable, script, data]))
        run = tempfile.mkdtemp()
        shutil.rmtree(run)
        ours.append(timed([HEADROOM, "train", data, "--out", run, "--epochs", "1", "--batch-size", "16", "--image-size", "224",
                           "--lr", "0.02", "--precision", "fp32", "--device", "cpu", "--threads", "2", "--workers", "2",
                           "--micro-batch", "16"]))
    text = "\n".join([
        f"one epoch of the demo set (145 training, 50 validation images, 160×120 JPEG and PNG) at 224 px, batch 16, fp32, "
        f"2 threads, 2 workers, whole process; best of {args.repeats}",
        "",
        "| PyTorch recipe | headroom train | Headroom / PyTorch (speed) |",
        "|---|---|---|",
        f"| {min(peer):.1f} s | {min(ours):.1f} s | {min(peer) / min(ours):.2f}× |",
    ])
    print(text)
    write_result("epoch.md", text)


if __name__ == "__main__":
    main()
