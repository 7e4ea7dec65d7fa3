package dev.scythe.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/** A sink that records what a decoder found, as events, and feeding helpers for the protocol tests. */
final class Recording<R> implements Protocol.Sink<R> {
    /** One thing a decoder reported: a response (with its id), a progress or a retire. */
    record Event(String kind, long id, Object value) {}

    final List<Event> events = new ArrayList<>();

    @Override
    public void response(long id, R response) {
        events.add(new Event("response", id, response));
    }

    @Override
    public void progress(long id) {
        events.add(new Event("progress", id, null));
    }

    @Override
    public void retire(String reason) {
        events.add(new Event("retire", 0, reason));
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Feeds all of {@code bytes} at once. */
    static <R> List<Event> feedWhole(Protocol<?, R> p, byte[] bytes) throws Protocol.ProtocolException {
        Recording<R> r = new Recording<>();
        p.newDecoder().feed(bytes, 0, bytes.length, r);
        return r.events;
    }

    /** Feeds {@code bytes} split at every boundary in turn (two pieces), and one byte at a time; all must agree. */
    static <R> List<Event> feedEverySplit(Protocol<?, R> p, byte[] bytes) throws Protocol.ProtocolException {
        List<Event> whole = feedWhole(p, bytes);
        for (int cut = 0; cut <= bytes.length; cut++) {
            Recording<R> r = new Recording<>();
            Protocol.Decoder<R> d = p.newDecoder();
            byte[] padded = new byte[bytes.length + 2]; // offsets must be honoured: the data sits at 1
            System.arraycopy(bytes, 0, padded, 1, bytes.length);
            d.feed(padded, 1, cut, r);
            d.feed(padded, 1 + cut, bytes.length - cut, r);
            assertEquals(whole, r.events, "split at " + cut);
        }
        Recording<R> r = new Recording<>();
        Protocol.Decoder<R> d = p.newDecoder();
        for (byte b : bytes) {
            d.feed(new byte[] {b}, 0, 1, r);
        }
        assertEquals(whole, r.events, "byte by byte");
        return whole;
    }
}
