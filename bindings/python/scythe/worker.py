"""A worker for a Scythe pool: JSON-RPC 2.0 in LSP framing on stdin and stdout, standard library only.

    from scythe.worker import serve, WorkerError

    def handle(request):
        if request.method != "task":
            raise WorkerError(-32601, "Method not found: " + request.method)
        return {"echo": request.params["task"]}

    serve(handle)

Requests are handled one at a time, in order, on a thread of their own, so that ``$/cancelRequest`` is seen while a
handler runs: it sets ``request.cancelled``, which a long handler should poll. As in LSP, a cancelled request still
gets one response: the handler's result if it returns one, else the error -32800 "Request cancelled" (a request
cancelled before it started is not run). ``$/feedback`` goes to ``on_feedback(params)``; other notifications are
ignored. ``exit`` returns from serve at once, as does broken framing (raising ProtocolError): the running request is
marked cancelled and its response, if any, is still written; requests not started are dropped. End of input returns
after answering every request received.

Anything else written to stdout breaks the framing: print diagnostics to stderr.
"""

import json
import queue
import sys
import threading
import traceback

__all__ = ["serve", "retire", "Request", "WorkerError", "ProtocolError",
           "PARSE_ERROR", "INVALID_REQUEST", "METHOD_NOT_FOUND", "INVALID_PARAMS", "INTERNAL_ERROR",
           "REQUEST_CANCELLED"]

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
REQUEST_CANCELLED = -32800

MAX_HEADER_BYTES = 8192
MAX_BODY = 64 << 20


class WorkerError(Exception):
    """Raised by a handler: the request gets the error response {code, message[, data]}."""

    def __init__(self, code, message, data=None):
        super().__init__(message)
        self.code = int(code)
        self.message = str(message)
        self.data = data


class ProtocolError(Exception):
    """The input is not LSP-framed JSON-RPC: the channel cannot be trusted any more."""


class _Writer:
    def __init__(self, out):
        self._out = out
        self._lock = threading.Lock()

    def send(self, message):
        body = json.dumps(message, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")
        with self._lock:
            self._out.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            self._out.flush()

    def notify(self, method, params=None):
        message = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self.send(message)


class Request:
    """One request from the pool: ``id``, ``method``, ``params`` (None when absent) and ``cancelled``."""

    def __init__(self, id, method, params, writer):
        self.id = id
        self.method = method
        self.params = params
        self._writer = writer
        self._cancelled = threading.Event()
        self._retire_after = None

    @property
    def cancelled(self):
        """True once the pool sent $/cancelRequest for this request (or the worker got exit)."""
        return self._cancelled.is_set()

    def check_cancelled(self):
        """Raises WorkerError(-32800, "Request cancelled") if the request was cancelled."""
        if self.cancelled:
            raise WorkerError(REQUEST_CANCELLED, "Request cancelled")

    def progress(self, **fields):
        """Sends $/progress {"id": this id, **fields}: the pool counts it as a sign of life for this request."""
        self._writer.notify("$/progress", dict(fields, id=self.id))

    def retire(self, reason):
        """Asks the pool to retire this worker, right after this request's response is written."""
        self._retire_after = str(reason)


_current = None  # the writer of the serve() running, for retire()


def retire(reason):
    """Sends $/retire {"reason": reason} now: the pool retires this worker once its pending requests are answered."""
    if _current is None:
        raise RuntimeError("retire() outside serve()")
    _current.notify("$/retire", {"reason": str(reason)})


def read_frame(stream):
    """The body (bytes) of the next LSP frame on a binary stream, or None at end of input before a frame starts.

    Raises ProtocolError for anything that is not a frame: a header line not ended by CRLF, a missing, repeated or
    non-numeric Content-Length, a header section over 8 KiB, a body over 64 MiB, or end of input inside a frame.
    """
    length = None
    header_bytes = 0
    first = True
    while True:
        line = stream.readline(MAX_HEADER_BYTES + 1 - header_bytes)
        if not line:
            if first:
                return None
            raise ProtocolError("end of input inside a header section")
        first = False
        header_bytes += len(line)
        if header_bytes > MAX_HEADER_BYTES:
            raise ProtocolError("header section over %d bytes" % MAX_HEADER_BYTES)
        if not line.endswith(b"\r\n"):
            if line.endswith(b"\n"):
                raise ProtocolError("a header line ends in LF without CR: %r" % line[:48])
            raise ProtocolError("end of input inside a header line: %r" % line[:48])
        if line == b"\r\n":
            break
        name, colon, value = line[:-2].partition(b":")
        if not colon or not name.strip():
            raise ProtocolError("a header line without 'name:': %r" % line[:48])
        if name.strip().lower() != b"content-length":
            continue
        if length is not None:
            raise ProtocolError("Content-Length repeated: %r" % line[:48])
        value = value.strip()
        if not value.isdigit() or len(value) > 18:
            raise ProtocolError("Content-Length is not a decimal number: %r" % line[:48])
        length = int(value)
        if length > MAX_BODY:
            raise ProtocolError("Content-Length %d is over the maximum body of %d bytes" % (length, MAX_BODY))
    if length is None:
        raise ProtocolError("a header section without Content-Length")
    body = stream.read(length)
    if len(body) != length:
        raise ProtocolError("end of input inside a body (%d of %d bytes)" % (len(body), length))
    return body


def serve(handler, stdin=None, stdout=None, on_feedback=None):
    """Serves requests from ``stdin`` (binary) with ``handler`` until exit or end of input; see the module doc.

    ``handler(request)`` returns a JSON-able result or raises WorkerError; any other exception becomes the error
    -32603 with its text. Raises ProtocolError if the input breaks the framing.
    """
    global _current
    stdin = sys.stdin.buffer if stdin is None else stdin
    stdout = sys.stdout.buffer if stdout is None else stdout
    writer = _Writer(stdout)
    _current = writer
    pending = {}  # id -> Request, received and not yet answered
    pending_lock = threading.Lock()
    work = queue.Queue()

    def run():
        while True:
            request = work.get()
            if request is None:
                return
            try:
                if request.cancelled:
                    raise WorkerError(REQUEST_CANCELLED, "Request cancelled")
                result = handler(request)
                reply = {"jsonrpc": "2.0", "id": request.id, "result": result}
                json.dumps(result, allow_nan=False)  # fail here, as an error response, not in the writer
            except WorkerError as e:
                error = {"code": e.code, "message": e.message}
                if e.data is not None:
                    error["data"] = e.data
                reply = {"jsonrpc": "2.0", "id": request.id, "error": error}
            except Exception as e:  # the handler's bug must not leave the request without a response
                if request.cancelled:
                    error = {"code": REQUEST_CANCELLED, "message": "Request cancelled"}
                else:
                    traceback.print_exc(file=sys.stderr)
                    error = {"code": INTERNAL_ERROR, "message": "%s: %s" % (type(e).__name__, e)}
                reply = {"jsonrpc": "2.0", "id": request.id, "error": error}
            with pending_lock:
                pending.pop(request.id, None)
            try:
                writer.send(reply)
                if request._retire_after is not None:
                    writer.notify("$/retire", {"reason": request._retire_after})
            except (BrokenPipeError, ValueError, OSError):
                return  # the pool is gone: nobody to answer

    runner = threading.Thread(target=run, name="scythe-worker-handler", daemon=True)
    runner.start()
    exiting = False
    try:
        while True:
            body = read_frame(stdin)
            if body is None:
                break
            try:
                message = json.loads(body.decode("utf-8"))
            except (UnicodeDecodeError, ValueError) as e:
                writer.send({"jsonrpc": "2.0", "id": None, "error": {"code": PARSE_ERROR, "message": "Parse error: %s" % e}})
                continue
            if not isinstance(message, dict) or message.get("jsonrpc") != "2.0" \
                    or not isinstance(message.get("method"), str):
                id = message.get("id") if isinstance(message, dict) else None
                writer.send({"jsonrpc": "2.0", "id": id if isinstance(id, (int, str)) else None,
                             "error": {"code": INVALID_REQUEST, "message": "Invalid Request"}})
                continue
            method = message["method"]
            params = message.get("params")
            if "id" in message:
                request = Request(message["id"], method, params, writer)
                with pending_lock:
                    pending[request.id] = request
                work.put(request)
            elif method == "$/cancelRequest":
                with pending_lock:
                    id = params.get("id") if isinstance(params, dict) else None
                    request = pending.get(id) if isinstance(id, (int, str)) else None
                if request is not None:
                    request._cancelled.set()
            elif method == "$/feedback":
                if on_feedback is not None:
                    on_feedback(params)
            elif method == "exit":
                exiting = True
                break
            # other notifications: ignored
    except ProtocolError:
        exiting = True  # a broken channel: as for exit
        raise
    finally:
        if exiting:
            with pending_lock:
                for request in pending.values():
                    request._cancelled.set()
            # requests not started are dropped: empty the queue, then stop the runner after the one running
            try:
                while True:
                    work.get_nowait()
            except queue.Empty:
                pass
        work.put(None)
        runner.join()
        _current = None
