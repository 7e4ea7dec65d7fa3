/* Waking loops from other threads (wake.c). Each loop owns a waker and registers it here. token.c wakes every loop
 * after a cancel through scythe__wake_all(), which is all it knows of loops; a job wakes its own loop through the
 * waker it points at (job.c). */
#ifndef SCYTHE_WAKE_H
#define SCYTHE_WAKE_H

#include <stdatomic.h>
#include <stdbool.h>

typedef struct scythe__waker {
    int evfd;                          /* an eventfd in the loop's epoll set: a write makes its epoll_wait return */
    _Atomic int interrupt;             /* nonzero: scythe_loop_run returns to its host soon */
    _Atomic int helpers;               /* threads that may still wake it (dossier writers): its loop waits for 0 */
    struct scythe__waker *prev, *next; /* the registry, under its lock */
} scythe__waker;

/* Makes the loop look at its jobs again (its cancel requests, tokens and due times). Any thread. */
void scythe__wake(scythe__waker *w);
/* Every registered loop looks at its jobs again, and returns to its host so the host can run callbacks of its own for
 * tokens another runtime flipped. Any thread. */
void scythe__wake_all(void);
void scythe__waker_register(scythe__waker *w);
/* A helper thread that will wake the loop starts and ends; the loop's free waits until none is left. */
void scythe__waker_helper_begin(scythe__waker *w);
void scythe__waker_helper_end(scythe__waker *w);
void scythe__waker_await_helpers(scythe__waker *w);
/* Returns true if no loop is registered any more. */
bool scythe__waker_unregister(scythe__waker *w);

#endif
