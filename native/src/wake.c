/* The registry of loops, for threads that know no loop: a cancelled token must reach every loop, since any of them may
 * hold jobs attached to it. token.c calls scythe__wake_all() and knows nothing else of loops. */
#include "internal.h"
#include "wake.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t wakers_lock = PTHREAD_MUTEX_INITIALIZER;
static scythe__waker *wakers;

void scythe__wake(scythe__waker *w) {
    uint64_t one = 1;
    /* A full counter (EAGAIN) already means "awake". */
    while (write(w->evfd, &one, sizeof one) < 0 && errno == EINTR) {
        /* retry: interrupted by a signal to this thread */
    }
}

void scythe__wake_for(scythe__waker *w, scythe__wake_node *n) {
    /* The change the loop must see (stored before this call) is ordered before the flag; the loop clears the flag
     * before it looks (scythe__waker_take): either it sees this push's flag cleared and looks after it, or it has
     * not cleared it yet and looks later. Both sides fence, as in any store-then-load handshake. */
    atomic_thread_fence(memory_order_seq_cst);
    if (atomic_exchange(&n->queued, true))
        return;
    scythe__wake_node *old = atomic_load_explicit(&w->incoming, memory_order_relaxed);
    do
        n->next = old;
    while (!atomic_compare_exchange_weak_explicit(&w->incoming, &old, n, memory_order_release, memory_order_relaxed));
    if (!old)
        scythe__wake(w);
}

scythe__wake_node *scythe__waker_take(scythe__waker *w) {
    return atomic_exchange_explicit(&w->incoming, NULL, memory_order_acquire);
}

scythe__wake_node *scythe__wake_node_taken(scythe__wake_node *n) {
    scythe__wake_node *next = n->next; /* before the flag: once it is clear, a push may reuse `next` */
    atomic_store(&n->queued, false);
    atomic_thread_fence(memory_order_seq_cst);
    return next;
}

void scythe__wake_sweep(scythe__waker *w) {
    atomic_store(&w->sweep_all, 1);
    scythe__wake(w);
}

void scythe__waker_helper_begin(scythe__waker *w) {
    atomic_fetch_add_explicit(&w->helpers, 1, memory_order_relaxed);
}

void scythe__waker_helper_end(scythe__waker *w) {
    atomic_fetch_sub_explicit(&w->helpers, 1, memory_order_release);
}

void scythe__waker_await_helpers(scythe__waker *w) {
    while (atomic_load_explicit(&w->helpers, memory_order_acquire) > 0) {
        struct timespec ms = {0, 1000000};
        nanosleep(&ms, NULL); /* a dossier is being written: at most the seconds it takes */
    }
}

void scythe__wake_all(void) {
    pthread_mutex_lock(&wakers_lock);
    for (scythe__waker *w = wakers; w; w = w->next) {
        atomic_store(&w->flipped, 1);
        scythe__wake(w);
    }
    pthread_mutex_unlock(&wakers_lock);
}

void scythe__waker_register(scythe__waker *w) {
    pthread_mutex_lock(&wakers_lock);
    w->prev = NULL;
    w->next = wakers;
    if (wakers)
        wakers->prev = w;
    wakers = w;
    pthread_mutex_unlock(&wakers_lock);
}

bool scythe__waker_unregister(scythe__waker *w) {
    pthread_mutex_lock(&wakers_lock);
    if (w->prev)
        w->prev->next = w->next;
    else
        wakers = w->next;
    if (w->next)
        w->next->prev = w->prev;
    w->prev = w->next = NULL;
    bool none = wakers == NULL;
    pthread_mutex_unlock(&wakers_lock);
    return none;
}
