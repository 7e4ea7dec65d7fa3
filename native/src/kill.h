/* Signals to a job's session (kill.c). The caller holds the job's loop lock. */
#ifndef SCYTHE_KILL_H
#define SCYTHE_KILL_H

#include "job.h"

/* Sends sig to the job's whole session: the leader and the rest of its process group. Only while the leader is
 * unreaped, so the group id cannot have been reused; afterwards -ESRCH. */
int scythe__kill_session(scythe_job *job, int sig);
/* The leader has exited (unreaped): SIGKILL to what it left behind, its session's group and, where anything is left in
 * it, its cgroup. */
int scythe__kill_rest(scythe_job *job);
/* Starts ending a running job whose end the caller decided (after closing its cancel door, see
 * scythe__job_close_cancel_door): TERM + CONT to the session, KILL after the grace (at once for a negative grace or a
 * detached job). */
void scythe__terminate(scythe_job *job, int end, uint32_t reason, int64_t now);
/* Sends KILL if the grace of a terminating job has run out. */
void scythe__escalate(scythe_job *job, int64_t now);

#endif
