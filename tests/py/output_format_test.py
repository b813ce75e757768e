"""--output-format zarr|ocdbt (container changes) and format-only conversion.

Every expectation comes from an independent path: a conversion into the other container is compared
with te-ckpt's conversion that keeps the container (itself checked against MAPPING.md by the Pax, T5X
and Orbax conversion tests), array by array through independent readers (ocdbt_ref for OCDBT
databases, zarrio / t5xgen for folders and the msgpack index): the same keys and stored bytes, so the
same values bit for bit. The Orbax metadata te-ckpt writes from scratch for a legacy input is read
here with json/base64 and checked against the orbax-format.md §4 rules (leaf set, key paths, tuple
keys, write_shape, flags, SingleDeviceSharding entries, array_metadatas, _CHECKPOINT_METADATA, Pax's
placeholder msgpack `checkpoint` and metadata/metadata version 1.2). Format-only round trips legacy ->
ocdbt -> zarr give back the source's array folders byte for byte.

Run: TE_CKPT=/path/to/te-ckpt /usr/bin/python3 -m unittest -v output_format_test   (from tests/py)
"""
import base64
import json
import os
import unittest

import msgpack

import ocdbt_ref
import orbaxgen
import paxgen
import t5xgen
import zarrio
from scratch_case import ScratchTestCase
from orbax_conversion_test import database_arrays, decode, folder_keys

SINGLE_DEVICE = {"sharding_type": "SingleDeviceSharding", "device_str": "cpu:0"}


def folder_arrays(root):
    """{array folder name: {file: bytes}} of the zarr v2 folders directly under `root`."""
    return {n: folder_keys(os.path.join(root, n)) for n in sorted(os.listdir(root))
            if os.path.exists(os.path.join(root, n, ".zarray"))}


def numpy_leaves(t5x_path):
    """{dotted path: Orbax value_type} of the inline arrays of a T5X index: flax's ext type 3 (numpy
    scalar) is "scalar", ext type 1 "np.ndarray"."""
    index, _ = t5xgen.read_index(t5x_path)
    return {name: "scalar" if leaf.code == 3 else "np.ndarray"
            for name, leaf in t5xgen.flatten_index(index["optimizer"]).items()
            if isinstance(leaf, msgpack.ExtType) and leaf.code in (1, 3)}


def is_index(part):
    return part.isdigit() and (part == "0" or part[0] != "0")


def tree_keys(name, pax):
    """key_metadata (orbax-format.md §4.1) for a dotted name: T5X saves flax's state dict (lists are
    dicts with keys "0", "1", ...), so every component is a dict key; Pax saves its TrainState, so a
    decimal component is a list index (key_type 1, a JSON integer as newer Orbax writes it)."""
    return [{"key": int(p), "key_type": 1} if pax and is_index(p) else {"key": p, "key_type": 2}
            for p in name.split(".")]


def leaf_name(entry):
    return ".".join(str(k["key"]) for k in entry["key_metadata"])


def placeholder_leaves(path):
    with open(path, "rb") as f:
        tree = msgpack.unpackb(f.read(), raw=False)
    out = {}

    def walk(node, keys):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, keys + [k])
        else:
            out[".".join(keys)] = node

    walk(tree, [])
    return out


class OutputFormatTest(ScratchTestCase):
    def run_fails(self, expected, *args):
        p = zarrio.run(*args, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn(expected, p.stderr)
        return p

    # ------------------------------------------------------------------ independent checks
    def assert_scratch_metadata(self, step, arrays, pax, source_sharding=None, numpy_leaves=None):
        """The Orbax metadata written from scratch for `arrays` ({name: {key: bytes}});
        `source_sharding`: {name: entry} of the legacy state/_sharding for arrays of unchanged
        shape (their entries are kept; every other array is SingleDeviceSharding)."""
        item = os.path.join(step, "state")
        with open(os.path.join(item, "_METADATA")) as f:
            md = json.load(f)
        self.assertEqual([k for k in md if k != "tree_metadata"],
                         ["use_ocdbt", "use_zarr3", "store_array_data_equal_to_fill_value", "custom_metadata"])
        self.assertIs(md["use_ocdbt"], True)
        self.assertIs(md["use_zarr3"], False)
        self.assertIs(md["store_array_data_equal_to_fill_value"], False)
        entries = md["tree_metadata"]
        names = [leaf_name(e) for e in entries.values()]
        self.assertEqual(sorted(names), sorted(arrays))

        def flatten_key(name):  # JAX flatten order: dict keys by code point, list indices by number
            return [(0, int(p), "") if pax and is_index(p) else (1, 0, p) for p in name.split(".")]
        self.assertEqual(names, sorted(names, key=flatten_key))
        shapes = {n: json.loads(arrays[n][".zarray"]) for n in arrays}
        for tuple_key, e in entries.items():
            name = leaf_name(e)
            self.assertEqual(tuple_key, repr(tuple(name.split("."))))
            self.assertEqual(e["key_metadata"], tree_keys(name, pax))
            # An array that was inline in a T5X index is numpy (orbax-format.md §3.3).
            value_type = (numpy_leaves or {}).get(name, "jax.Array")
            self.assertEqual(e["value_metadata"], {"value_type": value_type, "skip_deserialize": False,
                                                   "write_shape": shapes[name]["shape"]}, name)
        with open(os.path.join(item, "_sharding")) as f:
            sh = json.load(f)
        self.assertEqual(sorted(base64.urlsafe_b64decode(k).decode() for k in sh), sorted(arrays))
        kept = source_sharding or {}
        for k, v in sh.items():
            name = base64.urlsafe_b64decode(k).decode()
            self.assertEqual(json.loads(v), kept.get(name, SINGLE_DEVICE), name)
        with open(os.path.join(item, "array_metadatas", "process_0")) as f:
            am = [a["array_metadata"] for a in json.load(f)["array_metadatas"]]
        self.assertEqual([a["param_name"] for a in am], names)
        for a in am:
            self.assertEqual((a["write_shape"], a["chunk_shape"], a["ext_metadata"]),
                             (shapes[a["param_name"]]["shape"], shapes[a["param_name"]]["chunks"], None))
        with open(os.path.join(step, "_CHECKPOINT_METADATA")) as f:
            cm = json.load(f)
        self.assertEqual(list(cm), ["item_handlers", "metrics", "performance_metrics",
                                    "init_timestamp_nsecs", "commit_timestamp_nsecs", "custom_metadata"])
        self.assertEqual(cm["item_handlers"], {"state": orbaxgen.PYTREE_HANDLER})
        self.assertGreater(cm["commit_timestamp_nsecs"], 1_700_000_000 * 10**9)
        self.assertTrue(os.path.exists(os.path.join(step, "commit_success.txt")))
        self.assertFalse(os.path.exists(os.path.join(step, "orbax.checkpoint")))
        placeholder = os.path.join(item, "checkpoint")
        self.assertEqual(os.path.exists(placeholder), pax)
        if pax:
            leaves = placeholder_leaves(placeholder)
            self.assertEqual(leaves, {n: "PLACEHOLDER://" + n for n in arrays})

    @staticmethod
    def orbax_named(arrays):
        """{name: value} with each legacy Pax name as Pax spells it in Orbax (orbaxgen.pax_orbax_name):
        a legacy step moved into OCDBT gets Orbax's names, and back."""
        return {orbaxgen.pax_orbax_name(n): v for n, v in arrays.items()}

    def assert_same_arrays(self, got, want):
        self.assertEqual(sorted(got), sorted(want))
        for name in want:
            self.assertEqual(got[name], want[name], name)

    def legacy_sharding(self, step):
        """{name: sharding} of a legacy Pax step's state/_sharding."""
        with open(os.path.join(step, "state", "_sharding")) as f:
            return {base64.urlsafe_b64decode(k).decode(): json.loads(v) for k, v in json.load(f).items()}

    def pax_metadata(self, step):
        with open(os.path.join(step, "metadata", "metadata")) as f:
            return json.load(f)

    # ------------------------------------------------------------------ Pax
    PAX_MODELS = {
        "repeat": paxgen.Model(L=2, N=4, H=4, E=16, F=32, repeat=True),
        "nonrepeat": paxgen.Model(L=2, N=4, H=4, E=16, F=32),
        "split_gated_bf16": paxgen.Model(L=2, N=4, H=4, E=16, F=32, split_qkv=True, gated=True,
                                         dtype="bfloat16", chunking="multi"),
    }

    def pax_legacy(self, m, direction):
        m = paxgen.variant(m, layout="1.x")
        pax = paxgen.make_pax(m, 0)
        te, _ = paxgen.to_te(m, pax)
        src = self.path("legacy_src", "checkpoint_00000001")
        paxgen.write(pax if direction == "fw2te" else te, src)
        return m, src

    def pax_case(self, key, direction):
        m, legacy_src = self.pax_legacy(self.PAX_MODELS[key], direction)
        flags = m.flags(direction)
        keep = self.path("keep", "checkpoint_00000001")
        self.run_ok("convert", "--input-path", legacy_src, "--output-path", keep, *flags)
        want = folder_arrays(os.path.join(keep, "state"))
        # legacy -> ocdbt: the same arrays (names, keys, bytes) in one database.
        ocdbt = self.path("ocdbt", "checkpoint_00000001")
        self.run_ok("convert", "--input-path", legacy_src, "--output-path", ocdbt, *flags, "--output-format=ocdbt")
        got = database_arrays(os.path.join(ocdbt, "state"))
        self.assert_same_arrays(got, self.orbax_named(want))
        self.assert_scratch_metadata(ocdbt, got, pax=True,
                                     source_sharding=self.orbax_named(self.legacy_sharding(legacy_src)))
        md = self.pax_metadata(ocdbt)
        self.assertEqual(md["version"], 1.2)
        self.assertEqual(md["train_state_metadata"], self.pax_metadata(keep)["train_state_metadata"])
        # Orbax -> zarr: the Orbax input's conversion into folders, metadata/metadata 1.1.
        orbax_src = self.path("orbax_src", "checkpoint_00000001")
        orbaxgen.pax_to_orbax(legacy_src, orbax_src)
        orbax_keep = self.path("orbax_keep", "checkpoint_00000001")
        self.run_ok("convert", "--input-path", orbax_src, "--output-path", orbax_keep, *flags)
        zarr_out = self.path("zarr", "checkpoint_00000001")
        self.run_ok("convert", "--input-path", orbax_src, "--output-path", zarr_out, *flags, "--output-format=zarr")
        self.assertEqual(sorted(os.listdir(zarr_out)), ["metadata", "state"])
        self.assert_same_arrays(self.orbax_named(folder_arrays(os.path.join(zarr_out, "state"))),
                                database_arrays(os.path.join(orbax_keep, "state")))
        md = self.pax_metadata(zarr_out)
        self.assertEqual(md["version"], 1.1)
        self.assertEqual(md["train_state_metadata"], self.pax_metadata(orbax_keep)["train_state_metadata"])
        # The zarr output is a legacy Pax step te-ckpt reads again: back to the source values.
        back = self.path("back", "checkpoint_00000001")
        self.run_ok("convert", "--input-path", ocdbt, "--output-path", back,
                    *m.flags("te2fw" if direction == "fw2te" else "fw2te"), "--output-format=zarr")
        src_arrays = folder_arrays(os.path.join(legacy_src, "state"))
        back_arrays = folder_arrays(os.path.join(back, "state"))
        self.assertEqual(sorted(back_arrays), sorted(src_arrays))
        scratch = self.path("scratch")
        for name in src_arrays:
            a, adt = decode(src_arrays[name], scratch)
            b, bdt = decode(back_arrays[name], scratch)
            self.assertEqual((adt, a.tobytes()), (bdt, b.tobytes()), name)

    def test_pax_repeat_fw2te(self):
        self.pax_case("repeat", "fw2te")

    def test_pax_repeat_te2fw(self):
        self.pax_case("repeat", "te2fw")

    def test_pax_nonrepeat_fw2te(self):
        self.pax_case("nonrepeat", "fw2te")

    def test_pax_split_gated_bf16_te2fw(self):
        self.pax_case("split_gated_bf16", "te2fw")

    # ------------------------------------------------------------------ T5X
    def t5x_case(self, direction, fused):
        m = t5xgen.Model()
        ckpt, _ = t5xgen.build(m, layout="t5x" if direction == "fw2te" else "te", fused=fused)
        legacy_src = ckpt.write(self.path("legacy_src", "checkpoint_1"))
        flags = ["--fw=t5x", f"--direction={direction}", *(["--t5x-fuse-qkv"] if fused else []), *m.cli()]
        keep = self.path("keep", "checkpoint_1")
        self.run_ok("convert", "--input-path", legacy_src, "--output-path", keep, *flags)
        _, legacy = t5xgen.load_checkpoint(keep)
        ocdbt = self.path("ocdbt", "checkpoint_1")
        self.run_ok("convert", "--input-path", legacy_src, "--output-path", ocdbt, *flags, "--output-format=ocdbt")
        got = database_arrays(os.path.join(ocdbt, "state"))
        self.assertEqual(sorted(got), sorted(legacy))
        scratch = self.path("scratch")
        for name, (arr, _, kind) in legacy.items():
            if kind == "ts":
                self.assertEqual(got[name], folder_keys(os.path.join(keep, name)), name)
            values, _ = decode(got[name], scratch)
            self.assertEqual(values.tobytes(), arr.tobytes(), name)
        self.assert_scratch_metadata(ocdbt, got, pax=False, numpy_leaves=numpy_leaves(keep))
        self.assertFalse(os.path.exists(os.path.join(ocdbt, "checkpoint")))
        # Orbax -> zarr: a legacy T5X folder whose index lists every array.
        orbax_src = self.path("orbax_src", "checkpoint_1")
        orbaxgen.t5x_to_orbax(ckpt, orbax_src, self.path("scratch_gen"), legacy_src)
        orbax_keep = self.path("orbax_keep", "checkpoint_1")
        self.run_ok("convert", "--input-path", orbax_src, "--output-path", orbax_keep, *flags)
        zarr_out = self.path("zarr", "checkpoint_1")
        self.run_ok("convert", "--input-path", orbax_src, "--output-path", zarr_out, *flags, "--output-format=zarr")
        want = database_arrays(os.path.join(orbax_keep, "state"))
        index, leaves = t5xgen.load_checkpoint(zarr_out)
        self.assertEqual(index["version"], 3)
        self.assertEqual(sorted(leaves), sorted(want))
        for name in want:
            meta = json.loads(want[name][".zarray"])
            if meta["shape"] == []:
                # A rank-0 array (state.step, optax counts) goes inline, as T5X saves it.
                self.assertEqual(leaves[name][2], "inline", name)
                values, _ = decode(want[name], self.path("scratch_inline"))
                self.assertEqual(leaves[name][0].tobytes(), values.tobytes(), name)
                self.assertFalse(os.path.exists(os.path.join(zarr_out, name)), name)
                continue
            self.assertEqual(leaves[name][2], "ts", name)
            spec_folder = os.path.join(zarr_out, name)
            self.assertEqual(folder_keys(spec_folder), want[name], name)
        for gone in ("_CHECKPOINT_METADATA", "commit_success.txt", "state"):
            self.assertFalse(os.path.exists(os.path.join(zarr_out, gone)), gone)
        self.assertEqual(folder_keys(os.path.join(zarr_out, "dataset")), folder_keys(os.path.join(orbax_src, "dataset")))

    def test_t5x_fused_fw2te(self):
        self.t5x_case("fw2te", fused=True)

    def test_t5x_fused_te2fw(self):
        self.t5x_case("te2fw", fused=True)

    def test_t5x_unfused_fw2te(self):
        self.t5x_case("fw2te", fused=False)

    # ------------------------------------------------------------------ format-only
    def test_format_only_pax_round_trip_is_byte_exact(self):
        m, src = self.pax_legacy(self.PAX_MODELS["repeat"], "fw2te")
        os.makedirs(os.path.join(src, "train_input"))
        with open(os.path.join(src, "train_input", "iterator"), "w") as f:
            f.write("kept")
        ocdbt = self.path("ocdbt", "checkpoint_00000001")
        p = self.run_ok("convert", "--input-path", src, "--output-path", ocdbt, "--output-format=ocdbt")
        self.assertIn("format-only", p.stderr + p.stdout)
        source = folder_arrays(os.path.join(src, "state"))
        got = database_arrays(os.path.join(ocdbt, "state"))
        # Pax's own names in OCDBT (the optimizer's list indices as components), stored bytes unchanged
        self.assertNotEqual(sorted(self.orbax_named(source)), sorted(source))
        self.assert_same_arrays(got, self.orbax_named(source))
        legacy_sharding = self.legacy_sharding(src)
        self.assertIn("step", legacy_sharding)  # paxgen's NamedSharding entries
        self.assert_scratch_metadata(ocdbt, got, pax=True, source_sharding=self.orbax_named(legacy_sharding))
        md = self.pax_metadata(ocdbt)
        self.assertEqual(md["version"], 1.2)
        self.assertEqual(md["train_state_metadata"], self.pax_metadata(src)["train_state_metadata"])
        back = self.path("back", "checkpoint_00000001")
        self.run_ok("convert", "--input-path", ocdbt, "--output-path", back, "--output-format=zarr")
        self.assert_same_arrays(folder_arrays(os.path.join(back, "state")), source)
        self.assertEqual(self.pax_metadata(back), self.pax_metadata(src))
        with open(os.path.join(back, "train_input", "iterator")) as f:
            self.assertEqual(f.read(), "kept")
        self.assertEqual(sorted(os.listdir(back)), ["metadata", "state", "train_input"])

    def test_format_only_t5x_round_trip_is_byte_exact(self):
        m = t5xgen.Model()
        ckpt, _ = t5xgen.build(m, layout="t5x", fused=False)
        src = ckpt.write(self.path("src", "checkpoint_7"))
        _, source = t5xgen.load_checkpoint(src)
        ocdbt = self.path("ocdbt", "checkpoint_7")
        self.run_ok("convert", "--input-path", src, "--output-path", ocdbt, "--output-format=ocdbt")
        got = database_arrays(os.path.join(ocdbt, "state"))
        self.assertEqual(sorted(got), sorted(source))
        scratch = self.path("scratch")
        for name, (arr, _, kind) in source.items():
            if kind == "ts":
                self.assertEqual(got[name], folder_keys(os.path.join(src, name)), name)
            values, _ = decode(got[name], scratch)
            self.assertEqual(values.tobytes(), arr.tobytes(), name)
        inline = numpy_leaves(src)
        self.assertTrue(inline)  # state.step and the optax counts
        self.assert_scratch_metadata(ocdbt, got, pax=False, numpy_leaves=inline)
        back = self.path("back", "checkpoint_7")
        self.run_ok("convert", "--input-path", ocdbt, "--output-path", back, "--output-format=zarr")
        _, leaves = t5xgen.load_checkpoint(back)
        self.assertEqual(sorted(leaves), sorted(source))
        for name, (arr, dt, kind) in source.items():
            self.assertEqual((leaves[name][1], leaves[name][0].tobytes(), leaves[name][2]),
                             (dt, arr.tobytes(), kind), name)
            if kind == "ts":
                self.assertEqual(folder_keys(os.path.join(back, name)), folder_keys(os.path.join(src, name)), name)
        # The inline arrays come back inline: the index and the folder are the source's, byte for byte.
        self.assertEqual(t5xgen.read_index(back)[1], t5xgen.read_index(src)[1])
        self.assertEqual(sorted(os.listdir(back)), sorted(os.listdir(src)))

    def test_format_only_all_inline_t5x_fixture_round_trip_is_byte_exact(self):
        """The real test_t5_tiny index (every array inline, ext types 1 and 3) into OCDBT and back."""
        src = os.path.join(zarrio.FIXTURES, "t5x", "test_t5_tiny.checkpoint_0")
        ocdbt = self.path("ocdbt", "checkpoint_0")
        self.run_ok("convert", "--input-path", src, "--output-path", ocdbt, "--output-format=ocdbt")
        got = database_arrays(os.path.join(ocdbt, "state"))
        self.assert_scratch_metadata(ocdbt, got, pax=False, numpy_leaves=numpy_leaves(src))
        back = self.path("back", "checkpoint_0")
        self.run_ok("convert", "--input-path", ocdbt, "--output-path", back, "--output-format=zarr")
        self.assertEqual(os.listdir(back), ["checkpoint"])
        with open(src, "rb") as f:
            self.assertEqual(t5xgen.read_index(back)[1], f.read())

    def test_format_only_dry_run_lists_the_copies_and_writes_nothing(self):
        m, src = self.pax_legacy(self.PAX_MODELS["nonrepeat"], "fw2te")
        out = self.path("out", "checkpoint_00000001")
        p = self.run_ok("plan", "--input-path", src, "--output-path", out, "--output-format=ocdbt")
        self.assertIn("format-only", p.stdout)
        self.assertIn("output: Pax, Orbax OCDBT, zarr v2: arrays in one OCDBT database", p.stdout)
        n = len(folder_arrays(os.path.join(src, "state")))
        self.assertIn("0 conversion jobs:\n", p.stdout)
        self.assertIn(f"\n{n} arrays copied unchanged:", p.stdout)
        self.assertFalse(os.path.exists(self.path("out")))

    def test_only_container_and_run_flags_keep_it_format_only(self):
        m, src = self.pax_legacy(self.PAX_MODELS["nonrepeat"], "fw2te")
        out = self.path("out", "checkpoint_00000001")
        for extra in (["--jobs=1", "--memory-limit=1G", "--no-chunk-copy", "--output-chunking=merge",
                       "--overwrite", "--no-streaming"], []):
            p = self.run_ok("plan", "--input-path", src, "--output-path", out, "--output-format=ocdbt", *extra)
            self.assertIn("format-only", p.stdout, extra)
        # Any other flag describes or changes the model: a conversion (here fw2te, read from the
        # checkpoint), even one that only chooses the gated branch order.
        for extra in (["--gated-activation-order=linear_first"], ["--weight-only"], ["--skip-ln"]):
            p = zarrio.run("plan", "--input-path", src, "--output-path", out, "--output-format=ocdbt", *extra,
                           check=False)
            self.assertNotIn("format-only", p.stdout + p.stderr, extra)

    def test_real_orbax_fixtures_format_convert(self):
        """The Orbax-written fixtures: a format-only conversion into OCDBT copies every key's bytes
        into a new database; zarr output of a generic Orbax step is refused by name."""
        for name in ("zarr2_direct", "zarr2_composite"):
            src = os.path.join(zarrio.FIXTURES, "orbax", name)
            item = "" if name == "zarr2_direct" else "state"
            out = self.path(name)
            self.run_ok("convert", "--input-path", src, "--output-path", out, "--output-format=ocdbt")
            self.assertEqual(ocdbt_ref.read_database(os.path.join(out, item)),
                             ocdbt_ref.read_database(os.path.join(src, item)))
            j = json.loads(self.run_ok("inspect", "--json", out).stdout)
            self.assertEqual((j["layout"], j["problems"]), ("Orbax OCDBT, zarr v2", []), name)
            with open(os.path.join(out, item, "_METADATA")) as f, open(os.path.join(src, item, "_METADATA")) as g:
                self.assertEqual(f.read(), g.read())
            self.run_fails("a generic Orbax checkpoint has no framework index", "convert", "--input-path",
                           src, "--output-path", self.path(name + "_zarr"), "--output-format=zarr")
            self.assertFalse(os.path.exists(self.path(name + "_zarr")))

    # ------------------------------------------------------------------ refusals
    def test_refusals_write_nothing(self):
        m, src = self.pax_legacy(self.PAX_MODELS["nonrepeat"], "fw2te")
        out = self.path("out")
        self.run_fails("a format-only conversion (--output-format=ocdbt without --direction) copies",
                       "convert", "--input-path", src, "--output-path", out, "--output-format=ocdbt",
                       "--compressor=gzip")
        layout0 = self.path("layout0")
        paxgen.write(paxgen.make_pax(paxgen.variant(m, layout="0.0"), 0), layout0)
        self.run_fails("a Pax layout 0.0 folder has no metadata/metadata", "convert", "--input-path",
                       layout0, "--output-path", out, "--output-format=ocdbt")
        self.assertFalse(os.path.exists(out))


if __name__ == "__main__":
    unittest.main()
