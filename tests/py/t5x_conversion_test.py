"""T5X <-> TransformerEngine conversion tests for te-ckpt (MAPPING.md sections 2 and 3,
t5x-format.md sections 1, 3, 4 and 6).

Inputs come from t5xgen (an independent generator written from the specs) and from the real T5X
fixtures in tests/fixtures/t5x.  Expected outputs are computed here with numpy and
msgpack-python; nothing is copied from te-ckpt runs.
"""
import gzip
import json
import os
import re
import shutil
import subprocess
import tempfile
import unittest
import zlib

import msgpack
import numpy as np

import t5xgen as g
import zarrio

FIXTURES = os.path.join(zarrio.FIXTURES, "t5x")
OPPOSITE = {"fw2te": "te2fw", "te2fw": "fw2te"}
TMP_MARK = "te-ckpt-tmp"
# te-ckpt syncs what it writes; on a busy disk that makes the many small files of these tests slow to
# write and delete, so use a RAM-backed folder when TMPDIR does not choose one.
TMP_ROOT = None if os.environ.get("TMPDIR") else next(
    (d for d in ("/dev/shm",) if os.path.isdir(d) and os.access(d, os.W_OK)), None)


def te_ckpt(*args):
    return subprocess.run([zarrio.TE_CKPT, *map(str, args)], capture_output=True, text=True)


def convert(inp, out, m, direction, fused=False, extra=(), **dims):
    # These tests check T5X's own chunking rule (_choose_chunk_shape): merge chunking. The default
    # copyable chunking is checked against these conversions in chunk_copy_test.py.
    args = ["convert", f"--input-path={inp}", f"--output-path={out}", "--fw=t5x",
            f"--direction={direction}", *m.cli(**dims), "--output-chunking=merge"]
    if fused:
        args.append("--t5x-fuse-qkv")
    return te_ckpt(*args, *extra)


def folder_bytes(path):
    """{relative file name: bytes} of a folder."""
    out = {}
    for name in sorted(os.listdir(path)):
        with open(os.path.join(path, name), "rb") as f:
            out[name] = f.read()
    return out


def norm_shapes(text):
    """Message text with blanks removed and (..) turned into [..], to find shapes like [8,12]."""
    return re.sub(r"\s+", "", text).replace("(", "[").replace(")", "]")


def shape_str(shape):
    return "[" + ",".join(str(int(s)) for s in shape) + "]"


def dict_orders_sorted(node, path="optimizer"):
    """Yields the paths of dicts whose keys are not in sorted order."""
    if isinstance(node, dict):
        keys = list(node)
        if keys != sorted(keys):
            yield path
        for k, v in node.items():
            yield from dict_orders_sorted(v, path + "." + k)


class T5XCase(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="t5xtest-", dir=TMP_ROOT)
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    # ---- running ----------------------------------------------------------------------------
    def convert_ok(self, inp, out, m, direction, fused=False, extra=(), **dims):
        p = convert(inp, out, m, direction, fused, extra, **dims)
        self.assertEqual(p.returncode, 0, f"te-ckpt {direction} failed:\n{p.stdout}\n{p.stderr}")
        return p

    def assert_no_leftovers(self, parent):
        for root, dirs, files in os.walk(parent):
            for n in dirs + files:
                self.assertNotIn(TMP_MARK, n, f"temporary {os.path.join(root, n)} left behind")

    def assert_failed_cleanly(self, p, out, inp, digest, parent=None):
        """Exit 1, one 'te-ckpt: error:' line, no output, no temporaries, input unchanged."""
        self.assertEqual(p.returncode, 1, f"expected exit 1, got {p.returncode}\n{p.stdout}\n{p.stderr}")
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        errors = [l for l in lines if l.startswith("te-ckpt: error: ")]
        self.assertEqual(len(errors), 1, f"expected one 'te-ckpt: error:' line, stderr:\n{p.stderr}")
        self.assertFalse(os.path.exists(out), f"output {out} was created by a failed conversion")
        self.assert_no_leftovers(parent or os.path.dirname(out))
        self.assertEqual(zarrio.tree_digest(inp) if os.path.isdir(inp) else open(inp, "rb").read(),
                         digest, "input checkpoint was modified")
        return errors[0]

    # ---- index checks -----------------------------------------------------------------------
    def assert_index_valid(self, outdir, src_index=None):
        """The output index as T5X needs it (MAPPING.md 2 'The T5X index', t5x-format.md 1.2-1.4, 3.1)."""
        idx, raw = g.read_index(outdir)
        self.assertEqual(list(idx), ["version", "optimizer"], "top-level keys must be exactly version, optimizer")
        self.assertEqual(idx["version"], src_index["version"] if src_index else 3, "version not kept")
        self.assertEqual(msgpack.packb(idx, use_bin_type=True), raw,
                         "index bytes differ from msgpack-python's (flax's) encoding of the same tree")
        unsorted = list(dict_orders_sorted(idx["optimizer"]))
        self.assertEqual(unsorted, [], "dicts below optimizer must have sorted keys")
        flat = g.flatten_index(idx["optimizer"])
        listed = set()
        for name, leaf in flat.items():
            if not g.is_spec(leaf):
                continue
            self.assertEqual(leaf["driver"], "zarr", name)
            rel = leaf["kvstore"]["path"]
            self.assertEqual(rel.rstrip("/"), name, "array folder must be named by the dotted key path")
            folder = os.path.join(outdir, rel)
            self.assertTrue(os.path.isfile(os.path.join(folder, ".zarray")),
                            f"index lists {name} but {rel} has no .zarray")
            meta = zarrio.read_metadata(folder)
            self.assertEqual(leaf["metadata"]["shape"], meta["shape"], f"{name}: index shape != .zarray")
            self.assertEqual(g.NAME_TO_ZARR.get(leaf["dtype"]), meta["dtype"], f"{name}: index dtype != .zarray")
            self.assertEqual(leaf["metadata"]["chunks"], meta["chunks"], f"{name}: index chunks != .zarray")
            self.assertEqual(leaf["metadata"]["compressor"], meta["compressor"], f"{name}: compressor")
            listed.add(rel.rstrip("/"))
        on_disk = set(zarrio.list_arrays(outdir))
        self.assertEqual(sorted(on_disk - listed), [], "array folders that the index does not list")
        self.assertEqual(sorted(listed - on_disk), [], "index entries without folder")
        for bad in ("_METADATA", "state"):
            self.assertFalse(os.path.exists(os.path.join(outdir, bad)), f"output must not contain {bad}")
        if src_index is not None:
            src_step = src_index["optimizer"]["state"]["step"]
            self.assertEqual(idx["optimizer"]["state"]["step"], src_step, "inline state.step not kept")
        self.assert_no_leftovers(outdir)
        return idx, flat

    def assert_index_equal(self, outdir, expected, ignore_chunks=False):
        """Decoded output index == expected Checkpoint's index (then, unless chunks are ignored,
        the files are byte-identical)."""
        idx, raw = g.read_index(outdir)
        exp = expected.index_object()
        self.assertEqual(idx.get("version"), exp["version"])
        got_flat = g.flatten_index(idx["optimizer"])
        exp_flat = g.flatten_index(exp["optimizer"])
        self.assertEqual(sorted(set(got_flat) - set(exp_flat)), [], "unexpected index entries")
        self.assertEqual(sorted(set(exp_flat) - set(got_flat)), [], "missing index entries")
        for name in exp_flat:
            got, want = got_flat[name], exp_flat[name]
            if ignore_chunks and g.is_spec(want):
                got = json.loads(json.dumps(got))
                want = json.loads(json.dumps(want))
                got["metadata"].pop("chunks", None)
                want["metadata"].pop("chunks", None)
            if isinstance(want, msgpack.ExtType) and isinstance(got, msgpack.ExtType) and want != got:
                ga, gd = g.decode_inline(got)
                wa, wd = g.decode_inline(want)
                self.assertEqual((gd, ga.shape), (wd, wa.shape), f"inline {name}")
                self.assertEqual(ga.tobytes(), wa.tobytes(), f"inline {name} values")
            self.assertEqual(got, want, f"index entry {name}")
        if not ignore_chunks:
            self.assertEqual(raw, expected.index_bytes(), "index file not byte-identical to the expected one")

    # ---- array checks -----------------------------------------------------------------------
    def assert_arrays_equal(self, outdir, expected, byte_copies=(), srcdir=None, extra_files=()):
        """Every array of `expected` is in `outdir` with bit-identical data and the same dtype;
        nothing else is there; folders in byte_copies are byte-identical to srcdir's."""
        entries = set(os.listdir(outdir)) - {"checkpoint"} - set(extra_files)
        self.assertEqual(sorted(entries - set(expected.array_names())), [], "unexpected output entries")
        self.assertEqual(sorted(set(expected.array_names()) - entries), [], "missing output arrays")
        for name in expected.array_names():
            leaf = expected.leaves[name]
            data, zdt = zarrio.read_array(os.path.join(outdir, name))
            self.assertEqual(zdt, g.NAME_TO_ZARR[leaf.dtype], f"{name}: dtype changed")
            self.assertEqual(data.shape, leaf.data.shape, f"{name}: shape")
            self.assertTrue(data.tobytes() == leaf.data.tobytes(), f"{name}: values differ from numpy mapping")
        for name in byte_copies:
            self.assertEqual(folder_bytes(os.path.join(outdir, name)), folder_bytes(os.path.join(srcdir, name)),
                             f"{name}: identity-mapped folder not copied byte for byte")

    # ---- scenario helpers -------------------------------------------------------------------
    @staticmethod
    def copy_names(te_ckpt_obj, te_info):
        """Array names (target and optimizer mirrors) that keep name and data in both layouts."""
        same = {n for n, k in te_info["kinds"].items() if k == "copy"}
        out = []
        for name in te_ckpt_obj.array_names():
            for pre in ("target.", "state.param_states.1.0.mu.", "state.param_states.1.0.nu.",
                        "state.param_states.0.mu.", "state.param_states.0.nu."):
                if name.startswith(pre) and name[len(pre):] in same:
                    out.append(name)
        return out

    def roundtrip(self, m, direction, fused, extra=(), **build_kw):
        """Converts a generated checkpoint in `direction`, checks it against the numpy mapping
        (values, index, copies), converts back and checks that the source comes back."""
        t5x_ck, _ = g.build(m, layout="t5x", **build_kw)
        te_ck, te_info = g.build(m, layout="te", fused=fused, **build_kw)
        src_ck, dst_ck = (t5x_ck, te_ck) if direction == "fw2te" else (te_ck, t5x_ck)
        src = src_ck.write(self.path("src"))
        src_digest = zarrio.tree_digest(src)
        src_index, _ = g.read_index(src)
        copies = self.copy_names(te_ck, te_info)

        out = self.path("out")
        self.convert_ok(src, out, m, direction, fused, extra)
        self.assert_index_valid(out, src_index)
        self.assert_arrays_equal(out, dst_ck, copies, src)
        self.assert_index_equal(out, dst_ck)
        out_digest = zarrio.tree_digest(out)

        back = self.path("back")
        self.convert_ok(out, back, m, OPPOSITE[direction], fused, extra)
        self.assert_index_valid(back, src_index)
        self.assert_arrays_equal(back, src_ck, copies, src)
        self.assert_index_equal(back, src_ck)
        with open(os.path.join(back, "checkpoint"), "rb") as f, open(os.path.join(src, "checkpoint"), "rb") as h:
            self.assertEqual(f.read(), h.read(), "round-trip index not byte-identical to the source index")
        self.assertEqual(zarrio.tree_digest(src), src_digest, "input modified")
        self.assertEqual(zarrio.tree_digest(out), out_digest, "input of the back conversion modified")
        return src, out, back


# =================================================================================================
class ChunkRuleReference(unittest.TestCase):
    def test_choose_chunk_shape_matches_spec_table(self):
        # t5x-format.md 1.7 (float32, 64 MiB -> 16 Mi elements); checks this suite's own oracle.
        t = 64 * 1024 * 1024 // 4
        for shape, chunks in [([32128, 4096], [4016, 4096]), ([32128, 768], [16064, 768]),
                              ([4096, 3, 4096], [2048, 3, 2048]), ([4096, 2, 10240], [2048, 2, 2560]),
                              ([10240, 4096], [2560, 4096]), ([8, 3, 12], [8, 3, 12]), ([], [])]:
            self.assertEqual(g.choose_chunk_shape(shape, t), chunks, shape)


class SeedModes(T5XCase):
    """fw2te / te2fw x fused / not fused on encoder-decoder checkpoints, and back."""

    def test_fw2te_fused_encoder_decoder(self):
        self.roundtrip(g.Model(), "fw2te", fused=True)

    def test_fw2te_not_fused_encoder_decoder(self):
        self.roundtrip(g.Model(), "fw2te", fused=False)

    def test_te2fw_fused_encoder_decoder(self):
        self.roundtrip(g.Model(), "te2fw", fused=True)

    def test_te2fw_not_fused_encoder_decoder(self):
        self.roundtrip(g.Model(), "te2fw", fused=False)

    def test_fused_qkv_values_are_numpy_stack(self):
        # Explicit MAPPING.md 2 formulas on the output (independent of the generator's TE builder).
        m = g.Model()
        ck, info = g.build(m, layout="t5x", seed=3)
        src = ck.write(self.path("src"))
        out = self.path("out")
        self.convert_ok(src, out, m, "fw2te", fused=True)
        _, got = g.load_checkpoint(out)
        t = info["target"]
        for i in range(m.L):
            e, d = f"encoder.layers_{i}.", f"decoder.layers_{i}."
            exp = {
                e + "attention.qkv.kernel": np.stack([t[e + "attention.query.kernel"], t[e + "attention.key.kernel"],
                                                      t[e + "attention.value.kernel"]], axis=1),
                e + "attention.qkv.scale": t[e + "pre_attention_layer_norm.scale"],
                e + "mlp.wi_kernel": np.stack([t[e + "mlp.wi_0.kernel"], t[e + "mlp.wi_1.kernel"]], axis=1),
                e + "mlp.wo_kernel": t[e + "mlp.wo.kernel"],
                e + "mlp.scale": t[e + "pre_mlp_layer_norm.scale"],
                d + "self_attention.qkv.kernel": np.stack([t[d + "self_attention.query.kernel"],
                                                           t[d + "self_attention.key.kernel"],
                                                           t[d + "self_attention.value.kernel"]], axis=1),
                d + "self_attention.qkv.scale": t[d + "pre_self_attention_layer_norm.scale"],
                d + "encoder_decoder_attention.kv.kernel": np.stack(
                    [t[d + "encoder_decoder_attention.key.kernel"], t[d + "encoder_decoder_attention.value.kernel"]], axis=1),
                d + "encoder_decoder_attention.query.kernel": t[d + "encoder_decoder_attention.query.kernel"],
                d + "encoder_decoder_attention.query.scale": t[d + "pre_cross_attention_layer_norm.scale"],
            }
            for name, want in exp.items():
                arr, dt, kind = got["target." + name]
                self.assertEqual(arr.shape, want.shape, name)
                self.assertTrue(np.array_equal(arr, want), name)
        self.assertEqual(got[f"target.encoder.layers_0.attention.qkv.kernel"][0].shape, (m.E, 3, m.D))
        self.assertEqual(got[f"target.decoder.layers_0.encoder_decoder_attention.kv.kernel"][0].shape, (m.E, 2, m.D))
        self.assertEqual(got[f"target.decoder.layers_0.mlp.wi_kernel"][0].shape, (m.E, 2, m.F))


class ModelVariants(T5XCase):
    def test_encoder_only_fused(self):
        self.roundtrip(g.Model(stacks=("encoder",)), "fw2te", fused=True)

    def test_encoder_only_te2fw_not_fused(self):
        self.roundtrip(g.Model(stacks=("encoder",)), "te2fw", fused=False)

    def test_skip_ln(self):
        self.roundtrip(g.Model(skip_ln=True), "fw2te", fused=True, extra=["--skip-ln"])

    def test_skip_ln_te2fw_not_fused(self):
        self.roundtrip(g.Model(skip_ln=True), "te2fw", fused=False, extra=["--skip-ln"])

    def test_single_activation_mlp(self):
        # mlp.wi.kernel [E,F] <-> mlp.wi_kernel [E,1,F]
        self.roundtrip(g.Model(gated=False), "fw2te", fused=True)

    def test_single_activation_mlp_te2fw(self):
        self.roundtrip(g.Model(gated=False), "te2fw", fused=False)

    def test_other_model_dims(self):
        # Non-square dims so that a swapped axis cannot go unnoticed: E=6, N=2, H=5 (D=10), F=7, L=3.
        self.roundtrip(g.Model(E=6, N=2, H=5, F=7, L=3), "fw2te", fused=True)


class DtypesAndCodecs(T5XCase):
    def test_bfloat16_target_stays_bfloat16(self):
        m = g.Model()
        src, out, back = self.roundtrip(m, "fw2te", fused=True, dtype="bfloat16")
        idx, _ = g.read_index(out)
        flat = g.flatten_index(idx["optimizer"])
        qkv = flat["target.encoder.layers_0.attention.qkv.kernel"]
        self.assertEqual(qkv["dtype"], "bfloat16")
        self.assertEqual(zarrio.read_metadata(os.path.join(out, "target.encoder.layers_0.attention.qkv.kernel"))["dtype"],
                         "bfloat16")
        self.assertEqual(flat["state.param_states.1.0.mu.encoder.layers_0.attention.qkv.kernel"]["dtype"], "float32")

    def test_bfloat16_te2fw_not_fused(self):
        self.roundtrip(g.Model(), "te2fw", fused=False, dtype="bfloat16", opt_dtype="bfloat16")

    def test_float32(self):
        src, out, back = self.roundtrip(g.Model(), "te2fw", fused=True, dtype="float32")
        for name in zarrio.list_arrays(out):
            self.assertEqual(zarrio.read_metadata(os.path.join(out, name))["dtype"], "<f4", name)

    def _check_codec(self, codec, magic):
        m = g.Model()
        src, out, back = self.roundtrip(m, "fw2te", fused=True, codec=codec)
        want = {"id": codec[0], "level": codec[1]}
        for d in (out, back):
            for name in zarrio.list_arrays(d):
                meta = zarrio.read_metadata(os.path.join(d, name))
                self.assertEqual(meta["compressor"], want, f"{name}: codec not the source's")
                chunk = os.path.join(d, name, "0" if meta["shape"] == [] else ".".join("0" * len(meta["shape"])))
                with open(chunk, "rb") as f:
                    blob = f.read()
                self.assertTrue(blob.startswith(magic), f"{name}: chunk is not {codec[0]}")
                if codec[0] == "gzip":
                    # exactly one gzip member, nothing after it (zarr-format.md 2.2)
                    dec = zlib.decompressobj(31)
                    dec.decompress(blob)
                    self.assertTrue(dec.eof and dec.unused_data == b"", f"{name}: not a single gzip member")

    def test_gzip(self):
        self._check_codec(("gzip", 1), b"\x1f\x8b\x08")

    def test_zstd(self):
        self._check_codec(("zstd", 1), b"\x28\xb5\x2f\xfd")


def multi_chunks(shape):
    # chunks that do not divide the shape: several chunks per array, padded edge chunks
    return [max(1, (2 * s + 2) // 3) for s in shape]


class Chunking(T5XCase):
    def test_multichunk_source_arrays(self):
        m = g.Model()
        t5x_ck, _ = g.build(m, layout="t5x", chunks=multi_chunks, dtype="bfloat16")
        te_ck, te_info = g.build(m, layout="te", fused=True, dtype="bfloat16")
        src = t5x_ck.write(self.path("src"))
        digest = zarrio.tree_digest(src)
        qmeta = zarrio.read_metadata(os.path.join(src, "target.encoder.layers_0.attention.query.kernel"))
        self.assertEqual(qmeta["chunks"], [6, 8])  # the source really is multi-chunk
        self.assertGreater(len(os.listdir(os.path.join(src, "target.encoder.layers_0.attention.query.kernel"))), 2)
        out = self.path("out")
        self.convert_ok(src, out, m, "fw2te", fused=True)
        self.assert_index_valid(out, g.read_index(src)[0])
        copies = self.copy_names(te_ck, te_info)
        self.assert_arrays_equal(out, te_ck, copies, src)
        self.assert_index_equal(out, te_ck, ignore_chunks=True)
        kinds = te_info["kinds"]
        for name in te_ck.array_names():
            rel = name.split(".", 1)[1] if name.startswith("target.") else name.split(".", 5)[-1]
            meta = zarrio.read_metadata(os.path.join(out, name))
            rule = g.t5x_chunks(meta["shape"], g.ZARR_TO_NAME[meta["dtype"]])
            if kinds.get(rel) == "new":
                self.assertEqual(meta["chunks"], rule, f"{name}: new array not chunked by _choose_chunk_shape")
            elif kinds.get(rel) == "rename":
                self.assertIn(meta["chunks"], (rule, multi_chunks(meta["shape"])), name)
        back = self.path("back")
        self.convert_ok(out, back, m, "te2fw", fused=True)
        self.assert_index_valid(back)
        self.assert_arrays_equal(back, t5x_ck, copies, src)
        self.assert_index_equal(back, t5x_ck, ignore_chunks=True)
        self.assertEqual(zarrio.tree_digest(src), digest)

    def test_multichunk_te_source_to_t5x(self):
        m = g.Model()
        t5x_ck, _ = g.build(m, layout="t5x")
        te_ck, _ = g.build(m, layout="te", fused=False, chunks=multi_chunks)
        src = te_ck.write(self.path("src"))
        out = self.path("out")
        self.convert_ok(src, out, m, "te2fw", fused=False)
        self.assert_index_valid(out)
        self.assert_arrays_equal(out, t5x_ck)
        self.assert_index_equal(out, t5x_ck, ignore_chunks=True)
        for i in range(m.L):
            for wi in ("wi_0", "wi_1"):
                name = f"target.encoder.layers_{i}.mlp.{wi}.kernel"
                self.assertEqual(zarrio.read_metadata(os.path.join(out, name))["chunks"], [m.E, m.F], name)

    def test_output_chunks_follow_t5x_rule(self):
        # Every array te-ckpt creates (stacked, reshaped, FP8) gets _choose_chunk_shape(shape, 64 MiB / itemsize),
        # whatever the source chunking.
        m = g.Model(E=12, N=2, H=5, F=20, L=1)
        ck, _ = g.build(m, layout="t5x", chunks=lambda s: [1] * len(s), dtype="bfloat16", codec=("zstd", 1))
        src = ck.write(self.path("src"))
        out = self.path("out")
        self.convert_ok(src, out, m, "fw2te", fused=True, extra=["--gen-fp8-meta", "--amax-history-len=24"])
        self.assert_index_valid(out)
        checked = 0
        for name in zarrio.list_arrays(out):
            if any(k in name for k in ("qkv.kernel", "kv.kernel", "wi_kernel", "fp8_metas")):
                meta = zarrio.read_metadata(os.path.join(out, name))
                want = g.choose_chunk_shape(meta["shape"], 64 * 1024 * 1024 // zarrio.numpy_dtype(meta["dtype"]).itemsize)
                self.assertEqual(meta["chunks"], want, name)
                checked += 1
        self.assertGreater(checked, 12)


class IndexRewrite(T5XCase):
    def test_output_index_structure(self):
        m = g.Model()
        ck, _ = g.build(m, layout="t5x", step=123456)
        src = ck.write(self.path("src"))
        src_index, src_raw = g.read_index(src)
        out = self.path("out")
        self.convert_ok(src, out, m, "fw2te", fused=False)
        idx, flat = self.assert_index_valid(out, src_index)
        self.assertEqual(idx["version"], 3)
        step = idx["optimizer"]["state"]["step"]
        self.assertIsInstance(step, msgpack.ExtType)
        self.assertEqual(step.code, 3, "state.step must stay a numpy scalar (ext 3)")
        arr, dt = g.decode_inline(step)
        self.assertEqual((dt, arr.shape, int(arr)), ("int32", (), 123456))
        count = flat["state.param_states.1.0.count"]
        self.assertEqual(count, src_index["optimizer"]["state"]["param_states"]["1"]["0"]["count"])
        # no stale T5X names remain, every TE name is present
        names = set(flat)
        self.assertNotIn("target.encoder.layers_0.pre_attention_layer_norm.scale", names)
        self.assertNotIn("target.encoder.layers_0.mlp.wi_0.kernel", names)
        self.assertIn("target.encoder.layers_0.attention.query.scale", names)
        self.assertIn("target.encoder.layers_0.mlp.wi_kernel", names)
        self.assertIn("state.param_states.1.0.nu.decoder.layers_1.mlp.wi_kernel", names)
        spec = flat["target.encoder.layers_0.mlp.wi_kernel"]
        self.assertEqual(spec, {"driver": "zarr", "dtype": "float32",
                                "kvstore": {"driver": "file", "path": "target.encoder.layers_0.mlp.wi_kernel/"},
                                "metadata": {"chunks": [8, 2, 16], "compressor": {"id": "gzip", "level": 1},
                                             "shape": [8, 2, 16]}})

    def test_other_files_copied(self):
        m = g.Model(stacks=("encoder",), L=1)
        ck, _ = g.build(m, layout="t5x")
        src = ck.write(self.path("src"))
        extras = {"PINNED": b"", "train_ds-000-of-001.index": bytes(range(256)) * 3}
        for n, b in extras.items():
            with open(os.path.join(src, n), "wb") as f:
                f.write(b)
        out = self.path("out")
        self.convert_ok(src, out, m, "fw2te", fused=True)
        for n, b in extras.items():
            with open(os.path.join(out, n), "rb") as f:
                self.assertEqual(f.read(), b, n)
        self.assert_index_valid(out)


class Optimizers(T5XCase):
    def _moments(self, optimizer):
        m = g.Model()
        src, out, back = self.roundtrip(m, "fw2te", fused=True, optimizer=optimizer)
        pre = g.OPT_PREFIX[optimizer]
        _, info = g.build(m, layout="t5x", optimizer=optimizer)
        _, got = g.load_checkpoint(out)
        for mom in ("mu", "nu"):
            t = info[mom]
            for i in range(m.L):
                p = f"encoder.layers_{i}."
                want = np.stack([t[p + "attention.query.kernel"], t[p + "attention.key.kernel"],
                                 t[p + "attention.value.kernel"]], axis=1)
                self.assertTrue(np.array_equal(got[pre + mom + "." + p + "attention.qkv.kernel"][0], want))
                p = f"decoder.layers_{i}."
                want = np.stack([t[p + "mlp.wi_0.kernel"], t[p + "mlp.wi_1.kernel"]], axis=1)
                self.assertTrue(np.array_equal(got[pre + mom + "." + p + "mlp.wi_kernel"][0], want))
            self.assertNotIn(pre + mom + ".encoder.layers_0.attention.query.kernel", got)

    def test_adamw_1_0_mu_nu_transformed(self):
        self._moments("adamw")

    def test_adam_0_mu_nu_transformed(self):
        self._moments("adam")

    def test_weight_only_drops_optimizer_state(self):
        m = g.Model()
        ck, _ = g.build(m, layout="t5x")
        te_ck, _ = g.build(m, layout="te", fused=True)
        src = ck.write(self.path("src"))
        n_opt = sum(1 for n in ck.array_names() if n.startswith("state."))
        n_opt_all = n_opt + sum(1 for n, l in ck.leaves.items()
                                if n.startswith("state.param_states.") and isinstance(l, g.InlineLeaf))
        out = self.path("out")
        p = self.convert_ok(src, out, m, "fw2te", fused=True, extra=["--weight-only"])
        text = p.stdout + p.stderr
        self.assertTrue(re.search(rf"\b({n_opt}|{n_opt_all})\b", text),
                        f"--weight-only must note how many optimizer arrays were left out ({n_opt}):\n{text}")
        idx, flat = self.assert_index_valid(out, g.read_index(src)[0])
        expected = g.Checkpoint({n: l for n, l in te_ck.leaves.items() if n.startswith("target.")})
        self.assert_arrays_equal(out, expected)
        self.assertEqual([n for n in flat if n.startswith("state.") and g.is_spec(flat[n])], [],
                         "optimizer arrays still listed in the index")
        for n, leaf in flat.items():
            if n.startswith("target."):
                self.assertEqual(leaf, te_ck.leaves[n].spec(n), n)
        self.assertEqual(sorted(n for n in flat if n.startswith("target.")),
                         sorted(n for n in te_ck.leaves if n.startswith("target.")))

    def test_adafactor_factored_state_is_error(self):
        m = g.Model()
        ck, _ = g.build(m, layout="t5x", optimizer="adafactor")
        src = ck.write(self.path("in", "src"))
        digest = zarrio.tree_digest(src)
        out = self.path("out")
        p = convert(src, out, m, "fw2te", fused=True)
        err = self.assert_failed_cleanly(p, out, src, digest, parent=self.tmp)
        self.assertRegex(err.lower(), r"adafactor|v_row|v_col|factored",
                         "error must say that Adafactor factored state cannot be converted")
        self.assertIn("weight-only", err, "error should point at --weight-only")

    def test_adafactor_with_weight_only_converts_weights(self):
        m = g.Model()
        ck, _ = g.build(m, layout="t5x", optimizer="adafactor")
        te_ck, _ = g.build(m, layout="te", fused=True, optimizer="adafactor")
        src = ck.write(self.path("src"))
        out = self.path("out")
        self.convert_ok(src, out, m, "fw2te", fused=True, extra=["--weight-only"])
        idx, flat = self.assert_index_valid(out, g.read_index(src)[0])
        self.assert_arrays_equal(out, g.Checkpoint({n: l for n, l in te_ck.leaves.items() if n.startswith("target.")}))
        self.assertEqual([n for n in flat if n.startswith("state.param_states.") and
                          (g.is_spec(flat[n]) or isinstance(flat[n], msgpack.ExtType))], [])


class RealFixtures(T5XCase):
    def test_tiny_t5_index_reencodes_byte_identically(self):
        with open(os.path.join(FIXTURES, "tiny_t5", "checkpoint_1", "checkpoint"), "rb") as f:
            raw = f.read()
        obj = msgpack.unpackb(raw, raw=False)
        self.assertEqual(msgpack.packb(obj, use_bin_type=True), raw)
        self.assertEqual(list(obj), ["version", "optimizer"])
        self.assertEqual(obj["version"], 3)
        self.assertEqual(obj["optimizer"]["target"], {})
        flat = g.flatten_index(obj["optimizer"])
        self.assertEqual(flat["state.param_states.bias"]["kvstore"], {"driver": "gfile", "path": "state.param_states.bias/"})
        arr, dt = g.decode_inline(flat["state.step"])
        self.assertEqual((flat["state.step"].code, dt, arr.shape, int(arr)), (3, "int32", (), 1))

    def test_tiny_t5_inspect_and_zarr_cat(self):
        src = shutil.copytree(os.path.join(FIXTURES, "tiny_t5", "checkpoint_1"), self.path("checkpoint_1"))
        p = te_ckpt("inspect", src, "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        info = json.loads(p.stdout)
        self.assertEqual(info["format"], "t5x")
        self.assertEqual(info["problems"], [])
        arrays = {a["name"]: a for a in info["arrays"]}
        on_disk = {n: a for n, a in arrays.items() if not a["inline"]}
        self.assertEqual(sorted(on_disk), ["state.param_states.bias", "state.param_states.kernel",
                                           "state.param_states.step"])
        want = {"state.param_states.bias": ([5], "float32"), "state.param_states.kernel": ([10, 5], "float64"),
                "state.param_states.step": ([], "int32")}
        for n, (shape, dt) in want.items():
            self.assertEqual((on_disk[n]["shape"], on_disk[n]["dtype"]), (shape, dt), n)
            self.assertEqual(on_disk[n]["compressor"], {"id": "gzip", "level": 1}, n)
        self.assertIn("state.step", arrays)
        self.assertTrue(arrays["state.step"]["inline"])
        self.assertEqual((arrays["state.step"]["shape"], arrays["state.step"]["dtype"]), ([], "int32"))
        # The fixture has no .zarray (NOTICE.md); synthesise them from the index metadata, then read
        # the gzip chunks through te-ckpt zarr-cat and check against an independent decode.
        index, _ = g.read_index(src)
        for n, leaf in g.flatten_index(index["optimizer"]).items():
            if g.is_spec(leaf):
                md = leaf["metadata"]
                meta = {"chunks": md["chunks"], "compressor": md["compressor"], "dimension_separator": ".",
                        "dtype": g.NAME_TO_ZARR[leaf["dtype"]], "fill_value": None, "filters": None,
                        "order": "C", "shape": md["shape"], "zarr_format": 2}
                with open(os.path.join(src, leaf["kvstore"]["path"], ".zarray"), "w") as f:
                    json.dump(meta, f)

        def cat(name):
            q = subprocess.run([zarrio.TE_CKPT, "zarr-cat", os.path.join(src, name)], capture_output=True)
            self.assertEqual(q.returncode, 0, q.stderr)
            return q.stdout

        self.assertEqual(np.frombuffer(cat("state.param_states.bias"), "<f4").tolist(), [1.0] * 5)
        self.assertEqual(np.frombuffer(cat("state.param_states.step"), "<i4").tolist(), [1])
        with open(os.path.join(src, "state.param_states.kernel", "0.0"), "rb") as f:
            kernel = gzip.decompress(f.read())
        self.assertEqual(len(kernel), 400)
        self.assertEqual(cat("state.param_states.kernel"), kernel)

    def test_t5_tiny_inline_fused_weight_only_roundtrip(self):
        src = shutil.copy(os.path.join(FIXTURES, "test_t5_tiny.checkpoint_0"), self.path("test_t5_tiny.checkpoint_0"))
        with open(src, "rb") as f:
            src_raw = f.read()
        src_index = msgpack.unpackb(src_raw, raw=False)
        m = g.Model(E=8, N=4, H=3, F=16, L=2)
        out = self.path("te")
        self.convert_ok(src, out, m, "fw2te", fused=True, extra=["--weight-only"])
        self.assertEqual(os.listdir(out), ["checkpoint"], "an all-inline checkpoint converts into an index only")
        idx, flat = self.assert_index_valid(out, src_index)
        src_flat = g.flatten_index(src_index["optimizer"])
        orig = {n[len("target."):]: g.decode_inline(l)[0] for n, l in src_flat.items() if n.startswith("target.")}
        conv = {n: g.decode_inline(l) for n, l in flat.items() if n.startswith("target.")}
        for i in range(2):
            for stack, att in (("encoder", "attention"), ("decoder", "self_attention")):
                p = f"{stack}.layers_{i}.{att}."
                got, dt = conv["target." + p + "qkv.kernel"]
                want = np.stack([orig[p + "query.kernel"], orig[p + "key.kernel"], orig[p + "value.kernel"]], axis=1)
                self.assertEqual((dt, got.shape), ("float32", (8, 3, 12)))
                self.assertTrue(np.array_equal(got, want), p)
            p = f"decoder.layers_{i}.encoder_decoder_attention."
            got, _ = conv["target." + p + "kv.kernel"]
            self.assertTrue(np.array_equal(got, np.stack([orig[p + "key.kernel"], orig[p + "value.kernel"]], axis=1)))
            p = f"encoder.layers_{i}.mlp."
            got, _ = conv["target." + p + "wi_kernel"]
            self.assertTrue(np.array_equal(got, np.stack([orig[p + "wi_0.kernel"], orig[p + "wi_1.kernel"]], axis=1)))
        self.assertEqual(flat["target.token_embedder.embedding"], src_flat["target.token_embedder.embedding"])
        self.assertFalse([n for n in flat if n.startswith("state.param_states.") and isinstance(flat[n], msgpack.ExtType)],
                         "--weight-only must leave the Adafactor state out")
        back = self.path("back")
        self.convert_ok(out, back, m, "te2fw", fused=True, extra=["--weight-only"])
        bidx, bflat = self.assert_index_valid(back, src_index)
        got_target = {n: l for n, l in bflat.items() if n.startswith("target.")}
        want_target = {n: l for n, l in src_flat.items() if n.startswith("target.")}
        self.assertEqual(sorted(got_target), sorted(want_target))
        for n, leaf in want_target.items():
            a, dt = g.decode_inline(got_target[n])
            b, dt0 = g.decode_inline(leaf)
            self.assertEqual((dt, a.shape), (dt0, b.shape), n)
            self.assertTrue(a.tobytes() == b.tobytes(), n)
        self.assertEqual(bidx["optimizer"]["target"], src_index["optimizer"]["target"],
                         "round-trip target subtree not identical to the original")
        with open(src, "rb") as f:
            self.assertEqual(f.read(), src_raw, "input modified")

    def test_t5_tiny_adafactor_state_follows_its_weights(self):
        """The real unfactored-Adafactor fixture converts with its moments: each v is rearranged
        like its weight, the [1] placeholders (m, v_row, v_col) are carried once per output
        weight, and the round trip gives back the source index exactly."""
        src = shutil.copy(os.path.join(FIXTURES, "test_t5_tiny.checkpoint_0"), self.path("test_t5_tiny.checkpoint_0"))
        with open(src, "rb") as f:
            src_raw = f.read()
        src_index = msgpack.unpackb(src_raw, raw=False)
        src_flat = g.flatten_index(src_index["optimizer"])
        m = g.Model(E=8, N=4, H=3, F=16, L=2)
        out = self.path("te")
        self.convert_ok(src, out, m, "fw2te", fused=True)
        _, flat = self.assert_index_valid(out, src_index)
        st = "state.param_states."

        def arr(tree, name):
            return g.decode_inline(tree[name])

        for i in range(2):
            for stack, att in (("encoder", "attention"), ("decoder", "self_attention")):
                p = f"{stack}.layers_{i}.{att}."
                got, dt = arr(flat, st + p + "qkv.kernel.v")
                want = np.stack([arr(src_flat, st + p + n + ".kernel.v")[0] for n in ("query", "key", "value")], axis=1)
                self.assertEqual((dt, got.shape), ("float32", (8, 3, 12)), p)
                self.assertEqual(got.tobytes(), want.tobytes(), p)
                for slot in ("m", "v_row", "v_col"):
                    self.assertEqual(flat[st + p + "qkv.kernel." + slot], src_flat[st + p + "query.kernel." + slot], slot)
                    self.assertNotIn(st + p + "key.kernel." + slot, flat, "merged placeholders must leave the index")
            p = f"encoder.layers_{i}.mlp."
            got, _ = arr(flat, st + p + "wi_kernel.v")
            want = np.stack([arr(src_flat, st + p + "wi_0.kernel.v")[0], arr(src_flat, st + p + "wi_1.kernel.v")[0]], axis=1)
            self.assertEqual(got.tobytes(), want.tobytes())
            # a renamed layer norm: its state is renamed with it
            ln = f"encoder.layers_{i}.pre_mlp_layer_norm.scale."
            self.assertEqual(flat[st + f"encoder.layers_{i}.mlp.scale.v"], src_flat[st + ln + "v"])
        self.assertEqual(flat[st + "decoder.decoder_norm.scale.v"], src_flat[st + "decoder.decoder_norm.scale.v"])
        self.assertFalse([n for n in flat if ".query.kernel." in n and "encoder_decoder" not in n])

        # the model read from the checkpoint: no flags, the same bytes
        auto = self.path("te_auto")
        p = subprocess.run([zarrio.TE_CKPT, "convert", "--input-path", src, "--output-path", auto, "--t5x-fuse-qkv"],
                           capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        with open(os.path.join(out, "checkpoint"), "rb") as a, open(os.path.join(auto, "checkpoint"), "rb") as b:
            self.assertEqual(a.read(), b.read())

        back = self.path("back")
        self.convert_ok(out, back, m, "te2fw", fused=True)
        bidx, _ = self.assert_index_valid(back, src_index)
        self.assertEqual(bidx, src_index, "round trip of the whole state is not the source index")
        with open(os.path.join(back, "checkpoint"), "rb") as f:
            self.assertEqual(f.read(), src_raw, "round-trip index bytes differ from the source's")
        with open(src, "rb") as f:
            self.assertEqual(f.read(), src_raw, "input modified")

    def test_orbax_refused(self):
        src = shutil.copytree(os.path.join(FIXTURES, "tiny_orbax", "1"), self.path("in", "1"))
        digest = zarrio.tree_digest(src)
        out = self.path("out")
        p = convert(src, out, g.Model(), "fw2te", fused=True)
        err = self.assert_failed_cleanly(p, out, src, digest, parent=self.tmp)
        self.assertIn("orbax", err.lower())


class Semantics(T5XCase):
    def test_projections_equal_between_t5x_and_te(self):
        m = g.Model(E=8, N=2, H=5, F=12, L=2)
        ck, info = g.build(m, layout="t5x", seed=11)
        src = ck.write(self.path("src"))
        out_f, out_n = self.path("fused"), self.path("not_fused")
        self.convert_ok(src, out_f, m, "fw2te", fused=True)
        self.convert_ok(src, out_n, m, "fw2te", fused=False)
        _, tef = g.load_checkpoint(out_f)
        _, ten = g.load_checkpoint(out_n)
        t = info["target"]
        x = np.random.default_rng(5).standard_normal((7, m.E))
        E, D, F = m.E, m.D, m.F

        def W(d, n):
            return d["target." + n][0].astype(np.float64)

        for i in range(m.L):
            for stack, att in (("encoder", "attention"), ("decoder", "self_attention")):
                p = f"{stack}.layers_{i}."
                ref = [x @ t[p + f"{att}.{w}.kernel"].astype(np.float64) for w in ("query", "key", "value")]
                qkv = x @ W(tef, p + f"{att}.qkv.kernel").reshape(E, 3 * D)
                for s in range(3):
                    np.testing.assert_allclose(qkv[:, s * D:(s + 1) * D], ref[s], rtol=1e-12, atol=1e-12)
                    np.testing.assert_allclose(x @ W(ten, p + f"{att}.{('query', 'key', 'value')[s]}.kernel"),
                                               ref[s], rtol=1e-12, atol=1e-12)
                ln = t[p + ("pre_attention_layer_norm" if stack == "encoder" else "pre_self_attention_layer_norm") + ".scale"]
                np.testing.assert_array_equal(tef["target." + p + f"{att}.qkv.scale"][0], ln)
                np.testing.assert_array_equal(ten["target." + p + f"{att}.query.scale"][0], ln)
                h = x @ t[p + "mlp.wi_0.kernel"].astype(np.float64), x @ t[p + "mlp.wi_1.kernel"].astype(np.float64)
                for te in (tef, ten):
                    pre = x @ W(te, p + "mlp.wi_kernel").reshape(E, 2 * F)
                    np.testing.assert_allclose(pre[:, :F], h[0], rtol=1e-12, atol=1e-12)
                    np.testing.assert_allclose(pre[:, F:], h[1], rtol=1e-12, atol=1e-12)
                    z = np.random.default_rng(i).standard_normal((3, F))
                    np.testing.assert_allclose(z @ W(te, p + "mlp.wo_kernel"), z @ t[p + "mlp.wo.kernel"].astype(np.float64))
            p = f"decoder.layers_{i}.encoder_decoder_attention."
            kv = x @ W(tef, p + "kv.kernel").reshape(E, 2 * D)
            np.testing.assert_allclose(kv[:, :D], x @ t[p + "key.kernel"].astype(np.float64), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(kv[:, D:], x @ t[p + "value.kernel"].astype(np.float64), rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(x @ W(tef, p + "query.kernel"), x @ t[p + "query.kernel"].astype(np.float64))


class FP8(T5XCase):
    def _fp8(self, fused, dtype, hist_flag, hist):
        m = g.Model()
        t5x_ck, _ = g.build(m, layout="t5x", dtype=dtype)
        te_ck, te_info = g.build(m, layout="te", fused=fused, dtype=dtype, fp8_hist=hist)
        src = t5x_ck.write(self.path("src"))
        out = self.path("out")
        extra = ["--gen-fp8-meta"] + ([f"--amax-history-len={hist}"] if hist_flag else [])
        self.convert_ok(src, out, m, "fw2te", fused, extra)
        idx, flat = self.assert_index_valid(out, g.read_index(src)[0])
        fp8 = te_info["fp8"]
        per_layer = (6 * (1 + 1 + 2) if fused else 6 * (3 + 1 + 2)) + \
                    (6 * (1 + 1 + 2 + 1 + 2) if fused else 6 * (3 + 1 + 3 + 1 + 2))
        self.assertEqual(len(fp8), m.L * per_layer)
        got_fp8 = sorted(n for n in flat if n.startswith("flax_mutables."))
        self.assertEqual(got_fp8, sorted(fp8), "FP8 metadata names")
        for n, want in fp8.items():
            arr, zdt = zarrio.read_array(os.path.join(out, n))
            self.assertEqual(zdt, "<f4", n)
            self.assertEqual(arr.shape, want.shape, n)
            self.assertTrue(np.array_equal(arr, want), f"{n}: {arr[:3]} != {want[:3]}")
            self.assertEqual(flat[n], {"driver": "zarr", "dtype": "float32",
                                       "kvstore": {"driver": "file", "path": n + "/"},
                                       "metadata": {"chunks": list(want.shape), "compressor": {"id": "gzip", "level": 1},
                                                    "shape": list(want.shape)}}, n)
        self.assertEqual(list(idx["optimizer"]), ["flax_mutables", "state", "target"])
        self.assertEqual(list(idx["optimizer"]["flax_mutables"]), ["fp8_metas"])
        copies = self.copy_names(te_ck, te_info)
        self.assert_arrays_equal(out, te_ck, copies, src)
        self.assert_index_equal(out, te_ck)
        # spot check against the kernels te-ckpt wrote
        kern = "target.decoder.layers_1.mlp.wi_kernel"
        w, _ = zarrio.read_array(os.path.join(out, kern))
        amax, _ = zarrio.read_array(os.path.join(out, "flax_mutables.fp8_metas.decoder.layers_1.mlp.amax_w_0"))
        self.assertEqual(amax[0], np.max(np.abs(g.as_float32(w, dtype))))
        self.assertGreater(amax[0], 0)
        # te2fw drops them (and their index entries)
        back = self.path("back")
        p = self.convert_ok(out, back, m, "te2fw", fused)
        self.assertIn("fp8", (p.stdout + p.stderr).lower(), "te2fw should note that FP8 metadata was dropped")
        self.assert_index_valid(back)
        self.assert_arrays_equal(back, t5x_ck)
        self.assert_index_equal(back, t5x_ck)

    def test_fp8_fused(self):
        self._fp8(True, "float32", True, 16)

    def test_fp8_not_fused_bf16_default_history(self):
        self._fp8(False, "bfloat16", False, 1024)

    def test_te2fw_drops_fp8_metas(self):
        m = g.Model(stacks=("encoder",))
        t5x_ck, _ = g.build(m, layout="t5x")
        te_ck, _ = g.build(m, layout="te", fused=True, fp8_hist=8)
        src = te_ck.write(self.path("src"))
        self.assertTrue(any(n.startswith("flax_mutables.fp8_metas.") for n in os.listdir(src)))
        out = self.path("out")
        self.convert_ok(src, out, m, "te2fw", fused=True)
        idx, flat = self.assert_index_valid(out)
        self.assertNotIn("flax_mutables", idx["optimizer"], "FP8 index entries must be dropped")
        self.assert_arrays_equal(out, t5x_ck)
        self.assert_index_equal(out, t5x_ck)


class Errors(T5XCase):
    def _setup(self, **kw):
        m = g.Model()
        ck, _ = g.build(m, layout="t5x", **kw)
        src = ck.write(self.path("in", "checkpoint_5"))
        return m, ck, src

    def test_wrong_num_of_head(self):
        m, ck, src = self._setup()
        digest = zarrio.tree_digest(src)
        out = self.path("out")
        p = convert(src, out, m, "fw2te", fused=True, num_of_head=2)
        err = self.assert_failed_cleanly(p, out, src, digest, parent=self.tmp)
        named = [n for n in ck.array_names() if n in err]
        self.assertTrue(named, f"error must name the array: {err}")
        name = max(named, key=len)
        found = list(ck.leaves[name].data.shape)
        expected = [6 if s == 12 else s for s in found]  # D = N*H: 12 found, 6 expected with N=2
        msg = norm_shapes(err)
        self.assertIn(shape_str(expected), msg, f"expected shape missing: {err}")
        self.assertIn(shape_str(found), msg, f"found shape missing: {err}")

    def test_missing_embed_dim_is_read_from_the_checkpoint(self):
        # --embed-dim was required; E is now read from the arrays (issue 13), with the same output
        m, ck, src = self._setup()
        without, given = self.path("without"), self.path("given")
        self.convert_ok(src, without, m, "fw2te", fused=True, embed_dim=None)
        self.convert_ok(src, given, m, "fw2te", fused=True)
        self.assertEqual(zarrio.tree_digest(without), zarrio.tree_digest(given))

    def test_index_entry_points_at_missing_folder(self):
        m, ck, src = self._setup()
        gone = "target.encoder.layers_1.attention.key.kernel"
        shutil.rmtree(os.path.join(src, gone))
        digest = zarrio.tree_digest(src)
        out = self.path("out")
        p = convert(src, out, m, "fw2te", fused=True)
        err = self.assert_failed_cleanly(p, out, src, digest, parent=self.tmp)
        self.assertIn(gone, err)

    def test_index_shape_disagrees_with_zarray(self):
        m, ck, src = self._setup()
        name = "target.decoder.layers_0.self_attention.value.kernel"
        idx, _ = g.read_index(src)
        spec = idx["optimizer"]["target"]["decoder"]["layers_0"]["self_attention"]["value"]["kernel"]
        self.assertEqual(spec["metadata"]["shape"], [8, 12])
        spec["metadata"]["shape"] = [12, 8]  # same element count: only a check can notice
        spec["metadata"]["chunks"] = [12, 8]
        with open(os.path.join(src, "checkpoint"), "wb") as f:
            f.write(msgpack.packb(idx, use_bin_type=True))
        digest = zarrio.tree_digest(src)
        out = self.path("out")
        p = convert(src, out, m, "fw2te", fused=True)
        err = self.assert_failed_cleanly(p, out, src, digest, parent=self.tmp)
        self.assertIn(name, err)
        msg = norm_shapes(err)
        self.assertIn("[12,8]", msg, err)
        self.assertIn("[8,12]", msg, err)


if __name__ == "__main__":
    unittest.main()
