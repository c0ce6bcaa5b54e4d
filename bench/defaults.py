"""Do Headroom's defaults learn? Headroom with no optimiser options against torchvision's
reference classification recipe (references/classification/train.py's defaults on one
process: SGD, lr 0.1, momentum 0.9, weight decay 1e-4, batch 32, StepLR every 30 epochs)
run in PyTorch, same epochs, same images, same resolution, both from scratch.

Data sets: scikit-learn's digits (1,797 8×8 scans of handwritten digits, PyPI's
scikit-learn) written as 32 px PNGs with a fixed 80/20 split, and Headroom's demo set.
Prints best validation top-1 of each side.

    bench/.venv/bin/python bench/defaults.py [--epochs 10]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

from common import HEADROOM, PEER_TRAIN_ONE_EPOCH, write_result

PEER = r'''
import json, sys, torch, torchvision
''' + PEER_TRAIN_ONE_EPOCH + r'''
from torchvision import transforms as T
torch.manual_seed(0)
torch.set_num_threads(int(sys.argv[4]))
root, epochs, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
normalize = T.Normalize([0.485, 0.456, 0.406], [0.229, 0.224, 0.225])
train = torchvision.datasets.ImageFolder(root + "/train", T.Compose([T.RandomResizedCrop(size), T.RandomHorizontalFlip(), T.ToTensor(), normalize]))
val = torchvision.datasets.ImageFolder(root + "/val", T.Compose([T.Resize(size), T.CenterCrop(size), T.ToTensor(), normalize]))
train_loader = torch.utils.data.DataLoader(train, batch_size=32, shuffle=True, num_workers=2)
val_loader = torch.utils.data.DataLoader(val, batch_size=64, num_workers=2)
model = torchvision.models.resnet18(num_classes=len(train.classes))
optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
scheduler = torch.optim.lr_scheduler.StepLR(optimizer, step_size=30, gamma=0.1)
best = 0.0
for epoch in range(epochs):
    train_one_epoch(model, optimizer, train_loader)
    scheduler.step()
    model.eval()
    correct = total = 0
    with torch.no_grad():
        for images, labels in val_loader:
            correct += (model(images).argmax(1) == labels).sum().item()
            total += len(labels)
    best = max(best, correct / total)
print(json.dumps({"best_top1": best}))
'''


def write_digits(root):
    from sklearn.datasets import load_digits
    from PIL import Image
    digits = load_digits()
    for index, (image, label) in enumerate(zip(digits.images, digits.target)):
        split = "val" if index % 5 == 0 else "train"
        folder = os.path.join(root, split, str(label))
        os.makedirs(folder, exist_ok=True)
        pixels = (image * (255.0 / 16.0)).clip(0, 255).astype("uint8")
        Image.fromarray(pixels).resize((32, 32), Image.NEAREST).convert("RGB").save(os.path.join(folder, f"{index:04d}.png"))


def headroom(root, epochs, size, threads):
    out = tempfile.mkdtemp(prefix="headroom-defaults-")
    shutil.rmtree(out)
    subprocess.run([HEADROOM, "train", root, "--out", out, "--epochs", str(epochs), "--batch-size", "32",
                    "--image-size", str(size), "--device", "cpu", "--precision", "fp32", "--threads", str(threads)],
                   check=True, stdout=subprocess.DEVNULL)
    with open(os.path.join(out, "metrics.jsonl")) as file:
        rows = [json.loads(line) for line in file if line.strip()]
    shutil.rmtree(out)
    return max(row["val_top1"] for row in rows if row["type"] == "epoch")


def peer(root, epochs, size, threads):
    result = subprocess.run([sys.executable, "-c", PEER, root, str(epochs), str(size), str(threads)],
                            check=True, capture_output=True, text=True)
    return json.loads(result.stdout.strip().splitlines()[-1])["best_top1"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="headroom-defaults-data-")
    digits = os.path.join(work, "digits")
    write_digits(digits)
    demo = os.path.join(work, "demo")
    subprocess.run([HEADROOM, "demo-data", demo], check=True, stdout=subprocess.DEVNULL)
    rows = []
    def counts(root):
        return [sum(len(files) for _, _, files in os.walk(os.path.join(root, split))) for split in ("train", "val")]

    for label, root, size in [("digits", digits, 32), ("demo-data", demo, 64)]:
        train, val = counts(root)
        name = f"{label} ({train:,} train / {val:,} val, {len(os.listdir(os.path.join(root, 'train')))} classes)"
        ours = headroom(root, args.epochs, size, args.threads)
        theirs = peer(root, args.epochs, size, args.threads)
        rows.append(f"| {name} | {size} px | {args.epochs} | {ours:.1%} | {theirs:.1%} |")
        print(rows[-1], flush=True)
    shutil.rmtree(work)
    table = "\n".join([
        f"Best validation top-1 from scratch, resnet18, batch 32, {args.epochs} epochs, fp32 on the CPU: Headroom with",
        "no optimiser options (SGD, lr 0.1 × 32/256 = 0.0125, cosine) against torchvision's reference recipe in",
        "PyTorch (SGD, lr 0.1, StepLR 30).",
        "",
        "| data | resolution | epochs | Headroom defaults | torchvision reference |",
        "|---|---|---|---|---|",
        *rows,
    ])
    write_result("defaults.md", table)
    print(table)


if __name__ == "__main__":
    main()
