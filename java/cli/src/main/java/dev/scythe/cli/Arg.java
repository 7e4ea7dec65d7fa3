package dev.scythe.cli;

import dev.scythe.OsStrings;
import java.nio.charset.Charset;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * One command-line argument: its bytes as the kernel passed them, and its text for parsing options. The JVM decodes
 * {@code main}'s arguments with the locale's charset (ASCII when LANG is unset), which loses every byte it cannot
 * map; the bytes are read back from {@code /proc/self/cmdline}, so a command's arguments reach it byte for byte.
 */
record Arg(String text, byte[] bytes) {

    static Arg of(String text) {
        return new Arg(text, text.getBytes(StandardCharsets.UTF_8));
    }

    /**
     * The arguments of this JVM's {@code main}, with their raw bytes: the last {@code args.length} entries of
     * /proc/self/cmdline, used only if each decodes to its argument (otherwise, say with an argument file, the
     * strings are taken as UTF-8).
     */
    static List<Arg> ofMain(String[] args) {
        List<Arg> plain = Arrays.stream(args).map(Arg::of).toList();
        byte[] cmdline;
        try {
            cmdline = Files.readAllBytes(Path.of("/proc/self/cmdline"));
        } catch (java.io.IOException | RuntimeException e) {
            return plain;
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
            return plain;
        }
        Charset jnu;
        try {
            jnu = Charset.forName(System.getProperty("sun.jnu.encoding", "UTF-8"));
        } catch (RuntimeException e) {
            return plain;
        }
        List<byte[]> tail = all.subList(all.size() - args.length, all.size());
        List<Arg> out = new ArrayList<>(args.length);
        for (int i = 0; i < args.length; i++) {
            if (!new String(tail.get(i), jnu).equals(args[i])) {
                return plain;
            }
            out.add(new Arg(args[i], tail.get(i)));
        }
        return out;
    }

    /** For messages: the bytes as UTF-8 text. */
    String display() {
        return OsStrings.display(bytes);
    }

    @Override
    public String toString() {
        return display();
    }
}
