/* The cgroup containment level. Each job gets a leaf of its own in the cgroup v2 hierarchy (cgroup.kill ends
 * everything in it, whatever session or process group a process moved to) and, where the machine offers the v1
 * memory and pids controllers instead of v2 ones (as these machines do), leaves there for memory.limit_in_bytes and
 * pids.max. The child moves itself into every leaf before it executes anything of its own (see clone_spawn.c).
 * The machine's layout is probed once; what a job actually got is reported in its event.
 *
 * Leaves live in one parent per supervising process, BASE/scythe-PID/job-N, so that the guard can end and remove
 * them all at once when the process dies (cgroup.kill of the v2 parent reaches every job, even one spawned a moment
 * before it was listed in the guard's table). The parent is made on first use and removed when the last loop is
 * freed, or by the guard. */
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static char v2_base[PATH_MAX], mem_base[PATH_MAX], pids_base[PATH_MAX];
static char parent[3][PATH_MAX]; /* BASE/scythe-PID for v2, v1 memory, v1 pids ("" where unusable) */
static bool v2_kill;
static _Atomic uint64_t next_id;

/* Mount point of the cgroup hierarchy whose mount options hold `want` (v1), or of cgroup2 (want NULL). */
static int find_mount(char *out, size_t n, const char *want) {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return -errno;
    char line[4096];
    int rc = -ENOENT;
    while (rc && fgets(line, sizeof line, f)) {
        char mnt[PATH_MAX], fstype[64], opts[1024];
        char *sep = strstr(line, " - ");
        if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 || sscanf(sep + 3, "%63s %*s %1023s", fstype,
                                                                               opts) != 2)
            continue;
        bool match = want ? !strcmp(fstype, "cgroup") && strstr(opts, want) : !strcmp(fstype, "cgroup2");
        if (match && snprintf(out, n, "%s", mnt) < (int)n)
            rc = 0;
    }
    fclose(f);
    return rc;
}

/* This process's path in the hierarchy named `want` in /proc/self/cgroup ("" for v2's "0::" line). */
static int own_path(char *out, size_t n, const char *want) {
    FILE *f = fopen("/proc/self/cgroup", "re");
    if (!f)
        return -errno;
    char line[4096];
    int rc = -ENOENT;
    while (rc && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        bool match = want ? strstr(c1 + 1, want) != NULL : c1[1] == 0;
        if (match && snprintf(out, n, "%s", c2 + 1) < (int)n)
            rc = 0;
    }
    fclose(f);
    return rc;
}

static void probe_base(char *base, const char *controller) {
    char mnt[PATH_MAX], path[PATH_MAX], probe[PATH_MAX + 64];
    base[0] = 0;
    if (find_mount(mnt, sizeof mnt, controller) || own_path(path, sizeof path, controller))
        return;
    if (snprintf(base, PATH_MAX, "%s%s", mnt, strcmp(path, "/") ? path : "") >= PATH_MAX ||
        snprintf(probe, sizeof probe, "%s/scythe-probe-%d", base, (int)getpid()) >= (int)sizeof probe) {
        base[0] = 0;
        return;
    }
    /* Usable only if we may create leaves here. */
    if (mkdir(probe, 0755) < 0) {
        base[0] = 0;
        return;
    }
    if (!controller) {
        char kill[PATH_MAX + 80];
        v2_kill = snprintf(kill, sizeof kill, "%s/cgroup.kill", probe) < (int)sizeof kill && access(kill, W_OK) == 0;
    }
    rmdir(probe);
}

static void probe(void) {
    probe_base(v2_base, NULL);
    probe_base(mem_base, "memory");
    probe_base(pids_base, "pids");
    if (!v2_kill)
        v2_base[0] = 0; /* without cgroup.kill (Linux < 5.14) the v2 leaf buys nothing over the session */
    const char *bases[3] = {v2_base, mem_base, pids_base};
    for (int i = 0; i < 3; i++)
        if (!bases[i][0] ||
            snprintf(parent[i], sizeof parent[i], "%s/scythe-%d", bases[i], (int)getpid()) >= (int)sizeof parent[i])
            parent[i][0] = 0;
}

const char *scythe__cgroup_parent(int hierarchy) {
    pthread_once(&probe_once, probe);
    return hierarchy >= 0 && hierarchy < 3 ? parent[hierarchy] : "";
}

void scythe__cgroup_release_parents(void) {
    pthread_once(&probe_once, probe);
    for (int i = 0; i < 3; i++)
        if (parent[i][0])
            rmdir(parent[i]); /* ENOENT: never made; EBUSY: another loop's jobs still have leaves there */
}

/* mkdir of a leaf, making the parent first where it is missing (on first use, or after a freed last loop removed
 * it while another loop was starting). EEXIST from a stale leaf of a dead process with our pid: the caller picks
 * another name. */
static int make_leaf(const char *parent_dir, const char *leaf) {
    for (int attempt = 0; attempt < 3; attempt++) {
        if (mkdir(leaf, 0755) == 0)
            return 0;
        if (errno != ENOENT)
            return -errno;
        if (mkdir(parent_dir, 0755) < 0 && errno != EEXIST)
            return -errno;
    }
    return -ENOENT;
}

uint32_t scythe__cgroup_caps(void) {
    pthread_once(&probe_once, probe);
    return (v2_base[0] ? SCYTHE_CAP_CGROUP_KILL : 0) | (mem_base[0] ? SCYTHE_CAP_CGROUP_MEMORY : 0) |
           (pids_base[0] ? SCYTHE_CAP_CGROUP_PIDS : 0);
}

static int write_file(const char *dir, const char *file, const char *value) {
    char path[PATH_MAX + 64];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, value, strlen(value));
    int rc = n < 0 ? -errno : 0;
    scythe__os_close(fd);
    return rc;
}

/* A key's value in a flat-keyed file ("oom_kill 3", "populated 0", "usage_usec 1234"), or -errno. */
static int64_t read_key(const char *dir, const char *file, const char *key) {
    char path[PATH_MAX + 64], line[256];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return -ENAMETOOLONG;
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    int64_t v = -ENOENT;
    size_t k = strlen(key);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, key, k) && line[k] == ' ') {
            v = strtoll(line + k + 1, NULL, 10);
            break;
        }
    fclose(f);
    return v;
}

static int64_t read_number(const char *dir, const char *file) {
    char path[PATH_MAX + 64], buf[64];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    scythe__os_close(fd);
    if (n <= 0)
        return -EIO;
    buf[n] = 0;
    return strtoll(buf, NULL, 10);
}

void scythe__cgroup_init(scythe__cgroup *cg) {
    memset(cg, 0, sizeof *cg);
    for (int i = 0; i < 3; i++)
        cg->procs_fd[i] = -1;
}

int scythe__cgroup_create(scythe__cgroup *cg, int64_t memory_limit, int64_t process_limit) {
    scythe__cgroup_caps();
    if (!v2_base[0])
        return -ENOTSUP;
    if ((memory_limit > 0 && !mem_base[0]) || (process_limit > 0 && !pids_base[0]))
        return -ENOTSUP;
    const bool use[3] = {true, memory_limit > 0, process_limit > 0};
    unsigned long long id = atomic_fetch_add(&next_id, 1); /* the same leaf name in every hierarchy, where free */
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++) {
        if (!use[i])
            continue;
        if (!parent[i][0]) {
            rc = -ENAMETOOLONG;
            break;
        }
        for (int tries = 0; tries < 100; tries++) {
            if (snprintf(cg->dir[i], sizeof cg->dir[i], "%s/job-%llu", parent[i], id) >= (int)sizeof cg->dir[i]) {
                rc = -ENAMETOOLONG;
                break;
            }
            if ((rc = make_leaf(parent[i], cg->dir[i])) != -EEXIST)
                break;
            id = atomic_fetch_add(&next_id, 1);
        }
        if (rc) {
            cg->dir[i][0] = 0;
            break;
        }
        char procs[PATH_MAX + 64];
        if (snprintf(procs, sizeof procs, "%s/cgroup.procs", cg->dir[i]) >= (int)sizeof procs ||
            (cg->procs_fd[i] = open(procs, O_WRONLY | O_CLOEXEC)) < 0)
            rc = -errno;
    }
    char value[32];
    if (!rc && memory_limit > 0) {
        snprintf(value, sizeof value, "%lld", (long long)memory_limit);
        rc = write_file(cg->dir[1], "memory.limit_in_bytes", value);
    }
    if (!rc && process_limit > 0) {
        snprintf(value, sizeof value, "%lld", (long long)process_limit);
        rc = write_file(cg->dir[2], "pids.max", value);
    }
    cg->active = !rc;
    if (rc)
        scythe__cgroup_destroy(cg);
    return rc;
}

void scythe__cgroup_close_procs(scythe__cgroup *cg) {
    for (int i = 0; i < 3; i++) {
        scythe__os_close(cg->procs_fd[i]);
        cg->procs_fd[i] = -1;
    }
}

int scythe__cgroup_kill(scythe__cgroup *cg) {
    return cg->active ? write_file(cg->dir[0], "cgroup.kill", "1") : -ENOENT;
}

bool scythe__cgroup_populated(scythe__cgroup *cg) {
    return cg->active && read_key(cg->dir[0], "cgroup.events", "populated") > 0;
}

int scythe__cgroup_check(scythe__cgroup *cg) {
    if (!cg->active)
        return 0;
    if (cg->dir[1][0] && read_key(cg->dir[1], "memory.oom_control", "oom_kill") > 0)
        return SCYTHE_END_MEMORY;
    if (cg->dir[2][0] && read_key(cg->dir[2], "pids.events", "max") > 0)
        return SCYTHE_END_PROCESSES;
    return 0;
}

int64_t scythe__cgroup_cpu_ns(scythe__cgroup *cg, int64_t *user_ns, int64_t *sys_ns) {
    if (!cg->active)
        return -ENOENT;
    int64_t u = read_key(cg->dir[0], "cpu.stat", "user_usec"), s = read_key(cg->dir[0], "cpu.stat", "system_usec");
    if (u < 0 || s < 0)
        return -EIO;
    if (user_ns)
        *user_ns = u * 1000;
    if (sys_ns)
        *sys_ns = s * 1000;
    return (u + s) * 1000;
}

int64_t scythe__cgroup_peak_kib(scythe__cgroup *cg) {
    if (!cg->active || !cg->dir[1][0])
        return -ENOENT;
    int64_t b = read_number(cg->dir[1], "memory.max_usage_in_bytes");
    return b < 0 ? b : b / 1024;
}

void scythe__cgroup_destroy(scythe__cgroup *cg) {
    scythe__cgroup_close_procs(cg);
    for (int i = 0; i < 3; i++)
        if (cg->dir[i][0]) {
            rmdir(cg->dir[i]); /* EBUSY only if something is still inside, which the loop waited out */
            cg->dir[i][0] = 0;
        }
    cg->active = false;
}
