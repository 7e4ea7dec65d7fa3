package dev.scythe.pool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.math.BigDecimal;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 10, unit = TimeUnit.SECONDS)
class JsonTest {

    @Test
    void roundTripsEveryKindOfValue() {
        String text = "{\"s\":\"a\\\"b\\\\c\\n\\t\\u0001\",\"n\":null,\"t\":true,\"f\":false,\"i\":-42,"
                + "\"d\":1.5,\"e\":1.0E-5,\"a\":[1,[],{}],\"o\":{\"z\":0,\"y\":1}}";
        Object v = Json.parse(text);
        assertEquals(text, Json.write(v));
        Map<?, ?> m = (Map<?, ?>) v;
        assertEquals(List.of("s", "n", "t", "f", "i", "d", "e", "a", "o"), new ArrayList<>(m.keySet()),
                "members in document order");
        assertTrue(m.containsKey("n"));
        assertNull(m.get("n"), "JSON null is Java null");
        assertEquals(-42L, m.get("i"));
        assertEquals(1.5, m.get("d"));
        assertEquals("a\"b\\c\n\t\u0001", m.get("s"));
        assertEquals(List.of("z", "y"), new ArrayList<>(((Map<?, ?>) m.get("o")).keySet()));
    }

    @Test
    void numbersKeepTheirKind() {
        assertEquals(0L, Json.parse("0"));
        assertEquals(-0.0, Json.parse("-0.0"));
        assertEquals(Long.MAX_VALUE, Json.parse("9223372036854775807"));
        assertEquals(Long.MIN_VALUE, Json.parse("-9223372036854775808"));
        assertEquals(new BigInteger("9223372036854775808"), Json.parse("9223372036854775808"));
        assertEquals(1e300, Json.parse("1e300"));
        assertEquals(100.0, Json.parse("1E+2"));
        assertEquals(new BigDecimal("1e400"), Json.parse("1e400"), "beyond a double: BigDecimal, not Infinity");
        assertEquals("[1,2,3,4,5.0,0.25,12345678901234567890,1.5E+400]", Json.write(List.of(1, (short) 2, (byte) 3,
                4L, 5.0, 0.25f, new BigInteger("12345678901234567890"), new BigDecimal("1.5e400"))));
        for (double d : new double[] {0.1, -0.0, 1e-300, 123456789.125, Double.MIN_VALUE, Double.MAX_VALUE}) {
            assertEquals(d, Json.parse(Json.write(d)), "double round trip of " + d);
        }
    }

    @Test
    void unicodeIsWrittenAsItselfAndLoneSurrogatesEscaped() {
        String s = "é\u00a0€𝄞\u2028";
        String written = Json.write(s);
        assertEquals("\"" + s + "\"", written, "non-ASCII as itself");
        assertArrayEquals(("\"" + s + "\"").getBytes(StandardCharsets.UTF_8), Json.writeBytes(s));
        assertEquals(s, Json.parse(Json.writeBytes(s)));
        assertEquals("\"a\\ud800b\\udc00\"", Json.write("a\ud800b\udc00"));
        assertEquals("a\ud800b\udc00", Json.parse("\"a\\ud800b\\udc00\""), "escaped lone surrogates round trip");
        assertEquals("𝄞", Json.parse("\"\\ud834\\udd1e\""), "an escaped pair joins");
        assertEquals("\"\\u001f\\u007f\"", Json.write("\u001f\u007f"));
        assertEquals("/", Json.parse("\"\\/\""));
    }

    @Test
    void writerRefusesWhatJsonCannotSay() {
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Json.write(Double.NaN)).getMessage()
                .contains("NaN"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Json.write(List.of(Float.POSITIVE_INFINITY)))
                .getMessage().contains("Infinity"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of("k", new Object())))
                .getMessage().contains("java.lang.Object"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Json.write(Map.of(1, 2))).getMessage()
                .contains("java.lang.Integer"));
        assertEquals("[\"x\",null]", Json.write(new Object[] {"x", null}));
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("k", null);
        assertEquals("{\"k\":null}", Json.write(m));
    }

    @Test
    void parseErrorsSayWhereAndWhatWasExpected() {
        assertError("", 0, "expected a value");
        assertError("{\"a\":1,}", 7, "expected '\"' starting a member name");
        assertError("[1,]", 3, "expected a value");
        assertError("[1 2]", 3, "expected ',' or ']'");
        assertError("{\"a\" 1}", 5, "expected ':'");
        assertError("{\"a\":1 \"b\":2}", 7, "expected ',' or '}'");
        assertError("01", 1, "expected the end of the text");
        assertError("1.", 2, "expected a digit after '.'");
        assertError("1e", 2, "expected a digit in the exponent");
        assertError("-", 1, "expected a digit");
        assertError("+1", 0, "expected a value");
        assertError(".5", 0, "expected a value");
        assertError("tru", 0, "expected a value");
        assertError("nul", 0, "expected a value");
        assertError("NaN", 0, "expected a value");
        assertError("\"abc", 4, "expected '\"' closing a string");
        assertError("\"a\nb\"", 2, "control character");
        assertError("\"\\x\"", 2, "after '\\'");
        assertError("\"\\u12g4\"", 5, "4 hex digits");
        assertError("{\"a\":1,\"a\":2}", 7, "\"a\" repeated");
        assertError("\ufeff{}", 0, "expected a value");
        assertError("[1] x", 4, "expected the end of the text");
        assertError("// c\n1", 0, "expected a value");
        var e = assertThrows(Json.ParseException.class, () -> Json.parse(new byte[] {'"', (byte) 0xc3, '"'}));
        assertEquals(1, e.offset());
        assertTrue(e.getMessage().contains("malformed UTF-8"), e.getMessage());
    }

    private static void assertError(String text, int offset, String expected) {
        var e = assertThrows(Json.ParseException.class, () -> Json.parse(text), text);
        assertTrue(e.getMessage().contains(expected), text + ": " + e.getMessage());
        assertEquals(offset, e.offset(), text + ": " + e.getMessage());
    }

    @Test
    void nestingIsLimitedBothWays() {
        String ok = "[".repeat(Json.MAX_DEPTH) + "]".repeat(Json.MAX_DEPTH);
        assertEquals(ok, Json.write(Json.parse(ok)));
        String deep = "[".repeat(Json.MAX_DEPTH + 1) + "]".repeat(Json.MAX_DEPTH + 1);
        assertTrue(assertThrows(Json.ParseException.class, () -> Json.parse(deep)).getMessage().contains("nesting"));
        String veryDeep = "{\"a\":".repeat(100_000);
        assertInstanceOf(Json.ParseException.class, assertThrows(Json.ParseException.class,
                () -> Json.parse(veryDeep)), "no StackOverflowError");
        Object nested = List.of();
        for (int k = 0; k < Json.MAX_DEPTH; k++) {
            nested = List.of(nested);
        }
        Object tooDeep = nested;
        assertTrue(assertThrows(IllegalArgumentException.class, () -> Json.write(tooDeep)).getMessage()
                .contains("nesting"));
    }

    @Test
    void whitespaceIsTheFourOfRfc8259() {
        assertEquals(List.of(1L), Json.parse(" \t\r\n[ 1 ]\n"));
        assertThrows(Json.ParseException.class, () -> Json.parse("\u00a0[1]"));
    }
}
