package dev.scythe.pool;

/**
 * What a worker is to the task kind: {@link Fresh} (just started, has served nothing) or {@link Old} (kept after a
 * response, with the competence the kind gave it then). Rocq's {@code AsyncTaskQueue} has the same two states.
 *
 * @param <C> the competence: what a worker has already loaded or learned (for Rocq, the states it holds)
 */
public sealed interface WorkerStatus<C> {

    record Fresh<C>() implements WorkerStatus<C> {}

    record Old<C>(C competence) implements WorkerStatus<C> {}

    static <C> WorkerStatus<C> fresh() {
        return new Fresh<>();
    }

    static <C> WorkerStatus<C> old(C competence) {
        return new Old<>(competence);
    }

    /** True for {@link Fresh}. */
    default boolean isFresh() {
        return this instanceof Fresh;
    }

    /** Old's competence; null for Fresh. */
    default C competenceOrNull() {
        return this instanceof Old<C> o ? o.competence() : null;
    }
}
