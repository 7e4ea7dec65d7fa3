package dev.scythe.pool;

import java.util.Arrays;

/** Helpers the decoders share: a growable byte buffer and short, escaped excerpts of bytes for error messages. */
final class Frames {
    static final int EXCERPT = 48;

    private Frames() {}

    /**
     * Up to {@value #EXCERPT} bytes from {@code off} as printable ASCII in double quotes: {@code \r}, {@code \n},
     * {@code \t}, {@code \"}, {@code \\}, other bytes as {@code \xNN}; "..." marks a cut.
     */
    static String excerpt(byte[] b, int off, int len) {
        StringBuilder s = new StringBuilder("\"");
        int n = Math.min(len, EXCERPT);
        for (int k = off; k < off + n; k++) {
            int c = b[k] & 0xff;
            switch (c) {
                case '\r' -> s.append("\\r");
                case '\n' -> s.append("\\n");
                case '\t' -> s.append("\\t");
                case '"' -> s.append("\\\"");
                case '\\' -> s.append("\\\\");
                default -> {
                    if (c < 0x20 || c >= 0x7f) {
                        s.append(String.format("\\x%02x", c));
                    } else {
                        s.append((char) c);
                    }
                }
            }
        }
        s.append('"');
        if (len > n) {
            s.append("...");
        }
        return s.toString();
    }

    /** A byte array that grows; {@link #clear()} keeps its capacity (a worker's frames tend to be alike). */
    static final class Buffer {
        byte[] bytes = new byte[256];
        int length;

        void add(byte b) {
            if (length == bytes.length) {
                bytes = Arrays.copyOf(bytes, bytes.length * 2);
            }
            bytes[length++] = b;
        }

        void add(byte[] b, int off, int len) {
            if (length + len > bytes.length) {
                bytes = Arrays.copyOf(bytes, Math.max(bytes.length * 2, length + len));
            }
            System.arraycopy(b, off, bytes, length, len);
            length += len;
        }

        void clear() {
            length = 0;
            if (bytes.length > 1 << 20) {
                bytes = new byte[256]; // do not hold a huge frame's memory for the worker's life
            }
        }

        String excerpt() {
            return Frames.excerpt(bytes, 0, length);
        }

        /** The last {@value #EXCERPT} bytes at most, for an error at the end of what was buffered. */
        String tail() {
            int from = Math.max(0, length - EXCERPT);
            return (from > 0 ? "..." : "") + Frames.excerpt(bytes, from, length - from);
        }
    }
}
