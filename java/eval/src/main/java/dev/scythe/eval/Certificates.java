package dev.scythe.eval;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;

/**
 * Checks the certificate behind a "sat" answer, so that on a problem of unknown status such an answer is believed only
 * when its model actually satisfies the problem. Checking must be cheap next to solving: for DIMACS CNF the model is
 * evaluated here, clause by clause, in one pass over the file; for SMT-LIB the model's constants are fixed in a copy of
 * the problem ({@link #smtCheckScript}) that another solver then decides almost at once ({@link #smtCheckResult}).
 *
 * <p>Only some command lines make a solver print a model these methods can read (formats as printed by z3 4.8,
 * cvc5 1.0, CVC4 1.8, CaDiCaL, PicoSAT 965, CryptoMiniSat 5.11 and MiniSat 2.2):
 * <ul>
 *   <li>{@code cadical FILE}, {@code picosat FILE}, {@code cryptominisat5 FILE} (quiet flags such as {@code -q} or
 *       {@code --verb 0} are fine): their default output has the model as {@code v} lines on stdout;</li>
 *   <li>{@code minisat -verb=0 FILE MODELFILE}: MiniSat prints no model, but writes {@code SAT} and the model's
 *       literals to MODELFILE;</li>
 *   <li>{@code z3 -model FILE}: {@code sat}, then the model as a list of {@code define-fun};</li>
 *   <li>{@code cvc5 --dump-models FILE} and {@code cvc4 --dump-models --lang smt2 FILE}: the same, CVC4 wrapping the
 *       list as {@code (model ...)}.</li>
 * </ul>
 * Without these flags the SMT solvers print only {@code sat}, and the answer stays unconfirmed
 * ({@link Check.Kind#ABSENT}).
 */
public final class Certificates {

    /**
     * The result of checking one answer's certificate.
     *
     * @param kind what the check found
     * @param detail for people: what was checked, or which clause or value the model gets wrong, or why there was
     *        nothing to check
     */
    public record Check(Kind kind, String detail) {

        /** What a certificate check can find. */
        public enum Kind {
            /** The model satisfies the problem: the "sat" answer is right. */
            CONFIRMED,
            /** The model does not satisfy the problem (or contradicts itself): the answer is not backed by it. */
            REFUTED,
            /** There was no model to check, or none that could be checked cheaply: the answer is neither. */
            ABSENT
        }

        /** Both parts are required. */
        public Check {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(detail, "detail");
        }

        /** A model that satisfies the problem; {@code detail} says what was checked. */
        public static Check confirmed(String detail) {
            return new Check(Kind.CONFIRMED, detail);
        }

        /** A model that does not satisfy the problem; {@code detail} says where it fails. */
        public static Check refuted(String detail) {
            return new Check(Kind.REFUTED, detail);
        }

        /** Nothing checkable; {@code detail} says why. */
        public static Check absent(String detail) {
            return new Check(Kind.ABSENT, detail);
        }
    }

    private Certificates() {}

    // ----------------------------------------------------------------------------------------------------- DIMACS

    /** Clauses printed in a detail are cut here: a failing clause of a few thousand literals is not worth reading. */
    private static final int SHOWN_LITERALS = 16;

    /**
     * Model variables past the header's count are kept up to this many more; beyond that a bogus literal such as
     * {@code v 2000000000} would cost gigabytes, and it can only matter for a file that breaks its own header.
     */
    private static final int SLACK_VARIABLES = 1 << 20;

    /**
     * Checks a SAT solver's model against a DIMACS CNF problem: every clause must have a literal that the model makes
     * true. The model is read from the {@code v} lines of {@code stdout} when there are any (CaDiCaL, PicoSAT,
     * CryptoMiniSat, Kissat, ...), otherwise from {@code modelFile} in MiniSat's result format ({@code SAT} then the
     * literals, ending in 0; or {@code UNSAT} / {@code INDET}).
     *
     * <p>A partial model is allowed: a variable it leaves out is neither true nor false, so a clause counts as
     * satisfied only through one of its other literals. A model that assigns a variable both ways is
     * {@link Check.Kind#REFUTED}. The CNF is streamed (it may hold millions of clauses) and may be gzip-compressed
     * ({@code .gz}); comment lines, clauses spread over several lines, and the {@code %} end marker of SATLIB files
     * are accepted.
     *
     * @param cnf the problem the solver was given
     * @param stdout the solver's standard output
     * @param modelFile where the solver was told to write its model; may be {@code null} or not exist
     * @return CONFIRMED, REFUTED naming the first clause the model falsifies, or ABSENT when there is no model or the
     *         CNF cannot be parsed
     * @throws UncheckedIOException when {@code cnf} or an existing {@code modelFile} cannot be read
     */
    public static Check dimacs(Path cnf, String stdout, Path modelFile) {
        Objects.requireNonNull(cnf, "cnf");
        String modelText = vLines(stdout == null ? "" : stdout);
        String source = "the v lines on stdout";
        if (modelText == null) {
            if (modelFile == null) {
                return Check.absent("no model: stdout has no v lines and there is no model file");
            }
            String file;
            try {
                file = Files.readString(modelFile, StandardCharsets.ISO_8859_1);
            } catch (NoSuchFileException e) {
                return Check.absent("no model: stdout has no v lines and the model file " + modelFile
                        + " does not exist");
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read the model file " + modelFile + ": " + e.getMessage(), e);
            }
            String trimmed = file.strip();
            int firstEnd = 0;
            while (firstEnd < trimmed.length() && !Character.isWhitespace(trimmed.charAt(firstEnd))) {
                firstEnd++;
            }
            String first = trimmed.substring(0, firstEnd);
            if (!first.equals("SAT")) {
                return Check.absent(trimmed.isEmpty() ? "no model: the model file " + modelFile + " is empty"
                        : "no model: the model file " + modelFile + " says '" + first + "', not SAT");
            }
            modelText = trimmed.substring(firstEnd);
            source = "the model file " + modelFile;
        }
        int[] literals;
        try {
            literals = literals(modelText);
        } catch (IllegalArgumentException e) {
            return Check.absent("unreadable model in " + source + ": " + e.getMessage());
        }
        if (literals.length == 0) {
            return Check.absent("no model: no literals in " + source);
        }
        String name = cnf.getFileName() == null ? cnf.toString() : cnf.getFileName().toString();
        String lower = name.toLowerCase(Locale.ROOT);
        for (String ext : List.of(".xz", ".bz2", ".lzma", ".zst")) {
            if (lower.endsWith(ext)) {
                return Check.absent("cannot read " + name + ": only plain and .gz CNF files are checked, not " + ext);
            }
        }
        try (InputStream raw = Files.newInputStream(cnf);
             InputStream in = lower.endsWith(".gz") ? new GZIPInputStream(raw, 1 << 16) : raw) {
            return new CnfChecker(in, name).check(literals, source);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the CNF " + cnf + ": " + e.getMessage(), e);
        }
    }

    /**
     * The literal text of the model's {@code v} lines, up to and including the terminating 0 (a solver that prints
     * more than one model is held to its first); {@code null} when there is no {@code v} line.
     */
    private static String vLines(String stdout) {
        StringBuilder out = null;
        int i = 0, n = stdout.length();
        while (i < n) {
            int end = stdout.indexOf('\n', i);
            if (end < 0) {
                end = n;
            }
            if (stdout.charAt(i) == 'v' && (i + 1 == end || stdout.charAt(i + 1) == ' ' || stdout.charAt(i + 1) == '\t'
                    || stdout.charAt(i + 1) == '\r')) {
                if (out == null) {
                    out = new StringBuilder();
                }
                out.append(stdout, i + 1, end).append(' ');
                if (endsWithZero(stdout, i + 1, end)) {
                    break;
                }
            }
            i = end + 1;
        }
        return out == null ? null : out.toString();
    }

    private static boolean endsWithZero(String s, int from, int to) {
        int j = to;
        while (j > from && Character.isWhitespace(s.charAt(j - 1))) {
            j--;
        }
        return j > from && s.charAt(j - 1) == '0' && (j - 1 == from || !Character.isLetterOrDigit(s.charAt(j - 2))
                && s.charAt(j - 2) != '-');
    }

    /** The literals of a model's text, stopping at the first 0. */
    private static int[] literals(String text) {
        int[] out = new int[64];
        int size = 0;
        int i = 0, n = text.length();
        while (i < n) {
            char c = text.charAt(i);
            if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
                i++;
                continue;
            }
            int start = i;
            boolean negative = c == '-';
            if (negative) {
                i++;
            }
            long value = 0;
            int digits = 0;
            while (i < n && text.charAt(i) >= '0' && text.charAt(i) <= '9') {
                value = value * 10 + (text.charAt(i) - '0');
                if (value > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("literal '" + token(text, start) + "' is out of range");
                }
                i++;
                digits++;
            }
            if (digits == 0 || i < n && !Character.isWhitespace(text.charAt(i))) {
                throw new IllegalArgumentException("'" + token(text, start) + "' is not a literal");
            }
            if (value == 0) {
                break;
            }
            if (size == out.length) {
                out = Arrays.copyOf(out, size * 2);
            }
            out[size++] = negative ? (int) -value : (int) value;
        }
        return Arrays.copyOf(out, size);
    }

    private static String token(String text, int start) {
        int end = start;
        while (end < text.length() && !Character.isWhitespace(text.charAt(end)) && end - start < 40) {
            end++;
        }
        return text.substring(start, end);
    }

    /**
     * One pass over a DIMACS file with a byte-level tokenizer: the file may be hundreds of megabytes, so there is no
     * per-line String and no regular expression.
     */
    private static final class CnfChecker {
        private final InputStream in;
        private final String name;
        private final byte[] buf = new byte[1 << 16];
        private int pos, limit;
        private long line = 1;
        private boolean lineStart = true;

        CnfChecker(InputStream in, String name) {
            this.in = in;
            this.name = name;
        }

        private int read() throws IOException {
            if (pos == limit) {
                limit = in.read(buf, 0, buf.length);
                pos = 0;
                if (limit <= 0) {
                    limit = 0;
                    return -1;
                }
            }
            return buf[pos++];
        }

        private void skipLine() throws IOException {
            int c;
            do {
                c = read();
            } while (c != '\n' && c != -1);
            line++;
            lineStart = true;
        }

        /** The rest of the current line, for a header; short lines only. */
        private String restOfLine() throws IOException {
            StringBuilder sb = new StringBuilder();
            int c;
            while ((c = read()) != '\n' && c != -1) {
                if (sb.length() < 200) {
                    sb.append((char) c);
                }
            }
            line++;
            lineStart = true;
            return sb.toString();
        }

        Check check(int[] model, String source) throws IOException {
            long headerVars = -1, headerClauses = -1;
            byte[] value = null;
            int[] clause = new int[16];
            int size = 0;
            long clauses = 0;
            boolean satisfied = false;
            for (;;) {
                int c = read();
                if (c == '\n') {
                    line++;
                    lineStart = true;
                    continue;
                }
                if (c == ' ' || c == '\t' || c == '\r' || c == '\f') {
                    continue;
                }
                if (c == -1) {
                    break;
                }
                if (lineStart && c == 'c') {
                    skipLine();
                    continue;
                }
                if (lineStart && c == '%') {
                    // SATLIB files end with "%" and a stray "0" that is not a clause
                    break;
                }
                if (lineStart && c == 'p') {
                    String[] f = restOfLine().trim().split("\\s+");
                    if (f.length != 3 || !f[0].equals("cnf")) {
                        return Check.absent(name + ":" + (line - 1) + ": expected 'p cnf VARIABLES CLAUSES', got 'p "
                                + String.join(" ", f) + "'");
                    }
                    try {
                        headerVars = Long.parseLong(f[1]);
                        headerClauses = Long.parseLong(f[2]);
                    } catch (NumberFormatException e) {
                        return Check.absent(name + ":" + (line - 1) + ": the header's counts are not numbers: 'p "
                                + String.join(" ", f) + "'");
                    }
                    continue;
                }
                lineStart = false;
                if (value == null) {
                    value = assignment(model, headerVars);
                    if (value == null) {
                        return Check.refuted("the model (" + source + ") assigns variable " + conflict(model)
                                + " both true and false");
                    }
                }
                boolean negative = c == '-';
                if (negative) {
                    c = read();
                }
                long v = 0;
                int digits = 0;
                while (c >= '0' && c <= '9') {
                    v = v * 10 + (c - '0');
                    if (v > Integer.MAX_VALUE) {
                        return Check.absent(name + ":" + line + ": literal out of range");
                    }
                    digits++;
                    c = read();
                }
                if (digits == 0 || !(c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == -1)) {
                    return Check.absent(name + ":" + line + ": expected a literal, found '"
                            + (c == -1 ? "end of file" : Character.toString((char) c)) + "'");
                }
                if (c == '\n') {
                    line++;
                    lineStart = true;
                }
                if (v == 0) {
                    clauses++;
                    if (!satisfied) {
                        return falsified(clauses, clause, size, value);
                    }
                    size = 0;
                    satisfied = false;
                } else {
                    int lit = negative ? (int) -v : (int) v;
                    if (size == clause.length) {
                        clause = Arrays.copyOf(clause, size * 2);
                    }
                    clause[size++] = lit;
                    if (!satisfied && (int) v < value.length && value[(int) v] == (negative ? -1 : 1)) {
                        satisfied = true;
                    }
                }
                if (c == -1) {
                    break;
                }
            }
            if (value == null) {
                // a CNF without clauses is satisfied by anything, but the model can still contradict itself
                value = assignment(model, Math.max(headerVars, 0));
                if (value == null) {
                    return Check.refuted("the model (" + source + ") assigns variable " + conflict(model)
                            + " both true and false");
                }
            }
            if (size > 0) {
                // tolerate a last clause without its terminating 0
                clauses++;
                if (!satisfied) {
                    return falsified(clauses, clause, size, value);
                }
            }
            String count = headerClauses >= 0 && headerClauses != clauses
                    ? clauses + " clauses (the header says " + headerClauses + ")" : clauses + " clauses";
            return Check.confirmed("the model (" + source + ", " + model.length + " literals) satisfies all " + count
                    + " of " + name);
        }

        /** The model as a truth value per variable (1, -1, or 0 when unassigned); {@code null} on a conflict. */
        private static byte[] assignment(int[] model, long headerVars) {
            long max = 0;
            for (int lit : model) {
                max = Math.max(max, Math.abs((long) lit));
            }
            long cap = Math.max(headerVars, 0) + SLACK_VARIABLES;
            byte[] value = new byte[(int) Math.min(max, cap) + 1];
            for (int lit : model) {
                int v = Math.abs(lit);
                if (v >= value.length) {
                    continue;
                }
                byte want = (byte) (lit > 0 ? 1 : -1);
                if (value[v] == -want) {
                    return null;
                }
                value[v] = want;
            }
            return value;
        }

        private static int conflict(int[] model) {
            Set<Integer> seen = new HashSet<>();
            for (int lit : model) {
                if (seen.contains(-lit)) {
                    return Math.abs(lit);
                }
                seen.add(lit);
            }
            throw new IllegalStateException("no conflicting literals in the model");
        }

        private Check falsified(long index, int[] clause, int size, byte[] value) {
            StringBuilder lits = new StringBuilder();
            List<Integer> unassigned = new ArrayList<>();
            for (int i = 0; i < size; i++) {
                if (i < SHOWN_LITERALS) {
                    lits.append(i == 0 ? "" : " ").append(clause[i]);
                }
                int v = Math.abs(clause[i]);
                if ((v >= value.length || value[v] == 0) && !unassigned.contains(v)) {
                    unassigned.add(v);
                }
            }
            if (size > SHOWN_LITERALS) {
                lits.append(" ... ").append(size - SHOWN_LITERALS).append(" more");
            }
            String where = "clause " + index + " (" + lits + ")";
            String file = " (" + name + " line " + (lineStart ? line - 1 : line) + ")";
            if (unassigned.isEmpty()) {
                return Check.refuted(where + " is false under the model" + file);
            }
            List<Integer> shown = unassigned.subList(0, Math.min(unassigned.size(), SHOWN_LITERALS));
            String vars = shown.stream().map(String::valueOf).collect(Collectors.joining(", "))
                    + (unassigned.size() > shown.size() ? ", ..." : "");
            return Check.refuted(where + " has no true literal under the model, which leaves "
                    + (unassigned.size() == 1 ? "variable " : "variables ") + vars + " unassigned" + file);
        }
    }

    // ---------------------------------------------------------------------------------------------------- SMT-LIB

    /** Commands dropped from the problem: they ask for output, end the script early, or change how it is printed. */
    private static final Set<String> DROPPED = Set.of("check-sat", "get-model", "get-value", "get-assignment",
            "get-unsat-core", "get-unsat-assumptions", "get-proof", "get-info", "get-option", "get-assertions", "echo",
            "exit", "set-option");

    /** Commands of incremental scripts: a model answers one check-sat among several, and which one is unclear. */
    private static final Set<String> INCREMENTAL = Set.of("push", "pop", "reset", "reset-assertions",
            "check-sat-assuming");

    /**
     * An SMT-LIB script asking a checker solver whether the model in a solver's output satisfies the problem: the
     * problem's commands, without those that ask for output ({@code check-sat}, {@code get-model}, {@code get-value},
     * {@code echo}, ...), {@code set-option} or {@code exit}; then {@code (assert (= NAME VALUE))} for each constant
     * the model defines; then {@code (check-sat)}. With every constant fixed, the checker only evaluates the problem,
     * so "sat" from it confirms the model and "unsat" refutes it (see {@link #smtCheckResult}). The equalities stay in
     * the problem's theory, so its {@code set-logic} is kept, with one exception: a value with an array constant
     * ({@code ((as const (Array Int Int)) 0)}, how z3, cvc5 and CVC4 print arrays) is outside every SMT-LIB array
     * logic, and z3 refuses it under, say, {@code QF_ALIA}, so then the logic becomes {@code ALL}.
     *
     * <p>The model is the first one printed after the first line of {@code stdout} that reads {@code sat} (responses
     * to the problem's own {@code get-value} commands are passed over), in the format of {@code z3 -model},
     * {@code cvc5 --dump-models} or {@code cvc4 --dump-models --lang smt2}. Quoted symbols ({@code |x y|}) are
     * matched to the problem's declarations the SMT-LIB way ({@code |x|} is {@code x}). Definitions of symbols the
     * problem does not declare are left out: they are the solver's own, such as z3's {@code div0} or {@code /0} for
     * division by zero, which SMT-LIB leaves to each solver, the checker included. A declared constant the model
     * omits stays free for the checker to choose.
     *
     * <p>Empty, because the model cannot be checked cheaply or at all, when:
     * <ul>
     *   <li>the output's first answer is not {@code sat}, or no model follows it;</li>
     *   <li>the model interprets a declared function with arguments ({@code (define-fun f ((x!0 Int)) Int (ite ...))}):
     *       asserting it would need a quantifier, which is no longer a cheap check;</li>
     *   <li>the model has values of uninterpreted sorts ({@code U!val!0} and a {@code declare-fun} universe from z3,
     *       {@code (as @U_0 U)} from cvc5, {@code @uc_U_0} from CVC4), which no checker can read back, or values that
     *       are not SMT-LIB ({@code as-array}, {@code lambda}, z3's {@code root-obj});</li>
     *   <li>the problem is incremental ({@code push}, {@code pop}, {@code reset}, {@code check-sat-assuming}, more
     *       than one {@code check-sat}), since the model belongs to one of its queries;</li>
     *   <li>the problem is not well-formed s-expressions, or declares constants of which the model fixes none.</li>
     * </ul>
     *
     * @param problem the SMT-LIB problem the solver was given
     * @param stdout the solver's standard output
     * @return the checker's script, or empty when there is no model that can be checked cheaply
     * @throws UncheckedIOException when {@code problem} cannot be read
     */
    public static Optional<String> smtCheckScript(Path problem, String stdout) {
        Objects.requireNonNull(problem, "problem");
        Optional<Sx> model = smtModel(stdout == null ? "" : stdout);
        if (model.isEmpty()) {
            return Optional.empty();
        }
        String text;
        try {
            // decoding replaces a malformed byte rather than failing: it can only sit in a string literal or comment
            text = new String(Files.readAllBytes(problem), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the SMT-LIB problem " + problem + ": " + e.getMessage(), e);
        }
        StringBuilder script = new StringBuilder(text.length() + 1024);
        Map<String, String> constants = new HashMap<>(); // symbol (unquoted) -> its spelling in the problem
        Set<String> functions = new HashSet<>();
        List<int[]> logic = new ArrayList<>(); // spans of set-logic commands in the script
        int checkSats = 0;
        Lexer lx = new Lexer(text, 0);
        try {
            for (;;) {
                int t = lx.next();
                if (t == Lexer.EOF) {
                    break;
                }
                if (t != Lexer.OPEN) {
                    return Optional.empty();
                }
                int start = lx.start;
                if (lx.next() != Lexer.ATOM) {
                    return Optional.empty();
                }
                String head = lx.text();
                if (INCREMENTAL.contains(head)) {
                    return Optional.empty();
                }
                if (head.equals("check-sat") && ++checkSats > 1) {
                    return Optional.empty();
                }
                if (head.equals("declare-fun") || head.equals("declare-const")) {
                    if (lx.next() != Lexer.ATOM) {
                        return Optional.empty();
                    }
                    String key = lx.key(), spelling = lx.text();
                    boolean constant = head.equals("declare-const");
                    if (!constant) {
                        if (lx.next() != Lexer.OPEN) {
                            return Optional.empty();
                        }
                        constant = lx.peek() == Lexer.CLOSE;
                        lx.skipTo(1);
                    }
                    if (constant) {
                        constants.put(key, spelling);
                    } else {
                        functions.add(key);
                    }
                }
                lx.skipTo(0);
                if (head.equals("set-logic")) {
                    logic.add(new int[] {script.length(), script.length() + lx.end - start});
                }
                if (!DROPPED.contains(head)) {
                    script.append(text, start, lx.end).append('\n');
                }
            }
        } catch (IllegalArgumentException malformed) {
            return Optional.empty();
        }
        List<String> entries = new ArrayList<>();
        boolean constantArrays = false;
        for (Sx def : model.get().list) {
            if (def.list == null || def.list.isEmpty() || !def.list.get(0).isAtom("define-fun") || def.list.size() != 5
                    || def.list.get(1).list != null || def.list.get(2).list == null) {
                // a universe (declare-fun U!val!0), a cardinality forall, a declare-sort: uninterpreted sorts
                return Optional.empty();
            }
            String key = def.list.get(1).key;
            boolean nullary = def.list.get(2).list.isEmpty();
            if (!nullary) {
                if (functions.contains(key) || constants.containsKey(key)) {
                    return Optional.empty();
                }
                continue;
            }
            String name = constants.get(key);
            if (name == null) {
                continue;
            }
            Sx value = def.list.get(4);
            if (!plainValue(value)) {
                return Optional.empty();
            }
            constantArrays |= constantArray(value);
            entries.add("(assert (= " + name + " " + stdout.substring(value.start, value.end) + "))\n");
        }
        if (entries.isEmpty() && !constants.isEmpty()) {
            return Optional.empty();
        }
        if (constantArrays) {
            // constant arrays are an extension no array logic includes, and z3 rejects them under QF_AX and the like
            for (int k = logic.size() - 1; k >= 0; k--) {
                script.replace(logic.get(k)[0], logic.get(k)[1], "(set-logic ALL)");
            }
        }
        entries.forEach(script::append);
        script.append("(check-sat)\n(exit)\n");
        return Optional.of(script.toString());
    }

    /** Whether a value holds an array constant, {@code ((as const (Array Int Int)) 0)}. */
    private static boolean constantArray(Sx v) {
        if (v.list == null) {
            return false;
        }
        if (v.list.size() == 3 && v.list.get(0).isAtom("as") && v.list.get(1).isAtom("const")) {
            return true;
        }
        for (Sx e : v.list) {
            if (constantArray(e)) {
                return true;
            }
        }
        return false;
    }

    /** A value a checker can read back in the problem's theory: no solver-internal symbols. */
    private static boolean plainValue(Sx v) {
        if (v.list == null) {
            if (v.quoted || v.key.startsWith("\"")) {
                return true;
            }
            String a = v.key;
            return !(a.startsWith("@") || a.contains("!val!") || a.equals("as-array") || a.equals("lambda")
                    || a.equals("root-obj"));
        }
        for (Sx e : v.list) {
            if (!plainValue(e)) {
                return false;
            }
        }
        return true;
    }

    /** The model after the first answer of an SMT solver's output, when that answer is {@code sat}. */
    private static Optional<Sx> smtModel(String stdout) {
        int i = 0, n = stdout.length();
        while (i < n) {
            int end = stdout.indexOf('\n', i);
            if (end < 0) {
                end = n;
            }
            String line = stdout.substring(i, end).strip();
            if (line.equals("unsat") || line.equals("unknown")) {
                return Optional.empty();
            }
            if (line.equals("sat")) {
                return modelAfter(stdout, end);
            }
            i = end + 1;
        }
        return Optional.empty();
    }

    /** Heads of a model's entries: definitions, and the universes and sort declarations of uninterpreted sorts. */
    private static final Set<String> MODEL_ENTRIES = Set.of("define-fun", "define-fun-rec", "define-funs-rec",
            "declare-fun", "declare-sort", "forall");

    /**
     * The first model printed from {@code from} on, before the next answer. Other responses may come first: z3 prints
     * the model of {@code -model} after those of the problem's own {@code get-value} commands, such as
     * {@code ((x 3))}.
     */
    private static Optional<Sx> modelAfter(String stdout, int from) {
        Lexer lx = new Lexer(stdout, from);
        try {
            for (;;) {
                int t = lx.next();
                if (t == Lexer.EOF) {
                    return Optional.empty();
                }
                if (t == Lexer.ATOM) {
                    String a = lx.text();
                    if (a.equals("sat") || a.equals("unsat") || a.equals("unknown")) {
                        return Optional.empty();
                    }
                    continue; // a warning's words, "success", ...
                }
                Sx m = lx.list(lx.start);
                List<Sx> defs = m.list;
                if (!defs.isEmpty() && defs.get(0).isAtom("error")) {
                    return Optional.empty();
                }
                if (!defs.isEmpty() && defs.get(0).isAtom("model")) {
                    defs = defs.subList(1, defs.size());
                } else if (!defs.isEmpty() && !(defs.get(0).list != null && !defs.get(0).list.isEmpty()
                        && defs.get(0).list.get(0).list == null
                        && MODEL_ENTRIES.contains(defs.get(0).list.get(0).key))) {
                    continue; // a get-value or get-assignment response
                }
                for (Sx d : defs) {
                    if (d.list == null) {
                        return Optional.empty();
                    }
                }
                return Optional.of(new Sx(null, false, defs, m.start, m.end));
            }
        } catch (IllegalArgumentException malformed) {
            return Optional.empty();
        }
    }

    /**
     * Maps a checker's output on a script from {@link #smtCheckScript}: {@code sat} confirms the model, {@code unsat}
     * refutes it; anything else, and any {@code (error ...)} before the answer, is ABSENT, because z3 goes on after
     * an error (say, an unknown symbol in a value) and would answer for a script missing that assertion.
     *
     * @param checkerStdout the checker's standard output
     * @return CONFIRMED, REFUTED or ABSENT, the detail quoting what the checker said when it did not answer
     */
    public static Check smtCheckResult(String checkerStdout) {
        if (checkerStdout == null || checkerStdout.isBlank()) {
            return Check.absent("the checker printed nothing");
        }
        for (String raw : checkerStdout.split("\n", -1)) {
            String line = raw.strip();
            if (line.startsWith("(error")) {
                return Check.absent("the checker reported an error: " + abbreviate(line));
            }
            switch (line) {
                case "sat" -> {
                    return Check.confirmed("the checker found the problem satisfied with the model's values fixed");
                }
                case "unsat" -> {
                    return Check.refuted("the checker found the problem unsatisfiable with the model's values fixed:"
                            + " the model does not satisfy it");
                }
                case "unknown" -> {
                    return Check.absent("the checker answered unknown");
                }
                default -> { }
            }
        }
        return Check.absent("the checker gave no answer: " + abbreviate(checkerStdout.strip()));
    }

    private static String abbreviate(String s) {
        String one = s.replaceAll("\\s+", " ");
        return one.length() <= 200 ? one : one.substring(0, 200) + "...";
    }

    /**
     * An s-expression of a model: an atom ({@code list == null}) or a list; {@code start}/{@code end} are its span in
     * the text it was read from, so a value is copied as the solver printed it. {@code key} is an atom's symbol with
     * the quoting bars removed, the form in which {@code |x|} and {@code x} are equal.
     */
    private record Sx(String key, boolean quoted, List<Sx> list, int start, int end) {
        boolean isAtom(String s) {
            return list == null && !quoted && key.equals(s);
        }
    }

    /**
     * SMT-LIB tokens: parentheses and atoms, where an atom may be a |quoted symbol| or a "string" (both may span
     * lines and hold parentheses) and ; starts a comment.
     */
    private static final class Lexer {
        static final int EOF = 0, OPEN = 1, CLOSE = 2, ATOM = 3;
        private final String s;
        private int pos;
        /** The span of the last token. */
        int start, end;
        private int depth;

        Lexer(String s, int pos) {
            this.s = s;
            this.pos = pos;
        }

        String text() {
            return s.substring(start, end);
        }

        /** The last atom as a symbol: without the bars of a quoted symbol. */
        String key() {
            return quoted() ? s.substring(start + 1, end - 1) : text();
        }

        boolean quoted() {
            return s.charAt(start) == '|';
        }

        int next() {
            int n = s.length();
            while (pos < n) {
                char c = s.charAt(pos);
                if (c == ';') {
                    while (pos < n && s.charAt(pos) != '\n') {
                        pos++;
                    }
                } else if (Character.isWhitespace(c)) {
                    pos++;
                } else {
                    break;
                }
            }
            start = pos;
            if (pos >= n) {
                end = pos;
                return EOF;
            }
            char c = s.charAt(pos);
            if (c == '(') {
                end = ++pos;
                depth++;
                return OPEN;
            }
            if (c == ')') {
                if (depth == 0) {
                    throw new IllegalArgumentException("unbalanced ')' at offset " + pos);
                }
                end = ++pos;
                depth--;
                return CLOSE;
            }
            if (c == '|') {
                int close = s.indexOf('|', pos + 1);
                if (close < 0) {
                    throw new IllegalArgumentException("unterminated |symbol| at offset " + pos);
                }
                end = pos = close + 1;
                return ATOM;
            }
            if (c == '"') {
                int j = pos + 1;
                for (;;) {
                    int q = s.indexOf('"', j);
                    if (q < 0) {
                        throw new IllegalArgumentException("unterminated string at offset " + pos);
                    }
                    // "" inside a string literal is an escaped quote
                    if (q + 1 < n && s.charAt(q + 1) == '"') {
                        j = q + 2;
                        continue;
                    }
                    end = pos = q + 1;
                    return ATOM;
                }
            }
            while (pos < n) {
                c = s.charAt(pos);
                if (c == '(' || c == ')' || c == ';' || c == '|' || c == '"' || Character.isWhitespace(c)) {
                    break;
                }
                pos++;
            }
            end = pos;
            return ATOM;
        }

        /** The kind of the next token, without consuming it. */
        int peek() {
            int p = pos, st = start, en = end, d = depth;
            int t = next();
            pos = p;
            start = st;
            end = en;
            depth = d;
            return t;
        }

        /** Consumes tokens until the nesting depth is back to {@code target}. */
        void skipTo(int target) {
            while (depth > target) {
                if (next() == EOF) {
                    throw new IllegalArgumentException("unbalanced '(' : the text ends inside a list");
                }
            }
        }

        /** The list whose '(' was just read at {@code open}. */
        Sx list(int open) {
            List<Sx> items = new ArrayList<>();
            for (;;) {
                int t = next();
                switch (t) {
                    case EOF -> throw new IllegalArgumentException("unbalanced '(' : the text ends inside a list");
                    case CLOSE -> {
                        return new Sx(null, false, items, open, end);
                    }
                    case OPEN -> items.add(list(start));
                    default -> items.add(new Sx(key(), quoted(), null, start, end));
                }
            }
        }
    }
}
