/* scythe-guard: kills every job of a supervisor that died.
 *
 * Started once per supervising process by scythe_guard_start(), in a session of its own, with
 *   fd 0: the read end of the lifeline pipe, whose write end only the supervisor holds (O_CLOEXEC), and
 *   fd 3: the table of live sessions, a shared memory file the supervisor updates with plain stores,
 *   fd 4: this executable, which we were exec'ed from (/proc/self/fd/4): the supervisor keeps it to start a new guard
 *   if this one dies, on the same table, which it reads from its start like the first guard did.
 *   argv[1..3]: the parents of the supervisor's cgroup leaves in the v2, v1 memory and v1 pids hierarchies ("-":
 *   none), BASE/scythe-PID, each holding one leaf per job.
 * It sleeps in read(0). When the supervisor dies, for any reason (exit, kill -9, the OOM killer), the kernel closes
 * the write end while tearing the process down, before its children are even reparented; read() returns 0 and the
 * guard sends SIGKILL to every session still listed, kills everything left in the v2 parent (cgroup.kill reaches a
 * job that escaped its session, or one spawned a moment before it was listed), removes the leaves and the parents,
 * then exits.
 *
 * Where the supervisor had to move itself out of its cgroup BASE into BASE/scythe-PID/supervisor to enable the v2
 * memory and pids controllers for its leaves (native/src/cgroup.c), the guard was started in that leaf too. It then
 * kills the job leaves one by one instead of the whole parent (which holds the guard), and at the end undoes the
 * move: controllers off in BASE/scythe-PID and BASE, the guard itself back into BASE, where the supervisor was, and
 * the supervisor leaf and the parent removed. BASE is left as the supervisor found it.
 *
 * PR_SET_PDEATHSIG in each job would not do: it fires when the spawning *thread* exits, not the process. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/prctl.h>
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

static void pause_ms(long ms) {
    struct timespec ts = {0, ms * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

/* "populated 1" in DIR/cgroup.events: something is still in the subtree. */
static int populated(const char *dir) {
    char path[4200], buf[256];
    snprintf(path, sizeof path, "%s/cgroup.events", dir);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = 0;
    return strstr(buf, "populated 1") != NULL;
}

/* Kills everything in the cgroup DIR and waits (up to 2 s) until the kernel says it is empty. */
static void kill_tree(const char *dir) {
    char path[4200];
    snprintf(path, sizeof path, "%s/cgroup.kill", dir);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return; /* no parent: the supervisor never used the cgroup level, or it removed it */
    ssize_t w = write(fd, "1", 1);
    (void)w;
    close(fd);
    for (int i = 0; i < 200 && populated(dir); i++)
        pause_ms(10);
}

/* Whether DIR/cgroup.procs lists this process. */
static int holds_us(const char *dir) {
    char path[4300];
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    FILE *f = fopen(path, "re");
    int pid, found = 0;
    while (f && !found && fscanf(f, "%d", &pid) == 1)
        found = pid == (int)getpid();
    if (f)
        fclose(f);
    return found;
}

/* The leaf of DIR this guard runs in (the supervisor's own leaf, see the top), into own; "" if none. */
static void find_own_leaf(const char *dir, char *own, size_t n) {
    own[0] = 0;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && !own[0] && (e = readdir(d));)
        if (e->d_type == DT_DIR && e->d_name[0] != '.') {
            snprintf(own, n, "%s/%s", dir, e->d_name);
            if (!holds_us(own))
                own[0] = 0;
        }
    if (d)
        closedir(d);
}

/* Kills every leaf of DIR but `own`, each as a whole. */
static void kill_leaves(const char *dir, const char *own) {
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_type == DT_DIR && e->d_name[0] != '.') {
            char leaf[4200];
            snprintf(leaf, sizeof leaf, "%s/%s", dir, e->d_name);
            if (strcmp(leaf, own))
                kill_tree(leaf);
        }
    if (d)
        closedir(d);
}

/* rmdir of DIR and of the empty cgroups a job made below it (a supervisor nested in the job, without a guard of its
 * own, leaves some). -1 if DIR is still there. */
static int rmdir_tree(const char *dir, int depth) {
    if (rmdir(dir) == 0 || errno == ENOENT)
        return 0;
    if (errno != EBUSY || depth > 16)
        return -1;
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_type == DT_DIR && e->d_name[0] != '.') {
            char sub[4300];
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
            rmdir_tree(sub, depth + 1);
        }
    if (d)
        closedir(d);
    return rmdir(dir) == 0 || errno == ENOENT ? 0 : -1;
}

/* Removes DIR's leaves but `keep` (""), then DIR unless it keeps one. A v1 memory leaf may stay busy a moment after
 * its last process died: retried. */
static void remove_tree(const char *dir, const char *keep) {
    for (int attempt = 0; attempt < 50; attempt++) {
        DIR *d = opendir(dir);
        if (!d)
            return;
        int left = 0;
        for (struct dirent *e; (e = readdir(d));)
            if (e->d_type == DT_DIR && e->d_name[0] != '.') {
                char leaf[4200];
                snprintf(leaf, sizeof leaf, "%s/%s", dir, e->d_name);
                left += strcmp(leaf, keep) && rmdir_tree(leaf, 0) < 0;
            }
        closedir(d);
        if (keep[0] ? !left : rmdir(dir) == 0 || errno == ENOENT)
            return;
        pause_ms(20);
    }
}

static int write_str(const char *dir, const char *file, const char *value) {
    char path[4200];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t w = write(fd, value, strlen(value));
    close(fd);
    return w < 0 ? -1 : 0;
}

/* Undoes the supervisor's move out of BASE (see the top); `parent` is BASE/scythe-PID, `own` its leaf holding us, the
 * job leaves are gone. */
static void give_back(const char *parent, const char *own) {
    char base[4200], ctl[256] = "", off[512] = "", path[4200];
    snprintf(base, sizeof base, "%s", parent);
    char *slash = strrchr(base, '/');
    if (!slash || slash == base)
        return;
    *slash = 0;
    /* The controllers the supervisor enabled, in parent and, for that, in BASE: parent's cgroup.subtree_control. */
    snprintf(path, sizeof path, "%s/cgroup.subtree_control", parent);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n = fd < 0 ? -1 : read(fd, ctl, sizeof ctl - 1);
    if (fd >= 0)
        close(fd);
    ctl[n > 0 ? n : 0] = 0;
    char *save = NULL;
    for (char *t = strtok_r(ctl, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
        snprintf(off + strlen(off), sizeof off - strlen(off), "%s-%s", off[0] ? " " : "", t);
    /* Off in parent first: BASE cannot drop a controller a child still passes on. Then BASE may hold a process
     * again, and the guard goes back there, out of the leaves to remove. */
    if (off[0] && (write_str(parent, "cgroup.subtree_control", off) || write_str(base, "cgroup.subtree_control", off)))
        return;
    if (write_str(base, "cgroup.procs", "0"))
        return;
    /* The supervisor may still be on its way out of its leaf: its lifeline closed before its exit finished. */
    for (int attempt = 0; attempt < 100 && rmdir(own) < 0 && errno == EBUSY; attempt++)
        pause_ms(10);
    rmdir(parent);
}

int main(int argc, char **argv) {
    close(4); /* our own executable, the exec's way in; not needed, and not to be held for our whole life */
    /* Exec'ed as /proc/self/fd/4, the kernel named us "4": ps and /proc/PID/comm should say what we are. */
    prctl(PR_SET_NAME, "scythe-guard", 0, 0, 0);
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
    if (argc > 3) {
        char own[4200] = "";
        if (strcmp(argv[1], "-"))
            find_own_leaf(argv[1], own, sizeof own);
        if (own[0])
            kill_leaves(argv[1], own);
        else if (strcmp(argv[1], "-"))
            kill_tree(argv[1]);
        for (int i = 1; i <= 3; i++)
            if (strcmp(argv[i], "-"))
                remove_tree(argv[i], i == 1 ? own : "");
        if (own[0])
            give_back(argv[1], own);
    }
    return 0;
}
