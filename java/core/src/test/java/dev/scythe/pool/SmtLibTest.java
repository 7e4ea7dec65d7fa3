package dev.scythe.pool;

import static dev.scythe.pool.Recording.ascii;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.scythe.pool.Recording.Event;
import dev.scythe.pool.SmtLib.Answer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class SmtLibTest extends LeakChecked {
    private static final SmtLib P = SmtLib.protocol();

    private static String encode(long id, String script, boolean first) throws Exception {
        return new String(P.encodeRequest(id, script, first), StandardCharsets.UTF_8);
    }

    @Test
    void encodesResetScriptAndMarker() throws Exception {
        assertEquals("(check-sat)\n(echo \"scythe-done-1\")\n", encode(1, "(check-sat)", true));
        assertEquals("(reset)\n(check-sat)\n\n(echo \"scythe-done-2\")\n", encode(2, "(check-sat)\n", false));
        assertEquals("(exit)\n", new String(P.encodeExit(), StandardCharsets.US_ASCII));
        assertNull(P.encodeCancel(1));
        assertNull(P.encodeFeedback("x"));
        assertTrue(P.namesRequests());
        assertEquals("smtlib", P.name());
    }

    @Test
    void cutsTheScriptAtItsFirstTopLevelExitOnly() throws Exception {
        assertEquals("(check-sat)\n", cut("(check-sat)\n(exit)\n(check-sat)\n"));
        assertEquals("(check-sat) ", cut("(check-sat) ( exit\n )"));
        assertEquals("(echo \"(exit)\")\n", cut("(echo \"(exit)\")\n(exit)"), "inside a string literal");
        assertEquals("(echo \"a\"\"(exit)\")", cut("(echo \"a\"\"(exit)\")"), "\"\" escapes a quote");
        assertEquals("; (exit)\n(check-sat)", cut("; (exit)\n(check-sat)"), "inside a comment");
        assertEquals("(declare-const |(exit)| Int)", cut("(declare-const |(exit)| Int)"), "inside a quoted symbol");
        assertEquals("(push 1 (exit))", cut("(push 1 (exit))"), "not at the top level");
        assertEquals("(exiting)", cut("(exiting)"));
        assertEquals("", cut("(exit)"));
        assertThrows(Protocol.EncodeException.class, () -> P.encodeRequest(1, "(echo \"abc)", true));
        assertThrows(Protocol.EncodeException.class, () -> P.encodeRequest(1, "(check-sat", true));
        assertThrows(Protocol.EncodeException.class, () -> P.encodeRequest(1, "(check-sat))", true));
        assertThrows(Protocol.EncodeException.class, () -> P.encodeRequest(1, "(declare-const |x Int)", true));
    }

    private static String cut(String script) throws Exception {
        return script.substring(0, SmtLib.commandsBeforeExit(script));
    }

    @Test
    void decodesAnswersErrorsAndOutputSplitAnywhere() throws Exception {
        String out1 = "sat\n(\n  (define-fun x () Int\n    1)\n  (define-fun s () String \"sat\n\")\n)\nunsat\n";
        String out2 = "(error \"line 1: a \"\"quoted\"\"\nsecond line\")\nunknown\n";
        byte[] stream = ascii(out1 + "scythe-done-1\n" + out2 + "\"scythe-done-2\"\r\n" + "scythe-done-3\n");
        List<Event> events = Recording.feedEverySplit(P, stream);
        assertEquals(List.of(
                new Event("response", 1, new Answer(List.of("sat", "unsat"), List.of(), out1)),
                new Event("response", 2, new Answer(List.of("unknown"), List.of("line 1: a \"quoted\"\nsecond line"),
                        out2)),
                new Event("response", 3, new Answer(List.of(), List.of(), ""))), events);
    }

    @Test
    void aMarkerWithABadIdIsAProtocolException() {
        for (String bad : new String[] {"scythe-done-\n", "scythe-done-x\n", "scythe-done-0\n", "\"scythe-done--1\"\n"}) {
            var e = assertThrows(Protocol.ProtocolException.class, () -> Recording.feedWhole(P, ascii(bad)), bad);
            assertTrue(e.getMessage().contains("marker line whose id is not a positive integer"), e.getMessage());
        }
        assertEquals(List.of(), assertDoesNotThrowFeed("  scythe-done-1\nscythe-done-1 \n"),
                "a marker is a line of its own");
    }

    private static List<Event> assertDoesNotThrowFeed(String s) {
        try {
            return Recording.feedWhole(P, ascii(s));
        } catch (Protocol.ProtocolException e) {
            throw new AssertionError(e);
        }
    }

    // ---- against real solvers ----

    /** A solver process started by this test, with a decoder on its stdout; close() kills it and checks it is gone. */
    static final class Solver implements AutoCloseable {
        final Process process;
        final Protocol.Decoder<Answer> decoder = P.newDecoder();
        final Recording<Answer> sink = new Recording<>();
        final OutputStream in;
        final InputStream out;
        boolean first = true;

        Solver(List<String> command) throws IOException {
            process = new ProcessBuilder(command).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            in = process.getOutputStream();
            out = process.getInputStream();
        }

        /** Sends the script under {@code id} and reads until its answer (or end of output: null). */
        Answer run(long id, String script) throws Exception {
            in.write(P.encodeRequest(id, script, first));
            in.flush();
            first = false;
            int before = sink.events.size();
            byte[] buf = new byte[4096];
            while (sink.events.size() == before) {
                int n = out.read(buf);
                if (n < 0) {
                    return null;
                }
                decoder.feed(buf, 0, n, sink);
            }
            Event e = sink.events.get(before);
            assertEquals(id, e.id());
            assertEquals(before + 1, sink.events.size(), "one answer per script");
            return (Answer) e.value();
        }

        @Override
        public void close() throws java.io.IOException {
            ProcessHandle h = process.toHandle();
            process.destroyForcibly();
            try {
                process.waitFor();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while reaping the worker");
            }
            assertFalse(h.isAlive(), "the solver is gone");
            in.close();
            out.close();
        }
    }

    private static void assumeInstalled(String exe) {
        assumeTrue(ProtocolPoolTest.onPath(exe), exe + " is not installed");
    }

    private static final String SAT = "(set-logic QF_LIA)\n(declare-const x Int)\n(assert (> x 0))\n(check-sat)\n";
    private static final String UNSAT = "(set-logic QF_LIA)\n(declare-const x Int)\n(assert (> x 0))\n"
            + "(assert (< x 0))\n(check-sat)\n";

    @Test
    void z3Interactive() throws Exception {
        assumeInstalled("z3");
        try (Solver z3 = new Solver(List.of("z3", "-in"))) {
            assertEquals(List.of("sat"), z3.run(1, SAT).answers());
            assertEquals(List.of("unsat"), z3.run(2, UNSAT).answers());
            Answer error = z3.run(3, "(assert (> y 0))\n(check-sat)\n");
            assertEquals(1, error.errors().size(), error.toString());
            assertTrue(error.errors().get(0).contains("unknown constant y"), error.toString());
            assertEquals(List.of("sat"), error.answers(), "z3 goes on after an error: (check-sat) of no assertion");
            assertEquals(List.of("unsat"), z3.run(4, UNSAT + "(exit)\n(check-sat)\n").answers(),
                    "the solver survives a script's (exit)");
            Answer model = z3.run(5, "(set-option :produce-models true)\n(declare-const s String)\n"
                    + "(assert (= s \"a(exit)\"\"b\"))\n(check-sat)\n(get-model)\n");
            assertEquals(List.of("sat"), model.answers(), model.toString());
            assertTrue(model.output().contains("\"a(exit)\"\"b\""), model.output());
            assertEquals(List.of(), model.errors());
            assertEquals(List.of("sat", "sat", "unsat"),
                    z3.run(6, SAT + "(push 1)\n(check-sat)\n(assert (< x 0))\n(check-sat)\n").answers());
            assertTrue(z3.process.isAlive());
        }
    }

    /**
     * cvc5 1.0 is interactive with --interactive (--incremental for push/pop); it prints echo strings quoted, and it
     * exits after a parse error (an undeclared symbol is one).
     */
    @Test
    void cvc5Interactive() throws Exception {
        assumeInstalled("cvc5");
        List<String> cvc5 = List.of("cvc5", "--lang=smt2", "--interactive", "--incremental");
        try (Solver s = new Solver(cvc5)) {
            assertEquals(List.of("sat"), s.run(1, SAT).answers());
            assertEquals(List.of("unsat"), s.run(2, UNSAT).answers());
            Answer error = s.run(3, "(set-logic ALL)\n(declare-const x Int)\n(get-model)\n(check-sat)\n");
            assertEquals(1, error.errors().size(), error.toString());
            assertEquals(List.of("sat"), error.answers(), "cvc5 goes on after a non-parse error");
            assertEquals(List.of("unsat"), s.run(4, UNSAT + "(exit)\n(check-sat)\n").answers());
            Answer model = s.run(5, "(set-logic ALL)\n(set-option :produce-models true)\n(declare-const s String)\n"
                    + "(assert (= s \"a(exit)\"\"b\"))\n(check-sat)\n(get-model)\n");
            assertEquals(List.of("sat"), model.answers(), model.toString());
            assertEquals(List.of(), model.errors());
            assertNull(s.run(6, "(set-logic ALL)\n(assert (> y 0))\n(check-sat)\n"),
                    "cvc5 exits after a parse error: no answer, end of output");
            assertEquals(5, s.sink.events.size());
        }
    }

    @Test
    void solverOutputWithoutTheMarkerIsNoAnswer() throws Exception {
        List<Event> events = new ArrayList<>(Recording.feedWhole(P, ascii("sat\nscythe-done")));
        assertEquals(List.of(), events, "a partial line is kept, not taken for a marker");
    }
}
