"""Pax (Praxis) <-> TransformerEngine conversion tests for te-ckpt, checked against spec/MAPPING.md.

Every expected array is computed here with numpy from the mapping table (paxgen.py), independently of
te-ckpt; values are compared bit for bit, copied arrays and files byte for byte, and every conversion
is converted back and compared with its source.

Run: TE_CKPT=/path/to/te-ckpt /usr/bin/python3 -m unittest -v pax_conversion_test   (from tests/py)
"""
import hashlib
import json
import os
import re
import shutil
import tempfile
import unittest

import numpy as np

import paxgen
import zarrio
from paxgen import Model, variant

BASE = Model(L=2, N=4, H=4, E=16, F=32)
# Thousands of tiny files are written and deleted: a RAM disk keeps the suite fast where there is one.
TMP_ROOT = os.environ.get("TE_CKPT_TEST_TMP") or ("/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
OTHER = {"fw2te": "te2fw", "te2fw": "fw2te"}


def full_digest(path):
    """SHA-256 over every directory and file name and every file's bytes under `path`."""
    h = hashlib.sha256()
    for root, dirs, files in os.walk(path):
        dirs.sort()
        h.update(b"D" + os.path.relpath(root, path).encode())
        for name in sorted(files):
            full = os.path.join(root, name)
            h.update(b"F" + os.path.relpath(full, path).encode())
            with open(full, "rb") as f:
                h.update(f.read())
    return h.hexdigest()


def as_bytes(data, zdtype):
    return np.ascontiguousarray(data, dtype=zarrio.numpy_dtype(zdtype)).tobytes()


def to_f64(data, zdtype):
    if zdtype == "bfloat16":
        return zarrio.bf16_to_f32(data).astype(np.float64)
    return np.asarray(data, dtype=np.float64)


def shape_text(shape):
    return ",".join(str(int(s)) for s in shape)


def squash(text):
    """Message text without whitespace, so that shapes read `3,16,4,4` whatever the spacing."""
    return re.sub(r"\s+", "", text)


class PaxTest(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="te-ckpt-pax-", dir=TMP_ROOT)
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    # ------------------------------------------------------------------ helpers
    def path(self, name, layout):
        p = os.path.join(self.tmp, name)
        return os.path.join(p, "checkpoint_00001000") if layout == "1.x" else p

    def convert(self, src, dst, m, direction, *extra, check=True, embed_dim=True):
        return zarrio.run("convert", f"--input-path={src}", f"--output-path={dst}",
                          *m.flags(direction, embed_dim=embed_dim), "-q", *extra, check=check)

    def assert_no_temp_leftovers(self):
        for root, dirs, files in os.walk(self.tmp):
            for n in dirs + files:
                self.assertNotIn("te-ckpt-tmp", n, f"temporary entry left behind: {os.path.join(root, n)}")

    def assert_same_folder(self, a, b):
        la, lb = sorted(os.listdir(a)), sorted(os.listdir(b))
        self.assertEqual(la, lb, f"{b}: files differ from the source folder {a}")
        for n in la:
            with open(os.path.join(a, n), "rb") as f1, open(os.path.join(b, n), "rb") as f2:
                self.assertEqual(f1.read(), f2.read(), f"{os.path.join(b, n)} is not byte-identical to the source")

    def assert_ckpt(self, out_root, expected, src_root, src_layout, copied, codec=None):
        """`out_root` holds exactly `expected` (names, .zarray dtype, shape, bits); the arrays in
        `copied` are byte-identical to the source's folders; extra files byte-identical."""
        self.assertTrue(os.path.isdir(out_root), f"no output at {out_root}")
        adir = paxgen.array_dir(out_root, expected.layout)
        sdir = paxgen.array_dir(src_root, src_layout)
        got = zarrio.list_arrays(adir)
        missing = sorted(set(expected.arrays) - set(got))
        extra = sorted(set(got) - set(expected.arrays))
        self.assertEqual((missing, extra), ([], []), "output arrays differ from the expected ones "
                         "(missing, unexpected)")
        for name, a in expected.arrays.items():
            data, zd = zarrio.read_array(os.path.join(adir, name))
            self.assertEqual(zd, a.dtype, f"{name}: .zarray dtype")
            self.assertEqual(list(data.shape), list(np.shape(a.data)), f"{name}: shape")
            self.assertTrue(as_bytes(data, zd) == as_bytes(a.data, a.dtype), f"{name}: values differ")
            if name in copied:
                self.assert_same_folder(os.path.join(sdir, name), os.path.join(adir, name))
            elif codec is not None and not name.startswith("mdl_vars.fp8_metas."):
                meta = zarrio.read_metadata(os.path.join(adir, name))
                self.assertEqual((meta["compressor"] or {}).get("id"), codec, f"{name}: output codec")
        others = sorted(set(os.listdir(adir)) - set(got))
        self.assertEqual(others, sorted(expected.files), "non-array entries of the output")
        for rel in expected.files:
            with open(os.path.join(sdir, rel), "rb") as f1, open(os.path.join(adir, rel), "rb") as f2:
                self.assertEqual(f1.read(), f2.read(), f"{rel} is not byte-identical")
        if expected.layout == "1.x":
            self.assertEqual(sorted(os.listdir(out_root)), ["metadata", "state"])
            self.assert_metadata(out_root, expected)
        self.assert_no_temp_leftovers()

    def assert_metadata(self, out_root, expected):
        with open(os.path.join(out_root, "metadata", "metadata")) as f:
            md = json.load(f)
        self.assertEqual(md.get("version"), 1.1)
        leaves = paxgen.flatten_metadata(md)
        want = expected.mdl_vars()
        self.assertEqual(sorted(leaves), sorted(want), "metadata/metadata must list exactly the output mdl_vars")
        for name, a in want.items():
            leaf = leaves[name]
            self.assertEqual(leaf["unpadded_shape"], list(np.shape(a.data)), f"metadata shape of {name}")
            self.assertEqual(leaf["dtype"], "bfloat16" if a.dtype == "bfloat16" else str(np.dtype(a.dtype)),
                             f"metadata dtype of {name}")
            self.assertIs(leaf["_array_metadata_tag"], True)
            self.assertIs(leaf["is_optax_masked_node"], False)

    def assert_fails(self, args, watch, out, needles=(), any_needles=()):
        """te-ckpt `args` must fail with one `te-ckpt: error:` line containing every needle (and at
        least one of any_needles), leave no `out` and no temporary folder, and change nothing in
        the `watch` folders."""
        before = {w: full_digest(w) for w in watch}
        p = zarrio.run(*args, check=False)
        self.assertEqual(p.returncode, 1, f"expected exit 1, got {p.returncode}; stderr: {p.stderr}")
        lines = [l for l in p.stderr.splitlines() if l.startswith("te-ckpt: error:")]
        self.assertEqual(len(lines), 1, f"expected one error line, stderr: {p.stderr!r}")
        msg = lines[0]
        for n in needles:
            self.assertIn(n.lower(), msg.lower(), f"error message should mention {n!r}: {msg}")
        if any_needles:
            self.assertTrue(any(n.lower() in msg.lower() for n in any_needles),
                            f"error message should mention one of {any_needles}: {msg}")
        if out is not None:
            self.assertFalse(os.path.exists(out), f"output {out} was left behind")
        self.assert_no_temp_leftovers()
        for w in watch:
            self.assertEqual(full_digest(w), before[w], f"{w} was modified")
        return msg

    def build(self, m, side="pax", seed=0, name="src"):
        """Writes the `side` checkpoint of model `m`; returns (root, pax, te, copied)."""
        pax = paxgen.make_pax(m, seed)
        te, copied = paxgen.to_te(m, pax)
        root = self.path(name, m.layout)
        paxgen.write(pax if side == "pax" else te, root)
        return root, pax, te, copied

    def scenario(self, m, direction, weight_only=False, extra=(), seed=0, fp8_hist=None, roundtrip=True):
        """Converts a synthetic checkpoint of `m` in `direction`, checks the result against MAPPING.md,
        converts it back and checks that against the source. Returns (out root, expected Ckpt)."""
        src_side = "pax" if direction == "fw2te" else "te"
        src_root, pax, te, copied = self.build(m, src_side, seed)
        src = pax if direction == "fw2te" else te
        if direction == "fw2te":
            exp, _ = paxgen.to_te(m, pax, weight_only)
            if fp8_hist is not None:
                for n, a in paxgen.fp8_expected(m, te, fp8_hist).items():
                    exp.arrays[n] = paxgen.Arr(a, "<f4")
        else:
            exp = paxgen.Ckpt({n: a for n, a in pax.arrays.items() if not (weight_only and paxgen.is_moment(n))},
                              files=dict(pax.files), layout=pax.layout, codec=pax.codec)
        wo = ["--weight-only"] if weight_only else []
        digest = full_digest(os.path.dirname(src_root) if m.layout == "1.x" else src_root)
        out = self.path("out", m.layout)
        self.convert(src_root, out, m, direction, *wo, *extra)
        self.assertEqual(full_digest(os.path.dirname(src_root) if m.layout == "1.x" else src_root), digest,
                         "the input checkpoint was modified")
        self.assert_ckpt(out, exp, src_root, m.layout, copied, codec=m.codec)
        if roundtrip:
            back = self.path("back", m.layout)
            self.convert(out, back, m, OTHER[direction], *wo)
            want = paxgen.Ckpt({n: a for n, a in src.arrays.items() if not (weight_only and paxgen.is_moment(n))},
                               files=dict(src.files), layout=src.layout, codec=src.codec)
            self.assert_ckpt(back, want, src_root, m.layout, copied, codec=m.codec)
        return out, exp

    # ------------------------------------------------------------------ the four seed modes
    def test_seed_fw2te_nonrepeat_with_optimizer(self):
        self.scenario(BASE, "fw2te")

    def test_seed_fw2te_repeat_with_optimizer(self):
        self.scenario(variant(BASE, repeat=True, L=3), "fw2te")

    def test_seed_te2fw_nonrepeat_with_optimizer(self):
        self.scenario(BASE, "te2fw")

    def test_seed_te2fw_repeat_with_optimizer(self):
        self.scenario(variant(BASE, repeat=True, L=3), "te2fw")

    def test_seed_fw2te_nonrepeat_weight_only(self):
        self.scenario(BASE, "fw2te", weight_only=True)

    def test_seed_fw2te_repeat_weight_only(self):
        self.scenario(variant(BASE, repeat=True), "fw2te", weight_only=True)

    def test_seed_te2fw_nonrepeat_weight_only(self):
        self.scenario(BASE, "te2fw", weight_only=True)

    def test_seed_te2fw_repeat_weight_only(self):
        self.scenario(variant(BASE, repeat=True), "te2fw", weight_only=True)

    def test_weight_only_checkpoint_without_optimizer_state(self):
        # --weight-only on a checkpoint that holds only weights (what the original flag meant)
        self.scenario(variant(BASE, opt=False), "fw2te", weight_only=True)

    def test_sharded_repeat_prefix_moments_are_converted(self):
        # MAPPING.md 1: another group mirroring the parameters (p#L#sstage) is treated the same way
        self.scenario(variant(BASE, repeat=True, prefix_sharding="sstage"), "fw2te")

    # ------------------------------------------------------------------ --kernel-chunk-size
    def kernel_chunk_case(self, direction, repeat, C, m=None):
        m = m or variant(BASE, repeat=repeat, split_qkv=True, kv_packed=True, K=2, gated=True)
        out, exp = self.scenario(m, direction, extra=[f"--kernel-chunk-size={C}"])
        self.check_kernel_chunks(m, out, exp, C)
        if not m.kv_packed:
            return
        # combined QKV too
        m2 = variant(m, split_qkv=False, kv_packed=False, K=None)
        for d in ("src", "out", "back"):
            shutil.rmtree(os.path.join(self.tmp, d))
        out, exp = self.scenario(m2, direction, extra=[f"--kernel-chunk-size={C}"])
        self.check_kernel_chunks(m2, out, exp, C)

    def check_kernel_chunks(self, m, out, exp, C):
        e_axis = {  # axis of E in each kernel (without the repeat axis)
            "attention.qkv.kernel": 0, "attention.query.kernel": 0, "attention.kv.kernel": 0,
            "attention.out.kernel": 1, "mlp.wi_kernel": 0, "mlp.wo_kernel": 1,
            "self_attention.combined_qkv.w": 1, "self_attention.query.w": 0, "self_attention.key.w": 0,
            "self_attention.value.w": 0, "self_attention.post.w": 0, "ff_layer.ffn_layer1.linear.w": 0,
            "ff_layer.ffn_layer1_gate.linear.w": 0, "ff_layer.ffn_layer2.linear.w": 1}
        seen = 0
        for name, a in exp.arrays.items():
            if not name.startswith("mdl_vars.params.lm.transformer."):
                continue
            suffix = next((s for s in e_axis if name.endswith("." + s)), None)
            if suffix is None:
                continue
            ax = e_axis[suffix] + (1 if m.repeat else 0)
            shape = list(np.shape(a.data))
            self.assertEqual(shape[ax], m.E)
            want = list(shape)
            want[ax] = min(C, m.E)
            meta = zarrio.read_metadata(os.path.join(paxgen.array_dir(out, m.layout), name))
            self.assertEqual(meta["chunks"], want, f"{name}: chunks with --kernel-chunk-size={C}")
            seen += 1
        self.assertGreaterEqual(seen, 4)

    def test_kernel_chunk_size_fw2te_nonrepeat(self):
        self.kernel_chunk_case("fw2te", False, 8)

    def test_kernel_chunk_size_fw2te_repeat(self):
        self.kernel_chunk_case("fw2te", True, 8)

    def test_kernel_chunk_size_te2fw_nonrepeat(self):
        self.kernel_chunk_case("te2fw", False, 8)

    def test_kernel_chunk_size_te2fw_repeat(self):
        self.kernel_chunk_case("te2fw", True, 8)

    def test_kernel_chunk_size_not_dividing_embed_dim_fw2te(self):
        self.kernel_chunk_case("fw2te", False, 6)

    def test_kernel_chunk_size_not_dividing_embed_dim_te2fw(self):
        self.kernel_chunk_case("te2fw", True, 6)

    # ------------------------------------------------------------------ semantics
    def pax_forward(self, m, get, x, attn):
        """Pax einsum semantics of one layer: q, k, v [N|K, H]; post output [E]; MLP outputs."""
        H, K = m.H, m.KV
        bias = not m.skip_bias
        if not m.split_qkv:
            w = get("self_attention.combined_qkv.w")
            q, k, v = (np.einsum("e,end->nd", x, w[i]) for i in range(3))
            if bias:
                b = get("self_attention.combined_qkv.b")
                q, k, v = q + b[0], k + b[1], v + b[2]
        else:
            def proj(n):
                w = get(f"self_attention.{n}.w")
                y = np.einsum("e,ed->d", x, w)[None] if w.ndim == 2 else np.einsum("e,end->nd", x, w)
                if bias:
                    b = get(f"self_attention.{n}.b")
                    y = y + (b[None] if b.ndim == 1 else b)
                return y
            q, k, v = proj("query"), proj("key"), proj("value")
        out = np.einsum("nh,enh->e", attn, get("self_attention.post.w"))
        if bias:
            out = out + get("self_attention.post.b")
        h1 = x @ get("ff_layer.ffn_layer1.linear.w")
        if bias:
            h1 = h1 + get("ff_layer.ffn_layer1.bias.b")
        pre = {"linear": h1}
        if m.gated:
            hg = x @ get("ff_layer.ffn_layer1_gate.linear.w")
            if bias:
                hg = hg + get("ff_layer.ffn_layer1_gate.bias.b")
            pre["gate"] = hg
            y = silu(hg) * h1                                      # act(x W_gate) * (x W_1)
        else:
            y = silu(h1)
        mlp = y @ get("ff_layer.ffn_layer2.linear.w")
        if bias:
            mlp = mlp + get("ff_layer.ffn_layer2.bias.b")
        return dict(q=q, k=k.reshape(K, H), v=v.reshape(K, H), out=out, mlp=mlp, **pre)

    def te_forward(self, m, get, x, attn):
        """TE semantics of the same layer from TE arrays."""
        E, N, H, K, D = m.E, m.N, m.H, m.KV, m.D
        bias = not m.skip_bias
        if not m.kv_packed:
            ker = get("attention.qkv.kernel")                     # [E, 3, D]
            y = x @ ker.reshape(E, 3 * D)
            if bias:
                y = y + get("attention.qkv.bias").reshape(3 * D)
            q, k, v = (t.reshape(N, H) for t in np.split(y, 3))
        else:
            q = x @ get("attention.query.kernel")                 # [E, D]
            kv = x @ get("attention.kv.kernel").reshape(E, 2 * K * H)
            if bias:
                q = q + get("attention.query.bias")
                kv = kv + get("attention.kv.bias").reshape(2 * K * H)
            q = q.reshape(N, H)
            k, v = (t.reshape(K, H) for t in np.split(kv, 2))
        out = attn.reshape(D) @ get("attention.out.kernel")       # [D, E]
        if bias:
            out = out + get("attention.out.bias")
        wi = np.einsum("e,eaf->af", x, get("mlp.wi_kernel"))      # [A, F]
        if bias:
            wi = wi + get("mlp.wi_bias")
        res = {}
        if m.gated:
            # TE <= 1.7 with ('linear', act): act i applies to wi[:, i]; TE >= 1.8: act on index 0
            lin, gate = (wi[1], wi[0]) if m.activated_first else (wi[0], wi[1])
            res.update(linear=lin, gate=gate)
            y = silu(gate) * lin
        else:
            res.update(linear=wi[0])
            y = silu(wi[0])
        mlp = y @ get("mlp.wo_kernel")
        if bias:
            mlp = mlp + get("mlp.wo_bias")
        return dict(q=q, k=k, v=v, out=out, mlp=mlp, **res)

    def semantic_case(self, m, direction):
        side = "pax" if direction == "fw2te" else "te"
        src_root, pax, te, _ = self.build(m, side, seed=11)
        out = self.path("out", m.layout)
        self.convert(src_root, out, m, direction)
        sdir, odir = paxgen.array_dir(src_root, m.layout), paxgen.array_dir(out, m.layout)
        pax_dir, te_dir = (sdir, odir) if direction == "fw2te" else (odir, sdir)
        rng = np.random.default_rng(5)
        for prefix in m.pax_layer_prefixes():
            for l in range(m.L if m.repeat else 1):
                def reader(folder, base):
                    def get(suffix):
                        d, zd = zarrio.read_array(os.path.join(folder, f"mdl_vars.params.{base}.{suffix}"))
                        d = to_f64(d, zd)
                        return d[l] if m.repeat else d
                    return get
                for _ in range(3):
                    x = rng.standard_normal(m.E)
                    attn = rng.standard_normal((m.N, m.H))
                    p = self.pax_forward(m, reader(pax_dir, prefix), x, attn)
                    t = self.te_forward(m, reader(te_dir, m.te_layer_prefix(prefix)), x, attn)
                    self.assertEqual(sorted(p), sorted(t))
                    for key in p:
                        np.testing.assert_allclose(t[key], p[key], rtol=1e-12, atol=1e-12,
                                                   err_msg=f"{prefix} layer {l}: {key} differs")

    def test_semantic_fw2te_combined_qkv(self):
        self.semantic_case(BASE, "fw2te")

    def test_semantic_fw2te_repeat_gated_linear_first(self):
        self.semantic_case(variant(BASE, repeat=True, L=3, gated=True), "fw2te")

    def test_semantic_fw2te_gated_activated_first_split_qkv(self):
        self.semantic_case(variant(BASE, gated=True, activated_first=True, split_qkv=True), "fw2te")

    def test_semantic_fw2te_gqa_embed_ne_heads(self):
        self.semantic_case(variant(BASE, E=24, N=4, H=8, split_qkv=True, kv_packed=True, K=2), "fw2te")

    def test_semantic_fw2te_repeat_mqa_no_head_axis(self):
        self.semantic_case(variant(BASE, repeat=True, split_qkv=True, kv_packed=True, K=1,
                                   mqa_no_head_axis=True, skip_bias=True, gated=True), "fw2te")

    def test_semantic_te2fw_repeat_gqa_gated(self):
        self.semantic_case(variant(BASE, repeat=True, split_qkv=True, kv_packed=True, K=2, gated=True,
                                   activated_first=True), "te2fw")

    def test_semantic_te2fw_combined_bf16(self):
        self.semantic_case(variant(BASE, dtype="bfloat16", E=24), "te2fw")

    # ------------------------------------------------------------------ FP8 metadata
    def fp8_case(self, m, hist=None):
        extra = ["--gen-fp8-meta"] + ([f"--amax-history-len={hist}"] if hist is not None else [])
        out, exp = self.scenario(m, "fw2te", extra=extra, fp8_hist=hist or 1024)
        fp8 = [n for n in exp.arrays if n.startswith("mdl_vars.fp8_metas.")]
        gemms = (2 if m.kv_packed else 1) + 1 + 2       # qkv | query + kv; out; mlp wi + wo
        per_layer = gemms * 6                            # amax_{i,w,g} + scale_{i,w,g}
        self.assertEqual(len(fp8), per_layer * (1 if m.repeat else m.L))
        for n in fp8:   # sanity of the independently computed expectation itself
            a = exp.arrays[n].data
            if ".amax_w_" in n:
                self.assertTrue(np.all(a[..., 0] > 0))

    def test_fp8_nonrepeat_qkv_packed(self):
        self.fp8_case(BASE, hist=4)

    def test_fp8_repeat_qkv_packed(self):
        self.fp8_case(variant(BASE, repeat=True, L=3), hist=5)

    def test_fp8_nonrepeat_kv_packed_gated(self):
        self.fp8_case(variant(BASE, split_qkv=True, kv_packed=True, K=2, gated=True), hist=3)

    def test_fp8_repeat_kv_packed_gated_bf16(self):
        self.fp8_case(variant(BASE, repeat=True, L=3, split_qkv=True, kv_packed=True, K=2, gated=True,
                              activated_first=True, dtype="bfloat16"), hist=2)

    def test_fp8_layout_1x_metadata_and_default_history(self):
        self.fp8_case(variant(BASE, layout="1.x", repeat=True, gated=True))

    def test_fp8_error_with_te2fw(self):
        root, *_ = self.build(BASE, "te")
        out = self.path("out", "0.0")
        self.assert_fails(["convert", f"--input-path={root}", f"--output-path={out}", *BASE.flags("te2fw"),
                           "--gen-fp8-meta"], [root], out, needles=["--gen-fp8-meta"])

    def test_fp8_error_history_len_zero(self):
        root, *_ = self.build(BASE, "pax")
        out = self.path("out", "0.0")
        self.assert_fails(["convert", f"--input-path={root}", f"--output-path={out}", *BASE.flags("fw2te"),
                           "--gen-fp8-meta", "--amax-history-len=0"], [root], out, needles=["--amax-history-len"])

    def test_fp8_error_kernel_with_nan(self):
        m = BASE
        pax = paxgen.make_pax(m)
        name = "mdl_vars.params.lm.transformer.x_layers_1.ff_layer.ffn_layer2.linear.w"
        pax.arrays[name].data[3, 5] = np.nan
        root = self.path("src", m.layout)
        paxgen.write(pax, root)
        out = self.path("out", "0.0")
        self.assert_fails(["convert", f"--input-path={root}", f"--output-path={out}", *m.flags("fw2te"),
                           "--gen-fp8-meta"], [root], out, needles=["nan", "x_layers_1"],
                          any_needles=["ffn_layer2", "wo_kernel"])

    # ------------------------------------------------------------------ errors
    def error_case(self, m, direction, flags, needles=(), any_needles=(), side=None, pax=None):
        side = side or ("pax" if direction == "fw2te" else "te")
        if pax is None:
            root, *_ = self.build(m, side)
        else:
            root = self.path("src", m.layout)
            paxgen.write(pax, root)
        out = self.path("out", m.layout)
        watch = [os.path.dirname(root) if m.layout == "1.x" else root]
        return self.assert_fails(["convert", f"--input-path={root}", f"--output-path={out}", *flags],
                                 watch, out, needles, any_needles)

    def test_error_split_qkv_checkpoint_without_flag(self):
        m = variant(BASE, split_qkv=True)
        flags = [f for f in m.flags("fw2te") if f != "--pax-split-qkv"]
        self.error_case(m, "fw2te", flags, needles=["--pax-split-qkv", "combined_qkv"])

    def test_error_missing_array(self):
        pax = paxgen.make_pax(BASE)
        gone = "mdl_vars.params.lm.transformer.x_layers_1.self_attention.post.w"
        del pax.arrays[gone]
        self.error_case(BASE, "fw2te", BASE.flags("fw2te"), needles=[gone], pax=pax)

    def shape_mismatch_case(self, m, direction, flags, candidates):
        """`candidates`: {array name: (expected shape, found shape)}; the message must name one of
        them together with its expected and found shape."""
        msg = self.error_case(m, direction, flags)
        flat = squash(msg)
        ok = [n for n, (want, found) in candidates.items()
              if n in msg and shape_text(want) in flat and shape_text(found) in flat]
        self.assertTrue(ok, f"message should name a mismatching array with expected and found shapes: {msg}")

    def test_error_wrong_num_of_head_fw2te(self):
        m = variant(BASE, N=4, H=4)
        flags = [f if not f.startswith("--num-of-head=") else "--num-of-head=5" for f in m.flags("fw2te")]
        X = "mdl_vars.params.lm.transformer.x_layers_{}.self_attention."
        cands = {}
        for i in range(m.L):
            cands[X.format(i) + "combined_qkv.w"] = ([3, 16, 5, 4], [3, 16, 4, 4])
            cands[X.format(i) + "combined_qkv.b"] = ([3, 5, 4], [3, 4, 4])
            cands[X.format(i) + "post.w"] = ([16, 5, 4], [16, 4, 4])
        self.shape_mismatch_case(m, "fw2te", flags, cands)

    def test_error_wrong_num_of_head_te2fw(self):
        m = variant(BASE, N=4, H=4)
        flags = [f if not f.startswith("--num-of-head=") else "--num-of-head=3" for f in m.flags("te2fw")]
        T = "mdl_vars.params.lm.transformer.x_layers_{}.transformerlayer.cld.attention."
        cands = {}
        for i in range(m.L):
            cands[T.format(i) + "qkv.kernel"] = ([16, 3, 12], [16, 3, 16])
            cands[T.format(i) + "qkv.bias"] = ([3, 12], [3, 16])
            cands[T.format(i) + "out.kernel"] = ([12, 16], [16, 16])
        self.shape_mismatch_case(m, "te2fw", flags, cands)

    def test_error_wrong_embed_dim(self):
        flags = [f if not f.startswith("--embed-dim=") else "--embed-dim=20" for f in BASE.flags("fw2te")]
        self.error_case(BASE, "fw2te", flags, needles=["16", "20"])

    def test_error_too_few_layers_nonrepeat(self):
        m = variant(BASE, L=3)
        flags = [f if not f.startswith("--num-of-layer=") else "--num-of-layer=2" for f in m.flags("fw2te")]
        self.error_case(m, "fw2te", flags, any_needles=["x_layers_2", "--num-of-layer"])

    def test_error_too_many_layers_nonrepeat(self):
        m = variant(BASE, L=2)
        flags = [f if not f.startswith("--num-of-layer=") else "--num-of-layer=3" for f in m.flags("fw2te")]
        self.error_case(m, "fw2te", flags, needles=["x_layers_2"])

    def test_error_wrong_num_of_layer_repeat(self):
        m = variant(BASE, L=3, repeat=True)
        flags = [f if not f.startswith("--num-of-layer=") else "--num-of-layer=2" for f in m.flags("fw2te")]
        R = "mdl_vars.params.lm.transformer.repeat.sub.x_layers_0."
        cands = {R + s: ([2] + shape, [3] + shape) for s, shape in m.pax_layer_shapes().items()}
        # the optimizer prefix p#3#i-1 does not match p#2#i-1 either: accept a message about it
        msg = self.error_case(m, "fw2te", flags)
        flat = squash(msg)
        ok = [n for n, (w, f) in cands.items() if n in msg and shape_text(w) in flat and shape_text(f) in flat]
        self.assertTrue(ok or ("p#3#i-1" in msg and "--num-of-layer" in msg),
                        f"message should name the array with expected [2,...] and found [3,...]: {msg}")

    def test_error_kv_packed_without_split_qkv(self):
        m = variant(BASE, split_qkv=True, kv_packed=True, K=2)
        flags = [f for f in m.flags("fw2te") if f != "--pax-split-qkv"]
        self.error_case(m, "fw2te", flags, needles=["--pax-split-qkv"], any_needles=["kv_packed", "--te-qkv-layout"])

    def test_error_query_and_key_dtypes_differ(self):
        m = variant(BASE, split_qkv=True, kq_dtype="bfloat16")
        self.error_case(m, "fw2te", m.flags("fw2te"), needles=["bfloat16"], any_needles=["key.w", "query.w"])

    def test_error_output_inside_input(self):
        root, *_ = self.build(BASE, "pax")
        out = os.path.join(root, "converted")
        self.assert_fails(["convert", f"--input-path={root}", f"--output-path={out}", *BASE.flags("fw2te")],
                          [root], out)

    def test_error_output_inside_input_1x(self):
        m = variant(BASE, layout="1.x")
        root, *_ = self.build(m, "pax")
        out = os.path.join(root, "state", "checkpoint_00001000")
        self.assert_fails(["convert", f"--input-path={root}", f"--output-path={out}", *m.flags("fw2te")],
                          [os.path.dirname(root)], out)

    def test_error_output_equals_input(self):
        root, *_ = self.build(BASE, "pax")
        self.assert_fails(["convert", f"--input-path={root}", f"--output-path={root}", *BASE.flags("fw2te")],
                          [root], None)

    def test_error_nonempty_output_without_overwrite_then_overwrite(self):
        root, pax, te, copied = self.build(BASE, "pax")
        out = self.path("out", "0.0")
        os.makedirs(os.path.join(out, "old_array"))
        with open(os.path.join(out, "old_array", "marker"), "w") as f:
            f.write("previous content")
        before = full_digest(out)
        args = ["convert", f"--input-path={root}", f"--output-path={out}", *BASE.flags("fw2te"), "-q"]
        p = zarrio.run(*args, check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("--overwrite", p.stderr)
        self.assertEqual(full_digest(out), before, "a non-empty output was touched without --overwrite")
        self.assert_no_temp_leftovers()
        zarrio.run(*args, "--overwrite")
        self.assertFalse(os.path.exists(os.path.join(out, "old_array")), "--overwrite kept old content")
        self.assert_ckpt(out, te, root, "0.0", copied, codec="zstd")

    def test_error_ocdbt_checkpoint(self):
        m = variant(BASE, layout="1.x")
        root, *_ = self.build(m, "pax")
        with open(os.path.join(root, "state", "manifest.ocdbt"), "wb") as f:
            f.write(b"\x00OCDBT manifest")
        os.makedirs(os.path.join(root, "state", "d"))
        with open(os.path.join(root, "state", "d", "0123abcd"), "wb") as f:
            f.write(b"data")
        out = self.path("out", "1.x")
        self.assert_fails(["convert", f"--input-path={root}", f"--output-path={out}", *m.flags("fw2te")],
                          [os.path.dirname(root)], os.path.dirname(out), needles=["ocdbt"])

    def test_error_orbax_metadata_checkpoint(self):
        m = variant(BASE, layout="1.x")
        root, *_ = self.build(m, "pax")
        with open(os.path.join(root, "state", "_METADATA"), "w") as f:
            json.dump({"tree_metadata": {"('step',)": {"key_metadata": [{"key": "step", "key_type": 2}],
                                                        "value_metadata": {"value_type": "jax.Array"}}}}, f)
        out = self.path("out", "1.x")
        self.assert_fails(["convert", f"--input-path={root}", f"--output-path={out}", *m.flags("fw2te")],
                          [os.path.dirname(root)], os.path.dirname(out), any_needles=["_METADATA", "orbax"])

    def test_error_adafactor_state_unless_weight_only(self):
        pax = paxgen.make_pax(BASE)
        X = "params.lm.transformer.x_layers_0.ff_layer.ffn_layer1.linear.w"
        pax.arrays["opt_states_0_2.vr." + X] = paxgen.Arr(np.ones([BASE.E], np.float32), "<f4", None)
        pax.arrays["opt_states_0_2.vc." + X] = paxgen.Arr(np.ones([BASE.F], np.float32), "<f4", None)
        msg = self.error_case(BASE, "fw2te", BASE.flags("fw2te"), pax=pax, any_needles=["vr", "vc"])
        self.assertIn("weight-only", msg.replace("weight_only", "weight-only"))
        # with --weight-only it converts, and every optimizer state array is left out
        root = self.path("src", "0.0")
        out = self.path("out", "0.0")
        zarrio.run("convert", f"--input-path={root}", f"--output-path={out}", *BASE.flags("fw2te"),
                   "--weight-only", "-q")
        for n in zarrio.list_arrays(out):
            self.assertFalse(".vr." in n or ".vc." in n or paxgen.is_moment(n), f"{n} was not left out")

    def test_dry_run_and_plan_write_nothing(self):
        m = variant(BASE, layout="1.x", gated=True)
        root, *_ = self.build(m, "pax")
        before = full_digest(os.path.dirname(root))
        out = self.path("out", "1.x")
        self.convert(root, out, m, "fw2te", "--dry-run")
        zarrio.run("plan", f"--input-path={root}", f"--output-path={out}", *m.flags("fw2te"))
        self.assertFalse(os.path.exists(os.path.dirname(out)), "a dry run wrote output")
        self.assertEqual(full_digest(os.path.dirname(root)), before)
        self.assert_no_temp_leftovers()
        # and a dry run still checks shapes
        bad = [f if not f.startswith("--num-of-head=") else "--num-of-head=2" for f in m.flags("fw2te")]
        p = zarrio.run("convert", f"--input-path={root}", f"--output-path={out}", *bad, "--dry-run", check=False)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("combined_qkv", p.stderr)

    # ------------------------------------------------------------------ determinism
    def test_jobs_and_memory_limit_give_identical_bytes(self):
        m = variant(BASE, L=3, E=64, N=4, H=16, F=128, chunking="tp", gated=True, layout="1.x")
        root, pax, te, copied = self.build(m, "pax")
        outs = []
        for i, extra in enumerate([[], ["--jobs=1"], ["--memory-limit=64K"], ["--jobs=1", "--memory-limit=16K"],
                                   ["--jobs=4", "--memory-limit=32K", "--gen-fp8-meta", "--amax-history-len=2"]]):
            out = os.path.join(self.tmp, f"out{i}", "checkpoint_00001000")
            self.convert(root, out, m, "fw2te", *extra)
            outs.append(out)
        self.assert_ckpt(outs[0], te, root, "1.x", copied, codec="zstd")
        ref = full_digest(outs[0])
        for out in outs[1:4]:
            self.assertEqual(full_digest(out), ref, f"{out} differs from the default run")
        # with FP8 the non-FP8 part is still identical
        for n in zarrio.list_arrays(os.path.join(outs[0], "state")):
            self.assertEqual(full_digest(os.path.join(outs[4], "state", n)),
                             full_digest(os.path.join(outs[0], "state", n)), n)


def silu(x):
    return x / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------- the variant matrix
VARIANTS = {
    "skip_ln": dict(skip_ln=True),
    "skip_bias": dict(skip_bias=True),
    "skip_ln_and_bias": dict(skip_ln=True, skip_bias=True),
    "gated_linear_first": dict(gated=True),
    "gated_activated_first": dict(gated=True, activated_first=True),
    "gated_skip_bias": dict(gated=True, skip_bias=True),
    "split_qkv_qkv_packed": dict(split_qkv=True),
    "kv_packed_gqa": dict(split_qkv=True, kv_packed=True, N=4, K=2),
    "kv_packed_mha": dict(split_qkv=True, kv_packed=True, N=4, K=4),
    "kv_packed_mqa_head_axis": dict(split_qkv=True, kv_packed=True, K=1),
    "kv_packed_mqa_no_head_axis": dict(split_qkv=True, kv_packed=True, K=1, mqa_no_head_axis=True),
    "embed_ne_heads": dict(E=24, N=4, H=8),
    "embed_ne_heads_split": dict(E=40, N=2, H=8, split_qkv=True, F=24),
    "float32": dict(dtype="<f4"),
    "bfloat16": dict(dtype="bfloat16"),
    "gzip": dict(codec="gzip"),
    "zstd": dict(codec="zstd"),
    "multi_chunk_tp": dict(chunking="tp", E=32, F=64),
    "padded_edge_chunks": dict(chunking="padded", E=24, F=40),
    "mixed_chunks_bf16_gzip": dict(chunking="multi", dtype="bfloat16", codec="gzip", E=24, F=40),
    "layout_0_0": dict(layout="0.0"),
    "layout_1x": dict(layout="1.x"),
    "layout_1x_llama_like": dict(layout="1.x", split_qkv=True, kv_packed=True, K=2, gated=True,
                                 activated_first=True, skip_bias=True, dtype="bfloat16", chunking="tp"),
}


def _make_variant_test(kw, direction, repeat):
    def test(self):
        m = variant(BASE, repeat=repeat, L=3 if repeat else 2, **kw)
        self.scenario(m, direction)
    return test


for _name, _kw in VARIANTS.items():
    for _direction in ("fw2te", "te2fw"):
        for _repeat in (False, True):
            _t = _make_variant_test(_kw, _direction, _repeat)
            _t.__name__ = f"test_variant_{_name}_{_direction}_{'repeat' if _repeat else 'nonrepeat'}"
            setattr(PaxTest, _t.__name__, _t)


class PaxInferredEmbedDimTest(PaxTest):
    """E != N*H with --embed-dim left out: te-ckpt infers E from the arrays."""

    def convert(self, src, dst, m, direction, *extra, check=True, embed_dim=True):
        return super().convert(src, dst, m, direction, *extra, check=check, embed_dim=False)

    def test_inferred_embed_dim_fw2te(self):
        self.scenario(variant(BASE, E=24, N=4, H=8), "fw2te")

    def test_inferred_embed_dim_te2fw_repeat_gqa(self):
        self.scenario(variant(BASE, E=24, N=4, H=8, repeat=True, split_qkv=True, kv_packed=True, K=2), "te2fw")


# PaxInferredEmbedDimTest must not re-run PaxTest's own methods
for _attr in list(vars(PaxTest)):
    if _attr.startswith("test_") and _attr not in vars(PaxInferredEmbedDimTest):
        setattr(PaxInferredEmbedDimTest, _attr, None)


if __name__ == "__main__":
    unittest.main()
