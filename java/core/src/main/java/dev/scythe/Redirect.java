package dev.scythe;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Objects;

/** Where a job's stdin comes from, or where its stdout or stderr go. */
public sealed interface Redirect {

    /** /dev/null. The default for stdin. */
    record Discard() implements Redirect {}

    /** The supervising process's own fd. */
    record Inherit() implements Redirect {}

    /** Output only: kept in memory, the first {@code headBytes} and the last {@code tailBytes}. The default. */
    record Capture(int headBytes, int tailBytes) implements Redirect {
        public Capture {
            if (headBytes < 1 || tailBytes < 1) {
                throw new IllegalArgumentException("capture needs headBytes >= 1 and tailBytes >= 1, got "
                        + headBytes + " and " + tailBytes);
            }
        }
    }

    /** A file: read for stdin; created or truncated (or appended to) for output. */
    record File(Path path, boolean append) implements Redirect {
        public File {
            Objects.requireNonNull(path, "path");
            path = path.toAbsolutePath();
        }
    }

    /** Stdin only: these bytes are fed to the job without blocking anyone, then stdin is closed. */
    record Bytes(byte[] data) implements Redirect {
        public Bytes {
            Objects.requireNonNull(data, "data");
        }
    }

    Capture DEFAULT_CAPTURE = new Capture(64 * 1024, 64 * 1024);

    static Redirect discard() {
        return new Discard();
    }

    static Redirect inherit() {
        return new Inherit();
    }

    static Redirect capture() {
        return DEFAULT_CAPTURE;
    }

    static Redirect capture(int headBytes, int tailBytes) {
        return new Capture(headBytes, tailBytes);
    }

    static Redirect file(Path path) {
        return new File(path, false);
    }

    static Redirect appendTo(Path path) {
        return new File(path, true);
    }

    static Redirect bytes(byte[] data) {
        return new Bytes(data.clone());
    }

    static Redirect text(String text) {
        return new Bytes(text.getBytes(StandardCharsets.UTF_8));
    }
}
