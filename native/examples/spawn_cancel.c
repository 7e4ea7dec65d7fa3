/*
 * spawn_cancel.c - libscythe from plain C: spawn, wait, cancel through a token.
 *
 * Starts `sleep 30` attached to a cancel token and `sh -c 'exit 3'`, waits for the second's event and prints its
 * exit code, then cancels the token and waits for the sleep's event, which says CANCELLED with the token's reason.
 * Exits 0 when that is what happened.
 *
 *   cc -std=c11 -Wall -Wextra -Werror spawn_cancel.c $(pkg-config --cflags --libs scythe) -o spawn_cancel
 *   ./spawn_cancel [GUARD]
 *
 * GUARD, or else the environment variable SCYTHE_GUARD, is the scythe-guard executable
 * (pkg-config --variable=guard scythe); with neither, the example runs without the guard, so a kill -9 of it
 * would leave its sleep running.
 */
#include <scythe.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

enum { SLEEPER = 1, QUITTER = 2 }; /* user_data of the two jobs */

static int failed(const char *what, int rc) {
    fprintf(stderr, "spawn_cancel: %s failed: %d (%s)\n", what, rc, scythe_strerror(rc));
    return 1;
}

static const char *end_name(int32_t end) {
    switch (end) {
    case SCYTHE_END_EXITED: return "EXITED";
    case SCYTHE_END_SIGNALED: return "SIGNALED";
    case SCYTHE_END_TIMEOUT: return "TIMEOUT";
    case SCYTHE_END_CANCELLED: return "CANCELLED";
    case SCYTHE_END_STALLED: return "STALLED";
    case SCYTHE_END_CPU_LIMIT: return "CPU_LIMIT";
    case SCYTHE_END_MEMORY: return "MEMORY";
    case SCYTHE_END_PROCESSES: return "PROCESSES";
    case SCYTHE_END_LOST: return "LOST";
    default: return "an end this header does not know"; /* a newer library may add ends: never an error */
    }
}

/* Runs the loop until the EXIT event of the job spawned with `user_data`, for at most 10 s. Other events (OUTPUT
 * events, or kinds a newer library adds) are not for us here: skipped. */
static int wait_for(scythe_loop *loop, uint64_t user_data, scythe_event *out) {
    for (int waited_ms = 0; waited_ms < 10000; waited_ms += 500) {
        scythe_event events[8];
        size_t n;
        int rc = scythe_loop_run(&n, loop, events, 8, 500);
        if (rc < 0)
            return failed("scythe_loop_run", rc);
        for (size_t i = 0; i < n; i++)
            if (events[i].kind == SCYTHE_EVENT_EXIT && events[i].user_data == user_data) {
                *out = events[i];
                return 0;
            }
    }
    fprintf(stderr, "spawn_cancel: no event for job %" PRIu64 " within 10 s\n", user_data);
    return 1;
}

static int spawn(scythe_job **job, scythe_loop *loop, const char *const *argv, scythe_token *token,
                 uint64_t user_data) {
    scythe_spawn_options opts = SCYTHE_SPAWN_OPTIONS_INIT; /* stdin /dev/null, stdout and stderr captured */
    opts.argv = argv;
    opts.token = token;
    opts.user_data = user_data;
    int rc = scythe_spawn(job, loop, &opts);
    return rc < 0 ? failed("scythe_spawn", rc) : 0;
}

static int story(scythe_loop *loop, scythe_token *token, scythe_job **sleeper, scythe_job **quitter) {
    static const char *const sleep_argv[] = {"sleep", "30", NULL};
    static const char *const quit_argv[] = {"sh", "-c", "exit 3", NULL};
    if (spawn(sleeper, loop, sleep_argv, token, SLEEPER) || spawn(quitter, loop, quit_argv, NULL, QUITTER))
        return 1;
    printf("spawned: sleep 30 (pid %" PRId32 ", on the token), sh -c 'exit 3' (pid %" PRId32 ")\n",
           scythe_job_pid(*sleeper), scythe_job_pid(*quitter));

    scythe_event ev;
    if (wait_for(loop, QUITTER, &ev))
        return 1;
    printf("sh: %s, exit code %" PRId32 "\n", end_name(ev.end), ev.exit_code);
    if (ev.end != SCYTHE_END_EXITED || ev.exit_code != 3)
        return 1;

    /* Any thread could do this (or flip a token it shares with other processes); the loop kills the attached jobs. */
    int rc = scythe_token_cancel(token, SCYTHE_REASON_USER);
    if (rc < 0)
        return failed("scythe_token_cancel", rc);
    if (wait_for(loop, SLEEPER, &ev))
        return 1;
    printf("sleep: %s, reason %" PRIu32 ", signal %" PRId32 ", %.1f ms after its start\n", end_name(ev.end),
           ev.cancel_reason, ev.term_signal, (double)(ev.exit_ns - ev.start_ns) / 1e6);
    return ev.end == SCYTHE_END_CANCELLED && ev.cancel_reason == SCYTHE_REASON_USER ? 0 : 1;
}

int main(int argc, char **argv) {
    uint32_t abi = scythe_abi_version(), v = scythe_version();
    printf("libscythe %" PRIu32 ".%" PRIu32 ".%" PRIu32 ", ABI %" PRIu32 ".%" PRIu32 " (compiled against ABI %d.%d)\n",
           v >> 16, (v >> 8) & 0xff, v & 0xff, abi >> 16, abi & 0xffff, SCYTHE_ABI_MAJOR, SCYTHE_ABI_MINOR);
    /* Same major, and a minor at least as high as the header's: everything this program uses is there. */
    if (abi >> 16 != SCYTHE_ABI_MAJOR || (abi & 0xffff) < SCYTHE_ABI_MINOR) {
        fprintf(stderr, "spawn_cancel: the loaded library's ABI %" PRIu32 ".%" PRIu32 " cannot run a program built"
                        " for ABI %d.%d\n", abi >> 16, abi & 0xffff, SCYTHE_ABI_MAJOR, SCYTHE_ABI_MINOR);
        return 1;
    }

    const char *guard = argc > 1 ? argv[1] : getenv("SCYTHE_GUARD");
    if (guard && guard[0]) {
        int rc = scythe_guard_start(guard); /* -EALREADY: this process has one already */
        if (rc < 0 && rc != -EALREADY)
            return failed("scythe_guard_start", rc);
        printf("guard: pid %" PRId32 "\n", scythe_guard_pid());
    } else {
        printf("guard: none (no path given, nor SCYTHE_GUARD)\n");
    }

    scythe_loop *loop = NULL;
    scythe_token *token = NULL;
    scythe_job *sleeper = NULL, *quitter = NULL;
    int rc = scythe_loop_new(&loop);
    if (rc < 0)
        return failed("scythe_loop_new", rc);
    int status = (rc = scythe_token_new(&token, NULL)) < 0 ? failed("scythe_token_new", rc)
                                                           : story(loop, token, &sleeper, &quitter);
    /* Free each handle once; *_free(NULL) does nothing. A job still running here (a failed story) is killed. */
    scythe_job_free(sleeper);
    scythe_job_free(quitter);
    scythe_token_free(token);
    scythe_loop_free(loop);
    printf("%s\n", status == 0 ? "spawn_cancel: ok" : "spawn_cancel: FAILED");
    return status;
}
