/* C tests of stdio channels (SCYTHE_STDIO_CHANNEL): a conversation with a worker for its whole life, written with
 * scythe_job_write from any thread, read with scythe_job_read as OUTPUT events announce bytes. Real workers (cat, sh,
 * this binary in a child mode), real pipes. */
#include "test.h"
#include "../src/job.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The stream 0, 1, 2, ... (each byte its offset mod 251, so any shift, gap or repeat shows). */
static uint8_t pattern_at(size_t i) {
    return (uint8_t)(i % 251);
}

static int is_pattern(const uint8_t *p, size_t len) {
    for (size_t i = 0; i < len; i++)
        if (p[i] != pattern_at(i))
            return 0;
    return 1;
}

/* What the host read from a job's stdout channel. */
typedef struct sink {
    uint8_t *data;
    size_t len, cap;
} sink;

/* Reads the channel until scythe_job_read gives 0 bytes, as a host does after an OUTPUT event. 0 or -errno. */
static int sink_take(sink *s, scythe_job *job) {
    for (;;) {
        if (s->cap - s->len < 65536) {
            size_t cap = s->cap ? s->cap * 2 : 1 << 20;
            uint8_t *p = realloc(s->data, cap);
            if (!p)
                return -ENOMEM;
            s->data = p;
            s->cap = cap;
        }
        size_t n = 1;
        int rc = scythe_job_read(&n, job, s->data + s->len, 65536);
        if (rc)
            return rc;
        if (!n)
            return 0;
        s->len += n;
    }
}

/* Runs the loop until the job's EXIT event or 20 s, reading the channel at every OUTPUT event of the job. Counts the
 * OUTPUT events and those that came after the EXIT event in the same batch. 1 if the EXIT came. */
static int run_to_exit(scythe_loop *loop, scythe_job *job, sink *s, scythe_event *exit_ev, int *outputs, int *late) {
    int64_t until = scythe__now_ns() + 20000000000LL;
    int exited = 0;
    while (!exited && scythe__now_ns() < until) {
        scythe_event evs[8];
        size_t k = 0;
        if (scythe_loop_run(&k, loop, evs, 8, 1000))
            return 0;
        for (size_t i = 0; i < k; i++) {
            if (evs[i].job != job)
                continue;
            if (evs[i].kind == SCYTHE_EVENT_OUTPUT) {
                (*outputs)++;
                *late += exited;
                if (sink_take(s, job))
                    return 0;
            } else if (evs[i].kind == SCYTHE_EVENT_EXIT) {
                *exit_ev = evs[i];
                exited = 1;
            }
        }
    }
    return exited && sink_take(s, job) == 0; /* bytes taken at the exit stay readable */
}

static scythe_spawn_options channel_options(const char *const *argv, int in, int out) {
    scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
    o.argv = argv;
    o.stdio[0].mode = in ? SCYTHE_STDIO_CHANNEL : SCYTHE_STDIO_NULL;
    o.stdio[1].mode = out ? SCYTHE_STDIO_CHANNEL : SCYTHE_STDIO_NULL;
    o.stdio[2].mode = SCYTHE_STDIO_NULL;
    return o;
}

/* ---- a writer thread -------------------------------------------------------------------------------------------- */

typedef struct writer {
    scythe_job *job;
    size_t total;
    int rc;
} writer;

/* Writes `total` pattern bytes in chunks of varying size (1 byte to ~100 KB), then closes stdin. */
static void *write_pattern(void *arg) {
    writer *w = arg;
    uint8_t *chunk = malloc(100000);
    if (!chunk) {
        w->rc = -ENOMEM;
        return NULL;
    }
    size_t off = 0, step = 1;
    while (off < w->total && !w->rc) {
        size_t n = step % 100000 + 1;
        if (n > w->total - off)
            n = w->total - off;
        for (size_t i = 0; i < n; i++)
            chunk[i] = pattern_at(off + i);
        w->rc = scythe_job_write(w->job, chunk, n);
        off += n;
        step = step * 7 + 13;
    }
    if (!w->rc)
        w->rc = scythe_job_close_stdin(w->job);
    free(chunk);
    return NULL;
}

/* 10 MB through cat, written from another thread while the loop thread reads: every byte once, in order. */
void test_channel_round_trip_cat(void) {
    int fds = count_fds();
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    const char *argv[] = {"cat", NULL};
    scythe_spawn_options o = channel_options(argv, 1, 1);
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    writer w = {job, 10u << 20, 0};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, write_pattern, &w) == 0);
    sink s = {0};
    scythe_event ev = {0};
    int outputs = 0, late = 0;
    int exited = run_to_exit(loop, job, &s, &ev, &outputs, &late);
    pthread_join(t, NULL);
    int ok = exited && w.rc == 0 && s.len == w.total && is_pattern(s.data, s.len);
    if (!ok)
        fprintf(stderr, "  exited %d, writer %d, read %zu of %zu bytes\n", exited, w.rc, s.len, w.total);
    free(s.data);
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(ok);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    CHECK(outputs > 0 && late == 0);
    CHECK(count_fds() == fds);
    CHECK(no_children());
}

/* Runs the loop until s ends with `want` (or 10 s), reading at every OUTPUT event. */
static int await_tail(scythe_loop *loop, scythe_job *job, sink *s, const char *want) {
    size_t n = strlen(want);
    int64_t until = scythe__now_ns() + 10000000000LL;
    while (scythe__now_ns() < until) {
        if (s->len >= n && memcmp(s->data + s->len - n, want, n) == 0)
            return 1;
        scythe_event evs[4];
        size_t k = 0;
        if (scythe_loop_run(&k, loop, evs, 4, 1000))
            return 0;
        for (size_t i = 0; i < k; i++)
            if (evs[i].kind == SCYTHE_EVENT_OUTPUT && sink_take(s, job))
                return 0;
    }
    return 0;
}

/* Requests and responses with a line-echo worker: one at a time, then a burst of small writes answered together. */
void test_channel_request_response(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    const char *argv[] = {"sh", "-c", "while read l; do echo \"r:$l\"; done; exit 7", NULL};
    scythe_spawn_options o = channel_options(argv, 1, 1);
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    sink s = {0};
    char line[64], want[64];
    int ok = 1;
    for (int i = 0; i < 200 && ok; i++) {
        int n = snprintf(line, sizeof line, "q%d\n", i);
        snprintf(want, sizeof want, "r:q%d\n", i);
        ok = scythe_job_write(job, (const uint8_t *)line, (size_t)n) == 0 && await_tail(loop, job, &s, want);
    }
    for (int i = 0; i < 100 && ok; i++) { /* one byte at a time: a write never waits for the pipe */
        int n = snprintf(line, sizeof line, "b%d\n", i);
        for (int j = 0; j < n && ok; j++)
            ok = scythe_job_write(job, (const uint8_t *)line + j, 1) == 0;
    }
    ok = ok && await_tail(loop, job, &s, "r:b99\n");
    size_t expect = 0;
    for (int i = 0; i < 200; i++)
        expect += (size_t)snprintf(line, sizeof line, "r:q%d\n", i);
    for (int i = 0; i < 100; i++)
        expect += (size_t)snprintf(line, sizeof line, "r:b%d\n", i);
    int sized = s.len == expect && memcmp(s.data, "r:q0\nr:q1\n", 10) == 0;
    scythe_event ev = {0};
    int outputs = 0, late = 0;
    int exited = ok && scythe_job_close_stdin(job) == 0 && run_to_exit(loop, job, &s, &ev, &outputs, &late);
    free(s.data);
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(ok && sized);
    CHECK(exited && ev.end == SCYTHE_END_EXITED && ev.exit_code == 7);
    CHECK(no_children());
}

/* CPU time of the calling thread. */
static int64_t thread_cpu_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* A worker writes 5 MB while the host does not read: the loop reads ahead 1 MiB and then leaves the pipe alone, without
 * spinning (a stdout fd left asking for EPOLLIN would wake it at once, every time); once the host reads, all of it comes,
 * in order. */
void test_channel_backpressure(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    const char *argv[] = {self_exe, "--child-channel-emit", "5242880", NULL};
    scythe_spawn_options o = channel_options(argv, 0, 1);
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    /* Not reading: the read-ahead fills, the worker blocks on its full pipe. */
    int64_t until = scythe__now_ns() + 10000000000LL;
    size_t buffered = 0;
    while (buffered < SCYTHE__CHANNEL_READ_AHEAD && scythe__now_ns() < until) {
        size_t k;
        scythe_event evs[4];
        CHECK_RC(scythe_loop_run(&k, loop, evs, 4, 100));
        for (size_t i = 0; i < k; i++)
            CHECK(evs[i].kind == SCYTHE_EVENT_OUTPUT);
        buffered = job->out_fifo.len; /* this thread runs the loop: no one else touches it now */
    }
    CHECK(buffered == SCYTHE__CHANNEL_READ_AHEAD && job->out_paused);
    int64_t cpu0 = thread_cpu_ns(), wall0 = scythe__now_ns();
    int runs = 0, events = 0;
    while (scythe__now_ns() - wall0 < 500000000LL) {
        size_t k;
        scythe_event evs[4];
        CHECK_RC(scythe_loop_run(&k, loop, evs, 4, 100));
        runs++;
        events += (int)k;
    }
    int64_t cpu = thread_cpu_ns() - cpu0;
    printf("     paused for 500 ms: %d runs, %d events, %.1f ms of loop CPU\n", runs, events, (double)cpu / 1e6);
    CHECK(job->out_fifo.len == SCYTHE__CHANNEL_READ_AHEAD && events == 0);
    CHECK(runs <= 10 && cpu < 50000000LL);
    sink s = {0};
    scythe_event ev = {0};
    int outputs = 0, late = 0;
    int taken = sink_take(&s, job) == 0;
    int exited = taken && run_to_exit(loop, job, &s, &ev, &outputs, &late);
    int ok = s.len == 5242880 && is_pattern(s.data, s.len);
    free(s.data);
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(exited && ok && late == 0);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    CHECK(no_children());
}

/* The worker fills the read-ahead and the pipe (1 MiB + 64 KiB hold 1100000 bytes), then closes its stdout while the
 * host does not read: the pipe, asked for no events, reports EPOLLHUP anyway, level-triggered. The loop takes the rest
 * of the pipe at once and closes it instead of spinning on it; every byte is there when the host reads. */
void test_channel_hangup_while_paused(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    char script[256];
    snprintf(script, sizeof script, "'%s' --child-channel-emit 1100000; exec >&-; sleep 0.6", self_exe);
    const char *argv[] = {"sh", "-c", script, NULL};
    scythe_spawn_options o = channel_options(argv, 0, 1);
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    int64_t until = scythe__now_ns() + 10000000000LL;
    while (job->out_fd[1] >= 0 && scythe__now_ns() < until) { /* events taken, bytes not */
        size_t k;
        scythe_event evs[4];
        CHECK_RC(scythe_loop_run(&k, loop, evs, 4, 100));
    }
    CHECK(job->out_fd[1] < 0 && job->out_fifo.len == 1100000 && job->state == J_RUNNING);
    int64_t cpu0 = thread_cpu_ns();
    for (int i = 0; i < 2; i++) {
        size_t k;
        scythe_event evs[4];
        CHECK_RC(scythe_loop_run(&k, loop, evs, 4, 100));
    }
    int64_t cpu = thread_cpu_ns() - cpu0;
    sink s = {0};
    scythe_event ev = {0};
    int outputs = 0, late = 0;
    int exited = sink_take(&s, job) == 0 && run_to_exit(loop, job, &s, &ev, &outputs, &late);
    int ok = s.len == 1100000 && is_pattern(s.data, s.len);
    free(s.data);
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(cpu < 50000000LL);
    CHECK(exited && ok && ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    CHECK(no_children());
}

static _Atomic int sigpipes;

static void count_sigpipe(int sig) {
    (void)sig;
    atomic_fetch_add(&sigpipes, 1);
}

typedef struct pipe_write {
    scythe_job *job;
    int rc, pending;
} pipe_write;

/* A host thread that does not block SIGPIPE (unlike the JVM, a C host may let it kill the process). */
static void *write_unblocked(void *arg) {
    pipe_write *p = arg;
    sigset_t s;
    sigemptyset(&s);
    sigaddset(&s, SIGPIPE);
    pthread_sigmask(SIG_UNBLOCK, &s, NULL);
    p->rc = scythe_job_write(p->job, (const uint8_t *)"hello\n", 6);
    sigpending(&s);
    p->pending = sigismember(&s, SIGPIPE);
    return NULL;
}

/* -EPIPE once the worker closed its stdin: found by the write itself (from a thread where SIGPIPE is not blocked: the
 * signal it raises is consumed, never delivered), or by the loop, which then closes the channel. */
void test_channel_epipe_after_the_job_closes_stdin(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    const char *argv[] = {"sh", "-c", "exec 0<&-; sleep 1", NULL};
    scythe_spawn_options o = channel_options(argv, 1, 0);
    int rc;
    scythe_job *direct = start(loop, &o, &rc);
    CHECK_RC(rc);
    usleep(300000); /* the loop does not run: the write finds the closed pipe */
    struct sigaction count = {.sa_handler = count_sigpipe}, old;
    sigemptyset(&count.sa_mask);
    sigaction(SIGPIPE, &count, &old);
    pipe_write p = {direct, 1, 1};
    pthread_t t;
    CHECK(pthread_create(&t, NULL, write_unblocked, &p) == 0);
    pthread_join(t, NULL);
    sigaction(SIGPIPE, &old, NULL);
    CHECK(p.rc == -EPIPE && p.pending == 0 && atomic_load(&sigpipes) == 0);
    CHECK(scythe_job_write(direct, (const uint8_t *)"x", 1) == -EPIPE);
    CHECK(scythe_job_close_stdin(direct) == -EALREADY);

    scythe_job *seen = start(loop, &o, &rc);
    CHECK_RC(rc);
    int64_t until = scythe__now_ns() + 300000000LL;
    while (scythe__now_ns() < until) { /* the loop sees EPOLLERR on stdin (asked for no events) and closes it */
        size_t k;
        CHECK_RC(scythe_loop_run(&k, loop, NULL, 0, 50));
    }
    CHECK(seen->out_fd[0] < 0);
    CHECK(scythe_job_write(seen, (const uint8_t *)"x", 1) == -EPIPE);
    scythe_event evs[2];
    CHECK(collect(loop, evs, 2) == 2);
    CHECK(evs[0].kind == SCYTHE_EVENT_EXIT && evs[1].kind == SCYTHE_EVENT_EXIT);
    CHECK(scythe_job_write(direct, (const uint8_t *)"x", 1) == -ESRCH);
    scythe_job_free(direct);
    scythe_job_free(seen);
    scythe_loop_free(loop);
    CHECK(no_children());
}

/* After the leader's exit a write says -ESRCH, a close -EALREADY; calls on streams that are not channels -EINVAL. */
void test_channel_calls_after_exit_and_on_other_modes(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    const char *argv[] = {"true", NULL};
    scythe_spawn_options o = channel_options(argv, 1, 0);
    scythe_job *job;
    scythe_event ev = run_one(loop, argv, &o, &job);
    CHECK(ev.kind == SCYTHE_EVENT_EXIT && ev.end == SCYTHE_END_EXITED);
    CHECK(scythe_job_write(job, (const uint8_t *)"x", 1) == -ESRCH);
    CHECK(scythe_job_close_stdin(job) == -EALREADY);
    uint8_t buf[8];
    size_t n = 1;
    CHECK(scythe_job_read(&n, job, buf, sizeof buf) == -EINVAL && n == 0); /* stdout was NULL */
    CHECK(scythe_job_write(job, NULL, 1) == -EINVAL);
    scythe_job_free(job);

    o = channel_options(argv, 0, 1);
    ev = run_one(loop, argv, &o, &job);
    CHECK(ev.kind == SCYTHE_EVENT_EXIT);
    scythe_output out;
    CHECK(scythe_job_output(&out, job, 1) == -EINVAL); /* a channel captures nothing */
    CHECK(scythe_job_write(job, (const uint8_t *)"x", 1) == -EINVAL);
    CHECK(scythe_job_close_stdin(job) == -EINVAL);
    CHECK(scythe_job_read(&n, job, buf, sizeof buf) == 0 && n == 0);
    CHECK(scythe_job_read(&n, job, NULL, 0) == 0 && n == 0);
    CHECK(scythe_job_read(&n, job, NULL, 1) == -EINVAL);
    scythe_job_free(job);

    scythe_spawn_options bad = channel_options(argv, 1, 1);
    bad.stdio[2].mode = SCYTHE_STDIO_CHANNEL; /* not for stderr */
    int rc;
    CHECK(start(loop, &bad, &rc) == NULL && rc == -EINVAL);
    bad = channel_options(argv, 1, 1);
    bad.stdio[0].input = (const uint8_t *)"x";
    bad.stdio[0].input_len = 1; /* a channel's stdin is written with scythe_job_write only */
    CHECK(start(loop, &bad, &rc) == NULL && rc == -EINVAL);
    bad = channel_options(argv, 1, 1);
    bad.stdio[1].mode = SCYTHE_STDIO_CHANNEL + 1;
    CHECK(start(loop, &bad, &rc) == NULL && rc == -EINVAL);
    scythe_loop_free(loop);
    CHECK(no_children());
}

/* scythe_job_close_stdin waits for the queued bytes: cat reads all of them, then end-of-file, and exits 0. */
void test_channel_close_stdin_after_queued_bytes(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    const char *argv[] = {"cat", NULL};
    scythe_spawn_options o = channel_options(argv, 1, 1);
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    size_t len = 1u << 20;
    uint8_t *data = malloc(len);
    CHECK(data);
    for (size_t i = 0; i < len; i++)
        data[i] = pattern_at(i);
    rc = scythe_job_write(job, data, len); /* the loop does not run: most of it is queued */
    free(data);
    CHECK_RC(rc);
    CHECK(job->in_fifo.len > 0 && job->in_polling);
    CHECK_RC(scythe_job_close_stdin(job));
    CHECK(scythe_job_close_stdin(job) == -EALREADY);
    CHECK(scythe_job_write(job, (const uint8_t *)"x", 1) == -EPIPE);
    sink s = {0};
    scythe_event ev = {0};
    int outputs = 0, late = 0;
    int exited = run_to_exit(loop, job, &s, &ev, &outputs, &late);
    int ok = s.len == len && is_pattern(s.data, len);
    free(s.data);
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(exited && ok);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    CHECK(no_children());
}

/* A channel lives as long as the leader: a grandchild that left the session (killpg does not reach it) and still holds
 * the stdout pipe, and the stderr pipe, cannot hold back the EXIT event until the drain grace (1 s) ends; what the
 * worker wrote to both is there. */
void test_channel_escapee_cannot_delay_the_exit(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    /* The shell waits a moment before it exits, so the escapee has called setsid() before the session is killed. */
    const char *argv[] = {"sh", "-c", "setsid sleep 30 </dev/null & echo $!; echo last words >&2; sleep 0.2; exit 3",
                          NULL};
    scythe_spawn_options o = channel_options(argv, 0, 1);
    o.stdio[2].mode = SCYTHE_STDIO_PIPE; /* held by the escapee too: it ends with the leader as the channel does */
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    sink s = {0};
    scythe_event ev = {0};
    int outputs = 0, late = 0;
    int exited = run_to_exit(loop, job, &s, &ev, &outputs, &late);
    int64_t took = scythe__now_ns() - ev.exit_ns; /* from the leader's exit to the host holding the EXIT event */
    char text[32] = {0};
    memcpy(text, s.data, s.len < sizeof text - 1 ? s.len : sizeof text - 1);
    free(s.data);
    int escapee = atoi(text);
    char state;
    int ppid;
    int escaped = escapee > 0 && session_of_full(escapee, &state, &ppid) == escapee; /* its own session, alive */
    if (escapee > 0)
        kill(escapee, SIGKILL); /* what this test started, by its pid */
    int gone = escapee <= 0 || pid_dead(escapee);
    printf("     EXIT event %.1f ms after the leader's exit; escapee %d\n", (double)took / 1e6, escapee);
    scythe_output err;
    CHECK_RC(scythe_job_output(&err, job, 2));
    CHECK(err.total == 11 && memcmp(err.head, "last words\n", 11) == 0);
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(exited && late == 0);
    CHECK(ev.end == SCYTHE_END_EXITED && ev.exit_code == 3);
    CHECK(took < 500000000LL);
    CHECK(escaped && gone);
    CHECK(strlen(text) >= 2 && text[strlen(text) - 1] == '\n');
    CHECK(no_children());
}

/* A job's OUTPUT events come before its EXIT event, also when the last bytes are only taken at the exit; the bytes
 * stay readable after the EXIT event. Repeated: the order must not depend on which fd epoll reports first. */
void test_channel_output_precedes_exit(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    const char *argv[] = {"sh", "-c", "echo a; sleep 0.02; echo b", NULL};
    for (int round = 0; round < 30; round++) {
        scythe_spawn_options o = channel_options(argv, 0, 1);
        int rc;
        scythe_job *job = start(loop, &o, &rc);
        CHECK_RC(rc);
        /* Events only, no reads until the EXIT: everything must still be there. */
        int64_t until = scythe__now_ns() + 10000000000LL;
        int exited = 0, outputs = 0, late = 0;
        while (!exited && scythe__now_ns() < until) {
            scythe_event evs[4];
            size_t k;
            CHECK_RC(scythe_loop_run(&k, loop, evs, 4, 1000));
            for (size_t i = 0; i < k; i++) {
                CHECK(evs[i].job == job);
                if (evs[i].kind == SCYTHE_EVENT_OUTPUT) {
                    outputs++;
                    late += exited;
                    CHECK(evs[i].pid == scythe_job_pid(job) && evs[i].end == 0 && evs[i].exit_ns == 0);
                } else {
                    exited = 1;
                }
            }
        }
        uint8_t buf[16];
        size_t n = 0;
        CHECK_RC(scythe_job_read(&n, job, buf, sizeof buf));
        size_t k;
        CHECK_RC(scythe_loop_run(&k, loop, NULL, 0, 20));
        scythe_job_free(job);
        CHECK(exited && outputs >= 1 && late == 0);
        CHECK(n == 4 && memcmp(buf, "a\nb\n", 4) == 0);
    }
    scythe_loop_free(loop);
    CHECK(no_children());
}

/* Freeing a job whose OUTPUT event waits (running, or completed with its EXIT behind it) takes the events off the
 * queue: the loop never hands out a freed job. (ASan sees a use after free otherwise.) */
void test_channel_free_with_output_waiting(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    const char *running[] = {"sh", "-c", "echo hi; sleep 30", NULL}, *done[] = {"sh", "-c", "echo hi", NULL};
    for (int which = 0; which < 2; which++) {
        scythe_spawn_options o = channel_options(which ? done : running, 0, 1);
        int rc;
        scythe_job *job = start(loop, &o, &rc);
        CHECK_RC(rc);
        int pid = scythe_job_pid(job);
        /* The finished one has exited before the loop looks: its output and its exit come in one batch. (The loop
         * stops looking at fds while events wait for the host.) */
        if (which)
            usleep(200000);
        int64_t until = scythe__now_ns() + 5000000000LL;
        size_t k;
        /* Capacity 0: runs until something is queued, and leaves it queued. */
        while (scythe__now_ns() < until && scythe__list_empty(&job->announced.link))
            CHECK_RC(scythe_loop_run(&k, loop, NULL, 0, 100));
        CHECK(!scythe__list_empty(&job->announced.link));
        CHECK(!which || (job->state == J_DONE && !scythe__list_empty(&job->queued.link)));
        scythe_job_free(job);
        scythe_event evs[4];
        int64_t quiet = scythe__now_ns() + 300000000LL;
        while (scythe__now_ns() < quiet) {
            CHECK_RC(scythe_loop_run(&k, loop, evs, 4, 50));
            CHECK(k == 0);
        }
        CHECK(session_gone(pid));
    }
    scythe_loop_free(loop);
    CHECK(no_children());
}

/* The output probe sees channel bytes: a worker that answers every 100 ms is not stalled by a 300 ms window. */
void test_channel_output_is_progress(void) {
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    const char *argv[] = {"sh", "-c", "for i in 1 2 3 4 5 6 7 8 9 10 11 12; do echo p; sleep 0.1; done", NULL};
    scythe_spawn_options o = channel_options(argv, 0, 1);
    o.stall_ns = 300000000LL;
    o.probes = SCYTHE_PROBE_OUTPUT;
    int rc;
    scythe_job *job = start(loop, &o, &rc);
    CHECK_RC(rc);
    sink s = {0};
    scythe_event ev = {0};
    int outputs = 0, late = 0;
    int exited = run_to_exit(loop, job, &s, &ev, &outputs, &late);
    size_t len = s.len;
    free(s.data);
    scythe_job_free(job);
    scythe_loop_free(loop);
    CHECK(exited && ev.end == SCYTHE_END_EXITED && ev.exit_code == 0);
    CHECK(len == 24);
    CHECK(no_children());
}

/* scythe_loop_free with channel jobs alive, bytes queued both ways: everything killed, reaped and freed (ASan). */
void test_channel_loop_free_with_live_jobs(void) {
    int fds = count_fds();
    scythe_loop *loop;
    CHECK_RC(scythe_loop_new(&loop));
    const char *sleeper[] = {"sleep", "30", NULL}, *talker[] = {"sh", "-c", "head -c 300000 /dev/zero; sleep 30", NULL};
    scythe_spawn_options o = channel_options(sleeper, 1, 1);
    int rc;
    scythe_job *a = start(loop, &o, &rc);
    CHECK_RC(rc);
    o.argv = talker;
    scythe_job *b = start(loop, &o, &rc);
    CHECK_RC(rc);
    uint8_t *data = calloc(1, 1u << 20);
    CHECK(data);
    rc = scythe_job_write(a, data, 1u << 20);
    free(data);
    CHECK_RC(rc);
    int64_t until = scythe__now_ns() + 5000000000LL;
    while (b->out_fifo.len < 300000 && scythe__now_ns() < until) { /* events taken, bytes not */
        size_t k;
        scythe_event evs[4];
        CHECK_RC(scythe_loop_run(&k, loop, evs, 4, 100));
    }
    CHECK(b->out_fifo.len == 300000);
    int pa = scythe_job_pid(a), pb = scythe_job_pid(b);
    scythe_loop_free(loop);
    CHECK(session_gone(pa) && session_gone(pb));
    CHECK(count_fds() == fds);
    CHECK(no_children());
}

int channel_child(int argc, char **argv) {
    if (argc > 2 && !strcmp(argv[1], "--child-channel-emit")) { /* writes argv[2] pattern bytes to stdout */
        size_t total = (size_t)strtoull(argv[2], NULL, 10), off = 0;
        static uint8_t buf[65536];
        while (off < total) {
            size_t n = total - off < sizeof buf ? total - off : sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = pattern_at(off + i);
            for (size_t done = 0; done < n;) {
                ssize_t w = write(1, buf + done, n - done);
                if (w < 0 && errno == EINTR)
                    continue; /* a signal: retry */
                if (w < 0)
                    return 1;
                done += (size_t)w;
            }
            off += n;
        }
        return 0;
    }
    return -1;
}
