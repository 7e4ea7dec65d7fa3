package dev.scythe;

import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * Arguments and file names as the kernel sees them: bytes. A Java string cannot carry every byte sequence, and a
 * {@link Path} made from a string depends on the JVM's locale ({@code sun.jnu.encoding}, ASCII when LANG is unset),
 * so Scythe passes paths and arguments to the native side as bytes, never as re-encoded text.
 *
 * <p>The conversions go through {@code file:} URIs, which the JDK's Unix file system builds from and reads into a
 * path's own bytes, percent-encoded: {@link #bytes(Path)} gives back exactly the bytes a path names, and
 * {@link #path(byte[])} makes a path that names exactly the bytes given, whatever the locale.
 */
public final class OsStrings {
    private static final String UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~/";

    private OsStrings() {}

    /** The bytes of this path made absolute, as the kernel will see them. */
    public static byte[] bytes(Path path) {
        String raw = path.toAbsolutePath().toUri().getRawPath();
        // toUri() adds a '/' after an existing directory; an absolute Path other than "/" never ends in one.
        if (raw.length() > 1 && raw.endsWith("/")) {
            raw = raw.substring(0, raw.length() - 1);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(raw.length());
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%' && i + 2 < raw.length()) {
                out.write(Integer.parseInt(raw, i + 1, i + 3, 16));
                i += 2;
            } else {
                out.write(c); // the JDK escapes everything outside printable ASCII
            }
        }
        return out.toByteArray();
    }

    /**
     * The absolute path that names exactly these bytes (relative ones are resolved against the working directory).
     *
     * @throws IllegalArgumentException if the bytes are empty or hold a NUL
     */
    public static Path path(byte[] name) {
        if (name.length == 0) {
            throw new IllegalArgumentException("empty path");
        }
        StringBuilder uri = new StringBuilder("file://");
        if (name[0] != '/') {
            appendEscaped(uri, bytes(Path.of("").toAbsolutePath()));
            uri.append('/');
        }
        appendEscaped(uri, name);
        return Path.of(URI.create(uri.toString())).normalize();
    }

    private static void appendEscaped(StringBuilder uri, byte[] bytes) {
        for (byte b : bytes) {
            int c = b & 0xff;
            if (c == 0) {
                throw new IllegalArgumentException("path contains a NUL byte: " + display(bytes));
            }
            if (c < 0x80 && UNRESERVED.indexOf(c) >= 0) {
                uri.append((char) c);
            } else {
                uri.append('%').append(Character.forDigit(c >> 4, 16)).append(Character.forDigit(c & 15, 16));
            }
        }
    }

    /** Bytes shown as text: UTF-8, with U+FFFD for what is not. For messages and display only. */
    public static String display(byte[] bytes) {
        return new String(bytes, StandardCharsets.UTF_8);
    }
}
