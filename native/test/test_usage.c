/* C tests of what an event says a job used: wall time from before the spawn, and a memory figure that is the job's own
 * or -1 (unknown). */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Regression: the wall time (exit_ns - start_ns) counts the fork and the exec, as time(1) does; start_ns was taken
 * after posix_spawn returned, so a quick program with a slow exec reported almost none of it. The exec is slow for
 * real here: the spawn searches PATH, and tries 8000 directories that do not exist (a failed execve each) before
 * /usr/bin. The job then sleeps 2 ms, so its exit is seen after the spawn call returned. Both spawn paths: posix_spawn
 * (session level) and clone (cgroup level, where the machine offers it). */
void test_wall_time_counts_the_exec(void) {
    const char *old = getenv("PATH");
    char *saved = old ? scythe__strdup(old) : NULL;
    size_t cap = 8000 * 32 + 32; /* 25 bytes an entry */
    char *path = malloc(cap);
    CHECK(path && (saved || !old));
    size_t len = 0;
    for (int i = 0; i < 8000; i++)
        len += (size_t)snprintf(path + len, cap - len, "/nonexistent/scythe-%04d:", i);
    snprintf(path + len, cap - len, "/usr/bin:/bin");
    int levels = (scythe_capabilities() & SCYTHE_CAP_CGROUP_KILL) ? 2 : 1;
    for (int level = 0; level < levels; level++) {
        scythe_loop *loop;
        CHECK_RC(scythe_loop_new(&loop));
        scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
        const char *argv[] = {"sleep", "0.002", NULL}, *envp[] = {"PATH=/usr/bin:/bin", NULL};
        o.argv = argv;
        o.envp = envp; /* the search uses this process's PATH; the job gets a plain one */
        o.stdio[1].mode = o.stdio[2].mode = SCYTHE_STDIO_NULL;
        o.containment = level ? SCYTHE_CONTAIN_CGROUP : SCYTHE_CONTAIN_SESSION;
        setenv("PATH", path, 1);
        int rc;
        int64_t before = scythe__now_ns();
        scythe_job *job = start(loop, &o, &rc);
        int64_t after = scythe__now_ns();
        if (saved)
            setenv("PATH", saved, 1);
        else
            unsetenv("PATH");
        CHECK_RC(rc);
        scythe_event ev;
        CHECK(collect(loop, &ev, 1) == 1);
        scythe_job_free(job);
        scythe_loop_free(loop);
        CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
        int64_t wall = ev.exit_ns - ev.start_ns, call = after - before;
        printf("     %s: the spawn call took %.3f ms, wall %.3f ms\n", level ? "cgroup level (clone)"
               : "session level (posix_spawn)", (double)call / 1e6, (double)wall / 1e6);
        CHECK(ev.start_ns >= before && ev.start_ns <= after);
        CHECK(wall >= call);
    }
    free(path);
    free(saved);
    CHECK(no_children());
}

/* This process holds `mib` MiB, touched, as a JVM holds its heap: a figure that counted the supervisor's own resident
 * set (the leader's rusage: the child starts on our address space) would be above it. */
static char *ballast(size_t mib) {
    volatile char *b = malloc(mib << 20); /* volatile: every page really touched (a compiler may drop a memset) */
    for (size_t i = 0; b && i < mib << 20; i += 4096)
        b[i] = 1;
    return (char *)b;
}

/* Our resident set, in KiB (VmRSS), or -1. */
static long own_rss_kib(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmRSS:", 6))
            kib = atol(line + 6);
    if (f)
        fclose(f);
    return kib;
}

/* /usr/bin/time is GNU time (apt package `time`), not busybox's applet, whose %M is 4 times too big (it takes the
 * KiB of ru_maxrss for pages). */
static bool gnu_time(void) {
    char target[PATH_MAX];
    ssize_t n = readlink("/usr/bin/time", target, sizeof target - 1);
    if (n > 0) {
        target[n] = 0;
        const char *base = strrchr(target, '/');
        if (!strcmp(base ? base + 1 : target, "busybox"))
            return false;
    }
    return access("/usr/bin/time", X_OK) == 0;
}

/* The job's peak is its cgroup's: a `sleep 0.1` small, a job holding 50 MB about 50 MB, as time(1) says (where
 * /usr/bin/time is installed), whatever this process holds. Regression: jobs without a memory limit had no v1 memory
 * leaf, and reported the leader's rusage, this process's resident set included. */
void test_memory_peak_is_the_jobs_own(void) {
    if (!need_caps(SCYTHE_CAP_CGROUP_KILL | SCYTHE_CAP_CGROUP_MEMORY, "cgroup level with memory accounting"))
        return;
    char *held = ballast(64);
    CHECK(held);
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.containment = SCYTHE_CONTAIN_CGROUP;
    o.stdio[1].mode = o.stdio[2].mode = SCYTHE_STDIO_NULL;
    scythe_job *job;
    const char *sleeper[] = {"sleep", "0.1", NULL};
    scythe_event ev = run_one(loop, sleeper, &o, &job);
    scythe_job_free(job);
    int64_t small = ev.max_rss_kib;
    CHECK(ev.containment == SCYTHE_CONTAIN_CGROUP && ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    const char *holder[] = {self_exe, "--child-hold", "50", "200", NULL};
    ev = run_one(loop, holder, &o, &job);
    scythe_job_free(job);
    int64_t big = ev.max_rss_kib;
    CHECK(ev.containment == SCYTHE_CONTAIN_CGROUP && ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    long by_time = -1;
    if (gnu_time()) { /* time(1)'s max RSS of the same command, run by us */
        const char *timed[] = {"/usr/bin/time", "-f", "%M", self_exe, "--child-hold", "50", "200", NULL};
        scythe_spawn_options t = SCYTHE_SPAWN_OPTIONS_INIT;
        t.stdio[1].mode = SCYTHE_STDIO_NULL;
        ev = run_one(loop, timed, &t, &job);
        scythe_output err;
        if (ev.end == SCYTHE_END_EXITED && ev.exit_code == 0 && scythe_job_output(&err, job, 2) == 0 && err.head_len) {
            char text[64];
            size_t n = err.head_len < sizeof text - 1 ? err.head_len : sizeof text - 1;
            memcpy(text, err.head, n);
            text[n] = 0;
            by_time = atol(text);
        }
        scythe_job_free(job);
        CHECK(by_time > 0);
    }
    scythe_loop_free(loop);
    printf("     peaks: sleep 0.1 %lld KiB; a job holding 50 MB %lld KiB (GNU time(1): %ld KiB%s); this process %ld KiB"
           " resident\n", (long long)small, (long long)big, by_time, by_time < 0 ? ", not installed" : "",
           own_rss_kib());
    free(held);
    CHECK(small >= 0 && small < 8 * 1024);
    CHECK(big >= 45000000 / 1024 && big < 100 * 1024);
    if (by_time > 0)
        CHECK(big > by_time / 2 && big < by_time * 2);
    CHECK(no_children());
}

/* Regression: at the session level the peak is unknown (-1), no longer the leader's rusage, which counts this
 * process's resident set (here 64 MiB of it; a JVM's ~65 MB made a `sleep 0.1` report 66 MB). */
void test_session_peak_is_unknown(void) {
    char *held = ballast(64);
    CHECK(held);
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.stdio[1].mode = o.stdio[2].mode = SCYTHE_STDIO_NULL;
    scythe_job *job;
    const char *sleeper[] = {"sleep", "0.1", NULL};
    scythe_event ev = run_one(loop, sleeper, &o, &job);
    scythe_job_free(job);
    scythe_loop_free(loop);
    free(held);
    CHECK(ev.containment == SCYTHE_CONTAIN_SESSION && ev.end == SCYTHE_END_EXITED);
    CHECK(ev.max_rss_kib == -1);
    CHECK(no_children());
}

/* A running job's peak so far, for hosts that recycle workers by their memory: a job holding 50 MB shows about 50 MB
 * while it runs; once it exited the call says so; a session-level job has none. */
void test_memory_peak_of_a_running_job(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.stdio[1].mode = o.stdio[2].mode = SCYTHE_STDIO_NULL;
    const char *sleeper[] = {"sleep", "0.1", NULL};
    o.argv = sleeper;
    scythe_job *job;
    CHECK_RC(scythe_spawn(&job, loop, &o));
    int64_t kib = -1;
    CHECK(scythe_job_memory_peak(&kib, job) == -ENOTSUP && kib == -1); /* the session level */
    scythe_event ev;
    size_t k = 0;
    while (k == 0)
        CHECK_RC(scythe_loop_run(&k, loop, &ev, 1, 5000));
    CHECK(scythe_job_memory_peak(&kib, job) == -EALREADY);
    scythe_job_free(job);
    if (need_caps(SCYTHE_CAP_CGROUP_KILL | SCYTHE_CAP_CGROUP_MEMORY, "cgroup level with memory accounting")) {
        o.containment = SCYTHE_CONTAIN_CGROUP;
        const char *holder[] = {self_exe, "--child-hold", "50", "3000", NULL};
        o.argv = holder;
        CHECK_RC(scythe_spawn(&job, loop, &o));
        int64_t until = scythe__now_ns() + 10000000000LL;
        do { /* until the child has touched its 50 MB */
            CHECK_RC(scythe_loop_run(&k, loop, &ev, 1, 20));
            CHECK(k == 0);
            CHECK_RC(scythe_job_memory_peak(&kib, job));
        } while (kib < 45000000 / 1024 && scythe__now_ns() < until);
        printf("     a running job holding 50 MB: peak so far %lld KiB\n", (long long)kib);
        CHECK(kib >= 45000000 / 1024 && kib < 100 * 1024);
        CHECK_RC(scythe_job_cancel(job, 1));
        for (k = 0; k == 0;)
            CHECK_RC(scythe_loop_run(&k, loop, &ev, 1, 5000));
        CHECK(ev.end == SCYTHE_END_CANCELLED && ev.max_rss_kib >= kib);
        CHECK(scythe_job_memory_peak(&kib, job) == -EALREADY);
        scythe_job_free(job);
    }
    scythe_loop_free(loop);
    CHECK(no_children());
}

/* Child modes: "--child-hold MB MS" touches MB megabytes (10^6 bytes), holds them MS ms, exits 0. -1: not ours. */
int usage_child(int argc, char **argv) {
    if (argc < 4 || strcmp(argv[1], "--child-hold"))
        return -1;
    size_t bytes = (size_t)atol(argv[2]) * 1000000u;
    volatile char *p = malloc(bytes); /* volatile: every page really touched */
    if (!p)
        return 1;
    for (size_t i = 0; i < bytes; i += 4096)
        p[i] = 1;
    usleep((useconds_t)atol(argv[3]) * 1000u);
    free((void *)p);
    return 0;
}
