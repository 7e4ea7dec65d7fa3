/* C tests of the cgroup v2 limits (memory.max, memory.oom.group, pids.max in the job's leaf) and of the supervisor's
 * move out of its own cgroup (docs/cgroup-v2.md). Linked into the binary of test_main.c, which lists them.
 *
 * They need a pure cgroup v2 hierarchy that offers the memory and pids controllers to this process's cgroup. Where
 * the machine binds those to cgroup v1 (hybrid layouts, as the development machines have), a controller cannot be in
 * both, so no mount or namespace of the test's own can offer it in v2: the tests skip, saying so, and
 * cgroup_v2_in_vm runs them in a small VM whose kernel has cgroup v1 switched off (native/test/v2-vm.sh). With
 * SCYTHE_REQUIRE_V2 set (the VM sets it) a missing v2 controller fails the test instead. */
#include "../src/internal.h"
#include "../src/job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern int failures_in_test;                /* test_main.c */
extern const char *guard_exe_or_skip(void); /* test_main.c */

void test_cgroup_v2_limits(void);
void test_cgroup_v2_supervisor_moves_into_a_leaf(void);
void test_cgroup_v2_no_move_beside_other_processes(void);
void test_cgroup_v2_nested_supervisor(void);
void test_cgroup_v2_in_vm(void);
int cgroup_v2_child_main(int argc, char **argv);

#define CHECK(cond)                                                                                                   \
    do {                                                                                                              \
        if (!(cond)) {                                                                                                \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                              \
            failures_in_test++;                                                                                       \
            goto out;                                                                                                 \
        }                                                                                                             \
    } while (0)

#define MIB (1024 * 1024)

/* ---- helpers -------------------------------------------------------------------------------------------------- */

static const char *self_exe(void) {
    static char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    exe[n > 0 ? n : 0] = 0;
    return exe;
}

/* The first line of DIR/FILE without its newline; -errno if unreadable. */
static int read_line(const char *dir, const char *file, char *buf, size_t n) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    buf[0] = 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    if (fgets(buf, (int)n, f))
        buf[strcspn(buf, "\n")] = 0;
    fclose(f);
    return 0;
}

static int write_text(const char *dir, const char *file, const char *value) {
    char path[PATH_MAX + 64];
    snprintf(path, sizeof path, "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = write(fd, value, strlen(value)) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int has_word(const char *list, const char *word) {
    size_t k = strlen(word);
    for (const char *p = list; (p = strstr(p, word)); p += k)
        if ((p == list || p[-1] == ' ') && (p[k] == 0 || p[k] == ' ' || p[k] == '\n'))
            return 1;
    return 0;
}

/* The cgroup v2 path of pid ("0::" in /proc/PID/cgroup), or "". */
static void cgroup_of(int pid, char *out, size_t n) {
    char path[64], line[PATH_MAX + 16];
    snprintf(path, sizeof path, "/proc/%d/cgroup", pid);
    out[0] = 0;
    FILE *f = fopen(path, "re");
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "0::", 3)) {
            line[strcspn(line, "\n")] = 0;
            snprintf(out, n, "%s", line + 3);
        }
    if (f)
        fclose(f);
}

/* The cgroup2 mount point, into mnt; 0 or -ENOENT. */
static int v2_mount(char *mnt, size_t n) {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    int rc = -ENOENT;
    while (f && rc && fgets(line, sizeof line, f)) {
        char m[PATH_MAX], fstype[64];
        char *sep = strstr(line, " - ");
        if (sep && sscanf(line, "%*s %*s %*s %*s %4095s", m) == 1 && sscanf(sep + 3, "%63s", fstype) == 1 &&
            !strcmp(fstype, "cgroup2") && snprintf(mnt, n, "%s", m) < (int)n)
            rc = 0;
    }
    if (f)
        fclose(f);
    return rc;
}

/* A cgroup v1 hierarchy holding the memory or pids controller is mounted. */
static int v1_limits_mounted(void) {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    int found = 0;
    while (f && !found && fgets(line, sizeof line, f)) {
        char *sep = strstr(line, " - cgroup ");
        found = sep && (strstr(sep, "memory") || strstr(sep, "pids"));
    }
    if (f)
        fclose(f);
    return found;
}

/* This process's own cgroup directory in the v2 hierarchy, into own; 1 if the hierarchy offers it the memory and pids
 * controllers. Else 0, after saying why the test skips (or failing it where SCYTHE_REQUIRE_V2 is set). */
static int need_v2(char *own, size_t n) {
    char mnt[PATH_MAX], path[PATH_MAX], ctl[512] = "", why[3 * PATH_MAX] = "";
    cgroup_of(getpid(), path, sizeof path);
    if (v2_mount(mnt, sizeof mnt) || !path[0])
        snprintf(why, sizeof why, "no cgroup v2 hierarchy is mounted");
    else if (snprintf(own, n, "%s%s", mnt, strcmp(path, "/") ? path : "") >= (int)n ||
             read_line(own, "cgroup.controllers", ctl, sizeof ctl))
        snprintf(why, sizeof why, "cannot read %s/cgroup.controllers", own);
    else if (!has_word(ctl, "memory") || !has_word(ctl, "pids"))
        snprintf(why, sizeof why,
                 "the cgroup v2 hierarchy at %s offers this process's cgroup (%s) the controllers '%s', not memory and"
                 " pids%s; cgroup_v2_in_vm runs this test in a VM",
                 mnt, path, ctl, v1_limits_mounted() ? ", which are bound to cgroup v1 on this machine" : "");
    if (!why[0])
        return 1;
    if (getenv("SCYTHE_REQUIRE_V2")) {
        fprintf(stderr, "  cgroup v2 with memory and pids required (SCYTHE_REQUIRE_V2), but %s\n", why);
        failures_in_test++;
    } else {
        printf("     skipped: %s\n", why);
    }
    return 0;
}

/* Dead within 5 s: gone, or a zombie that is not ours to reap. */
static int dead(int pid) {
    for (int i = 0; i < 500; i++) {
        char path[64], buf[512], state = 0;
        int ppid = 0;
        snprintf(path, sizeof path, "/proc/%d/stat", pid);
        FILE *f = fopen(path, "re");
        if (!f)
            return 1;
        size_t k = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[k] = 0;
        char *p = strrchr(buf, ')');
        if (!p || sscanf(p + 2, "%c %d", &state, &ppid) != 2 || (state == 'Z' && ppid != getpid()))
            return 1;
        usleep(10000);
    }
    return 0;
}

/* Processes still in session sid (zombies of init's do not count), within 5 s: 1 if none. */
static int session_empty(int sid) {
    for (int i = 0; i < 500; i++) {
        int n = 0;
        DIR *d = opendir("/proc");
        for (struct dirent *e; d && (e = readdir(d));) {
            int pid = atoi(e->d_name), ppid, s, pg;
            char path[64], buf[512], state;
            snprintf(path, sizeof path, "/proc/%d/stat", pid);
            FILE *f = pid > 0 ? fopen(path, "re") : NULL;
            if (!f)
                continue;
            size_t k = fread(buf, 1, sizeof buf - 1, f);
            fclose(f);
            buf[k] = 0;
            char *p = strrchr(buf, ')');
            if (p && sscanf(p + 2, "%c %d %d %d", &state, &ppid, &pg, &s) == 4 && s == sid &&
                (state != 'Z' || ppid == getpid()))
                n++;
        }
        if (d)
            closedir(d);
        if (!n)
            return 1;
        usleep(10000);
    }
    return 0;
}

static int no_children(void) {
    siginfo_t si = {0};
    return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

/* Subdirectories of dir (cgroups), -errno if dir cannot be read. */
static int subdirs(const char *dir) {
    DIR *d = opendir(dir);
    if (!d)
        return -errno;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_type == DT_DIR && e->d_name[0] != '.';
    closedir(d);
    return n;
}

/* Removes every cgroup below dir, deepest first (after a failure, once the test killed what it started). */
static void remove_below(const char *dir) {
    DIR *d = opendir(dir);
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_type == DT_DIR && e->d_name[0] != '.') {
            char sub[PATH_MAX + 256];
            snprintf(sub, sizeof sub, "%s/%s", dir, e->d_name);
            remove_below(sub);
            rmdir(sub);
        }
    if (d)
        closedir(d);
}

/* After a failure: kills everything left in the cgroup dir, which the test made, and waits (up to 5 s) until it is
 * empty, so that it can be removed. */
static void empty_cgroup(const char *dir) {
    char ev[256];
    write_text(dir, "cgroup.kill", "1");
    for (int i = 0; i < 500 && !read_line(dir, "cgroup.events", ev, sizeof ev) && strstr(ev, "populated 1"); i++)
        usleep(10000);
}

/* Puts the test's own cgroup back as it was: the test base below it emptied (if the test failed midway) and removed,
 * a failure if it cannot be, and the controllers the test enabled turned off again. */
static void give_back(const char *own, const char *base, int made, int changed) {
    if (made) {
        if (failures_in_test)
            empty_cgroup(base);
        remove_below(base);
        if (rmdir(base) < 0) {
            fprintf(stderr, "  rmdir %s: %s\n", base, scythe_strerror(-errno));
            failures_in_test++;
        }
    }
    if (changed)
        write_text(own, "cgroup.subtree_control", "-memory -pids");
}

/* Runs the loop until one event arrives or `seconds` pass. */
int dir_gone_after_idle(scythe_loop *loop, const char *dir); /* test_main.c */

static int collect_one(scythe_loop *loop, scythe_event *ev, int seconds) {
    int64_t until = scythe__now_ns() + seconds * 1000000000LL;
    while (scythe__now_ns() < until) {
        size_t k = 0;
        if (scythe_loop_run(&k, loop, ev, 1, 1000))
            return 0;
        if (k)
            return 1;
    }
    return 0;
}

static int64_t first_number(scythe_job *job) {
    scythe_output out;
    if (scythe_job_output(&out, job, 1) || !out.head_len)
        return -1;
    return atoll((const char *)out.head);
}

/* The host's part in the delegation tests: own's cgroup.subtree_control gets memory and pids, as systemd gives a unit
 * with Delegate=yes. *changed: they were not there before, and the test takes them away again. */
static int delegate(const char *own, int *changed) {
    char ctl[512];
    *changed = 0;
    if (read_line(own, "cgroup.subtree_control", ctl, sizeof ctl))
        return -EIO;
    if (has_word(ctl, "memory") && has_word(ctl, "pids"))
        return 0;
    int rc = write_text(own, "cgroup.subtree_control", "+memory +pids");
    *changed = !rc;
    return rc;
}

/* Starts this binary as `mode` (with up to two arguments) in the cgroup dir, its stdout a pipe read through *out. */
static pid_t start_in(const char *dir, const char *mode, const char *arg, const char *arg2, FILE **out) {
    int fds[2];
    char procs[PATH_MAX + 32];
    *out = NULL;
    snprintf(procs, sizeof procs, "%s/cgroup.procs", dir);
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    const char *exe = self_exe();
    pid_t pid = fork();
    if (pid == 0) {
        /* Only system calls from here to exec: the parent may have threads. */
        int fd = open(procs, O_WRONLY | O_CLOEXEC);
        if (dup2(fds[1], 1) < 0 || fd < 0 || write(fd, "0", 1) != 1)
            _exit(126);
        execl(exe, exe, mode, arg, arg2, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return -1;
    }
    *out = fdopen(fds[0], "r");
    return pid;
}

/* ---- tests ------------------------------------------------------------------------------------------------------- */

/* A memory hog under memory.max ends SCYTHE_END_MEMORY with its whole job killed by the kernel at once
 * (memory.oom.group); a fork loop under pids.max ends SCYTHE_END_PROCESSES; no leaf and no parent is left. */
void test_cgroup_v2_limits(void) {
    char own[PATH_MAX], leaf[PATH_MAX] = "", v[64], cmd[PATH_MAX + 128];
    scythe_loop *loop = NULL;
    scythe_job *job = NULL;
    if (!need_v2(own, sizeof own))
        return;
    uint32_t want = SCYTHE_CAP_CGROUP_KILL | SCYTHE_CAP_CGROUP_MEMORY | SCYTHE_CAP_CGROUP_PIDS;
    CHECK((scythe_capabilities() & want) == want);
    CHECK(scythe_loop_new(&loop) == 0);

    /* The hog and a sleeping sibling, everyone ignoring SIGTERM, and 60 s of grace: only a kill of the whole leaf by
     * the kernel ends the job quickly; the loop's own SIGKILL would come after the grace. */
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.containment = SCYTHE_CONTAIN_CGROUP;
    o.memory_limit_bytes = 64 * MIB;
    o.grace_ns = 60000000000LL;
    snprintf(cmd, sizeof cmd, "trap '' TERM; %s --child-hog & sleep 300 & echo $!; wait", self_exe());
    const char *hog[] = {"sh", "-c", cmd, NULL};
    o.argv = hog;
    int64_t t0 = scythe__now_ns();
    CHECK(scythe_spawn(&job, loop, &o) == 0);
    CHECK(job->cgroup && job->cgroup->dir[0][0]);
    snprintf(leaf, sizeof leaf, "%s", job->cgroup->dir[0]);
    char cg[PATH_MAX];
    cgroup_of(scythe_job_pid(job), cg, sizeof cg);
    size_t lc = strlen(cg), ll = strlen(leaf);
    CHECK(lc > 0 && ll >= lc && !strcmp(leaf + ll - lc, cg)); /* the leader runs in the v2 leaf */
    CHECK(read_line(leaf, "memory.max", v, sizeof v) == 0 && !strcmp(v, "67108864"));
    CHECK(read_line(leaf, "memory.oom.group", v, sizeof v) == 0 && !strcmp(v, "1"));
    int peak_known = read_line(leaf, "memory.peak", v, sizeof v) == 0;
    scythe_event ev;
    CHECK(collect_one(loop, &ev, 90));
    double s = (double)(scythe__now_ns() - t0) / 1e9;
    int64_t sibling = first_number(job);
    printf("     memory: hog and sibling, SIGTERM ignored: end %d after %.2f s, peak %s %lld KiB\n", ev.end, s,
           peak_known ? "(memory.peak)" : "unknown (no memory.peak before Linux 5.19), leader's RSS",
           (long long)ev.max_rss_kib);
    CHECK(ev.end == SCYTHE_END_MEMORY && ev.containment == SCYTHE_CONTAIN_CGROUP);
    CHECK(s < 30); /* the kernel killed the whole leaf at once, within the 60 s grace */
    if (peak_known)
        CHECK(ev.max_rss_kib > 32 * 1024 && ev.max_rss_kib <= 64 * 1024);
    CHECK(sibling > 0 && dead((int)sibling));
    CHECK(session_empty(scythe_job_pid(job)));
    /* Empty at the event; removed after the job is freed, by the loop when idle (decisions 0023, 0026), which rmdir
     * can do only to an empty leaf. */
    CHECK(read_line(leaf, "cgroup.events", v, sizeof v) == 0 && !strcmp(v, "populated 0"));
    scythe_job_free(job);
    job = NULL;
    CHECK(dir_gone_after_idle(loop, leaf));

    /* A fork loop under pids.max. */
    scythe_spawn_options p = SCYTHE_SPAWN_OPTIONS_INIT;
    p.containment = SCYTHE_CONTAIN_CGROUP;
    p.process_limit = 20;
    const char *storm[] = {"sh", "-c", "while :; do sleep 300 & done", NULL};
    p.argv = storm;
    CHECK(scythe_spawn(&job, loop, &p) == 0);
    snprintf(leaf, sizeof leaf, "%s", job->cgroup->dir[0]);
    CHECK(read_line(leaf, "pids.max", v, sizeof v) == 0 && !strcmp(v, "20"));
    CHECK(collect_one(loop, &ev, 60));
    printf("     processes: fork loop under pids.max 20: end %d\n", ev.end);
    CHECK(ev.end == SCYTHE_END_PROCESSES);
    CHECK(session_empty(scythe_job_pid(job)));
    scythe_job_free(job);
    job = NULL;
    CHECK(dir_gone_after_idle(loop, leaf));
    scythe_loop_free(loop);
    loop = NULL;
    CHECK(no_children());
    /* The parent is gone with the last loop, unless it holds this process (it moved itself into parent/supervisor,
     * which only its guard removes, after its death). */
    const char *parent = scythe__cgroup_parent(0);
    struct stat st;
    char sup[PATH_MAX + 16];
    snprintf(sup, sizeof sup, "%s/supervisor", parent);
    if (stat(sup, &st) == 0)
        CHECK(subdirs(parent) == 1);
    else
        CHECK(stat(parent, &st) < 0 && errno == ENOENT);
out:
    if (job)
        scythe_job_free(job);
    if (loop)
        scythe_loop_free(loop);
}

/* One supervisor alone in its cgroup BASE, which offers memory and pids: it moves itself and its guard into
 * BASE/scythe-PID/supervisor, its limits work; when it ends (exit, or SIGKILL), the guard ends its jobs and gives
 * BASE back as it was: no controller enabled in it, no process, no cgroup below it. */
static void moved_round(const char *base, const char *guard, int killed) {
    FILE *f = NULL;
    pid_t sup = start_in(base, "--child-v2-moved", guard, killed ? "kill" : "exit", &f);
    int guard_pid = 0, sleeper = 0, end = 0, status = 0, reaped = 0;
    unsigned caps = 0;
    char line[3 * PATH_MAX], self_cg[PATH_MAX] = "", guard_cg[PATH_MAX] = "", want[PATH_MAX + 64], ctl[512];
    CHECK(sup > 0 && f);
    CHECK(fgets(line, sizeof line, f));
    CHECK(sscanf(line, "%u %4095s %d %4095s %d %d", &caps, self_cg, &guard_pid, guard_cg, &end, &sleeper) == 6);
    char base_cg[PATH_MAX];
    cgroup_of(getpid(), base_cg, sizeof base_cg);
    snprintf(want, sizeof want, "%s/%s/scythe-%d/supervisor", strcmp(base_cg, "/") ? base_cg : "",
             strrchr(base, '/') + 1, (int)sup);
    printf("     %s: supervisor in %s, its guard in %s; caps 0x%x; memory-limited job: end %d\n",
           killed ? "SIGKILL" : "exit", self_cg, guard_cg, caps, end);
    CHECK(!strcmp(self_cg, want) && !strcmp(guard_cg, want));
    CHECK((caps & (SCYTHE_CAP_CGROUP_MEMORY | SCYTHE_CAP_CGROUP_PIDS)) ==
          (SCYTHE_CAP_CGROUP_MEMORY | SCYTHE_CAP_CGROUP_PIDS));
    CHECK(end == SCYTHE_END_MEMORY);
    int64_t t0 = scythe__now_ns();
    if (killed)
        CHECK(kill(sup, SIGKILL) == 0);
    CHECK(waitpid(sup, &status, 0) == sup);
    reaped = 1;
    CHECK(killed ? WIFSIGNALED(status) : WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(dead(sleeper));   /* killed by the guard (SIGKILL) or by the library (exit) */
    CHECK(dead(guard_pid)); /* the guard exits once it has done its work */
    printf("     %s: jobs and guard gone %.1f ms after; BASE has %d cgroups below it\n", killed ? "SIGKILL" : "exit",
           (double)(scythe__now_ns() - t0) / 1e6, subdirs(base));
    CHECK(subdirs(base) == 0);
    CHECK(read_line(base, "cgroup.subtree_control", ctl, sizeof ctl) == 0 && ctl[0] == 0);
    CHECK(read_line(base, "cgroup.procs", ctl, sizeof ctl) == 0 && ctl[0] == 0);
out:
    if (f)
        fclose(f);
    if (failures_in_test) { /* end what this round started, by pid; the caller removes the cgroups */
        int pids[3] = {sup, guard_pid, sleeper};
        for (int i = 0; i < 3; i++)
            if (pids[i] > 0)
                kill(pids[i], SIGKILL);
        if (sup > 0 && !reaped)
            waitpid(sup, NULL, 0);
        for (int i = 1; i < 3; i++)
            if (pids[i] > 0)
                dead(pids[i]);
    }
}

void test_cgroup_v2_supervisor_moves_into_a_leaf(void) {
    char own[PATH_MAX], base[PATH_MAX + 32];
    int changed = 0, made = 0;
    if (!need_v2(own, sizeof own))
        return;
    const char *guard = guard_exe_or_skip();
    if (!guard)
        return;
    int rc = delegate(own, &changed);
    if (rc) {
        printf("     skipped: cannot enable memory and pids for a child of %s (%s): it holds processes\n", own,
               scythe_strerror(rc));
        return;
    }
    snprintf(base, sizeof base, "%s/scythe-test-%d", own, (int)getpid());
    CHECK(mkdir(base, 0755) == 0);
    made = 1;
    moved_round(base, guard, 0);
    if (!failures_in_test)
        moved_round(base, guard, 1);
out:
    give_back(own, base, made, changed);
}

/* A supervisor that shares its cgroup with a process that is not its own does not move (it would move a stranger's
 * process, or leave it in a cgroup that can no longer hold it): no v2 limits, a limited spawn fails with -ENOTSUP,
 * the cgroup level without limits works, and the cgroup is left as it was. */
void test_cgroup_v2_no_move_beside_other_processes(void) {
    char own[PATH_MAX], base[PATH_MAX + 32], line[PATH_MAX + 64], cg[PATH_MAX] = "", ctl[512], want[PATH_MAX + 64];
    int changed = 0, made = 0, status = 0;
    pid_t bystander = -1, sup = -1;
    FILE *f = NULL, *bf = NULL;
    if (!need_v2(own, sizeof own))
        return;
    if (v1_limits_mounted()) {
        printf("     skipped: cgroup v1 memory or pids hierarchies are mounted; they would serve the limits\n");
        return;
    }
    int rc = delegate(own, &changed);
    if (rc) {
        printf("     skipped: cannot enable memory and pids for a child of %s (%s)\n", own, scythe_strerror(rc));
        return;
    }
    snprintf(base, sizeof base, "%s/scythe-test-%d", own, (int)getpid());
    CHECK(mkdir(base, 0755) == 0);
    made = 1;
    /* The other process: this binary's "--child-v2-wait", which waits for its stdin to close; in BASE first. */
    bystander = start_in(base, "--child-v2-wait", NULL, NULL, &bf);
    CHECK(bystander > 0 && bf && fgets(line, sizeof line, bf)); /* it says "ready" from inside BASE */
    unsigned caps = 0;
    int limited_rc = 0, end = 0, containment = -1;
    sup = start_in(base, "--child-v2-beside", NULL, NULL, &f);
    CHECK(sup > 0 && f && fgets(line, sizeof line, f));
    CHECK(sscanf(line, "%u %4095s %d %d %d", &caps, cg, &limited_rc, &end, &containment) == 5);
    CHECK(waitpid(sup, &status, 0) == sup);
    sup = -1;
    char base_cg[PATH_MAX];
    cgroup_of(getpid(), base_cg, sizeof base_cg);
    snprintf(want, sizeof want, "%s/%s", strcmp(base_cg, "/") ? base_cg : "", strrchr(base, '/') + 1);
    printf("     beside another process: supervisor stays in %s; caps 0x%x; limited spawn %d; plain cgroup job end %d"
           " containment %d\n", cg, caps, limited_rc, end, containment);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(!strcmp(cg, want));
    CHECK(caps & SCYTHE_CAP_CGROUP_KILL);
    CHECK(!(caps & (SCYTHE_CAP_CGROUP_MEMORY | SCYTHE_CAP_CGROUP_PIDS)));
    CHECK(limited_rc == -ENOTSUP);
    CHECK(end == SCYTHE_END_EXITED && containment == SCYTHE_CONTAIN_CGROUP);
    CHECK(read_line(base, "cgroup.subtree_control", ctl, sizeof ctl) == 0 && ctl[0] == 0);
    CHECK(subdirs(base) == 0);
    snprintf(want, sizeof want, "%d", (int)bystander);
    CHECK(read_line(base, "cgroup.procs", ctl, sizeof ctl) == 0 && !strcmp(ctl, want));
out:
    if (f)
        fclose(f);
    if (sup > 0) {
        kill(sup, SIGKILL);
        waitpid(sup, NULL, 0);
    }
    if (bystander > 0) {
        kill(bystander, SIGKILL);
        waitpid(bystander, NULL, 0);
    }
    if (bf)
        fclose(bf);
    give_back(own, base, made, changed);
}

/* Regression: a supervisor run as a job of another, with a memory limit each. The inner one moves itself below the
 * outer job's leaf; its job's OOM is its own end (SCYTHE_END_MEMORY), not the outer job's, which exits 0; what the
 * inner one leaves below the leaf (it has no guard) goes with the leaf. */
void test_cgroup_v2_nested_supervisor(void) {
    char own[PATH_MAX], mnt[PATH_MAX], leaf[PATH_MAX], inner_cg[PATH_MAX] = "", want[PATH_MAX + 64];
    scythe_loop *loop = NULL;
    scythe_job *job = NULL;
    if (!need_v2(own, sizeof own))
        return;
    CHECK(v2_mount(mnt, sizeof mnt) == 0);
    CHECK(scythe_loop_new(&loop) == 0);
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.containment = SCYTHE_CONTAIN_CGROUP;
    o.memory_limit_bytes = 512 * MIB;
    const char *inner[] = {self_exe(), "--child-v2-nested", NULL};
    o.argv = inner;
    CHECK(scythe_spawn(&job, loop, &o) == 0);
    snprintf(leaf, sizeof leaf, "%s", job->cgroup->dir[0]);
    scythe_event ev;
    CHECK(collect_one(loop, &ev, 90));
    scythe_output out;
    unsigned caps = 0;
    int inner_end = 0;
    CHECK(scythe_job_output(&out, job, 1) == 0);
    char line[2 * PATH_MAX];
    snprintf(line, sizeof line, "%.*s", (int)out.head_len, (const char *)out.head);
    CHECK(sscanf(line, "%u %4095s %d", &caps, inner_cg, &inner_end) == 3);
    snprintf(want, sizeof want, "%s/scythe-%d/supervisor", leaf + strlen(mnt), scythe_job_pid(job));
    printf("     outer job: end %d exit %d; the inner supervisor in %s, its job's end %d\n", ev.end, ev.exit_code,
           inner_cg, inner_end);
    CHECK(!strcmp(inner_cg, want));
    CHECK(inner_end == SCYTHE_END_MEMORY);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    CHECK(session_empty(scythe_job_pid(job)));
    scythe_job_free(job); /* its leaf goes after it (decisions 0023, 0026) */
    job = NULL;
    CHECK(dir_gone_after_idle(loop, leaf));
out:
    if (job)
        scythe_job_free(job);
    if (loop)
        scythe_loop_free(loop);
}

/* Where this machine's cgroup v2 hierarchy cannot offer memory and pids, the tests above run in a VM that has only
 * cgroup v2: native/test/v2-vm.sh boots a kernel under qemu with this very test binary in its initramfs. */
void test_cgroup_v2_in_vm(void) {
    char own[PATH_MAX], mnt[PATH_MAX], path[PATH_MAX], ctl[512] = "", script[PATH_MAX], cmd[4 * PATH_MAX];
    FILE *p = NULL;
    if (getenv("SCYTHE_IN_VM")) {
        printf("     skipped: this is the VM\n");
        return;
    }
    cgroup_of(getpid(), path, sizeof path);
    if (!v2_mount(mnt, sizeof mnt) && path[0] &&
        snprintf(own, sizeof own, "%s%s", mnt, strcmp(path, "/") ? path : "") < (int)sizeof own &&
        !read_line(own, "cgroup.controllers", ctl, sizeof ctl) && has_word(ctl, "memory") && has_word(ctl, "pids")) {
        printf("     skipped: this machine's cgroup v2 hierarchy offers memory and pids: the cgroup_v2_* tests ran"
               " here\n");
        return;
    }
    const char *vm = getenv("SCYTHE_V2_VM");
    if (vm && !strcmp(vm, "0")) {
        printf("     skipped: SCYTHE_V2_VM=0\n");
        return;
    }
    const char *guard = guard_exe_or_skip();
    if (!guard)
        return;
    /* The script beside this file (the build compiles it by its absolute path). */
    snprintf(script, sizeof script, "%s", __FILE__);
    char *slash = strrchr(script, '/');
    snprintf(slash ? slash + 1 : script, sizeof script - (size_t)(slash ? slash + 1 - script : 0), "v2-vm.sh");
    snprintf(cmd, sizeof cmd, "bash '%s' '%s' '%s' </dev/null 2>&1", script, self_exe(), guard);
    fflush(stdout);
    p = popen(cmd, "r");
    CHECK(p);
    char line[4096], skip[4096] = "";
    int passed = -1, failed = -1;
    while (fgets(line, sizeof line, p)) {
        printf("     %s", line);
        sscanf(line, "scythe-vm: %d passed, %d failed", &passed, &failed);
        if (!strncmp(line, "scythe-vm: skipped: ", 20))
            snprintf(skip, sizeof skip, "%s", line + 20);
    }
    fflush(stdout);
    int status = pclose(p);
    p = NULL;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 77) {
        printf("     skipped: %s", skip[0] ? skip : "v2-vm.sh cannot run here\n");
        return;
    }
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    CHECK(failed == 0 && passed >= 5);
out:
    if (p)
        pclose(p);
}

/* ---- child modes ------------------------------------------------------------------------------------------------ */

/* A supervisor that starts its guard, runs a memory-limited hog and a sleeper (process limit 4), and prints
 * "caps own-cgroup guard-pid guard-cgroup hog-end sleeper-pid". Then "exit": frees everything and exits normally;
 * "kill": waits to be killed. */
static int child_moved(const char *guard, const char *mode) {
    scythe_loop *loop;
    if (scythe_guard_start(guard) || scythe_loop_new(&loop))
        return 2;
    uint32_t caps = scythe_capabilities();
    char self_cg[PATH_MAX], guard_cg[PATH_MAX];
    cgroup_of(getpid(), self_cg, sizeof self_cg);
    cgroup_of(scythe_guard_pid(), guard_cg, sizeof guard_cg);
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.containment = SCYTHE_CONTAIN_CGROUP;
    o.memory_limit_bytes = 64 * MIB;
    const char *hog[] = {self_exe(), "--child-hog", NULL};
    o.argv = hog;
    scythe_job *job, *sleeper;
    scythe_event ev = {0};
    if (scythe_spawn(&job, loop, &o) || !collect_one(loop, &ev, 60))
        return 3;
    scythe_job_free(job);
    scythe_spawn_options s = SCYTHE_SPAWN_OPTIONS_INIT;
    s.containment = SCYTHE_CONTAIN_CGROUP;
    s.process_limit = 4;
    const char *nap[] = {"sleep", "300", NULL};
    s.argv = nap;
    if (scythe_spawn(&sleeper, loop, &s))
        return 4;
    printf("%u %s %d %s %d %d\n", caps, self_cg, (int)scythe_guard_pid(), guard_cg, ev.end, scythe_job_pid(sleeper));
    fflush(stdout);
    if (!strcmp(mode, "kill"))
        for (;;)
            pause();
    scythe_job_free(sleeper);
    scythe_loop_free(loop);
    return 0;
}

/* A supervisor beside another process: prints "caps own-cgroup limited-spawn-rc plain-end plain-containment". */
static int child_beside(void) {
    scythe_loop *loop;
    if (scythe_loop_new(&loop))
        return 2;
    uint32_t caps = scythe_capabilities();
    char cg[PATH_MAX];
    cgroup_of(getpid(), cg, sizeof cg);
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.containment = SCYTHE_CONTAIN_CGROUP;
    o.memory_limit_bytes = 64 * MIB;
    const char *t[] = {"true", NULL};
    o.argv = t;
    scythe_job *job = NULL;
    int limited = scythe_spawn(&job, loop, &o);
    if (!limited)
        scythe_job_free(job);
    o.memory_limit_bytes = 0;
    scythe_event ev = {0};
    if (scythe_spawn(&job, loop, &o) || !collect_one(loop, &ev, 30))
        return 3;
    scythe_job_free(job);
    scythe_loop_free(loop);
    printf("%u %s %d %d %d\n", caps, cg, limited, ev.end, ev.containment);
    fflush(stdout);
    return 0;
}

/* A supervisor run as a job (no guard): a hog under 32 MiB; prints "caps own-cgroup hog-end". */
static int child_nested(void) {
    scythe_loop *loop;
    if (scythe_loop_new(&loop))
        return 2;
    uint32_t caps = scythe_capabilities();
    char cg[PATH_MAX];
    cgroup_of(getpid(), cg, sizeof cg);
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.containment = SCYTHE_CONTAIN_CGROUP;
    o.memory_limit_bytes = 32 * MIB;
    const char *hog[] = {self_exe(), "--child-hog", NULL};
    o.argv = hog;
    scythe_job *job;
    scythe_event ev = {0};
    if (scythe_spawn(&job, loop, &o) || !collect_one(loop, &ev, 60))
        return 3;
    scythe_job_free(job);
    scythe_loop_free(loop);
    printf("%u %s %d\n", caps, cg, ev.end);
    fflush(stdout);
    return 0;
}

int cgroup_v2_child_main(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--child-v2-nested"))
        return child_nested();
    if (argc > 3 && !strcmp(argv[1], "--child-v2-moved"))
        return child_moved(argv[2], argv[3]);
    if (argc > 1 && !strcmp(argv[1], "--child-v2-beside"))
        return child_beside();
    if (argc > 1 && !strcmp(argv[1], "--child-v2-wait")) { /* says it is ready, then waits until killed */
        printf("ready\n");
        fflush(stdout);
        for (;;)
            pause();
    }
    return -1;
}
