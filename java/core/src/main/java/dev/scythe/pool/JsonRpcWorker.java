package dev.scythe.pool;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The worker side of {@link JsonRpc}, so a worker written in Java need not write frames: {@link #serve} reads requests
 * from {@code in} and writes responses to {@code out} (a worker's stdin and stdout, or pipes in a test).
 *
 * <p>Requests run one at a time, in order, on one thread that serve starts and joins, so that
 * {@code $/cancelRequest} is read while a handler runs: it sets {@link Request#cancelled()}, which a long handler
 * should poll. As in LSP, a cancelled request still gets one response: the handler's result if it returns one, else
 * the error -32800 "Request cancelled" (a request cancelled before it started is not run). {@code $/feedback} goes to
 * the {@link #onFeedback} callback, on the reading thread; other notifications are ignored. {@code exit} returns from
 * serve at once, as does broken framing (with an IOException): the running request is marked cancelled, its response
 * still written, and requests not started are dropped. End of input returns after every request received is
 * answered. Writes are whole frames, under a lock, flushed.
 */
public final class JsonRpcWorker {
    public static final long PARSE_ERROR = -32700;
    public static final long INVALID_REQUEST = -32600;
    public static final long METHOD_NOT_FOUND = -32601;
    public static final long INVALID_PARAMS = -32602;
    public static final long INTERNAL_ERROR = -32603;
    public static final long REQUEST_CANCELLED = -32800;

    /** Serves one request: returns its result (a JSON value, see {@link Json#write}) or throws. */
    @FunctionalInterface
    public interface Handler {
        /**
         * @throws Failure for an error response with that code; any other exception becomes the error -32603 with
         *     its text (or -32800 if the request was cancelled)
         */
        Object handle(Request request) throws Exception;
    }

    /** Thrown by a handler: the request gets the error response {@code {code, message, data}}. */
    public static final class Failure extends Exception {
        private final long code;
        private final transient Object data;

        public Failure(long code, String message) {
            this(code, message, null);
        }

        public Failure(long code, String message, Object data) {
            super(message);
            this.code = code;
            this.data = data;
        }

        public long code() {
            return code;
        }

        public Object data() {
            return data;
        }
    }

    /** One request from the pool. */
    public final class Request {
        private final long id;
        private final String method;
        private final Object params;
        private volatile boolean cancelled;
        private volatile String retireAfter;

        Request(long id, String method, Object params) {
            this.id = id;
            this.method = method;
            this.params = params;
        }

        public long id() {
            return id;
        }

        public String method() {
            return method;
        }

        /** The params: a Map, a List, or null when absent. */
        public Object params() {
            return params;
        }

        /** True once the pool sent {@code $/cancelRequest} for this request (or the worker got exit). */
        public boolean cancelled() {
            return cancelled;
        }

        /** Throws {@code Failure(-32800, "Request cancelled")} if {@link #cancelled()}. */
        public void checkCancelled() throws Failure {
            if (cancelled) {
                throw new Failure(REQUEST_CANCELLED, "Request cancelled");
            }
        }

        /** Sends {@code $/progress {"id": this id, ...fields}}: the pool takes it as a sign of life. */
        public void progress(Map<String, ?> fields) throws IOException {
            Map<String, Object> params = new LinkedHashMap<>(fields);
            params.put("id", id);
            sendNotification("$/progress", params);
        }

        /** Asks the pool to retire this worker, right after this request's response is written. */
        public void retire(String reason) {
            retireAfter = reason;
        }
    }

    private final InputStream in;
    private final OutputStream out;
    private final Object writeLock = new Object();
    private Consumer<Object> onFeedback = feedback -> {};

    // between the reading thread and the handler thread, under `this`
    private final ArrayDeque<Request> queue = new ArrayDeque<>();
    private final Map<Long, Request> pending = new HashMap<>();
    private boolean closed;

    public JsonRpcWorker(InputStream in, OutputStream out) {
        this.in = in instanceof BufferedInputStream ? in : new BufferedInputStream(in);
        this.out = out;
    }

    /** {@code new JsonRpcWorker(in, out).serve(handler)}. */
    public static void serve(InputStream in, OutputStream out, Handler handler) throws IOException {
        new JsonRpcWorker(in, out).serve(handler);
    }

    /** Where {@code $/feedback} params go (on the reading thread; keep it short). Returns this. */
    public JsonRpcWorker onFeedback(Consumer<Object> callback) {
        this.onFeedback = callback;
        return this;
    }

    /** Sends {@code $/retire {"reason": reason}} now: the pool retires this worker once its requests are answered. */
    public void retire(String reason) throws IOException {
        sendNotification("$/retire", Map.of("reason", reason));
    }

    /**
     * Serves requests until {@code exit} or end of input; see the class comment.
     *
     * @throws IOException if the input breaks the framing, or reading or writing fails
     */
    public void serve(Handler handler) throws IOException {
        Thread runner = Thread.ofPlatform().name("scythe-jsonrpc-worker").start(() -> run(handler));
        boolean drain = false;
        try {
            while (true) {
                byte[] body = readFrame();
                if (body == null) {
                    drain = true;
                    return;
                }
                if (!message(body)) {
                    return;
                }
            }
        } finally {
            synchronized (this) {
                closed = true;
                if (!drain) {
                    queue.clear();
                    pending.values().forEach(r -> r.cancelled = true);
                }
                notifyAll();
            }
            boolean interrupted = false;
            while (true) {
                try {
                    runner.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true; // the handler's thread must not outlive serve: wait, then restore the flag
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Handles one message; false for exit. */
    private boolean message(byte[] body) throws IOException {
        Object v;
        try {
            v = Json.parse(body);
        } catch (Json.ParseException e) {
            send(error(null, PARSE_ERROR, "Parse error: " + e.getMessage(), null));
            return true;
        }
        if (!(v instanceof Map<?, ?> m) || !"2.0".equals(m.get("jsonrpc")) || !(m.get("method") instanceof String method)) {
            Object id = v instanceof Map<?, ?> m2 && (m2.get("id") instanceof Long || m2.get("id") instanceof String)
                    ? m2.get("id")
                    : null;
            send(error(id, INVALID_REQUEST, "Invalid Request", null));
            return true;
        }
        Object params = m.get("params");
        if (m.containsKey("id")) {
            if (!(m.get("id") instanceof Long id)) {
                Object raw = m.get("id") instanceof String ? m.get("id") : null;
                send(error(raw, INVALID_REQUEST, "Invalid Request: a pool's request ids are integers", null));
                return true;
            }
            synchronized (this) {
                Request r = new Request(id, method, params);
                pending.put(id, r);
                queue.add(r);
                notifyAll();
            }
            return true;
        }
        switch (method) {
            case "$/cancelRequest" -> {
                if (params instanceof Map<?, ?> p && p.get("id") instanceof Long id) {
                    synchronized (this) {
                        Request r = pending.get(id);
                        if (r != null) {
                            r.cancelled = true;
                        }
                    }
                }
            }
            case "$/feedback" -> onFeedback.accept(params);
            case "exit" -> {
                return false;
            }
            default -> {} // other notifications: ignored
        }
        return true;
    }

    private void run(Handler handler) {
        while (true) {
            Request r;
            synchronized (this) {
                while (queue.isEmpty() && !closed) {
                    try {
                        wait();
                    } catch (InterruptedException e) {
                        return; // nobody interrupts this thread but a JVM shutting down
                    }
                }
                r = queue.poll();
                if (r == null) {
                    return;
                }
            }
            Map<String, Object> reply;
            try {
                r.checkCancelled();
                Object result = handler.handle(r);
                Json.write(result); // a result that is not JSON is the handler's error, not a broken frame
                reply = message();
                reply.put("id", r.id);
                reply.put("result", result);
            } catch (Failure f) {
                reply = error(r.id, f.code(), f.getMessage(), f.data());
            } catch (Exception e) {
                reply = r.cancelled
                        ? error(r.id, REQUEST_CANCELLED, "Request cancelled", null)
                        : error(r.id, INTERNAL_ERROR, e.getClass().getName() + ": " + e.getMessage(), null);
            }
            synchronized (this) {
                pending.remove(r.id);
            }
            try {
                send(reply);
                if (r.retireAfter != null) {
                    retire(r.retireAfter);
                }
            } catch (IOException e) {
                return; // the pool is gone: nobody to answer
            }
        }
    }

    private static Map<String, Object> message() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("jsonrpc", "2.0");
        return m;
    }

    private static Map<String, Object> error(Object id, long code, String text, Object data) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("code", code);
        e.put("message", text == null ? "" : text);
        if (data != null) {
            e.put("data", data);
        }
        Map<String, Object> m = message();
        m.put("id", id);
        m.put("error", e);
        return m;
    }

    private void sendNotification(String method, Object params) throws IOException {
        Map<String, Object> m = message();
        m.put("method", method);
        m.put("params", params);
        send(m);
    }

    private void send(Map<String, Object> m) throws IOException {
        byte[] frame;
        try {
            frame = JsonRpc.frame(m);
        } catch (Protocol.EncodeException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
        synchronized (writeLock) {
            out.write(frame);
            out.flush();
        }
    }

    /** The next frame's body, or null at end of input before a frame starts; IOException for a broken frame. */
    private byte[] readFrame() throws IOException {
        long length = -1;
        int headerBytes = 0;
        ByteArrayOutputStream line = new ByteArrayOutputStream();
        boolean first = true;
        while (true) {
            line.reset();
            while (true) {
                int b = in.read();
                if (b < 0) {
                    if (first && line.size() == 0) {
                        return null;
                    }
                    throw new IOException("end of input inside a header section: "
                            + Frames.excerpt(line.toByteArray(), 0, line.size()));
                }
                first = false;
                if (++headerBytes > JsonRpc.MAX_HEADER_BYTES) {
                    throw new IOException("header section over " + JsonRpc.MAX_HEADER_BYTES + " bytes");
                }
                line.write(b);
                if (b == '\n') {
                    break;
                }
            }
            byte[] l = line.toByteArray();
            if (l.length < 2 || l[l.length - 2] != '\r') {
                throw new IOException("a header line ends in LF without CR: " + Frames.excerpt(l, 0, l.length));
            }
            if (l.length == 2) {
                break;
            }
            String text = new String(l, 0, l.length - 2, StandardCharsets.ISO_8859_1);
            int colon = text.indexOf(':');
            if (colon <= 0) {
                throw new IOException("a header line without 'name:': " + Frames.excerpt(l, 0, l.length));
            }
            if (!text.substring(0, colon).strip().toLowerCase(Locale.ROOT).equals("content-length")) {
                continue;
            }
            String value = text.substring(colon + 1).strip();
            if (length >= 0) {
                throw new IOException("Content-Length repeated: " + Frames.excerpt(l, 0, l.length));
            }
            if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new IOException("Content-Length is not a decimal number: " + Frames.excerpt(l, 0, l.length));
            }
            length = Long.parseLong(value);
            if (length > JsonRpc.DEFAULT_MAX_BODY) {
                throw new IOException("Content-Length " + length + " is over the maximum body of "
                        + JsonRpc.DEFAULT_MAX_BODY + " bytes");
            }
        }
        if (length < 0) {
            throw new IOException("a header section without Content-Length");
        }
        byte[] body = in.readNBytes((int) length);
        if (body.length != length) {
            throw new IOException("end of input inside a body (" + body.length + " of " + length + " bytes)");
        }
        return body;
    }
}
