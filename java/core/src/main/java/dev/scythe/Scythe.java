package dev.scythe;

import dev.scythe.ffi.scythe_h;
import java.util.LinkedHashSet;
import java.util.Set;

/** Facts about the loaded native library: whether it loaded, its version and what the kernel offers. */
public final class Scythe {
    private Scythe() {}

    /** True when libscythe loaded and has the major version these bindings were generated for. */
    public static boolean isAvailable() {
        return NativeLibrary.cause() == null;
    }

    /** Why the library is unavailable, or null. */
    public static Throwable unavailabilityCause() {
        return NativeLibrary.cause();
    }

    /** The loaded library's version, "major.minor.patch". */
    public static String version() {
        NativeLibrary.ensure();
        int v = scythe_h.scythe_version();
        return (v >>> 16) + "." + ((v >>> 8) & 0xff) + "." + (v & 0xff);
    }

    /**
     * The pid of the guard process that kills every job should this JVM die (kill -9, OOM killer), or 0 when it
     * could not start ({@link #guardUnavailabilityCause()}) or before the first {@link Supervisor} opened: loading
     * the library starts no process.
     */
    public static int guardPid() {
        NativeLibrary.ensure();
        return scythe_h.scythe_guard_pid();
    }

    /** Why the guard is not running, or null. */
    public static Throwable guardUnavailabilityCause() {
        return NativeLibrary.guardCause();
    }

    /** Kernel and libc features probed once by the library, by name (for example {@code pidfd_open}). */
    public static Set<String> capabilities() {
        NativeLibrary.ensure();
        int caps = scythe_h.scythe_capabilities();
        Set<String> out = new LinkedHashSet<>();
        for (int bit = 0; bit < 32; bit++) {
            if ((caps & (1 << bit)) != 0) {
                java.lang.foreign.MemorySegment name = scythe_h.scythe_capability_name(1 << bit);
                // libscythe names its bits; a bit this version cannot name is shown by number, not dropped
                out.add(name.equals(java.lang.foreign.MemorySegment.NULL) ? "bit_" + bit
                        : name.reinterpret(Long.MAX_VALUE).getString(0));
            }
        }
        return out;
    }
}
