/* Internal declarations shared by the C files of libscythe. Nothing here is ABI. */
#ifndef SCYTHE_INTERNAL_H
#define SCYTHE_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

/* Exports carry default visibility; the library is built with -fvisibility=hidden. */
#define SCYTHE_BUILDING 1
#include "scythe.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <limits.h>
#include <sys/types.h>

#include "list.h"

#define SCYTHE__DEFAULT_CAPTURE (64u * 1024u)
#define SCYTHE__DEFAULT_GRACE_NS (2000000000LL)
/* How long a completed leader's pipes may stay open (held by a process outside its group) before we close them. */
#define SCYTHE__DRAIN_GRACE_NS (1000000000LL)

/* ---- os_linux.c: thin wrappers over the syscalls glibc 2.34 lacks, each returning 0/fd or -errno ---- */
int64_t scythe__now_ns(void);
int scythe__os_pidfd_open(pid_t pid);
int scythe__os_pidfd_send_signal(int pidfd, int sig);
/* Reaps the exited process behind pidfd into ev: exit code or signal, rusage CPU time and max RSS. */
int scythe__os_reap(int pidfd, scythe_event *ev);
int scythe__os_probe_close_range(void);
int scythe__os_probe_waitid_pidfd(int pidfd);
/* Makes sure the kernel keeps our children's exit statuses for us: SIGCHLD back from SIG_IGN to SIG_DFL, SA_NOCLDWAIT
 * cleared. Called before every spawn. */
int scythe__os_keep_child_status(void);
/* Reaps the process behind pidfd if it exited: 1 (reaped, or already reaped by someone else), 0 (still running);
 * *exit_code is its exit status if it exited on its own, else -1 (killed by a signal, or status unknown). */
int scythe__os_reap_if_exited(int pidfd, int *exit_code);
void scythe__os_close(int fd);

/* ---- alloc.c: every allocation of the library, released with free() ---- */
void *scythe__malloc(size_t n);
void *scythe__calloc(size_t n, size_t size);
void *scythe__realloc(void *p, size_t n);
char *scythe__strdup(const char *s);
/* Fault injection, for the C tests only: -1 (always, outside them) lets every allocation through; n >= 0 lets n more
 * through, then every one fails until it is set back to -1. */
extern _Atomic int64_t scythe__alloc_budget;

/* ---- output.c: head-and-tail capture of one stream ---- */
typedef struct scythe__capture {
    uint8_t *head;
    size_t head_len, head_alloc, head_cap;
    uint8_t *tail; /* ring of tail_cap bytes once anything overflowed the head; linear after finish */
    size_t tail_len, tail_pos, tail_cap;
    uint64_t total;
} scythe__capture;

void scythe__capture_init(scythe__capture *c, size_t head_cap, size_t tail_cap);
int scythe__capture_append(scythe__capture *c, const uint8_t *data, size_t n);
int scythe__capture_finish(scythe__capture *c);
void scythe__capture_view(const scythe__capture *c, scythe_output *out);
void scythe__capture_free(scythe__capture *c);

/* ---- progress.c: stall windows and progress probes ---- */
typedef struct scythe__progress scythe__progress;
/* Sets up the probes of a spawn (before the child starts, so a tree is watched from its first change). */
int scythe__progress_new(scythe__progress **out, const scythe_spawn_options *o);
void scythe__progress_free(scythe__progress *p);
int scythe__progress_fd(const scythe__progress *p);  /* inotify fd to poll, or -1 */
void scythe__progress_start(scythe__progress *p, int64_t now);
void scythe__progress_mark(scythe__progress *p, int64_t now);
/* New output on stream 1/2: progress if the probe counts bytes, or for each complete line the regex matches. */
void scythe__progress_output(scythe__progress *p, int stream, const uint8_t *data, size_t n, int64_t now);
void scythe__progress_inotify(scythe__progress *p, int64_t now); /* the inotify fd is readable */
/* Samples heartbeat and walk probes that are due; returns the time the stall window ends (last progress + window) and
 * lowers *due to the next sampling time. */
int64_t scythe__progress_poll(scythe__progress *p, int64_t now, int64_t *due);
int64_t scythe__progress_last(const scythe__progress *p);
uint32_t scythe__progress_flags(const scythe__progress *p);
/* Leader's CPU time (its own and its reaped children's), or -errno. */
int64_t scythe__os_proc_cpu_ns(pid_t pid);

/* ---- regex.c ---- */
#include <regex.h>
/* Compiles regex in the one dialect of the library: POSIX extended, REG_NEWLINE, REG_NOSUB. -EINVAL, -ENOMEM. */
int scythe__regex_compile(regex_t *re, const char *regex);

/* ---- cgroup.c ---- */
typedef struct scythe__cgroup {
    bool active;
    char dir[3][PATH_MAX]; /* v2 leaf, v1 memory leaf, v1 pids leaf ("" if none) */
    int procs_fd[3];       /* their cgroup.procs, written by the child before exec; -1 if none */
} scythe__cgroup;
uint32_t scythe__cgroup_caps(void);
void scythe__cgroup_init(scythe__cgroup *cg);
int scythe__cgroup_create(scythe__cgroup *cg, int64_t memory_limit, int64_t process_limit);
void scythe__cgroup_close_procs(scythe__cgroup *cg);
int scythe__cgroup_kill(scythe__cgroup *cg);
bool scythe__cgroup_populated(scythe__cgroup *cg);
int scythe__cgroup_check(scythe__cgroup *cg); /* SCYTHE_END_MEMORY / _PROCESSES once a limit was hit, else 0 */
int64_t scythe__cgroup_cpu_ns(scythe__cgroup *cg, int64_t *user_ns, int64_t *sys_ns);
int64_t scythe__cgroup_peak_kib(scythe__cgroup *cg);
void scythe__cgroup_destroy(scythe__cgroup *cg);
/* This process's parent of all its leaves in hierarchy 0 (v2), 1 (v1 memory) or 2 (v1 pids); "" if unusable. */
const char *scythe__cgroup_parent(int hierarchy);
void scythe__cgroup_release_parents(void); /* removes the parents where no leaf is left in them */

/* ---- clone_spawn.c: the spawn of the cgroup level ---- */
int scythe__clone_spawn(pid_t *pid, int *pidfd, const scythe_spawn_options *o, const int child_fd[3],
                        const int procs_fd[3]);

/* ---- guard.c ---- */
int scythe__guard_add(pid_t pid);   /* slot + 1, or 0 without a guard */
/* Links a new loop into the global list (scythe__loop_link) under the guard's lock, so it watches the current guard. */
int scythe__guard_attach(scythe_loop *loop);
/* A loop saw the guard's pidfd readable. If the guard died: reaps it, starts a new one on the same table (or leaves
 * none if that fails, or if the guard exited on its own) and returns true; false if the guard runs (another loop
 * already replaced it). */
bool scythe__guard_check(void);
void scythe__guard_remove(int slot); /* before the leader is reaped, so the guard never sees a recycled pid */

/* ---- token.c ---- */
struct scythe_token {
    _Atomic uint64_t state;
    _Atomic uint32_t refs;
    scythe_token *parent;                                 /* holds a reference */
    scythe_token *first_child, *next_sibling, *prev_sibling; /* guarded by the token tree lock */
};

void scythe__token_ref(scythe_token *t);
static inline uint64_t scythe__token_state(const scythe_token *t) {
    return atomic_load_explicit(&((scythe_token *)t)->state, memory_order_acquire);
}

/* ---- loop.c ---- */
enum scythe__watch_kind { W_EVENTFD, W_TIMER, W_PIDFD, W_STDOUT, W_STDERR, W_STDIN, W_INOTIFY, W_GUARD };

typedef struct scythe__watch {
    scythe_job *job; /* NULL for the loop's own fds */
    int kind;
} scythe__watch;

enum scythe__job_state {
    J_RUNNING,  /* leader alive */
    J_KILLING,  /* TERM (or KILL) sent to the session, waiting for the leader */
    J_REAPED,   /* leader reaped; draining output */
    J_DONE      /* event queued (or job freed if detached) */
};

struct scythe_job {
    scythe_loop *loop;
    scythe__list queued;       /* on the loop's queue while its event waits for the host: queueing never allocates */
    scythe_job *prev, *next; /* the loop's list of jobs not yet done */
    pid_t pid;
    int pidfd;
    int state;
    int end;                   /* SCYTHE_END_* once decided by us (timeout/cancel), else 0 */
    uint32_t cancel_reason;
    /* The cancel door: 0 (open), SCYTHE_TOKEN_CANCELLED_BIT | reason (a request from any thread, by compare-and-set
     * from 0), or SCYTHE__CANCEL_CLOSED once the loop decided the job's end (see scythe__close_cancel_door). */
    _Atomic uint64_t cancel_request;
    bool detached;             /* freed by the host before completion: no event, freed by the loop */
    bool killed_hard;          /* SIGKILL already sent */
    scythe_token *token;
    int32_t claim_index;       /* -1: this job's exit never claims its token */
    uint64_t claim_codes[4];   /* exit statuses that claim */
    int64_t deadline_ns;       /* wall-clock limit, 0 none */
    int64_t grace_ns;
    int64_t kill_at_ns;        /* KILL escalation time while J_KILLING */
    int64_t drain_until_ns;    /* while J_REAPED */
    int out_fd[3];             /* our ends: [0] stdin write end, [1] stdout, [2] stderr read ends; -1 closed */
    uint8_t *input;
    size_t input_len, input_off;
    bool capture[3];
    scythe__capture cap[3];    /* [1] and [2] used */
    scythe__watch watch[5];    /* pidfd, stdout, stderr, stdin, inotify */
    scythe__progress *progress; /* stall window and probes, or NULL */
    int64_t cpu_limit_ns;
    int64_t next_cpu_check_ns;
    int guard_slot;            /* listed in the guard's table: slot + 1, or 0 */
    char *dossier_dir;         /* write a hang dossier here on an overrun, or NULL */
    scythe__cgroup *cgroup;    /* the cgroup level, or NULL */
    int64_t next_cg_check_ns;
    scythe_event ev;
};

struct scythe_loop {
    pthread_mutex_t lock;
    int epfd, evfd, tfd;
    scythe__watch evfd_watch, timer_watch, guard_watch;
    scythe_job *jobs;          /* every job the host has not freed */
    scythe_job *graveyard;     /* detached jobs completed during this batch, freed at its end */
    size_t live;
    scythe__list queue;        /* completed jobs whose event the host has not read, oldest first (by `queued`) */
    int64_t armed_ns;          /* timer currently armed for this time, 0 none */
    int64_t next_due;          /* earliest known due time (may be early, never late), 0 none */
    _Atomic int interrupt;
    bool sweep_now;            /* a claim in this batch: preempt the token's other jobs before returning */
    scythe_loop *gprev, *gnext; /* global list, for token wake-ups */
    uint8_t scratch[64 * 1024];
};

/* Wakes every live loop so it re-checks its jobs' tokens (token.c calls this after a cancel). */
void scythe__loops_wake_all(void);
void scythe__loop_wake(scythe_loop *loop);
/* Adds a new loop to the global list, watching the guard's pidfd if >= 0 (guard.c calls it under its lock). */
int scythe__loop_link(scythe_loop *loop, int guard_pidfd);
/* Every loop stops watching old_pidfd and watches new_pidfd (either may be -1); guard.c calls it under its lock. */
void scythe__loops_watch_guard(int old_pidfd, int new_pidfd);
/* Registers a freshly spawned job (spawn.c). Takes the loop lock. */
int scythe__loop_add(scythe_loop *loop, scythe_job *job);

/* ---- kill.c ---- */
#define SCYTHE__CANCEL_CLOSED (UINT64_C(1) << 63) /* never a request: those are SCYTHE_TOKEN_CANCELLED_BIT | reason */
/* Closes the job's cancel door for good and returns the request that got in first (SCYTHE_TOKEN_CANCELLED_BIT |
 * reason), or 0. The loop calls it whenever it decides how a running job ends (its exit observed, a timeout, a stall,
 * a limit, a token); a request found there wins: the end is SCYTHE_END_CANCELLED with its reason. */
uint64_t scythe__close_cancel_door(scythe_job *job);
/* Sends sig to the job's whole session: the leader through its pidfd, the rest of the group by killpg. Only while
 * the leader is unreaped, so the group id cannot have been reused; afterwards -ESRCH. */
int scythe__kill_session(scythe_job *job, int sig);
/* Starts ending a running job for `end` (SCYTHE_END_TIMEOUT / _CANCELLED / ...): TERM + CONT, KILL after the grace.
 * Closes the cancel door first: a pending scythe_job_cancel request turns `end` into CANCELLED with its reason. */
void scythe__terminate(scythe_job *job, int end, uint32_t reason, int64_t now);
/* Sends KILL if the grace of a terminating job has run out. */
void scythe__escalate(scythe_job *job, int64_t now);

/* ---- dossier.c ---- */
/* Writes the hang dossier for `job` (overrunning: `why`) into its dossier_dir, covering every live job of its loop.
 * Called by the loop, before the kill. */
int scythe__dossier_write(scythe_job *job, const char *why);

/* ---- spawn.c ---- */
void scythe__job_release(scythe_job *job); /* closes fds, frees buffers and the token reference */

#endif
