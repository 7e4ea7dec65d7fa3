/* The registry of loops, for threads that know no loop: a cancelled token must reach every loop, since any of them may
 * hold jobs attached to it. token.c calls scythe__wake_all() and knows nothing else of loops. */
#include "internal.h"
#include "wake.h"

#include <errno.h>
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

void scythe__wake_all(void) {
    pthread_mutex_lock(&wakers_lock);
    for (scythe__waker *w = wakers; w; w = w->next) {
        atomic_store(&w->interrupt, 1);
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
