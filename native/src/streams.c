/* A job's standard streams: opened for the spawn (inherited, /dev/null, files, pipes); then, on the loop thread, stdin
 * fed from the bytes given at spawn and stdout and stderr drained into their captures and the output probe. */
#include "internal.h"
#include "streams.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

/* Our pipe ends must not sit on 0-2, where the child's dup2 would find them already in place. */
static int above_stdio(int fd) {
    if (fd > 2)
        return fd;
    int moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    int err = errno;
    scythe__os_close(fd);
    return moved < 0 ? -err : moved;
}

int scythe__stream_open(const scythe_stdio *s, int i, int *child_fd, int *parent_fd) {
    *child_fd = *parent_fd = -1;
    int fd;
    switch (s->mode) {
    case SCYTHE_STDIO_INHERIT:
        return 0;
    case SCYTHE_STDIO_NULL:
        fd = open("/dev/null", (i == 0 ? O_RDONLY : O_WRONLY) | O_CLOEXEC);
        break;
    case SCYTHE_STDIO_FILE:
        fd = i == 0 ? open(s->path, O_RDONLY | O_CLOEXEC)
                    : open(s->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        break;
    case SCYTHE_STDIO_FILE_APPEND:
        fd = open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
        break;
    default: { /* PIPE */
        int p[2];
        if (pipe2(p, O_CLOEXEC) < 0)
            return -errno;
        int ours = i == 0 ? p[1] : p[0], theirs = i == 0 ? p[0] : p[1];
        if ((ours = above_stdio(ours)) < 0) {
            scythe__os_close(theirs);
            return ours;
        }
        if ((theirs = above_stdio(theirs)) < 0) {
            scythe__os_close(ours);
            return theirs;
        }
        if (fcntl(ours, F_SETFL, O_NONBLOCK) < 0) {
            int err = -errno;
            scythe__os_close(ours);
            scythe__os_close(theirs);
            return err;
        }
        *parent_fd = ours;
        *child_fd = theirs;
        return 0;
    }
    }
    if (fd < 0)
        return -errno;
    if ((fd = above_stdio(fd)) < 0)
        return fd;
    *child_fd = fd;
    return 0;
}

void scythe__stream_close(scythe_job *job, int i) {
    scythe__os_close_watched(job->epfd, job->out_fd[i]);
    job->out_fd[i] = -1;
}

/* Reads what a pipe holds. While the leader runs, at most a few reads per wake-up so one chatty job cannot starve
 * the others (epoll is level-triggered: the rest comes next round); once it was reaped, everything up to EAGAIN. */
void scythe__stream_drain(scythe_job *job, int i, uint8_t *buf, size_t cap) {
    int rounds = job->state >= J_REAPED ? -1 : 4;
    while (job->out_fd[i] >= 0 && rounds--) {
        ssize_t n = read(job->out_fd[i], buf, cap);
        if (n > 0) {
            if (job->capture[i])
                (void)scythe__capture_append(&job->cap[i], buf, (size_t)n); /* ENOMEM: flagged in the event */
            if (job->progress && job->state == J_RUNNING)
                scythe__progress_output(job->progress, i, buf, (size_t)n, scythe__now_ns());
        } else if (n < 0 && errno == EINTR) {
            continue; /* a signal to this thread: retry */
        } else if (n < 0 && errno == EAGAIN) {
            return;
        } else {
            scythe__stream_close(job, i); /* EOF, or an error that leaves nothing to read */
        }
    }
}

void scythe__stream_feed(scythe_job *job) {
    while (job->out_fd[0] >= 0) {
        ssize_t n = write(job->out_fd[0], job->input + job->input_off, job->input_len - job->input_off);
        if (n > 0) {
            job->input_off += (size_t)n;
            if (job->input_off == job->input_len)
                scythe__stream_close(job, 0);
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
            scythe__stream_close(job, 0);
        }
    }
}
