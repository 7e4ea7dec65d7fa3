/* The ABI as other runtimes see it (0.6): sizes and versions, hosts built against an older header, option structs of
 * older versions, and shared tokens cancelled and claimed from other processes. Real processes, real kernel. */
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

void test_abi_sizes_and_versions(void) {
    CHECK(scythe_abi_version() == SCYTHE_ABI_NUMBER);
    CHECK(SCYTHE_ABI_MAJOR == SCYTHE_VERSION_MAJOR && SCYTHE_ABI_MINOR == SCYTHE_VERSION_MINOR);
    CHECK(scythe_sizeof("scythe_event") == sizeof(scythe_event));
    CHECK(scythe_sizeof("scythe_output") == sizeof(scythe_output));
    CHECK(scythe_sizeof("scythe_spawn_options") == sizeof(scythe_spawn_options));
    CHECK(scythe_sizeof("scythe_stdio") == sizeof(scythe_stdio));
    CHECK(scythe_sizeof("scythe_abi_entry") == sizeof(scythe_abi_entry));
    CHECK(scythe_sizeof("scythe_nothing") == 0 && scythe_sizeof(NULL) == 0);
    CHECK(offsetof(scythe_event, size) == 0 && offsetof(scythe_output, size) == 0);
}

/* A host built against a header whose scythe_event ended before max_rss_kib, and whose scythe_output ended before
 * `dropped`: it gets what it knows, and not one byte more. */
void test_older_header_gets_no_byte_past_its_struct(void) {
    int fds = count_fds();
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"sh", "-c", "echo hello; exit 7", NULL};
    o.argv = argv;
    o.user_data = 4242;
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    const size_t old_event = offsetof(scythe_event, max_rss_kib);
    unsigned char buf[4 * sizeof(scythe_event)];
    memset(buf, 0xAB, sizeof buf);
    size_t n = 0;
    CHECK(scythe_loop_run_sized(&n, loop, (scythe_event *)buf, 12, 3, 0) == -EINVAL); /* below 16 */
    CHECK(scythe_loop_run_sized(&n, loop, (scythe_event *)buf, old_event + 4, 3, 0) == -EINVAL); /* not 8-aligned */
    int64_t until = scythe__now_ns() + 20000000000LL;
    while (n == 0 && scythe__now_ns() < until)
        CHECK_RC(scythe_loop_run_sized(&n, loop, (scythe_event *)buf, old_event, 3, 1000));
    CHECK(n == 1);
    scythe_event ev;
    memcpy(&ev, buf, old_event);
    CHECK(ev.size == old_event);
    CHECK(ev.user_data == 4242 && ev.job == job && ev.kind == SCYTHE_EVENT_EXIT && ev.end == SCYTHE_END_EXITED);
    CHECK(ev.exit_code == 7 && ev.start_ns > 0 && ev.done_ns >= ev.exit_ns);
    for (size_t i = old_event; i < sizeof buf; i++)
        CHECK(buf[i] == 0xAB); /* neither its own max_rss_kib, nor a second slot */

    const size_t old_output = offsetof(scythe_output, dropped);
    unsigned char out[sizeof(scythe_output) + 16];
    memset(out, 0xCD, sizeof out);
    CHECK(scythe_job_output_sized((scythe_output *)out, 4, job, 1) == -EINVAL);
    CHECK_RC(scythe_job_output_sized((scythe_output *)out, old_output, job, 1));
    scythe_output view;
    memcpy(&view, out, old_output);
    CHECK(view.size == old_output && view.head_len == 6 && memcmp(view.head, "hello\n", 6) == 0 && view.total == 6);
    for (size_t i = old_output; i < sizeof out; i++)
        CHECK(out[i] == 0xCD);
    /* And the current header's own wrapper still gets the whole struct. */
    scythe_output whole;
    CHECK_RC(scythe_job_output(&whole, job, 1));
    CHECK(whole.size == sizeof whole && whole.dropped == 0);
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(no_children());
    CHECK(count_fds() == fds);
}

/* A version-1 caller's options struct ends at claim_index: put it right before a page nobody may read, and spawn. The
 * library copies what version 1 has and nothing past it, and gives the rest its defaults (claim_index -1: no claim). */
void test_old_options_version_is_read_no_further(void) {
    long page = sysconf(_SC_PAGESIZE);
    char *mem = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    CHECK(mem != MAP_FAILED);
    CHECK(mprotect(mem + page, (size_t)page, PROT_NONE) == 0);
    size_t v1 = offsetof(scythe_spawn_options, claim_index);
    scythe_spawn_options *o = (scythe_spawn_options *)(mem + page - v1);
    scythe_spawn_options init = SCYTHE_SPAWN_OPTIONS_INIT;
    memcpy(o, &init, v1);
    o->version = 1;
    const char *argv[] = {"sh", "-c", "exit 0", NULL};
    o->argv = argv;
    scythe_token *t;
    CHECK_RC(scythe_token_new(&t, NULL));
    o->token = t; /* with a token and an exit of 0: a version-5 struct with claim_index 0 would claim it */
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    int rc;
    scythe_job *job = start(loop, o, &rc);
    CHECK_RC(rc);
    scythe_event ev;
    CHECK(collect(loop, &ev, 1) == 1);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0 && !ev.claimed && scythe_token_winner(t) == -1);
    o->version = SCYTHE_SPAWN_OPTIONS_VERSION + 1;
    CHECK(start(loop, o, &rc) == NULL && rc == -EINVAL);
    scythe_job_free(job);
    scythe_loop_free(loop);
    scythe_token_free(t);
    munmap(mem, 2 * (size_t)page);
    CHECK(no_children());
}

/* In a child process (fork: it inherits the token's fd), as another runtime would: opens the token behind fd and
 * cancels or claims it. Exit 0: its call succeeded; 1: it lost; 2: it could not open the token. */
static pid_t other_process(int fd, int claim_index, uint32_t reason) {
    pid_t pid = fork();
    if (pid == 0) {
        scythe_token *t;
        if (scythe_token_from_fd(&t, fd))
            _exit(2);
        int rc = claim_index >= 0 ? scythe_token_claim(t, claim_index) : scythe_token_cancel(t, reason);
        scythe_token_free(t);
        _exit(rc == 0 ? 0 : 1);
    }
    return pid;
}

static int exit_status_of(pid_t pid) {
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

void test_shared_token_basics(void) {
    int fds = count_fds();
    scythe_token *local, *shared, *other;
    CHECK_RC(scythe_token_new(&local, NULL));
    CHECK(scythe_token_fd(local) == -1 && scythe_token_fd(NULL) == -1);
    CHECK_RC(scythe_token_new_shared(&shared, NULL));
    int fd = scythe_token_fd(shared);
    CHECK(fd >= 0 && (fcntl(fd, F_GETFD) & FD_CLOEXEC));
    /* Not tokens: -EINVAL; not fds: -EBADF; no variable: -ENOENT. */
    int devnull = open("/dev/null", O_RDWR | O_CLOEXEC), pipefd[2];
    CHECK(pipe2(pipefd, O_CLOEXEC) == 0);
    CHECK(scythe_token_from_fd(&other, devnull) == -EINVAL);
    CHECK(scythe_token_from_fd(&other, pipefd[0]) == -EINVAL);
    CHECK(scythe_token_from_fd(&other, -1) == -EBADF);
    CHECK(scythe_token_from_fd(&other, 9999) == -EBADF);
    close(devnull);
    close(pipefd[0]);
    close(pipefd[1]);
    unsetenv(SCYTHE_TOKEN_FD_ENV);
    CHECK(scythe_token_from_env(&other) == -ENOENT);
    setenv(SCYTHE_TOKEN_FD_ENV, "x3", 1);
    CHECK(scythe_token_from_env(&other) == -EINVAL);
    /* The same token, opened again here (by fd and by name): one word. */
    char fdstr[16], path[64];
    snprintf(fdstr, sizeof fdstr, "%d", fd);
    setenv(SCYTHE_TOKEN_FD_ENV, fdstr, 1);
    scythe_token *by_env, *by_name;
    CHECK_RC(scythe_token_from_env(&by_env));
    unsetenv(SCYTHE_TOKEN_FD_ENV);
    snprintf(path, sizeof path, "/proc/%d/fd/%d", (int)getpid(), fd);
    CHECK_RC(scythe_token_open(&by_name, path));
    CHECK(scythe_token_fd(by_env) != fd && scythe_token_fd(by_name) != fd); /* opens of their own */
    scythe_token *child;
    CHECK_RC(scythe_token_new(&child, by_name)); /* a local child of a shared token */
    CHECK_RC(scythe_token_cancel(by_env, 99));
    CHECK(scythe_token_is_cancelled(shared) && (uint32_t)*scythe_token_state_address(shared) == 99);
    CHECK(scythe_token_is_cancelled(by_name) && scythe_token_is_cancelled(child));
    CHECK(scythe_token_cancel(shared, 1) == -EALREADY);
    scythe_token_free(child);
    scythe_token_free(by_name);
    scythe_token_free(by_env);
    scythe_token_free(shared);
    scythe_token_free(local);
    CHECK(count_fds() == fds);
}

/* One compare-and-set decides the winner, whichever process makes it: four processes claim, one wins, and every
 * process sees that winner. */
void test_shared_token_claims_across_processes(void) {
    enum { CLAIMERS = 4, ROUNDS = 20 };
    for (int r = 0; r < ROUNDS; r++) {
        scythe_token *t;
        CHECK_RC(scythe_token_new_shared(&t, NULL));
        pid_t pids[CLAIMERS];
        for (int i = 0; i < CLAIMERS; i++)
            pids[i] = other_process(scythe_token_fd(t), i, 0);
        int winners = 0, winner = -1;
        for (int i = 0; i < CLAIMERS; i++) {
            int st = exit_status_of(pids[i]);
            CHECK(st == 0 || st == 1);
            if (st == 0) {
                winners++;
                winner = i;
            }
        }
        int32_t recorded = scythe_token_winner(t);
        scythe_token_free(t);
        CHECK(winners == 1 && recorded == winner);
    }
    CHECK(no_children());
}

/* Jobs attached to a shared token (one directly, one through a local child token, one in a second loop) die when
 * another process cancels it: the loops hear of it through the token's file, with no poll. */
void test_shared_token_cancelled_by_another_process(void) {
    int fds = count_fds();
    scythe_loop *loop, *second;
    CHECK_RC(scythe_loop_new(&loop));
    CHECK_RC(scythe_loop_new(&second));
    scythe_token *shared, *child;
    CHECK_RC(scythe_token_new_shared(&shared, NULL));
    CHECK_RC(scythe_token_new(&child, shared));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"sleep", "30", NULL};
    o.argv = argv;
    o.token = shared;
    int rc, pids[3];
    scythe_job *a = start(loop, &o, &rc);
    CHECK_RC(rc);
    o.token = child;
    scythe_job *b = start(loop, &o, &rc);
    CHECK_RC(rc);
    o.token = shared;
    scythe_job *c = start(second, &o, &rc);
    CHECK_RC(rc);
    pids[0] = scythe_job_pid(a), pids[1] = scythe_job_pid(b), pids[2] = scythe_job_pid(c);
    size_t n = 0;
    scythe_event evs[2];
    CHECK_RC(scythe_loop_run(&n, loop, evs, 2, 50));
    CHECK(n == 0);
    int64_t t0 = scythe__now_ns();
    CHECK(exit_status_of(other_process(scythe_token_fd(shared), -1, 5150)) == 0);
    CHECK(collect(loop, evs, 2) == 2);
    scythe_event ev3;
    CHECK(collect(second, &ev3, 1) == 1);
    int64_t took = scythe__now_ns() - t0;
    for (int i = 0; i < 2; i++)
        CHECK(evs[i].end == SCYTHE_END_CANCELLED && evs[i].cancel_reason == 5150);
    CHECK(ev3.end == SCYTHE_END_CANCELLED && ev3.cancel_reason == 5150);
    CHECK(scythe_token_is_cancelled(child));
    printf("     cancelled in another process: 3 jobs in 2 loops ended %.1f ms after its start\n", took / 1e6);
    CHECK(took < 5000000000LL); /* generous: the loops are told, not polled (their sleeps last 30 s) */
    for (int i = 0; i < 3; i++)
        CHECK(session_gone(pids[i]));
    scythe_job_free(a);
    scythe_job_free(b);
    scythe_job_free(c);
    scythe_token_free(child);
    scythe_token_free(shared);
    scythe_loop_free(second);
    scythe_loop_free(loop);
    CHECK(no_children());
    CHECK(count_fds() == fds);
}

/* A canceller killed with SIGKILL right after its compare-and-set, before it could announce it: its death closes its
 * open of the token's file, and the loop hears of that instead. */
void test_shared_token_canceller_killed_mid_way(void) {
    int fds = count_fds();
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_token *shared;
    CHECK_RC(scythe_token_new_shared(&shared, NULL));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"sleep", "30", NULL};
    o.argv = argv;
    o.token = shared;
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    int pid = scythe_job_pid(job);
    pid_t killer = fork();
    if (killer == 0) {
        scythe_token *t;
        if (scythe_token_from_fd(&t, scythe_token_fd(shared)))
            _exit(2);
        /* What scythe_token_cancel does first, without what it does next (a write to the file). */
        uint64_t expected = 0;
        atomic_compare_exchange_strong(t->word, &expected, SCYTHE_TOKEN_CANCELLED_BIT | 66);
        raise(SIGKILL);
        _exit(3);
    }
    CHECK(exit_status_of(killer) == 128 + SIGKILL);
    scythe_event ev;
    CHECK(collect(loop, &ev, 1) == 1);
    CHECK(ev.end == SCYTHE_END_CANCELLED && ev.cancel_reason == 66);
    CHECK(session_gone(pid));
    scythe_job_free(job);
    scythe_token_free(shared);
    scythe_loop_free(loop);
    CHECK(no_children());
    CHECK(count_fds() == fds);
}

/* pass_token: the job gets the token as its fd 3 and SCYTHE_TOKEN_FD=3, and no other fd above 2. A job that cancels it
 * (this test program in a child mode, through scythe_token_from_env) ends its siblings. */
void test_pass_token_hands_the_job_its_token(void) {
    int fds = count_fds();
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    scythe_token *local, *shared;
    CHECK_RC(scythe_token_new(&local, NULL));
    CHECK_RC(scythe_token_new_shared(&shared, NULL));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *look[] = {"sh", "-c", "echo $SCYTHE_TOKEN_FD; ls /proc/self/fd | sort -n | tr '\\n' ' '", NULL};
    o.argv = look;
    o.pass_token = 1;
    o.token = local;
    int rc;
    CHECK(start(loop, &o, &rc) == NULL && rc == -EINVAL); /* a token that is not shared cannot be handed over */
    o.token = NULL;
    CHECK(start(loop, &o, &rc) == NULL && rc == -EINVAL);
    for (int level = 0; level < 2; level++) {
        if (level == 1 && !(scythe_capabilities() & SCYTHE_CAP_CGROUP_KILL))
            break;
        o.containment = level ? SCYTHE_CONTAIN_CGROUP : SCYTHE_CONTAIN_SESSION;
        o.argv = look;
        o.token = shared;
        scythe_job *job;
        scythe_event ev = run_one(loop, look, &o, &job);
        CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
        /* fds 0-2, 3 (the token) and the one ls opens to read the directory */
        CHECK(output_equals(job, 1, "3\n0 1 2 3 4 "));
        scythe_job_free(job);

        const char *sleeper[] = {"sleep", "30", NULL};
        o.argv = sleeper;
        o.pass_token = 0;
        scythe_token *t;
        CHECK_RC(scythe_token_new_shared(&t, NULL));
        o.token = t;
        scythe_job *sibling = start(loop, &o, &rc);
        CHECK_RC(rc);
        const char *canceller[] = {self_exe, "--child-cancel-from-env", NULL};
        o.argv = canceller;
        o.pass_token = 1;
        scythe_job *self = start(loop, &o, &rc);
        CHECK_RC(rc);
        scythe_event evs[2];
        CHECK(collect(loop, evs, 2) == 2);
        for (int i = 0; i < 2; i++) {
            scythe_event *e = &evs[i];
            if (e->job == sibling)
                CHECK(e->end == SCYTHE_END_CANCELLED && e->cancel_reason == 4321);
            else /* it cancelled the token it runs under: its own end is that cancel, or its exit if that came first */
                CHECK(e->job == self && (e->end == SCYTHE_END_CANCELLED || (e->end == SCYTHE_END_EXITED && !e->exit_code)));
        }
        scythe_job_free(sibling);
        scythe_job_free(self);
        scythe_token_free(t);
        o.argv = look;
    }
    scythe_token_free(shared);
    scythe_token_free(local);
    scythe_loop_free(loop);
    CHECK(no_children());
    CHECK(count_fds() == fds);
}

/* Every allocation of a spawn under a shared token (the loop's table of watched tokens among them) fails in turn: each
 * failed spawn says -ENOMEM and leaves no process, no fd and no watch behind; the first budget that suffices works. */
void test_shared_token_spawn_out_of_memory_leaves_nothing(void) {
    int fds = count_fds();
    scythe_token *shared, *child;
    CHECK_RC(scythe_token_new_shared(&shared, NULL));
    CHECK_RC(scythe_token_new(&child, shared));
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    const char *argv[] = {"sleep", "30", NULL};
    o.argv = argv;
    o.token = child;
    int failures = 0, rc = -ENOMEM;
    for (int64_t budget = 0; budget < 200 && rc == -ENOMEM; budget++) {
        scythe_loop *loop;
        CHECK_RC(scythe_loop_new(&loop));
        atomic_store(&scythe__alloc_budget, budget);
        scythe_job *job = start(loop, &o, &rc);
        atomic_store(&scythe__alloc_budget, -1);
        if (rc == 0) {
            CHECK_RC(scythe_token_cancel(shared, 12));
            scythe_event ev;
            CHECK(collect(loop, &ev, 1) == 1 && ev.end == SCYTHE_END_CANCELLED && ev.cancel_reason == 12);
            scythe_job_free(job);
        } else {
            CHECK(rc == -ENOMEM && job == NULL);
            failures++;
        }
        scythe_loop_free(loop);
        CHECK(no_children());
        CHECK(count_fds() == fds + 1); /* the token's own memfd */
    }
    printf("     %d allocations in the spawn, each failed once\n", failures);
    CHECK(rc == 0 && failures >= 2); /* at least the job and, last, the loop's table of watched tokens */
    scythe_token_free(child);
    scythe_token_free(shared);
    CHECK(count_fds() == fds);
}

int abi_child(int argc, char **argv) {
    if (argc > 1 && !strcmp(argv[1], "--child-cancel-from-env")) {
        scythe_token *t;
        int rc = scythe_token_from_env(&t);
        if (rc) {
            fprintf(stderr, "scythe_token_from_env: %s\n", scythe_strerror(rc));
            return 2;
        }
        rc = scythe_token_cancel(t, 4321);
        scythe_token_free(t);
        return rc ? 1 : 0;
    }
    return -1;
}
