"""--output-format=ocdbt-zarr3 and changes of zarr version (zarr v2 <-> zarr3).

A checkpoint whose container changes zarr version keeps every value bit for bit: each array is
moved chunk by chunk into the other version (same shape, dtype, chunk grid and compression: the
compressed bytes move as they are, zarr/chunk_payload.h; other codecs are re-encoded).
Expectations come from independent paths: the source arrays read by zarrio (zarr v2 folders),
ocdbt_ref (OCDBT databases) and zarr3gen (zarr3 arrays), and te-ckpt's conversion that keeps the
container, itself checked against MAPPING.md by the Pax / T5X / Orbax conversion tests.

Run: TE_CKPT=/path/to/te-ckpt /usr/bin/python3 -m unittest -v zarr3_output_test   (from tests/py)
"""
import json
import os
import unittest

import numpy as np

import ocdbt_ref
import orbaxgen
import paxgen
import t5xgen
import zarrio
from scratch_case import ScratchTestCase
from orbax_conversion_test import database_arrays, decode
from orbax_zarr3_conversion_test import zarr3_database, zarr3_values

STEP = "checkpoint_00000001"


def legacy_folders(state):
    return {n: os.path.join(state, n) for n in sorted(os.listdir(state))
            if os.path.exists(os.path.join(state, n, ".zarray"))}


class Zarr3OutputTest(ScratchTestCase):
    def assert_values(self, got, want, name):
        """got, want: (numpy array, dtype name) pairs; the same dtype, shape and bytes."""
        self.assertEqual(got[0].shape, want[0].shape, name)
        self.assertEqual(np.ascontiguousarray(got[0]).tobytes(), np.ascontiguousarray(want[0]).tobytes(), name)

    def assert_zarr3_item(self, item, names):
        """Every array of the item is zarr3 (no .zarray key), _METADATA says use_zarr3, lists exactly
        `names`, and gives each the shard shape as write_shape."""
        self.assertEqual([k for k in ocdbt_ref.read_database(item) if k.endswith(b"/.zarray")], [])
        arrays = zarr3_database(item)
        self.assertEqual(sorted(arrays), sorted(names))
        with open(os.path.join(item, "_METADATA")) as f:
            md = json.load(f)
        self.assertIs(md["use_zarr3"], True)
        for e in md["tree_metadata"].values():
            name = ".".join(str(k["key"]) for k in e["key_metadata"])
            shard = json.loads(arrays[name]["zarr.json"])["chunk_grid"]["configuration"]["chunk_shape"]
            self.assertEqual(e["value_metadata"]["write_shape"], shard, name)
        return arrays

    def pax_source(self, model, direction="fw2te"):
        m = paxgen.variant(model, layout="1.x")
        pax = paxgen.make_pax(m, 0)
        te, _ = paxgen.to_te(m, pax)
        src = self.path("src", STEP)
        paxgen.write(pax if direction == "fw2te" else te, src)
        return m, src

    def test_format_only_legacy_to_zarr3_to_ocdbt_to_zarr(self):
        m, src = self.pax_source(paxgen.Model(L=2, N=4, H=4, E=16, F=32, repeat=True, chunking="multi"))
        folders = legacy_folders(os.path.join(src, "state"))
        want = {n: zarrio.read_array(f) for n, f in folders.items()}
        z3 = self.path("z3", STEP)
        p = self.run_ok("convert", "--input-path", src, "--output-path", z3, "--output-format=ocdbt-zarr3")
        self.assertIn("format-only", p.stderr + p.stdout)
        # The same compressor in both versions: every chunk's compressed bytes moved, none decoded.
        chunks = sum(len([c for c in os.listdir(f) if not c.startswith(".")]) for f in folders.values())
        self.assertIn(f"chunk copies: 0 jobs, {chunks} chunks", p.stdout)
        self.assertIn("re-encoded 0.0 B decoded bytes", p.stdout)
        # Pax's Orbax names in OCDBT (orbaxgen.pax_orbax_name); the legacy names again in folders.
        legacy_of = {orbaxgen.pax_orbax_name(n): n for n in folders}
        arrays = self.assert_zarr3_item(os.path.join(z3, "state"), list(legacy_of))
        for orbax_name, keys in arrays.items():
            name = legacy_of[orbax_name]
            self.assert_values(zarr3_values(keys, self.scratch), want[name], name)
            meta = json.loads(keys["zarr.json"])
            with open(os.path.join(folders[name], ".zarray")) as f:
                zarray = json.load(f)
            # the same chunk grid: one inner chunk per shard, the source's chunk
            self.assertEqual(meta["chunk_grid"]["configuration"]["chunk_shape"], zarray["chunks"], name)
        # zarr3 -> zarr v2 in OCDBT -> per-array folders: the source values, the source chunking
        v2 = self.path("v2", STEP)
        self.run_ok("convert", "--input-path", z3, "--output-path", v2, "--output-format=ocdbt")
        db = database_arrays(os.path.join(v2, "state"))
        self.assertEqual(sorted(db), sorted(legacy_of))
        with open(os.path.join(v2, "state", "_METADATA")) as f:
            self.assertIs(json.load(f)["use_zarr3"], False)
        for name, keys in db.items():
            self.assert_values(decode(keys, self.scratch), want[legacy_of[name]], name)
        back = self.path("back", STEP)
        self.run_ok("convert", "--input-path", z3, "--output-path", back, "--output-format=zarr")
        got = legacy_folders(os.path.join(back, "state"))
        self.assertEqual(sorted(got), sorted(folders))
        for name, folder in got.items():
            self.assert_values(zarrio.read_array(folder), want[name], name)
            with open(os.path.join(folder, ".zarray")) as f:
                a = json.load(f)
            with open(os.path.join(folders[name], ".zarray")) as f:
                b = json.load(f)
            for field in ("shape", "chunks", "dtype", "compressor"):
                self.assertEqual(a[field], b[field], (name, field))
            # zarr v2 -> zarr3 -> zarr v2 moved the compressed chunks: the source's bytes exactly
            for c in sorted(os.listdir(folders[name])):
                if c.startswith("."):
                    continue
                with open(os.path.join(folder, c), "rb") as f, open(os.path.join(folders[name], c), "rb") as g:
                    self.assertEqual(f.read(), g.read(), (name, c))
        # and te-ckpt reads the round trip as the model it was
        again = self.path("again", STEP)
        self.run_ok("convert", "--input-path", back, "--output-path", again, *m.flags("fw2te"))

    def test_pax_conversion_into_zarr3_equals_the_legacy_conversion(self):
        for direction in ("fw2te", "te2fw"):
            with self.subTest(direction=direction):
                m, src = self.pax_source(paxgen.Model(L=2, N=4, H=4, E=16, F=32, split_qkv=True, gated=True,
                                                      dtype="bfloat16", chunking="padded"), direction)
                keep = self.path("keep" + direction, STEP)
                self.run_ok("convert", "--input-path", src, "--output-path", keep, *m.flags(direction))
                want = {n: zarrio.read_array(f) for n, f in legacy_folders(os.path.join(keep, "state")).items()}
                out = self.path("out" + direction, STEP)
                self.run_ok("convert", "--input-path", src, "--output-path", out, *m.flags(direction),
                            "--output-format=ocdbt-zarr3")
                legacy_of = {orbaxgen.pax_orbax_name(n): n for n in want}
                arrays = self.assert_zarr3_item(os.path.join(out, "state"), list(legacy_of))
                for name, keys in arrays.items():
                    self.assert_values(zarr3_values(keys, self.scratch), want[legacy_of[name]], name)
                os.rename(self.path("src"), self.path("src_" + direction))

    def test_zarr3_orbax_input_into_zarr_folders(self):
        m, legacy = self.pax_source(paxgen.Model(L=2, N=4, H=4, E=16, F=32))
        orbax_src = self.path("orbax", STEP)
        orbaxgen.pax_to_orbax(legacy, orbax_src, zarr3=orbaxgen.Zarr3())
        keep = self.path("keep", STEP)
        self.run_ok("convert", "--input-path", orbax_src, "--output-path", keep, *m.flags("fw2te"))
        want = {n: zarr3_values(k, self.scratch) for n, k in zarr3_database(os.path.join(keep, "state")).items()}
        out = self.path("out", STEP)
        self.run_ok("convert", "--input-path", orbax_src, "--output-path", out, *m.flags("fw2te"),
                    "--output-format=zarr")
        # Folders carry Pax's legacy names: their Orbax spellings are the Orbax output's names.
        got = {orbaxgen.pax_orbax_name(n): f for n, f in legacy_folders(os.path.join(out, "state")).items()}
        self.assertEqual(sorted(got), sorted(want))
        self.assertTrue(any(os.path.basename(f) != n for n, f in got.items()), "no name respelled")
        for name, folder in got.items():
            self.assertFalse(os.path.exists(os.path.join(folder, "zarr.json")), name)
            self.assert_values(zarrio.read_array(folder), want[name], name)

    def test_t5x_conversion_into_zarr3_equals_the_legacy_conversion(self):
        m = t5xgen.Model()
        ckpt, _ = t5xgen.build(m, layout="t5x", fused=True)
        src = ckpt.write(self.path("src", "checkpoint_1"))
        flags = ["--fw=t5x", "--direction=fw2te", "--t5x-fuse-qkv", *m.cli()]
        keep = self.path("keep", "checkpoint_1")
        self.run_ok("convert", "--input-path", src, "--output-path", keep, *flags)
        _, legacy = t5xgen.load_checkpoint(keep)
        out = self.path("out", "checkpoint_1")
        self.run_ok("convert", "--input-path", src, "--output-path", out, *flags, "--output-format=ocdbt-zarr3")
        arrays = self.assert_zarr3_item(os.path.join(out, "state"), list(legacy))
        for name, (arr, _, _) in legacy.items():
            got, _ = zarr3_values(arrays[name], self.scratch)
            self.assertEqual(np.ascontiguousarray(got).tobytes(), np.ascontiguousarray(arr).tobytes(), name)


if __name__ == "__main__":
    unittest.main()
