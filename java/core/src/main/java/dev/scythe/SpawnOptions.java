package dev.scythe;

import dev.scythe.ffi.scythe_h;
import dev.scythe.ffi.scythe_spawn_options;
import dev.scythe.ffi.scythe_stdio;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.time.Duration;
import java.util.List;

/**
 * A {@link ProcessSpec} written into a native {@code scythe_spawn_options} (the header documents every field): the
 * one place a new spawn option touches on the Java side, beside its builder method.
 */
final class SpawnOptions {
    private SpawnOptions() {}

    /** The options for {@code spec}, allocated in {@code arena}; {@code id} comes back as the event's user_data. */
    static MemorySegment marshal(Arena arena, ProcessSpec spec, long id) {
        MemorySegment o = scythe_spawn_options.allocate(arena);
        scythe_h.scythe_spawn_options_init(o);
        scythe_spawn_options.argv(o, cStrings(arena, spec.argv()));
        if (spec.environment() != null) {
            scythe_spawn_options.envp(o, cStrings(arena, spec.environment().entrySet().stream()
                    .map(e -> (e.getKey() + "=" + e.getValue()).getBytes(java.nio.charset.StandardCharsets.UTF_8))
                    .toList()));
        }
        if (spec.directory() != null) {
            scythe_spawn_options.cwd(o, cPath(arena, spec.directory()));
        }
        Redirect[] stdio = {spec.stdin(), spec.stdout(), spec.stderr()};
        long head = 0, tail = 0;
        for (int i = 0; i < 3; i++) {
            MemorySegment s = scythe_spawn_options.stdio(o).asSlice(i * scythe_stdio.sizeof(), scythe_stdio.sizeof());
            switch (stdio[i]) {
                case Redirect.Discard d -> scythe_stdio.mode(s, scythe_h.SCYTHE_STDIO_NULL());
                case Redirect.Inherit in -> scythe_stdio.mode(s, scythe_h.SCYTHE_STDIO_INHERIT());
                case Redirect.Capture c -> {
                    scythe_stdio.mode(s, scythe_h.SCYTHE_STDIO_PIPE());
                    head = Math.max(head, c.headBytes());
                    tail = Math.max(tail, c.tailBytes());
                }
                case Redirect.File f -> {
                    scythe_stdio.mode(s, f.append() ? scythe_h.SCYTHE_STDIO_FILE_APPEND() : scythe_h.SCYTHE_STDIO_FILE());
                    scythe_stdio.path(s, cPath(arena, f.path()));
                }
                case Redirect.Channel c -> scythe_stdio.mode(s, scythe_h.SCYTHE_STDIO_CHANNEL());
                case Redirect.Bytes b -> {
                    scythe_stdio.mode(s, scythe_h.SCYTHE_STDIO_PIPE());
                    MemorySegment data = arena.allocate(Math.max(1, b.data().length));
                    MemorySegment.copy(b.data(), 0, data, ValueLayout.JAVA_BYTE, 0, b.data().length);
                    scythe_stdio.input(s, data);
                    scythe_stdio.input_len(s, b.data().length);
                }
            }
        }
        scythe_spawn_options.head_bytes(o, head);
        scythe_spawn_options.tail_bytes(o, tail);
        if (spec.timeout() != null) {
            scythe_spawn_options.timeout_ns(o, nanos(spec.timeout()));
        }
        scythe_spawn_options.grace_ns(o, spec.grace().isZero() ? -1 : nanos(spec.grace()));
        if (spec.token() != null) {
            scythe_spawn_options.token(o, spec.token().handle());
            scythe_spawn_options.pass_token(o, spec.passToken() ? 1 : 0);
        }
        scythe_spawn_options.user_data(o, id);
        Progress p = spec.progress();
        if (p != null && p.window() != null) { // probes without a window are inert
            int probes = 0;
            scythe_spawn_options.stall_ns(o, nanos(p.window()));
            if (p.tree() != null) {
                probes |= scythe_h.SCYTHE_PROBE_TREE() | (p.walkTree() ? scythe_h.SCYTHE_PROBE_TREE_WALK() : 0);
                scythe_spawn_options.progress_tree(o, cPath(arena, p.tree()));
            }
            if (p.output()) {
                probes |= scythe_h.SCYTHE_PROBE_OUTPUT();
                if (p.outputRegex() != null) {
                    scythe_spawn_options.progress_regex(o, arena.allocateFrom(p.outputRegex()));
                }
            }
            if (p.heartbeat() != null) {
                probes |= scythe_h.SCYTHE_PROBE_HEARTBEAT();
                scythe_spawn_options.heartbeat_path(o, cPath(arena, p.heartbeat()));
            }
            if (p.predicate() != null) {
                probes |= scythe_h.SCYTHE_PROBE_HOST();
            }
            scythe_spawn_options.probes(o, probes);
        }
        if (spec.cpuLimit() != null) {
            scythe_spawn_options.cpu_limit_ns(o, nanos(spec.cpuLimit()));
        }
        if (spec.dossierDir() != null) {
            scythe_spawn_options.dossier_dir(o, cPath(arena, spec.dossierDir()));
        }
        scythe_spawn_options.containment(o, switch (spec.containment()) {
            case SESSION -> scythe_h.SCYTHE_CONTAIN_SESSION();
            case CGROUP -> scythe_h.SCYTHE_CONTAIN_CGROUP();
            case BEST -> scythe_h.SCYTHE_CONTAIN_BEST();
        });
        scythe_spawn_options.memory_limit_bytes(o, spec.memoryLimit());
        scythe_spawn_options.process_limit(o, spec.processLimit());
        if (spec.claimIndex() >= 0) {
            scythe_spawn_options.claim_index(o, spec.claimIndex());
            long[] words = spec.claimExitCodes().toLongArray();
            // Through the field's slice: the generated indexed setter of this jextract writes relative to the
            // struct's start, not the field's.
            MemorySegment codes = scythe_spawn_options.claim_exit_codes(o);
            for (int w = 0; w < Math.min(4, words.length); w++) {
                codes.setAtIndex(ValueLayout.JAVA_LONG, w, words[w]);
            }
        }
        return o;
    }

    private static long nanos(Duration d) {
        try {
            return d.toNanos();
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE / 2; // centuries: no limit in practice
        }
    }

    /** A NULL-terminated array of NUL-terminated byte strings, byte for byte. */
    private static MemorySegment cStrings(Arena arena, List<byte[]> values) {
        MemorySegment array = arena.allocate(ValueLayout.ADDRESS, values.size() + 1L);
        for (int i = 0; i < values.size(); i++) {
            array.setAtIndex(ValueLayout.ADDRESS, i, cString(arena, values.get(i)));
        }
        array.setAtIndex(ValueLayout.ADDRESS, values.size(), MemorySegment.NULL);
        return array;
    }

    private static MemorySegment cString(Arena arena, byte[] bytes) {
        MemorySegment s = arena.allocate(bytes.length + 1L);
        MemorySegment.copy(bytes, 0, s, ValueLayout.JAVA_BYTE, 0, bytes.length);
        s.set(ValueLayout.JAVA_BYTE, bytes.length, (byte) 0);
        return s;
    }

    /** A path's own bytes (see {@link OsStrings}), not its text re-encoded. */
    private static MemorySegment cPath(Arena arena, java.nio.file.Path path) {
        return cString(arena, OsStrings.bytes(path));
    }
}
