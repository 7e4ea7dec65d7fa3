"""Tests of the ctypes binding of libscythe (scythe.Supervisor, Job, Outcome, Token, race), with real processes.

Run from the repository root: python3 -m unittest discover -s bindings/python/tests -v
The library is the one scythe finds ($SCYTHE_LIBRARY, the installed package, the source tree's native/target, the
system's); scripts/test-python.sh points SCYTHE_LIBRARY at the Maven build's. Every test checks that it left nothing
behind: no child process (the guard excepted), no fd, no thread.
"""

import ctypes
import errno
import os
import pathlib
import signal
import subprocess
import sys
import textwrap
import threading
import time
import unittest

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PYTHON_DIR))

import scythe  # noqa: E402

N = None  # scythe._native, once loaded (setUpModule): a missing or mismatched library fails every test here


def setUpModule():
    global N
    from scythe import _native
    N = _native


def Supervisor():
    """A supervisor without the guard: the guard is a child of this process for its whole life, and test_worker,
    run in the same process, checks that no child is left (waitpid(-1)). The guard has its own test (Guard), in a
    process of its own."""
    return scythe.Supervisor(guard=False)


def children():
    """Pids of this process's children (every thread's), the guard excepted."""
    pids = set()
    for tid in os.listdir("/proc/self/task"):
        try:
            with open("/proc/self/task/%s/children" % tid) as f:
                pids.update(int(p) for p in f.read().split())
        except FileNotFoundError:
            pass
    guard = scythe.guard_pid()
    pids.discard(guard)
    return pids


def fd_count():
    return len(os.listdir("/proc/self/fd"))


def child_env(**extra):
    """The environment of a Python child that imports this scythe and loads the same library."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(PYTHON_DIR) + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    env["SCYTHE_LIBRARY"] = scythe.library_path()
    env.pop(N.TOKEN_FD_ENV, None)
    env.update(extra)
    return env


def canary(byte, n):
    """n bytes of `byte` (create_string_buffer of bytes would add a NUL)."""
    return ctypes.create_string_buffer(byte * n, n)


def wait_all(jobs, timeout=30):
    return [j.wait(timeout) for j in jobs]


class LeakCheckedTest(unittest.TestCase):
    """Fails a test that leaves a child process, an fd or a thread behind (after a grace for late reaping)."""

    @classmethod
    def setUpClass(cls):
        # Warm up what stays for the process's life: the library, the guard (a child) and its fds.
        with Supervisor() as sup:
            sup.run(["/bin/true"])
        assert scythe.guard_pid() is None

    def setUp(self):
        self.children0 = children()
        self.fds0 = fd_count()
        self.threads0 = threading.active_count()

    def tearDown(self):
        deadline = time.monotonic() + 10
        while True:
            left = children() - self.children0
            fds, threads = fd_count(), threading.active_count()
            if not left and fds <= self.fds0 and threads <= self.threads0:
                break
            if time.monotonic() > deadline:
                self.fail("leaked: children %s, fds %d -> %d (%s), threads %d -> %d"
                          % (sorted(left), self.fds0, fds, os.listdir("/proc/self/fd"), self.threads0, threads))
            time.sleep(0.02)


class OutcomeKinds(LeakCheckedTest):
    def test_success_and_failure_with_exit_codes(self):
        with Supervisor() as sup:
            ok = sup.spawn(["/bin/true"]).wait(30)
            bad = sup.spawn(["/bin/false"]).wait(30)
            seven = sup.run(["sh", "-c", "exit 7"])
        self.assertEqual(("success", 0), (ok.kind, ok.exit_code))
        self.assertTrue(ok.ok)
        self.assertIsNone(ok.signal)
        self.assertGreater(ok.pid, 0)
        self.assertGreaterEqual(ok.wall, 0)
        self.assertEqual(("failure", 1), (bad.kind, bad.exit_code))
        self.assertFalse(bad.ok)
        self.assertEqual(("failure", 7), (seven.kind, seven.exit_code))

    def test_crashed(self):
        with Supervisor() as sup:
            o = sup.run(["sh", "-c", "kill -SEGV $$"])
        self.assertEqual("crashed", o.kind)
        self.assertEqual(signal.SIGSEGV, o.signal)
        self.assertIsNone(o.exit_code)

    def test_timed_out(self):
        t0 = time.monotonic()
        with Supervisor() as sup:
            o = sup.run(["sleep", "30"], timeout=0.3)
        self.assertEqual("timed_out", o.kind)
        self.assertIsNone(o.exit_code)
        self.assertGreaterEqual(o.wall, 0.25)
        self.assertLess(time.monotonic() - t0, 10)

    def test_cancelled(self):
        with Supervisor() as sup:
            job = sup.spawn(["sleep", "30"], timeout=60)
            time.sleep(0.05)
            self.assertTrue(job.cancel())
            o = job.wait(10)
            self.assertFalse(job.cancel())  # ended
        self.assertEqual("cancelled", o.kind)
        self.assertEqual(scythe.REASON_USER, o.cancel_reason)
        self.assertEqual(signal.SIGTERM, o.signal)
        self.assertLess(o.wall, 10)

    def test_spawn_failed_is_an_outcome_not_an_exception(self):
        with Supervisor() as sup:
            job = sup.spawn(["/nonexistent/prover", "goal.smt2"])
            o = job.wait(10)
            in_path = sup.run(["scythe-no-such-program-here"])
        self.assertEqual("spawn_failed", o.kind)
        self.assertEqual(errno.ENOENT, o.errno)
        self.assertIsNone(o.exit_code)
        self.assertIn("/nonexistent/prover", o.error)
        self.assertEqual("spawn_failed", in_path.kind)
        self.assertTrue(job.done())

    def test_wait_times_out_while_the_job_runs(self):
        with Supervisor() as sup:
            job = sup.spawn(["sleep", "30"])
            with self.assertRaises(TimeoutError):
                job.wait(0.05)
            self.assertIsNone(job.outcome)
            self.assertFalse(job.done())
            self.assertEqual(1, sup.live_jobs)
            job.cancel()
            self.assertEqual("cancelled", job.wait(10).kind)

    def test_cpu_limit_and_stall(self):
        with Supervisor() as sup:
            cpu = sup.spawn(["sh", "-c", "while :; do :; done"], cpu_limit=0.2, timeout=20)
            stall = sup.spawn(["sleep", "30"], stall=0.2, timeout=20)
            self.assertEqual("cpu_limit", cpu.wait(30).kind)
            self.assertEqual("stalled", stall.wait(30).kind)

    def test_cgroup_limits(self):
        caps = scythe.capabilities()
        if "cgroup_kill" not in caps:
            self.skipTest("this machine gives no cgroup level")
        with Supervisor() as sup:
            best = sup.run(["/bin/true"], containment="best")
            self.assertEqual("success", best.kind)
            if "cgroup_memory" in caps:
                mem = sup.run([sys.executable, "-c", "b = bytearray(400 << 20); print(len(b))"],
                              containment="cgroup", memory_limit=60 << 20, timeout=30)
                self.assertEqual("memory_limit", mem.kind, mem)
                self.assertEqual("cgroup", mem.containment)
            if "cgroup_pids" in caps or "cgroup_kill" in caps:
                procs = sup.run(["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do sleep 5 & done; wait"],
                                containment="cgroup", process_limit=3, timeout=30)
                self.assertEqual("process_limit", procs.kind, procs)

    def test_cgroup_refused_is_spawn_failed_where_unsupported(self):
        if "cgroup_kill" in scythe.capabilities():
            self.skipTest("this machine gives the cgroup level")
        with Supervisor() as sup:
            o = sup.run(["/bin/true"], containment="cgroup")
        self.assertEqual("spawn_failed", o.kind)
        self.assertEqual(errno.EOPNOTSUPP, o.errno)


class Io(LeakCheckedTest):
    def test_captured_stdout_and_stderr(self):
        with Supervisor() as sup:
            o = sup.run(["sh", "-c", "echo out; echo err >&2"])
            fed = sup.run(["cat"], stdin=b"fed through stdin\n")
            quiet = sup.run(["sh", "-c", "echo out"], stdout="null")
        self.assertEqual(b"out\n", o.stdout)
        self.assertEqual(b"err\n", o.stderr)
        self.assertEqual(b"fed through stdin\n", fed.stdout)
        self.assertIsNone(quiet.stdout)
        self.assertEqual(b"", quiet.stderr)

    def test_head_and_tail_of_long_output(self):
        with Supervisor() as sup:
            o = sup.run(["sh", "-c", "i=0; while [ $i -lt 2000 ]; do echo line$i; i=$((i+1)); done"],
                        head_bytes=100, tail_bytes=100)
        self.assertEqual(200, len(o.stdout))
        self.assertTrue(o.stdout.startswith(b"line0\nline1\n"))
        self.assertTrue(o.stdout.endswith(b"line1999\n"))
        self.assertGreater(o.stdout_dropped, 10000)

    def test_cwd_env_and_file_output(self):
        import tempfile
        with tempfile.TemporaryDirectory() as d:
            with Supervisor() as sup:
                o = sup.run(["sh", "-c", "pwd; echo $SCYTHE_TEST_VAR"], cwd=d,
                            env={"PATH": os.environ.get("PATH", "/bin:/usr/bin"), "SCYTHE_TEST_VAR": "v1"})
                f = os.path.join(d, "out.txt")
                w = sup.run(["echo", "to a file"], stdout=f)
            self.assertEqual([os.path.realpath(d), "v1"], o.stdout.decode().split())
            self.assertEqual("success", w.kind)
            self.assertIsNone(w.stdout)
            with open(f) as fh:
                self.assertEqual("to a file\n", fh.read())


class Tokens(LeakCheckedTest):
    def test_local_token(self):
        with scythe.Token() as t:
            self.assertIsNone(t.fd)
            self.assertFalse(t.is_cancelled())
            self.assertIsNone(t.reason)
            self.assertIsNone(t.winner)
            child = t.child()
            self.assertIsNone(child.fd)
            self.assertTrue(t.cancel(42))
            self.assertFalse(t.cancel(43))
            self.assertTrue(t.is_cancelled())
            self.assertEqual(42, t.reason)
            self.assertTrue(child.is_cancelled())
            self.assertEqual(42, child.reason)
            self.assertFalse(t.claim(0))  # cancelled before any claim
            child.close()
        self.assertTrue(t.closed)
        t.close()  # idempotent
        with self.assertRaises(ValueError):
            t.cancel()

    def test_claims(self):
        t = scythe.Token()
        self.assertTrue(t.claim(2))
        self.assertFalse(t.claim(1))
        self.assertEqual(2, t.winner)
        self.assertEqual(scythe.REASON_PREEMPTED, t.reason)
        with self.assertRaises(scythe.ScytheError) as cm:
            scythe.Token().claim(-1)
        self.assertEqual(errno.EINVAL, cm.exception.errno)
        self.assertEqual("scythe_token_claim", cm.exception.function)
        del t  # freed by __del__

    def test_shared_token_and_errors(self):
        with scythe.Token.shared() as t:
            self.assertIsInstance(t.fd, int)
            with scythe.Token.from_fd(t.fd) as same:
                self.assertTrue(same.cancel(9))
            self.assertTrue(t.is_cancelled())
            self.assertEqual(9, t.reason)
            child = t.child()
            self.assertIsNotNone(child.fd)
            self.assertTrue(child.is_cancelled())
            child.close()
            with scythe.Token.open("/proc/self/fd/%d" % t.fd) as by_name:
                self.assertEqual(9, by_name.reason)
        notatoken = os.open("/dev/null", os.O_RDONLY)
        try:
            with self.assertRaises(scythe.ScytheError) as cm:
                scythe.Token.from_fd(notatoken)
        finally:
            os.close(notatoken)
        self.assertEqual("scythe_token_from_fd", cm.exception.function)
        self.assertEqual(errno.EINVAL, cm.exception.errno)
        self.assertIsInstance(cm.exception, OSError)
        self.assertIn("scythe_token_from_fd", str(cm.exception))
        with self.assertRaises(scythe.ScytheError) as cm:
            scythe.Token.from_fd(987654)
        self.assertEqual(errno.EBADF, cm.exception.errno)

    def test_from_env_without_a_token(self):
        saved = os.environ.pop(N.TOKEN_FD_ENV, None)
        try:
            with self.assertRaises(scythe.ScytheError) as cm:
                scythe.Token.from_env()
            self.assertEqual(errno.ENOENT, cm.exception.errno)
            self.assertEqual("scythe_token_from_env", cm.exception.function)
        finally:
            if saved is not None:
                os.environ[N.TOKEN_FD_ENV] = saved

    def test_token_cancel_kills_attached_jobs_fast(self):
        with Supervisor() as sup, scythe.Token() as tok:
            jobs = [sup.spawn(["sleep", "30"], timeout=60, token=tok) for _ in range(4)]
            other = sup.spawn(["sleep", "30"], timeout=60)
            time.sleep(0.1)
            t0 = time.monotonic()
            self.assertTrue(tok.cancel())
            outs = wait_all(jobs, 10)
            elapsed = time.monotonic() - t0
            self.assertFalse(other.done())
        self.assertLess(elapsed, 2.0)
        for o in outs:
            self.assertEqual("cancelled", o.kind)
            self.assertEqual(scythe.REASON_USER, o.cancel_reason)
        self.assertEqual("cancelled", other.outcome.kind)
        self.assertEqual(scythe.REASON_SHUTDOWN, other.outcome.cancel_reason)

    def test_child_token_cancelled_by_its_parent(self):
        with Supervisor() as sup, scythe.Token() as parent:
            child = parent.child()
            job = sup.spawn(["sleep", "30"], timeout=60, token=child)
            parent.cancel()
            self.assertEqual("cancelled", job.wait(10).kind)
            child.close()

    def test_spawn_with_a_cancelled_token(self):
        with Supervisor() as sup, scythe.Token() as tok:
            tok.cancel()
            o = sup.run(["/bin/true"], token=tok)
            won = scythe.Token()
            won.claim(5)
            p = sup.run(["/bin/true"], token=won)
            won.close()
        self.assertEqual("cancelled", o.kind)
        self.assertEqual(errno.ECANCELED, o.errno)
        self.assertEqual(("preempted", 5), (p.kind, p.winner))

    def test_token_closed_while_its_job_runs(self):
        with Supervisor() as sup:
            t = scythe.Token()
            job = sup.spawn(["sleep", "30"], timeout=60, token=t)
            self.assertTrue(t.claim(3))
            t.close()  # the job keeps the native token alive
            o = job.wait(10)
        self.assertEqual("preempted", o.kind)
        self.assertIn(o.winner, (3, None))

    def test_pass_token_needs_a_shared_token(self):
        with Supervisor() as sup, scythe.Token() as tok:
            with self.assertRaises(ValueError):
                sup.spawn(["/bin/true"], token=tok, pass_token=True)
            with self.assertRaises(ValueError):
                sup.spawn(["/bin/true"], pass_token=True)


class Races(LeakCheckedTest):
    def test_first_success_wins_and_losers_are_preempted(self):
        t0 = time.monotonic()
        with Supervisor() as sup:
            r = sup.race([["sleep", "30"], ["sh", "-c", "sleep 0.2; exit 0"], ["sh", "-c", "exit 1"],
                          ["sleep", "30"]], timeout=60)
        self.assertLess(time.monotonic() - t0, 10)
        self.assertEqual(1, r.winner)
        kinds = [o.kind for o in r.outcomes]
        self.assertEqual(["preempted", "success", "failure", "preempted"], kinds)
        self.assertTrue(r.outcomes[1].claimed)
        self.assertEqual(1, r.outcomes[0].winner)
        self.assertEqual(scythe.REASON_PREEMPTED, r.outcomes[3].cancel_reason)
        self.assertIs(r.outcomes[1], r.winning_outcome)

    def test_success_codes_and_no_winner(self):
        with Supervisor() as sup:
            r = sup.race([["sh", "-c", "exit 1"], ["sh", "-c", "sleep 0.1; exit 3"], ["sleep", "30"]],
                         success_codes=(3,), timeout=60)
            none = sup.race([["sh", "-c", "exit 1"], ["sh", "-c", "exit 2"]])
        self.assertEqual(1, r.winner)
        self.assertEqual(["failure", "failure", "preempted"], [o.kind for o in r.outcomes])
        self.assertIsNone(none.winner)
        self.assertIsNone(none.winning_outcome)

    def test_success_predicate(self):
        with Supervisor() as sup:
            r = sup.race([["sh", "-c", "echo unsat; exit 0"], ["sh", "-c", "sleep 0.2; echo sat"], ["sleep", "30"]],
                         success=lambda o: o.stdout == b"sat\n", timeout=60)
        self.assertEqual(1, r.winner)
        self.assertEqual(["success", "success", "preempted"], [o.kind for o in r.outcomes])


    def test_a_parent_token_cancels_the_race(self):
        with Supervisor() as sup, scythe.Token() as parent:
            timer = threading.Timer(0.2, parent.cancel)
            timer.start()
            t0 = time.monotonic()
            r = sup.race([["sleep", "30"], ["sleep", "30"]], parent=parent, timeout=60)
            timer.join()
        self.assertLess(time.monotonic() - t0, 10)
        self.assertIsNone(r.winner)
        self.assertEqual(["cancelled", "cancelled"], [o.kind for o in r.outcomes])


class AcrossProcesses(LeakCheckedTest):
    CANCEL = textwrap.dedent("""
        import sys, scythe
        t = scythe.Token.from_fd(int(sys.argv[1]))
        print(t.cancel(int(sys.argv[2])), t.is_cancelled(), flush=True)
    """)

    def test_shared_token_cancelled_by_another_process(self):
        with Supervisor() as sup, scythe.Token.shared() as tok:
            jobs = [sup.spawn(["sleep", "30"], timeout=60, token=tok) for _ in range(3)]
            other = sup.spawn(["sleep", "30"], timeout=60)
            time.sleep(0.1)
            t0 = time.monotonic()
            p = subprocess.run([sys.executable, "-c", self.CANCEL, str(tok.fd), "77"], pass_fds=[tok.fd],
                               env=child_env(), capture_output=True, timeout=30)
            child_done = time.monotonic()
            self.assertEqual(0, p.returncode, p.stderr.decode())
            self.assertEqual("True True", p.stdout.decode().strip())
            outs = wait_all(jobs, 10)
            ended = time.monotonic()
            self.assertTrue(tok.is_cancelled())
            self.assertEqual(77, tok.reason)
            self.assertFalse(tok.cancel())  # the first reason stays
            self.assertFalse(other.done())
        self.assertLess(ended - child_done, 2.0)
        self.assertLess(ended - t0, 15.0)
        for o in outs:
            self.assertEqual(("cancelled", 77), (o.kind, o.cancel_reason))
            self.assertLess(o.wall, 20)

    CLAIM = textwrap.dedent("""
        import sys, scythe
        t = scythe.Token.from_fd(int(sys.argv[1]))
        print("ready", flush=True)
        sys.stdin.readline()
        print(t.claim(int(sys.argv[2])), flush=True)
    """)

    def test_first_claim_across_processes(self):
        with Supervisor() as sup:
            for round in range(3):
                with scythe.Token.shared() as tok:
                    job = sup.spawn(["sleep", "30"], timeout=60, token=tok)
                    procs = [subprocess.Popen([sys.executable, "-c", self.CLAIM, str(tok.fd), str(i)],
                                              pass_fds=[tok.fd], env=child_env(), stdin=subprocess.PIPE,
                                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) for i in (1, 2)]
                    try:
                        for p in procs:
                            self.assertEqual(b"ready\n", p.stdout.readline())
                        for p in procs:  # as close together as two writes get
                            p.stdin.write(b"go\n")
                            p.stdin.flush()
                        results = []
                        for p in procs:
                            out, err = p.communicate(timeout=30)
                            self.assertEqual(0, p.returncode, err.decode())
                            results.append(out.decode().strip())
                    finally:
                        for p in procs:
                            if p.poll() is None:
                                p.kill()
                                p.wait()
                    self.assertEqual(1, results.count("True"), results)
                    self.assertEqual(1, results.count("False"), results)
                    winner = 1 + results.index("True")
                    self.assertEqual(winner, tok.winner)
                    self.assertFalse(tok.claim(0))
                    o = job.wait(10)
                    self.assertEqual(("preempted", winner), (o.kind, o.winner))

    def test_pass_token_lets_a_job_cancel_its_siblings(self):
        canceller = "import scythe, time; time.sleep(0.2); t = scythe.Token.from_env(); t.cancel(66)"
        with Supervisor() as sup, scythe.Token.shared() as tok:
            siblings = [sup.spawn(["sleep", "30"], timeout=60, token=tok) for _ in range(2)]
            look = sup.run(["sh", "-c", 'echo "$SCYTHE_TOKEN_FD"; test -e /proc/self/fd/3 && echo has3'],
                           token=tok, pass_token=True)
            self.assertEqual(b"3\nhas3\n", look.stdout)
            t0 = time.monotonic()
            job = sup.spawn([sys.executable, "-c", canceller], token=tok, pass_token=True, env=child_env(),
                            timeout=60)
            outs = wait_all(siblings, 20)
            elapsed = time.monotonic() - t0
            mine = job.wait(20)
        self.assertLess(elapsed, 10)
        for o in outs:
            self.assertEqual(("cancelled", 66), (o.kind, o.cancel_reason))
        self.assertIn(mine.kind, ("success", "cancelled"), mine)
        self.assertEqual(66, tok.reason if not tok.closed else 66)

    def test_canceller_killed_with_sigkill(self):
        holder = textwrap.dedent("""
            import sys, time, scythe
            t = scythe.Token.from_fd(int(sys.argv[1]))
            print("ready", flush=True)
            time.sleep(60)
        """)
        with Supervisor() as sup, scythe.Token.shared() as tok:
            jobs = [sup.spawn(["sleep", "30"], timeout=60, token=tok) for _ in range(2)]
            p = subprocess.Popen([sys.executable, "-c", holder, str(tok.fd)], pass_fds=[tok.fd], env=child_env(),
                                 stdout=subprocess.PIPE)
            try:
                self.assertEqual(b"ready\n", p.stdout.readline())
                p.send_signal(signal.SIGKILL)  # mid-way: it holds the token, cancelled nothing
                self.assertEqual(-signal.SIGKILL, p.wait(10))
            finally:
                if p.poll() is None:
                    p.kill()
                    p.wait()
                p.stdout.close()
            time.sleep(0.2)
            self.assertFalse(tok.is_cancelled())
            self.assertFalse(any(j.done() for j in jobs))  # its death woke the loop, which killed nothing
            # A canceller killed right after its cancel still announces it (its file closes).
            suicide = ("import os, signal, sys, scythe; t = scythe.Token.from_fd(int(sys.argv[1])); t.cancel(55); "
                       "os.kill(os.getpid(), signal.SIGKILL)")
            t0 = time.monotonic()
            q = subprocess.run([sys.executable, "-c", suicide, str(tok.fd)], pass_fds=[tok.fd], env=child_env(),
                               timeout=30)
            self.assertEqual(-signal.SIGKILL, q.returncode)
            outs = wait_all(jobs, 10)
            self.assertLess(time.monotonic() - t0, 10)
            for o in outs:
                self.assertEqual(("cancelled", 55), (o.kind, o.cancel_reason))
            # The supervisor still works after both.
            self.assertEqual("success", sup.run(["/bin/true"]).kind)
            later = sup.spawn(["sleep", "30"], timeout=60)
            self.assertTrue(later.cancel())
            self.assertEqual("cancelled", later.wait(10).kind)


class Lifecycle(LeakCheckedTest):
    def test_close_ends_every_job_and_leaves_nothing(self):
        t0 = time.monotonic()
        sup = Supervisor()
        jobs = [sup.spawn(["sh", "-c", "sleep 30 & sleep 30 & wait"], timeout=60) for _ in range(3)]
        time.sleep(0.1)
        pids = [j.pid for j in jobs]
        self.assertTrue(all(p and p > 0 for p in pids))
        sup.close()
        sup.close()
        self.assertLess(time.monotonic() - t0, 10)
        for j in jobs:
            o = j.wait(0)
            self.assertEqual(("cancelled", scythe.REASON_SHUTDOWN), (o.kind, o.cancel_reason))
        for pid in pids:
            self.assertFalse(os.path.exists("/proc/%d" % pid), pid)
        with self.assertRaises(RuntimeError):
            sup.spawn(["/bin/true"])

    def test_many_supervisors_and_jobs_from_many_threads(self):
        results = []
        lock = threading.Lock()
        with Supervisor() as sup:
            def work(n):
                outs = [sup.spawn(["sh", "-c", "exit %d" % (n % 3)]).wait(30) for _ in range(5)]
                with lock:
                    results.extend((n % 3, o.exit_code) for o in outs)
            threads = [threading.Thread(target=work, args=(n,)) for n in range(8)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(60)
        self.assertEqual(40, len(results))
        for want, got in results:
            self.assertEqual(want, got)
        for _ in range(10):
            with Supervisor() as s:
                s.spawn(["sleep", "30"])

    def test_done_callbacks(self):
        seen = []
        with Supervisor() as sup:
            job = sup.spawn(["/bin/true"])
            job.add_done_callback(lambda j: seen.append(j.outcome.kind))
            job.wait(10)
            job.add_done_callback(lambda j: seen.append("late"))
        self.assertEqual(["success", "late"], seen)

    def test_argv_checks(self):
        with Supervisor() as sup:
            with self.assertRaises(TypeError):
                sup.spawn("/bin/true")
            with self.assertRaises(ValueError):
                sup.spawn([])
            with self.assertRaises(ValueError):
                sup.spawn(["/bin/true"], containment="jail")
            self.assertEqual("success", sup.run([pathlib.Path("/bin/true")]).kind)


class Abi(LeakCheckedTest):
    """The library's layouts match this binding's, and hosts built against an older header keep working."""

    def test_versions_and_layouts(self):
        major, minor = scythe.abi_version()
        self.assertEqual(0, major)
        self.assertGreaterEqual(minor, 6)
        for struct in N.STRUCTS:
            self.assertEqual(N.lib.scythe_sizeof(struct.__name__.encode()), ctypes.sizeof(struct), struct.__name__)
        self.assertEqual(0, N.lib.scythe_sizeof(b"no_such_struct"))

    def test_a_mismatched_layout_is_refused_by_name(self):
        fields = list(N.scythe_output._fields_)  # head and head_len swapped
        fields[2], fields[3] = fields[3], fields[2]

        class Swapped(ctypes.Structure):
            _fields_ = fields
        Swapped.__name__ = "scythe_output"
        saved = N.STRUCTS
        N.STRUCTS = (Swapped,)
        try:
            with self.assertRaises(ImportError) as cm:
                N._check_layouts(N.lib, N.path, scythe.abi_version()[1])
        finally:
            N.STRUCTS = saved
        self.assertIn("scythe_output.head", str(cm.exception))

    def _spawn_raw(self, loop, argv, user_data, version=None, **fields):
        o = N.scythe_spawn_options()
        self.assertEqual(0, N.lib.scythe_spawn_options_init(ctypes.byref(o)))
        self.assertEqual(N.SPAWN_OPTIONS_VERSION, o.version)
        if version is not None:
            o.version = version
        arr = (ctypes.c_char_p * (len(argv) + 1))(*[a.encode() for a in argv], None)
        o.argv = arr
        o.user_data = user_data
        for k, v in fields.items():
            setattr(o, k, v)
        job = ctypes.c_void_p()
        rc = N.lib.scythe_spawn(ctypes.byref(job), loop, ctypes.byref(o))
        return rc, job.value

    def _run_until(self, loop, buf, event_size, capacity, want):
        count = ctypes.c_size_t()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            rc = N.lib.scythe_loop_run_sized(ctypes.byref(count), loop, buf, event_size, capacity, 1000)
            self.assertEqual(0, rc)
            if count.value >= want:
                return count.value
            if count.value:
                self.fail("got %d events, wanted %d at once" % (count.value, want))
        self.fail("no event")

    def test_older_header_event_and_output_sizes(self):
        full = N.EVENT_SIZE
        loop = ctypes.c_void_p()
        self.assertEqual(0, N.lib.scythe_loop_new(ctypes.byref(loop)))
        loop = loop.value
        try:
            # -EINVAL for sizes below 16 or not a multiple of 8.
            count = ctypes.c_size_t()
            buf = canary(b"\xab", 4 * full)
            for bad in (0, 8, 12, 20):
                self.assertEqual(-errno.EINVAL, N.lib.scythe_loop_run_sized(ctypes.byref(count), loop, buf, bad, 1, 0))
            for size in (16, 24, 48, full - 8, full, full + 16):
                rc, job = self._spawn_raw(loop, ["sh", "-c", "printf abcdef"], 1000 + size)
                self.assertEqual(0, rc)
                buf = canary(b"\xab", 4 * full + 64)
                self.assertEqual(1, self._run_until(loop, buf, size, 2, 1))
                raw = buf.raw
                written = min(size, full)
                ev = N.scythe_event.from_buffer_copy(raw[:written] + b"\0" * (full - written))
                self.assertEqual(written, ev.size, size)
                self.assertEqual(1000 + size, ev.user_data)
                self.assertEqual(b"\xab" * (len(raw) - written), raw[written:], "bytes written past %d" % size)
                # the output view, as a host with a shorter scythe_output sees it
                for osize in (8, 16, 24, N.OUTPUT_SIZE, N.OUTPUT_SIZE + 8):
                    ob = canary(b"\xcd", N.OUTPUT_SIZE + 32)
                    self.assertEqual(0, N.lib.scythe_job_output_sized(ob, osize, job, 1))
                    owritten = min(osize, N.OUTPUT_SIZE)
                    view = N.scythe_output.from_buffer_copy(ob.raw[:owritten] + b"\0" * (N.OUTPUT_SIZE - owritten))
                    self.assertEqual(owritten, view.size)
                    self.assertEqual(b"\xcd" * (len(ob.raw) - owritten), ob.raw[owritten:], osize)
                    if osize >= N.OUTPUT_SIZE:
                        self.assertEqual(b"abcdef", ctypes.string_at(view.head, view.head_len))
                for bad in (0, 4, 12):
                    self.assertEqual(-errno.EINVAL, N.lib.scythe_job_output_sized(ob, bad, job, 1))
                N.lib.scythe_job_free(job)
            # Two events of 24 bytes each, back to back.
            jobs = [self._spawn_raw(loop, ["/bin/true"], 7 + i)[1] for i in range(2)]
            buf = canary(b"\xab", 256)
            got = []
            deadline = time.monotonic() + 20
            while len(got) < 2 and time.monotonic() < deadline:
                rc = N.lib.scythe_loop_run_sized(ctypes.byref(count), loop, buf, 24, 2, 1000)
                self.assertEqual(0, rc)
                for i in range(count.value):
                    chunk = buf.raw[i * 24:(i + 1) * 24]
                    got.append(int.from_bytes(chunk[8:16], sys.byteorder))
                    self.assertEqual(24, int.from_bytes(chunk[0:4], sys.byteorder))
                self.assertEqual(b"\xab" * (256 - 24 * count.value), buf.raw[24 * count.value:])
            self.assertEqual([7, 8], sorted(got))
            for j in jobs:
                N.lib.scythe_job_free(j)
        finally:
            N.lib.scythe_loop_free(loop)

    def test_older_spawn_options_version(self):
        """A version-5 host knows no pass_token: whatever lies there is not read."""
        loop = ctypes.c_void_p()
        self.assertEqual(0, N.lib.scythe_loop_new(ctypes.byref(loop)))
        loop = loop.value
        try:
            rc, job = self._spawn_raw(loop, ["/bin/true"], 1, version=6, pass_token=1)
            self.assertEqual(-errno.EINVAL, rc)  # version 6: pass_token without a shared token
            rc, job = self._spawn_raw(loop, ["/bin/true"], 2, version=5, pass_token=1, reserved6=-1)
            self.assertEqual(0, rc)
            buf = ctypes.create_string_buffer(N.EVENT_SIZE * 2)
            self._run_until(loop, buf, N.EVENT_SIZE, 2, 1)
            ev = N.scythe_event.from_buffer(buf)
            self.assertEqual((2, N.END_EXITED, 0), (ev.user_data, ev.end, ev.exit_code))
            N.lib.scythe_job_free(job)
            rc, job = self._spawn_raw(loop, ["/bin/true"], 3, version=1)
            self.assertEqual(0, rc)
            self._run_until(loop, buf, N.EVENT_SIZE, 2, 1)
            N.lib.scythe_job_free(job)
        finally:
            N.lib.scythe_loop_free(loop)


class Guard(LeakCheckedTest):
    HOST = textwrap.dedent("""
        import sys, time, scythe
        sup = scythe.Supervisor()
        jobs = [sup.spawn(["sh", "-c", "sleep 60 & sleep 60"]) for _ in range(3)]
        time.sleep(0.2)
        print(scythe.guard_pid(), *[j.pid for j in jobs], flush=True)
        time.sleep(60)
    """)

    def test_jobs_die_with_a_host_killed_by_sigkill(self):
        p = subprocess.Popen([sys.executable, "-c", self.HOST], env=child_env(), stdout=subprocess.PIPE)
        try:
            line = p.stdout.readline().split()
            self.assertEqual(4, len(line), line)
            guard, *pids = [int(x) for x in line]
            self.assertGreater(guard, 0)
            self.assertTrue(all(os.path.exists("/proc/%d" % pid) for pid in pids))
            # every process of the jobs' sessions, grandchildren included
            sessions = set(pids)
            members = [int(d) for d in os.listdir("/proc") if d.isdigit() and _session(int(d)) in sessions]
            self.assertGreaterEqual(len(members), 6)
            p.kill()
            p.wait(10)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stdout.close()
        deadline = time.monotonic() + 10
        while True:
            alive = [m for m in members if _alive(m)]
            if not alive:
                break
            self.assertLess(time.monotonic(), deadline, "still running after the host died: %s" % alive)
            time.sleep(0.02)


def _session(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[3])
    except (OSError, IndexError, ValueError):
        return None


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class Loading(unittest.TestCase):
    def test_missing_library_is_a_clear_import_error_and_the_worker_still_imports(self):
        code = textwrap.dedent("""
            import scythe, scythe.worker
            try:
                scythe.Supervisor
            except ImportError as e:
                print("ImportError:", e)
        """)
        p = subprocess.run([sys.executable, "-c", code], env=child_env(SCYTHE_LIBRARY="/nonexistent/libscythe.so"),
                           capture_output=True, timeout=30)
        self.assertEqual(0, p.returncode, p.stderr.decode())
        self.assertIn("ImportError: scythe: $SCYTHE_LIBRARY names /nonexistent/libscythe.so", p.stdout.decode())


if __name__ == "__main__":
    unittest.main()
