/* A job's standard streams: opened for the spawn (inherited, /dev/null, files, pipes); then, on the loop thread, stdin
 * fed from the bytes given at spawn and stdout and stderr drained into their captures and the output probe.
 * Channels (SCYTHE_STDIO_CHANNEL) are pipes too, with a fifo of bytes on our side: the host's scythe_job_write queues
 * into stdin's, which the loop writes out as the job reads; the loop reads stdout into the other, which the host's
 * scythe_job_read empties. Each side asks epoll only for what it can act on: EPOLLOUT while bytes are queued, EPOLLIN
 * while the read-ahead has room, so that neither a writable pipe with nothing to write nor a full fifo spins the loop. */
#include "internal.h"
#include "streams.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
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

/* ---- channels ------------------------------------------------------------------------------------------------- */

#define CHUNK ((size_t)64 * 1024)

/* Makes room for n more bytes at the end of the fifo: moves its bytes to the front if that suffices, else grows it. */
static int fifo_reserve(scythe__fifo *f, size_t n) {
    if (f->alloc - f->off - f->len >= n)
        return 0;
    if (f->alloc - f->len >= n) {
        memmove(f->data, f->data + f->off, f->len); /* off > 0 here: data is not NULL */
        f->off = 0;
        return 0;
    }
    if (n > SIZE_MAX / 2 - f->len)
        return -ENOMEM;
    size_t want = f->alloc ? f->alloc * 2 : 4096;
    if (want < f->len + n)
        want = f->len + n;
    if (f->off) { /* realloc keeps the bytes in front of the new size: move them there */
        memmove(f->data, f->data + f->off, f->len);
        f->off = 0;
    }
    uint8_t *p = scythe__realloc(f->data, want);
    if (!p)
        return -ENOMEM;
    f->data = p;
    f->alloc = want;
    return 0;
}

static void fifo_consume(scythe__fifo *f, size_t n) {
    f->off += n;
    f->len -= n;
    if (!f->len)
        f->off = 0;
}

static void fifo_free(scythe__fifo *f) {
    free(f->data);
    memset(f, 0, sizeof *f);
}

/* Which events the loop asks of stream i (0 stdin, 1 stdout) now; the watch of stream i is the one scythe__loop_add
 * registered it with. epoll_ctl is thread-safe, so a host thread may do this while the loop waits. */
static int watch_set(scythe_job *job, int i, uint32_t events) {
    struct epoll_event ev = {.events = events, .data.ptr = &job->watch[i == 0 ? 3 : i]};
    return epoll_ctl(job->epfd, EPOLL_CTL_MOD, job->out_fd[i], &ev) < 0 ? -errno : 0;
}

/* Closes the stdin channel for good: bytes still queued are dropped. */
static void close_in(scythe_job *job) {
    scythe__stream_close(job, 0);
    job->in_polling = false;
    fifo_free(&job->in_fifo);
}

int scythe__channel_write(scythe_job *job, const uint8_t *data, size_t len) {
    if (!len)
        return 0;
    /* Room for all of it first, so that -ENOMEM means nothing was written: a worker never sees half a message followed
     * by the next one. The fifo keeps its memory for the next write. */
    int rc = fifo_reserve(&job->in_fifo, len);
    if (rc)
        return rc;
    size_t done = 0;
    while (!job->in_fifo.len && done < len) { /* nothing queued before these bytes: straight to the pipe, in order */
        ssize_t n = scythe__os_write_pipe(job->out_fd[0], data + done, len - done);
        if (n >= 0) {
            done += (size_t)n;
        } else if (n == -EAGAIN) {
            break;
        } else {
            close_in(job); /* EPIPE: the job closed its stdin; any other error leaves nothing to write to either */
            return -EPIPE;
        }
    }
    if (done == len)
        return 0;
    memcpy(job->in_fifo.data + job->in_fifo.off + job->in_fifo.len, data + done, len - done);
    job->in_fifo.len += len - done;
    if (!job->in_polling) {
        /* Cannot fail for an fd in the set short of a kernel bug; if it did, these bytes would never be written, so
         * the channel closes rather than lose them silently. */
        if ((rc = watch_set(job, 0, EPOLLOUT)) < 0) {
            close_in(job);
            return rc;
        }
        job->in_polling = true;
    }
    return 0;
}

void scythe__channel_close_in(scythe_job *job) {
    if (job->in_fifo.len)
        job->in_close_asked = true; /* the loop closes it after the last queued byte */
    else
        close_in(job);
}

void scythe__channel_feed(scythe_job *job, uint32_t events) {
    scythe__fifo *f = &job->in_fifo;
    while (job->out_fd[0] >= 0 && f->len) {
        ssize_t n = scythe__os_write_pipe(job->out_fd[0], f->data + f->off, f->len);
        if (n > 0) {
            fifo_consume(f, (size_t)n);
        } else if (n == -EAGAIN) {
            return;
        } else {
            close_in(job); /* the job closed its stdin: what is queued can never be read */
            return;
        }
    }
    if (job->out_fd[0] < 0)
        return;
    if (job->in_close_asked || (events & (EPOLLERR | EPOLLHUP))) {
        /* The host's close waited for these bytes; or the job closed its end while nothing was queued (EPOLLERR is
         * reported even to a watch that asks for no events, and level-triggered: it must not stay in the set). */
        close_in(job);
    } else if (job->in_polling && watch_set(job, 0, 0) == 0) {
        job->in_polling = false; /* a writable pipe with nothing to write would wake the loop again and again */
        if (f->alloc > SCYTHE__CHANNEL_READ_AHEAD)
            fifo_free(f); /* one big write does not pin its memory for the job's whole life */
    }
}

/* No events asked for stdout: the job blocks on a full pipe until the host takes some bytes. */
static void pause_out(scythe_job *job) {
    if (!job->out_paused && watch_set(job, 1, 0) == 0)
        job->out_paused = true;
}

/* One read of at most `want` bytes from the stdout channel into its fifo: the bytes read, 0 if the pipe has none now,
 * -ENOMEM (nothing read, the pipe stays open), or -EPIPE once the pipe is closed (end of file, or an error that leaves
 * nothing to read). */
static ssize_t read_some(scythe_job *job, size_t want) {
    scythe__fifo *f = &job->out_fifo;
    if (fifo_reserve(f, want))
        return -ENOMEM;
    for (;;) {
        uint8_t *at = f->data + f->off + f->len;
        ssize_t n = read(job->out_fd[1], at, want);
        if (n > 0) {
            f->len += (size_t)n;
            if (job->progress && job->state == J_RUNNING)
                scythe__progress_output(job->progress, 1, at, (size_t)n, scythe__now_ns());
            return n;
        }
        if (n < 0 && errno == EINTR)
            continue; /* a signal to this thread: retry */
        if (n < 0 && errno == EAGAIN)
            return 0;
        scythe__stream_close(job, 1);
        job->out_paused = false;
        return -EPIPE;
    }
}

size_t scythe__channel_fill(scythe_job *job) {
    /* Paused, the watch asks for no events, so this is EPOLLHUP: every writer is gone and what the pipe holds is all
     * there will ever be. It is read to the end, past the read-ahead limit: left there, the HUP would spin the loop. */
    bool rest = job->out_paused;
    size_t got = 0;
    /* A few reads per wake-up while the leader runs, so one chatty job cannot starve the others (level-triggered: the
     * rest comes next round). */
    for (int round = 0; job->out_fd[1] >= 0 && (rest || round < 4); round++) {
        size_t unread = job->out_fifo.len, room = unread < SCYTHE__CHANNEL_READ_AHEAD
                                                      ? SCYTHE__CHANNEL_READ_AHEAD - unread : 0;
        if (!rest && !room) {
            pause_out(job);
            break;
        }
        ssize_t n = read_some(job, rest || room > CHUNK ? CHUNK : room);
        if (n == -ENOMEM) {
            /* Out of memory: leave the bytes in the pipe (the job waits) until the host's next read resumes us. With
             * no writer left nothing can wait: the rest is lost, and said so in the event. */
            if (rest) {
                job->ev.flags |= SCYTHE_EVENT_STDOUT_LOST;
                scythe__stream_close(job, 1);
                job->out_paused = false;
            } else {
                pause_out(job);
            }
            break;
        }
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    if (!rest && job->out_fd[1] >= 0 && job->out_fifo.len >= SCYTHE__CHANNEL_READ_AHEAD)
        pause_out(job); /* full now: pause at once, not after one more wake-up that would find no room */
    return got;
}

size_t scythe__channel_exit(scythe_job *job) {
    if (job->channel[0])
        close_in(job);
    if (!job->channel[1] || job->out_fd[1] < 0)
        return 0;
    /* Exactly what the pipe holds now, even past the read-ahead limit (at most the pipe's size): the job wrote it before
     * its leader died, and nothing written then is lost. Not a byte more: an escapee that still holds the write end
     * could keep us reading forever, and it cannot delay the EXIT event either, as waiting for end-of-file would. */
    size_t pending = scythe__os_pipe_pending(job->out_fd[1]), got = 0;
    while (got < pending) {
        ssize_t n = read_some(job, pending - got < CHUNK ? pending - got : CHUNK);
        if (n == -ENOMEM)
            job->ev.flags |= SCYTHE_EVENT_STDOUT_LOST;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    scythe__stream_close(job, 1);
    job->out_paused = false;
    return got;
}

size_t scythe__channel_take(scythe_job *job, uint8_t *buf, size_t cap) {
    scythe__fifo *f = &job->out_fifo;
    size_t n = cap < f->len ? cap : f->len;
    if (n) {
        memcpy(buf, f->data + f->off, n);
        fifo_consume(f, n);
    }
    if (job->out_paused && f->len < SCYTHE__CHANNEL_READ_AHEAD && watch_set(job, 1, EPOLLIN) == 0)
        job->out_paused = false; /* room again: the loop reads on (a failed MOD leaves it paused until the next read) */
    if (job->out_fd[1] < 0 && !f->len)
        fifo_free(f); /* closed and taken: nothing more will come */
    return n;
}
