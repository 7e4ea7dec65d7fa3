package dev.scythe.eval;

import java.nio.file.Path;
import java.util.Optional;

/** PLACEHOLDER so the module compiles while the real class is written (helper-18 replaces this file). */
public final class Certificates {
    public record Check(Kind kind, String detail) {
        public enum Kind { CONFIRMED, REFUTED, ABSENT }
    }

    private Certificates() {}

    public static Check dimacs(Path cnf, String stdout, Path modelFile) {
        return new Check(Check.Kind.ABSENT, "placeholder");
    }

    public static Optional<String> smtCheckScript(Path problem, String stdout) {
        return Optional.empty();
    }

    public static Check smtCheckResult(String checkerStdout) {
        return new Check(Check.Kind.ABSENT, "placeholder");
    }
}
