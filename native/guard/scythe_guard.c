/* scythe-guard: kills every job of a supervisor that died.
 *
 * Started once per supervising process by scythe_guard_start(), in a session of its own, with
 *   fd 0: the read end of the lifeline pipe, whose write end only the supervisor holds (O_CLOEXEC), and
 *   fd 3: the table of live sessions, a shared memory file the supervisor updates with plain stores.
 * It sleeps in read(0). When the supervisor dies, for any reason (exit, kill -9, the OOM killer), the kernel closes
 * the write end while tearing the process down, before its children are even reparented; read() returns 0 and the
 * guard sends SIGKILL to every session still listed, then exits.
 *
 * PR_SET_PDEATHSIG in each job would not do: it fires when the spawning *thread* exits, not the process. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

/* Must match native/src/guard.c. */
struct table {
    uint32_t magic;
    uint32_t slots;
    volatile int32_t pid[]; /* 0: free; else the leader pid (= session id) of a live, unreaped job */
};
#define TABLE_MAGIC 0x53435947u /* "SCYG" */

static void kill_session(pid_t pid) {
    /* Through a pidfd: a leader the supervisor never reaped is still our target (alive or a zombie pinning its
     * session id), so its process group can be signalled without hitting a recycled id. */
    int fd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (fd < 0)
        return; /* gone already */
    if (syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) == 0) {
        killpg(pid, SIGKILL);
        syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
    }
    close(fd);
}

int main(void) {
    struct stat st;
    if (fstat(3, &st) < 0 || st.st_size < (off_t)sizeof(struct table))
        return 2;
    struct table *t = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, 3, 0);
    if (t == MAP_FAILED || t->magic != TABLE_MAGIC)
        return 2;
    /* Ctrl-C and hang-ups are for the supervisor; the guard ends only with its lifeline. */
    signal(SIGINT, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    char buf[64];
    for (;;) {
        ssize_t n = read(0, buf, sizeof buf);
        if (n > 0)
            continue; /* nobody writes; ignore */
        if (n < 0 && errno == EINTR)
            continue; /* a signal: retry */
        break;        /* EOF (or an error): the supervisor is gone */
    }
    for (uint32_t i = 0; i < t->slots; i++) {
        pid_t pid = __atomic_load_n(&t->pid[i], __ATOMIC_ACQUIRE);
        if (pid > 0)
            kill_session(pid);
    }
    return 0;
}
