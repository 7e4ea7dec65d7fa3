package dev.scythe;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * What a job wrote to a captured stream: the first bytes ({@code head}), the last bytes ({@code tail}) and how many
 * bytes in between were dropped. Streams up to head + tail bytes long are kept whole. {@code lost}: memory ran out
 * while capturing, so head or tail holds less than it could (what they hold is still true, in order).
 */
public record Output(byte[] head, byte[] tail, long total, long dropped, boolean lost) {
    public static final Output EMPTY = new Output(new byte[0], new byte[0], 0, 0, false);

    /** A capture that had all the memory it needed. */
    public Output(byte[] head, byte[] tail, long total, long dropped) {
        this(head, tail, total, dropped, false);
    }

    /** True when nothing was dropped and nothing lost. */
    public boolean complete() {
        return dropped == 0 && !lost;
    }

    /** Head then tail: every byte the job wrote when {@link #complete()}, else the two ends without the middle. */
    public byte[] bytes() {
        byte[] all = new byte[head.length + tail.length];
        System.arraycopy(head, 0, all, 0, head.length);
        System.arraycopy(tail, 0, all, head.length, tail.length);
        return all;
    }

    /** Head and tail as UTF-8 text, with a marker saying how much was dropped between them. */
    public String text() {
        return text(StandardCharsets.UTF_8);
    }

    /**
     * Head and tail decoded with {@code cs}. A complete stream is decoded in one piece, so a character split between
     * head and tail comes back whole; otherwise a marker says how much was dropped between the two ends.
     */
    public String text(Charset cs) {
        if (dropped == 0) {
            return new String(bytes(), cs);
        }
        return new String(head, cs) + "\n[... " + dropped + " bytes dropped ...]\n" + new String(tail, cs);
    }
}
