package dev.scythe.eval;

import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/**
 * The judged runs of an evaluation as CSV (RFC 4180: a header, fields quoted where they hold a comma, a quote or a
 * line break) and as JSON lines (one object per run), for spreadsheets, pandas, jq and the like.
 */
public final class Exports {
    static final List<String> COLUMNS = List.of("problem", "family", "status", "solver", "answer", "truth", "solved",
            "wrong", "conflict", "certificate", "timed_out", "crashed", "wall_s", "cpu_s", "memory_kib", "detail");

    private Exports() {}

    private static List<Object> values(Evaluation.Run r) {
        return List.of(r.problem().id(), r.problem().family(), name(r.problem().status()), r.solver(), name(r.verdict()),
                name(r.truth()), r.solved(), r.wrong(), r.conflicting(), r.certificate().name().toLowerCase(Locale.ROOT),
                r.timedOut(), r.crashed(), r.seconds(), r.cpu(), r.memoryKib(), r.detail());
    }

    private static String name(Provers.Verdict v) {
        return v.name().toLowerCase(Locale.ROOT);
    }

    public static void csv(Evaluation e, Path file) throws IOException {
        try (Writer w = Files.newBufferedWriter(file)) {
            w.write(String.join(",", COLUMNS) + "\r\n");
            for (Evaluation.Run r : e.runs()) {
                StringBuilder b = new StringBuilder();
                for (Object v : values(r)) {
                    String s = v instanceof Double d ? String.format(Locale.ROOT, "%.6f", d) : String.valueOf(v);
                    if (!b.isEmpty()) {
                        b.append(',');
                    }
                    b.append(s.matches("[^,\"\r\n]*") ? s : "\"" + s.replace("\"", "\"\"") + "\"");
                }
                w.write(b + "\r\n");
            }
        }
    }

    public static void jsonLines(Evaluation e, Path file) throws IOException {
        try (Writer w = Files.newBufferedWriter(file)) {
            for (Evaluation.Run r : e.runs()) {
                StringBuilder b = new StringBuilder("{");
                List<Object> vs = values(r);
                for (int i = 0; i < COLUMNS.size(); i++) {
                    Object v = vs.get(i);
                    b.append(i == 0 ? "" : ",").append('"').append(COLUMNS.get(i)).append("\":");
                    if (v instanceof String s) {
                        b.append(quote(s));
                    } else if (v instanceof Double d) {
                        b.append(String.format(Locale.ROOT, "%.6f", d));
                    } else {
                        b.append(v);
                    }
                }
                w.write(b.append("}\n").toString());
            }
        }
    }

    static String quote(String s) {
        StringBuilder b = new StringBuilder("\"");
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    if (c < 0x20) {
                        b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        b.append(c);
                    }
                }
            }
        }
        return b.append('"').toString();
    }
}
