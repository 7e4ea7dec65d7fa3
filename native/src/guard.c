/* Crash safety: one guard process per supervising process (native/guard/scythe_guard.c) holds a lifeline pipe to it
 * and reads the sessions to kill from a shared table that the loops update with plain atomic stores, no system
 * call; it also gets the parents of the process's cgroup leaves, which it kills and removes as a whole. See
 * scythe_guard_start() in scythe.h. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUARD_SLOTS 65536u
#define TABLE_MAGIC 0x53435947u /* must match the guard */

struct guard_table {
    uint32_t magic;
    uint32_t slots;
    _Atomic int32_t pid[];
};

static pthread_mutex_t guard_lock = PTHREAD_MUTEX_INITIALIZER;
static struct guard_table *table; /* NULL: no guard */
static int lifeline = -1;         /* write end; closing it (by exiting) is the signal */
static pid_t guard_pid;
static uint32_t *free_slots;      /* stack of free slot indexes */
static uint32_t free_top;

int scythe_guard_start(const char *guard_exe) {
    if (!guard_exe || !guard_exe[0])
        return -EINVAL;
    pthread_mutex_lock(&guard_lock);
    int rc = 0, memfd = -1, pipefd[2] = {-1, -1};
    size_t bytes = sizeof(struct guard_table) + GUARD_SLOTS * sizeof(int32_t);
    void *map = MAP_FAILED;
    uint32_t *stack = NULL;
    if (table) {
        rc = -EALREADY;
        goto out;
    }
    if ((rc = scythe__os_keep_child_status()))
        goto out; /* the guard is our child too */
    if ((memfd = memfd_create("scythe-guard-table", MFD_CLOEXEC)) < 0 || ftruncate(memfd, (off_t)bytes) < 0 ||
        (map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0)) == MAP_FAILED ||
        pipe2(pipefd, O_CLOEXEC) < 0) {
        rc = -errno;
        goto out;
    }
    if (!(stack = malloc(GUARD_SLOTS * sizeof *stack))) {
        rc = -ENOMEM;
        goto out;
    }
    struct guard_table *t = map;
    t->magic = TABLE_MAGIC;
    t->slots = GUARD_SLOTS;

    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    memset(&all, 0xff, sizeof all); /* see spawn.c: every signal to its default, glibc's internal ones included */
    posix_spawn_file_actions_adddup2(&fa, pipefd[0], 0);
    posix_spawn_file_actions_adddup2(&fa, memfd, 3);
    /* Not the supervisor's stdout/stderr: nobody waiting for their EOF should wait for the guard. */
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addclosefrom_np(&fa, 4);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    /* Its own session: a terminal's Ctrl-C to the supervisor's process group must not reach the guard first. */
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    /* The parents of this process's cgroup leaves ("-": none), for the guard to kill and remove. */
    char *argv[5] = {(char *)"scythe-guard"};
    for (int i = 0; i < 3; i++) {
        const char *dir = scythe__cgroup_parent(i);
        argv[1 + i] = (char *)(dir[0] ? dir : "-");
    }
    argv[4] = NULL;
    char *envp[] = {NULL};
    pid_t pid;
    rc = -posix_spawn(&pid, guard_exe, &fa, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc)
        goto out;
    for (uint32_t i = 0; i < GUARD_SLOTS; i++)
        stack[i] = GUARD_SLOTS - 1 - i;
    free_slots = stack;
    free_top = GUARD_SLOTS;
    stack = NULL;
    table = t;
    map = MAP_FAILED;
    lifeline = pipefd[1];
    pipefd[1] = -1;
    guard_pid = pid;
out:
    if (map != MAP_FAILED)
        munmap(map, bytes);
    free(stack);
    scythe__os_close(memfd); /* the mappings keep the table */
    scythe__os_close(pipefd[0]);
    scythe__os_close(pipefd[1]);
    pthread_mutex_unlock(&guard_lock);
    return rc;
}

int32_t scythe_guard_pid(void) {
    pthread_mutex_lock(&guard_lock);
    int32_t pid = table ? guard_pid : 0;
    pthread_mutex_unlock(&guard_lock);
    return pid;
}

int scythe__guard_add(pid_t pid) {
    int slot = 0;
    pthread_mutex_lock(&guard_lock);
    if (table && free_top) {
        uint32_t i = free_slots[--free_top];
        atomic_store_explicit(&table->pid[i], pid, memory_order_release);
        slot = (int)i + 1;
    }
    pthread_mutex_unlock(&guard_lock);
    return slot;
}

void scythe__guard_remove(int slot) {
    if (slot <= 0)
        return;
    pthread_mutex_lock(&guard_lock);
    atomic_store_explicit(&table->pid[slot - 1], 0, memory_order_release);
    free_slots[free_top++] = (uint32_t)(slot - 1);
    pthread_mutex_unlock(&guard_lock);
}
