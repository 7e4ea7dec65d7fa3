package dev.scythe.pool;

import java.util.List;

/**
 * What the task kind decides after a worker's response ({@link TaskKind#useResponse}): keep the worker or end it.
 *
 * @param <T> the task
 * @param <C> the competence
 */
public sealed interface Verdict<T, C> {

    /**
     * Keep the worker, now {@code Old(competence)}; {@code injected} tasks go to the head of the queue, in this order,
     * ahead of everything submitted (Rocq's proof repair: an error at state 34 injects a task for state 33). Their
     * results go to {@link TaskKind#onInjectedResult}.
     */
    record Stay<T, C>(C competence, List<T> injected) implements Verdict<T, C> {
        public Stay {
            injected = List.copyOf(injected);
        }
    }

    /** End the worker: its whole tree is killed and a Fresh one started in its place. */
    record End<T, C>() implements Verdict<T, C> {}

    static <T, C> Verdict<T, C> stay(C competence) {
        return new Stay<>(competence, List.of());
    }

    static <T, C> Verdict<T, C> stay(C competence, List<T> injected) {
        return new Stay<>(competence, injected);
    }

    static <T, C> Verdict<T, C> end() {
        return new End<>();
    }
}
