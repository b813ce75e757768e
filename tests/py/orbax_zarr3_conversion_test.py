"""Conversions of Orbax checkpoints whose arrays are zarr3 in OCDBT (orbax-format.md §6).

Inputs come from the independent writers: paxgen / t5xgen write a legacy checkpoint, orbaxgen packs
its arrays into an Orbax step as zarr3 (zarr3gen's encoder: Orbax's sharding_indexed form with
several inner chunks per shard, or unsharded chunks; zstd, gzip or no compression; float32 and
bfloat16; missing inner chunks, which read as zeros and are zeroed in the legacy source too). Each
conversion is compared with te-ckpt's conversion of the legacy checkpoint (itself checked against
MAPPING.md by pax_conversion_test / t5x_conversion_test): every output array, read back from the
output database through ocdbt_ref and zarr3gen's reader, holds exactly the legacy output's values,
and is zarr3; `_METADATA` keeps use_zarr3, lists exactly the output leaves with write_shape = the
shard shape. Round trips give back the source values bit for bit.

Run: TE_CKPT=/path/to/te-ckpt /usr/bin/python3 -m unittest -v orbax_zarr3_conversion_test   (from tests/py)
"""
import json
import os
import re
import shutil
import subprocess
import unittest

import numpy as np

import ocdbt_ref
import orbaxgen
import paxgen
import t5xgen
import zarr3gen
import zarrio
from scratch_case import ScratchTestCase
from orbax_conversion_test import database_arrays

OTHER = {"fw2te": "te2fw", "te2fw": "fw2te"}


def zarr3_database(item_dir):
    """{array name: {key below the array: value}} of an item's zarr3 arrays (names from zarr.json
    keys; every key must belong to an array)."""
    return database_arrays(item_dir, "zarr.json")


def zarr3_values(keys, scratch):
    """(numpy values, data_type) of one zarr3 array given as {key: bytes}, by zarr3gen's reader."""
    shutil.rmtree(scratch, ignore_errors=True)
    for k, v in keys.items():
        path = os.path.join(scratch, "a", *k.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(v)
    meta = json.loads(keys["zarr.json"])
    return zarr3gen.read_array(scratch, "a"), meta["data_type"]


def legacy_values(folder):
    arr, zdt = zarrio.read_array(folder)
    return arr, orbaxgen.zarr3_data_type(zdt)


def chunk_copied_jobs(summary):
    """J of the summary's `chunk copies: J jobs, ...` line."""
    m = re.search(r"chunk copies: (\d+) jobs", summary)
    if not m:
        raise AssertionError(f"no chunk copies line in {summary!r}")
    return int(m.group(1))


class OrbaxZarr3ConversionTest(ScratchTestCase):
    def assert_same_values(self, got_keys, want_arr, want_dt, name):
        got, dt = zarr3_values(got_keys, self.scratch)
        self.assertEqual(dt, want_dt, name)
        self.assertEqual(got.shape, want_arr.shape, name)
        self.assertEqual(np.ascontiguousarray(got).tobytes(), np.ascontiguousarray(want_arr).tobytes(), name)

    def assert_zarr3_metadata(self, step, names):
        """`_METADATA` keeps use_zarr3 and lists exactly `names`, write_shape = the shard shape;
        array_metadatas the same with chunk_shape = the inner chunk."""
        item = os.path.join(step, "state")
        with open(os.path.join(item, "_METADATA")) as f:
            md = json.load(f)
        self.assertTrue(md["use_zarr3"])
        self.assertTrue(md["use_ocdbt"])
        leaves = {".".join(k["key"] for k in e["key_metadata"]): e for e in md["tree_metadata"].values()}
        self.assertEqual(sorted(leaves), sorted(names))
        arrays = zarr3_database(item)
        with open(os.path.join(item, "array_metadatas", "process_0")) as f:
            am = {a["array_metadata"]["param_name"]: a["array_metadata"]
                  for a in json.load(f)["array_metadatas"]}
        self.assertEqual(sorted(am), sorted(names))
        for name, e in leaves.items():
            zj = json.loads(arrays[name]["zarr.json"])
            shard = zj["chunk_grid"]["configuration"]["chunk_shape"]
            self.assertEqual(e["value_metadata"]["write_shape"], shard, name)
            self.assertEqual(am[name]["write_shape"], shard, name)
            inner = shard
            if zj["codecs"][0]["name"] == "sharding_indexed":
                inner = zj["codecs"][0]["configuration"]["chunk_shape"]
            self.assertEqual(am[name]["chunk_shape"], inner, name)

    # ------------------------------------------------------------------ Pax
    def pax_case(self, m, direction, spec):
        m = paxgen.variant(m, layout="1.x")
        pax = paxgen.make_pax(m, 0)
        te, _ = paxgen.to_te(m, pax)
        legacy_src = os.path.join(self.dir, "legacy_src", "checkpoint_00000001")
        paxgen.write(pax if direction == "fw2te" else te, legacy_src)
        orbax_src = os.path.join(self.dir, "orbax_src", "checkpoint_00000001")
        orbaxgen.pax_to_orbax(legacy_src, orbax_src, zarr3=spec)  # may zero the legacy source
        legacy_out = os.path.join(self.dir, "legacy_out", "checkpoint_00000001")
        orbax_out = os.path.join(self.dir, "orbax_out", "checkpoint_00000001")
        p_legacy = self.run_ok("convert", "--input-path", legacy_src, "--output-path", legacy_out, *m.flags(direction))
        p_orbax = self.run_ok("convert", "--input-path", orbax_src, "--output-path", orbax_out, *m.flags(direction))
        # Jobs whose chunks line up are chunk copies in zarr3 too (inner chunks moved as their
        # compressed bytes into shards of their own), as many as in the legacy container.
        self.assertGreater(chunk_copied_jobs(p_legacy.stdout), 0)
        self.assertEqual(chunk_copied_jobs(p_orbax.stdout), chunk_copied_jobs(p_legacy.stdout))
        got = zarr3_database(os.path.join(orbax_out, "state"))
        self.assertEqual([k for k in ocdbt_ref.read_database(os.path.join(orbax_out, "state"))
                          if k.endswith(b"/.zarray")], [])
        state = os.path.join(legacy_out, "state")
        want = {orbaxgen.pax_orbax_name(n): os.path.join(state, n)
                for n in sorted(os.listdir(state)) if os.path.exists(os.path.join(state, n, ".zarray"))}
        self.assertEqual(sorted(got), sorted(want))
        for name, folder in want.items():
            self.assert_same_values(got[name], *legacy_values(folder), name)
        self.assert_zarr3_metadata(orbax_out, list(want))
        # Arrays copied unchanged keep their zarr.json and shard bytes (some exist); rearranged
        # arrays are written in the source's form with one inner chunk per shard.
        src_db = zarr3_database(os.path.join(orbax_src, "state"))
        copied = 0
        for name, keys in got.items():
            if any(keys == src_keys for src_keys in src_db.values()):  # copied (maybe renamed)
                copied += 1
                continue
            zj = json.loads(keys["zarr.json"])
            first = zj["codecs"][0]
            self.assertEqual(first["name"] == "sharding_indexed", spec.sharded, name)
            if spec.sharded:
                self.assertEqual(first["configuration"]["chunk_shape"],
                                 zj["chunk_grid"]["configuration"]["chunk_shape"], name)
        self.assertGreater(copied, 0)
        with open(os.path.join(orbax_out, "metadata", "metadata")) as f:
            self.assertEqual(json.load(f)["version"], 1.2)
        # Round trip: the source's values exactly, still zarr3.
        back = os.path.join(self.dir, "orbax_back", "checkpoint_00000001")
        self.run_ok("convert", "--input-path", orbax_out, "--output-path", back, *m.flags(OTHER[direction]))
        src = zarr3_database(os.path.join(orbax_src, "state"))
        got_back = zarr3_database(os.path.join(back, "state"))
        self.assertEqual(sorted(got_back), sorted(src))
        for name in src:
            a, adt = zarr3_values(src[name], self.scratch)
            self.assert_same_values(got_back[name], a, adt, name)
        self.assert_zarr3_metadata(back, list(src))
        return got

    def test_pax_repeat_fw2te_sharded_zstd(self):
        self.pax_case(paxgen.Model(L=2, N=4, H=4, E=16, F=32, repeat=True), "fw2te", orbaxgen.Zarr3())

    def test_pax_repeat_te2fw_sharded_gzip_bfloat16(self):
        self.pax_case(paxgen.Model(L=2, N=4, H=4, E=16, F=32, repeat=True, dtype="bfloat16", codec="gzip"),
                      "te2fw", orbaxgen.Zarr3(compression="gzip"))

    def test_pax_nonrepeat_fw2te_unsharded_uncompressed(self):
        got = self.pax_case(paxgen.Model(L=2, N=4, H=4, E=16, F=32), "fw2te",
                            orbaxgen.Zarr3(sharded=False, compression="none"))
        for name, keys in got.items():  # the output keeps the source's unsharded form
            codecs = json.loads(keys["zarr.json"])["codecs"]
            self.assertEqual([c["name"] for c in codecs], ["bytes"], name)

    def test_pax_tp_chunks_with_missing_inner_chunks(self):
        """Shards of two inner chunks (tensor-parallel-like halves), the first of each missing."""
        got = self.pax_case(paxgen.Model(L=2, N=4, H=4, E=16, F=32, repeat=True, chunking="tp"), "fw2te",
                            orbaxgen.Zarr3(missing_inner=True))
        for name, keys in got.items():  # Orbax's form: one sharding_indexed codec
            codecs = json.loads(keys["zarr.json"])["codecs"]
            self.assertEqual([c["name"] for c in codecs], ["sharding_indexed"], name)

    # ------------------------------------------------------------------ T5X
    def t5x_case(self, direction, spec):
        m = t5xgen.Model()
        layout = "t5x" if direction == "fw2te" else "te"
        ckpt, _ = t5xgen.build(m, layout=layout, fused=True)
        legacy_src = ckpt.write(os.path.join(self.dir, "legacy_src", "checkpoint_1"))
        orbax_src = os.path.join(self.dir, "orbax_src", "checkpoint_1")
        orbaxgen.t5x_to_orbax(ckpt, orbax_src, os.path.join(self.dir, "scratch_gen"), legacy_src, zarr3=spec)
        flags = ["--fw=t5x", f"--direction={direction}", "--t5x-fuse-qkv", *m.cli()]
        legacy_out = os.path.join(self.dir, "legacy_out", "checkpoint_1")
        orbax_out = os.path.join(self.dir, "orbax_out", "checkpoint_1")
        self.run_ok("convert", "--input-path", legacy_src, "--output-path", legacy_out, *flags)
        self.run_ok("convert", "--input-path", orbax_src, "--output-path", orbax_out, *flags)
        _, legacy = t5xgen.load_checkpoint(legacy_out)
        got = zarr3_database(os.path.join(orbax_out, "state"))
        self.assertEqual(sorted(got), sorted(legacy))
        for name, (arr, zdt, _) in legacy.items():
            self.assert_same_values(got[name], np.asarray(arr), orbaxgen.zarr3_data_type(zdt), name)
        self.assert_zarr3_metadata(orbax_out, list(legacy))
        back = os.path.join(self.dir, "orbax_back", "checkpoint_1")
        self.run_ok("convert", "--input-path", orbax_out, "--output-path", back,
                    "--fw=t5x", f"--direction={OTHER[direction]}", "--t5x-fuse-qkv", *m.cli())
        src = zarr3_database(os.path.join(orbax_src, "state"))
        got_back = zarr3_database(os.path.join(back, "state"))
        self.assertEqual(sorted(got_back), sorted(src))
        for name in src:
            a, adt = zarr3_values(src[name], self.scratch)
            self.assert_same_values(got_back[name], a, adt, name)

    def test_t5x_fused_fw2te_sharded_zstd(self):
        self.t5x_case("fw2te", orbaxgen.Zarr3())

    def test_t5x_fused_te2fw_unsharded_gzip(self):
        self.t5x_case("te2fw", orbaxgen.Zarr3(sharded=False, compression="gzip"))

    # ------------------------------------------------------------------ other paths
    def test_compressor_flag_recodes_zarr3_outputs(self):
        """--compressor=gzip: every output is zarr3 with gzip in place of zstd, same values."""
        m = paxgen.Model(L=2, N=4, H=4, E=16, F=32, repeat=True, layout="1.x")
        legacy_src = os.path.join(self.dir, "legacy_src", "checkpoint_00000001")
        paxgen.write(paxgen.make_pax(m, 0), legacy_src)
        src = os.path.join(self.dir, "orbax_src", "checkpoint_00000001")
        orbaxgen.pax_to_orbax(legacy_src, src, zarr3=orbaxgen.Zarr3())
        out = os.path.join(self.dir, "out", "checkpoint_00000001")
        self.run_ok("convert", "--input-path", src, "--output-path", out, *m.flags("fw2te"), "--compressor=gzip")
        legacy_out = os.path.join(self.dir, "legacy_out", "checkpoint_00000001")
        self.run_ok("convert", "--input-path", legacy_src, "--output-path", legacy_out, *m.flags("fw2te"),
                    "--compressor=gzip")
        recoded = 0
        for name, keys in zarr3_database(os.path.join(out, "state")).items():
            legacy_name = [n for n in os.listdir(os.path.join(legacy_out, "state"))
                           if orbaxgen.pax_orbax_name(n) == name][0]
            legacy_folder = os.path.join(legacy_out, "state", legacy_name)
            # What the legacy path recodes (the converted arrays) is recoded here too.
            legacy_codec = zarrio.read_metadata(legacy_folder)["compressor"]["id"]
            inner = json.loads(keys["zarr.json"])["codecs"][0]["configuration"]["codecs"]
            self.assertEqual([c["name"] for c in inner], ["bytes", legacy_codec], name)
            recoded += legacy_codec == "gzip"
            self.assert_same_values(keys, *legacy_values(legacy_folder), name)
        self.assertGreater(recoded, 5)

    def test_inspect_shows_the_stored_form(self):
        m = paxgen.Model(L=2, N=4, H=4, E=16, F=32, repeat=True, layout="1.x", chunking="tp")
        legacy_src = os.path.join(self.dir, "legacy_src", "checkpoint_00000001")
        paxgen.write(paxgen.make_pax(m, 0), legacy_src)
        src = os.path.join(self.dir, "orbax_src", "checkpoint_00000001")
        orbaxgen.pax_to_orbax(legacy_src, src, zarr3=orbaxgen.Zarr3())
        j = json.loads(self.run_ok("inspect", "--json", src).stdout)
        self.assertEqual(j["layout"], "Pax (version 1.2), Orbax OCDBT, zarr3")
        self.assertEqual(j["problems"], [])
        arrays = {a["name"]: a for a in j["arrays"]}
        db = zarr3_database(os.path.join(src, "state"))
        for name, keys in db.items():
            a = arrays["state/" + name]
            zj = json.loads(keys["zarr.json"])
            self.assertEqual(a["zarr_format"], 3)
            self.assertEqual(a["chunks"], zj["chunk_grid"]["configuration"]["chunk_shape"], name)
            self.assertEqual(a["inner_chunks"], zj["codecs"][0]["configuration"]["chunk_shape"], name)
            self.assertEqual(a["codec"], "sharding_indexed(bytes+zstd/3)", name)
        text = self.run_ok("inspect", src).stdout
        self.assertIn(" inner ", text)

    def test_real_zarr3_fixture_inspects_and_converts_as_generic_orbax(self):
        fixture = os.path.join(zarrio.FIXTURES, "orbax", "zarr3_composite")
        j = json.loads(self.run_ok("inspect", "--json", fixture).stdout)
        self.assertEqual(j["problems"], [])
        self.assertTrue(j["layout"].endswith("zarr3"), j["layout"])
        a = [x for x in j["arrays"] if x["name"] == "state/a"][0]
        self.assertEqual((a["zarr_format"], a["shape"], a["chunks"], a["inner_chunks"]), (3, [8], [8], [8]))
        # Its arrays read back exactly through te-ckpt (zarr-cat) as through zarr3gen.
        keys = zarr3_database(os.path.join(fixture, "state"))
        self.assertTrue(keys)
        for name in keys:
            want, _ = zarr3_values(keys[name], self.scratch)
            p = subprocess.run([zarrio.TE_CKPT, "zarr-cat", os.path.join(fixture, "state", name)],
                               capture_output=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(p.stdout, np.ascontiguousarray(want).tobytes(), name)

if __name__ == "__main__":
    unittest.main()
