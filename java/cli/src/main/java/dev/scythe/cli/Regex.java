package dev.scythe.cli;

import dev.scythe.SuccessCriterion;

/** The CLI's one regex dialect: POSIX extended (grep -E), matched by libscythe, line by line. */
final class Regex {
    private Regex() {}

    /** Returns {@code regex} if it compiles as a POSIX extended regex; else names the option. */
    static String check(String option, String regex) {
        if (!SuccessCriterion.isValidPosixRegex(regex)) {
            throw new UsageException(option + ": invalid POSIX extended regex '" + regex + "'");
        }
        return regex;
    }
}
