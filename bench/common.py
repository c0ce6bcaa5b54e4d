"""What every benchmark script shares: where the repository and the built tool are, and
where a result table goes (bench/results/NAME, gathered into bench/RESULTS.md)."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# HEADROOM_BIN: another build (a release build for throughput figures).
HEADROOM = os.environ.get("HEADROOM_BIN") or os.path.join(ROOT, ".build", "debug", "headroom")


# The PyTorch peers' training loop, pasted into the recipe scripts they run (each is a
# standalone program started with the peer venv's Python).
PEER_TRAIN_ONE_EPOCH = '''
def train_one_epoch(model, optimizer, loader):
    """The reference loop: one optimiser step per batch. Returns each step's batch size."""
    model.train()
    sizes = []
    for images, labels in loader:
        loss = torch.nn.functional.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        loss.item()
        sizes.append(len(labels))
    return sizes
'''


def write_result(name, text):
    """Saves a result table as bench/results/NAME (or in $HEADROOM_BENCH_RESULTS: the GPU
    script keeps its tables with the rest of its results)."""
    directory = os.environ.get("HEADROOM_BENCH_RESULTS") or os.path.join(ROOT, "bench", "results")
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, name), "w") as file:
        file.write(text + "\n")


def cpu_description():
    """'Intel(R) Xeon(R) Processor, AVX-512 BF16': the CPU a figure came from, and whether it
    has native bf16 (what `--precision auto` and oneDNN's kernels depend on)."""
    model, flags = "unknown CPU", set()
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("model name") and model == "unknown CPU":
                model = line.split(":", 1)[1].strip()
            elif line.startswith("flags") and not flags:
                flags = set(line.split(":", 1)[1].split())
    isa = "AVX-512 BF16" if "avx512_bf16" in flags else "AVX-512 without BF16" if "avx512f" in flags else "AVX2" if "avx2" in flags else "no AVX2"
    return f"{model}, {isa}"
