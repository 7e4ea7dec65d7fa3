package dev.scythe.cli;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import dev.scythe.CancelToken;
import java.util.function.Consumer;
import sun.misc.Signal;

/**
 * SIGINT, SIGTERM and SIGHUP end the command's jobs, as in coreutils {@code timeout}: each job leads its own
 * session, so a terminal's Ctrl-C reaches only scythe, which passes it on to every job and exits 128+N.
 *
 * <p>A signal that scythe inherited ignored stays ignored, as in coreutils 9.10 and later and in every program
 * started as a background job: a shell starts {@code scythe run ... &} with SIGINT and SIGQUIT ignored, so that a
 * Ctrl-C meant for the foreground does not reach it. Such a scythe is stopped with SIGTERM ({@code kill}'s default),
 * which it handles unless that too was ignored (docs/decisions/0013-inherited-ignored-signals.md).
 */
final class Interrupts {
    private static final List<String> SIGNALS = List.of("INT", "TERM", "HUP");
    private final AtomicInteger received = new AtomicInteger();

    /** The cancel reason for signal N: a host's own code, 256 + N (codes below 256 are Scythe's). */
    static CancelToken.Reason reason(int signal) {
        return CancelToken.Reason.host(256 + signal);
    }

    /**
     * Installs the handlers; {@code onSignal} gets the reason for the signal ({@link #reason}) on the JVM's signal
     * thread and must not block.
     */
    Interrupts(Consumer<CancelToken.Reason> onSignal) {
        for (String name : SIGNALS) {
            // The JVM installs no handler for a signal that was ignored when it started: that one stays ignored.
            Signal.handle(new Signal(name), s -> {
                received.compareAndSet(0, s.getNumber());
                onSignal.accept(reason(s.getNumber()));
            });
        }
    }

    /** 128+N for the first signal received, or 0. */
    int status() {
        int n = received.get();
        return n == 0 ? 0 : 128 + n;
    }
}
