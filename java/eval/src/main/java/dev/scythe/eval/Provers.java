package dev.scythe.eval;

import dev.scythe.Output;
import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/** The provers Scythe knows how to call, per problem family, and how to read each one's verdict. */
public final class Provers {
    /** Whether {@code program} is an executable file in a directory of PATH, or, named by a path, there. */
    public static boolean onPath(String program) {
        if (program.contains("/")) {
            return Files.isRegularFile(Path.of(program)) && Files.isExecutable(Path.of(program));
        }
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, program))) {
                return true;
            }
        }
        return false;
    }

    /** What a prover said about a problem. */
    public enum Verdict { SAT, UNSAT, THEOREM, COUNTER_SATISFIABLE, UNKNOWN;

        /** Parses a corpus status (sat, unsat, Theorem, CounterSatisfiable, unknown). */
        public static Verdict ofStatus(String status) {
            return switch (status) {
                case "sat" -> SAT;
                case "unsat" -> UNSAT;
                case "Theorem" -> THEOREM;
                case "CounterSatisfiable" -> COUNTER_SATISFIABLE;
                case "unknown" -> UNKNOWN;
                default -> throw new IllegalArgumentException("unknown status '" + status + "'");
            };
        }
    }

    /**
     * A prover, as its definition block says (see provers.conf in this package): its name, the family of problems it
     * takes, its command ({file} is the problem, {model} a file for its model), its Debian package, the regex a
     * problem must match for it to take it (or null), how to read its answer, and the command that prints its
     * version (empty when none).
     */
    public record Prover(String name, String family, List<String> command, String debianPackage, Pattern onlyIf,
            Answers answers, List<String> versionCommand) {
        /** A prover read the family's standard way, with no version command. */
        public Prover(String name, String family, List<String> command, String debianPackage, Pattern onlyIf) {
            this(name, family, command, debianPackage, onlyIf, Answers.of(family), List.of());
        }

        public List<String> commandFor(Path problem) {
            return commandFor(problem, null);
        }

        /** The command line for one problem; {model} becomes {@code model} (a file the prover may write). */
        public List<String> commandFor(Path problem, Path model) {
            return command.stream().map(a -> a.replace("{file}", problem.toString())
                    .replace("{model}", model == null ? "/dev/null" : model.toString())).toList();
        }

        /** Whether its command writes a model into {model}. */
        public boolean writesModelFile() {
            return command.stream().anyMatch(a -> a.contains("{model}"));
        }

        /** True when this prover takes the problem (boolector: bit-vector logics only). */
        public boolean accepts(Problem p) throws IOException {
            return p.family().equals(family) && (onlyIf == null || onlyIf.matcher(Files.readString(p.file())).find());
        }

        public boolean installed() {
            return onPath(command.get(0));
        }

        public Verdict verdict(Output stdout) {
            return answers.read(stdout.text());
        }

        public Verdict verdict(String stdout) {
            return answers.read(stdout);
        }
    }

    /**
     * How to read a prover's answer: per verdict a pattern matched against stdout (multi-line), tried in the order
     * given; the first that matches decides.
     */
    public record Answers(String reader, Map<Verdict, Pattern> patterns) {
        private static final Map<String, Map<Verdict, Pattern>> READERS = Map.of(
                "dimacs", ordered(Verdict.UNSAT, "^(?:s )?UNSATISFIABLE\\s*$", Verdict.SAT, "^(?:s )?SATISFIABLE\\s*$"),
                "smtlib", ordered(Verdict.UNSAT, "^unsat\\s*$", Verdict.SAT, "^sat\\s*$"),
                "szs", ordered(Verdict.THEOREM, "SZS status (?:Theorem|Unsatisfiable)|SPASS beiseite: Proof found\\.",
                        Verdict.COUNTER_SATISFIABLE,
                        "SZS status (?:CounterSatisfiable|Satisfiable)|SPASS beiseite: Completion found\\."));

        /** The standard reader of a family: dimacs for cnf, smtlib for smt2, szs for tptp. */
        public static Answers of(String family) {
            String reader = switch (family) {
                case "cnf" -> "dimacs";
                case "smt2" -> "smtlib";
                default -> "szs";
            };
            return new Answers(reader, READERS.get(reader));
        }

        static Answers named(String reader) {
            Map<Verdict, Pattern> p = READERS.get(reader);
            if (p == null) {
                throw new IllegalArgumentException("unknown answer reader '" + reader + "' (known: dimacs, smtlib, szs)");
            }
            return new Answers(reader, p);
        }

        /** This reader with one verdict's pattern replaced. */
        Answers with(Verdict v, Pattern pattern) {
            Map<Verdict, Pattern> p = new LinkedHashMap<>(patterns);
            p.put(v, pattern);
            return new Answers(reader + "+" + v.name().toLowerCase(java.util.Locale.ROOT), p);
        }

        /** The verdict in a prover's output; UNKNOWN when it gave none (or gave up). */
        public Verdict read(String out) {
            int first = Integer.MAX_VALUE;
            Verdict found = Verdict.UNKNOWN;
            // the earliest answer in the output decides: a model printed after it cannot masquerade as another
            for (var e : patterns.entrySet()) {
                Matcher m = e.getValue().matcher(out);
                if (m.find() && m.start() < first) {
                    first = m.start();
                    found = e.getKey();
                }
            }
            return found;
        }

        private static Map<Verdict, Pattern> ordered(Verdict a, String ra, Verdict b, String rb) {
            Map<Verdict, Pattern> m = new LinkedHashMap<>();
            m.put(a, Pattern.compile(ra, Pattern.MULTILINE));
            m.put(b, Pattern.compile(rb, Pattern.MULTILINE));
            return m;
        }
    }

    /**
     * A problem: its file, its id (the path relative to the corpus directory, unique in a run), its family (cnf,
     * smt2, tptp) and its stated status ({@link Verdict#UNKNOWN} when neither the file nor an index states one).
     */
    public record Problem(Path file, String id, String family, Verdict status) {
        /** A problem known by its file name alone. */
        public Problem(Path file, String family, Verdict status) {
            this(file, file.getFileName().toString(), family, status);
        }

        public String name() {
            return id;
        }
    }

    /** The problem families Scythe knows. */
    public static final List<String> FAMILIES = List.of("cnf", "smt2", "tptp");

    private static final List<String> KEYS = List.of("family", "command", "answer", "sat", "unsat", "theorem",
            "countersatisfiable", "only-if", "version", "package");

    /** The shipped definitions (provers.conf in this package): the ten Debian provers. */
    public static final List<Prover> ALL = shipped();

    private Provers() {}

    /** The verdict in a prover's output, read the family's standard way; UNKNOWN when it gave none. */
    public static Verdict verdict(String family, String out) {
        return Answers.of(family).read(out);
    }

    private static List<Prover> shipped() {
        try (var in = Provers.class.getResourceAsStream("provers.conf")) {
            return parse(new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8), "provers.conf");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read the shipped prover definitions", e);
        }
    }

    /**
     * The shipped definitions with a user's file laid over them: a block of a new name adds a prover, a block of a
     * shipped name replaces that prover.
     */
    public static List<Prover> withFile(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new IOException("prover file " + file + ": no such file");
        }
        Map<String, Prover> all = new LinkedHashMap<>();
        ALL.forEach(p -> all.put(p.name(), p));
        parse(Files.readString(file), file.toString()).forEach(p -> all.put(p.name(), p));
        return List.copyOf(all.values());
    }

    /** Parses prover definition blocks; an error names the source, the line and what was wrong. */
    public static List<Prover> parse(String text, String source) throws IOException {
        Map<String, Prover> out = new LinkedHashMap<>();
        Map<String, String> block = null;
        String name = null;
        int blockLine = 0, n = 0;
        for (String raw : text.split("\n", -1)) {
            n++;
            String line = raw.strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            if (line.startsWith("[") && line.endsWith("]")) {
                if (name != null) {
                    out.put(name, prover(name, block, source, blockLine));
                }
                name = line.substring(1, line.length() - 1).strip();
                if (!name.matches("[A-Za-z0-9_.+-]+")) {
                    throw new IOException(source + ":" + n + ": prover name '" + name
                            + "' must be letters, digits and _ . + - only");
                }
                if (out.containsKey(name)) {
                    throw new IOException(source + ":" + n + ": prover '" + name + "' is defined twice");
                }
                block = new LinkedHashMap<>();
                blockLine = n;
                continue;
            }
            int eq = line.indexOf('=');
            if (name == null || eq < 0) {
                throw new IOException(source + ":" + n + ": expected [name] or key = value, got '" + line + "'");
            }
            String key = line.substring(0, eq).strip();
            if (!KEYS.contains(key)) {
                throw new IOException(source + ":" + n + ": unknown key '" + key + "' (known: " + KEYS + ")");
            }
            block.put(key, line.substring(eq + 1).strip());
        }
        if (name != null) {
            out.put(name, prover(name, block, source, blockLine));
        }
        return List.copyOf(out.values());
    }

    private static Prover prover(String name, Map<String, String> b, String source, int line) throws IOException {
        String where = source + ":" + line + ": prover '" + name + "': ";
        String family = b.get("family"), command = b.get("command");
        if (family == null || !FAMILIES.contains(family)) {
            throw new IOException(where + "family must be one of " + FAMILIES + ", got " + (family == null ? "none"
                    : "'" + family + "'"));
        }
        if (command == null || command.isBlank()) {
            throw new IOException(where + "no command");
        }
        List<String> argv = List.of(command.split("\\s+"));
        if (argv.stream().noneMatch(a -> a.contains("{file}"))) {
            throw new IOException(where + "the command never names the problem: put {file} where it goes");
        }
        try {
            Answers answers = b.containsKey("answer") ? Answers.named(b.get("answer")) : Answers.of(family);
            for (Verdict v : Verdict.values()) {
                String key = v.name().toLowerCase(java.util.Locale.ROOT).replace("_", "");
                if (b.containsKey(key)) {
                    answers = answers.with(v, Pattern.compile(b.get(key), Pattern.MULTILINE));
                }
            }
            Pattern onlyIf = b.containsKey("only-if") ? Pattern.compile(b.get("only-if")) : null;
            List<String> version = b.containsKey("version") ? List.of(b.get("version").split("\\s+")) : List.of();
            return new Prover(name, family, argv, b.getOrDefault("package", "-"), onlyIf, answers, version);
        } catch (IllegalArgumentException e) { // a bad regex (PatternSyntaxException) or reader
            throw new IOException(where + e.getMessage().lines().findFirst().orElse(""));
        }
    }
}
