"""An independent zarr v3 writer and reader (numpy, zstandard, crc32c, gzip; no code shared with
the C++), for arrays in a plain folder store (key = relative path).

Used as a module by zarr3_test.py and as a program by tests/zarr3_python_test.cc:
  zarr3gen.py write DIR   writes the vectors of CASES into DIR, each array's expected values in
                          DIR/<name>.expected (C order, little-endian element bytes)
  zarr3gen.py check DIR   reads every array listed in DIR/arrays.json with this reader and
                          compares it to DIR/<name>.expected; exits non-zero on a difference
"""
import gzip
import json
import os
import struct
import sys

import crc32c
import numpy as np
import zstandard

MISSING = 2**64 - 1

# numpy dtypes for the v3 names used here; bfloat16 is carried as its uint16 bit pattern.
NUMPY = {"bool": "?", "uint8": "u1", "int8": "i1", "int16": "i2", "uint16": "u2", "int32": "i4",
         "uint32": "u4", "int64": "i8", "uint64": "u8", "float16": "f2", "bfloat16": "u2",
         "float32": "f4", "float64": "f8", "complex64": "c8"}


def _np(data_type, endian="little"):
    return np.dtype(NUMPY[data_type]).newbyteorder("<" if endian == "little" else ">")


def read_file(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def _crc(b):
    return struct.pack("<I", crc32c.crc32c(b))


def encode(arr, codecs, data_type):
    """Encodes the array `arr` (numpy, logical values) with a zarr v3 codec list."""
    value = arr
    for c in codecs:
        name, cfg = c["name"], c.get("configuration", {})
        if name == "transpose":
            value = np.ascontiguousarray(value.transpose(cfg["order"]))
        elif name == "bytes":
            value = value.astype(_np(data_type, cfg.get("endian", "little"))).tobytes(order="C")
        elif name == "sharding_indexed":
            value = _encode_shard(value, cfg, data_type)
        elif name == "zstd":
            value = zstandard.ZstdCompressor(level=cfg.get("level", 3),
                                             write_checksum=cfg.get("checksum", False)).compress(value)
        elif name == "gzip":
            value = gzip.compress(value, compresslevel=cfg.get("level", 6), mtime=0)
        elif name == "crc32c":
            value = value + _crc(value)
        else:
            raise ValueError("codec " + name)
    return value


def decode(stored, codecs, data_type, shape, fill):
    """Decodes a stored value into the numpy array of `shape`."""
    # Shapes seen by each array codec, then bytes codecs undone last to first.
    shapes = [tuple(shape)]
    i = 0
    while codecs[i]["name"] == "transpose":
        order = codecs[i]["configuration"]["order"]
        shapes.append(tuple(shapes[-1][d] for d in order))
        i += 1
    value = stored
    for c in reversed(codecs[i + 1:]):
        name, cfg = c["name"], c.get("configuration", {})
        if name == "zstd":
            value = zstandard.ZstdDecompressor().decompressobj().decompress(value)
        elif name == "gzip":
            value = gzip.decompress(value)
        elif name == "crc32c":
            body, tail = value[:-4], value[-4:]
            if _crc(body) != tail:
                raise ValueError("CRC-32C mismatch")
            value = body
        else:
            raise ValueError("codec " + name)
    ab = codecs[i]
    if ab["name"] == "bytes":
        endian = ab.get("configuration", {}).get("endian", "little")
        arr = np.frombuffer(value, dtype=_np(data_type, endian)).reshape(shapes[-1])
    else:
        arr = _decode_shard(value, ab["configuration"], data_type, shapes[-1], fill)
    for j in range(i - 1, -1, -1):
        order = codecs[j]["configuration"]["order"]
        arr = arr.transpose(np.argsort(order))
    return np.ascontiguousarray(arr).astype(_np(data_type))


def _grid(shape, inner):
    return tuple(s // c for s, c in zip(shape, inner))


def _index_size(cfg, n):
    return 16 * n + 4 * sum(1 for c in cfg["index_codecs"] if c["name"] == "crc32c")


def _encode_shard(arr, cfg, data_type):
    inner = tuple(cfg["chunk_shape"])
    grid = _grid(arr.shape, inner)
    n = int(np.prod(grid, dtype=np.int64))
    at_end = cfg.get("index_location", "end") == "end"
    base = 0 if at_end else _index_size(cfg, n)
    missing = {tuple(p) for p in cfg.get("_missing", [])}
    index = np.full(grid + (2,), MISSING, dtype="<u8")
    body = b""
    for pos in np.ndindex(*grid):
        if pos in missing:
            continue
        sl = tuple(slice(p * c, (p + 1) * c) for p, c in zip(pos, inner))
        chunk = encode(np.ascontiguousarray(arr[sl]), cfg["codecs"], data_type)
        index[pos] = (base + len(body), len(chunk))
        body += chunk
    idx = encode(index, cfg["index_codecs"], "uint64")
    return body + idx if at_end else idx + body


def _decode_shard(value, cfg, data_type, shape, fill):
    inner = tuple(cfg["chunk_shape"])
    grid = _grid(shape, inner)
    n = int(np.prod(grid, dtype=np.int64))
    size = _index_size(cfg, n)
    at_end = cfg.get("index_location", "end") == "end"
    raw = value[-size:] if at_end else value[:size]
    index = decode(raw, cfg["index_codecs"], "uint64", grid + (2,), 0)
    out = np.full(shape, fill, dtype=_np(data_type))
    for pos in np.ndindex(*grid):
        off, nbytes = (int(x) for x in index[pos])
        if off == MISSING and nbytes == MISSING:
            continue
        sl = tuple(slice(p * c, (p + 1) * c) for p, c in zip(pos, inner))
        out[sl] = decode(value[off:off + nbytes], cfg["codecs"], data_type, inner, fill)
    return out


def _public(codecs):
    """The codec list as written to zarr.json (without this writer's private `_missing`)."""
    out = []
    for c in codecs:
        c = json.loads(json.dumps(c))
        if c["name"] == "sharding_indexed":
            c["configuration"].pop("_missing", None)
        out.append(c)
    return out


def zarr_json(shape, chunk_shape, data_type, codecs, fill=0, key_encoding=None):
    meta = {"zarr_format": 3, "node_type": "array", "shape": list(shape), "data_type": data_type,
            "chunk_grid": {"name": "regular", "configuration": {"chunk_shape": list(chunk_shape)}},
            "chunk_key_encoding": key_encoding or {"name": "default"},
            "fill_value": fill, "codecs": _public(codecs)}
    return json.dumps(meta, sort_keys=True, separators=(",", ":"))


def chunk_key(pos, key_encoding=None):
    enc = key_encoding or {"name": "default"}
    if enc["name"] == "default":
        sep = enc.get("configuration", {}).get("separator", "/")
        return "c" + "".join(sep + str(p) for p in pos)
    sep = enc.get("configuration", {}).get("separator", ".")
    return sep.join(str(p) for p in pos) if pos else "0"


def write_array(root, name, arr, chunk_shape, data_type, codecs, fill=0, key_encoding=None):
    """Writes `arr` as a zarr v3 array under root/name; edge chunks padded with `fill`."""
    folder = os.path.join(root, name)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "zarr.json"), "w") as f:
        f.write(zarr_json(arr.shape, chunk_shape, data_type, codecs, fill, key_encoding))
    grid = tuple(-(-s // c) for s, c in zip(arr.shape, chunk_shape))
    for pos in np.ndindex(*grid):
        chunk = np.full(chunk_shape, fill, dtype=arr.dtype)
        src = tuple(slice(p * c, min((p + 1) * c, s)) for p, c, s in zip(pos, chunk_shape, arr.shape))
        chunk[tuple(slice(0, s.stop - s.start) for s in src)] = arr[src]
        path = os.path.join(folder, *chunk_key(pos, key_encoding).split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(encode(chunk, codecs, data_type))


def read_array(root, name):
    """Reads root/name with this reader; returns the numpy array (little-endian elements)."""
    folder = os.path.join(root, name)
    meta = json.loads(read_file(os.path.join(folder, "zarr.json"), "r"))
    shape, dt = tuple(meta["shape"]), meta["data_type"]
    chunk = tuple(meta["chunk_grid"]["configuration"]["chunk_shape"])
    fill = meta["fill_value"]
    out = np.full(shape, fill, dtype=_np(dt))
    grid = tuple(-(-s // c) for s, c in zip(shape, chunk))
    for pos in np.ndindex(*grid):
        path = os.path.join(folder, *chunk_key(pos, meta["chunk_key_encoding"]).split("/"))
        if not os.path.exists(path):
            continue
        value = decode(read_file(path), meta["codecs"], dt, chunk, fill)
        dst = tuple(slice(p * c, min((p + 1) * c, s)) for p, c, s in zip(pos, chunk, shape))
        out[dst] = value[tuple(slice(0, d.stop - d.start) for d in dst)]
    return out


BYTES_LE = {"name": "bytes", "configuration": {"endian": "little"}}
INDEX = [BYTES_LE, {"name": "crc32c"}]


def cases():
    """(name, array, chunk_shape, data_type, codecs, fill) of the vectors the C++ reads."""
    rng = np.random.default_rng(12)
    ramp = np.arange(6 * 8, dtype="<i4").reshape(6, 8)
    bf16 = rng.integers(0, 2**16, size=(4, 6), dtype=np.uint16).astype("<u2")
    f32 = rng.standard_normal((5, 4)).astype("<f4")
    return [
        # Orbax's form: one inner chunk per shard, bytes + zstd, index at the end.
        ("orbax", ramp, (3, 8), "int32",
         [{"name": "sharding_indexed", "configuration": {
             "chunk_shape": [3, 8], "codecs": [BYTES_LE, {"name": "zstd", "configuration": {
                 "level": 3, "checksum": False}}], "index_codecs": INDEX}}], 0),
        # Several inner chunks per shard, one of them missing (reads as the fill value 7).
        ("several_missing", ramp, (6, 4), "int32",
         [{"name": "sharding_indexed", "configuration": {
             "chunk_shape": [2, 2], "codecs": [BYTES_LE], "index_codecs": INDEX,
             "_missing": [[1, 1]]}}], 7),
        # Index at the start, big-endian inner bytes with gzip, bfloat16 bit patterns.
        ("start_big_gzip", bf16, (4, 6), "bfloat16",
         [{"name": "sharding_indexed", "configuration": {
             "chunk_shape": [2, 3], "codecs": [{"name": "bytes", "configuration": {"endian": "big"}},
                                              {"name": "gzip", "configuration": {"level": 5}}],
             "index_codecs": INDEX, "index_location": "start"}}], 0.0),
        # No sharding: transpose, bytes big endian, zstd with checksum, crc32c; edge chunks.
        ("transposed", f32, (2, 3), "float32",
         [{"name": "transpose", "configuration": {"order": [1, 0]}},
          {"name": "bytes", "configuration": {"endian": "big"}},
          {"name": "zstd", "configuration": {"level": 5, "checksum": True}}, {"name": "crc32c"}],
         0.0),
    ]


def fixture_a_value():
    """The fixture's a/c/0 (int32 0..7, Orbax codecs) as this writer makes it."""
    codecs = cases()[0][4]
    codecs = json.loads(json.dumps(codecs))
    codecs[0]["configuration"]["chunk_shape"] = [8]
    return encode(np.arange(8, dtype="<i4"), codecs, "int32")


def write_all(root):
    listed = []
    for name, arr, chunk, dt, codecs, fill in cases():
        write_array(root, name, arr, chunk, dt, codecs, fill)
        expected = read_expected_values(arr, codecs, chunk, fill)
        with open(os.path.join(root, name + ".expected"), "wb") as f:
            f.write(np.ascontiguousarray(expected).astype(_np(dt)).tobytes())
        listed.append(name)
    with open(os.path.join(root, "arrays.json"), "w") as f:
        json.dump(listed, f)


def read_expected_values(arr, codecs, chunk_shape, fill):
    """The values a reader must see: `arr`, with the missing inner chunks of shard 0 as fill."""
    out = arr.copy()
    for c in codecs:
        if c["name"] == "sharding_indexed":
            inner = c["configuration"]["chunk_shape"]
            grid = tuple(-(-s // ch) for s, ch in zip(arr.shape, chunk_shape))
            for shard in np.ndindex(*grid):
                for pos in c["configuration"].get("_missing", []):
                    sl = tuple(slice(sh * ch + p * i, sh * ch + (p + 1) * i)
                               for sh, ch, p, i in zip(shard, chunk_shape, pos, inner))
                    out[sl] = fill
    return out


def check_all(root):
    bad = []
    for name in json.loads(read_file(os.path.join(root, "arrays.json"), "r")):
        got = read_array(root, name)
        want = read_file(os.path.join(root, name + ".expected"))
        if got.astype(got.dtype.newbyteorder("<")).tobytes() != want:
            bad.append(name)
    return bad


if __name__ == "__main__":
    command, root = sys.argv[1], sys.argv[2]
    if command == "write":
        write_all(root)
    elif command == "check":
        bad = check_all(root)
        if bad:
            print("arrays that differ:", " ".join(bad))
            sys.exit(1)
        print("ok", root)
    else:
        sys.exit("usage: zarr3gen.py write|check DIR")
