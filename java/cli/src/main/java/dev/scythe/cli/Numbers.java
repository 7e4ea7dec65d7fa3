package dev.scythe.cli;

import java.math.BigInteger;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Whole numbers and sizes on the command line, each checked against its range. A refusal gives the accepted range;
 * picocli's error handler (Main) puts the option's name before it.
 */
final class Numbers {
    /** The kernel's largest pid_max (PID_MAX_LIMIT): no job can hold more processes. */
    static final long MAX_PROCESSES = 4_194_304;
    private static final Pattern WHOLE = Pattern.compile("\\d+");
    private static final Pattern SIZE = Pattern.compile("(\\d+)([kKmMgGtT]?)(i?[bB])?");

    private Numbers() {}

    /** A whole number in {@code [min, max]}. */
    static long whole(String text, long min, long max) {
        if (!WHOLE.matcher(text).matches()) {
            throw new TypeConversionException("'" + text + "' is not a whole number; accepted: " + min + " to " + max);
        }
        BigInteger n = new BigInteger(text);
        if (n.compareTo(BigInteger.valueOf(min)) < 0 || n.compareTo(BigInteger.valueOf(max)) > 0) {
            throw new TypeConversionException(text + " is out of range; accepted: " + min + " to " + max);
        }
        return n.longValueExact();
    }

    /** The type of a whole-number option: its range is its subclass's. */
    abstract static class Whole implements ITypeConverter<Long> {
        private final long min, max;

        Whole(long min, long max) {
            this.min = min;
            this.max = max;
        }

        @Override
        public Long convert(String text) {
            return whole(text, min, max);
        }
    }

    /** {@code --process-limit}: 0 (none) to the kernel's largest pid_max. */
    static final class Processes extends Whole {
        Processes() {
            super(0, MAX_PROCESSES);
        }
    }

    /** {@code --jobs}. */
    static final class Jobs extends Whole {
        Jobs() {
            super(1, 1_000_000);
        }
    }

    /** {@code --max-depth}, {@code --min-depth}. */
    static final class Depth extends Whole {
        Depth() {
            super(1, Integer.MAX_VALUE);
        }
    }

    /** {@code --max-attempts}. */
    static final class Attempts extends Whole {
        Attempts() {
            super(1, 1000);
        }
    }

    /**
     * The type of sizes in bytes: a whole number with an optional binary unit k, M, G or T (512M, 2G; a trailing B
     * or iB is allowed), in {@code [1, 2^63-1]} bytes; 0 means no limit (returned as 0).
     */
    static final class Size implements ITypeConverter<Long> {
        @Override
        public Long convert(String text) {
            Matcher m = SIZE.matcher(text);
            if (!m.matches()) {
                throw new TypeConversionException("invalid size '" + text + "': use bytes or a whole number with k, M, "
                        + "G or T (binary units), for example 512M; 0 for no limit");
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
                throw new TypeConversionException(text + " is out of range; accepted: 0 (no limit) or 1 byte to "
                        + "8388607T (2^63-1 bytes)");
            }
            return bytes.longValueExact();
        }
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
