/* The cgroup containment level. Each job gets a leaf of its own in the cgroup v2 hierarchy (cgroup.kill ends
 * everything in it, whatever session or process group a process moved to). Memory and process limits go to that
 * same leaf (memory.max, memory.oom.group, pids.max) where the v2 hierarchy offers the memory and pids controllers;
 * where the machine binds them to cgroup v1 instead (hybrid layouts, as these machines have), to v1 leaves for
 * memory.limit_in_bytes and pids.max. The child moves itself into every leaf before it executes anything of its own
 * (see clone_spawn.c). The machine's layout (where leaves may go, which controllers they get) is probed once, in
 * cgroup_layout.c; what a job actually got is reported in its event.
 *
 * Leaves live in one parent per supervising process, BASE/scythe-PID/job-N, so that the guard can end and remove
 * them all at once when the process dies (cgroup.kill of the v2 parent reaches every job, even one spawned a moment
 * before it was listed in the guard's table). The parent is made on first use and removed when the last loop is
 * freed, or by the guard. */
#include "internal.h"
#include "cgroup_layout.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static _Atomic uint64_t next_id;

/* mkdir of a leaf, making the parent first where it is missing (on first use, or after a freed last loop removed
 * it while another loop was starting), with `controllers` ("" or v2_ctl) enabled for its leaves. EEXIST from a
 * stale leaf of a dead process with our pid: the caller picks another name. */
static int make_leaf(const char *parent_dir, const char *leaf, const char *controllers) {
    for (int attempt = 0; attempt < 3; attempt++) {
        if (mkdir(leaf, 0755) == 0)
            return 0;
        if (errno != ENOENT)
            return -errno;
        if (mkdir(parent_dir, 0755) == 0) {
            if (controllers[0])
                scythe__cgroup_write(parent_dir, "cgroup.subtree_control", controllers); /* failure: see set_v2_limit */
        } else if (errno != EEXIST) {
            return -errno;
        }
    }
    return -ENOENT;
}

/* A small cgroup file, whole, into buf (NUL-terminated): one open and one read, no stdio buffer to allocate: these
 * are read on the way to every contained job's event. Its length, or -errno. */
static ssize_t read_small(const char *dir, const char *file, char *buf, size_t cap) {
    char path[PATH_MAX + 64];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, cap - 1);
    int err = errno;
    scythe__os_close(fd);
    if (n < 0)
        return -err;
    buf[n] = 0;
    return n;
}

/* A key's value in a flat-keyed text ("oom_kill 3\n", "populated 0\n", "usage_usec 1234\n"), or -ENOENT. */
static int64_t find_key(const char *text, const char *key) {
    size_t k = strlen(key);
    for (const char *line = text; *line;) {
        if (!strncmp(line, key, k) && line[k] == ' ')
            return strtoll(line + k + 1, NULL, 10);
        const char *nl = strchr(line, '\n');
        if (!nl)
            break;
        line = nl + 1;
    }
    return -ENOENT;
}

/* A key's value in a flat-keyed file, or -errno. The files read this way are a few hundred bytes at most. */
static int64_t read_key(const char *dir, const char *file, const char *key) {
    char buf[4096];
    ssize_t n = read_small(dir, file, buf, sizeof buf);
    return n < 0 ? n : find_key(buf, key);
}

/* A file of the leaf through its fd, held open since the leaf was made, else by its path. A read from offset 0 of a
 * cgroup file shows it anew (and, for cgroup.events, re-arms its notification). */
static ssize_t read_held(int fd, const char *dir, const char *file, char *buf, size_t cap) {
    if (fd < 0)
        return read_small(dir, file, buf, cap);
    ssize_t n = pread(fd, buf, cap - 1, 0);
    if (n < 0)
        return -errno;
    buf[n] = 0;
    return n;
}

/* A file of a leaf to keep open; -1 where it cannot be opened (it is then read by its path). */
static int open_held(const char *dir, const char *file) {
    char path[PATH_MAX + 64];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return -1;
    return open(path, O_RDONLY | O_CLOEXEC);
}

void scythe__cgroup_init(scythe__cgroup *cg) {
    memset(cg, 0, sizeof *cg);
    scythe__list_init(&cg->link);
    for (int i = 0; i < 3; i++)
        cg->procs_fd[i] = -1;
    cg->events_fd = cg->cpu_fd = cg->peak_fd = -1;
}

/* Makes the job's leaf in hierarchy i (job-ID, or the next free ID) and opens its cgroup.procs for the child. On
 * failure, nothing of it is left. */
static int open_leaf(scythe__cgroup *cg, int i, const scythe__cgroup_layout *lay, unsigned long long *id) {
    if (!lay->parent[i][0])
        return -ENAMETOOLONG;
    int rc = -EEXIST;
    for (int tries = 0; rc == -EEXIST && tries < 100; tries++) {
        if (tries) /* a stale leaf of a dead process with our pid */
            *id = atomic_fetch_add(&next_id, 1);
        if (snprintf(cg->dir[i], sizeof cg->dir[i], "%s/job-%llu", lay->parent[i], *id) >= (int)sizeof cg->dir[i])
            rc = -ENAMETOOLONG;
        else
            rc = make_leaf(lay->parent[i], cg->dir[i], i == 0 ? lay->v2_ctl : "");
    }
    char procs[PATH_MAX + 64];
    if (!rc) {
        if (snprintf(procs, sizeof procs, "%s/cgroup.procs", cg->dir[i]) >= (int)sizeof procs)
            rc = -ENAMETOOLONG;
        else if ((cg->procs_fd[i] = open(procs, O_WRONLY | O_CLOEXEC)) < 0)
            rc = -errno;
        if (rc)
            rmdir(cg->dir[i]);
    }
    if (rc) {
        cg->dir[i][0] = 0;
        return rc;
    }
    /* What the exit reads, opened now, as the leaf is made (a spare's when the loop is idle). */
    if (i == 0) {
        cg->events_fd = open_held(cg->dir[0], "cgroup.events");
        cg->cpu_fd = open_held(cg->dir[0], "cpu.stat");
        if (lay->v2_mem)
            cg->peak_fd = open_held(cg->dir[0], "memory.peak");
    } else if (i == 1) {
        cg->peak_fd = open_held(cg->dir[1], "memory.max_usage_in_bytes");
    }
    return 0;
}

/* A limit file of the v2 leaf. ENOENT: the controller is not enabled for the leaf, because the parent was made by
 * another thread that had not enabled it yet when this leaf was made (or could not): enable it, then try again. */
static int set_v2_limit(scythe__cgroup *cg, const char *file, const char *value) {
    const scythe__cgroup_layout *lay = scythe__cgroup_layout_get();
    int rc = scythe__cgroup_write(cg->dir[0], file, value);
    if (rc == -ENOENT && !(rc = scythe__cgroup_write(scythe__cgroup_parent(0), "cgroup.subtree_control", lay->v2_ctl)))
        rc = scythe__cgroup_write(cg->dir[0], file, value);
    return rc;
}

int scythe__cgroup_create(scythe__cgroup *cg, int64_t memory_limit, int64_t process_limit) {
    const scythe__cgroup_layout *lay = scythe__cgroup_layout_get();
    if (!lay->v2_base[0])
        return -ENOTSUP;
    if ((memory_limit > 0 && !lay->v2_mem && !lay->mem_base[0]) ||
        (process_limit > 0 && !lay->v2_pids && !lay->pids_base[0]))
        return -ENOTSUP;
    /* Leaves in v1 only for what v2 lacks. A v1 memory leaf for every job where v2 has no memory controller, limited or
     * not: its memory.max_usage_in_bytes is the job's own peak, which the leader's rusage is not (it counts this
     * process's resident set too, see scythe_event.max_rss_kib). The cost, per job: one more mkdir, cgroup.procs
     * write (by the child, before its exec) and rmdir. Without a memory limit, a leaf that cannot be made only leaves
     * the peak unknown. */
    const bool use[3] = {true, !lay->v2_mem && lay->mem_base[0], process_limit > 0 && !lay->v2_pids};
    unsigned long long id = atomic_fetch_add(&next_id, 1); /* the same leaf name in every hierarchy, where free */
    int rc = 0;
    for (int i = 0; i < 3 && !rc; i++) /* a spare (scythe__cgroup_spare) brings its leaves made already */
        if (use[i] && !cg->dir[i][0] && (rc = open_leaf(cg, i, lay, &id)) && i == 1 && memory_limit <= 0)
            rc = 0;
    cg->memory_limited = memory_limit > 0;
    cg->process_limited = process_limit > 0;
    char value[32];
    if (!rc && memory_limit > 0) {
        snprintf(value, sizeof value, "%lld", (long long)memory_limit);
        if (lay->v2_mem) {
            memcpy(cg->dir[1], cg->dir[0], sizeof cg->dir[1]); /* the v2 leaf holds the memory limit */
            rc = set_v2_limit(cg, "memory.max", value);
            /* Memory is what the job touches, in RAM or swapped out (as BenchExec counts it); no swap accounting
             * (ENOENT): no swap to count. */
            int swap = rc ? 0 : scythe__cgroup_write(cg->dir[0], "memory.swap.max", "0");
            if (swap != -ENOENT)
                rc = swap;
            /* An OOM kill takes the whole job, not one process of it, which the rest might outlive or not notice */
            if (!rc)
                rc = scythe__cgroup_write(cg->dir[0], "memory.oom.group", "1");
        } else {
            rc = scythe__cgroup_write(cg->dir[1], "memory.limit_in_bytes", value);
        }
    }
    if (!rc && process_limit > 0) {
        snprintf(value, sizeof value, "%lld", (long long)process_limit);
        if (lay->v2_pids) {
            memcpy(cg->dir[2], cg->dir[0], sizeof cg->dir[2]); /* the v2 leaf holds the process limit */
            rc = set_v2_limit(cg, "pids.max", value);
        } else {
            rc = scythe__cgroup_write(cg->dir[2], "pids.max", value);
        }
    }
    cg->active = !rc;
    if (rc)
        scythe__cgroup_destroy(cg);
    return rc;
}

int scythe__cgroup_spare(scythe__cgroup *cg) {
    const scythe__cgroup_layout *lay = scythe__cgroup_layout_get();
    if (!lay->v2_base[0])
        return -ENOTSUP;
    unsigned long long id = atomic_fetch_add(&next_id, 1);
    int rc = open_leaf(cg, 0, lay, &id);
    if (!rc && !lay->v2_mem && lay->mem_base[0])
        open_leaf(cg, 1, lay, &id); /* optional, as for a job without a memory limit: create() tries again */
    return rc;
}

void scythe__cgroup_close_procs(scythe__cgroup *cg) {
    for (int i = 0; i < 3; i++) {
        scythe__os_close(cg->procs_fd[i]);
        cg->procs_fd[i] = -1;
    }
}

int scythe__cgroup_kill(scythe__cgroup *cg) {
    return cg->active ? scythe__cgroup_write(cg->dir[0], "cgroup.kill", "1") : -ENOENT;
}

bool scythe__cgroup_populated(scythe__cgroup *cg) {
    if (!cg->active)
        return false;
    char buf[256];
    if (read_held(cg->events_fd, cg->dir[0], "cgroup.events", buf, sizeof buf) < 0)
        return true; /* unknown: the fallback checks look again */
    return find_key(buf, "populated") > 0;
}

int scythe__cgroup_events_fd(scythe__cgroup *cg) {
    if (cg->events_fd < 0) {
        char path[PATH_MAX + 64];
        if (snprintf(path, sizeof path, "%s/cgroup.events", cg->dir[0]) >= (int)sizeof path)
            return -ENAMETOOLONG;
        if ((cg->events_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
            return -errno;
    }
    return cg->events_fd;
}

/* dir[1] / dir[2] is the v2 leaf itself where v2 holds that limit. */
static bool in_v2(const scythe__cgroup *cg, int i) {
    return !strcmp(cg->dir[i], cg->dir[0]);
}

int scythe__cgroup_check(scythe__cgroup *cg) {
    if (!cg->active)
        return 0;
    /* v2: "oom", the leaf's own limit made the kernel invoke the OOM killer; "oom_kill", a process of the leaf was
     * its victim (as v1's oom_kill counts). The .local file: memory.events also counts what happens in cgroups
     * below the leaf, such as the jobs of a supervisor nested in this job, with limits of their own. */
    if (cg->memory_limited && (in_v2(cg, 1) ? read_key(cg->dir[1], "memory.events.local", "oom") > 0 ||
                                             read_key(cg->dir[1], "memory.events.local", "oom_kill") > 0
                                       : read_key(cg->dir[1], "memory.oom_control", "oom_kill") > 0))
        return SCYTHE_END_MEMORY;
    /* the same file and key in v1 and v2: forks refused by pids.max */
    if (cg->process_limited && read_key(cg->dir[2], "pids.events", "max") > 0)
        return SCYTHE_END_PROCESSES;
    return 0;
}

int64_t scythe__cgroup_cpu_ns(scythe__cgroup *cg, int64_t *user_ns, int64_t *sys_ns) {
    if (!cg->active)
        return -ENOENT;
    char buf[4096];
    if (read_held(cg->cpu_fd, cg->dir[0], "cpu.stat", buf, sizeof buf) < 0)
        return -EIO;
    int64_t u = find_key(buf, "user_usec"), s = find_key(buf, "system_usec");
    if (u < 0 || s < 0)
        return -EIO;
    if (user_ns)
        *user_ns = u * 1000;
    if (sys_ns)
        *sys_ns = s * 1000;
    return (u + s) * 1000;
}

/* The leaf's peak memory, or -errno if unknown. With the v2 memory controller every leaf has one (the controller is
 * enabled for all of them, limited or not), in memory.peak since Linux 5.19; before, the peak is unknown: samples of
 * memory.current would only be a lower bound, and are not taken. */
int64_t scythe__cgroup_peak_kib(scythe__cgroup *cg) {
    const scythe__cgroup_layout *lay = scythe__cgroup_layout_get();
    if (!cg->active || (!lay->v2_mem && !cg->dir[1][0]))
        return -ENOENT;
    char buf[64];
    ssize_t n = lay->v2_mem ? read_held(cg->peak_fd, cg->dir[0], "memory.peak", buf, sizeof buf)
                            : read_held(cg->peak_fd, cg->dir[1], "memory.max_usage_in_bytes", buf, sizeof buf);
    int64_t b = n < 0 ? n : n == 0 ? -EIO : strtoll(buf, NULL, 10);
    return b < 0 ? b : b / 1024;
}

/* rmdir of a leaf, and of the cgroups a job made below it: a supervisor nested in the job (which moved itself into
 * a cgroup of its own below the leaf, see the top) may leave them behind, empty, if it had no guard. */
static void remove_leaf(const char *dir, int depth) {
    if (rmdir(dir) == 0 || errno != EBUSY || depth > 16)
        return; /* EBUSY with no cgroup below: something is still inside, which the loop waited out */
    DIR *d = opendir(dir);
    if (!d)
        return;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_type == DT_DIR && e->d_name[0] != '.') {
            char sub[PATH_MAX];
            if (snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name) < (int)sizeof sub)
                remove_leaf(sub, depth + 1);
        }
    closedir(d);
    rmdir(dir);
}

void scythe__cgroup_settle(scythe__cgroup *cg) {
    if (!cg->active)
        return;
    scythe__cgroup_kill(cg);
    for (int i = 0; i < 500 && scythe__cgroup_populated(cg); i++)
        usleep(2000); /* the killed processes are on their way out: within a few ms */
}

void scythe__cgroup_close_files(scythe__cgroup *cg) {
    scythe__os_close(cg->events_fd);
    scythe__os_close(cg->cpu_fd);
    scythe__os_close(cg->peak_fd);
    cg->events_fd = cg->cpu_fd = cg->peak_fd = -1;
    cg->events_watched = false;
}

void scythe__cgroup_destroy(scythe__cgroup *cg) {
    scythe__cgroup_close_procs(cg);
    scythe__cgroup_close_files(cg);
    for (int i = 2; i >= 0; i--) /* dir[1] and dir[2] may name the v2 leaf too: removed once, as dir[0] */
        if (cg->dir[i][0]) {
            if (i == 0 || !in_v2(cg, i))
                remove_leaf(cg->dir[i], 0);
            cg->dir[i][0] = 0;
        }
    cg->active = cg->memory_limited = cg->process_limited = false;
}
