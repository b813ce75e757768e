"""FP8 metadata written into Orbax outputs (--gen-fp8-meta and --direction=te2te into ocdbt and
ocdbt-zarr3), against the legacy-container output of the same conversion.

Sources: paxgen / t5xgen write the legacy checkpoints, orbaxgen (ocdbt_ref + its own `_METADATA`
writer) packs the same array folders into an Orbax step. Every conversion is run twice more into an
Orbax container, from the legacy input (Orbax metadata written from scratch) and from the Orbax input
(Orbax metadata rewritten); each output's database is read back by ocdbt_ref and compared array for
array with the legacy output (which pax_conversion_test / t5x_conversion_test / fp8_formats_test check
against the independent FP8 oracle): zarr v2 arrays key for key and byte for byte, zarr3 arrays value
for value through zarr3gen's reader. `_METADATA`, `_sharding`, `array_metadatas/process_0`, the
placeholder `checkpoint` and Pax's `metadata/metadata` list exactly the output's arrays.

Run: TE_CKPT=/path/to/te-ckpt /usr/bin/python3 -m unittest -v orbax_fp8_test   (from tests/py)
"""
import base64
import json
import os
import unittest

import numpy as np

import orbaxgen
import paxgen
import t5xgen
import zarrio
from scratch_case import ScratchTestCase
from orbax_conversion_test import database_arrays, decode, folder_keys
from orbax_zarr3_conversion_test import zarr3_values
from output_format_test import numpy_leaves

PAX_STEP = "checkpoint_00000001"
T5X_STEP = "checkpoint_1"
PAX = paxgen.Model(L=2, N=4, H=4, E=16, F=32, repeat=True, layout="1.x")


def leaf_name(entry):
    return ".".join(str(k["key"]) for k in entry["key_metadata"])


class OrbaxFp8Test(ScratchTestCase):
    # ------------------------------------------------------------------ the checks
    def assert_like_legacy(self, step, want, zarr3, fp8_prefix, from_scratch, numpy_leaves=None):
        """The Orbax output `step` holds exactly the arrays of `want` ({name: (values, zarr3 data_type,
        zarr v2 folder or None)}), with their values (and, zarr v2 from a folder, the folder's keys and bytes), and
        every index file lists exactly them. Returns the FP8 array names."""
        item = os.path.join(step, "state")
        arrays = database_arrays(item, "zarr.json" if zarr3 else ".zarray")
        self.assertEqual(sorted(arrays), sorted(want))
        fp8 = [n for n in want if n.startswith(fp8_prefix)]
        self.assertTrue(fp8, "the conversion wrote FP8 metadata")
        for name, (values, want_type, folder) in want.items():
            if zarr3:
                got, data_type = zarr3_values(arrays[name], self.scratch)
                self.assertEqual(data_type, want_type, name)
            else:
                if folder is not None:
                    self.assertEqual(arrays[name], folder_keys(folder), name)
                got, _ = decode(arrays[name], self.scratch)
            self.assertEqual(got.shape, values.shape, name)
            self.assertEqual(np.ascontiguousarray(got).tobytes(), np.ascontiguousarray(values).tobytes(), name)
        # _METADATA: exactly the output's arrays, write_shape the stored value's shape.
        with open(os.path.join(item, "_METADATA")) as f:
            md = json.load(f)
        self.assertIs(md["use_zarr3"], zarr3)
        leaves = {leaf_name(e): e for e in md["tree_metadata"].values()}
        self.assertEqual(sorted(leaves), sorted(want))
        for tuple_key, e in md["tree_metadata"].items():
            self.assertEqual(tuple_key, repr(tuple(str(k["key"]) for k in e["key_metadata"])))
            vm = e["value_metadata"]
            # From scratch, an array that was inline in the T5X index is numpy (orbax-format.md §3.3);
            # from an Orbax source, the source's value_type (orbaxgen: jax.Array).
            value_type = (numpy_leaves or {}).get(leaf_name(e), "jax.Array") if from_scratch else "jax.Array"
            self.assertEqual((vm["value_type"], vm["skip_deserialize"]), (value_type, False), leaf_name(e))
            meta = json.loads(arrays[leaf_name(e)]["zarr.json" if zarr3 else ".zarray"])
            if zarr3:
                write_shape = meta["chunk_grid"]["configuration"]["chunk_shape"]
            else:
                write_shape = meta["shape"] if from_scratch else meta["chunks"]
            self.assertEqual(vm["write_shape"], write_shape, leaf_name(e))
        for name in fp8:  # FP8 metadata: float32, one chunk
            meta = json.loads(arrays[name]["zarr.json" if zarr3 else ".zarray"])
            self.assertEqual(meta["data_type"] if zarr3 else meta["dtype"], "float32" if zarr3 else "<f4", name)
        # _sharding: an entry for every array; FP8 metadata replicated.
        with open(os.path.join(item, "_sharding")) as f:
            sh = {base64.urlsafe_b64decode(k).decode(): json.loads(v) for k, v in json.load(f).items()}
        self.assertEqual(sorted(sh), sorted(want))
        for name in fp8:
            self.assertIn(sh[name]["sharding_type"], ("NamedSharding", "SingleDeviceSharding"), name)
            if sh[name]["sharding_type"] == "NamedSharding":
                self.assertEqual(sh[name]["partition_spec"], [], name)
        with open(os.path.join(item, "array_metadatas", "process_0")) as f:
            am = [a["array_metadata"] for a in json.load(f)["array_metadatas"]]
        self.assertEqual(sorted(a["param_name"] for a in am), sorted(want))
        # te-ckpt's own consistency check of the Orbax step (leaves vs data vs _sharding).
        self.assertEqual(json.loads(self.run_ok("inspect", "--json", step).stdout)["problems"], [])
        placeholder = os.path.join(item, "checkpoint")
        if os.path.exists(placeholder):
            got = orbaxgen.placeholder_leaves(placeholder)
            self.assertEqual(sorted(got), sorted(want))
            self.assertEqual([k for k, v in got.items() if k != v], [])
        return fp8

    # ------------------------------------------------------------------ Pax
    def pax_legacy_arrays(self, step, rename):
        state = os.path.join(step, "state")
        out = {}
        for n in sorted(os.listdir(state)):
            folder = os.path.join(state, n)
            if os.path.exists(os.path.join(folder, ".zarray")):
                values, zdt = zarrio.read_array(folder)
                out[rename(n)] = (values, orbaxgen.zarr3_data_type(zdt), folder)
        return out

    def pax_case(self, legacy_src, flags, placeholder=False):
        """`legacy_src`: a Pax layout-1.x step; `flags`: the conversion (with its FP8 flags)."""
        orbax_src = self.path("orbax_src", PAX_STEP)
        orbaxgen.pax_to_orbax(legacy_src, orbax_src)
        if placeholder:
            orbaxgen.write_placeholder_index(os.path.join(orbax_src, "state"))
        legacy_out = self.path("legacy_out", PAX_STEP)
        self.run_ok("convert", "--input-path", legacy_src, "--output-path", legacy_out, *flags)
        with open(os.path.join(legacy_out, "metadata", "metadata")) as f:
            legacy_md = json.load(f)
        # Either source gives an Orbax output with Pax's Orbax names (orbaxgen.pax_orbax_name).
        for source, rename, from_scratch in ((legacy_src, orbaxgen.pax_orbax_name, True),
                                             (orbax_src, orbaxgen.pax_orbax_name, False)):
            want = self.pax_legacy_arrays(legacy_out, rename)
            for fmt in ("ocdbt", "ocdbt-zarr3"):
                with self.subTest(source=source, fmt=fmt):
                    out = self.path("out", fmt, os.path.basename(os.path.dirname(source)), PAX_STEP)
                    self.run_ok("convert", "--input-path", source, "--output-path", out, *flags,
                                f"--output-format={fmt}")
                    self.assert_like_legacy(out, want, fmt == "ocdbt-zarr3",
                                            ("mdl_vars.fp8_metas.", "mdl_vars.fp8_meta_collection."),
                                            from_scratch)
                    with open(os.path.join(out, "metadata", "metadata")) as f:
                        md = json.load(f)
                    self.assertEqual(md["version"], 1.2)
                    self.assertEqual(md["train_state_metadata"], legacy_md["train_state_metadata"])
                    self.assertEqual(os.path.exists(os.path.join(out, "state", "checkpoint")),
                                     placeholder or from_scratch)

    def pax_fw_source(self):
        src = self.path("legacy_src", PAX_STEP)
        paxgen.write(paxgen.make_pax(PAX, 0), src)
        return src

    def test_pax_gen_fp8_meta_into_ocdbt_and_zarr3(self):
        self.pax_case(self.pax_fw_source(), [*PAX.flags("fw2te"), "--gen-fp8-meta", "--amax-history-len=4"])

    def test_pax_gen_fp8_meta_with_placeholder_index(self):
        self.pax_case(self.pax_fw_source(), [*PAX.flags("fw2te"), "--gen-fp8-meta", "--amax-history-len=4",
                                             "--fp8-meta-format=te1.7"], placeholder=True)

    def test_pax_te2te_into_ocdbt_and_zarr3(self):
        # A TE checkpoint with F18 metadata (the legacy conversion, checked by pax_conversion_test).
        te = self.path("te_src", PAX_STEP)
        self.run_ok("convert", "--input-path", self.pax_fw_source(), "--output-path", te, *PAX.flags("fw2te"),
                    "--gen-fp8-meta", "--amax-history-len=6")
        self.pax_case(te, [*PAX.flags("te2te"), "--fp8-meta-format=te1.7", "--amax-history-len=3"])

    # ------------------------------------------------------------------ T5X
    def t5x_case(self, ckpt, flags):
        legacy_src = ckpt.write(self.path("legacy_src", T5X_STEP))
        orbax_src = self.path("orbax_src", T5X_STEP)
        orbaxgen.t5x_to_orbax(ckpt, orbax_src, self.path("scratch_gen"), legacy_src)
        legacy_out = self.path("legacy_out", T5X_STEP)
        self.run_ok("convert", "--input-path", legacy_src, "--output-path", legacy_out, *flags)
        _, legacy = t5xgen.load_checkpoint(legacy_out)
        want = {name: (arr, dtype, os.path.join(legacy_out, name) if kind == "ts" else None)
                for name, (arr, dtype, kind) in legacy.items()}
        for source, from_scratch in ((legacy_src, True), (orbax_src, False)):
            for fmt in ("ocdbt", "ocdbt-zarr3"):
                with self.subTest(source=source, fmt=fmt):
                    out = self.path("out", fmt, os.path.basename(os.path.dirname(source)), T5X_STEP)
                    self.run_ok("convert", "--input-path", source, "--output-path", out, *flags,
                                f"--output-format={fmt}")
                    self.assert_like_legacy(out, want, fmt == "ocdbt-zarr3", "flax_mutables.fp8_metas.",
                                            from_scratch, numpy_leaves(legacy_out))

    def test_t5x_gen_fp8_meta_into_ocdbt_and_zarr3(self):
        m = t5xgen.Model()
        ckpt, _ = t5xgen.build(m, layout="t5x", fused=True)
        self.t5x_case(ckpt, ["--fw=t5x", "--direction=fw2te", "--t5x-fuse-qkv", *m.cli(), "--gen-fp8-meta",
                             "--amax-history-len=5"])

    def test_t5x_te2te_into_ocdbt_and_zarr3(self):
        m = t5xgen.Model()
        ckpt, _ = t5xgen.build(m, layout="te", fused=True, fp8_hist=8)
        self.t5x_case(ckpt, ["--fw=t5x", "--direction=te2te", "--t5x-fuse-qkv", *m.cli(),
                             "--fp8-meta-format=te2.3", "--amax-history-len=4"])


if __name__ == "__main__":
    unittest.main()
