#!/usr/bin/python3
"""Checks that two converted checkpoints hold the same arrays with the same values.

usage: compare_outputs.py DIR_A DIR_B

Every zarr v2 array (a folder with .zarray) is found in both trees; shape, dtype string and
compressor id must match, and the decoded array bytes must be identical (chunking may differ:
te-ckpt keeps the source's chunk grid, the Python baseline writes one chunk). Arrays are decoded
chunk by chunk with numcodecs into raw bytes, so any dtype (bfloat16 included) is compared bit for
bit. Other files must be byte-identical. Exit status 0 when everything matches, 1 otherwise.
"""
import json
import os
import sys

import numcodecs
import numpy as np


def itemsize(dtype):
    if dtype == "bfloat16":
        return 2
    return np.dtype(dtype).itemsize


def load(path):
    with open(os.path.join(path, ".zarray")) as f:
        meta = json.load(f)
    shape, chunks = meta["shape"], meta["chunks"]
    if meta.get("order", "C") != "C" or meta.get("filters"):
        raise ValueError(f"{path}: only order C without filters is supported")
    # Raw bytes as an array of opaque items: np.void of the item size.
    vt = np.dtype(f"V{itemsize(meta['dtype'])}")
    out = np.zeros(shape, dtype=vt)
    sep = meta.get("dimension_separator") or "."
    codec = numcodecs.get_codec(meta["compressor"]) if meta["compressor"] else None
    grid = [-(-s // c) for s, c in zip(shape, chunks)]
    for idx in (np.ndindex(*grid) if shape else [()]):
        key = sep.join(str(i) for i in idx) if shape else "0"
        fn = os.path.join(path, key)
        if not os.path.exists(fn):
            raise ValueError(f"{fn}: missing chunk")
        with open(fn, "rb") as f:
            data = f.read()
        raw = codec.decode(data) if codec else data
        chunk = np.frombuffer(raw, dtype=vt).reshape(chunks)
        sel = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, chunks, shape))
        out[sel] = chunk[tuple(slice(0, s.stop - s.start) for s in sel)]
    return meta, out


def walk(root):
    arrays, files = set(), set()
    for d, dirs, fs in os.walk(root):
        rel = os.path.relpath(d, root)
        if ".zarray" in fs:
            arrays.add(rel)
            dirs[:] = []
            continue
        for f in fs:
            files.add(os.path.normpath(os.path.join(rel, f)))
    return arrays, files


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    a, b = sys.argv[1:]
    arrays_a, files_a = walk(a)
    arrays_b, files_b = walk(b)
    problems = []
    for name in sorted(arrays_a ^ arrays_b):
        problems.append(f"array only in {'A' if name in arrays_a else 'B'}: {name}")
    for name in sorted(files_a ^ files_b):
        problems.append(f"file only in {'A' if name in files_a else 'B'}: {name}")
    nbytes = 0
    for name in sorted(arrays_a & arrays_b):
        ma, xa = load(os.path.join(a, name))
        mb, xb = load(os.path.join(b, name))
        for key in ("shape", "dtype"):
            if ma[key] != mb[key]:
                problems.append(f"{name}: {key} {ma[key]} != {mb[key]}")
        ca = (ma["compressor"] or {}).get("id")
        cb = (mb["compressor"] or {}).get("id")
        if ca != cb:
            problems.append(f"{name}: compressor {ca} != {cb}")
        if xa.shape == xb.shape and xa.dtype == xb.dtype:
            if xa.tobytes() != xb.tobytes():
                problems.append(f"{name}: values differ")
        nbytes += xa.nbytes
    for name in sorted(files_a & files_b):
        with open(os.path.join(a, name), "rb") as fa, open(os.path.join(b, name), "rb") as fb:
            if fa.read() != fb.read():
                problems.append(f"{name}: file contents differ")
    for p in problems:
        print("MISMATCH", p)
    n = len(arrays_a & arrays_b)
    print(f"compared {n} arrays ({nbytes / 2**20:.1f} MiB decoded) and {len(files_a & files_b)} files: "
          f"{'OK' if not problems else f'{len(problems)} problem(s)'}")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()
