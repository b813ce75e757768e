"""`te-ckpt verify SOURCE CONVERTED`: passes on te-ckpt's own conversions (the seed modes, both
frameworks, FP8 metadata, weight-only), and fails naming the problem on one flipped bit (in a weight,
a moment, an FP8 array, a copied array), a removed array, an extra array, a changed dtype and a
stale T5X index entry. Inputs come from the independent generators (paxgen, t5xgen); the damage is
done here with numpy and zarrio, not with te-ckpt.

Run: TE_CKPT=/path/to/te-ckpt /usr/bin/python3 -m unittest -v verify_test   (from tests/py)
"""
import json
import os
import shutil
import tempfile
import unittest

import msgpack
import numpy as np

import paxgen
import t5xgen
import zarrio
from paxgen import Model, variant

BASE = Model(L=2, N=4, H=4, E=16, F=32)
TMP_ROOT = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
T_LAYER = "mdl_vars.params.lm.transformer.x_layers_1.transformerlayer.cld."


def verify(src, out, *extra):
    return zarrio.run("verify", src, out, *extra, check=False)


def flip_bit(folder, flat_index=5, bit=0):
    """Flips one bit of one element of the zarr array in `folder` (same chunks, same codec)."""
    meta = zarrio.read_metadata(folder)
    data, zd = zarrio.read_array(folder)
    raw = bytearray(np.ascontiguousarray(data).tobytes())
    item = np.dtype(zarrio.numpy_dtype(zd)).itemsize
    raw[(flat_index % data.size) * item + bit // 8] ^= 1 << (bit % 8)
    changed = np.frombuffer(bytes(raw), dtype=data.dtype).reshape(data.shape)
    shutil.rmtree(folder)
    zarrio.write_array(folder, changed, zd, meta["chunks"] or None, meta["compressor"])


class VerifyTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="te-ckpt-verify-", dir=TMP_ROOT)
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def pax_pair(self, m=BASE, side="pax", *flags):
        pax = paxgen.make_pax(m)
        te, _ = paxgen.to_te(m, pax)
        src = os.path.join(self.tmp, "src")
        paxgen.write(pax if side == "pax" else te, src)
        out = os.path.join(self.tmp, "out")
        direction = "fw2te" if side == "pax" else "te2fw"
        zarrio.run("convert", f"--input-path={src}", f"--output-path={out}", *m.flags(direction), "-q",
                   *flags)
        return src, out

    def assert_passes(self, src, out, *extra):
        p = verify(src, out, *extra)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn("everything matches", p.stdout)
        report = json.loads(verify(src, out, "--json", *extra).stdout)
        self.assertTrue(report["ok"])
        self.assertEqual(report["problems"], [])
        self.assertGreater(report["arrays_compared"], 10)

    def assert_fails(self, src, out, *needles):
        p = verify(src, out)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        problems = [l for l in p.stdout.splitlines() if l.startswith("problem: ")]
        self.assertTrue(problems, p.stdout)
        for n in needles:
            self.assertTrue(any(n in l for l in problems), f"no problem mentions {n!r}: {problems}")
        return problems

    # ------------------------------------------------------------------ passes
    def test_seed_modes_pass(self):
        for m in (BASE, variant(BASE, repeat=True, L=3)):
            for side in ("pax", "te"):
                for wo in ((), ("--weight-only",)):
                    with self.subTest(repeat=m.repeat, side=side, weight_only=bool(wo)):
                        src, out = self.pax_pair(m, side, *wo)
                        self.assert_passes(src, out)
                        shutil.rmtree(src)
                        shutil.rmtree(out)

    def test_variants_and_fp8_pass(self):
        m = variant(BASE, split_qkv=True, kv_packed=True, K=2, gated=True, skip_bias=True, layout="1.x")
        src, out = self.pax_pair(m, "pax", "--gen-fp8-meta", "--amax-history-len=4")
        self.assert_passes(src, out)

    def test_t5x_both_directions_pass(self):
        m = t5xgen.Model()
        for layout, fused in (("t5x", False), ("t5x", True), ("te", True), ("te", False)):
            with self.subTest(layout=layout, fused=fused):
                ck, _ = t5xgen.build(m, layout=layout, fused=fused)
                src = ck.write(os.path.join(self.tmp, f"src-{layout}-{fused}"))
                out = os.path.join(self.tmp, f"out-{layout}-{fused}")
                direction = "fw2te" if layout == "t5x" else "te2fw"
                args = ["convert", f"--input-path={src}", f"--output-path={out}", f"--direction={direction}",
                        "-q"] + (["--t5x-fuse-qkv"] if fused and direction == "fw2te" else [])
                zarrio.run(*args)
                self.assert_passes(src, out)

    def test_conversions_into_other_containers_pass(self):
        """CONVERTED in another container than SOURCE (--output-format): the expected output is
        made in CONVERTED's container; an array changed there is still found."""
        m = variant(BASE, layout="1.x")
        for fmt in ("ocdbt", "ocdbt-zarr3"):
            with self.subTest(output_format=fmt):
                src, out = self.pax_pair(m, "pax", f"--output-format={fmt}")
                self.assert_passes(src, out)
                shutil.rmtree(src)
                shutil.rmtree(out)
        src, out = self.pax_pair(m, "pax", "--output-format=ocdbt")
        back = os.path.join(self.tmp, "back")
        zarrio.run("convert", f"--input-path={out}", f"--output-path={back}", *m.flags("te2fw"), "-q",
                   "--output-format=zarr")
        self.assert_passes(out, back)
        flip_bit(os.path.join(back, "state", "mdl_vars.params.lm.transformer.x_layers_1.self_attention.post.w"))
        self.assert_fails(out, back, "x_layers_1.self_attention.post.w: element")

    # ------------------------------------------------------------------ failures
    def test_flipped_bit_in_a_weight(self):
        src, out = self.pax_pair()
        name = T_LAYER + "attention.qkv.kernel"
        flip_bit(os.path.join(out, name), 7, 3)
        problems = self.assert_fails(src, out, name, "differs")
        self.assertEqual(len(problems), 1, problems)

    def test_flipped_bit_in_a_moment(self):
        src, out = self.pax_pair()
        name = "opt_states_0_2.v.params.lm.transformer.x_layers_0.transformerlayer.cld.mlp.wi_kernel"
        flip_bit(os.path.join(out, name), 3, 30)
        self.assert_fails(src, out, name)

    def test_flipped_bit_in_an_fp8_array(self):
        src, out = self.pax_pair(BASE, "pax", "--gen-fp8-meta", "--amax-history-len=4")
        name = "mdl_vars.fp8_metas.lm.transformer.x_layers_0.transformerlayer.cld.mlp.amax_w_1"
        flip_bit(os.path.join(out, name), 0, 1)
        self.assert_fails(src, out, name, "element [0]")

    def test_flipped_bit_in_a_copied_array(self):
        src, out = self.pax_pair()
        name = "mdl_vars.params.lm.embedding_lookup.emb_var"
        flip_bit(os.path.join(out, name), 11, 0)
        self.assert_fails(src, out, name, "differs")

    def test_removed_and_extra_arrays(self):
        src, out = self.pax_pair()
        gone = T_LAYER + "mlp.wo_bias"
        shutil.rmtree(os.path.join(out, gone))
        shutil.copytree(os.path.join(out, T_LAYER + "mlp.scale"), os.path.join(out, T_LAYER + "mlp.extra"))
        self.assert_fails(src, out, gone + ": missing", T_LAYER + "mlp.extra: unexpected array")

    def test_changed_dtype(self):
        src, out = self.pax_pair()
        name = T_LAYER + "attention.out.kernel"
        path = os.path.join(out, name, ".zarray")
        meta = zarrio.read_metadata(os.path.join(out, name))
        meta["dtype"] = "<i4"
        with open(path, "w") as f:
            json.dump(meta, f)
        self.assert_fails(src, out, name, "dtype")

    def test_stale_t5x_index_entry(self):
        m = t5xgen.Model()
        ck, _ = t5xgen.build(m)
        src = ck.write(os.path.join(self.tmp, "src"))
        out = os.path.join(self.tmp, "out")
        zarrio.run("convert", f"--input-path={src}", f"--output-path={out}", "-q")
        idx, _ = t5xgen.read_index(out)
        # an entry for an array that the conversion removed (a stale leftover of the source)
        idx["optimizer"]["target"]["encoder"]["layers_0"]["mlp"]["wi_0"] = {"kernel": {
            "driver": "zarr", "dtype": "float32", "kvstore": {"driver": "file", "path": "target.encoder.layers_0.mlp.wi_0.kernel/"},
            "metadata": {"chunks": [8, 16], "compressor": {"id": "gzip", "level": 1}, "shape": [8, 16]}}}
        with open(os.path.join(out, "checkpoint"), "wb") as f:
            f.write(msgpack.packb(idx, use_bin_type=True))
        self.assert_fails(src, out, "target.encoder.layers_0.mlp.wi_0.kernel")


if __name__ == "__main__":
    unittest.main()
