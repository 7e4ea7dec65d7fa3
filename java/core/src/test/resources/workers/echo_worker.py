#!/usr/bin/env python3
"""A JSON-RPC worker for the pool tests (standard library and scythe.worker only).

Finding scythe.worker: a test should set PYTHONPATH to <repo>/bindings/python. Without it, this script looks for
bindings/python in the directories above its own file, which works both from the source tree and from Maven's copy
in java/core/target/test-classes/workers (both are inside the repository).

Methods: task {"task": T} -> {"echo": T}; sleep {"seconds": S} -> {"slept": S}, a $/progress every 0.1 s (none with
"progress": false), error -32800 if cancelled (unless "ignore_cancel": true); crash {"code": C, "after": S} exits with C
after S seconds (default 0); stray writes non-frame bytes to stdout, then answers;
retire sends $/retire, then answers; pid -> this process's pid; id -> the request's own id; spawn_grandchild starts `sleep 60` with this
stdout and returns its pid ("setsid": true puts it in a session of its own); alloc {"mb": M} allocates and touches M MiB, holds it, returns {"held_mb": total};
feedback_count -> {"count": N, "last": the last $/feedback params}. With FEEDBACK_DIR set, every $/feedback is also
written to FEEDBACK_DIR/<pid> as JSON.
"""

import json
import os
import pathlib
import subprocess
import sys
import threading
import time

try:
    from scythe import worker
except ImportError:
    for parent in pathlib.Path(__file__).resolve().parents:
        if (parent / "bindings" / "python" / "scythe" / "worker.py").is_file():
            sys.path.insert(0, str(parent / "bindings" / "python"))
            break
    from scythe import worker

held = []
feedback = {"count": 0, "last": None}
feedback_lock = threading.Lock()


def on_feedback(params):
    with feedback_lock:
        feedback["count"] += 1
        feedback["last"] = params
    where = os.environ.get("FEEDBACK_DIR")
    if where:  # for tests that must see every worker's feedback from outside: one file per worker pid
        tmp = os.path.join(where, ".%d.tmp" % os.getpid())
        with open(tmp, "w") as f:
            json.dump(params, f)
        os.replace(tmp, os.path.join(where, str(os.getpid())))  # whole, or not there


def handle(request):
    p = request.params if isinstance(request.params, dict) else {}
    m = request.method
    if m == "task":
        return {"echo": p.get("task")}
    if m == "sleep":
        seconds = float(p.get("seconds", 1))
        end = time.monotonic() + seconds
        honour = not p.get("ignore_cancel", False)
        while time.monotonic() < end:
            if honour:
                request.check_cancelled()
            if p.get("progress", True):
                request.progress(left=round(end - time.monotonic(), 3))
            time.sleep(min(0.1, max(0.0, end - time.monotonic())))
        if honour:
            request.check_cancelled()
        return {"slept": seconds}
    if m == "crash":
        time.sleep(float(p.get("after", 0)))
        sys.stdout.flush()
        os._exit(int(p.get("code", 3)))
    if m == "stray":
        out = sys.stdout.buffer
        out.write(b"this is not a frame\n")
        out.flush()
        return {"stray": True}
    if m == "retire":
        worker.retire(p.get("reason", "asked to"))  # now, before the response: the pool sends this worker nothing more
        return {"retiring": True}
    if m == "pid":
        return os.getpid()
    if m == "id":
        return request.id
    if m == "spawn_grandchild":
        # inherits stdout and stderr; with setsid it leaves the worker's session, where a kill of the session misses it
        child = subprocess.Popen(["sleep", "60"], stdin=subprocess.DEVNULL, start_new_session=bool(p.get("setsid")))
        return child.pid
    if m == "alloc":
        mb = int(p.get("mb", 1))
        held.append(b"\x5a" * (mb << 20))  # filled, so the pages are really resident
        return {"held_mb": sum(len(b) for b in held) >> 20}
    if m == "feedback_count":
        with feedback_lock:
            return dict(feedback)
    raise worker.WorkerError(worker.METHOD_NOT_FOUND, "Method not found: " + m)


if __name__ == "__main__":
    worker.serve(handle, on_feedback=on_feedback)
