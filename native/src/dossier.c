/* Hang dossiers: when a job overruns, every live job's process tree is written, before the overrunning job is
 * killed, with what /proc says of each process, so a user can tell a stuck prover from a stuck supervisor. The host
 * adds its own threads' stacks to the same file (the Java side appends every JVM thread's stack).
 * A dossier is written by a thread of its own, from a snapshot of the loop's jobs taken under the loop lock: over
 * thousands of processes it takes seconds, and the loop goes on meanwhile, so no other job's timeout or kill waits
 * for it (decision 0025). The overrunning job's end is decided when it overruns; its signals follow the dossier. */
#include "internal.h"
#include "dossier.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Copies /proc/<pid>/<what> into f, each line indented; "(unreadable: ...)" when it cannot be read. */
static void copy_proc_file(FILE *f, int pid, const char *what, const char *label) {
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/%s", pid, what);
    FILE *in = fopen(path, "re");
    fprintf(f, "    %s:", label);
    if (!in) {
        fprintf(f, " (unreadable: %s)\n", scythe_strerror(errno));
        return;
    }
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = 0;
    if (!strcmp(what, "cmdline")) { /* NUL-separated arguments */
        for (size_t i = 0; i + 1 < n; i++)
            if (!buf[i])
                buf[i] = ' ';
        fprintf(f, " %s\n", buf);
        return;
    }
    if (!strchr(buf, '\n')) {
        fprintf(f, " %s\n", n ? buf : "-");
        return;
    }
    fputc('\n', f);
    char *rest;
    for (char *line = strtok_r(buf, "\n", &rest); line; line = strtok_r(NULL, "\n", &rest))
        fprintf(f, "      %s\n", line);
}

static void write_fds(FILE *f, int pid) {
    char path[64], target[PATH_MAX], link[PATH_MAX + 80];
    snprintf(path, sizeof path, "/proc/%d/fd", pid);
    DIR *d = opendir(path);
    fprintf(f, "    fds:");
    if (!d) {
        fprintf(f, " (unreadable: %s)\n", scythe_strerror(errno));
        return;
    }
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(link, sizeof link, "%s/%s", path, e->d_name);
        ssize_t n = readlink(link, target, sizeof target - 1);
        target[n > 0 ? n : 0] = 0;
        fprintf(f, " %s->%s", e->d_name, target);
    }
    closedir(d);
    fputc('\n', f);
}

/* State letter, parent and session of pid, from /proc/<pid>/stat. */
static int stat_of(int pid, char *state, int *ppid, int *sid) {
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *in = fopen(path, "re");
    if (!in)
        return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, in);
    fclose(in);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    int pgrp;
    return p && sscanf(p + 2, "%c %d %d %d", state, ppid, &pgrp, sid) == 4 ? 0 : -1;
}

/* A process of /proc, as one scan saw it. */
typedef struct {
    int pid, ppid, sid;
    char state;
} proc_entry;

/* Every process of /proc once (not once per session: thousands of processes, times every live job), into *out. */
static size_t scan_proc(proc_entry **out) {
    size_t n = 0, cap = 0;
    proc_entry *all = NULL;
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d));) {
        proc_entry p = {.pid = atoi(e->d_name)};
        if (p.pid <= 0 || stat_of(p.pid, &p.state, &p.ppid, &p.sid) < 0)
            continue;
        if (n == cap) {
            size_t want = cap ? 2 * cap : 1024;
            proc_entry *grown = realloc(all, want * sizeof *all);
            if (!grown)
                break; /* what was seen so far is still written */
            all = grown;
            cap = want;
        }
        all[n++] = p;
    }
    if (d)
        closedir(d);
    *out = all;
    return n;
}

/* A live job as the snapshot holds it. */
typedef struct {
    int32_t pid;
    bool killing;
    uint64_t user_data;
} session_entry;

static void write_session(FILE *f, const session_entry *s, const proc_entry *procs, size_t n) {
    fprintf(f, "\n== session %d (job %s, user data %llu)\n", s->pid, s->killing ? "being killed" : "running",
            (unsigned long long)s->user_data);
    for (size_t i = 0; i < n; i++) {
        const proc_entry *p = &procs[i];
        if (p->sid != s->pid)
            continue;
        fprintf(f, "  pid %d (parent %d) state %c\n", p->pid, p->ppid, p->state);
        copy_proc_file(f, p->pid, "cmdline", "cmdline");
        copy_proc_file(f, p->pid, "wchan", "wchan");
        copy_proc_file(f, p->pid, "stack", "kernel stack");
        write_fds(f, p->pid);
        char kids[64];
        snprintf(kids, sizeof kids, "task/%d/children", p->pid);
        copy_proc_file(f, p->pid, kids, "children");
    }
}

int scythe_dossier_path(char *buf, size_t len, const char *dir, int32_t pid) {
    if (!buf || !dir)
        return -EINVAL;
    int n = snprintf(buf, len, "%s/scythe-dossier-%d.txt", dir, (int)pid);
    if (n < 0 || (size_t)n >= len) {
        if (len)
            buf[0] = 0;
        return -ENAMETOOLONG;
    }
    return 0;
}

struct scythe__dossier {
    _Atomic int refs;          /* the job's and the writer thread's */
    _Atomic int done;          /* 1 once written; rc then holds the result */
    int rc;
    scythe__waker *waker;      /* the loop's: woken when done; the loop waits for its helpers before closing it */
    char path[PATH_MAX];
    const char *why;
    int64_t overran_ns;        /* how long the job had run when it overran */
    size_t count;              /* sessions[0] is the overrunning job's */
    session_entry sessions[];
};

static void release(scythe__dossier *d) {
    if (atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) == 1)
        free(d);
}

static int write_file(const scythe__dossier *d) {
    FILE *f = fopen(d->path, "we");
    if (!f)
        return -errno;
    time_t now = time(NULL);
    struct tm utc;
    char when[64] = "(unknown time)";
    if (gmtime_r(&now, &utc))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    fprintf(f, "Scythe hang dossier, %s\njob %d overran (%s) after %.3f s; written before it was killed.\n"
               "Every live job of the supervising loop follows, then the supervisor's own threads.\n",
            when, d->sessions[0].pid, d->why, (double)d->overran_ns / 1e9);
    proc_entry *procs;
    size_t n = scan_proc(&procs);
    for (size_t i = 0; i < d->count; i++)
        write_session(f, &d->sessions[i], procs, n);
    free(procs);
    int rc = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && !rc)
        rc = -errno;
    return rc;
}

static void *writer(void *arg) {
    scythe__dossier *d = arg;
    d->rc = write_file(d);
    atomic_store_explicit(&d->done, 1, memory_order_release);
    scythe__wake_sweep(d->waker); /* it knows no job it may still touch: the loop looks at all */
    scythe__waker_helper_end(d->waker); /* the last touch of the loop's waker */
    release(d);
    return NULL;
}

int scythe__dossier_start(scythe_job *job, const char *why, const scythe__list *jobs, scythe__dossier **out) {
    size_t count = 1;
    for (const scythe__list *l = jobs->next; l != jobs; l = l->next) {
        const scythe_job *other = SCYTHE__CONTAINER(l, const scythe_job, link);
        count += other != job && other->state < J_REAPED;
    }
    scythe__dossier *d = scythe__calloc(1, sizeof *d + count * sizeof d->sessions[0]);
    if (!d)
        return -ENOMEM;
    int rc = scythe_dossier_path(d->path, sizeof d->path, job->dossier_dir, job->pid);
    if (rc) {
        free(d);
        return rc;
    }
    d->why = why; /* a string literal */
    d->overran_ns = scythe__now_ns() - job->ev.start_ns;
    d->waker = job->waker;
    d->sessions[0] = (session_entry){.pid = job->pid, .killing = job->state == J_KILLING, .user_data = job->ev.user_data};
    d->count = 1;
    for (const scythe__list *l = jobs->next; l != jobs; l = l->next) {
        const scythe_job *other = SCYTHE__CONTAINER(l, const scythe_job, link);
        if (other != job && other->state < J_REAPED)
            d->sessions[d->count++] = (session_entry){.pid = other->pid, .killing = other->state == J_KILLING,
                                                      .user_data = other->ev.user_data};
    }
    atomic_init(&d->refs, 2);
    scythe__waker_helper_begin(d->waker);
    if ((rc = scythe__os_start_helper(writer, d, NULL))) {
        scythe__waker_helper_end(d->waker);
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

int scythe__dossier_done(scythe__dossier *d, int *rc) {
    if (!atomic_load_explicit(&d->done, memory_order_acquire))
        return 0;
    *rc = d->rc;
    return 1;
}

void scythe__dossier_release(scythe__dossier *d) {
    if (d)
        release(d);
}
