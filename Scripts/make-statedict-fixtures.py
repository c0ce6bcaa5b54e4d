#!/usr/bin/env python3
"""Writes the tiny fixtures of Tests/HeadroomFormatsTests/StateDictFiles/Fixtures.

Every fixture is a few kilobytes of made-up values, never real weights.
expected.json holds, for each fixture, its keys in file order and each
tensor's dtype, shape and flat row-major values; the Swift tests compare
what they read against it.

    python Scripts/make-statedict-fixtures.py              # write the fixtures
    python Scripts/make-statedict-fixtures.py --check-tool .build/debug/statedict
        # one-off: torchvision resnet18 .pth -> Swift -> .safetensors -> Python

Needs torch, torchvision (check only) and safetensors:
    python3 -m venv /work/venv-peer
    /work/venv-peer/bin/pip install torch==2.11.0 torchvision==0.26.0 safetensors
"""

import argparse
import io
import json
import os
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn
from safetensors.torch import load_file, save, save_file

FIXTURES = Path(__file__).resolve().parent.parent / "Tests" / "HeadroomFormatsTests" / "StateDictFiles" / "Fixtures"

SAFETENSORS_NAMES = {
    torch.float64: "F64", torch.float32: "F32", torch.float16: "F16", torch.bfloat16: "BF16",
    torch.int64: "I64", torch.int32: "I32", torch.int16: "I16", torch.int8: "I8",
    torch.uint8: "U8", torch.bool: "BOOL",
}


class Tiny(nn.Module):
    """A small module whose state dict covers every dtype and storage layout the reader handles."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, bias=False)
        self.bn = nn.BatchNorm2d(3)  # num_batches_tracked is int64
        self.fc = nn.Linear(4, 2)
        self.register_buffer("halves", torch.linspace(-2, 2, 6, dtype=torch.float16).reshape(2, 3))
        self.register_buffer("brain", torch.tensor([1.5, -0.25, 3.0e38, 1.0e-3], dtype=torch.bfloat16))
        self.register_buffer("doubles", torch.tensor([[1 / 3, -2.5]], dtype=torch.float64))
        self.register_buffer("int32", torch.tensor([-7, 0, 2**31 - 1], dtype=torch.int32))
        self.register_buffer("int16", torch.tensor([[-32768], [12345]], dtype=torch.int16))
        self.register_buffer("int8", torch.tensor([-128, 127, -1], dtype=torch.int8))
        self.register_buffer("uint8", torch.tensor([0, 255, 7], dtype=torch.uint8))
        self.register_buffer("mask", torch.tensor([True, False, True]))
        self.register_buffer("big_int", torch.tensor([2**40, -(2**40) + 1]))
        # Views into one storage of 12 floats that is not itself saved:
        # a transpose (strides 1, 4) and a column slice (strides 4, 2).
        base = torch.arange(12, dtype=torch.float32).reshape(3, 4)
        self.register_buffer("transposed", base.t())
        self.register_buffer("every_other_column", base[:, ::2])
        # Two keys sharing one storage, the second at an offset.
        shared = torch.arange(10, dtype=torch.int64) * 3
        self.register_buffer("shared_head", shared[:4])
        self.register_buffer("shared_tail", shared[4:].view(2, 3))
        self.register_buffer("scalar", torch.tensor(3.25))
        self.register_buffer("empty", torch.zeros(0, 3))
        # A broadcast view: stride 0 along the first dimension.
        self.register_buffer("expanded", torch.tensor([1.0, 2.0, 3.0]).expand(2, 3))


def tiny_state_dict():
    torch.manual_seed(0)
    model = Tiny()
    model.train()
    model.bn(torch.randn(4, 3, 2, 2))  # moves the running statistics off their defaults
    return model.state_dict()


def describe(tensor):
    """dtype, shape and exact flat values of a tensor, for expected.json."""
    flat = tensor.contiguous().reshape(-1)
    if tensor.dtype in (torch.float16, torch.bfloat16, torch.float32, torch.float64):
        values = flat.double().tolist()
    else:
        values = [int(v) for v in flat.long().tolist()]
    return {"dtype": SAFETENSORS_NAMES[tensor.dtype], "shape": list(tensor.shape), "values": values}


def expectation(tensors, keys=None):
    keys = list(tensors.keys()) if keys is None else keys
    return {"keys": keys, "tensors": {key: describe(tensors[key]) for key in keys}}


def safetensors_keys(path):
    """Tensor names in header order, which the reference writer makes data order."""
    with open(path, "rb") as file:
        (length,) = struct.unpack("<Q", file.read(8))
        header = json.loads(file.read(length), object_pairs_hook=OrderedDict)
    return [key for key in header if key != "__metadata__"]


def contiguous_copies(state_dict):
    # safetensors refuses shared or non-contiguous storages; give it clones.
    return {key: value.contiguous().clone() for key, value in state_dict.items()}


class Payload:
    """What an attacker would pickle: os.system called on load."""

    def __reduce__(self):
        return (os.system, ("echo pwned > /tmp/statedict-pwned",))


def write_big_endian(path):
    """torch.save writes native (little) byte order; rewrite an archive as a
    big-endian machine would have written it. Storage keys are assigned in
    pickling order, so for distinct tensors key i is the i-th value."""
    tensors = OrderedDict(
        f32=torch.tensor([1.5, -2.0, 1e-20]), i64=torch.tensor([1, -2, 2**40]),
        f16=torch.tensor([0.5, -65504.0], dtype=torch.float16), flags=torch.tensor([True, False]),
    )
    buffer = io.BytesIO()
    torch.save(tensors, buffer)
    source = zipfile.ZipFile(io.BytesIO(buffer.getvalue()))
    prefix = source.namelist()[0].split("/")[0] + "/"
    sizes = {str(index): tensor.element_size() for index, tensor in enumerate(tensors.values())}
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as target:
        for name in source.namelist():
            data = source.read(name)
            if name == prefix + "byteorder":
                data = b"big"
            elif name.startswith(prefix + "data/"):
                size = sizes[name[len(prefix + "data/"):]]
                data = b"".join(data[i:i + size][::-1] for i in range(0, len(data), size))
            target.writestr(name, data)
    return tensors


def write_zip64(source_path, path):
    """Re-packs an archive with ZIP64 records everywhere, as a file over 4 GiB
    would need, without being that large. Python's zipfile reads it back."""
    source = zipfile.ZipFile(source_path)
    output = bytearray()
    central = bytearray()
    marker = 0xFFFFFFFF
    for info in source.infolist():
        data = source.read(info.filename)
        name = info.filename.encode()
        crc = zipfile.crc32(data)
        offset = len(output)
        local_extra = struct.pack("<HHQQ", 1, 16, len(data), len(data))
        output += struct.pack("<IHHHHHIIIHH", 0x04034B50, 45, 0, 0, 0, 0x21, crc, marker, marker,
                              len(name), len(local_extra)) + name + local_extra + data
        central_extra = struct.pack("<HHQQQ", 1, 24, len(data), len(data), offset)
        central += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 45, 45, 0, 0, 0, 0x21, crc, marker, marker,
                               len(name), len(central_extra), 0, 0, 0, 0, marker) + name + central_extra
    directory_offset = len(output)
    count = len(source.infolist())
    output += central
    zip64_record_offset = len(output)
    output += struct.pack("<IQHHIIQQQQ", 0x06064B50, 44, 45, 45, 0, 0, count, count, len(central), directory_offset)
    output += struct.pack("<IIQI", 0x07064B50, 0, zip64_record_offset, 1)
    output += struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, 0xFFFF, 0xFFFF, marker, marker, 0)
    Path(path).write_bytes(output)
    assert zipfile.ZipFile(path).testzip() is None


def write_fixtures():
    FIXTURES.mkdir(parents=True, exist_ok=True)
    expected = {}

    state_dict = tiny_state_dict()
    torch.save(state_dict, FIXTURES / "tiny.pth")
    expected["tiny.pth"] = expectation(state_dict)

    # Protocol 4 brings FRAME, MEMOIZE, SHORT_BINUNICODE and STACK_GLOBAL.
    torch.save(state_dict, FIXTURES / "tiny-protocol4.pth", pickle_protocol=4)
    expected["tiny-protocol4.pth"] = expectation(state_dict)

    write_zip64(FIXTURES / "tiny.pth", FIXTURES / "tiny-zip64.pth")
    expected["tiny-zip64.pth"] = expectation(state_dict)

    big_endian = write_big_endian(FIXTURES / "big-endian.pth")
    expected["big-endian.pth"] = expectation(big_endian)

    # A training checkpoint that nests the state dict beside other data.
    model = nn.Linear(3, 2)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    tagged = torch.tensor([4.0, 5.0])
    tagged.note = "a Python attribute"  # pickled through _rebuild_from_type_v2
    checkpoint = {
        "epoch": 3,
        "model": state_dict,
        "optimizer": optimizer.state_dict(),
        "best_accuracy": 0.875,
        "name": "tiny",
        "numbers": (True, None, -5, -(2**40), 300, 70000),
        "extras": {"parameter": nn.Parameter(torch.tensor([1.0, -1.0])), "tagged": tagged},
    }
    torch.save(checkpoint, FIXTURES / "checkpoint.pth")
    expected["checkpoint.pth"] = {
        "model": expectation(state_dict),
        "momentum_buffer": describe(optimizer.state_dict()["state"][0]["momentum_buffer"]),
    }

    torch.save({"weight": torch.ones(2), "payload": Payload()}, FIXTURES / "malicious.pth")

    # TorchScript: a zip with a data.pkl too, plus code and deflated entries.
    torch.manual_seed(0)
    torch.jit.save(torch.jit.script(nn.Linear(2, 2)), FIXTURES / "scripted.pt")

    copies = contiguous_copies(state_dict)
    save_file(copies, FIXTURES / "tiny.safetensors", metadata={"format": "pt"})
    keys = safetensors_keys(FIXTURES / "tiny.safetensors")
    expected["tiny.safetensors"] = {**expectation(copies, keys), "metadata": {"format": "pt"}}

    metadata = {"format": "pt", "epoch": "3", "quoted": 'a "b" \\ c/d\n\té ✓'}
    save_file({"x": torch.tensor([1.0, 2.0])}, FIXTURES / "metadata.safetensors", metadata=metadata)
    expected["metadata.safetensors"] = {**expectation({"x": torch.tensor([1.0, 2.0])}), "metadata": metadata}

    with open(FIXTURES / "expected.json", "w") as file:
        json.dump(expected, file, indent=1, sort_keys=True)
        file.write("\n")
    for path in sorted(FIXTURES.iterdir()):
        print(f"{path.stat().st_size:8d}  {path.name}")


def check_tool(tool):
    """One-off check, not a fixture: a torchvision resnet18 state dict (45 MB)
    read by the Swift reader and written by the Swift writer must load in the
    safetensors library with every tensor equal, and in the byte layout the
    library itself writes."""
    from torchvision.models import resnet18

    torch.manual_seed(0)
    state_dict = resnet18(weights=None).state_dict()
    with tempfile.TemporaryDirectory() as directory:
        pth = Path(directory) / "resnet18.pth"
        ours = Path(directory) / "resnet18.safetensors"
        torch.save(state_dict, pth)
        subprocess.run([tool, "convert", str(pth), str(ours)], check=True)
        loaded = load_file(ours)
        assert set(loaded) == set(state_dict), set(loaded) ^ set(state_dict)
        for key, tensor in state_dict.items():
            assert loaded[key].dtype == tensor.dtype, key
            assert torch.equal(loaded[key], tensor), key
        reference = save(contiguous_copies(state_dict), metadata={"source": pth.name})
        assert reference == ours.read_bytes(), "byte layout differs from safetensors.torch.save"
        print(f"resnet18: {len(state_dict)} tensors, {pth.stat().st_size} bytes .pth -> "
              f"{ours.stat().st_size} bytes .safetensors; all equal, bytes identical to safetensors.torch.save")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check-tool", metavar="STATEDICT", help="run the resnet18 round trip through this binary")
    arguments = parser.parse_args()
    if arguments.check_tool:
        check_tool(arguments.check_tool)
    else:
        write_fixtures()


if __name__ == "__main__":
    sys.exit(main())
