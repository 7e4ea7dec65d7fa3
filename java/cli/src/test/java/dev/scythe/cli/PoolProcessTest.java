package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** {@code scythe pool} as its own JVM: tasks from standard input, and signals with workers that resist. */
@Timeout(value = 90, unit = TimeUnit.SECONDS)
class PoolProcessTest extends LeakCheckedTest {

    @Test
    void tasksComeFromStandardInputWithoutTripleColon(@TempDir Path dir) throws Exception {
        Path tasks = Files.writeString(dir.resolve("tasks"), "first\n\n  second  \nthird\n");
        Process cli = ProcessLevelTest.jvm(Main.class.getName(), "pool", "--workers", "2", "--", "python3",
                PoolCommandTest.echo()).redirectInput(tasks.toFile()).redirectErrorStream(false)
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        long guard = guardOf(cli);
        String out = new String(cli.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(cli.waitFor(60, TimeUnit.SECONDS));
        assertEquals(0, cli.exitValue(), out);
        dev.scythe.Leaks.assertGone(guard, "the CLI's guard");
        var lines = PoolCommandTest.byTask(out);
        assertEquals(3, lines.size(), out);
        for (String t : List.of("first", "second", "third")) {
            assertEquals("{\"echo\":\"" + t + "\"}", lines.get(t)[2], out);
        }
    }

    /** A kill -9 of the JVM leaves no worker behind: the guard kills every worker's session. */
    @Test
    void killMinus9OfTheCliLeavesNoWorker() throws Exception {
        Process cli = ProcessLevelTest.jvm(Main.class.getName(), "pool", "--workers", "2", "--", "python3",
                PoolCommandTest.echo()).redirectInput(ProcessBuilder.Redirect.PIPE).start();
        try {
            List<Long> workers = List.of();
            for (int i = 0; i < 1000 && workers.size() < 2; i++) {
                Thread.sleep(10);
                workers = ProcessLevelTest.children(cli.pid()).stream().filter(PoolProcessTest::isEchoWorker).toList();
            }
            assertEquals(2, workers.size(), "the CLI started two workers");
            long guard = guardOf(cli);
            cli.destroyForcibly(); // SIGKILL: no shutdown hook runs, only the guard can act
            cli.waitFor();
            for (long w : workers) {
                assertTrue(ProcessLevelTest.sessionGone(w), "the guard killed worker " + w);
            }
            dev.scythe.Leaks.assertGone(guard, "the CLI's guard, once its work was done");
        } finally {
            cli.destroyForcibly();
            cli.waitFor();
        }
    }

    /** The guard of a CLI JVM, waited for while the JVM runs (the first supervisor starts it); -1 if it never came. */
    static long guardOf(Process cli) throws Exception {
        for (int i = 0; i < 1000 && cli.isAlive(); i++) {
            long guard = ProcessLevelTest.guardOf(cli.pid());
            if (guard > 0) {
                return guard;
            }
            Thread.sleep(10);
        }
        throw new AssertionError("the CLI (pid " + cli.pid() + ") never started its guard");
    }

    /** Whether pid runs echo_worker.py (python3 may re-exec itself by its full path, as pyenv's does). */
    static boolean isEchoWorker(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc/" + pid + "/cmdline")), StandardCharsets.UTF_8)
                    .contains("echo_worker.py\0");
        } catch (java.io.IOException gone) {
            return false;
        }
    }

    /**
     * Regression: a worker that ignores SIGTERM, one that is stopped, and one that never reads its stdin must not make
     * the CLI hang or ignore Ctrl-C: it exits 130 once every worker's tree is gone.
     */
    @Test
    void ctrlCEndsEveryWorkerEvenStubbornOnes() throws Exception {
        interrupt("INT", 130);
    }

    @Test
    void sigtermEndsEveryWorkerEvenStubbornOnes() throws Exception {
        interrupt("TERM", 143);
    }

    private void interrupt(String signal, int expected) throws Exception {
        String worker = "trap '' TERM INT; case $SCYTHE_POOL_WORKER in w0*) sleep 300 & kill -STOP $$;; "
                + "w1*) sleep 300; :;; *) while :; do sleep 1; done;; esac";
        Process cli = ProcessLevelTest.jvm(Main.class.getName(), "pool", "--workers", "3", "--", "sh", "-c", worker,
                ":::", "a", "b", "c", "d").start();
        try {
            List<Long> jobs = List.of();
            for (int i = 0; i < 1000 && jobs.size() < 3; i++) {
                Thread.sleep(10);
                jobs = ProcessLevelTest.children(cli.pid()).stream().filter(ProcessLevelTest::isShellJob).toList();
            }
            assertEquals(3, jobs.size(), "the CLI started three workers");
            long guard = guardOf(cli);
            Thread.sleep(300); // the tasks are sent; the workers settle into their stubbornness
            new ProcessBuilder("kill", "-" + signal, Long.toString(cli.pid())).start().waitFor();
            assertTrue(cli.waitFor(30, TimeUnit.SECONDS), "the CLI ended");
            String out = new String(cli.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertEquals(expected, cli.exitValue(), out);
            for (long job : jobs) {
                assertTrue(ProcessLevelTest.sessionGone(job), "nothing left of worker " + job + "'s session");
            }
            dev.scythe.Leaks.assertGone(guard, "the CLI's guard");
        } finally {
            cli.destroyForcibly(); // a CLI that failed the test: its guard kills what it started
            cli.waitFor();
        }
    }
}
