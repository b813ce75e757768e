"""Conversions of Orbax checkpoints (zarr v2 arrays in OCDBT) against the legacy path.

Inputs come from an independent writer (orbaxgen: ocdbt_ref + our own `_METADATA` writer) that packs
the very array folders paxgen / t5xgen write for the legacy layout into an Orbax step. Each Orbax
conversion is compared with te-ckpt's legacy-layout conversion of the same arrays: the output
database, read back through ocdbt_ref, holds for every output array exactly the keys and value bytes
of the legacy output's array folder (the legacy path is itself checked against MAPPING.md by
pax_conversion_test / t5x_conversion_test). Round trips give back the source values exactly, and
`_METADATA`, `_sharding`, `array_metadatas/process_0`, `_CHECKPOINT_METADATA` and Pax's
`metadata/metadata` describe exactly the output arrays.

Run: TE_CKPT=/path/to/te-ckpt /usr/bin/python3 -m unittest -v orbax_conversion_test   (from tests/py)
"""
import base64
import json
import os
import shutil
import unittest

import numpy as np

import ocdbt_ref
import orbaxgen
import paxgen
import t5xgen
import zarrio
from scratch_case import ScratchTestCase

OTHER = {"fw2te": "te2fw", "te2fw": "fw2te"}


def database_arrays(item_dir, metadata_key=".zarray"):
    """{array name: {key below the array: value bytes}} of an item's root database (ocdbt_ref);
    arrays are named by their `metadata_key` (".zarray", or "zarr.json" for zarr3)."""
    values = ocdbt_ref.read_database(item_dir)
    suffix = "/" + metadata_key
    names = sorted(k.decode()[:-len(suffix)] for k in values if k.decode().endswith(suffix))
    out = {n: {} for n in names}
    for k, v in values.items():
        key = k.decode()
        owner = max((n for n in names if key.startswith(n + "/")), key=len, default=None)
        assert owner is not None, f"key {key} belongs to no array"
        out[owner][key[len(owner) + 1:]] = v
    return out


def decode(keys, scratch):
    """The values of one array given as {key: bytes} (through zarrio's own reader)."""
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(scratch)
    for k, v in keys.items():
        with open(os.path.join(scratch, k), "wb") as f:
            f.write(v)
    return zarrio.read_array(scratch)


def folder_keys(folder):
    out = {}
    for name in sorted(os.listdir(folder)):
        with open(os.path.join(folder, name), "rb") as f:
            out[name] = f.read()
    return out


class OrbaxConversionTest(ScratchTestCase):
    def assert_orbax_metadata(self, step, item_names, source_step):
        """`_METADATA`, `_sharding`, `array_metadatas` list exactly `item_names`."""
        item = os.path.join(step, "state")
        with open(os.path.join(item, "_METADATA")) as f:
            md = json.load(f)
        leaves = {".".join(k["key"] for k in e["key_metadata"]): e for e in md["tree_metadata"].values()}
        self.assertEqual(sorted(leaves), sorted(item_names))
        for tuple_key, e in md["tree_metadata"].items():
            self.assertEqual(tuple_key, repr(tuple(k["key"] for k in e["key_metadata"])))
            self.assertEqual(e["value_metadata"]["value_type"], "jax.Array")
        self.assertTrue(md["use_ocdbt"])
        self.assertFalse(md["use_zarr3"])
        arrays = database_arrays(item)
        for name, e in leaves.items():
            chunks = json.loads(arrays[name][".zarray"])["chunks"]
            self.assertEqual(e["value_metadata"]["write_shape"], chunks, name)
        sharding_file = os.path.join(item, "_sharding")
        if os.path.exists(sharding_file):
            with open(sharding_file) as f:
                sh = json.load(f)
            self.assertEqual(sorted(base64.urlsafe_b64decode(k).decode() for k in sh), sorted(item_names))
        with open(os.path.join(item, "array_metadatas", "process_0")) as f:
            am = json.load(f)
        self.assertEqual(sorted(a["array_metadata"]["param_name"] for a in am["array_metadatas"]),
                         sorted(item_names))
        with open(os.path.join(step, "_CHECKPOINT_METADATA")) as f:
            cm = json.load(f)
        with open(os.path.join(source_step, "_CHECKPOINT_METADATA")) as f:
            src_cm = json.load(f)
        self.assertGreater(cm["commit_timestamp_nsecs"], src_cm["commit_timestamp_nsecs"])
        self.assertEqual(cm["item_handlers"], src_cm["item_handlers"])
        self.assertTrue(os.path.exists(os.path.join(step, "commit_success.txt")))

    # ------------------------------------------------------------------ Pax
    def pax_case(self, m, direction, placeholder=False):
        m = paxgen.variant(m, layout="1.x")
        pax = paxgen.make_pax(m, 0)
        te, _ = paxgen.to_te(m, pax)
        legacy_src = os.path.join(self.dir, "legacy_src", "checkpoint_00000001")
        paxgen.write(pax if direction == "fw2te" else te, legacy_src)
        orbax_src = os.path.join(self.dir, "orbax_src", "checkpoint_00000001")
        orbaxgen.pax_to_orbax(legacy_src, orbax_src)
        if placeholder:
            orbaxgen.write_placeholder_index(os.path.join(orbax_src, "state"))
        legacy_out = os.path.join(self.dir, "legacy_out", "checkpoint_00000001")
        orbax_out = os.path.join(self.dir, "orbax_out", "checkpoint_00000001")
        self.run_ok("convert", "--input-path", legacy_src, "--output-path", legacy_out, *m.flags(direction))
        self.run_ok("convert", "--input-path", orbax_src, "--output-path", orbax_out, *m.flags(direction))
        # Same arrays, same keys and bytes, under the Orbax names.
        got = database_arrays(os.path.join(orbax_out, "state"))
        state = os.path.join(legacy_out, "state")
        want = {orbaxgen.pax_orbax_name(n): folder_keys(os.path.join(state, n))
                for n in sorted(os.listdir(state)) if os.path.exists(os.path.join(state, n, ".zarray"))}
        self.assertEqual(sorted(got), sorted(want))
        for name in want:
            self.assertEqual(got[name], want[name], name)
        self.assert_orbax_metadata(orbax_out, list(want), orbax_src)
        # The model is read from the Orbax listing: no model flags give the same arrays (a Pax TE
        # checkpoint stores only N*H, so te2fw needs the head count).
        detected_out = os.path.join(self.dir, "detected_out", "checkpoint_00000001")
        heads = [f"--num-of-head={m.N}"] if direction == "te2fw" else []
        self.run_ok("convert", "--input-path", orbax_src, "--output-path", detected_out, *heads)
        self.assertEqual(database_arrays(os.path.join(detected_out, "state")), got)
        placeholder_file = os.path.join(orbax_out, "state", "checkpoint")
        self.assertEqual(os.path.exists(placeholder_file), placeholder)
        if placeholder:  # the same tree as the new _METADATA, each leaf naming itself
            leaves = orbaxgen.placeholder_leaves(placeholder_file)
            self.assertEqual(sorted(leaves), sorted(want))
            self.assertEqual([k for k, v in leaves.items() if k != v], [])
        with open(os.path.join(orbax_out, "metadata", "metadata")) as f:
            md = json.load(f)
        with open(os.path.join(legacy_out, "metadata", "metadata")) as f:
            legacy_md = json.load(f)
        self.assertEqual(md["version"], 1.2)
        self.assertEqual(md["train_state_metadata"], legacy_md["train_state_metadata"])
        # Round trip: the source values exactly.
        back = os.path.join(self.dir, "orbax_back", "checkpoint_00000001")
        self.run_ok("convert", "--input-path", orbax_out, "--output-path", back, *m.flags(OTHER[direction]))
        src_arrays = database_arrays(os.path.join(orbax_src, "state"))
        back_arrays = database_arrays(os.path.join(back, "state"))
        self.assertEqual(sorted(back_arrays), sorted(src_arrays))
        scratch = os.path.join(self.dir, "scratch")
        for name in src_arrays:
            a, adt = decode(src_arrays[name], scratch)
            b, bdt = decode(back_arrays[name], scratch)
            self.assertEqual(adt, bdt, name)
            self.assertEqual(a.tobytes(), b.tobytes(), name)
        self.assert_orbax_metadata(back, list(src_arrays), orbax_out)

    def test_pax_repeat_fw2te_with_optimizer(self):
        self.pax_case(paxgen.Model(L=2, N=4, H=4, E=16, F=32, repeat=True), "fw2te")

    def test_pax_repeat_te2fw_with_optimizer(self):
        self.pax_case(paxgen.Model(L=2, N=4, H=4, E=16, F=32, repeat=True), "te2fw")

    def test_pax_repeat_fw2te_with_placeholder_index(self):
        """Orbax < 0.5.21 (Pax's pin) also wrote the msgpack placeholder `checkpoint`."""
        self.pax_case(paxgen.Model(L=2, N=4, H=4, E=16, F=32, repeat=True), "fw2te", placeholder=True)

    def test_pax_nonrepeat_fw2te_with_optimizer(self):
        self.pax_case(paxgen.Model(L=2, N=4, H=4, E=16, F=32), "fw2te")

    # ------------------------------------------------------------------ T5X
    def t5x_case(self, direction):
        m = t5xgen.Model()
        layout = "t5x" if direction == "fw2te" else "te"
        ckpt, _ = t5xgen.build(m, layout=layout, fused=True)
        legacy_src = ckpt.write(os.path.join(self.dir, "legacy_src", "checkpoint_1"))
        orbax_src = os.path.join(self.dir, "orbax_src", "checkpoint_1")
        orbaxgen.t5x_to_orbax(ckpt, orbax_src, os.path.join(self.dir, "scratch_gen"), legacy_src)
        flags = ["--fw=t5x", f"--direction={direction}", "--t5x-fuse-qkv", *m.cli()]
        legacy_out = os.path.join(self.dir, "legacy_out", "checkpoint_1")
        orbax_out = os.path.join(self.dir, "orbax_out", "checkpoint_1")
        self.run_ok("convert", "--input-path", legacy_src, "--output-path", legacy_out, *flags)
        self.run_ok("convert", "--input-path", orbax_src, "--output-path", orbax_out, *flags)
        _, legacy = t5xgen.load_checkpoint(legacy_out)
        got = database_arrays(os.path.join(orbax_out, "state"))
        self.assertEqual(sorted(got), sorted(legacy))
        scratch = os.path.join(self.dir, "scratch")
        for name, (arr, _, kind) in legacy.items():
            if kind == "ts":  # an array folder in the legacy output: the same keys and bytes
                self.assertEqual(got[name], folder_keys(os.path.join(legacy_out, name)), name)
            values, _ = decode(got[name], scratch)
            self.assertEqual(values.tobytes(), np.ascontiguousarray(arr).tobytes(), name)
        self.assert_orbax_metadata(orbax_out, list(legacy), orbax_src)
        self.assertEqual(folder_keys(os.path.join(orbax_out, "dataset")), folder_keys(os.path.join(orbax_src, "dataset")))
        back = os.path.join(self.dir, "orbax_back", "checkpoint_1")
        self.run_ok("convert", "--input-path", orbax_out, "--output-path", back,
                    "--fw=t5x", f"--direction={OTHER[direction]}", "--t5x-fuse-qkv", *m.cli())
        src_arrays = database_arrays(os.path.join(orbax_src, "state"))
        back_arrays = database_arrays(os.path.join(back, "state"))
        self.assertEqual(sorted(back_arrays), sorted(src_arrays))
        for name in src_arrays:
            a, adt = decode(src_arrays[name], scratch)
            b, bdt = decode(back_arrays[name], scratch)
            self.assertEqual((adt, a.tobytes()), (bdt, b.tobytes()), name)

    def test_t5x_fused_fw2te_with_optimizer(self):
        self.t5x_case("fw2te")

    def test_t5x_fused_te2fw_with_optimizer(self):
        self.t5x_case("te2fw")

    # ------------------------------------------------------------------ inspect
    def test_inspect_shows_the_layout_and_problems(self):
        m = paxgen.Model(L=2, N=4, H=4, E=16, F=32, layout="1.x")
        legacy = os.path.join(self.dir, "legacy", "checkpoint_00000001")
        paxgen.write(paxgen.make_pax(m, 0), legacy)
        src = os.path.join(self.dir, "orbax", "checkpoint_00000001")
        orbaxgen.pax_to_orbax(legacy, src)
        j = json.loads(self.run_ok("inspect", "--json", src).stdout)
        self.assertEqual(j["layout"], "Pax (version 1.2), Orbax OCDBT, zarr v2")
        self.assertEqual(j["problems"], [])
        # A leaf without data is a problem (exit 2), named by the leaf.
        path = os.path.join(src, "state", "_METADATA")
        with open(path) as f:
            md = json.load(f)
        md["tree_metadata"]["('mdl_vars', 'ghost')"] = {
            "key_metadata": [{"key": "mdl_vars", "key_type": 2}, {"key": "ghost", "key_type": 2}],
            "value_metadata": {"value_type": "jax.Array", "skip_deserialize": False}}
        with open(path, "w") as f:
            f.write(json.dumps(md))
        p = zarrio.run("inspect", "--json", src, check=False)
        self.assertEqual(p.returncode, 2, p.stderr)
        problems = json.loads(p.stdout)["problems"]
        self.assertEqual(len(problems), 1, problems)
        self.assertIn("'mdl_vars.ghost'", problems[0])

    def test_real_orbax_fixtures_show_their_layout(self):
        for name in ("zarr2_composite", "zarr2_direct"):
            j = json.loads(self.run_ok("inspect", "--json", os.path.join(zarrio.FIXTURES, "orbax", name)).stdout)
            self.assertEqual(j["layout"], "Orbax OCDBT, zarr v2", name)
            self.assertEqual(j["problems"], [], name)

    def test_zarr3_output_and_the_own_container_by_name(self):
        """Other containers: output_format_test, zarr3_output_test."""
        m = paxgen.Model(L=2, N=4, H=4, E=16, F=32, layout="1.x")
        legacy = os.path.join(self.dir, "legacy", "checkpoint_00000001")
        paxgen.write(paxgen.make_pax(m, 0), legacy)
        src = os.path.join(self.dir, "orbax", "checkpoint_00000001")
        orbaxgen.pax_to_orbax(legacy, src)
        out = os.path.join(self.dir, "out")
        z3 = os.path.join(self.dir, "z3")
        self.run_ok("convert", "--input-path", src, "--output-path", z3, *m.flags("fw2te"),
                    "--output-format=ocdbt-zarr3")
        keys = ocdbt_ref.read_database(os.path.join(z3, "state"))
        self.assertEqual([k for k in keys if k.endswith(b"/.zarray")], [])
        self.assertTrue([k for k in keys if k.endswith(b"/zarr.json")])
        # The input's own container by name is the default.
        self.run_ok("convert", "--input-path", src, "--output-path", out, *m.flags("fw2te"), "--output-format=ocdbt")
        self.assertTrue(os.path.exists(os.path.join(out, "state", "manifest.ocdbt")))


if __name__ == "__main__":
    unittest.main()
