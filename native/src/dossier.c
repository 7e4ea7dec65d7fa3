/* Hang dossiers: when a job overruns, the loop writes, before anything is killed, every live job's process tree
 * with what /proc says of each process, so a user can tell a stuck prover from a stuck supervisor. The host adds its
 * own threads' stacks to the same file (the Java side appends every JVM thread's stack). */
#include "internal.h"
#include "dossier.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
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

static void write_session(FILE *f, const scythe_job *job) {
    fprintf(f, "\n== session %d (job %s, user data %llu)\n", job->pid, job->state == J_KILLING ? "being killed" : "running",
            (unsigned long long)job->ev.user_data);
    DIR *d = opendir("/proc");
    for (struct dirent *e; d && (e = readdir(d));) {
        int pid = atoi(e->d_name), ppid, sid;
        char state;
        if (pid <= 0 || stat_of(pid, &state, &ppid, &sid) < 0 || sid != job->pid)
            continue;
        fprintf(f, "  pid %d (parent %d) state %c\n", pid, ppid, state);
        copy_proc_file(f, pid, "cmdline", "cmdline");
        copy_proc_file(f, pid, "wchan", "wchan");
        copy_proc_file(f, pid, "stack", "kernel stack");
        write_fds(f, pid);
        char kids[64];
        snprintf(kids, sizeof kids, "task/%d/children", pid);
        copy_proc_file(f, pid, kids, "children");
    }
    if (d)
        closedir(d);
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

int scythe__dossier_write(const scythe_job *job, const char *why, const scythe__list *jobs) {
    char path[PATH_MAX];
    int rc = scythe_dossier_path(path, sizeof path, job->dossier_dir, job->pid);
    if (rc)
        return rc;
    FILE *f = fopen(path, "we");
    if (!f)
        return -errno;
    time_t now = time(NULL);
    struct tm utc;
    char when[64] = "(unknown time)";
    if (gmtime_r(&now, &utc))
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &utc);
    fprintf(f, "Scythe hang dossier, %s\njob %d overran (%s) after %.3f s; written before it was killed.\n"
               "Every live job of the supervising loop follows, then the supervisor's own threads.\n",
            when, job->pid, why, (double)(scythe__now_ns() - job->ev.start_ns) / 1e9);
    write_session(f, job);
    for (const scythe__list *l = jobs->next; l != jobs; l = l->next) {
        const scythe_job *other = SCYTHE__CONTAINER(l, const scythe_job, link);
        if (other != job && other->state < J_REAPED)
            write_session(f, other);
    }
    rc = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && !rc)
        rc = -errno;
    return rc;
}
