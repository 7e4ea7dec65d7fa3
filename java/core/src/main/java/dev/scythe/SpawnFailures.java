package dev.scythe;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Why a job could not start, in words. libscythe decides (it opens every file and directory itself and returns
 * -errno); Java only explains a failure afterwards, naming the path that is missing, so nothing is checked twice
 * and no check can race with the spawn. The one exception is the dossier directory, which libscythe only uses when
 * a job overruns: a missing one is refused before the spawn, not found missing at the worst moment.
 */
final class SpawnFailures {
    private SpawnFailures() {}

    /** An outcome for a spec that must not start at all, or null. */
    static Outcome before(ProcessSpec spec) {
        if (spec.dossierDir() != null && !Files.isDirectory(spec.dossierDir())) {
            return new Outcome.SpawnFailed(Outcome.Errno.ENOENT, "no dossier directory " + spec.dossierDir());
        }
        return null;
    }

    /** The outcome of a spawn that returned {@code rc} < 0. */
    static Outcome after(ProcessSpec spec, int rc) {
        if (rc == -Outcome.Errno.ECANCELED && spec.token() != null) {
            return Events.cancelled(spec.token(), 0, Usage.NONE);
        }
        String program = spec.command().get(0);
        if (dev.scythe.ffi.scythe_h.scythe_error_is_unsupported(rc) != 0) {
            return new Outcome.SpawnFailed(-rc, "cannot start " + program + " at the cgroup level: this machine "
                    + "offers " + Scythe.capabilities() + " (see docs/containment.md)");
        }
        String missing = rc == -Outcome.Errno.ENOENT ? missingPath(spec) : null;
        return new Outcome.SpawnFailed(-rc, missing != null ? "cannot start " + program + ": " + missing
                : "cannot start " + program + ": " + NativeLibrary.strerror(rc));
    }

    /** The first path of the spec that does not exist where it must, in words; null if all do (the program is missing). */
    private static String missingPath(ProcessSpec spec) {
        List<String> found = new ArrayList<>();
        if (spec.directory() != null && !Files.isDirectory(spec.directory())) {
            found.add("no working directory " + spec.directory());
        }
        if (spec.stdin() instanceof Redirect.File f && !Files.exists(f.path())) {
            found.add("no stdin file " + f.path());
        }
        for (Redirect r : List.of(spec.stdout(), spec.stderr())) {
            if (r instanceof Redirect.File f && !Files.isDirectory(parent(f.path()))) {
                found.add("no directory for output file " + f.path());
            }
        }
        Progress p = spec.progress();
        if (p != null && p.tree() != null && !Files.isDirectory(p.tree())) {
            found.add("no progress directory " + p.tree());
        }
        if (p != null && p.heartbeat() != null && !Files.isDirectory(parent(p.heartbeat()))) {
            found.add("no directory for heartbeat file " + p.heartbeat());
        }
        return found.isEmpty() ? null : String.join("; ", found);
    }

    private static Path parent(Path p) {
        return p.getParent() == null ? p : p.getParent();
    }
}
