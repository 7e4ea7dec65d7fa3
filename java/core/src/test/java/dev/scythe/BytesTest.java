package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** What the library passes on and gives back is bytes: arguments, paths and captured output, unchanged. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class BytesTest extends SupervisedTest {
    static final byte[] NOT_UTF8 = {'A', (byte) 0xff, (byte) 0xfe, 'B'};

    @Test
    void argumentsGivenAsBytesReachTheJobByteForByte() throws Exception {
        Job job = supervisor.start(ProcessSpec.builderOfBytes(List.of("printf".getBytes(StandardCharsets.US_ASCII),
                "%s".getBytes(StandardCharsets.US_ASCII), NOT_UTF8)).build());
        assertInstanceOf(Outcome.Success.class, job.await());
        assertArrayEquals(NOT_UTF8, job.stdout().bytes());
        assertEquals("A\uFFFD\uFFFDB", job.spec().command().get(2), "command() is for display");
        assertArrayEquals(NOT_UTF8, job.spec().commandBytes().get(2));
        assertThrows(IllegalArgumentException.class, () -> ProcessSpec.builderOfBytes(List.of(new byte[] {'a', 0})));
        assertThrows(IllegalArgumentException.class, () -> ProcessSpec.builderOfBytes(List.of(new byte[0])));
    }

    @Test
    void stringArgumentsAreUtf8WhateverTheLocale() throws Exception {
        Job job = supervisor.start(ProcessSpec.of("printf", "%s", "café ∀"));
        job.await();
        assertEquals("café ∀", new String(job.stdout().bytes(), StandardCharsets.UTF_8));
    }

    @Test
    void pathsKeepTheirBytes(@TempDir Path dir) throws Exception {
        byte[] name = {'c', 'a', 'f', (byte) 0xe9};
        byte[] full = (dir + "/").getBytes(StandardCharsets.UTF_8);
        full = Arrays.copyOf(full, full.length + name.length);
        System.arraycopy(name, 0, full, full.length - name.length, name.length);
        Path odd = Files.createDirectories(OsStrings.path(full));
        assertArrayEquals(full, OsStrings.bytes(odd), "bytes(path(b)) == b");
        Job job = supervisor.start(ProcessSpec.builder("sh", "-c", "pwd -P > out; ls").directory(odd).build());
        assertInstanceOf(Outcome.Success.class, job.await());
        byte[] pwd = Files.readAllBytes(odd.resolve("out"));
        assertArrayEquals(full, Arrays.copyOf(pwd, pwd.length - 1), "the job ran in the directory named by the bytes");
        Path file = odd.resolve("redirected");
        Job redirected = supervisor.start(ProcessSpec.builder("echo", "x").stdout(Redirect.file(file)).build());
        redirected.await();
        assertEquals("x\n", Files.readString(file));
    }

    @Test
    void aCharacterAcrossTheHeadTailBoundaryComesBackWhole() throws Exception {
        // Regression: "é" split between the 64 KiB head and the tail came back as two U+FFFD.
        int head = 64 * 1024;
        String script = "head -c " + (head - 1) + " /dev/zero | tr '\\0' a; printf '\\303\\251tail'";
        Job job = supervisor.start(ProcessSpec.of("sh", "-c", script));
        job.await();
        Output out = job.stdout();
        assertTrue(out.complete(), "nothing was dropped");
        assertEquals(head - 1 + "é".length() + "tail".length(), out.text().length());
        assertTrue(out.text().endsWith("étail"), out.text().substring(out.text().length() - 10));
        assertFalse(out.text().contains("\uFFFD"));
    }

    @Test
    void posixSuccessCriterionMatchesLinesOfBytes() {
        SuccessCriterion unsat = SuccessCriterion.stdoutMatchesPosix("^unsat$");
        Usage u = Usage.NONE;
        assertTrue(unsat.test(finished(new Outcome.Success(u), "sat?\nunsat\n")));
        assertFalse(unsat.test(finished(new Outcome.Success(u), "unsatisfiable\n")));
        assertFalse(unsat.test(finished(new Outcome.Crashed(9, false, u), "unsat\n")), "only a job that exited");
        assertTrue(SuccessCriterion.stdoutMatchesPosix("^[[:digit:]]+ proofs$").test(finished(new Outcome.Failure(1, u),
                "\u0000binary\n12 proofs\n")), "POSIX classes; a NUL byte before the match does not end the text");
        assertThrows(IllegalArgumentException.class, () -> SuccessCriterion.stdoutMatchesPosix("("));
    }

    private static SuccessCriterion.Finished finished(Outcome o, String stdout) {
        return new SuccessCriterion.Finished(o, new Output(stdout.getBytes(StandardCharsets.UTF_8), new byte[0],
                stdout.length(), 0), Output.EMPTY);
    }

    @Test
    void differentCaptureSizesForTheTwoStreamsAreRefusedNotMerged() {
        // Regression: per-stream capture sizes were silently merged into one (the larger).
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> ProcessSpec.builder("true")
                .stdout(Redirect.capture(1024, 1024)).stderr(Redirect.capture(64, 64)).build());
        assertTrue(e.getMessage().contains("same head and tail sizes"), e.getMessage());
        ProcessSpec.builder("true").stdout(Redirect.capture(1024, 1024)).stderr(Redirect.discard()).build();
    }
}
