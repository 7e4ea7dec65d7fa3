/* Crash safety: one guard process per supervising process (native/guard/scythe_guard.c) holds a lifeline pipe to it
 * and reads the sessions to kill from a shared table that the loops update with plain atomic stores, no system
 * call; it also gets the parents of the process's cgroup leaves, which it kills and removes as a whole. See
 * scythe_guard_start() in scythe.h.
 *
 * The guard is our child and its death is an event from the kernel: its pidfd sits in an epoll set of our own, which
 * every loop has in its epoll set (an epoll fd is readable while its own set has a ready fd). The loop that sees it
 * first reaps the guard and starts a new one on the same table, from the same executable, which the host may have
 * deleted by then: we keep an fd to it and exec it as /proc/self/fd/4 (posix_spawn has no fexecve; the fd is dup'ed
 * to 4 by the spawn's file actions because everything above is closed before the exec). A restart swaps the pidfd in
 * our set, so no loop needs telling and nothing here calls the loops. */
#include "internal.h"
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define TABLE_MAGIC 0x53435947u /* must match the guard */
#define TABLE_FD 3              /* the guard's fds, as scythe_guard.c expects them */
#define EXE_FD 4
#define EXE_PATH "/proc/self/fd/4" /* EXE_FD, resolved in the child after its dup2s */

struct guard_table {
    uint32_t magic;
    uint32_t slots;
    _Atomic int32_t pid[];
};

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER; /* after any loop's lock */
static struct guard_table *table; /* NULL: never started */
static int table_fd = -1;         /* the table's memfd (CLOEXEC): fd 3 of every guard, replacements included */
static int exe_fd = -1;           /* the guard executable (O_PATH, CLOEXEC): the host may delete the file */
static int lifeline = -1;         /* write end; closing it (by exiting) is the signal */
static pid_t guard_pid;           /* 0: no guard runs */
static int guard_pidfd = -1;      /* in watch_epfd */
static int watch_epfd = -1;       /* epoll set of the guard's pidfd, in every loop's; -1 while no loop lives */
static unsigned watchers;         /* loops holding watch_epfd */
static _Atomic uint64_t restarts;
uint32_t scythe__guard_table_slots = 65536; /* jobs listed at once; the C tests make it small */
static uint32_t *free_slots;      /* stack of free slot indexes */
static uint32_t free_top;

/* Moves fd to MIN or above (CLOEXEC), so the spawn's dup2s onto 0, 3 and 4 never overwrite a source still needed. */
static int at_least(int fd, int min) {
    if (fd < 0 || fd >= min)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, min);
    int err = errno;
    scythe__os_close(fd);
    return moved < 0 ? -err : moved;
}

/* Starts a guard on the table with a new lifeline; the caller holds guard_lock. */
static int spawn_guard_locked(pid_t *pid_out, int *pidfd_out, int *lifeline_out) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc) {
        scythe__os_close(pipefd[0]);
        scythe__os_close(pipefd[1]);
        return -rc;
    }
    /* Its own session: a terminal's Ctrl-C to the supervisor's process group must not reach the guard first. */
    if ((rc = scythe__os_spawnattr_init(&attr))) {
        scythe__os_spawn_destroy(&fa, NULL);
        scythe__os_close(pipefd[0]);
        scythe__os_close(pipefd[1]);
        return rc;
    }
    /* The lifeline's read end goes first: it is the only source that may sit on 3 or 4 (table_fd and exe_fd are
     * kept at 5 and above). */
    rc = posix_spawn_file_actions_adddup2(&fa, pipefd[0], 0);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, table_fd, TABLE_FD);
    if (!rc)
        rc = posix_spawn_file_actions_adddup2(&fa, exe_fd, EXE_FD);
    /* Not the supervisor's stdout/stderr: nobody waiting for their EOF should wait for the guard. */
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (!rc)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, EXE_FD + 1);
    /* The parents of this process's cgroup leaves ("-": none), for the guard to kill and remove; probed once, so a
     * replacement gets the same ones. */
    char *argv[5] = {(char *)"scythe-guard"};
    for (int i = 0; i < 3; i++) {
        const char *dir = scythe__cgroup_parent(i);
        argv[1 + i] = (char *)(dir[0] ? dir : "-");
    }
    argv[4] = NULL;
    char *envp[] = {NULL};
    pid_t pid;
    if (!rc)
        rc = posix_spawn(&pid, EXE_PATH, &fa, &attr, argv, envp);
    scythe__os_spawn_destroy(&fa, &attr);
    scythe__os_close(pipefd[0]);
    if (rc) {
        scythe__os_close(pipefd[1]);
        return -rc;
    }
    int pidfd = scythe__os_pidfd_open(pid);
    if (pidfd < 0) {
        /* Our unreaped child, so the pid is still the guard's. A guard nobody watches would be a silent one. */
        kill(pid, SIGKILL);
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            /* retry: interrupted by a signal to this thread */
        }
        scythe__os_close(pipefd[1]);
        return pidfd;
    }
    *pid_out = pid;
    *pidfd_out = pidfd;
    *lifeline_out = pipefd[1];
    return 0;
}

static int watch_add_locked(int pidfd) {
    struct epoll_event ev = {.events = EPOLLIN};
    return epoll_ctl(watch_epfd, EPOLL_CTL_ADD, pidfd, &ev) < 0 ? -errno : 0;
}

/* Makes the new guard's pidfd the one every loop watches, and closes the old one; the caller holds guard_lock. */
static void watch_locked(int old_pidfd, int new_pidfd) {
    if (watch_epfd >= 0) {
        /* Removed by hand: closing the fd would not remove it while a child being spawned still holds a copy. */
        if (old_pidfd >= 0)
            epoll_ctl(watch_epfd, EPOLL_CTL_DEL, old_pidfd, NULL);
        /* ENOMEM or the user's epoll watch limit: the loops will not notice this guard's death. */
        if (new_pidfd >= 0)
            (void)watch_add_locked(new_pidfd);
    }
    scythe__os_close(old_pidfd);
}

int scythe_guard_start(const char *guard_exe) {
    if (!guard_exe || !guard_exe[0])
        return -EINVAL;
    pthread_mutex_lock(&guard_lock);
    int rc = 0, memfd = -1, exe = -1;
    uint32_t slots = table ? table->slots : scythe__guard_table_slots;
    size_t bytes = sizeof(struct guard_table) + slots * sizeof(int32_t);
    void *map = MAP_FAILED;
    uint32_t *stack = NULL;
    bool new_table = !table;
    if (guard_pid) {
        rc = -EALREADY;
        goto out;
    }
    if ((rc = scythe__os_keep_child_status()))
        goto out; /* the guard is our child too */
    int fd = open(guard_exe, O_PATH | O_CLOEXEC);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if ((exe = at_least(fd, EXE_FD + 1)) < 0) {
        rc = exe;
        exe = -1;
        goto out;
    }
    if (new_table) {
        if ((memfd = memfd_create("scythe-guard-table", MFD_CLOEXEC)) < 0 || ftruncate(memfd, (off_t)bytes) < 0 ||
            (map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0)) == MAP_FAILED) {
            rc = -errno;
            goto out;
        }
        if ((memfd = at_least(memfd, EXE_FD + 1)) < 0) {
            rc = memfd;
            memfd = -1;
            goto out;
        }
        if (!(stack = scythe__malloc(slots * sizeof *stack))) {
            rc = -ENOMEM;
            goto out;
        }
        struct guard_table *t = map;
        t->magic = TABLE_MAGIC;
        t->slots = slots;
        table_fd = memfd;
    }
    /* After a failed restart the table is still there, with every live job listed: the new guard covers them. */
    int old_exe = exe_fd;
    exe_fd = exe;
    pid_t pid;
    int pidfd, line;
    if ((rc = spawn_guard_locked(&pid, &pidfd, &line))) {
        exe_fd = old_exe;
        if (new_table)
            table_fd = -1;
        goto out;
    }
    scythe__os_close(old_exe);
    exe = -1;
    if (new_table) {
        for (uint32_t i = 0; i < slots; i++)
            stack[i] = slots - 1 - i;
        free_slots = stack;
        free_top = slots;
        stack = NULL;
        table = map;
        map = MAP_FAILED;
        memfd = -1;
    }
    lifeline = line;
    guard_pid = pid;
    guard_pidfd = pidfd;
    watch_locked(-1, pidfd);
out:
    if (map != MAP_FAILED)
        munmap(map, bytes);
    free(stack);
    scythe__os_close(memfd);
    scythe__os_close(exe);
    pthread_mutex_unlock(&guard_lock);
    return rc;
}

int32_t scythe_guard_pid(void) {
    pthread_mutex_lock(&guard_lock);
    int32_t pid = guard_pid;
    pthread_mutex_unlock(&guard_lock);
    return pid;
}

uint64_t scythe_guard_restarts(void) {
    return atomic_load_explicit(&restarts, memory_order_acquire);
}

int scythe__guard_watch(void) {
    pthread_mutex_lock(&guard_lock);
    int rc = 0;
    /* Made with the first loop and closed with the last, so a process without loops holds no fd of ours. */
    if (!watchers) {
        if ((watch_epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
            rc = -errno;
        } else if (guard_pidfd >= 0 && (rc = watch_add_locked(guard_pidfd))) {
            scythe__os_close(watch_epfd);
            watch_epfd = -1;
        }
    }
    if (!rc) {
        watchers++;
        rc = watch_epfd;
    }
    pthread_mutex_unlock(&guard_lock);
    return rc;
}

void scythe__guard_unwatch(void) {
    pthread_mutex_lock(&guard_lock);
    if (watchers && --watchers == 0) {
        scythe__os_close(watch_epfd);
        watch_epfd = -1;
    }
    pthread_mutex_unlock(&guard_lock);
}

bool scythe__guard_check(void) {
    pthread_mutex_lock(&guard_lock);
    /* Loops race here on the same death: only the first finds the guard to reap; the others find the replacement
     * alive (or no guard) and do nothing. */
    int exit_code;
    int dead = guard_pidfd >= 0 ? scythe__os_reap_if_exited(guard_pidfd, &exit_code) : 0;
    if (dead == 0 || dead < 0) { /* alive, or a waitid error that tells nothing */
        pthread_mutex_unlock(&guard_lock);
        return false;
    }
    int old_pidfd = guard_pidfd;
    guard_pid = 0;
    guard_pidfd = -1;
    pid_t pid;
    int pidfd = -1, line;
    /* Killed (kill -9, the OOM killer): start another. Exited on its own while we live: it could not run (a guard
     * executable that does not match this library); another would only do the same, in a loop. */
    if (exit_code < 0 && scythe__os_keep_child_status() == 0 && spawn_guard_locked(&pid, &pidfd, &line) == 0) {
        scythe__os_close(lifeline); /* its reader is dead: nothing to signal any more */
        lifeline = line;
        guard_pid = pid;
        guard_pidfd = pidfd;
        atomic_fetch_add_explicit(&restarts, 1, memory_order_release);
    } else {
        /* No guard now: scythe_guard_pid() says so with 0, and scythe_guard_start() may be called again. */
        scythe__os_close(lifeline);
        lifeline = -1;
        pidfd = -1;
    }
    /* The dead guard's pidfd leaves every epoll set, or it would stay readable for good. */
    watch_locked(old_pidfd, pidfd);
    pthread_mutex_unlock(&guard_lock);
    return true;
}

int scythe__guard_reserve(void) {
    pthread_mutex_lock(&guard_lock);
    int slot = 0;
    /* Once a guard was started its table stays, with or without a guard running (after a failed restart the next
     * scythe_guard_start covers what is listed): a job it cannot list is not started at all. */
    if (table)
        slot = free_top ? (int)free_slots[--free_top] + 1 : -ENOSPC;
    pthread_mutex_unlock(&guard_lock);
    return slot;
}

void scythe__guard_list(int slot, pid_t pid) {
    if (slot > 0) /* the table never moves once made, and the slot is ours: one atomic store, no lock */
        atomic_store_explicit(&table->pid[slot - 1], pid, memory_order_release);
}

void scythe__guard_remove(int slot) {
    if (slot <= 0)
        return;
    pthread_mutex_lock(&guard_lock);
    atomic_store_explicit(&table->pid[slot - 1], 0, memory_order_release);
    free_slots[free_top++] = (uint32_t)(slot - 1);
    pthread_mutex_unlock(&guard_lock);
}
