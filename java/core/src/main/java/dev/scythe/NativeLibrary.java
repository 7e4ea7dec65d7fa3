package dev.scythe;

import dev.scythe.ffi.scythe_abi_entry;
import dev.scythe.ffi.scythe_event;
import dev.scythe.ffi.scythe_h;
import dev.scythe.ffi.scythe_output;
import dev.scythe.ffi.scythe_spawn_options;
import dev.scythe.ffi.scythe_stdio;
import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Loads libscythe once: from {@code -Dscythe.library.path=/path/libscythe.so} if set, else from the jar's
 * {@code META-INF/native/<platform>/}, extracted once into a versioned cache directory (below) and loaded from there.
 * A failure is remembered and reported by {@link Scythe#unavailabilityCause()}, not thrown from class
 * initialisation; every later use throws it wrapped in an {@link UnsatisfiedLinkError}.
 *
 * <p>The cache directory is {@code -Dscythe.native.dir}, else {@code $SCYTHE_NATIVE_DIR}, else
 * {@code $XDG_CACHE_HOME/scythe} or {@code ~/.cache/scythe}; the files go to {@code native/VERSION-HASH/PLATFORM/}
 * in it, named by the library version and a hash of their contents, so two versions never share a file and a jar
 * loaded again finds its files in place. Not {@code /tmp}: it is often mounted {@code noexec}.
 *
 * <p>Loading the library starts nothing; the guard process starts when the first {@link Supervisor} opens.
 */
final class NativeLibrary {
    static final String PATH_PROPERTY = "scythe.library.path";
    static final String DIR_PROPERTY = "scythe.native.dir";
    static final String DIR_ENV = "SCYTHE_NATIVE_DIR";
    private static final String[] FILES = {"libscythe.so", "scythe-guard"};
    private static Path guardExe; // set once by load()
    private static Path libraryPath; // set once by load()
    private static final Throwable CAUSE = load();
    private static Throwable guardCause; // guarded by NativeLibrary.class
    private static boolean guardTried;   // guarded by NativeLibrary.class

    private NativeLibrary() {}

    /** The libscythe this JVM loaded (for other runtimes started by tests, which load the same file). */
    static Path libraryPath() {
        ensure();
        return libraryPath;
    }

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

    private static Throwable load() {
        try {
            String override = System.getProperty(PATH_PROPERTY);
            Path lib = override != null ? Path.of(override).toAbsolutePath() : extract(platform());
            try {
                System.load(lib.toString());
            } catch (UnsatisfiedLinkError e) {
                UnsatisfiedLinkError named = new UnsatisfiedLinkError("cannot load " + lib + ": " + e.getMessage()
                        + " (on a noexec filesystem? move the files with -D" + DIR_PROPERTY + " or " + DIR_ENV + ")");
                named.initCause(e);
                throw named;
            }
            checkVersion(scythe_h.scythe_version());
            checkAbi(scythe_h.scythe_abi_version(), abiTable());
            guardExe = lib.resolveSibling("scythe-guard");
            libraryPath = lib;
            return null;
        } catch (Throwable t) {
            return t;
        }
    }

    /**
     * Starts the guard that kills every job if this JVM dies, once, when the first supervisor opens; remembers why it
     * could not start.
     */
    static synchronized void ensureGuard() {
        if (guardTried) {
            return;
        }
        guardTried = true;
        if (!Files.isExecutable(guardExe) && !guardExe.toFile().setExecutable(true, true)) {
            guardCause = new IllegalStateException("no executable guard at " + guardExe);
            return;
        }
        try (java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            int rc = scythe_h.scythe_guard_start(arena.allocateFrom(guardExe.toString()));
            guardCause = rc == 0 ? null : new ScytheException("scythe_guard_start", rc, strerror(rc));
        }
    }

    static synchronized Throwable guardCause() {
        return guardTried ? guardCause : new IllegalStateException("no supervisor has been opened yet");
    }

    static void checkVersion(int version) {
        int major = version >>> 16;
        if (major != scythe_h.SCYTHE_VERSION_MAJOR()) {
            throw new UnsatisfiedLinkError("libscythe version " + major + "." + ((version >>> 8) & 0xff) + "."
                    + (version & 0xff) + " was loaded, but these bindings need major version "
                    + scythe_h.SCYTHE_VERSION_MAJOR());
        }
    }

    /** One row of the library's ABI table: a struct (field null) and its size, or a field's offset and size. */
    record AbiRow(String type, String field, long offset, long size) {}

    /** The layouts these bindings were generated with, by struct name (a method: load() runs before any field). */
    private static Map<String, GroupLayout> layouts() {
        return Map.of("scythe_abi_entry", scythe_abi_entry.layout(), "scythe_event", scythe_event.layout(),
                "scythe_output", scythe_output.layout(), "scythe_spawn_options", scythe_spawn_options.layout(),
                "scythe_stdio", scythe_stdio.layout());
    }

    static List<AbiRow> abiTable() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment count = arena.allocate(ValueLayout.JAVA_LONG);
            check(scythe_h.scythe_abi_table(out, count), "scythe_abi_table");
            long n = count.get(ValueLayout.JAVA_LONG, 0), size = scythe_abi_entry.sizeof();
            MemorySegment table = out.get(ValueLayout.ADDRESS, 0).reinterpret(n * size);
            List<AbiRow> rows = new ArrayList<>((int) n);
            for (long i = 0; i < n; i++) {
                MemorySegment e = table.asSlice(i * size, size);
                MemorySegment field = scythe_abi_entry.field_name(e);
                rows.add(new AbiRow(scythe_abi_entry.type_name(e).reinterpret(256).getString(0),
                        field.equals(MemorySegment.NULL) ? null : field.reinterpret(256).getString(0),
                        Integer.toUnsignedLong(scythe_abi_entry.offset(e)), Integer.toUnsignedLong(scythe_abi_entry.size(e))));
            }
            return rows;
        }
    }

    /**
     * Refuses a library whose ABI these bindings cannot use: another ABI major, an older minor, or a struct that
     * differs from the layout the bindings were generated with (a field they know at another offset or size, or a
     * struct smaller than theirs). Fields the bindings do not know (a newer minor's) are not theirs to check.
     */
    static void checkAbi(int abiVersion, List<AbiRow> rows) {
        int major = abiVersion >>> 16, minor = abiVersion & 0xffff;
        String want = scythe_h.SCYTHE_ABI_MAJOR() + "." + scythe_h.SCYTHE_ABI_MINOR();
        if (major != scythe_h.SCYTHE_ABI_MAJOR() || minor < scythe_h.SCYTHE_ABI_MINOR()) {
            throw new UnsatisfiedLinkError("libscythe has ABI " + major + "." + minor + "; these bindings need ABI "
                    + want + " or a later minor of it");
        }
        Map<String, GroupLayout> layouts = layouts();
        for (AbiRow row : rows) {
            GroupLayout layout = layouts.get(row.type());
            if (layout == null) {
                continue;
            }
            if (row.field() == null) {
                if (row.size() < layout.byteSize()) {
                    throw new UnsatisfiedLinkError("libscythe's " + row.type() + " has " + row.size()
                            + " bytes, these bindings' (ABI " + want + ") " + layout.byteSize());
                }
                continue;
            }
            long offset = 0; // the members of a struct layout follow each other, padding included
            for (MemoryLayout m : layout.memberLayouts()) {
                if (m.name().orElse("").equals(row.field())
                        && (offset != row.offset() || m.byteSize() != row.size())) {
                    throw new UnsatisfiedLinkError("libscythe's " + row.type() + "." + row.field() + " is at offset "
                            + row.offset() + " with " + row.size() + " bytes; these bindings (ABI " + want
                            + ") have it at " + offset + " with " + m.byteSize());
                }
                offset += m.byteSize();
            }
        }
    }

    /** The cache directory: the property, else the environment variable, else the user's cache directory. */
    static Path cacheRoot() {
        String dir = System.getProperty(DIR_PROPERTY);
        if (dir == null || dir.isEmpty()) {
            dir = System.getenv(DIR_ENV);
        }
        if (dir != null && !dir.isEmpty()) {
            return Path.of(dir).toAbsolutePath();
        }
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = xdg != null && !xdg.isEmpty() ? Path.of(xdg) : Path.of(System.getProperty("user.home"), ".cache");
        return base.resolve("scythe").toAbsolutePath();
    }

    /**
     * Extracts the platform's files into {@code cacheRoot()/native/VERSION-HASH/PLATFORM/} unless they are there
     * already, each written to a temporary name and moved in place, so concurrent JVMs never see half a file. HASH and
     * the sizes come from the jar's {@code files} list, written when the native files were built: a start that finds
     * them in place reads neither the jar's copies nor the cached ones (decision 0018).
     */
    private static Path extract(String platform) throws IOException {
        String prefix = "/META-INF/native/" + platform + "/";
        List<String[]> files = new java.util.ArrayList<>(); // name, size, sha-256
        try (InputStream in = NativeLibrary.class.getResourceAsStream(prefix + "files")) {
            if (in == null) {
                throw new UnsupportedOperationException("no " + prefix + "files in the Scythe jar for platform "
                        + platform);
            }
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String[] f = line.trim().split(" ");
                if (f.length == 3) {
                    files.add(f);
                }
            }
        }
        if (files.size() != FILES.length || !files.get(0)[0].equals(FILES[0]) || !files.get(1)[0].equals(FILES[1])) {
            throw new IllegalStateException("the Scythe jar's " + prefix + "files does not list " + List.of(FILES));
        }
        String version = scythe_h.SCYTHE_VERSION_MAJOR() + "." + scythe_h.SCYTHE_VERSION_MINOR() + "."
                + scythe_h.SCYTHE_VERSION_PATCH();
        String hash = files.get(0)[2].substring(0, 8) + files.get(1)[2].substring(0, 8);
        Path dir = cacheRoot().resolve("native").resolve(version + "-" + hash).resolve(platform);
        Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        for (String[] f : files) {
            Path file = dir.resolve(f[0]);
            if (Files.isRegularFile(file) && Files.size(file) == Long.parseLong(f[1])) {
                continue; // extracted before, by this or another JVM: moved in place whole, named by its content
            }
            byte[] contents;
            try (InputStream in = NativeLibrary.class.getResourceAsStream(prefix + f[0])) {
                if (in == null) {
                    throw new UnsupportedOperationException("no " + prefix + f[0] + " in the Scythe jar");
                }
                contents = in.readAllBytes();
            }
            String sha;
            try {
                sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(contents));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
            if (!sha.equals(f[2])) {
                throw new IllegalStateException("the Scythe jar's " + prefix + f[0] + " does not match its SHA-256 in "
                        + prefix + "files: a damaged jar?");
            }
            Path tmp = Files.createTempFile(dir, f[0], ".part");
            Files.write(tmp, contents);
            tmp.toFile().setExecutable(true, true);
            try {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (AtomicMoveNotSupportedException e) {
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING);
            }
        }
        return dir.resolve(FILES[0]);
    }
}
