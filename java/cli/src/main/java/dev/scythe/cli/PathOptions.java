package dev.scythe.cli;

import dev.scythe.OsStrings;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * The types of path options. A path is made from the argument's bytes ({@link Arg#bytes}), never from text in the
 * JVM's charset, so a name that is not UTF-8 still names its file; each type checks what its options need.
 */
final class PathOptions {
    private PathOptions() {}

    static Path path(String text) {
        try {
            return OsStrings.path(Arg.bytes(text));
        } catch (IllegalArgumentException e) { // empty, or a NUL
            throw new TypeConversionException(e.getMessage());
        }
    }

    /** Any path ({@code --out}). */
    static final class Any implements ITypeConverter<Path> {
        @Override
        public Path convert(String text) {
            return path(text);
        }
    }

    /** An existing directory ({@code --progress}, {@code --dossier}, {@code --corpus}). */
    static final class Directory implements ITypeConverter<Path> {
        @Override
        public Path convert(String text) {
            Path p = path(text);
            if (!Files.isDirectory(p)) {
                throw new TypeConversionException("no directory '" + Arg.display(text) + "'"
                        + (Files.exists(p) ? " (it is not a directory)" : ""));
            }
            return p;
        }
    }

    /** A file, existing or not, in an existing directory ({@code --heartbeat}). */
    static final class FileInDirectory implements ITypeConverter<Path> {
        @Override
        public Path convert(String text) {
            Path p = path(text);
            if (Files.isDirectory(p)) {
                throw new TypeConversionException("'" + Arg.display(text) + "' is a directory; give a file");
            }
            if (p.getParent() == null || !Files.isDirectory(p.getParent())) {
                throw new TypeConversionException("no directory for '" + Arg.display(text) + "'");
            }
            return p;
        }
    }
}
