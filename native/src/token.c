/* Cancel tokens: one 64-bit word that changes exactly once, by compare-and-set, from 0 to "cancelled with a
 * reason" (and, for a race claim, a winner). The flip is lock-free; the tree of child tokens and the wake-up of
 * loops after a flip take a mutex, since they are rare and touch lists. */
#include "internal.h"
#include "wake.h"

#include <errno.h>
#include <stdlib.h>

static pthread_mutex_t tree_lock = PTHREAD_MUTEX_INITIALIZER;

int scythe_token_new(scythe_token **out, scythe_token *parent) {
    if (!out)
        return -EINVAL;
    scythe_token *t = scythe__calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    atomic_init(&t->state, 0);
    atomic_init(&t->refs, 1);
    scythe__list_init(&t->watches);
    if (parent) {
        pthread_mutex_lock(&tree_lock);
        scythe__token_ref(parent);
        t->parent = parent;
        t->next_sibling = parent->first_child;
        if (parent->first_child)
            parent->first_child->prev_sibling = t;
        parent->first_child = t;
        /* Under the tree lock a parent's cancel has either already reached its children list or will see us. */
        uint64_t ps = scythe__token_state(parent);
        if (ps)
            atomic_store_explicit(&t->state, SCYTHE_TOKEN_CANCELLED_BIT | (uint32_t)ps, memory_order_release);
        pthread_mutex_unlock(&tree_lock);
    }
    *out = t;
    return 0;
}

void scythe__token_ref(scythe_token *t) {
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void scythe_token_free(scythe_token *t) {
    while (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) {
        scythe_token *parent = t->parent;
        pthread_mutex_lock(&tree_lock);
        if (parent) {
            if (t->prev_sibling)
                t->prev_sibling->next_sibling = t->next_sibling;
            else
                parent->first_child = t->next_sibling;
            if (t->next_sibling)
                t->next_sibling->prev_sibling = t->prev_sibling;
        }
        /* Children hold a reference to us, so we have none left here. */
        pthread_mutex_unlock(&tree_lock);
        free(t);
        t = parent; /* drop the reference this token held on its parent */
    }
}

void scythe__token_watch_add(scythe_token *t, scythe__token_watch *w) {
    pthread_mutex_lock(&tree_lock);
    if (scythe__list_empty(&w->link))
        scythe__list_append(&t->watches, &w->link);
    pthread_mutex_unlock(&tree_lock);
}

void scythe__token_watch_remove(scythe__token_watch *w) {
    pthread_mutex_lock(&tree_lock);
    scythe__list_remove(&w->link);
    pthread_mutex_unlock(&tree_lock);
}

/* Hands t's jobs to their loops; the caller holds tree_lock, so none is detached (and freed) meanwhile. */
static void notify_locked(scythe_token *t) {
    for (scythe__list *l = t->watches.next; l != &t->watches; l = l->next) {
        scythe__token_watch *w = SCYTHE__CONTAINER(l, scythe__token_watch, link);
        scythe__wake_for(w->waker, w->node);
    }
}

/* Cancels t's descendants; the caller holds tree_lock. Depth is bounded by how deep hosts nest tokens. */
static void cancel_children_locked(scythe_token *t, uint32_t reason) {
    for (scythe_token *c = t->first_child; c; c = c->next_sibling) {
        uint64_t expected = 0;
        if (atomic_compare_exchange_strong_explicit(&c->state, &expected, SCYTHE_TOKEN_CANCELLED_BIT | reason,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            notify_locked(c);
            cancel_children_locked(c, reason);
        }
    }
}

static int flip(scythe_token *t, uint64_t word) {
    uint64_t expected = 0;
    if (!atomic_compare_exchange_strong_explicit(&t->state, &expected, word, memory_order_acq_rel,
                                                 memory_order_acquire))
        return (int)(expected >> SCYTHE_TOKEN_WINNER_SHIFT) ? -EALREADY : -ECANCELED;
    /* Always under the lock: a child being linked concurrently either sees our word or is in the list here, and a job
     * being attached either is in the watches here or sees our word when its loop links it (scythe__loop_add). */
    pthread_mutex_lock(&tree_lock);
    notify_locked(t);
    cancel_children_locked(t, (uint32_t)word);
    pthread_mutex_unlock(&tree_lock);
    scythe__wake_all();
    return 0;
}

int scythe_token_cancel(scythe_token *t, uint32_t reason) {
    if (!t)
        return -EINVAL;
    int rc = flip(t, SCYTHE_TOKEN_CANCELLED_BIT | reason);
    return rc ? -EALREADY : 0;
}

int scythe_token_claim(scythe_token *t, int32_t index) {
    if (!t || index < 0)
        return -EINVAL;
    return flip(t, SCYTHE_TOKEN_CANCELLED_BIT | SCYTHE_REASON_PREEMPTED |
                       ((uint64_t)index + 1) << SCYTHE_TOKEN_WINNER_SHIFT);
}

int scythe_token_is_cancelled(const scythe_token *t) {
    return t && scythe__token_state(t) != 0;
}

const volatile uint64_t *scythe_token_state_address(const scythe_token *t) {
    return t ? (const volatile uint64_t *)&t->state : NULL;
}

int32_t scythe_token_winner(const scythe_token *t) {
    return t ? (int32_t)(scythe__token_state(t) >> SCYTHE_TOKEN_WINNER_SHIFT) - 1 : -1;
}
