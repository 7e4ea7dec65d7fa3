package dev.scythe;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.OptionalInt;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.RepeatedTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(value = 30, unit = TimeUnit.SECONDS)
class CancelTokenTest {

    @Test
    void cancelIsOnceAndCarriesItsReason() {
        CancelToken t = CancelToken.create();
        assertFalse(t.isCancelled());
        assertEquals(java.util.Optional.empty(), t.reason());
        assertTrue(t.cancel(CancelToken.Reason.of(42)));
        assertFalse(t.cancel(CancelToken.Reason.of(43)));
        assertTrue(t.isCancelled());
        assertEquals(java.util.Optional.of(CancelToken.Reason.of(42)), t.reason());
        assertFalse(t.claim(0), "a cancelled token cannot be claimed");
    }

    @Test
    void childrenFollowTheirParentButNotTheOtherWay() {
        CancelToken parent = CancelToken.create();
        CancelToken child = parent.child(), grandchild = child.child();
        assertTrue(child.cancel(CancelToken.Reason.of(5)) && !parent.isCancelled());
        CancelToken sibling = parent.child();
        parent.cancel(CancelToken.Reason.of(9));
        assertTrue(sibling.isCancelled());
        assertEquals(java.util.Optional.of(CancelToken.Reason.of(9)), sibling.reason());
        assertEquals(java.util.Optional.of(CancelToken.Reason.of(5)), grandchild.reason(), "cancelled with its own parent's reason");
        assertTrue(parent.child().isCancelled(), "a child of a cancelled token is born cancelled");
    }

    @Test
    void callbacksRunOnceIncludingThroughParents() {
        CancelToken parent = CancelToken.create();
        CancelToken child = parent.child();
        AtomicInteger runs = new AtomicInteger();
        child.onCancel(runs::incrementAndGet);
        assertEquals(0, runs.get());
        parent.cancel();
        assertEquals(1, runs.get());
        child.cancel();
        parent.cancel();
        assertEquals(1, runs.get());
        child.onCancel(runs::incrementAndGet); // already cancelled: runs at once
        assertEquals(2, runs.get());
    }

    @Test
    void callbacksFireWhenTheFlipComesFromOutsideJava() throws Exception {
        try (Supervisor s = new Supervisor()) {
            CancelToken t = CancelToken.create();
            CountDownLatch fired = new CountDownLatch(1);
            t.onCancel(fired::countDown);
            // As another runtime would: a direct native call, not CancelToken.cancel.
            dev.scythe.ffi.scythe_h.scythe_token_cancel(t.handle(), 7);
            assertTrue(fired.await(5, TimeUnit.SECONDS), "the loop thread ran the callback");
            assertTrue(s.loopThread().isAlive());
        }
    }

    @RepeatedTest(200)
    void exactlyOneClaimWins() throws Exception {
        CancelToken t = CancelToken.create();
        int n = 4;
        CyclicBarrier start = new CyclicBarrier(n);
        AtomicInteger wins = new AtomicInteger(), winner = new AtomicInteger(-1);
        Thread[] threads = new Thread[n];
        for (int i = 0; i < n; i++) {
            int index = i;
            threads[i] = new Thread(() -> {
                try {
                    start.await();
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
                if (t.claim(index)) {
                    wins.incrementAndGet();
                    winner.set(index);
                }
            });
            threads[i].start();
        }
        for (Thread th : threads) {
            th.join();
        }
        assertEquals(1, wins.get());
        assertEquals(OptionalInt.of(winner.get()), t.winner());
        assertEquals(java.util.Optional.of(CancelToken.Reason.PREEMPTED), t.reason());
    }

    @Test
    void aChildNobodyReferencesStillRunsItsCallbacks() throws Exception {
        // Regression: a child token with callbacks but no Java reference was collected, and its callbacks lost.
        CancelToken parent = CancelToken.create();
        java.util.concurrent.atomic.AtomicBoolean ran = new java.util.concurrent.atomic.AtomicBoolean();
        parent.child().onCancel(() -> ran.set(true));
        for (int i = 0; i < 5; i++) {
            System.gc();
            Thread.sleep(20);
        }
        parent.cancel();
        org.junit.jupiter.api.Assertions.assertTrue(ran.get(), "the child's callback ran when its parent was cancelled");
    }
}
