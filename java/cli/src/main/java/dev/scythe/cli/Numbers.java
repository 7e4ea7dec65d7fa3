package dev.scythe.cli;

import java.math.BigInteger;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** Whole numbers and sizes on the command line, each checked against its range, with messages naming the option. */
final class Numbers {
    private static final Pattern WHOLE = Pattern.compile("\\d+");
    private static final Pattern SIZE = Pattern.compile("(\\d+)([kKmMgGtT]?)(i?[bB])?");

    private Numbers() {}

    /** A whole number in {@code [min, max]}. */
    static long whole(String option, String text, long min, long max) {
        if (!WHOLE.matcher(text).matches()) {
            throw new UsageException(option + ": '" + text + "' is not a whole number; accepted: " + min + " to "
                    + max);
        }
        BigInteger n = new BigInteger(text);
        if (n.compareTo(BigInteger.valueOf(min)) < 0 || n.compareTo(BigInteger.valueOf(max)) > 0) {
            throw new UsageException(option + ": " + text + " is out of range; accepted: " + min + " to " + max);
        }
        return n.longValueExact();
    }

    static int wholeInt(String option, String text, int min, int max) {
        return (int) whole(option, text, min, max);
    }

    /**
     * A size in bytes: a whole number with an optional binary unit k, M, G or T (512M, 2G; a trailing B or iB is
     * allowed), in {@code [1, 2^63-1]} bytes; 0 means no limit (returned as 0).
     */
    static long size(String option, String text) {
        Matcher m = SIZE.matcher(text);
        if (!m.matches()) {
            throw new UsageException(option + ": invalid size '" + text + "': use bytes or a whole number with k, M, G "
                    + "or T (binary units), for example 512M; 0 for no limit");
        }
        int shift = switch (m.group(2).toLowerCase(Locale.ROOT)) {
            case "k" -> 10;
            case "m" -> 20;
            case "g" -> 30;
            case "t" -> 40;
            default -> 0;
        };
        BigInteger bytes = new BigInteger(m.group(1)).shiftLeft(shift);
        if (bytes.bitLength() > 63) {
            throw new UsageException(option + ": " + text + " is out of range; accepted: 0 (no limit) or 1 byte to "
                    + "8388607T (2^63-1 bytes)");
        }
        return bytes.longValueExact();
    }

    /** Bytes for messages: 512 MiB, 3 KiB, 100 bytes. */
    static String bytes(long n) {
        String[] units = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
        int u = 0;
        long v = n;
        while (u < units.length - 1 && v >= 1024 && v % 1024 == 0) {
            v /= 1024;
            u++;
        }
        return v + " " + units[u];
    }
}
