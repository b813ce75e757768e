"""The temporary folder and te-ckpt runner that the conversion tests share.

TMP_ROOT: where temporary folders go ($TE_CKPT_TEST_TMP, else /dev/shm when writable, else the
system default)."""
import os
import tempfile
import unittest

import zarrio

TMP_ROOT = os.environ.get("TE_CKPT_TEST_TMP") or ("/dev/shm" if os.access("/dev/shm", os.W_OK) else None)


class ScratchTestCase(unittest.TestCase):
    """Each test gets an empty folder `self.dir` (removed after the test), `self.scratch` (a path in
    it for decoders' temporary files), path(*parts) inside it, and run_ok(*args): te-ckpt run with
    `args`, asserted to exit 0."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(dir=TMP_ROOT)
        self.dir = self.tmp.name
        self.scratch = self.path("scratch")

    def tearDown(self):
        self.tmp.cleanup()

    def path(self, *parts):
        return os.path.join(self.dir, *parts)

    def run_ok(self, *args):
        p = zarrio.run(*args, check=False)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p
