package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Shared tokens across processes and runtimes: Java makes the token and attaches jobs; a Python process (the
 * binding in bindings/python, loading the same libscythe) cancels it, and the Java jobs die at once.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class SharedTokenTest {
    private static final Path PYTHON_BINDING = Path.of("../../bindings/python").toAbsolutePath().normalize();

    @Test
    void oneWordWhateverOpensIt() {
        CancelToken shared = CancelToken.shared();
        assertTrue(shared.isShared() && shared.fd().isPresent());
        assertFalse(CancelToken.create().isShared());
        CancelToken again = CancelToken.fromFd(shared.fd().getAsInt());
        CancelToken byName = CancelToken.open(Path.of("/proc/self/fd/" + shared.fd().getAsInt()));
        assertTrue(again.cancel(CancelToken.Reason.host(300)));
        assertTrue(shared.isCancelled() && byName.isCancelled());
        assertEquals(CancelToken.Reason.host(300), byName.reason().orElseThrow());
        ScytheException notAToken = assertThrows(ScytheException.class, () -> CancelToken.fromFd(0));
        assertEquals("scythe_token_from_fd", notAToken.function());
    }

    @Test
    void onlyASharedTokenCanBeHandedToAJob() {
        var e = assertThrows(IllegalArgumentException.class, () -> ProcessSpec.builder("true")
                .token(CancelToken.create()).passToken(true).build());
        assertTrue(e.getMessage().contains("shared"), e.getMessage());
    }

    /** A Python canceller, handed the token (fd 3) as a job of the same supervisor. */
    private static ProcessSpec pythonCanceller(CancelToken token, String script) {
        return ProcessSpec.builder("python3", "-c", "import scythe\n" + script)
                .environment(Map.of("PYTHONPATH", PYTHON_BINDING.toString(), "SCYTHE_LIBRARY",
                        NativeLibrary.libraryPath().toString(), "PATH", System.getenv("PATH")))
                .token(token).passToken(true).containment(Containment.SESSION).build();
    }

    @Test
    void aPythonProcessCancelsJavaJobs() throws Exception {
        Leaks.Snapshot before = Leaks.take();
        try (Supervisor supervisor = new Supervisor()) {
            CancelToken token = CancelToken.shared();
            CancelToken child = token.child();
            List<Job> sleepers = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                sleepers.add(supervisor.start(ProcessSpec.builder("sleep", "30").token(i == 0 ? child : token)
                        .build()));
            }
            Job canceller = supervisor.start(pythonCanceller(token,
                    "t = scythe.Token.from_env()\nassert t.cancel(4242)\nassert t.is_cancelled()\n"));
            long t0 = System.nanoTime();
            for (Job j : sleepers) {
                Outcome o = j.await();
                var c = assertInstanceOf(Outcome.Cancelled.class, o, o.toString());
                assertEquals(CancelToken.Reason.host(4242), c.reason());
            }
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertTrue(ms < 20_000, "the jobs outlived the Python cancel by " + ms + " ms");
            Outcome own = canceller.await(); // it cancelled the token it ran under
            assertTrue(own instanceof Outcome.Cancelled || own instanceof Outcome.Success, own.toString());
            assertTrue(token.isCancelled() && child.isCancelled());
            for (Job j : sleepers) {
                Leaks.assertSessionGone(j.pid());
            }
        }
        Leaks.assertNoneSince(before);
    }

    @Test
    void aCancellerKilledWithSigkillLeavesNothingHung() throws Exception {
        Leaks.Snapshot before = Leaks.take();
        try (Supervisor supervisor = new Supervisor()) {
            CancelToken token = CancelToken.shared();
            Job sleeper = supervisor.start(ProcessSpec.builder("sleep", "30").token(token).build());
            // It opens the token, says so on its stdout channel, then waits to be killed, holding it; its own token is
            // another.
            CancelToken own = CancelToken.shared();
            java.util.concurrent.CountDownLatch holding = new java.util.concurrent.CountDownLatch(1);
            Job victim = supervisor.start(ProcessSpec.builder("python3", "-c", String.join("\n",
                    "import os, sys, time, scythe",
                    "t = scythe.Token.from_fd(int(sys.argv[1]))",
                    "print('holding', flush=True)",
                    "time.sleep(60)"), "3")
                    .environment(Map.of("PYTHONPATH", PYTHON_BINDING.toString(), "SCYTHE_LIBRARY",
                            NativeLibrary.libraryPath().toString(), "PATH", System.getenv("PATH")))
                    .stdout(Redirect.channel(bytes -> {
                        if (new String(bytes, java.nio.charset.StandardCharsets.UTF_8).contains("holding")) {
                            holding.countDown();
                        }
                    }))
                    .token(own).passToken(true).containment(Containment.SESSION).build());
            assertTrue(holding.await(20, TimeUnit.SECONDS), "the Python process never opened the token");
            ProcessHandle.of(victim.pid()).ifPresent(ProcessHandle::destroyForcibly); // SIGKILL, by its pid
            Outcome dead = victim.await(Duration.ofSeconds(20)).orElseThrow();
            assertInstanceOf(Outcome.Crashed.class, dead, dead.toString());
            assertFalse(token.isCancelled() || sleeper.isDone(), "a canceller that died without cancelling ended nothing");
            assertTrue(token.cancel(), "the token is still ours to cancel");
            assertInstanceOf(Outcome.Cancelled.class, sleeper.await());
            Leaks.assertSessionGone(sleeper.pid());
        }
        Leaks.assertNoneSince(before);
    }
}
