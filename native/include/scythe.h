/*
 * scythe.h - the whole public ABI of libscythe, Scythe's native process supervisor core.
 *
 * Conventions (see docs/architecture.md):
 *  - Every fallible function returns 0 on success or a negative errno value; out-parameters come first.
 *    errno itself is never part of the contract.
 *  - Handles are opaque. Every *_free(NULL) is a no-op.
 *  - Option structs start with `int version` and are initialised with their *_INIT macro (or *_init function
 *    for hosts without a C preprocessor), so fields can be added without breaking old callers: the library copies
 *    the caller's struct, as long as its version says it is, into its own layout with defaults for the rest.
 *  - A struct the library writes into the caller's memory (scythe_event, scythe_output) starts with `size`, the
 *    bytes the library wrote, and every call that fills one takes the caller's sizeof: a host built against an older
 *    header gets the fields it knows and nothing past them. C hosts call the inline wrappers below
 *    (scythe_loop_run, scythe_job_output), which pass the sizeof of the header they were compiled with.
 *  - ABI stability rules, thread safety and blocking of every function: docs/abi.md. Anything marked
 *    EXPERIMENTAL may change in a minor version.
 *  - Times are nanoseconds of CLOCK_MONOTONIC unless a name says otherwise.
 *
 * Threading: a scythe_loop is driven by exactly one thread calling scythe_loop_run(). scythe_spawn(),
 * scythe_job_cancel(), scythe_job_free(), scythe_loop_wakeup(), the channel calls (scythe_job_write,
 * scythe_job_close_stdin, scythe_job_read) and every scythe_token_* function may be called from any thread (scythe_job_free: see there for a job whose event the loop may already have returned).
 */
#ifndef SCYTHE_H
#define SCYTHE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(SCYTHE_BUILDING) && defined(__GNUC__)
#define SCYTHE_API __attribute__((visibility("default")))
#else
#define SCYTHE_API
#endif

/* ---- versions ------------------------------------------------------------------------------------------- */

#define SCYTHE_VERSION_MAJOR 0
#define SCYTHE_VERSION_MINOR 6
#define SCYTHE_VERSION_PATCH 0
/* (major << 16) | (minor << 8) | patch, as returned by scythe_version(). */
#define SCYTHE_VERSION_NUMBER ((SCYTHE_VERSION_MAJOR << 16) | (SCYTHE_VERSION_MINOR << 8) | SCYTHE_VERSION_PATCH)

/* The version of the library actually loaded; a host refuses a different major. */
SCYTHE_API uint32_t scythe_version(void);

/* (since 0.6) The ABI: the soname carries its major (libscythe.so.0). A minor adds (functions, constants, fields at
 * the end of a struct, with a new options version); only a major removes or changes. A host built against ABI
 * major.minor runs on any library of the same major and a minor at least as high. */
#define SCYTHE_ABI_MAJOR 0
#define SCYTHE_ABI_MINOR 6
/* (major << 16) | minor, as returned by scythe_abi_version(). */
#define SCYTHE_ABI_NUMBER ((SCYTHE_ABI_MAJOR << 16) | SCYTHE_ABI_MINOR)
SCYTHE_API uint32_t scythe_abi_version(void);

/* ---- capabilities ----------------------------------------------------------------------------------------- */

/* The kernel's are probed once, at the first call to scythe_capabilities(). The three SPAWN_* bits are facts of the
 * build instead: the library calls glibc 2.34's posix_spawn_file_actions_addclosefrom_np and _addchdir_np and uses
 * POSIX_SPAWN_SETSID directly, so the dynamic linker refuses to load it with a C library that lacks them, and a loaded
 * library always reports them. (A probe by spawning would cost every host a process at load, and turn a passing
 * EAGAIN into "unsupported" for good.) */
#define SCYTHE_CAP_PIDFD_OPEN        0x0001u /* pidfd_open(2): required */
#define SCYTHE_CAP_PIDFD_SEND_SIGNAL 0x0002u /* pidfd_send_signal(2): required */
#define SCYTHE_CAP_WAITID_PIDFD      0x0004u /* waitid(P_PIDFD): required */
#define SCYTHE_CAP_CLOSE_RANGE       0x0008u /* close_range(2): no fd above 2 reaches a child */
#define SCYTHE_CAP_SPAWN_SETSID      0x0010u /* POSIX_SPAWN_SETSID: of the build, always set */
#define SCYTHE_CAP_SPAWN_CLOSEFROM   0x0020u /* posix_spawn_file_actions_addclosefrom_np: of the build, always set */
#define SCYTHE_CAP_SPAWN_CHDIR       0x0040u /* posix_spawn_file_actions_addchdir_np: of the build, always set */
#define SCYTHE_CAP_CGROUP_KILL      0x0080u /* a writable cgroup v2 hierarchy with cgroup.kill: the cgroup level */
#define SCYTHE_CAP_CGROUP_MEMORY    0x0100u /* memory limits and per-job peaks (v2 or v1 memory controller) */
#define SCYTHE_CAP_CGROUP_PIDS      0x0200u /* process-count limits (cgroup v1 pids controller leaves) */
#define SCYTHE_CAP_REQUIRED (SCYTHE_CAP_PIDFD_OPEN | SCYTHE_CAP_PIDFD_SEND_SIGNAL | SCYTHE_CAP_WAITID_PIDFD | \
                             SCYTHE_CAP_SPAWN_SETSID | SCYTHE_CAP_SPAWN_CLOSEFROM)

/* Bit set of SCYTHE_CAP_* this kernel and libc offer. Probed once; later calls return the cached value. */
SCYTHE_API uint32_t scythe_capabilities(void);

/* The name of one SCYTHE_CAP_* bit: the macro's name after SCYTHE_CAP_, in lower case ("pidfd_open", "cgroup_kill").
 * NULL for 0, for a bit no capability uses and for more than one bit. The string is static. */
SCYTHE_API const char *scythe_capability_name(uint32_t bit);

/* Human-readable text for a negative errno value as returned by this library ("No such file or directory").
 * Never NULL; the string is static. */
SCYTHE_API const char *scythe_strerror(int err);

/* Nonzero if err, a return value of this library, means that this machine cannot do what was asked (rather than that
 * something failed): -ENOTSUP, which is -EOPNOTSUPP on Linux. scythe_spawn() returns it exactly when the options ask
 * for the cgroup level (containment SCYTHE_CONTAIN_CGROUP, a memory or a process limit) and the machine cannot give
 * it (see SCYTHE_CAP_CGROUP_*). Hosts ask this instead of comparing with an errno number of their own. */
SCYTHE_API int scythe_error_is_unsupported(int err);

/* ---- ABI self-description --------------------------------------------------------------------------------- */

/* One row per public struct ("scythe_spawn_options", field NULL: size and alignment) and per field
 * ("scythe_spawn_options", "timeout_ns": offset and size). Lets a host check its own layouts against the
 * library it loaded. */
typedef struct scythe_abi_entry {
    const char *type_name;
    const char *field_name; /* NULL for the row describing the struct itself */
    uint32_t offset;        /* field offset, or 0 for the struct row */
    uint32_t size;          /* field size, or sizeof the struct */
} scythe_abi_entry;

/* *out points to a static table of *count entries. scythe_abi_entry itself never changes within a major. */
SCYTHE_API int scythe_abi_table(const scythe_abi_entry **out, size_t *count);

/* (since 0.6) sizeof the named public struct ("scythe_event", ...) in the loaded library, 0 for an unknown name. */
SCYTHE_API size_t scythe_sizeof(const char *type_name);

/* ---- cancel tokens ------------------------------------------------------------------------------------------ */

/* A cancel token is a word of native memory that any thread or runtime can flip. Cancelling a token wakes every
 * loop; each loop kills, natively, every job attached to that token (or to one of its ancestors).
 *
 * The state word (see scythe_token_state_address) is 0 while live. It changes exactly once, by one
 * compare-and-set, to SCYTHE_TOKEN_CANCELLED_BIT | (uint32_t)reason, with (winner + 1) in bits 33..63 when the
 * change was a race claim. Hosts may read it directly with an acquire load instead of calling
 * scythe_token_is_cancelled(); they never write it: every change goes through these functions.
 *
 * (since 0.6) A shared token keeps its word in a sealed memfd, so other processes can hold the same token: pass the
 * fd (scythe_token_fd) to a child, which opens it with scythe_token_from_fd, or hand it to a job with the spawn option
 * pass_token (scythe_token_from_env), or name it (scythe_token_open of /proc/<pid>/fd/<fd>). A cancel or claim in any
 * process is one compare-and-set on that word, so the first claim wins across processes, and is announced through
 * the file (EXPERIMENTAL: this mechanism, inotify on the token's file, may change in a minor; docs/abi.md): every
 * loop, in every process, that has a job attached to the token (or to a token
 * below it) wakes at once and kills those jobs natively, as for a local cancel. A loop watches all its shared tokens
 * through one inotify fd, with no thread. A process killed between its compare-and-set and its announcement still
 * announces it: its own open of the file closes, which the loops see too. A token below a shared one (a child made in
 * this process) follows a cancel made elsewhere when a loop watching the shared token sees it, or at once when
 * scythe_token_is_cancelled() is asked about it; its word (scythe_token_state_address) changes then. */
typedef struct scythe_token scythe_token;

#define SCYTHE_TOKEN_CANCELLED_BIT (UINT64_C(1) << 32)
#define SCYTHE_TOKEN_WINNER_SHIFT 33

/* Reasons below 256 are Scythe's own; hosts use any other value. */
#define SCYTHE_REASON_NONE      0
#define SCYTHE_REASON_USER      1 /* cancelled by the caller */
#define SCYTHE_REASON_TIMEOUT   2 /* a deadline passed */
#define SCYTHE_REASON_PREEMPTED 3 /* a racer claimed the token */
#define SCYTHE_REASON_SHUTDOWN  4 /* the supervisor is closing */
#define SCYTHE_REASON_PARENT    5 /* reserved */

/* A new live token holding one reference. With a parent, the token is cancelled (with the parent's reason)
 * when the parent is, at once if the parent already is. */
SCYTHE_API int scythe_token_new(scythe_token **out, scythe_token *parent);

/* Drops the caller's reference; jobs attached to the token keep it alive until they are freed. */
SCYTHE_API void scythe_token_free(scythe_token *token);

/* Cancels with the given reason (and all descendant tokens). Returns 0 if this call cancelled it, -EALREADY if
 * it was already cancelled (the first reason stays). Lock-free flip of the word; then wakes the loops. */
SCYTHE_API int scythe_token_cancel(scythe_token *token, uint32_t reason);

/* Nonzero once cancelled (acquire load). */
SCYTHE_API int scythe_token_is_cancelled(const scythe_token *token);

/* Address of the 64-bit state word, for hosts that read it without a call. Valid while the token lives. */
SCYTHE_API const volatile uint64_t *scythe_token_state_address(const scythe_token *token);

/* Races: exactly one claimant wins. The first claim sets the token's winner to `index` (>= 0) and cancels the
 * token with SCYTHE_REASON_PREEMPTED, so every job attached to it is killed. Returns 0 for that claimant,
 * -EALREADY for every later claimant, -ECANCELED if the token was cancelled otherwise before any claim, -EINVAL
 * for a negative index. */
SCYTHE_API int scythe_token_claim(scythe_token *token, int32_t index);

/* The claimed winner index, or -1. */
SCYTHE_API int32_t scythe_token_winner(const scythe_token *token);

/* (since 0.6) A new live shared token (see above), with an optional parent as scythe_token_new: its word lives in a
 * sealed memfd (close-on-exec) that the token owns. */
SCYTHE_API int scythe_token_new_shared(scythe_token **out, scythe_token *parent);

/* The memfd of a shared token, owned by the token (do not close it; dup it to keep it), or -1 for a token that is
 * not shared. Close-on-exec: a host that hands it to a child clears that flag in the child (Python's pass_fds), or
 * uses the spawn option pass_token. */
SCYTHE_API int scythe_token_fd(const scythe_token *token);

/* Opens the shared token behind `fd` (inherited, or received over a socket) in this process: a token of its own,
 * holding one reference, with its own open file (the caller keeps and may close `fd`). -EINVAL if fd is not a
 * Scythe token (-EBADF: not an fd). */
SCYTHE_API int scythe_token_from_fd(scythe_token **out, int fd);

/* The same by name: a path that opens the token's file, such as /proc/<pid>/fd/<fd> of a process that holds it
 * (same user, or root). */
SCYTHE_API int scythe_token_open(scythe_token **out, const char *path);

/* The environment variable a job handed its token (pass_token) finds the fd in, in decimal. */
#define SCYTHE_TOKEN_FD_ENV "SCYTHE_TOKEN_FD"

/* Opens the token this process was handed by its supervisor (SCYTHE_TOKEN_FD_ENV). -ENOENT if none was, -EINVAL if
 * the variable is not a number, -EBADF if that fd is not open. */
SCYTHE_API int scythe_token_from_env(scythe_token **out);

/* ---- the loop -------------------------------------------------------------------------------------------------- */

typedef struct scythe_loop scythe_loop;
typedef struct scythe_job scythe_job;

/* Exit statuses: the library reaps its own children, and only it may. scythe_loop_new(), scythe_spawn() and
 * scythe_guard_start() set SIGCHLD back to SIG_DFL where the process ignores it (SIG_IGN) and clear SA_NOCLDWAIT from a
 * handler (the handler stays): either makes the kernel reap children itself and lose their statuses. SIG_DFL also
 * ignores the signal, but keeps zombies for wait. A status lost anyway (the host reaped with waitpid(-1), or set
 * SIG_IGN again while a job ran) ends the job with SCYTHE_END_LOST, never with a success. */

SCYTHE_API int scythe_loop_new(scythe_loop **out);

/* Kills (SIGKILL to each session) and reaps every job still running, then frees the loop. Must not race with
 * scythe_loop_run(). Jobs not yet freed by the host are freed too; their handles become invalid. */
SCYTHE_API void scythe_loop_free(scythe_loop *loop);

/* Makes a blocked scythe_loop_run() return soon, possibly with no events. Any thread. A blocked run also returns
 * (after killing what it must) whenever any token is cancelled, so hosts can run their own cancel callbacks. */
SCYTHE_API int scythe_loop_wakeup(scythe_loop *loop);

/* Number of jobs the loop still supervises (spawned and not yet completed). */
SCYTHE_API int scythe_loop_live_jobs(scythe_loop *loop, size_t *out);

#define SCYTHE_EVENT_EXIT 1 /* a job completed: leader reaped and its output pipes drained */
/* (since 0.5) The job's stdout channel (SCYTHE_STDIO_CHANNEL) has bytes for scythe_job_read(). Only user_data, job,
 * kind and pid are set. At most one OUTPUT event of a job waits at a time: one is queued when bytes arrive and none
 * is waiting; the host reads until scythe_job_read() gives 0 bytes. A job's EXIT event comes after its last OUTPUT
 * event; bytes still unread then stay readable until the job is freed. */
#define SCYTHE_EVENT_OUTPUT 2

/* How a job ended. */
#define SCYTHE_END_EXITED    1 /* on its own; exit_code valid */
#define SCYTHE_END_SIGNALED  2 /* killed by a signal nobody here sent; term_signal valid */
#define SCYTHE_END_TIMEOUT   3 /* its deadline passed and Scythe killed it */
#define SCYTHE_END_CANCELLED 4 /* scythe_job_cancel or its token; cancel_reason valid */
#define SCYTHE_END_STALLED   5 /* no progress probe reported progress for a whole stall window */
#define SCYTHE_END_CPU_LIMIT 6 /* its CPU time passed cpu_limit_ns */
#define SCYTHE_END_MEMORY    7 /* it passed memory_limit_bytes (the OOM killer acted in its cgroup) */
#define SCYTHE_END_PROCESSES 8 /* it tried to pass process_limit */
#define SCYTHE_END_LOST      9 /* the leader's exit status could not be collected: another party reaped it (a
                                  waitpid(-1) elsewhere in the host, or the kernel, if SIGCHLD was set to SIG_IGN or
                                  SA_NOCLDWAIT after the spawn). exit_code -1, term_signal 0. Never a success. */

/* Containment levels (scythe_spawn_options.containment, scythe_event.containment) */
#define SCYTHE_CONTAIN_SESSION 0 /* its own session: killpg reaches everything that stays in the process group */
#define SCYTHE_CONTAIN_CGROUP  1 /* also its own cgroup leaf: cgroup.kill reaches everything, escapees included */
#define SCYTHE_CONTAIN_BEST    2 /* options only: the cgroup level where the machine allows it, else the session */

/* scythe_event.flags */
#define SCYTHE_EVENT_TREE_WALKED 0x1u /* the progress tree was watched by walking mtimes (forced, or inotify's
                                         watch limit ran out) */
#define SCYTHE_EVENT_DOSSIER     0x2u /* a hang dossier was written for this job before it was killed */
#define SCYTHE_EVENT_STATUS_LOST 0x4u /* the leader's exit status could not be collected (exit_code -1, term_signal 0):
                                         end is SCYTHE_END_LOST, or the end Scythe had already decided (a timeout, a
                                         cancel, ...), which stays */
#define SCYTHE_EVENT_STDOUT_LOST 0x8u  /* memory ran out while capturing stdout: its head or tail (scythe_job_output)
                                          is shorter than asked, still the first and the last bytes of the stream;
                                          `dropped` counts what is missing between them. For a stdout CHANNEL: memory
                                          ran out for the bytes its pipe still held when it closed; the bytes read
                                          before are intact, the missing ones are at the end */
#define SCYTHE_EVENT_STDERR_LOST 0x10u /* the same for stderr */

typedef struct scythe_event {
    uint32_t size;         /* (since 0.6) bytes of this struct the library wrote: the caller's event_size, at most
                              its own sizeof */
    uint32_t reserved0;
    uint64_t user_data;    /* as given in scythe_spawn_options */
    scythe_job *job;
    int32_t kind;          /* SCYTHE_EVENT_* */
    int32_t end;           /* SCYTHE_END_* */
    int32_t exit_code;     /* exit status when the leader exited, else -1 */
    int32_t term_signal;   /* signal that killed the leader, else 0 */
    uint32_t cancel_reason;/* for SCYTHE_END_CANCELLED */
    int32_t core_dumped;   /* nonzero if the leader dumped core */
    int32_t pid;           /* the leader's pid (= session id), for hosts that no longer hold the job */
    int32_t claimed;       /* nonzero if this job's exit claimed its token (see claim_index) */
    uint32_t flags;        /* SCYTHE_EVENT_* flags */
    int32_t reserved;
    int64_t last_progress_ns; /* last progress any probe saw (spawn time if none) */
    int32_t containment;   /* SCYTHE_CONTAIN_* the job actually had; with CGROUP, CPU times and max_rss_kib cover
                              the whole cgroup (cpu.stat; memory.peak or memory.max_usage_in_bytes) */
    int32_t reserved2;
    int64_t start_ns;      /* the spawn began: taken just before the fork (posix_spawn or clone), so the wall time
                              exit_ns - start_ns counts the fork and the exec, as time(1) does (the parent waits
                              in the spawn until the child's exec); deadlines count from here too */
    int64_t exit_ns;       /* leader's exit observed */
    int64_t reaped_ns;     /* leader reaped (session already signalled) */
    int64_t done_ns;       /* output drained, event queued */
    int64_t user_cpu_ns;   /* rusage of the leader and its reaped descendants */
    int64_t sys_cpu_ns;
    /* Peak memory of the job in KiB, or -1: unknown (since 0.4; before, the leader's ru_maxrss).
     * Known at the cgroup level where the machine accounts memory: the whole cgroup's peak, from memory.peak (the v2
     * memory controller, Linux >= 5.19) or memory.max_usage_in_bytes of the job's own v1 memory leaf (every job at
     * the cgroup level gets one where only v1 has the memory controller). It counts what the kernel charged to the
     * job: its anonymous memory, kernel memory, and page cache it brought in, but not shared file pages (libraries)
     * another process had already brought in, which ru_maxrss and time(1)'s %M count as resident.
     * -1 at the session level, and at the cgroup level without memory accounting: the only figure there, the leader's
     * ru_maxrss, counts this process's own resident set (the child starts on its address space, and the exec folds
     * that into the child's peak: about 65 MB in a JVM), and a zombie leader's /proc status has no VmHWM left. */
    int64_t max_rss_kib;
} scythe_event;

/* Runs the loop until at least one event is ready, `timeout_ms` passes (-1: no limit) or scythe_loop_wakeup()
 * is called; writes up to `capacity` events to `events` and their number to *count. Events not returned stay
 * queued for the next call. When the loop's own thread has just signalled jobs to end (a deadline, a stall window, a
 * claim's preemption, a cancel it was handed), ready events wait for those jobs' exits up to 1 ms more, with the
 * loop asleep: the processes get the CPU to die on, and their events come in the same return. A timeout_ms of 0
 * never waits so. */
SCYTHE_API int scythe_loop_run_sized(size_t *count, scythe_loop *loop, scythe_event *events, size_t event_size,
                                     size_t capacity, int timeout_ms);

/* The same, for C hosts: events is an array of this header's scythe_event. event_size (since 0.6) is the caller's
 * sizeof(scythe_event), at least 16 and a multiple of 8 (-EINVAL otherwise): event i is written at
 * (char *)events + i * event_size, and no byte of it past event_size. */
static inline int scythe_loop_run(size_t *count, scythe_loop *loop, scythe_event *events, size_t capacity,
                                  int timeout_ms) {
    return scythe_loop_run_sized(count, loop, events, sizeof(scythe_event), capacity, timeout_ms);
}

/* ---- spawning ---------------------------------------------------------------------------------------------------- */

#define SCYTHE_STDIO_INHERIT  0 /* the parent's fd */
#define SCYTHE_STDIO_NULL     1 /* /dev/null */
#define SCYTHE_STDIO_PIPE     2 /* stdin: fed from `input`; stdout/stderr: captured, head and tail kept */
#define SCYTHE_STDIO_FILE     3 /* `path`: read for stdin; written (created 0644) for stdout/stderr */
#define SCYTHE_STDIO_FILE_APPEND 4 /* like FILE, appending */
/* (since 0.5) A conversation for the job's whole life, for workers that serve many requests. stdin: written with
 * scythe_job_write() (no `input`: scythe_spawn gives -EINVAL if input_len is set), closed with
 * scythe_job_close_stdin() or when the job ends. stdout: read with scythe_job_read() as SCYTHE_EVENT_OUTPUT events
 * announce bytes; nothing is captured (scythe_job_output gives -EINVAL); SCYTHE_PROBE_OUTPUT counts its bytes. Not for
 * stderr (-EINVAL from scythe_spawn). A channel lives as long as the leader: when the leader exits, the loop takes what
 * the pipe holds at that moment (all of it, even past the 1 MiB read-ahead: at most the pipe's size) and closes it
 * without waiting for end-of-file, so a grandchild that still holds the pipe cannot delay the job's EXIT event (a death
 * is seen from the pidfd, not from EOF); what such a grandchild writes later is lost. Bytes still queued for stdin
 * then are dropped. With a stdout channel, a stderr PIPE ends with the leader too: its capture keeps what the pipe held
 * when the leader exited, and a grandchild that still holds it cannot delay the EXIT event either. */
#define SCYTHE_STDIO_CHANNEL 5

typedef struct scythe_stdio {
    int32_t mode;        /* SCYTHE_STDIO_* */
    int32_t reserved;
    const char *path;    /* FILE modes */
    const uint8_t *input;/* stdin PIPE: bytes to feed, copied at spawn; then stdin is closed */
    size_t input_len;
} scythe_stdio;

#define SCYTHE_SPAWN_OPTIONS_VERSION 6

typedef struct scythe_spawn_options {
    int32_t version;            /* SCYTHE_SPAWN_OPTIONS_VERSION */
    int32_t reserved;
    const char *const *argv;    /* NULL-terminated; argv[0] is the program: searched in PATH if it has no '/' */
    const char *const *envp;    /* NULL-terminated, or NULL to inherit the caller's environment */
    const char *cwd;            /* NULL: the caller's */
    scythe_stdio stdio[3];      /* stdin, stdout, stderr */
    size_t head_bytes;          /* PIPE capture: bytes kept from the start of each stream (default 64 KiB) */
    size_t tail_bytes;          /* PIPE capture: bytes kept from the end of each stream (default 64 KiB) */
    int64_t timeout_ns;         /* wall-clock limit from the spawn (scythe_event.start_ns), 0: none */
    int64_t grace_ns;           /* TERM to KILL escalation delay, 0: default 2 s, <0: KILL at once */
    scythe_token *token;        /* optional: cancelling it cancels the job */
    uint64_t user_data;         /* echoed in the job's event */
    /* version 2: races decided in the loop. When the job exits on its own with a status whose bit is set in
     * claim_exit_codes, the loop claims `token` for claim_index at once (scythe_token_claim), which preempts every
     * other job attached to the token in the same wake-up, without a round trip to the host. -1: never. */
    int32_t claim_index;
    int32_t reserved2;
    uint64_t claim_exit_codes[4]; /* bit n of word n / 64: exit status n counts as success */
    /* version 3: stall windows. With stall_ns > 0 the job is killed (SCYTHE_END_STALLED) when none of its progress
     * probes reported progress for stall_ns; the kill follows the window's end on the loop's timer. */
    int64_t stall_ns;
    uint32_t probes;              /* SCYTHE_PROBE_* */
    int32_t reserved3;
    const char *progress_tree;    /* PROBE_TREE: an existing directory; any change below it is progress */
    const char *progress_regex;   /* PROBE_OUTPUT: POSIX extended regex a line of stdout/stderr must match to count
                                     as progress; NULL: any byte counts */
    const char *heartbeat_path;   /* PROBE_HEARTBEAT: file whose first 8 bytes are a counter (created if missing) */
    int64_t cpu_limit_ns;         /* CPU time of the leader and the children it reaped; 0: none */
    /* version 4: hang dossiers (EXPERIMENTAL: the dossier's text may change in a minor; its path and the event flag
     * will not). When the job overruns (timeout, stall window, CPU limit), before anything is killed,
     * the loop writes <dossier_dir>/scythe-dossier-<pid>.txt (scythe_dossier_path): every live job's process tree with
     * /proc state (state, wchan, kernel stack where readable, open fds, children). The event then carries
     * SCYTHE_EVENT_DOSSIER. */
    const char *dossier_dir;
    /* version 5: containment and limits. A memory or process limit needs the cgroup level. */
    int32_t containment;          /* SCYTHE_CONTAIN_SESSION (default), _CGROUP (fail with -ENOTSUP without it), _BEST */
    int32_t reserved5;
    int64_t memory_limit_bytes;   /* 0: none */
    int64_t process_limit;        /* processes at once in the job's cgroup; 0: none */
    /* version 6 (since 0.6): nonzero hands the job its token, which must be shared (-EINVAL otherwise): its memfd as
     * fd 3 of the job, and SCYTHE_TOKEN_FD=3 in its environment (added to envp, or to the caller's environment), so
     * a prover built on libscythe can poll it (scythe_token_from_env) or cancel or claim it for its siblings. */
    int32_t pass_token;
    int32_t reserved6;
} scythe_spawn_options;

#define SCYTHE_PROBE_OUTPUT    0x1u /* bytes (or matching lines) on captured stdout/stderr, or a stdout channel */
#define SCYTHE_PROBE_TREE      0x2u /* changes below progress_tree, through inotify (new directories included) */
#define SCYTHE_PROBE_HEARTBEAT 0x4u /* the counter in heartbeat_path changed */
#define SCYTHE_PROBE_HOST      0x8u /* only scythe_job_progress() (hosts polling their own predicate) */
#define SCYTHE_PROBE_TREE_WALK 0x10u /* with PROBE_TREE: walk mtimes instead of inotify (network filesystems) */

#define SCYTHE_SPAWN_OPTIONS_INIT {SCYTHE_SPAWN_OPTIONS_VERSION, 0, NULL, NULL, NULL, \
    {{SCYTHE_STDIO_NULL, 0, NULL, NULL, 0}, {SCYTHE_STDIO_PIPE, 0, NULL, NULL, 0}, \
     {SCYTHE_STDIO_PIPE, 0, NULL, NULL, 0}}, 0, 0, 0, 0, NULL, 0, -1, 0, {0, 0, 0, 0}, 0, 0, 0, NULL, NULL, NULL, 0, NULL, 0, 0, 0, 0, \
    0, 0}

/* Same as SCYTHE_SPAWN_OPTIONS_INIT, for hosts without the preprocessor. */
SCYTHE_API int scythe_spawn_options_init(scythe_spawn_options *opts);

/* Starts argv as the leader of a new session (setsid), with an empty signal mask, default signal dispositions
 * and no fd above 2, and registers it with the loop. On failure to start (-ENOENT, -EACCES, ...) nothing is
 * left behind and *out is untouched. Any thread. Failures a host may want to tell apart:
 *   -ECANCELED  its token is already cancelled.
 *   -ENOSPC     too many jobs at once: the guard's table is full (once scythe_guard_start() succeeded, 65536 leaders
 *               unreaped at once; a job the guard cannot list is not started, since it would not be crash-safe), or
 *               the kernel's limit on epoll watches (fs.epoll.max_user_watches) was reached.
 *   -ENOTSUP    (the same value as -EOPNOTSUPP on Linux) the options ask for the cgroup level (containment
 *               SCYTHE_CONTAIN_CGROUP, a memory or a process limit) and this machine cannot give it; see
 *               scythe_error_is_unsupported(). */
SCYTHE_API int scythe_spawn(scythe_job **out, scythe_loop *loop, const scythe_spawn_options *opts);

/* The leader's pid, which is also the session and process-group id. */
SCYTHE_API int32_t scythe_job_pid(const scythe_job *job);

/* The job's pidfd, or -1. Owned by the job: do not close. */
SCYTHE_API int scythe_job_pidfd(const scythe_job *job);

/* Asks the loop to end the job: TERM to the whole session (and CONT, so stopped processes see it), then KILL after
 * the grace period (KILL at once with a negative grace). Any thread; never blocks. The first signal is sent from the
 * calling thread, before this returns, unless the loop is busy with a batch at that moment (it then sends it before
 * it sleeps again); the loop arms the grace and reaps (since 0.5).
 *
 * Returns 0 if and only if the job's event will say SCYTHE_END_CANCELLED with this reason: the request got in before
 * the loop decided how the job ends. A leader that had already exited on its own when the loop took the request is
 * not signalled; its event still says CANCELLED, with the real exit_code / term_signal. Returns -EALREADY if the job
 * already ended or its end was already decided (its exit seen, a timeout, a stall, a CPU, memory or process limit,
 * its token, an earlier cancel); its event then says that end. A job freed by scythe_job_free() has no event. */
SCYTHE_API int scythe_job_cancel(scythe_job *job, uint32_t reason);

/* Captured output of a PIPE stream (1 stdout, 2 stderr), valid once the job's event was delivered and until the
 * job is freed. head holds the first bytes, tail the last ones; `dropped` bytes in between were discarded. */
typedef struct scythe_output {
    uint32_t size;    /* (since 0.6) bytes of this struct the library wrote: the caller's out_size, at most its own */
    uint32_t reserved;
    const uint8_t *head;
    size_t head_len;
    const uint8_t *tail;
    size_t tail_len;
    uint64_t total;   /* bytes the job wrote to the stream */
    uint64_t dropped; /* total - head_len - tail_len */
} scythe_output;

/* -EBUSY before the job completed, -EINVAL for a stream that was not PIPE, or an out_size below 8 or not a multiple of
 * 8. Writes no byte of *out past out_size (the caller's sizeof(scythe_output)). */
SCYTHE_API int scythe_job_output_sized(scythe_output *out, size_t out_size, const scythe_job *job, int stream);

/* The same, for C hosts: passes this header's sizeof(scythe_output). */
static inline int scythe_job_output(scythe_output *out, const scythe_job *job, int stream) {
    return scythe_job_output_sized(out, sizeof(scythe_output), job, stream);
}

/* (since 0.5) Channels (SCYTHE_STDIO_CHANNEL). Any thread; never blocks on the job.
 *
 * scythe_job_write queues `len` bytes for the job's stdin and writes at once what the pipe takes; the loop writes the
 * rest as the job reads. Bytes of successive calls arrive in call order. 0, or
 *   -EINVAL  stdin is not a CHANNEL (or data is NULL with len > 0);
 *   -EPIPE   the job closed its stdin (bytes still queued are dropped), or the host closed the channel;
 *   -ESRCH   the job's leader has exited;
 *   -ENOMEM. */
SCYTHE_API int scythe_job_write(scythe_job *job, const uint8_t *data, size_t len);

/* Closes the stdin channel once every queued byte is written: the job then reads end-of-file. 0, -EINVAL (not a
 * CHANNEL), -EALREADY (already closed, or the job ended). */
SCYTHE_API int scythe_job_close_stdin(scythe_job *job);

/* Takes up to `cap` of the bytes the loop read from the job's stdout channel, oldest first, into buf; *n says how
 * many (0: none now). Each byte is returned once. The loop reads ahead of the host up to 1 MiB, then leaves the pipe
 * alone (the job blocks on it when it fills) until the host takes some. -EINVAL if stdout is not a CHANNEL. */
SCYTHE_API int scythe_job_read(size_t *n, scythe_job *job, uint8_t *buf, size_t cap);

/* Reports progress for a job with a stall window (any probe); hosts call it when their own predicate holds.
 * Any thread. -EALREADY once the job ended. */
SCYTHE_API int scythe_job_progress(scythe_job *job);

/* (since 0.5) The peak memory of a running job's cgroup so far, in KiB, measured as its event's max_rss_kib will be:
 * for a host that recycles long-lived workers by their memory. Any thread. 0, or
 *   -ENOTSUP  the job runs at the session level, or its cgroup does not account memory on this machine;
 *   -EALREADY the leader has exited (the job's event carries the final figure). */
SCYTHE_API int scythe_job_memory_peak(int64_t *kib, scythe_job *job);

/* Regexes: one dialect everywhere (progress_regex, scythe_regex_search): POSIX extended, compiled with REG_NEWLINE
 * (^ and $ match at line boundaries, . and bracket expressions never match a newline) and REG_NOSUB. */

/* 0 if `regex` compiles in that dialect, else -EINVAL (-ENOMEM if the regex library ran out of memory). */
SCYTHE_API int scythe_regex_check(const char *regex);

/* Success criteria on output: searches text[0..len) for `regex` and sets *matched to 1 (a match anywhere) or 0. A NUL
 * byte in text does not end it (though . matches no NUL, as POSIX has it); text need not be NUL-terminated. Returns 0,
 * -EINVAL for an invalid regex (or NULL matched, or NULL text with len > 0), -ENOMEM, -EOVERFLOW for len >= 2 GiB. */
SCYTHE_API int scythe_regex_search(int *matched, const char *regex, const uint8_t *text, size_t len);

/* ---- hang dossiers ------------------------------------------------------------------------------------------ */

/* The path of the hang dossier the loop writes for the job whose leader is `pid` (see dossier_dir), NUL-terminated in
 * buf: "<dir>/scythe-dossier-<pid>.txt". -ENAMETOOLONG if it needs more than len bytes (buf then holds "" if len > 0),
 * -EINVAL for a NULL buf or dir. */
SCYTHE_API int scythe_dossier_path(char *buf, size_t len, const char *dir, int32_t pid);

/* ---- crash safety ---------------------------------------------------------------------------------------------- */

/* Starts the guard (the scythe-guard executable shipped beside the library) once for this process. From then on,
 * every job of every loop is listed in a table shared with the guard while its leader is unreaped (plain memory
 * stores, no system call); when this process dies for any reason (exit, kill -9, the OOM killer), the guard's
 * lifeline pipe breaks and it sends SIGKILL to every listed session; at the cgroup level it also kills everything in
 * this process's cgroup leaves at once (cgroup.kill of their common parent) and removes them. -EALREADY if a guard
 * runs already. The executable may be deleted once this returns: the library keeps an fd to it. The table lists
 * 65536 jobs at once; scythe_spawn() fails with -ENOSPC rather than start a job it cannot list. Jobs started before
 * the first scythe_guard_start() are not listed.
 *
 * The guard is this process's child, and its death is noticed at once: every loop watches its pidfd. If anyone kills
 * it, the first loop to see it (inside scythe_loop_run) reaps it, starts a new guard from the same executable on the
 * same table, so every live job is guarded again, counts a restart and returns from scythe_loop_run soon, so the
 * host can log scythe_guard_restarts() and the new scythe_guard_pid(). Between the death and the restart (the time
 * a loop takes to wake up) a kill -9 of this process would leave the jobs running. A death goes unnoticed while no
 * loop runs, until one does. A guard that exits on its own (it could not run: an executable that does not match this
 * library) is not restarted. If the restart fails or is not tried, no guard runs: scythe_guard_pid() returns 0, the
 * count stays, and the host may call scythe_guard_start() again, which guards the live jobs too. */
SCYTHE_API int scythe_guard_start(const char *guard_exe);

/* The running guard's pid, or 0 if none runs (never started, or its restart failed). */
SCYTHE_API int32_t scythe_guard_pid(void);

/* How many times a dead guard was replaced by a new one. */
SCYTHE_API uint64_t scythe_guard_restarts(void);

/* ---- heartbeats, for cooperating jobs written in any language ---------------------------------------------------- */

/* Maps the heartbeat file (created with 8 zero bytes if missing) and returns its counter. */
SCYTHE_API int scythe_heartbeat_open(uint64_t **out, const char *path);
/* Bumps the counter: one atomic increment, no system call. The supervising loop sees it as progress. */
SCYTHE_API void scythe_heartbeat_beat(uint64_t *counter);
SCYTHE_API void scythe_heartbeat_close(uint64_t *counter);

/* Releases the handle. A job still running is killed (SIGKILL to its session) and reaped by its loop, and
 * produces no event; so does a completed job whose event is still queued in the loop. Any thread. A completed job's
 * cgroup leaves, empty since its event, are removed after this, by the loop's thread the next time it runs with
 * nothing else ready (since 0.5; before, here), or by scythe_loop_free(): neither the event nor the call waits for
 * them. A loop that ran cgroup-level jobs also keeps a few empty leaves made ahead for its next ones (each holding
 * an fd on its cgroup.procs), made the same way and removed by scythe_loop_free(). An
 * event that scythe_loop_run() has already returned still names the job: a host that frees jobs from other threads
 * than its loop thread must make sure the loop thread is not holding such an event (the simplest: free on the loop
 * thread, after handling the event, as the Java binding does). Never free a job twice. */
SCYTHE_API void scythe_job_free(scythe_job *job);

#ifdef __cplusplus
}
#endif

#endif /* SCYTHE_H */
