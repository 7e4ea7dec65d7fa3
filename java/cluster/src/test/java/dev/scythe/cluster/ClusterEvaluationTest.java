package dev.scythe.cluster;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.scythe.Leaks;
import dev.scythe.Supervisor;
import dev.scythe.eval.Corpus;
import dev.scythe.eval.Evaluation;
import dev.scythe.eval.Problems;
import dev.scythe.eval.Provers;
import dev.scythe.eval.ResultsDatabase;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The main job on the socket-free test cluster: problems spread over members, lost members' work sent again. */
@Timeout(300)
class ClusterEvaluationTest {
    static final Evaluation.Listener QUIET = (done, total, what) -> { };

    static List<Provers.Problem> corpus(Path dir, int n) throws Exception {
        Files.createDirectories(dir);
        for (int i = 0; i < n; i++) {
            Files.writeString(dir.resolve("planted-" + i + ".cnf"), "c status sat\n" + Problems.planted(40, 160, i));
        }
        Files.writeString(dir.resolve("php-5-4.cnf"), "c status unsat\n" + Problems.pigeons(5, 4));
        Files.writeString(dir.resolve("lia.smt2"), """
                (set-info :status unsat)
                (set-logic QF_LIA)
                (declare-const x Int)
                (assert (and (> x 3) (< x 4)))
                (check-sat)
                """);
        return Corpus.scan(dir);
    }

    static List<Provers.Prover> installed(String... names) {
        return Problems.installed(names);
    }

    /** (problem, solver) to answer, for the rows that are answers (lost attempts are not). */
    static Map<String, String> answers(Evaluation ev) {
        Map<String, String> out = new TreeMap<>();
        for (Evaluation.Run r : ev.runs()) {
            String key = r.problem().id() + " / " + r.solver();
            assertTrue(out.put(key, r.verdict() + (r.solved() ? " solved" : "")) == null, "two answers for " + key);
        }
        return out;
    }

    static Evaluation runOn(TestFarm t, List<Provers.Problem> problems, List<Provers.Prover> provers,
            Evaluation.Settings settings, Path db, int maxAttempts) throws Exception {
        Evaluation ev = new Evaluation(problems, provers, settings);
        try (Supervisor s = new Supervisor(); ResultsDatabase rdb = ResultsDatabase.open(db)) {
            ev.run(new ClusterAttempts(t.farm, settings.cores(), maxAttempts), s, rdb, QUIET);
        }
        try (ResultsDatabase rdb = ResultsDatabase.open(db)) {
            return Evaluation.fromDatabase(rdb);
        }
    }

    static List<ResultsDatabase.Row> rows(Path db) throws Exception {
        try (ResultsDatabase rdb = ResultsDatabase.open(db)) {
            return rdb.rows();
        }
    }

    @Test
    void aCorpusOnTwoMembersGetsTheAnswersOfOneMachine(@TempDir Path dir) throws Exception {
        List<Provers.Prover> provers = installed("minisat", "cadical", "z3");
        List<Provers.Problem> problems = corpus(dir.resolve("problems"), 4);
        Evaluation.Settings settings = new Evaluation.Settings(Duration.ofSeconds(20), 2,
                List.of(Evaluation.Policy.CORES, Evaluation.Policy.RACE_ALL), null);
        Leaks.Snapshot before = Leaks.take();
        Evaluation local;
        try (Supervisor s = new Supervisor(); ResultsDatabase rdb = ResultsDatabase.open(dir.resolve("local.db"))) {
            new Evaluation(problems, provers, settings).run(s, rdb, QUIET);
            local = Evaluation.fromDatabase(rdb);
        }
        Evaluation cluster;
        Map<String, Integer> members;
        try (TestFarm t = new TestFarm(2, 2)) {
            members = t.farm.members();
            cluster = runOn(t, problems, provers, settings, dir.resolve("cluster.db"), 3);
        }
        Leaks.assertNoneSince(before);
        assertEquals(answers(local), answers(cluster));
        assertEquals(List.of(), cluster.conflicts());
        assertTrue(cluster.runs().stream().noneMatch(Evaluation.Run::wrong));
        assertEquals(local.runs().size(), cluster.runs().size());
        // every attempt says where it ran, and both members ran some
        for (String m : members.keySet()) {
            assertTrue(rows(dir.resolve("cluster.db")).stream().anyMatch(r -> r.detail().endsWith("; on " + m)),
                    "no attempt ran on " + m);
        }
    }

    /** A prover that takes a second before it answers, so that a member dies with attempts on it. */
    static Provers.Prover slow(Path dir, int seconds) throws Exception {
        Path script = dir.resolve("slow-minisat");
        Files.writeString(script, "#!/bin/sh\nsleep " + seconds + "\nexec minisat -verb=0 \"$@\"\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        return Provers.parse("[slow]\nfamily = cnf\ncommand = " + script + " {file} {model}\nanswer = dimacs\n",
                "test").get(0);
    }

    @Test
    void aMemberThatDiesHasItsAttemptsSentAgainAndEveryProblemAnsweredOnce(@TempDir Path dir) throws Exception {
        installed("minisat");
        Provers.Prover slow = slow(dir, 1);
        List<Provers.Problem> problems = corpus(dir.resolve("problems"), 6).stream()
                .filter(p -> p.family().equals("cnf")).toList();
        Evaluation.Settings settings = new Evaluation.Settings(Duration.ofSeconds(20), 1, List.of(), null);
        Leaks.Snapshot before = Leaks.take();
        Evaluation ev;
        try (TestFarm t = new TestFarm(2, 2)) {
            FarmMember doomed = t.members.get(0);
            Thread killer = Thread.ofPlatform().start(() -> {
                TestFarm.await(() -> doomed.running() > 0, 60);
                t.terminate(doomed);
            });
            ev = runOn(t, problems, List.of(slow), settings, dir.resolve("results.db"), 3);
            killer.join();
        }
        Leaks.assertNoneSince(before);
        List<ResultsDatabase.Row> rows = rows(dir.resolve("results.db"));
        List<ResultsDatabase.Row> lost = rows.stream().filter(r -> r.outcome().equals("member_lost")).toList();
        assertTrue(!lost.isEmpty(), "the member died with no attempt on it: " + rows);
        lost.forEach(r -> assertTrue(r.detail().endsWith("; sent again"), r.detail()));
        Map<String, String> answers = answers(ev);
        assertEquals(problems.size(), answers.size(), answers.toString());
        for (Provers.Problem p : problems) {
            assertEquals(p.status() + " solved", answers.get(p.id() + " / slow"), "answer of " + p.id());
        }
    }

    @Test
    void anAttemptThatKeepsLosingItsMemberIsGivenUpAtTheLimit(@TempDir Path dir) throws Exception {
        installed("minisat");
        Provers.Prover slow = slow(dir, 5);
        List<Provers.Problem> problems = corpus(dir.resolve("problems"), 1).stream()
                .filter(p -> p.id().startsWith("planted")).toList();
        Evaluation.Settings settings = new Evaluation.Settings(Duration.ofSeconds(20), 1, List.of(), null);
        Leaks.Snapshot before = Leaks.take();
        Evaluation ev;
        try (TestFarm t = new TestFarm(3, 1)) {
            java.util.concurrent.atomic.AtomicBoolean over = new java.util.concurrent.atomic.AtomicBoolean();
            Thread killer = Thread.ofPlatform().start(() -> {
                for (int k = 0; k < 2 && !over.get(); ) { // kill whichever member runs it, twice
                    FarmMember running = t.members.stream().filter(m -> m.running() > 0).findFirst().orElse(null);
                    if (running != null) {
                        t.terminate(running);
                        k++;
                    }
                    java.util.concurrent.locks.LockSupport.parkNanos(2_000_000);
                }
            });
            try {
                ev = runOn(t, problems, List.of(slow), settings, dir.resolve("results.db"), 2);
            } finally {
                over.set(true);
                killer.join();
            }
        }
        Leaks.assertNoneSince(before);
        List<ResultsDatabase.Row> rows = rows(dir.resolve("results.db"));
        assertEquals(List.of("member_lost", "member_lost"), rows.stream().map(ResultsDatabase.Row::outcome).toList(),
                rows.toString());
        assertTrue(rows.get(1).detail().contains("given up: 2 of 2 attempts lost with their members"),
                rows.get(1).detail());
        assertEquals(1, ev.runs().size(), "the given-up attempt stands once, unsolved");
        assertTrue(!ev.runs().get(0).solved());
    }
}
