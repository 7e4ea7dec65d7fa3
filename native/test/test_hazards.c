/* C tests of the hazards a review found: each one names what it guards, and fails if its fix is undone. */
#include "test.h"
#include "../src/guard.h"
#include "../src/loop.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Regression: completing a job queues its event without allocating (the queue runs through the jobs), so a host out of
 * memory still gets every event; it once aborted the whole process (the JVM) when the queue could not grow. */
void test_event_queue_needs_no_memory(void) {
    enum { JOBS = 150, CAPACITY = 7 };
    scythe_loop *loop;
    int fds = count_fds();
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"true", NULL};
    o.argv = argv;
    o.stdio[1].mode = o.stdio[2].mode = SCYTHE_STDIO_NULL; /* nothing captured: completion itself must not allocate */
    scythe_job *jobs[JOBS];
    for (int i = 0; i < JOBS; i++) {
        o.user_data = (uint64_t)i;
        int rc;
        jobs[i] = start(loop, &o, &rc);
        CHECK_RC(rc);
    }
    usleep(300000); /* they all exit: the first run completes a batch of them at once, more than fit in its capacity */
    atomic_store(&scythe__alloc_budget, 0);
    scythe_event evs[JOBS];
    size_t got = 0, k = 0;
    int rc = scythe_loop_run(&k, loop, evs, CAPACITY, 5000);
    got += k;
    /* One job not delivered yet is freed with its event queued (or not yet completed): that event never comes. */
    int seen[JOBS] = {0};
    for (size_t i = 0; i < got; i++)
        seen[evs[i].user_data]++;
    int dropped = -1;
    for (int i = 0; i < JOBS && dropped < 0; i++)
        if (!seen[i])
            dropped = i;
    if (dropped >= 0) {
        scythe_job_free(jobs[dropped]);
        jobs[dropped] = NULL;
    }
    int64_t until = scythe__now_ns() + 20000000000LL;
    while (rc == 0 && got < JOBS - 1 && scythe__now_ns() < until) {
        rc = scythe_loop_run(&k, loop, evs + got, got + CAPACITY <= JOBS ? CAPACITY : JOBS - got, 1000);
        got += k;
    }
    if (rc == 0)
        rc = scythe_loop_run(&k, loop, evs + got, JOBS - got, 200); /* nothing more: the freed job's event is gone */
    atomic_store(&scythe__alloc_budget, -1);
    got += k;
    CHECK_RC(rc);
    CHECK(k == 0 && got == JOBS - 1 && dropped >= 0);
    memset(seen, 0, sizeof seen);
    for (size_t i = 0; i < got; i++) {
        CHECK(evs[i].user_data < JOBS && evs[i].job == jobs[evs[i].user_data]);
        CHECK(evs[i].end == SCYTHE_END_EXITED && evs[i].exit_code == 0);
        seen[evs[i].user_data]++;
    }
    for (int i = 0; i < JOBS; i++)
        CHECK(seen[i] == (i != dropped));
    for (int i = 0; i < JOBS; i++)
        scythe_job_free(jobs[i]);
    size_t live = 1;
    CHECK_RC(scythe_loop_live_jobs(loop, &live));
    CHECK(live == 0);
    scythe_loop_free(loop);
    CHECK(count_fds() == fds);
    CHECK(no_children());
}

/* The stream 0, 1, 2, ... of `n` bytes (each byte its index mod 251, so any shift or gap shows). */
static void pattern(uint8_t *buf, size_t from, size_t n) {
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)((from + i) % 251);
}

static int is_pattern(const uint8_t *buf, size_t from, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (buf[i] != (uint8_t)((from + i) % 251))
            return 0;
    return 1;
}

/* Regression: a capture that runs out of memory says so (lost), and its head and tail are still the stream's first and
 * last bytes. It once reported nothing, grew its head again after a gap, and returned its tail ring unrotated when
 * making it linear failed. */
void test_capture_out_of_memory(void) {
    enum { TOTAL = 20000, PIECE = 3000 };
    static uint8_t stream[TOTAL];
    pattern(stream, 0, TOTAL);
    scythe__capture c;
    scythe_output o;
    /* The head's first block (4 KiB) is granted, its growth refused: it closes at what it holds. The tail is refused
     * too at first, then granted: it still ends up the stream's last bytes. */
    scythe__capture_init(&c, 16384, 5000);
    atomic_store(&scythe__alloc_budget, 1);
    size_t off = 0;
    CHECK_RC(scythe__capture_append(&c, stream, PIECE)); /* head: 3000 of its 4096 */
    off += PIECE;
    CHECK(scythe__capture_append(&c, stream + off, PIECE) == -ENOMEM); /* head full at 4096; tail refused */
    off += PIECE;
    atomic_store(&scythe__alloc_budget, -1);
    CHECK(c.lost);
    CHECK(scythe__capture_append(&c, stream + off, PIECE) == 0); /* the head stays closed: all to the tail */
    off += PIECE;
    for (; off < TOTAL; off += PIECE) /* the tail ring wraps */
        CHECK_RC(scythe__capture_append(&c, stream + off, off + PIECE <= TOTAL ? PIECE : TOTAL - off));
    atomic_store(&scythe__alloc_budget, 0); /* making the ring linear must need no memory */
    scythe__capture_finish(&c);
    atomic_store(&scythe__alloc_budget, -1);
    scythe__capture_view(&c, &o);
    CHECK(o.total == TOTAL && o.head_len == 4096 && is_pattern(o.head, 0, o.head_len));
    CHECK(o.tail_len == 5000 && is_pattern(o.tail, TOTAL - o.tail_len, o.tail_len));
    CHECK(o.dropped == TOTAL - 4096 - 5000);
    scythe__capture_free(&c);

    /* A tail refused for good: empty, and said so; the head is whole. */
    scythe__capture_init(&c, 100, 50);
    CHECK_RC(scythe__capture_append(&c, stream, 60));
    atomic_store(&scythe__alloc_budget, 0);
    CHECK(scythe__capture_append(&c, stream + 60, 100) == -ENOMEM);
    scythe__capture_finish(&c);
    atomic_store(&scythe__alloc_budget, -1);
    scythe__capture_view(&c, &o);
    CHECK(c.lost && o.head_len == 100 && is_pattern(o.head, 0, 100) && o.tail_len == 0 && o.dropped == 60);
    scythe__capture_free(&c);

    /* Enough memory: nothing lost. */
    scythe__capture_init(&c, 100, 50);
    CHECK_RC(scythe__capture_append(&c, stream, 1000));
    scythe__capture_finish(&c);
    scythe__capture_view(&c, &o);
    CHECK(!c.lost && is_pattern(o.head, 0, 100) && is_pattern(o.tail, 950, 50));
    scythe__capture_free(&c);
}

/* Regression: a job whose capture ran out of memory says so in its event (SCYTHE_EVENT_STDOUT_LOST / _STDERR_LOST),
 * and its output is still a true head and tail; a job with memory enough carries neither flag. */
void test_output_lost_is_reported(void) {
    scythe_loop *loop;
    int fds = count_fds();
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"sh", "-c", "seq 100000; echo err >&2", NULL};
    o.argv = argv;
    o.head_bytes = 1000;
    o.tail_bytes = 1000;
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    atomic_store(&scythe__alloc_budget, 0); /* from the first byte on: no head, no tail */
    scythe_event ev;
    size_t got = collect(loop, &ev, 1);
    atomic_store(&scythe__alloc_budget, -1);
    CHECK(got == 1 && ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    CHECK((ev.flags & SCYTHE_EVENT_STDOUT_LOST) && (ev.flags & SCYTHE_EVENT_STDERR_LOST));
    scythe_output out;
    CHECK_RC(scythe_job_output(&out, job, 1));
    CHECK(out.head_len == 0 && out.tail_len == 0 && out.total == out.dropped && out.total > 500000);
    scythe_job_free(job);

    ev = run_one(loop, argv, &o, &job);
    CHECK(ev.end == SCYTHE_END_EXITED && !(ev.flags & (SCYTHE_EVENT_STDOUT_LOST | SCYTHE_EVENT_STDERR_LOST)));
    CHECK_RC(scythe_job_output(&out, job, 1));
    CHECK(out.head_len == 1000 && memcmp(out.head, "1\n2\n3\n", 6) == 0);
    CHECK(out.tail_len == 1000 && memcmp(out.tail + 1000 - 13, "99999\n100000\n", 13) == 0);
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(count_fds() == fds);
    CHECK(no_children());
}

/* Children of this process, from /proc (every thread's list). */
static int count_children(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/task");
    for (struct dirent *e; d && (e = readdir(d));) {
        char path[300];
        snprintf(path, sizeof path, "/proc/self/task/%s/children", e->d_name);
        FILE *f = e->d_name[0] == '.' ? NULL : fopen(path, "r");
        for (int pid; f && fscanf(f, "%d", &pid) == 1;)
            n++;
        if (f)
            fclose(f);
    }
    if (d)
        closedir(d);
    return n;
}

/* A supervisor whose guard has a table of 2 slots: two jobs start, a third is refused with nothing started, and once
 * a job ended its slot serves a new one. Prints the guard's pid, the third spawn's result, the children before and
 * after it, the fourth spawn's result and the pids of the jobs left, then frees its loop (which kills them). */
static int child_guard_full(const char *guard) {
    scythe__guard_table_slots = 2;
    scythe_loop *loop;
    if (scythe_guard_start(guard) || scythe_loop_new(&loop))
        return 2;
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *sleeper[] = {"sleep", "300", NULL};
    o.argv = sleeper;
    scythe_job *jobs[4] = {NULL, NULL, NULL, NULL};
    if (scythe_spawn(&jobs[0], loop, &o) || scythe_spawn(&jobs[1], loop, &o))
        return 3;
    int before = count_children();
    int full = scythe_spawn(&jobs[2], loop, &o);
    int after = count_children();
    scythe_event ev;
    if (scythe_job_cancel(jobs[0], 1) || collect(loop, &ev, 1) != 1)
        return 4;
    int again = scythe_spawn(&jobs[3], loop, &o);
    printf("%d %d %d %d %d %d %d\n", (int)scythe_guard_pid(), full, before, after, again, scythe_job_pid(jobs[1]),
           again ? 0 : scythe_job_pid(jobs[3]));
    fflush(stdout);
    scythe_loop_free(loop);
    return 0;
}

/* A leader that counts the SIGRTMIN it receives: real-time signals queue, one per send, where a second SIGTERM sent
 * while the first is pending merges with it. Blocks it, says it is ready by creating `ready`, then prints how many
 * arrived within 300 ms of the first. */
static int child_count_signal(const char *ready) {
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGRTMIN);
    if (sigprocmask(SIG_BLOCK, &s, NULL) < 0)
        return 2;
    int fd = open(ready, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return 3;
    close(fd);
    int n = 0;
    struct timespec first = {10, 0}, zero = {0, 0};
    if (sigtimedwait(&s, NULL, &first) < 0)
        return 4;
    n++;
    usleep(300000);
    while (sigtimedwait(&s, NULL, &zero) > 0)
        n++;
    printf("%d\n", n);
    return 0;
}

int hazard_child(int argc, char **argv) {
    if (argc > 2 && !strcmp(argv[1], "--child-guard-full"))
        return child_guard_full(argv[2]);
    if (argc > 2 && !strcmp(argv[1], "--child-count-signal"))
        return child_count_signal(argv[2]);
    return -1;
}

/* Regression: with the guard's table full, scythe_spawn fails with -ENOSPC and starts nothing; it once started the job
 * unlisted, so a kill -9 of the supervisor would have left it running. */
void test_guard_table_full_refuses_the_spawn(void) {
    const char *guard = guard_exe_or_skip();
    if (!guard)
        return;
    FILE *f;
    pid_t sup = start_supervisor("--child-guard-full", guard, &f);
    CHECK(sup > 0);
    int guard_pid = 0, full = 0, before = -1, after = -2, again = -1, left[2] = {0, 0}, st = 0;
    int got = f && fscanf(f, "%d %d %d %d %d %d %d", &guard_pid, &full, &before, &after, &again, &left[0],
                          &left[1]) == 7;
    if (f)
        fclose(f);
    CHECK(waitpid(sup, &st, 0) == sup);
    for (int i = 0; i < 2; i++)
        CHECK(left[i] <= 0 || pid_dead(left[i]));
    CHECK(guard_pid <= 0 || pid_dead(guard_pid)); /* its supervisor exited: it did its work and left */
    if (!got || full != -ENOSPC)
        fprintf(stderr, "  guard %d, third spawn %d (%s), children %d then %d, fourth spawn %d\n", guard_pid, full,
                scythe_strerror(full), before, after, again);
    CHECK(got && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(full == -ENOSPC);
    CHECK(before == 3 && after == before); /* the guard and two jobs; the refused one never started */
    CHECK(again == 0 && left[1] > 0);      /* a slot freed by a job's end serves the next one */
}

/* Regression: a signal to a job's session reaches its leader once. It was sent through the leader's pidfd and then to
 * its process group, which holds the leader too: a prover that handles SIGTERM (to print its statistics, say) could
 * get a second one in the middle of its shutdown. */
void test_session_signal_reaches_the_leader_once(void) {
    char dir[] = "/tmp/scythe-signal-XXXXXX", ready[64];
    CHECK(mkdtemp(dir));
    snprintf(ready, sizeof ready, "%s/ready", dir);
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {self_exe, "--child-count-signal", ready, NULL};
    o.argv = argv;
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    for (int i = 0; i < 500 && access(ready, F_OK) < 0; i++)
        usleep(10000);
    int seen = access(ready, F_OK) == 0;
    /* The loop does not run meanwhile, so this thread may act for it. */
    int sent = seen ? scythe__kill_session(job, SIGRTMIN) : scythe__kill_session(job, SIGKILL);
    scythe_event ev;
    size_t got = collect(loop, &ev, 1);
    unlink(ready);
    rmdir(dir);
    CHECK(seen && sent == 0 && got == 1);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    scythe_output out;
    CHECK_RC(scythe_job_output(&out, job, 1));
    if (!output_equals(job, 1, "1\n"))
        fprintf(stderr, "  the leader counted: %.*s", (int)out.head_len, out.head);
    CHECK(output_equals(job, 1, "1\n"));
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(no_children());
}

/* What a host needs to decode without numbers of its own: capability names by bit, the "unsupported" errno, the
 * dossier's path. */
void test_abi_names_instead_of_numbers(void) {
    static const struct {
        uint32_t bit;
        const char *name;
    } caps[] = {{SCYTHE_CAP_PIDFD_OPEN, "pidfd_open"},     {SCYTHE_CAP_PIDFD_SEND_SIGNAL, "pidfd_send_signal"},
                {SCYTHE_CAP_WAITID_PIDFD, "waitid_pidfd"}, {SCYTHE_CAP_CLOSE_RANGE, "close_range"},
                {SCYTHE_CAP_SPAWN_SETSID, "spawn_setsid"}, {SCYTHE_CAP_SPAWN_CLOSEFROM, "spawn_closefrom"},
                {SCYTHE_CAP_SPAWN_CHDIR, "spawn_chdir"},   {SCYTHE_CAP_CGROUP_KILL, "cgroup_kill"},
                {SCYTHE_CAP_CGROUP_MEMORY, "cgroup_memory"}, {SCYTHE_CAP_CGROUP_PIDS, "cgroup_pids"}};
    uint32_t all = 0;
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        const char *name = scythe_capability_name(caps[i].bit);
        CHECK(name && !strcmp(name, caps[i].name));
        all |= caps[i].bit;
    }
    for (int b = 0; b < 32; b++) /* exactly the named bits have names */
        CHECK(!scythe_capability_name(1u << b) == !(all & 1u << b));
    CHECK(!scythe_capability_name(0) && !scythe_capability_name(SCYTHE_CAP_PIDFD_OPEN | SCYTHE_CAP_CLOSE_RANGE));
    CHECK((scythe_capabilities() & ~all) == 0); /* every capability reported can be named */
    CHECK((scythe_capabilities() & (SCYTHE_CAP_SPAWN_SETSID | SCYTHE_CAP_SPAWN_CLOSEFROM | SCYTHE_CAP_SPAWN_CHDIR)) ==
          (SCYTHE_CAP_SPAWN_SETSID | SCYTHE_CAP_SPAWN_CLOSEFROM | SCYTHE_CAP_SPAWN_CHDIR)); /* of the build */

    CHECK(scythe_error_is_unsupported(-ENOTSUP) && scythe_error_is_unsupported(-EOPNOTSUPP));
    CHECK(!scythe_error_is_unsupported(0) && !scythe_error_is_unsupported(-ENOENT) &&
          !scythe_error_is_unsupported(-ENOSYS) && !scythe_error_is_unsupported(ENOTSUP));

    char buf[64];
    CHECK_RC(scythe_dossier_path(buf, sizeof buf, "/tmp/d", 4242));
    CHECK(!strcmp(buf, "/tmp/d/scythe-dossier-4242.txt"));
    CHECK(scythe_dossier_path(buf, 31, "/tmp/d", 4242) == 0);  /* 30 characters and the NUL: fits */
    CHECK(scythe_dossier_path(buf, 30, "/tmp/d", 4242) == -ENAMETOOLONG && buf[0] == 0);
    CHECK(scythe_dossier_path(buf, 0, "/tmp/d", 1) == -ENAMETOOLONG);
    CHECK(scythe_dossier_path(NULL, 10, "/tmp/d", 1) == -EINVAL && scythe_dossier_path(buf, 10, NULL, 1) == -EINVAL);
}

/* Regression: scythe_loop_free() on live cgroup-level jobs removes their leaves and the parent. It killed them and
 * removed the leaves at once, while the kernel was still emptying them: every leaf stayed behind (EBUSY), and so did
 * the parent BASE/scythe-PID, in each hierarchy. */
void test_loop_free_removes_the_leaves_of_live_jobs(void) {
    if (!need_caps(SCYTHE_CAP_CGROUP_KILL, "writable cgroup v2 hierarchy with cgroup.kill"))
        return;
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"sh", "-c", "sleep 300 & sleep 300", NULL};
    o.argv = argv;
    o.containment = SCYTHE_CONTAIN_CGROUP;
    o.stdio[1].mode = o.stdio[2].mode = SCYTHE_STDIO_NULL;
    int pids[3], rc;
    for (int i = 0; i < 3; i++) {
        scythe_job *job = start(loop, &o, &rc);
        CHECK_RC(rc);
        pids[i] = scythe_job_pid(job);
    }
    usleep(100000); /* the shells start their sleeps */
    char parent[3][PATH_MAX];
    for (int h = 0; h < 3; h++)
        snprintf(parent[h], sizeof parent[h], "%s", scythe__cgroup_parent(h));
    scythe_loop_free(loop);
    for (int i = 0; i < 3; i++)
        CHECK(session_gone(pids[i]));
    for (int h = 0; h < 3; h++)
        if (parent[h][0] && access(parent[h], F_OK) == 0) {
            fprintf(stderr, "  %s is still there\n", parent[h]);
            failures_in_test++;
        }
    CHECK(no_children());
}

/* The job leaves in this process's parent of hierarchy h, by name (up to 64), and how many. */
static int leaves_in(int h, char names[64][256]) {
    DIR *d = opendir(scythe__cgroup_parent(h));
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        if (e->d_type == DT_DIR && !strncmp(e->d_name, "job-", 4) && n < 64)
            snprintf(names[n++], 256, "%s", e->d_name);
    if (d)
        closedir(d);
    return n;
}

/* Open fds of this process into a directory (its files), from /proc/self/fd. */
static int fds_into(const char *dir) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    size_t len = strlen(dir);
    for (struct dirent *e; d && (e = readdir(d));) {
        char link[300], target[PATH_MAX + 1];
        snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
        ssize_t k = readlink(link, target, sizeof target - 1);
        if (k > 0) {
            target[k] = 0;
            n += !strncmp(target, dir, len) && target[len] == '/';
        }
    }
    if (d)
        closedir(d);
    return n;
}

/* A contained spawn finds its leaves made ahead: the loop's thread makes a few spares while it has nothing else to do,
 * and removes a freed job's leaves the same way, so neither mkdir nor rmdir waits on a spawn or an event (decision
 * 0026). scythe_loop_free removes the spares and any retired leaves, and the parent with them. */
void test_cgroup_leaves_made_and_removed_when_idle(void) {
    if (!need_caps(SCYTHE_CAP_CGROUP_KILL, "writable cgroup v2 hierarchy with cgroup.kill"))
        return;
    int fds = count_fds();
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"true", NULL};
    o.argv = argv;
    o.containment = SCYTHE_CONTAIN_CGROUP;
    o.stdio[1].mode = o.stdio[2].mode = SCYTHE_STDIO_NULL;
    scythe_job *job;
    scythe_event ev = run_one(loop, argv, &o, &job);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0 && ev.containment == SCYTHE_CONTAIN_CGROUP);
    char first[PATH_MAX];
    snprintf(first, sizeof first, "%s", job->cgroup->dir[0]);
    scythe_job_free(job);
    CHECK(dir_gone_after_idle(loop, first)); /* removed by the idle loop, not by scythe_job_free */
    static char names[64][256];
    for (int i = 0; i < 200 && leaves_in(0, names) < SCYTHE__SPARE_LEAVES; i++) {
        size_t n;
        scythe_loop_run(&n, loop, &ev, 1, 10);
    }
    int spares = leaves_in(0, names);
    CHECK(spares == SCYTHE__SPARE_LEAVES);
    /* The next job runs in one of them. */
    ev = run_one(loop, argv, &o, &job);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    const char *leaf = strrchr(job->cgroup->dir[0], '/') + 1;
    int found = 0;
    for (int i = 0; i < spares; i++)
        found += !strcmp(names[i], leaf);
    CHECK(found == 1);
    printf("     %d spare leaves made when idle; the next job ran in %s\n", spares, leaf);
    char retired[PATH_MAX];
    snprintf(retired, sizeof retired, "%s", job->cgroup->dir[0]);
    CHECK(fds_into(retired) > 0); /* the files its exit read, held since the leaf was made (decision 0027) */
    scythe_job_free(job);
    CHECK(access(retired, F_OK) == 0 && fds_into(retired) == 0); /* retired, still there, holding no fd */
    char parent[3][PATH_MAX];
    for (int h = 0; h < 3; h++)
        snprintf(parent[h], sizeof parent[h], "%s", scythe__cgroup_parent(h));
    scythe_loop_free(loop); /* the spares and the retired leaf, which no idle run removed */
    for (int h = 0; h < 3; h++)
        if (parent[h][0] && access(parent[h], F_OK) == 0) {
            fprintf(stderr, "  %s is still there\n", parent[h]);
            failures_in_test++;
        }
    CHECK(count_fds() == fds);
    CHECK(no_children());
}

/* A token's flip, by a host's cancel or by a claim in the loop, costs the jobs attached to the token, not every job of
 * the loop: 300 other live jobs are not looked at (issue 14: preemption flat from 10 to 10,000 jobs). Without the
 * hand-over each flip swept them all. Nor does the timer look at jobs with nothing due. */
void test_token_flip_looks_only_at_its_jobs(void) {
    int fds = count_fds();
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    enum { OTHERS = 300, MINE = 4 };
    const char *sleeper[] = {"sleep", "300", NULL}, *winner[] = {"sh", "-c", "sleep 0.2; exit 0", NULL};
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.argv = sleeper;
    o.stdio[1].mode = o.stdio[2].mode = SCYTHE_STDIO_NULL;
    o.grace_ns = -1;
    int rc;
    for (int i = 0; i < OTHERS; i++) {
        start(loop, &o, &rc);
        CHECK_RC(rc);
    }
    for (int round = 0; round < 2; round++) { /* a host's cancel, then a claim made in the loop */
        scythe_token *t;
        CHECK_RC(scythe_token_new(&t, NULL));
        scythe_job *jobs[MINE];
        for (int i = 0; i < MINE; i++) {
            scythe_spawn_options m = o;
            m.token = t;
            if (round == 1 && i == 0) {
                m.argv = winner;
                m.claim_index = 0;
                m.claim_exit_codes[0] = 1; /* exit 0 claims */
            }
            jobs[i] = start(loop, &m, &rc);
            CHECK_RC(rc);
        }
        size_t n;
        scythe_event evs[MINE];
        scythe_loop_run(&n, loop, evs, MINE, 20); /* whatever the spawns asked of the loop is done */
        uint64_t before = scythe__loop_looked_at(loop);
        if (round == 0)
            CHECK_RC(scythe_token_cancel(t, 7));
        CHECK(collect(loop, evs, MINE) == MINE);
        uint64_t looked = scythe__loop_looked_at(loop) - before;
        int preempted = 0, claimed = 0;
        for (int i = 0; i < MINE; i++) {
            claimed += evs[i].claimed;
            preempted += evs[i].end == SCYTHE_END_CANCELLED &&
                         evs[i].cancel_reason == (round ? (uint32_t)SCYTHE_REASON_PREEMPTED : 7u);
        }
        printf("     %s: %d jobs ended, %llu looked at, beside %d other live jobs\n",
               round ? "a claim in the loop" : "a host's cancel", MINE, (unsigned long long)looked, OTHERS);
        CHECK(preempted == (round ? MINE - 1 : MINE) && claimed == round);
        CHECK(looked < OTHERS / 4);
        for (int i = 0; i < MINE; i++)
            scythe_job_free(jobs[i]);
        scythe_token_free(t);
    }
    /* The timer looks only at the jobs with a due time: a timeout beside them costs its own job. */
    scythe_spawn_options d = o;
    d.timeout_ns = 100000000LL;
    scythe_job *timed = start(loop, &d, &rc);
    CHECK_RC(rc);
    uint64_t before = scythe__loop_looked_at(loop);
    scythe_event ev;
    CHECK(collect(loop, &ev, 1) == 1 && ev.end == SCYTHE_END_TIMEOUT);
    uint64_t looked = scythe__loop_looked_at(loop) - before;
    printf("     a timeout: %llu looked at, beside %d other live jobs\n", (unsigned long long)looked, OTHERS);
    CHECK(looked < OTHERS / 4);
    scythe_job_free(timed);
    scythe_loop_free(loop); /* kills and reaps the others */
    CHECK(no_children());
    CHECK(count_fds() == fds);
}

/* A killed tree at the cgroup level: its processes are still on their way out when the leader is reaped, and the
 * event waits until the cgroup is empty. cgroup.events says when (watched through epoll), so the event follows the
 * last exit at once, not a re-read on a timer (100 ms apart now, a safety net only). */
void test_cgroup_emptied_is_told_not_polled(void) {
    if (!need_caps(SCYTHE_CAP_CGROUP_KILL, "writable cgroup v2 hierarchy with cgroup.kill"))
        return;
    int fds = count_fds();
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    const char *tree[] = {"sh", "-c", "for i in $(seq 50); do sleep 300 & done; wait", NULL};
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.argv = tree;
    o.containment = SCYTHE_CONTAIN_CGROUP;
    o.stdio[1].mode = o.stdio[2].mode = SCYTHE_STDIO_NULL;
    o.grace_ns = -1;
    enum { ROUNDS = 10 };
    int64_t worst = 0, sum = 0;
    for (int r = 0; r < ROUNDS; r++) {
        int rc;
        scythe_job *job = start(loop, &o, &rc);
        CHECK_RC(rc);
        usleep(50000); /* the sleeps start */
        CHECK_RC(scythe_job_cancel(job, 1));
        scythe_event ev;
        CHECK(collect(loop, &ev, 1) == 1);
        CHECK(ev.end == SCYTHE_END_CANCELLED);
        int64_t wait = ev.done_ns - ev.reaped_ns;
        worst = wait > worst ? wait : worst;
        sum += wait;
        scythe_job_free(job);
    }
    printf("     from the leader's reap to the empty cgroup's event: mean %.2f ms, worst %.2f ms over %d trees of 51\n",
           (double)sum / ROUNDS / 1e6, (double)worst / 1e6, ROUNDS);
    CHECK(sum / ROUNDS < 30000000LL); /* a timer 100 ms apart would give about 100 ms whenever the cgroup was busy */
    scythe_loop_free(loop);
    CHECK(no_children());
    CHECK(count_fds() == fds);
}

/* A tree watched by walking (the fallback where inotify cannot watch) is walked on a thread of its own: with 20,000
 * files a walk takes tens of milliseconds, and a loop that walked itself made every other job's timeout wait for it.
 * Here another job's timeout fires on time while such a walk runs every 20 ms. */
static void walk_beside_a_timeout(const char *dir);

void test_tree_walk_delays_no_other_job(void) {
    in_temp_dir("scythe-walk", walk_beside_a_timeout);
}

static void walk_beside_a_timeout(const char *dir) {
    char path[PATH_MAX];
    for (int d = 0; d < 100; d++) {
        snprintf(path, sizeof path, "%s/d%d", dir, d);
        CHECK(mkdir(path, 0755) == 0);
        for (int f = 0; f < 200; f++) {
            snprintf(path, sizeof path, "%s/d%d/f%d", dir, d, f);
            int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
            CHECK(fd >= 0);
            close(fd);
        }
    }
    int fds = count_fds();
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    char script[PATH_MAX + 64];
    snprintf(script, sizeof script, "while :; do touch %s/d0/f0; sleep 0.05; done", dir);
    const char *toucher[] = {"sh", "-c", script, NULL}, *sleeper[] = {"sleep", "300", NULL};
    scythe_spawn_options w = SCYTHE_SPAWN_OPTIONS_INIT;
    w.argv = toucher;
    w.stdio[1].mode = w.stdio[2].mode = SCYTHE_STDIO_NULL;
    w.stall_ns = 200000000LL; /* a walk every 20 ms */
    w.probes = SCYTHE_PROBE_TREE | SCYTHE_PROBE_TREE_WALK;
    w.progress_tree = dir;
    w.grace_ns = -1;
    int rc;
    scythe_job *walked = start(loop, &w, &rc);
    CHECK_RC(rc);
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.argv = sleeper;
    o.stdio[1].mode = o.stdio[2].mode = SCYTHE_STDIO_NULL;
    o.timeout_ns = 150000000LL;
    o.grace_ns = -1;
    enum { ROUNDS = 8 };
    int64_t worst = 0, sum = 0;
    for (int r = 0; r < ROUNDS; r++) {
        scythe_job *job = start(loop, &o, &rc);
        CHECK_RC(rc);
        scythe_event ev;
        CHECK(collect(loop, &ev, 1) == 1 && ev.job == job); /* the walked job makes progress: it is not stalled */
        CHECK(ev.end == SCYTHE_END_TIMEOUT);
        int64_t late = ev.exit_ns - (ev.start_ns + o.timeout_ns);
        worst = late > worst ? late : worst;
        sum += late;
        scythe_job_free(job);
    }
    printf("     a timeout beside a job whose 20,000-file tree is walked every 20 ms: %.2f ms late on average, "
           "%.2f ms at worst\n", (double)sum / ROUNDS / 1e6, (double)worst / 1e6);
    CHECK(sum / ROUNDS < 15000000LL);
    CHECK_RC(scythe_job_cancel(walked, 1));
    scythe_event ev;
    CHECK(collect(loop, &ev, 1) == 1 && ev.end == SCYTHE_END_CANCELLED && (ev.flags & SCYTHE_EVENT_TREE_WALKED));
    scythe_job_free(walked);
    scythe_loop_free(loop);
    CHECK(no_children());
    CHECK(count_fds() == fds);
}
