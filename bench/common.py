"""What every benchmark script shares: where the repository and the built tool are, and
where a result table goes (bench/results/NAME, gathered into bench/RESULTS.md)."""
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEADROOM = os.path.join(ROOT, ".build", "debug", "headroom")


def write_result(name, text):
    """Saves a result table as bench/results/NAME."""
    os.makedirs(os.path.join(ROOT, "bench", "results"), exist_ok=True)
    with open(os.path.join(ROOT, "bench", "results", name), "w") as file:
        file.write(text + "\n")
