package dev.scythe.pool;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * JSON-RPC 2.0 in the Language Server Protocol's base framing: {@code Content-Length: N\r\n\r\n} and N bytes of UTF-8
 * JSON. The default protocol for workers written for Scythe ({@link JsonRpcWorker} and the Python helper
 * {@code scythe.worker} speak it).
 *
 * <p>Pool to worker: requests {@code {"jsonrpc":"2.0","id":N,"method":M,"params":P}}, and the notifications
 * {@code $/cancelRequest {"id":N}}, {@code $/feedback} (params: the feedback) and {@code exit}. Worker to pool:
 * responses, and the notifications {@code $/progress {"id":N,...}} and {@code $/retire {"reason":R}}. Other
 * notifications from the worker are ignored (LSP servers send many, such as {@code window/logMessage}); a request
 * from the worker is a {@link ProtocolException}, since a pool serves none.
 *
 * <p>Headers other than Content-Length are ignored; names are case-insensitive. A missing, repeated or non-numeric
 * Content-Length, a header line not ended by CRLF, a header section over {@value #MAX_HEADER_BYTES} bytes, a body over
 * the maximum, a body that is not a JSON object, a {@code jsonrpc} member other than "2.0", or a response whose id is
 * not a positive integer or which has both or neither of result and error, is a {@link ProtocolException}. Whether a
 * response's id is pending is the pool's to check.
 */
public final class JsonRpc implements Protocol<JsonRpc.Call, JsonRpc.Reply> {

    /** The largest header section accepted, CRLFs included. */
    public static final int MAX_HEADER_BYTES = 8192;
    /** The default largest body: 64 MiB. */
    public static final int DEFAULT_MAX_BODY = 64 << 20;

    private static final JsonRpc DEFAULT = new JsonRpc(DEFAULT_MAX_BODY);

    /**
     * A request: {@code method} with {@code params}, a JSON object (Map) or array (List), or null to omit them.
     * The values inside must be writable by {@link Json#write}.
     */
    public record Call(String method, Object params) {
        public Call {
            if (method == null) {
                throw new IllegalArgumentException("a call needs a method");
            }
            if (params != null && !(params instanceof Map) && !(params instanceof List)) {
                throw new IllegalArgumentException("JSON-RPC params are an object (Map) or an array (List), got "
                        + params.getClass().getName());
            }
        }
    }

    /** A response: a result (any JSON value, null included) or an {@link Error}. */
    public record Reply(Object result, Error error) {
        /** A JSON-RPC error object; {@code data} is null when absent. */
        public record Error(long code, String message, Object data) {}

        public boolean isError() {
            return error != null;
        }
    }

    private final int maxBody;

    /** A protocol accepting bodies of up to {@code maxBody} bytes. */
    public JsonRpc(int maxBody) {
        if (maxBody <= 0) {
            throw new IllegalArgumentException("the maximum body size is positive, got " + maxBody);
        }
        this.maxBody = maxBody;
    }

    /** The shared instance with the default maximum body ({@value #DEFAULT_MAX_BODY} bytes). */
    public static JsonRpc protocol() {
        return DEFAULT;
    }

    /** The call the CLI makes of each task: method "task", params {@code {"task": task}}. */
    public static Call task(Object task) {
        Map<String, Object> params = new LinkedHashMap<>();
        params.put("task", task);
        return new Call("task", params);
    }

    @Override
    public String name() {
        return "jsonrpc";
    }

    @Override
    public byte[] encodeRequest(long id, Call request, boolean firstOnWorker) throws EncodeException {
        Map<String, Object> m = message();
        m.put("id", id);
        m.put("method", request.method());
        if (request.params() != null) {
            m.put("params", request.params());
        }
        return frame(m);
    }

    @Override
    public byte[] encodeCancel(long id) {
        return notification("$/cancelRequest", Map.of("id", id));
    }

    @Override
    public byte[] encodeFeedback(Object feedback) throws EncodeException {
        Map<String, Object> m = message();
        m.put("method", "$/feedback");
        m.put("params", feedback);
        return frame(m);
    }

    @Override
    public byte[] encodeExit() {
        return notification("exit", null);
    }

    @Override
    public boolean namesRequests() {
        return true;
    }

    @Override
    public Decoder<Reply> newDecoder() {
        return new FrameDecoder(maxBody);
    }

    private static Map<String, Object> message() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("jsonrpc", "2.0");
        return m;
    }

    private static byte[] notification(String method, Object params) {
        Map<String, Object> m = message();
        m.put("method", method);
        if (params != null) {
            m.put("params", params);
        }
        try {
            return frame(m);
        } catch (EncodeException e) {
            throw new AssertionError(e);
        }
    }

    /** {@code message} in LSP framing. */
    static byte[] frame(Map<String, Object> message) throws EncodeException {
        byte[] body;
        try {
            body = Json.writeBytes(message);
        } catch (IllegalArgumentException e) {
            throw new EncodeException(e.getMessage());
        }
        byte[] head = ("Content-Length: " + body.length + "\r\n\r\n").getBytes(StandardCharsets.US_ASCII);
        byte[] out = new byte[head.length + body.length];
        System.arraycopy(head, 0, out, 0, head.length);
        System.arraycopy(body, 0, out, head.length, body.length);
        return out;
    }

    /**
     * The LSP base protocol's frames, incrementally: the header section byte by byte (so stray output fails at its
     * first byte that cannot start a header), then the body in bulk.
     */
    static final class FrameDecoder implements Decoder<Reply> {
        private final int maxBody;
        private final Frames.Buffer header = new Frames.Buffer();
        private int lineStart;
        private boolean lineHasColon;
        private long contentLength = -1;
        private byte[] body; // non-null while reading a body
        private int bodyFilled;

        FrameDecoder(int maxBody) {
            this.maxBody = maxBody;
        }

        @Override
        public void feed(byte[] bytes, int off, int len, Sink<Reply> sink) throws ProtocolException {
            int end = off + len;
            int k = off;
            while (k < end) {
                if (body != null) {
                    int n = Math.min(end - k, body.length - bodyFilled);
                    System.arraycopy(bytes, k, body, bodyFilled, n);
                    bodyFilled += n;
                    k += n;
                    if (bodyFilled == body.length) {
                        byte[] b = body;
                        body = null;
                        message(b, sink);
                    }
                } else {
                    headerByte(bytes[k++]);
                    if (body != null && body.length == 0) {
                        body = null;
                        message(new byte[0], sink); // not JSON: says so now rather than at the next byte
                    }
                }
            }
        }

        private void headerByte(byte b) throws ProtocolException {
            header.add(b);
            if (header.length > MAX_HEADER_BYTES) {
                throw new ProtocolException("header section over " + MAX_HEADER_BYTES + " bytes: " + header.tail());
            }
            int n = header.length;
            boolean afterCr = n >= 2 && header.bytes[n - 2] == '\r';
            if (afterCr && b != '\n') {
                throw new ProtocolException("a header line has a CR not followed by LF: " + lineExcerpt());
            }
            if (b == '\r') {
                return;
            }
            if (b == '\n') {
                if (!afterCr) {
                    throw new ProtocolException("a header line ends in LF without CR: " + lineExcerpt());
                }
                int from = lineStart;
                boolean colon = lineHasColon;
                lineStart = n;
                lineHasColon = false;
                headerLine(from, n - 2, colon);
                return;
            }
            if (!lineHasColon) {
                if (b == ':') {
                    if (n - 1 == lineStart) {
                        throw new ProtocolException("a header line without a name: " + lineExcerpt());
                    }
                    lineHasColon = true;
                } else if (!isTokenChar(b)) {
                    throw new ProtocolException("expected a header name, found " + lineExcerpt());
                }
            }
        }

        private String lineExcerpt() {
            return Frames.excerpt(header.bytes, lineStart, header.length - lineStart);
        }

        private void headerLine(int from, int to, boolean hasColon) throws ProtocolException {
            if (from == to) { // the empty line: the header section is complete
                if (contentLength < 0) {
                    throw new ProtocolException("a header section without Content-Length: " + header.excerpt());
                }
                body = new byte[(int) contentLength];
                bodyFilled = 0;
                contentLength = -1;
                header.clear();
                lineStart = 0;
                return;
            }
            if (!hasColon) {
                throw new ProtocolException("a header line without ':': " + Frames.excerpt(header.bytes, from,
                        to - from + 2));
            }
            String line = new String(header.bytes, from, to - from, StandardCharsets.ISO_8859_1);
            int colon = line.indexOf(':');
            String name = line.substring(0, colon).toLowerCase(Locale.ROOT);
            if (!name.equals("content-length")) {
                return;
            }
            String value = line.substring(colon + 1).strip();
            if (contentLength >= 0) {
                throw new ProtocolException("Content-Length repeated: " + Frames.excerpt(header.bytes, from,
                        to - from + 2));
            }
            if (value.isEmpty() || value.length() > 18 || !value.chars().allMatch(c -> c >= '0' && c <= '9')) {
                throw new ProtocolException("Content-Length is not a decimal number: " + Frames.excerpt(header.bytes,
                        from, to - from + 2));
            }
            long n = Long.parseLong(value);
            if (n > maxBody) {
                throw new ProtocolException("Content-Length " + n + " is over the maximum body of " + maxBody
                        + " bytes");
            }
            contentLength = n;
        }

        private static boolean isTokenChar(byte b) { // RFC 9110's tchar
            return (b >= 'a' && b <= 'z') || (b >= 'A' && b <= 'Z') || (b >= '0' && b <= '9')
                    || "!#$%&'*+-.^_`|~".indexOf(b) >= 0;
        }

        private void message(byte[] b, Sink<Reply> sink) throws ProtocolException {
            Object v;
            try {
                v = Json.parse(b);
            } catch (Json.ParseException e) {
                throw new ProtocolException("a body that is not JSON (" + e.getMessage() + "): "
                        + Frames.excerpt(b, 0, b.length));
            }
            if (!(v instanceof Map<?, ?> m)) {
                throw new ProtocolException("a body that is not a JSON object: " + Frames.excerpt(b, 0, b.length));
            }
            if (!"2.0".equals(m.get("jsonrpc"))) {
                throw new ProtocolException("a message whose \"jsonrpc\" is not \"2.0\": "
                        + Frames.excerpt(b, 0, b.length));
            }
            if (m.containsKey("method")) {
                if (!(m.get("method") instanceof String method)) {
                    throw new ProtocolException("a method that is not a string: " + Frames.excerpt(b, 0, b.length));
                }
                if (m.containsKey("id")) {
                    throw new ProtocolException("the worker sent a request (method " + method + "), but a pool serves"
                            + " none: " + Frames.excerpt(b, 0, b.length));
                }
                notification(method, m.get("params"), b, sink);
                return;
            }
            long id = m.get("id") instanceof Long l && l > 0 ? l : -1;
            boolean hasResult = m.containsKey("result"), hasError = m.containsKey("error");
            if (id < 0) {
                String why = m.get("error") instanceof Map<?, ?> e && e.get("message") instanceof String s
                        ? " (the worker's error: " + s + ")"
                        : "";
                throw new ProtocolException("a response whose id is not a positive integer" + why + ": "
                        + Frames.excerpt(b, 0, b.length));
            }
            if (hasResult == hasError) {
                throw new ProtocolException("a response with " + (hasResult ? "both" : "neither") + " result and"
                        + " error: " + Frames.excerpt(b, 0, b.length));
            }
            if (hasResult) {
                sink.response(id, new Reply(m.get("result"), null));
                return;
            }
            if (!(m.get("error") instanceof Map<?, ?> e) || !(e.get("code") instanceof Long code)
                    || !(e.get("message") instanceof String message)) {
                throw new ProtocolException("an error that is not {\"code\": integer, \"message\": string, ...}: "
                        + Frames.excerpt(b, 0, b.length));
            }
            sink.response(id, new Reply(null, new Reply.Error(code, message, e.get("data"))));
        }

        private static void notification(String method, Object params, byte[] b, Sink<Reply> sink)
                throws ProtocolException {
            switch (method) {
                case "$/progress" -> {
                    if (!(params instanceof Map<?, ?> p) || !(p.get("id") instanceof Long id) || id <= 0) {
                        throw new ProtocolException("a $/progress whose params.id is not a positive integer: "
                                + Frames.excerpt(b, 0, b.length));
                    }
                    sink.progress(id);
                }
                case "$/retire" -> {
                    Object reason = params instanceof Map<?, ?> p ? p.get("reason") : null;
                    if (params != null && !(params instanceof Map) || reason != null && !(reason instanceof String)) {
                        throw new ProtocolException("a $/retire whose params.reason is not a string: "
                                + Frames.excerpt(b, 0, b.length));
                    }
                    sink.retire(reason == null ? "no reason given" : (String) reason);
                }
                default -> {} // LSP servers send many notifications (window/logMessage, telemetry/event...)
            }
        }
    }
}
