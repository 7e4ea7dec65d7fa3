"""Loads libscythe through ctypes and checks that its ABI is the one this binding was written against (0.6).

Where the library is looked for, first found wins:

1. ``$SCYTHE_LIBRARY``: a path to libscythe.so (an error if it does not exist: no silent fallback);
2. the copy bundled in the installed package, ``scythe/_lib/libscythe.so`` (``pip install ./bindings/python``);
3. the source tree's build, ``native/target/classes/META-INF/native/linux-<machine>/libscythe.so``
   (``scripts/mvn -pl native package`` or ``scripts/build-native.sh library``);
4. ``ctypes.util.find_library("scythe")``: an installed ``libscythe.so.0``.

The guard (``scythe-guard``) is taken from beside the library, or from ``$SCYTHE_GUARD``; it is started by the first
:class:`scythe.Supervisor`, not by loading.

At load every struct this module mirrors is compared with the library's own description of its layout
(scythe_abi_table, scythe_sizeof): a mismatch refuses the library with an ImportError naming the struct and field.
"""

import ctypes
import ctypes.util
import errno
import os
import platform
import threading

from .errors import ScytheError

__all__ = ["lib", "path", "check", "strerror", "ABI_MAJOR", "ABI_MINOR"]

ABI_MAJOR = 0
ABI_MINOR = 6

# ---- constants (scythe.h) ----------------------------------------------------------------------------------------

TOKEN_CANCELLED_BIT = 1 << 32
TOKEN_WINNER_SHIFT = 33

REASON_NONE = 0
REASON_USER = 1
REASON_TIMEOUT = 2
REASON_PREEMPTED = 3
REASON_SHUTDOWN = 4
REASON_PARENT = 5

EVENT_EXIT = 1
EVENT_OUTPUT = 2

END_EXITED = 1
END_SIGNALED = 2
END_TIMEOUT = 3
END_CANCELLED = 4
END_STALLED = 5
END_CPU_LIMIT = 6
END_MEMORY = 7
END_PROCESSES = 8
END_LOST = 9

CONTAIN_SESSION = 0
CONTAIN_CGROUP = 1
CONTAIN_BEST = 2

EVENT_TREE_WALKED = 0x1
EVENT_DOSSIER = 0x2
EVENT_STATUS_LOST = 0x4
EVENT_STDOUT_LOST = 0x8
EVENT_STDERR_LOST = 0x10

STDIO_INHERIT = 0
STDIO_NULL = 1
STDIO_PIPE = 2
STDIO_FILE = 3
STDIO_FILE_APPEND = 4
STDIO_CHANNEL = 5

SPAWN_OPTIONS_VERSION = 6

PROBE_OUTPUT = 0x1
PROBE_TREE = 0x2
PROBE_HEARTBEAT = 0x4
PROBE_HOST = 0x8
PROBE_TREE_WALK = 0x10

TOKEN_FD_ENV = "SCYTHE_TOKEN_FD"

# ---- structs ----------------------------------------------------------------------------------------------------

c_int32, c_uint32, c_int64, c_uint64, c_size_t, c_void_p, c_char_p = (
    ctypes.c_int32, ctypes.c_uint32, ctypes.c_int64, ctypes.c_uint64, ctypes.c_size_t, ctypes.c_void_p,
    ctypes.c_char_p)


class scythe_abi_entry(ctypes.Structure):
    _fields_ = [
        ("type_name", c_char_p),
        ("field_name", c_char_p),
        ("offset", c_uint32),
        ("size", c_uint32),
    ]


class scythe_event(ctypes.Structure):
    _fields_ = [
        ("size", c_uint32),
        ("reserved0", c_uint32),
        ("user_data", c_uint64),
        ("job", c_void_p),
        ("kind", c_int32),
        ("end", c_int32),
        ("exit_code", c_int32),
        ("term_signal", c_int32),
        ("cancel_reason", c_uint32),
        ("core_dumped", c_int32),
        ("pid", c_int32),
        ("claimed", c_int32),
        ("flags", c_uint32),
        ("reserved", c_int32),
        ("last_progress_ns", c_int64),
        ("containment", c_int32),
        ("reserved2", c_int32),
        ("start_ns", c_int64),
        ("exit_ns", c_int64),
        ("reaped_ns", c_int64),
        ("done_ns", c_int64),
        ("user_cpu_ns", c_int64),
        ("sys_cpu_ns", c_int64),
        ("max_rss_kib", c_int64),
    ]


class scythe_output(ctypes.Structure):
    _fields_ = [
        ("size", c_uint32),
        ("reserved", c_uint32),
        ("head", c_void_p),
        ("head_len", c_size_t),
        ("tail", c_void_p),
        ("tail_len", c_size_t),
        ("total", c_uint64),
        ("dropped", c_uint64),
    ]


class scythe_stdio(ctypes.Structure):
    _fields_ = [
        ("mode", c_int32),
        ("reserved", c_int32),
        ("path", c_char_p),
        ("input", c_void_p),
        ("input_len", c_size_t),
    ]


class scythe_spawn_options(ctypes.Structure):
    _fields_ = [
        ("version", c_int32),
        ("reserved", c_int32),
        ("argv", ctypes.POINTER(c_char_p)),
        ("envp", ctypes.POINTER(c_char_p)),
        ("cwd", c_char_p),
        ("stdio", scythe_stdio * 3),
        ("head_bytes", c_size_t),
        ("tail_bytes", c_size_t),
        ("timeout_ns", c_int64),
        ("grace_ns", c_int64),
        ("token", c_void_p),
        ("user_data", c_uint64),
        # version 2
        ("claim_index", c_int32),
        ("reserved2", c_int32),
        ("claim_exit_codes", c_uint64 * 4),
        # version 3
        ("stall_ns", c_int64),
        ("probes", c_uint32),
        ("reserved3", c_int32),
        ("progress_tree", c_char_p),
        ("progress_regex", c_char_p),
        ("heartbeat_path", c_char_p),
        ("cpu_limit_ns", c_int64),
        # version 4
        ("dossier_dir", c_char_p),
        # version 5
        ("containment", c_int32),
        ("reserved5", c_int32),
        ("memory_limit_bytes", c_int64),
        ("process_limit", c_int64),
        # version 6
        ("pass_token", c_int32),
        ("reserved6", c_int32),
    ]


STRUCTS = (scythe_abi_entry, scythe_event, scythe_output, scythe_stdio, scythe_spawn_options)

# ---- functions --------------------------------------------------------------------------------------------------

_P = ctypes.POINTER
_int = ctypes.c_int

# name: (restype, argtypes)
FUNCTIONS = {
    "scythe_version": (c_uint32, []),
    "scythe_abi_version": (c_uint32, []),
    "scythe_capabilities": (c_uint32, []),
    "scythe_capability_name": (c_char_p, [c_uint32]),
    "scythe_strerror": (c_char_p, [_int]),
    "scythe_error_is_unsupported": (_int, [_int]),
    "scythe_abi_table": (_int, [_P(_P(scythe_abi_entry)), _P(c_size_t)]),
    "scythe_sizeof": (c_size_t, [c_char_p]),
    "scythe_token_new": (_int, [_P(c_void_p), c_void_p]),
    "scythe_token_free": (None, [c_void_p]),
    "scythe_token_cancel": (_int, [c_void_p, c_uint32]),
    "scythe_token_is_cancelled": (_int, [c_void_p]),
    "scythe_token_state_address": (c_void_p, [c_void_p]),
    "scythe_token_claim": (_int, [c_void_p, c_int32]),
    "scythe_token_winner": (c_int32, [c_void_p]),
    "scythe_token_new_shared": (_int, [_P(c_void_p), c_void_p]),
    "scythe_token_fd": (_int, [c_void_p]),
    "scythe_token_from_fd": (_int, [_P(c_void_p), _int]),
    "scythe_token_open": (_int, [_P(c_void_p), c_char_p]),
    "scythe_token_from_env": (_int, [_P(c_void_p)]),
    "scythe_loop_new": (_int, [_P(c_void_p)]),
    "scythe_loop_free": (None, [c_void_p]),
    "scythe_loop_wakeup": (_int, [c_void_p]),
    "scythe_loop_live_jobs": (_int, [c_void_p, _P(c_size_t)]),
    "scythe_loop_run_sized": (_int, [_P(c_size_t), c_void_p, c_void_p, c_size_t, c_size_t, _int]),
    "scythe_spawn_options_init": (_int, [_P(scythe_spawn_options)]),
    "scythe_spawn": (_int, [_P(c_void_p), c_void_p, _P(scythe_spawn_options)]),
    "scythe_job_pid": (c_int32, [c_void_p]),
    "scythe_job_pidfd": (_int, [c_void_p]),
    "scythe_job_cancel": (_int, [c_void_p, c_uint32]),
    "scythe_job_output_sized": (_int, [c_void_p, c_size_t, c_void_p, _int]),
    "scythe_job_write": (_int, [c_void_p, c_void_p, c_size_t]),
    "scythe_job_close_stdin": (_int, [c_void_p]),
    "scythe_job_read": (_int, [_P(c_size_t), c_void_p, c_void_p, c_size_t]),
    "scythe_job_progress": (_int, [c_void_p]),
    "scythe_job_memory_peak": (_int, [_P(c_int64), c_void_p]),
    "scythe_job_free": (None, [c_void_p]),
    "scythe_regex_check": (_int, [c_char_p]),
    "scythe_regex_search": (_int, [_P(_int), c_char_p, c_void_p, c_size_t]),
    "scythe_dossier_path": (_int, [c_char_p, c_size_t, c_char_p, c_int32]),
    "scythe_guard_start": (_int, [c_char_p]),
    "scythe_guard_pid": (c_int32, []),
    "scythe_guard_restarts": (c_uint64, []),
    "scythe_heartbeat_open": (_int, [_P(_P(c_uint64)), c_char_p]),
    "scythe_heartbeat_beat": (None, [_P(c_uint64)]),
    "scythe_heartbeat_close": (None, [_P(c_uint64)]),
}

# ---- finding the library ----------------------------------------------------------------------------------------

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _machine():
    m = platform.machine()
    return {"amd64": "x86_64", "arm64": "aarch64"}.get(m.lower(), m)


def candidates():
    """The places looked at, in order, as (where, path) pairs; path None for the system's search."""
    env = os.environ.get("SCYTHE_LIBRARY")
    if env:
        return [("$SCYTHE_LIBRARY", env)]
    tree = os.path.normpath(os.path.join(PACKAGE_DIR, "..", "..", "..", "native", "target", "classes", "META-INF",
                                         "native", "linux-" + _machine(), "libscythe.so"))
    return [("the installed package", os.path.join(PACKAGE_DIR, "_lib", "libscythe.so")),
            ("the source tree", tree),
            ("the system (ctypes.util.find_library)", None)]


def _find():
    tried = []
    for where, p in candidates():
        if p is None:
            found = ctypes.util.find_library("scythe")
            if found:
                return where, found
            tried.append("find_library('scythe'): not found")
            continue
        if where == "$SCYTHE_LIBRARY" and not os.path.isfile(p):
            raise ImportError("scythe: $SCYTHE_LIBRARY names %s, which is not a file" % p)
        if os.path.isfile(p):
            return where, p
        tried.append(p)
    raise ImportError("scythe: libscythe.so not found (looked at: %s). Build it with `scripts/mvn -pl native package` "
                      "or `scripts/build-native.sh library`, install the package with "
                      "`pip install ./bindings/python`, or set SCYTHE_LIBRARY to its path" % "; ".join(tried))


def _load():
    where, p = _find()
    try:
        dll = ctypes.CDLL(p, mode=ctypes.RTLD_LOCAL)
    except OSError as e:
        raise ImportError("scythe: cannot load %s (from %s): %s" % (p, where, e)) from e
    missing = []
    for name, (restype, argtypes) in FUNCTIONS.items():
        try:
            f = getattr(dll, name)
        except AttributeError:
            missing.append(name)
            continue
        f.restype = restype
        f.argtypes = argtypes
    if "scythe_abi_version" in missing:
        v = dll.scythe_version() if hasattr(dll, "scythe_version") else 0
        raise ImportError("scythe: %s is libscythe %d.%d.%d; this binding needs ABI %d.%d or a later minor"
                          % (p, v >> 16, (v >> 8) & 0xff, v & 0xff, ABI_MAJOR, ABI_MINOR))
    abi = dll.scythe_abi_version()
    major, minor = abi >> 16, abi & 0xffff
    if major != ABI_MAJOR or minor < ABI_MINOR:
        raise ImportError("scythe: %s has ABI %d.%d; this binding needs %d.%d or a later minor of major %d"
                          % (p, major, minor, ABI_MAJOR, ABI_MINOR, ABI_MAJOR))
    if missing:
        raise ImportError("scythe: %s says ABI %d.%d but lacks %s" % (p, major, minor, ", ".join(missing)))
    _check_layouts(dll, p, minor)
    return dll, p


def _check_layouts(dll, p, minor):
    table = _P(scythe_abi_entry)()
    count = c_size_t()
    rc = dll.scythe_abi_table(ctypes.byref(table), ctypes.byref(count))
    if rc < 0:
        raise ImportError("scythe: scythe_abi_table failed in %s: %d" % (p, rc))
    rows = {}
    for i in range(count.value):
        e = table[i]
        t = e.type_name.decode()
        f = e.field_name.decode() if e.field_name is not None else None
        rows[(t, f)] = (e.offset, e.size)
    for struct in STRUCTS:
        name = struct.__name__
        theirs = dll.scythe_sizeof(name.encode())
        ours = ctypes.sizeof(struct)
        if theirs == 0 or (name, None) not in rows:
            raise ImportError("scythe: %s does not describe struct %s" % (p, name))
        # A later minor may add fields at the end; the same minor has the same size.
        if theirs < ours or (minor == ABI_MINOR and theirs != ours):
            raise ImportError("scythe: struct %s is %d bytes in %s, %d in this binding" % (name, theirs, p, ours))
        if rows[(name, None)][1] != theirs:
            raise ImportError("scythe: %s: scythe_sizeof(%s) = %d but its ABI table says %d"
                              % (p, name, theirs, rows[(name, None)][1]))
        for fname, _ in struct._fields_:
            ours_f = getattr(struct, fname)
            row = rows.get((name, fname))
            if row is None:
                raise ImportError("scythe: %s does not describe field %s.%s" % (p, name, fname))
            if row != (ours_f.offset, ours_f.size):
                raise ImportError("scythe: field %s.%s is at offset %d, %d bytes, in %s; at offset %d, %d bytes "
                                  "in this binding" % (name, fname, row[0], row[1], p, ours_f.offset, ours_f.size))


lib, path = _load()

EVENT_SIZE = ctypes.sizeof(scythe_event)
OUTPUT_SIZE = ctypes.sizeof(scythe_output)


def strerror(rc):
    return lib.scythe_strerror(int(rc)).decode("utf-8", "replace")


def error(function, rc):
    return ScytheError(function, rc, strerror(rc))


def check(rc, function):
    """Raises ScytheError for a negative return value; returns rc otherwise."""
    if rc < 0:
        raise error(function, rc)
    return rc


# ---- the guard --------------------------------------------------------------------------------------------------

_guard_lock = threading.Lock()
_guard_tried = False
guard_error = None  # why no guard runs (an exception), or None


def guard_exe():
    env = os.environ.get("SCYTHE_GUARD")
    if env:
        return env
    return os.path.join(os.path.dirname(os.path.abspath(path)), "scythe-guard") if os.sep in path else None


def ensure_guard():
    """Starts the guard once for this process (from the first Supervisor); remembers why not, if it could not."""
    global _guard_tried, guard_error
    with _guard_lock:
        if _guard_tried:
            return
        _guard_tried = True
        exe = guard_exe()
        if exe is None or not os.path.isfile(exe):
            guard_error = FileNotFoundError("no scythe-guard beside %s" % path)
            return
        if not os.access(exe, os.X_OK):
            try:
                os.chmod(exe, os.stat(exe).st_mode | 0o111)
            except OSError:
                guard_error = PermissionError("%s is not executable" % exe)
                return
        rc = lib.scythe_guard_start(os.fsencode(exe))
        if rc < 0 and rc != -errno.EALREADY:
            guard_error = error("scythe_guard_start", rc)

