/* Stall windows: a job is killed only when none of its progress probes reported progress for a whole window.
 *
 * Probes: output (any byte, or lines matching a POSIX regex), a directory tree (inotify, with watches added for
 * directories created later; when the kernel's watch limit runs out, a periodic walk of mtimes), a heartbeat counter
 * in a shared file (sampled), and the host (scythe_job_progress). The window's end is a due time on the loop's
 * timerfd, so the kill follows it within the timer's precision, not a polling period later. */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_KEPT 4096
#define TREE_DEPTH_MAX 64
#define TREE_EVENTS (IN_MODIFY | IN_ATTRIB | IN_CLOSE_WRITE | IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)

/* The walk of a tree, on a thread of its own: a walk of thousands of files takes tens of milliseconds, which the loop
 * owes to its other jobs. The loop only samples what the last walk found. The probe's end stops the thread (a walk
 * under way gives up at its next entry) and joins it. */
typedef struct walker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;         /* the stop, for a thread waiting for its next walk */
    _Atomic bool stop;
    int64_t every_ns;
    int64_t newest;              /* the newest mtime or ctime its walks found (the first walk's: the baseline) */
    _Atomic int64_t changed_ns;  /* when the last walk that found a newer one ended; 0: none yet */
    char root[];
} walker;

struct scythe__progress {
    int64_t window_ns;
    int64_t last_ns;
    uint32_t probes;
    /* output */
    bool has_regex;
    regex_t regex;
    char line[3][LINE_MAX_KEPT + 1];
    size_t line_len[3];
    /* tree */
    char *root;
    int ino_fd;
    char **wd_path; /* watch descriptor -> directory path */
    size_t wd_cap;
    bool walking;
    int64_t walk_every_ns, next_walk_ns, tree_max_mtime_ns;
    walker *walker;              /* the walking thread's, or NULL (none could be started: the loop walks) */
    /* heartbeat */
    _Atomic uint64_t *beat;
    uint64_t beat_seen;
    int64_t beat_every_ns, next_beat_ns;
};

static int64_t clamp(int64_t v, int64_t lo, int64_t hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* ---- tree: inotify ---- */

static int remember_wd(scythe__progress *p, int wd, const char *path) {
    if ((size_t)wd >= p->wd_cap) {
        size_t n = p->wd_cap ? p->wd_cap : 64;
        while (n <= (size_t)wd)
            n *= 2;
        char **grown = scythe__realloc(p->wd_path, n * sizeof *grown);
        if (!grown)
            return -ENOMEM;
        memset(grown + p->wd_cap, 0, (n - p->wd_cap) * sizeof *grown);
        p->wd_path = grown;
        p->wd_cap = n;
    }
    free(p->wd_path[wd]);
    return (p->wd_path[wd] = scythe__strdup(path)) ? 0 : -ENOMEM;
}

/* Watches dir and every directory below it. -ENOSPC when the kernel's watch limit runs out. */
static int watch_tree(scythe__progress *p, const char *dir, int depth) {
    int wd = inotify_add_watch(p->ino_fd, dir, TREE_EVENTS | IN_ONLYDIR | IN_DONT_FOLLOW);
    if (wd < 0)
        return errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : -errno; /* gone meanwhile: fine */
    int rc = remember_wd(p, wd, dir);
    if (rc || depth >= TREE_DEPTH_MAX)
        return rc;
    DIR *d = opendir(dir);
    if (!d)
        return 0;
    char path[PATH_MAX];
    for (struct dirent *e; !rc && (e = readdir(d));) {
        if (e->d_type != DT_DIR || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) < (int)sizeof path)
            rc = watch_tree(p, path, depth + 1);
    }
    closedir(d);
    return rc;
}

/* ---- tree: walking fallback ---- */

static int64_t stat_ns(const struct stat *st) {
    int64_t m = (int64_t)st->st_mtim.tv_sec * 1000000000LL + st->st_mtim.tv_nsec;
    int64_t c = (int64_t)st->st_ctim.tv_sec * 1000000000LL + st->st_ctim.tv_nsec;
    return m > c ? m : c;
}

/* Newest mtime or ctime of anything below dir (the directory's own included: creations and deletions); given up,
 * early, once *stop is set (NULL: never). */
static int64_t newest_below(const char *dir, int depth, _Atomic bool *stop) {
    struct stat st;
    if (lstat(dir, &st) < 0)
        return 0;
    int64_t newest = stat_ns(&st);
    DIR *d = depth < TREE_DEPTH_MAX ? opendir(dir) : NULL;
    if (!d)
        return newest;
    char path[PATH_MAX];
    for (struct dirent *e; (!stop || !atomic_load_explicit(stop, memory_order_relaxed)) && (e = readdir(d));) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        if (snprintf(path, sizeof path, "%s/%s", dir, e->d_name) >= (int)sizeof path)
            continue;
        int64_t t;
        if (e->d_type == DT_DIR) {
            t = newest_below(path, depth + 1, stop);
        } else {
            t = fstatat(dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 ? stat_ns(&st) : 0;
        }
        if (t > newest)
            newest = t;
    }
    closedir(d);
    return newest;
}

static void *walk(void *arg) {
    walker *w = arg;
    prctl(PR_SET_NAME, "scythe-walk"); /* its CPU shows apart in /proc/PID/task */
    pthread_mutex_lock(&w->lock);
    for (bool first = true; !w->stop; first = false) {
        pthread_mutex_unlock(&w->lock);
        int64_t newest = newest_below(w->root, 0, &w->stop);
        if (w->stop)
            return NULL; /* cut short: not a finding */
        if (newest > w->newest) {
            w->newest = newest;
            if (!first) /* the first walk is the tree as the watch found it */
                atomic_store_explicit(&w->changed_ns, scythe__now_ns(), memory_order_release);
        }
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + w->every_ns;
        until.tv_sec += ns / 1000000000LL;
        until.tv_nsec = ns % 1000000000LL;
        pthread_mutex_lock(&w->lock);
        while (!w->stop && pthread_cond_timedwait(&w->wake, &w->lock, &until) == 0) {
            /* woken early, and not for the stop: wait on */
        }
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

/* A thread that walks the tree every walk_every_ns; NULL if none could be started (the loop then walks itself). */
static walker *start_walker(const char *root, int64_t every_ns) {
    size_t n = strlen(root) + 1;
    walker *w = scythe__calloc(1, sizeof *w + n);
    if (!w)
        return NULL;
    memcpy(w->root, root, n);
    w->every_ns = every_ns;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&w->lock, NULL);
    if (scythe__os_start_helper(walk, w, &w->thread)) {
        pthread_mutex_destroy(&w->lock);
        pthread_cond_destroy(&w->wake);
        free(w);
        return NULL;
    }
    return w;
}

/* Waits at most for one directory entry of a walk under way: it gives up at the next. */
static void stop_walker(walker *w) {
    if (!w)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = true;
    pthread_cond_signal(&w->wake);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->wake);
    free(w);
}

static void start_walking(scythe__progress *p, int epfd) {
    scythe__os_close_watched(epfd, p->ino_fd);
    p->ino_fd = -1;
    p->walking = true;
    /* Ten looks a window: a change is seen within a tenth of the window, at a cost the benchmark measures. */
    p->walk_every_ns = clamp(p->window_ns / 10, 10000000LL, 1000000000LL);
    if (!(p->walker = start_walker(p->root, p->walk_every_ns)))
        p->tree_max_mtime_ns = newest_below(p->root, 0, NULL);
}

/* What the walks found since the loop last looked: a newer mtime than before is progress, as of the walk that found
 * it (the loop's own walk: now). */
static void sample_walks(scythe__progress *p, int64_t now) {
    if (p->walker) {
        scythe__progress_mark(p, atomic_load_explicit(&p->walker->changed_ns, memory_order_acquire));
        return;
    }
    int64_t newest = newest_below(p->root, 0, NULL);
    if (newest > p->tree_max_mtime_ns) {
        p->tree_max_mtime_ns = newest;
        scythe__progress_mark(p, now);
    }
}

/* ---- life cycle ---- */

int scythe__progress_new(scythe__progress **out, const scythe_spawn_options *o) {
    *out = NULL;
    if (o->stall_ns <= 0)
        return 0;
    uint32_t known = SCYTHE_PROBE_OUTPUT | SCYTHE_PROBE_TREE | SCYTHE_PROBE_HEARTBEAT | SCYTHE_PROBE_HOST |
                     SCYTHE_PROBE_TREE_WALK;
    if (!o->probes || (o->probes & ~known))
        return -EINVAL;
    if ((o->probes & SCYTHE_PROBE_TREE) && (!o->progress_tree || !o->progress_tree[0]))
        return -EINVAL;
    if ((o->probes & SCYTHE_PROBE_HEARTBEAT) && (!o->heartbeat_path || !o->heartbeat_path[0]))
        return -EINVAL;
    if ((o->probes & SCYTHE_PROBE_OUTPUT) && o->stdio[1].mode != SCYTHE_STDIO_PIPE &&
        o->stdio[1].mode != SCYTHE_STDIO_CHANNEL && o->stdio[2].mode != SCYTHE_STDIO_PIPE)
        return -EINVAL; /* nothing read to watch */
    scythe__progress *p = scythe__calloc(1, sizeof *p);
    if (!p)
        return -ENOMEM;
    p->window_ns = o->stall_ns;
    p->probes = o->probes;
    p->ino_fd = -1;
    int rc = 0;
    if ((o->probes & SCYTHE_PROBE_OUTPUT) && o->progress_regex) {
        if ((rc = scythe__regex_compile(&p->regex, o->progress_regex)))
            goto fail;
        p->has_regex = true;
    }
    if (o->probes & SCYTHE_PROBE_TREE) {
        struct stat st;
        if (stat(o->progress_tree, &st) < 0) {
            rc = -errno;
            goto fail;
        }
        if (!S_ISDIR(st.st_mode)) {
            rc = -ENOTDIR;
            goto fail;
        }
        if (!(p->root = scythe__strdup(o->progress_tree))) {
            rc = -ENOMEM;
            goto fail;
        }
        if (o->probes & SCYTHE_PROBE_TREE_WALK) {
            start_walking(p, -1); /* at spawn: in no epoll set yet */
        } else if ((p->ino_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0) {
            start_walking(p, -1); /* EMFILE: the per-user instance limit */
        } else if ((rc = watch_tree(p, p->root, 0)) == -ENOSPC) {
            rc = 0;
            start_walking(p, -1); /* the per-user watch limit (fs.inotify.max_user_watches) ran out */
        } else if (rc) {
            goto fail;
        }
    }
    if (o->probes & SCYTHE_PROBE_HEARTBEAT) {
        uint64_t *beat;
        if ((rc = scythe_heartbeat_open(&beat, o->heartbeat_path)))
            goto fail;
        p->beat = (_Atomic uint64_t *)beat;
        p->beat_seen = atomic_load_explicit(p->beat, memory_order_acquire);
        /* A shared counter makes no event: sample it often enough that a stall is seen within a twentieth of the
         * window after its end. */
        p->beat_every_ns = clamp(p->window_ns / 20, 1000000LL, 50000000LL);
    }
    *out = p;
    return 0;
fail:
    scythe__progress_free(p);
    return rc;
}

void scythe__progress_free(scythe__progress *p) {
    if (!p)
        return;
    if (p->has_regex)
        regfree(&p->regex);
    stop_walker(p->walker);
    scythe__os_close(p->ino_fd);
    for (size_t i = 0; i < p->wd_cap; i++)
        free(p->wd_path[i]);
    free(p->wd_path);
    free(p->root);
    if (p->beat)
        scythe_heartbeat_close((uint64_t *)p->beat);
    free(p);
}

int scythe__progress_fd(const scythe__progress *p) {
    return p ? p->ino_fd : -1;
}

void scythe__progress_start(scythe__progress *p, int64_t now) {
    p->last_ns = now;
    p->next_walk_ns = now + p->walk_every_ns;
    p->next_beat_ns = now + p->beat_every_ns;
}

void scythe__progress_mark(scythe__progress *p, int64_t now) {
    if (now > p->last_ns)
        p->last_ns = now;
}

int64_t scythe__progress_last(scythe__progress *p) {
    if (p->walker)
        sample_walks(p, 0); /* its walks bring their own time */
    return p->last_ns;
}

uint32_t scythe__progress_flags(const scythe__progress *p) {
    return p->walking ? SCYTHE_EVENT_TREE_WALKED : 0;
}

/* ---- probes ---- */

void scythe__progress_output(scythe__progress *p, int stream, const uint8_t *data, size_t n, int64_t now) {
    if (!(p->probes & SCYTHE_PROBE_OUTPUT) || !n)
        return;
    if (!p->has_regex) {
        scythe__progress_mark(p, now);
        return;
    }
    /* Whole lines only; a line longer than LINE_MAX_KEPT is matched on its first LINE_MAX_KEPT bytes. */
    char *line = p->line[stream];
    size_t *len = &p->line_len[stream];
    for (size_t i = 0; i < n; i++) {
        if (data[i] == '\n') {
            line[*len] = 0;
            if (regexec(&p->regex, line, 0, NULL, 0) == 0)
                scythe__progress_mark(p, now);
            *len = 0;
        } else if (*len < LINE_MAX_KEPT) {
            line[(*len)++] = data[i] ? (char)data[i] : ' ';
        }
    }
}

void scythe__progress_inotify(scythe__progress *p, int64_t now, int epfd) {
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(p->ino_fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue; /* a signal to this thread: retry */
        if (n <= 0)
            return; /* EAGAIN: all read */
        scythe__progress_mark(p, now);
        for (char *at = buf; at < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)at;
            at += sizeof *ev + ev->len;
            if ((ev->mask & IN_ISDIR) && (ev->mask & (IN_CREATE | IN_MOVED_TO)) && ev->len && ev->wd >= 0 &&
                (size_t)ev->wd < p->wd_cap && p->wd_path[ev->wd]) {
                char path[PATH_MAX];
                if (snprintf(path, sizeof path, "%s/%s", p->wd_path[ev->wd], ev->name) >= (int)sizeof path)
                    continue;
                /* A directory created later is watched too (with what it already holds). */
                if (watch_tree(p, path, 1) == -ENOSPC) {
                    start_walking(p, epfd);
                    return;
                }
            }
        }
    }
}

int64_t scythe__progress_poll(scythe__progress *p, int64_t now, int64_t *due) {
    if (p->beat && now >= p->next_beat_ns) {
        uint64_t b = atomic_load_explicit(p->beat, memory_order_acquire);
        if (b != p->beat_seen) {
            p->beat_seen = b;
            scythe__progress_mark(p, now);
        }
        p->next_beat_ns = now + p->beat_every_ns;
    }
    if (p->walker) {
        sample_walks(p, now); /* one load: every time, so the window's end sees the last walk */
    } else if (p->walking && now >= p->next_walk_ns) {
        sample_walks(p, now);
        p->next_walk_ns = now + p->walk_every_ns;
    }
    int64_t end = p->last_ns + p->window_ns;
    int64_t next = end;
    if (p->beat && p->next_beat_ns < next)
        next = p->next_beat_ns;
    if (p->walking && !p->walker && p->next_walk_ns < next)
        next = p->next_walk_ns; /* a walking thread needs no time of the loop's: sampled at the window's end */
    if (!*due || next < *due)
        *due = next;
    return end;
}

/* ---- heartbeats ---- */

int scythe_heartbeat_open(uint64_t **out, const char *path) {
    if (!out || !path)
        return -EINVAL;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || (st.st_size < (off_t)sizeof(uint64_t) && ftruncate(fd, sizeof(uint64_t)) < 0)) {
        int err = -errno;
        scythe__os_close(fd);
        return err;
    }
    void *m = mmap(NULL, sizeof(uint64_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    int err = -errno;
    scythe__os_close(fd); /* the mapping keeps the file */
    if (m == MAP_FAILED)
        return err;
    *out = m;
    return 0;
}

void scythe_heartbeat_beat(uint64_t *counter) {
    if (counter)
        atomic_fetch_add_explicit((_Atomic uint64_t *)counter, 1, memory_order_release);
}

void scythe_heartbeat_close(uint64_t *counter) {
    if (counter)
        munmap(counter, sizeof(uint64_t));
}
