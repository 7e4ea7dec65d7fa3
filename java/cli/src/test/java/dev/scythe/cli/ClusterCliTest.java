package dev.scythe.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.Leaks;
import dev.scythe.cli.MainTest.Result;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * {@code scythe member} and {@code scythe race --cluster}, in-process: their options refused by name, and a race on a
 * real member (TCP on 127.0.0.1) that leaves no process, fd or thread behind once the member is stopped.
 */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ClusterCliTest {

    /** Asserts status 125, that the message names {@code what}, and that no Java exception text leaked out. */
    private static void refused(Result r, String what) {
        assertEquals(125, r.status(), r.err());
        assertTrue(r.err().contains(what), "'" + what + "' in: " + r.err());
        for (String leak : new String[] {"Exception", "java.", "internal error"}) {
            assertFalse(r.err().contains(leak), "no exception text: " + r.err());
        }
    }

    @Test
    void badOptionsAreRefusedByName() {
        Leaks.Snapshot before = Leaks.take();
        refused(MainTest.cli("member", "--slots", "0"), "--slots: 0 is out of range; accepted: 1 to 256");
        refused(MainTest.cli("member", "--port", "70000"), "--port: 70000 is out of range; accepted: 1 to 65535");
        refused(MainTest.cli("member", "--join", "10.0.0.5"), "--join: '10.0.0.5' is not HOST:PORT");
        refused(MainTest.cli("member", "--join", "a:5701,,b:5701"), "--join: '' is not HOST:PORT");
        refused(MainTest.cli("member", "--join", "10.0.0.5:0"), "--join: the port of '10.0.0.5:0' is out of range");
        refused(MainTest.cli("member", "--heartbeat", "500ms"), "--heartbeat: must be 1s to 1d, got '500ms'");
        refused(MainTest.cli("member", "--address", "pumpkin"), "--address: 'pumpkin' is not an IP address");
        refused(MainTest.cli("member", "--address", "192.0.2.254"), "--address: 192.0.2.254 is not an address of "
                + "this machine");
        refused(MainTest.cli("member", "--cluster-name", ""), "--cluster-name: must not be empty");
        refused(MainTest.cli("member", "extra"), "member takes no arguments; unexpected 'extra'");

        refused(MainTest.cli("race", "--cluster", "10.0.0.5", "--", "true"), "--cluster: '10.0.0.5' is not HOST:PORT");
        refused(MainTest.cli("race", "--cluster-name", "x", "--", "true"), "--cluster-name needs --cluster");
        // each: the option named in the refusal, then the options given
        String[][] unsupported = {
            {"--mode best", "--mode", "best"}, {"--jobs", "--jobs", "2"}, {"--success-match", "--success-match", "x"},
            {"--base64", "--json", "--base64"}, {"--memory-limit", "--memory-limit", "1G"},
            {"--process-limit", "--process-limit", "10"}, {"--cpu-limit", "--cpu-limit", "1s"},
            {"--dossier", "--dossier", "/tmp"}, {"--containment", "--containment", "cgroup"}};
        for (String[] u : unsupported) {
            List<String> args = new java.util.ArrayList<>(List.of("race", "--cluster", "127.0.0.1:5701"));
            args.addAll(List.of(u).subList(1, u.length));
            args.addAll(List.of("--", "true"));
            refused(MainTest.cli(args.toArray(String[]::new)), "--cluster does not support " + u[0]);
        }
        refused(MainTest.cli("race", "--cluster", "127.0.0.1:5701", "--", "printf", "caf\uDCC3"),
                "--cluster: entrant 1 has an argument that is not UTF-8");

        refused(MainTest.cli("evaluate", "--max-attempts", "3"), "--max-attempts and --cluster-name need --cluster");
        refused(MainTest.cli("evaluate", "--cluster-name", "scythe"), "need --cluster");
        refused(MainTest.cli("evaluate", "--cluster", "127.0.0.1:5701", "--max-attempts", "0"),
                "--max-attempts");
        refused(MainTest.cli("evaluate", "--cluster", "10.0.0.5"), "--cluster: '10.0.0.5' is not HOST:PORT");
        Leaks.assertNoneSince(before);
    }

    @Test
    void anEvaluateWhoseClusterHasNoMemberLeavesTheEarlierResultsWhereTheyWere(@TempDir Path dir) throws Exception {
        Path problems = Files.createDirectories(dir.resolve("problems"));
        Files.writeString(problems.resolve("php.cnf"), dev.scythe.eval.Problems.pigeons(3, 2));
        Path out = Files.createDirectories(dir.resolve("out"));
        Files.writeString(out.resolve("results.db"), "an earlier run's results");
        Files.writeString(out.resolve("results-previous.db"), "the run before that");
        java.nio.channels.SocketChannel.open().close(); // the JDK's one lifelong NIO fd, before the baseline
        Leaks.Snapshot before = Leaks.take();
        Result r = MainTest.cli("evaluate", problems.toString(), "--out", out.toString(), "--provers", "minisat",
                "--cluster", "127.0.0.1:" + freePort(), "--cluster-name", "nobody-" + java.util.UUID.randomUUID());
        assertEquals(125, r.status(), r.err());
        assertTrue(r.err().contains("runs jobs; start them with 'scythe member'"), r.err());
        assertEquals("an earlier run's results", Files.readString(out.resolve("results.db")));
        assertEquals("the run before that", Files.readString(out.resolve("results-previous.db")));
        Leaks.assertNoneSince(before);
    }

    /** A port nobody listens on now (the member tries the next ones if it is taken meanwhile, and says which). */
    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    @Test
    void aRaceOnAMemberPreemptsTheLoserThereAndLeavesNothingBehind(@TempDir Path dir) throws Exception {
        // The JDK's first NIO socket makes the one fd it keeps for the life of the JVM (UnixDispatcher's pre-close
        // socket, a socketpair's end): made here, before the baseline, it is not taken for Hazelcast's.
        java.nio.channels.SocketChannel.open().close();
        Leaks.Snapshot before = Leaks.take();
        String name = "scythe-cli-test-" + UUID.randomUUID();
        ByteArrayOutputStream memberOut = new ByteArrayOutputStream(), memberErr = new ByteArrayOutputStream();
        AtomicInteger memberStatus = new AtomicInteger(-1);
        Thread member = new Thread(() -> memberStatus.set(Main.run(new String[] {"member", "--address", "127.0.0.1",
            "--port", Integer.toString(freePort()), "--slots", "2", "--cluster-name", name},
                new PrintStream(memberOut, true, StandardCharsets.UTF_8),
                new PrintStream(memberErr, true, StandardCharsets.UTF_8))), "member-command");
        member.start();
        try {
            String up = awaitLine(memberOut, memberErr, member);
            Matcher m = Pattern.compile("scythe member (127\\.0\\.0\\.1:\\d+) slots 2 cluster " + Pattern.quote(name)
                    + "; members: (.*)\n").matcher(up);
            assertTrue(m.matches(), up);
            String address = m.group(1);
            assertEquals(address, m.group(2), "the member is the cluster's only one");

            // the script is sent with the entrant: it runs from the member's copy, not from here
            Path script = Files.writeString(dir.resolve("prove.sh"), "sleep 0.2; echo \"unsat from $0\"\n");
            Result r = MainTest.cli("race", "--cluster", address, "--cluster-name", name, "--", "sh",
                    script.toString(), ":::", "sleep", "30");
            assertEquals(0, r.status(), r.out() + r.err());
            assertTrue(r.out().startsWith("entrant   member"), r.out());
            assertTrue(r.out().matches("(?s).*\n1:sh +" + Pattern.quote(address) + " +success .*<- winner\n.*"),
                    r.out());
            assertTrue(r.out().matches("(?s).*\n2:sleep +" + Pattern.quote(address) + " +preempted .*"), r.out());
            assertTrue(r.out().contains("\nwinner: 1:sh (losers preempted") && r.out().contains("\nunsat from /")
                    && r.out().endsWith("/0-prove.sh\n"), r.out());
            assertFalse(r.out().contains(script.toString()), r.out());
            assertEquals("", r.err(), "no Hazelcast chatter at INFO");

            Result j = MainTest.cli("race", "--json", "--cluster", address, "--cluster-name", name, "--timeout", "20s",
                    "--", "sh", "-c", "sleep 0.2; echo unsat", ":::", "sleep", "30");
            JsonNode race = JsonSchemaTest.valid(j);
            assertEquals("1:sh", race.get("winner").asString(), j.out());
            JsonNode loser = race.get("entrants").get(1);
            assertEquals("preempted", loser.get("outcome").get("kind").asString(), j.out());
            assertTrue(race.get("entrants").get(0).get("started").asBoolean(), j.out());
            assertEquals(0, loser.get("outcome").get("winner").asInt(), j.out());
            for (JsonNode e : race.get("entrants")) {
                assertEquals(List.of("index", "name", "started", "succeeded", "pid", "outcome", "member"),
                        List.copyOf(e.propertyNames()));
                assertEquals(address, e.get("member").asString());
                if (e.get("started").asBoolean()) { // a loser may not have started when the win came
                    assertTrue(e.get("pid").asLong() > 0, j.out());
                    Leaks.assertGone(e.get("pid").asLong(), e.get("name").asString()); // the member is this JVM
                }
            }
        } finally {
            member.interrupt(); // in-process, the member command leaves as it does on a signal
            member.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertFalse(member.isAlive(), "the member command did not return");
        assertEquals(0, memberStatus.get(), memberErr.toString(StandardCharsets.UTF_8));
        Leaks.assertNoneSince(before);
    }

    /** The first line the member command prints, once it is up. */
    private static String awaitLine(ByteArrayOutputStream out, ByteArrayOutputStream err, Thread member)
            throws InterruptedException {
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < until) {
            String text = out.toString(StandardCharsets.UTF_8);
            if (text.contains("\n")) {
                return text.substring(0, text.indexOf('\n') + 1);
            }
            if (!member.isAlive()) {
                break;
            }
            Thread.sleep(20);
        }
        throw new AssertionError("the member did not come up: " + out.toString(StandardCharsets.UTF_8)
                + err.toString(StandardCharsets.UTF_8));
    }
}
