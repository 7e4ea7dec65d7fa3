/* The event loop: one epoll set over every job's pidfd and pipes, an eventfd for wake-ups (cancel requests, token
 * flips, new due times), a timerfd armed for the earliest due time (cadence.c says what is due when) and the guard's
 * watch fd (its death restarts it, see guard.c). It takes each job through its states: running, killing (cadence.c,
 * kill.c), reaped and draining (streams.c), done with its event queued.
 * One thread runs it; other threads only add jobs, set request words, write the eventfd and move channel bytes (which
 * may change what epoll watches for a job's stdin or stdout: epoll_ctl is thread-safe), all under `lock`, which the
 * loop drops while it sleeps in epoll_wait. */
#include "internal.h"
#include "cadence.h"
#include "guard.h"
#include "job.h"
#include "kill.h"
#include "list.h"
#include "loop.h"
#include "streams.h"
#include "wake.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct scythe_loop {
    pthread_mutex_t lock;
    int epfd, tfd;
    scythe__waker waker;       /* its eventfd and interrupt flag; registered for token wake-ups */
    scythe__watch evfd_watch, timer_watch, guard_watch, tokens_watch;
    /* Shared tokens its jobs are attached to (or below): one inotify fd watches their files, which another process's
     * cancel writes to (token.c). Each entry holds a reference on its token while any of this loop's jobs needs it. */
    int tokens_fd;             /* the inotify fd, -1 until a job needs it */
    struct shared_watch {
        scythe_token *token;
        int wd;
        size_t jobs;
    } *shared;
    size_t nshared, shared_cap;
    bool guard_watched;        /* holds a reference on the guard's watch fd */
    scythe__list jobs;         /* every job the host has not freed (by their `link`) */
    scythe__list graveyard;    /* detached jobs completed during this batch, freed at its end (by `link`) */
    scythe__list queue;        /* events the host has not read, oldest first: the jobs' `queued` (EXIT) and
                                  `announced` (OUTPUT) entries */
    size_t live;
    int64_t armed_ns;          /* timer currently armed for this time, 0 none */
    int64_t next_due;          /* earliest known due time (may be early, never late), 0 none */
    uint64_t looked_at;        /* jobs swept so far (for tests: a cancel must not cost every job) */
    scythe__list timed;        /* jobs with a due time of their own (by `timed`): all the timer must look at */
    scythe__list dirty;        /* jobs to look at in this wake-up (by their `dirty`): handed over by other threads
                                  (scythe__wake_for) or by a claim in this batch */
    /* Spare cgroup leaves (cgroup.c), made by the loop's thread while nothing else is ready, so that a contained
     * spawn does not wait for their mkdir: kept from the first contained spawn on, until the loop is freed. */
    scythe__list spares;       /* by their `link` */
    int nspares;
    scythe__list retired;      /* completed jobs' cgroups, empty, their leaves to remove when idle (by `link`) */
    size_t nretired;
    int64_t busy_ns;           /* when the loop last handled an fd event: idle work waits for a quiet moment */
    bool wants_spares, spares_fail; /* a contained spawn came; making one failed (the machine cannot: stop trying) */
    unsigned lingering;        /* jobs this loop's thread started to end and whose exit it has not seen yet */
    int64_t linger_until;      /* until when events wait for those exits (SCYTHE__LINGER_NS after the first) */
    uint8_t scratch[64 * 1024];
};

static int ep_add(scythe_loop *loop, int fd, uint32_t events, scythe__watch *w) {
    struct epoll_event ev = {.events = events, .data.ptr = w};
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int scythe_loop_new(scythe_loop **out) {
    if (!out)
        return -EINVAL;
    uint32_t caps = scythe_capabilities();
    if ((caps & SCYTHE_CAP_REQUIRED) != SCYTHE_CAP_REQUIRED)
        return -ENOSYS;
    int rc = scythe__os_keep_child_status();
    if (rc)
        return rc;
    scythe_loop *loop = scythe__calloc(1, sizeof *loop);
    if (!loop)
        return -ENOMEM;
    loop->waker.evfd = loop->tfd = loop->tokens_fd = -1;
    pthread_mutex_init(&loop->lock, NULL);
    scythe__list_init(&loop->jobs);
    scythe__list_init(&loop->graveyard);
    scythe__list_init(&loop->queue);
    scythe__list_init(&loop->spares);
    scythe__list_init(&loop->retired);
    scythe__list_init(&loop->dirty);
    scythe__list_init(&loop->timed);
    loop->evfd_watch.kind = W_EVENTFD;
    loop->timer_watch.kind = W_TIMER;
    loop->guard_watch.kind = W_GUARD;
    loop->tokens_watch.kind = W_TOKENS;
    if ((loop->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        (loop->waker.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
        (loop->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = ep_add(loop, loop->waker.evfd, EPOLLIN, &loop->evfd_watch)) ||
        (rc = ep_add(loop, loop->tfd, EPOLLIN, &loop->timer_watch)))
        goto fail;
    int guard_fd = scythe__guard_watch();
    if (guard_fd < 0) {
        rc = guard_fd;
        goto fail;
    }
    loop->guard_watched = true;
    if ((rc = ep_add(loop, guard_fd, EPOLLIN, &loop->guard_watch)))
        goto fail;
    scythe__waker_register(&loop->waker);
    *out = loop;
    return 0;
fail:
    if (loop->guard_watched)
        scythe__guard_unwatch();
    scythe__os_close(loop->epfd);
    scythe__os_close(loop->waker.evfd);
    scythe__os_close(loop->tfd);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
    return rc;
}

/* Drops one job's need of the shared tokens from t up, the first `levels` of them (all: SIZE_MAX). Under the lock. */
static void unwatch_shared(scythe_loop *loop, scythe_token *t, size_t levels) {
    for (; t && levels; t = t->parent, levels--) {
        if (scythe_token_fd(t) < 0)
            continue;
        for (size_t i = 0; i < loop->nshared; i++) {
            struct shared_watch *s = &loop->shared[i];
            if (s->token != t || --s->jobs)
                continue;
            bool wd_shared = false; /* two tokens of this process on one file share the watch */
            for (size_t j = 0; j < loop->nshared; j++)
                wd_shared |= j != i && loop->shared[j].wd == s->wd;
            if (!wd_shared)
                inotify_rm_watch(loop->tokens_fd, s->wd);
            scythe_token_free(s->token);
            *s = loop->shared[--loop->nshared];
            break;
        }
    }
}

/* A job attached to t: the loop watches the file of every shared token from t up, so another process's cancel of any
 * of them reaches the job. Then looks at their words once: a cancel made before the watch was not seen. Under the
 * lock. */
static int watch_shared(scythe_loop *loop, scythe_token *token) {
    size_t levels = 0;
    int rc = 0;
    for (scythe_token *t = token; t; t = t->parent, levels++) {
        int fd = scythe_token_fd(t);
        if (fd < 0)
            continue;
        size_t i = 0;
        while (i < loop->nshared && loop->shared[i].token != t)
            i++;
        if (i < loop->nshared) {
            loop->shared[i].jobs++;
            continue;
        }
        if (loop->tokens_fd < 0) {
            if ((loop->tokens_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
                rc = -errno;
                break;
            }
            if ((rc = ep_add(loop, loop->tokens_fd, EPOLLIN, &loop->tokens_watch))) {
                scythe__os_close(loop->tokens_fd);
                loop->tokens_fd = -1;
                break;
            }
        }
        if (loop->nshared == loop->shared_cap) {
            size_t cap = loop->shared_cap ? 2 * loop->shared_cap : 8;
            struct shared_watch *grown = scythe__realloc(loop->shared, cap * sizeof *grown);
            if (!grown) {
                rc = -ENOMEM;
                break;
            }
            loop->shared = grown;
            loop->shared_cap = cap;
        }
        char path[40];
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
        int wd = inotify_add_watch(loop->tokens_fd, path, IN_MODIFY | IN_CLOSE_WRITE);
        if (wd < 0) {
            rc = -errno; /* ENOSPC: fs.inotify.max_user_watches */
            break;
        }
        scythe__token_ref(t);
        loop->shared[loop->nshared++] = (struct shared_watch){t, wd, 1};
    }
    if (rc) {
        unwatch_shared(loop, token, levels);
        return rc;
    }
    for (scythe_token *t = token; t; t = t->parent)
        if (scythe_token_fd(t) >= 0)
            scythe__token_seen_flipped(t);
    return 0;
}

/* The inotify fd of the shared tokens has events: a token's file was written or closed somewhere. Looks at the words
 * of the tokens named (all of them if the queue overflowed). */
static void on_tokens(scythe_loop *loop) {
    _Alignas(struct inotify_event) char buf[4096];
    ssize_t n;
    while ((n = read(loop->tokens_fd, buf, sizeof buf)) > 0) {
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *e = (const struct inotify_event *)p;
            for (size_t i = 0; i < loop->nshared; i++)
                if (e->wd == loop->shared[i].wd || (e->mask & IN_Q_OVERFLOW))
                    scythe__token_seen_flipped(loop->shared[i].token);
            p += sizeof *e + e->len;
        }
    }
}

int scythe__loop_add(scythe_loop *loop, scythe_job *job) {
    static const int kinds[5] = {W_PIDFD, W_STDOUT, W_STDERR, W_STDIN, W_INOTIFY};
    int fds[5] = {job->pidfd, job->out_fd[1], job->out_fd[2], job->out_fd[0], scythe__progress_fd(job->progress)};
    int rc = 0;
    pthread_mutex_lock(&loop->lock);
    for (int i = 0; i < 5 && !rc; i++) {
        job->watch[i].job = job;
        job->watch[i].kind = kinds[i];
        if (fds[i] >= 0)
            /* A stdin channel asks for EPOLLOUT only while bytes are queued (streams.c): an empty, writable pipe
             * would wake the loop at once, every time. */
            rc = ep_add(loop, fds[i], i != 3 ? EPOLLIN : job->channel[0] ? 0 : EPOLLOUT, &job->watch[i]);
    }
    if (!rc && job->token)
        rc = watch_shared(loop, job->token); /* a remote cancel seen here is found by the check at the end */
    if (rc) {
        for (int i = 0; i < 5; i++)
            if (fds[i] >= 0)
                epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fds[i], NULL);
        pthread_mutex_unlock(&loop->lock);
        return rc;
    }
    job->lock = &loop->lock;
    job->waker = &loop->waker;
    job->retired = &loop->retired;
    job->nretired = &loop->nretired;
    job->dirty_head = &loop->dirty;
    job->epfd = loop->epfd;
    scythe__list_append(&loop->jobs, &job->link);
    loop->live++;
    if (scythe__cadence_needs_sweep(job, 0)) /* 0: "no timer armed", true for any job with a due time */
        scythe__list_append(&loop->timed, &job->timed);
    if (job->token) {
        job->token_watch.waker = &loop->waker;
        scythe__token_watch_add(job->token, &job->token_watch); /* a flip from now on hands the job over */
    }
    /* The loop must look at this job sooner than it planned: an earlier due time, or a token cancelled before the
     * watch was added (that flip handed over the jobs it found then). */
    bool wake = scythe__cadence_needs_sweep(job, loop->armed_ns);
    pthread_mutex_unlock(&loop->lock);
    if (wake)
        scythe__wake_for(&loop->waker, &job->wake_node); /* the host holds the job until this returns */
    return 0;
}

scythe__cgroup *scythe__loop_take_spare(scythe_loop *loop) {
    pthread_mutex_lock(&loop->lock);
    loop->wants_spares = true;
    scythe__cgroup *cg = NULL;
    if (loop->nspares) {
        cg = SCYTHE__CONTAINER(loop->spares.next, scythe__cgroup, link);
        scythe__list_remove(&cg->link);
        loop->nspares--;
    }
    pthread_mutex_unlock(&loop->lock);
    return cg;
}

static void free_cgroup(scythe__cgroup *cg) {
    scythe__cgroup_destroy(cg);
    free(cg);
}

/* The idle work of the loop's thread, one piece at a time, without the lock (each is a mkdir or an rmdir per
 * hierarchy: tens of microseconds): removes a retired cgroup's leaves, else makes one more spare. */
static void idle_work(scythe_loop *loop) {
    scythe__cgroup *cg = NULL;
    if (!scythe__list_empty(&loop->retired)) {
        cg = SCYTHE__CONTAINER(loop->retired.next, scythe__cgroup, link);
        scythe__list_remove(&cg->link);
        loop->nretired--;
        pthread_mutex_unlock(&loop->lock);
        free_cgroup(cg);
        pthread_mutex_lock(&loop->lock);
        return;
    }
    pthread_mutex_unlock(&loop->lock);
    int rc = (cg = scythe__malloc(sizeof *cg)) ? 0 : -ENOMEM;
    if (cg) {
        scythe__cgroup_init(cg);
        if ((rc = scythe__cgroup_spare(cg)))
            free_cgroup(cg);
    }
    pthread_mutex_lock(&loop->lock);
    if (rc) {
        loop->spares_fail = true;
    } else {
        scythe__list_append(&loop->spares, &cg->link);
        loop->nspares++;
    }
}

/* Puts the job on the timer's list: it has a due time of its own now. */
static void timed(scythe_loop *loop, scythe_job *job) {
    if (scythe__list_empty(&job->timed))
        scythe__list_append(&loop->timed, &job->timed);
}

static void complete(scythe_loop *loop, scythe_job *job, int64_t now) {
    scythe__token_watch_remove(&job->token_watch); /* no flip hands it over after this */
    unwatch_shared(loop, job->token, SIZE_MAX);
    scythe__list_remove(&job->timed);
    for (int i = 0; i < 3; i++)
        scythe__stream_close(job, i);
    /* Nothing of a completed job stays in the epoll set: the host may free it from any thread as soon as we unlock, and
     * an event fetched after that would point into freed memory. (The inotify fd itself goes with the job.) */
    int ino = scythe__progress_fd(job->progress);
    if (ino >= 0)
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, ino, NULL);
    if (job->cgroup && job->cgroup->events_watched) { /* the fd itself goes with the cgroup */
        epoll_ctl(loop->epfd, EPOLL_CTL_DEL, job->cgroup->events_fd, NULL);
        job->cgroup->events_watched = false;
    }
    scythe__job_finish(job);
    job->state = J_DONE;
    job->ev.done_ns = now;
    loop->live--;
    if (job->detached) {
        /* Later events of this batch may still point at it: free it once the batch is done. (scythe_job_free took
         * its OUTPUT event off the queue, and none is queued for a detached job after that.) */
        scythe__list_remove(&job->link);
        scythe__list_append(&loop->graveyard, &job->link);
        return;
    }
    /* Through the job, which owns its event: no allocation, so no failure, however many events wait. Behind any OUTPUT
     * event of the job still waiting: its channel was closed before this, so no later one can come. */
    scythe__list_append(&loop->queue, &job->queued.link);
}

/* The host hears of new bytes on a job's stdout channel: once, until scythe_loop_run hands it that event (it then
 * reads until there are none, and bytes arriving after the hand-over are announced anew). */
static void announce(scythe_loop *loop, scythe_job *job) {
    if (!job->detached && scythe__list_empty(&job->announced.link))
        scythe__list_append(&loop->queue, &job->announced.link);
}

static void maybe_complete(scythe_loop *loop, scythe_job *job, int64_t now) {
    if (job->state != J_REAPED || job->out_fd[1] >= 0 || job->out_fd[2] >= 0)
        return;
    if (job->cgroup && scythe__cgroup_populated(job->cgroup)) {
        /* Processes killed through cgroup.kill are still on their way out (the leader's exit wrote it, in
         * scythe__kill_rest, wherever anything was left, or the job's SIGKILL did before; once is enough, since a
         * process with SIGKILL pending cannot fork): the event waits until nothing is left in the cgroup, which its
         * cgroup.events tells (watched from now on: read again below, so a change before the watch is not missed);
         * the timer looks again now and then, in case. */
        if (!job->cgroup->events_watched) {
            int fd = scythe__cgroup_events_fd(job->cgroup);
            job->watch[5].job = job;
            job->watch[5].kind = W_CGROUP;
            job->cgroup->events_watched = fd >= 0 && ep_add(loop, fd, EPOLLPRI, &job->watch[5]) == 0;
            if (job->cgroup->events_watched && !scythe__cgroup_populated(job->cgroup)) {
                complete(loop, job, now);
                return;
            }
        }
        job->next_cg_check_ns = now + SCYTHE__SETTLE_EVERY_NS;
        scythe__due_min(&loop->next_due, job->next_cg_check_ns);
        timed(loop, job);
        return;
    }
    complete(loop, job, now);
}

static void on_exit_ready(scythe_loop *loop, scythe_job *job) {
    if (job->state >= J_REAPED)
        return;
    if (job->state == J_RUNNING) {
        /* The leader exited before we decided anything: that decides the end, unless a cancel request got in
         * first, which then wins (its 0 promised a CANCELLED event; the real exit status is reported with it). */
        uint64_t req = scythe__job_close_cancel_door(job);
        if (req) {
            job->end = SCYTHE_END_CANCELLED;
            job->cancel_reason = (uint32_t)req;
        }
    }
    job->ev.exit_ns = scythe__now_ns();
    if (job->linger) {
        job->linger = false;
        loop->lingering--;
    }
    /* Whatever the leader left in its session (and cgroup) dies with it, and before the reap, while the group id is
     * still pinned by the zombie leader. */
    scythe__kill_rest(job);
    scythe__guard_remove(job->guard_slot);
    job->guard_slot = 0;
    bool lost = scythe__os_reap(job->pidfd, &job->ev) < 0;
    if (lost) {
        /* ECHILD: another party reaped our child (a waitpid(-1) elsewhere in the host, or the kernel because SIGCHLD
         * was set to SIG_IGN after our last spawn). Its status is gone; an exit we cannot see is never a success. */
        job->ev.exit_code = -1;
        job->ev.term_signal = 0;
        job->ev.flags |= SCYTHE_EVENT_STATUS_LOST;
    }
    job->ev.reaped_ns = scythe__now_ns();
    scythe__os_close_watched(loop->epfd, job->pidfd);
    job->pidfd = -1;
    if (job->end) {
        job->ev.end = job->end; /* decided by us before the exit: still true */
        job->ev.cancel_reason = job->cancel_reason;
    } else if (lost) {
        job->ev.end = SCYTHE_END_LOST;
    } else {
        job->ev.end = job->ev.exit_code >= 0 ? SCYTHE_END_EXITED : SCYTHE_END_SIGNALED;
    }
    int code = job->ev.exit_code;
    if (job->claim_index >= 0 && job->ev.end == SCYTHE_END_EXITED && code >= 0 && code < 256 &&
        (job->claim_codes[code / 64] >> (code % 64) & 1) && scythe_token_claim(job->token, job->claim_index) == 0) {
        /* This exit won the race: the claim hands the token's other jobs to their loops, this one included, which
         * preempts them in this same wake-up (the batch ends with a look at the jobs handed over). */
        job->ev.claimed = 1;
    }
    job->ev.last_progress_ns = job->progress ? scythe__progress_last(job->progress) : job->ev.start_ns;
    job->ev.flags |= job->progress ? scythe__progress_flags(job->progress) : 0;
    job->state = J_REAPED;
    job->drain_until_ns = job->ev.reaped_ns + SCYTHE__DRAIN_GRACE_NS;
    /* Channels end with the leader, at once: what its stdout pipe holds now is taken and the pipe closed, so that a
     * process outside the session still holding it cannot hold back the EXIT event until the drain grace ends. */
    if (scythe__channel_exit(job))
        announce(loop, job);
    scythe__stream_close(job, 0);
    scythe__stream_drain(job, 1, loop->scratch, sizeof loop->scratch);
    scythe__stream_drain(job, 2, loop->scratch, sizeof loop->scratch);
    if (job->channel[1])
        scythe__stream_close(job, 2); /* a worker's stderr ends with it too: what the pipe held is captured */
    maybe_complete(loop, job, job->ev.reaped_ns);
    /* The drain's limit is due only for a job still draining: most complete here, and a due time left behind would
     * fire the timer, which looks at every job of the loop, a second after every exit. */
    if (job->state == J_REAPED) {
        scythe__due_min(&loop->next_due, job->drain_until_ns);
        timed(loop, job);
    }
}

/* Acts on what is not an fd event for one job (cadence.c decides what is due); its next due time joins *due. */
static void sweep_one(scythe_loop *loop, scythe_job *job, int64_t now, int64_t *due) {
    loop->looked_at++;
    int64_t mine = 0;
    bool running = job->state == J_RUNNING;
    switch (scythe__cadence_sweep(job, now, &mine, &loop->jobs)) {
    case SCYTHE__DUE_COMPLETE:
        complete(loop, job, now);
        break;
    case SCYTHE__DUE_SETTLE:
        maybe_complete(loop, job, now);
        if (job->state == J_REAPED)
            scythe__due_min(&mine, job->next_cg_check_ns);
        break;
    case SCYTHE__DUE_NOTHING:
        break;
    }
    if (running && job->state == J_KILLING && !job->linger) { /* a deadline, a stall, a cancel, a claim's preemption */
        job->linger = true;
        if (!loop->lingering++ || now >= loop->linger_until)
            loop->linger_until = now + SCYTHE__LINGER_NS;
    }
    if (job->state == J_DONE)
        return;
    if (mine || job->dossier) /* a dossier's writer asks for a sweep when done (scythe__wake_sweep) */
        timed(loop, job);
    else
        scythe__list_remove(&job->timed); /* nothing due for it until something hands it over */
    scythe__due_min(due, mine);
}

/* Looks at the jobs handed over only: a cancel or a claim costs the jobs it concerns, not every job of the loop. */
static void sweep_dirty(scythe_loop *loop, int64_t now, int64_t *due) {
    while (!scythe__list_empty(&loop->dirty)) {
        scythe_job *job = SCYTHE__CONTAINER(loop->dirty.next, scythe_job, dirty);
        scythe__list_remove(&job->dirty);
        sweep_one(loop, job, now, due);
    }
}

/* Looks at every job with a due time (the timer fired, or a dossier's writer asked) and at the jobs handed over, and
 * recomputes the next due time: the jobs with nothing due (most of a loaded loop's) cost nothing. */
static void sweep(scythe_loop *loop, int64_t now) {
    int64_t due = 0;
    for (scythe__list *l = loop->timed.next, *next; l != &loop->timed; l = next) {
        next = l->next; /* complete() may take this job off the list */
        sweep_one(loop, SCYTHE__CONTAINER(l, scythe_job, timed), now, &due);
    }
    sweep_dirty(loop, now, &due);
    loop->next_due = due;
}

static void arm_timer(scythe_loop *loop) {
    if (loop->next_due == loop->armed_ns)
        return;
    struct itimerspec its = {0};
    if (loop->next_due) {
        its.it_value.tv_sec = loop->next_due / 1000000000LL;
        its.it_value.tv_nsec = loop->next_due % 1000000000LL;
    }
    if (timerfd_settime(loop->tfd, TFD_TIMER_ABSTIME, &its, NULL) == 0)
        loop->armed_ns = loop->next_due;
}

/* One epoll event. */
static void on_event(scythe_loop *loop, scythe__watch *w, uint32_t events, bool *must_sweep) {
    uint64_t counter;
    switch (w->kind) {
    case W_EVENTFD:
    case W_TIMER:
        while (read(w->kind == W_TIMER ? loop->tfd : loop->waker.evfd, &counter, sizeof counter) < 0 &&
               errno == EINTR) {
            /* retry: interrupted by a signal to this thread */
        }
        if (w->kind == W_TIMER) {
            loop->armed_ns = 0;
            *must_sweep = true;
        } else if (atomic_exchange(&loop->waker.sweep_all, 0)) {
            *must_sweep = true;
        } /* else what it was woken for was handed over (scythe__wake_for), or is an interrupt */
        break;
    case W_PIDFD:
        on_exit_ready(loop, w->job);
        break;
    case W_STDOUT:
    case W_STDERR:
        if (w->kind == W_STDOUT && w->job->channel[1]) {
            if (scythe__channel_fill(w->job))
                announce(loop, w->job);
        } else {
            scythe__stream_drain(w->job, w->kind == W_STDOUT ? 1 : 2, loop->scratch, sizeof loop->scratch);
        }
        maybe_complete(loop, w->job, scythe__now_ns());
        break;
    case W_STDIN:
        if (w->job->channel[0])
            scythe__channel_feed(w->job, events);
        else
            scythe__stream_feed(w->job);
        break;
    case W_INOTIFY:
        if (w->job->state == J_RUNNING && scythe__progress_fd(w->job->progress) >= 0)
            scythe__progress_inotify(w->job->progress, scythe__now_ns(), loop->epfd);
        break;
    case W_CGROUP:
        maybe_complete(loop, w->job, scythe__now_ns()); /* reads cgroup.events again, which re-arms it */
        break;
    case W_TOKENS:
        on_tokens(loop);
        break;
    case W_GUARD:
        /* The guard died: it is replaced now, and the host hears of it (scythe_guard_restarts) soon. */
        if (scythe__guard_check())
            atomic_store(&loop->waker.interrupt, 1);
        break;
    }
}

static _Thread_local bool sigpipe_blocked;

/* Event i at (char *)events + i * event_size, and no byte past its event_size: a host built against an older header
 * gets the fields it knows. */
static void put_event(void *events, size_t event_size, size_t i, scythe_event ev) {
    size_t n = event_size < sizeof ev ? event_size : sizeof ev;
    ev.size = (uint32_t)n;
    memcpy((char *)events + i * event_size, &ev, n);
}

int scythe_loop_run_sized(size_t *count, scythe_loop *loop, scythe_event *events, size_t event_size, size_t capacity,
                          int timeout_ms) {
    if (!count || !loop || (!events && capacity) || event_size < 16 || event_size % 8)
        return -EINVAL;
    *count = 0;
    if (!sigpipe_blocked) {
        scythe__os_block_sigpipe(); /* writes to a child's closed stdin must give EPIPE, not a process-wide SIGPIPE */
        sigpipe_blocked = true;
    }
    int64_t end = timeout_ms >= 0 ? scythe__now_ns() + (int64_t)timeout_ms * 1000000LL : 0;
    int rc = 0;
    struct epoll_event evs[64];
    pthread_mutex_lock(&loop->lock);
    for (;;) {
        /* Events ready go to the host at once, but for a moment after this thread signalled jobs to end: then they
         * wait (up to SCYTHE__LINGER_NS) for those jobs' exits, with this thread asleep. The processes it woke to die
         * are queued on its CPU, and the host's work on the events would hold the CPU while they wait (measured: 2 ms
         * for a race's losers behind a cold JVM, with the other CPU idle); their exits then come with the rest. A
         * wakeup (the host wants control) or a host's timeout of 0 ends it; a token's flip, which returns an idle run
         * to its host for the host's own token callbacks, waits for it (a claim flips the token it preempts for). */
        bool ready = !scythe__list_empty(&loop->queue);
        bool linger = ready && loop->lingering && timeout_ms != 0 && scythe__now_ns() < loop->linger_until &&
                      !atomic_load(&loop->waker.interrupt);
        if (ready ? !linger
                  : (atomic_exchange(&loop->waker.interrupt, 0) | atomic_exchange(&loop->waker.flipped, 0)) != 0)
            break;
        int wait_ms = -1;
        if (timeout_ms >= 0) {
            int64_t left = end - scythe__now_ns();
            if (left <= 0)
                break;
            wait_ms = (int)((left + 999999) / 1000000);
        }
        if (linger) {
            int left_ms = (int)((loop->linger_until - scythe__now_ns() + 999999) / 1000000);
            wait_ms = wait_ms < 0 || left_ms < wait_ms ? left_ms : wait_ms;
        }
        arm_timer(loop);
        /* Idle work (idle_work) only in a quiet moment: nothing ready, and no fd event for SCYTHE__QUIET_NS, since events
         * come in bursts (a race's losers die within a millisecond of their kill) and a mkdir or rmdir under way holds
         * both this thread and the kernel's cgroup lock for tens of microseconds. Retired leaves are removed anyway
         * once too many wait. */
        bool idle = !linger && (!scythe__list_empty(&loop->retired) ||
                                (loop->wants_spares && !loop->spares_fail && loop->nspares < SCYTHE__SPARE_LEAVES));
        bool urgent = loop->nretired > SCYTHE__RETIRED_MAX;
        int64_t quiet_in = idle && !urgent ? loop->busy_ns + SCYTHE__QUIET_NS - scythe__now_ns() : 0;
        int wait = wait_ms;
        if (idle && quiet_in <= 0)
            wait = 0;
        else if (idle && (wait < 0 || (quiet_in + 999999) / 1000000 < wait))
            wait = (int)((quiet_in + 999999) / 1000000);
        pthread_mutex_unlock(&loop->lock);
        int n = epoll_wait(loop->epfd, evs, 64, wait);
        int err = errno;
        pthread_mutex_lock(&loop->lock);
        if (n < 0) {
            if (err == EINTR)
                continue; /* a signal to this thread: retry */
            rc = -err;
            break;
        }
        if (n == 0 && idle) {
            if (urgent || scythe__now_ns() >= loop->busy_ns + SCYTHE__QUIET_NS)
                idle_work(loop);
            continue;
        }
        loop->busy_ns = scythe__now_ns();
        bool must_sweep = false;
        for (int i = 0; i < n; i++)
            on_event(loop, evs[i].data.ptr, evs[i].events, &must_sweep);
        scythe__job_take_incoming(&loop->waker, &loop->dirty); /* a claim above handed over this loop's losers too */
        if (must_sweep)
            sweep(loop, scythe__now_ns());
        else if (!scythe__list_empty(&loop->dirty)) /* due times only come earlier: "may be early, never late" */
            sweep_dirty(loop, scythe__now_ns(), &loop->next_due);
        while (!scythe__list_empty(&loop->graveyard)) {
            scythe_job *dead = SCYTHE__CONTAINER(loop->graveyard.next, scythe_job, link);
            scythe__list_remove(&dead->link);
            scythe__job_unhand(dead);
            scythe__job_destroy(dead);
        }
    }
    size_t k = 0;
    while (k < capacity && !scythe__list_empty(&loop->queue)) {
        scythe__queued *q = SCYTHE__CONTAINER(loop->queue.next, scythe__queued, link);
        scythe__list_remove(&q->link); /* an OUTPUT entry off the queue: the next bytes are announced again */
        if (q->kind == SCYTHE_EVENT_EXIT) {
            put_event(events, event_size, k++, SCYTHE__CONTAINER(q, scythe_job, queued)->ev);
        } else {
            scythe_job *job = SCYTHE__CONTAINER(q, scythe_job, announced);
            put_event(events, event_size, k++,
                      (scythe_event){.user_data = job->ev.user_data, .job = job, .kind = SCYTHE_EVENT_OUTPUT,
                                     .pid = job->pid});
        }
    }
    *count = k;
    pthread_mutex_unlock(&loop->lock);
    return rc;
}

uint64_t scythe__loop_looked_at(scythe_loop *loop) {
    pthread_mutex_lock(&loop->lock);
    uint64_t n = loop->looked_at;
    pthread_mutex_unlock(&loop->lock);
    return n;
}

int scythe_loop_wakeup(scythe_loop *loop) {
    if (!loop)
        return -EINVAL;
    atomic_store(&loop->waker.interrupt, 1);
    scythe__wake(&loop->waker);
    return 0;
}

int scythe_loop_live_jobs(scythe_loop *loop, size_t *out) {
    if (!loop || !out)
        return -EINVAL;
    pthread_mutex_lock(&loop->lock);
    *out = loop->live;
    pthread_mutex_unlock(&loop->lock);
    return 0;
}

void scythe_loop_free(scythe_loop *loop) {
    if (!loop)
        return;
    bool last = scythe__waker_unregister(&loop->waker);
    while (!scythe__list_empty(&loop->dirty))
        scythe__list_remove(loop->dirty.next); /* its jobs go below; nothing looks at the lists after */
    while (!scythe__list_empty(&loop->timed))
        scythe__list_remove(loop->timed.next);
    while (!scythe__list_empty(&loop->jobs)) {
        scythe_job *job = SCYTHE__CONTAINER(loop->jobs.next, scythe_job, link);
        scythe__list_remove(&job->link);
        if (job->state < J_REAPED) {
            scythe__kill_session(job, SIGKILL);
            scythe__guard_remove(job->guard_slot);
            scythe__os_reap(job->pidfd, &job->ev);
        }
        if (job->cgroup && job->state != J_DONE)
            scythe__cgroup_settle(job->cgroup); /* else its leaves stay behind, still busy */
        scythe__job_destroy(job);
    }
    for (scythe__list *lists[2] = {&loop->spares, &loop->retired}, **l = lists; l < lists + 2; l++)
        while (!scythe__list_empty(*l)) {
            scythe__cgroup *cg = SCYTHE__CONTAINER((*l)->next, scythe__cgroup, link);
            scythe__list_remove(&cg->link);
            free_cgroup(cg);
        }
    for (size_t i = 0; i < loop->nshared; i++)
        scythe_token_free(loop->shared[i].token);
    free(loop->shared);
    scythe__os_close(loop->tokens_fd);
    scythe__waker_await_helpers(&loop->waker); /* a dossier writer may still wake it */
    scythe__os_close(loop->epfd);
    scythe__os_close(loop->waker.evfd);
    scythe__os_close(loop->tfd);
    scythe__guard_unwatch();
    pthread_mutex_destroy(&loop->lock);
    free(loop);
    if (last)
        scythe__cgroup_release_parents(); /* every leaf is gone with the jobs; a new loop makes the parents again */
}
