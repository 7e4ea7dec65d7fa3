/* The job object: its creation and release, and the public calls a host makes on a job from any thread. A job knows
 * its loop only as a lock and a waker: the loop (loop.c) sets both when it registers the job and drives the job's
 * states; nothing here calls the loop. */
#include "internal.h"
#include "dossier.h"
#include "job.h"
#include "kill.h"
#include "streams.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int scythe__job_new(scythe_job **out) {
    scythe_job *job = scythe__calloc(1, sizeof *job);
    if (!job)
        return -ENOMEM;
    scythe__list_init(&job->link);
    scythe__list_init(&job->queued.link);
    job->queued.kind = SCYTHE_EVENT_EXIT;
    scythe__list_init(&job->announced.link);
    job->announced.kind = SCYTHE_EVENT_OUTPUT;
    scythe__list_init(&job->dirty);
    scythe__list_init(&job->timed);
    scythe__list_init(&job->token_watch.link);
    job->token_watch.node = &job->wake_node;
    job->pidfd = job->epfd = -1;
    for (int i = 0; i < 3; i++)
        job->out_fd[i] = -1;
    job->claim_index = -1;
    job->state = J_RUNNING;
    job->ev.max_rss_kib = -1; /* unknown, unless its cgroup has a peak (scythe__job_finish) */
    *out = job;
    return 0;
}

void scythe__job_destroy(scythe_job *job) {
    scythe__token_watch_remove(&job->token_watch); /* attached only if the loop freeing it never completed it */
    for (int i = 0; i < 3; i++) { /* open here only for a job scythe_loop_free() ends, or one never registered */
        scythe__os_close_watched(job->epfd, job->out_fd[i]);
        scythe__capture_free(&job->cap[i]);
    }
    scythe__os_close_watched(job->epfd, job->pidfd);
    free(job->input);
    free(job->in_fifo.data);
    free(job->out_fifo.data);
    scythe_token_free(job->token);
    scythe__progress_free(job->progress);
    free(job->dossier_dir);
    scythe__dossier_release(job->dossier);
    if (job->cgroup) {
        scythe__cgroup_destroy(job->cgroup);
        free(job->cgroup);
    }
    free(job);
}

void scythe__job_take_incoming(scythe__waker *w, scythe__list *dirty) {
    for (scythe__wake_node *n = scythe__waker_take(w); n;) {
        scythe_job *job = SCYTHE__CONTAINER(n, scythe_job, wake_node);
        n = scythe__wake_node_taken(n);
        if (scythe__list_empty(&job->dirty))
            scythe__list_append(dirty, &job->dirty);
    }
}

void scythe__job_unhand(scythe_job *job) {
    if (atomic_load(&job->wake_node.queued)) /* handed over before it completed, not yet looked at: not after this */
        scythe__job_take_incoming(job->waker, job->dirty_head);
    scythe__list_remove(&job->dirty);
    scythe__list_remove(&job->timed);
    if (job->cgroup) { /* empty since its event: its leaves are removed by the loop when it is quiet (decision 0026) */
        scythe__cgroup_close_files(job->cgroup); /* its figures are read: no fd waits with it */
        scythe__list_append(job->retired, &job->cgroup->link);
        (*job->nretired)++;
        job->cgroup = NULL;
    }
}

void scythe__job_finish(scythe_job *job) {
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
        /* Its leaves, empty now, are removed after the host frees the job, by the loop's thread when nothing else
         * is ready (scythe__job_unhand): rmdir of three leaves takes 100 to 200 us, which neither this event
         * nor any other waits for (decisions 0023, 0026). */
    }
    for (int i = 1; i < 3; i++)
        if (job->capture[i]) {
            scythe__capture_finish(&job->cap[i]);
            if (job->cap[i].lost)
                job->ev.flags |= i == 1 ? SCYTHE_EVENT_STDOUT_LOST : SCYTHE_EVENT_STDERR_LOST;
        }
}

uint64_t scythe__job_close_cancel_door(scythe_job *job) {
    /* One exchange, so a scythe_job_cancel racing us either got in before (its request is returned and decides the
     * end, as its 0 promised) or finds the door closed and returns -EALREADY; never both, never neither. */
    uint64_t req = atomic_exchange_explicit(&job->cancel_request, SCYTHE__CANCEL_CLOSED, memory_order_acq_rel);
    return req == SCYTHE__CANCEL_CLOSED ? 0 : req;
}

int32_t scythe_job_pid(const scythe_job *job) {
    return job ? job->pid : -1;
}

int scythe_job_pidfd(const scythe_job *job) {
    return job ? job->pidfd : -1;
}

int scythe_job_cancel(scythe_job *job, uint32_t reason) {
    if (!job)
        return -EINVAL;
    /* Through the door, lock-free: it is open only until the loop decides the job's end
     * (scythe__job_close_cancel_door), so a request that gets in is the one that decides it. */
    uint64_t open = 0;
    if (!atomic_compare_exchange_strong_explicit(&job->cancel_request, &open, SCYTHE_TOKEN_CANCELLED_BIT | reason,
                                                 memory_order_acq_rel, memory_order_acquire))
        return -EALREADY;
    /* The first signal goes now, from this thread, when the loop's lock is free (it is, unless the loop is busy with
     * a batch, and then it sweeps this request before it sleeps): the kill does not wait for the loop to wake up. The
     * lock keeps the loop from reaping the leader, and closing its pidfd, under us; the loop, woken below, arms the
     * grace and reaps. Never blocks: a cancel may come from a thread that must not wait for the loop. */
    bool done = false; /* nothing left for the loop before the exit: the KILL went and no grace is to be armed */
    if (job->lock && pthread_mutex_trylock(job->lock) == 0) {
        if (job->state == J_RUNNING && !job->detached) {
            uint64_t req = scythe__job_close_cancel_door(job); /* ours, unless the loop took it in between */
            if (req) {
                scythe__terminate(job, SCYTHE_END_CANCELLED, (uint32_t)req, scythe__now_ns());
                done = job->killed_hard;
            }
        }
        pthread_mutex_unlock(job->lock);
    }
    if (!done) /* else the exit wakes the loop: a wake-up now would only compete with the dying job for a CPU */
        scythe__wake_for(job->waker, &job->wake_node);
    return 0;
}

int scythe_job_progress(scythe_job *job) {
    if (!job)
        return -EINVAL;
    int rc = -EALREADY;
    pthread_mutex_lock(job->lock);
    if (job->state == J_RUNNING && job->progress) {
        scythe__progress_mark(job->progress, scythe__now_ns());
        rc = 0;
    }
    pthread_mutex_unlock(job->lock);
    return rc;
}

int scythe_job_memory_peak(int64_t *kib, scythe_job *job) {
    if (!kib || !job)
        return -EINVAL;
    int rc = -EALREADY;
    pthread_mutex_lock(job->lock);
    if (job->state < J_REAPED) {
        /* The leaves live until the loop finishes the job, which takes this lock: they cannot go while we read. */
        int64_t peak = job->cgroup ? scythe__cgroup_peak_kib(job->cgroup) : -ENOENT;
        rc = peak == -ENOENT ? -ENOTSUP : peak < 0 ? (int)peak : 0;
        if (rc == 0)
            *kib = peak;
    }
    pthread_mutex_unlock(job->lock);
    return rc;
}

int scythe_job_output_sized(scythe_output *out, size_t out_size, const scythe_job *job, int stream) {
    if (!out || !job || stream < 1 || stream > 2 || !job->capture[stream] || out_size < 8 || out_size % 8)
        return -EINVAL;
    int rc = -EBUSY;
    pthread_mutex_lock(job->lock);
    if (job->state == J_DONE) {
        scythe_output view = {0};
        scythe__capture_view(&job->cap[stream], &view);
        size_t n = out_size < sizeof view ? out_size : sizeof view;
        view.size = (uint32_t)n;
        memcpy(out, &view, n); /* no byte past the caller's struct */
        rc = 0;
    }
    pthread_mutex_unlock(job->lock);
    return rc;
}

int scythe_job_write(scythe_job *job, const uint8_t *data, size_t len) {
    /* channel[] is set at spawn, before the host has the handle, and never changes: read without the lock. */
    if (!job || !job->channel[0] || (!data && len))
        return -EINVAL;
    int rc;
    pthread_mutex_lock(job->lock);
    if (job->state >= J_REAPED)
        rc = -ESRCH;
    else if (job->out_fd[0] < 0 || job->in_close_asked)
        rc = -EPIPE; /* closed by the job, or by the host (maybe with bytes still on their way) */
    else
        rc = scythe__channel_write(job, data, len);
    pthread_mutex_unlock(job->lock);
    return rc;
}

int scythe_job_close_stdin(scythe_job *job) {
    if (!job || !job->channel[0])
        return -EINVAL;
    int rc = -EALREADY;
    pthread_mutex_lock(job->lock);
    if (job->state < J_REAPED && job->out_fd[0] >= 0 && !job->in_close_asked) {
        scythe__channel_close_in(job);
        rc = 0;
    }
    pthread_mutex_unlock(job->lock);
    return rc;
}

int scythe_job_read(size_t *n, scythe_job *job, uint8_t *buf, size_t cap) {
    if (n)
        *n = 0;
    if (!n || !job || !job->channel[1] || (!buf && cap))
        return -EINVAL;
    pthread_mutex_lock(job->lock);
    *n = scythe__channel_take(job, buf, cap);
    pthread_mutex_unlock(job->lock);
    return 0;
}

void scythe_job_free(scythe_job *job) {
    if (!job)
        return;
    pthread_mutex_t *lock = job->lock;
    scythe__waker *waker = job->waker;
    pthread_mutex_lock(lock);
    if (job->state != J_DONE) {
        job->detached = true; /* the loop kills, reaps and frees it, maybe before we wake it: job is not ours now */
        scythe__list_remove(&job->announced.link); /* its OUTPUT event, if one waits: a detached job has none */
        /* Pushed under the lock: the loop cannot complete and free it before the push is done. */
        scythe__wake_for(waker, &job->wake_node);
        pthread_mutex_unlock(lock);
        return;
    }
    scythe__list_remove(&job->queued.link); /* its events, if the host frees the job before reading them */
    scythe__list_remove(&job->announced.link);
    scythe__list_remove(&job->link);
    scythe__job_unhand(job);
    pthread_mutex_unlock(lock);
    scythe__job_destroy(job);
}
