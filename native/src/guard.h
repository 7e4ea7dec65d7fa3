/* What the spawn and the loops need of the crash guard (guard.c). The guard calls nothing of theirs: a loop watches
 * one fd the guard owns, and a restarted guard changes what is behind that fd, not the loops. */
#ifndef SCYTHE_GUARD_H
#define SCYTHE_GUARD_H

#include "internal.h"

/* A slot in the guard's table for a job about to start: slot + 1; 0 if no guard was ever started (nothing to list);
 * -ENOSPC if the table is full (the job must not start: it would run unguarded). */
int scythe__guard_reserve(void);
/* Lists the leader just started in its reserved slot (0: a no-op). */
void scythe__guard_list(int slot, pid_t pid);
/* Unlists a job and frees its slot (0: a no-op): before its leader is reaped, so the guard never sees its pid
 * recycled. */
void scythe__guard_remove(int slot);
/* Table size for the next new table (65536); the C tests make it small. */
extern uint32_t scythe__guard_table_slots;
/* An fd for a loop's epoll set that is readable when the guard may have died: an epoll set of the guard's own, which
 * holds the current guard's pidfd. Each call takes a reference (the set lives while a loop does), or returns -errno. */
int scythe__guard_watch(void);
void scythe__guard_unwatch(void);
/* A loop saw the watch fd readable. If the guard died: reaps it, starts a new one on the same table (or leaves none if
 * that fails, or if the guard exited on its own) and returns true; false if the guard runs (another loop already
 * replaced it). */
bool scythe__guard_check(void);

#endif
