/* The cgroup layout of this machine, probed once: where leaves may be made (the v2 hierarchy with cgroup.kill; the v1
 * memory and pids hierarchies, for what v2 lacks), this process's parent of its leaves in each (BASE/scythe-PID), and
 * which v2 controllers its leaves get. The leaves themselves are cgroup.c's.
 *
 * v2 controllers and the "no internal processes" rule: a non-root cgroup can pass controllers to its children
 * (cgroup.subtree_control) only while no process sits in it, and BASE is this process's own cgroup. At the root, or
 * where someone already enabled them, nothing moves. Otherwise, if this process is alone in BASE, it moves itself
 * (every thread: cgroup.procs) into BASE/scythe-PID/supervisor and enables the controllers in BASE and
 * BASE/scythe-PID, as BenchExec does with its own process; the guard, started from there too, undoes it when the
 * process dies (native/guard/scythe_guard.c). If other processes share BASE, nothing is moved (they are not ours)
 * and the v2 controllers stay unused. See docs/cgroup-v2.md. */
#include "internal.h"
#include "cgroup_layout.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_once_t probe_once = PTHREAD_ONCE_INIT;
static scythe__cgroup_layout lay;
static bool v2_kill;

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
    char sup[PATH_MAX + 16], off[sizeof lay.v2_ctl];
    if (snprintf(sup, sizeof sup, "%s/supervisor", lay.parent[0]) >= (int)sizeof sup)
        return -ENAMETOOLONG;
    bool made_parent = mkdir(lay.parent[0], 0755) == 0;
    if (!made_parent && errno != EEXIST)
        return -errno;
    int rc = mkdir(sup, 0755) < 0 && errno != EEXIST ? -errno : 0;
    bool moved = false, base_on = false;
    if (!rc)
        moved = !(rc = scythe__cgroup_write(sup, "cgroup.procs", "0")); /* "0": the whole process, every thread */
    if (!rc)
        base_on = !(rc = scythe__cgroup_write(lay.v2_base, "cgroup.subtree_control", lay.v2_ctl));
    if (!rc)
        rc = scythe__cgroup_write(lay.parent[0], "cgroup.subtree_control", lay.v2_ctl);
    if (!rc)
        return 0;
    ctl_off(off, sizeof off, lay.v2_ctl);
    if (base_on)
        scythe__cgroup_write(lay.v2_base, "cgroup.subtree_control", off);
    if (moved)
        scythe__cgroup_write(lay.v2_base, "cgroup.procs", "0");
    rmdir(sup);
    if (made_parent)
        rmdir(lay.parent[0]);
    return rc;
}

/* Memory and pids controllers of the v2 hierarchy, for the leaves' limits: offered to BASE by its parent
 * (BASE/cgroup.controllers) and enabled for the leaves' parent, moving this process out of BASE if it must. */
static void probe_v2_controllers(void) {
    bool mem = list_has(lay.v2_base, "cgroup.controllers", "memory");
    bool pids = list_has(lay.v2_base, "cgroup.controllers", "pids");
    if (!mem && !pids)
        return; /* hybrid layouts: bound to v1 */
    snprintf(lay.v2_ctl, sizeof lay.v2_ctl, "%s%s%s", mem ? "+memory" : "", mem && pids ? " " : "",
             pids ? "+pids" : "");
    /* Succeeds at the root (exempt from the rule) and where they are enabled already; the leaves' parent gets them
     * when it is made (make_leaf). */
    int rc = scythe__cgroup_write(lay.v2_base, "cgroup.subtree_control", lay.v2_ctl);
    if (rc == -EBUSY && alone_in(lay.v2_base))
        rc = move_out_of_base();
    if (rc) {
        lay.v2_ctl[0] = 0;
        return;
    }
    lay.v2_mem = mem;
    lay.v2_pids = pids;
}

static void probe(void) {
    probe_base(lay.v2_base, NULL);
    if (!v2_kill)
        lay.v2_base[0] = 0; /* without cgroup.kill (Linux < 5.14) the v2 leaf buys nothing over the session */
    if (!lay.v2_base[0] || snprintf(lay.parent[0], sizeof lay.parent[0], "%s/scythe-%d", lay.v2_base, (int)getpid()) >=
                           (int)sizeof lay.parent[0])
        lay.parent[0][0] = 0;
    if (lay.parent[0][0])
        probe_v2_controllers();
    /* v1 only for what v2 does not give: v2 is preferred where both could serve */
    if (!lay.v2_mem)
        probe_base(lay.mem_base, "memory");
    if (!lay.v2_pids)
        probe_base(lay.pids_base, "pids");
    const char *bases[3] = {lay.v2_base, lay.mem_base, lay.pids_base};
    for (int i = 1; i < 3; i++)
        if (!bases[i][0] || snprintf(lay.parent[i], sizeof lay.parent[i], "%s/scythe-%d", bases[i], (int)getpid()) >=
                                (int)sizeof lay.parent[i])
            lay.parent[i][0] = 0;
}

const char *scythe__cgroup_parent(int hierarchy) {
    pthread_once(&probe_once, probe);
    return hierarchy >= 0 && hierarchy < 3 ? lay.parent[hierarchy] : "";
}

void scythe__cgroup_release_parents(void) {
    pthread_once(&probe_once, probe);
    for (int i = 0; i < 3; i++)
        if (lay.parent[i][0])
            rmdir(lay.parent[i]); /* ENOENT: never made; EBUSY: another loop's jobs still have leaves there */
}

const scythe__cgroup_layout *scythe__cgroup_layout_get(void) {
    pthread_once(&probe_once, probe);
    return &lay;
}

uint32_t scythe__cgroup_caps(void) {
    pthread_once(&probe_once, probe);
    return (lay.v2_base[0] ? SCYTHE_CAP_CGROUP_KILL : 0) |
           (lay.v2_mem || lay.mem_base[0] ? SCYTHE_CAP_CGROUP_MEMORY : 0) |
           (lay.v2_pids || lay.pids_base[0] ? SCYTHE_CAP_CGROUP_PIDS : 0);
}

int scythe__cgroup_write(const char *dir, const char *file, const char *value) {
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
