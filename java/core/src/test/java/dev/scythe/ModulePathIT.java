package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The library jar as a user gets it, on the module path: a real named module {@code dev.scythe} that loads its own
 * native files, exports only {@code dev.scythe}, and runs a job.
 */
@Timeout(value = 120, unit = TimeUnit.SECONDS)
class ModulePathIT {

    @Test
    void theJarIsANamedModuleThatRunsJobs() throws Exception {
        Path jar = Path.of(System.getProperty("scythe.jar", "target/none.jar"));
        assertTrue(Files.isRegularFile(jar), "the library jar of this build: " + jar);
        String java = ProcessHandle.current().info().command().orElseThrow();
        Process p = new ProcessBuilder(List.of(java, "--module-path", jar.toString(), "--add-modules", "dev.scythe",
                "--enable-native-access=dev.scythe", "-cp", Path.of("target", "test-classes").toString(),
                dev.scythe.modulepath.ModulePathMain.class.getName())).redirectErrorStream(true).start();
        try {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS));
            assertEquals(0, p.exitValue(), out);
            assertTrue(out.contains("module dev.scythe exports ffi: false exports api: true"), out);
            assertTrue(out.contains("outcome Failure[exitCode=7"), out);
            assertTrue(!out.contains("WARNING"), "no restricted-method warning with the module's native access: " + out);
            Matcher guard = Pattern.compile("guard (\\d+)").matcher(out);
            assertTrue(guard.find() && Long.parseLong(guard.group(1)) > 0, "the guard ran: " + out);
            Leaks.assertGone(Long.parseLong(guard.group(1)), "the module-path JVM's guard");
        } finally {
            p.destroyForcibly(); // only what this test started, by pid
            p.waitFor();
        }
    }
}
