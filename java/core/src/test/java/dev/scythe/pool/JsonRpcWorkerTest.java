package dev.scythe.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.pool.JsonRpc.Call;
import dev.scythe.pool.JsonRpc.Reply;
import dev.scythe.pool.Recording.Event;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.Pipe;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** JsonRpcWorker in-process: the pool's side is JsonRpc's encoder and decoder, over two NIO pipes. */
@Timeout(value = 20, unit = TimeUnit.SECONDS)
class JsonRpcWorkerTest {
    private static final JsonRpc P = JsonRpc.protocol();

    private OutputStream toWorker;
    private InputStream fromWorker;
    private Thread serving;
    private final AtomicReference<Throwable> served = new AtomicReference<>();
    private final Protocol.Decoder<Reply> decoder = P.newDecoder();
    private final Recording<Reply> sink = new Recording<>();
    private final List<Object> feedback = Collections.synchronizedList(new ArrayList<>());
    private JsonRpcWorker worker;

    private void start(JsonRpcWorker.Handler handler) throws IOException {
        Pipe in = Pipe.open(), out = Pipe.open();
        toWorker = Channels.newOutputStream(in.sink());
        fromWorker = Channels.newInputStream(out.source());
        InputStream workerIn = Channels.newInputStream(in.source());
        OutputStream workerOut = Channels.newOutputStream(out.sink());
        worker = new JsonRpcWorker(workerIn, workerOut).onFeedback(feedback::add);
        serving = Thread.ofPlatform().name("test-serve").start(() -> {
            try (workerIn; workerOut) {
                worker.serve(handler);
                served.set(new Throwable("returned"));
            } catch (Throwable t) {
                served.set(t);
            }
        });
    }

    @AfterEach
    void stop() throws Exception {
        toWorker.close();
        serving.join(10_000);
        assertFalse(serving.isAlive(), "serve returned");
        fromWorker.close();
        assertTrue(Thread.getAllStackTraces().keySet().stream().noneMatch(t -> t.getName().equals(
                "scythe-jsonrpc-worker")), "the handler thread ended with serve");
    }

    private void send(byte[] frame) throws IOException {
        toWorker.write(frame);
        toWorker.flush();
    }

    private int consumed;

    /** The next event the decoder reports, reading as needed; null at end of output. */
    private Event next() throws Exception {
        byte[] buf = new byte[1024];
        while (sink.events.size() == consumed) {
            int n = fromWorker.read(buf);
            if (n < 0) {
                return null;
            }
            decoder.feed(buf, 0, n, sink);
        }
        return sink.events.get(consumed++);
    }

    @Test
    void answersRequestsInOrderWithResultsAndErrors() throws Exception {
        start(r -> switch (r.method()) {
            case "task" -> Map.of("echo", ((Map<?, ?>) r.params()).get("task"));
            case "fail" -> throw new JsonRpcWorker.Failure(7, "no", List.of(1));
            case "bug" -> throw new IllegalStateException("oops");
            case "nan" -> Double.NaN;
            default -> throw new JsonRpcWorker.Failure(JsonRpcWorker.METHOD_NOT_FOUND, "Method not found");
        });
        send(P.encodeRequest(1, JsonRpc.task("é"), true));
        send(P.encodeRequest(2, new Call("fail", null), false));
        send(P.encodeRequest(3, new Call("bug", null), false));
        send(P.encodeRequest(4, new Call("nan", null), false));
        send(P.encodeRequest(5, new Call("what", List.of()), false));
        assertEquals(new Event("response", 1, new Reply(Map.of("echo", "é"), null)), next());
        assertEquals(new Event("response", 2, new Reply(null, new Reply.Error(7, "no", List.of(1L)))), next());
        Reply bug = (Reply) next().value();
        assertEquals(JsonRpcWorker.INTERNAL_ERROR, bug.error().code());
        assertTrue(bug.error().message().contains("IllegalStateException: oops"), bug.toString());
        assertEquals(JsonRpcWorker.INTERNAL_ERROR, ((Reply) next().value()).error().code(), "NaN is no result");
        assertEquals(JsonRpcWorker.METHOD_NOT_FOUND, ((Reply) next().value()).error().code());
        toWorker.close();
        assertNull(next(), "end of input: serve returns and the output ends");
        serving.join();
        assertEquals("returned", served.get().getMessage());
    }

    @Test
    void endOfInputAnswersEveryRequestReceived() throws Exception {
        start(r -> {
            Thread.sleep(50);
            return r.id();
        });
        for (long id = 1; id <= 3; id++) {
            send(P.encodeRequest(id, new Call("x", null), id == 1));
        }
        toWorker.close();
        for (long id = 1; id <= 3; id++) {
            assertEquals(new Event("response", id, new Reply(id, null)), next());
        }
        assertNull(next());
    }

    @Test
    void cancelProgressAndRetire() throws Exception {
        CountDownLatch gate = new CountDownLatch(1);
        start(r -> switch (r.method()) {
            case "gate" -> {
                gate.await();
                yield "through";
            }
            case "long" -> {
                r.progress(Map.of("step", 1));
                while (!r.cancelled()) {
                    Thread.sleep(5);
                }
                r.checkCancelled();
                yield "unreachable";
            }
            case "finish_anyway" -> {
                r.progress(Map.of());
                while (!r.cancelled()) {
                    Thread.sleep(5);
                }
                yield "done";
            }
            case "bye" -> {
                r.retire("tired");
                yield "ok";
            }
            default -> "ok";
        });
        send(P.encodeRequest(1, new Call("long", null), true));
        assertEquals(new Event("progress", 1, null), next());
        send(P.encodeCancel(1));
        assertEquals(new Event("response", 1, new Reply(null, new Reply.Error(-32800, "Request cancelled", null))),
                next());
        send(P.encodeRequest(2, new Call("finish_anyway", null), false));
        assertEquals(new Event("progress", 2, null), next());
        send(P.encodeCancel(2));
        assertEquals(new Event("response", 2, new Reply("done", null)), next(), "LSP: a finished result is kept");
        send(P.encodeRequest(30, new Call("gate", null), false));
        send(JsonRpcTest.concat(P.encodeRequest(3, new Call("x", null), false), P.encodeCancel(3),
                P.encodeFeedback("cancel read")));
        while (feedback.isEmpty()) { // feedback is taken in order on the reading thread: the cancel was read
            Thread.sleep(5);
        }
        gate.countDown();
        assertEquals(new Event("response", 30, new Reply("through", null)), next());
        assertEquals(new Event("response", 3, new Reply(null, new Reply.Error(-32800, "Request cancelled", null))),
                next(), "cancelled before it started: not run");
        send(P.encodeRequest(4, new Call("bye", null), false));
        assertEquals(new Event("response", 4, new Reply("ok", null)), next());
        assertEquals(new Event("retire", 0, "tired"), next(), "after the response");
        worker.retire("now");
        assertEquals(new Event("retire", 0, "now"), next());
        send(JsonRpcTest.frame("{\"jsonrpc\":\"2.0\",\"method\":\"window/logMessage\",\"params\":{}}"));
        send(P.encodeCancel(99));
        send(P.encodeRequest(5, new Call("x", null), false));
        assertEquals(new Event("response", 5, new Reply("ok", null)), next(), "unknown notifications are ignored");
    }

    @Test
    void feedbackAndExit() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        AtomicReference<Boolean> cancelledAtExit = new AtomicReference<>();
        start(r -> {
            if (r.method().equals("count")) {
                return feedback.size();
            }
            r.progress(Map.of());
            release.await();
            cancelledAtExit.set(r.cancelled());
            return "late";
        });
        send(P.encodeFeedback(Map.of("lemma", "a")));
        send(P.encodeFeedback(List.of(1)));
        send(P.encodeRequest(1, new Call("count", null), true));
        assertEquals(new Event("response", 1, new Reply(2L, null)), next());
        assertEquals(List.of(Map.of("lemma", "a"), List.of(1L)), feedback);
        send(P.encodeRequest(2, new Call("block", null), false));
        assertEquals(new Event("progress", 2, null), next());
        send(P.encodeRequest(3, new Call("never", null), false));
        send(P.encodeExit());
        Thread.sleep(100);
        assertTrue(serving.isAlive(), "serve waits for the running request");
        release.countDown();
        assertEquals(new Event("response", 2, new Reply("late", null)), next());
        assertNull(next(), "request 3 was dropped at exit");
        serving.join();
        assertTrue(cancelledAtExit.get(), "exit cancels the running request");
        assertEquals("returned", served.get().getMessage());
    }

    @Test
    void badJsonIsAnErrorResponseAndBrokenFramingEndsServe() throws Exception {
        start(r -> "ok");
        send("Content-Length: 5\r\n\r\n{nope".getBytes(StandardCharsets.US_ASCII));
        var e = assertInstanceOf(Protocol.ProtocolException.class, assertThrowsNext());
        assertTrue(e.getMessage().contains("the worker's error: Parse error"), e.getMessage());
        send("garbage\n".getBytes(StandardCharsets.US_ASCII));
        serving.join();
        assertInstanceOf(IOException.class, served.get());
        assertTrue(served.get().getMessage().contains("LF without CR"), served.get().getMessage());
    }

    private Throwable assertThrowsNext() {
        try {
            next();
        } catch (Throwable t) {
            return t;
        }
        throw new AssertionError("expected the pool's decoder to refuse the response");
    }
}
