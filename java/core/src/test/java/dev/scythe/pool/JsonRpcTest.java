package dev.scythe.pool;

import static dev.scythe.pool.Recording.ascii;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.pool.JsonRpc.Call;
import dev.scythe.pool.JsonRpc.Reply;
import dev.scythe.pool.Recording.Event;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 20, unit = TimeUnit.SECONDS)
class JsonRpcTest {
    private static final JsonRpc P = JsonRpc.protocol();

    static byte[] frame(String json) {
        byte[] body = json.getBytes(StandardCharsets.UTF_8);
        return concat(ascii("Content-Length: " + body.length + "\r\n\r\n"), body);
    }

    static byte[] concat(byte[]... parts) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] p : parts) {
            out.writeBytes(p);
        }
        return out.toByteArray();
    }

    @Test
    void encodesRequestsAndNotificationsInLspFraming() throws Exception {
        assertEquals("Content-Length: 63\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"task\",\"params\":{\"task\":\"é\"}}",
                new String(P.encodeRequest(7, JsonRpc.task("é"), true), StandardCharsets.UTF_8),
                "Content-Length counts bytes, not chars");
        assertEquals("Content-Length: 40\r\n\r\n{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}",
                new String(P.encodeRequest(1, new Call("ping", null), false), StandardCharsets.UTF_8),
                "null params are omitted");
        assertEquals("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"m\",\"params\":[1,null]}",
                body(P.encodeRequest(2, new Call("m", java.util.Arrays.asList(1, null)), false)));
        assertEquals("{\"jsonrpc\":\"2.0\",\"method\":\"$/cancelRequest\",\"params\":{\"id\":9}}",
                body(P.encodeCancel(9)));
        assertEquals("{\"jsonrpc\":\"2.0\",\"method\":\"$/feedback\",\"params\":{\"lemma\":\"x\"}}",
                body(P.encodeFeedback(Map.of("lemma", "x"))));
        assertEquals("{\"jsonrpc\":\"2.0\",\"method\":\"exit\"}", body(P.encodeExit()));
        assertTrue(P.namesRequests());
        assertEquals("jsonrpc", P.name());
        assertEquals(JsonRpc.task(null).params(), new LinkedHashMap<>(java.util.Collections.singletonMap("task", null)));
    }

    private static String body(byte[] frame) {
        String s = new String(frame, StandardCharsets.UTF_8);
        int at = s.indexOf("\r\n\r\n");
        assertEquals("Content-Length: " + (frame.length - at - 4), s.substring(0, at));
        return s.substring(at + 4);
    }

    @Test
    void encodingRefusesWhatJsonCannotCarry() {
        assertThrows(IllegalArgumentException.class, () -> new Call("m", "not structured"));
        assertThrows(IllegalArgumentException.class, () -> new Call(null, null));
        var e = assertThrows(Protocol.EncodeException.class,
                () -> P.encodeRequest(1, new Call("m", Map.of("x", Thread.currentThread())), false));
        assertTrue(e.getMessage().contains("java.lang.Thread"), e.getMessage());
        assertThrows(Protocol.EncodeException.class, () -> P.encodeFeedback(Double.NaN));
    }

    @Test
    void decodesFramesSplitAtEveryByteBoundary() throws Exception {
        String progress = "{\"jsonrpc\":\"2.0\",\"method\":\"$/progress\",\"params\":{\"id\":2,\"pct\":50}}";
        byte[] stream = concat(
                frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"echo\":\"é𝄞\"}}"),
                ascii("content-type: application/vscode-jsonrpc; charset=utf-8\r\nCONTENT-LENGTH:  "
                        + progress.length() + " \r\n\r\n" + progress),
                frame("{\"jsonrpc\":\"2.0\",\"method\":\"window/logMessage\",\"params\":{\"type\":3,\"message\":\"hi\"}}"),
                frame("{\"jsonrpc\":\"2.0\",\"id\":2,\"error\":{\"code\":-32800,\"message\":\"Request cancelled\"}}"),
                frame("{\"id\":3,\"jsonrpc\":\"2.0\",\"result\":null}"),
                frame("{\"jsonrpc\":\"2.0\",\"id\":4,\"error\":{\"code\":1,\"message\":\"m\",\"data\":[1]}}"),
                frame("{\"jsonrpc\":\"2.0\",\"method\":\"$/retire\",\"params\":{\"reason\":\"memory\"}}"),
                frame("{\"jsonrpc\":\"2.0\",\"method\":\"$/retire\"}"));
        List<Event> events = Recording.feedEverySplit(P, stream);
        assertEquals(List.of(
                new Event("response", 1, new Reply(Map.of("echo", "é𝄞"), null)),
                new Event("progress", 2, null),
                new Event("response", 2, new Reply(null, new Reply.Error(-32800, "Request cancelled", null))),
                new Event("response", 3, new Reply(null, null)),
                new Event("response", 4, new Reply(null, new Reply.Error(1, "m", List.of(1L)))),
                new Event("retire", 0, "memory"),
                new Event("retire", 0, "no reason given")), events);
        Reply r3 = (Reply) events.get(3).value();
        assertFalse(r3.isError());
        assertNull(r3.result());
        assertTrue(((Reply) events.get(2).value()).isError());
    }

    @Test
    void aBodyMayBeExactlyTheMaximum() throws Exception {
        String json = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":\"" + "x".repeat(100) + "\"}";
        JsonRpc small = new JsonRpc(json.length());
        assertEquals(1, Recording.feedWhole(small, frame(json)).size());
        var e = assertThrows(Protocol.ProtocolException.class,
                () -> Recording.feedWhole(new JsonRpc(json.length() - 1), frame(json)));
        assertTrue(e.getMessage().contains("over the maximum body of " + (json.length() - 1)), e.getMessage());
    }

    /** Each way a worker's stdout can break the framing or the protocol, with a word of its message. */
    @Test
    void everyBrokenFrameIsAProtocolExceptionNamingTheFault() {
        assertBroken(ascii("Content-Type: x\r\n\r\n{}"), "without Content-Length");
        assertBroken(ascii("Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}"), "Content-Length repeated");
        assertBroken(ascii("Content-Length: two\r\n\r\n{}"), "not a decimal number");
        assertBroken(ascii("Content-Length: -2\r\n\r\n{}"), "not a decimal number");
        assertBroken(ascii("Content-Length: 99999999999999999999\r\n\r\n{}"), "not a decimal number");
        assertBroken(ascii("Content-Length: \r\n\r\n{}"), "not a decimal number");
        assertBroken(ascii("Content-Length: 2\n\n{}"), "LF without CR");
        assertBroken(ascii("Content-Length: 2\rX"), "CR not followed by LF");
        assertBroken(ascii("hello world\r\n"), "expected a header name, found \"hello \"");
        assertBroken(ascii("stray\r\n"), "without ':'");
        assertBroken(ascii(": x\r\n"), "without a name");
        assertBroken(ascii("X-Long: " + "a".repeat(9000)), "header section over 8192 bytes");
        assertBroken(ascii("Content-Length: 67108865\r\n\r\n"), "over the maximum body of 67108864 bytes");
        assertBroken(ascii("Content-Length: 0\r\n\r\n"), "not JSON");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1"), "not JSON");
        assertBroken(frame("[{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1}]"), "not a JSON object");
        assertBroken(frame("{\"id\":1,\"result\":1}"), "\"jsonrpc\" is not \"2.0\"");
        assertBroken(frame("{\"jsonrpc\":\"1.0\",\"id\":1,\"result\":1}"), "\"jsonrpc\" is not \"2.0\"");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":1}"), "id is not a positive integer");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":1}"), "id is not a positive integer");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"id\":1.0,\"result\":1}"), "id is not a positive integer");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"result\":1}"), "id is not a positive integer");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"id\":null,\"error\":{\"code\":-32700,\"message\":\"Parse error\"}}"),
                "(the worker's error: Parse error)");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{\"code\":1,\"message\":\"m\"}}"),
                "both result and error");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"id\":1}"), "neither result and error");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"1\",\"message\":\"m\"}}"),
                "an error that is not");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":\"boom\"}"), "an error that is not");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"workspace/configuration\"}"),
                "the worker sent a request (method workspace/configuration)");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"method\":7}"), "a method that is not a string");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"method\":\"$/progress\",\"params\":{\"token\":1}}"),
                "$/progress whose params.id");
        assertBroken(frame("{\"jsonrpc\":\"2.0\",\"method\":\"$/retire\",\"params\":{\"reason\":1}}"),
                "$/retire whose params.reason");
    }

    private static void assertBroken(byte[] stream, String what) {
        var e = assertThrows(Protocol.ProtocolException.class, () -> Recording.feedWhole(P, stream),
                () -> new String(stream, StandardCharsets.UTF_8));
        assertTrue(e.getMessage().contains(what), () -> "expected \"" + what + "\" in: " + e.getMessage());
        // byte by byte, the same fault is found
        var e2 = assertThrows(Protocol.ProtocolException.class, () -> {
            Recording<Reply> r = new Recording<>();
            Protocol.Decoder<Reply> d = P.newDecoder();
            for (byte b : stream) {
                d.feed(new byte[] {b}, 0, 1, r);
            }
        });
        assertEquals(e.getMessage(), e2.getMessage());
    }

    @Test
    void excerptsAreShortAndEscaped() {
        var e = assertThrows(Protocol.ProtocolException.class,
                () -> Recording.feedWhole(P, frame("{\"jsonrpc\":\"2.0\",\"id\":0,\"result\":\"\u0001\t" + "y".repeat(200)
                        + "\"}")));
        assertTrue(e.getMessage().contains("\\x01\\t"), e.getMessage());
        assertTrue(e.getMessage().endsWith("..."), e.getMessage());
        assertTrue(e.getMessage().length() < 300, e.getMessage());
    }

    @Test
    void stopsAtTheFirstBadFrameAfterReportingTheGoodOnes() {
        Recording<Reply> r = new Recording<>();
        byte[] stream = concat(frame("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1}"), ascii("oops\n"));
        assertThrows(Protocol.ProtocolException.class, () -> P.newDecoder().feed(stream, 0, stream.length, r));
        assertEquals(List.of(new Event("response", 1, new Reply(1L, null))), r.events);
    }
}
