package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The native files go to a versioned cache directory that a property or an environment variable moves, never to a
 * /tmp that may be noexec; loading the library starts no process; the first supervisor starts the guard.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class NativeLoadingTest {

    /** In a second JVM: says whether the library loaded, its children before and after a supervisor opens. */
    public static final class Report {
        public static void main(String[] args) throws Exception {
            System.out.println("available " + Scythe.isAvailable() + " " + Scythe.unavailabilityCause());
            System.out.println("children before " + children());
            try (Supervisor s = new Supervisor()) {
                System.out.println("children after " + children() + " guard " + Scythe.guardPid());
            }
        }

        static List<String> children() throws Exception {
            List<String> out = new ArrayList<>();
            for (ProcessHandle p : ProcessHandle.current().children().toList()) {
                // The executable's name: a new guard renames itself (comm) only a moment after it starts.
                out.add(Files.readSymbolicLink(Path.of("/proc/" + p.pid() + "/exe")).getFileName().toString());
            }
            return out;
        }
    }

    static String run(List<String> prefix, String... jvmOptions) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(prefix);
        cmd.addAll(List.of(java, "--enable-native-access=ALL-UNNAMED"));
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Report.class.getName()));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            // What the second JVM started must end with it: its guard (it printed the pid).
            Matcher guard = Pattern.compile(" guard (\\d+)").matcher(out);
            if (guard.find()) {
                Leaks.assertGone(Long.parseLong(guard.group(1)), "the second JVM's guard");
            }
            return out;
        } finally {
            p.destroyForcibly(); // only what this test started, by pid
            p.waitFor();
        }
    }

    @Test
    void filesGoWhereThePropertySaysAndLoadingStartsNoProcess(@TempDir Path dir) throws Exception {
        String out = run(List.of(), "-Dscythe.native.dir=" + dir);
        assertTrue(out.contains("available true"), out);
        assertTrue(out.contains("children before []"), "loading the library started nothing: " + out);
        assertTrue(out.contains("children after [scythe-guard]"), "the first supervisor started the guard: " + out);
        assertTrue(out.matches("(?s).* guard [1-9]\\d*.*"), "its pid was printed, so the test can see it end: " + out);
        List<Path> libs;
        try (var files = Files.walk(dir)) {
            libs = files.filter(f -> f.getFileName().toString().equals("libscythe.so")).toList();
        }
        assertEquals(1, libs.size(), "one extracted library: " + libs);
        assertTrue(libs.get(0).toString().matches(".*/native/\\d+\\.\\d+\\.\\d+-[0-9a-f]{16}/linux-[a-z0-9_]+/libscythe.so"),
                libs.get(0).toString());
        long before = Files.getLastModifiedTime(libs.get(0)).toMillis();
        Thread.sleep(20);
        run(List.of("env", "SCYTHE_NATIVE_DIR=" + dir));
        assertEquals(before, Files.getLastModifiedTime(libs.get(0)).toMillis(), "a second JVM reuses the files");
    }

    @Test
    void aNoexecTmpDoesNotBreakLoading() throws Exception {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/unshare")), "needs unshare(1) for a private noexec mount");
        // In a mount namespace of its own, java.io.tmpdir is a noexec tmpfs (mounted over a directory of the build,
        // not over /tmp, where the checkout itself may live): the library must not need the temp directory at all.
        Path home = Files.createDirectories(Path.of("target", "noexec-test-home").toAbsolutePath());
        Path tmp = Files.createDirectories(Path.of("target", "noexec-test-tmp").toAbsolutePath());
        String mountThenRun = "mount -t tmpfs -o noexec tmpfs \"$0\" && exec \"$@\"";
        String out = run(List.of("unshare", "--mount", "sh", "-c", mountThenRun, tmp.toString()),
                "-Djava.io.tmpdir=" + tmp, "-Duser.home=" + home);
        assertTrue(out.contains("available true"), out);
        assertTrue(out.contains("children after [scythe-guard]"), out);
    }

}
