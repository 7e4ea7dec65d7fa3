/* Ending sessions. Every signal goes to a process group whose leader we have not reaped: its id is the leader's pid,
 * which cannot be handed out again while the leader, alive or a zombie, still holds it. */
#include "internal.h"
#include "kill.h"

#include <errno.h>
#include <signal.h>

/* One signal to the whole group, leader included: a session leader cannot leave its process group, and it sits there
 * until reaped. Sent through the pidfd as well, the leader would get each signal twice, and a prover that handles
 * SIGTERM (to print its statistics, say) a second one in the middle of its shutdown. The caller has checked that the
 * leader is still ours. */
static int signal_group(scythe_job *job, int sig) {
    if (killpg(job->pid, sig) == 0)
        return 0;
    /* killpg found no process it may signal (EPERM): the leader at least, through its pidfd. */
    return scythe__os_pidfd_send_signal(job->pidfd, sig);
}

/* Signal 0 through the pidfd, which can never name a recycled pid, tells whether the leader is still ours. ESRCH: it
 * is not even a zombie any more, so another party reaped it (we have not), and once its group is empty its pid, the
 * group id, may be handed out again. No killpg then: at the session level the session's other processes outlive a
 * leader someone else reaped, but no stranger's group is signalled. The one window left is a reap by someone else
 * between this check and the killpg, and the group emptying and its id being reused in it too. */
static int signal_session(scythe_job *job, int sig) {
    int rc = scythe__os_pidfd_send_signal(job->pidfd, 0);
    return rc ? rc : signal_group(job, sig);
}

int scythe__kill_session(scythe_job *job, int sig) {
    /* pid 0 would make the killpg below signal our own process group: never, whatever state the job is in. */
    if (job->state >= J_REAPED || job->pid <= 0)
        return -ESRCH;
    /* Everything in its cgroup, whatever session it moved to; once is enough: a process with SIGKILL pending cannot
     * fork, so nothing new can appear in the leaf after a cgroup.kill, and the leader's exit need not write it again
     * after a SIGKILL to the job (killed_hard: this function sent it, cgroup.kill included). */
    if (sig == SIGKILL && job->cgroup && !job->killed_hard)
        scythe__cgroup_kill(job->cgroup);
    return signal_session(job, sig);
}

int scythe__kill_rest(scythe_job *job) {
    if (job->state >= J_REAPED || job->pid <= 0)
        return -ESRCH;
    /* The leader left its cgroup before its pidfd said it exited (the kernel moves an exiting task out first):
     * cgroup.kill only where something else is left there. Most jobs leave nothing, and the write would cost their
     * exit more than this read of cgroup.events, held open since the leaf was made. */
    if (job->cgroup && !job->killed_hard && scythe__cgroup_populated(job->cgroup))
        scythe__cgroup_kill(job->cgroup);
    return signal_session(job, SIGKILL);
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
    /* A stopped process only acts on TERM once continued; CONT after TERM so it dies instead of handling it late. The
     * leader was checked with the TERM, on this thread, which alone reaps: no second check for the CONT. */
    if (scythe__kill_session(job, SIGTERM) == 0)
        signal_group(job, SIGCONT);
    job->kill_at_ns = now + job->grace_ns;
}

void scythe__escalate(scythe_job *job, int64_t now) {
    if (job->state == J_KILLING && !job->killed_hard && now >= job->kill_at_ns) {
        scythe__kill_session(job, SIGKILL);
        job->killed_hard = true;
    }
}
