package dev.scythe.eval;

import dev.scythe.eval.Provers.Problem;
import dev.scythe.eval.Provers.Verdict;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds the problems in any directory tree: DIMACS CNF, SMT-LIB 2 and TPTP files, told apart by their content (the
 * extension only breaks ties), each with the status the file itself states, optionally corrected by an
 * {@code index.tsv} at the top of the tree.
 *
 * <p>Only the first {@value #HEAD} bytes of a file are read, for both its family and its status: every format puts
 * its header first, and a corpus may hold files of gigabytes.
 */
public final class Corpus {
    /** How much of each file is read to tell its family and its stated status. */
    static final int HEAD = 64 * 1024;

    private static final Set<String> COMPRESSED = Set.of("gz", "xz", "bz2", "zst", "lzma", "lz4", "zip", "7z", "tgz");

    private static final Pattern DIMACS_HEADER = Pattern.compile("p\\s+cnf\\s+\\d+\\s+\\d+\\s*");
    private static final Pattern SMT_COMMAND = Pattern.compile(
            "\\(\\s*(?:set-logic|set-info|set-option|declare-[a-z-]+|define-[a-z-]+|assert|check-sat[a-z-]*|push"
                    + "|pop|reset[a-z-]*|get-[a-z-]+|echo|exit)(?![A-Za-z0-9_-])");
    private static final Pattern TPTP_STATEMENT = Pattern.compile("(?:fof|cnf|tff|thf|tcf|tpi|include)\\s*\\(");

    // A DIMACS status comment is no standard; this spelling is Scythe's own, so that generated CNF can carry one.
    private static final Pattern DIMACS_STATUS = Pattern.compile(
            "^c[ \\t]+status[ \\t]*[:=]?[ \\t]*(sat|unsat|satisfiable|unsatisfiable|unknown)[ \\t\\r]*$",
            Pattern.MULTILINE | Pattern.CASE_INSENSITIVE);
    private static final Pattern SMT_STATUS =
            Pattern.compile("\\(\\s*set-info\\s+:status\\s+(sat|unsat|unknown)\\s*\\)");
    private static final Pattern TPTP_STATUS =
            Pattern.compile("^%[ \\t]*Status[ \\t]*:[ \\t]*([A-Za-z]+)", Pattern.MULTILINE);

    private Corpus() {}

    /**
     * The result of a scan: the problems, sorted by id, and the files passed over because they are neither DIMACS,
     * SMT-LIB nor TPTP (compressed files among them), relative to the scanned directory and sorted. Files that are
     * plainly not meant as problems are passed over without being listed: hidden ones, {@code index.tsv}, TPTP
     * axiom includes ({@code *.ax}), and README, {@code *.md} and {@code *.txt} files that do not read as a problem.
     */
    public record Scan(List<Problem> problems, List<Path> skipped) {
        public Scan {
            problems = List.copyOf(problems);
            skipped = List.copyOf(skipped);
        }
    }

    /**
     * The problems under {@code dir}, sorted by id; see {@link #scanDetailed(Path)}.
     *
     * @throws IOException when {@code dir} is not a directory, holds no problem, or its index is wrong
     */
    public static List<Problem> scan(Path dir) throws IOException {
        return scanDetailed(dir).problems();
    }

    /**
     * Walks {@code dir} and returns its problems and the files it passed over.
     *
     * <p>A problem's family is what its content reads as ({@link #sniff(Path)}), its status what the file states
     * ({@link #statedStatus(Path, String)}). Hidden files and directories (name starting with '.') are not entered.
     * Symbolic links are followed, to files and to directories alike, since corpora are often assembled from links;
     * a link back to a directory being walked is passed over rather than looped through.
     *
     * <p>An optional {@code dir/index.tsv} takes precedence over what the walk found. Its lines are
     * {@code file<TAB>family<TAB>status}: the file relative to {@code dir}; the family cnf, smt2, tptp, or {@code -}
     * to tell it from the content; the status sat, unsat, Theorem, CounterSatisfiable or unknown, where unknown means
     * the index does not say (the file's own status, if any, then stands). Blank lines and lines starting with '#'
     * are ignored. A listed file is taken even when the walk would pass it over (a compressed file, say, for a prover
     * that reads one). Files the index does not list are still found by the walk.
     *
     * @throws IOException when {@code dir} is not a directory or holds no problem; when a line of the index is
     *     malformed, names a file that does not exist or lies outside {@code dir}, names a family the content
     *     contradicts, or states a status that contradicts the file's own; the message names the index and line
     */
    public static Scan scanDetailed(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            throw new IOException(Files.exists(dir) ? dir + " is not a directory" : "no directory " + dir);
        }
        Map<String, Problem> problems = new TreeMap<>();
        Map<String, Path> skipped = new TreeMap<>();
        walk(dir, problems, skipped);
        Path index = dir.resolve("index.tsv");
        if (Files.isRegularFile(index)) {
            for (Problem p : readIndex(dir, index)) {
                problems.put(p.id(), p);
                skipped.remove(p.id());
            }
        }
        if (problems.isEmpty()) {
            String passed = skipped.isEmpty() ? "" : "; skipped " + skipped.size() + " file"
                    + (skipped.size() == 1 ? "" : "s") + ": " + abbreviate(skipped.keySet());
            throw new IOException("no problems (DIMACS, SMT-LIB or TPTP files) under " + dir + passed);
        }
        return new Scan(new ArrayList<>(problems.values()), new ArrayList<>(skipped.values()));
    }

    /**
     * The family of {@code file} by its content: "cnf" for DIMACS (a {@code p cnf V C} line after 'c' comment lines),
     * "smt2" for SMT-LIB 2 (a command such as {@code (set-logic} after ';' comments), "tptp" for TPTP (an
     * {@code fof(}, {@code cnf(}, {@code tff(}, {@code thf(} or {@code include(} statement after '%' comments); null
     * when it is none of them, or binary, or compressed. The extension only decides when the first {@value #HEAD}
     * bytes are all comments of the family it names. A TPTP axiom file ({@code *.ax}) reads as tptp here; it is the
     * walk that passes those over.
     */
    public static String sniff(Path file) throws IOException {
        return compressed(file) ? null : sniff(file, read(file));
    }

    /**
     * The status {@code file} states, read as a problem of {@code family} (cnf, smt2, tptp); {@link Verdict#UNKNOWN}
     * when it states none. SMT-LIB: the first {@code (set-info :status sat|unsat|unknown)}. TPTP: the header line
     * {@code % Status : ...}, where Theorem and Unsatisfiable are {@link Verdict#THEOREM}, CounterSatisfiable and
     * Satisfiable {@link Verdict#COUNTER_SATISFIABLE} (as a prover's SZS status is read), anything else (Open,
     * Unknown, ContradictoryAxioms...) unknown. DIMACS has no standard for it; a comment line {@code c status sat} or
     * {@code c status unsat} (also {@code c status: SATISFIABLE} and the like) is taken as one.
     */
    public static Verdict statedStatus(Path file, String family) throws IOException {
        if (!Provers.FAMILIES.contains(family)) {
            throw new IllegalArgumentException("unknown family '" + family + "' (expected cnf, smt2 or tptp)");
        }
        return compressed(file) ? Verdict.UNKNOWN : statedStatus(read(file), family);
    }

    private static void walk(Path dir, Map<String, Problem> problems, Map<String, Path> skipped) throws IOException {
        Files.walkFileTree(dir, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE,
                new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                        return !d.equals(dir) && hidden(d) ? FileVisitResult.SKIP_SUBTREE : FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) throws IOException {
                        String name = f.getFileName().toString();
                        if (hidden(f) || name.equals("index.tsv") || extension(name).equals("ax")) {
                            return FileVisitResult.CONTINUE;
                        }
                        Path rel = dir.relativize(f);
                        // Links that lead nowhere, FIFOs and devices: reading a FIFO would block the scan forever.
                        if (!attrs.isRegularFile() || compressed(f)) {
                            skipped.put(id(rel), rel);
                            return FileVisitResult.CONTINUE;
                        }
                        Head head = read(f);
                        String family = sniff(f, head);
                        if (family == null) {
                            if (!documentation(name)) {
                                skipped.put(id(rel), rel);
                            }
                        } else {
                            problems.put(id(rel), new Problem(f, id(rel), family, statedStatus(head, family)));
                        }
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
                        if (e instanceof FileSystemLoopException) {
                            return FileVisitResult.CONTINUE;
                        }
                        throw e;
                    }
                });
    }

    private static List<Problem> readIndex(Path dir, Path index) throws IOException {
        List<String> lines;
        try {
            lines = Files.readAllLines(index);
        } catch (CharacterCodingException e) {
            throw new IOException(index + ": not UTF-8 text", e);
        }
        List<Problem> out = new ArrayList<>();
        Map<String, Integer> lineOf = new HashMap<>();
        int n = 0;
        for (String raw : lines) {
            n++;
            String line = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
            if (line.isBlank() || line.startsWith("#")) {
                continue;
            }
            String at = index + ":" + n + ": ";
            String[] f = line.split("\t", -1);
            if (f.length != 3 || f[0].isBlank()
                    || !(Provers.FAMILIES.contains(f[1].strip()) || f[1].strip().equals("-"))) {
                throw new IOException(at + "expected file<TAB>cnf|smt2|tptp|-<TAB>status, got '" + line + "'");
            }
            String given = f[1].strip();
            Verdict listed;
            try {
                listed = Verdict.ofStatus(f[2].strip());
            } catch (IllegalArgumentException e) {
                throw new IOException(at + "unknown status '" + f[2].strip()
                        + "' (expected sat, unsat, Theorem, CounterSatisfiable or unknown)");
            }
            Path rel;
            try {
                rel = Path.of(f[0].strip()).normalize();
            } catch (InvalidPathException e) {
                throw new IOException(at + "bad file name '" + f[0] + "': " + e.getMessage());
            }
            if (rel.isAbsolute() || rel.startsWith("..") || rel.toString().isEmpty()) {
                throw new IOException(at + "file " + f[0].strip() + " is not inside " + dir);
            }
            Path file = dir.resolve(rel);
            if (!Files.isRegularFile(file)) {
                throw new IOException(at + "no file " + file);
            }
            String id = id(rel);
            Integer first = lineOf.putIfAbsent(id, n);
            if (first != null) {
                throw new IOException(at + id + " is listed twice (first on line " + first + ")");
            }
            Head head = compressed(file) ? Head.NONE : read(file);
            String content = head.binary() ? null : contentFamily(head.text());
            String family;
            if (given.equals("-")) {
                family = compressed(file) ? null : sniff(file, head);
                if (family == null) {
                    throw new IOException(at + "cannot tell whether " + file
                            + " is DIMACS, SMT-LIB or TPTP; give its family (cnf, smt2 or tptp) instead of -");
                }
            } else if (content != null && !content.equals(given)) {
                throw new IOException(at + "the index says " + file + " is " + given + " but it reads as "
                        + content);
            } else {
                family = given;
            }
            if (!fits(listed, family)) {
                throw new IOException(at + "status " + word(listed) + " does not apply to a " + family
                        + " problem (expected " + (family.equals("tptp") ? "Theorem, CounterSatisfiable" : "sat, unsat")
                        + " or unknown)");
            }
            Verdict stated = statedStatus(head, family);
            if (listed != Verdict.UNKNOWN && stated != Verdict.UNKNOWN && listed != stated) {
                throw new IOException(at + "the index says " + word(listed) + " but " + file + " states "
                        + word(stated) + "; correct one of them");
            }
            out.add(new Problem(file, id, family, listed != Verdict.UNKNOWN ? listed : stated));
        }
        return out;
    }

    /** The first bytes of a file as text (Latin-1, so no byte is lost or fails to decode), and what they suggest. */
    private record Head(String text, boolean truncated, boolean binary) {
        static final Head NONE = new Head("", false, true);
    }

    private static Head read(Path file) throws IOException {
        byte[] bytes;
        boolean truncated;
        try (InputStream in = Files.newInputStream(file)) {
            bytes = in.readNBytes(HEAD);
            truncated = bytes.length == HEAD && in.read() != -1;
        }
        int start = bytes.length >= 3 && (bytes[0] & 0xff) == 0xef && (bytes[1] & 0xff) == 0xbb
                && (bytes[2] & 0xff) == 0xbf ? 3 : 0;
        for (int i = start; i < bytes.length; i++) {
            if (bytes[i] == 0) {
                return new Head("", truncated, true);
            }
        }
        return new Head(new String(bytes, start, bytes.length - start, StandardCharsets.ISO_8859_1), truncated, false);
    }

    private static String sniff(Path file, Head head) {
        if (head.binary()) {
            return null;
        }
        String content = contentFamily(head.text());
        if (content != null) {
            return content;
        }
        // A header longer than what is read says nothing either way; the extension is then the best evidence.
        String named = extensionFamily(file.getFileName().toString());
        return named != null && head.truncated() && onlyComments(head.text(), named) ? named : null;
    }

    private static String contentFamily(String text) {
        if (dimacs(text)) {
            return "cnf";
        }
        int smt = skip(text, ";", false);
        if (SMT_COMMAND.matcher(text).region(smt, text.length()).lookingAt()) {
            return "smt2";
        }
        int tptp = skip(text, "%", true);
        return TPTP_STATEMENT.matcher(text).region(tptp, text.length()).lookingAt() ? "tptp" : null;
    }

    private static boolean dimacs(String text) {
        for (String line : text.split("\n", -1)) {
            String s = line.strip();
            if (s.isEmpty() || s.startsWith("c")) {
                continue;
            }
            return DIMACS_HEADER.matcher(s).matches();
        }
        return false;
    }

    /** The index of the first character past whitespace and comments (line comments, and TPTP's block comments). */
    private static int skip(String text, String lineComment, boolean blockComments) {
        int i = 0;
        while (i < text.length()) {
            char c = text.charAt(i);
            if (Character.isWhitespace(c)) {
                i++;
            } else if (text.startsWith(lineComment, i)) {
                int nl = text.indexOf('\n', i);
                i = nl < 0 ? text.length() : nl + 1;
            } else if (blockComments && text.startsWith("/*", i)) {
                int end = text.indexOf("*/", i + 2);
                i = end < 0 ? text.length() : end + 2;
            } else {
                break;
            }
        }
        return i;
    }

    private static boolean onlyComments(String text, String family) {
        return switch (family) {
            case "cnf" -> text.lines().map(String::strip).allMatch(l -> l.isEmpty() || l.startsWith("c"));
            case "smt2" -> skip(text, ";", false) == text.length();
            default -> skip(text, "%", true) == text.length();
        };
    }

    private static Verdict statedStatus(Head head, String family) {
        if (head.binary()) {
            return Verdict.UNKNOWN;
        }
        String text = head.text();
        switch (family) {
            case "cnf" -> {
                Matcher m = DIMACS_STATUS.matcher(text);
                if (!m.find()) {
                    return Verdict.UNKNOWN;
                }
                return switch (m.group(1).toLowerCase(Locale.ROOT)) {
                    case "sat", "satisfiable" -> Verdict.SAT;
                    case "unsat", "unsatisfiable" -> Verdict.UNSAT;
                    default -> Verdict.UNKNOWN;
                };
            }
            case "smt2" -> {
                // A commented-out status line must not count, so comments go before the search.
                Matcher m = SMT_STATUS.matcher(text.replaceAll(";[^\n]*", ""));
                return !m.find() ? Verdict.UNKNOWN : switch (m.group(1)) {
                    case "sat" -> Verdict.SAT;
                    case "unsat" -> Verdict.UNSAT;
                    default -> Verdict.UNKNOWN;
                };
            }
            default -> {
                Matcher m = TPTP_STATUS.matcher(text);
                // The same mapping as for a prover's SZS status, so that a right answer is never counted as wrong.
                return !m.find() ? Verdict.UNKNOWN : switch (m.group(1)) {
                    case "Theorem", "Unsatisfiable" -> Verdict.THEOREM;
                    case "CounterSatisfiable", "Satisfiable" -> Verdict.COUNTER_SATISFIABLE;
                    default -> Verdict.UNKNOWN;
                };
            }
        }
    }

    private static boolean fits(Verdict status, String family) {
        return switch (status) {
            case UNKNOWN -> true;
            case SAT, UNSAT -> !family.equals("tptp");
            case THEOREM, COUNTER_SATISFIABLE -> family.equals("tptp");
        };
    }

    /** A status as the index and {@link Verdict#ofStatus(String)} spell it. */
    private static String word(Verdict v) {
        return switch (v) {
            case SAT -> "sat";
            case UNSAT -> "unsat";
            case THEOREM -> "Theorem";
            case COUNTER_SATISFIABLE -> "CounterSatisfiable";
            case UNKNOWN -> "unknown";
        };
    }

    private static String extensionFamily(String name) {
        return switch (extension(name)) {
            case "cnf", "dimacs" -> "cnf";
            case "smt2", "smt" -> "smt2";
            case "p", "tptp", "fof" -> "tptp";
            default -> null;
        };
    }

    private static String extension(String name) {
        int dot = name.lastIndexOf('.');
        return dot <= 0 ? "" : name.substring(dot + 1).toLowerCase(Locale.ROOT);
    }

    private static boolean compressed(Path file) {
        return COMPRESSED.contains(extension(file.getFileName().toString()));
    }

    private static boolean hidden(Path p) {
        Path name = p.getFileName();
        return name != null && name.toString().startsWith(".");
    }

    /** Notes that come with benchmark sets; they are not worth reporting as skipped. */
    private static boolean documentation(String name) {
        String lower = name.toLowerCase(Locale.ROOT);
        return lower.startsWith("readme") || lower.endsWith(".md") || lower.endsWith(".txt");
    }

    private static String id(Path rel) {
        return File.separatorChar == '/' ? rel.toString() : rel.toString().replace(File.separatorChar, '/');
    }

    private static String abbreviate(Iterable<String> names) {
        StringBuilder s = new StringBuilder();
        int n = 0;
        for (String name : names) {
            if (n == 5) {
                return s.append(", ...").toString();
            }
            s.append(n++ == 0 ? "" : ", ").append(name);
        }
        return s.toString();
    }
}
