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
        String[] names = {"pidfd_open", "pidfd_send_signal", "waitid_pidfd", "close_range", "spawn_setsid",
            "spawn_closefrom", "spawn_chdir", "cgroup_kill", "cgroup_memory", "cgroup_pids"};
        for (int i = 0; i < names.length; i++) {
            if ((caps & (1 << i)) != 0) {
                out.add(names[i]);
            }
        }
        return out;
    }
}
