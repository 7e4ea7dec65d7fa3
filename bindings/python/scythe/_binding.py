"""The binding of libscythe: Supervisor, Job, Outcome, Token, race. Imported by ``scythe`` on first use."""

import atexit
import ctypes
import dataclasses
import errno
import os
import sys
import threading
import traceback
import weakref

from . import _native as N
from .errors import ScytheError

__all__ = ["Supervisor", "Job", "Outcome", "Token", "RaceResult", "ScytheError", "Heartbeat", "KINDS",
           "REASON_USER", "REASON_TIMEOUT", "REASON_PREEMPTED", "REASON_SHUTDOWN",
           "abi_version", "version", "capabilities", "library_path", "guard_pid", "guard_restarts"]

lib = N.lib

REASON_NONE = N.REASON_NONE
REASON_USER = N.REASON_USER
REASON_TIMEOUT = N.REASON_TIMEOUT
REASON_PREEMPTED = N.REASON_PREEMPTED
REASON_SHUTDOWN = N.REASON_SHUTDOWN

_END_KINDS = {
    N.END_TIMEOUT: "timed_out",
    N.END_SIGNALED: "crashed",
    N.END_STALLED: "stalled",
    N.END_CPU_LIMIT: "cpu_limit",
    N.END_MEMORY: "memory_limit",
    N.END_PROCESSES: "process_limit",
    N.END_LOST: "lost",
}

KINDS = ("success", "failure", "crashed", "timed_out", "cancelled", "preempted", "stalled", "cpu_limit",
         "memory_limit", "process_limit", "lost", "spawn_failed")

_CONTAINMENT = {"session": N.CONTAIN_SESSION, "cgroup": N.CONTAIN_CGROUP, "best": N.CONTAIN_BEST}
_CONTAINMENT_NAMES = {N.CONTAIN_SESSION: "session", N.CONTAIN_CGROUP: "cgroup"}


def version():
    """The loaded library's version as a (major, minor, patch) tuple."""
    v = lib.scythe_version()
    return (v >> 16, (v >> 8) & 0xff, v & 0xff)


def abi_version():
    """The loaded library's ABI as a (major, minor) tuple."""
    v = lib.scythe_abi_version()
    return (v >> 16, v & 0xffff)


def capabilities():
    """The names of the capabilities this kernel and libc offer (scythe_capabilities)."""
    caps = lib.scythe_capabilities()
    names = []
    for i in range(32):
        bit = 1 << i
        if caps & bit:
            n = lib.scythe_capability_name(bit)
            names.append(n.decode() if n else hex(bit))
    return frozenset(names)


def library_path():
    """The path of the libscythe.so this process loaded."""
    return N.path


def guard_pid():
    """The guard's pid, or None if none runs."""
    return lib.scythe_guard_pid() or None


def guard_restarts():
    return lib.scythe_guard_restarts()


def _seconds_to_ns(value, name, allow_zero=False):
    if value is None:
        return 0
    ns = int(round(float(value) * 1e9))
    if ns < 0 or (ns == 0 and not allow_zero):
        raise ValueError("%s must be positive seconds, not %r" % (name, value))
    return ns


# ---- outcomes ---------------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Outcome:
    """How a job ended.

    kind: one of KINDS. exit_code: the exit status when the leader exited (for any kind; a job cancelled after it
    had exited on its own keeps its status), else None. signal: the signal that killed the leader, else None.
    wall: seconds from the spawn to the leader's exit. pid: the leader's pid (None when it never started).
    memory_peak_kib: the job's peak memory where known (cgroup level), else None. stdout, stderr: captured bytes
    (head and tail; ``*_dropped`` bytes between them were discarded), None when not captured.
    cancel_reason: for "cancelled" and "preempted". winner: for "preempted", the race index that claimed the token
    where known. errno, error: for "spawn_failed" (and a spawn refused because the token was already cancelled).
    """

    kind: str
    exit_code: int = None
    signal: int = None
    wall: float = 0.0
    pid: int = None
    memory_peak_kib: int = None
    stdout: bytes = None
    stderr: bytes = None
    stdout_dropped: int = 0
    stderr_dropped: int = 0
    cancel_reason: int = None
    winner: int = None
    core_dumped: bool = False
    claimed: bool = False
    user_cpu: float = 0.0
    sys_cpu: float = 0.0
    containment: str = None
    dossier: bool = False
    errno: int = None
    error: str = None

    @property
    def ok(self):
        return self.kind == "success"

    def __repr__(self):
        parts = ["kind=%r" % self.kind]
        for f in ("exit_code", "signal", "cancel_reason", "winner", "errno", "error"):
            v = getattr(self, f)
            if v is not None:
                parts.append("%s=%r" % (f, v))
        if self.pid is not None:
            parts.append("pid=%d" % self.pid)
            parts.append("wall=%.3f" % self.wall)
        return "Outcome(%s)" % ", ".join(parts)


def _outcome_from_event(ev, token, out, err):
    end = ev.end
    code = ev.exit_code if ev.exit_code >= 0 else None
    sig = ev.term_signal or None
    reason = None
    winner = None
    if end == N.END_EXITED:
        kind = "success" if ev.exit_code == 0 else "failure"
    elif end == N.END_CANCELLED:
        reason = ev.cancel_reason
        if reason == N.REASON_PREEMPTED:
            kind = "preempted"
            winner = token._winner_if_open() if token is not None else None
        else:
            kind = "cancelled"
    else:
        kind = _END_KINDS.get(end, "lost")  # an end this version does not know: never a success
    return Outcome(
        kind=kind, exit_code=code, signal=sig,
        wall=max(0, ev.exit_ns - ev.start_ns) / 1e9, pid=ev.pid,
        memory_peak_kib=ev.max_rss_kib if ev.max_rss_kib >= 0 else None,
        stdout=out[0] if out else None, stderr=err[0] if err else None,
        stdout_dropped=out[1] if out else 0, stderr_dropped=err[1] if err else 0,
        cancel_reason=reason, winner=winner, core_dumped=bool(ev.core_dumped), claimed=bool(ev.claimed),
        user_cpu=ev.user_cpu_ns / 1e9, sys_cpu=ev.sys_cpu_ns / 1e9,
        containment=_CONTAINMENT_NAMES.get(ev.containment), dossier=bool(ev.flags & N.EVENT_DOSSIER))


def _spawn_failed(rc, argv, token):
    if rc == -errno.ECANCELED and token is not None:
        reason = token.reason
        if reason == N.REASON_PREEMPTED:
            return Outcome(kind="preempted", cancel_reason=reason, winner=token.winner, errno=-rc,
                           error="not started: its race was already won")
        return Outcome(kind="cancelled", cancel_reason=reason, errno=-rc,
                       error="not started: its token was already cancelled")
    text = N.strerror(rc)
    if lib.scythe_error_is_unsupported(rc):
        text = "this machine cannot give the cgroup level (%s)" % text
    return Outcome(kind="spawn_failed", errno=-rc, error="cannot start %s: %s" % (argv[0], text))


# ---- tokens -----------------------------------------------------------------------------------------------------

class Token:
    """A cancel token of libscythe. Cancelling it kills, natively, every job attached to it or to a token below it.

    ``Token()`` is local to this process; ``Token.shared()`` lives in a sealed memfd (``tok.fd``) that another
    process opens with ``Token.from_fd(fd)`` (inherited, e.g. ``subprocess.Popen(..., pass_fds=[tok.fd])``),
    ``Token.open("/proc/<pid>/fd/<fd>")`` or, in a job spawned with ``pass_token=True``, ``Token.from_env()``.
    A cancel or a claim in any process wakes every loop watching the token. Thread-safe; ``close()`` (or the
    context manager, or garbage collection) drops this handle's reference: jobs attached keep the token alive.
    """

    __slots__ = ("_handle", "_lock", "_parent", "__weakref__")

    def __init__(self, parent=None, *, _handle=None):
        self._lock = threading.Lock()
        self._handle = None
        self._parent = parent  # kept alive: cancelling it cancels this one
        if _handle is None:
            out = ctypes.c_void_p()
            N.check(lib.scythe_token_new(ctypes.byref(out), parent._h() if parent is not None else None),
                    "scythe_token_new")
            _handle = out.value
        self._handle = _handle

    @classmethod
    def _make(cls, function, *args, parent=None):
        out = ctypes.c_void_p()
        N.check(getattr(lib, function)(ctypes.byref(out), *args), function)
        return cls(parent, _handle=out.value)

    @classmethod
    def shared(cls, parent=None):
        """A new token in shared memory: its ``fd`` can be inherited by, or sent to, another process."""
        return cls._make("scythe_token_new_shared", parent._h() if parent is not None else None, parent=parent)

    @classmethod
    def from_fd(cls, fd):
        """Opens the shared token behind ``fd`` in this process (the caller keeps ``fd`` and may close it)."""
        return cls._make("scythe_token_from_fd", int(fd))

    @classmethod
    def open(cls, path):
        """Opens a shared token by a path that opens its file, such as ``/proc/<pid>/fd/<fd>``."""
        return cls._make("scythe_token_open", os.fsencode(path))

    @classmethod
    def from_env(cls):
        """The token this process was handed by its supervisor (spawn option ``pass_token``): ScytheError with
        errno ENOENT if it was handed none."""
        return cls._make("scythe_token_from_env")

    def child(self, shared=None):
        """A new token below this one: cancelled when this one is. Shared if ``shared`` (default: if this one is)."""
        if shared is None:
            shared = self.fd is not None
        return Token.shared(self) if shared else Token(self)

    def _h(self):
        h = self._handle
        if h is None:
            raise ValueError("the token is closed")
        return h

    @property
    def handle(self):
        """The native scythe_token pointer (an int), valid while this object is open."""
        return self._h()

    @property
    def fd(self):
        """The memfd of a shared token (owned by the token: dup it to keep it), or None for a local token."""
        with self._lock:
            fd = lib.scythe_token_fd(self._h())
        return fd if fd >= 0 else None

    def cancel(self, reason=REASON_USER):
        """Cancels the token (and every token below it). True if this call cancelled it, False if it already was."""
        with self._lock:
            rc = lib.scythe_token_cancel(self._h(), int(reason))
        if rc == -errno.EALREADY:
            return False
        N.check(rc, "scythe_token_cancel")
        return True

    def is_cancelled(self):
        with self._lock:
            return lib.scythe_token_is_cancelled(self._h()) != 0

    @property
    def cancelled(self):
        return self.is_cancelled()

    def _state(self):
        with self._lock:
            addr = lib.scythe_token_state_address(self._h())
            return ctypes.c_uint64.from_address(addr).value

    @property
    def reason(self):
        """The reason it was cancelled with, or None while it is live."""
        s = self._state()
        return (s & 0xffffffff) if s & N.TOKEN_CANCELLED_BIT else None

    def claim(self, index):
        """Claims a race for ``index``: True for the first claimant (the token is then cancelled as PREEMPTED, which
        kills every job attached to it), False if another claim, or a cancel, came first."""
        with self._lock:
            rc = lib.scythe_token_claim(self._h(), int(index))
        if rc in (-errno.EALREADY, -errno.ECANCELED):
            return False
        N.check(rc, "scythe_token_claim")
        return True

    @property
    def winner(self):
        """The index that claimed the token, or None."""
        with self._lock:
            w = lib.scythe_token_winner(self._h())
        return w if w >= 0 else None

    def _winner_if_open(self):
        with self._lock:
            if self._handle is None:
                return None  # closed by its owner while a job held it
            w = lib.scythe_token_winner(self._handle)
        return w if w >= 0 else None

    @property
    def closed(self):
        return self._handle is None

    def close(self):
        """Drops this handle's reference (once; later calls do nothing)."""
        with self._lock:
            h, self._handle = self._handle, None
        if h is not None:
            lib.scythe_token_free(h)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        h = getattr(self, "_handle", None)
        if h is not None:
            self._handle = None
            try:
                lib.scythe_token_free(h)
            except Exception:  # interpreter shutdown
                pass

    def __repr__(self):
        if self._handle is None:
            return "<scythe.Token closed>"
        r = self.reason
        return "<scythe.Token %s%s%s>" % ("shared fd=%d" % self.fd if self.fd is not None else "local",
                                          "" if r is None else " cancelled reason=%d" % r,
                                          "" if self.winner is None else " winner=%d" % self.winner)


# ---- jobs -------------------------------------------------------------------------------------------------------

class Job:
    """A job started by :meth:`Supervisor.spawn`. ``wait()`` gives its :class:`Outcome`."""

    def __init__(self, supervisor, job_id, argv, token, capture):
        self._supervisor = supervisor
        self.id = job_id
        self.argv = argv
        self.token = token
        self._capture = capture  # (stdout captured, stderr captured)
        self._lock = threading.Lock()
        self._handle = None
        self._released = False
        self._done = threading.Event()
        self._outcome = None
        self._error = None
        self._callbacks = []
        self.pid = None

    def _attach(self, handle):
        with self._lock:
            if self._released:
                return
            self._handle = handle
            self.pid = lib.scythe_job_pid(handle)

    def _release(self, pid):
        with self._lock:
            self._released = True
            self._handle = None
            if self.pid is None:
                self.pid = pid

    def _complete(self, outcome=None, error=None):
        with self._lock:
            if self._callbacks is None:
                return  # completed already
            self._released = True
            self._handle = None
            self._outcome = outcome
            self._error = error
            if outcome is not None and self.pid is None:
                self.pid = outcome.pid
            callbacks, self._callbacks = self._callbacks, None
        # Callbacks run before waiters wake: what a callback does (a race's claim) is done when wait() returns.
        for cb in callbacks:
            self._run_callback(cb)
        self._done.set()

    def _run_callback(self, cb):
        try:
            cb(self)
        except Exception:
            print("scythe: a done callback of %r failed:" % self, file=sys.stderr)
            traceback.print_exc()

    def add_done_callback(self, fn):
        """Calls ``fn(job)`` when the job ends: on the supervisor's loop thread (keep it short, never close the
        supervisor from it), or at once if it has ended."""
        with self._lock:
            if self._callbacks is not None:
                self._callbacks.append(fn)
                return
        self._run_callback(fn)

    def done(self):
        return self._done.is_set()

    def wait(self, timeout=None):
        """The job's Outcome, once it ended; ``TimeoutError`` if ``timeout`` seconds pass first."""
        if not self._done.wait(timeout):
            raise TimeoutError("job %d (%s) still running after %s s" % (self.id, self.argv[0], timeout))
        if self._error is not None:
            raise self._error
        return self._outcome

    @property
    def outcome(self):
        """The Outcome, or None while the job runs (set just before done callbacks run)."""
        return self._outcome

    def cancel(self, reason=REASON_USER):
        """Ends the job: TERM to its session, KILL after its grace. True if its outcome will say "cancelled" (or
        "preempted" for REASON_PREEMPTED) with this reason; False if its end was already decided."""
        with self._lock:
            if self._handle is None:
                return False
            rc = lib.scythe_job_cancel(self._handle, int(reason))
        if rc == -errno.EALREADY:
            return False
        N.check(rc, "scythe_job_cancel")
        return True

    def progress(self):
        """Reports progress for a job with a stall window. False once it ended."""
        with self._lock:
            if self._handle is None:
                return False
            return lib.scythe_job_progress(self._handle) == 0

    def memory_peak_kib(self):
        """Peak memory of the running job's cgroup so far in KiB, or None where it is not measured."""
        with self._lock:
            if self._handle is None:
                return None
            kib = ctypes.c_int64()
            rc = lib.scythe_job_memory_peak(ctypes.byref(kib), self._handle)
        return kib.value if rc == 0 else None

    def __repr__(self):
        state = self._outcome.kind if self._outcome is not None else "running"
        return "<scythe.Job %d %r pid=%s %s>" % (self.id, self.argv[0], self.pid, state)


@dataclasses.dataclass(frozen=True)
class RaceResult:
    """The end of a race: ``winner`` is the index of the command that won (None if none did), ``outcomes`` every
    command's Outcome, in the order given."""

    winner: int
    outcomes: list

    @property
    def winning_outcome(self):
        return None if self.winner is None else self.outcomes[self.winner]


# ---- the supervisor ---------------------------------------------------------------------------------------------

_OPEN = weakref.WeakSet()
_BATCH = 64


def _close_all():
    for sup in list(_OPEN):
        try:
            sup.close()
        except Exception:
            pass


atexit.register(_close_all)


def _cstrings(items):
    arr = (ctypes.c_char_p * (len(items) + 1))()
    for i, s in enumerate(items):
        arr[i] = s
    arr[len(items)] = None
    return arr


class Supervisor:
    """One native loop and the thread that drives it. Jobs end with the supervisor: ``close()`` (or leaving the
    ``with`` block) cancels every job still running, waits for their ends, stops the thread and frees the loop."""

    def __init__(self, *, guard=True):
        if guard:
            N.ensure_guard()
        out = ctypes.c_void_p()
        N.check(lib.scythe_loop_new(ctypes.byref(out)), "scythe_loop_new")
        self._loop = out.value
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._jobs = {}
        self._next_id = 0
        self._spawning = 0
        self._closed = False
        self._stopping = False
        self._death = None
        self._loop_freed = False
        self._thread = threading.Thread(target=self._run, name="scythe-loop", daemon=True)
        self._thread.start()
        _OPEN.add(self)

    # -- spawning --

    def spawn(self, argv, *, timeout=None, grace=None, token=None, containment="session", memory_limit=None,
              process_limit=None, cpu_limit=None, stdin=None, capture=True, stdout=None, stderr=None, cwd=None,
              env=None, pass_token=False, stall=None, progress_regex=None, progress_tree=None, heartbeat_path=None,
              dossier_dir=None, head_bytes=None, tail_bytes=None, claim_index=None, success_codes=(0,)):
        """Starts ``argv`` (argv[0] searched in PATH without a '/') in a session of its own and returns its Job.

        timeout, grace, cpu_limit, stall: seconds (grace 0: KILL at once; None: the library's 2 s).
        token: a Token; cancelling it kills the job. pass_token: hand the (shared) token to the job as fd 3 and
        SCYTHE_TOKEN_FD=3. containment: "session", "cgroup" or "best"; memory_limit (bytes) and process_limit need
        the cgroup level. stdin: bytes fed to the job (None: /dev/null). capture: stdout and stderr captured into the
        Outcome (head and tail, head_bytes/tail_bytes each, 64 KiB by default); else inherited. stdout/stderr
        override it per stream: "capture", "inherit", "null", or a path (written, created 0644). cwd, env (a
        mapping: the whole environment; None: inherit). stall with progress probes: output (progress_regex: lines
        that count), progress_tree, heartbeat_path. claim_index: when the job exits with a status in
        success_codes, the loop claims ``token`` for this index (see race).

        A job that cannot start returns a Job already ended with kind "spawn_failed" (errno, error set); one whose
        token is already cancelled ends as "cancelled" (or "preempted"). Other errors raise ScytheError.
        """
        if isinstance(argv, (str, bytes)):
            raise TypeError("argv must be a sequence of arguments, not a string")
        argv = [os.fsdecode(a) if isinstance(a, bytes) else os.fspath(a) for a in argv]
        if not argv:
            raise ValueError("argv is empty")
        if token is not None and not isinstance(token, Token):
            raise TypeError("token must be a scythe.Token")
        if pass_token and (token is None or token.fd is None):
            raise ValueError("pass_token needs a shared token (Token.shared())")
        if containment not in _CONTAINMENT:
            raise ValueError("containment must be one of %s" % ", ".join(_CONTAINMENT))
        streams = []
        for name, value in (("stdout", stdout), ("stderr", stderr)):
            if value is None:
                value = "capture" if capture else "inherit"
            streams.append(value)

        keep = []  # everything the options point to, alive through the call (the library copies it)
        o = N.scythe_spawn_options()
        N.check(lib.scythe_spawn_options_init(ctypes.byref(o)), "scythe_spawn_options_init")
        bargv = [os.fsencode(a) for a in argv]
        o.argv = ctypes.cast(_cstrings(bargv), ctypes.POINTER(ctypes.c_char_p))
        keep.append(o.argv)
        if env is not None:
            benv = [os.fsencode(k) + b"=" + os.fsencode(v) for k, v in env.items()]
            o.envp = ctypes.cast(_cstrings(benv), ctypes.POINTER(ctypes.c_char_p))
        if cwd is not None:
            o.cwd = os.fsencode(cwd)
        if stdin is None:
            o.stdio[0].mode = N.STDIO_NULL
        else:
            data = bytes(stdin)
            buf = ctypes.create_string_buffer(data, len(data) or 1)
            keep.append(buf)
            o.stdio[0].mode = N.STDIO_PIPE
            o.stdio[0].input = ctypes.cast(buf, ctypes.c_void_p)
            o.stdio[0].input_len = len(data)
        captured = []
        for i, value in enumerate(streams, start=1):
            s = o.stdio[i]
            captured.append(value == "capture")
            if value == "capture":
                s.mode = N.STDIO_PIPE
            elif value == "inherit":
                s.mode = N.STDIO_INHERIT
            elif value == "null":
                s.mode = N.STDIO_NULL
            else:
                s.mode = N.STDIO_FILE
                s.path = os.fsencode(value)
        if head_bytes is not None:
            o.head_bytes = int(head_bytes)
        if tail_bytes is not None:
            o.tail_bytes = int(tail_bytes)
        o.timeout_ns = _seconds_to_ns(timeout, "timeout")
        if grace is not None:
            g = float(grace)
            o.grace_ns = -1 if g <= 0 else _seconds_to_ns(g, "grace")
        if token is not None:
            o.token = token._h()
        if claim_index is not None:
            if token is None:
                raise ValueError("claim_index needs a token")
            o.claim_index = int(claim_index)
            words = [0, 0, 0, 0]
            for c in success_codes:
                c = int(c)
                if not 0 <= c < 256:
                    raise ValueError("exit codes are 0..255, not %d" % c)
                words[c // 64] |= 1 << (c % 64)
            for i in range(4):
                o.claim_exit_codes[i] = words[i]
        if stall is not None:
            o.stall_ns = _seconds_to_ns(stall, "stall")
            probes = 0
            if progress_tree is not None:
                probes |= N.PROBE_TREE
                o.progress_tree = os.fsencode(progress_tree)
            if heartbeat_path is not None:
                probes |= N.PROBE_HEARTBEAT
                o.heartbeat_path = os.fsencode(heartbeat_path)
            if progress_regex is not None or not probes:
                probes |= N.PROBE_OUTPUT
            if progress_regex is not None:
                o.progress_regex = progress_regex.encode() if isinstance(progress_regex, str) else progress_regex
            o.probes = probes
        o.cpu_limit_ns = _seconds_to_ns(cpu_limit, "cpu_limit")
        if dossier_dir is not None:
            o.dossier_dir = os.fsencode(dossier_dir)
        o.containment = _CONTAINMENT[containment]
        if memory_limit is not None:
            o.memory_limit_bytes = int(memory_limit)
        if process_limit is not None:
            o.process_limit = int(process_limit)
        o.pass_token = 1 if pass_token else 0

        with self._lock:
            if self._closed:
                raise RuntimeError("the supervisor is closed")
            if self._death is not None:
                raise RuntimeError("the supervisor's loop thread died: %s" % self._death) from self._death
            self._next_id += 1
            job = Job(self, self._next_id, argv, token, tuple(captured))
            o.user_data = job.id
            self._jobs[job.id] = job
            self._spawning += 1
        try:
            out = ctypes.c_void_p()
            rc = lib.scythe_spawn(ctypes.byref(out), self._loop, ctypes.byref(o))
            if rc < 0:
                with self._lock:
                    self._jobs.pop(job.id, None)
                job._complete(_spawn_failed(rc, argv, token))
            else:
                job._attach(out.value)
        finally:
            with self._lock:
                self._spawning -= 1
                self._idle.notify_all()
        return job

    def run(self, argv, **options):
        """spawn(argv, **options).wait()."""
        return self.spawn(argv, **options).wait()

    def race(self, commands, *, timeout=None, success=None, success_codes=(0,), **options):
        """Runs the commands at once; the first to succeed wins and the others are killed natively ("preempted").

        Success is an exit status in ``success_codes`` by default, decided in the native loop (the winner's exit
        claims the race token in the same wake-up that preempts the rest); with ``success``, a predicate on the
        Outcome, it is decided on the loop thread as each job ends. Each command is an argv list; ``timeout`` and
        the other options apply to each; ``parent``, a Token, cancels the whole race when it is cancelled.
        Returns RaceResult(winner, outcomes).
        """
        commands = [list(c) for c in commands]
        if "token" in options or "claim_index" in options:
            raise TypeError("race makes its own token (pass parent=a Token to cancel the whole race with it)")
        parent = options.pop("parent", None)
        token = Token(parent) if parent is not None else Token()
        try:
            jobs = []
            for i, argv in enumerate(commands):
                if success is None:
                    job = self.spawn(argv, timeout=timeout, token=token, claim_index=i, success_codes=success_codes,
                                     **options)
                else:
                    job = self.spawn(argv, timeout=timeout, token=token, **options)

                    def judge(j, i=i):
                        o = j.outcome
                        if o is not None and o.kind not in ("preempted", "cancelled") and success(o):
                            token.claim(i)
                    job.add_done_callback(judge)
                jobs.append(job)
            outcomes = [j.wait() for j in jobs]
            return RaceResult(token.winner, outcomes)
        finally:
            token.close()

    # -- the loop thread --

    def _run(self):
        events = (ctypes.c_byte * (N.EVENT_SIZE * _BATCH))()
        count = ctypes.c_size_t()
        view = N.scythe_output()
        try:
            while True:
                with self._lock:
                    if self._stopping and not self._jobs and not self._spawning:
                        return
                rc = lib.scythe_loop_run_sized(ctypes.byref(count), self._loop, events, N.EVENT_SIZE, _BATCH, -1)
                if rc < 0:
                    raise N.error("scythe_loop_run_sized", rc)
                for i in range(count.value):
                    ev = N.scythe_event.from_buffer(events, i * N.EVENT_SIZE)
                    self._dispatch(ev, view)
        except BaseException as e:  # the loop cannot go on: kill everything natively, fail every waiter
            self._die(e)

    def _output(self, handle, stream, view):
        rc = lib.scythe_job_output_sized(ctypes.byref(view), N.OUTPUT_SIZE, handle, stream)
        if rc < 0:
            return (b"", 0)
        head = ctypes.string_at(view.head, view.head_len) if view.head_len else b""
        tail = ctypes.string_at(view.tail, view.tail_len) if view.tail_len else b""
        return (head + tail, view.dropped)

    def _dispatch(self, ev, view):
        handle = ev.job
        if ev.kind != N.EVENT_EXIT:
            return  # OUTPUT: this binding opens no channels
        with self._lock:
            job = self._jobs.get(ev.user_data)
        if job is None:
            lib.scythe_job_free(handle)
            return
        outcome = error = None
        try:
            out = self._output(handle, 1, view) if job._capture[0] else None
            err = self._output(handle, 2, view) if job._capture[1] else None
            outcome = _outcome_from_event(ev, job.token, out, err)
        except Exception as e:  # a bug here fails this job, not the loop
            error = e
        finally:
            job._release(ev.pid)  # no call reaches the handle after this
            lib.scythe_job_free(handle)
            with self._lock:
                self._jobs.pop(job.id, None)
        job._complete(outcome, error)

    def _die(self, cause):
        with self._lock:
            self._death = cause
            pending = list(self._jobs.values())
            self._jobs.clear()
            while self._spawning:
                self._idle.wait()
            for job in pending:
                job._release(None)  # no call reaches a native job handle after this
            lib.scythe_loop_free(self._loop)
            self._loop_freed = True
        err = RuntimeError("the supervisor's loop thread died (%s); the job was killed" % cause)
        err.__cause__ = cause
        for job in pending:
            job._complete(error=err)

    # -- state --

    @property
    def live_jobs(self):
        """Jobs started and not yet ended."""
        with self._lock:
            return len(self._jobs)

    @property
    def closed(self):
        return self._closed

    def close(self):
        """Cancels every job still running (reason SHUTDOWN: TERM, KILL after its grace), waits for their ends,
        stops the loop thread and frees the loop. Idempotent. Not from the loop thread (a done callback)."""
        if threading.current_thread() is self._thread:
            raise RuntimeError("close() called from the supervisor's own loop thread")
        with self._lock:
            if self._closed:
                return
            self._closed = True
            while self._spawning:
                self._idle.wait()
            jobs = list(self._jobs.values())
        _OPEN.discard(self)
        for job in jobs:
            job.cancel(REASON_SHUTDOWN)
        with self._lock:
            self._stopping = True
            if not self._loop_freed:
                lib.scythe_loop_wakeup(self._loop)
        self._thread.join()
        with self._lock:
            if not self._loop_freed:
                leftover = list(self._jobs.values())
                self._jobs.clear()
                for job in leftover:
                    job._release(None)
                lib.scythe_loop_free(self._loop)  # kills and reaps anything the thread left
                self._loop_freed = True
            else:
                leftover = []
        for job in leftover:
            job._complete(error=RuntimeError("the supervisor closed before the job's end was seen"))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        pass  # a supervisor is closed explicitly, or at exit (atexit): its daemon thread keeps it alive meanwhile

    def __repr__(self):
        return "<scythe.Supervisor %s, %d live jobs>" % ("closed" if self._closed else "open", self.live_jobs)


# ---- heartbeats -------------------------------------------------------------------------------------------------

class Heartbeat:
    """The counter in a heartbeat file, for a job that cooperates with a stall window (heartbeat_path)."""

    def __init__(self, path):
        self._counter = ctypes.POINTER(ctypes.c_uint64)()
        N.check(lib.scythe_heartbeat_open(ctypes.byref(self._counter), os.fsencode(path)), "scythe_heartbeat_open")
        self._lock = threading.Lock()

    def beat(self):
        with self._lock:
            if not self._counter:
                raise ValueError("the heartbeat is closed")
            lib.scythe_heartbeat_beat(self._counter)

    @property
    def count(self):
        with self._lock:
            return self._counter[0] if self._counter else None

    def close(self):
        with self._lock:
            c, self._counter = self._counter, None
        if c:
            lib.scythe_heartbeat_close(c)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
