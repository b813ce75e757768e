"""The parallel, memory-capped and slab-streaming execution paths give the same bytes as the
simplest path (one thread, whole chunks)."""
import os
import tempfile
import unittest

import zarrio

DIMS = ["--num-of-layer=6", "--num-of-head=4", "--head-dim=16", "--mlp-intermediate-dim=128"]


class ExecutionPathsTest(unittest.TestCase):
    def convert(self, src, out, *extra):
        zarrio.run("convert", "--input-path", src, "--output-path", out, "--fw=pax", "--direction=fw2te",
                   "--pax-repeat", *DIMS, "-q", *extra)
        return zarrio.tree_digest(out)

    def test_all_paths_agree(self):
        for codec, chunks in (("zstd", 1), ("gzip", 4), ("none", 2)):
            with self.subTest(codec=codec, chunks=chunks), tempfile.TemporaryDirectory() as d:
                src = os.path.join(d, "src")
                zarrio.run("example", "--output-path", src, "--fw", "pax", "--pax-repeat", *DIMS, "--embed-dim", 64,
                           "--compressor", codec, "--chunks-per-array", chunks, "--dtype", "bfloat16")
                reference = self.convert(src, os.path.join(d, "ref"), "--jobs", 1, "--no-streaming")
                self.assertEqual(self.convert(src, os.path.join(d, "par"), "--jobs", 4), reference)
                self.assertEqual(self.convert(src, os.path.join(d, "stream1"), "--jobs", 1), reference)
                self.assertEqual(self.convert(src, os.path.join(d, "capped"), "--jobs", 3, "--memory-limit", "64K"),
                                 reference)
                self.assertEqual(self.convert(src, os.path.join(d, "rechunk"), "--kernel-chunk-size", 16, "--jobs", 1,
                                              "--no-streaming"),
                                 self.convert(src, os.path.join(d, "rechunk2"), "--kernel-chunk-size", 16, "--jobs", 4))


if __name__ == "__main__":
    unittest.main()
