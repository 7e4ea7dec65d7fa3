/* What is due when: every time-driven decision about a job, in one place. For each job the loop's sweep asks here
 * whether anything is due now and when the next thing is; the loop arms its one timer for the earliest.
 *
 *   a cancel request, its token, detachment   at once (the loop is woken for them)
 *   its deadline                              at start + timeout_ns
 *   its stall window                          at last progress + stall_ns; heartbeats and tree walks sampled between
 *   memory and process limits                 every 10 ms: the kernel enforces them, we notice and end the whole job
 *   its CPU limit                             when the job could have used the rest of its budget at full speed
 *   the KILL escalation                       at TERM + grace_ns
 *   the output drain                          at reap + SCYTHE__DRAIN_GRACE_NS; the cgroup emptying: told by its
 *                                             cgroup.events (loop.c), looked at every 100 ms in case */
#include "internal.h"
#include "cadence.h"
#include "dossier.h"
#include "kill.h"

#define CG_LIMIT_EVERY_NS 10000000LL
#define CPU_CHECK_MIN_NS 5000000LL
#define CPU_CHECK_MAX_NS 250000000LL

/* A leaf with a memory or process limit, which the kernel enforces and we watch. */
static bool cgroup_limited(const scythe__cgroup *cg) {
    return cg && (cg->memory_limited || cg->process_limited);
}

void scythe__cadence_start(scythe_job *job, const scythe_spawn_options *o) {
    int64_t t0 = job->ev.start_ns;
    job->deadline_ns = o->timeout_ns > 0 ? t0 + o->timeout_ns : 0;
    if (job->progress)
        scythe__progress_start(job->progress, t0);
    if (o->cpu_limit_ns > 0) {
        job->cpu_limit_ns = o->cpu_limit_ns;
        job->next_cpu_check_ns = t0;
    }
}

bool scythe__cadence_needs_sweep(const scythe_job *job, int64_t armed_ns) {
    bool has_due_times = job->deadline_ns || job->progress || job->cpu_limit_ns || cgroup_limited(job->cgroup);
    return (has_due_times && (!armed_ns || !job->deadline_ns || job->deadline_ns < armed_ns)) ||
           (job->token && scythe__token_state(job->token));
}

/* Ends a running job for `end`, unless a cancel request got in first, which then decides it. An overrun gets its
 * dossier written before the first signal, the state as it hung: the end is decided now, and the signals wait for
 * the dossier's writer (dossier.c), which wakes the loop when done; no other job waits for it. */
static void end_running(scythe_job *job, int end, uint32_t reason, int64_t now, const scythe__list *jobs) {
    uint64_t req = scythe__job_close_cancel_door(job);
    if (req) {
        end = SCYTHE_END_CANCELLED; /* the host's cancel got in before this timeout, stall, limit or token */
        reason = (uint32_t)req;
    }
    const char *why = end == SCYTHE_END_TIMEOUT ? "timeout" : end == SCYTHE_END_STALLED ? "stalled" : "a limit";
    if (job->dossier_dir && end != SCYTHE_END_CANCELLED && scythe__dossier_start(job, why, jobs, &job->dossier) == 0) {
        job->end = end; /* decided: an exit meanwhile still reports it */
        job->cancel_reason = reason;
        return;
    }
    scythe__terminate(job, end, reason, now);
}

static void sweep_running(scythe_job *job, int64_t now, int64_t *due, const scythe__list *jobs) {
    if (job->dossier) { /* its end is decided; its dossier is being written */
        int rc;
        if (scythe__dossier_done(job->dossier, &rc)) {
            if (rc == 0)
                job->ev.flags |= SCYTHE_EVENT_DOSSIER;
            scythe__dossier_release(job->dossier);
            job->dossier = NULL;
            scythe__terminate(job, job->end, job->cancel_reason, now);
        }
        return;
    }
    uint64_t req = atomic_load_explicit(&job->cancel_request, memory_order_acquire);
    uint64_t tok = job->token ? scythe__token_state(job->token) : 0;
    if (job->detached)
        end_running(job, SCYTHE_END_CANCELLED, SCYTHE_REASON_SHUTDOWN, now, jobs);
    else if (req)
        end_running(job, SCYTHE_END_CANCELLED, (uint32_t)req, now, jobs);
    else if (tok)
        end_running(job, SCYTHE_END_CANCELLED, (uint32_t)tok, now, jobs);
    else if (job->deadline_ns && now >= job->deadline_ns)
        end_running(job, SCYTHE_END_TIMEOUT, SCYTHE_REASON_TIMEOUT, now, jobs);
    else
        scythe__due_min(due, job->deadline_ns);
    if (job->state == J_RUNNING && job->progress && now >= scythe__progress_poll(job->progress, now, due))
        end_running(job, SCYTHE_END_STALLED, SCYTHE_REASON_NONE, now, jobs);
    if (job->state == J_RUNNING && cgroup_limited(job->cgroup)) {
        if (now >= job->next_cg_check_ns) {
            int limit = scythe__cgroup_check(job->cgroup);
            if (limit)
                end_running(job, limit, SCYTHE_REASON_NONE, now, jobs);
            job->next_cg_check_ns = now + CG_LIMIT_EVERY_NS;
        }
        if (job->state == J_RUNNING)
            scythe__due_min(due, job->next_cg_check_ns);
    }
    if (job->state == J_RUNNING && job->cpu_limit_ns) {
        if (now >= job->next_cpu_check_ns) {
            int64_t cpu = job->cgroup ? scythe__cgroup_cpu_ns(job->cgroup, NULL, NULL)
                                      : scythe__os_proc_cpu_ns(job->pid);
            int64_t left = job->cpu_limit_ns - (cpu > 0 ? cpu : 0);
            if (left <= 0)
                end_running(job, SCYTHE_END_CPU_LIMIT, SCYTHE_REASON_NONE, now, jobs);
            /* The job cannot burn CPU faster than its cores; look again before it could have used the rest. */
            int64_t wait = left / 4;
            job->next_cpu_check_ns = now + (wait < CPU_CHECK_MIN_NS   ? CPU_CHECK_MIN_NS
                                            : wait > CPU_CHECK_MAX_NS ? CPU_CHECK_MAX_NS
                                                                      : wait);
        }
        if (job->state == J_RUNNING)
            scythe__due_min(due, job->next_cpu_check_ns);
    }
}

enum scythe__due scythe__cadence_sweep(scythe_job *job, int64_t now, int64_t *due, const scythe__list *jobs) {
    if (job->state == J_RUNNING)
        sweep_running(job, now, due, jobs);
    if (job->state == J_KILLING) { /* also a job the lines above just started to end */
        scythe__escalate(job, now);
        if (!job->killed_hard)
            scythe__due_min(due, job->kill_at_ns);
    } else if (job->state == J_REAPED) {
        if (now >= job->drain_until_ns)
            return SCYTHE__DUE_COMPLETE; /* a process outside the group (it changed its group) still holds a pipe */
        if (job->cgroup && job->out_fd[1] < 0 && job->out_fd[2] < 0)
            return SCYTHE__DUE_SETTLE; /* drained: waiting for the cgroup to empty */
        scythe__due_min(due, job->drain_until_ns);
    }
    return SCYTHE__DUE_NOTHING;
}
