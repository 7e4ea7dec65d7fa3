/* Cancel tokens: one 64-bit word that changes exactly once, by compare-and-set, from 0 to "cancelled with a
 * reason" (and, for a race claim, a winner). The flip is lock-free; the tree of child tokens and the wake-up of
 * loops after a flip take a mutex, since they are rare and touch lists. */
#include "internal.h"
#include "wake.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static pthread_mutex_t tree_lock = PTHREAD_MUTEX_INITIALIZER;

/* A shared token's file (private layout: hosts only call functions): the word at 0, the byte its announcements write
 * at 8, a magic at 16 that tells a token's file from any other. One page, sealed against shrinking and growing. */
#define FILE_SIZE 4096
#define ANNOUNCE_AT 8
#define MAGIC_AT 16
static const char magic[8] = {'S', 'C', 'Y', 'T', 'O', 'K', '0', '1'};

static void announce(const scythe_token *t);
static void notify_locked(scythe_token *t);
static void cancel_children_locked(scythe_token *t, uint32_t reason);

static scythe_token *token_alloc(void) {
    scythe_token *t = scythe__calloc(1, sizeof *t);
    if (!t)
        return NULL;
    atomic_init(&t->state, 0);
    t->word = &t->state;
    t->fd = -1;
    atomic_init(&t->refs, 1);
    scythe__list_init(&t->watches);
    return t;
}

/* Links t below parent (taking a reference on it); t is cancelled at once if the parent already is. */
static void link_child(scythe_token *t, scythe_token *parent) {
    pthread_mutex_lock(&tree_lock);
    scythe__token_ref(parent);
    t->parent = parent;
    t->next_sibling = parent->first_child;
    if (parent->first_child)
        parent->first_child->prev_sibling = t;
    parent->first_child = t;
    /* Under the tree lock a parent's cancel has either already reached its children list or will see us. */
    uint64_t ps = scythe__token_state(parent), expected = 0;
    if (ps && atomic_compare_exchange_strong_explicit(t->word, &expected, SCYTHE_TOKEN_CANCELLED_BIT | (uint32_t)ps,
                                                      memory_order_acq_rel, memory_order_acquire))
        announce(t);
    pthread_mutex_unlock(&tree_lock);
}

int scythe_token_new(scythe_token **out, scythe_token *parent) {
    if (!out)
        return -EINVAL;
    scythe_token *t = token_alloc();
    if (!t)
        return -ENOMEM;
    if (parent)
        link_child(t, parent);
    *out = t;
    return 0;
}

/* Maps the token file open as fd (owned by t from here on) and checks that it is one. */
static int attach_file(scythe_token *t, int fd) {
    t->fd = fd;
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_size != FILE_SIZE)
        return -EINVAL;
    void *map = mmap(NULL, FILE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (map == MAP_FAILED)
        return -errno;
    t->map = map;
    if (memcmp((char *)map + MAGIC_AT, magic, sizeof magic) != 0)
        return -EINVAL;
    t->word = (_Atomic uint64_t *)map;
    return 0;
}

static void detach_file(scythe_token *t) {
    if (t->map)
        munmap(t->map, FILE_SIZE);
    scythe__os_close(t->fd);
    t->map = NULL;
    t->fd = -1;
    t->word = &t->state;
}

int scythe_token_new_shared(scythe_token **out, scythe_token *parent) {
    if (!out)
        return -EINVAL;
    scythe_token *t = token_alloc();
    if (!t)
        return -ENOMEM;
    int rc = 0, fd = memfd_create("scythe-token", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0 || ftruncate(fd, FILE_SIZE) < 0 || pwrite(fd, magic, sizeof magic, MAGIC_AT) != (ssize_t)sizeof magic ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        rc = -errno;
        t->fd = fd;
    } else {
        rc = attach_file(t, fd);
    }
    if (rc) {
        detach_file(t);
        free(t);
        return rc;
    }
    if (parent)
        link_child(t, parent);
    *out = t;
    return 0;
}

/* Opens the file at path as a token of this process's own: its own open file, so that its death closes it and
 * the watching loops hear of it (a compare-and-set it made just before it died is then seen). */
static int open_path(scythe_token **out, const char *path) {
    scythe_token *t = token_alloc();
    if (!t)
        return -ENOMEM;
    int fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    int rc = fd < 0 ? -errno : attach_file(t, fd);
    if (rc) {
        detach_file(t);
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

int scythe_token_open(scythe_token **out, const char *path) {
    if (!out || !path || !path[0])
        return -EINVAL;
    return open_path(out, path);
}

int scythe_token_from_fd(scythe_token **out, int fd) {
    if (!out)
        return -EINVAL;
    if (fd < 0 || fcntl(fd, F_GETFD) < 0)
        return -EBADF;
    char path[40];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    return open_path(out, path);
}

int scythe_token_from_env(scythe_token **out) {
    if (!out)
        return -EINVAL;
    const char *v = getenv(SCYTHE_TOKEN_FD_ENV);
    if (!v || !v[0])
        return -ENOENT;
    char *end;
    long fd = strtol(v, &end, 10);
    if (*end || fd < 0 || fd > 1 << 30)
        return -EINVAL;
    return scythe_token_from_fd(out, (int)fd);
}

int scythe_token_fd(const scythe_token *t) {
    return t && t->map ? t->fd : -1;
}

/* Tells the other processes' loops that a shared token's word changed: a write to its file, which inotify reports. */
static void announce(const scythe_token *t) {
    if (!t->map)
        return;
    uint8_t one = 1;
    while (pwrite(t->fd, &one, 1, ANNOUNCE_AT) < 0 && errno == EINTR) {
        /* retry: interrupted by a signal to this thread */
    }
}

void scythe__token_seen_flipped(scythe_token *t) {
    uint64_t word = scythe__token_state(t);
    if (!word)
        return;
    pthread_mutex_lock(&tree_lock);
    notify_locked(t);
    cancel_children_locked(t, (uint32_t)word);
    pthread_mutex_unlock(&tree_lock);
    scythe__wake_all();
}

void scythe__token_ref(scythe_token *t) {
    atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
}

void scythe_token_free(scythe_token *t) {
    while (t && atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) == 1) {
        scythe_token *parent = t->parent;
        pthread_mutex_lock(&tree_lock);
        if (parent) {
            if (t->prev_sibling)
                t->prev_sibling->next_sibling = t->next_sibling;
            else
                parent->first_child = t->next_sibling;
            if (t->next_sibling)
                t->next_sibling->prev_sibling = t->prev_sibling;
        }
        /* Children hold a reference to us, so we have none left here. */
        pthread_mutex_unlock(&tree_lock);
        detach_file(t);
        free(t);
        t = parent; /* drop the reference this token held on its parent */
    }
}

void scythe__token_watch_add(scythe_token *t, scythe__token_watch *w) {
    pthread_mutex_lock(&tree_lock);
    if (scythe__list_empty(&w->link))
        scythe__list_append(&t->watches, &w->link);
    pthread_mutex_unlock(&tree_lock);
}

void scythe__token_watch_remove(scythe__token_watch *w) {
    pthread_mutex_lock(&tree_lock);
    scythe__list_remove(&w->link);
    pthread_mutex_unlock(&tree_lock);
}

/* Hands t's jobs to their loops; the caller holds tree_lock, so none is detached (and freed) meanwhile. */
static void notify_locked(scythe_token *t) {
    for (scythe__list *l = t->watches.next; l != &t->watches; l = l->next) {
        scythe__token_watch *w = SCYTHE__CONTAINER(l, scythe__token_watch, link);
        scythe__wake_for(w->waker, w->node);
    }
}

/* Cancels t's descendants; the caller holds tree_lock. Depth is bounded by how deep hosts nest tokens. */
static void cancel_children_locked(scythe_token *t, uint32_t reason) {
    for (scythe_token *c = t->first_child; c; c = c->next_sibling) {
        uint64_t expected = 0;
        if (atomic_compare_exchange_strong_explicit(c->word, &expected, SCYTHE_TOKEN_CANCELLED_BIT | reason,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            announce(c);
            notify_locked(c);
            cancel_children_locked(c, reason);
        }
    }
}

static int flip(scythe_token *t, uint64_t word) {
    uint64_t expected = 0;
    if (!atomic_compare_exchange_strong_explicit(t->word, &expected, word, memory_order_acq_rel,
                                                 memory_order_acquire))
        return (int)(expected >> SCYTHE_TOKEN_WINNER_SHIFT) ? -EALREADY : -ECANCELED;
    announce(t); /* first: the other processes' loops start to wake while this one hands its own jobs over */
    /* Always under the lock: a child being linked concurrently either sees our word or is in the list here, and a job
     * being attached either is in the watches here or sees our word when its loop links it (scythe__loop_add). */
    pthread_mutex_lock(&tree_lock);
    notify_locked(t);
    cancel_children_locked(t, (uint32_t)word);
    pthread_mutex_unlock(&tree_lock);
    scythe__wake_all();
    return 0;
}

int scythe_token_cancel(scythe_token *t, uint32_t reason) {
    if (!t)
        return -EINVAL;
    int rc = flip(t, SCYTHE_TOKEN_CANCELLED_BIT | reason);
    return rc ? -EALREADY : 0;
}

int scythe_token_claim(scythe_token *t, int32_t index) {
    if (!t || index < 0)
        return -EINVAL;
    return flip(t, SCYTHE_TOKEN_CANCELLED_BIT | SCYTHE_REASON_PREEMPTED |
                       ((uint64_t)index + 1) << SCYTHE_TOKEN_WINNER_SHIFT);
}

int scythe_token_is_cancelled(const scythe_token *t) {
    if (!t)
        return 0;
    if (scythe__token_state(t))
        return 1;
    /* Below a shared token, a cancel made in another process (or through another open of it here) reaches this word
     * when a loop watching the token sees it; a caller asking first hands it down now. Parents never change. */
    for (const scythe_token *a = t->parent; a; a = a->parent)
        if (a->map && scythe__token_state(a)) {
            scythe__token_seen_flipped((scythe_token *)a);
            return 1;
        }
    return 0;
}

const volatile uint64_t *scythe_token_state_address(const scythe_token *t) {
    return t ? (const volatile uint64_t *)t->word : NULL;
}

int32_t scythe_token_winner(const scythe_token *t) {
    return t ? (int32_t)(scythe__token_state(t) >> SCYTHE_TOKEN_WINNER_SHIFT) - 1 : -1;
}
