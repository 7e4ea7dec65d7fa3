"""Scythe, a process supervisor for proof farms: Python side.

The binding of libscythe (ctypes, standard library only)::

    import scythe
    with scythe.Supervisor() as sup:
        tok = scythe.Token.shared()             # in shared memory; tok.fd can be inherited by a child process
        job = sup.spawn(["z3", "goal.smt2"], timeout=5.0, token=tok)   # seconds
        out = job.wait()                        # out.kind: "success", "failure", "timed_out", "cancelled", ...
    other = scythe.Token.from_fd(fd)            # in another process: other.cancel(), other.is_cancelled()

and :mod:`scythe.worker`, the helper for writing pool workers that speak Scythe's JSON-RPC protocol (LSP framing).

The native library is loaded on first use of a name that needs it (``scythe.Supervisor``, ``scythe.Token``, ...), so
``import scythe`` and :mod:`scythe.worker` work where libscythe is not installed. Where it is looked for:
:mod:`scythe._native`.
"""

__version__ = "0.6.0"

from .errors import ScytheError  # noqa: E402  (no native code)

_BINDING_NAMES = frozenset([
    "Supervisor", "Job", "Outcome", "Token", "RaceResult", "Heartbeat", "KINDS",
    "REASON_NONE", "REASON_USER", "REASON_TIMEOUT", "REASON_PREEMPTED", "REASON_SHUTDOWN",
    "abi_version", "version", "capabilities", "library_path", "guard_pid", "guard_restarts",
])

__all__ = sorted(_BINDING_NAMES | {"ScytheError", "worker"})


def __getattr__(name):
    import importlib
    if name in _BINDING_NAMES:
        binding = importlib.import_module(__name__ + "._binding")  # loads libscythe: ImportError if it cannot
        value = getattr(binding, name)
        globals()[name] = value
        return value
    if name == "worker":
        return importlib.import_module(__name__ + ".worker")
    raise AttributeError("module 'scythe' has no attribute %r" % name)


def __dir__():
    return sorted(set(globals()) | set(__all__))
