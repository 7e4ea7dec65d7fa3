package dev.scythe.cli;

import dev.scythe.OsStrings;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Command-line arguments as text that keeps their bytes. The JVM decodes {@code main}'s arguments with the locale's
 * charset (ASCII when LANG is unset), which loses every byte it cannot map; so scythe reads its arguments back from
 * {@code /proc/self/cmdline} and decodes them as Python's {@code surrogateescape} does (PEP 383): UTF-8, with each
 * byte that is not part of valid UTF-8 turned into the lone surrogate U+DC80 to U+DCFF. Such a string maps back to
 * exactly the bytes it came from ({@link #bytes}), so picocli parses text while a command's arguments and the paths
 * given to options still reach the kernel byte for byte (docs/decisions/0015-bytes-not-strings.md).
 */
final class Arg {
    private static final int ESCAPE = 0xDC00;

    private Arg() {}

    /** The text of an argument's bytes: UTF-8, each invalid byte kept as U+DC80 to U+DCFF. */
    static String decode(byte[] bytes) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        CharBuffer out = CharBuffer.allocate(bytes.length); // UTF-8 never gives more chars than bytes, nor do escapes
        for (CoderResult r; (r = decoder.decode(in, out, true)).isError(); ) {
            for (int i = 0; i < r.length(); i++) {
                int b = in.get() & 0xff;
                out.put((char) (b < 0x80 ? b : ESCAPE | b)); // ASCII is never escaped, so it parses as itself
            }
        }
        decoder.flush(out);
        return out.flip().toString();
    }

    /** The bytes an argument's text stands for: UTF-8, and each U+DC80 to U+DCFF as the byte it escapes. */
    static byte[] bytes(String text) {
        if (text.chars().noneMatch(c -> Character.isSurrogate((char) c))) {
            return text.getBytes(StandardCharsets.UTF_8);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length() + 8);
        for (int i = 0; i < text.length(); ) {
            int cp = text.codePointAt(i);
            i += Character.charCount(cp);
            if (cp >= (ESCAPE | 0x80) && cp <= (ESCAPE | 0xff)) {
                out.write(cp & 0xff);
            } else {
                out.writeBytes(Character.toString(Character.isSurrogate((char) cp) ? 0xFFFD : cp)
                        .getBytes(StandardCharsets.UTF_8));
            }
        }
        return out.toByteArray();
    }

    /** For messages: the bytes as UTF-8 text, U+FFFD for what is not. */
    static String display(String text) {
        return OsStrings.display(bytes(text));
    }

    /**
     * The arguments of this JVM's {@code main} with their raw bytes: the last {@code args.length} entries of
     * /proc/self/cmdline, decoded by {@link #decode}, used only if each decodes with the JVM's charset to its
     * argument (otherwise, say with an argument file, the strings are taken as they are).
     */
    static String[] ofMain(String[] args) {
        byte[] cmdline;
        Charset jnu;
        try {
            cmdline = Files.readAllBytes(Path.of("/proc/self/cmdline"));
            jnu = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (java.io.IOException | RuntimeException e) {
            return args;
        }
        List<byte[]> all = new ArrayList<>();
        int start = 0;
        for (int i = 0; i < cmdline.length; i++) {
            if (cmdline[i] == 0) {
                all.add(Arrays.copyOfRange(cmdline, start, i));
                start = i + 1;
            }
        }
        if (all.size() < args.length) {
            return args;
        }
        List<byte[]> tail = all.subList(all.size() - args.length, all.size());
        String[] out = new String[args.length];
        for (int i = 0; i < args.length; i++) {
            if (!new String(tail.get(i), jnu).equals(args[i])) {
                return args;
            }
            out[i] = decode(tail.get(i));
        }
        return out;
    }
}
