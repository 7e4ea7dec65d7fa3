package dev.scythe.pool;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict JSON (RFC 8259) parser and writer, so the core module needs no JSON library.
 *
 * <p>Values: an object is a {@code Map<String, Object>} (a {@link LinkedHashMap}, in document order), an array a
 * {@code List<Object>}, a string a {@code String}, {@code true}/{@code false} a {@code Boolean}, and {@code null} is
 * Java {@code null} (use {@code Map.containsKey} to tell a null member from an absent one). A number without fraction
 * or exponent is a {@code Long}, or a {@code BigInteger} if it does not fit; any other number is a {@code Double}, or
 * a {@code BigDecimal} if it is beyond a double's range.
 *
 * <p>The parser accepts exactly RFC 8259: no comments, no trailing commas, no leading zeros, no control characters
 * in strings, no byte order mark, nothing but whitespace after the value, and it rejects an object with a repeated
 * member name (RFC 8259 leaves their meaning open, so a strict reader refuses to guess). Nesting is limited to
 * {@value #MAX_DEPTH} levels. The writer emits compact JSON, non-ASCII characters as themselves (UTF-8 once encoded)
 * and only unpaired surrogates as six-character escapes (backslash, u, four hex digits).
 */
public final class Json {

    /** The deepest nesting of arrays and objects the parser and the writer accept. */
    public static final int MAX_DEPTH = 512;

    /**
     * Text that is not JSON. {@link #offset()} is where the parser gave up, in chars of the text (for malformed UTF-8,
     * in bytes).
     */
    public static final class ParseException extends IllegalArgumentException {
        private final long offset;

        ParseException(long offset, String message) {
            super("invalid JSON at offset " + offset + ": " + message);
            this.offset = offset;
        }

        public long offset() {
            return offset;
        }
    }

    private Json() {}

    /** Parses one JSON value, the whole of {@code text}. */
    public static Object parse(String text) {
        return new Parser(text).document();
    }

    /** Parses one JSON value, the whole of {@code len} bytes of UTF-8 (malformed UTF-8 is an error too). */
    public static Object parse(byte[] utf8, int off, int len) {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(utf8, off, len);
        CharBuffer out = CharBuffer.allocate(len);
        CoderResult r = decoder.decode(in, out, true);
        if (!r.isError()) {
            r = decoder.flush(out);
        }
        if (r.isError()) {
            throw new ParseException(in.position() - off, "malformed UTF-8");
        }
        return parse(out.flip().toString());
    }

    /** {@link #parse(byte[], int, int)} of the whole array. */
    public static Object parse(byte[] utf8) {
        return parse(utf8, 0, utf8.length);
    }

    /**
     * Compact JSON for {@code value}: a Map with String keys, a Collection, an Object[], a CharSequence, a Boolean,
     * null, or a Long, Integer, Short, Byte, BigInteger, BigDecimal, or finite Double or Float.
     *
     * @throws IllegalArgumentException for NaN, an infinity, a non-String key, nesting deeper than {@value #MAX_DEPTH}
     *     or any other type (the message names it)
     */
    public static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(value, out, 0);
        return out.toString();
    }

    /** {@link #write(Object)} encoded as UTF-8. */
    public static byte[] writeBytes(Object value) {
        return write(value).getBytes(StandardCharsets.UTF_8);
    }

    private static void write(Object v, StringBuilder out, int depth) {
        switch (v) {
            case null -> out.append("null");
            case CharSequence s -> writeString(s, out);
            case Boolean b -> out.append(b.booleanValue());
            case Long n -> out.append(n.longValue());
            case Integer n -> out.append(n.intValue());
            case Short n -> out.append(n.shortValue());
            case Byte n -> out.append(n.byteValue());
            case BigInteger n -> out.append(n);
            case BigDecimal n -> out.append(n);
            case Double d -> writeDouble(d, out);
            case Float f -> writeDouble(Double.parseDouble(f.toString()), out); // 0.1f as "0.1", not 0.10000000149...
            case Map<?, ?> m -> {
                checkDepth(depth);
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!(e.getKey() instanceof String key)) {
                        throw new IllegalArgumentException("a JSON object key must be a String, got "
                                + typeName(e.getKey()));
                    }
                    if (!first) {
                        out.append(',');
                    }
                    first = false;
                    writeString(key, out);
                    out.append(':');
                    write(e.getValue(), out, depth + 1);
                }
                out.append('}');
            }
            case Collection<?> c -> writeArray(c, out, depth);
            case Object[] a -> writeArray(Arrays.asList(a), out, depth);
            default -> throw new IllegalArgumentException("cannot write a " + typeName(v) + " as JSON");
        }
    }

    private static void writeArray(Collection<?> c, StringBuilder out, int depth) {
        checkDepth(depth);
        out.append('[');
        boolean first = true;
        for (Object e : c) {
            if (!first) {
                out.append(',');
            }
            first = false;
            write(e, out, depth + 1);
        }
        out.append(']');
    }

    private static void checkDepth(int depth) {
        if (depth >= MAX_DEPTH) {
            throw new IllegalArgumentException("JSON nesting deeper than " + MAX_DEPTH);
        }
    }

    private static String typeName(Object v) {
        return v == null ? "null" : v.getClass().getName();
    }

    private static void writeDouble(double d, StringBuilder out) {
        if (!Double.isFinite(d)) {
            throw new IllegalArgumentException("JSON has no " + d + " (java.lang.Double)");
        }
        out.append(d); // Double.toString: "3.0", "-0.0", "1.0E-5" are all JSON numbers
    }

    private static void writeString(CharSequence s, StringBuilder out) {
        out.append('"');
        for (int i = 0, n = s.length(); i < n; i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20 || c == 0x7f) {
                        unicodeEscape(c, out);
                    } else if (Character.isHighSurrogate(c) && i + 1 < n && Character.isLowSurrogate(s.charAt(i + 1))) {
                        out.append(c).append(s.charAt(++i));
                    } else if (Character.isSurrogate(c)) {
                        unicodeEscape(c, out); // unpaired: UTF-8 cannot carry it, the escape can
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    private static void unicodeEscape(char c, StringBuilder out) {
        out.append("\\u");
        String hex = Integer.toHexString(c);
        out.append("0".repeat(4 - hex.length())).append(hex);
    }

    private static final class Parser {
        private final String s;
        private int i;
        private int depth;

        Parser(String s) {
            this.s = s;
        }

        Object document() {
            skipWhitespace();
            Object v = value();
            skipWhitespace();
            if (i < s.length()) {
                throw error("expected the end of the text after the value");
            }
            return v;
        }

        private Object value() {
            if (i >= s.length()) {
                throw error("expected a value");
            }
            char c = s.charAt(i);
            return switch (c) {
                case '{' -> object();
                case '[' -> array();
                case '"' -> string();
                case 't' -> literal("true", Boolean.TRUE);
                case 'f' -> literal("false", Boolean.FALSE);
                case 'n' -> literal("null", null);
                default -> {
                    if (c == '-' || (c >= '0' && c <= '9')) {
                        yield number();
                    }
                    throw error("expected a value");
                }
            };
        }

        private Object literal(String word, Object v) {
            if (!s.startsWith(word, i)) {
                throw error("expected a value");
            }
            i += word.length();
            return v;
        }

        private Map<String, Object> object() {
            enter();
            i++;
            Map<String, Object> m = new LinkedHashMap<>();
            skipWhitespace();
            if (peek() == '}') {
                i++;
                depth--;
                return m;
            }
            while (true) {
                skipWhitespace();
                if (peek() != '"') {
                    throw error("expected '\"' starting a member name");
                }
                int at = i;
                String key = string();
                skipWhitespace();
                expect(':', "expected ':' after a member name");
                skipWhitespace();
                Object v = value();
                if (m.containsKey(key)) {
                    i = at;
                    throw error("member name \"" + key + "\" repeated");
                }
                m.put(key, v);
                skipWhitespace();
                char c = peek();
                i++;
                if (c == '}') {
                    depth--;
                    return m;
                }
                if (c != ',') {
                    i--;
                    throw error("expected ',' or '}' in an object");
                }
            }
        }

        private List<Object> array() {
            enter();
            i++;
            List<Object> a = new ArrayList<>();
            skipWhitespace();
            if (peek() == ']') {
                i++;
                depth--;
                return a;
            }
            while (true) {
                skipWhitespace();
                a.add(value());
                skipWhitespace();
                char c = peek();
                i++;
                if (c == ']') {
                    depth--;
                    return a;
                }
                if (c != ',') {
                    i--;
                    throw error("expected ',' or ']' in an array");
                }
            }
        }

        private void enter() {
            if (++depth > MAX_DEPTH) {
                throw error("nesting deeper than " + MAX_DEPTH);
            }
        }

        private String string() {
            i++; // the opening quote
            StringBuilder b = null;
            int start = i;
            while (true) {
                if (i >= s.length()) {
                    throw error("expected '\"' closing a string");
                }
                char c = s.charAt(i);
                if (c == '"') {
                    String r = b == null ? s.substring(start, i) : b.append(s, start, i).toString();
                    i++;
                    return r;
                }
                if (c < 0x20) {
                    throw error("expected an escape (\\u" + String.format("%04x", (int) c)
                            + ") for a control character in a string");
                }
                if (c != '\\') {
                    i++;
                    continue;
                }
                if (b == null) {
                    b = new StringBuilder();
                }
                b.append(s, start, i);
                i++;
                char e = i < s.length() ? s.charAt(i) : 0;
                switch (e) {
                    case '"' -> b.append('"');
                    case '\\' -> b.append('\\');
                    case '/' -> b.append('/');
                    case 'b' -> b.append('\b');
                    case 'f' -> b.append('\f');
                    case 'n' -> b.append('\n');
                    case 'r' -> b.append('\r');
                    case 't' -> b.append('\t');
                    case 'u' -> {
                        int cp = 0;
                        for (int k = 1; k <= 4; k++) {
                            int d = i + k < s.length() ? Character.digit(s.charAt(i + k), 16) : -1;
                            if (d < 0) {
                                i += k;
                                throw error("expected 4 hex digits after \\u");
                            }
                            cp = cp * 16 + d;
                        }
                        b.append((char) cp);
                        i += 4;
                    }
                    default -> throw error("expected one of \"\\/bfnrtu after '\\' in a string");
                }
                i++;
                start = i;
            }
        }

        private Object number() {
            int start = i;
            if (peek() == '-') {
                i++;
            }
            if (peek() == '0') {
                i++;
            } else if (isDigit(peek())) {
                while (isDigit(peek())) {
                    i++;
                }
            } else {
                throw error("expected a digit");
            }
            boolean integral = true;
            if (peek() == '.') {
                integral = false;
                i++;
                if (!isDigit(peek())) {
                    throw error("expected a digit after '.'");
                }
                while (isDigit(peek())) {
                    i++;
                }
            }
            if (peek() == 'e' || peek() == 'E') {
                integral = false;
                i++;
                if (peek() == '+' || peek() == '-') {
                    i++;
                }
                if (!isDigit(peek())) {
                    throw error("expected a digit in the exponent");
                }
                while (isDigit(peek())) {
                    i++;
                }
            }
            String text = s.substring(start, i);
            if (integral) {
                if (text.length() <= 18) {
                    return Long.parseLong(text);
                }
                BigInteger big = new BigInteger(text);
                return big.bitLength() < 64 ? (Object) big.longValue() : big;
            }
            double d = Double.parseDouble(text);
            if (Double.isInfinite(d)) {
                return new BigDecimal(text);
            }
            return d;
        }

        private static boolean isDigit(char c) {
            return c >= '0' && c <= '9';
        }

        private char peek() {
            return i < s.length() ? s.charAt(i) : 0;
        }

        private void expect(char c, String what) {
            if (peek() != c) {
                throw error(what);
            }
            i++;
        }

        private void skipWhitespace() {
            while (i < s.length()) {
                char c = s.charAt(i);
                if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
                    return;
                }
                i++;
            }
        }

        private ParseException error(String expected) {
            String found;
            if (i >= s.length()) {
                found = "the end of the text";
            } else {
                found = "'" + escape(s.substring(i, Math.min(s.length(), i + 12))) + "'";
            }
            return new ParseException(i, expected + ", found " + found);
        }
    }

    /** {@code s} with control characters, quotes and backslashes escaped, for error messages. */
    static String escape(CharSequence s) {
        StringBuilder b = new StringBuilder();
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            switch (c) {
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                case '\\' -> b.append("\\\\");
                default -> {
                    if (c < 0x20 || c == 0x7f || Character.isSurrogate(c)) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.toString();
    }
}
