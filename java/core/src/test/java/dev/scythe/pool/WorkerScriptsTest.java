package dev.scythe.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.pool.JsonRpc.Call;
import dev.scythe.pool.JsonRpc.Reply;
import dev.scythe.pool.Recording.Event;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The test worker echo_worker.py (as Maven copied it to target/test-classes) against JsonRpc's encoder and decoder:
 * proof that the workers the pool tests use speak the protocol. Started with ProcessBuilder, killed and checked gone.
 */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class WorkerScriptsTest extends LeakChecked {
    private static final JsonRpc P = JsonRpc.protocol();

    static Path worker(String name) throws URISyntaxException {
        return Path.of(WorkerScriptsTest.class.getResource("/workers/" + name).toURI());
    }

    /** A started echo_worker.py. */
    static final class Echo implements AutoCloseable {
        final Process process;
        final OutputStream in;
        final InputStream out;
        final Protocol.Decoder<Reply> decoder = P.newDecoder();
        final Recording<Reply> sink = new Recording<>();
        int consumed;

        Echo(boolean withPythonPath) throws Exception {
            ProcessBuilder pb = new ProcessBuilder(worker("echo_worker.py").toString())
                    .redirectError(ProcessBuilder.Redirect.INHERIT);
            if (withPythonPath) {
                pb.environment().put("PYTHONPATH", Path.of("../../bindings/python").toAbsolutePath().normalize()
                        .toString());
            } else {
                pb.environment().remove("PYTHONPATH");
            }
            process = pb.start();
            in = process.getOutputStream();
            out = process.getInputStream();
        }

        void send(long id, String method, Object params) throws Exception {
            in.write(P.encodeRequest(id, new Call(method, params), id == 1));
            in.flush();
        }

        Event next() throws Exception {
            byte[] buf = new byte[4096];
            while (sink.events.size() == consumed) {
                int n = out.read(buf);
                if (n < 0) {
                    return null;
                }
                decoder.feed(buf, 0, n, sink);
            }
            return sink.events.get(consumed++);
        }

        @Override
        public void close() throws java.io.IOException {
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while reaping the worker");
            }
            assertFalse(process.toHandle().isAlive());
            in.close();
            out.close();
        }
    }

    @Test
    void echoWorkerAnswersWithAndWithoutPythonPath() throws Exception {
        for (boolean withPythonPath : new boolean[] {true, false}) {
            try (Echo w = new Echo(withPythonPath)) {
                w.in.write(P.encodeRequest(1, JsonRpc.task(List.of("é", 1)), true));
                w.in.flush();
                assertEquals(new Event("response", 1, new Reply(Map.of("echo", List.of("é", 1L)), null)), w.next());
                w.send(2, "pid", null);
                assertEquals(w.process.pid(), ((Reply) w.next().value()).result());
                w.send(3, "sleep", Map.of("seconds", 0.25));
                Event e;
                int progress = 0;
                while ((e = w.next()).kind().equals("progress")) {
                    assertEquals(3, e.id());
                    progress++;
                }
                assertTrue(progress >= 2, "progress every 0.1 s: " + progress);
                assertEquals(new Reply(Map.of("slept", 0.25), null), e.value());
                w.in.write(P.encodeFeedback(Map.of("n", 1)));
                w.send(4, "feedback_count", null);
                assertEquals(Map.of("count", 1L, "last", Map.of("n", 1L)), ((Reply) w.next().value()).result());
                w.send(5, "retire", Map.of("reason", "old"));
                assertEquals(new Event("retire", 0, "old"), w.next()); // before the response: nothing more is sent
                assertEquals(new Event("response", 5, new Reply(Map.of("retiring", true), null)), w.next());
                w.send(6, "alloc", Map.of("mb", 8));
                assertEquals(Map.of("held_mb", 8L), ((Reply) w.next().value()).result());
                w.in.write(P.encodeExit());
                w.in.flush();
                assertTrue(w.process.waitFor(10, TimeUnit.SECONDS));
                assertEquals(0, w.process.exitValue());
            }
        }
    }

    @Test
    void sleepHonoursCancel() throws Exception {
        try (Echo w = new Echo(true)) {
            w.send(1, "sleep", Map.of("seconds", 30));
            assertEquals("progress", w.next().kind());
            w.in.write(P.encodeCancel(1));
            w.in.flush();
            Event e;
            while ((e = w.next()).kind().equals("progress")) {
                // the last ones before the cancel was seen
            }
            assertEquals(new Event("response", 1, new Reply(null, new Reply.Error(-32800, "Request cancelled", null))),
                    e);
        }
    }

    @Test
    void strayOutputBreaksTheProtocolAndCrashExitsWithItsCode() throws Exception {
        try (Echo w = new Echo(true)) {
            w.send(1, "stray", null);
            var e = assertInstanceOf(Protocol.ProtocolException.class, assertThrows(Exception.class, w::next));
            assertTrue(e.getMessage().contains("\"this "), e.getMessage());
        }
        try (Echo w = new Echo(true)) {
            w.send(1, "crash", Map.of("code", 9));
            assertEquals(null, w.next());
            assertEquals(9, w.process.waitFor());
        }
    }

    /** The grandchild is started by our worker: this test kills it by pid and checks it is gone. */
    @Test
    void spawnGrandchildReturnsItsPid() throws Exception {
        try (Echo w = new Echo(true)) {
            w.send(1, "spawn_grandchild", null);
            long pid = (Long) ((Reply) w.next().value()).result();
            Optional<ProcessHandle> grandchild = ProcessHandle.of(pid);
            assertTrue(grandchild.isPresent() && grandchild.get().isAlive());
            assertEquals(Optional.of(w.process.pid()), grandchild.get().parent().map(ProcessHandle::pid));
            grandchild.get().destroyForcibly();
            w.close(); // the killed grandchild stays a zombie of the worker (Popen reaps lazily) until the worker dies
            long until = System.nanoTime() + 10_000_000_000L;
            while (grandchild.get().isAlive() && System.nanoTime() < until) {
                Thread.sleep(10); // then whoever inherits it reaps it
            }
            assertFalse(grandchild.get().isAlive());
        }
    }
}
