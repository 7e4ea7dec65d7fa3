/* C tests of libscythe, linked with its sources so internals are reachable. Real processes, real kernel.
 * Ends with "N passed, N failed"; exit status 1 if anything failed. Run with a test name to run only that test.
 * The binary re-runs itself as a child with "--child-..." arguments where a special child is needed. */
#include "test.h"
#include "../src/job.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

extern char **environ;

int failures_in_test; /* also counted by the tests in test_hazards.c and test_cgroup_v2.c */
scythe_loop *loop_keep; /* the loop of the last run_contained, freed by the caller */
const char *self_exe = "/proc/self/exe";

/* ---- helpers -------------------------------------------------------------------------------------------------- */

int count_fds(void) {
    int n = 0;
    DIR *d = opendir("/proc/self/fd");
    for (struct dirent *e; d && (e = readdir(d));)
        n += e->d_name[0] != '.';
    if (d)
        closedir(d);
    return n - 1; /* the directory's own fd */
}

/* Session id of pid, or -1 if it is gone; its state letter and parent. */
int session_of_full(int pid, char *state_out, int *ppid_out) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    int ppid, pgrp, sid;
    char state;
    if (!p || sscanf(p + 2, "%c %d %d %d", &state, &ppid, &pgrp, &sid) != 4)
        return -1;
    *state_out = state;
    *ppid_out = ppid;
    return sid;
}

/* Processes in session sid that still run, or that are zombies we should have reaped. A killed grandchild is
 * reparented to init and stays a zombie until init reaps it (here, up to ~2 s later): dead, and not ours to reap,
 * so it does not count. */
int count_session(int sid) {
    int n = 0;
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d));) {
        int pid = atoi(e->d_name), ppid;
        char state;
        if (pid > 0 && session_of_full(pid, &state, &ppid) == sid && (state != 'Z' || ppid == getpid()))
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

/* Waits up to 5 s for the session to empty (killed grandchildren are reaped by init, not by us). */
int session_gone(int sid) {
    for (int i = 0; i < 500; i++) {
        if (count_session(sid) == 0)
            return 1;
        usleep(10000);
    }
    return 0;
}

/* Our own unreaped children: a reap that finds one means something leaked a zombie or a live child. */
int no_children(void) {
    siginfo_t si = {0};
    int rc = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT);
    return rc < 0 && errno == ECHILD;
}

void in_temp_dir(const char *prefix, void (*body)(const char *dir)) {
    char dir[PATH_MAX], cmd[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "/tmp/%s-XXXXXX", prefix);
    CHECK(mkdtemp(dir));
    body(dir);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0);
    struct stat st;
    CHECK(stat(dir, &st) < 0 && errno == ENOENT);
}

scythe_job *start(scythe_loop *loop, scythe_spawn_options *o, int *rc_out) {
    scythe_job *job = NULL;
    *rc_out = scythe_spawn(&job, loop, o);
    return job;
}

/* Runs the loop until `n` events arrive or 20 s pass; returns how many arrived. */
size_t collect(scythe_loop *loop, scythe_event *evs, size_t n) {
    size_t got = 0;
    int64_t until = scythe__now_ns() + 20000000000LL;
    while (got < n && scythe__now_ns() < until) {
        size_t k = 0;
        if (scythe_loop_run(&k, loop, evs + got, n - got, 1000))
            break;
        got += k;
    }
    return got;
}

scythe_event run_one(scythe_loop *loop, const char *const *argv, scythe_spawn_options *o, scythe_job **job) {
    scythe_event ev = {0};
    int rc;
    o->argv = argv;
    *job = start(loop, o, &rc);
    if (rc) {
        ev.kind = rc;
        return ev;
    }
    collect(loop, &ev, 1);
    return ev;
}

int output_equals(scythe_job *job, int stream, const char *want) {
    scythe_output out;
    if (scythe_job_output(&out, job, stream))
        return 0;
    return out.tail_len == 0 && out.head_len == strlen(want) && memcmp(out.head, want, out.head_len) == 0;
}

/* ---- tests: pure ------------------------------------------------------------------------------------------------ */

static void test_version_and_caps(void) {
    CHECK(scythe_version() == SCYTHE_VERSION_NUMBER);
    uint32_t caps = scythe_capabilities();
    CHECK((caps & SCYTHE_CAP_REQUIRED) == SCYTHE_CAP_REQUIRED);
    CHECK(scythe_capabilities() == caps);
    CHECK(strcmp(scythe_strerror(-ENOENT), "No such file or directory") == 0);
    const scythe_abi_entry *t;
    size_t n;
    CHECK_RC(scythe_abi_table(&t, &n));
    CHECK(n > 10);
    CHECK(strcmp(t[0].type_name, "scythe_abi_entry") == 0 && t[0].size == sizeof(scythe_abi_entry));
    int found = 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(t[i].type_name, "scythe_spawn_options") && t[i].field_name &&
            !strcmp(t[i].field_name, "token"))
            found = t[i].offset == offsetof(scythe_spawn_options, token);
    CHECK(found);
}

static void test_capture_head_tail(void) {
    scythe__capture c;
    scythe__capture_init(&c, 4, 6);
    const char *s = "0123456789abcdefghij"; /* 20 bytes, appended in odd pieces */
    size_t pieces[] = {3, 5, 1, 7, 4};
    size_t off = 0;
    for (int i = 0; i < 5; i++) {
        CHECK_RC(scythe__capture_append(&c, (const uint8_t *)s + off, pieces[i]));
        off += pieces[i];
    }
    scythe__capture_finish(&c);
    scythe_output o;
    scythe__capture_view(&c, &o);
    CHECK(o.total == 20 && o.head_len == 4 && o.tail_len == 6 && o.dropped == 10);
    CHECK(memcmp(o.head, "0123", 4) == 0);
    CHECK(memcmp(o.tail, "efghij", 6) == 0);
    scythe__capture_free(&c);

    scythe__capture_init(&c, 4, 6); /* fits without wrapping */
    CHECK_RC(scythe__capture_append(&c, (const uint8_t *)"abcdefg", 7));
    scythe__capture_finish(&c);
    scythe__capture_view(&c, &o);
    CHECK(o.head_len == 4 && o.tail_len == 3 && o.dropped == 0 && memcmp(o.tail, "efg", 3) == 0);
    scythe__capture_free(&c);
}

static void test_token_basics(void) {
    scythe_token *t, *child, *late;
    CHECK_RC(scythe_token_new(&t, NULL));
    CHECK_RC(scythe_token_new(&child, t));
    CHECK(!scythe_token_is_cancelled(t) && *scythe_token_state_address(t) == 0);
    CHECK(scythe_token_winner(t) == -1);
    CHECK_RC(scythe_token_cancel(t, 77));
    CHECK(scythe_token_cancel(t, 78) == -EALREADY);
    CHECK(*scythe_token_state_address(t) == (SCYTHE_TOKEN_CANCELLED_BIT | 77));
    CHECK(scythe_token_is_cancelled(child));
    CHECK((uint32_t)*scythe_token_state_address(child) == 77);
    CHECK(scythe_token_claim(t, 0) == -ECANCELED);
    CHECK_RC(scythe_token_new(&late, t)); /* a child of a cancelled token is born cancelled */
    CHECK(scythe_token_is_cancelled(late));
    scythe_token_free(t); /* children keep the parent alive */
    scythe_token_free(late);
    scythe_token_free(child);
    scythe_token_free(NULL);

    CHECK_RC(scythe_token_new(&t, NULL));
    CHECK(scythe_token_claim(t, -1) == -EINVAL);
    CHECK_RC(scythe_token_claim(t, 5));
    CHECK(scythe_token_claim(t, 6) == -EALREADY);
    CHECK(scythe_token_cancel(t, 1) == -EALREADY);
    CHECK(scythe_token_winner(t) == 5);
    CHECK((uint32_t)*scythe_token_state_address(t) == SCYTHE_REASON_PREEMPTED);
    scythe_token_free(t);
}

struct claim_arg {
    scythe_token *token;
    int index;
    _Atomic int *go;
    int won;
};

static void *claimer(void *p) {
    struct claim_arg *a = p;
    while (!atomic_load(a->go)) {
    }
    a->won = scythe_token_claim(a->token, a->index) == 0;
    return NULL;
}

static void test_token_claim_race(void) {
    enum { THREADS = 4, ROUNDS = 500 };
    for (int r = 0; r < ROUNDS; r++) {
        scythe_token *t;
        CHECK_RC(scythe_token_new(&t, NULL));
        _Atomic int go = 0;
        pthread_t th[THREADS];
        struct claim_arg args[THREADS];
        for (int i = 0; i < THREADS; i++) {
            args[i] = (struct claim_arg){t, i, &go, 0};
            pthread_create(&th[i], NULL, claimer, &args[i]);
        }
        atomic_store(&go, 1);
        int winners = 0, winner = -1;
        for (int i = 0; i < THREADS; i++) {
            pthread_join(th[i], NULL);
            if (args[i].won) {
                winners++;
                winner = i;
            }
        }
        int32_t recorded = scythe_token_winner(t);
        scythe_token_free(t);
        CHECK(winners == 1);
        CHECK(recorded == winner);
    }
}

/* Regression: success criteria search whole captured output by lines (REG_NEWLINE), NUL bytes included. */
static void test_regex_search(void) {
    int m = -1;
    const char both[] = "sat\nunsat\n";
    CHECK_RC(scythe_regex_search(&m, "^unsat$", (const uint8_t *)both, sizeof both - 1));
    CHECK(m == 1);
    const char longer[] = "unsatisfiable\n";
    CHECK_RC(scythe_regex_search(&m, "^unsat$", (const uint8_t *)longer, sizeof longer - 1));
    CHECK(m == 0);
    CHECK_RC(scythe_regex_search(&m, "^sat$", (const uint8_t *)both + 4, 6)); /* "unsat\n": not a line of "sat" */
    CHECK(m == 0);
    const char nul[] = "c noise\0more\ns UNSATISFIABLE\n"; /* a NUL before the match does not end the text */
    CHECK_RC(scythe_regex_search(&m, "^s UNSAT", (const uint8_t *)nul, sizeof nul - 1));
    CHECK(m == 1);
    CHECK_RC(scythe_regex_search(&m, "more", (const uint8_t *)nul, sizeof nul - 1)); /* text after the NUL */
    CHECK(m == 1);
    CHECK_RC(scythe_regex_search(&m, "sat.unsat", (const uint8_t *)both, sizeof both - 1)); /* . stops at \n */
    CHECK(m == 0);
    CHECK_RC(scythe_regex_search(&m, "^unsat", (const uint8_t *)both, 5)); /* only text[0..len) is searched */
    CHECK(m == 0);
    CHECK_RC(scythe_regex_search(&m, "^$", NULL, 0));
    CHECK(m == 1);
    m = -1;
    CHECK(scythe_regex_search(&m, "(", (const uint8_t *)both, sizeof both - 1) == -EINVAL && m == -1);
    CHECK(scythe_regex_search(NULL, "x", (const uint8_t *)both, 1) == -EINVAL);
    CHECK(scythe_regex_check("(") == -EINVAL && scythe_regex_check("^unsat$") == 0);
}

/* ---- tests: processes -------------------------------------------------------------------------------------------- */

static void test_exit_codes_and_output(void) {
    scythe_loop *loop;
    int fds = count_fds();
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    scythe_job *job;
    const char *ok[] = {"sh", "-c", "echo out; echo err >&2; exit 3", NULL};
    o.user_data = 42;
    scythe_event ev = run_one(loop, ok, &o, &job);
    CHECK(ev.kind == SCYTHE_EVENT_EXIT && ev.user_data == 42 && ev.job == job && ev.pid == scythe_job_pid(job));
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 3 && ev.term_signal == 0);
    CHECK(ev.start_ns <= ev.exit_ns && ev.exit_ns <= ev.reaped_ns && ev.reaped_ns <= ev.done_ns);
    CHECK(ev.max_rss_kib == -1); /* the session level has no honest peak (scythe.h) */
    CHECK(output_equals(job, 1, "out\n") && output_equals(job, 2, "err\n"));
    scythe_job_free(job);

    const char *sig[] = {"sh", "-c", "kill -USR1 $$", NULL};
    ev = run_one(loop, sig, &o, &job);
    CHECK(ev.end == SCYTHE_END_SIGNALED && ev.term_signal == SIGUSR1 && ev.exit_code == -1);
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(count_fds() == fds);
    CHECK(no_children());
}

static void test_spawn_failures(void) {
    scythe_loop *loop;
    int fds = count_fds();
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    scythe_job *job = NULL;
    const char *missing[] = {"/nonexistent/prover", NULL};
    o.argv = missing;
    CHECK(scythe_spawn(&job, loop, &o) == -ENOENT && job == NULL);
    const char *missing_path[] = {"no-such-prover-on-path", NULL};
    o.argv = missing_path;
    CHECK(scythe_spawn(&job, loop, &o) == -ENOENT);
    char plain[] = "/tmp/scythe-test-XXXXXX"; /* a file without the execute bit */
    int pfd = mkstemp(plain);
    CHECK(pfd >= 0);
    close(pfd);
    const char *not_exec[] = {plain, NULL};
    o.argv = not_exec;
    int acc = scythe_spawn(&job, loop, &o);
    unlink(plain);
    CHECK(acc == -EACCES);
    const char *empty[] = {NULL};
    o.argv = empty;
    CHECK(scythe_spawn(&job, loop, &o) == -EINVAL);
    const char *tru[] = {"true", NULL};
    o.argv = tru;
    o.version = 99;
    CHECK(scythe_spawn(&job, loop, &o) == -EINVAL);
    o.version = SCYTHE_SPAWN_OPTIONS_VERSION;
    o.stdio[1].mode = SCYTHE_STDIO_FILE; /* without a path */
    CHECK(scythe_spawn(&job, loop, &o) == -EINVAL);
    o.stdio[1].path = "/nonexistent/dir/out.txt";
    CHECK(scythe_spawn(&job, loop, &o) == -ENOENT);
    size_t live = 1;
    CHECK_RC(scythe_loop_live_jobs(loop, &live));
    CHECK(live == 0);
    scythe_loop_free(loop);
    CHECK(count_fds() == fds);
    CHECK(no_children());
}

static void test_child_state_is_clean(void) {
    /* Blocked, ignored and non-CLOEXEC state in the parent must not reach the child. */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    struct sigaction ign = {.sa_handler = SIG_IGN}, old_usr2;
    sigaction(SIGUSR2, &ign, &old_usr2);
    int leaky = open("/dev/null", O_RDONLY); /* deliberately without O_CLOEXEC */

    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    scythe_job *job;
    const char *argv[] = {self_exe, "--child-report", NULL};
    scythe_event ev = run_one(loop, argv, &o, &job);
    close(leaky);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    sigaction(SIGUSR2, &old_usr2, NULL);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    int pid = scythe_job_pid(job);
    char want[256];
    snprintf(want, sizeof want, "fds=0,1,2 blk=0000000000000000 ign=0000000000000000 sid=%d\n", pid);
    scythe_output out;
    CHECK_RC(scythe_job_output(&out, job, 1));
    if (!output_equals(job, 1, want))
        fprintf(stderr, "  child reported: %.*s  wanted: %s", (int)out.head_len, out.head, want);
    CHECK(output_equals(job, 1, want));
    scythe_job_free(job);
    scythe_loop_free(loop);
}

static void test_large_io_both_ways(void) {
    /* 10 MiB in through stdin while 10 MiB goes out on stdout and on stderr: nobody blocks on a full pipe. */
    size_t len = 10u << 20;
    uint8_t *input = malloc(len);
    CHECK(input);
    for (size_t i = 0; i < len; i++)
        input[i] = (uint8_t)('a' + i % 26);
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.stdio[0].mode = SCYTHE_STDIO_PIPE;
    o.stdio[0].input = input;
    o.stdio[0].input_len = len;
    o.head_bytes = 1000;
    o.tail_bytes = 26;
    scythe_job *job;
    const char *argv[] = {"sh", "-c", "head -c 10485760 /dev/zero >&2 & cat; wait", NULL};
    scythe_event ev = run_one(loop, argv, &o, &job);
    free(input);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    scythe_output out, err;
    CHECK_RC(scythe_job_output(&out, job, 1));
    CHECK_RC(scythe_job_output(&err, job, 2));
    CHECK(out.total == len && out.head_len == 1000 && out.tail_len == 26 && out.dropped == len - 1026);
    CHECK(memcmp(out.head, "abcdefghij", 10) == 0);
    CHECK(out.tail[25] == (uint8_t)('a' + (len - 1) % 26));
    CHECK(err.total == len && err.head[0] == 0);
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(no_children());
}

static void test_timeout_and_grace(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.timeout_ns = 100000000; /* 100 ms */
    scythe_job *job;
    const char *sleeper[] = {"sleep", "30", NULL};
    scythe_event ev = run_one(loop, sleeper, &o, &job);
    CHECK(ev.end == SCYTHE_END_TIMEOUT && ev.term_signal == SIGTERM && ev.cancel_reason == SCYTHE_REASON_TIMEOUT);
    int64_t took = ev.reaped_ns - ev.start_ns;
    CHECK(took >= 100000000 && took < 5000000000LL);
    scythe_job_free(job);

    /* A whole session ignoring TERM dies by KILL once the grace is over. */
    o.timeout_ns = 0;
    o.grace_ns = 200000000;
    const char *stubborn[] = {"sh", "-c", "trap '' TERM; echo ready; sleep 30 & wait", NULL};
    o.argv = stubborn;
    int rc;
    job = start(loop, &o, &rc);
    CHECK_RC(rc);
    usleep(200000); /* let the trap be set */
    int pid = scythe_job_pid(job);
    CHECK_RC(scythe_job_cancel(job, 9));
    CHECK(scythe_job_cancel(job, 10) == -EALREADY);
    CHECK(collect(loop, &ev, 1) == 1);
    CHECK(ev.end == SCYTHE_END_CANCELLED && ev.cancel_reason == 9 && ev.term_signal == SIGKILL);
    took = ev.reaped_ns - ev.exit_ns;
    CHECK(scythe_job_cancel(job, 1) == -EALREADY);
    scythe_job_free(job);
    CHECK(session_gone(pid));
    scythe_loop_free(loop);
    CHECK(no_children());
}

/* The first signal of a cancel is sent by scythe_job_cancel itself when the loop is idle: the session dies while no
 * thread runs the loop at all, and the loop, run afterwards, reports the cancel and reaps. */
static void test_cancel_signals_from_the_calling_thread(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"sh", "-c", "sleep 300 & sleep 300", NULL};
    o.argv = argv;
    int sigs[2] = {SIGTERM, SIGKILL};
    for (int k = 0; k < 2; k++) {
        o.grace_ns = k == 0 ? 0 : -1; /* the default grace: TERM first; negative: KILL at once */
        int rc;
        scythe_job *job = start(loop, &o, &rc);
        CHECK_RC(rc);
        int pid = scythe_job_pid(job);
        for (int i = 0; i < 200 && count_session(pid) < 2; i++)
            usleep(10000);
        CHECK_RC(scythe_job_cancel(job, 42));
        struct pollfd p = {.fd = scythe_job_pidfd(job), .events = POLLIN};
        CHECK(poll(&p, 1, 5000) == 1); /* the leader died with no scythe_loop_run since the spawn */
        for (int i = 0; i < 500 && count_session(pid) > 1; i++) /* the leader is a zombie until the loop reaps it */
            usleep(10000);
        CHECK(count_session(pid) <= 1);
        scythe_event ev;
        CHECK(collect(loop, &ev, 1) == 1);
        CHECK(ev.end == SCYTHE_END_CANCELLED && ev.cancel_reason == 42 && ev.term_signal == sigs[k]);
        CHECK(session_gone(pid));
        scythe_job_free(job);
    }
    scythe_loop_free(loop);
    CHECK(no_children());
}

static void test_grandchildren_die_with_session(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"sh", "-c", "sleep 300 & sleep 300", NULL};
    o.argv = argv;
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    int pid = scythe_job_pid(job);
    for (int i = 0; i < 200 && count_session(pid) < 3; i++)
        usleep(10000);
    CHECK(count_session(pid) == 3);
    CHECK_RC(scythe_job_cancel(job, SCYTHE_REASON_USER));
    scythe_event ev;
    CHECK(collect(loop, &ev, 1) == 1);
    CHECK(ev.end == SCYTHE_END_CANCELLED);
    CHECK(session_gone(pid));
    scythe_job_free(job);

    /* The leader exits on its own, leaving a background child: the session still dies with it. */
    const char *leaver[] = {"sh", "-c", "sleep 300 & exit 0", NULL};
    o.argv = leaver;
    job = start(loop, &o, &rc);
    CHECK_RC(rc);
    pid = scythe_job_pid(job);
    CHECK(collect(loop, &ev, 1) == 1);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    CHECK(session_gone(pid));
    scythe_job_free(job);
    scythe_loop_free(loop);
}

static void test_stopped_child_dies_on_cancel(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.grace_ns = 10000000000LL; /* so only TERM+CONT can end it in time */
    const char *argv[] = {"sleep", "300", NULL};
    o.argv = argv;
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    CHECK(kill(scythe_job_pid(job), SIGSTOP) == 0);
    usleep(50000);
    CHECK_RC(scythe_job_cancel(job, SCYTHE_REASON_USER));
    scythe_event ev;
    CHECK(collect(loop, &ev, 1) == 1);
    CHECK(ev.term_signal == SIGTERM);
    CHECK(ev.reaped_ns - ev.start_ns < 5000000000LL);
    scythe_job_free(job);
    scythe_loop_free(loop);
}

static void test_token_kills_attached_jobs(void) {
    enum { JOBS = 50 };
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_token *parent, *token;
    CHECK_RC(scythe_token_new(&parent, NULL));
    CHECK_RC(scythe_token_new(&token, parent));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"sleep", "300", NULL};
    o.argv = argv;
    o.token = token;
    scythe_job *jobs[JOBS];
    int pids[JOBS];
    for (int i = 0; i < JOBS; i++) {
        int rc;
        jobs[i] = start(loop, &o, &rc);
        CHECK_RC(rc);
        pids[i] = scythe_job_pid(jobs[i]);
    }
    CHECK_RC(scythe_token_cancel(parent, 1234)); /* from the parent, through the child token */
    scythe_event evs[JOBS];
    CHECK(collect(loop, evs, JOBS) == JOBS);
    for (int i = 0; i < JOBS; i++)
        CHECK(evs[i].end == SCYTHE_END_CANCELLED && evs[i].cancel_reason == 1234);
    for (int i = 0; i < JOBS; i++) {
        CHECK(session_gone(pids[i]));
        scythe_job_free(jobs[i]);
    }
    int rc;
    CHECK(start(loop, &o, &rc) == NULL && rc == -ECANCELED);
    scythe_token_free(token);
    scythe_token_free(parent);
    scythe_loop_free(loop);
    CHECK(no_children());
}

static void test_free_running_job_kills_it(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"sh", "-c", "sleep 300 & sleep 300", NULL};
    o.argv = argv;
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    int pid = scythe_job_pid(job);
    scythe_job_free(job);
    size_t live = 1, k;
    scythe_event ev;
    for (int i = 0; i < 100 && live; i++) {
        CHECK_RC(scythe_loop_run(&k, loop, &ev, 1, 50));
        CHECK(k == 0); /* a freed job produces no event */
        CHECK_RC(scythe_loop_live_jobs(loop, &live));
    }
    CHECK(live == 0);
    CHECK(session_gone(pid));
    /* scythe_loop_free on live jobs kills and reaps them. */
    job = start(loop, &o, &rc);
    CHECK_RC(rc);
    pid = scythe_job_pid(job);
    scythe_loop_free(loop);
    CHECK(session_gone(pid));
    CHECK(no_children());
}

static void test_wakeup_returns_empty(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    CHECK_RC(scythe_loop_wakeup(loop));
    size_t k = 1;
    scythe_event ev;
    int64_t t0 = scythe__now_ns();
    CHECK_RC(scythe_loop_run(&k, loop, &ev, 1, 5000));
    CHECK(k == 0 && scythe__now_ns() - t0 < 1000000000LL);
    scythe_loop_free(loop);
}

static void test_thousand_sequential_jobs_leak_nothing(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    int fds = count_fds();
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"/bin/true", NULL};
    for (int i = 0; i < 1000; i++) {
        scythe_job *job;
        scythe_event ev = run_one(loop, argv, &o, &job);
        CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
        scythe_job_free(job);
    }
    CHECK(count_fds() == fds);
    CHECK(no_children());
    scythe_loop_free(loop);
}

/* Starts n entrants of o (user_data 0 to n-1) into jobs and pids; 0 or the first failure's -errno. */
static int start_entrants(scythe_loop *loop, scythe_spawn_options *o, int n, scythe_job **jobs, int *pids) {
    for (int i = 0; i < n; i++) {
        int rc;
        o->user_data = (uint64_t)i;
        jobs[i] = start(loop, o, &rc);
        if (rc)
            return rc;
        pids[i] = scythe_job_pid(jobs[i]);
    }
    return 0;
}

static void test_native_claim_preempts_losers(void) {
    enum { LOSERS = 8 };
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_token *race;
    CHECK_RC(scythe_token_new(&race, NULL));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.token = race;
    const char *loser[] = {"sh", "-c", "sleep 300 & sleep 300", NULL};
    o.argv = loser;
    scythe_job *jobs[LOSERS + 2];
    int pids[LOSERS + 2], rc;
    CHECK_RC(start_entrants(loop, &o, LOSERS, jobs, pids));
    o.claim_index = LOSERS; /* a failing entrant: exit 1 is not in its success set, so it claims nothing */
    o.claim_exit_codes[0] = 1u << 0;
    const char *fails[] = {"sh", "-c", "exit 1", NULL};
    o.argv = fails;
    o.user_data = LOSERS;
    jobs[LOSERS] = start(loop, &o, &rc);
    CHECK_RC(rc);
    scythe_event ev;
    CHECK(collect(loop, &ev, 1) == 1);
    CHECK(ev.user_data == LOSERS && ev.exit_code == 1 && !ev.claimed && !scythe_token_is_cancelled(race));
    for (int i = 0; i < LOSERS; i++)
        CHECK(count_session(pids[i]) >= 1);
    o.claim_index = LOSERS + 1;
    const char *wins[] = {"sh", "-c", "sleep 0.1; exit 0", NULL};
    o.argv = wins;
    o.user_data = LOSERS + 1;
    jobs[LOSERS + 1] = start(loop, &o, &rc);
    CHECK_RC(rc);
    scythe_event evs[LOSERS + 1];
    CHECK(collect(loop, evs, LOSERS + 1) == LOSERS + 1);
    int64_t winner_exit = 0, last_reaped = 0;
    for (int i = 0; i < LOSERS + 1; i++) {
        if (evs[i].user_data == LOSERS + 1) {
            CHECK(evs[i].claimed && evs[i].end == SCYTHE_END_EXITED && evs[i].exit_code == 0);
            winner_exit = evs[i].exit_ns;
        } else {
            CHECK(evs[i].end == SCYTHE_END_CANCELLED && evs[i].cancel_reason == SCYTHE_REASON_PREEMPTED);
            if (evs[i].reaped_ns > last_reaped)
                last_reaped = evs[i].reaped_ns;
        }
    }
    CHECK(scythe_token_winner(race) == LOSERS + 1);
    CHECK(winner_exit > 0 && last_reaped - winner_exit < 2000000000LL);
    printf("     preemption of %d losers: %.3f ms from the winner's exit to the last reap\n", LOSERS,
           (double)(last_reaped - winner_exit) / 1e6);
    for (int i = 0; i < LOSERS; i++)
        CHECK(session_gone(pids[i]));
    for (int i = 0; i < LOSERS + 2; i++)
        scythe_job_free(jobs[i]);
    scythe_token_free(race);
    scythe_loop_free(loop);
    CHECK(no_children());
}

/* A race's losers, preempted by the loop's own thread, die on their CPU while the loop waits (it does not hand the
 * winner's event to a host that would hold the CPU meanwhile): one return brings the winner and its losers, or comes
 * no sooner than SCYTHE__LINGER_NS after the kills. A loser that outlives its SIGTERM keeps nobody waiting longer. */
static void test_loop_waits_for_the_exits_it_caused(void) {
    enum { LOSERS = 3 };
    int fds = count_fds();
    for (int stubborn = 0; stubborn < 2; stubborn++) {
        scythe_loop *loop;
        CHECK_RC(scythe_loop_new(&loop));
        scythe_token *race;
        CHECK_RC(scythe_token_new(&race, NULL));
        scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
        o.token = race;
        o.grace_ns = 200000000LL; /* a stubborn loser gets its KILL after 200 ms */
        const char *loser[] = {"sleep", "300", NULL};
        const char *ignores_term[] = {"sh", "-c", "trap '' TERM; while :; do sleep 0.01; done", NULL};
        o.argv = stubborn ? ignores_term : loser;
        scythe_job *jobs[LOSERS + 1];
        int pids[LOSERS + 1], rc;
        CHECK_RC(start_entrants(loop, &o, LOSERS, jobs, pids));
        o.claim_index = LOSERS;
        o.claim_exit_codes[0] = 1u << 0;
        const char *wins[] = {"sh", "-c", "sleep 0.1; exit 0", NULL};
        o.argv = wins;
        o.user_data = LOSERS;
        jobs[LOSERS] = start(loop, &o, &rc);
        CHECK_RC(rc);
        pids[LOSERS] = scythe_job_pid(jobs[LOSERS]);
        scythe_event evs[LOSERS + 1];
        size_t k = 0;
        while (k == 0) /* a token's flip may return the run with no event */
            CHECK_RC(scythe_loop_run(&k, loop, evs, LOSERS + 1, 5000));
        int64_t returned = scythe__now_ns(), winner_exit = 0;
        for (size_t i = 0; i < k; i++)
            if (evs[i].user_data == LOSERS)
                winner_exit = evs[i].exit_ns;
        CHECK(winner_exit > 0);
        if (stubborn) { /* the losers live on: the run returned the winner alone, its wait bounded */
            CHECK(k == 1 && returned - winner_exit < 500000000LL);
        } else {
            CHECK(k == LOSERS + 1 || returned - winner_exit >= SCYTHE__LINGER_NS);
            printf("     %zu of %d exits in the first return, %.3f ms after the winner's\n", k, LOSERS + 1,
                   (double)(returned - winner_exit) / 1e6);
        }
        for (size_t got = k; got < LOSERS + 1; got++)
            CHECK(collect(loop, evs, 1) == 1); /* within collect's 20 s, or the test fails rather than hangs */
        for (int i = 0; i < LOSERS + 1; i++) {
            CHECK(session_gone(pids[i]));
            scythe_job_free(jobs[i]);
        }
        scythe_token_free(race);
        scythe_loop_free(loop);
    }
    CHECK(count_fds() == fds);
    CHECK(no_children());
}

static scythe_event run_stall(const char *const *argv, scythe_spawn_options *o, int64_t window_ns) {
    scythe_loop *loop;
    scythe_event ev = {0};
    if (scythe_loop_new(&loop))
        return ev;
    o->argv = argv;
    o->stall_ns = window_ns;
    scythe_job *job;
    int rc;
    job = start(loop, o, &rc);
    if (rc) {
        ev.kind = rc;
        scythe_loop_free(loop);
        return ev;
    }
    collect(loop, &ev, 1);
    scythe_job_free(job);
    scythe_loop_free(loop);
    return ev;
}

static void stall_tree_probe_in(const char *dir);

static void test_stall_tree_probe(void) {
    in_temp_dir("scythe-stall", stall_tree_probe_in);
}

static void stall_tree_probe_in(const char *dir) {
    char script[512];
    /* progress for ~0.5 s (a new subdirectory included), then silence */
    snprintf(script, sizeof script, "mkdir %s/sub; for i in 1 2 3 4 5 6 7 8 9 10; do touch %s/sub/f$i; sleep 0.05; "
             "done; sleep 300", dir, dir);
    const char *argv[] = {"sh", "-c", script, NULL};
    for (int walk = 0; walk < 2; walk++) {
        scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
        o.probes = SCYTHE_PROBE_TREE | (walk ? SCYTHE_PROBE_TREE_WALK : 0);
        o.progress_tree = dir;
        scythe_event ev = run_stall(argv, &o, 300000000LL);
        CHECK(ev.end == SCYTHE_END_STALLED);
        CHECK(ev.last_progress_ns - ev.start_ns >= 400000000LL); /* the touches in sub/ counted */
        int64_t late = ev.exit_ns - (ev.last_progress_ns + 300000000LL);
        CHECK(late >= 0 && late < 500000000LL);
        CHECK(!!(ev.flags & SCYTHE_EVENT_TREE_WALKED) == walk);
    }
}

static void test_stall_output_probe(void) {
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.probes = SCYTHE_PROBE_OUTPUT;
    o.progress_regex = "^progress [0-9]+$";
    const char *steady[] = {"sh", "-c", "for i in $(seq 20); do echo progress $i; sleep 0.05; done", NULL};
    scythe_event ev = run_stall(steady, &o, 300000000LL);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    const char *noise[] = {"sh", "-c", "for i in $(seq 40); do echo noise $i; sleep 0.05; done", NULL};
    ev = run_stall(noise, &o, 300000000LL);
    CHECK(ev.end == SCYTHE_END_STALLED); /* lines that do not match are no progress */
    o.progress_regex = NULL;             /* any byte counts */
    ev = run_stall(noise, &o, 300000000LL);
    CHECK(ev.end == SCYTHE_END_EXITED);
    o.progress_regex = "(";
    ev = run_stall(noise, &o, 300000000LL);
    CHECK(ev.kind == -EINVAL);
    CHECK(scythe_regex_check("(") == -EINVAL && scythe_regex_check("^unsat") == 0);
}

static void test_stall_heartbeat_and_host_probes(void) {
    char hb[] = "/tmp/scythe-beat-XXXXXX";
    int fd = mkstemp(hb);
    CHECK(fd >= 0);
    close(fd);
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.probes = SCYTHE_PROBE_HEARTBEAT;
    o.heartbeat_path = hb;
    const char *beater[] = {self_exe, "--child-beat", hb, NULL};
    scythe_event ev = run_stall(beater, &o, 200000000LL);
    unlink(hb);
    CHECK(ev.end == SCYTHE_END_STALLED);
    CHECK(ev.last_progress_ns - ev.start_ns >= 300000000LL); /* it beat for ~0.4 s */

    /* The host's own predicate: progress reported by scythe_job_progress. */
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options h = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *sleeper[] = {"sleep", "300", NULL};
    h.argv = sleeper;
    h.probes = SCYTHE_PROBE_HOST;
    h.stall_ns = 150000000LL;
    int rc;
    scythe_job *job = start(loop, &h, &rc);
    CHECK_RC(rc);
    size_t k = 0;
    for (int i = 0; i < 10; i++) {
        CHECK_RC(scythe_loop_run(&k, loop, &ev, 1, 50));
        CHECK(k == 0);
        CHECK_RC(scythe_job_progress(job));
    }
    CHECK(collect(loop, &ev, 1) == 1);
    CHECK(ev.end == SCYTHE_END_STALLED && ev.exit_ns - ev.start_ns >= 500000000LL);
    CHECK(scythe_job_progress(job) == -EALREADY);
    scythe_job_free(job);
    scythe_loop_free(loop);
}

static void test_cpu_limit(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *burn[] = {"sh", "-c", "while :; do :; done", NULL};
    o.argv = burn;
    o.cpu_limit_ns = 200000000LL;
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    scythe_event ev;
    CHECK(collect(loop, &ev, 1) == 1);
    CHECK(ev.end == SCYTHE_END_CPU_LIMIT);
    int64_t cpu = ev.user_cpu_ns + ev.sys_cpu_ns;
    CHECK(cpu >= 190000000LL && cpu < 2000000000LL);
    scythe_job_free(job);
    scythe_loop_free(loop);
}

/* This test program in a child mode (a supervisor with a guard), its stdout readable through *out; its pid. */
pid_t start_supervisor(const char *mode, const char *guard, FILE **out) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) < 0)
        return -1;
    posix_spawn_file_actions_t fa;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc) {
        close(fds[0]);
        close(fds[1]);
        return -1;
    }
    rc = posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
    char *argv[] = {(char *)self_exe, (char *)mode, (char *)guard, NULL};
    pid_t sup;
    if (!rc)
        rc = posix_spawn(&sup, self_exe, &fa, NULL, argv, environ);
    (void)posix_spawn_file_actions_destroy(&fa); /* fails only for an uninitialised object */
    close(fds[1]);
    *out = rc ? NULL : fdopen(fds[0], "r");
    if (!*out) {
        close(fds[0]);
        return -1;
    }
    return sup;
}

/* Regression: a host with SIGCHLD ignored (or SA_NOCLDWAIT) still gets its jobs' real statuses, never a success. */
static void test_sigchld_ignored_keeps_statuses(void) {
    const char *modes[] = {"ign", "nocldwait"};
    for (int k = 0; k < 2; k++) {
        FILE *f;
        pid_t child = start_supervisor("--child-sigchld", modes[k], &f);
        CHECK(child > 0);
        char line[256] = "";
        int got = f && fgets(line, sizeof line, f);
        if (f)
            fclose(f);
        int st = 0;
        CHECK(waitpid(child, &st, 0) == child); /* its jobs exit on their own; it reaps them before it exits */
        int e1, c1, s1, e2, c2, s2, disposition, waitable;
        CHECK(got &&
              sscanf(line, "%d %d %d %d %d %d %d %d", &e1, &c1, &s1, &e2, &c2, &s2, &disposition, &waitable) == 8);
        if (e1 != SCYTHE_END_EXITED || e2 != SCYTHE_END_SIGNALED)
            fprintf(stderr, "  %s: end/exit/signal of 'exit 3', 'kill -9 $$', disposition, waitable: %s", modes[k],
                    line);
        CHECK(e1 == SCYTHE_END_EXITED && c1 == 3 && s1 == 0);
        CHECK(e2 == SCYTHE_END_SIGNALED && c2 == -1 && s2 == SIGKILL);
        CHECK(disposition == 1); /* SIG_IGN became SIG_DFL; a handler stayed, without SA_NOCLDWAIT */
        CHECK(waitable == 0);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    CHECK(no_children());
}

/* Regression: a leader that another party reaped ends SCYTHE_END_LOST with exit_code -1, never EXITED 0. */
static void test_reaped_elsewhere_is_lost(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"sh", "-c", "exit 0", NULL};
    o.argv = argv;
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    /* Deterministic: the loop is not running, so this blocking waitpid is first to reap the leader. */
    int st;
    CHECK(waitpid(scythe_job_pid(job), &st, 0) == scythe_job_pid(job) && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    scythe_event ev;
    CHECK(collect(loop, &ev, 1) == 1);
    CHECK(ev.end == SCYTHE_END_LOST && ev.exit_code == -1 && ev.term_signal == 0);
    CHECK(ev.flags & SCYTHE_EVENT_STATUS_LOST);
    CHECK(scythe_job_cancel(job, 1) == -EALREADY);
    scythe_job_free(job);
    /* A cancel that got in before the loop saw anything still decides the end; the status is just as lost. */
    job = start(loop, &o, &rc);
    CHECK_RC(rc);
    CHECK(waitpid(scythe_job_pid(job), &st, 0) == scythe_job_pid(job));
    CHECK_RC(scythe_job_cancel(job, 55));
    CHECK(collect(loop, &ev, 1) == 1);
    CHECK(ev.end == SCYTHE_END_CANCELLED && ev.cancel_reason == 55 && ev.exit_code == -1 && ev.term_signal == 0);
    CHECK(ev.flags & SCYTHE_EVENT_STATUS_LOST);
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(no_children());
}

struct canceller {
    _Atomic(scythe_job *) job; /* set by the test for each round, cleared by the canceller when it is done */
    _Atomic int64_t at_ns;     /* when to cancel */
    _Atomic int rc;
    _Atomic int stop;
};

static void *cancel_thread(void *p) {
    struct canceller *c = p;
    while (!atomic_load(&c->stop)) {
        scythe_job *job = atomic_load(&c->job);
        if (!job)
            continue;
        int64_t at = atomic_load(&c->at_ns);
        while (scythe__now_ns() < at) {
        }
        atomic_store(&c->rc, scythe_job_cancel(job, 77));
        atomic_store(&c->job, NULL);
    }
    return NULL;
}

/* Regression: scythe_job_cancel returns 0 exactly when the event says CANCELLED with its reason, even when the cancel
 * races the leader's own exit (it once returned 0 for jobs then reported as EXITED 0: a success). */
static void test_cancel_racing_exit_tells_the_truth(void) {
    enum { ROUNDS = 500 };
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    int fds = count_fds();
    struct canceller c = {.job = NULL};
    pthread_t th;
    CHECK(pthread_create(&th, NULL, cancel_thread, &c) == 0);
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"true", NULL};
    o.argv = argv;
    int won_signalled = 0, won_after_exit = 0, lost = 0, wrong = 0;
    unsigned seed = 12345;
    /* Cancel at a random moment within twice the usual time from spawn to exit seen, measured here, so that both
     * outcomes happen on a fast machine and on a slow one. */
    int64_t took[21];
    for (int i = 0; i < 21; i++) {
        scythe_job *job;
        scythe_event ev = run_one(loop, argv, &o, &job);
        took[i] = ev.exit_ns - ev.start_ns;
        scythe_job_free(job);
        for (int j = i; j > 0 && took[j] < took[j - 1]; j--) {
            int64_t t = took[j];
            took[j] = took[j - 1];
            took[j - 1] = t;
        }
    }
    int spread_us = (int)(took[10] * 2 / 1000);
    if (spread_us < 100)
        spread_us = 100;
    for (int r = 0; r < ROUNDS && !wrong; r++) {
        scythe_job *job;
        int rc = scythe_spawn(&job, loop, &o);
        if (rc) {
            wrong++;
            break;
        }
        atomic_store(&c.at_ns, scythe__now_ns() + (int64_t)(rand_r(&seed) % spread_us) * 1000);
        atomic_store(&c.job, job);
        scythe_event ev = {0};
        size_t got = collect(loop, &ev, 1);
        while (atomic_load(&c.job)) {
        }
        int crc = atomic_load(&c.rc);
        int cancelled = got == 1 && ev.end == SCYTHE_END_CANCELLED && ev.cancel_reason == 77;
        if (got != 1 || (crc == 0) != cancelled || (crc != 0 && crc != -EALREADY) ||
            (crc && !(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0))) {
            fprintf(stderr, "  round %d: cancel returned %d, event end %d exit %d signal %d reason %u\n", r, crc,
                    ev.end, ev.exit_code, ev.term_signal, ev.cancel_reason);
            wrong++;
        } else if (crc) {
            lost++;
        } else if (ev.exit_code == 0) {
            won_after_exit++; /* the leader had exited on its own, the request was in first: still CANCELLED */
        } else {
            won_signalled++;
        }
        if (scythe_job_cancel(job, 78) != -EALREADY)
            wrong++;
        scythe_job_free(job);
    }
    atomic_store(&c.stop, 1);
    pthread_join(th, NULL);
    printf("     %d rounds, cancels spread over %d us: cancel won %d times (%d of them after the leader's own exit 0),"
           " came too late %d times\n", ROUNDS, spread_us, won_signalled + won_after_exit, won_after_exit, lost);
    CHECK(wrong == 0);
    CHECK(won_signalled + won_after_exit > 0 && lost > 0); /* both outcomes really raced */
    CHECK(count_fds() == fds);
    scythe_loop_free(loop);
    CHECK(no_children());
}

/* The supervisor is killed with SIGKILL while its jobs run: the guard kills every session within a second. */
static void test_guard_kills_sessions_of_a_dead_supervisor(void) {
    const char *guard = guard_exe_or_skip();
    if (!guard)
        return;
    FILE *f;
    pid_t sup = start_supervisor("--child-guarded", guard, &f);
    CHECK(sup > 0);
    int pids[3], guard_pid = 0;
    CHECK(f && fscanf(f, "%d %d %d %d", &guard_pid, &pids[0], &pids[1], &pids[2]) == 4);
    fclose(f);
    for (int i = 0; i < 3; i++)
        CHECK(count_session(pids[i]) >= 1);
    int64_t t0 = scythe__now_ns();
    CHECK(kill(sup, SIGKILL) == 0);
    CHECK(waitpid(sup, NULL, 0) == sup);
    for (int i = 0; i < 3; i++)
        CHECK(session_gone(pids[i]));
    double ms = (double)(scythe__now_ns() - t0) / 1e6;
    printf("     guard: 3 sessions of a SIGKILLed supervisor gone %.1f ms after the kill\n", ms);
    CHECK(ms < 1000);
    CHECK(session_gone(guard_pid)); /* the guard exits once it has done its work */
}

/* Dead (exited, or a zombie that is not ours to reap) within 5 s. */
int pid_dead(int pid) {
    for (int i = 0; i < 500; i++) {
        int ppid;
        char state;
        if (session_of_full(pid, &state, &ppid) < 0 || (state == 'Z' && ppid != getpid()))
            return 1;
        usleep(10000);
    }
    return 0;
}

int dir_gone_after_idle(scythe_loop *loop, const char *dir) {
    struct stat st;
    for (int i = 0; i < 500; i++) {
        if (stat(dir, &st) < 0 && errno == ENOENT)
            return 1;
        size_t n = 0;
        scythe_event ev;
        scythe_loop_run(&n, loop, &ev, 1, 10);
    }
    return 0;
}

/* The supervisor is killed with SIGKILL while cgroup-level jobs run whose grandchildren left their sessions: the guard
 * kills everything in the supervisor's leaves (no session kill reaches those grandchildren) and removes the leaves
 * and their parent. */
static void test_guard_kills_and_removes_the_cgroups_of_a_dead_supervisor(void) {
    const char *guard = guard_exe_or_skip();
    if (!guard)
        return;
    if (!need_caps(SCYTHE_CAP_CGROUP_KILL, "writable cgroup v2 hierarchy with cgroup.kill"))
        return;
    FILE *f;
    pid_t sup = start_supervisor("--child-guarded-cgroup", guard, &f);
    CHECK(sup > 0);
    char line[8192], parent[4096];
    int guard_pid = 0, pids[64], n = 0, leaders = 0, used;
    /* one line: the child keeps its stdout open until it is killed, so nothing may wait for EOF */
    CHECK(f && fgets(line, sizeof line, f) && sscanf(line, "%d %4095s%n", &guard_pid, parent, &used) == 2);
    for (char *p = line + used; n < 64 && sscanf(p, "%d%n", &pids[n], &used) == 1; p += used)
        n++;
    fclose(f);
    for (int i = 0; i < n; i++) {
        int ppid;
        char state;
        leaders += session_of_full(pids[i], &state, &ppid) == pids[i];
    }
    CHECK(leaders >= 4); /* 2 jobs' shells, and 2 sleeps that called setsid() */
    struct stat st;
    CHECK(stat(parent, &st) == 0);
    CHECK(kill(sup, SIGKILL) == 0);
    CHECK(waitpid(sup, NULL, 0) == sup);
    int dead = 0;
    for (int i = 0; i < n; i++)
        dead += pid_dead(pids[i]);
    if (dead < n) { /* the guard failed: end what this test started, by pid, and remove the leaves it left */
        for (int i = 0; i < n; i++)
            kill(pids[i], SIGKILL);
        for (int i = 0; i < n; i++)
            pid_dead(pids[i]);
        usleep(100000);
        DIR *d = opendir(parent);
        for (struct dirent *e; d && (e = readdir(d));) {
            char leaf[4400];
            snprintf(leaf, sizeof leaf, "%s/%s", parent, e->d_name);
            if (e->d_name[0] != '.' && e->d_type == DT_DIR)
                rmdir(leaf);
        }
        if (d)
            closedir(d);
        rmdir(parent);
    }
    CHECK(dead == n);
    CHECK(session_gone(guard_pid)); /* the guard exits once it has done its work */
    CHECK(stat(parent, &st) < 0 && errno == ENOENT);
    printf("     guard: %d processes of a SIGKILLed supervisor's cgroups gone, %d of them outside the jobs' sessions;"
           " leaves removed\n", n, leaders - 2);
}

/* The first line of a small /proc file, without its newline ("" if unreadable). */
static void read_proc(int pid, const char *what, char *buf, size_t n) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, what);
    buf[0] = 0;
    if (!strcmp(what, "exe")) {
        ssize_t k = readlink(path, buf, n - 1);
        buf[k > 0 ? k : 0] = 0;
        return;
    }
    FILE *f = fopen(path, "r");
    if (f && fgets(buf, (int)n, f))
        buf[strcspn(buf, "\n")] = 0;
    if (f)
        fclose(f);
}

/* A zombie of `parent` (a child it failed to reap): the pid is still listed, dead, with that parent. */
static int zombie_of(int pid, int parent) {
    char state;
    int ppid;
    return session_of_full(pid, &state, &ppid) >= 0 && state == 'Z' && ppid == parent;
}

/* Regression: a guard killed by someone is reaped and replaced at once on the same table, so a later kill -9 of the
 * supervisor still kills its jobs. */
static void test_guard_restarted_after_its_death(void) {
    const char *guard = guard_exe_or_skip();
    if (!guard)
        return;
    FILE *f;
    pid_t sup = start_supervisor("--child-guard-restart", guard, &f);
    CHECK(sup > 0);
    int g[4] = {0, 0, 0, 0}, job = 0, waitable = -1;
    unsigned long long restarts = 0;
    int got = f && fscanf(f, "%d %d %d %d %d %llu %d", &g[0], &g[1], &g[2], &g[3], &job, &restarts, &waitable) == 7;
    if (f)
        fclose(f);
    /* Everything is looked at while the supervisor lives; then it is killed, and its job must die with it. */
    char comm[64], exe[512], cmdline[64];
    for (int i = 0; i < 200; i++) { /* a guard names itself first thing, but it may not have run yet */
        read_proc(g[3], "comm", comm, sizeof comm);
        if (!strcmp(comm, "scythe-guard"))
            break;
        usleep(10000);
    }
    read_proc(g[3], "exe", exe, sizeof exe);
    read_proc(g[3], "cmdline", cmdline, sizeof cmdline); /* argv[0], up to its NUL */
    char state;
    int ppid = 0, g2_sid = g[3] > 0 ? session_of_full(g[3], &state, &ppid) : -1;
    int new_guard_ok = g2_sid == g[3] && ppid == sup && state != 'Z' && !strcmp(comm, "scythe-guard") &&
                       !strcmp(cmdline, "scythe-guard") && strstr(exe, "/scythe-guard-copy-") != NULL;
    int distinct = 1, zombies = 0;
    for (int i = 0; i < 4; i++)
        for (int j = i + 1; j < 4; j++)
            distinct &= g[i] > 0 && g[i] != g[j];
    for (int i = 0; i < 3; i++)
        zombies += g[i] > 0 && zombie_of(g[i], sup);
    int job_alive = job > 0 && count_session(job) >= 1;
    int64_t t0 = scythe__now_ns();
    kill(sup, SIGKILL);
    waitpid(sup, NULL, 0);
    int job_gone = job > 0 && session_gone(job);
    double ms = (double)(scythe__now_ns() - t0) / 1e6;
    int guard_gone = g[3] > 0 && pid_dead(g[3]); /* it exits once it has done its work */
    if (!job_gone && job > 0)
        kill(job, SIGKILL); /* the test's own leftovers, by pid: the job leads its session alone */
    if (!guard_gone && g[3] > 0 && new_guard_ok)
        kill(g[3], SIGKILL);
    if (!got || !new_guard_ok || restarts != 3 || !distinct || zombies || waitable)
        fprintf(stderr, "  guards %d %d %d %d, job %d, restarts %llu, waitable %d; last guard: comm '%s' argv0 '%s'"
                " exe '%s'\n", g[0], g[1], g[2], g[3], job, restarts, waitable, comm, cmdline, exe);
    CHECK(got);
    CHECK(restarts == 3 && distinct);
    CHECK(new_guard_ok);
    CHECK(zombies == 0 && waitable == 0); /* the dead guards were reaped */
    CHECK(job_alive);
    CHECK(job_gone);
    printf("     guard killed 3 times, restarted 3 times; the job's session gone %.1f ms after a kill -9 of the"
           " supervisor\n", ms);
    CHECK(ms < 2000);
    CHECK(guard_gone);
}

/* Regression: a guard that exits on its own (it cannot run) is reaped and not restarted in a loop; a later
 * scythe_guard_start() starts a working one. */
static void test_guard_that_cannot_run_is_not_restarted(void) {
    const char *guard = guard_exe_or_skip();
    if (!guard)
        return;
    FILE *f;
    pid_t sup = start_supervisor("--child-guard-broken", guard, &f);
    CHECK(sup > 0);
    int broken = 0, after = -1, waitable = -1, rc = -1, good = 0, st = 0;
    unsigned long long restarts = 99;
    int got = f && fscanf(f, "%d %d %llu %d %d %d", &broken, &after, &restarts, &waitable, &rc, &good) == 6;
    if (f)
        fclose(f);
    CHECK(waitpid(sup, &st, 0) == sup); /* it exits on its own, and its working guard with it */
    int good_gone = good > 0 && pid_dead(good);
    if (!got || restarts)
        fprintf(stderr, "  broken guard %d, then %d, %llu restarts, waitable %d; scythe_guard_start: %d, guard %d\n",
                broken, after, restarts, waitable, rc, good);
    CHECK(got && WIFEXITED(st) && WEXITSTATUS(st) == 0);
    CHECK(broken > 0 && after == 0 && restarts == 0 && waitable == 0);
    CHECK(rc == 0 && good > 0 && good != broken);
    CHECK(good_gone);
}

static void test_dossier_before_the_kill(void) {
    char dir[] = "/tmp/scythe-dossier-XXXXXX";
    CHECK(mkdtemp(dir));
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options bystander = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *sleeper[] = {"sleep", "300", NULL};
    bystander.argv = sleeper;
    int rc;
    scythe_job *other = start(loop, &bystander, &rc);
    CHECK_RC(rc);
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *hung[] = {"sh", "-c", "sleep 300 & sleep 301", NULL};
    o.argv = hung;
    o.timeout_ns = 300000000LL;
    o.dossier_dir = dir;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    scythe_event ev;
    CHECK(collect(loop, &ev, 1) == 1);
    CHECK(ev.end == SCYTHE_END_TIMEOUT && (ev.flags & SCYTHE_EVENT_DOSSIER));
    char path[256], text[65536];
    CHECK_RC(scythe_dossier_path(path, sizeof path, dir, scythe_job_pid(job))); /* the name the loop wrote */
    FILE *f = fopen(path, "r");
    CHECK(f);
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = 0;
    char want[64];
    snprintf(want, sizeof want, "== session %d (job running", scythe_job_pid(job));
    CHECK(strstr(text, want));                 /* written before the kill */
    CHECK(strstr(text, "sleep 301") && strstr(text, "sleep 300 &")); /* the whole tree, by command line */
    CHECK(strstr(text, "wchan:") && strstr(text, "fds: 0->"));
    /* a many-line /proc file (the kernel stack, readable by root), one indented line each */
    CHECK(strstr(text, "kernel stack:\n      [<") || strstr(text, "kernel stack: (unreadable"));
    snprintf(want, sizeof want, "== session %d", scythe_job_pid(other));
    CHECK(strstr(text, want));                 /* and every other live job */
    CHECK_RC(scythe_job_cancel(other, 1));
    CHECK(collect(loop, &ev, 1) == 1);
    scythe_job_free(job);
    scythe_job_free(other);
    scythe_loop_free(loop);
    unlink(path);
    rmdir(dir);
}

/* A dossier is written off the loop: over a session of 2,000 processes it takes a while, and another job's timeout,
 * due meanwhile, is not delayed by it. (Before, the loop wrote it in line, and every other job waited.) */
static void slow_dossier_in(const char *dir);

static void test_slow_dossier_delays_no_other_job(void) {
    in_temp_dir("scythe-dossier", slow_dossier_in);
}

static void slow_dossier_in(const char *dir) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.containment = SCYTHE_CONTAIN_SESSION;
    const char *crowd[] = {"sh", "-c", "i=0; while [ $i -lt 2000 ]; do sleep 300 & i=$((i+1)); done; echo up; wait",
                           NULL};
    o.argv = crowd;
    o.dossier_dir = dir;
    int rc;
    scythe_job *big = start(loop, &o, &rc);
    CHECK_RC(rc);
    int pid = scythe_job_pid(big);
    for (int i = 0; i < 3000 && count_session(pid) < 2001; i++)
        usleep(10000);
    CHECK(count_session(pid) >= 2001);
    /* Both due from now: the crowd overruns first, the bystander 50 ms later, while the crowd's dossier is written. */
    scythe_spawn_options b = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *sleeper[] = {"sleep", "300", NULL};
    b.argv = sleeper;
    b.timeout_ns = 150000000LL;
    b.grace_ns = -1;
    int64_t t0 = scythe__now_ns();
    scythe_job *other = start(loop, &b, &rc);
    CHECK_RC(rc);
    scythe_event evs[2];
    int got = 0;
    int64_t other_late = -1, big_late = -1;
    /* White box: the crowd's timeout, 100 ms from t0 (its 2,000 forks took an unknown while, so it could not be set at
     * the spawn); a timeout is what writes a dossier. This thread is the loop's. */
    big->deadline_ns = t0 + 100000000LL;
    scythe__wake_for(big->waker, &big->wake_node); /* the loop looks at it, and keeps it on its timer's list */
    while (got < 2 && scythe__now_ns() - t0 < 60000000000LL) {
        size_t k = 0;
        CHECK_RC(scythe_loop_run(&k, loop, evs, 2, 1000));
        for (size_t i = 0; i < k; i++) {
            if (evs[i].job == other)
                other_late = evs[i].exit_ns - (t0 + 150000000LL);
            else if (evs[i].job == big)
                big_late = evs[i].exit_ns - (t0 + 100000000LL);
            got++;
        }
    }
    CHECK(got == 2);
    printf("     a dossier over 2,000 processes held its own job's kill back %.0f ms; the other job's timeout fired "
           "%.0f ms late\n", big_late / 1e6, other_late / 1e6);
    CHECK(evs[0].end == SCYTHE_END_TIMEOUT || evs[1].end == SCYTHE_END_TIMEOUT);
    CHECK(big_late > 50000000LL); /* the dossier was slow enough to tell (written in line, it held everyone back) */
    CHECK(other_late >= 0 && other_late < big_late / 2 && other_late < 250000000LL);
    char path[256];
    CHECK_RC(scythe_dossier_path(path, sizeof path, dir, pid));
    struct stat st;
    CHECK(stat(path, &st) == 0 && st.st_size > 100000); /* written, every process of the crowd in it */
    scythe_job_free(big);
    scythe_job_free(other);
    scythe_loop_free(loop);
    CHECK(session_gone(pid));
    CHECK(no_children());
}

static void on_usr1(int sig) {
    (void)sig;
}

struct storm {
    pthread_t target;
    _Atomic int stop;
    long sent;
};

static void *storm_thread(void *p) {
    struct storm *s = p;
    while (!atomic_load(&s->stop)) {
        pthread_kill(s->target, SIGUSR1);
        s->sent++;
        usleep(50);
    }
    return NULL;
}

/* A storm of signals with a handler (no SA_RESTART) at the loop thread: every EINTR is retried, no job is lost. */
static void test_signal_storm_causes_no_spurious_failure(void) {
    struct sigaction sa = {.sa_handler = on_usr1}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, &old);
    struct storm s = {.target = pthread_self()};
    pthread_t th;
    pthread_create(&th, NULL, storm_thread, &s);
    scythe_loop *loop;
    int ok = scythe_loop_new(&loop) == 0, failures = 0;
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    static uint8_t input[1 << 20];
    o.stdio[0].mode = SCYTHE_STDIO_PIPE;
    o.stdio[0].input = input;
    o.stdio[0].input_len = sizeof input;
    const char *cat[] = {"cat", NULL};
    for (int i = 0; ok && i < 200; i++) {
        scythe_job *job;
        scythe_event ev = run_one(loop, cat, &o, &job);
        scythe_output out;
        if (ev.end != SCYTHE_END_EXITED || ev.exit_code != 0 || scythe_job_output(&out, job, 1) ||
            out.total != sizeof input)
            failures++;
        scythe_job_free(job);
    }
    atomic_store(&s.stop, 1);
    pthread_join(th, NULL);
    sigaction(SIGUSR1, &old, NULL);
    if (ok)
        scythe_loop_free(loop);
    CHECK(ok);
    printf("     %ld signals delivered to the loop thread during 200 jobs\n", s.sent);
    CHECK(failures == 0);
    CHECK(s.sent > 100);
}

/* After a reap, the pid is dead to us: a handle whose pid was reused by another process never signals it. */
static void test_stale_handle_after_pid_reuse(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    scythe_job *old_job, *new_job;
    const char *tru[] = {"true", NULL};
    scythe_event ev = run_one(loop, tru, &o, &old_job);
    CHECK(ev.end == SCYTHE_END_EXITED);
    int pid = scythe_job_pid(old_job);
    /* Ask the kernel for the same pid again (root only: ns_last_pid). */
    FILE *f = fopen("/proc/sys/kernel/ns_last_pid", "w");
    if (!f) {
        printf("     skipped: cannot write /proc/sys/kernel/ns_last_pid (needs root) to force pid reuse\n");
        scythe_job_free(old_job);
        scythe_loop_free(loop);
        return;
    }
    fprintf(f, "%d", pid - 1);
    fclose(f);
    const char *sleeper[] = {"sleep", "300", NULL};
    o.argv = sleeper;
    int rc;
    new_job = start(loop, &o, &rc);
    CHECK_RC(rc);
    if (scythe_job_pid(new_job) != pid) {
        printf("     skipped: pid %d was taken by someone else meanwhile\n", pid);
    } else {
        CHECK(scythe_job_cancel(old_job, 1) == -EALREADY);
        CHECK(scythe__kill_session(old_job, SIGKILL) == -ESRCH);
        size_t k;
        CHECK_RC(scythe_loop_run(&k, loop, &ev, 1, 200));
        CHECK(k == 0);
        char state;
        int ppid, sid;
        CHECK(session_of_full(pid, &state, &ppid) == pid && state != 'Z'); /* the new process lives on */
        (void)sid;
    }
    CHECK_RC(scythe_job_cancel(new_job, 1));
    CHECK(collect(loop, &ev, 1) == 1);
    scythe_job_free(old_job);
    scythe_job_free(new_job);
    scythe_loop_free(loop);
    CHECK(no_children());
}

const char *guard_exe_or_skip(void) {
    const char *guard = getenv("SCYTHE_GUARD");
    if (!guard)
        printf("     skipped: SCYTHE_GUARD (the scythe-guard executable) is not set\n");
    return guard;
}

int need_caps(uint32_t caps, const char *what) {
    if ((scythe_capabilities() & caps) == caps)
        return 1;
    printf("     skipped: this machine offers no %s\n", what);
    return 0;
}

static int64_t first_number(scythe_job *job) {
    scythe_output out;
    if (scythe_job_output(&out, job, 1) || !out.head_len)
        return -1;
    return atoll((const char *)out.head);
}

/* A process the job started, recorded by pid: it must be gone (or a zombie of init's). */
static int process_gone(int64_t pid) {
    for (int i = 0; i < 500; i++) {
        char state;
        int ppid;
        if (pid <= 0 || session_of_full((int)pid, &state, &ppid) < 0 || (state == 'Z' && ppid != getpid()))
            return 1;
        usleep(10000);
    }
    return 0;
}

static scythe_event run_contained(const char *const *argv, scythe_spawn_options *o, scythe_job **job, int cancel_ms) {
    scythe_loop *loop;
    scythe_event ev = {0};
    if (scythe_loop_new(&loop))
        return ev;
    o->argv = argv;
    o->containment = SCYTHE_CONTAIN_CGROUP;
    int rc;
    *job = start(loop, o, &rc);
    if (rc) {
        ev.kind = rc;
        scythe_loop_free(loop);
        return ev;
    }
    if (cancel_ms) {
        size_t k;
        scythe_loop_run(&k, loop, &ev, 1, cancel_ms);
        scythe_job_cancel(*job, SCYTHE_REASON_USER);
    }
    collect(loop, &ev, 1);
    loop_keep = loop;
    return ev;
}

static void test_cgroup_catches_escapees(void) {
    if (!need_caps(SCYTHE_CAP_CGROUP_KILL, "writable cgroup v2 hierarchy with cgroup.kill"))
        return;
    const char *escapes[][4] = {
        {"sh", "-c", "setsid sleep 300 & echo $!; sleep 300", NULL},         /* a grandchild calls setsid() */
        {"sh", "-c", "(setsid sleep 300 & echo $!); sleep 300", NULL},       /* double fork: a daemon of init's */
        /* The leader exits by itself, its escapee still in the cgroup: the exit finds the cgroup populated and kills
         * it (an exit that leaves nothing behind writes no cgroup.kill). */
        {"sh", "-c", "setsid sleep 300 & echo $!", NULL},
    };
    for (int k = 0; k < 3; k++) {
        scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
        scythe_job *job;
        scythe_event ev = run_contained(escapes[k], &o, &job, k < 2 ? 300 : 0);
        CHECK(ev.end == (k < 2 ? SCYTHE_END_CANCELLED : SCYTHE_END_EXITED) && ev.containment == SCYTHE_CONTAIN_CGROUP);
        int64_t escapee = first_number(job);
        CHECK(escapee > 0);
        CHECK(process_gone(escapee));
        CHECK(session_gone(scythe_job_pid(job)));
        scythe_job_free(job);
        scythe_loop_free(loop_keep);
    }
    CHECK(no_children());
}

static void test_cgroup_limits(void) {
    if (!need_caps(SCYTHE_CAP_CGROUP_KILL | SCYTHE_CAP_CGROUP_PIDS | SCYTHE_CAP_CGROUP_MEMORY,
                   "cgroup level with memory and pids limits"))
        return;
    scythe_job *job;
    /* fork storm under a process limit */
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.process_limit = 20;
    const char *storm[] = {"sh", "-c", "while :; do sleep 300 & done", NULL};
    scythe_event ev = run_contained(storm, &o, &job, 0);
    CHECK(ev.end == SCYTHE_END_PROCESSES);
    CHECK(session_gone(scythe_job_pid(job)));
    scythe_job_free(job);
    scythe_loop_free(loop_keep);
    /* memory hog above the limit */
    scythe_spawn_options m = SCYTHE_SPAWN_OPTIONS_INIT;
    m.memory_limit_bytes = 64ll << 20;
    const char *hog[] = {self_exe, "--child-hog", NULL};
    ev = run_contained(hog, &m, &job, 0);
    CHECK(ev.end == SCYTHE_END_MEMORY);
    CHECK(ev.max_rss_kib > 32 * 1024 && ev.max_rss_kib <= 65 * 1024); /* the cgroup's peak, not the parent's RSS */
    scythe_job_free(job);
    scythe_loop_free(loop_keep);
    /* a 4 GiB PROT_NONE reservation under a smaller limit (256 MiB, room for a sanitizer's own needs) is not memory */
    m.memory_limit_bytes = 256ll << 20;
    const char *reserve[] = {self_exe, "--child-reserve", NULL};
    ev = run_contained(reserve, &m, &job, 0);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    scythe_job_free(job);
    scythe_loop_free(loop_keep);
    /* CPU burners under a CPU budget: the whole cgroup's CPU counts, not the leader's */
    scythe_spawn_options c = SCYTHE_SPAWN_OPTIONS_INIT;
    c.cpu_limit_ns = 500000000LL;
    const char *burners[] = {"sh", "-c", "yes >/dev/null & yes >/dev/null & sleep 300", NULL};
    ev = run_contained(burners, &c, &job, 0);
    CHECK(ev.end == SCYTHE_END_CPU_LIMIT);
    CHECK(ev.user_cpu_ns + ev.sys_cpu_ns >= 500000000LL);
    CHECK(session_gone(scythe_job_pid(job)));
    scythe_job_free(job);
    scythe_loop_free(loop_keep);
    CHECK(no_children());
    /* Every leaf was removed: no cgroup named after this process is left in any hierarchy. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "find /sys/fs/cgroup -maxdepth 4 -type d -name 'scythe-%d' | grep -q .", (int)getpid());
    CHECK(system(cmd) != 0);
}

/* ---- child modes ------------------------------------------------------------------------------------------------- */

static int child_report(void) {
    char fds[128] = "";
    DIR *d = opendir("/proc/self/fd");
    int dfd = dirfd(d), first = 1;
    int list[64], n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.' && atoi(e->d_name) != dfd && n < 64)
            list[n++] = atoi(e->d_name);
    closedir(d);
    for (int i = 0; i < n; i++) /* readdir order is not numeric */
        for (int j = i + 1; j < n; j++)
            if (list[j] < list[i]) {
                int t = list[i];
                list[i] = list[j];
                list[j] = t;
            }
    for (int i = 0; i < n; i++) {
        snprintf(fds + strlen(fds), sizeof fds - strlen(fds), "%s%d", first ? "" : ",", list[i]);
        first = 0;
    }
    /* The kernel's view of all 64 signals, glibc's internal ones included. */
    char line[256], blk[32] = "?", ign[32] = "?";
    FILE *f = fopen("/proc/self/status", "r");
    while (f && fgets(line, sizeof line, f)) {
        sscanf(line, "SigBlk: %31s", blk);
        sscanf(line, "SigIgn: %31s", ign);
    }
    if (f)
        fclose(f);
    printf("fds=%s blk=%s ign=%s sid=%d\n", fds, blk, ign, (int)getsid(0));
    return 0;
}

/* Runs `loop` (up to 5 s) until the guard was restarted n times. */
static int run_until_restarts(scythe_loop *loop, uint64_t n) {
    int64_t until = scythe__now_ns() + 5000000000LL;
    while (scythe_guard_restarts() < n && scythe__now_ns() < until) {
        size_t k;
        scythe_event ev;
        if (scythe_loop_run(&k, loop, &ev, 1, 100))
            return 0;
    }
    return scythe_guard_restarts() >= n;
}

/* A supervisor whose guard is killed three times, each death to be seen by another loop: one made before the guard
 * started, one made after it (it must have been moved to the first replacement), one made after the first restart.
 * The guard runs from a copy deleted at once, as hosts do. Prints the four guards' pids, its job's, the restart
 * count and whether a child of its is waitable (a zombie), then waits to be killed. */
static int child_guard_restart(const char *guard_src) {
    char copy[] = "/tmp/scythe-guard-copy-XXXXXX";
    int in = open(guard_src, O_RDONLY | O_CLOEXEC), out = mkstemp(copy);
    char buf[65536];
    ssize_t n;
    while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
        if (write(out, buf, (size_t)n) != n)
            return 2;
    if (in < 0 || out < 0 || fchmod(out, 0755) < 0)
        return 2;
    close(in);
    close(out); /* or the exec fails with ETXTBSY */
    scythe_loop *loops[3];
    if (scythe_loop_new(&loops[0]))
        return 2;
    int rc = scythe_guard_start(copy);
    unlink(copy);
    if (rc || scythe_loop_new(&loops[1]))
        return 3;
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *sleeper[] = {"sleep", "300", NULL};
    o.argv = sleeper;
    scythe_job *job;
    if (scythe_spawn(&job, loops[1], &o))
        return 4;
    pid_t g[4] = {scythe_guard_pid()};
    for (int i = 0; i < 3; i++) {
        if (i == 2 && scythe_loop_new(&loops[2]))
            return 2;
        if (g[i] > 0)
            kill(g[i], SIGKILL);
        run_until_restarts(loops[i], (uint64_t)i + 1);
        g[i + 1] = scythe_guard_pid();
    }
    siginfo_t si = {0};
    int waitable = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0;
    printf("%d %d %d %d %d %llu %d\n", (int)g[0], (int)g[1], (int)g[2], (int)g[3], scythe_job_pid(job),
           (unsigned long long)scythe_guard_restarts(), waitable);
    fflush(stdout);
    pause();
    return 0;
}

/* A supervisor whose guard cannot run (/bin/false stands in for a mismatched executable): prints that guard's pid,
 * the pid after its death was seen, the restart count, whether a child is waitable (a zombie), then the result of
 * scythe_guard_start(guard) and the new guard's pid. Exits normally. */
static int child_guard_broken(const char *guard) {
    scythe_loop *loop;
    if (scythe_loop_new(&loop) || scythe_guard_start("/bin/false"))
        return 2;
    pid_t broken = scythe_guard_pid();
    int64_t until = scythe__now_ns() + 2000000000LL, quiet = 0;
    /* Until it is seen dead, and then 300 ms more, in which a restart loop would show. */
    while (scythe__now_ns() < until && (!quiet || scythe__now_ns() < quiet)) {
        size_t k;
        scythe_event ev;
        if (scythe_loop_run(&k, loop, &ev, 1, 50))
            return 3;
        if (!quiet && scythe_guard_pid() == 0)
            quiet = scythe__now_ns() + 300000000LL;
    }
    pid_t after = scythe_guard_pid();
    siginfo_t si = {0};
    int waitable = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0;
    int rc = scythe_guard_start(guard);
    printf("%d %d %llu %d %d %d\n", (int)broken, (int)after, (unsigned long long)scythe_guard_restarts(), waitable, rc,
           (int)scythe_guard_pid());
    fflush(stdout);
    scythe_loop_free(loop);
    return 0;
}

static void on_sigchld(int sig) {
    (void)sig;
}

/* A host with SIGCHLD ignored ("ign", set after scythe_loop_new, so scythe_spawn must undo it) or handled with
 * SA_NOCLDWAIT ("nocldwait", set before scythe_loop_new). Prints end, exit code and signal of 'exit 3' and of
 * 'kill -9 $$', then 1 if the disposition is as it should be now, then the number of waitable children left. */
static int child_sigchld(const char *how) {
    int ign = !strcmp(how, "ign");
    struct sigaction sa = {0}, now;
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = ign ? SIG_IGN : on_sigchld;
    sa.sa_flags = ign ? 0 : SA_NOCLDWAIT;
    scythe_loop *loop;
    if ((!ign && sigaction(SIGCHLD, &sa, NULL)) || scythe_loop_new(&loop) || (ign && sigaction(SIGCHLD, &sa, NULL)))
        return 2;
    const char *exits[] = {"sh", "-c", "exit 3", NULL}, *killed[] = {"sh", "-c", "kill -9 $$", NULL};
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    scythe_job *jobs[2];
    scythe_event evs[2], by_job[2];
    for (int i = 0; i < 2; i++) {
        o.argv = i ? killed : exits;
        o.user_data = (uint64_t)i;
        int rc = scythe_spawn(&jobs[i], loop, &o);
        if (rc) {
            fprintf(stderr, "  --child-sigchld %s: scythe_spawn: %s\n", how, scythe_strerror(rc));
            return 3;
        }
    }
    if (collect(loop, evs, 2) != 2)
        return 4;
    for (int i = 0; i < 2; i++)
        by_job[evs[i].user_data] = evs[i];
    sigaction(SIGCHLD, NULL, &now);
    int disposition = ign ? now.sa_handler == SIG_DFL
                          : now.sa_handler == on_sigchld && !(now.sa_flags & SA_NOCLDWAIT);
    siginfo_t si = {0};
    int waitable = waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid != 0;
    printf("%d %d %d %d %d %d %d %d\n", by_job[0].end, by_job[0].exit_code, by_job[0].term_signal, by_job[1].end,
           by_job[1].exit_code, by_job[1].term_signal, disposition, waitable);
    for (int i = 0; i < 2; i++)
        scythe_job_free(jobs[i]);
    scythe_loop_free(loop);
    return 0;
}

/* ---- runner -------------------------------------------------------------------------------------------------------- */

/* test_cgroup_v2.c */
void test_cgroup_v2_limits(void);
void test_cgroup_v2_supervisor_moves_into_a_leaf(void);
void test_cgroup_v2_no_move_beside_other_processes(void);
void test_cgroup_v2_nested_supervisor(void);
void test_cgroup_v2_in_vm(void);
int cgroup_v2_child_main(int argc, char **argv); /* runs one of its child modes, or returns -1 */

struct test {
    const char *name;
    void (*fn)(void);
};

static const struct test tests[] = {
    {"version_and_caps", test_version_and_caps},
    {"capture_head_tail", test_capture_head_tail},
    {"token_basics", test_token_basics},
    {"token_claim_race", test_token_claim_race},
    {"regex_search", test_regex_search},
    {"exit_codes_and_output", test_exit_codes_and_output},
    {"spawn_failures", test_spawn_failures},
    {"child_state_is_clean", test_child_state_is_clean},
    {"large_io_both_ways", test_large_io_both_ways},
    {"timeout_and_grace", test_timeout_and_grace},
    {"grandchildren_die_with_session", test_grandchildren_die_with_session},
    {"stopped_child_dies_on_cancel", test_stopped_child_dies_on_cancel},
    {"token_kills_attached_jobs", test_token_kills_attached_jobs},
    {"free_running_job_kills_it", test_free_running_job_kills_it},
    {"wakeup_returns_empty", test_wakeup_returns_empty},
    {"thousand_sequential_jobs_leak_nothing", test_thousand_sequential_jobs_leak_nothing},
    {"native_claim_preempts_losers", test_native_claim_preempts_losers},
    {"loop_waits_for_the_exits_it_caused", test_loop_waits_for_the_exits_it_caused},
    {"stall_tree_probe", test_stall_tree_probe},
    {"stall_output_probe", test_stall_output_probe},
    {"stall_heartbeat_and_host_probes", test_stall_heartbeat_and_host_probes},
    {"cpu_limit", test_cpu_limit},
    {"sigchld_ignored_keeps_statuses", test_sigchld_ignored_keeps_statuses},
    {"reaped_elsewhere_is_lost", test_reaped_elsewhere_is_lost},
    {"cancel_racing_exit_tells_the_truth", test_cancel_racing_exit_tells_the_truth},
    {"cancel_signals_from_the_calling_thread", test_cancel_signals_from_the_calling_thread},
    {"slow_dossier_delays_no_other_job", test_slow_dossier_delays_no_other_job},
    {"guard_kills_sessions_of_a_dead_supervisor", test_guard_kills_sessions_of_a_dead_supervisor},
    {"guard_kills_and_removes_the_cgroups_of_a_dead_supervisor",
     test_guard_kills_and_removes_the_cgroups_of_a_dead_supervisor},
    {"guard_restarted_after_its_death", test_guard_restarted_after_its_death},
    {"guard_that_cannot_run_is_not_restarted", test_guard_that_cannot_run_is_not_restarted},
    {"dossier_before_the_kill", test_dossier_before_the_kill},
    {"signal_storm_causes_no_spurious_failure", test_signal_storm_causes_no_spurious_failure},
    {"stale_handle_after_pid_reuse", test_stale_handle_after_pid_reuse},
    {"cgroup_catches_escapees", test_cgroup_catches_escapees},
    {"cgroup_limits", test_cgroup_limits},
    {"cgroup_v2_limits", test_cgroup_v2_limits},
    {"cgroup_v2_supervisor_moves_into_a_leaf", test_cgroup_v2_supervisor_moves_into_a_leaf},
    {"cgroup_v2_no_move_beside_other_processes", test_cgroup_v2_no_move_beside_other_processes},
    {"cgroup_v2_nested_supervisor", test_cgroup_v2_nested_supervisor},
    {"cgroup_v2_in_vm", test_cgroup_v2_in_vm},
    {"event_queue_needs_no_memory", test_event_queue_needs_no_memory},
    {"capture_out_of_memory", test_capture_out_of_memory},
    {"output_lost_is_reported", test_output_lost_is_reported},
    {"guard_table_full_refuses_the_spawn", test_guard_table_full_refuses_the_spawn},
    {"session_signal_reaches_the_leader_once", test_session_signal_reaches_the_leader_once},
    {"abi_names_instead_of_numbers", test_abi_names_instead_of_numbers},
    {"loop_free_removes_the_leaves_of_live_jobs", test_loop_free_removes_the_leaves_of_live_jobs},
    {"cgroup_leaves_made_and_removed_when_idle", test_cgroup_leaves_made_and_removed_when_idle},
    {"token_flip_looks_only_at_its_jobs", test_token_flip_looks_only_at_its_jobs},
    {"cgroup_emptied_is_told_not_polled", test_cgroup_emptied_is_told_not_polled},
    {"tree_walk_delays_no_other_job", test_tree_walk_delays_no_other_job},
    {"kill_session_never_signals_pid_0", test_kill_session_never_signals_pid_0},
    {"stress_races_one_event_per_job", test_stress_races_one_event_per_job},
    {"wall_time_counts_the_exec", test_wall_time_counts_the_exec},
    {"memory_peak_is_the_jobs_own", test_memory_peak_is_the_jobs_own},
    {"memory_peak_of_a_running_job", test_memory_peak_of_a_running_job},
    {"session_peak_is_unknown", test_session_peak_is_unknown},
    {"channel_round_trip_cat", test_channel_round_trip_cat},
    {"channel_request_response", test_channel_request_response},
    {"channel_backpressure", test_channel_backpressure},
    {"channel_hangup_while_paused", test_channel_hangup_while_paused},
    {"channel_epipe_after_the_job_closes_stdin", test_channel_epipe_after_the_job_closes_stdin},
    {"channel_calls_after_exit_and_on_other_modes", test_channel_calls_after_exit_and_on_other_modes},
    {"channel_close_stdin_after_queued_bytes", test_channel_close_stdin_after_queued_bytes},
    {"channel_escapee_cannot_delay_the_exit", test_channel_escapee_cannot_delay_the_exit},
    {"channel_output_precedes_exit", test_channel_output_precedes_exit},
    {"channel_free_with_output_waiting", test_channel_free_with_output_waiting},
    {"channel_output_is_progress", test_channel_output_is_progress},
    {"channel_loop_free_with_live_jobs", test_channel_loop_free_with_live_jobs},
    {"abi_sizes_and_versions", test_abi_sizes_and_versions},
    {"older_header_gets_no_byte_past_its_struct", test_older_header_gets_no_byte_past_its_struct},
    {"old_options_version_is_read_no_further", test_old_options_version_is_read_no_further},
    {"shared_token_basics", test_shared_token_basics},
    {"shared_token_claims_across_processes", test_shared_token_claims_across_processes},
    {"shared_token_cancelled_by_another_process", test_shared_token_cancelled_by_another_process},
    {"shared_token_canceller_killed_mid_way", test_shared_token_canceller_killed_mid_way},
    {"pass_token_hands_the_job_its_token", test_pass_token_hands_the_job_its_token},
    {"shared_token_spawn_out_of_memory_leaves_nothing", test_shared_token_spawn_out_of_memory_leaves_nothing},
};

int main(int argc, char **argv) {
    int v2_child = cgroup_v2_child_main(argc, argv);
    if (v2_child >= 0)
        return v2_child;
    int hazard = hazard_child(argc, argv);
    if (hazard >= 0)
        return hazard;
    int usage = usage_child(argc, argv);
    if (usage >= 0)
        return usage;
    int channel = channel_child(argc, argv);
    if (channel >= 0)
        return channel;
    int abi = abi_child(argc, argv);
    if (abi >= 0)
        return abi;
    if (argc > 1 && !strcmp(argv[1], "--child-report"))
        return child_report();
    if (argc > 2 && !strcmp(argv[1], "--child-sigchld"))
        return child_sigchld(argv[2]);
    if (argc > 2 && !strcmp(argv[1], "--child-guard-restart"))
        return child_guard_restart(argv[2]);
    if (argc > 2 && !strcmp(argv[1], "--child-guard-broken"))
        return child_guard_broken(argv[2]);
    if (argc > 2 && !strcmp(argv[1], "--child-guarded-cgroup")) { /* the same, with escapees in its cgroups */
        scythe_loop *loop;
        if (scythe_guard_start(argv[2]) || scythe_loop_new(&loop))
            return 2;
        scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
        const char *job[] = {"sh", "-c", "setsid sleep 300 & sleep 300", NULL};
        o.argv = job;
        o.containment = SCYTHE_CONTAIN_CGROUP;
        for (int i = 0; i < 2; i++) {
            scythe_job *j;
            if (scythe_spawn(&j, loop, &o))
                return 3;
        }
        usleep(300000); /* let the shells start their sleeps */
        const char *parent = scythe__cgroup_parent(0);
        printf("%d %s", (int)scythe_guard_pid(), parent);
        DIR *d = opendir(parent);
        for (struct dirent *e; d && (e = readdir(d));) {
            char procs[4400];
            snprintf(procs, sizeof procs, "%s/%s/cgroup.procs", parent, e->d_name);
            FILE *pf = e->d_name[0] == '.' ? NULL : fopen(procs, "r");
            for (int pid; pf && fscanf(pf, "%d", &pid) == 1;)
                printf(" %d", pid);
            if (pf)
                fclose(pf);
        }
        if (d)
            closedir(d);
        printf("\n");
        fflush(stdout);
        pause();
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "--child-guarded")) { /* a supervisor about to be killed with SIGKILL */
        scythe_loop *loop;
        if (scythe_guard_start(argv[2]) || scythe_loop_new(&loop))
            return 2;
        scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
        const char *job[] = {"sh", "-c", "sleep 300 & sleep 300", NULL};
        o.argv = job;
        printf("%d", (int)scythe_guard_pid());
        for (int i = 0; i < 3; i++) {
            scythe_job *j;
            if (scythe_spawn(&j, loop, &o))
                return 3;
            printf(" %d", scythe_job_pid(j));
        }
        printf("\n");
        fflush(stdout);
        usleep(100000); /* let the shells start their sleeps */
        pause();
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--child-hog")) { /* touches memory until something stops it */
        for (;;) {
            volatile char *p = malloc(1 << 20); /* volatile: every page really touched */
            for (int i = 0; p && i < (1 << 20); i += 4096)
                p[i] = 1;
        }
    }
    if (argc > 1 && !strcmp(argv[1], "--child-reserve")) { /* reserves 4 GiB it never touches */
        void *p = mmap(NULL, 4ull << 30, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        volatile char *q = malloc(16 << 20);
        if (p == MAP_FAILED || !q)
            return 1;
        for (int i = 0; i < (16 << 20); i += 4096)
            q[i] = 1;
        free((void *)q);
        return 0;
    }
    if (argc > 2 && !strcmp(argv[1], "--child-beat")) { /* a cooperating prover: beats for ~0.4 s, then hangs */
        uint64_t *beat;
        if (scythe_heartbeat_open(&beat, argv[2]))
            return 2;
        for (int i = 0; i < 20; i++) {
            scythe_heartbeat_beat(beat);
            usleep(20000);
        }
        pause();
        return 0;
    }
    static char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = 0;
        self_exe = exe;
    }
    int passed = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (argc > 1 && strcmp(argv[1], tests[i].name))
            continue;
        failures_in_test = 0;
        int64_t t0 = scythe__now_ns();
        tests[i].fn();
        double ms = (double)(scythe__now_ns() - t0) / 1e6;
        printf("%s %s (%.0f ms)\n", failures_in_test ? "FAIL" : "ok  ", tests[i].name, ms);
        fflush(stdout);
        if (failures_in_test)
            failed++;
        else
            passed++;
    }
    printf("%d passed, %d failed\n", passed, failed);
    return failed ? 1 : 0;
}
