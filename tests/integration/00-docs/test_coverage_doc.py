"""docs/coverage.md is generated from the operation tables; it must match."""
import os
import subprocess
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..")


class CoverageDoc(unittest.TestCase):
    def test_coverage_doc_is_current(self):
        r = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "tools", "coverage.py"), "--check"],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
