package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.eval.Problems;
import dev.scythe.eval.ResultsDatabase;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The crash suite: three {@code scythe member} JVMs on 127.0.0.1 (a cluster name and ports of this run only, no
 * multicast) and {@code scythe evaluate --cluster} in a fourth. Mid-run one member is killed with SIGKILL and one
 * stopped with SIGSTOP; the run still gives every problem its answer exactly once, and no prover is left on any
 * member once the stopped one is killed too (its guard, like the first one's, kills what it ran).
 */
@Timeout(value = 240, unit = TimeUnit.SECONDS)
class FarmCrashTest {
    /** The members' heartbeat here (the oldest member, the master, removes a silent one after it). */
    static final String HEARTBEAT = "3s";

    /** A port base with {@code n} free ports after it, none of them a port another run of this suite took. */
    static int freePorts(int n) throws Exception {
        for (int attempt = 0; attempt < 50; attempt++) {
            int base = 20_000 + new java.util.Random().nextInt(20_000);
            boolean free = true;
            for (int i = 0; i < n && free; i++) {
                try (ServerSocket s = new ServerSocket(base + i, 1, java.net.InetAddress.getLoopbackAddress())) {
                    s.setReuseAddress(true);
                } catch (java.io.IOException taken) {
                    free = false;
                }
            }
            if (free) {
                return base;
            }
        }
        throw new IllegalStateException("no free ports for the members");
    }

    static void signal(Process p, String sig) throws Exception {
        new ProcessBuilder("kill", "-" + sig, Long.toString(p.pid())).inheritIO().start().waitFor();
    }

    @Test
    void membersKilledAndStoppedMidRunLoseNoAnswerAndLeaveNoProver(@TempDir Path tmp) throws Exception {
        EvaluateProcessTest.assumeInstalled("minisat");
        Path problems = Files.createDirectories(tmp.resolve("problems"));
        for (int i = 0; i < 18; i++) {
            Files.writeString(problems.resolve("planted-" + i + ".cnf"), "c status sat\n"
                    + Problems.planted(40, 160, i));
        }
        Files.writeString(problems.resolve("php-5-4.cnf"), "c status unsat\n" + Problems.pigeons(5, 4));
        // a prover that takes two seconds, so that members die with attempts on them
        Path script = tmp.resolve("slow-minisat");
        Files.writeString(script, "#!/bin/sh\nsleep 2\nexec minisat -verb=0 \"$@\"\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path proverFile = tmp.resolve("provers.conf");
        Files.writeString(proverFile, "[slow]\nfamily = cnf\ncommand = " + script + " {file} {model}\n"
                + "answer = dimacs\n");

        String cluster = "crash-" + UUID.randomUUID();
        int base = freePorts(8);
        List<String> join = List.of("127.0.0.1:" + base, "127.0.0.1:" + (base + 1), "127.0.0.1:" + (base + 2));
        List<Process> members = new ArrayList<>();
        Process coordinator = null;
        try {
            for (int i = 0; i < 3; i++) {
                Process m = ProcessLevelTest.jvm("dev.scythe.cli.Main", "member", "--address", "127.0.0.1",
                        "--port", Integer.toString(base + i), "--slots", "2", "--cluster-name", cluster,
                        "--heartbeat", HEARTBEAT, "--join", String.join(",", join)).start();
                members.add(m);
                BufferedReader r = new BufferedReader(new InputStreamReader(m.getInputStream(),
                        StandardCharsets.UTF_8));
                String line;
                while ((line = r.readLine()) != null && !line.startsWith("scythe member ")) {
                    // Hazelcast's own lines, before the member says it is up
                }
                assertTrue(line != null, "member " + i + " ended before it was up");
                Thread.ofVirtual().start(() -> drain(r));
            }
            Path out = tmp.resolve("out");
            ProcessBuilder pb = ProcessLevelTest.jvm("dev.scythe.cli.Main", "evaluate", problems.toString(),
                    "--prover-file", proverFile.toString(), "--provers", "slow", "--portfolio", "cores",
                    "--cores", "1", "--timeout", "30s", "--out", out.toString(), "--cluster", String.join(",", join),
                    "--cluster-name", cluster);
            coordinator = pb.redirectOutput(tmp.resolve("evaluate.log").toFile()).start();
            Path db = out.resolve(ResultsDatabase.FILE);
            // once the first attempts have finished, kill one member and stop another, both with attempts running
            waitForRows(db, 3);
            signal(members.get(1), "KILL");
            signal(members.get(2), "STOP");
            long stopped = System.nanoTime();
            // the stopped member is silent, not gone: it is out once the master has missed its heartbeat for 3 s
            waitForLost(db, join.get(2));
            double detected = (System.nanoTime() - stopped) / 1e9;
            System.out.printf("FarmCrashTest: the stopped member's first attempt was lost %.1f s after SIGSTOP "
                    + "(heartbeat %s)%n", detected, HEARTBEAT);
            assertTrue(detected < 3 + 15, "the stopped member's attempts were given up after " + detected + " s");
            assertTrue(coordinator.waitFor(180, TimeUnit.SECONDS), "evaluate ended");
            String log = Files.readString(tmp.resolve("evaluate.log"));
            assertEquals(0, coordinator.exitValue(), log);

            Map<String, List<String>> answers = new TreeMap<>();
            java.util.Set<String> lostOn = new java.util.TreeSet<>();
            try (ResultsDatabase rdb = ResultsDatabase.open(db)) {
                for (ResultsDatabase.Row r : rdb.rows()) {
                    if (r.outcome().equals("member_lost")) {
                        lostOn.add(r.detail().replaceAll("^member_lost \\((.*)\\).*", "$1"));
                        assertTrue(r.detail().endsWith("sent again"), r.toString());
                        continue;
                    }
                    answers.computeIfAbsent(r.problem() + " / " + r.solver(), k -> new ArrayList<>())
                            .add(r.answer().name());
                }
            }
            assertTrue(lostOn.contains(join.get(1)) && lostOn.contains(join.get(2)),
                    "attempts lost with the killed and the stopped member: " + lostOn + "\n" + log);
            assertEquals(19 * 2, answers.size(), answers.toString());
            answers.forEach((k, v) -> assertEquals(List.of(k.startsWith("php") ? "UNSAT" : "SAT"), v,
                    "the answers of " + k));
        } finally {
            if (coordinator != null) {
                coordinator.destroyForcibly().waitFor();
            }
            for (Process m : members) {
                signal(m, "KILL"); // the stopped one too: SIGKILL needs no SIGCONT
                m.waitFor();
            }
            // the scratch directories of the members killed here: they could not remove their own
            try (var dirs = Files.list(dev.scythe.cluster.FarmMember.scratchRoot())) {
                for (Path d : dirs.toList()) {
                    for (Process m : members) {
                        if (d.getFileName().toString().startsWith("pid-" + m.pid() + "-")) {
                            try (var tree = Files.walk(d)) {
                                for (Path f : tree.sorted(java.util.Comparator.reverseOrder()).toList()) {
                                    Files.delete(f);
                                }
                            }
                        }
                    }
                }
            }
        }
        // every member is dead now, so its guard has killed what it ran: no prover of this test is left anywhere,
        // neither the script (its argv names tmp) nor minisat after its exec (its argv names the member's scratch)
        EvaluateProcessTest.assertNoneLeft(tmp);
        for (Process m : members) {
            EvaluateProcessTest.assertNoneLeft(dev.scythe.cluster.FarmMember.scratchRoot().resolve("pid-" + m.pid()
                    + "-"));
        }
    }

    static void waitForRows(Path db, int finished) throws Exception {
        long until = System.nanoTime() + 120_000_000_000L;
        while (System.nanoTime() < until) {
            if (Files.exists(db)) {
                try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + db);
                        var s = c.createStatement();
                        var rs = s.executeQuery("SELECT COUNT(*) FROM runs WHERE outcome <> 'running'")) {
                    if (rs.next() && rs.getInt(1) >= finished) {
                        return;
                    }
                } catch (java.sql.SQLException notYet) {
                    // the coordinator is creating it
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no " + finished + " finished attempts in " + db);
    }

    /** Waits for a row of an attempt lost with the member at {@code member}. */
    static void waitForLost(Path db, String member) throws Exception {
        long until = System.nanoTime() + 60_000_000_000L;
        while (System.nanoTime() < until) {
            try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + db);
                    var s = c.prepareStatement("SELECT COUNT(*) FROM runs WHERE outcome = 'member_lost' AND detail "
                            + "LIKE ?")) {
                s.setString(1, "%(" + member + ")%");
                try (var rs = s.executeQuery()) {
                    if (rs.next() && rs.getInt(1) > 0) {
                        return;
                    }
                }
            }
            Thread.sleep(50);
        }
        throw new AssertionError("no attempt lost with " + member + " in " + db);
    }

    static void drain(BufferedReader r) {
        try {
            while (r.readLine() != null) {
                // keep the member's stdout pipe from filling
            }
        } catch (java.io.IOException closed) {
            // the member ended
        }
    }
}
