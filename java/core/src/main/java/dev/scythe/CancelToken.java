package dev.scythe;

import dev.scythe.ffi.scythe_h;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;
import java.lang.ref.Cleaner;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalInt;
import java.util.Collections;
import java.util.Set;
import java.util.WeakHashMap;

/**
 * A cancellation flag in native memory, shared by Java, the native loop and any other runtime that loaded
 * libscythe. Cancelling it kills, natively and at once, every job attached to it or to a descendant token.
 *
 * <p>{@link #isCancelled()} is one acquire load of native memory, no downcall. {@link #claim(int)} lets exactly
 * one of several racers win: the first claim cancels the token with {@link Reason#PREEMPTED}.
 *
 * <p>{@link #onCancel} callbacks run once, on the thread that cancelled through this class, or on a supervisor's
 * loop thread when the cancel came from elsewhere (another runtime, a parent token); they must not block. A child
 * token with callbacks is kept alive by its parent until they ran, so a child that nobody else references still runs
 * them when the parent is cancelled.
 */
public final class CancelToken {

    /**
     * Why a token (or a job) was cancelled: one of Scythe's reasons (codes below 256), or a host's own code (256 and
     * above), as the native word holds it.
     */
    public record Reason(int code) {
        /** Cancelled by the caller ({@link Job#cancel()}, {@link CancelToken#cancel()}). */
        public static final Reason USER = new Reason(1);
        /** A deadline passed. */
        public static final Reason TIMEOUT = new Reason(2);
        /** Another entrant claimed the race. */
        public static final Reason PREEMPTED = new Reason(3);
        /** The supervisor is closing. */
        public static final Reason SHUTDOWN = new Reason(4);

        public Reason {
            if (code <= 0) {
                throw new IllegalArgumentException("a cancel reason code is positive, got " + code);
            }
        }

        /** The reason with this code, as read from a token (any runtime may have set it). */
        public static Reason of(int code) {
            return switch (code) {
                case 1 -> USER;
                case 2 -> TIMEOUT;
                case 3 -> PREEMPTED;
                case 4 -> SHUTDOWN;
                default -> new Reason(code);
            };
        }

        /** A host's own reason: codes from 256 up (those below are Scythe's). */
        public static Reason host(int code) {
            if (code < 256) {
                throw new IllegalArgumentException("codes below 256 are Scythe's; a host's own start at 256, got "
                        + code);
            }
            return new Reason(code);
        }

        /** True for Scythe's own reasons. */
        public boolean isScythes() {
            return code < 256;
        }

        @Override
        public String toString() {
            return switch (code) {
                case 1 -> "user";
                case 2 -> "timeout";
                case 3 -> "preempted";
                case 4 -> "shutdown";
                default -> (code < 256 ? "scythe " : "host ") + code;
            };
        }
    }

    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "scythe-token-cleaner");
        t.setDaemon(true);
        return t;
    });
    private static final VarHandle STATE = ValueLayout.JAVA_LONG.varHandle();
    /**
     * All of memory, as one constant segment: the check then loads the word at {@link #stateAddress} with no
     * dependent load of a per-token segment object, whose bounds the JIT could not fold (decision 0012).
     */
    private static final MemorySegment ALL_MEMORY = MemorySegment.NULL.reinterpret(Long.MAX_VALUE);
    /** Tokens with pending callbacks; weak, so a token nobody can reach any more is not kept for them. */
    private static final Set<CancelToken> WATCHED = Collections.synchronizedSet(
            Collections.newSetFromMap(new WeakHashMap<>()));
    private static final System.Logger LOG = System.getLogger(CancelToken.class.getName());

    private final MemorySegment handle;
    private final long stateAddress; // of the native state word, valid until the Cleaner frees the token
    private final CancelToken parent; // keeps the Java parent reachable as long as a child is
    private List<Runnable> callbacks; // guarded by this; null once fired
    /**
     * Children with pending callbacks, held strongly: a child nobody else references can still be cancelled through
     * this token, and its callbacks must then run. Guarded by this.
     */
    private List<CancelToken> childrenWithCallbacks;

    /** A native call that makes a token into {@code out} and returns 0 or -errno. */
    private interface Maker {
        int make(MemorySegment out, Arena arena);
    }

    private CancelToken(CancelToken parent) {
        this(parent, "scythe_token_new",
                (out, arena) -> scythe_h.scythe_token_new(out, parent == null ? MemorySegment.NULL : parent.handle));
    }

    private CancelToken(CancelToken parent, String function, Maker maker) {
        NativeLibrary.ensure();
        this.parent = parent;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            NativeLibrary.check(maker.make(out, arena), function);
            this.handle = out.get(ValueLayout.ADDRESS, 0);
        }
        this.stateAddress = scythe_h.scythe_token_state_address(handle).address();
        MemorySegment h = handle;
        CLEANER.register(this, () -> scythe_h.scythe_token_free(h));
    }

    /** A new live token. */
    public static CancelToken create() {
        return new CancelToken(null);
    }

    /**
     * A new live token whose word lives in shared memory (a sealed memfd): another process (any runtime) that gets its
     * {@link #fd()} (inherited, or a job {@linkplain ProcessSpec.Builder#passToken handed} it) or opens it by name
     * ({@link #open}) holds the same token. A cancel or claim made there is one compare-and-set on the same word, and
     * every supervisor's loop with jobs attached to the token kills them at once, as for a cancel made here. The
     * {@link #onCancel} callbacks of a token cancelled elsewhere run when a supervisor's loop sees the cancel.
     */
    public static CancelToken shared() {
        return new CancelToken(null, "scythe_token_new_shared",
                (out, arena) -> scythe_h.scythe_token_new_shared(out, MemorySegment.NULL));
    }

    /**
     * Opens the shared token behind {@code fd} in this process (its own open of it; the caller keeps {@code fd}).
     * Throws a {@link ScytheException} naming {@code scythe_token_from_fd} if fd is no Scythe token.
     */
    public static CancelToken fromFd(int fd) {
        return new CancelToken(null, "scythe_token_from_fd", (out, arena) -> scythe_h.scythe_token_from_fd(out, fd));
    }

    /** Opens a shared token by name: a path that opens its file, such as {@code /proc/PID/fd/FD} of its holder. */
    public static CancelToken open(java.nio.file.Path path) {
        return new CancelToken(null, "scythe_token_open",
                (out, arena) -> scythe_h.scythe_token_open(out, arena.allocateFrom(path.toString())));
    }

    /** The token this process was handed by its supervisor ({@code SCYTHE_TOKEN_FD}), if any. */
    public static java.util.Optional<CancelToken> fromEnvironment() {
        String fd = System.getenv(scythe_h.SCYTHE_TOKEN_FD_ENV().getString(0));
        if (fd == null || fd.isEmpty()) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.of(new CancelToken(null, "scythe_token_from_env",
                (out, arena) -> scythe_h.scythe_token_from_env(out)));
    }

    /** Whether this token lives in shared memory ({@link #shared()}, {@link #fromFd}, {@link #open}). */
    public boolean isShared() {
        return fd().isPresent();
    }

    /**
     * The fd of a shared token's memfd (owned by the token: dup it to keep it; close-on-exec), for a host that hands
     * it to a child process itself; empty for a token that is not shared.
     */
    public OptionalInt fd() {
        int fd = scythe_h.scythe_token_fd(handle);
        java.lang.ref.Reference.reachabilityFence(this);
        return fd < 0 ? OptionalInt.empty() : OptionalInt.of(fd);
    }

    /** A token cancelled whenever this one is (with this one's reason), and cancellable on its own. */
    public CancelToken child() {
        return new CancelToken(this);
    }

    /** The parent token, or null. */
    public CancelToken parent() {
        return parent;
    }

    MemorySegment handle() {
        return handle;
    }

    /** Cancels with {@link Reason#USER}. Returns true if this call cancelled it. */
    public boolean cancel() {
        return cancel(Reason.USER);
    }

    /** Cancels with a reason ({@link Reason#host} for a host's own). True if this call cancelled it. */
    public boolean cancel(Reason reason) {
        boolean changed = scythe_h.scythe_token_cancel(handle, reason.code()) == 0;
        java.lang.ref.Reference.reachabilityFence(this); // the Cleaner must not free the token during the downcall
        pollWatched();
        return changed;
    }

    /** One acquire load of the native word. */
    public boolean isCancelled() {
        boolean cancelled = (long) STATE.getAcquire(ALL_MEMORY, stateAddress) != 0;
        java.lang.ref.Reference.reachabilityFence(this); // the Cleaner must not free the word during the load
        return cancelled;
    }

    /** The reason, once cancelled. */
    public java.util.Optional<Reason> reason() {
        long s = (long) STATE.getAcquire(ALL_MEMORY, stateAddress);
        java.lang.ref.Reference.reachabilityFence(this);
        return s == 0 ? java.util.Optional.empty() : java.util.Optional.of(Reason.of((int) s));
    }

    /**
     * Claims a race for entrant {@code index} (>= 0). Exactly one claim on a token succeeds, and only if the token
     * was not cancelled before; the winning claim cancels the token with {@link Reason#PREEMPTED}.
     */
    public boolean claim(int index) {
        if (index < 0) {
            throw new IllegalArgumentException("claim index must be >= 0, got " + index);
        }
        boolean won = scythe_h.scythe_token_claim(handle, index) == 0;
        java.lang.ref.Reference.reachabilityFence(this);
        pollWatched();
        return won;
    }

    /** The index of the winning claim, if any. */
    public OptionalInt winner() {
        int w = scythe_h.scythe_token_winner(handle);
        java.lang.ref.Reference.reachabilityFence(this);
        return w < 0 ? OptionalInt.empty() : OptionalInt.of(w);
    }

    /** Runs {@code action} once when the token is cancelled; at once, here, if it already is. */
    public void onCancel(Runnable action) {
        synchronized (this) {
            if (callbacks == null && !isCancelled()) {
                callbacks = new ArrayList<>();
            }
            if (callbacks != null) {
                callbacks.add(action);
                WATCHED.add(this);
                action = null;
            }
        }
        if (action == null && parent != null) {
            parent.holdChild(this);
        }
        if (action != null) {
            run(action);
        } else if (isCancelled()) {
            fire();
        }
    }

    private synchronized void holdChild(CancelToken child) {
        if (childrenWithCallbacks == null) {
            childrenWithCallbacks = new ArrayList<>();
        }
        if (!childrenWithCallbacks.contains(child)) {
            childrenWithCallbacks.add(child);
        }
    }

    private synchronized void releaseChild(CancelToken child) {
        if (childrenWithCallbacks != null) {
            childrenWithCallbacks.remove(child);
        }
    }

    private void fire() {
        List<Runnable> todo;
        synchronized (this) {
            todo = callbacks;
            callbacks = null;
        }
        WATCHED.remove(this);
        if (parent != null) {
            parent.releaseChild(this);
        }
        if (todo != null) {
            todo.forEach(CancelToken::run);
        }
    }

    private static void run(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException | Error e) {
            LOG.log(System.Logger.Level.WARNING, "onCancel callback failed", e);
        }
    }

    /** Fires the callbacks of every watched token that is now cancelled. */
    static void pollWatched() {
        if (WATCHED.isEmpty()) {
            return;
        }
        List<CancelToken> snapshot;
        synchronized (WATCHED) {
            snapshot = new ArrayList<>(WATCHED);
        }
        for (CancelToken t : snapshot) {
            if (t.isCancelled()) {
                t.fire();
            }
        }
    }

    @Override
    public String toString() {
        return reason().map(r -> "CancelToken[cancelled, " + r + "]").orElse("CancelToken[live]");
    }
}
