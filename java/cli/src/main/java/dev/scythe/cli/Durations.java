package dev.scythe.cli;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Durations as coreutils {@code timeout} reads them, plus the finer units Scythe adds. Leading blanks and a sign
 * are allowed; the number is decimal ({@code 10}, {@code .1}, {@code 10.34}, {@code 2.34e+5}), hexadecimal
 * ({@code 0x10}, {@code 0x1.8p1}) or {@code inf}; the unit is {@code s} (the default), {@code m}, {@code h} or
 * {@code d} as in coreutils, or {@code ms}, {@code us}, {@code ns}. Units are lowercase. A value too large to
 * represent means "never", as in coreutils; a tiny positive one is rounded up to 1 ns, never down to 0; a negative
 * one (other than -0) is an error. The decimal point is always '.', whatever the locale.
 *
 * <p>Every duration option reads its value through one of the picocli converters below, which differ only in what
 * they accept beyond the grammar: a limit (0 and inf: none), a positive window, or a finite delay.
 */
public final class Durations {
    /** The text of a valid duration, for help texts. */
    static final String GRAMMAR = "a number (10, .1, 2.5, 1e3, 0x10) with an optional unit s, m, h, d, ms, us or "
            + "ns (bare numbers are seconds, as in coreutils timeout), or inf";
    private static final String DEC = "(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?";
    private static final String HEX = "0[xX](?:[0-9a-fA-F]+\\.?[0-9a-fA-F]*|\\.[0-9a-fA-F]+)(?:[pP][+-]?\\d+)?";
    private static final Pattern FORM = Pattern.compile(
            "\\s*([+-]?)(" + HEX + "|" + DEC + "|(?i:inf|infinity))(ns|us|ms|s|m|h|d)?");
    private static final BigDecimal MAX_NANOS = BigDecimal.valueOf(Long.MAX_VALUE);

    private Durations() {}

    /**
     * Parses a duration; {@code null} for one that never ends ({@code inf}, or beyond 2^63-1 ns, 292 years).
     *
     * @throws UsageException naming {@code option} and the accepted forms
     */
    static Duration parse(String option, String text) {
        return named(option, () -> read(text));
    }

    /** A limit: 0 and inf mean none (null), as {@code timeout 0} in coreutils. */
    static Duration limit(String option, String text) {
        return named(option, () -> new Limit().convert(text));
    }

    private static Duration named(String option, java.util.function.Supplier<Duration> read) {
        try {
            return read.get();
        } catch (TypeConversionException e) {
            throw new UsageException(option + ": " + e.getMessage());
        }
    }

    /** The grammar itself; the message of a refusal does not name the option (picocli's error handler does). */
    static Duration read(String text) {
        Matcher m = FORM.matcher(text);
        if (!m.matches()) {
            throw new TypeConversionException("invalid duration '" + text + "': use " + GRAMMAR);
        }
        boolean negative = m.group(1).equals("-");
        String number = m.group(2).toLowerCase(Locale.ROOT);
        String unit = m.group(3) == null ? "s" : m.group(3);
        BigDecimal value;
        if (number.startsWith("inf")) {
            value = null;
        } else if (number.startsWith("0x")) {
            double d = Double.parseDouble(number.contains("p") ? number : number + "p0");
            value = Double.isInfinite(d) ? null : new BigDecimal(d);
        } else {
            try {
                value = new BigDecimal(number);
            } catch (NumberFormatException e) { // an exponent beyond int range: overflow or underflow
                value = number.matches(".*e-.*") ? BigDecimal.ZERO.add(new BigDecimal("1e-30"))
                        : null;
            }
        }
        if (negative && (value == null || value.signum() != 0)) {
            throw new TypeConversionException("invalid duration '" + text + "': must not be negative");
        }
        if (value == null || value.compareTo(MAX_NANOS) > 0) {
            return null;
        }
        long nanosPerUnit = switch (unit) {
            case "ns" -> 1L;
            case "us" -> 1_000L;
            case "ms" -> 1_000_000L;
            case "s" -> 1_000_000_000L;
            case "m" -> 60_000_000_000L;
            case "h" -> 3_600_000_000_000L;
            default -> 86_400_000_000_000L;
        };
        BigDecimal nanos = value.multiply(BigDecimal.valueOf(nanosPerUnit)).setScale(0, RoundingMode.CEILING);
        return nanos.compareTo(MAX_NANOS) > 0 ? null : Duration.ofNanos(nanos.longValueExact());
    }

    /** The duration type of limits ({@code --timeout}, {@code --cpu-limit}): 0 and inf mean none (null). */
    static final class Limit implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String text) {
            Duration d = read(text);
            return d == null || d.isZero() ? null : d;
        }
    }

    /** The duration type of windows ({@code --stall}, {@code --per-depth-timeout}): positive and finite. */
    static final class Positive implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String text) {
            Duration d = read(text);
            if (d == null || d.isZero()) {
                throw new TypeConversionException("must be positive and at most 292 years (2^63-1 ns), got '" + text
                        + "'");
            }
            return d;
        }
    }

    /** The duration type of delays ({@code --grace}): 0 to 292 years. */
    static final class Finite implements ITypeConverter<Duration> {
        @Override
        public Duration convert(String text) {
            Duration d = read(text);
            if (d == null) {
                throw new TypeConversionException("must be at most 292 years (2^63-1 ns), got '" + text + "'");
            }
            return d;
        }
    }

    /** Milliseconds with three decimals, for reports. */
    public static String millis(Duration d) {
        return String.format(Locale.ROOT, "%.3f", d.toNanos() / 1e6);
    }

    /** Milliseconds as a JSON number. */
    static BigDecimal millisNumber(Duration d) {
        return BigDecimal.valueOf(d.toNanos(), 6).setScale(3, RoundingMode.HALF_EVEN);
    }
}
