/* What is due when (cadence.c): every time-driven decision about a job, in one place. The loop sweeps its jobs
 * through scythe__cadence_sweep() when its timer fires or it is woken, and arms its one timer for the earliest due time
 * the sweep found. Events on fds (an exit, output, inotify) are the loop's own business. */
#ifndef SCYTHE_CADENCE_H
#define SCYTHE_CADENCE_H

#include "job.h"
#include "list.h"

/* How long a reaped leader's pipes may stay open (held by a process outside its group) before we close them. */
#define SCYTHE__DRAIN_GRACE_NS (1000000000LL)
/* How often a reaped job's cgroup is looked at until the processes cgroup.kill killed are gone from it. */
#define SCYTHE__SETTLE_EVERY_NS (100000000LL) /* a safety net: cgroup.events tells when the cgroup is empty */

/* What the sweep asks of the loop for a reaped job. */
enum scythe__due { SCYTHE__DUE_NOTHING, SCYTHE__DUE_SETTLE /* complete it once its cgroup is empty */,
                   SCYTHE__DUE_COMPLETE /* complete it now: the drain grace ran out */ };

/* Lowers *due to t (0: no time). */
static inline void scythe__due_min(int64_t *due, int64_t t) {
    if (t && (!*due || t < *due))
        *due = t;
}

/* Sets a new job's due times from its options, counted from job->ev.start_ns: deadline, CPU checks, stall window. */
void scythe__cadence_start(scythe_job *job, const scythe_spawn_options *o);
/* Whether the loop must sweep soon for a job it just registered: it brings a due time earlier than the one the timer is
 * armed for (armed_ns, 0 none), or its token was cancelled meanwhile. Plain jobs do not: a sweep visits every job. */
bool scythe__cadence_needs_sweep(const scythe_job *job, int64_t armed_ns);
/* Acts on what is due for the job at `now`: a cancel request, its token, detachment, its deadline, its stall window,
 * memory, process and CPU limits (ending it, with a dossier first for an overrun, written over the live jobs on
 * `jobs`), the KILL escalation. Lowers *due to the job's next due time. For a reaped job, returns what the loop must
 * do. The caller holds the loop lock. */
enum scythe__due scythe__cadence_sweep(scythe_job *job, int64_t now, int64_t *due, const scythe__list *jobs);

#endif
