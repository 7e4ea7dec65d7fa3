"""Tests of scythe.worker: framing, in-process serving over pipes, and a real worker subprocess.

Run from the repository root: python3 -m unittest discover -s bindings/python/tests -v
"""

import io
import json
import os
import pathlib
import subprocess
import sys
import threading
import time
import unittest

PYTHON_DIR = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PYTHON_DIR))

from scythe import worker  # noqa: E402

REPO = PYTHON_DIR.parents[1]
ECHO_WORKER = REPO / "java" / "core" / "src" / "test" / "resources" / "workers" / "echo_worker.py"


def frame(message):
    body = json.dumps(message).encode("utf-8") if not isinstance(message, bytes) else message
    return b"Content-Length: %d\r\n\r\n" % len(body) + body


def request(id, method, params=None):
    m = {"jsonrpc": "2.0", "id": id, "method": method}
    if params is not None:
        m["params"] = params
    return frame(m)


def notification(method, params=None):
    m = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        m["params"] = params
    return frame(m)


class Reader:
    """Reads frames from a binary stream, with a deadline (a hung worker fails the test instead of hanging it)."""

    def __init__(self, stream):
        self.stream = stream

    def next(self, timeout=10):
        box = []

        def read():
            try:
                box.append(("ok", worker.read_frame(self.stream)))
            except Exception as e:  # re-raised on the test's thread
                box.append(("error", e))
        t = threading.Thread(target=read, daemon=True)
        t.start()
        t.join(timeout)
        if t.is_alive():
            raise AssertionError("no frame within %s s" % timeout)
        kind, value = box[0]
        if kind == "error":
            raise value
        return None if value is None else json.loads(value)


class ReadFrameTest(unittest.TestCase):
    def test_frames_with_extra_headers_any_case(self):
        data = (b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-LENGTH:  2 \r\n\r\n{}"
                + frame({"a": "\u00e9"}))
        s = io.BytesIO(data)
        self.assertEqual(b"{}", worker.read_frame(s))
        self.assertEqual({"a": "\u00e9"}, json.loads(worker.read_frame(s)))
        self.assertIsNone(worker.read_frame(s))

    def test_frames_split_at_every_byte(self):
        data = frame({"x": 1}) + frame({"y": [1, 2]})
        r, w = os.pipe()
        with os.fdopen(r, "rb") as rf, os.fdopen(w, "wb", buffering=0) as wf:
            def write():
                for b in data:
                    wf.write(bytes([b]))
                    time.sleep(0.0005)
                wf.close()
            threading.Thread(target=write, daemon=True).start()
            self.assertEqual({"x": 1}, json.loads(worker.read_frame(rf)))
            self.assertEqual({"y": [1, 2]}, json.loads(worker.read_frame(rf)))
            self.assertIsNone(worker.read_frame(rf))

    def test_broken_frames_say_what_is_wrong(self):
        cases = [
            (b"Content-Length: x\r\n\r\n{}", "not a decimal number"),
            (b"Content-Length: -1\r\n\r\n{}", "not a decimal number"),
            (b"Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}", "repeated"),
            (b"Content-Type: a\r\n\r\n{}", "without Content-Length"),
            (b"Content-Length: 2\n\n{}", "LF without CR"),
            (b"hello\r\n", "without 'name:'"),
            (b"X: " + b"a" * 9000 + b"\r\n", "over 8192 bytes"),
            (b"Content-Length: 99999999999\r\n\r\n", "over the maximum body"),
            (b"Content-Length: 5\r\n\r\n{}", "inside a body"),
            (b"Content-Length: 5\r\n", "inside a header section"),
            (b"Content-Len", "inside a header line"),
        ]
        for data, what in cases:
            with self.subTest(data=data[:30]):
                with self.assertRaises(worker.ProtocolError) as e:
                    worker.read_frame(io.BytesIO(data))
                self.assertIn(what, str(e.exception))


class ServeInProcessTest(unittest.TestCase):
    """serve() on a thread, talking over two os.pipe()s."""

    def start(self, handler, on_feedback=None):
        to_r, to_w = os.pipe()
        from_r, from_w = os.pipe()
        self.to_worker = os.fdopen(to_w, "wb", buffering=0)
        worker_in = os.fdopen(to_r, "rb")
        worker_out = os.fdopen(from_w, "wb")
        self.from_worker = os.fdopen(from_r, "rb")
        self.reader = Reader(self.from_worker)
        self.errors = []

        def run():
            try:
                worker.serve(handler, worker_in, worker_out, on_feedback=on_feedback)
            except Exception as e:  # recorded for the test to check
                self.errors.append(e)
            finally:
                worker_in.close()
                worker_out.close()

        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()

    def tearDown(self):
        if not self.to_worker.closed:
            self.to_worker.close()
        self.thread.join(10)
        self.assertFalse(self.thread.is_alive(), "serve() did not return")
        self.from_worker.close()

    def test_request_response_and_error(self):
        def handler(r):
            if r.method == "fail":
                raise worker.WorkerError(7, "no", {"why": 1})
            if r.method == "bug":
                raise KeyError("k")
            return {"m": r.method, "p": r.params}
        self.start(handler)
        self.to_worker.write(request(1, "a", {"x": "\u00e9"}) + request(2, "fail") + request(3, "bug"))
        self.assertEqual({"jsonrpc": "2.0", "id": 1, "result": {"m": "a", "p": {"x": "\u00e9"}}}, self.reader.next())
        self.assertEqual({"jsonrpc": "2.0", "id": 2, "error": {"code": 7, "message": "no", "data": {"why": 1}}},
                         self.reader.next())
        r3 = self.reader.next()
        self.assertEqual(worker.INTERNAL_ERROR, r3["error"]["code"])
        self.assertIn("KeyError", r3["error"]["message"])
        self.to_worker.close()
        self.assertIsNone(self.reader.next(), "EOF: serve returns and closes nothing more")

    def test_cancel_progress_and_retire(self):
        started = threading.Event()
        gate = threading.Event()
        fed = threading.Event()

        def handler(r):
            if r.method == "gate":
                gate.wait(10)
                return "through"
            if r.method == "long":
                started.set()
                r.progress(step=1)
                while not r.cancelled:
                    time.sleep(0.01)
                r.check_cancelled()
            if r.method == "finish_anyway":
                r.progress()
                while not r.cancelled:
                    time.sleep(0.01)
                return "done"
            if r.method == "bye":
                r.retire("tired")
            return "ok"
        self.start(handler, on_feedback=lambda params: fed.set())
        self.to_worker.write(request(1, "long"))
        self.assertEqual({"jsonrpc": "2.0", "method": "$/progress", "params": {"step": 1, "id": 1}},
                         self.reader.next())
        self.to_worker.write(notification("$/cancelRequest", {"id": 1}))
        self.assertEqual({"jsonrpc": "2.0", "id": 1, "error": {"code": -32800, "message": "Request cancelled"}},
                         self.reader.next())
        self.to_worker.write(request(2, "finish_anyway"))
        self.assertEqual({"id": 2}, self.reader.next()["params"])
        self.to_worker.write(notification("$/cancelRequest", {"id": 2}))
        self.assertEqual("done", self.reader.next()["result"], "a cancelled request that finishes keeps its result")
        self.to_worker.write(request(3, "bye"))
        self.assertEqual("ok", self.reader.next()["result"])
        self.assertEqual({"jsonrpc": "2.0", "method": "$/retire", "params": {"reason": "tired"}}, self.reader.next())
        self.to_worker.write(request(6, "gate") + request(5, "x") + notification("$/cancelRequest", {"id": 5})
                             + notification("$/feedback", "cancel read"))
        self.assertTrue(fed.wait(10))  # feedback is taken in order on the reading thread: the cancel was read
        gate.set()
        self.assertEqual("through", self.reader.next()["result"])
        self.assertEqual(-32800, self.reader.next()["error"]["code"], "cancelled before it started: not run")
        self.to_worker.write(notification("window/whatever", {}) + notification("$/cancelRequest", {"id": 99}))
        self.to_worker.write(request(4, "x"))
        self.assertEqual("ok", self.reader.next()["result"], "unknown notifications and cancels are ignored")

    def test_feedback_and_exit(self):
        got = []
        self.start(lambda r: len(got), on_feedback=got.append)
        self.to_worker.write(notification("$/feedback", {"lemma": "a"}) + notification("$/feedback", [1]))
        self.to_worker.write(request(1, "count"))
        self.assertEqual(2, self.reader.next()["result"])
        self.assertEqual([{"lemma": "a"}, [1]], got)
        self.to_worker.write(notification("exit"))
        self.thread.join(10)
        self.assertFalse(self.thread.is_alive(), "exit returns from serve without EOF")
        self.assertIsNone(self.reader.next())

    def test_bad_json_gets_a_parse_error_and_a_broken_frame_ends_serve(self):
        self.start(lambda r: 1)
        self.to_worker.write(frame(b"{nope") + frame([1, 2]))
        self.assertEqual(worker.PARSE_ERROR, self.reader.next()["error"]["code"])
        self.assertEqual({"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Invalid Request"}},
                         self.reader.next())
        self.to_worker.write(b"garbage\n")
        self.thread.join(10)
        self.assertEqual(1, len(self.errors))
        self.assertIsInstance(self.errors[0], worker.ProtocolError)


class EchoWorkerProcessTest(unittest.TestCase):
    """The test resource echo_worker.py as a real subprocess, over pipes."""

    def setUp(self):
        env = dict(os.environ, PYTHONPATH=str(PYTHON_DIR))
        self.proc = subprocess.Popen([sys.executable, str(ECHO_WORKER)], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=env)
        self.reader = Reader(self.proc.stdout)

    def tearDown(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(10)
        self.proc.stdin.close()
        self.proc.stdout.close()
        # Nothing left: no child of this process, running or a zombie (the worker was reaped above).
        with self.assertRaises(ChildProcessError):
            os.waitpid(-1, os.WNOHANG)

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def test_echo_sleep_cancel_feedback_and_exit(self):
        self.send(request(1, "task", {"task": "\u00e9 1"}))
        self.assertEqual({"jsonrpc": "2.0", "id": 1, "result": {"echo": "\u00e9 1"}}, self.reader.next())
        self.send(request(2, "sleep", {"seconds": 30}))
        progress = self.reader.next()
        self.assertEqual(("$/progress", 2), (progress["method"], progress["params"]["id"]))
        self.send(notification("$/cancelRequest", {"id": 2}))
        while True:
            m = self.reader.next()
            if "id" in m:
                break
        self.assertEqual({"jsonrpc": "2.0", "id": 2, "error": {"code": -32800, "message": "Request cancelled"}}, m)
        self.send(notification("$/feedback", {"n": 1}) + notification("$/feedback", {"n": 2})
                  + request(3, "feedback_count"))
        self.assertEqual({"count": 2, "last": {"n": 2}}, self.reader.next()["result"])
        self.send(request(4, "pid"))
        self.assertEqual(self.proc.pid, self.reader.next()["result"])
        self.send(request(5, "nope"))
        self.assertEqual(worker.METHOD_NOT_FOUND, self.reader.next()["error"]["code"])
        self.send(notification("exit"))
        self.assertEqual(0, self.proc.wait(10))

    def test_retire_stray_and_crash(self):
        self.send(request(1, "retire", {"reason": "r"}))
        self.assertEqual({"reason": "r"}, self.reader.next()["params"])  # $/retire first: nothing more is sent
        self.assertEqual({"retiring": True}, self.reader.next()["result"])
        self.send(request(2, "stray"))
        with self.assertRaises(worker.ProtocolError):
            self.reader.next()
        self.send(request(3, "crash", {"code": 7}))
        self.assertEqual(7, self.proc.wait(10))

    def test_eof_ends_the_worker(self):
        self.proc.stdin.close()
        self.assertEqual(0, self.proc.wait(10))


if __name__ == "__main__":
    unittest.main()
