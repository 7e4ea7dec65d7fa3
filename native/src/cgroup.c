/* The cgroup containment level. Each job gets a leaf of its own in the cgroup v2 hierarchy (cgroup.kill ends
 * everything in it, whatever session or process group a process moved to). Memory and process limits go to that
 * same leaf (memory.max, memory.oom.group, pids.max) where the v2 hierarchy offers the memory and pids controllers;
 * where the machine binds them to cgroup v1 instead (hybrid layouts, as these machines have), to v1 leaves for
 * memory.limit_in_bytes and pids.max. The child moves itself into every leaf before it executes anything of its own
 * (see clone_spawn.c). The machine's layout is probed once; what a job actually got is reported in its event.
 *
 * Leaves live in one parent per supervising process, BASE/scythe-PID/job-N, so that the guard can end and remove
 * them all at once when the process dies (cgroup.kill of the v2 parent reaches every job, even one spawned a moment
 * before it was listed in the guard's table). The parent is made on first use and removed when the last loop is
 * freed, or by the guard.
 *
 * v2 controllers and the "no internal processes" rule: a non-root cgroup can pass controllers to its children
 * (cgroup.subtree_control) only while no process sits in it, and BASE is this process's own cgroup. At the root, or
 * where someone already enabled them, nothing moves. Otherwise, if this process is alone in BASE, it moves itself
 * (every thread: cgroup.procs) into BASE/scythe-PID/supervisor and enables the controllers in BASE and
 * BASE/scythe-PID, as BenchExec does with its own process; the guard, started from there too, undoes it when the
 * process dies (native/guard/scythe_guard.c). If other processes share BASE, nothing is moved (they are not ours)
 * and the v2 controllers stay unused. See docs/cgroup-v2.md. */
#include "internal.h"

#include <dirent.h>
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
static bool v2_mem, v2_pids;  /* memory.max / pids.max go to the v2 leaf: the v2 controllers are enabled for it */
static char v2_ctl[32];       /* those controllers as a subtree_control write, e.g. "+memory +pids" */
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

static int write_file(const char *dir, const char *file, const char *value);

/* Whether the space-separated list in DIR/FILE (cgroup.controllers, cgroup.subtree_control) holds `name`. */
static bool list_has(const char *dir, const char *file, const char *name) {
    char path[PATH_MAX + 64], buf[512];
    if (snprintf(path, sizeof path, "%s/%s", dir, file) >= (int)sizeof path)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    scythe__os_close(fd);
    if (n <= 0)
        return false;
    buf[n] = 0;
    char *save = NULL;
    for (char *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
        if (!strcmp(t, name))
            return true;
    return false;
}

/* This process is the only one in DIR (cgroup.procs lists process ids, one per line, whatever the thread count). */
static bool alone_in(const char *dir) {
    char path[PATH_MAX + 64];
    if (snprintf(path, sizeof path, "%s/cgroup.procs", dir) >= (int)sizeof path)
        return false;
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    int pid, n = 0, others = 0;
    while (fscanf(f, "%d", &pid) == 1) {
        n++;
        others += pid != (int)getpid();
    }
    fclose(f);
    return n > 0 && !others;
}

/* "+memory +pids" -> "-memory -pids" */
static void ctl_off(char *out, size_t n, const char *on) {
    snprintf(out, n, "%s", on);
    for (char *p = out; *p; p++)
        if (*p == '+')
            *p = '-';
}

/* BASE has processes (this one alone): move this process into BASE/scythe-PID/supervisor, then enable the
 * controllers in BASE and in BASE/scythe-PID. Undone step by step if any step fails. */
static int move_out_of_base(void) {
    char sup[PATH_MAX + 16], off[sizeof v2_ctl];
    if (snprintf(sup, sizeof sup, "%s/supervisor", parent[0]) >= (int)sizeof sup)
        return -ENAMETOOLONG;
    bool made_parent = mkdir(parent[0], 0755) == 0;
    if (!made_parent && errno != EEXIST)
        return -errno;
    int rc = mkdir(sup, 0755) < 0 && errno != EEXIST ? -errno : 0;
    bool moved = false, base_on = false;
    if (!rc)
        moved = !(rc = write_file(sup, "cgroup.procs", "0")); /* "0": the writer's whole process, every thread */
    if (!rc)
        base_on = !(rc = write_file(v2_base, "cgroup.subtree_control", v2_ctl));
    if (!rc)
        rc = write_file(parent[0], "cgroup.subtree_control", v2_ctl);
    if (!rc)
        return 0;
    ctl_off(off, sizeof off, v2_ctl);
    if (base_on)
        write_file(v2_base, "cgroup.subtree_control", off);
    if (moved)
        write_file(v2_base, "cgroup.procs", "0");
    rmdir(sup);
    if (made_parent)
        rmdir(parent[0]);
    return rc;
}

/* Memory and pids controllers of the v2 hierarchy, for the leaves' limits: offered to BASE by its parent
 * (BASE/cgroup.controllers) and enabled for the leaves' parent, moving this process out of BASE if it must. */
static void probe_v2_controllers(void) {
    bool mem = list_has(v2_base, "cgroup.controllers", "memory");
    bool pids = list_has(v2_base, "cgroup.controllers", "pids");
    if (!mem && !pids)
        return; /* hybrid layouts: bound to v1 */
    snprintf(v2_ctl, sizeof v2_ctl, "%s%s%s", mem ? "+memory" : "", mem && pids ? " " : "", pids ? "+pids" : "");
    /* Succeeds at the root (exempt from the rule) and where they are enabled already; the leaves' parent gets them
     * when it is made (make_leaf). */
    int rc = write_file(v2_base, "cgroup.subtree_control", v2_ctl);
    if (rc == -EBUSY && alone_in(v2_base))
        rc = move_out_of_base();
    if (rc) {
        v2_ctl[0] = 0;
        return;
    }
    v2_mem = mem;
    v2_pids = pids;
}

static void probe(void) {
    probe_base(v2_base, NULL);
    if (!v2_kill)
        v2_base[0] = 0; /* without cgroup.kill (Linux < 5.14) the v2 leaf buys nothing over the session */
    if (!v2_base[0] || snprintf(parent[0], sizeof parent[0], "%s/scythe-%d", v2_base, (int)getpid()) >=
                           (int)sizeof parent[0])
        parent[0][0] = 0;
    if (parent[0][0])
        probe_v2_controllers();
    /* v1 only for what v2 does not give: v2 is preferred where both could serve */
    if (!v2_mem)
        probe_base(mem_base, "memory");
    if (!v2_pids)
        probe_base(pids_base, "pids");
    const char *bases[3] = {v2_base, mem_base, pids_base};
    for (int i = 1; i < 3; i++)
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
                write_file(parent_dir, "cgroup.subtree_control", controllers); /* failure: see set_v2_limit */
        } else if (errno != EEXIST) {
            return -errno;
        }
    }
    return -ENOENT;
}

uint32_t scythe__cgroup_caps(void) {
    pthread_once(&probe_once, probe);
    return (v2_base[0] ? SCYTHE_CAP_CGROUP_KILL : 0) | (v2_mem || mem_base[0] ? SCYTHE_CAP_CGROUP_MEMORY : 0) |
           (v2_pids || pids_base[0] ? SCYTHE_CAP_CGROUP_PIDS : 0);
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

/* A limit file of the v2 leaf. ENOENT: the controller is not enabled for the leaf, because the parent was made by
 * another thread that had not enabled it yet when this leaf was made (or could not): enable it, then try again. */
static int set_v2_limit(scythe__cgroup *cg, const char *file, const char *value) {
    int rc = write_file(cg->dir[0], file, value);
    if (rc == -ENOENT && !(rc = write_file(scythe__cgroup_parent(0), "cgroup.subtree_control", v2_ctl)))
        rc = write_file(cg->dir[0], file, value);
    return rc;
}

int scythe__cgroup_create(scythe__cgroup *cg, int64_t memory_limit, int64_t process_limit) {
    scythe__cgroup_caps();
    if (!v2_base[0])
        return -ENOTSUP;
    if ((memory_limit > 0 && !v2_mem && !mem_base[0]) || (process_limit > 0 && !v2_pids && !pids_base[0]))
        return -ENOTSUP;
    /* Leaves in v1 only for the limits v2 cannot hold. */
    const bool use[3] = {true, memory_limit > 0 && !v2_mem, process_limit > 0 && !v2_pids};
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
            if ((rc = make_leaf(parent[i], cg->dir[i], i == 0 ? v2_ctl : "")) != -EEXIST)
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
        if (v2_mem) {
            memcpy(cg->dir[1], cg->dir[0], sizeof cg->dir[1]); /* the v2 leaf holds the memory limit */
            rc = set_v2_limit(cg, "memory.max", value);
            /* Memory is what the job touches, in RAM or swapped out (as BenchExec counts it); no swap accounting
             * (ENOENT): no swap to count. */
            int swap = rc ? 0 : write_file(cg->dir[0], "memory.swap.max", "0");
            if (swap != -ENOENT)
                rc = swap;
            /* An OOM kill takes the whole job, not one process of it, which the rest might outlive or not notice */
            if (!rc)
                rc = write_file(cg->dir[0], "memory.oom.group", "1");
        } else {
            rc = write_file(cg->dir[1], "memory.limit_in_bytes", value);
        }
    }
    if (!rc && process_limit > 0) {
        snprintf(value, sizeof value, "%lld", (long long)process_limit);
        if (v2_pids) {
            memcpy(cg->dir[2], cg->dir[0], sizeof cg->dir[2]); /* the v2 leaf holds the process limit */
            rc = set_v2_limit(cg, "pids.max", value);
        } else {
            rc = write_file(cg->dir[2], "pids.max", value);
        }
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
    if (cg->dir[1][0] && (in_v2(cg, 1) ? read_key(cg->dir[1], "memory.events.local", "oom") > 0 ||
                                             read_key(cg->dir[1], "memory.events.local", "oom_kill") > 0
                                       : read_key(cg->dir[1], "memory.oom_control", "oom_kill") > 0))
        return SCYTHE_END_MEMORY;
    /* the same file and key in v1 and v2: forks refused by pids.max */
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

/* The leaf's peak memory, or -errno if unknown. With the v2 memory controller every leaf has one (the controller is
 * enabled for all of them, limited or not), in memory.peak since Linux 5.19; before, the peak is unknown: samples of
 * memory.current would only be a lower bound, and are not taken. */
int64_t scythe__cgroup_peak_kib(scythe__cgroup *cg) {
    if (!cg->active || (!v2_mem && !cg->dir[1][0]))
        return -ENOENT;
    int64_t b = v2_mem ? read_number(cg->dir[0], "memory.peak") : read_number(cg->dir[1], "memory.max_usage_in_bytes");
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

void scythe__cgroup_destroy(scythe__cgroup *cg) {
    scythe__cgroup_close_procs(cg);
    for (int i = 2; i >= 0; i--) /* dir[1] and dir[2] may name the v2 leaf too: removed once, as dir[0] */
        if (cg->dir[i][0]) {
            if (i == 0 || !in_v2(cg, i))
                remove_leaf(cg->dir[i], 0);
            cg->dir[i][0] = 0;
        }
    cg->active = false;
}
