package dev.scythe.pool;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * An SMT-LIB 2 solver in interactive mode as a worker: a request is a script, the response what the solver printed
 * for it. Tested with {@code z3 -in} and {@code cvc5 --lang=smt2 --interactive --incremental}.
 *
 * <p>A request is sent as {@code (reset)} (except to a fresh worker), the script cut at its first top-level
 * {@code (exit)} (the commands after it would never run in a one-shot solver, so the pooled answer stays the one-shot
 * answer), and {@code (echo "scythe-done-ID")}. The response ends at the line {@code scythe-done-ID} (z3 prints echo
 * strings bare, cvc5 in quotes; both are accepted), which must be a line of its own. A line that is
 * {@code scythe-done-} and a word other than a positive integer is a {@link ProtocolException}; whether the id is
 * pending is the pool's to check. SMT-LIB has no cancel (the pool kills the worker) and no feedback.
 *
 * <p>Solvers differ on errors: z3 prints {@code (error "...")} and goes on with the next command; cvc5 1.0 goes on
 * after most errors but exits after a parse error (such as an undeclared symbol), which the pool sees as the
 * worker's death.
 */
public final class SmtLib implements Protocol<String, SmtLib.Answer> {

    /** The largest output accepted for one request: 64 MiB. */
    public static final int MAX_OUTPUT = 64 << 20;

    private static final String MARKER = "scythe-done-";
    private static final SmtLib INSTANCE = new SmtLib();

    /**
     * What the solver printed for one script: its {@code sat}/{@code unsat}/{@code unknown} answers in order, the
     * messages of its {@code (error "...")} outputs (unescaped), and everything it printed before the marker.
     */
    public record Answer(List<String> answers, List<String> errors, String output) {
        public Answer {
            answers = List.copyOf(answers);
            errors = List.copyOf(errors);
        }
    }

    private SmtLib() {}

    /** The shared instance. */
    public static SmtLib protocol() {
        return INSTANCE;
    }

    @Override
    public String name() {
        return "smtlib";
    }

    @Override
    public byte[] encodeRequest(long id, String script, boolean firstOnWorker) throws EncodeException {
        StringBuilder b = new StringBuilder();
        if (!firstOnWorker) {
            b.append("(reset)\n");
        }
        b.append(script, 0, commandsBeforeExit(script));
        b.append("\n(echo \"").append(MARKER).append(id).append("\")\n");
        return b.toString().getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Where the first top-level {@code (exit)} command starts, or the script's length: a scan that knows string
     * literals ({@code ""} escapes a quote), quoted symbols {@code |...|} and {@code ;} comments.
     *
     * @throws EncodeException if a string literal or quoted symbol is not closed, or the parentheses do not balance
     *     (the marker would be swallowed and the worker would hang)
     */
    static int commandsBeforeExit(String s) throws EncodeException {
        int depth = 0;
        int n = s.length();
        for (int i = 0; i < n; i++) {
            char c = s.charAt(i);
            switch (c) {
                case ';' -> {
                    while (i + 1 < n && s.charAt(i + 1) != '\n' && s.charAt(i + 1) != '\r') {
                        i++;
                    }
                }
                case '"' -> {
                    int start = i;
                    while (true) {
                        i++;
                        if (i >= n) {
                            throw new EncodeException("a string literal not closed, from offset " + start);
                        }
                        if (s.charAt(i) == '"') {
                            if (i + 1 < n && s.charAt(i + 1) == '"') {
                                i++; // "" is a quote inside the literal
                            } else {
                                break;
                            }
                        }
                    }
                }
                case '|' -> {
                    int close = s.indexOf('|', i + 1);
                    if (close < 0) {
                        throw new EncodeException("a quoted symbol not closed, from offset " + i);
                    }
                    i = close;
                }
                case '(' -> {
                    if (depth == 0 && isExit(s, i + 1)) {
                        return i;
                    }
                    depth++;
                }
                case ')' -> {
                    if (--depth < 0) {
                        throw new EncodeException("a ')' without its '(' at offset " + i);
                    }
                }
                default -> {}
            }
        }
        if (depth != 0) {
            throw new EncodeException(depth + " '(' not closed at the end of the script");
        }
        return n;
    }

    /** Whether {@code s} from {@code i} is whitespace, "exit", whitespace and ')'. */
    private static boolean isExit(String s, int i) {
        i = skipBlank(s, i);
        if (!s.startsWith("exit", i)) {
            return false;
        }
        i = skipBlank(s, i + 4);
        return i < s.length() && s.charAt(i) == ')';
    }

    private static int skipBlank(String s, int i) {
        while (i < s.length() && Character.isWhitespace(s.charAt(i))) {
            i++;
        }
        return i;
    }

    @Override
    public byte[] encodeCancel(long id) {
        return null;
    }

    @Override
    public byte[] encodeFeedback(Object feedback) {
        return null;
    }

    @Override
    public byte[] encodeExit() {
        return "(exit)\n".getBytes(StandardCharsets.US_ASCII);
    }

    @Override
    public boolean namesRequests() {
        return true;
    }

    @Override
    public Decoder<Answer> newDecoder() {
        return new LineDecoder();
    }

    /** Output lines, until a marker line completes an answer. */
    static final class LineDecoder implements Decoder<Answer> {
        private final Frames.Buffer output = new Frames.Buffer();
        private int lineStart;

        @Override
        public void feed(byte[] bytes, int off, int len, Sink<Answer> sink) throws ProtocolException {
            int end = off + len;
            int k = off;
            while (k < end) {
                int nl = k;
                while (nl < end && bytes[nl] != '\n') {
                    nl++;
                }
                int take = (nl < end ? nl + 1 : end) - k;
                if (output.length + take > MAX_OUTPUT) {
                    throw new ProtocolException("output for one request over " + MAX_OUTPUT + " bytes: "
                            + output.tail());
                }
                output.add(bytes, k, take);
                k += take;
                if (nl < end) {
                    line(sink);
                }
            }
        }

        private void line(Sink<Answer> sink) throws ProtocolException {
            int from = lineStart, to = output.length - 1; // without the '\n'
            if (to > from && output.bytes[to - 1] == '\r') {
                to--;
            }
            lineStart = output.length;
            String line = new String(output.bytes, from, to - from, StandardCharsets.UTF_8);
            String marker = line.startsWith("\"") && line.endsWith("\"") && line.length() >= 2
                    ? line.substring(1, line.length() - 1)
                    : line;
            if (!marker.startsWith(MARKER) || marker.chars().anyMatch(Character::isWhitespace)) {
                return; // not a marker, not even a broken one: output
            }
            String digits = marker.substring(MARKER.length());
            long id = digits.isEmpty() || digits.length() > 18 || !digits.chars().allMatch(c -> c >= '0' && c <= '9')
                    ? 0
                    : Long.parseLong(digits);
            if (id <= 0) {
                throw new ProtocolException("a marker line whose id is not a positive integer: "
                        + Frames.excerpt(output.bytes, from, to - from));
            }
            String text = new String(output.bytes, 0, from, StandardCharsets.UTF_8);
            output.clear();
            lineStart = 0;
            sink.response(id, answer(text));
        }
    }

    /**
     * Sorts a solver's output into answers and errors: lines that are {@code sat}, {@code unsat} or {@code unknown}
     * at the top level, and top-level {@code (error "...")} forms (whose message may span lines). Depth and string
     * literals are tracked so that a model's lines are not taken for answers.
     */
    static Answer answer(String text) {
        List<String> answers = new ArrayList<>(), errors = new ArrayList<>();
        int depth = 0, n = text.length();
        boolean inString = false; // a string literal may span lines
        int i = 0;
        while (i < n) {
            int eol = text.indexOf('\n', i);
            if (eol < 0) {
                eol = n;
            }
            String line = text.substring(i, eol).strip();
            if (depth == 0 && !inString && (line.equals("sat") || line.equals("unsat") || line.equals("unknown"))) {
                answers.add(line);
                i = eol + 1;
                continue;
            }
            if (depth == 0 && !inString && line.startsWith("(error ")) {
                int q = text.indexOf('"', i);
                if (q >= 0) {
                    StringBuilder msg = new StringBuilder();
                    int k = q + 1;
                    while (k < n) {
                        char c = text.charAt(k);
                        if (c == '"') {
                            if (k + 1 < n && text.charAt(k + 1) == '"') {
                                msg.append('"');
                                k += 2;
                                continue;
                            }
                            break;
                        }
                        msg.append(c);
                        k++;
                    }
                    errors.add(msg.toString());
                    int close = text.indexOf(')', k);
                    int next = text.indexOf('\n', close < 0 ? k : close);
                    i = next < 0 ? n : next + 1;
                    continue;
                }
            }
            // any other line: follow parentheses outside string literals, so nested lines are not answers
            for (int k = i; k < eol; k++) {
                char c = text.charAt(k);
                if (c == '"') {
                    inString = !inString; // "" toggles twice: still right
                } else if (!inString && c == '(') {
                    depth++;
                } else if (!inString && c == ')' && depth > 0) {
                    depth--;
                }
            }
            i = eol + 1;
        }
        return new Answer(answers, errors, text);
    }
}
