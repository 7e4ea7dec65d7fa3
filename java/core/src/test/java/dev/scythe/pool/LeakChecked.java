package dev.scythe.pool;

import dev.scythe.Leaks;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** Tests that start workers themselves: after each, the proof that nothing leaked (fds, threads, children). */
abstract class LeakChecked {
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
