package dev.scythe.pool;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Bazel's persistent-worker protocol in its JSON form: one JSON object per message (workers write one per line; as
 * Bazel's own reader does, objects spanning lines are accepted too, and whitespace between them is skipped).
 *
 * <p>Pool to worker: {@code {"arguments":[...],"inputs":[],"requestId":N}}, always with the request id (multiplex
 * style), and {@code {"requestId":N,"cancel":true}} to cancel. There is no exit message: Bazel closes the worker's
 * stdin. Worker to pool: {@code {"exitCode":N,"output":"...","requestId":N}}, absent fields meaning 0, "" and 0 as in
 * proto3 JSON (which also allows numbers as strings). A multiplex worker echoes the request id; a singleplex worker
 * answers with 0 or none, in order, and such a response is reported with {@link Decoder#IN_ORDER}: the pool takes
 * both. Anything but a JSON object, or a field of the wrong type, is a {@link ProtocolException}; unknown fields are
 * ignored.
 */
public final class Bazel implements Protocol<Bazel.WorkRequest, Bazel.WorkResponse> {

    /** The largest response accepted: 64 MiB. */
    public static final int MAX_MESSAGE = 64 << 20;

    private static final Bazel INSTANCE = new Bazel();

    /** A work request: the arguments of one action (the worker's own flags are on its command line). */
    public record WorkRequest(List<String> arguments) {
        public WorkRequest {
            arguments = List.copyOf(arguments);
        }
    }

    /** A work response: the action's exit code and its output (diagnostics, for the user). */
    public record WorkResponse(int exitCode, String output) {
        public WorkResponse {
            if (output == null) {
                throw new IllegalArgumentException("output is a string, \"\" when absent");
            }
        }
    }

    private Bazel() {}

    /** The shared instance. */
    public static Bazel protocol() {
        return INSTANCE;
    }

    @Override
    public String name() {
        return "bazel";
    }

    @Override
    public byte[] encodeRequest(long id, WorkRequest request, boolean firstOnWorker) throws EncodeException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("arguments", request.arguments());
        m.put("inputs", List.of());
        m.put("requestId", requestId(id));
        return line(m);
    }

    @Override
    public byte[] encodeCancel(long id) {
        if (id <= 0 || id > Integer.MAX_VALUE) {
            return null; // never sent: encodeRequest refused such an id
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("requestId", id);
        m.put("cancel", true);
        return line(m);
    }

    @Override
    public byte[] encodeFeedback(Object feedback) {
        return null;
    }

    @Override
    public byte[] encodeExit() {
        return null;
    }

    @Override
    public boolean namesRequests() {
        return true;
    }

    @Override
    public Decoder<WorkResponse> newDecoder() {
        return new ObjectDecoder();
    }

    private static long requestId(long id) throws EncodeException {
        if (id <= 0 || id > Integer.MAX_VALUE) {
            throw new EncodeException("a Bazel requestId is a positive int32, got " + id);
        }
        return id;
    }

    private static byte[] line(Map<String, Object> m) {
        return (Json.write(m) + "\n").getBytes(StandardCharsets.UTF_8);
    }

    /** Finds each top-level JSON object's end by its braces, outside string literals, then parses it. */
    static final class ObjectDecoder implements Decoder<WorkResponse> {
        private final Frames.Buffer message = new Frames.Buffer();
        private int depth;
        private boolean inString, escaped;

        @Override
        public void feed(byte[] bytes, int off, int len, Sink<WorkResponse> sink) throws ProtocolException {
            for (int k = off; k < off + len; k++) {
                byte b = bytes[k];
                if (depth == 0) {
                    if (b == ' ' || b == '\t' || b == '\r' || b == '\n') {
                        continue;
                    }
                    if (b != '{') {
                        throw new ProtocolException("expected a JSON object, found "
                                + Frames.excerpt(bytes, k, off + len - k));
                    }
                }
                if (message.length >= MAX_MESSAGE) {
                    throw new ProtocolException("a message over " + MAX_MESSAGE + " bytes: " + message.excerpt());
                }
                message.add(b);
                if (inString) {
                    if (escaped) {
                        escaped = false;
                    } else if (b == '\\') {
                        escaped = true;
                    } else if (b == '"') {
                        inString = false;
                    }
                } else if (b == '"') {
                    inString = true;
                } else if (b == '{' || b == '[') {
                    depth++;
                } else if (b == '}' || b == ']') {
                    if (--depth == 0) {
                        complete(sink);
                    }
                }
            }
        }

        private void complete(Sink<WorkResponse> sink) throws ProtocolException {
            Object v;
            try {
                v = Json.parse(message.bytes, 0, message.length);
            } catch (Json.ParseException e) {
                throw new ProtocolException("a message that is not JSON (" + e.getMessage() + "): "
                        + message.excerpt());
            }
            if (!(v instanceof Map<?, ?> m)) {
                throw new ProtocolException("a message that is not a JSON object: " + message.excerpt());
            }
            long exitCode = int32(m, "exitCode");
            long requestId = int32(m, "requestId");
            Object output = m.containsKey("output") ? m.get("output") : "";
            if (!(output instanceof String s)) {
                throw new ProtocolException("a response whose output is not a string: " + message.excerpt());
            }
            if (requestId < 0) {
                throw new ProtocolException("a response with a negative requestId: " + message.excerpt());
            }
            message.clear();
            sink.response(requestId == 0 ? Decoder.IN_ORDER : requestId, new WorkResponse((int) exitCode, s));
        }

        /** An int32 field of proto3 JSON: a number or a decimal string; absent is 0. */
        private long int32(Map<?, ?> m, String field) throws ProtocolException {
            Object v = m.get(field);
            if (v == null) {
                return 0;
            }
            long n;
            if (v instanceof Long l) {
                n = l;
            } else if (v instanceof String s && s.matches("-?[0-9]{1,10}")) {
                n = Long.parseLong(s);
            } else if (v instanceof Double d && d == Math.rint(d) && Math.abs(d) <= Integer.MAX_VALUE) {
                n = (long) (double) d; // proto3 JSON allows 1.0 and 1e2 for integers
            } else {
                throw new ProtocolException("a response whose " + field + " is not an int32: " + message.excerpt());
            }
            if (n < Integer.MIN_VALUE || n > Integer.MAX_VALUE) {
                throw new ProtocolException("a response whose " + field + " is not an int32: " + message.excerpt());
            }
            return n;
        }
    }
}
