"""`inspect` and `zarr-cat` on zarr arrays inside OCDBT databases: the Orbax fixtures (written by
Orbax and TensorStore; a = int32 0..7, b.c = int32 1,2,3) and databases written by `te-ckpt kv
copy` from folders that zarrio (numpy + numcodecs, no te-ckpt code) writes and reads."""
import glob
import json
import os
import shutil
import subprocess
import tempfile
import unittest

import msgpack
import numpy as np

import zarrio

ORBAX = os.path.join(zarrio.FIXTURES, "orbax")
COMPAT = os.path.join(zarrio.FIXTURES, "orbax-compat")
EXPECTED = {"a": np.arange(8, dtype="<i4"), "b.c": np.array([1, 2, 3], dtype="<i4")}


def cat(path):
    p = subprocess.run([zarrio.TE_CKPT, "zarr-cat", path], capture_output=True)
    if p.returncode != 0:
        raise AssertionError(f"zarr-cat {path} failed: {p.stderr.decode()}")
    return p.stdout


def inspect_json(path):
    return json.loads(zarrio.run("inspect", "--json", path).stdout)


def compat_databases():
    """Every Orbax-compat database folder whose data files are all there."""
    out = []
    for manifest in sorted(glob.glob(os.path.join(COMPAT, "**", "manifest.ocdbt"), recursive=True)):
        folder = os.path.dirname(manifest)
        if "ocdbt.process_" in folder or "missing_pytree_data_dir_d" in folder:
            continue
        out.append(folder)
    return out


class OrbaxFixtureTest(unittest.TestCase):
    def check_arrays(self, arrays, prefix, zarr_format):
        self.assertEqual([a["name"] for a in arrays], [prefix + "a", prefix + "b.c"])
        for a in arrays:
            want = EXPECTED[a["name"][len(prefix):]]
            self.assertEqual(a["zarr_format"], zarr_format)
            self.assertEqual(a["shape"], list(want.shape))
            self.assertEqual(a["dtype"], "int32")
            self.assertEqual(a["chunks"], list(want.shape))
            self.assertGreater(a["stored_bytes"], 0)

    def test_inspect_database_folder(self):
        j = inspect_json(os.path.join(ORBAX, "zarr2_direct"))
        self.assertEqual(j["format"], "ocdbt")
        self.check_arrays(j["arrays"], "", 2)
        self.assertEqual([a["codec"] for a in j["arrays"]], ["zstd/1", "zstd/1"])

    def test_inspect_step_folder_lists_its_item(self):
        j = inspect_json(os.path.join(ORBAX, "zarr2_composite"))
        self.assertEqual([d["item"] for d in j["databases"]], ["state/"])
        self.check_arrays(j["arrays"], "state/", 2)
        text = zarrio.run("inspect", os.path.join(ORBAX, "zarr2_composite")).stdout
        self.assertIn("OCDBT database, 2 arrays", text)
        self.assertRegex(text, r"state/b\.c\s+v2\s+\[3\]\s+int32\s+\[3\]\s+zstd/1")

    def test_inspect_zarr3(self):
        j = inspect_json(os.path.join(ORBAX, "zarr3_composite", "state"))
        self.check_arrays(j["arrays"], "", 3)
        for a in j["arrays"]:
            self.assertIn("zstd", a["codec"])
            self.assertTrue(a["codec"].startswith("sharding_indexed("), a["codec"])

    def test_stored_bytes_are_the_chunk_values(self):
        db = os.path.join(ORBAX, "zarr2_direct")
        keys = json.loads(zarrio.run("kv", "ls", "--json", db).stdout)
        for a in inspect_json(db)["arrays"]:
            chunks = [k["size"] for k in keys if k["key"].startswith(a["name"] + "/") and not k["key"].endswith(".zarray")]
            self.assertEqual(a["stored_bytes"], sum(chunks))

    def test_zarr_cat_reads_arrays_inside_the_database(self):
        for folder in ("zarr2_direct", "zarr2_composite/state"):
            for name, want in EXPECTED.items():
                self.assertEqual(cat(os.path.join(ORBAX, folder, name)), want.tobytes(), f"{folder} {name}")
        # Through the step folder too: the longest leading folder holding manifest.ocdbt is state/.
        self.assertEqual(cat(os.path.join(ORBAX, "zarr2_composite", "state", "a") + "/"), EXPECTED["a"].tobytes())

    def test_zarr_cat_reads_zarr3_and_refuses_missing_arrays(self):
        self.assertEqual(cat(os.path.join(ORBAX, "zarr3_composite", "state", "a")), EXPECTED["a"].tobytes())
        p = zarrio.run("zarr-cat", os.path.join(ORBAX, "zarr2_direct", "nope"), check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("key 'nope/'", p.stderr)
        self.assertIn("not a zarr array", p.stderr)

    def test_every_orbax_compat_database(self):
        dbs = compat_databases()
        self.assertGreaterEqual(len(dbs), 30)
        formats = set()
        for db in dbs:
            arrays = inspect_json(db)["arrays"]
            zarr_format = arrays[0]["zarr_format"]
            formats.add(zarr_format)
            self.check_arrays(arrays, "", zarr_format)
            if zarr_format == 2:
                for name, want in EXPECTED.items():
                    self.assertEqual(cat(os.path.join(db, name)), want.tobytes(), db)
        self.assertEqual(formats, {2, 3})


class KvCopyDatabaseTest(unittest.TestCase):
    """Arrays that zarrio writes, packed into OCDBT by kv copy, read back by inspect and zarr-cat."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.src = os.path.join(self.tmp.name, "src")
        rng = np.random.default_rng(11)
        self.arrays = {
            "w": rng.standard_normal((37, 20)).astype("<f4"),
            "bias": rng.integers(-1000, 1000, size=(50,)).astype("<i4"),
            "opt.m": rng.standard_normal((4, 5, 6)).astype("<f8"),
        }
        chunks = {"w": (10, 8), "bias": (7,), "opt.m": (4, 5, 6)}
        codecs = {"w": ("zstd", 1), "bias": ("gzip", 1), "opt.m": None}
        for name, data in self.arrays.items():
            zarrio.write_array(os.path.join(self.src, name), data, chunks=chunks[name], compressor=codecs[name])
        self.db = os.path.join(self.tmp.name, "db")
        zarrio.run("kv", "copy", self.src, self.db, "--to", "ocdbt")

    def tearDown(self):
        self.tmp.cleanup()

    def test_inspect_lists_every_array(self):
        j = inspect_json(self.db)
        got = {a["name"]: a for a in j["arrays"]}
        self.assertEqual(sorted(got), sorted(self.arrays))
        for name, data in self.arrays.items():
            meta = zarrio.read_metadata(os.path.join(self.src, name))
            self.assertEqual(got[name]["shape"], list(data.shape))
            self.assertEqual(got[name]["chunks"], meta["chunks"])
            chunk_bytes = sum(os.path.getsize(os.path.join(self.src, name, f))
                              for f in os.listdir(os.path.join(self.src, name)) if f != ".zarray")
            self.assertEqual(got[name]["stored_bytes"], chunk_bytes, name)
        self.assertEqual(got["bias"]["codec"], "gzip/1")
        self.assertEqual(got["opt.m"]["codec"], "raw")

    def test_zarr_cat_reads_every_array(self):
        for name, data in self.arrays.items():
            self.assertEqual(cat(os.path.join(self.db, name)), data.tobytes(), name)

    def test_corrupt_chunk_names_the_ocdbt_key_and_data_file(self):
        # Rewrite one chunk with garbage and pack again: the message names key and data file.
        with open(os.path.join(self.src, "w", "1.1"), "wb") as f:
            f.write(b"\x28\xb5\x2f\xfd" + b"garbage" * 200)  # 1404 bytes: above the 1024-byte inline limit
        db = os.path.join(self.tmp.name, "db2")
        zarrio.run("kv", "copy", self.src, db, "--to", "ocdbt")
        p = subprocess.run([zarrio.TE_CKPT, "zarr-cat", os.path.join(db, "w")], capture_output=True)
        self.assertEqual(p.returncode, 1)
        stderr = p.stderr.decode()
        self.assertRegex(stderr, r"OCDBT .*db2 key 'w/1\.1' \(data file d/[0-9a-f]{32}, offset \d+, length 1404\)")
        self.assertIn("corrupt zstd chunk", stderr)


class T5xSpecDriverTest(unittest.TestCase):
    """A T5X index whose spec leaves name the ocdbt driver: every array is read from the database,
    and the conversion writes what converting the same checkpoint in folders writes, byte for
    byte (converted arrays are written as file specs)."""

    T5X = ["--fw=t5x", "--direction=fw2te", "--num-of-layer=2", "--num-of-head=4", "--head-dim=16",
           "--mlp-intermediate-dim=128", "--embed-dim=64"]

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name

    def tearDown(self):
        self.tmp.cleanup()

    def test_ocdbt_specs_convert_like_folders(self):
        folders = os.path.join(self.dir, "folders")
        zarrio.run("example", "--output-path", folders, "--fw", "t5x", "--num-of-layer", 2,
                   "--mlp-intermediate-dim", 128, "--no-optimizer-state", "--use-gated-activations")
        # Pack every array folder into one database outside the checkpoint, then point every
        # spec leaf at it through the ocdbt driver.
        staging = os.path.join(self.dir, "staging")
        os.makedirs(staging)
        in_db = os.path.join(self.dir, "ckpt")
        os.makedirs(in_db)
        names = [n for n in sorted(os.listdir(folders)) if os.path.isdir(os.path.join(folders, n))]
        for name in names:
            shutil.copytree(os.path.join(folders, name), os.path.join(staging, name))
        db = os.path.join(self.dir, "arrays.ocdbt")
        zarrio.run("kv", "copy", staging, db, "--to", "ocdbt")
        with open(os.path.join(folders, "checkpoint"), "rb") as f:
            index = msgpack.unpackb(f.read(), raw=False, strict_map_key=False)
        count = [0]

        def point_at_db(node):
            for value in node.values():
                if isinstance(value, dict) and "kvstore" in value:
                    value["kvstore"] = {"driver": "ocdbt", "base": "file://" + db,
                                        "path": value["kvstore"]["path"]}
                    count[0] += 1
                elif isinstance(value, dict):
                    point_at_db(value)

        point_at_db(index["optimizer"])
        self.assertEqual(count[0], len(names))
        with open(os.path.join(in_db, "checkpoint"), "wb") as f:
            f.write(msgpack.packb(index, use_bin_type=True))

        listing, want = inspect_json(in_db), inspect_json(folders)
        self.assertEqual(listing["problems"], [])
        # The same arrays (stored bytes too), inline ones included.
        self.assertEqual(listing["arrays"], want["arrays"])

        out_folders, out_db = os.path.join(self.dir, "out1"), os.path.join(self.dir, "out2")
        zarrio.run("convert", "--input-path", folders, "--output-path", out_folders, *self.T5X)
        zarrio.run("convert", "--input-path", in_db, "--output-path", out_db, *self.T5X)
        self.assertEqual(zarrio.tree_digest(out_db), zarrio.tree_digest(out_folders))


if __name__ == "__main__":
    unittest.main()
