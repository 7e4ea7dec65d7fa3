/* The spawn of the cgroup level. posix_spawn cannot put a child into a cgroup before it runs, so this does what
 * glibc's posix_spawn does (clone with CLONE_VM | CLONE_VFORK on a small stack, the parent suspended until exec),
 * with one more step in the child: it writes "0" (itself) into the cgroup.procs of each of its leaves before it
 * executes anything of the job's. CLONE_PIDFD gives the pidfd atomically.
 *
 * The child shares the parent's memory until exec: it only makes system calls and writes to its own stack and to
 * the context's err field. Every signal is blocked in the parent thread around the clone (raw mask, glibc's internal
 * signals included), so no handler of the host runs in the child; the child resets every disposition to the
 * default before unblocking. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef SYS_close_range
#define SYS_close_range 436
#endif

extern char **environ;

#define CHILD_STACK (64 * 1024)

struct child_ctx {
    const scythe_spawn_options *o;
    const int *child_fd;
    const int *procs_fd;
    int token_fd; /* -1, or the token the job is handed, as its fd 3 */
    char *const *envp;
    volatile int err; /* errno of the step that failed in the child, 0 if it reached exec */
};

static void child_exec(const char *file, char *const argv[], char *const envp[]) {
    if (strchr(file, '/')) {
        execve(file, argv, envp);
        return;
    }
    /* PATH search, as execvp does (the caller's PATH), on the stack. */
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/bin:/usr/bin";
    char buf[PATH_MAX];
    int saw_eacces = 0;
    size_t flen = strlen(file);
    for (const char *p = path;; p++) {
        const char *end = strchr(p, ':');
        size_t dlen = end ? (size_t)(end - p) : strlen(p);
        if (dlen + flen + 2 <= sizeof buf) {
            memcpy(buf, dlen ? p : ".", dlen ? dlen : 1);
            size_t at = dlen ? dlen : 1;
            buf[at] = '/';
            memcpy(buf + at + 1, file, flen + 1);
            execve(buf, argv, envp);
            if (errno == EACCES)
                saw_eacces = 1;
            else if (errno != ENOENT && errno != ENOTDIR)
                return;
        }
        if (!end)
            break;
        p = end;
    }
    errno = saw_eacces ? EACCES : ENOENT;
}

static int child_main(void *arg) {
    struct child_ctx *c = arg;
    /* Every signal to its default disposition: a zeroed kernel sigaction is SIG_DFL, no flags, empty mask, whatever
     * the architecture's layout of the struct. Raw, because glibc refuses its internal signals. */
    uint64_t zero[4] = {0, 0, 0, 0};
    for (int sig = 1; sig < 65; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            syscall(SYS_rt_sigaction, sig, zero, NULL, 8);
    if (setsid() < 0)
        goto fail;
    for (int i = 0; i < 3; i++)
        if (c->procs_fd[i] >= 0 && write(c->procs_fd[i], "0", 1) != 1)
            goto fail;
    for (int i = 0; i < 3; i++)
        if (c->child_fd[i] >= 0 && dup2(c->child_fd[i], i) < 0)
            goto fail;
    unsigned first = 3;
    if (c->token_fd >= 0) {
        if (c->token_fd == 3 ? fcntl(3, F_SETFD, 0) < 0 : dup2(c->token_fd, 3) < 0)
            goto fail;
        first = 4;
    }
    /* No other fd above 2 reaches the job (close_range since 5.9; else one by one up to the limit). */
    if (syscall(SYS_close_range, first, ~0U, 0) < 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (int fd = (int)first; fd < (max > 0 ? max : 65536); fd++)
            close(fd);
    }
    if (c->o->cwd && chdir(c->o->cwd) < 0)
        goto fail;
    uint64_t none = 0;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &none, NULL, 8);
    child_exec(c->o->argv[0], (char *const *)c->o->argv, c->envp);
fail:
    c->err = errno ? errno : EINVAL;
    _exit(127);
}

int scythe__clone_spawn(pid_t *pid_out, int *pidfd_out, int64_t *start_ns, const scythe_spawn_options *o,
                        const int child_fd[3], const int procs_fd[3], int token_fd) {
    struct child_ctx ctx = {o, child_fd, procs_fd, token_fd, o->envp ? (char *const *)o->envp : environ, 0};
    char *stack = mmap(NULL, CHILD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED)
        return -errno;
    uint64_t all = ~0ULL, old;
    syscall(SYS_rt_sigprocmask, SIG_BLOCK, &all, &old, 8);
    int pidfd = -1;
    *start_ns = scythe__now_ns();
    pid_t pid = clone(child_main, stack + CHILD_STACK, CLONE_VM | CLONE_VFORK | CLONE_PIDFD | SIGCHLD, &ctx,
                      &pidfd);
    int err = errno;
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, &old, NULL, 8);
    munmap(stack, CHILD_STACK);
    if (pid < 0)
        return -err;
    if (ctx.err) {
        /* It never ran the job: reap it here. */
        siginfo_t si;
        while (waitid(P_PID, (id_t)pid, &si, WEXITED) < 0 && errno == EINTR) {
            /* retry: interrupted by a signal to this thread */
        }
        scythe__os_close(pidfd);
        return -ctx.err;
    }
    *pid_out = pid;
    *pidfd_out = pidfd;
    return 0;
}
