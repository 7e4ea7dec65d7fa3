package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.scythe.Scythe;
import dev.scythe.cli.MainTest.Result;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import tools.jackson.databind.JsonNode;

/**
 * A job's memory figure is its own (regression: `run --json -- sleep 0.1` reported the JVM's 66 MB at both levels,
 * where /usr/bin/time says 1.5 MB), or unknown; never the JVM's.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class MemoryFigureTest extends LeakCheckedTest {
    static final String HOLD_64_MB = "x = bytearray(64 << 20)\nimport time\ntime.sleep(0.3)\n";

    static JsonNode usage(String... args) {
        Result r = MainTest.cli(args);
        assertEquals(0, r.status(), r.out() + r.err());
        return JsonSchemaTest.valid(r).get("outcome");
    }

    /** GNU time's peak of the same command, in KiB. */
    static long gnuTime(String... command) throws Exception {
        Path out = Files.createTempFile("scythe-time", ".txt");
        try {
            String[] cmd = new String[command.length + 4];
            cmd[0] = "/usr/bin/time";
            cmd[1] = "-f";
            cmd[2] = "%M";
            cmd[3] = "-o" + out;
            System.arraycopy(command, 0, cmd, 4, command.length);
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getInputStream().readAllBytes();
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            return Long.parseLong(Files.readString(out, StandardCharsets.UTF_8).trim());
        } finally {
            Files.deleteIfExists(out);
        }
    }

    @Test
    void theCgroupPeakIsTheJobsOwnAndAgreesWithGnuTime() throws Exception {
        assumeTrue(Scythe.capabilities().contains("cgroup_memory"), "needs memory accounting (cgroup_memory)");
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/time")), "needs GNU time (Debian package time)");
        assumeTrue(new ProcessBuilder("python3", "-c", "pass").start().waitFor() == 0, "needs python3");
        JsonNode sleep = usage("run", "--json", "--containment", "cgroup", "--", "sleep", "0.1");
        long sleepKib = sleep.get("max_rss_kib").asLong();
        assertTrue(sleepKib > 0 && sleepKib < 16 * 1024, "sleep's own peak, not the JVM's: " + sleepKib + " KiB");
        JsonNode holder = usage("run", "--json", "--containment", "cgroup", "--", "python3", "-c", HOLD_64_MB);
        long ours = holder.get("max_rss_kib").asLong();
        long theirs = gnuTime("python3", "-c", HOLD_64_MB);
        assertTrue(ours >= 60 * 1024, "the 64 MiB the job held: " + ours + " KiB");
        assertTrue(ours > theirs / 2 && ours < theirs * 2, "cgroup peak " + ours + " KiB against GNU time's "
                + theirs + " KiB (the cgroup also counts page cache: generous bounds)");
    }

    @Test
    void withoutACgroupThePeakIsUnknownNotTheJvms() {
        JsonNode session = usage("run", "--json", "--containment", "session", "--", "sleep", "0.1");
        assertTrue(session.get("max_rss_kib").isNull(), "unknown at the session level: " + session);
    }
}
