"""Every successful conversion of the Pax and T5X conversion tests, run a second time with the
model flags left out, gives a byte-identical output tree (issue 13 section 2).

The conversion tests' own cases are reused: their `convert` helpers are wrapped so that each
conversion that succeeds is repeated with the flags that describe the source model removed
(--fw, --direction, the dimensions, --pax-repeat, --pax-split-qkv, --te-qkv-layout,
--num-gqa-groups, --use-gated-activations, --skip-bias, --skip-ln, --t5x-fuse-qkv), and the two
output trees are compared file by file, byte for byte. Kept are only the flags that choose the
output rather than describe the input, which no listing can tell:
- Pax te2fw: --num-of-head (TE joins heads and head dim into one axis) and --pax-split-qkv when
  the TE side is qkv_packed (Pax combined or split is the user's choice);
- Pax fw2te: --te-qkv-layout=kv_packed when K = N (kv_packed is then a choice, not a need);
- T5X fw2te: --t5x-fuse-qkv (fused or not is the TE side's choice);
- always: --gated-activation-order, --pax-mqa-drop-head-axis, and every non-model flag.

Run: TE_CKPT=/path/to/te-ckpt /usr/bin/python3 -m unittest -v no_model_flags_test   (from tests/py)
"""
import json
import os
import re
import shutil
import tempfile
import unittest

import pax_conversion_test as pct
import paxgen
import t5x_conversion_test as tct
import zarrio

MODEL_FLAGS = ("--fw", "--direction", "--num-of-layer", "--num-of-head", "--head-dim",
               "--mlp-intermediate-dim", "--embed-dim", "--pax-repeat", "--pax-split-qkv",
               "--te-qkv-layout", "--num-gqa-groups", "--use-gated-activations", "--skip-bias",
               "--skip-ln", "--t5x-fuse-qkv")


def flag_name(arg):
    return arg.split("=", 1)[0]


def strip_model_flags(args, keep=()):
    return [a for a in args if not (flag_name(a) in MODEL_FLAGS and flag_name(a) not in keep)]


def tree_bytes(root):
    """{relative path: bytes} of every file under `root` (folders by their names)."""
    out = {}
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        out[os.path.relpath(dirpath, root) + "/"] = b""
        for n in sorted(files):
            p = os.path.join(dirpath, n)
            with open(p, "rb") as f:
                out[os.path.relpath(p, root)] = f.read()
    return out


def sibling(dst):
    """An output path next to `dst` with the same final name (checkpoint_%08d stays a step)."""
    parent, name = os.path.split(os.path.normpath(dst))
    return os.path.join(parent + "-no-model-flags", name)


def compare_trees(case, a, b, args):
    ta, tb = tree_bytes(a), tree_bytes(b)
    case.assertEqual(sorted(ta), sorted(tb), f"files differ without model flags ({' '.join(args)})")
    for rel in ta:
        case.assertTrue(ta[rel] == tb[rel], f"{rel} differs without model flags ({' '.join(args)})")


def rerun_without_model_flags(case, args, dst, keep):
    """Runs `args` (a successful convert writing `dst`) again without model flags and compares."""
    if any(a == "--dry-run" for a in args):
        return
    other = sibling(dst)
    stripped = [a if not a.startswith("--output-path=") else f"--output-path={other}"
                for a in strip_model_flags(args, keep)]
    p = zarrio.run(*stripped, check=False)
    case.assertEqual(p.returncode, 0, f"without model flags: te-ckpt {' '.join(stripped)}\n{p.stderr}")
    compare_trees(case, dst, other, stripped)
    shutil.rmtree(os.path.dirname(other) if os.path.basename(other).startswith("checkpoint_") and
                  os.path.dirname(other).endswith("-no-model-flags") else other)


# ------------------------------------------------------------------------------------------ Pax
SUCCESS_TESTS = re.compile(r"test_(seed|variant|semantic|kernel_chunk|weight_only|sharded|inferred|"
                           r"fp8_(non)?repeat|fp8_layout|jobs)")


class PaxWithoutModelFlags(pct.PaxTest):
    """PaxTest's successful conversions, each repeated without model flags."""

    def convert(self, src, dst, m, direction, *extra, check=True, embed_dim=True):
        p = super().convert(src, dst, m, direction, *extra, check=check, embed_dim=embed_dim)
        if p.returncode == 0 and "--dry-run" not in extra:
            args = ["convert", f"--input-path={src}", f"--output-path={dst}",
                    *m.flags(direction, embed_dim=embed_dim), "-q", *extra]
            keep = []
            if direction == "te2fw":
                keep.append("--num-of-head")
                if not m.kv_packed:
                    keep.append("--pax-split-qkv")
            elif m.kv_packed and m.KV == m.N:
                keep.append("--te-qkv-layout")
            rerun_without_model_flags(self, args, dst, keep)
        return p


for _attr in list(vars(pct.PaxTest)):
    if _attr.startswith("test_") and not SUCCESS_TESTS.match(_attr):
        setattr(PaxWithoutModelFlags, _attr, None)


# ------------------------------------------------------------------------------------------ T5X
_t5x_convert = tct.convert


class _Recorder:
    case = None


def _t5x_convert_twice(inp, out, m, direction, fused=False, extra=(), **dims):
    p = _t5x_convert(inp, out, m, direction, fused, extra, **dims)
    if p.returncode == 0 and _Recorder.case is not None and "--dry-run" not in extra:
        args = ["convert", f"--input-path={inp}", f"--output-path={out}", "--fw=t5x",
                f"--direction={direction}", *m.cli(**dims), "--output-chunking=merge"]
        if fused:
            args.append("--t5x-fuse-qkv")
        args += list(extra)
        keep = ["--t5x-fuse-qkv"] if direction == "fw2te" else []
        rerun_without_model_flags(_Recorder.case, args, out, keep)
    return p


tct.convert = _t5x_convert_twice


def _t5x_class(base):
    class Wrapped(base):
        def setUp(self):
            super().setUp()
            _Recorder.case = self

        def tearDown(self):
            _Recorder.case = None
            super().tearDown()
    Wrapped.__name__ = base.__name__ + "WithoutModelFlags"
    Wrapped.__qualname__ = Wrapped.__name__
    return Wrapped


for _base in (tct.SeedModes, tct.ModelVariants, tct.DtypesAndCodecs, tct.Chunking,
              tct.IndexRewrite, tct.Optimizers, tct.Semantics, tct.FP8):
    _cls = _t5x_class(_base)
    globals()[_cls.__name__] = _cls


# --------------------------------------------------------------------------- inspect, plan
class InspectAndPlanShowTheModel(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="te-ckpt-model-", dir=pct.TMP_ROOT)
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def test_inspect_json_model_and_its_convert_command(self):
        m = paxgen.variant(pct.BASE, repeat=True, L=3, split_qkv=True, kv_packed=True, K=2, gated=True,
                           skip_bias=True)
        src = os.path.join(self.tmp, "src")
        paxgen.write(paxgen.make_pax(m), src)
        model = json.loads(zarrio.run("inspect", "--json", src).stdout)["model"]
        self.assertEqual((model["framework"], model["side"], model["container"]),
                         ("pax", "framework", "pax-layout-0.0"))
        self.assertEqual((model["L"], model["E"], model["N"], model["H"], model["K"], model["F"]),
                         (m.L, m.E, m.N, m.H, m.KV, m.F))
        self.assertTrue(model["repeat"])
        for v in ("split QKV", "kv_packed", "gated MLP", "no biases", "layer norms"):
            self.assertIn(v, model["variants"])
        self.assertEqual(sorted(g["prefix"] for g in model["optimizer_groups"]),
                         sorted([f"opt_states_0.p#{m.L}#i-1_2.m.", f"opt_states_0.p#{m.L}#i-1_2.v.",
                                 "opt_states_0.no_prefix_2.m.", "opt_states_0.no_prefix_2.v."]))
        self.assertIsNone(model["fp8_format"])
        cmd = model["convert_command"].split()
        self.assertEqual(cmd[:2], ["te-ckpt", "convert"])
        # The command converts, and gives what the full seed description gives.
        zarrio.run(*cmd[2:], "-q")
        out = cmd[3].split("=", 1)[1]
        seed = os.path.join(self.tmp, "seed")
        zarrio.run("convert", f"--input-path={src}", f"--output-path={seed}", *m.flags("fw2te"), "-q")
        compare_trees(self, seed, out, cmd)
        text = zarrio.run("inspect", out).stdout
        self.assertIn("model: pax TE layout", text)
        self.assertIn("--num-of-head=N", text)  # TE joins N and H: the command asks for N

    def test_plan_prints_the_detected_model_in_one_line(self):
        src = os.path.join(self.tmp, "src")
        paxgen.write(paxgen.make_pax(pct.BASE), src)
        lines = zarrio.run("plan", f"--input-path={src}").stdout.splitlines()
        model = [l for l in lines if l.startswith("model: ")]
        self.assertEqual(len(model), 1, lines[:3])
        for part in ("Pax Pax layout", "L=2", "E=16 N=4 H=4 K=4 F=32", "combined QKV", "biases",
                     "Adam m/v"):
            self.assertIn(part, model[0])


if __name__ == "__main__":
    unittest.main()
