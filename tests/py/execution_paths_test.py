"""The parallel, memory-capped and slab-streaming execution paths give the same bytes as the
simplest path (one thread, whole chunks)."""
import os
import shutil
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

    def test_gzip_bytes_do_not_depend_on_the_execution_path(self):
        # Arrays of 16 MiB (8 layers of 256 x 2048 float32) in one chunk each: the default path
        # streams them in slabs of the layer axis (several encoder writes per chunk), --no-streaming
        # in one piece; the encoder is fed across its 256 KiB piece boundaries either way.
        dims = ["--num-of-layer=8", "--num-of-head=8", "--head-dim=32", "--mlp-intermediate-dim=2048"]
        with tempfile.TemporaryDirectory() as d:
            src = os.path.join(d, "src")
            zarrio.run("example", "--output-path", src, "--fw", "pax", "--pax-repeat", *dims, "--embed-dim", 256,
                       "--compressor", "gzip", "--no-optimizer-state", "--use-gated-activations")

            def convert(name, *extra):
                out = os.path.join(d, name)
                zarrio.run("convert", "--input-path", src, "--output-path", out, "--fw=pax", "--direction=fw2te",
                           "--pax-repeat", "--use-gated-activations", *dims, "-q", *extra)
                digest = zarrio.tree_digest(out)
                shutil.rmtree(out)
                return digest

            for codec in ("keep", "zstd"):
                with self.subTest(compressor=codec):
                    reference = convert("ref", "--compressor", codec, "--jobs", 1, "--no-streaming")
                    for extra in (["--jobs", 1], ["--jobs", 2], ["--jobs", 2, "--memory-limit", "1M"],
                                  ["--jobs", 2, "--no-streaming"]):
                        self.assertEqual(convert("other", "--compressor", codec, *extra), reference, extra)


if __name__ == "__main__":
    unittest.main()
