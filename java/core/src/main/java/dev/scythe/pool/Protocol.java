package dev.scythe.pool;

/**
 * How a pool talks to its workers: the bytes of requests and notifications it writes to a worker's stdin, and an
 * incremental decoder of what the worker writes to its stdout. Framing first, payload second: a decoder that cannot
 * parse a frame throws {@link ProtocolException}, and the pool replaces that worker; it never guesses.
 *
 * <p>Implementations: {@link JsonRpc} (LSP-framed JSON-RPC 2.0, the default for workers written for Scythe),
 * {@link SmtLib} (an SMT-LIB 2 solver in interactive mode), {@link Bazel} (Bazel's persistent-worker JSON protocol).
 * A protocol object is stateless and shared; a {@link Decoder} belongs to one worker.
 *
 * @param <Q> the request a task becomes
 * @param <R> the response the worker gives
 */
public interface Protocol<Q, R> {

    /** A short name for logs and the CLI: "jsonrpc", "smtlib", "bazel". */
    String name();

    /**
     * The bytes asking a worker to serve {@code request} under {@code id}. Ids are positive and never reused within a
     * pool. {@code firstOnWorker} is true for the first request a freshly started worker gets (SMT-LIB sends
     * {@code (reset)} before every other one).
     *
     * @throws EncodeException if the request cannot be put into this protocol's frames; the worker is not touched
     */
    byte[] encodeRequest(long id, Q request, boolean firstOnWorker) throws EncodeException;

    /** The notification asking a worker to abandon request {@code id}, or null if the protocol has none. */
    byte[] encodeCancel(long id);

    /** A notification carrying {@code feedback} to a live worker ({@link Pool#broadcast}), or null if none. */
    byte[] encodeFeedback(Object feedback) throws EncodeException;

    /** What to send a worker asked to stop (before its stdin is closed), or null. */
    byte[] encodeExit();

    /**
     * Whether a response names its request. If not, responses come in the order the requests were sent, and the
     * decoder reports each with id {@link Decoder#IN_ORDER}.
     */
    boolean namesRequests();

    /** A fresh decoder for one worker's stdout. */
    Decoder<R> newDecoder();

    /** What a decoder found in a worker's stdout. Called on the thread that feeds the decoder; must not block. */
    interface Sink<R> {
        /** The response to request {@code id} (or to the oldest pending request, with {@link Decoder#IN_ORDER}). */
        void response(long id, R response);

        /** The worker made progress on request {@code id} (a progress notification). */
        default void progress(long id) {}

        /** The worker asks to be retired once its pending requests are answered. */
        default void retire(String reason) {}
    }

    /** Turns a worker's stdout bytes into frames, incrementally: bytes may arrive split anywhere. */
    interface Decoder<R> {
        long IN_ORDER = -1;

        /**
         * Consumes {@code len} bytes. Frames completed by them go to {@code sink}, in order; a partial frame is kept
         * for the next call.
         *
         * @throws ProtocolException at the first byte that cannot belong to a valid frame
         */
        void feed(byte[] bytes, int off, int len, Sink<R> sink) throws ProtocolException;
    }

    /** The worker's stdout broke the protocol: that worker cannot be trusted with anything more. */
    final class ProtocolException extends Exception {
        public ProtocolException(String message) {
            super(message);
        }
    }

    /** A request (or a feedback) that this protocol cannot encode. */
    final class EncodeException extends Exception {
        public EncodeException(String message) {
            super(message);
        }
    }
}
