#!/usr/bin/env python3
"""Extracts C headers from PyPI wheels without downloading the wheels' libraries.

The NCCL plugin (Sources/CTorchNCCL) compiles against torch's ProcessGroupNCCL.hpp, which
includes nccl.h, cuBLAS, cuSPARSE and cuSOLVER headers and libcu++'s <nv/target>. Their
wheels hold ~1 GB of libraries Headroom never loads (libtorch_cuda brings its own at run
time), so only the headers are read: a wheel is a zip, and HTTP range requests read its
directory and the wanted members alone (a few hundred kB). Where ranges are refused (a
mirror), `pip download` fetches the whole wheel instead.

usage: fetch-wheel-headers.py DEST NAME==VERSION[:PREFIX] ...
Members under PREFIX (default: any */include/ folder) are written to DEST at their path
inside the wheel, so DEST laid over site-packages matches an installed wheel.
"""
import io
import json
import os
import subprocess
import sys
import tempfile
import urllib.parse
import urllib.request
import zipfile

INDEX = "https://pypi.org/pypi/{name}/json"
PLATFORM = "manylinux"  # and x86_64, below


class RangeReader(io.RawIOBase):
    """A remote file read by HTTP range requests, seekable for zipfile."""

    def __init__(self, url):
        self.url, self.position = url, 0
        with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=60) as response:
            self.size = int(response.headers["Content-Length"])

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self.position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = base + offset
        return self.position

    def readinto(self, buffer):
        count = min(len(buffer), self.size - self.position)
        if count <= 0:
            return 0
        span = f"bytes={self.position}-{self.position + count - 1}"
        with urllib.request.urlopen(urllib.request.Request(self.url, headers={"Range": span}), timeout=60) as response:
            if response.status != 206:
                raise OSError(f"the server ignored a range request ({response.status})")
            data = response.read()
        buffer[: len(data)] = data
        self.position += len(data)
        return len(data)


def wheel_url(name, version):
    index = INDEX.format(name=name)
    with urllib.request.urlopen(index, timeout=60) as response:
        releases = json.load(response)["releases"]
    files = [f for f in releases.get(version, []) if f["filename"].endswith(".whl")]
    wanted = [f for f in files if PLATFORM in f["filename"] and "x86_64" in f["filename"]] or [
        f for f in files if f["filename"].endswith("-none-any.whl")
    ]
    if not wanted:
        raise OSError(f"PyPI has no Linux x86-64 wheel of {name}=={version}")
    return urllib.parse.urljoin(index, wanted[0]["url"])


def extract(archive, prefix, destination):
    members = [m for m in archive.namelist() if not m.endswith("/") and (m.startswith(prefix) if prefix else "/include/" in m)]
    if not members:
        raise OSError(f"no headers under {prefix or '*/include/'}")
    for member in members:
        archive.extract(member, destination)
    return len(members)


def fetch(spec, destination):
    requirement, _, prefix = spec.partition(":")
    name, _, version = requirement.partition("==")
    try:
        archive = zipfile.ZipFile(io.BufferedReader(RangeReader(wheel_url(name, version)), buffer_size=1 << 20))
        return extract(archive, prefix, destination)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as error:
        print(f"fetch-wheel-headers: {name}: range requests failed ({error}); downloading the whole wheel", file=sys.stderr)
    with tempfile.TemporaryDirectory() as folder:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest", folder, requirement],
            check=True,
        )
        (wheel,) = [os.path.join(folder, f) for f in os.listdir(folder)]
        with zipfile.ZipFile(wheel) as archive:
            return extract(archive, prefix, destination)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    destination = sys.argv[1]
    for spec in sys.argv[2:]:
        fetch(spec, destination)


if __name__ == "__main__":
    main()
