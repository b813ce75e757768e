"""The pre-OCDBT Orbax layout (orbax-format.md §1, §4.5): per-array zarr v2 folders in the item and
the msgpack `checkpoint` of PLACEHOLDER:// leaves, no `_METADATA`, no database.

Sources come from an independent writer (orbaxgen.t5x_to_orbax_folders, from the folders t5xgen
writes); each conversion is compared with te-ckpt's conversion of the same arrays in the legacy T5X
layout (itself checked by t5x_conversion_test): `--output-format=keep` writes the same layout back
(every array folder byte for byte the legacy output's, the placeholder tree exactly the output's
arrays), `--output-format=ocdbt` an Orbax OCDBT step, and round trips give back the source folders
exactly. T5X's real `tiny_orbax` fixture, whose folders lack .zarray, is refused naming the folder
(bad_input_test row orbax-t5x).

Run: TE_CKPT=/path/to/te-ckpt /usr/bin/python3 -m unittest -v orbax_folders_test   (from tests/py)
"""
import json
import os
import shutil
import unittest

import numpy as np

import orbaxgen
import t5xgen
import zarrio
from scratch_case import ScratchTestCase
from orbax_conversion_test import database_arrays, decode, folder_keys

STEP = "checkpoint_1"
OTHER = {"fw2te": "te2fw", "te2fw": "fw2te"}


class OrbaxFoldersTest(ScratchTestCase):
    def source(self, direction):
        m = t5xgen.Model()
        ckpt, _ = t5xgen.build(m, layout="t5x" if direction == "fw2te" else "te", fused=True)
        legacy = ckpt.write(self.path("legacy_src", STEP))
        folders = self.path("folders_src", STEP)
        names = orbaxgen.t5x_to_orbax_folders(ckpt, folders, legacy)
        flags = ["--fw=t5x", f"--direction={direction}", "--t5x-fuse-qkv", *m.cli()]
        return m, legacy, folders, names, flags

    def assert_folders_step(self, step, want):
        """`step` is the pre-OCDBT layout of exactly the arrays `want` ({name: (values, legacy
        folder or None)}): folders equal the legacy folders byte for byte (values for the others),
        the placeholder tree lists exactly them, each naming itself; no Orbax OCDBT files."""
        item = os.path.join(step, "state")
        got = sorted(n for n in os.listdir(item) if os.path.isdir(os.path.join(item, n)))
        self.assertEqual(got, sorted(want))
        for name, (values, folder) in want.items():
            if folder is not None:
                self.assertEqual(folder_keys(os.path.join(item, name)), folder_keys(folder), name)
            arr, _ = zarrio.read_array(os.path.join(item, name))
            self.assertEqual(arr.shape, values.shape, name)
            self.assertEqual(np.ascontiguousarray(arr).tobytes(), np.ascontiguousarray(values).tobytes(), name)
        leaves = orbaxgen.placeholder_leaves(os.path.join(item, "checkpoint"))
        self.assertEqual(sorted(leaves), sorted(want))
        self.assertEqual([k for k, v in leaves.items() if k != v], [])
        for f in ("manifest.ocdbt", "_METADATA", "_sharding"):
            self.assertFalse(os.path.exists(os.path.join(item, f)), f)

    def legacy_expected(self, legacy_out):
        _, legacy = t5xgen.load_checkpoint(legacy_out)
        return {name: (arr, os.path.join(legacy_out, name) if kind == "ts" else None)
                for name, (arr, _, kind) in legacy.items()}

    def case(self, direction):
        m, legacy_src, folders_src, names, flags = self.source(direction)
        j = json.loads(self.run_ok("inspect", "--json", folders_src).stdout)
        self.assertIn("per-array", j["layout"])
        self.assertEqual(j["problems"], [])
        legacy_out = self.path("legacy_out", STEP)
        self.run_ok("convert", "--input-path", legacy_src, "--output-path", legacy_out, *flags)
        want = self.legacy_expected(legacy_out)
        # keep: the same layout.
        out = self.path("out", STEP)
        self.run_ok("convert", "--input-path", folders_src, "--output-path", out, *flags)
        self.assert_folders_step(out, want)
        self.assertEqual(folder_keys(os.path.join(out, "dataset")), folder_keys(os.path.join(folders_src, "dataset")))
        # Round trip: the source folders exactly.
        back = self.path("back", STEP)
        self.run_ok("convert", "--input-path", out, "--output-path", back,
                    "--fw=t5x", f"--direction={OTHER[direction]}", "--t5x-fuse-qkv", *m.cli())
        src_item, back_item = os.path.join(folders_src, "state"), os.path.join(back, "state")
        src_names = sorted(n for n in os.listdir(src_item) if os.path.isdir(os.path.join(src_item, n)))
        self.assertEqual(sorted(n for n in os.listdir(back_item) if os.path.isdir(os.path.join(back_item, n))),
                         src_names)
        for n in src_names:
            a, adt = zarrio.read_array(os.path.join(src_item, n))
            b, bdt = zarrio.read_array(os.path.join(back_item, n))
            self.assertEqual((adt, a.shape, a.tobytes()), (bdt, b.shape, b.tobytes()), n)
        self.assertEqual(sorted(orbaxgen.placeholder_leaves(os.path.join(back_item, "checkpoint"))), sorted(names))
        # Into OCDBT: an Orbax step of the same arrays, metadata made anew.
        ocdbt = self.path("ocdbt", STEP)
        self.run_ok("convert", "--input-path", folders_src, "--output-path", ocdbt, *flags, "--output-format=ocdbt")
        arrays = database_arrays(os.path.join(ocdbt, "state"))
        self.assertEqual(sorted(arrays), sorted(want))
        for name, (values, folder) in want.items():
            if folder is not None:
                self.assertEqual(arrays[name], folder_keys(folder), name)
            got, _ = decode(arrays[name], self.scratch)
            self.assertEqual(np.ascontiguousarray(got).tobytes(), np.ascontiguousarray(values).tobytes(), name)
        with open(os.path.join(ocdbt, "state", "_METADATA")) as f:
            md = json.load(f)
        self.assertEqual(sorted(".".join(k["key"] for k in e["key_metadata"]) for e in md["tree_metadata"].values()),
                         sorted(want))

    def test_t5x_fw2te(self):
        self.case("fw2te")

    def test_t5x_te2fw(self):
        self.case("te2fw")

    def test_format_only_round_trip_through_ocdbt(self):
        """folders -> ocdbt -> zarr (legacy T5X) -> the same arrays, no parameter renamed."""
        _, _, folders_src, names, _ = self.source("fw2te")
        ocdbt = self.path("ocdbt", STEP)
        self.run_ok("convert", "--input-path", folders_src, "--output-path", ocdbt, "--output-format=ocdbt")
        zarr = self.path("zarr", STEP)
        self.run_ok("convert", "--input-path", ocdbt, "--output-path", zarr, "--output-format=zarr")
        _, got = t5xgen.load_checkpoint(zarr)
        self.assertEqual(sorted(got), sorted(names))
        for n in names:
            a, adt = zarrio.read_array(os.path.join(folders_src, "state", n))
            self.assertEqual(np.ascontiguousarray(got[n][0]).tobytes(), a.tobytes(), n)

    def test_tiny_orbax_names_the_folder_without_zarray(self):
        src = shutil.copytree(os.path.join(zarrio.FIXTURES, "t5x", "tiny_orbax", "1"), self.path("in", "1"))
        out = self.path("out")
        p = zarrio.run("convert", "--input-path", src, "--output-path", out, "--output-format=ocdbt", check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("_optimizer.state.param_states.bias: no .zarray", p.stderr)
        self.assertIn("shape and dtype are unknown", p.stderr)
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
