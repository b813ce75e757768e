"""Conversions shared by several MPI ranks (mpirun -np N te-ckpt convert ...).

Every seed mode converted under `mpirun -np 1..4` gives output byte-identical to the
single-process conversion (file names and bytes of the whole tree), and so do FP8 metadata
(--gen-fp8-meta, --direction=te2te: amax reduced over the ranks). Orbax (OCDBT) inputs into every
output container, and legacy inputs into OCDBT outputs, give the single-process output too: every
file outside the databases byte for byte (the times in _CHECKPOINT_METADATA left out), and
in each database the same keys with the same values, read by the independent reader ocdbt_ref (the
manifest and data file names differ). A rank that meets a corrupt chunk, and a rank killed with
SIGKILL mid-way (both also while writing one OCDBT database), stop every rank within seconds with no
output left and the input untouched.

Skipped (with the reason) when te-ckpt was built without MPI, when mpirun is missing, and under the
sanitizer build (Open MPI's own allocations are reported as leaks by LeakSanitizer).

Run: TE_CKPT=/path/to/te-ckpt /usr/bin/python3 -m unittest -v mpi_test   (from tests/py)
"""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import ocdbt_ref
import orbaxgen
import paxgen
import t5xgen
import zarrio
from paxgen import Model, variant

TE_CKPT = zarrio.TE_CKPT
MPIRUN = shutil.which("mpirun")
TMP_ROOT = os.environ.get("TE_CKPT_TEST_TMP") or ("/dev/shm" if os.access("/dev/shm", os.W_OK) else None)
TMP_MARK = ".te-ckpt-tmp-"


def linked_libraries(binary):
    try:
        return subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
    except OSError:
        return ""


def skip_reason():
    libs = linked_libraries(TE_CKPT)
    if "libmpi" not in libs:
        return f"{TE_CKPT} was built without MPI (libopenmpi-dev not installed at build time)"
    if MPIRUN is None:
        return "mpirun is not installed (openmpi-bin)"
    if "libasan" in libs:
        return "sanitizer build: LeakSanitizer reports Open MPI's own allocations, MPI runs are not checked here"
    return None


SKIP = skip_reason()


def mpirun(n, *args, timeout=120, wrap_status=None):
    """Runs te-ckpt under mpirun with n ranks. wrap_status: a file each rank appends
    'RANK STATUS' to (through a shell around te-ckpt)."""
    cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", str(n)]
    if wrap_status:
        # mpirun must not end the other ranks when the first exits non-zero: each rank's own exit
        # status is what is checked (and a rank that waited forever would time the test out).
        # mpirun itself then exits 0.
        cmd += ["--mca", "orte_abort_on_non_zero_status", "0", "sh", "-c", f'"$0" "$@"; s=$?; echo "$OMPI_COMM_WORLD_RANK $s" >> {wrap_status}; exit $s',
                TE_CKPT, *map(str, args)]
    else:
        cmd += [TE_CKPT, *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)


def tree_digest(path):
    """SHA-256 over every folder and file name and every file's bytes under `path`."""
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


def output_view(path):
    """What two conversions into an OCDBT container must share: {("file", relative path): bytes} of
    every file outside the databases (_CHECKPOINT_METADATA without its times), and
    {("database", relative folder): {key: value bytes}} of every OCDBT database, read by ocdbt_ref
    (an independent reader; the manifest and data file names are left out)."""
    view = {}
    for root, dirs, files in os.walk(path):
        dirs.sort()
        rel = os.path.relpath(root, path)
        if "manifest.ocdbt" in files:
            view[("database", rel)] = ocdbt_ref.read_database(root)
            dirs[:] = [d for d in dirs if d != "d"]
            files = [f for f in files if f != "manifest.ocdbt"]
        for name in sorted(files):
            with open(os.path.join(root, name), "rb") as f:
                data = f.read()
            if name == "_CHECKPOINT_METADATA":
                md = json.loads(data)
                md.pop("commit_timestamp_nsecs")
                md.pop("init_timestamp_nsecs", None)  # written from scratch: the time too
                data = json.dumps(md, sort_keys=True).encode()
            view[("file", os.path.join(rel, name))] = data
    return view


def te_ckpt_errors(text):
    return [l for l in text.splitlines() if l.startswith("te-ckpt: error:")]


@unittest.skipIf(SKIP, SKIP or "")
class MpiTest(unittest.TestCase):
    maxDiff = 4000

    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory(prefix="te-ckpt-mpi-", dir=TMP_ROOT)
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def assert_no_temp(self, parent):
        for root, dirs, files in os.walk(parent):
            for n in dirs + files:
                self.assertNotIn(TMP_MARK, n, f"temporary {os.path.join(root, n)} left behind")
                self.assertNotIn(".te-ckpt-lock", n, f"lock {os.path.join(root, n)} left behind")

    def same_under_every_rank_count(self, src, flags, name, step="", view=tree_digest):
        """Converts `src` in one process, then under mpirun -np 1..4; every output is the same tree
        (`view` of it: tree_digest, or output_view for an OCDBT output). `step`: the output's
        folder name (Orbax outputs are named as the framework lists steps)."""
        ref = os.path.join(self.tmp, name, "single", step)
        zarrio.run("convert", f"--input-path={src}", f"--output-path={ref}", *flags, "-q")
        want = view(ref)
        src_digest = tree_digest(src)
        for n in (1, 2, 3, 4):
            out = os.path.join(self.tmp, name, f"np{n}", step)
            p = mpirun(n, "convert", f"--input-path={src}", f"--output-path={out}", *flags)
            self.assertEqual(p.returncode, 0, f"-np {n} failed:\n{p.stdout}\n{p.stderr}")
            got = view(out)
            if got != want and view is output_view:
                differing = sorted(k for k in set(got) | set(want) if got.get(k) != want.get(k))
                if len(differing) == 1 and differing[0][0] == "database":
                    a, b = got.get(differing[0], {}), want.get(differing[0], {})
                    differing = [f"{differing[0][1]} key {k}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)][:10]
                self.fail(f"{name}: -np {n} output differs from the single-process output: {differing}")
            self.assertEqual(got, want, f"{name}: -np {n} output differs from the single-process output")
            # Rank 0 alone prints the summary, for the whole job.
            self.assertEqual([l for l in p.stdout.splitlines() if l.startswith("converted ")].__len__(), 1, p.stdout)
            self.assert_no_temp(os.path.join(self.tmp, name))
        self.assertEqual(tree_digest(src), src_digest, "the input was modified")

    # ------------------------------------------------------------------ Pax seed modes
    def pax_case(self, m, direction, extra=()):
        pax = paxgen.make_pax(m, 3)
        te, _ = paxgen.to_te(m, pax)
        root = os.path.join(self.tmp, "src")
        src = os.path.join(root, "checkpoint_00001000") if m.layout == "1.x" else root
        paxgen.write(pax if direction == "fw2te" else te, src)
        self.same_under_every_rank_count(src, [*m.flags(direction), *extra], "pax")

    def test_pax_fw2te_nonrepeat(self):
        self.pax_case(Model(chunking="multi"), "fw2te")

    def test_pax_fw2te_repeat(self):
        self.pax_case(Model(chunking="multi", repeat=True, L=3), "fw2te")

    def test_pax_te2fw_nonrepeat(self):
        self.pax_case(Model(chunking="multi"), "te2fw")

    def test_pax_te2fw_repeat(self):
        self.pax_case(Model(chunking="multi", repeat=True, L=3), "te2fw")

    def test_pax_fw2te_weight_only_layout_1x(self):
        # Pax layout 1.x: rank 0 regenerates metadata/metadata after every rank finished.
        self.pax_case(Model(chunking="tp", layout="1.x"), "fw2te", ["--weight-only"])

    def test_pax_recompressed_kernel_chunks(self):
        self.pax_case(variant(Model(chunking="multi"), gated=True), "fw2te",
                      ["--kernel-chunk-size=4", "--compressor=gzip"])

    # ------------------------------------------------------------------ T5X seed modes
    def t5x_case(self, direction, fused):
        m = t5xgen.Model()
        ck, _ = t5xgen.build(m, layout="t5x" if direction == "fw2te" else "te", fused=fused, seed=5)
        src = ck.write(os.path.join(self.tmp, "src"))
        flags = ["--fw=t5x", f"--direction={direction}", *m.cli()] + (["--t5x-fuse-qkv"] if fused else [])
        self.same_under_every_rank_count(src, flags, "t5x")

    def test_t5x_fw2te_fused(self):
        self.t5x_case("fw2te", True)

    def test_t5x_fw2te_not_fused(self):
        self.t5x_case("fw2te", False)

    def test_t5x_te2fw_fused(self):
        self.t5x_case("te2fw", True)

    def test_t5x_te2fw_not_fused(self):
        self.t5x_case("te2fw", False)

    # ------------------------------------------------------------------ Orbax (OCDBT) containers
    STEP = "checkpoint_00000001"

    def pax_legacy_step(self, m, seed=0):
        legacy = os.path.join(self.tmp, "legacy", self.STEP)
        paxgen.write(paxgen.make_pax(m, seed), legacy)
        return legacy

    def pax_orbax_step(self, m, zarr3=None):
        src = os.path.join(self.tmp, "orbax", self.STEP)
        orbaxgen.pax_to_orbax(self.pax_legacy_step(m), src, zarr3)
        return src

    def test_orbax_input_into_every_container(self):
        # Every rank opens the input's database read-only; the arrays are split over the ranks.
        m = Model(chunking="multi", layout="1.x")
        src = self.pax_orbax_step(m)
        for fmt in ("keep", "zarr", "ocdbt", "ocdbt-zarr3"):
            with self.subTest(output_format=fmt):
                self.same_under_every_rank_count(src, [*m.flags("fw2te"), f"--output-format={fmt}"],
                                                 f"orbax-{fmt}", self.STEP,
                                                 tree_digest if fmt == "zarr" else output_view)

    def test_orbax_zarr3_input_te2fw_into_ocdbt(self):
        m = Model(chunking="multi", layout="1.x", repeat=True, L=3)
        pax = paxgen.make_pax(m, 2)
        te, _ = paxgen.to_te(m, pax)
        legacy = os.path.join(self.tmp, "legacy", self.STEP)
        paxgen.write(te, legacy)
        src = os.path.join(self.tmp, "orbax", self.STEP)
        orbaxgen.pax_to_orbax(legacy, src, zarr3=orbaxgen.Zarr3())
        self.same_under_every_rank_count(src, m.flags("te2fw"), "orbax-zarr3", self.STEP, output_view)

    def test_orbax_format_only_into_zarr(self):
        # No --direction: every array copied (chunks byte for byte) out of the database.
        src = self.pax_orbax_step(Model(chunking="multi", layout="1.x"))
        self.same_under_every_rank_count(src, ["--output-format=zarr"], "format-only", self.STEP)

    def test_legacy_pax_into_ocdbt_and_ocdbt_zarr3(self):
        m = Model(chunking="multi", layout="1.x")
        src = self.pax_legacy_step(m, seed=4)
        for fmt in ("ocdbt", "ocdbt-zarr3"):
            with self.subTest(output_format=fmt):
                self.same_under_every_rank_count(src, [*m.flags("fw2te"), f"--output-format={fmt}"],
                                                 f"legacy-{fmt}", self.STEP, output_view)

    def test_legacy_t5x_into_ocdbt(self):
        m = t5xgen.Model()
        ck, _ = t5xgen.build(m, layout="t5x", fused=True, seed=6)
        src = ck.write(os.path.join(self.tmp, "src"))
        flags = ["--fw=t5x", "--direction=fw2te", *m.cli(), "--t5x-fuse-qkv", "--output-format=ocdbt"]
        self.same_under_every_rank_count(src, flags, "t5x-ocdbt", "checkpoint_1", output_view)

    # ------------------------------------------------------------------ FP8 metadata
    def test_pax_gen_fp8_meta(self):
        # The amax of a kernel is a maximum over its blocks, which several ranks convert.
        for repeat in (False, True):
            with self.subTest(repeat=repeat):
                m = Model(chunking="multi", repeat=repeat, L=3 if repeat else 2)
                src = os.path.join(self.tmp, f"src-{repeat}")
                paxgen.write(paxgen.make_pax(m, 7), src)
                self.same_under_every_rank_count(src, [*m.flags("fw2te"), "--gen-fp8-meta"], f"fp8-{repeat}")

    def test_t5x_gen_fp8_meta(self):
        m = t5xgen.Model()
        ck, _ = t5xgen.build(m, layout="t5x", fused=False, seed=8)
        src = ck.write(os.path.join(self.tmp, "src"))
        flags = ["--fw=t5x", "--direction=fw2te", *m.cli(), "--gen-fp8-meta", "--fp8-meta-format=te2.3"]
        self.same_under_every_rank_count(src, flags, "t5x-fp8")

    def test_pax_gen_fp8_meta_into_one_ocdbt_database(self):
        # The FP8 arrays, made from amax reduced over the ranks, go into the merged database and
        # every Orbax metadata file lists them.
        m = Model(chunking="multi", repeat=True, L=3, layout="1.x")
        src = self.pax_legacy_step(m, seed=10)
        self.same_under_every_rank_count(src, [*m.flags("fw2te"), "--gen-fp8-meta", "--output-format=ocdbt"],
                                         "fp8-ocdbt", self.STEP, output_view)

    def test_pax_te2te_migration(self):
        # The source's FP8 arrays are read and rewritten by the rank that writes the index.
        m = Model(chunking="multi", repeat=True, L=3)
        src = os.path.join(self.tmp, "src")
        paxgen.write(paxgen.make_pax(m, 9), src)
        with_fp8 = os.path.join(self.tmp, "with-fp8")
        zarrio.run("convert", f"--input-path={src}", f"--output-path={with_fp8}", *m.flags("fw2te"),
                   "--gen-fp8-meta", "-q")
        self.same_under_every_rank_count(with_fp8, [*m.flags("te2te"), "--fp8-meta-format=te1.7"], "te2te")

    # ------------------------------------------------------------------ failures

    def assert_corrupt_chunk_stopped_every_rank(self, p, n, status, out, src, digest):
        """A run of n ranks that met the corrupt combined_qkv.w chunk: one error line, naming a rank
        and the array; every rank exited non-zero; no output, no temporary; the input untouched."""
        errors = te_ckpt_errors(p.stderr)
        self.assertEqual(len(errors), 1, f"expected one error line:\n{p.stderr}")
        self.assertRegex(errors[0], rf"^te-ckpt: error: rank \d of {n}: .*combined_qkv\.w/")
        self.assert_all_ranks_failed(status, n)
        self.assertFalse(os.path.exists(out), "output left behind")
        self.assert_no_temp(self.tmp)
        self.assertEqual(tree_digest(src), digest, "the input was modified")

    def assert_all_ranks_failed(self, status_file, n):
        with open(status_file) as f:
            rows = dict(line.split() for line in f.read().splitlines())
        self.assertEqual(sorted(rows), [str(r) for r in range(n)], rows)
        for r, s in rows.items():
            self.assertNotEqual(s, "0", f"rank {r} exited 0")

    def test_corrupt_chunk_stops_every_rank(self):
        m = Model(chunking="multi")
        src = os.path.join(self.tmp, "src")
        paxgen.write(paxgen.make_pax(m, 1), src)
        # Every chunk of one converted array (whoever's share they are in) is garbage.
        victim = os.path.join(src, "mdl_vars.params.lm.transformer.x_layers_1.self_attention.combined_qkv.w")
        for name in os.listdir(victim):
            if not name.startswith("."):
                with open(os.path.join(victim, name), "wb") as f:
                    f.write(b"not a zstd frame")
        digest = tree_digest(src)
        for n in (2, 3):
            out = os.path.join(self.tmp, f"out{n}")
            status = os.path.join(self.tmp, f"status{n}")
            start = time.monotonic()
            p = mpirun(n, "convert", f"--input-path={src}", f"--output-path={out}", *m.flags("fw2te"),
                       wrap_status=status)
            self.assertLess(time.monotonic() - start, 30)
            self.assert_corrupt_chunk_stopped_every_rank(p, n, status, out, src, digest)
        # Plain mpirun (it ends the job at the first non-zero exit): non-zero, the same one line.
        p = mpirun(2, "convert", f"--input-path={src}", f"--output-path={out}", *m.flags("fw2te"))
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(len(te_ckpt_errors(p.stderr)), 1, p.stderr)
        self.assertFalse(os.path.exists(out), "output left behind")
        self.assert_no_temp(self.tmp)

    def test_corrupt_chunk_while_writing_one_ocdbt_database_stops_every_rank(self):
        m = Model(chunking="multi", layout="1.x")
        src = self.pax_legacy_step(m, seed=1)
        victim = os.path.join(src, "state", "mdl_vars.params.lm.transformer.x_layers_1.self_attention.combined_qkv.w")
        for name in os.listdir(victim):
            if not name.startswith("."):
                with open(os.path.join(victim, name), "wb") as f:
                    f.write(b"not a zstd frame")
        digest = tree_digest(src)
        for n in (2, 3):
            out = os.path.join(self.tmp, f"out{n}", self.STEP)
            status = os.path.join(self.tmp, f"status{n}")
            p = mpirun(n, "convert", f"--input-path={src}", f"--output-path={out}", *m.flags("fw2te"),
                       "--output-format=ocdbt", wrap_status=status)
            self.assert_corrupt_chunk_stopped_every_rank(p, n, status, out, src, digest)

    def test_other_commands_run_once_on_rank_0(self):
        # inspect, plan, verify, convert --dry-run ...: the other ranks leave at once, so the output
        # is one process's output.
        m = Model(chunking="multi")
        src = os.path.join(self.tmp, "src")
        paxgen.write(paxgen.make_pax(m, 11), src)
        out = os.path.join(self.tmp, "out")
        for args in (["inspect", src], ["plan", f"--input-path={src}", *m.flags("fw2te")],
                     ["convert", "--dry-run", f"--input-path={src}", f"--output-path={out}"]):
            with self.subTest(command=args[0]):
                single = zarrio.run(*args, check=False)
                self.assertEqual(single.returncode, 0, single.stderr)
                p = mpirun(3, *args)
                self.assertEqual(p.returncode, 0, p.stderr)
                self.assertEqual(p.stdout, single.stdout)
                self.assertFalse(os.path.exists(out))
        # A failure on rank 0 is the launcher's status.
        p = mpirun(3, "inspect", os.path.join(self.tmp, "missing"))
        self.assertNotEqual(p.returncode, 0)
        self.assertEqual(p.stderr.count("te-ckpt: error:"), 1, p.stderr)

    def test_output_taken_by_another_run_is_refused_once(self):
        m = Model()
        src = os.path.join(self.tmp, "src")
        paxgen.write(paxgen.make_pax(m, 1), src)
        out = os.path.join(self.tmp, "out")
        os.makedirs(out)
        with open(os.path.join(out, "x"), "w") as f:
            f.write("taken")
        p = mpirun(2, "convert", f"--input-path={src}", f"--output-path={out}", *m.flags("fw2te"))
        self.assertNotEqual(p.returncode, 0)
        errors = te_ckpt_errors(p.stderr)
        self.assertEqual(len(errors), 1, p.stderr)
        self.assertIn("exists and is not empty", errors[0])
        self.assertEqual(os.listdir(out), ["x"])

    def interrupted_run(self, kill, ocdbt=False):
        """Starts a conversion that takes a few seconds under mpirun -np 2, calls kill(mpirun
        process) once it writes, and checks that every rank stops within seconds and that no
        output, no temporary folder (after the late removal, dist/late_removal.h) and no rank is
        left, the input untouched. ocdbt: a Pax layout-1.x step converted into one OCDBT
        database (--output-format=ocdbt), which every rank writes data files of."""
        src = os.path.join(self.tmp, "big", self.STEP if ocdbt else "")
        zarrio.run("example", f"--output-path={src}", "--fw=pax", "--num-of-layer=2", "--num-of-head=16",
                   "--head-dim=64", "--mlp-intermediate-dim=2048", "--embed-dim=1024", "--chunks-per-array=4",
                   *(["--pax-layout1"] if ocdbt else []))
        digest = tree_digest(src)
        out = os.path.join(self.tmp, self.STEP if ocdbt else "out")
        # zstd level 19 re-encodes at a few MB/s: the run lasts far longer than the kill takes to
        # land, even on a quiet machine.
        flags = ["--fw=pax", "--direction=fw2te", "--num-of-layer=2", "--num-of-head=16", "--head-dim=64",
                 "--mlp-intermediate-dim=2048", "--embed-dim=1024", "--jobs=1", "--compressor=zstd",
                 "--compression-level=19", *(["--output-format=ocdbt"] if ocdbt else [])]
        cmd = [MPIRUN, "--oversubscribe", "--allow-run-as-root", "-np", "2", TE_CKPT, "convert",
               f"--input-path={src}", f"--output-path={out}", *flags]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            started = False
            deadline = time.monotonic() + 60
            while not started and time.monotonic() < deadline:
                time.sleep(0.02)
                temps = [n for n in os.listdir(self.tmp) if TMP_MARK in n]
                started = bool(temps) and any(files for _, _, files in os.walk(os.path.join(self.tmp, temps[0])))
            self.assertTrue(started, "the run never started writing")
            time.sleep(0.05)
            self.assertIsNone(proc.poll(), "the run ended before the kill; make the checkpoint bigger")
            kill(proc)
            killed = time.monotonic()
            _, stderr = proc.communicate(timeout=30)
            self.assertLess(time.monotonic() - killed, 15, "the ranks took too long to stop")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        self.assertNotEqual(proc.returncode, 0)
        self.assertFalse(os.path.exists(out), "output left behind")
        self.assertEqual(tree_digest(src), digest, "the input was modified")
        self.assertEqual(rank_pids(proc.pid), {}, "a rank is still running")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(TMP_MARK in n for n in os.listdir(self.tmp)):
            time.sleep(0.1)
        leftovers = [n for n in os.listdir(self.tmp) if TMP_MARK in n]
        self.assertEqual(leftovers, [], f"temporary output left behind:\n{stderr}")

    def test_sigkill_of_one_rank_stops_every_rank(self):
        def kill_rank_1(proc):
            victim = rank_pid(proc.pid, 1)
            self.assertIsNotNone(victim)
            os.kill(victim, signal.SIGKILL)
        self.interrupted_run(kill_rank_1)

    def test_sigkill_of_one_rank_writing_one_ocdbt_database_stops_every_rank(self):
        def kill_rank_1(proc):
            victim = rank_pid(proc.pid, 1)
            self.assertIsNotNone(victim)
            os.kill(victim, signal.SIGKILL)
        self.interrupted_run(kill_rank_1, ocdbt=True)

    def test_ctrl_c_of_mpirun_stops_every_rank(self):
        self.interrupted_run(lambda proc: proc.send_signal(signal.SIGINT))


def rank_pids(mpirun_pid):
    """{rank: pid} of the te-ckpt processes mpirun started."""
    found = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            if ppid != mpirun_pid:
                continue
            with open(f"/proc/{pid}/environ", "rb") as f:
                env = dict(e.split(b"=", 1) for e in f.read().split(b"\0") if b"=" in e)
        except (OSError, ValueError, IndexError):
            continue
        if b"OMPI_COMM_WORLD_RANK" in env:
            found[int(env[b"OMPI_COMM_WORLD_RANK"])] = int(pid)
    return found


def rank_pid(mpirun_pid, rank):
    return rank_pids(mpirun_pid).get(rank)


if __name__ == "__main__":
    unittest.main()
