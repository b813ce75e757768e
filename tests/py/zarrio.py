"""Independent zarr v2 reading/writing for te-ckpt's tests, built on Debian's numpy and numcodecs.

Nothing here shares code with te-ckpt: arrays are read and written the way the zarr v2 spec and
TensorStore describe them, so the tests check te-ckpt against a second implementation.
bfloat16 (which numpy lacks) is carried as uint16 bit patterns; `dtype` strings are zarr's.
"""
import hashlib
import json
import os
import subprocess

import numcodecs
import numpy as np

TE_CKPT = os.environ.get("TE_CKPT", os.path.join(os.path.dirname(__file__), "../../build/te-ckpt"))
# Real files written by T5X, Orbax and TensorStore, kept in the repository (tests/fixtures, see NOTICE.md there).
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")


def numpy_dtype(zarr_dtype):
    """numpy dtype used to hold elements of a zarr dtype (bfloat16 -> uint16 bit patterns)."""
    if zarr_dtype == "bfloat16":
        return np.dtype("<u2")
    return np.dtype(zarr_dtype)


def codec_json(name, level=1):
    return None if name in (None, "none", "null") else {"id": name, "level": level}


def write_array(path, data, zarr_dtype=None, chunks=None, compressor=("zstd", 1)):
    """Writes `data` as a TensorStore-style zarr v2 array (every chunk stored, edges padded)."""
    zarr_dtype = zarr_dtype or data.dtype.str
    data = np.require(np.asarray(data, dtype=numpy_dtype(zarr_dtype)), requirements="C")  # keeps rank 0
    shape = list(data.shape)
    chunks = list(chunks or shape)
    comp = codec_json(*compressor) if isinstance(compressor, tuple) else compressor
    os.makedirs(path, exist_ok=True)
    meta = {"chunks": chunks, "compressor": comp, "dimension_separator": ".", "dtype": zarr_dtype,
            "fill_value": None, "filters": None, "order": "C", "shape": shape, "zarr_format": 2}
    with open(os.path.join(path, ".zarray"), "w") as f:
        f.write(json.dumps(meta, separators=(",", ":"), sort_keys=True))
    codec = numcodecs.get_codec(comp) if comp else None
    grid = [max(1, -(-s // c)) for s, c in zip(shape, chunks)]
    for index in np.ndindex(*grid) if shape else [()]:
        block = np.zeros(chunks, dtype=data.dtype)
        src = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(index, chunks, shape))
        block[tuple(slice(0, sl.stop - sl.start) for sl in src)] = data[src]
        raw = block.tobytes()
        key = ".".join(str(i) for i in index) if shape else "0"
        with open(os.path.join(path, key), "wb") as f:
            f.write(codec.encode(raw) if codec else raw)


def read_metadata(path):
    with open(os.path.join(path, ".zarray")) as f:
        return json.load(f)


def read_array(path):
    """Reads a zarr v2 array folder; returns (numpy array, zarr dtype string)."""
    meta = read_metadata(path)
    dt = numpy_dtype(meta["dtype"])
    shape, chunks = meta["shape"], meta["chunks"]
    sep = meta.get("dimension_separator", ".")
    codec = numcodecs.get_codec(meta["compressor"]) if meta["compressor"] else None
    out = np.zeros(shape, dtype=dt)
    grid = [max(1, -(-s // c)) for s, c in zip(shape, chunks)]
    for index in np.ndindex(*grid) if shape else [()]:
        key = sep.join(str(i) for i in index) if shape else "0"
        file = os.path.join(path, key)
        if not os.path.exists(file):
            continue
        with open(file, "rb") as f:
            raw = f.read()
        raw = codec.decode(raw) if codec else raw
        order = meta.get("order", "C")
        block = np.frombuffer(bytes(raw), dtype=dt).reshape(chunks, order=order)
        dst = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(index, chunks, shape))
        out[dst] = block[tuple(slice(0, sl.stop - sl.start) for sl in dst)]
    return out, meta["dtype"]


def bf16_to_f32(u16):
    return (u16.astype(np.uint32) << 16).view(np.float32)


def f32_to_bf16(f32):
    """Round-to-nearest-even bfloat16 bit patterns of float32 values."""
    bits = np.asarray(f32, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).astype(np.uint16)


def run(*args, check=True):
    """Runs te-ckpt; returns the CompletedProcess (text mode)."""
    p = subprocess.run([TE_CKPT, *map(str, args)], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"te-ckpt {' '.join(map(str, args))} failed ({p.returncode}):\n{p.stderr}")
    return p


def tree_digest(path):
    """SHA-256 over every file's relative path and bytes (detects any change to a tree)."""
    h = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(root, name)
            h.update(os.path.relpath(full, path).encode())
            with open(full, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def list_arrays(path):
    """Names of the array folders (those with .zarray) directly in `path`."""
    return sorted(n for n in os.listdir(path) if os.path.exists(os.path.join(path, n, ".zarray")))
