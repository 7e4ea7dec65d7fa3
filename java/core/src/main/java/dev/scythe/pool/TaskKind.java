package dev.scythe.pool;

import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * The kind of task a pool serves, in the terms of Rocq's {@code AsyncTaskQueue.Task} (its {@code QueryTask}
 * signature). Every method is called on the pool's own thread, one at a time, and must not block it.
 *
 * @param <T> the task, as submitted (should have a meaningful {@code equals}: the pool counts the workers a task
 *            killed by it, and quarantines it after {@link Pool.Builder#quarantineAfter} deaths)
 * @param <Q> the request the task becomes for a given worker
 * @param <R> the response a worker gives
 * @param <C> the competence of an {@link WorkerStatus.Old} worker
 */
public interface TaskKind<T, Q, R, C> {

    /** The request for {@code task} on a worker in {@code status}; empty: the task is no longer valid, drop it. */
    Optional<Q> requestOf(WorkerStatus<C> status, T task);

    /** Whether a worker in {@code status} may take {@code task}. Tasks no worker matches wait in the queue. */
    default boolean matches(WorkerStatus<C> status, T task) {
        return true;
    }

    /** Uses a worker's response: {@link Verdict.Stay} keeps the worker, {@link Verdict.End} reboots it. */
    Verdict<T, C> useResponse(WorkerStatus<C> status, T task, R response);

    /** The request of {@code task} could not be encoded; the task ends {@link Result.EncodeError}. */
    default void onEncodeError(String message, T task) {}

    /**
     * One callback for three events, as in Rocq: a task was cancelled, its deadline or stall window expired, or its
     * worker died (empty: an idle worker died).
     */
    default void onCancelledExpiredOrWorkerDeath(Optional<T> task) {}

    /** The result of a task injected by {@link Verdict.Stay} (submitted tasks complete their futures instead). */
    default void onInjectedResult(T task, Result<R> result) {}

    /** Extra environment variables for workers (on top of the worker spec's). */
    default Map<String, String> extraEnvironment() {
        return Map.of();
    }

    /** A task's name for logs and results. */
    default String taskName(T task) {
        return String.valueOf(task);
    }

    /** A request's name for logs. */
    default String requestName(Q request) {
        return String.valueOf(request);
    }

    /**
     * The simplest kind: every worker takes every task, the request is {@code toRequest(task)}, and workers stay
     * (a persistent pool) unless the pool's own recycling ends them.
     */
    static <T, Q, R> TaskKind<T, Q, R, Void> simple(Function<T, Q> toRequest) {
        return new TaskKind<>() {
            @Override
            public Optional<Q> requestOf(WorkerStatus<Void> status, T task) {
                return Optional.of(toRequest.apply(task));
            }

            @Override
            public Verdict<T, Void> useResponse(WorkerStatus<Void> status, T task, R response) {
                return Verdict.stay(null);
            }
        };
    }
}
