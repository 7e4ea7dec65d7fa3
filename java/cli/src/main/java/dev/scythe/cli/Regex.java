package dev.scythe.cli;

import dev.scythe.SuccessCriterion;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/** The CLI's one regex dialect, as an option type: POSIX extended (grep -E), matched by libscythe, line by line. */
final class Regex implements ITypeConverter<String> {
    /** Returns {@code regex} if it compiles as a POSIX extended regex; the empty one matches anything. */
    @Override
    public String convert(String regex) {
        if (!regex.isEmpty() && !SuccessCriterion.isValidPosixRegex(regex)) {
            throw new TypeConversionException("invalid POSIX extended regex '" + regex + "'");
        }
        return regex;
    }
}
