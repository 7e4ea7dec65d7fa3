/* What the spawn needs of the loop (loop.c). */
#ifndef SCYTHE_LOOP_H
#define SCYTHE_LOOP_H

#include "job.h"

/* Registers a freshly spawned job: its fds join the epoll set, it gets the loop's lock and waker, and the loop is woken
 * if the job brings an earlier due time. Takes the loop lock. 0 or -errno (then nothing of the job was registered). */
int scythe__loop_add(scythe_loop *loop, scythe_job *job);

/* A spare cgroup (its leaves made ahead, see scythe__cgroup_spare) for a contained spawn, or NULL: none ready. The
 * first call asks the loop to keep spares from then on. Takes the loop lock. */
scythe__cgroup *scythe__loop_take_spare(scythe_loop *loop);

/* How many times the loop has looked at a job outside its fd events (the sweeps' work), for tests. */
uint64_t scythe__loop_looked_at(scythe_loop *loop);

#endif
