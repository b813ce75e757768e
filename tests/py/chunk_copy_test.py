"""Chunk copies (issue 14): jobs whose chunks keep their bytes are copied, not decoded and encoded.

The copy path (the default) and the re-encode path (--no-chunk-copy) must give the same values for
every seed mode and variant; copies must not be used where they would give wrong bytes (dtype, byte
order, memory order, codec, level, fill value, a chunk extent that does not map whole); and round
trips of copyable conversions give back every chunk file byte for byte, for gzip, zstd and blosc.
Checkpoints come from the independent generators (paxgen.py, t5xgen.py) and are read back with
zarrio.py (numpy + numcodecs), which share no code with te-ckpt.

Run: TE_CKPT=/path/to/te-ckpt /usr/bin/python3 -m unittest -v chunk_copy_test   (from tests/py)
"""
import json
import os
import re
import shutil
import tempfile
import unittest

import numpy as np

import ocdbt_ref
import orbaxgen
import paxgen
import t5xgen
import zarrio
from paxgen import Model, variant

TMP_ROOT = os.environ.get("TE_CKPT_TEST_TMP") or ("/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
PAX = Model(L=2, N=4, H=4, E=16, F=32)
T5X = t5xgen.Model(E=8, N=4, H=3, F=16, L=2)
BLOSC = {"id": "blosc", "cname": "lz4", "clevel": 5, "shuffle": 1, "blocksize": 0}


def array_folders(root):
    """{relative folder: absolute folder} of every zarr v2 array under `root`."""
    out = {}
    for d, _, files in os.walk(root):
        if ".zarray" in files:
            out[os.path.relpath(d, root)] = d
    return out


def read_all(root):
    """{relative folder: (values, zarr dtype, shape, chunks)} of every array under `root`."""
    out = {}
    for rel, d in array_folders(root).items():
        data, dtype = zarrio.read_array(d)
        meta = zarrio.read_metadata(d)
        out[rel] = (data, dtype, meta["shape"], meta["chunks"])
    return out


def chunk_files(folder):
    """{chunk key: stored bytes} of one array folder."""
    out = {}
    for name in sorted(os.listdir(folder)):
        if name != ".zarray":
            with open(os.path.join(folder, name), "rb") as f:
                out[name] = f.read()
    return out


def plan_jobs(*args):
    """The plan's jobs: [(decision, [input names], [output names])], decision "copy" or "re-encode: ..."."""
    text = zarrio.run("plan", *args).stdout
    jobs = []
    for line in text.splitlines():
        m = re.match(r"^  \S.*  \[(copy \d+ chunks|re-encode: .*)\]$", line)
        if m:
            jobs.append((m.group(1), [], []))
        elif jobs and line.startswith("    < "):
            jobs[-1][1].append(line.split()[1])
        elif jobs and line.startswith("    > "):
            jobs[-1][2].append(line.split()[1])
    return jobs, text


def rewrite_array(folder, *, compressor=None, order=None, fill_value=None, chunks=None):
    """Rewrites an array folder with numcodecs (same values), changing codec, order, fill or chunks."""
    data, dtype = zarrio.read_array(folder)
    meta = zarrio.read_metadata(folder)
    shutil.rmtree(folder)
    comp = compressor if compressor is not None else meta["compressor"]
    zarrio.write_array(folder, data, dtype, chunks or meta["chunks"], comp)
    if order or fill_value is not None:
        meta = zarrio.read_metadata(folder)
        if order == "F":
            import numcodecs
            codec = numcodecs.get_codec(comp) if comp else None
            for key in chunk_files(folder):
                idx = [int(i) for i in key.split(".")]
                block = np.zeros(meta["chunks"], dtype=zarrio.numpy_dtype(dtype))
                src = tuple(slice(i * c, min((i + 1) * c, s)) for i, c, s in zip(idx, meta["chunks"], meta["shape"]))
                block[tuple(slice(0, sl.stop - sl.start) for sl in src)] = data[src]
                raw = block.tobytes(order="F")
                with open(os.path.join(folder, key), "wb") as f:
                    f.write(codec.encode(raw) if codec else raw)
            meta["order"] = "F"
        if fill_value is not None:
            meta["fill_value"] = fill_value
        with open(os.path.join(folder, ".zarray"), "w") as f:
            f.write(json.dumps(meta, separators=(",", ":"), sort_keys=True))
    return data, dtype


class ChunkCopyTest(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="te-ckpt-chunkcopy-", dir=TMP_ROOT)
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def pax_source(self, m, name="src", seed=0):
        root = os.path.join(self.tmp, name)
        paxgen.write(paxgen.make_pax(m, seed=seed), root)
        return root

    def convert(self, src, name, flags, *extra):
        out = os.path.join(self.tmp, name)
        zarrio.run("convert", "--input-path", src, "--output-path", out, *flags, "-q", *extra)
        return out

    def assert_same_arrays(self, a, b, what):
        ra, rb = read_all(a), read_all(b)
        self.assertEqual(sorted(ra), sorted(rb), what)
        for name in ra:
            da, ta, sa, ca = ra[name]
            db, tb, sb, cb = rb[name]
            self.assertEqual((ta, sa, ca), (tb, sb, cb), f"{what}: {name}")
            self.assertEqual(da.tobytes(), db.tobytes(), f"{what}: values of {name}")

    # ------------------------------------------------------------------ the two paths agree
    def test_copy_and_reencode_paths_agree_for_every_pax_variant(self):
        variants = [
            dict(chunking="single"), dict(chunking="tp"), dict(chunking="padded"), dict(chunking="multi"),
            dict(chunking="padded", repeat=True), dict(chunking="tp", repeat=True, gated=True),
            dict(chunking="multi", codec="gzip", dtype="bfloat16"), dict(chunking="padded", split_qkv=True),
            dict(chunking="tp", repeat=True, codec="gzip", gated=True, activated_first=True),
            dict(chunking="single", dtype=">f4"),
        ]
        for kw in variants:
            m = variant(PAX, **kw)
            with self.subTest(**kw):
                src = self.pax_source(m, "src")
                jobs, _ = plan_jobs("--input-path", src, *m.flags("fw2te"))
                copies = [j for j in jobs if j[0].startswith("copy")]
                # ffn_layer1 (e f -> e 1 f, or the gated stack) always keeps its chunks.
                self.assertTrue(any("ffn_layer1" in n for j in copies for n in j[1]), jobs)
                copied = self.convert(src, "copied", m.flags("fw2te"))
                recoded = self.convert(src, "recoded", m.flags("fw2te"), "--no-chunk-copy")
                self.assert_same_arrays(copied, recoded, "fw2te copy vs re-encode")
                # The TE side back to Pax by either path gives the source's values.
                back_c = self.convert(copied, "back_c", m.flags("te2fw"))
                back_r = self.convert(copied, "back_r", m.flags("te2fw"), "--no-chunk-copy")
                self.assert_same_arrays(back_c, back_r, "te2fw copy vs re-encode")
                src_arrays = read_all(src)
                for name, (data, dtype, shape, _) in read_all(back_c).items():
                    self.assertEqual(data.tobytes(), src_arrays[name][0].tobytes(), name)
                for d in ("src", "copied", "recoded", "back_c", "back_r"):
                    shutil.rmtree(os.path.join(self.tmp, d))

    def test_copy_path_matches_the_mapping_oracle_big_endian(self):
        # Big-endian arrays stay big-endian; their chunks are copied as they are.
        m = variant(PAX, dtype=">f4", chunking="padded")
        ck = paxgen.make_pax(m)
        src = os.path.join(self.tmp, "src")
        paxgen.write(ck, src)
        jobs, _ = plan_jobs("--input-path", src, *m.flags("fw2te"))
        self.assertTrue(any(j[0].startswith("copy") for j in jobs), jobs)
        out = self.convert(src, "te", m.flags("fw2te"))
        expected, _ = paxgen.to_te(m, ck)
        got = read_all(out)
        checked = 0
        for name, arr in expected.arrays.items():
            if arr.dtype != ">f4":
                continue
            data, dtype, _, _ = got[name]
            self.assertEqual(dtype, ">f4", name)
            self.assertEqual(data.tobytes(), np.asarray(arr.data, dtype=">f4").tobytes(), name)
            checked += 1
        self.assertGreater(checked, 10)

    def test_t5x_fused_and_not_fused_both_paths_and_both_directions(self):
        chunkings = {"t5x": None, "halves": lambda s: [max(1, -(-d // 2)) for d in s],
                     "padded": lambda s: [max(1, -(-2 * d // 3)) for d in s]}
        for fused in (True, False):
            for cname, chunks in chunkings.items():
                with self.subTest(fused=fused, chunks=cname):
                    ck, _ = t5xgen.build(T5X, fused=fused, codec=("zstd", 1), chunks=chunks)
                    src = ck.write(os.path.join(self.tmp, "src"))
                    flags = ["--fw=t5x", "--direction=fw2te", *T5X.cli()] + (["--t5x-fuse-qkv"] if fused else [])
                    copied = self.convert(src, "copied", flags)
                    recoded = self.convert(src, "recoded", flags, "--no-chunk-copy")
                    self.assert_same_arrays(copied, recoded, "fw2te")
                    back_flags = [f.replace("fw2te", "te2fw") for f in flags]
                    back = self.convert(copied, "back", back_flags)
                    back_r = self.convert(copied, "back_r", back_flags, "--no-chunk-copy")
                    self.assert_same_arrays(back, back_r, "te2fw")
                    src_arrays = read_all(src)
                    self.assertEqual(sorted(read_all(back)), sorted(src_arrays))
                    for name, (data, *_rest) in read_all(back).items():
                        self.assertEqual(data.tobytes(), src_arrays[name][0].tobytes(), name)
                    for d in ("src", "copied", "recoded", "back", "back_r"):
                        shutil.rmtree(os.path.join(self.tmp, d))

    # ------------------------------------------------------------------ byte-identical round trips
    def test_t5x_fused_round_trip_is_byte_identical_for_gzip_zstd_and_blosc(self):
        for codec in ("gzip", "zstd", "blosc"):
            with self.subTest(codec=codec):
                ck, _ = t5xgen.build(T5X, fused=True, codec=("zstd", 1) if codec == "blosc" else (codec, 1),
                                     chunks=lambda s: [max(1, -(-d // 2)) for d in s])
                src = ck.write(os.path.join(self.tmp, "src"))
                if codec == "blosc":
                    for d in array_folders(src).values():
                        rewrite_array(d, compressor=BLOSC)
                flags = ["--fw=t5x", "--direction=fw2te", *T5X.cli(), "--t5x-fuse-qkv"]
                jobs, _ = plan_jobs("--input-path", src, *flags)
                self.assertTrue(jobs)
                self.assertTrue(all(j[0].startswith("copy") for j in jobs), jobs)
                te = self.convert(src, "te", flags)
                qkv = [rel for rel in array_folders(te) if rel.endswith("attention.qkv.kernel")]
                self.assertTrue(qkv)
                for rel in qkv:
                    self.assertEqual(zarrio.read_metadata(os.path.join(te, rel))["chunks"][1], 1, rel)
                back = self.convert(te, "back", [f.replace("fw2te", "te2fw") for f in flags])
                src_folders, back_folders = array_folders(src), array_folders(back)
                self.assertEqual(sorted(src_folders), sorted(back_folders))
                for rel, folder in src_folders.items():
                    self.assertEqual(chunk_files(back_folders[rel]), chunk_files(folder), rel)
                for d in ("src", "te", "back"):
                    shutil.rmtree(os.path.join(self.tmp, d))

    def test_pax_round_trip_of_copied_jobs_is_byte_identical_for_gzip_zstd_and_blosc(self):
        for codec in ("gzip", "zstd", "blosc"):
            with self.subTest(codec=codec):
                m = variant(PAX, repeat=True, gated=True, chunking="tp", codec="zstd" if codec == "blosc" else codec)
                src = self.pax_source(m)
                if codec == "blosc":
                    for d in array_folders(src).values():
                        rewrite_array(d, compressor=BLOSC)
                fw_jobs, _ = plan_jobs("--input-path", src, *m.flags("fw2te"))
                copied_sources = {n for j in fw_jobs if j[0].startswith("copy") for n in j[1]}
                self.assertTrue(copied_sources)
                te = self.convert(src, "te", m.flags("fw2te"))
                back_jobs, _ = plan_jobs("--input-path", te, *m.flags("te2fw"))
                copied_back = {n for j in back_jobs if j[0].startswith("copy") for n in j[2]}
                both = copied_sources & copied_back
                self.assertEqual(both, copied_sources, "every job copied one way is copied back")
                back = self.convert(te, "back", m.flags("te2fw"))
                recoded = self.convert(te, "back_r", m.flags("te2fw"), "--no-chunk-copy")
                differs = 0
                for name in sorted(both):
                    self.assertEqual(chunk_files(os.path.join(back, name)), chunk_files(os.path.join(src, name)),
                                     name)
                    differs += chunk_files(os.path.join(recoded, name)) != chunk_files(os.path.join(src, name))
                if codec == "gzip":
                    # ISA-L's gzip bytes are not numcodecs' zlib bytes: without copies the round
                    # trip is not byte-identical, so the equality above is the copies' doing.
                    self.assertGreater(differs, 0)
                for d in ("src", "te", "back", "back_r"):
                    shutil.rmtree(os.path.join(self.tmp, d))

    # ------------------------------------------------------------------ OCDBT (Orbax) sources and outputs
    def test_orbax_chunk_copies_move_the_stored_values_between_databases(self):
        m = variant(PAX, layout="1.x", repeat=True, gated=True, chunking="tp")
        legacy = os.path.join(self.tmp, "legacy", "checkpoint_00000001")
        paxgen.write(paxgen.make_pax(m), legacy)
        src = os.path.join(self.tmp, "orbax", "checkpoint_00000001")
        orbaxgen.pax_to_orbax(legacy, src)
        jobs, _ = plan_jobs("--input-path", src, *m.flags("fw2te"))
        copied = [j for j in jobs if j[0].startswith("copy")]
        self.assertTrue(copied, jobs)
        outs = {}
        for name, extra in (("copied", []), ("recoded", ["--no-chunk-copy"])):
            out = os.path.join(self.tmp, name, "checkpoint_00000001")
            zarrio.run("convert", "--input-path", src, "--output-path", out, *m.flags("fw2te"), "-q", *extra)
            outs[name] = ocdbt_ref.read_database(os.path.join(out, "state"))
        source = ocdbt_ref.read_database(os.path.join(src, "state"))
        self.assertEqual(sorted(outs["copied"]), sorted(outs["recoded"]))
        # Each copied job's output chunks are the source database's chunk values, unchanged.
        for decision, inputs, outputs in copied:
            for out_name in outputs:
                keys = [k for k in outs["copied"] if k.decode().startswith(out_name + "/")
                        and not k.decode().endswith(".zarray")]
                self.assertTrue(keys, out_name)
                source_values = {source[k] for k in source if any(k.decode().startswith(i + "/") for i in inputs)}
                for k in keys:
                    self.assertIn(outs["copied"][k], source_values, k)
        # And they decode to the re-encode path's values.
        scratch = os.path.join(self.tmp, "scratch")
        names = {k.decode()[:-len("/.zarray")] for k in outs["copied"] if k.decode().endswith("/.zarray")}
        for name in names:
            arrays = []
            for which in ("copied", "recoded"):
                shutil.rmtree(scratch, ignore_errors=True)
                os.makedirs(scratch)
                for k, v in outs[which].items():
                    if k.decode().startswith(name + "/"):
                        with open(os.path.join(scratch, k.decode()[len(name) + 1:]), "wb") as f:
                            f.write(v)
                arrays.append(zarrio.read_array(scratch)[0].tobytes())
            self.assertEqual(arrays[0], arrays[1], name)

    # ------------------------------------------------------------------ missing chunks and fill
    def ffn_source(self, m):
        src = self.pax_source(m)
        name = "mdl_vars.params.lm.transformer.x_layers_0.ff_layer.ffn_layer1.linear.w"
        return src, name, os.path.join(src, name)

    def test_missing_chunks_stay_missing_and_read_as_the_fill_value(self):
        m = variant(PAX, chunking="tp", opt=False)
        src, name, folder = self.ffn_source(m)
        os.remove(os.path.join(folder, "0.1"))  # null fill: the chunk reads as zeros
        copied = self.convert(src, "copied", m.flags("fw2te"))
        recoded = self.convert(src, "recoded", m.flags("fw2te"), "--no-chunk-copy")
        self.assert_same_arrays(copied, recoded, "a missing input chunk")
        out = os.path.join(copied, name.replace("ff_layer.ffn_layer1.linear.w", "transformerlayer.cld.mlp.wi_kernel"))
        self.assertFalse(os.path.exists(os.path.join(out, "0.0.1")))
        self.assertTrue(os.path.exists(os.path.join(out, "0.0.0")))
        data, _ = zarrio.read_array(out)
        self.assertTrue((data[:, :, m.F // 2:] == 0).all())

    def test_a_fill_value_other_than_the_outputs_forces_reencoding(self):
        m = variant(PAX, chunking="tp", opt=False)
        src, name, folder = self.ffn_source(m)
        rewrite_array(folder, fill_value=1.5)
        os.remove(os.path.join(folder, "0.1"))
        jobs, _ = plan_jobs("--input-path", src, *m.flags("fw2te"))
        [job] = [j for j in jobs if name in j[1]]
        self.assertIn("fill value", job[0])
        out = self.convert(src, "te", m.flags("fw2te"))
        data, _ = zarrio.read_array(
            os.path.join(out, name.replace("ff_layer.ffn_layer1.linear.w", "transformerlayer.cld.mlp.wi_kernel")))
        # Copied, the chunk would be missing and read as the output's null fill (zeros).
        self.assertTrue((data[:, :, m.F // 2:] == 1.5).all())

    # ------------------------------------------------------------------ copies refused
    def test_f_order_source_chunked_across_axes_is_reencoded(self):
        m = variant(PAX, chunking="padded", opt=False)
        src, name, folder = self.ffn_source(m)
        values, _ = rewrite_array(folder, order="F")
        jobs, _ = plan_jobs("--input-path", src, *m.flags("fw2te"))
        [job] = [j for j in jobs if name in j[1]]
        self.assertIn("memory order", job[0])
        out = self.convert(src, "te", m.flags("fw2te"))
        data, _ = zarrio.read_array(
            os.path.join(out, name.replace("ff_layer.ffn_layer1.linear.w", "transformerlayer.cld.mlp.wi_kernel")))
        self.assertEqual(data.reshape(values.shape).tobytes(), values.tobytes())

    def test_f_order_source_with_one_axis_per_chunk_is_copied(self):
        m = variant(PAX, opt=False)
        src, name, folder = self.ffn_source(m)
        values, _ = rewrite_array(folder, order="F", chunks=[1, m.F])
        jobs, _ = plan_jobs("--input-path", src, *m.flags("fw2te"))
        [job] = [j for j in jobs if name in j[1]]
        self.assertTrue(job[0].startswith("copy"), job)
        out = self.convert(src, "te", m.flags("fw2te"))
        data, _ = zarrio.read_array(
            os.path.join(out, name.replace("ff_layer.ffn_layer1.linear.w", "transformerlayer.cld.mlp.wi_kernel")))
        self.assertEqual(data.reshape(values.shape).tobytes(), values.tobytes())

    def test_dtype_mismatch_between_stacked_members_is_refused(self):
        # A stack whose members differ in byte order is refused by the planner (no silent copy).
        m = variant(PAX, gated=True, opt=False)
        src = self.pax_source(m)
        gate = os.path.join(src, "mdl_vars.params.lm.transformer.x_layers_0.ff_layer.ffn_layer1_gate.linear.w")
        data, _ = zarrio.read_array(gate)
        shutil.rmtree(gate)
        zarrio.write_array(gate, data.astype(">f4"), ">f4", list(data.shape), ("zstd", 1))
        r = zarrio.run("plan", "--input-path", src, *m.flags("fw2te"), check=False)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("byte order", r.stderr)

    def test_codec_level_and_kernel_chunk_size_force_reencoding(self):
        m = variant(PAX, chunking="tp", opt=False)
        src = self.pax_source(m)
        same, _ = plan_jobs("--input-path", src, *m.flags("fw2te"), "--compressor=zstd", "--compression-level=1")
        self.assertTrue(any(j[0].startswith("copy") for j in same), same)
        for extra, reason in ((["--compressor=zstd", "--compression-level=3"], "codec differs"),
                              (["--compressor=gzip"], "codec differs"),
                              (["--no-chunk-copy"], "--no-chunk-copy")):
            with self.subTest(extra=extra):
                jobs, _ = plan_jobs("--input-path", src, *m.flags("fw2te"), *extra)
                self.assertTrue(jobs)
                for j in jobs:
                    self.assertTrue(j[0].startswith("re-encode"), j)
                    self.assertIn(reason, j[0])
        jobs, _ = plan_jobs("--input-path", src, *m.flags("fw2te"), "--kernel-chunk-size=4")
        ffn = [j for j in jobs if any("ffn_layer1.linear.w" in n for n in j[1])]
        self.assertTrue(ffn)
        for j in ffn:
            self.assertIn("chunk extent along e", j[0])
        # Re-encoded under another level: values unchanged.
        a = self.convert(src, "lvl3", m.flags("fw2te"), "--compressor=zstd", "--compression-level=3")
        b = self.convert(src, "copied", m.flags("fw2te"))
        ra, rb = read_all(a), read_all(b)
        for name in ra:
            self.assertEqual(ra[name][0].tobytes(), rb[name][0].tobytes(), name)

    def test_merge_chunking_asks_for_the_old_chunks(self):
        ck, _ = t5xgen.build(T5X, fused=True, codec=("gzip", 1))
        src = ck.write(os.path.join(self.tmp, "src"))
        flags = ["--fw=t5x", "--direction=fw2te", *T5X.cli(), "--t5x-fuse-qkv"]
        jobs, text = plan_jobs("--input-path", src, *flags, "--output-chunking=merge")
        qkv = [j for j in jobs if any(n.endswith("attention.qkv.kernel") for n in j[2])]
        self.assertTrue(qkv)
        for j in qkv:
            self.assertIn("chunk extent along s", j[0])
        merged = self.convert(src, "merged", flags, "--output-chunking=merge")
        copied = self.convert(src, "copied", flags)
        rm, rc = read_all(merged), read_all(copied)
        self.assertEqual(sorted(rm), sorted(rc))
        for name in rm:
            self.assertEqual(rm[name][0].tobytes(), rc[name][0].tobytes(), name)
            if name.endswith("attention.qkv.kernel"):
                self.assertEqual(rm[name][3][1], 3, name)
                self.assertEqual(rc[name][3][1], 1, name)

    def test_fp8_amax_of_copied_kernels_equals_the_reencode_paths(self):
        m = variant(PAX, repeat=True, chunking="padded", opt=False)
        src = self.pax_source(m)
        flags = [*m.flags("fw2te"), "--gen-fp8-meta", "--amax-history-len=4"]
        copied = self.convert(src, "copied", flags)
        recoded = self.convert(src, "recoded", flags, "--no-chunk-copy")
        self.assert_same_arrays(copied, recoded, "FP8 metadata and kernels")
        fp8 = [n for n in read_all(copied) if "fp8" in n]
        self.assertTrue(fp8)

    def test_summary_reports_copied_and_reencoded_bytes(self):
        m = variant(PAX, chunking="tp", opt=False)
        src = self.pax_source(m)
        out = os.path.join(self.tmp, "te")
        r = zarrio.run("convert", "--input-path", src, "--output-path", out, *m.flags("fw2te"))
        match = re.search(r"chunk copies: (\d+) jobs, (\d+) chunks, (\S+) (\S+) stored bytes copied; "
                          r"re-encoded (\S+) (\S+) decoded bytes", r.stdout)
        self.assertTrue(match, r.stdout)
        self.assertGreater(int(match.group(1)), 0)
        self.assertGreater(int(match.group(2)), 0)
        out2 = os.path.join(self.tmp, "te2")
        r = zarrio.run("convert", "--input-path", src, "--output-path", out2, *m.flags("fw2te"), "--no-chunk-copy")
        self.assertIn("chunk copies: 0 jobs, 0 chunks, 0.0 B stored bytes copied", r.stdout)


if __name__ == "__main__":
    unittest.main()
