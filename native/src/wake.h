/* Waking loops from other threads (wake.c). Each loop owns a waker and registers it here. token.c wakes every loop
 * after a cancel through scythe__wake_all(), which is all it knows of loops; a job wakes its own loop through the
 * waker it points at (job.c). */
#ifndef SCYTHE_WAKE_H
#define SCYTHE_WAKE_H

#include <stdatomic.h>
#include <stdbool.h>

/* What a thread hands a loop to look at: embedded in a job (its `wake_node`), so handing it over never allocates. */
typedef struct scythe__wake_node {
    struct scythe__wake_node *next;    /* on the waker's incoming stack */
    _Atomic bool queued;               /* on it, or being pushed: a second push would change nothing */
} scythe__wake_node;

typedef struct scythe__waker {
    int evfd;                          /* an eventfd in the loop's epoll set: a write makes its epoll_wait return */
    _Atomic int interrupt;             /* nonzero: scythe_loop_run returns to its host soon */
    _Atomic int flipped;               /* nonzero: a token flipped; the run returns to its host once nothing waits */
    _Atomic(scythe__wake_node *) incoming; /* jobs to look at, newest first (a lock-free stack any thread pushes on) */
    _Atomic int sweep_all;             /* nonzero: look at every job (for the rare callers that know no job) */
    _Atomic int helpers;               /* threads that may still wake it (dossier writers): its loop waits for 0 */
    struct scythe__waker *prev, *next; /* the registry, under its lock */
} scythe__waker;

/* Makes the loop's epoll_wait return. Any thread. */
void scythe__wake(scythe__waker *w);
/* Makes the loop look at one job soon (its cancel request, token, detachment or new due time), and only at it: the
 * job's node goes on the loop's incoming stack, lock-free, and the loop is woken if the stack was empty (else the push
 * that made it non-empty woke it). Any thread, after the change the loop must see is stored. */
void scythe__wake_for(scythe__waker *w, scythe__wake_node *n);
/* Every node pushed so far, newest first. The loop's thread, or a thread holding the loop's lock. Walk them with
 * scythe__wake_node_taken, which returns the next. */
scythe__wake_node *scythe__waker_take(scythe__waker *w);
/* Marks a taken node no longer queued (a later push queues it again; its job, looked at after this, shows every change
 * stored before that push) and returns the next one taken with it. */
scythe__wake_node *scythe__wake_node_taken(scythe__wake_node *n);
/* Makes the loop look at every job: for a caller that knows no job (a dossier's writer). Any thread. */
void scythe__wake_sweep(scythe__waker *w);
/* Every registered loop returns to its host soon, so the host can run callbacks of its own for tokens another runtime
 * flipped (the jobs attached to the token were handed to their loops already, token.c). Any thread. */
void scythe__wake_all(void);
void scythe__waker_register(scythe__waker *w);
/* A helper thread that will wake the loop starts and ends; the loop's free waits until none is left. */
void scythe__waker_helper_begin(scythe__waker *w);
void scythe__waker_helper_end(scythe__waker *w);
void scythe__waker_await_helpers(scythe__waker *w);
/* Returns true if no loop is registered any more. */
bool scythe__waker_unregister(scythe__waker *w);

#endif
