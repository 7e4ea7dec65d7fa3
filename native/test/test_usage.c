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
