/* The host pattern of `scythe evaluate`, under stress: many portfolio races on one loop at once. One thread runs the
 * loop and frees each job after its event (as the JVM's loop thread does); spawner threads start short jobs attached
 * to a token per race, some claimed natively by exit code, some claimed from the loop thread after reading their
 * output; a canceller thread cancels jobs and tokens at random moments; some jobs are freed before they complete.
 * Every job must get exactly one event (a freed one none, unless its event was already on its way), every event must
 * name a job the host still holds, and nothing may leak. Under ASan, any use of a freed job fails the run. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { STRESS_SLOTS = 8192, STRESS_RACES = 2048, STRESS_ENTRANTS = 4, STRESS_SPAWNERS = 2 };

/* What the host knows of one job; the slot's mutex plays the part of Job's monitor on the Java side. */
struct stress_slot {
    pthread_mutex_t m;
    scythe_job *job;     /* the handle while the host holds it: NULL once freed (by the loop thread or a detach) */
    int state;           /* 0 unused, 1 live, 2 freed before its event, 3 event delivered */
    int events;          /* events seen for this slot */
    int race;
    int claims_by_output; /* its stdout "unsat" claims the race, from the loop thread */
};

struct stress {
    scythe_loop *loop;
    struct stress_slot slot[STRESS_SLOTS];
    _Atomic(scythe_token *) token[STRESS_RACES]; /* NULL until its spawner made it */
    _Atomic int slots_used, races_used;
    _Atomic int stop;
    _Atomic int detached, cancels, token_cancels, spawn_errors, bad_events;
    int64_t until;
    char tree[64]; /* the progress tree some jobs write into (their inotify fd is registered too) */
};

/* xorshift, one state per thread */
static uint32_t stress_rand(uint32_t *s) {
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* One of the last 64 slots handed out: most of them still run. */
static struct stress_slot *stress_recent(struct stress *st, int used, uint32_t *seed) {
    int last = (used < STRESS_SLOTS ? used : STRESS_SLOTS) - 1;
    int i = last - (int)(stress_rand(seed) % 64);
    return &st->slot[i < 0 ? 0 : i];
}

struct spawner_arg {
    struct stress *st;
    uint32_t seed;
    bool cgroup;
};

static void *stress_spawner(void *p) {
    struct spawner_arg *a = p;
    struct stress *st = a->st;
    static const char *const tru[] = {"true", NULL}, *const fail[] = {"sh", "-c", "exit 1", NULL},
                             *const unsat[] = {"sh", "-c", "echo unsat", NULL};
    const char *const writer[] = {"sh", "-c", "echo x >\"$0/f\"", st->tree, NULL};
    static const char *const sleeps[5][3] = {{"sleep", "0.01", NULL}, {"sleep", "0.02", NULL},
                                             {"sleep", "0.03", NULL}, {"sleep", "0.04", NULL},
                                             {"sleep", "0.05", NULL}};
    while (!atomic_load(&st->stop) && scythe__now_ns() < st->until) {
        int race = atomic_fetch_add(&st->races_used, 1);
        int first = atomic_fetch_add(&st->slots_used, STRESS_ENTRANTS);
        if (race >= STRESS_RACES || first + STRESS_ENTRANTS > STRESS_SLOTS)
            break;
        scythe_token *t;
        if (scythe_token_new(&t, NULL)) {
            atomic_fetch_add(&st->spawn_errors, 1);
            break;
        }
        atomic_store(&st->token[race], t);
        for (int e = 0; e < STRESS_ENTRANTS; e++) {
            int i = first + e;
            struct stress_slot *s = &st->slot[i];
            scythe_spawn_options o = SCYTHE_SPAWN_OPTIONS_INIT;
            o.token = t;
            o.user_data = (uint64_t)i;
            o.stdio[2].mode = SCYTHE_STDIO_NULL;
            if (a->cgroup && stress_rand(&a->seed) % 4 == 0)
                o.containment = SCYTHE_CONTAIN_BEST;
            uint32_t kind = stress_rand(&a->seed) % 5;
            o.argv = kind == 0 ? tru : kind == 1 ? fail : kind == 2 ? unsat : kind == 3 ? sleeps[stress_rand(&a->seed) % 5]
                                                                                       : writer;
            if (kind == 4) { /* exits as soon as it wrote: its inotify fd is often still readable when it completes */
                o.stall_ns = 60000000000LL;
                o.probes = SCYTHE_PROBE_TREE;
                o.progress_tree = st->tree;
            }
            if (kind == 0 || (kind == 3 && e == 0)) { /* success by exit code, claimed natively */
                o.claim_index = e;
                o.claim_exit_codes[0] = 1;
            }
            pthread_mutex_lock(&s->m);
            s->race = race;
            s->claims_by_output = kind == 2;
            scythe_job *job = NULL;
            int rc = scythe_spawn(&job, st->loop, &o);
            if (rc == 0) {
                s->job = job;
                s->state = 1;
            } else if (rc != -ECANCELED) { /* a token cancelled before this entrant started: not an error */
                atomic_fetch_add(&st->spawn_errors, 1);
                fprintf(stderr, "  spawn: %s\n", scythe_strerror(rc));
            }
            pthread_mutex_unlock(&s->m);
            if (rc == 0 && stress_rand(&a->seed) % 16 == 0) {
                /* Freed by its host before it completes, from this thread: racing the loop's completion. */
                pthread_mutex_lock(&s->m);
                if (s->state == 1) {
                    s->state = 2;
                    s->job = NULL;
                    scythe_job_free(job);
                    atomic_fetch_add(&st->detached, 1);
                }
                pthread_mutex_unlock(&s->m);
            }
        }
        if (stress_rand(&a->seed) % 8 == 0)
            usleep(stress_rand(&a->seed) % 3000);
    }
    return NULL;
}

static void *stress_canceller(void *p) {
    struct stress *st = p;
    uint32_t seed = 0x9e3779b9u;
    while (!atomic_load(&st->stop)) {
        int used = atomic_load(&st->slots_used), races = atomic_load(&st->races_used);
        uint32_t r = stress_rand(&seed);
        if (r % 3 == 0 && races > 0) {
            /* A race's token cancelled from outside (the user, a deadline of the whole portfolio). */
            int race = (int)(stress_rand(&seed) % (uint32_t)(races < STRESS_RACES ? races : STRESS_RACES));
            scythe_token *t = atomic_load(&st->token[race]);
            if (t && scythe_token_cancel(t, SCYTHE_REASON_USER) == 0)
                atomic_fetch_add(&st->token_cancels, 1);
        } else if (used > 0) {
            struct stress_slot *s = stress_recent(st, used, &seed);
            pthread_mutex_lock(&s->m);
            if (s->job && scythe_job_cancel(s->job, 200 + (r % 7)) == 0)
                atomic_fetch_add(&st->cancels, 1);
            pthread_mutex_unlock(&s->m);
        }
        usleep(200 + stress_rand(&seed) % 800);
    }
    return NULL;
}

/* One event, as the JVM's loop thread handles it: the host's record first, then the outputs, a claim from the output,
 * then the native job freed. */
static void stress_event(struct stress *st, const scythe_event *ev) {
    if (ev->user_data >= STRESS_SLOTS) {
        atomic_fetch_add(&st->bad_events, 1);
        fprintf(stderr, "  event with user_data %llu\n", (unsigned long long)ev->user_data);
        return;
    }
    struct stress_slot *s = &st->slot[ev->user_data];
    pthread_mutex_lock(&s->m);
    s->events++;
    int state = s->state;
    bool ours = state == 1 && s->job == ev->job;
    if (ours)
        s->state = 3;
    pthread_mutex_unlock(&s->m);
    if (state == 2)
        return; /* freed by its spawner after the loop had already returned its event: the handle is gone */
    if (!ours) {
        atomic_fetch_add(&st->bad_events, 1);
        fprintf(stderr, "  event for slot %llu in state %d (events %d)\n", (unsigned long long)ev->user_data, state,
                s->events);
        return;
    }
    scythe_output out;
    if (scythe_job_output(&out, ev->job, 1) == 0 && s->claims_by_output && ev->end == SCYTHE_END_EXITED &&
        out.head_len >= 5 && memcmp(out.head, "unsat", 5) == 0)
        (void)scythe_token_claim(atomic_load(&st->token[s->race]), (int32_t)(ev->user_data % STRESS_ENTRANTS));
    pthread_mutex_lock(&s->m);
    s->job = NULL; /* no other thread reaches the handle from now on */
    pthread_mutex_unlock(&s->m);
    scythe_job_free(ev->job);
}

/* Regression: a job whose pid reads 0 (a job not started, or memory that is no job) is never signalled: killpg(0)
 * would reach our own process group. The loop once sent SIGKILL there, acting on a freed job (see below). */
void test_kill_session_never_signals_pid_0(void) {
    scythe_job *job;
    CHECK_RC(scythe__job_new(&job));
    job->pidfd = scythe__os_pidfd_open(getpid()); /* a pidfd that answers signal 0: only the pid check stops it */
    CHECK(job->pidfd >= 0);
    int rc = scythe__kill_session(job, 0);
    scythe__job_destroy(job);
    CHECK(rc == -ESRCH);
}

/* Regression: scythe_job_free(event.job) crashed in a JVM racing SAT solvers (hs_err: job->loop read from a job
 * already freed). */
void test_stress_races_one_event_per_job(void) {
    static struct stress st; /* 8192 slots: too big for the stack */
    memset(&st, 0, sizeof st);
    for (int i = 0; i < STRESS_SLOTS; i++)
        pthread_mutex_init(&st.slot[i].m, NULL);
    snprintf(st.tree, sizeof st.tree, "/tmp/scythe-stress-XXXXXX");
    CHECK(mkdtemp(st.tree));
    int fds = count_fds();
    CHECK_RC(scythe_loop_new(&st.loop));
    double secs = getenv("SCYTHE_STRESS_SECONDS") ? atof(getenv("SCYTHE_STRESS_SECONDS")) : 3.0;
    st.until = scythe__now_ns() + (int64_t)(secs * 1e9);
    bool cgroup = (scythe_capabilities() & SCYTHE_CAP_CGROUP_KILL) != 0;
    pthread_t spawners[STRESS_SPAWNERS], canceller;
    struct spawner_arg args[STRESS_SPAWNERS];
    for (int i = 0; i < STRESS_SPAWNERS; i++) {
        args[i] = (struct spawner_arg){&st, 0x12345u + 7919u * (uint32_t)i, cgroup};
        pthread_create(&spawners[i], NULL, stress_spawner, &args[i]);
    }
    pthread_create(&canceller, NULL, stress_canceller, &st);
    uint32_t seed = 0xc0ffeeu;
    int spawners_left = STRESS_SPAWNERS, loop_detached = 0;
    int64_t give_up = st.until + 30000000000LL;
    scythe_event evs[16];
    for (;;) {
        size_t k = 0;
        int rc = scythe_loop_run(&k, st.loop, evs, 16, 20);
        if (rc) {
            fprintf(stderr, "  scythe_loop_run: %s\n", scythe_strerror(rc));
            failures_in_test++;
            break;
        }
        for (size_t i = 0; i < k; i++)
            stress_event(&st, &evs[i]);
        /* Now and then the loop thread frees a job it holds before its event: maybe completed and queued already. */
        int used = atomic_load(&st.slots_used);
        if (used > 0 && stress_rand(&seed) % 4 == 0) {
            struct stress_slot *s = stress_recent(&st, used, &seed);
            pthread_mutex_lock(&s->m);
            if (s->state == 1) {
                scythe_job_free(s->job);
                s->job = NULL;
                s->state = 2;
                loop_detached++;
            }
            pthread_mutex_unlock(&s->m);
        }
        if (spawners_left && scythe__now_ns() >= st.until) {
            for (int i = 0; i < STRESS_SPAWNERS; i++)
                pthread_join(spawners[i], NULL);
            spawners_left = 0;
        }
        if (!spawners_left) {
            size_t live = 1;
            scythe_loop_live_jobs(st.loop, &live);
            int waiting = 0;
            for (int i = 0; i < atomic_load(&st.slots_used) && i < STRESS_SLOTS; i++)
                waiting += st.slot[i].state == 1;
            if ((!live && !waiting) || scythe__now_ns() > give_up)
                break;
        }
    }
    atomic_store(&st.stop, 1);
    pthread_join(canceller, NULL);
    if (spawners_left)
        for (int i = 0; i < STRESS_SPAWNERS; i++)
            pthread_join(spawners[i], NULL);
    int jobs = 0, delivered = 0, freed_early = 0, late = 0, missing = 0, doubled = 0;
    for (int i = 0; i < STRESS_SLOTS; i++) {
        struct stress_slot *s = &st.slot[i];
        jobs += s->state != 0;
        delivered += s->state == 3;
        freed_early += s->state == 2;
        late += s->state == 2 && s->events == 1;
        missing += s->state == 1;
        doubled += s->events > 1;
        if (s->job)
            scythe_job_free(s->job);
        pthread_mutex_destroy(&s->m);
    }
    int races = atomic_load(&st.races_used);
    for (int r = 0; r < STRESS_RACES; r++)
        scythe_token_free(atomic_load(&st.token[r]));
    printf("     %d jobs in %d races: %d events; %d freed before their event (%d of them by the loop thread; %d by a "
           "spawner after the loop had returned it); %d job cancels, %d token cancels\n",
           jobs, races < STRESS_RACES ? races : STRESS_RACES, delivered, freed_early, loop_detached, late,
           atomic_load(&st.cancels), atomic_load(&st.token_cancels));
    size_t live = 1;
    CHECK_RC(scythe_loop_live_jobs(st.loop, &live));
    scythe_loop_free(st.loop);
    char f[96];
    snprintf(f, sizeof f, "%s/f", st.tree);
    unlink(f);
    CHECK(rmdir(st.tree) == 0);
    CHECK(live == 0);
    CHECK(missing == 0 && doubled == 0 && atomic_load(&st.bad_events) == 0);
    CHECK(atomic_load(&st.spawn_errors) == 0);
    CHECK(jobs >= 500); /* it really stressed the loop, even on a loaded machine */
    CHECK(count_fds() == fds);
    CHECK(no_children());
}
