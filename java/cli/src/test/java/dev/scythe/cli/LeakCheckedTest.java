package dev.scythe.cli;

import dev.scythe.Leaks;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** In-process CLI tests start real jobs: after each, the proof that nothing leaked (fds, threads, children, cgroups). */
abstract class LeakCheckedTest {
    private Leaks.Snapshot baseline;

    @BeforeEach
    void takeBaseline() {
        baseline = Leaks.take();
    }

    @AfterEach
    void assertNothingLeaked() {
        Leaks.assertNoneSince(baseline);
    }
}
