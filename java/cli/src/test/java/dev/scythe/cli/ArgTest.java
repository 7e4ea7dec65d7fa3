package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.charset.StandardCharsets;
import java.util.HexFormat;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** An argument's text maps back to exactly its bytes, whatever they are: picocli parses text, jobs get bytes. */
@Timeout(value = 30, unit = TimeUnit.SECONDS)
class ArgTest {
    @Test
    void utf8IsItsOwnTextAndEveryOtherByteIsKept() {
        assertEquals("café ∀x 🙂", Arg.decode("café ∀x 🙂".getBytes(StandardCharsets.UTF_8)));
        byte[] latin1 = {'c', 'a', 'f', (byte) 0xe9};
        assertEquals("caf\udce9", Arg.decode(latin1));
        assertArrayEquals(latin1, Arg.bytes(Arg.decode(latin1)));
        assertEquals("caf\ufffd", Arg.display(Arg.decode(latin1)), "messages show U+FFFD");
        // A surrogate encoded in UTF-8 (CESU) is not UTF-8: its three bytes are kept one by one.
        byte[] cesu = HexFormat.of().parseHex("eda080");
        assertArrayEquals(cesu, Arg.bytes(Arg.decode(cesu)));
    }

    @Test
    void randomBytesRoundTrip() {
        // Regression guard for the CLI's byte path: any argv entry survives decode then bytes unchanged.
        Random random = new Random(15);
        byte[] pieces = "aé∀🙂".getBytes(StandardCharsets.UTF_8);
        for (int n = 0; n < 20_000; n++) {
            byte[] b = new byte[random.nextInt(12)];
            for (int i = 0; i < b.length; i++) {
                b[i] = random.nextBoolean() ? pieces[random.nextInt(pieces.length)] : (byte) (1 + random.nextInt(255));
            }
            assertArrayEquals(b, Arg.bytes(Arg.decode(b)), () -> HexFormat.of().formatHex(b));
        }
    }
}
