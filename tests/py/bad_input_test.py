"""One test per row of docs/bad-inputs.md: build the bad input, run te-ckpt, and check the exit
status, the documented message, that nothing was written and that the input is unchanged."""
import fcntl
import json
import os
import re
import shutil
import tempfile
import unittest

import msgpack
import numcodecs
import numpy as np

import ocdbt_ref
import orbaxgen
import paxgen
import zarrio

DOC = os.path.join(os.path.dirname(__file__), "../../docs/bad-inputs.md")
PAX = ["--fw=pax", "--direction=fw2te", "--num-of-layer=2", "--num-of-head=4", "--head-dim=16",
       "--mlp-intermediate-dim=128"]
T5X = ["--fw=t5x", "--direction=fw2te", "--num-of-layer=2", "--num-of-head=4", "--head-dim=16",
       "--mlp-intermediate-dim=128", "--embed-dim=64"]
LAYER0 = "mdl_vars.params.lm.transformer.x_layers_0."
POST = LAYER0 + "self_attention.post.w"


def documented_cases():
    cases = {}
    with open(DOC) as f:
        for line in f:
            m = re.match(r"^\| ([a-z0-9-]+) \| .* \| `(.*)` \|$", line.strip())
            if m:
                cases[m.group(1)] = m.group(2)
    return cases


def message_regex(doc_message):
    return ".*".join(re.escape(part) for part in doc_message.split("…"))


class BadInputTest(unittest.TestCase):
    CASES = documented_cases()

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.dir = self.tmp.name
        self.src = os.path.join(self.dir, "src")
        self.out = os.path.join(self.dir, "out")

    def tearDown(self):
        self.tmp.cleanup()

    # --- inputs ----------------------------------------------------------------------------------
    def pax(self, **model):
        m = paxgen.Model(L=2, N=4, H=16, E=64, F=128, opt=False, **model)
        paxgen.write(paxgen.make_pax(m), self.src)
        return self.src

    def t5x(self):
        zarrio.run("example", "--output-path", self.src, "--fw", "t5x", "--num-of-layer", 2,
                   "--mlp-intermediate-dim", 128, "--no-optimizer-state", "--use-gated-activations")
        return self.src

    def edit_zarray(self, array, **changes):
        path = os.path.join(self.src, array, ".zarray")
        meta = zarrio.read_metadata(os.path.join(self.src, array))
        meta.update(changes)
        with open(path, "w") as f:
            json.dump(meta, f)

    def rewrite_chunk(self, array, data):
        with open(os.path.join(self.src, array, "0.0.0"), "wb") as f:
            f.write(data)

    # --- the check -------------------------------------------------------------------------------
    def check(self, case, args, exit_code=1, exists_ok=False):
        expected = self.CASES[case]
        digest = zarrio.tree_digest(self.src) if os.path.isdir(self.src) else None
        r = zarrio.run(*args, check=False)
        self.assertEqual(r.returncode, exit_code, f"{case}: {r.stderr}")
        text = r.stderr + r.stdout
        self.assertRegex(text, message_regex(expected), case)
        if exit_code in (1, 2):  # failed work and usage errors look alike: one line
            self.assertTrue(text.startswith("te-ckpt: error: "), text)
            self.assertEqual(text.count("\n"), 1, "one line")
        if exit_code == 0:  # a warning row: the warning is on stderr, the run goes on
            self.assertIn("te-ckpt: warning: ", r.stderr)
        if not exists_ok:
            self.assertFalse(os.path.exists(self.out), "output written")
        self.assertEqual([n for n in os.listdir(self.dir) if "te-ckpt-tmp" in n], [])
        if digest:
            self.assertEqual(zarrio.tree_digest(self.src), digest, "input changed")

    def convert(self, case, *extra, flags=PAX, exit_code=1):
        self.check(case, ["convert", "--input-path", self.src, "--output-path", self.out, *flags, *extra],
                   exit_code=exit_code)

    # --- one test per documented row -------------------------------------------------------------
    def test_every_documented_case_has_a_test(self):
        tests = {n[len("test_"):].replace("_", "-") for n in dir(self) if n.startswith("test_")}
        self.assertGreaterEqual(len(self.CASES), 25)
        self.assertEqual(sorted(set(self.CASES) - tests), [])

    def test_missing_array(self):
        self.pax()
        shutil.rmtree(os.path.join(self.src, POST.replace("x_layers_0", "x_layers_1")))
        self.convert("missing-array")

    def test_missing_split(self):
        self.pax(split_qkv=True)
        self.convert("missing-split")

    def test_wrong_heads(self):
        self.pax()
        self.convert("wrong-heads", "--num-of-head=8")

    def test_wrong_embed(self):
        self.pax()
        self.convert("wrong-embed", "--embed-dim=32")

    def test_too_few_layers(self):
        self.pax()
        self.convert("too-few-layers", "--num-of-layer=1")

    def test_too_many_layers(self):
        self.pax()
        self.convert("too-many-layers", "--num-of-layer=3")

    def test_not_repeat(self):
        self.pax()
        self.convert("not-repeat", "--pax-repeat")

    def test_dtype_pair(self):
        self.pax(gated=True)
        gate = os.path.join(self.src, LAYER0 + "ff_layer.ffn_layer1_gate.linear.w")
        data, _ = zarrio.read_array(gate)
        shutil.rmtree(gate)
        zarrio.write_array(gate, zarrio.f32_to_bf16(data), "bfloat16")
        self.convert("dtype-pair", "--use-gated-activations")

    def test_corrupt_chunk(self):
        self.pax()
        with open(os.path.join(self.src, LAYER0 + "self_attention.combined_qkv.w", "0.0.0.0"), "r+b") as f:
            f.seek(6)
            f.write(b"\xff" * 64)
        self.convert("corrupt-chunk")

    def test_ocdbt_corrupt_chunk(self):
        # An array inside an OCDBT database (a Pax layout-0 folder packed by kv copy), one chunk
        # garbled before packing: zarr-cat names the OCDBT key and the data file holding it.
        self.pax()
        qkv = LAYER0 + "self_attention.combined_qkv.w"
        with open(os.path.join(self.src, qkv, "0.0.0.0"), "r+b") as f:
            f.seek(6)
            f.write(b"\xff" * 64)
        db = os.path.join(self.dir, "db")
        zarrio.run("kv", "copy", self.src, db, "--to", "ocdbt")
        shutil.rmtree(self.src)
        os.rename(db, self.src)
        self.check("ocdbt-corrupt-chunk", ["zarr-cat", os.path.join(self.src, qkv)])

    def t5x_with_driver(self, kvstore):
        """A T5X index whose first spec leaf names `kvstore` (its path kept)."""
        self.t5x()
        index_path = os.path.join(self.src, "checkpoint")
        with open(index_path, "rb") as f:
            index = msgpack.unpackb(f.read(), raw=False, strict_map_key=False)

        def first_spec(node):
            for value in node.values():
                if isinstance(value, dict) and "kvstore" in value:
                    return value
                if isinstance(value, dict):
                    found = first_spec(value)
                    if found:
                        return found
            return None

        spec = first_spec(index["optimizer"])
        spec["kvstore"] = dict(kvstore, path=spec["kvstore"]["path"])
        with open(index_path, "wb") as f:
            f.write(msgpack.packb(index, use_bin_type=True))

    def test_t5x_remote_driver(self):
        # Remote storage is refused by name, never read as a local path.
        self.t5x_with_driver({"driver": "gcs", "bucket": "my-bucket"})
        self.convert("t5x-remote-driver", flags=T5X)

    def test_t5x_unknown_driver(self):
        self.t5x_with_driver({"driver": "zip"})
        self.convert("t5x-unknown-driver", flags=T5X)

    def test_truncated_chunk(self):
        self.pax(codec="gzip")
        path = os.path.join(self.src, POST, "0.0.0")
        data = open(path, "rb").read()
        self.rewrite_chunk(POST, data[: len(data) // 2])
        self.convert("truncated-chunk")

    def test_wrong_size_chunk(self):
        self.pax()
        self.rewrite_chunk(POST, numcodecs.Zstd(1).encode(bytes(4096)))
        self.convert("wrong-size-chunk")

    def test_trailing_data(self):
        self.pax(codec="gzip")
        path = os.path.join(self.src, POST, "0.0.0")
        self.rewrite_chunk(POST, open(path, "rb").read() + b"garbage")
        self.convert("trailing-data")

    def test_malformed_zarray(self):
        self.pax()
        with open(os.path.join(self.src, POST, ".zarray"), "w") as f:
            f.write("{not json")
        self.convert("malformed-zarray")

    def test_unsupported_dtype(self):
        self.pax()
        self.edit_zarray(POST, dtype="<U4")
        self.convert("unsupported-dtype")

    def test_unsupported_codec(self):
        self.pax()
        self.edit_zarray(POST, compressor={"id": "lzma"})
        self.convert("unsupported-codec")

    def test_filters(self):
        self.pax()
        self.edit_zarray(POST, filters=[{"id": "delta", "dtype": "<f4"}])
        self.convert("filters")

    def test_zarr_format(self):
        self.pax()
        self.edit_zarray(POST, zarr_format=3)
        self.convert("zarr-format")

    def test_zarr3(self):
        os.makedirs(self.src)
        with open(os.path.join(self.src, "zarr.json"), "w") as f:
            f.write('{"zarr_format": 3, "node_type": "array"}')
        self.check("zarr3", ["inspect", self.src])

    def edit_index(self, edit):
        path = os.path.join(self.src, "checkpoint")
        with open(path, "rb") as f:
            index = msgpack.unpackb(f.read(), raw=False, strict_map_key=False)
        edit(index["optimizer"]["target"]["encoder"]["layers_0"]["mlp"]["wo"]["kernel"])
        with open(path, "wb") as f:
            f.write(msgpack.packb(index, use_bin_type=True))

    def test_index_missing_folder(self):
        self.t5x()
        shutil.rmtree(os.path.join(self.src, "target.encoder.layers_0.mlp.wo.kernel"))
        self.convert("index-missing-folder", flags=T5X)

    def test_index_shape(self):
        self.t5x()
        self.edit_index(lambda spec: spec["metadata"].update(shape=[128, 32]))
        self.convert("index-shape", flags=T5X)

    def test_malformed_index(self):
        self.t5x()
        with open(os.path.join(self.src, "checkpoint"), "wb") as f:
            f.write(b"\xc1 not msgpack")
        self.convert("malformed-index", flags=T5X)

    def test_orbax(self):
        self.pax()
        open(os.path.join(self.src, "_METADATA"), "w").write("{}")
        self.convert("orbax")

    def test_orbax_t5x(self):
        shutil.copytree(os.path.join(zarrio.FIXTURES, "t5x/tiny_orbax/1"), self.src)
        self.convert("orbax-t5x", flags=T5X)

    def test_ocdbt(self):
        self.pax(layout="1.x")
        open(os.path.join(self.src, "state", "manifest.ocdbt"), "wb").write(b"\0")
        self.convert("ocdbt")

    def test_output_zarr3_big_endian(self):
        self.pax(layout="1.x")
        post = os.path.join(self.src, "state", POST)
        data, _ = zarrio.read_array(post)
        shutil.rmtree(post)
        zarrio.write_array(post, data, ">f4")
        self.check("output-zarr3-big-endian", ["convert", "--input-path", self.src, "--output-path", self.out,
                                               "--output-format=ocdbt-zarr3"])

    def test_output_ocdbt_layout0(self):
        self.pax()
        self.convert("output-ocdbt-layout0", "--output-format=ocdbt")

    def test_output_zarr_generic_orbax(self):
        shutil.copytree(os.path.join(zarrio.FIXTURES, "orbax", "zarr2_direct"), self.src)
        self.check("output-zarr-generic-orbax",
                   ["convert", "--input-path", self.src, "--output-path", self.out, "--output-format=zarr"])

    def test_format_only_compressor(self):
        self.pax(layout="1.x")
        self.check("format-only-compressor", ["convert", "--input-path", self.src, "--output-path",
                                              self.out, "--output-format=ocdbt", "--compressor=gzip"])

    def orbax_pax(self, step_name="checkpoint_00000001", zarr3=None):
        """The Pax OCDBT variant of the example model (independent writer); self.src is its step."""
        legacy = os.path.join(self.dir, "legacy")
        m = paxgen.Model(L=2, N=4, H=16, E=64, F=128, opt=False, layout="1.x")
        paxgen.write(paxgen.make_pax(m), legacy)
        self.src = os.path.join(self.dir, step_name)
        orbaxgen.pax_to_orbax(legacy, self.src, zarr3=zarr3)
        shutil.rmtree(legacy)
        return self.src

    def edit_orbax_values(self, edit):
        """Rewrites the root database of self.src's state/ with edit({key: value}) applied."""
        state = os.path.join(self.src, "state")
        values = ocdbt_ref.read_database(state)
        edit(values)
        fresh = os.path.join(self.dir, "fresh_db")
        ocdbt_ref.write_database(fresh, values)
        os.remove(os.path.join(state, "manifest.ocdbt"))
        shutil.rmtree(os.path.join(state, "d"))
        for name in os.listdir(fresh):
            shutil.move(os.path.join(fresh, name), os.path.join(state, name))
        os.rmdir(fresh)

    def test_orbax_zarr3_index_crc(self):
        self.orbax_pax(zarr3=orbaxgen.Zarr3())

        def flip_crc(values):
            key = [k for k in values if k.decode().endswith("combined_qkv.w/c/0/0/0/0")][0]
            v = bytearray(values[key])
            v[-1] ^= 0x5A  # the last byte of the index's CRC-32C
            values[key] = bytes(v)

        self.edit_orbax_values(flip_crc)
        self.convert("orbax-zarr3-index-crc")

    def test_orbax_zarr3_codec(self):
        self.orbax_pax(zarr3=orbaxgen.Zarr3())

        def unknown_codec(values):
            key = [k for k in values if k.decode().endswith("combined_qkv.w/zarr.json")][0]
            meta = json.loads(values[key])
            meta["codecs"][0]["configuration"]["codecs"][1] = {"name": "lz4"}
            values[key] = json.dumps(meta).encode()

        self.edit_orbax_values(unknown_codec)
        self.convert("orbax-zarr3-codec")

    def test_orbax_leaf_without_data(self):
        self.orbax_pax()
        path = os.path.join(self.src, "state", "_METADATA")
        with open(path) as f:
            md = json.load(f)
        md["tree_metadata"]["('mdl_vars', 'params', 'lm', 'ghost')"] = {
            "key_metadata": [{"key": k, "key_type": 2} for k in ("mdl_vars", "params", "lm", "ghost")],
            "value_metadata": {"value_type": "jax.Array", "skip_deserialize": False, "write_shape": [4]}}
        with open(path, "w") as f:
            f.write(json.dumps(md))
        self.convert("orbax-leaf-without-data")

    def test_orbax_temp_step(self):
        self.orbax_pax("checkpoint_00000001.orbax-checkpoint-tmp-1733000000")
        self.convert("orbax-temp-step")

    def test_orbax_v1_without_checkpoint_metadata(self):
        self.orbax_pax()
        os.remove(os.path.join(self.src, "_CHECKPOINT_METADATA"))
        open(os.path.join(self.src, "orbax.checkpoint"), "w").close()
        self.convert("orbax-v1-without-checkpoint-metadata")

    def test_not_a_checkpoint(self):
        os.makedirs(self.src)
        self.convert("not-a-checkpoint")

    def test_wrong_framework(self):
        self.pax()
        self.convert("wrong-framework", flags=T5X)

    def test_kv_packed(self):
        self.pax()
        self.convert("kv-packed", "--te-qkv-layout=kv_packed", "--num-gqa-groups=2")

    def test_gqa_divide(self):
        self.pax()
        self.convert("gqa-divide", "--num-gqa-groups=3")

    def test_fp8_te2fw(self):
        self.pax()
        self.convert("fp8-te2fw", "--gen-fp8-meta", "--direction=te2fw")

    def test_amax_history(self):
        self.pax()
        self.convert("amax-history", "--gen-fp8-meta", "--amax-history-len=0")

    def test_fp8_nan(self):
        self.pax()
        qkv = os.path.join(self.src, LAYER0 + "self_attention.combined_qkv.w")
        data, dtype = zarrio.read_array(qkv)
        data[1, 2, 3, 4] = np.nan
        shutil.rmtree(qkv)
        zarrio.write_array(qkv, data, dtype)
        self.convert("fp8-nan", "--gen-fp8-meta")

    # --- FP8 metadata formats (te-fp8-format.md) -------------------------------------------------
    def pax_te(self, fp8=("fp8_metas",), hist=4, drop=None, dtype="<f4"):
        """A Pax TE-side checkpoint with F18 metadata in each collection of `fp8` (or F17 for
        fp8_meta_collection) for every GEMM module of the example model."""
        m = paxgen.Model(L=2, N=4, H=16, E=64, F=128, opt=False)
        te, _ = paxgen.to_te(m, paxgen.make_pax(m))
        for coll in fp8:
            for prefix in m.pax_layer_prefixes():
                base = f"mdl_vars.{coll}.{m.te_layer_prefix(prefix)}."
                for module, gemms in (("attention.qkv", 1), ("attention.out", 1), ("mlp", 2)):
                    if coll == "fp8_meta_collection":
                        leaves = {"fp8_max": [3 * gemms, 1], "fp8_meta_amax": [3 * gemms, hist],
                                  "fp8_meta_scale": [3 * gemms, 1], "fp8_meta_scale_inv": [3 * gemms, 1]}
                    else:
                        leaves = {f"{k}_{t}_{p}": [hist if k == "amax" else 1]
                                  for p in range(gemms) for k in ("amax", "scale") for t in "iwg"}
                    for leaf, shape in leaves.items():
                        name = base + module + "." + leaf
                        if name != drop:
                            zd = dtype if leaf == "amax_w_0" and module == "attention.out" else "<f4"
                            te.arrays[name] = paxgen.Arr(np.ones(shape, np.dtype(zd)), zd)
        paxgen.write(te, self.src)
        return self.src

    TE2TE = ["--direction=te2te"]

    def test_fp8_te23_pax(self):
        self.pax()
        self.convert("fp8-te23-pax", "--gen-fp8-meta", "--fp8-meta-format=te2.3")
        self.pax_te()
        self.convert("fp8-te23-pax", *self.TE2TE, "--fp8-meta-format=te2.3")

    def test_fp8_collection_name(self):
        self.t5x()
        self.convert("fp8-collection-name", "--gen-fp8-meta", "--fp8-meta-format=te2.3", "--fp8-collection=my.fp8",
                     flags=T5X)

    def test_fp8_collection_format(self):
        self.pax()
        self.convert("fp8-collection-format", "--gen-fp8-meta", "--fp8-collection=mine")

    def test_te2te_unknown_collection(self):
        self.pax_te(fp8=("my_fp8",))
        self.convert("te2te-unknown-collection", *self.TE2TE, "--fp8-meta-format=te1.7")

    def test_te2te_history_zero(self):
        self.pax_te()
        self.convert("te2te-history-zero", *self.TE2TE, "--fp8-meta-format=te1.7", "--amax-history-len=0")

    def test_te2te_framework_side(self):
        self.pax()
        self.convert("te2te-framework-side", *self.TE2TE, "--fp8-meta-format=te1.7")

    def test_te2te_no_fp8(self):
        self.pax_te(fp8=())
        self.convert("te2te-no-fp8", *self.TE2TE, "--fp8-meta-format=te1.7")

    def test_te2te_no_format(self):
        self.pax_te()
        self.convert("te2te-no-format", *self.TE2TE)

    def test_te2te_gen(self):
        self.pax_te()
        self.convert("te2te-gen", *self.TE2TE, "--fp8-meta-format=te1.7", "--gen-fp8-meta")

    def test_te2te_mixed(self):
        self.pax_te(fp8=("fp8_metas", "fp8_meta_collection"))
        self.convert("te2te-mixed", *self.TE2TE, "--fp8-meta-format=te1.7")

    def test_te2te_incomplete(self):
        self.pax_te(drop="mdl_vars.fp8_metas." + LAYER0[len("mdl_vars.params."):] +
                    "transformerlayer.cld.attention.out.scale_g_0")
        self.convert("te2te-incomplete", *self.TE2TE, "--fp8-meta-format=te1.7")

    def test_te2te_fp8_dtype(self):
        self.pax_te(dtype="<f8")
        self.convert("te2te-fp8-dtype", *self.TE2TE, "--fp8-meta-format=te1.7")

    def test_warn_fp8_te23_t5x(self):
        self.t5x()
        self.check("warn-fp8-te23-t5x", ["plan", "--input-path", self.src, *T5X, "--gen-fp8-meta",
                                         "--fp8-meta-format=te2.3"], exit_code=0)

    def test_warn_fp8_flags(self):
        self.pax()
        self.check("warn-fp8-flags", ["plan", "--input-path", self.src, *PAX, "--fp8-format=e4m3"], exit_code=0)
        quiet = zarrio.run("plan", "--input-path", self.src, *PAX, "--gen-fp8-meta", "--fp8-format=e4m3")
        self.assertNotIn("warning", quiet.stderr)

    def test_adafactor(self):
        self.pax()
        name = "opt_states_0_2.vr.params." + LAYER0[len("mdl_vars.params."):] + "self_attention.post.w"
        zarrio.write_array(os.path.join(self.src, name), np.zeros([64, 4], np.float32))
        self.convert("adafactor")

    # --- silent wrong results: codec levels, skipped rules, unmapped arrays ----------------------
    def test_adafactor_placeholders_differ(self):
        # the real all-inline T5X index, one [1] placeholder of a fused projection set to 1.0
        with open(os.path.join(zarrio.FIXTURES, "t5x", "test_t5_tiny.checkpoint_0"), "rb") as f:
            index = msgpack.unpackb(f.read(), raw=False)
        slot = index["optimizer"]["state"]["param_states"]["encoder"]["layers_0"]["attention"]["key"]["kernel"]
        shape, dtype, raw = msgpack.unpackb(slot["m"].data, raw=False)
        self.assertEqual((shape, np.frombuffer(raw, "<f4").tolist()), ([1], [0.0]))
        slot["m"] = msgpack.ExtType(slot["m"].code, msgpack.packb([shape, dtype, np.float32(1).tobytes()]))
        with open(self.src, "wb") as f:
            f.write(msgpack.packb(index, use_bin_type=True))
        self.convert("adafactor-placeholders-differ", flags=["--t5x-fuse-qkv"])

    def test_gzip_level(self):
        self.pax()
        self.convert("gzip-level", "--compressor=gzip", "--compression-level=99")

    def test_negative_level(self):
        self.pax()
        self.convert("negative-level", "--compressor=gzip", "--compression-level=-1")

    def test_zstd_level(self):
        self.pax()
        self.convert("zstd-level", "--compressor=zstd", "--compression-level=23")

    def test_level_keep(self):
        self.pax()
        self.convert("level-keep", "--compression-level=5")

    def test_level_none(self):
        self.pax()
        self.convert("level-none", "--compressor=none", "--compression-level=3")

    def test_skip_ln_present(self):
        self.pax()
        self.convert("skip-ln-present", "--skip-ln")

    def test_skip_bias_present(self):
        self.pax()
        self.convert("skip-bias-present", "--skip-bias")

    def test_t5x_skip_ln_present(self):
        self.t5x()
        self.convert("t5x-skip-ln-present", "--skip-ln", flags=T5X)

    def test_unmapped_array(self):
        self.pax()
        zarrio.write_array(os.path.join(self.src, LAYER0 + "self_attention.per_dim_scale.per_dim_scale"),
                           np.ones([16], np.float32))
        self.convert("unmapped-array")

    # --- crashes and resource blow-ups -----------------------------------------------------------
    def test_jobs_negative(self):
        self.pax()
        self.convert("jobs-negative", "--jobs=-3")

    def test_jobs_huge(self):
        self.pax()
        self.convert("jobs-huge", "--jobs=100000")

    def test_amax_history_huge(self):
        self.pax()
        self.convert("amax-history-huge", "--gen-fp8-meta", "--amax-history-len=99999999999")

    def test_heads_huge(self):
        self.pax()
        self.convert("heads-huge", "--num-of-head=99999999999999999999")

    def test_heads_product(self):
        self.t5x()
        self.convert("heads-product", "--num-of-head=65536", "--head-dim=65536", flags=T5X)

    def test_model_dim_huge(self):
        self.pax()
        self.convert("model-dim-huge", f"--mlp-intermediate-dim={2**62}")

    def test_octal_flag(self):
        self.pax()
        self.convert("octal-flag", "--num-of-head=010")

    def huge_post(self, **changes):
        self.pax()
        self.edit_zarray(POST, **changes)
        return os.path.join(self.src, POST)

    def test_huge_shape(self):
        self.huge_post(shape=[2**40, 2**40, 16])
        self.convert("huge-shape")

    def test_huge_dimension(self):
        self.huge_post(shape=[0, 2**60, 16])
        self.convert("huge-dimension")

    def test_huge_chunk(self):
        self.huge_post(chunks=[2**20, 2**20, 16])
        self.convert("huge-chunk")

    def test_zarr_cat_huge(self):
        path = self.huge_post(shape=[2**40, 2**40, 16])
        self.check("zarr-cat-huge", ["zarr-cat", path])

    def test_inspect_huge(self):
        self.huge_post(shape=[2**40, 2**40, 16])
        self.check("inspect-huge", ["inspect", self.src])

    # zarr-write refuses before it reads standard input.
    def test_zarr_write_zero_chunks(self):
        self.check("zarr-write-zero-chunks",
                   ["zarr-write", self.out, "--shape", "4", "--chunks", "0", "--dtype", "<f4"])

    def test_zarr_write_existing(self):
        self.t5x()
        self.check("zarr-write-existing",
                   ["zarr-write", self.src, "--shape", "4", "--chunks", "4", "--dtype", "<f4"])

    def test_example_existing(self):
        self.t5x()
        self.check("example-existing", ["example", "--output-path", self.src, "--fw", "pax"])

    def test_example_zero_heads(self):
        self.check("example-zero-heads", ["example", "--output-path", self.out, "--num-of-head", "0"])

    def test_example_zero_chunks(self):
        self.check("example-zero-chunks",
                   ["example", "--output-path", self.out, "--chunks-per-array", "0"])

    def test_example_huge(self):
        self.check("example-huge",
                   ["example", "--output-path", self.out, "--mlp-intermediate-dim", 2**31 - 1])

    def test_example_layout1_t5x(self):
        self.check("example-layout1-t5x",
                   ["example", "--output-path", self.out, "--fw", "t5x", "--pax-layout1"])

    def test_output_is_input(self):
        self.pax()
        self.check("output-is-input", ["convert", "--input-path", self.src, "--output-path", self.src, *PAX])

    def test_output_inside_input(self):
        self.pax()
        inside = os.path.join(self.src, "converted")
        self.check("output-inside-input", ["convert", "--input-path", self.src, "--output-path", inside, *PAX])
        self.assertFalse(os.path.exists(inside))

    def test_output_not_empty(self):
        self.pax()
        os.makedirs(os.path.join(self.dir, "full"))
        open(os.path.join(self.dir, "full", "keep"), "w").write("precious")
        self.check("output-not-empty",
                   ["convert", "--input-path", self.src, "--output-path", os.path.join(self.dir, "full"), *PAX])
        self.assertEqual(open(os.path.join(self.dir, "full", "keep")).read(), "precious")

    def test_output_locked(self):
        self.pax()
        with open(os.path.join(self.dir, ".out.te-ckpt-lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            self.convert("output-locked")

    def test_leftover_temp(self):
        self.pax()
        os.makedirs(os.path.join(self.dir, "old"))
        temp = os.path.join(self.dir, "old", "ckpt.te-ckpt-tmp-12345")
        os.rename(self.src, temp)
        self.src = temp
        self.check("leftover-temp", ["inspect", temp])

    def test_no_input(self):
        self.convert("no-input")

    def test_unreadable_input(self):
        if os.geteuid() == 0:
            self.skipTest("root reads everything")
        self.pax()
        os.chmod(self.src, 0)
        try:
            self.check("unreadable-input", ["convert", "--input-path", self.src, "--output-path", self.out, *PAX])
        finally:
            os.chmod(self.src, 0o755)

    # --- layout first: the flags do not fit the checkpoint's layout -------------------------------
    def test_missing_repeat(self):
        m = paxgen.Model(L=2, N=4, H=16, E=64, F=128, opt=False, repeat=True)
        paxgen.write(paxgen.make_pax(m), self.src)
        self.convert("missing-repeat")

    def to_te(self, flags, *extra):
        """Replaces the source by its conversion to TE (made with te-ckpt, checked elsewhere)."""
        te = os.path.join(self.dir, "te")
        zarrio.run("convert", "--input-path", self.src, "--output-path", te, *flags, "-q", *extra)
        shutil.rmtree(self.src)
        os.rename(te, self.src)

    def test_already_te(self):
        self.pax()
        self.to_te(PAX)
        self.convert("already-te")

    def test_not_te(self):
        self.pax()
        self.convert("not-te", "--direction=te2fw")

    def test_t5x_fuse_missing(self):
        self.t5x()
        self.to_te(T5X, "--t5x-fuse-qkv")
        self.convert("t5x-fuse-missing", "--direction=te2fw", flags=T5X)

    def test_t5x_fuse_extra(self):
        self.t5x()
        self.to_te(T5X)
        self.convert("t5x-fuse-extra", "--direction=te2fw", "--t5x-fuse-qkv", flags=T5X)

    # --- flags given alone: the rest is read from the checkpoint, and each given flag is checked --
    def test_auto_heads(self):
        self.pax()
        self.convert("auto-heads", "--num-of-head=8", flags=[])

    def test_auto_embed(self):
        self.pax()
        self.convert("auto-embed", "--embed-dim=32", flags=[])

    def test_auto_mlp(self):
        self.pax()
        self.convert("auto-mlp", "--mlp-intermediate-dim=100", flags=[])

    def test_auto_layers(self):
        self.pax()
        self.convert("auto-layers", "--num-of-layer=3", flags=[])

    def test_auto_repeat(self):
        self.pax()
        self.convert("auto-repeat", "--pax-repeat", flags=[])

    def test_auto_split(self):
        self.pax()
        self.convert("auto-split", "--pax-split-qkv", flags=[])

    def test_auto_gated(self):
        self.pax()
        self.convert("auto-gated", "--use-gated-activations", flags=[])

    def test_auto_direction(self):
        self.pax()
        self.to_te(PAX)
        self.convert("auto-direction", "--direction=fw2te", flags=[])

    def test_auto_te_heads(self):
        self.pax()
        self.to_te(PAX)
        self.convert("auto-te-heads", flags=[])

    def test_auto_te_heads_divide(self):
        self.pax()
        self.to_te(PAX)
        self.convert("auto-te-heads-divide", "--num-of-head=5", flags=[])

    def test_auto_t5x_fuse(self):
        self.t5x()
        self.to_te(T5X)
        self.convert("auto-t5x-fuse", "--t5x-fuse-qkv", flags=[])

    def test_not_a_zarr_array(self):
        self.pax()
        os.remove(os.path.join(self.src, POST, ".zarray"))
        self.convert("not-a-zarr-array")
        # Also an array no rule reads (it would otherwise be copied along as a plain folder).
        self.setUp()
        self.pax()
        final_ln = os.path.join(self.src, "mdl_vars.params.lm.final_ln.scale")
        os.remove(os.path.join(final_ln, ".zarray"))
        r = zarrio.run("convert", "--input-path", self.src, "--output-path", self.out, *PAX, check=False)
        self.assertEqual(r.returncode, 1)
        self.assertIn(final_ln + ": the folder exists but is not a zarr array", r.stderr)

    def test_not_t5x_index(self):
        self.pax()
        self.check("not-t5x-index", ["convert", "--input-path", os.path.join(self.src, POST, ".zarray"),
                                     "--output-path", self.out, *T5X])
        self.check("not-t5x-index", ["inspect", os.path.join(self.src, POST, ".zarray")])

    def test_byte_order(self):
        self.pax(gated=True)
        gate = os.path.join(self.src, LAYER0 + "ff_layer.ffn_layer1_gate.linear.w")
        data, _ = zarrio.read_array(gate)
        shutil.rmtree(gate)
        zarrio.write_array(gate, data, ">f4")
        self.convert("byte-order", "--use-gated-activations")

    def test_gqa_no_head_axis(self):
        self.pax(split_qkv=True, K=1, mqa_no_head_axis=True)
        self.convert("gqa-no-head-axis", "--pax-split-qkv", "--te-qkv-layout=kv_packed", "--num-gqa-groups=2")

    def test_mqa_drop_gqa(self):
        self.pax(split_qkv=True, K=2, kv_packed=True)
        gqa = ["--pax-split-qkv", "--te-qkv-layout=kv_packed", "--num-gqa-groups=2"]
        self.to_te(PAX, *gqa)
        self.convert("mqa-drop-gqa", "--direction=te2fw", "--pax-mqa-drop-head-axis", *gqa)

    # --- the output path, checked alike by convert, --dry-run and plan --------------------------
    def test_output_is_file(self):
        self.pax()
        self.out = os.path.join(self.dir, "file")
        with open(self.out, "w") as f:
            f.write("precious")
        for extra in ([], ["--overwrite"], ["--dry-run"]):
            with self.subTest(extra=extra):
                self.check("output-is-file", ["convert", "--input-path", self.src, "--output-path", self.out,
                                              *PAX, *extra], exists_ok=True)
        with open(self.out) as f:
            self.assertEqual(f.read(), "precious")

    def test_dry_run_output_is_input(self):
        self.pax()
        for command in (["plan"], ["convert", "--dry-run"]):
            self.check("dry-run-output-is-input", [*command, "--input-path", self.src, "--output-path", self.src,
                                                   *PAX])

    def test_dry_run_output_inside_input(self):
        self.pax()
        self.check("dry-run-output-inside-input", ["plan", "--input-path", self.src, "--output-path",
                                                   os.path.join(self.src, "inside"), *PAX])

    def test_dry_run_output_not_empty(self):
        self.pax()
        full = os.path.join(self.dir, "full")
        os.makedirs(full)
        with open(os.path.join(full, "keep"), "w") as f:
            f.write("precious")
        for command in (["plan"], ["convert", "--dry-run"]):
            self.check("dry-run-output-not-empty", [*command, "--input-path", self.src, "--output-path", full, *PAX])

    def test_memory_limit(self):
        self.pax()
        for command in (["convert"], ["plan"], ["convert", "--dry-run"]):
            self.check("memory-limit", [*command, "--input-path", self.src, "--output-path", self.out, *PAX,
                                        "--memory-limit=lots"])

    # --- symbolic links are never followed ------------------------------------------------------
    def test_link_absolute(self):
        self.pax()
        os.symlink("/etc/hostname", os.path.join(self.src, "hostname"))
        self.convert("link-absolute")
        self.check("link-absolute", ["plan", "--input-path", self.src, *PAX])

    def test_link_escapes(self):
        self.pax()
        os.makedirs(os.path.join(self.src, "extra"))
        os.symlink("../..", os.path.join(self.src, "extra", "up"))
        self.convert("link-escapes")
        # A link inside an array folder that is copied unchanged: refused by plan too.
        shutil.rmtree(os.path.join(self.src, "extra"))
        final_ln = os.path.join(self.src, "mdl_vars.params.lm.final_ln.scale")
        os.rename(os.path.join(final_ln, "0"), os.path.join(self.dir, "chunk"))
        os.symlink("../../chunk", os.path.join(final_ln, "0"))
        self.check("link-escapes", ["plan", "--input-path", self.src, *PAX])

    # --- usage errors: one line, exit 2 ---------------------------------------------------------
    def test_usage_unknown_flag(self):
        self.pax()
        self.convert("usage-unknown-flag", "--bogus", exit_code=2)

    def test_usage_missing_flag(self):
        self.pax()
        self.check("usage-missing-flag", ["convert", "--output-path", self.out, *PAX], exit_code=2)

    def test_usage_bad_value(self):
        self.pax()
        self.convert("usage-bad-value", flags=["--fw=jax"] + PAX[1:], exit_code=2)
        r = zarrio.run("convert", "--input-path", self.src, "--output-path", self.out, *PAX, "--num-of-layer=two",
                       check=False)
        self.assertEqual((r.returncode, r.stderr.count("\n")), (2, 1), r.stderr)
        self.assertTrue(r.stderr.startswith("te-ckpt: error: "), r.stderr)

    # --- warnings: flags that do nothing, names the framework will not list ---------------------
    def test_warn_t5x_flags(self):
        self.t5x()
        self.check("warn-t5x-flags", ["plan", "--input-path", self.src, *T5X, "--skip-bias"], exit_code=0)
        r = zarrio.run("plan", "--input-path", self.src, *T5X, "--use-gated-activations",
                       "--gated-activation-order=activated_first")
        self.assertIn("te-ckpt: warning: --use-gated-activations does nothing with --fw=t5x", r.stderr)
        self.assertIn("te-ckpt: warning: --gated-activation-order does nothing with --fw=t5x", r.stderr)
        quiet = zarrio.run("plan", "--input-path", self.src, *T5X)
        self.assertNotIn("warning", quiet.stderr)

    def test_warn_pax_step_name(self):
        self.pax(layout="1.x")
        self.out = os.path.join(self.dir, "checkpoint_1")
        self.check("warn-pax-step-name", ["plan", "--input-path", self.src, "--output-path", self.out, *PAX],
                   exit_code=0)
        good = zarrio.run("plan", "--input-path", self.src, "--output-path",
                          os.path.join(self.dir, "checkpoint_00000001"), *PAX)
        self.assertNotIn("warning", good.stderr)

    def test_missing_chunk_reads_as_fill_value(self):
        self.pax()
        os.remove(os.path.join(self.src, POST, "0.0.0"))
        self.edit_zarray(POST, fill_value=0.5)
        zarrio.run("convert", "--input-path", self.src, "--output-path", self.out, *PAX, "-q")
        out, _ = zarrio.read_array(os.path.join(
            self.out, LAYER0 + "transformerlayer.cld.attention.out.kernel"))
        self.assertTrue(np.all(out == np.float32(0.5)))


    def test_copy_unmapped_copies_with_a_warning(self):
        self.pax()
        name = LAYER0 + "self_attention.per_dim_scale.per_dim_scale"
        values = np.arange(16, dtype=np.float32)
        zarrio.write_array(os.path.join(self.src, name), values)
        r = zarrio.run("convert", "--input-path", self.src, "--output-path", self.out, *PAX,
                       "--copy-unmapped", "-q")
        self.assertIn("te-ckpt: warning: --copy-unmapped: arrays under converted layers copied "
                      "unchanged (1), the TE layer has no such parameter: " + name, r.stderr)
        out, _ = zarrio.read_array(os.path.join(self.out, name))
        np.testing.assert_array_equal(out, values)
        self.assertTrue(os.path.isdir(os.path.join(
            self.out, LAYER0 + "transformerlayer.cld.attention.qkv.kernel")))

    def test_jobs_zero_means_one_per_core(self):
        self.pax()
        zarrio.run("convert", "--input-path", self.src, "--output-path", self.out, *PAX, "--jobs=0",
                   "-q")
        self.assertTrue(os.path.isdir(self.out))

    def test_example_into_an_empty_folder(self):
        os.makedirs(self.out)
        zarrio.run("example", "--output-path", self.out, "--fw", "t5x", "--num-of-layer", 1)
        self.assertTrue(os.path.isfile(os.path.join(self.out, "checkpoint")))
        self.assertEqual([n for n in os.listdir(self.dir) if "te-ckpt-tmp" in n], [])

if __name__ == "__main__":
    unittest.main()
