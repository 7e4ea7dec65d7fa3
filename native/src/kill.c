/* Ending sessions. Every signal goes to a process we have not reaped: the leader through its pidfd (which can
 * never name a recycled pid) and the rest of its process group by killpg, whose id is the leader's pid and so
 * cannot be reused while the leader, alive or a zombie, still holds it. */
#include "internal.h"
#include "kill.h"

#include <errno.h>
#include <signal.h>

int scythe__kill_session(scythe_job *job, int sig) {
    if (job->state >= J_REAPED)
        return -ESRCH;
    if (sig == SIGKILL && job->cgroup)
        scythe__cgroup_kill(job->cgroup); /* everything in its cgroup, whatever session it moved to */
    int rc = scythe__os_pidfd_send_signal(job->pidfd, sig);
    /* ESRCH through the pidfd: the leader is not even a zombie any more, so another party reaped it (we have not), and
     * once its group is empty its pid, the group id, may be handed out again. No killpg then: the session's other
     * processes (at the session level) outlive a leader someone else reaped, but no stranger's group is signalled. */
    if (rc == -ESRCH)
        return rc;
    /* A zombie leader still pins the group id while the rest of its group lives on: killpg matters. */
    if (killpg(job->pid, sig) == 0)
        return 0;
    return rc;
}

void scythe__terminate(scythe_job *job, int end, uint32_t reason, int64_t now) {
    if (job->state != J_RUNNING)
        return;
    job->end = end;
    job->cancel_reason = reason;
    job->state = J_KILLING;
    if (job->grace_ns < 0 || job->detached) {
        scythe__kill_session(job, SIGKILL);
        job->killed_hard = true;
        return;
    }
    scythe__kill_session(job, SIGTERM);
    /* A stopped process only acts on TERM once continued; CONT after TERM so it dies instead of handling it late. */
    scythe__kill_session(job, SIGCONT);
    job->kill_at_ns = now + job->grace_ns;
}

void scythe__escalate(scythe_job *job, int64_t now) {
    if (job->state == J_KILLING && !job->killed_hard && now >= job->kill_at_ns) {
        scythe__kill_session(job, SIGKILL);
        job->killed_hard = true;
    }
}
