"""Interoperability of te-ckpt's OCDBT store with the independent implementation in ocdbt_ref.py.

Both directions (issue 11 §5):
* te-ckpt reads every database ocdbt_ref writes (Orbax's config, uncompressed, multi-level B+trees,
  indirect values, many data files, numbered manifests, merged roots with base paths);
* ocdbt_ref (strict: CRCs, lengths, key order, statistics) reads every database that
  `te-ckpt kv copy --to ocdbt` writes, and `kv copy` back to files gives identical files.

The CLI contract used here: `te-ckpt kv ls PATH [--json]` (--json: one JSON array of
{"key": str, "size": int}), `te-ckpt kv get PATH KEY` (value bytes on stdout),
`te-ckpt kv copy SRC DST [--to ocdbt|files]` (default ocdbt from a plain folder, files from OCDBT;
DST must not exist). Every test is skipped, with the reason, while `te-ckpt kv --help` fails or
does not describe the ls, get and copy subcommands (CLI11 answers `--help` after an unknown
subcommand with the top-level help and exit status 0, so the exit status alone proves nothing).
"""
import json
import os
import random
import re
import subprocess
import tempfile
import unittest

import ocdbt_ref as o

TE_CKPT = os.environ.get("TE_CKPT", os.path.join(os.path.dirname(__file__), "../../build/te-ckpt"))
FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures")
TIMEOUT = 600


def _kv_unavailable_reason():
    """None when `te-ckpt kv --help` succeeds and names ls, get and copy; else why every test here
    is skipped."""
    try:
        p = subprocess.run([TE_CKPT, "kv", "--help"], capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"te-ckpt ({TE_CKPT}) cannot be run: {e}"
    if p.returncode != 0:
        return (f"`{TE_CKPT} kv --help` exits {p.returncode}: this te-ckpt has no `kv` command "
                f"yet (issue 11)")
    text = (p.stdout + p.stderr).decode(errors="replace")
    missing = [word for word in ("ls", "get", "copy") if not re.search(rf"\b{word}\b", text)]
    if missing:
        return (f"`{TE_CKPT} kv --help` does not describe {', '.join(missing)}: this te-ckpt has "
                f"no `kv` command yet (issue 11)")
    return None


SKIP_REASON = _kv_unavailable_reason()
requires_kv = unittest.skipIf(SKIP_REASON is not None, SKIP_REASON or "")


def te(*args):
    return subprocess.run([TE_CKPT, *map(str, args)], capture_output=True, timeout=TIMEOUT)


def folder_items(folder):
    """{relative path with '/' separators, as bytes: content} of every file below folder."""
    items = {}
    for root, _, files in os.walk(folder):
        for name in files:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                items[os.path.relpath(path, folder).replace(os.sep, "/").encode()] = f.read()
    return items


def random_items(rng, count, prefix="", sizes=(0, 1, 7, 100, 1023, 1024, 1025, 4000, 70000)):
    """Keys shaped like zarr arrays inside a checkpoint, with values of the given sizes."""
    items = {}
    for i in range(count):
        layer = f"{prefix}params.layers_{i % 7}.mlp/kernel_{i}"
        items[f"{layer}/.zarray".encode()] = json.dumps({"shape": [i]}).encode()
        items[f"{layer}/{i % 3}.0".encode()] = rng.randbytes(rng.choice(sizes))
    return items


class KvTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="ocdbt-interop-")
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, *parts):
        return os.path.join(self.tmp, *parts)

    def ok(self, *args):
        p = te(*args)
        self.assertEqual(p.returncode, 0, f"te-ckpt {' '.join(map(str, args))}: "
                                          f"{p.stderr.decode(errors='replace')}")
        return p

    def kv_ls(self, path):
        """{key bytes: size} from `kv ls --json`; checks the JSON shape and that no key repeats."""
        listing = json.loads(self.ok("kv", "ls", path, "--json").stdout)
        self.assertIsInstance(listing, list)
        result = {}
        for entry in listing:
            self.assertEqual(set(entry), {"key", "size"}, entry)
            self.assertIsInstance(entry["key"], str)
            self.assertIsInstance(entry["size"], int)
            key = entry["key"].encode()
            self.assertNotIn(key, result, "key listed twice")
            result[key] = entry["size"]
        return result

    def kv_get(self, path, key):
        return self.ok("kv", "get", path, key.decode()).stdout

    def assert_te_reads(self, db, items, max_gets=60):
        """te-ckpt lists exactly `items` with their sizes, gets their bytes, and copies them back
        to plain files (default and --to files) and into a new OCDBT database byte for byte."""
        self.assertEqual(self.kv_ls(db), {k: len(v) for k, v in items.items()})
        keys = sorted(items)
        rng = random.Random(len(keys))
        chosen = keys if len(keys) <= max_gets else sorted(
            set(rng.sample(keys, max_gets)) | {keys[0], keys[-1]}
            | {max(keys, key=lambda k: len(items[k]))})
        for key in chosen:
            self.assertEqual(self.kv_get(db, key), items[key], key)
        name = os.path.basename(db)
        self.ok("kv", "copy", db, self.path(name + ".files"))
        self.assertEqual(folder_items(self.path(name + ".files")), items)
        self.ok("kv", "copy", db, self.path(name + ".files2"), "--to", "files")
        self.assertEqual(folder_items(self.path(name + ".files2")), items)
        self.ok("kv", "copy", db, self.path(name + ".ocdbt2"), "--to", "ocdbt")
        os.rename(db, db + ".moved")                        # the copy must stand alone
        self.assertEqual(o.read_database(self.path(name + ".ocdbt2")), items)
        os.rename(db + ".moved", db)


# --------------------------------------------------------------------------------------------------
@requires_kv
class TeReadsReferenceDatabasesTest(KvTest):
    """te-ckpt reads what the independent writer writes."""

    CONFIGS = {
        "orbax_defaults": {},
        "uncompressed": {"compress": False},
        "multi_level_small_nodes": {"max_decoded_node_bytes": 600},
        "deep_tree_two_entries_per_node": {"leaf_max_entries": 2, "interior_max_entries": 2},
        "mostly_indirect": {"max_inline_value_bytes": 8},
        "everything_indirect_uncompressed": {"max_inline_value_bytes": 0, "compress": False},
        "many_small_data_files": {"target_data_file_size": 5000, "max_decoded_node_bytes": 2000},
        "numbered_manifest": {"manifest_kind": "numbered"},
    }

    def test_configs(self):
        rng = random.Random(11)
        items = random_items(rng, 60)
        for name, options in self.CONFIGS.items():
            with self.subTest(name):
                db = self.path(name)
                o.write_database(db, items, **options)
                self.assertEqual(o.read_database(db), items)     # the oracle agrees with itself
                self.assert_te_reads(db, items)

    def test_several_mib_values(self):
        rng = random.Random(12)
        items = {b"big/0.0": rng.randbytes(6 << 20), b"big/1.0": rng.randbytes((3 << 20) + 1),
                 b"big/.zarray": b"{}", b"small/0": rng.randbytes(1025)}
        db = self.path("big")
        o.write_database(db, items, target_data_file_size=4 << 20)
        self.assert_te_reads(db, items)

    def test_many_keys_multi_level(self):
        items = {b"layer_%02d/param_%05d/0.0" % (i % 50, i): b"%d" % i for i in range(20000)}
        db = self.path("many")
        o.write_database(db, items, max_decoded_node_bytes=4096)
        self.assertGreaterEqual(o.open_database(db).version().root_height, 2)
        self.assertEqual(self.kv_ls(db), {k: len(v) for k, v in items.items()})
        for key in (b"layer_00/param_00000/0.0", b"layer_49/param_19999/0.0",
                    b"layer_17/param_10017/0.0"):
            self.assertEqual(self.kv_get(db, key), items[key])
        self.ok("kv", "copy", db, self.path("many.ocdbt2"), "--to", "ocdbt")
        self.assertEqual(o.read_database(self.path("many.ocdbt2")), items)

    def test_empty_database(self):
        db = self.path("empty")
        o.write_database(db, {})
        self.assertEqual(self.kv_ls(db), {})
        self.ok("kv", "copy", db, self.path("empty.files"))
        self.assertTrue(os.path.isdir(self.path("empty.files")))
        self.assertEqual(folder_items(self.path("empty.files")), {})

    def test_merged_root_with_base_paths(self):
        """§2.8: indirect values referenced from the root through ocdbt.process_<i>/ base paths."""
        rng = random.Random(13)
        per_process = [random_items(rng, 20, prefix=f"p{i}.") for i in range(3)]
        db = self.path("merged")
        o.write_merged_database(db, per_process)
        items = {k: v for p in per_process for k, v in p.items()}
        self.assertTrue(any(r.location and r.location.base_path.startswith(b"ocdbt.process_")
                            for r in o.open_database(db).entries().values()))
        self.assert_te_reads(db, items)

    def test_transitive_base_paths(self):
        """§2.4: nodes found only through transitive base paths, with decoys at wrong levels."""
        for compress in (False, True):
            with self.subTest(compress=compress):
                db = self.path(f"transitive{int(compress)}")
                items = o.write_transitive_path_example(db, compress=compress)
                self.assertEqual(self.kv_ls(db), {k: len(v) for k, v in items.items()})
                for key, value in items.items():
                    self.assertEqual(self.kv_get(db, key), value)

    def test_missing_key_is_an_error(self):
        db = self.path("one")
        o.write_database(db, {b"present": b"x"})
        p = te("kv", "get", db, "absent")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(b"absent", p.stderr)

    def test_fixture_databases_agree(self):
        """te-ckpt and the oracle agree on every real TensorStore/Orbax fixture database."""
        folders = [os.path.join(FIXTURES, "ocdbt", n) for n in sorted(
            os.listdir(os.path.join(FIXTURES, "ocdbt"))) if n.endswith(".ocdbt")]
        for root, _, files in os.walk(os.path.join(FIXTURES, "orbax")):
            if "manifest.ocdbt" in files:
                folders.append(root)
        for folder in folders:
            with self.subTest(os.path.relpath(folder, FIXTURES)):
                items = o.read_database(folder)
                self.assertEqual(self.kv_ls(folder), {k: len(v) for k, v in items.items()})
                for key in sorted(items)[:5] + sorted(items)[-3:]:
                    self.assertEqual(self.kv_get(folder, key), items[key])


# --------------------------------------------------------------------------------------------------
@requires_kv
class ReferenceReadsTeDatabasesTest(KvTest):
    """The oracle reads what `te-ckpt kv copy --to ocdbt` writes."""

    def make_source(self, name="src"):
        rng = random.Random(21)
        src = self.path(name)
        files = {
            "a/b/c/deep.bin": rng.randbytes(3000),
            "a/b/empty": b"",
            "a/top": b"t",
            "empty": b"",
            "x/.zarray": b'{"chunks":[2,2],"zarr_format":2}',
            "x/0.0": rng.randbytes(1024),          # exactly the inline limit: inline
            "x/0.1": rng.randbytes(1025),          # one over: out of line
            "x/1.0": rng.randbytes(1023),
            "large/one": rng.randbytes(5 << 20),
            "large/two": rng.randbytes((2 << 20) + 3),
            "name with-dots.and_underscores": b"n" * 50,
        }
        for i in range(300):
            files[f"many/{i % 10}/f{i:04d}"] = rng.randbytes(rng.choice((0, 10, 900, 2000)))
        for rel, data in files.items():
            path = os.path.join(src, *rel.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
        return src, {k.encode(): v for k, v in files.items()}

    def assert_native_layout(self, db, items):
        """Orbax's config (§2.9), data files d/<32 hex>, values > 1024 bytes out of line (§2.10)."""
        database = o.open_database(db)
        c = database.config
        self.assertEqual((c.manifest_kind, c.max_inline_value_bytes, c.max_decoded_node_bytes,
                          c.version_tree_arity_log2, c.compression_method, c.zstd_level),
                         (0, 1024, 100000000, 4, 1, 0))
        self.assertEqual(database.latest_generation(), 1)
        self.assertEqual(database.manifest.version_nodes, [])
        for root, dirs, files in os.walk(db):
            rel = os.path.relpath(root, db)
            if rel == ".":
                self.assertEqual(sorted(files), ["manifest.ocdbt"])
                self.assertEqual(dirs, ["d"])
            else:
                self.assertEqual(rel, "d")
                self.assertEqual(dirs, [])
                for name in files:
                    self.assertRegex(name, r"^[0-9a-f]{32}$")
        for key, ref in database.entries().items():
            self.assertEqual(ref.location is not None, len(items[key]) > 1024, key)

    def test_copy_folder_to_ocdbt_and_back(self):
        src, items = self.make_source()
        self.ok("kv", "copy", src, self.path("db"), "--to", "ocdbt")
        self.assertEqual(o.read_database(self.path("db")), items)
        self.assert_native_layout(self.path("db"), items)
        self.assertEqual(o.list_with_sizes(self.path("db")),
                         [(k, len(items[k])) for k in sorted(items)])
        self.assertEqual(self.kv_ls(self.path("db")), {k: len(v) for k, v in items.items()})
        # back to plain files: the default from OCDBT, and explicitly
        self.ok("kv", "copy", self.path("db"), self.path("back"))
        self.assertEqual(folder_items(self.path("back")), items)
        self.ok("kv", "copy", self.path("db"), self.path("back2"), "--to", "files")
        self.assertEqual(folder_items(self.path("back2")), items)

    def test_default_target_from_a_folder_is_ocdbt(self):
        src, items = self.make_source()
        self.ok("kv", "copy", src, self.path("db"))
        self.assertTrue(os.path.isfile(self.path("db", "manifest.ocdbt")))
        self.assertEqual(o.read_database(self.path("db")), items)

    def test_copy_of_ocdbt_into_ocdbt(self):
        src, items = self.make_source()
        self.ok("kv", "copy", src, self.path("db"), "--to", "ocdbt")
        self.ok("kv", "copy", self.path("db"), self.path("db2"), "--to", "ocdbt")
        os.rename(self.path("db"), self.path("moved"))      # the copy must stand alone
        self.assertEqual(o.read_database(self.path("db2")), items)

    def test_reference_database_through_te_ckpt_and_back(self):
        """oracle writes -> te-ckpt copies to OCDBT -> oracle reads: both writers agree."""
        items = random_items(random.Random(22), 80)
        o.write_database(self.path("ref"), items, max_decoded_node_bytes=1000,
                         max_inline_value_bytes=64)
        self.ok("kv", "copy", self.path("ref"), self.path("db"), "--to", "ocdbt")
        os.rename(self.path("ref"), self.path("moved"))     # the copy must stand alone
        self.assertEqual(o.read_database(self.path("db")), items)
        # From plain files the output has Orbax's layout whatever the input database's config.
        self.ok("kv", "copy", self.path("db"), self.path("files"))
        self.ok("kv", "copy", self.path("files"), self.path("db2"), "--to", "ocdbt")
        self.assert_native_layout(self.path("db2"), items)

    def test_many_files(self):
        rng = random.Random(23)
        src = self.path("many")
        items = {}
        for i in range(3000):
            rel = f"arr_{i % 40}/{i // 40}.0"
            data = rng.randbytes(rng.choice((0, 5, 1500)))
            path = os.path.join(src, *rel.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "wb") as f:
                f.write(data)
            items[rel.encode()] = data
        self.ok("kv", "copy", src, self.path("db"), "--to", "ocdbt")
        self.assertEqual(o.read_database(self.path("db")), items)
        self.ok("kv", "copy", self.path("db"), self.path("back"))
        self.assertEqual(folder_items(self.path("back")), items)

    def test_existing_destination_is_refused(self):
        src, _ = self.make_source()
        for make in ("dir", "file"):
            with self.subTest(make):
                dst = self.path("existing-" + make)
                if make == "dir":
                    # A non-empty folder (an empty one is a fine destination, as for convert).
                    os.makedirs(dst)
                    with open(os.path.join(dst, "keep"), "wb") as f:
                        f.write(b"keep")
                else:
                    with open(dst, "wb") as f:
                        f.write(b"keep")
                p = te("kv", "copy", src, dst, "--to", "ocdbt")
                self.assertNotEqual(p.returncode, 0)
                if make == "dir":
                    self.assertEqual(os.listdir(dst), ["keep"])
                else:
                    with open(dst, "rb") as f:
                        self.assertEqual(f.read(), b"keep")


if __name__ == "__main__":
    unittest.main()
