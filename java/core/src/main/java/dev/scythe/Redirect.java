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

    /**
     * A conversation for the job's whole life, for workers that serve many requests. As stdin: written with
     * {@link Job#write} and closed with {@link Job#closeStdin} (or when the job ends). As stdout: every chunk the job
     * writes is handed to {@code sink}, in order, on the supervisor's loop thread, which it must not block; the last
     * chunk comes before the job's {@link Job#onExit()} completes. Not for stderr. The channel lives as long as the
     * leader: a grandchild that still holds the pipe does not delay the job's end.
     */
    record Channel(java.util.function.Consumer<byte[]> sink) implements Redirect {}

    Capture DEFAULT_CAPTURE = new Capture(64 * 1024, 64 * 1024);

    static Redirect discard() {
        return new Discard();
    }

    static Redirect inherit() {
        return new Inherit();
    }

    /** Stdin written by the host ({@link Job#write}), for the job's whole life. */
    static Redirect channel() {
        return new Channel(null);
    }

    /** Stdout handed to {@code sink} chunk by chunk, on the loop thread, for the job's whole life. */
    static Redirect channel(java.util.function.Consumer<byte[]> sink) {
        return new Channel(Objects.requireNonNull(sink, "sink"));
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
