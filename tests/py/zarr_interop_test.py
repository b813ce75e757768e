"""Interop of te-ckpt's zarr v2 layer with independent implementations (Debian's zarr-python 2.13,
numcodecs, numpy, the zstd command-line tool), and its error messages on malformed input.

* arrays written by zarr-python (every dtype it supports, every codec, C and F order, multi-chunk
  with padded edges, missing chunks, fill values, "/" keys) are read bit-identically by
  `te-ckpt zarr-cat`;
* arrays written by `te-ckpt zarr-write` are read identically by zarr-python, their .zarray is
  TensorStore's exact bytes, and every chunk is a full padded chunk that numcodecs decodes;
* bfloat16 and float8 arrays (which zarr-python cannot parse) are checked at the byte level;
* TensorStore-style zstd frames without a content size (made by the zstd CLI) are read;
* malformed input makes zarr-cat / inspect exit 1 with a message naming the file.
"""
import gzip
import json
import os
import shutil
import subprocess
import tempfile
import unittest
import zlib

import numcodecs
import numpy as np
import zarr

import zarrio

TE = zarrio.TE_CKPT

DTYPES = ["|b1", "|i1", "|u1", "<i2", "<i4", "<i8", "<u2", "<u4", "<u8", "<f2", "<f4", "<f8", "<c8", "<c16",
          ">i2", ">i4", ">i8", ">u2", ">u4", ">u8", ">f2", ">f4", ">f8", ">c8", ">c16"]

CODECS = {
    "none": None,
    "gzip": numcodecs.GZip(level=1),
    "zlib": numcodecs.Zlib(level=1),
    "zstd": numcodecs.Zstd(level=1),
    "blosc_lz4": numcodecs.Blosc(cname="lz4", clevel=5, shuffle=numcodecs.Blosc.SHUFFLE),
    "blosc_zstd_bitshuffle": numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.BITSHUFFLE),
    "bz2": numcodecs.BZ2(level=1),
}


def random_array(dtype, shape, seed):
    """Random values covering the dtype's range (floats include NaN, inf, -0 and subnormals)."""
    rng = np.random.default_rng(seed)
    dt = np.dtype(dtype)
    n = int(np.prod(shape, dtype=np.int64))
    if dt.kind == "b":
        flat = rng.integers(0, 2, n).astype(bool)
    elif dt.kind in "iu":
        info = np.iinfo(dt)
        flat = rng.integers(info.min, info.max, n, dtype=dt.newbyteorder("="), endpoint=True)
    elif dt.kind == "f":
        flat = (rng.standard_normal(n) * 100).astype(dt.newbyteorder("="))
        specials = [np.nan, np.inf, -np.inf, -0.0, np.finfo(dt).tiny / 4, np.finfo(dt).max]
        flat[: min(n, len(specials))] = specials[: min(n, len(specials))]
    else:  # complex
        half = np.dtype("f%d" % (dt.itemsize // 2))
        flat = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dt.newbyteorder("="))
        if n > 1:
            flat[0] = complex(np.nan, -0.0)
            flat[1] = complex(np.inf, np.finfo(half).tiny)
    return flat.astype(dt).reshape(shape)


def zarr_cat(path):
    p = subprocess.run([TE, "zarr-cat", str(path)], capture_output=True)
    if p.returncode != 0:
        raise AssertionError("zarr-cat %s failed (%d): %s" % (path, p.returncode, p.stderr.decode()))
    return p.stdout


def zarr_write(path, raw, shape, chunks, dtype, compressor):
    args = [TE, "zarr-write", str(path), "--shape", *map(str, shape), "--chunks", *map(str, chunks),
            "--dtype", dtype]
    if compressor is not None:
        args += ["--compressor", compressor]
    p = subprocess.run(args, input=raw, capture_output=True)
    if p.returncode != 0:
        raise AssertionError("zarr-write failed (%d): %s" % (p.returncode, p.stderr.decode()))


def run_te(*args):
    """Runs te-ckpt; stdout stays bytes (zarr-cat writes binary), stderr is text."""
    p = subprocess.run([TE, *map(str, args)], capture_output=True)
    p.stderr = p.stderr.decode(errors="replace")
    return p


def padded_chunk(data, chunks, index):
    """The full C-order chunk `index` of `data`, zero padded (how TensorStore stores edge chunks)."""
    block = np.zeros(chunks, dtype=data.dtype)
    src = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(index, chunks, data.shape))
    block[tuple(slice(0, sl.stop - sl.start) for sl in src)] = data[src]
    return block.tobytes()


def compact(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=True)


class TempDirTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="te-zarr-interop-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, *names):
        return os.path.join(self.dir, *names)


class ZarrPythonWritesTeReads(TempDirTest):
    def write_zarr(self, name, data, chunks, compressor, order="C", fill_value=None, **kw):
        path = self.path(name)
        z = zarr.open(path, mode="w", shape=data.shape, chunks=chunks, dtype=data.dtype, compressor=compressor,
                      order=order, fill_value=fill_value, **kw)
        z[...] = data
        return path

    def test_every_dtype_codec_and_order(self):
        shape, chunks = (7, 5), (3, 2)  # 3 x 3 chunks, the last row and column padded
        for di, dtype in enumerate(DTYPES):
            data = random_array(dtype, shape, seed=di)
            for codec_name, codec in CODECS.items():
                for order in "CF":
                    with self.subTest(dtype=dtype, codec=codec_name, order=order):
                        path = self.write_zarr("%d_%s_%s" % (di, codec_name, order), data, chunks, codec, order)
                        self.assertEqual(len([f for f in os.listdir(path) if f != ".zarray"]), 9)
                        self.assertEqual(zarr_cat(path), np.ascontiguousarray(data).tobytes())

    def test_three_dimensional_fortran_order(self):
        for dtype in ["<f4", ">i2", "|u1", "<c16"]:
            for codec_name in ["none", "gzip", "zstd", "blosc_lz4"]:
                with self.subTest(dtype=dtype, codec=codec_name):
                    data = random_array(dtype, (5, 4, 3), seed=7)
                    path = self.write_zarr("f3_%s_%s" % (dtype[1:], codec_name), data, (2, 3, 2), CODECS[codec_name], "F")
                    self.assertEqual(zarr_cat(path), data.tobytes())

    def test_larger_multi_chunk_array(self):
        data = random_array("<f4", (300, 257), seed=3)
        for codec_name in ["gzip", "zstd", "bz2", "blosc_lz4"]:
            with self.subTest(codec=codec_name):
                path = self.write_zarr("big_" + codec_name, data, (128, 100), CODECS[codec_name])
                self.assertEqual(zarr_cat(path), data.tobytes())

    def test_one_dimensional_rank_zero_and_empty(self):
        data = random_array("<i8", (10,), seed=4)
        path = self.write_zarr("one_d", data, (4,), CODECS["zstd"])
        self.assertEqual(zarr_cat(path), data.tobytes())
        scalar = np.array(3.25, dtype="<f8")
        path = self.write_zarr("scalar", scalar, (), CODECS["gzip"])
        self.assertTrue(os.path.exists(os.path.join(path, "0")))
        self.assertEqual(zarr_cat(path), scalar.tobytes())
        empty = np.zeros((0, 5), dtype="<f4")
        path = self.write_zarr("empty", empty, (2, 2), CODECS["gzip"])
        self.assertEqual(zarr_cat(path), b"")

    def test_slash_separator(self):
        data = random_array("<f4", (5, 4), seed=5)
        path = self.write_zarr("slash", data, (2, 3), CODECS["zlib"], dimension_separator="/")
        self.assertTrue(os.path.isdir(os.path.join(path, "2")))
        self.assertEqual(zarr_cat(path), data.tobytes())

    def test_missing_chunks_read_as_fill_value(self):
        cases = [("<i4", 42), (">i2", -7), ("<f4", np.nan), (">f8", np.inf), ("<f2", -np.inf), ("<f8", 1.5),
                 ("|b1", True), ("|u1", 200), ("<c8", 1 + 2j), ("<i8", None), ("<f4", None)]
        for i, (dtype, fill) in enumerate(cases):
            with self.subTest(dtype=dtype, fill=fill):
                path = self.path("fill_%d" % i)
                z = zarr.open(path, mode="w", shape=(7, 5), chunks=(3, 2), dtype=dtype,
                              compressor=CODECS["gzip"], fill_value=fill)
                z[0:3, 0:2] = random_array(dtype, (3, 2), seed=i)  # one chunk stored
                z[6, 4] = random_array(dtype, (1,), seed=i + 50)[0]  # and the last (edge) one
                self.assertEqual(sorted(f for f in os.listdir(path) if f != ".zarray"), ["0.0", "2.2"])
                expected = z[...]
                if fill is None:  # TensorStore: a null fill value reads as zeros
                    mask = np.ones((7, 5), dtype=bool)
                    mask[0:3, 0:2] = False
                    mask[6, 4] = False
                    expected[mask] = 0
                self.assertEqual(zarr_cat(path), expected.tobytes())

    def test_zattrs_and_unknown_members_are_ignored(self):
        data = random_array("<f4", (4, 4), seed=6)
        path = self.write_zarr("attrs", data, (2, 2), CODECS["gzip"])
        zarr.open(path, mode="r+").attrs["note"] = {"a": [1, 2]}
        self.assertTrue(os.path.exists(os.path.join(path, ".zattrs")))
        meta = zarrio.read_metadata(path)
        meta["unknown_member"] = {"x": 1}
        with open(os.path.join(path, ".zarray"), "w") as f:
            json.dump(meta, f, indent=7)
        self.assertEqual(zarr_cat(path), data.tobytes())


class TeWritesZarrPythonReads(TempDirTest):
    CODEC_JSON = [
        (None, None),
        ('{"id":"gzip"}', {"id": "gzip", "level": 1}),
        ('{"id":"gzip","level":9}', {"id": "gzip", "level": 9}),
        ('{"id":"zlib","level":1}', {"id": "zlib", "level": 1}),
        ('{"id":"zstd","level":1}', {"id": "zstd", "level": 1}),
        ('{"id":"zstd","level":3}', {"id": "zstd", "level": 3}),
        ('{"id":"bz2","level":1}', {"id": "bz2", "level": 1}),
        ('{"id":"blosc"}', {"blocksize": 0, "clevel": 5, "cname": "lz4", "id": "blosc", "shuffle": -1}),
        ('{"id":"blosc","cname":"zstd","clevel":3,"shuffle":2}',
         {"blocksize": 0, "clevel": 3, "cname": "zstd", "id": "blosc", "shuffle": 2}),
        ('null', None),
    ]
    WRITE_DTYPES = ["<f4", ">f8", "|b1", "<i2", "|u1", "<c8", "<f2", ">i8", "<u8"]
    SHAPES = [((7, 5), (3, 2)), ((10,), (4,)), ((3, 4, 5), (2, 4, 3)), ((2, 3), (5, 5))]

    def check_array(self, path, data, shape, chunks, dtype, compressor_json):
        expected_meta = {"chunks": list(chunks), "compressor": compressor_json, "dimension_separator": ".",
                         "dtype": dtype, "fill_value": None, "filters": None, "order": "C",
                         "shape": list(shape), "zarr_format": 2}
        with open(os.path.join(path, ".zarray"), "rb") as f:
            self.assertEqual(f.read(), compact(expected_meta).encode())
        codec = numcodecs.get_codec(compressor_json) if compressor_json else None
        grid = [max(1, -(-s // c)) for s, c in zip(shape, chunks)]
        chunk_files = sorted(f for f in os.listdir(path) if f != ".zarray")
        self.assertEqual(len(chunk_files), int(np.prod(grid)))
        for index in np.ndindex(*grid):
            with open(os.path.join(path, ".".join(map(str, index))), "rb") as f:
                stored = f.read()
            raw = bytes(codec.decode(stored)) if codec else stored
            self.assertEqual(raw, padded_chunk(data, chunks, index), "chunk %s" % (index,))

    def test_codecs_and_dtypes(self):
        for ci, (arg, compressor_json) in enumerate(self.CODEC_JSON):
            for di, dtype in enumerate(self.WRITE_DTYPES):
                for si, (shape, chunks) in enumerate(self.SHAPES):
                    if si > 0 and di % 3 != si % 3:
                        continue  # every dtype on the 2-D shape, a third of them on each other shape
                    with self.subTest(codec=arg, dtype=dtype, shape=shape):
                        data = random_array(dtype, shape, seed=100 * ci + 10 * di + si)
                        path = self.path("w_%d_%d_%d" % (ci, di, si))
                        zarr_write(path, data.tobytes(), shape, chunks, dtype, arg)
                        back = zarr.open(path, mode="r")
                        self.assertEqual(back.dtype, np.dtype(dtype))
                        self.assertEqual(back.shape, shape)
                        self.assertEqual(back[...].tobytes(), data.tobytes())
                        self.check_array(path, data, shape, chunks, dtype, compressor_json)
                        self.assertEqual(zarr_cat(path), data.tobytes())

    def test_zstd_frames_record_content_size(self):
        data = random_array("<f4", (64, 33), seed=8)
        path = self.path("fcs")
        zarr_write(path, data.tobytes(), data.shape, (32, 33), "<f4", '{"id":"zstd","level":1}')
        for name in ["0.0", "1.0"]:
            with open(os.path.join(path, name), "rb") as f:
                frame = f.read()
            p = subprocess.run(["zstd", "-lv", os.path.join(path, name)], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("Decompressed Size:", p.stdout)
            self.assertIn("(%d B)" % (32 * 33 * 4), p.stdout.split("Decompressed Size:")[1].splitlines()[0])
            self.assertEqual(frame[:4], b"\x28\xb5\x2f\xfd")

    def test_rank_zero(self):
        path = self.path("scalar")
        raw = np.array(7, dtype="<i4").tobytes()
        p = subprocess.run([TE, "zarr-write", path, "--shape", "--chunks", "--dtype", "<i4", "--compressor",
                            '{"id":"gzip","level":1}'], input=raw, capture_output=True)
        self.assertEqual(p.returncode, 0, p.stderr.decode())
        self.assertEqual(zarr.open(path, mode="r")[...], 7)
        self.assertTrue(os.path.exists(os.path.join(path, "0")))


class ByteLevelTypes(TempDirTest):
    """Types zarr-python 2.13 cannot open: checked through numcodecs and numpy bit patterns."""

    def test_bfloat16_written_by_te(self):
        f32 = random_array("<f4", (9, 6), seed=9)
        bits = zarrio.f32_to_bf16(f32)
        for arg in ['{"id":"zstd","level":1}', '{"id":"gzip","level":1}', None]:
            with self.subTest(compressor=arg):
                path = self.path("bf16_%s" % (json.loads(arg)["id"] if arg else "raw"))
                zarr_write(path, bits.tobytes(), bits.shape, (4, 4), "bfloat16", arg)
                meta = zarrio.read_metadata(path)
                self.assertEqual(meta["dtype"], "bfloat16")
                codec = numcodecs.get_codec(meta["compressor"]) if meta["compressor"] else None
                for index in np.ndindex(3, 2):
                    with open(os.path.join(path, "%d.%d" % index), "rb") as f:
                        stored = f.read()
                    raw = bytes(codec.decode(stored)) if codec else stored
                    self.assertEqual(raw, padded_chunk(bits, (4, 4), index))
                # Independent reader (numcodecs + numpy) and te's own reader agree.
                back, dtype = zarrio.read_array(path)
                self.assertEqual(dtype, "bfloat16")
                self.assertEqual(back.tobytes(), bits.tobytes())
                self.assertEqual(zarr_cat(path), bits.tobytes())

    def test_bfloat16_written_independently(self):
        bits = zarrio.f32_to_bf16(random_array("<f4", (10, 3), seed=10))
        for comp in [("zstd", 1), ("gzip", 1), ("zlib", 1), None]:
            with self.subTest(compressor=comp):
                path = self.path("bf16_ind_%s" % (comp[0] if comp else "raw"))
                zarrio.write_array(path, bits, zarr_dtype="bfloat16", chunks=(4, 2),
                                   compressor=comp if comp else None)
                self.assertEqual(zarr_cat(path), bits.tobytes())

    def test_float8_and_int4(self):
        raw = np.arange(40, dtype=np.uint8).reshape(8, 5)
        for dtype in ["float8_e4m3fn", "float8_e5m2", "int4"]:
            with self.subTest(dtype=dtype):
                path = self.path(dtype)
                zarr_write(path, raw.tobytes(), raw.shape, (3, 5), dtype, '{"id":"gzip","level":1}')
                self.assertEqual(zarrio.read_metadata(path)["dtype"], dtype)
                for i in range(3):
                    with open(os.path.join(path, "%d.0" % i), "rb") as f:
                        self.assertEqual(gzip.decompress(f.read()), padded_chunk(raw, (3, 5), (i, 0)))
                self.assertEqual(zarr_cat(path), raw.tobytes())

    def test_zstd_frames_without_content_size(self):
        """TensorStore before v0.1.85 wrote zstd frames without Frame_Content_Size."""
        data = random_array("<f4", (7, 5), seed=11)
        for check in ["--no-check", "--check"]:
            with self.subTest(check=check):
                path = self.path("nofcs" + check)
                zarrio.write_array(path, data, chunks=(3, 2), compressor=None)
                for name in os.listdir(path):
                    if name == ".zarray":
                        continue
                    file = os.path.join(path, name)
                    p = subprocess.run(["zstd", "-q", "-c", "--no-content-size", check, file], capture_output=True)
                    self.assertEqual(p.returncode, 0)
                    frame = p.stdout
                    self.assertEqual(frame[:4], b"\x28\xb5\x2f\xfd")
                    self.assertEqual(frame[4] & 0xE0, 0)  # no content size field, not single-segment
                    with open(file, "wb") as f:
                        f.write(frame)
                meta = zarrio.read_metadata(path)
                meta["compressor"] = {"id": "zstd", "level": 1}
                with open(os.path.join(path, ".zarray"), "w") as f:
                    f.write(compact(meta))
                self.assertEqual(zarr_cat(path), data.tobytes())


class MalformedInput(TempDirTest):
    """Each error class: exit code 1 and a one-line message naming the file."""

    def make(self, name, compressor=("gzip", 1)):
        path = self.path(name)
        self.data = random_array("<f4", (6, 4), seed=12)
        zarrio.write_array(path, self.data, chunks=(3, 4), compressor=compressor)
        return path

    def expect_error(self, args, *parts):
        p = run_te(*args)
        self.assertEqual(p.returncode, 1, "stdout=%r stderr=%r" % (p.stdout[:100], p.stderr))
        self.assertTrue(p.stderr.startswith("te-ckpt: error: "), p.stderr)
        self.assertEqual(p.stderr.count("\n"), 1, p.stderr)
        for part in parts:
            self.assertIn(part, p.stderr)
        return p.stderr

    def rewrite(self, file, transform):
        with open(file, "rb") as f:
            data = f.read()
        with open(file, "wb") as f:
            f.write(transform(data))

    def test_corrupt_chunk(self):
        path = self.make("corrupt")
        chunk = os.path.join(path, "1.0")
        self.rewrite(chunk, lambda b: b[:12] + bytes(x ^ 0x5A for x in b[12:-8]) + b[-8:])
        self.expect_error(["zarr-cat", path], chunk)

    def test_truncated_chunk(self):
        for comp in [("gzip", 1), ("zstd", 1)]:
            with self.subTest(compressor=comp):
                path = self.make("trunc_" + comp[0], comp)
                chunk = os.path.join(path, "0.0")
                self.rewrite(chunk, lambda b: b[: len(b) // 2])
                self.expect_error(["zarr-cat", path], chunk)

    def test_chunk_of_wrong_decoded_size(self):
        for comp, encode in [("gzip", gzip.compress), ("zlib", zlib.compress), ("zstd", numcodecs.Zstd(1).encode),
                             (None, lambda b: b)]:
            for size, what in [(52, "long"), (44, "short")]:
                with self.subTest(compressor=comp, too=what):
                    path = self.make("size_%s_%s" % (comp, what), (comp, 1) if comp else None)
                    chunk = os.path.join(path, "1.0")
                    with open(chunk, "wb") as f:
                        f.write(bytes(encode(bytes(range(size)))))
                    self.expect_error(["zarr-cat", path], chunk)

    def test_trailing_garbage_after_gzip_member(self):
        path = self.make("gz_trailing")
        chunk = os.path.join(path, "1.0")
        self.rewrite(chunk, lambda b: b + b"garbage")
        self.expect_error(["zarr-cat", path], chunk)

    def test_trailing_bytes_after_zlib_stream(self):
        for zeros in [False, True]:
            for extra in [b"\x41", b"\x00\x00", b"garbage"]:
                with self.subTest(zeros=zeros, extra=extra):
                    path = self.make("zlib_trailing_%d_%d" % (zeros, len(extra)), ("zlib", 1))
                    chunk = os.path.join(path, "1.0")
                    if zeros:  # a chunk of zeros: the stream ends mid-byte differently
                        with open(chunk, "wb") as f:
                            f.write(zlib.compress(bytes(48), 1))
                    self.rewrite(chunk, lambda b: b + extra)
                    self.expect_error(["zarr-cat", path], chunk)

    def test_second_gzip_member(self):
        path = self.make("gz_two")
        chunk = os.path.join(path, "0.0")
        raw = self.data[0:3].tobytes()
        with open(chunk, "wb") as f:
            f.write(gzip.compress(raw[:20]) + gzip.compress(raw[20:]))
        self.expect_error(["zarr-cat", path], chunk)

    def test_trailing_garbage_after_zstd_frame(self):
        path = self.make("zstd_trailing", ("zstd", 1))
        chunk = os.path.join(path, "1.0")
        self.rewrite(chunk, lambda b: b + b"\x00\x01garbage")
        self.expect_error(["zarr-cat", path], chunk)

    def test_malformed_json(self):
        path = self.make("badjson")
        zarray = os.path.join(path, ".zarray")
        self.rewrite(zarray, lambda b: b[: len(b) // 2])
        self.expect_error(["zarr-cat", path], zarray, "JSON")
        self.expect_error(["inspect", path], zarray)
        self.expect_error(["inspect", "--json", path], zarray)

    def test_unknown_codec(self):
        path = self.make("badcodec")
        zarray = os.path.join(path, ".zarray")
        meta = zarrio.read_metadata(path)
        meta["compressor"] = {"id": "lzma", "preset": 1}
        with open(zarray, "w") as f:
            f.write(compact(meta))
        self.expect_error(["zarr-cat", path], zarray, "lzma")
        self.expect_error(["inspect", path], zarray, "lzma")

    def test_unknown_dtype(self):
        path = self.make("baddtype")
        zarray = os.path.join(path, ".zarray")
        for dtype in ["<U4", "<M8[ns]", "float32", "|f4"]:
            with self.subTest(dtype=dtype):
                meta = zarrio.read_metadata(path)
                meta["dtype"] = dtype
                with open(zarray, "w") as f:
                    f.write(compact(meta))
                self.expect_error(["zarr-cat", path], zarray, dtype)

    def test_missing_zarray(self):
        path = self.make("nozarray")
        os.remove(os.path.join(path, ".zarray"))
        self.expect_error(["zarr-cat", path], path)

    def test_orbax_refused(self):
        self.expect_error(["inspect", os.path.join(zarrio.FIXTURES, "t5x/tiny_orbax/1")], "Orbax")

    def test_zarr_write_errors(self):
        path = self.path("w")
        p = subprocess.run([TE, "zarr-write", path, "--shape", "3", "5", "--chunks", "2", "5", "--dtype", "<f4"],
                           input=b"\x00" * 59, capture_output=True, text=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn(b"60", p.stderr)
        for dtype, comp, part in [("<f4", '{"id":"lzma"}', "lzma"), ("<U4", "null", "<U4"),
                                  ("<f4", '{"id":"gzip","level":99}', "level")]:
            with self.subTest(dtype=dtype, compressor=comp):
                p = subprocess.run([TE, "zarr-write", self.path("w2"), "--shape", "3", "--chunks", "3", "--dtype", dtype,
                                    "--compressor", comp], input=b"\x00" * 12, capture_output=True)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn(part, p.stderr.decode())


class Inspect(TempDirTest):
    def test_inspect_json_on_a_zarr_python_array(self):
        path = self.path("arr")
        z = zarr.open(path, mode="w", shape=(7, 5), chunks=(3, 2), dtype=">i2", compressor=numcodecs.Zlib(3))
        z[...] = random_array(">i2", (7, 5), seed=13)
        p = run_te("inspect", "--json", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout.decode())
        self.assertEqual(out["format"], "zarr-array")
        self.assertEqual(len(out["arrays"]), 1)
        a = out["arrays"][0]
        self.assertEqual((a["shape"], a["chunks"], a["dtype"]), ([7, 5], [3, 2], "int16"))
        self.assertEqual(a["compressor"], {"id": "zlib", "level": 3})
        self.assertEqual(a["stored_bytes"], sum(os.path.getsize(os.path.join(path, f))
                                                for f in os.listdir(path) if f != ".zarray"))

    def test_inspect_json_on_tiny_t5(self):
        p = run_te("inspect", "--json", os.path.join(zarrio.FIXTURES, "t5x/tiny_t5/checkpoint_1"))
        self.assertEqual(p.returncode, 0, p.stderr)
        out = json.loads(p.stdout.decode())
        self.assertEqual(out["format"], "t5x")
        arrays = {a["name"]: a for a in out["arrays"]}
        self.assertEqual(set(arrays), {"state.param_states.bias", "state.param_states.kernel",
                                       "state.param_states.step", "state.step"})
        self.assertEqual((arrays["state.param_states.kernel"]["dtype"], arrays["state.param_states.kernel"]["shape"]),
                         ("float64", [10, 5]))
        self.assertEqual(arrays["state.param_states.step"]["shape"], [])
        self.assertTrue(arrays["state.step"]["inline"])
        self.assertEqual(out["problems"], [])


if __name__ == "__main__":
    unittest.main()
