package dev.scythe;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/** A supervisor per test, and the proof after each test that nothing leaked: fds, threads, zombie children. */
abstract class SupervisedTest {
    protected Leaks.Snapshot baseline;
    protected Supervisor supervisor;

    @BeforeEach
    void openSupervisor() {
        baseline = Leaks.take();
        supervisor = new Supervisor();
    }

    @AfterEach
    void closeSupervisorAndCheckLeaks() {
        supervisor.close();
        Leaks.assertNoneSince(baseline);
    }
}
