package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** A job's stdin and stdout as a channel, through Job.write and a sink, without a pool on top. */
@Timeout(value = 60, unit = TimeUnit.SECONDS)
class ChannelTest {

    @Test
    void bytesWrittenComeBackThroughTheSinkBeforeTheExit() throws Exception {
        Leaks.Snapshot before = Leaks.take();
        ByteArrayOutputStream got = new ByteArrayOutputStream();
        try (Supervisor s = new Supervisor()) {
            Job job = s.start(ProcessSpec.builder("cat").stdin(Redirect.channel())
                    .stdout(Redirect.channel(b -> {
                        synchronized (got) {
                            got.writeBytes(b);
                        }
                    })).build());
            assertTrue(job.write("one\n".getBytes(StandardCharsets.UTF_8)));
            assertTrue(job.write("two\n".getBytes(StandardCharsets.UTF_8)));
            job.closeStdin();
            assertInstanceOf(Outcome.Success.class, job.await());
            synchronized (got) { // the sink ran on the loop thread before the job's future completed
                assertEquals("one\ntwo\n", got.toString(StandardCharsets.UTF_8));
            }
        }
        Leaks.assertNoneSince(before);
    }

    /**
     * Regression: the exit reads the channel again only when a drain was cut short. A sink that throws leaves the rest
     * of what the loop had read ahead unread; when the job has exited, no new OUTPUT event comes for it, and the exit
     * must still hand it over. Here the sink throws on its first chunk and on its first chunk after the job was reaped
     * (the drain just before the EXIT event), and takes everything else. Repeated: how much the loop has read ahead
     * when each throw comes depends on timing.
     */
    @Test
    void aSinkThatThrowsStillGetsTheRestByTheExit() throws Exception {
        Leaks.Snapshot before = Leaks.take();
        try (Supervisor s = new Supervisor()) { // each throw is logged as a warning: on purpose here
            for (int round = 0; round < 50; round++) {
                AtomicInteger calls = new AtomicInteger(), pid = new AtomicInteger();
                java.util.concurrent.atomic.AtomicBoolean threwAfterTheExit = new java.util.concurrent.atomic.AtomicBoolean();
                ByteArrayOutputStream got = new ByteArrayOutputStream();
                Job job = s.start(ProcessSpec.builder("head", "-c", "300000", "/dev/zero")
                        .stdout(Redirect.channel(b -> {
                            synchronized (got) {
                                got.writeBytes(b);
                            }
                            boolean reaped = pid.get() > 0 && !java.nio.file.Files.exists(java.nio.file.Path.of(
                                    "/proc/" + pid.get()));
                            if (calls.incrementAndGet() == 1 || reaped && threwAfterTheExit.compareAndSet(false, true)) {
                                throw new IllegalStateException("the sink fails on this chunk");
                            }
                        })).build());
                pid.set(job.pid());
                assertInstanceOf(Outcome.Success.class, job.await());
                synchronized (got) {
                    assertEquals(300000, got.size(), "bytes the sink got, in " + calls.get() + " calls, round " + round);
                }
            }
        }
        Leaks.assertNoneSince(before);
    }
}
