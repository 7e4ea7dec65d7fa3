/* Starting a job: posix_spawn as the leader of a new session, with an empty signal mask, default dispositions and
 * no fd above 2, then a pidfd taken at once (only this library reaps its children, so the pid cannot have been
 * recycled in between).
 *
 * Why posix_spawn and not fork/exec: glibc implements it with clone(CLONE_VM | CLONE_VFORK), so its cost does not
 * grow with the size of the JVM's address space, and it reports exec failures (ENOENT, EACCES) synchronously. */
#include "internal.h"
#include "cadence.h"
#include "guard.h"
#include "job.h"
#include "kill.h"
#include "loop.h"
#include "streams.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int scythe_spawn_options_init(scythe_spawn_options *opts) {
    if (!opts)
        return -EINVAL;
    scythe_spawn_options init = SCYTHE_SPAWN_OPTIONS_INIT;
    *opts = init;
    return 0;
}

/* Where each version's struct ends: a caller's struct of version v is read up to there, and no further. */
static const size_t version_end[SCYTHE_SPAWN_OPTIONS_VERSION + 1] = {
    0,
    offsetof(scythe_spawn_options, claim_index),
    offsetof(scythe_spawn_options, stall_ns),
    offsetof(scythe_spawn_options, dossier_dir),
    offsetof(scythe_spawn_options, containment),
    offsetof(scythe_spawn_options, pass_token),
    sizeof(scythe_spawn_options),
};

/* The caller's options in this library's layout: its fields, and the defaults of the fields its version lacks. The
 * rest of the library reads only this copy. */
static int normalise(scythe_spawn_options *dst, const scythe_spawn_options *src) {
    if (src->version < 1 || src->version > SCYTHE_SPAWN_OPTIONS_VERSION)
        return -EINVAL;
    scythe_spawn_options init = SCYTHE_SPAWN_OPTIONS_INIT;
    *dst = init;
    memcpy(dst, src, version_end[src->version]);
    dst->version = SCYTHE_SPAWN_OPTIONS_VERSION;
    return 0;
}

/* The environment of a job handed its token: the caller's (or envp) without SCYTHE_TOKEN_FD, then SCYTHE_TOKEN_FD=3.
 * One allocation: the pointer array, then the new entry's text. */
static char **env_with_token(const char *const *envp) {
    static const char entry[] = SCYTHE_TOKEN_FD_ENV "=3";
    const size_t key = sizeof SCYTHE_TOKEN_FD_ENV; /* the name and its '=' */
    const char *const *from = envp ? envp : (const char *const *)environ;
    size_t n = 0;
    while (from[n])
        n++;
    char **env = scythe__malloc((n + 2) * sizeof *env + sizeof entry);
    if (!env)
        return NULL;
    char *text = (char *)(env + n + 2);
    memcpy(text, entry, sizeof entry);
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (strncmp(from[i], entry, key) != 0)
            env[k++] = (char *)from[i];
    env[k++] = text;
    env[k] = NULL;
    return env;
}

static int validate(const scythe_spawn_options *o) {
    if (o->pass_token && (!o->token || scythe_token_fd(o->token) < 0))
        return -EINVAL; /* only a shared token can be handed to another process */
    if (!o->argv || !o->argv[0] || !o->argv[0][0])
        return -EINVAL;
    for (int i = 0; i < 3; i++) {
        const scythe_stdio *s = &o->stdio[i];
        if (s->mode < SCYTHE_STDIO_INHERIT || s->mode > SCYTHE_STDIO_CHANNEL)
            return -EINVAL;
        /* A channel is a conversation: stderr is not part of one, and its stdin is written with scythe_job_write,
         * so bytes given at spawn as well would leave their order to chance. */
        if (s->mode == SCYTHE_STDIO_CHANNEL && (i == 2 || s->input_len))
            return -EINVAL;
        if ((s->mode == SCYTHE_STDIO_FILE || s->mode == SCYTHE_STDIO_FILE_APPEND) && (!s->path || !s->path[0]))
            return -EINVAL;
        if (i == 0 && s->mode == SCYTHE_STDIO_FILE_APPEND)
            return -EINVAL;
        if (i == 0 && s->input_len && !s->input)
            return -EINVAL;
    }
    return 0;
}

/* posix_spawn(p) with the session, signal and fd set-up. Returns 0, the pid and the time the spawn call began, or
 * -errno. */
static int do_spawn(pid_t *pid, int64_t *start_ns, const scythe_spawn_options *o, const int child_fd[3],
                    int token_fd) {
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t attr;
    int rc = posix_spawn_file_actions_init(&fa);
    if (rc)
        return -rc;
    if ((rc = scythe__os_spawnattr_init(&attr))) {
        scythe__os_spawn_destroy(&fa, NULL);
        return rc;
    }
    for (int i = 0; i < 3 && !rc; i++)
        if (child_fd[i] >= 0)
            rc = posix_spawn_file_actions_adddup2(&fa, child_fd[i], i);
    if (!rc && token_fd >= 0) /* a job handed its token gets it as fd 3 */
        rc = posix_spawn_file_actions_adddup2(&fa, token_fd, 3);
    /* The JVM and other native libraries open fds without O_CLOEXEC; none of them may reach a prover. */
    if (!rc)
        rc = posix_spawn_file_actions_addclosefrom_np(&fa, token_fd >= 0 ? 4 : 3);
    if (!rc && o->cwd)
        rc = posix_spawn_file_actions_addchdir_np(&fa, o->cwd);
    if (!rc) {
        char *const *argv = (char *const *)o->argv;
        char *const *envp = o->envp ? (char *const *)o->envp : environ;
        *start_ns = scythe__now_ns();
        rc = strchr(o->argv[0], '/') ? posix_spawn(pid, o->argv[0], &fa, &attr, argv, envp)
                                     : posix_spawnp(pid, o->argv[0], &fa, &attr, argv, envp);
    }
    scythe__os_spawn_destroy(&fa, &attr);
    return -rc;
}

int scythe_spawn(scythe_job **out, scythe_loop *loop, const scythe_spawn_options *given) {
    if (!out || !loop || !given)
        return -EINVAL;
    scythe_spawn_options opts;
    const scythe_spawn_options *o = &opts;
    int rc = normalise(&opts, given);
    if (rc || (rc = validate(o)))
        return rc;
    if (o->token && scythe__token_state(o->token))
        return -ECANCELED;
    if ((rc = scythe__os_keep_child_status()))
        return rc;

    scythe_job *job;
    if ((rc = scythe__job_new(&job)))
        return rc;
    int child_fd[3] = {-1, -1, -1};
    /* Probes first: a tree is watched before the child can change it. */
    if ((rc = scythe__progress_new(&job->progress, o)))
        goto fail;
    const scythe_stdio *in = &o->stdio[0];
    if (in->mode == SCYTHE_STDIO_PIPE && in->input_len) {
        if (!(job->input = scythe__malloc(in->input_len))) {
            rc = -ENOMEM;
            goto fail;
        }
        memcpy(job->input, in->input, in->input_len);
        job->input_len = in->input_len;
    }
    if (o->dossier_dir && o->dossier_dir[0] &&
        !(job->dossier_dir = scythe__strdup(o->dossier_dir))) {
        rc = -ENOMEM;
        goto fail;
    }
    for (int i = 0; i < 3; i++) {
        if ((rc = scythe__stream_open(&o->stdio[i], i, &child_fd[i], &job->out_fd[i])))
            goto fail;
        job->capture[i] = i > 0 && o->stdio[i].mode == SCYTHE_STDIO_PIPE;
        if (i < 2)
            job->channel[i] = o->stdio[i].mode == SCYTHE_STDIO_CHANNEL;
        scythe__capture_init(&job->cap[i], o->head_bytes ? o->head_bytes : SCYTHE__DEFAULT_CAPTURE,
                             o->tail_bytes ? o->tail_bytes : SCYTHE__DEFAULT_CAPTURE);
    }

    int containment = o->containment;
    int64_t mem = o->memory_limit_bytes, nproc = o->process_limit;
    if (containment < SCYTHE_CONTAIN_SESSION || containment > SCYTHE_CONTAIN_BEST || mem < 0 || nproc < 0) {
        rc = -EINVAL;
        goto fail;
    }
    if (containment != SCYTHE_CONTAIN_SESSION || mem > 0 || nproc > 0) {
        if (!(job->cgroup = scythe__loop_take_spare(loop))) {
            if (!(job->cgroup = scythe__malloc(sizeof *job->cgroup))) {
                rc = -ENOMEM;
                goto fail;
            }
            scythe__cgroup_init(job->cgroup);
        }
        rc = scythe__cgroup_create(job->cgroup, mem, nproc);
        if (rc && (containment == SCYTHE_CONTAIN_CGROUP || mem > 0 || nproc > 0))
            goto fail; /* asked for, and the machine cannot: never pretend */
        if (rc) {
            free(job->cgroup);
            job->cgroup = NULL;
            rc = 0;
        }
    }
    /* Last before the spawn, so a full table leaves nothing behind: a job the guard cannot list is not started. */
    int slot = scythe__guard_reserve();
    if (slot < 0) {
        rc = slot;
        goto fail;
    }
    job->guard_slot = slot;
    pid_t pid;
    int64_t start_ns = 0;
    int token_fd = -1;
    char **env = NULL;
    if (o->pass_token) {
        if (!(env = env_with_token(o->envp))) {
            rc = -ENOMEM;
            goto fail;
        }
        opts.envp = (const char *const *)env;
        token_fd = scythe_token_fd(o->token);
    }
    if (job->cgroup)
        rc = scythe__clone_spawn(&pid, &job->pidfd, &start_ns, o, child_fd, job->cgroup->procs_fd, token_fd);
    else
        rc = do_spawn(&pid, &start_ns, o, child_fd, token_fd);
    free(env); /* nothing below reads opts.envp */
    for (int i = 0; i < 3; i++) {
        scythe__os_close(child_fd[i]);
        child_fd[i] = -1;
    }
    if (job->cgroup)
        scythe__cgroup_close_procs(job->cgroup);
    if (rc)
        goto fail;
    /* Wall time counts the fork and the exec, as time(1) does: the spawn call began then (the parent waits in it until
     * the child's exec), not when it returned. */
    job->ev.start_ns = start_ns;
    scythe__guard_list(job->guard_slot, pid);
    job->pid = pid;
    job->ev.pid = pid;
    job->ev.containment = job->cgroup ? SCYTHE_CONTAIN_CGROUP : SCYTHE_CONTAIN_SESSION;
    if (job->pidfd < 0 && (rc = job->pidfd = scythe__os_pidfd_open(pid)) < 0) {
        /* Not yet reaped by anyone but us, so the pid is still this child. */
        kill(pid, SIGKILL);
        scythe__guard_remove(job->guard_slot); /* before the reap: the guard must never see its pid recycled */
        job->guard_slot = 0;
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR) {
            /* retry: interrupted by a signal to this thread */
        }
        job->pidfd = -1;
        goto fail;
    }
    if (o->stdio[0].mode == SCYTHE_STDIO_PIPE && !job->input_len) {
        scythe__os_close(job->out_fd[0]); /* nothing to feed: the child reads EOF */
        job->out_fd[0] = -1;
    }
    job->grace_ns = o->grace_ns ? o->grace_ns : SCYTHE__DEFAULT_GRACE_NS;
    job->ev.user_data = o->user_data;
    job->ev.job = job;
    job->ev.kind = SCYTHE_EVENT_EXIT;
    if (o->token) {
        scythe__token_ref(o->token);
        job->token = o->token;
    }
    scythe__cadence_start(job, o);
    if (o->claim_index >= 0 && o->token) {
        job->claim_index = o->claim_index;
        memcpy(job->claim_codes, o->claim_exit_codes, sizeof job->claim_codes);
    }
    if ((rc = scythe__loop_add(loop, job)) < 0) {
        /* Registered with nothing yet: kill and reap here, unlisted first so the guard never sees its pid recycled. */
        scythe__kill_session(job, SIGKILL);
        scythe__guard_remove(job->guard_slot);
        job->guard_slot = 0;
        scythe_event ignored;
        scythe__os_reap(job->pidfd, &ignored);
        goto fail;
    }
    *out = job;
    return 0;

fail:
    for (int i = 0; i < 3; i++)
        scythe__os_close(child_fd[i]);
    scythe__guard_remove(job->guard_slot); /* a slot still held here was never listed: nothing was started */
    scythe__job_destroy(job);
    return rc;
}
