package dev.scythe;

import dev.scythe.ffi.scythe_h;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Locale;

/**
 * Loads libscythe once: from {@code -Dscythe.library.path=/path/libscythe.so} if set, else from the jar's
 * {@code META-INF/native/<platform>/libscythe.so}, extracted to a private temporary file. A failure is remembered
 * and reported by {@link Scythe#unavailabilityCause()}, not thrown from class initialisation; every later use
 * throws it wrapped in an {@link UnsatisfiedLinkError}.
 */
final class NativeLibrary {
    static final String PATH_PROPERTY = "scythe.library.path";
    private static final Throwable CAUSE = load();

    private NativeLibrary() {}

    static Throwable cause() {
        return CAUSE;
    }

    static void ensure() {
        if (CAUSE != null) {
            UnsatisfiedLinkError e = new UnsatisfiedLinkError("libscythe is unavailable: " + CAUSE.getMessage());
            e.initCause(CAUSE);
            throw e;
        }
    }

    /** Throws a {@link ScytheException} for a negative return value of a native call. */
    static int check(int rc, String function) {
        if (rc < 0) {
            throw new ScytheException(function, rc, strerror(rc));
        }
        return rc;
    }

    static String strerror(int rc) {
        return scythe_h.scythe_strerror(rc).reinterpret(Long.MAX_VALUE).getString(0);
    }

    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String a = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> null;
        };
        if (!os.startsWith("linux") || a == null) {
            throw new UnsupportedOperationException("Scythe has no native library for platform " + os + "-" + arch
                    + "; supported: linux-x86_64, linux-aarch64 (set -D" + PATH_PROPERTY + " to use your own build)");
        }
        return "linux-" + a;
    }

    private static Throwable guardCause;

    private static Throwable load() {
        try {
            String override = System.getProperty(PATH_PROPERTY);
            Path lib = override != null ? Path.of(override).toAbsolutePath() : extract(platform(), "libscythe.so");
            System.load(lib.toString());
            checkVersion(scythe_h.scythe_version());
            Path guard = lib.resolveSibling("scythe-guard");
            if (override == null) {
                extract(platform(), "scythe-guard", lib.getParent());
            }
            guardCause = startGuard(guard);
            if (override == null) {
                Files.deleteIfExists(lib); // mapped, and the guard runs: nothing to clean up later
                Files.deleteIfExists(guard);
                Files.deleteIfExists(lib.getParent());
            }
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /** Starts the guard that kills every job if this JVM dies; returns why it could not start, or null. */
    private static Throwable startGuard(Path guard) {
        if (!Files.isExecutable(guard) && !guard.toFile().setExecutable(true, true)) {
            return new IllegalStateException("no executable guard at " + guard);
        }
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            int rc = scythe_h.scythe_guard_start(arena.allocateFrom(guard.toString()));
            return rc == 0 ? null : new ScytheException("scythe_guard_start", rc, strerror(rc));
        }
    }

    static Throwable guardCause() {
        return guardCause;
    }

    static void checkVersion(int version) {
        int major = version >>> 16;
        if (major != scythe_h.SCYTHE_VERSION_MAJOR()) {
            throw new UnsatisfiedLinkError("libscythe version " + major + "." + ((version >>> 8) & 0xff) + "."
                    + (version & 0xff) + " was loaded, but these bindings need major version "
                    + scythe_h.SCYTHE_VERSION_MAJOR());
        }
    }

    private static Path extract(String platform, String name) throws IOException {
        Path dir = Files.createTempDirectory("scythe-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        return extract(platform, name, dir);
    }

    private static Path extract(String platform, String name, Path dir) throws IOException {
        String resource = "/META-INF/native/" + platform + "/" + name;
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new UnsupportedOperationException("no " + resource + " on the class path for platform "
                        + platform + " (is the scythe-native jar missing?)");
            }
            Path file = dir.resolve(name);
            Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
            return file;
        }
    }
}
