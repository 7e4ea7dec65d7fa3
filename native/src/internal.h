/* Internal declarations shared by the C files of libscythe: the leaf utilities the concerns above them use (system
 * calls, allocation, capture, progress probes, regexes, cgroups, the token word). Nothing here is ABI.
 * The concerns above have headers of their own, so that a file's includes say what it depends on, and nothing depends
 * back on the loop:
 *   list.h     intrusive lists                        wake.h     waking loops from other threads (wake.c)
 *   job.h      the job and its public calls (job.c)   streams.h  stdin feeding, stdout/stderr draining, channels
 *                                                                (streams.c)
 *   kill.h     signals to a session (kill.c)          dossier.h  hang dossiers (dossier.c)
 *   cadence.h  what is due when (cadence.c)           guard.h    the crash guard's table and watch (guard.c)
 *   loop.h     what the spawn needs of the loop (loop.c)
 *   cgroup_layout.h  the machine's cgroup layout (cgroup_layout.c), for the leaves of cgroup.c */
#ifndef SCYTHE_INTERNAL_H
#define SCYTHE_INTERNAL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

/* Exports carry default visibility; the library is built with -fvisibility=hidden. */
#define SCYTHE_BUILDING 1
#include "scythe.h"
#include "list.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <limits.h>
#include <spawn.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

/* The library runs in multithreaded hosts (a JVM): a function that returns static storage is a race. Declared again
 * deprecated, so that with -Werror any use fails the build. */
#define SCYTHE__NOT_REENTRANT(instead) __attribute__((deprecated("not reentrant: use " instead)))
char *strtok(char *restrict s, const char *restrict delim) SCYTHE__NOT_REENTRANT("strtok_r");
char *strerror(int err) SCYTHE__NOT_REENTRANT("scythe_strerror");
struct tm *gmtime(const time_t *t) SCYTHE__NOT_REENTRANT("gmtime_r");
struct tm *localtime(const time_t *t) SCYTHE__NOT_REENTRANT("localtime_r");
char *asctime(const struct tm *tm) SCYTHE__NOT_REENTRANT("strftime");
char *ctime(const time_t *t) SCYTHE__NOT_REENTRANT("strftime");

#define SCYTHE__DEFAULT_CAPTURE (64u * 1024u)
#define SCYTHE__DEFAULT_GRACE_NS (2000000000LL)

/* ---- os_linux.c: thin wrappers over the syscalls glibc 2.34 lacks, each returning 0/fd or -errno ---- */
int64_t scythe__now_ns(void);
int scythe__os_pidfd_open(pid_t pid);
int scythe__os_pidfd_send_signal(int pidfd, int sig);
/* Reaps the exited process behind pidfd into ev: exit code or signal, rusage CPU time. Not ru_maxrss: our children
 * start on this process's address space (vfork semantics), and the exec folds its resident set into theirs. */
int scythe__os_reap(int pidfd, scythe_event *ev);
int scythe__os_probe_close_range(void);
int scythe__os_probe_waitid_pidfd(int pidfd);
/* Makes sure the kernel keeps our children's exit statuses for us: SIGCHLD back from SIG_IGN to SIG_DFL, SA_NOCLDWAIT
 * cleared. Called before every spawn. */
int scythe__os_keep_child_status(void);
/* Reaps the process behind pidfd if it exited: 1 (reaped, or already reaped by someone else), 0 (still running);
 * *exit_code is its exit status if it exited on its own, else -1 (killed by a signal, or status unknown). */
int scythe__os_reap_if_exited(int pidfd, int *exit_code);
/* Spawn attributes every child of ours gets: a session of its own, an empty signal mask and every signal at its
 * default disposition. 0 or -errno (then attr needs no destroy). */
int scythe__os_spawnattr_init(posix_spawnattr_t *attr);
/* Destroys either (NULL: skipped). */
void scythe__os_spawn_destroy(posix_spawn_file_actions_t *fa, posix_spawnattr_t *attr);
/* Blocks SIGPIPE in the calling thread: a write to a closed pipe then fails with EPIPE instead. */
void scythe__os_block_sigpipe(void);
/* One write to a pipe from any thread, which may not have SIGPIPE blocked (a host's thread): SIGPIPE is blocked around
 * it and, on EPIPE, the one the write raised is consumed. EINTR is retried. Bytes written, or -errno (-EAGAIN, -EPIPE). */
ssize_t scythe__os_write_pipe(int fd, const void *buf, size_t len);
/* Bytes the pipe behind fd holds now (FIONREAD), or 0 if that cannot be told. */
size_t scythe__os_pipe_pending(int fd);
void scythe__os_close(int fd);
/* Closes fd after taking it out of the epoll set epfd (-1: in none). Closing alone does not take it out while another
 * fd refers to the same open file: the copy a child being spawned by another thread holds between its clone and its
 * exec (or its close_range) is one. The set then goes on reporting the old registration, with a data pointer into a
 * job the host may have freed by then. */
void scythe__os_close_watched(int epfd, int fd);
/* Starts fn(arg) on a thread with every signal blocked (none is for a helper of ours): joinable into *joinable, or
 * detached if joinable is NULL. 0 or -errno. */
int scythe__os_start_helper(void *(*fn)(void *), void *arg, pthread_t *joinable);

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
    bool lost; /* memory ran out: head or tail shorter than asked (still the first and the last bytes) */
} scythe__capture;

void scythe__capture_init(scythe__capture *c, size_t head_cap, size_t tail_cap);
/* 0, or -ENOMEM if memory ran out for some of these bytes (then `lost` is set; the capture stays true). */
int scythe__capture_append(scythe__capture *c, const uint8_t *data, size_t n);
/* Makes the tail linear for scythe__capture_view; needs no memory. */
void scythe__capture_finish(scythe__capture *c);
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
/* The inotify fd is readable. If the watch limit runs out, the tree is walked from now on and the inotify fd leaves
 * the epoll set epfd and is closed. */
void scythe__progress_inotify(scythe__progress *p, int64_t now, int epfd);
/* Samples heartbeat and walk probes that are due; returns the time the stall window ends (last progress + window) and
 * lowers *due to the next sampling time. */
int64_t scythe__progress_poll(scythe__progress *p, int64_t now, int64_t *due);
int64_t scythe__progress_last(scythe__progress *p); /* what a walking thread found so far included */
uint32_t scythe__progress_flags(const scythe__progress *p);
/* Leader's CPU time (its own and its reaped children's), or -errno. */
int64_t scythe__os_proc_cpu_ns(pid_t pid);

/* ---- regex.c ---- */
#include <regex.h>
/* Compiles regex in the one dialect of the library: POSIX extended, REG_NEWLINE, REG_NOSUB. -EINVAL, -ENOMEM. */
int scythe__regex_compile(regex_t *re, const char *regex);

/* ---- cgroup.c ---- */
#define SCYTHE__SPARE_LEAVES 8 /* spare cgroups a loop keeps made ahead (loop.c) */
#define SCYTHE__RETIRED_MAX 64 /* retired cgroups a loop lets wait for a quiet moment before removing them anyway */
#define SCYTHE__QUIET_NS 1000000LL /* a loop is quiet after this long without an fd event */
#define SCYTHE__LINGER_NS 1000000LL /* how long a loop waits for the exits of jobs it has just killed (loop.c) */
typedef struct scythe__cgroup {
    scythe__list link;     /* on its loop's spares or retired leaves (loop.c), when no job holds it */
    bool active;
    bool memory_limited, process_limited; /* the job was given these limits, which the kernel enforces in its leaves */
    char dir[3][PATH_MAX]; /* v2 leaf; the leaf that counts the job's memory (and holds its limit if any), the one with
                              its process limit: v1's, or the v2 leaf where v2 holds the limit ("": none) */
    int procs_fd[3];       /* their cgroup.procs, written by the child before exec; -1 if none */
    /* Opened with the leaves (off the exit's path: a spare's are opened when the loop is idle), read with pread at the
     * exit, where an open and a close of each would cost more than the read; -1 if not open (then read by path). */
    int events_fd;         /* the v2 leaf's cgroup.events; also in the loop's epoll set while it waits for it to empty */
    int cpu_fd;            /* the v2 leaf's cpu.stat */
    int peak_fd;           /* memory.peak (v2) or memory.max_usage_in_bytes (v1): the leaf that counts the memory */
    bool events_watched;   /* events_fd is in the loop's epoll set */
} scythe__cgroup;
uint32_t scythe__cgroup_caps(void);
void scythe__cgroup_init(scythe__cgroup *cg);
/* Makes the job's leaves (those a spare did not bring) and sets its limits; on failure nothing of them is left. */
int scythe__cgroup_create(scythe__cgroup *cg, int64_t memory_limit, int64_t process_limit);
/* A spare: the leaves every contained job gets (v2, and v1 memory where only v1 has it), made ahead of any job, their
 * cgroup.procs open, for scythe__cgroup_create to complete. A loop keeps a few (loop.c). 0 or -errno. */
int scythe__cgroup_spare(scythe__cgroup *cg);
void scythe__cgroup_close_procs(scythe__cgroup *cg);
/* Closes the files the exit reads (cgroup.events, cpu.stat, the peak): a retired leaf, read for the last time, keeps
 * no fd while it waits for its removal (up to SCYTHE__RETIRED_MAX of them per loop). */
void scythe__cgroup_close_files(scythe__cgroup *cg);
int scythe__cgroup_kill(scythe__cgroup *cg);
bool scythe__cgroup_populated(scythe__cgroup *cg);
/* The v2 leaf's cgroup.events, opened once (with the leaf, else now), for epoll: EPOLLPRI (and EPOLLERR) when it
 * changes, until read again (scythe__cgroup_populated reads it through this fd). The fd, or -errno. Closed by destroy. */
int scythe__cgroup_events_fd(scythe__cgroup *cg);
int scythe__cgroup_check(scythe__cgroup *cg); /* SCYTHE_END_MEMORY / _PROCESSES once a limit was hit, else 0 */
int64_t scythe__cgroup_cpu_ns(scythe__cgroup *cg, int64_t *user_ns, int64_t *sys_ns);
int64_t scythe__cgroup_peak_kib(scythe__cgroup *cg);
/* Kills everything in the job's cgroup and waits (up to 1 s) until the kernel has emptied it, so that its leaves can be
 * removed: for a job scythe_loop_free() ends, which cannot wait for the loop to see it empty. */
void scythe__cgroup_settle(scythe__cgroup *cg);
void scythe__cgroup_destroy(scythe__cgroup *cg);
/* This process's parent of all its leaves in hierarchy 0 (v2), 1 (v1 memory) or 2 (v1 pids); "" if unusable. */
const char *scythe__cgroup_parent(int hierarchy);
void scythe__cgroup_release_parents(void); /* removes the parents where no leaf is left in them */

/* ---- clone_spawn.c: the spawn of the cgroup level ---- */
/* The child joins the leaves of procs_fd, then execs; *start_ns is the time just before the clone. token_fd >= 0: the
 * job gets it as its fd 3. */
int scythe__clone_spawn(pid_t *pid, int *pidfd, int64_t *start_ns, const scythe_spawn_options *o,
                        const int child_fd[3], const int procs_fd[3], int token_fd);

/* ---- token.c ---- */
struct scythe_token {
    _Atomic uint64_t state;                               /* the word of a token that is not shared */
    _Atomic uint64_t *word;                               /* &state, or the word in the shared file's mapping */
    int fd;                                               /* shared: this process's own open of the file; else -1 */
    void *map;                                            /* shared: the file's mapping (one page) */
    _Atomic uint32_t refs;
    scythe_token *parent;                                 /* holds a reference */
    scythe_token *first_child, *next_sibling, *prev_sibling; /* guarded by the token tree lock */
    scythe__list watches;                                 /* its jobs' scythe__token_watch, under the same lock */
};

/* A job attached to a token: when the token (or an ancestor) flips, the flip hands the job to its loop at once
 * (scythe__wake_for), so a cancel or a claim costs the jobs attached to the token, not every job of every loop. */
typedef struct scythe__token_watch {
    scythe__list link;                /* on the token's watches while attached */
    struct scythe__waker *waker;
    struct scythe__wake_node *node;
} scythe__token_watch;

void scythe__token_ref(scythe_token *t);
/* Attaches / detaches a watch (idempotent). Take the token tree lock: never call them holding a lock a flip takes. */
void scythe__token_watch_add(scythe_token *t, scythe__token_watch *w);
void scythe__token_watch_remove(scythe__token_watch *w);
static inline uint64_t scythe__token_state(const scythe_token *t) {
    return atomic_load_explicit(t->word, memory_order_acquire);
}
/* A shared token's word changed in another process (a loop's inotify saw its file announce it): its jobs are handed to
 * their loops and its descendants here are cancelled, as a local flip would have done. Idempotent; takes the tree lock. */
void scythe__token_seen_flipped(scythe_token *t);

#endif
