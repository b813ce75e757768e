"""FP8 metadata in the three TE formats (te-fp8-format.md): generation by --gen-fp8-meta
--fp8-meta-format, migration by --direction=te2te, resizing, te2fw and inspect.

Expected names, shapes and values come from fp8spec.py (written from the spec, sharing nothing with
te-ckpt); sources come from paxgen/t5xgen. Every value is compared bit for bit.
"""
import json
import os
import tempfile
import unittest

import numpy as np

import fp8spec as spec
import paxgen
import t5xgen as g
import zarrio
from paxgen import Model, variant

PAX = Model(L=2, N=4, H=4, E=16, F=32, opt=False)
TMP_ROOT = "/dev/shm" if os.access("/dev/shm", os.W_OK) else None
F32 = np.float32


def kernel_f32(data, zdtype):
    return zarrio.bf16_to_f32(data) if zdtype == "bfloat16" else np.asarray(data, F32)


def pax_modules(m, te):
    """[(full module prefix below the collection, G, layers, kernel_amax[l][g])] of a Pax TE model."""
    out = []
    for prefix in m.pax_layer_prefixes():
        T = m.te_layer_prefix(prefix)
        by_module = {}
        for module, p, ksuffix in m.fp8_gemms():
            a = te.arrays[f"mdl_vars.params.{T}.{ksuffix}"]
            k = kernel_f32(a.data, a.dtype)
            amax = [F32(np.max(np.abs(k[l]))) for l in range(m.L)] if m.repeat else [F32(np.max(np.abs(k)))]
            by_module.setdefault(module, []).append((p, amax))
        for module, gemms in by_module.items():
            gemms.sort()
            assert [p for p, _ in gemms] == list(range(len(gemms)))
            L = m.L if m.repeat else 1
            out.append((f"{T}.{module}", len(gemms), m.L if m.repeat else 0,
                        [[gemms[gi][1][l] for gi in range(len(gemms))] for l in range(L)]))
    return out


def t5x_modules(m, fused, target, dtype):
    by_module = {}
    for mod, pf, kernel in g.fp8_modules(m, fused):
        by_module.setdefault(mod, []).append((int(pf), F32(np.max(np.abs(g.as_float32(target[kernel], dtype))))))
    return [(mod, len(v), 0, [[a for _, a in sorted(v)]]) for mod, v in by_module.items()]


def expected_names(root, collection, modules, fmt):
    return sorted(f"{root}{collection}.{mod}.{leaf}" for mod, G, _, _ in modules for leaf in spec.leaves(fmt, G))


class Fp8Case(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="te-ckpt-fp8-", dir=TMP_ROOT)
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def path(self, name, layout="0.0"):
        p = os.path.join(self.tmp, name)
        return os.path.join(p, "checkpoint_00001000") if layout == "1.x" else p

    def assert_array(self, path, name, want):
        data, zd = zarrio.read_array(os.path.join(path, name))
        self.assertEqual(zd, "<f4", f"{name}: dtype")
        self.assertEqual(list(data.shape), list(want.shape), f"{name}: shape")
        self.assertEqual(data.tobytes(), np.ascontiguousarray(want, F32).tobytes(),
                         f"{name}: values {data.ravel()[:8]} != {np.ravel(want)[:8]}")

    # ---- Pax
    def pax_fp8_arrays(self, adir):
        return sorted(n for n in zarrio.list_arrays(adir) if n.startswith("mdl_vars.") and
                      not n.startswith("mdl_vars.params."))

    def check_pax_output(self, out, m, want):
        """`want` = {name: array}: exactly these FP8 arrays, values exact; metadata lists them."""
        adir = paxgen.array_dir(out, m.layout)
        self.assertEqual(self.pax_fp8_arrays(adir), sorted(want))
        for n, a in want.items():
            self.assert_array(adir, n, a)
        if m.layout == "1.x":
            with open(os.path.join(out, "metadata", "metadata")) as f:
                leaves = paxgen.flatten_metadata(json.load(f))
            mdl = sorted(n for n in zarrio.list_arrays(adir) if n.startswith("mdl_vars."))
            self.assertEqual(sorted(leaves), mdl, "metadata/metadata lists exactly the mdl_vars written")
            for n, a in want.items():
                self.assertEqual(leaves[n]["unpadded_shape"], list(a.shape), n)
                self.assertEqual(leaves[n]["dtype"], "float32", n)

    # ---- T5X
    def check_t5x_output(self, out, want):
        idx, _ = g.read_index(out)
        flat = g.flatten_index(idx["optimizer"])
        got = sorted(n for n in flat if n.startswith("flax_mutables."))
        self.assertEqual(got, sorted(want), "index lists exactly the FP8 arrays written")
        on_disk = sorted(n for n in zarrio.list_arrays(out) if n.startswith("flax_mutables."))
        self.assertEqual(on_disk, sorted(want))
        for n, a in want.items():
            self.assertEqual(flat[n]["kvstore"]["path"], n + "/", n)
            self.assertEqual(flat[n]["dtype"], "float32", n)
            self.assertEqual(flat[n]["metadata"]["shape"], list(a.shape), n)
            self.assert_array(out, n, a)
        return flat


class Generation(Fp8Case):
    def pax_case(self, m, fmt, hist, extra=(), hybrid=True, margin=0):
        pax = paxgen.make_pax(m)
        te, _ = paxgen.to_te(m, pax)
        src = self.path("src", m.layout)
        paxgen.write(pax, src)
        out = self.path("out", m.layout)
        zarrio.run("convert", f"--input-path={src}", f"--output-path={out}", *m.flags("fw2te"), "-q",
                   "--gen-fp8-meta", f"--fp8-meta-format={fmt}", f"--amax-history-len={hist}", *extra)
        coll = spec.COLLECTION[fmt]
        want = {}
        mods = pax_modules(m, te)
        for mod, G, layers, amax in mods:
            for leaf, a in spec.generate(fmt, G, layers, amax, hist, hybrid, margin).items():
                want[f"mdl_vars.{coll}.{mod}.{leaf}"] = a
        self.assertEqual(sorted(want), expected_names("mdl_vars.", coll, mods, fmt))
        per_layer = (4 if fmt == "te1.7" else 6) * (3 if m.kv_packed else 2) + (4 if fmt == "te1.7" else 12)
        self.assertEqual(len(want), per_layer * (1 if m.repeat else m.L))
        self.check_pax_output(out, m, want)
        # the seeded kernel rows are really seeded (the oracle is not trivially ones)
        if fmt == "te1.7":
            s = [a for n, a in want.items() if n.endswith("fp8_meta_scale")][0]
            self.assertTrue(np.all(s[..., 1, 0] != 1))

    def test_pax_te17_nonrepeat_qkv_packed(self):
        self.pax_case(PAX, "te1.7", 4)

    def test_pax_te17_repeat_kv_packed_e4m3_margin(self):
        self.pax_case(variant(PAX, repeat=True, L=3, split_qkv=True, kv_packed=True, K=2, gated=True),
                      "te1.7", 5, ["--fp8-format=e4m3", "--fp8-margin=1"], hybrid=False, margin=1)

    def test_pax_te17_repeat_qkv_packed_layout_1x_bf16(self):
        self.pax_case(variant(PAX, repeat=True, layout="1.x", dtype="bfloat16"), "te1.7", 3)

    def test_pax_te17_nonrepeat_kv_packed(self):
        self.pax_case(variant(PAX, split_qkv=True, kv_packed=True, K=2), "te1.7", 1)

    def test_pax_te18_nonrepeat_kv_packed_layout_1x(self):
        self.pax_case(variant(PAX, split_qkv=True, kv_packed=True, K=2, layout="1.x"), "te1.8", 4,
                      ["--fp8-margin=3"], margin=3)

    def test_pax_te18_repeat_qkv_packed(self):
        self.pax_case(variant(PAX, repeat=True, L=3), "te1.8", 2)

    def test_pax_te18_default_is_te18(self):
        m = PAX
        pax = paxgen.make_pax(m)
        te, _ = paxgen.to_te(m, pax)
        src, out = self.path("src"), self.path("out")
        paxgen.write(pax, src)
        zarrio.run("convert", f"--input-path={src}", f"--output-path={out}", *m.flags("fw2te"), "-q",
                   "--gen-fp8-meta", "--amax-history-len=3")
        want = {f"mdl_vars.fp8_metas.{mod}.{leaf}": a for mod, G, layers, amax in pax_modules(m, te)
                for leaf, a in spec.generate("te1.8", G, layers, amax, 3).items()}
        self.check_pax_output(out, m, want)

    def t5x_case(self, fmt, fused, hist, extra=(), margin=0, collection="fp8_metas", dtype="float32"):
        m = g.Model()
        t5x_ck, _ = g.build(m, layout="t5x", dtype=dtype)
        _, te_info = g.build(m, layout="te", fused=fused, dtype=dtype)
        src = t5x_ck.write(self.path("src"))
        out = self.path("out")
        args = ["convert", f"--input-path={src}", f"--output-path={out}", "--fw=t5x", "--direction=fw2te",
                *m.cli(), "-q", "--gen-fp8-meta", f"--fp8-meta-format={fmt}", f"--amax-history-len={hist}",
                *(["--t5x-fuse-qkv"] if fused else []), *extra]
        p = zarrio.run(*args)
        if fmt == "te2.3":
            self.assertIn("te-ckpt: warning: --fp8-meta-format=te2.3 with --fw=t5x is unconfirmed", p.stderr)
            self.assertIn("12.1", p.stderr)
        else:
            self.assertNotIn("warning", p.stderr)
        coll = spec.COLLECTION.get(fmt, collection)
        mods = t5x_modules(m, fused, te_info["target"], dtype)
        # T5X cross attention: query + kv fused, query + key + value apart
        cross = sorted(mod.split(".")[-1] for mod, *_ in mods if "layers_0.encoder_decoder_attention" in mod)
        self.assertEqual(cross, ["kv", "out", "query"] if fused else ["key", "out", "query", "value"])
        want = {}
        for mod, G, layers, amax in mods:
            for leaf, a in spec.generate(fmt, G, layers, amax, hist, True, margin).items():
                want[f"flax_mutables.{coll}.{mod}.{leaf}"] = a
        self.assertEqual(sorted(want), expected_names("flax_mutables.", coll, mods, fmt))
        self.check_t5x_output(out, want)
        # te2fw drops them again, with a note naming the format
        back = self.path("back")
        p = zarrio.run("convert", f"--input-path={out}", f"--output-path={back}", "--fw=t5x", "--direction=te2fw",
                       *m.cli(), *(["--t5x-fuse-qkv"] if fused else []))
        self.assertIn("FP8 metadata arrays dropped", p.stderr)
        self.assertIn(spec.f18_leaf("amax", 0, 0)[:0] + {"te1.7": "F17", "te1.8": "F18", "te2.3": "F23"}[fmt], p.stderr)
        idx, _ = g.read_index(back)
        self.assertNotIn("flax_mutables", idx["optimizer"])
        self.assertEqual(sorted(n for n in os.listdir(back) if n.startswith("flax_mutables")), [])

    def test_t5x_te17_fused(self):
        self.t5x_case("te1.7", True, 4)

    def test_t5x_te17_unfused_bf16(self):
        self.t5x_case("te1.7", False, 3, dtype="bfloat16")

    def test_t5x_te18_fused(self):
        self.t5x_case("te1.8", True, 5)

    def test_t5x_te18_unfused(self):
        self.t5x_case("te1.8", False, 2)

    def test_t5x_te23_fused_margin(self):
        self.t5x_case("te2.3", True, 4, ["--fp8-margin=2"], margin=2)

    def test_t5x_te23_unfused_custom_collection_history_1(self):
        self.t5x_case("te2.3", False, 1, ["--fp8-collection=_overwrite_with_gradient"],
                      collection="_overwrite_with_gradient")


class Migration(Fp8Case):
    """te2te on TE-side checkpoints whose FP8 metadata was written here with non-trivial histories."""

    def pax_source(self, m, fmt, n, seed=1):
        pax = paxgen.make_pax(m)
        te, _ = paxgen.to_te(m, pax)
        rng = np.random.default_rng(seed)
        mods = pax_modules(m, te)
        fp8 = {}
        for mod, G, layers, _ in mods:
            for leaf, a in spec.random_module(rng, fmt, G, layers, n).items():
                fp8[f"mdl_vars.{spec.COLLECTION.get(fmt, 'fp8_metas')}.{mod}.{leaf}"] = a
                te.arrays[f"mdl_vars.{spec.COLLECTION.get(fmt, 'fp8_metas')}.{mod}.{leaf}"] = paxgen.Arr(a, "<f4")
        src = self.path("src", m.layout)
        paxgen.write(te, src)
        return src, te, mods

    def te2te(self, src, out, m, fmt, *extra):
        return zarrio.run("convert", f"--input-path={src}", f"--output-path={out}", *m.flags("te2te"), "-q",
                          f"--fp8-meta-format={fmt}", *extra)

    def expect(self, root, coll, mods, arrays_by_module, src_fmt, dst_fmt, n2, margin=0):
        """{name: array} of every module migrated by the oracle; arrays_by_module[mod] = {leaf: a}."""
        want = {}
        for mod, G, layers, _ in mods:
            for leaf, a in spec.migrate_module(arrays_by_module[mod], src_fmt, dst_fmt, G, layers, n2,
                                               True, margin).items():
                want[f"{root}{coll}.{mod}.{leaf}"] = a
        return want

    @staticmethod
    def by_module(arrays, root, coll, mods):
        return {mod: {leaf: arrays[f"{root}{coll}.{mod}.{leaf}"] for leaf in spec.leaves(fmt_of(arrays, root, coll, mod), G)}
                for mod, G, _, _ in mods}

    def assert_rest_untouched(self, src_dir, out_dir, prefix_fp8):
        for n in os.listdir(src_dir):
            if any(n.startswith(p) for p in prefix_fp8):
                continue
            a, b = os.path.join(src_dir, n), os.path.join(out_dir, n)
            if os.path.isdir(a):
                self.assertEqual(sorted(os.listdir(a)), sorted(os.listdir(b)), n)
                for f in os.listdir(a):
                    self.assertEqual(read_bytes(os.path.join(a, f)), read_bytes(os.path.join(b, f)),
                                     f"{n}/{f} changed")
            else:
                self.assertEqual(read_bytes(a), read_bytes(b), f"{n} changed")

    def pax_round_trip(self, m, via, n=6):
        src, te, mods = self.pax_source(m, "te1.8", n)
        adir = paxgen.array_dir(src, m.layout)
        src_arrays = {name: a.data for name, a in te.arrays.items() if name.startswith("mdl_vars.fp8_metas.")}
        src_mod = {mod: {leaf: src_arrays[f"mdl_vars.fp8_metas.{mod}.{leaf}"] for leaf in spec.leaves("te1.8", G)}
                   for mod, G, _, _ in mods}
        mid, back = self.path("mid", m.layout), self.path("back", m.layout)
        self.te2te(src, mid, m, via)
        want_mid = self.expect("mdl_vars.", spec.COLLECTION.get(via, "fp8_metas"), mods, src_mod, "te1.8", via, n)
        self.check_pax_output(mid, m, want_mid)
        self.assert_rest_untouched(adir, paxgen.array_dir(mid, m.layout), ["mdl_vars.fp8_metas."])
        mid_mod = {mod: {leaf: want_mid[f"mdl_vars.{spec.COLLECTION.get(via, 'fp8_metas')}.{mod}.{leaf}"]
                         for leaf in spec.leaves(via, G)} for mod, G, _, _ in mods}
        self.te2te(mid, back, m, "te1.8")
        want_back = self.expect("mdl_vars.", "fp8_metas", mods, mid_mod, via, "te1.8", n)
        self.check_pax_output(back, m, want_back)
        self.assert_rest_untouched(adir, paxgen.array_dir(back, m.layout), ["mdl_vars.fp8_metas."])
        # The histories come back exactly where 8.2 preserves them (F17: all; F23: all but the
        # oldest entry H[1], which F23 folds into its scale).
        for name, h in src_arrays.items():
            if "amax_" not in name:
                continue
            got, _ = zarrio.read_array(os.path.join(paxgen.array_dir(back, m.layout), name))
            if via == "te1.7":
                self.assertEqual(got.tobytes(), h.tobytes(), name)
            else:
                self.assertEqual(np.delete(got, 1, axis=-1).tobytes(), np.delete(h, 1, axis=-1).tobytes(), name)
                self.assertTrue(np.all(got[..., 1] >= np.max(h, axis=-1) * F32(0.999)), name)

    def test_pax_f18_f17_f18_repeat_kv_packed(self):
        self.pax_round_trip(variant(PAX, repeat=True, L=3, split_qkv=True, kv_packed=True, K=2, gated=True), "te1.7")

    def test_pax_f18_f17_f18_nonrepeat_layout_1x(self):
        self.pax_round_trip(variant(PAX, layout="1.x"), "te1.7")

    def test_pax_te23_refused(self):
        src, _, _ = self.pax_source(PAX, "te1.8", 4)
        p = zarrio.run("convert", f"--input-path={src}", f"--output-path={self.path('out')}", *PAX.flags("te2te"),
                       "--fp8-meta-format=te2.3", check=False)
        self.assertEqual(p.returncode, 1)
        self.assertIn("PR #1694", p.stderr)
        self.assertFalse(os.path.exists(self.path("out")))

    def t5x_source(self, fmt, n, fused=True, collection="fp8_metas", seed=2):
        m = g.Model()
        ck, info = g.build(m, layout="te", fused=fused)
        mods = t5x_modules(m, fused, info["target"], "float32")
        rng = np.random.default_rng(seed)
        coll = spec.COLLECTION.get(fmt, collection)
        arrays = {}
        for mod, G, layers, _ in mods:
            arrays[mod] = spec.random_module(rng, fmt, G, layers, n)
            for leaf, a in arrays[mod].items():
                ck.leaves[f"flax_mutables.{coll}.{mod}.{leaf}"] = g.ArrayLeaf(a, "float32")
        src = ck.write(self.path("src"))
        return m, src, mods, arrays

    def t5x_te2te(self, m, src, out, fmt, *extra, fused=True):
        return zarrio.run("convert", f"--input-path={src}", f"--output-path={out}", "--fw=t5x", "--direction=te2te",
                          *m.cli(), *(["--t5x-fuse-qkv"] if fused else []), "-q", f"--fp8-meta-format={fmt}", *extra)

    def assert_t5x_rest(self, src, out):
        si, _ = g.read_index(src)
        oi, _ = g.read_index(out)
        sf = {k: v for k, v in g.flatten_index(si["optimizer"]).items() if not k.startswith("flax_mutables.")}
        of = {k: v for k, v in g.flatten_index(oi["optimizer"]).items() if not k.startswith("flax_mutables.")}
        self.assertEqual(sf, of, "every non-FP8 index leaf is kept")
        self.assert_rest_untouched(src, out, ["flax_mutables.", "checkpoint"])

    def test_t5x_f18_f23_f18(self):
        n = 6
        m, src, mods, arrays = self.t5x_source("te1.8", n)
        mid, back = self.path("mid"), self.path("back")
        p = self.t5x_te2te(m, src, mid, "te2.3")
        self.assertIn("unconfirmed", p.stderr)
        want_mid = self.expect("flax_mutables.", "fp8_metas", mods, arrays, "te1.8", "te2.3", n)
        self.check_t5x_output(mid, want_mid)
        self.assert_t5x_rest(src, mid)
        mid_mod = {mod: {leaf: want_mid[f"flax_mutables.fp8_metas.{mod}.{leaf}"] for leaf in spec.leaves("te2.3", G)}
                   for mod, G, _, _ in mods}
        self.t5x_te2te(m, mid, back, "te1.8")
        want_back = self.expect("flax_mutables.", "fp8_metas", mods, mid_mod, "te2.3", "te1.8", n)
        self.check_t5x_output(back, want_back)
        self.assert_t5x_rest(src, back)
        for mod, G, _, _ in mods:
            for gi in range(G):
                for t in range(3):
                    h = arrays[mod][spec.f18_leaf("amax", t, gi)]
                    got, _ = zarrio.read_array(os.path.join(back, f"flax_mutables.fp8_metas.{mod}.{spec.f18_leaf('amax', t, gi)}"))
                    self.assertEqual(np.delete(got, 1).tobytes(), np.delete(h, 1).tobytes(), mod)
                    # the entry F23 folded into its scale comes back as the history maximum
                    self.assertAlmostEqual(float(got[1]), float(np.max(h)), delta=float(np.max(h)) * 1e-5)
                    # F18 -> F23 moves H[0] (newest) to the end and H[2..] to 1..n-2
                    mh = want_mid[f"flax_mutables.fp8_metas.{mod}.{spec.f23_leaf('amax', t, gi, G)}"]
                    self.assertEqual(mh[0], 0)
                    self.assertEqual(mh[-1], h[0])
                    self.assertEqual(list(mh[1:-1]), list(h[2:]))

    def test_t5x_f18_f17_f18_unfused(self):
        n = 5
        m, src, mods, arrays = self.t5x_source("te1.8", n, fused=False)
        mid, back = self.path("mid"), self.path("back")
        self.t5x_te2te(m, src, mid, "te1.7", fused=False)
        want_mid = self.expect("flax_mutables.", "fp8_meta_collection", mods, arrays, "te1.8", "te1.7", n)
        self.check_t5x_output(mid, want_mid)
        mid_mod = {mod: {leaf: want_mid[f"flax_mutables.fp8_meta_collection.{mod}.{leaf}"]
                         for leaf in spec.leaves("te1.7", G)} for mod, G, _, _ in mods}
        self.t5x_te2te(m, mid, back, "te1.8", fused=False)
        self.check_t5x_output(back, self.expect("flax_mutables.", "fp8_metas", mods, mid_mod, "te1.7", "te1.8", n))
        for mod, G, _, _ in mods:
            for leaf in spec.leaves("te1.8", G):
                if leaf.startswith("amax_"):
                    got, _ = zarrio.read_array(os.path.join(back, f"flax_mutables.fp8_metas.{mod}.{leaf}"))
                    self.assertEqual(got.tobytes(), arrays[mod][leaf].tobytes(), f"{mod}.{leaf}")
        self.assert_t5x_rest(src, back)

    def test_t5x_resize_f18_n_to_smaller_and_back(self):
        n, n2 = 6, 3
        m, src, mods, arrays = self.t5x_source("te1.8", n)
        small, back = self.path("small"), self.path("back")
        self.t5x_te2te(m, src, small, "te1.8", f"--amax-history-len={n2}")
        want_small = self.expect("flax_mutables.", "fp8_metas", mods, arrays, "te1.8", "te1.8", n2)
        self.check_t5x_output(small, want_small)
        small_mod = {mod: {leaf: want_small[f"flax_mutables.fp8_metas.{mod}.{leaf}"] for leaf in spec.leaves("te1.8", G)}
                     for mod, G, _, _ in mods}
        self.t5x_te2te(m, small, back, "te1.8", f"--amax-history-len={n}")
        self.check_t5x_output(back, self.expect("flax_mutables.", "fp8_metas", mods, small_mod, "te1.8", "te1.8", n))
        for mod, G, _, _ in mods:
            for leaf in spec.leaves("te1.8", G):
                got, _ = zarrio.read_array(os.path.join(back, f"flax_mutables.fp8_metas.{mod}.{leaf}"))
                h = arrays[mod][leaf]
                if leaf.startswith("amax_"):
                    # truncation kept the newest (H[0]) and the most recent H[4], H[5]; growth adds zeros
                    # as the oldest slots
                    self.assertEqual(list(got), [h[0], 0, 0, 0, h[4], h[5]], f"{mod}.{leaf}")
                else:
                    self.assertEqual(got.tobytes(), h.tobytes(), f"{mod}.{leaf}: F18 scales are kept")

    def test_t5x_resize_f23_custom_collection(self):
        n, n2 = 6, 3
        m, src, mods, arrays = self.t5x_source("te2.3", n, collection="_overwrite_with_gradient")
        small, back = self.path("small"), self.path("back")
        coll = "_overwrite_with_gradient"
        self.t5x_te2te(m, src, small, "te2.3", f"--amax-history-len={n2}", f"--fp8-collection={coll}")
        want_small = self.expect("flax_mutables.", coll, mods, arrays, "te2.3", "te2.3", n2)
        self.check_t5x_output(small, want_small)
        small_mod = {mod: {leaf: want_small[f"flax_mutables.{coll}.{mod}.{leaf}"] for leaf in spec.leaves("te2.3", G)}
                     for mod, G, _, _ in mods}
        self.t5x_te2te(m, small, back, "te2.3", f"--amax-history-len={n}", f"--fp8-collection={coll}")
        self.check_t5x_output(back, self.expect("flax_mutables.", coll, mods, small_mod, "te2.3", "te2.3", n))
        for mod, G, _, _ in mods:
            for gi in range(G):
                for t in range(3):
                    hl, sl = spec.f23_leaf("amax", t, gi, G), spec.f23_leaf("scale", t, gi, G)
                    G0 = arrays[mod][hl]
                    got, _ = zarrio.read_array(os.path.join(back, f"flax_mutables.{coll}.{mod}.{hl}"))
                    self.assertEqual(list(got), [0, 0, 0, 0, G0[4], G0[5]], f"{mod}.{hl}")
                    s, _ = zarrio.read_array(os.path.join(back, f"flax_mutables.{coll}.{mod}.{sl}"))
                    M = spec.fp8_max(t)
                    self.assertEqual(s[0], F32(M / F32(np.max(G0[3:]))), f"{mod}.{sl}: scale over the last 3 amaxes")

    def test_t5x_f23_to_f17_composes_through_f18(self):
        n = 5
        m, src, mods, arrays = self.t5x_source("te2.3", n)
        out = self.path("out")
        self.t5x_te2te(m, src, out, "te1.7", "--fp8-margin=1")
        self.check_t5x_output(out, self.expect("flax_mutables.", "fp8_meta_collection", mods, arrays, "te2.3",
                                               "te1.7", n, margin=1))
        self.assert_t5x_rest(src, out)

    def test_t5x_f17_to_f18_warns_about_other_maxima(self):
        n = 4
        m, src, mods, arrays = self.t5x_source("te1.7", n)   # HYBRID fp8_max rows
        out = self.path("out")
        p = zarrio.run("convert", f"--input-path={src}", f"--output-path={out}", "--fw=t5x", "--direction=te2te",
                       *m.cli(), "--t5x-fuse-qkv", "--fp8-meta-format=te1.8", "--fp8-format=e4m3")
        self.assertIn("te-ckpt: warning:", p.stderr)
        self.assertIn("fp8_max", p.stderr)
        self.assertIn("57344", p.stderr)
        want = {}
        for mod, G, layers, _ in mods:
            for leaf, a in spec.migrate_module(arrays[mod], "te1.7", "te1.8", G, layers, n, False, 0).items():
                want[f"flax_mutables.fp8_metas.{mod}.{leaf}"] = a
        self.check_t5x_output(out, want)

    def test_t5x_f18_to_f23_with_shrink_equals_shrink_then_f23(self):
        n, n2 = 6, 3
        m, src, mods, arrays = self.t5x_source("te1.8", n)
        direct, small, via = self.path("direct"), self.path("small"), self.path("via")
        self.t5x_te2te(m, src, direct, "te2.3", f"--amax-history-len={n2}")
        self.check_t5x_output(direct, self.expect("flax_mutables.", "fp8_metas", mods, arrays, "te1.8", "te2.3", n2))
        self.t5x_te2te(m, src, small, "te1.8", f"--amax-history-len={n2}")
        self.t5x_te2te(m, small, via, "te2.3")
        # section 8.3: resizing before or after an F18 -> F23 migration gives the same result (algo max)
        for name in (x for x in zarrio.list_arrays(direct) if x.startswith("flax_mutables.")):
            a, _ = zarrio.read_array(os.path.join(direct, name))
            b, _ = zarrio.read_array(os.path.join(via, name))
            self.assertEqual(a.tobytes(), b.tobytes(), name)

    def test_pax_f18_repeat_kv_packed_generation_then_f17_equals_f17_generation(self):
        # section 9.3: generation in F17 = generation in F18 followed by the F18 -> F17 migration
        m = variant(PAX, repeat=True, L=3, split_qkv=True, kv_packed=True, K=2, gated=True)
        pax = paxgen.make_pax(m)
        src = self.path("src")
        paxgen.write(pax, src)
        f18, f17, direct = self.path("f18"), self.path("f17"), self.path("direct")
        base = ["convert", f"--input-path={src}", *m.flags("fw2te"), "-q", "--gen-fp8-meta", "--amax-history-len=4"]
        zarrio.run(*base, f"--output-path={f18}")
        zarrio.run(*base, f"--output-path={direct}", "--fp8-meta-format=te1.7")
        self.te2te(f18, f17, m, "te1.7")
        te, _ = paxgen.to_te(m, pax)
        want = {f"mdl_vars.fp8_metas.{mod}.{leaf}": a for mod, G, layers, amax in pax_modules(m, te)
                for leaf, a in spec.generate("te1.8", G, layers, amax, 4).items()}
        self.check_pax_output(f18, m, want)
        names = self.pax_fp8_arrays(direct)
        self.assertEqual(self.pax_fp8_arrays(f17), names)
        for n in names:
            a, _ = zarrio.read_array(os.path.join(direct, n))
            b, _ = zarrio.read_array(os.path.join(f17, n))
            self.assertEqual(a.tobytes(), b.tobytes(), n)

    def test_inspect_names_format_and_te2fw_drops_f17(self):
        m, src, mods, _ = self.t5x_source("te1.7", 4)
        p = zarrio.run("inspect", src, "--json")
        info = json.loads(p.stdout)
        n_arrays = sum(4 for _ in mods)
        self.assertEqual(info["fp8_metadata"], [{"format": "te1.7", "collection": "fp8_meta_collection",
                                                 "arrays": n_arrays}])
        text = zarrio.run("inspect", src).stdout
        self.assertIn("FP8 metadata: F17 (TE 0.8-1.7, fp8_meta_collection) in collection fp8_meta_collection", text)
        out = self.path("out")
        p = zarrio.run("convert", f"--input-path={src}", f"--output-path={out}", "--fw=t5x", "--direction=te2fw",
                       *m.cli(), "--t5x-fuse-qkv")
        self.assertIn(f"{n_arrays} FP8 metadata arrays dropped", p.stderr)
        idx, _ = g.read_index(out)
        self.assertNotIn("flax_mutables", idx["optimizer"])

    def test_te2fw_drops_f23_in_custom_collection_pax_layout(self):
        m, src, mods, _ = self.t5x_source("te2.3", 3, collection="_overwrite_with_gradient")
        out = self.path("out")
        p = zarrio.run("convert", f"--input-path={src}", f"--output-path={out}", "--fw=t5x", "--direction=te2fw",
                       *m.cli(), "--t5x-fuse-qkv")
        self.assertIn("F23", p.stderr)
        idx, _ = g.read_index(out)
        self.assertNotIn("flax_mutables", idx["optimizer"])


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def fmt_of(arrays, root, coll, mod):
    return "te1.7" if f"{root}{coll}.{mod}.fp8_max" in arrays else "te1.8"


if __name__ == "__main__":
    unittest.main()
