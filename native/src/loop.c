/* The event loop: one epoll set over every job's pidfd and pipes, an eventfd for wake-ups (cancel requests, token
 * flips, new deadlines), a timerfd armed for the earliest due time (deadline, KILL escalation, output drain) and the
 * guard's pidfd (its death restarts it, see guard.c).
 * One thread runs it; other threads only add jobs, set request words and write the eventfd, all under `lock`,
 * which the loop drops while it sleeps in epoll_wait. */
#include "internal.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

static pthread_mutex_t loops_lock = PTHREAD_MUTEX_INITIALIZER;
static scythe_loop *loops_head;

void scythe__loop_wake(scythe_loop *loop) {
    uint64_t one = 1;
    /* A full counter (EAGAIN) already means "awake"; EINTR is retried. */
    while (write(loop->evfd, &one, sizeof one) < 0 && errno == EINTR) {
    }
}

void scythe__loops_wake_all(void) {
    pthread_mutex_lock(&loops_lock);
    for (scythe_loop *l = loops_head; l; l = l->gnext) {
        /* Return to the host too, so it can run its own callbacks for tokens flipped by another runtime. */
        atomic_store(&l->interrupt, 1);
        scythe__loop_wake(l);
    }
    pthread_mutex_unlock(&loops_lock);
}

static int ep_add(scythe_loop *loop, int fd, uint32_t events, scythe__watch *w) {
    struct epoll_event ev = {.events = events, .data.ptr = w};
    return epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int scythe__loop_link(scythe_loop *loop, int guard_pidfd) {
    int rc;
    if (guard_pidfd >= 0 && (rc = ep_add(loop, guard_pidfd, EPOLLIN, &loop->guard_watch)))
        return rc;
    pthread_mutex_lock(&loops_lock);
    loop->gnext = loops_head;
    if (loops_head)
        loops_head->gprev = loop;
    loops_head = loop;
    pthread_mutex_unlock(&loops_lock);
    return 0;
}

void scythe__loops_watch_guard(int old_pidfd, int new_pidfd) {
    pthread_mutex_lock(&loops_lock);
    for (scythe_loop *l = loops_head; l; l = l->gnext) {
        /* Removed by hand: closing the fd would not remove it while a child being spawned still holds a copy. */
        if (old_pidfd >= 0)
            epoll_ctl(l->epfd, EPOLL_CTL_DEL, old_pidfd, NULL);
        /* ENOMEM or the user's epoll watch limit: this loop alone will not notice the next death; others will. */
        if (new_pidfd >= 0)
            (void)ep_add(l, new_pidfd, EPOLLIN, &l->guard_watch);
    }
    pthread_mutex_unlock(&loops_lock);
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
    loop->evfd = loop->tfd = -1;
    pthread_mutex_init(&loop->lock, NULL);
    scythe__list_init(&loop->queue);
    loop->evfd_watch.kind = W_EVENTFD;
    loop->timer_watch.kind = W_TIMER;
    loop->guard_watch.kind = W_GUARD;
    if ((loop->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0 ||
        (loop->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0 ||
        (loop->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0) {
        rc = -errno;
        goto fail;
    }
    if ((rc = ep_add(loop, loop->evfd, EPOLLIN, &loop->evfd_watch)) ||
        (rc = ep_add(loop, loop->tfd, EPOLLIN, &loop->timer_watch)) || (rc = scythe__guard_attach(loop)))
        goto fail;
    *out = loop;
    return 0;
fail:
    scythe__os_close(loop->epfd);
    scythe__os_close(loop->evfd);
    scythe__os_close(loop->tfd);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
    return rc;
}

static void link_job(scythe_loop *loop, scythe_job *job) {
    job->next = loop->jobs;
    if (loop->jobs)
        loop->jobs->prev = job;
    loop->jobs = job;
}

static void unlink_job(scythe_loop *loop, scythe_job *job) {
    if (job->prev)
        job->prev->next = job->next;
    else
        loop->jobs = job->next;
    if (job->next)
        job->next->prev = job->prev;
    job->prev = job->next = NULL;
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
            rc = ep_add(loop, fds[i], i == 3 ? EPOLLOUT : EPOLLIN, &job->watch[i]);
    }
    if (rc) {
        for (int i = 0; i < 5; i++)
            if (fds[i] >= 0)
                epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fds[i], NULL);
        pthread_mutex_unlock(&loop->lock);
        return rc;
    }
    link_job(loop, job);
    loop->live++;
    job->guard_slot = scythe__guard_add(job->pid);
    /* Wake the loop if it must see this job sooner than it planned: an earlier deadline, or a token cancelled
     * between the spawn-time check and now (that cancel's wake-up may have swept before we were linked). */
    /* A job that brings a due time (deadline, stall window, sampling, CPU or cgroup-limit check) must reach the
     * timer. Only those wake the loop: a wake-up costs a sweep over every job, which plain spawns must not pay. */
    bool limited_cg = job->cgroup && (job->cgroup->dir[1][0] || job->cgroup->dir[2][0]);
    bool wake = ((job->deadline_ns || job->progress || job->cpu_limit_ns || limited_cg) &&
                 (!loop->armed_ns || !job->deadline_ns || job->deadline_ns < loop->armed_ns)) ||
                (job->token && scythe__token_state(job->token));
    pthread_mutex_unlock(&loop->lock);
    if (wake)
        scythe__loop_wake(loop);
    return 0;
}

static void close_stream(scythe_job *job, int i) {
    scythe__os_close(job->out_fd[i]); /* closing our only reference also drops it from the epoll set */
    job->out_fd[i] = -1;
}

static void complete(scythe_loop *loop, scythe_job *job, int64_t now) {
    for (int i = 0; i < 3; i++)
        close_stream(job, i);
    if (job->cgroup) {
        /* The whole cgroup's CPU and peak memory, grandchildren and escapees included. */
        int64_t u, sy, peak;
        if (scythe__cgroup_cpu_ns(job->cgroup, &u, &sy) >= 0) {
            job->ev.user_cpu_ns = u;
            job->ev.sys_cpu_ns = sy;
        }
        if ((peak = scythe__cgroup_peak_kib(job->cgroup)) >= 0)
            job->ev.max_rss_kib = peak;
        int limit = scythe__cgroup_check(job->cgroup);
        if (limit && (job->ev.end == SCYTHE_END_SIGNALED || job->ev.end == SCYTHE_END_EXITED ||
                      job->ev.end == SCYTHE_END_LOST))
            job->ev.end = limit; /* e.g. the OOM killer ended the leader */
        scythe__cgroup_destroy(job->cgroup);
    }
    for (int i = 1; i < 3; i++)
        if (job->capture[i])
            scythe__capture_finish(&job->cap[i]);
    job->state = J_DONE;
    job->ev.done_ns = now;
    loop->live--;
    if (job->detached) {
        /* Later events of this batch may still point at it: free it once the batch is done. */
        unlink_job(loop, job);
        job->next = loop->graveyard;
        loop->graveyard = job;
        return;
    }
    /* Through the job, which owns its event: no allocation, so no failure, however many events wait. */
    scythe__list_append(&loop->queue, &job->queued);
}

/* Reads what a pipe holds. While the leader runs, at most a few reads per wake-up so one chatty job cannot starve
 * the others (epoll is level-triggered: the rest comes next round); once it was reaped, everything up to EAGAIN. */
static void drain(scythe_loop *loop, scythe_job *job, int i) {
    int rounds = job->state >= J_REAPED ? -1 : 4;
    while (job->out_fd[i] >= 0 && rounds--) {
        ssize_t n = read(job->out_fd[i], loop->scratch, sizeof loop->scratch);
        if (n > 0) {
            if (job->capture[i])
                (void)scythe__capture_append(&job->cap[i], loop->scratch, (size_t)n); /* ENOMEM: counted only */
            if (job->progress && job->state == J_RUNNING)
                scythe__progress_output(job->progress, i, loop->scratch, (size_t)n, scythe__now_ns());
        } else if (n < 0 && errno == EINTR) {
            continue; /* a signal to this thread: retry */
        } else if (n < 0 && errno == EAGAIN) {
            return;
        } else {
            close_stream(job, i); /* EOF, or an error that leaves nothing to read */
        }
    }
}

static void feed(scythe_job *job) {
    while (job->out_fd[0] >= 0) {
        ssize_t n = write(job->out_fd[0], job->input + job->input_off, job->input_len - job->input_off);
        if (n > 0) {
            job->input_off += (size_t)n;
            if (job->input_off == job->input_len)
                close_stream(job, 0);
        } else if (n < 0 && errno == EINTR) {
            continue; /* a signal to this thread: retry */
        } else if (n < 0 && errno == EAGAIN) {
            return;
        } else {
            if (errno == EPIPE) {
                /* The child closed its stdin. SIGPIPE is blocked on the loop thread; consume the pending one. */
                sigset_t pipe_set;
                sigemptyset(&pipe_set);
                sigaddset(&pipe_set, SIGPIPE);
                struct timespec zero = {0, 0};
                (void)sigtimedwait(&pipe_set, NULL, &zero);
            }
            close_stream(job, 0);
        }
    }
}

static void maybe_complete(scythe_loop *loop, scythe_job *job, int64_t now) {
    if (job->state != J_REAPED || job->out_fd[1] >= 0 || job->out_fd[2] >= 0)
        return;
    if (job->cgroup && scythe__cgroup_populated(job->cgroup)) {
        /* Processes killed through cgroup.kill are still on their way out: look again in a few ms, so the event
         * means that nothing is left in the cgroup. */
        scythe__cgroup_kill(job->cgroup);
        job->next_cg_check_ns = now + 2000000;
        if (!loop->next_due || job->next_cg_check_ns < loop->next_due)
            loop->next_due = job->next_cg_check_ns;
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
        uint64_t req = scythe__close_cancel_door(job);
        if (req) {
            job->end = SCYTHE_END_CANCELLED;
            job->cancel_reason = (uint32_t)req;
        }
    }
    job->ev.exit_ns = scythe__now_ns();
    /* Whatever the leader left in its session dies with it, and before the reap, while the group id is still
     * pinned by the zombie leader. */
    scythe__kill_session(job, SIGKILL);
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
    scythe__os_close(job->pidfd);
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
        /* This exit won the race: preempt the others in this same wake-up. */
        job->ev.claimed = 1;
        loop->sweep_now = true;
    }
    job->ev.last_progress_ns = job->progress ? scythe__progress_last(job->progress) : job->ev.start_ns;
    job->ev.flags |= job->progress ? scythe__progress_flags(job->progress) : 0;
    job->state = J_REAPED;
    job->drain_until_ns = job->ev.reaped_ns + SCYTHE__DRAIN_GRACE_NS;
    if (!loop->next_due || job->drain_until_ns < loop->next_due)
        loop->next_due = job->drain_until_ns;
    close_stream(job, 0);
    drain(loop, job, 1);
    drain(loop, job, 2);
    maybe_complete(loop, job, job->ev.reaped_ns);
}

static void due_min(int64_t *due, int64_t t) {
    if (t && (!*due || t < *due))
        *due = t;
}

/* Acts on everything that is not an fd event: cancel requests, tokens, detached jobs, deadlines, escalation and
 * drain limits; and recomputes the next due time. */
static void sweep(scythe_loop *loop, int64_t now) {
    int64_t due = 0;
    scythe_job *next;
    for (scythe_job *job = loop->jobs; job; job = next) {
        next = job->next;
        if (job->state == J_RUNNING) {
            uint64_t req = atomic_load_explicit(&job->cancel_request, memory_order_acquire);
            uint64_t tok = job->token ? scythe__token_state(job->token) : 0;
            if (job->detached)
                scythe__terminate(job, SCYTHE_END_CANCELLED, SCYTHE_REASON_SHUTDOWN, now);
            else if (req)
                scythe__terminate(job, SCYTHE_END_CANCELLED, (uint32_t)req, now);
            else if (tok)
                scythe__terminate(job, SCYTHE_END_CANCELLED, (uint32_t)tok, now);
            else if (job->deadline_ns && now >= job->deadline_ns)
                scythe__terminate(job, SCYTHE_END_TIMEOUT, SCYTHE_REASON_TIMEOUT, now);
            else
                due_min(&due, job->deadline_ns);
        }
        if (job->state == J_RUNNING && job->progress && now >= scythe__progress_poll(job->progress, now, &due))
            scythe__terminate(job, SCYTHE_END_STALLED, SCYTHE_REASON_NONE, now);
        if (job->state == J_RUNNING && job->cgroup && (job->cgroup->dir[1][0] || job->cgroup->dir[2][0])) {
            /* Memory and process limits: the kernel enforces them; we notice, and end the whole job. */
            if (now >= job->next_cg_check_ns) {
                int limit = scythe__cgroup_check(job->cgroup);
                if (limit)
                    scythe__terminate(job, limit, SCYTHE_REASON_NONE, now);
                job->next_cg_check_ns = now + 10000000;
            }
            if (job->state == J_RUNNING)
                due_min(&due, job->next_cg_check_ns);
        }
        if (job->state == J_RUNNING && job->cpu_limit_ns) {
            if (now >= job->next_cpu_check_ns) {
                int64_t cpu = job->cgroup ? scythe__cgroup_cpu_ns(job->cgroup, NULL, NULL)
                                          : scythe__os_proc_cpu_ns(job->pid);
                int64_t left = job->cpu_limit_ns - (cpu > 0 ? cpu : 0);
                if (left <= 0)
                    scythe__terminate(job, SCYTHE_END_CPU_LIMIT, SCYTHE_REASON_NONE, now);
                /* The job cannot burn CPU faster than its cores; look again before it could have used the rest. */
                job->next_cpu_check_ns = now + (left / 4 < 5000000 ? 5000000 : left / 4 > 250000000 ? 250000000 : left / 4);
            }
            if (job->state == J_RUNNING)
                due_min(&due, job->next_cpu_check_ns);
        }
        if (job->state == J_KILLING) {
            scythe__escalate(job, now);
            if (!job->killed_hard)
                due_min(&due, job->kill_at_ns);
        } else if (job->state == J_REAPED) {
            if (job->cgroup && job->out_fd[1] < 0 && job->out_fd[2] < 0 && now < job->drain_until_ns) {
                maybe_complete(loop, job, now); /* waiting for the cgroup to empty */
                if (job->state == J_REAPED)
                    due_min(&due, job->next_cg_check_ns);
                continue;
            }
            if (now >= job->drain_until_ns) {
                /* A process outside the group (it changed its process group) still holds the pipe: stop waiting. */
                complete(loop, job, now);
            } else {
                due_min(&due, job->drain_until_ns);
            }
        }
    }
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

static _Thread_local bool sigpipe_blocked;

int scythe_loop_run(size_t *count, scythe_loop *loop, scythe_event *events, size_t capacity, int timeout_ms) {
    if (!count || !loop || (!events && capacity))
        return -EINVAL;
    *count = 0;
    if (!sigpipe_blocked) {
        /* Writes to a child's closed stdin must give EPIPE, not a process-wide SIGPIPE. */
        sigset_t s;
        sigemptyset(&s);
        sigaddset(&s, SIGPIPE);
        pthread_sigmask(SIG_BLOCK, &s, NULL);
        sigpipe_blocked = true;
    }
    int64_t end = timeout_ms >= 0 ? scythe__now_ns() + (int64_t)timeout_ms * 1000000LL : 0;
    int rc = 0;
    struct epoll_event evs[64];
    pthread_mutex_lock(&loop->lock);
    for (;;) {
        if (!scythe__list_empty(&loop->queue) || atomic_exchange(&loop->interrupt, 0))
            break;
        int wait_ms = -1;
        if (timeout_ms >= 0) {
            int64_t left = end - scythe__now_ns();
            if (left <= 0)
                break;
            wait_ms = (int)((left + 999999) / 1000000);
        }
        arm_timer(loop);
        pthread_mutex_unlock(&loop->lock);
        int n = epoll_wait(loop->epfd, evs, 64, wait_ms);
        int err = errno;
        pthread_mutex_lock(&loop->lock);
        if (n < 0) {
            if (err == EINTR)
                continue; /* a signal to this thread: retry */
            rc = -err;
            break;
        }
        bool must_sweep = false;
        for (int i = 0; i < n; i++) {
            scythe__watch *w = evs[i].data.ptr;
            uint64_t counter;
            switch (w->kind) {
            case W_EVENTFD:
            case W_TIMER:
                while (read(w->kind == W_TIMER ? loop->tfd : loop->evfd, &counter, sizeof counter) < 0 &&
                       errno == EINTR) {
                    /* retry: interrupted by a signal to this thread */
                }
                if (w->kind == W_TIMER)
                    loop->armed_ns = 0;
                must_sweep = true;
                break;
            case W_PIDFD:
                on_exit_ready(loop, w->job);
                break;
            case W_STDOUT:
            case W_STDERR:
                drain(loop, w->job, w->kind == W_STDOUT ? 1 : 2);
                maybe_complete(loop, w->job, scythe__now_ns());
                break;
            case W_STDIN:
                feed(w->job);
                break;
            case W_INOTIFY:
                if (w->job->state == J_RUNNING && scythe__progress_fd(w->job->progress) >= 0)
                    scythe__progress_inotify(w->job->progress, scythe__now_ns());
                break;
            case W_GUARD:
                /* The guard died: it is replaced now, and the host hears of it (scythe_guard_restarts) soon. */
                if (scythe__guard_check())
                    atomic_store(&loop->interrupt, 1);
                break;
            }
        }
        if (must_sweep || loop->sweep_now) {
            loop->sweep_now = false;
            sweep(loop, scythe__now_ns());
        }
        while (loop->graveyard) {
            scythe_job *dead = loop->graveyard;
            loop->graveyard = dead->next;
            scythe__job_release(dead);
            free(dead);
        }
    }
    size_t k = 0;
    while (k < capacity && !scythe__list_empty(&loop->queue)) {
        scythe_job *job = SCYTHE__CONTAINER(loop->queue.next, scythe_job, queued);
        scythe__list_remove(&job->queued);
        events[k++] = job->ev;
    }
    *count = k;
    pthread_mutex_unlock(&loop->lock);
    return rc;
}

int scythe_loop_wakeup(scythe_loop *loop) {
    if (!loop)
        return -EINVAL;
    atomic_store(&loop->interrupt, 1);
    scythe__loop_wake(loop);
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

int scythe_job_cancel(scythe_job *job, uint32_t reason) {
    if (!job)
        return -EINVAL;
    /* Through the door, lock-free: it is open only until the loop decides the job's end (scythe__close_cancel_door),
     * so a request that gets in is the one that decides it. */
    uint64_t open = 0;
    if (!atomic_compare_exchange_strong_explicit(&job->cancel_request, &open, SCYTHE_TOKEN_CANCELLED_BIT | reason,
                                                 memory_order_acq_rel, memory_order_acquire))
        return -EALREADY;
    scythe__loop_wake(job->loop);
    return 0;
}

int scythe_job_progress(scythe_job *job) {
    if (!job)
        return -EINVAL;
    int rc = -EALREADY;
    pthread_mutex_lock(&job->loop->lock);
    if (job->state == J_RUNNING && job->progress) {
        scythe__progress_mark(job->progress, scythe__now_ns());
        rc = 0;
    }
    pthread_mutex_unlock(&job->loop->lock);
    return rc;
}

int scythe_job_output(scythe_output *out, const scythe_job *job, int stream) {
    if (!out || !job || stream < 1 || stream > 2 || !job->capture[stream])
        return -EINVAL;
    scythe_loop *loop = job->loop;
    int rc = -EBUSY;
    pthread_mutex_lock(&loop->lock);
    if (job->state == J_DONE) {
        scythe__capture_view(&job->cap[stream], out);
        rc = 0;
    }
    pthread_mutex_unlock(&loop->lock);
    return rc;
}

void scythe_job_free(scythe_job *job) {
    if (!job)
        return;
    scythe_loop *loop = job->loop;
    pthread_mutex_lock(&loop->lock);
    if (job->state != J_DONE) {
        job->detached = true; /* the loop kills, reaps and frees it */
        pthread_mutex_unlock(&loop->lock);
        scythe__loop_wake(loop);
        return;
    }
    scythe__list_remove(&job->queued); /* its event, if the host frees the job before reading it */
    unlink_job(loop, job);
    pthread_mutex_unlock(&loop->lock);
    scythe__job_release(job);
    free(job);
}

void scythe_loop_free(scythe_loop *loop) {
    if (!loop)
        return;
    pthread_mutex_lock(&loops_lock);
    if (loop->gprev)
        loop->gprev->gnext = loop->gnext;
    else
        loops_head = loop->gnext;
    if (loop->gnext)
        loop->gnext->gprev = loop->gprev;
    bool last = loops_head == NULL;
    pthread_mutex_unlock(&loops_lock);
    scythe_job *next;
    for (scythe_job *job = loop->jobs; job; job = next) {
        next = job->next;
        if (job->state < J_REAPED) {
            scythe__kill_session(job, SIGKILL);
            scythe__guard_remove(job->guard_slot);
            scythe__os_reap(job->pidfd, &job->ev);
        }
        scythe__job_release(job);
        free(job);
    }
    scythe__os_close(loop->epfd);
    scythe__os_close(loop->evfd);
    scythe__os_close(loop->tfd);
    pthread_mutex_destroy(&loop->lock);
    free(loop);
    if (last)
        scythe__cgroup_release_parents(); /* every leaf is gone with the jobs; a new loop makes the parents again */
}
