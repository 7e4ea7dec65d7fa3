/* What the C test files share: the CHECK macros and the helpers of test_main.c (real processes, real kernel). */
#ifndef SCYTHE_TEST_H
#define SCYTHE_TEST_H

#include "../src/internal.h"
#include "../src/kill.h"

#include <stdio.h>

extern int failures_in_test;
extern scythe_loop *loop_keep;
extern const char *self_exe;

#define CHECK(cond)                                                                                                   \
    do {                                                                                                              \
        if (!(cond)) {                                                                                                \
            fprintf(stderr, "  %s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);                              \
            failures_in_test++;                                                                                       \
            return;                                                                                                   \
        }                                                                                                             \
    } while (0)
#define CHECK_RC(expr)                                                                                                \
    do {                                                                                                              \
        int rc_ = (expr);                                                                                             \
        if (rc_ != 0) {                                                                                               \
            fprintf(stderr, "  %s:%d: %s returned %d (%s)\n", __FILE__, __LINE__, #expr, rc_, scythe_strerror(rc_));  \
            failures_in_test++;                                                                                       \
            return;                                                                                                   \
        }                                                                                                             \
    } while (0)

int count_fds(void);
/* Session id of pid, or -1 if it is gone; its state letter and parent. */
int session_of_full(int pid, char *state_out, int *ppid_out);
/* Processes in session sid that still run, or zombies we should have reaped. */
int count_session(int sid);
/* Waits up to 5 s for the session to empty. */
int session_gone(int sid);
/* No unreaped child of ours, live or zombie. */
int no_children(void);
/* Dead (exited, or a zombie that is not ours to reap) within 5 s. */
int pid_dead(int pid);
/* Runs the loop (with no event expected) until dir is gone, up to 5 s: a freed job's cgroup leaves are removed by the
 * loop's thread when it is idle. 1 if gone. */
int dir_gone_after_idle(scythe_loop *loop, const char *dir);
/* Runs body in a new directory /tmp/PREFIX-XXXXXX, then removes the directory, also after a failed check in body (the
 * tree is the test's own), and checks that it is gone. */
void in_temp_dir(const char *prefix, void (*body)(const char *dir));
scythe_job *start(scythe_loop *loop, scythe_spawn_options *o, int *rc_out);
/* Runs the loop until `n` events arrive or 20 s pass; returns how many arrived. */
size_t collect(scythe_loop *loop, scythe_event *evs, size_t n);
scythe_event run_one(scythe_loop *loop, const char *const *argv, scythe_spawn_options *o, scythe_job **job);
int output_equals(scythe_job *job, int stream, const char *want);
/* This test program in a child mode, its stdout readable through *out; its pid. */
pid_t start_supervisor(const char *mode, const char *guard, FILE **out);
/* The scythe-guard executable the tests start ($SCYTHE_GUARD), or NULL after saying the test skips itself. */
const char *guard_exe_or_skip(void);
/* 1 if the machine offers caps, else prints why the test skips itself and returns 0. */
int need_caps(uint32_t caps, const char *what);

/* test_abi.c */
void test_abi_sizes_and_versions(void);
void test_older_header_gets_no_byte_past_its_struct(void);
void test_old_options_version_is_read_no_further(void);
void test_shared_token_basics(void);
void test_shared_token_claims_across_processes(void);
void test_shared_token_cancelled_by_another_process(void);
void test_shared_token_canceller_killed_mid_way(void);
void test_pass_token_hands_the_job_its_token(void);
void test_shared_token_spawn_out_of_memory_leaves_nothing(void);
int abi_child(int argc, char **argv); /* runs one of its child modes, or returns -1 */
/* test_hazards.c */
void test_event_queue_needs_no_memory(void);
void test_capture_out_of_memory(void);
void test_output_lost_is_reported(void);
void test_guard_table_full_refuses_the_spawn(void);
void test_session_signal_reaches_the_leader_once(void);
void test_abi_names_instead_of_numbers(void);
void test_loop_free_removes_the_leaves_of_live_jobs(void);
void test_cgroup_leaves_made_and_removed_when_idle(void);
void test_token_flip_looks_only_at_its_jobs(void);
void test_cgroup_emptied_is_told_not_polled(void);
void test_tree_walk_delays_no_other_job(void);
/* test_stress.c */
void test_stress_races_one_event_per_job(void);
void test_kill_session_never_signals_pid_0(void);
/* test_usage.c */
void test_wall_time_counts_the_exec(void);
void test_memory_peak_is_the_jobs_own(void);
void test_session_peak_is_unknown(void);
void test_memory_peak_of_a_running_job(void);
/* Runs a child mode of test_usage.c and returns its exit status, or -1 if argv names none. */
int usage_child(int argc, char **argv);

/* test_channel.c */
void test_channel_round_trip_cat(void);
void test_channel_request_response(void);
void test_channel_backpressure(void);
void test_channel_epipe_after_the_job_closes_stdin(void);
void test_channel_calls_after_exit_and_on_other_modes(void);
void test_channel_close_stdin_after_queued_bytes(void);
void test_channel_escapee_cannot_delay_the_exit(void);
void test_channel_output_precedes_exit(void);
void test_channel_free_with_output_waiting(void);
void test_channel_output_is_progress(void);
void test_channel_loop_free_with_live_jobs(void);
void test_channel_hangup_while_paused(void);
/* Runs a child mode of test_channel.c and returns its exit status, or -1 if argv names none. */
int channel_child(int argc, char **argv);
/* Runs a child mode of test_hazards.c and returns its exit status, or -1 if argv names none. */
int hazard_child(int argc, char **argv);

#endif
