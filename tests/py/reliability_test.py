"""Crash safety, signals, I/O errors and concurrent runs (issue: reliability).

The checkpoints come from `te-ckpt example`; what is checked here is the life cycle of the output
folder, not the mapping (the conversion tests check that against independent computations).
"""
import os
import resource
import signal
import subprocess
import tempfile
import time
import unittest

import zarrio

PAX = ["--fw=pax", "--direction=fw2te", "--pax-repeat", "--num-of-layer=8", "--num-of-head=8",
       "--head-dim=32", "--mlp-intermediate-dim=1024"]


def make_example(path, layers=8):
    zarrio.run("example", "--output-path", path, "--fw", "pax", "--pax-repeat", "--num-of-layer", layers,
               "--num-of-head", 8, "--head-dim", 32, "--mlp-intermediate-dim", 1024, "--embed-dim", 256,
               "--compressor", "gzip", "--pax-layout1")


def leftovers(parent):
    return [n for n in os.listdir(parent) if ".te-ckpt-tmp-" in n or n.endswith(".te-ckpt-lock")]


class ReliabilityTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.src = os.path.join(cls.tmp.name, "src", "checkpoint_00000100")
        make_example(cls.src)
        cls.src_digest = zarrio.tree_digest(cls.src)
        cls.ref = os.path.join(cls.tmp.name, "ref", "checkpoint_00000100")
        zarrio.run("convert", "--input-path", cls.src, "--output-path", cls.ref, *PAX, "-q", "--jobs", 1)
        cls.ref_digest = zarrio.tree_digest(cls.ref)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def tearDown(self):
        self.assertEqual(zarrio.tree_digest(self.src), self.src_digest, "the input changed")

    def start(self, out, *extra):
        return subprocess.Popen([zarrio.TE_CKPT, "convert", "--input-path", self.src, "--output-path", out,
                                 *PAX, "-q", "--jobs", "1", *extra],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def test_sigkill_at_any_moment_leaves_nothing_that_looks_complete(self):
        for delay in (0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.8):
            with self.subTest(delay=delay), tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "checkpoint_00000100")
                p = self.start(out)
                time.sleep(delay)
                p.kill()
                p.communicate()
                if os.path.exists(out):
                    self.assertEqual(zarrio.tree_digest(out), self.ref_digest, "output exists but is incomplete")
                for name in os.listdir(d):
                    if ".te-ckpt-tmp-" in name:
                        # A leftover is never taken for a checkpoint...
                        r = zarrio.run("inspect", os.path.join(d, name), check=False)
                        self.assertEqual(r.returncode, 1)
                        self.assertIn("temporary folder left by an interrupted te-ckpt run", r.stderr)
                # ...and the next run removes it and succeeds.
                zarrio.run("convert", "--input-path", self.src, "--output-path", out, *PAX, "-q",
                           *(["--overwrite"] if os.path.exists(out) else []))
                self.assertEqual(zarrio.tree_digest(out), self.ref_digest)
                self.assertEqual(leftovers(d), [])

    def test_sigkill_during_overwrite_keeps_the_previous_content(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "checkpoint_00000100")
            os.makedirs(out)
            with open(os.path.join(out, "previous"), "w") as f:
                f.write("old content")
            for delay in (0.05, 0.3):
                p = self.start(out, "--overwrite")
                time.sleep(delay)
                p.kill()
                p.communicate()
                content = sorted(os.listdir(out))
                if content == ["previous"]:
                    continue  # killed before the swap: the previous content is whole
                self.assertEqual(zarrio.tree_digest(out), self.ref_digest)
                break

    def test_sigint_sigterm_and_sighup_stop_and_remove_the_temporary_folder(self):
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            with self.subTest(signal=sig), tempfile.TemporaryDirectory() as d:
                out = os.path.join(d, "checkpoint_00000100")
                p = self.start(out)
                deadline = time.time() + 10
                while not any(".te-ckpt-tmp-" in n for n in os.listdir(d)) and time.time() < deadline:
                    time.sleep(0.002)
                p.send_signal(sig)
                _, err = p.communicate(timeout=60)
                if p.returncode == 0:  # finished before the signal arrived
                    self.assertEqual(zarrio.tree_digest(out), self.ref_digest)
                    continue
                self.assertEqual(p.returncode, 130, err)
                self.assertIn("interrupted", err)
                self.assertFalse(os.path.exists(out))
                self.assertEqual(leftovers(d), [])

    def test_write_error_names_the_file_and_removes_the_output(self):
        # A per-file size limit makes writes fail like a full disk (EFBIG instead of ENOSPC).
        def limit():
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, 64 * 1024))
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "checkpoint_00000100")
            p = subprocess.run([zarrio.TE_CKPT, "convert", "--input-path", self.src, "--output-path", out, *PAX,
                                "-q"], capture_output=True, text=True, preexec_fn=limit)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertRegex(p.stderr, r"te-ckpt: error: cannot (write|copy into|create) .*te-ckpt-tmp-.*: File too large")
            self.assertFalse(os.path.exists(out))
            self.assertEqual(leftovers(d), [])

    def test_small_tmpfs_disk_full(self):
        if os.geteuid() != 0:
            self.skipTest("mounting a tmpfs needs root")
        with tempfile.TemporaryDirectory() as d:
            if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", d],
                              capture_output=True).returncode != 0:
                self.skipTest("cannot mount a tmpfs here")
            try:
                out = os.path.join(d, "checkpoint_00000100")
                p = subprocess.run([zarrio.TE_CKPT, "convert", "--input-path", self.src, "--output-path", out,
                                    *PAX, "-q"], capture_output=True, text=True)
                self.assertEqual(p.returncode, 1, p.stderr)
                self.assertIn("No space left on device", p.stderr)
                self.assertFalse(os.path.exists(out))
                self.assertEqual(leftovers(d), [])
            finally:
                subprocess.run(["umount", d])

    def test_two_runs_on_one_output(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "checkpoint_00000100")
            first = self.start(out)
            deadline = time.time() + 10
            while not any(".te-ckpt-tmp-" in n for n in os.listdir(d)) and time.time() < deadline:
                time.sleep(0.002)
            second = subprocess.run([zarrio.TE_CKPT, "convert", "--input-path", self.src, "--output-path", out,
                                     *PAX, "-q"], capture_output=True, text=True)
            first.communicate(timeout=120)
            if second.returncode == 0:
                self.assertNotEqual(first.returncode, 0)  # exactly one may win
            else:
                self.assertIn("another te-ckpt run is writing", second.stderr)
                self.assertEqual(first.returncode, 0)
            self.assertEqual(zarrio.tree_digest(out), self.ref_digest)
            self.assertEqual(leftovers(d), [])

    def test_failed_run_removes_the_parent_folders_it_created(self):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "src")
            make_example(src, layers=2)
            # A chunk that fails only when it is decoded (the plan accepts it).
            qkv = [n for n in os.listdir(os.path.join(src, "state")) if n.endswith("combined_qkv.w")][0]
            chunk = os.path.join(src, "state", qkv, "0.0.0.0.0")
            with open(chunk, "r+b") as f:
                f.seek(20)
                f.write(b"\xff" * 64)
            out = os.path.join(d, "na", "nb", "checkpoint_00000100")
            flags = [f if not f.startswith("--num-of-layer") else "--num-of-layer=2" for f in PAX]
            r = zarrio.run("convert", "--input-path", src, "--output-path", out, *flags, "-q", check=False)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertIn("corrupt gzip chunk", r.stderr)
            self.assertEqual(sorted(os.listdir(d)), ["src"])  # na/ and na/nb/ are gone
            # A parent that existed before is kept, even when empty.
            os.makedirs(os.path.join(d, "kept"))
            out = os.path.join(d, "kept", "new", "checkpoint_00000100")
            r = zarrio.run("convert", "--input-path", src, "--output-path", out, *flags, "-q", check=False)
            self.assertEqual(r.returncode, 1, r.stderr)
            self.assertEqual(os.listdir(os.path.join(d, "kept")), [])

    def test_links_inside_the_checkpoint_are_copied_as_links(self):
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "src")
            make_example(src, layers=2)
            os.makedirs(os.path.join(src, "extra", "deeper"))
            with open(os.path.join(src, "extra", "notes.txt"), "w") as f:
                f.write("notes")
            os.symlink(".", os.path.join(src, "loop"))                      # a loop: never recursed
            os.symlink("../notes.txt", os.path.join(src, "extra", "deeper", "notes"))
            os.symlink("metadata", os.path.join(src, "metadata_alias"))    # to a folder inside
            os.symlink("missing", os.path.join(src, "dangling"))           # inside, target absent
            out = os.path.join(d, "out", "checkpoint_00000100")
            flags = [f if not f.startswith("--num-of-layer") else "--num-of-layer=2" for f in PAX]
            start = time.time()
            zarrio.run("convert", "--input-path", src, "--output-path", out, *flags, "-q")
            self.assertLess(time.time() - start, 10)
            for link, target in (("loop", "."), ("extra/deeper/notes", "../notes.txt"),
                                 ("metadata_alias", "metadata"), ("dangling", "missing")):
                self.assertTrue(os.path.islink(os.path.join(out, link)), link)
                self.assertEqual(os.readlink(os.path.join(out, link)), target)
            with open(os.path.join(out, "extra", "deeper", "notes")) as f:
                self.assertEqual(f.read(), "notes")
            self.assertFalse(os.path.exists(os.path.join(out, "loop", "loop", "state")) and
                             not os.path.islink(os.path.join(out, "loop")))

    def test_unreadable_input(self):
        if os.geteuid() == 0:
            self.skipTest("root reads everything")
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "src")
            make_example(src, layers=2)
            os.chmod(src, 0)
            try:
                r = zarrio.run("convert", "--input-path", src, "--output-path", os.path.join(d, "out"), *PAX,
                               check=False)
                self.assertEqual(r.returncode, 1)
                self.assertIn("permission denied", r.stderr.lower())
            finally:
                os.chmod(src, 0o755)


if __name__ == "__main__":
    unittest.main()
