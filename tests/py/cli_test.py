"""The command line as a user meets it: help texts, size spellings, the progress bar and the
summary, and inspect's table (issue 10, sections 5 and 6)."""
import os
import pty
import re
import shutil
import subprocess
import tempfile
import unittest

import zarrio

PAX = ["--fw=pax", "--direction=fw2te", "--pax-repeat", "--num-of-layer=4", "--num-of-head=4",
       "--head-dim=16", "--mlp-intermediate-dim=256"]
FIXTURES_T5X = os.path.join(zarrio.FIXTURES, "t5x")


class CliTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.src = os.path.join(cls.tmp.name, "checkpoint_00000007")
        zarrio.run("example", "--output-path", cls.src, "--fw", "pax", "--pax-repeat", "--num-of-layer", 4,
                   "--num-of-head", 4, "--head-dim", 16, "--mlp-intermediate-dim", 256, "--embed-dim", 64,
                   "--compressor", "gzip", "--pax-layout1")

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_memory_limit_spellings(self):
        for spelling in ("4g", "4G", "4GB", "4gb", "4GiB", "512MiB", "512m", "1k", "1K", "1KB", "65536",
                         "65536B", "1.5G", "2T"):
            with self.subTest(spelling=spelling):
                r = zarrio.run("plan", "--input-path", self.src, *PAX, "--memory-limit", spelling, check=False)
                self.assertEqual(r.returncode, 0, r.stderr)
                with tempfile.TemporaryDirectory() as d:
                    r = zarrio.run("convert", "--input-path", self.src, "--output-path",
                                   os.path.join(d, "checkpoint_00000007"), *PAX, "-q", "--memory-limit", spelling,
                                   check=False)
                    self.assertEqual(r.returncode, 0, r.stderr)
        for bad in ("lots", "4X", "-1G", "G", "4 G", "1e3", "99999999999T"):
            with self.subTest(bad=bad):
                r = zarrio.run("plan", "--input-path", self.src, *PAX, "--memory-limit", bad, check=False)
                self.assertEqual(r.returncode, 1, r.stderr)
                self.assertRegex(r.stderr, r"^te-ckpt: error: --memory-limit: ")
        help_text = zarrio.run("convert", "--help").stdout
        self.assertRegex(" ".join(help_text.split()), r"--memory-limit .*4g, 4GB, 4GiB")

    def test_help_texts(self):
        top = zarrio.run("--help").stdout
        self.assertIn("Usage: te-ckpt [OPTIONS] [SUBCOMMAND]", top)
        for text in (top, zarrio.run("convert", "--help").stdout):
            flat = " ".join(text.split())
            self.assertIn("Exit status: 0 success; 1 the work failed", flat)
            self.assertIn("2 usage error", flat)
            self.assertIn("130 interrupted", flat)
        convert = " ".join(zarrio.run("convert", "--help").stdout.split())
        self.assertIn("gzip, zlib, zstd or none", convert)
        example = zarrio.run("example", "--help").stdout
        self.assertNotIn("{false}", example)
        self.assertNotIn("{true}", example)
        for line in example.splitlines():
            m = re.match(r"^\s+(--[a-z0-9-]+)(?: [A-Z:{}a-z0-9,]+)?(?: REQUIRED)?\s*(.*)$", line)
            if m and m.group(1) != "--help":
                # Each option has a description (on its line, or on the next for long type lists).
                self.assertTrue(m.group(2) or "{" in line, line)
        r = zarrio.run("example", "--output-path", os.path.join(self.tmp.name, "x"), "--bogus", check=False)
        self.assertEqual(r.returncode, 2)
        self.assertEqual(r.stderr.count("\n"), 1)

    def test_no_optimizer_state_flag_still_works(self):
        with tempfile.TemporaryDirectory() as d:
            zarrio.run("example", "--output-path", os.path.join(d, "a"), "--fw", "pax", "--no-optimizer-state")
            zarrio.run("example", "--output-path", os.path.join(d, "b"), "--fw", "pax")
            self.assertFalse([n for n in os.listdir(os.path.join(d, "a")) if n.startswith("opt_states")])
            self.assertTrue([n for n in os.listdir(os.path.join(d, "b")) if n.startswith("opt_states")])

    def run_with_tty_stderr(self, *args):
        """Runs te-ckpt with stderr on a pseudo-terminal (so it draws its bar); returns (rc, out, err)."""
        master, slave = pty.openpty()
        p = subprocess.Popen([zarrio.TE_CKPT, *map(str, args)], stdout=subprocess.PIPE, stderr=slave)
        os.close(slave)
        err = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:
                break
            if not chunk:
                break
            err += chunk
        out = p.stdout.read().decode()
        p.stdout.close()
        p.wait()
        os.close(master)
        return p.returncode, out, err.decode(errors="replace")

    def test_progress_bar_reaches_its_end_and_agrees_with_the_summary(self):
        with tempfile.TemporaryDirectory() as d:
            out = os.path.join(d, "checkpoint_00000007")
            rc, summary, err = self.run_with_tty_stderr("convert", "--input-path", self.src, "--output-path", out,
                                                        *PAX, "--jobs", 2)
            self.assertEqual(rc, 0, err)
            bars = re.findall(r"\[([#.]{30})\] (\S+ \S+) / (\S+ \S+)", err)
            self.assertTrue(bars, err)
            last_fill, done, total = bars[-1]
            self.assertEqual(last_fill, "#" * 30, "the bar ends full")
            self.assertEqual(done, total)
            m = re.search(r"processed (\S+ \S+) \(", summary)
            self.assertTrue(m, summary)
            self.assertEqual(m.group(1), total, "the summary counts what the bar counts")

    def test_all_inline_t5x_conversion_reports_the_index_it_wrote(self):
        with tempfile.TemporaryDirectory() as d:
            src = shutil.copy(os.path.join(FIXTURES_T5X, "test_t5_tiny.checkpoint_0"), os.path.join(d, "index"))
            out = os.path.join(d, "te")
            r = zarrio.run("convert", "--input-path", src, "--output-path", out, "--fw=t5x", "--direction=fw2te",
                           "--embed-dim=8", "--num-of-head=4", "--head-dim=3", "--mlp-intermediate-dim=16",
                           "--num-of-layer=2", "--t5x-fuse-qkv", "--weight-only")
            size = os.path.getsize(os.path.join(out, "checkpoint"))
            m = re.search(r"wrote (\d+\.\d) (B|KiB|MiB) ", r.stdout)
            self.assertTrue(m, r.stdout)
            scale = {"B": 1, "KiB": 1024, "MiB": 1024 ** 2}[m.group(2)]
            self.assertGreater(size, 0)
            self.assertAlmostEqual(float(m.group(1)) * scale, size, delta=0.05 * scale + 1)

    def assert_aligned(self, text):
        lines = text.splitlines()
        header = lines[1]
        self.assertTrue(header.startswith("name "), header)
        rows = lines[2:lines.index(next(l for l in lines if l.startswith("total: ")))]
        self.assertTrue(rows)
        starts = [m.start() for m in re.finditer(r"(?<=  )\S", header)]
        for row in rows:
            for s in starts[:-1]:  # every left-aligned column starts where its header starts
                self.assertNotEqual(row[s], " ", f"{row!r} misaligned at {s}")
                self.assertEqual(row[s - 1], " ", f"{row!r} misaligned at {s}")
            self.assertEqual(len(row), len(header), f"{row!r}: the stored column ends with its header")

    def test_inspect_columns_align_and_count_in_words(self):
        import json
        import numpy as np
        with tempfile.TemporaryDirectory() as d:
            folder = os.path.join(d, "ckpt")
            for name, shape, chunks in (("a", [1000000007, 10007, 3], [1, 1, 3]), ("b", [4], [4])):
                path = os.path.join(folder, name)
                zarrio.write_array(path, np.zeros([1], "<f4"))
                meta = zarrio.read_metadata(path)
                meta.update(shape=shape, chunks=chunks)  # never read: inspect lists metadata
                with open(os.path.join(path, ".zarray"), "w") as f:
                    json.dump(meta, f)
            two = zarrio.run("inspect", folder).stdout
            self.assertIn("2 arrays", two.splitlines()[0])
            self.assert_aligned(two)
            shutil.rmtree(os.path.join(folder, "b"))
            one = zarrio.run("inspect", folder).stdout
            self.assertTrue(one.splitlines()[0].endswith(", 1 array"), one)
            self.assertIn("total: 1 array,", one)
            self.assertNotIn("1 arrays", one)
        self.assert_aligned(zarrio.run("inspect", self.src).stdout)

if __name__ == "__main__":
    unittest.main()
