package dev.scythe;

import java.nio.file.Path;
import java.time.Duration;
import java.util.function.BooleanSupplier;

/**
 * A stall window and the probes that can report progress within it (any combination). Built through
 * {@link ProcessSpec.Builder#stall}, {@link ProcessSpec.Builder#progressTree} and the other progress setters.
 *
 * @param window       the job is killed (Outcome.Stalled) when no probe reported progress for this long; null in a
 *                     template whose window is set per attempt ({@link Deepening}): the probes are then inert
 * @param tree         a directory: any change below it is progress (inotify, directories created later included)
 * @param walkTree     watch {@code tree} by walking its mtimes instead of inotify (network filesystems)
 * @param output       bytes on captured stdout/stderr are progress ...
 * @param outputRegex  ... or, if set, only lines matching this POSIX extended regex
 * @param heartbeat    a file whose first 8 bytes are a counter the job increments (scythe_heartbeat_beat)
 * @param predicate    polled every {@code pollEvery} on Scythe's probe thread; true means progress
 */
public record Progress(Duration window, Path tree, boolean walkTree, boolean output, String outputRegex,
                       Path heartbeat, BooleanSupplier predicate, Duration pollEvery) {}
