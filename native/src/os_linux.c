/* Linux system calls that glibc 2.34 does not wrap (pidfd_open, pidfd_send_signal, close_range) and the waitid
 * variant that returns rusage. Everything OS-specific lives here, behind scythe__os_* functions. */
#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int64_t scythe__now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int scythe__os_pidfd_open(pid_t pid) {
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
}

int scythe__os_pidfd_send_signal(int pidfd, int sig) {
    return syscall(SYS_pidfd_send_signal, pidfd, sig, NULL, 0) < 0 ? -errno : 0;
}

static int64_t tv_ns(struct timeval tv) {
    return (int64_t)tv.tv_sec * 1000000000LL + (int64_t)tv.tv_usec * 1000LL;
}

int scythe__os_reap(int pidfd, scythe_event *ev) {
    siginfo_t si = {0};
    struct rusage ru = {0};
    long rc;
    /* The raw syscall, because only it fills rusage; retried on EINTR (a signal to this thread, not to the child). */
    do {
        rc = syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED, &ru);
    } while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return -errno;
    ev->user_cpu_ns = tv_ns(ru.ru_utime);
    ev->sys_cpu_ns = tv_ns(ru.ru_stime);
    if (si.si_code == CLD_EXITED) {
        ev->exit_code = si.si_status;
        ev->term_signal = 0;
    } else {
        ev->exit_code = -1;
        ev->term_signal = si.si_status;
        ev->core_dumped = si.si_code == CLD_DUMPED;
    }
    return 0;
}

int scythe__os_reap_if_exited(int pidfd, int *exit_code) {
    siginfo_t si = {0};
    long rc;
    *exit_code = -1;
    do {
        rc = syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | WNOHANG, NULL);
    } while (rc < 0 && errno == EINTR); /* a signal to this thread: retry */
    if (rc < 0)
        return errno == ECHILD ? 1 : -errno; /* ECHILD: someone else reaped it; gone all the same */
    if (si.si_pid == 0)
        return 0; /* WNOHANG leaves si_pid 0 while the process runs */
    if (si.si_code == CLD_EXITED)
        *exit_code = si.si_status;
    return 1;
}

int scythe__os_probe_close_range(void) {
    /* An empty range at the very top: closes nothing, fails only with ENOSYS on kernels without the call. */
    return syscall(SYS_close_range, ~0U, ~0U, 0) < 0 ? -errno : 0;
}

int scythe__os_probe_waitid_pidfd(int pidfd) {
    siginfo_t si;
    /* Our own pidfd is not our child: ECHILD means P_PIDFD is understood, EINVAL that it is not. */
    if (syscall(SYS_waitid, P_PIDFD, pidfd, &si, WEXITED | WNOHANG, NULL) == 0)
        return 0;
    return errno == ECHILD ? 0 : -errno;
}

int scythe__os_keep_child_status(void) {
    /* With SIGCHLD at SIG_IGN, or with SA_NOCLDWAIT, the kernel reaps our children itself as they exit: waitid then
     * fails with ECHILD and the exit status is lost. Daemons, and test harnesses such as coreutils' timeout tests,
     * start programs that way, and exec keeps SIG_IGN. SIG_DFL is safe to restore: the default action of SIGCHLD is
     * to ignore the signal, yet the kernel keeps zombies for wait. A handler the host installed stays; only its
     * SA_NOCLDWAIT goes. One sigaction query per spawn is cheap next to posix_spawn. */
    struct sigaction sa;
    if (sigaction(SIGCHLD, NULL, &sa) < 0)
        return -errno;
    bool ignored = !(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_IGN;
    if (!ignored && !(sa.sa_flags & SA_NOCLDWAIT))
        return 0;
    if (ignored) {
        sa.sa_handler = SIG_DFL;
        sa.sa_flags = 0;
        sigemptyset(&sa.sa_mask);
    } else {
        sa.sa_flags &= ~SA_NOCLDWAIT;
    }
    return sigaction(SIGCHLD, &sa, NULL) < 0 ? -errno : 0;
}

int scythe__os_spawnattr_init(posix_spawnattr_t *attr) {
    int rc = posix_spawnattr_init(attr);
    if (rc)
        return -rc;
    sigset_t none, all;
    sigemptyset(&none);
    /* Every signal back to its default, glibc's internal ones (32 and 33) included: sigfillset leaves those out,
     * and posix_spawn then sets them to SIG_IGN in the child, which exec keeps. glibc copies this set verbatim and
     * tests it bit by bit, so all bits set means "all signals". */
    memset(&all, 0xff, sizeof all);
    /* The JVM blocks and ignores signals (SIGPIPE, SIGQUIT handling...); a child of ours starts with none of that. */
    rc = posix_spawnattr_setsigmask(attr, &none);
    if (!rc)
        rc = posix_spawnattr_setsigdefault(attr, &all);
    if (!rc)
        rc = posix_spawnattr_setflags(attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    if (rc) {
        scythe__os_spawn_destroy(NULL, attr);
        return -rc;
    }
    return 0;
}

void scythe__os_spawn_destroy(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr) {
    /* Both may only fail for an object that was never initialised (glibc: never), and there is nothing to undo. */
    if (fa)
        (void)posix_spawn_file_actions_destroy(fa);
    if (attr)
        (void)posix_spawnattr_destroy(attr);
}

void scythe__os_block_sigpipe(void) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
}

ssize_t scythe__os_write_pipe(int fd, const void *buf, size_t len) {
    sigset_t pipe_set, old, pending;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    /* A SIGPIPE already pending (standard signals do not queue) would merge with ours: consuming it then would take
     * someone else's, so only one we raised ourselves is consumed. */
    bool was_pending = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE);
    ssize_t n;
    while ((n = write(fd, buf, len)) < 0 && errno == EINTR) {
        /* retry: interrupted by a signal to this thread */
    }
    int err = n < 0 ? errno : 0;
    if (err == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        (void)sigtimedwait(&pipe_set, NULL, &zero);
    }
    if (!sigismember(&old, SIGPIPE))
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    return n < 0 ? -err : n;
}

size_t scythe__os_pipe_pending(int fd) {
    int n = 0;
    return ioctl(fd, FIONREAD, &n) == 0 && n > 0 ? (size_t)n : 0;
}

void scythe__os_close(int fd) {
    /* Never retried: on Linux the fd is gone even when close reports EINTR. */
    if (fd >= 0)
        (void)close(fd);
}

void scythe__os_close_watched(int epfd, int fd) {
    if (epfd >= 0 && fd >= 0)
        (void)epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); /* ENOENT: it was never added, nothing to undo */
    scythe__os_close(fd);
}

int64_t scythe__os_proc_cpu_ns(pid_t pid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* the command name may hold spaces and parentheses */
    unsigned long long ut, st, cut, cst;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu %llu %llu", &ut, &st, &cut, &cst) != 4)
        return -EIO;
    long hz = sysconf(_SC_CLK_TCK);
    return (int64_t)((ut + st + cut + cst) * (1000000000ULL / (unsigned long long)(hz > 0 ? hz : 100)));
}

int scythe__os_start_helper(void *(*fn)(void *), void *arg, pthread_t *joinable) {
    pthread_attr_t attr;
    pthread_t t;
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits this mask */
    int rc = pthread_attr_init(&attr);
    if (!rc)
        rc = pthread_attr_setdetachstate(&attr, joinable ? PTHREAD_CREATE_JOINABLE : PTHREAD_CREATE_DETACHED);
    if (!rc)
        rc = pthread_create(joinable ? joinable : &t, &attr, fn, arg);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return -rc;
}
