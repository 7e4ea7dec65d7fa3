/* A job: one supervised session, from scythe_spawn() to the host's scythe_job_free(). job.c creates and destroys it
 * and implements the public scythe_job_* calls; the loop (loop.c) drives it through its states; cadence.c says what
 * is due for it when. A job knows its loop only as a lock, a waker, an epoll set and the lists it is linked on, so
 * job.c calls nothing of the loop. */
#ifndef SCYTHE_JOB_H
#define SCYTHE_JOB_H

#include "internal.h"
#include "list.h"
#include "wake.h"

enum scythe__watch_kind {
    W_EVENTFD, W_TIMER, W_PIDFD, W_STDOUT, W_STDERR, W_STDIN, W_INOTIFY, W_GUARD, W_CGROUP, W_TOKENS
};

/* What an epoll event points at. */
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

/* One entry of the loop's event queue, embedded in the job: queueing never allocates. A job has two, its EXIT event and
 * its OUTPUT announcement, so an announcement can wait while the job completes behind it. */
typedef struct scythe__queued {
    scythe__list link; /* on the loop's queue while the event waits for the host */
    int kind;          /* SCYTHE_EVENT_*: which of the job's entries this is */
} scythe__queued;

/* A channel's bytes in flight, oldest first: data[off .. off + len) of `alloc` bytes. */
typedef struct scythe__fifo {
    uint8_t *data;
    size_t off, len, alloc;
} scythe__fifo;

/* The stdout channel reads ahead of the host up to this many unread bytes, then leaves the pipe alone. */
#define SCYTHE__CHANNEL_READ_AHEAD ((size_t)1 << 20)

#define SCYTHE__CANCEL_CLOSED (UINT64_C(1) << 63) /* never a request: those are SCYTHE_TOKEN_CANCELLED_BIT | reason */

struct scythe_job {
    scythe__list link;         /* on its loop's jobs (every job the host has not freed), or its graveyard */
    scythe__queued queued;     /* its EXIT event, on its loop's queue once completed until the host takes it */
    scythe__queued announced;  /* its OUTPUT event: queued while the stdout channel has news the host was not told of */
    pthread_mutex_t *lock;     /* its loop's lock, which guards what follows unless it is atomic */
    scythe__waker *waker;      /* its loop's */
    scythe__list *retired;     /* its loop's list of emptied cgroups to remove when idle (NULL until registered) */
    size_t *nretired;          /* and their count */
    scythe__list *dirty_head;  /* its loop's list of jobs to look at in its next wake-up (NULL until registered) */
    scythe__list dirty;        /* on it, while the loop has yet to look at this job */
    scythe__list timed;        /* on its loop's list of jobs with a due time (the timer looks at those only) */
    scythe__wake_node wake_node; /* handed to the loop by a thread that changed something it must see */
    scythe__token_watch token_watch; /* on its token's watches from registration to completion */
    int epfd;                  /* its loop's epoll set (-1 until registered): each of its fds leaves it before being
                                  closed, and none is left in it once the job completes (scythe__os_close_watched) */
    pid_t pid;
    int pidfd;
    int state;
    int end;                   /* SCYTHE_END_* once decided by us (timeout/cancel), else 0 */
    uint32_t cancel_reason;
    /* The cancel door: 0 (open), SCYTHE_TOKEN_CANCELLED_BIT | reason (a request from any thread, by compare-and-set
     * from 0), or SCYTHE__CANCEL_CLOSED once the loop decided the job's end (see scythe__job_close_cancel_door). */
    _Atomic uint64_t cancel_request;
    bool detached;             /* freed by the host before completion: no event, freed by the loop */
    bool killed_hard;          /* SIGKILL already sent to the session (and cgroup.kill written) */
    bool linger;               /* the loop's thread started to end it: the loop waits a moment for its exit (loop.c) */
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
    /* Channels (SCYTHE_STDIO_CHANNEL): stdin [0] and stdout [1]. They live as long as the leader: on its exit stdin is
     * closed (what is queued is dropped) and stdout taken as it stands and closed; its unread bytes stay for the host. */
    bool channel[2];
    scythe__fifo in_fifo;      /* bytes scythe_job_write queued that the pipe did not take yet */
    bool in_polling;           /* EPOLLOUT enabled for stdin: in_fifo holds bytes */
    bool in_close_asked;       /* scythe_job_close_stdin: close once in_fifo is written */
    scythe__fifo out_fifo;     /* bytes read from stdout that scythe_job_read has not taken */
    bool out_paused;           /* out_fifo is full: stdout is in the epoll set for no events until the host reads */
    scythe__watch watch[6];    /* pidfd, stdout, stderr, stdin, inotify, cgroup.events (while it empties) */
    scythe__progress *progress; /* stall window and probes, or NULL */
    int64_t cpu_limit_ns;
    int64_t next_cpu_check_ns;
    int guard_slot;            /* listed in the guard's table: slot + 1, or 0 */
    char *dossier_dir;         /* write a hang dossier here on an overrun, or NULL */
    struct scythe__dossier *dossier; /* being written (the end decided, the signals waiting for it), or NULL */
    scythe__cgroup *cgroup;    /* the cgroup level, or NULL */
    int64_t next_cg_check_ns;
    scythe_event ev;
};

/* A new job, on no list, with every fd -1 and its cancel door open. 0 or -ENOMEM. */
int scythe__job_new(scythe_job **out);
/* Closes the job's fds, frees its buffers, probes, cgroup and token reference, then the job. Its leader must be reaped
 * (or never started) and the job on no list. */
void scythe__job_destroy(scythe_job *job);
/* Moves every job handed to the loop (scythe__wake_for) onto its dirty list; the loop lock held. */
void scythe__job_take_incoming(scythe__waker *w, scythe__list *dirty);
/* A completed job leaves its loop, before it is freed (the loop lock held): off the incoming stack, the dirty and
 * timed lists (nothing hands it over after its completion: its cancel door is closed, its token watch removed), and
 * its empty cgroup onto the loop's retired list, whose leaves the loop's thread removes when it is quiet. */
void scythe__job_unhand(scythe_job *job);
/* Completes the job's event once its leader is reaped and its pipes are closed: at the cgroup level the whole cgroup's
 * CPU time and peak memory (and a limit the kernel enforced); the captures are made ready for scythe_job_output, and
 * flagged in the event if memory ran out for them. */
void scythe__job_finish(scythe_job *job);
/* Closes the job's cancel door for good and returns the request that got in first (SCYTHE_TOKEN_CANCELLED_BIT |
 * reason), or 0. The loop calls it whenever it decides how a running job ends (its exit observed, a timeout, a stall,
 * a limit, a token); a request found there wins: the end is SCYTHE_END_CANCELLED with its reason. */
uint64_t scythe__job_close_cancel_door(scythe_job *job);

#endif
