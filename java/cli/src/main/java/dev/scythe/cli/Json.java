package dev.scythe.cli;

import java.math.BigDecimal;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The JSON the CLI prints: objects are insertion-ordered maps, values are strings, numbers, booleans, null, lists
 * and maps. Text is written as is (the CLI's stdout is UTF-8 whatever the locale); only quotes, backslashes and
 * control characters are escaped. The schema of each command is in docs/cli.md.
 */
final class Json {
    private Json() {}

    /** A new, ordered JSON object. */
    static Map<String, Object> object() {
        return new LinkedHashMap<>();
    }

    static String write(Object value) {
        StringBuilder b = new StringBuilder();
        write(b, value);
        return b.toString();
    }

    private static void write(StringBuilder b, Object v) {
        switch (v) {
            case null -> b.append("null");
            case String s -> quote(b, s);
            case Boolean x -> b.append(x);
            case Integer x -> b.append(x);
            case Long x -> b.append(x);
            case BigDecimal x -> b.append(x.toPlainString());
            case Map<?, ?> m -> {
                b.append('{');
                Iterator<? extends Map.Entry<?, ?>> it = m.entrySet().iterator();
                while (it.hasNext()) {
                    Map.Entry<?, ?> e = it.next();
                    quote(b, (String) e.getKey());
                    b.append(':');
                    write(b, e.getValue());
                    if (it.hasNext()) {
                        b.append(',');
                    }
                }
                b.append('}');
            }
            case List<?> l -> {
                b.append('[');
                for (int i = 0; i < l.size(); i++) {
                    if (i > 0) {
                        b.append(',');
                    }
                    write(b, l.get(i));
                }
                b.append(']');
            }
            default -> throw new IllegalArgumentException("no JSON form for " + v.getClass());
        }
    }

    private static void quote(StringBuilder b, String s) {
        b.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20 || c == 0x7f || Character.isSurrogate(c) && !validSurrogate(s, i)) {
                        b.append(String.format("\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        b.append('"');
    }

    /** A surrogate that is half of a pair; a lone one cannot be written as UTF-8 and is escaped instead. */
    private static boolean validSurrogate(String s, int i) {
        char c = s.charAt(i);
        return Character.isHighSurrogate(c) ? i + 1 < s.length() && Character.isLowSurrogate(s.charAt(i + 1))
                : i > 0 && Character.isHighSurrogate(s.charAt(i - 1));
    }
}
