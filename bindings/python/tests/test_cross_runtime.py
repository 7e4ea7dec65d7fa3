"""Across runtimes: a Rust process (bindings/rust's scythe-cancel, built by scripts/test-rust.sh) cancels and claims
shared tokens that this Python process made, and the Python jobs attached to them die. Real processes; every test
checks that it left no child, fd or thread behind.
"""

import os
import pathlib
import sys
import threading
import time
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "bindings" / "python"))

import scythe  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from test_binding import children  # noqa: E402  (this process's children, the guard excepted)

CANCEL = ROOT / "bindings" / "rust" / "target" / "debug" / "scythe-cancel"


@unittest.skipUnless(CANCEL.exists() or os.environ.get("SCYTHE_REQUIRE_RUST"),
                     "no %s: scripts/test-rust.sh builds it (cargo)" % CANCEL)
class RustCancelsPythonJobs(unittest.TestCase):
    def setUp(self):
        self.fds = len(os.listdir("/proc/self/fd"))
        self.threads = threading.active_count()
        self.before = children()

    def tearDown(self):
        until = time.monotonic() + 5
        while time.monotonic() < until and (children() - self.before):
            time.sleep(0.01)
        self.assertEqual(set(), children() - self.before, "processes left")
        self.assertEqual(self.fds, len(os.listdir("/proc/self/fd")), "fds left")
        self.assertEqual(self.threads, threading.active_count(), "threads left")

    def test_a_rust_process_cancels_python_jobs(self):
        with scythe.Supervisor(guard=False) as sup:
            with scythe.Token.shared() as tok:
                sleepers = [sup.spawn(["sleep", "30"], token=tok) for _ in range(3)]
                child = tok.child()
                below = sup.spawn(["sleep", "30"], token=child)
                # The Rust tool as a job handed the token (fd 3, SCYTHE_TOKEN_FD), cancelling it with reason 777.
                rust = sup.spawn([str(CANCEL), "--reason", "777"], token=tok, pass_token=True)
                t0 = time.monotonic()
                for job in sleepers + [below]:
                    out = job.wait(timeout=20)
                    self.assertEqual("cancelled", out.kind, out)
                self.assertLess(time.monotonic() - t0, 10, "the jobs outlived the Rust cancel")
                self.assertIn(rust.wait(timeout=20).kind, ("cancelled", "success"))
                self.assertTrue(tok.is_cancelled() and child.is_cancelled())
                self.assertEqual(777, tok.reason)
                child.close()

    def test_first_claim_wins_between_rust_and_python(self):
        import subprocess
        for _ in range(5):
            with scythe.Token.shared() as tok:
                claimers = [subprocess.Popen([str(CANCEL), "--fd", str(tok.fd), "--claim", str(i)],
                                             pass_fds=[tok.fd], stdout=subprocess.PIPE, text=True) for i in range(1, 4)]
                mine = tok.claim(0)
                lines = [p.communicate(timeout=20)[0].strip() for p in claimers]
                won = [l for l in lines if l.endswith(": won")]
                self.assertEqual(1, len(won) + (1 if mine else 0), (mine, lines))
                winner = tok.winner
                self.assertEqual(0 if mine else int(won[0].split()[1].rstrip(":")), winner, lines)


if __name__ == "__main__":
    unittest.main()
