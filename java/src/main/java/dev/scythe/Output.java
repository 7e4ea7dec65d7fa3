package dev.scythe;

import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;

/**
 * What a job wrote to a captured stream: the first bytes ({@code head}), the last bytes ({@code tail}) and how many
 * bytes in between were dropped. Streams up to head + tail bytes long are kept whole.
 */
public record Output(byte[] head, byte[] tail, long total, long dropped) {
    public static final Output EMPTY = new Output(new byte[0], new byte[0], 0, 0);

    /** True when nothing was dropped. */
    public boolean complete() {
        return dropped == 0;
    }

    /** Head and tail as UTF-8 text, with a marker saying how much was dropped between them. */
    public String text() {
        return text(StandardCharsets.UTF_8);
    }

    public String text(Charset cs) {
        String h = new String(head, cs);
        if (tail.length == 0) {
            return h;
        }
        return dropped == 0 ? h + new String(tail, cs)
                : h + "\n[... " + dropped + " bytes dropped ...]\n" + new String(tail, cs);
    }
}
