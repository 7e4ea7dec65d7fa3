package dev.scythe.pool;

import static dev.scythe.pool.Recording.ascii;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.pool.Bazel.WorkRequest;
import dev.scythe.pool.Bazel.WorkResponse;
import dev.scythe.pool.Recording.Event;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class BazelTest extends LeakChecked {
    private static final Bazel P = Bazel.protocol();

    @Test
    void encodesRequestsAndCancels() throws Exception {
        assertEquals("{\"arguments\":[\"-c\",\"é\"],\"inputs\":[],\"requestId\":5}\n",
                new String(P.encodeRequest(5, new WorkRequest(List.of("-c", "é")), true), StandardCharsets.UTF_8));
        assertEquals("{\"requestId\":5,\"cancel\":true}\n", new String(P.encodeCancel(5), StandardCharsets.UTF_8));
        assertNull(P.encodeExit(), "Bazel closes stdin");
        assertNull(P.encodeFeedback("x"));
        assertTrue(P.namesRequests());
        assertEquals("bazel", P.name());
        var e = assertThrows(Protocol.EncodeException.class,
                () -> P.encodeRequest(1L << 31, new WorkRequest(List.of()), false));
        assertTrue(e.getMessage().contains("int32"), e.getMessage());
    }

    @Test
    void decodesNamedAndInOrderResponsesSplitAnywhere() throws Exception {
        byte[] stream = ascii("{\"exitCode\":1,\"output\":\"a}{\\\"b\\\\\",\"requestId\":3}\n"
                + "{}\n\n  {\"output\":\"x\",\"requestId\":0,\"unknownField\":[{}]}"
                + "{\n  \"exitCode\": \"2\",\n  \"requestId\": \"7\"\n}\r\n{\"exitCode\":1.0,\"requestId\":8}");
        assertEquals(List.of(
                new Event("response", 3, new WorkResponse(1, "a}{\"b\\")),
                new Event("response", Protocol.Decoder.IN_ORDER, new WorkResponse(0, "")),
                new Event("response", Protocol.Decoder.IN_ORDER, new WorkResponse(0, "x")),
                new Event("response", 7, new WorkResponse(2, "")),
                new Event("response", 8, new WorkResponse(1, ""))), Recording.feedEverySplit(P, stream));
    }

    @Test
    void everyBrokenMessageIsAProtocolExceptionNamingTheFault() {
        assertBroken("hello\n", "expected a JSON object, found \"hello\\n\"");
        assertBroken("[1]\n", "expected a JSON object");
        assertBroken("{\"exitCode\":01}\n", "not JSON");
        assertBroken("{\"exitCode\":\"x\"}", "exitCode is not an int32");
        assertBroken("{\"exitCode\":4294967296}", "exitCode is not an int32");
        assertBroken("{\"requestId\":1.5}", "requestId is not an int32");
        assertBroken("{\"requestId\":-1}", "negative requestId");
        assertBroken("{\"output\":7}", "output is not a string");
        assertBroken("{} x", "expected a JSON object, found \"x\"");
    }

    private static void assertBroken(String s, String what) {
        var e = assertThrows(Protocol.ProtocolException.class, () -> Recording.feedWhole(P, ascii(s)), s);
        assertTrue(e.getMessage().contains(what), () -> "expected \"" + what + "\" in: " + e.getMessage());
    }

    /** The test resource bazel_worker.py as a real process: multiplex (ids echoed) and singleplex (in order). */
    @Test
    void talksToTheTestWorker() throws Exception {
        Path script = Path.of("src/test/resources/workers/bazel_worker.py").toAbsolutePath();
        for (boolean singleplex : new boolean[] {false, true}) {
            List<String> command = singleplex
                    ? List.of(script.toString(), "--persistent_worker", "--singleplex")
                    : List.of(script.toString(), "--persistent_worker");
            Process p = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            try (OutputStream in = p.getOutputStream(); InputStream out = p.getInputStream()) {
                in.write(P.encodeRequest(1, new WorkRequest(List.of("a", "b")), true));
                in.write(P.encodeRequest(2, new WorkRequest(List.of("fail")), false));
                in.flush();
                Recording<WorkResponse> sink = new Recording<>();
                Protocol.Decoder<WorkResponse> d = P.newDecoder();
                byte[] buf = new byte[4096];
                while (sink.events.size() < 2) {
                    int n = out.read(buf);
                    assertTrue(n > 0, "the worker ended early");
                    d.feed(buf, 0, n, sink);
                }
                long id1 = singleplex ? Protocol.Decoder.IN_ORDER : 1, id2 = singleplex ? Protocol.Decoder.IN_ORDER : 2;
                assertEquals(List.of(new Event("response", id1, new WorkResponse(0, "a b")),
                        new Event("response", id2, new WorkResponse(1, "fail"))), sink.events);
                in.close(); // Bazel's way of stopping a worker
                assertTrue(p.waitFor(10, TimeUnit.SECONDS));
                assertEquals(0, p.exitValue());
            } finally {
                p.destroyForcibly();
                p.waitFor();
                assertFalse(p.toHandle().isAlive());
            }
        }
    }
}
