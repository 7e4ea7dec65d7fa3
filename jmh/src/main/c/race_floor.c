/*
 * The floor of `scythe race`'s work from outside the JVM: the same race with no supervisor, as a small C program
 * would run it. Usage: race_floor CMD [ARGS...] ::: CMD [ARGS...] ::: ...
 *
 * Each entrant is posix_spawn'ed (PATH searched) in a session of its own (POSIX_SPAWN_SETSID), and a pidfd is opened
 * on it; the program blocks in poll(2) on the pidfds. The first entrant to exit 0 wins: it is reaped, every other
 * entrant's session is killed (killpg, SIGKILL: each leads its own group) and each is reaped. An entrant that exits
 * otherwise is reaped and loses. Exit status 0 if someone won, 1 if nobody did, 2 on an error.
 *
 * Built by scripts/bench at benchmark time (RaceCliFigures measures it against `scythe race`).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434 /* the same number on every architecture */
#endif

extern char **environ;

#define MAX_ENTRANTS 64

static int reap(pid_t pid, int *status) {
    /* EINTR (a signal handler ran; none is installed here, so this is cheap insurance): wait again */
    while (waitpid(pid, status, 0) < 0) {
        if (errno != EINTR) {
            return -errno;
        }
    }
    return 0;
}

int main(int argc, char **argv) {
    pid_t pids[MAX_ENTRANTS];
    struct pollfd fds[MAX_ENTRANTS];
    int n = 0, live, winner = -1;
    posix_spawnattr_t attr;

    if (argc < 2) {
        fprintf(stderr, "usage: race_floor CMD [ARGS...] ::: CMD [ARGS...] ::: ...\n");
        return 2;
    }
    if (posix_spawnattr_init(&attr) != 0 || posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSID) != 0) {
        fprintf(stderr, "race_floor: posix_spawnattr failed\n");
        return 2;
    }
    /* Split argv in place at each ":::" (replaced by the NULL that ends the entrant before it), spawning as we go. */
    for (int start = 1, i = 1; i <= argc; i++) {
        if (i < argc && strcmp(argv[i], ":::") != 0) {
            continue;
        }
        argv[i] = NULL; /* argv[argc] is NULL already */
        if (i == start || n == MAX_ENTRANTS) {
            fprintf(stderr, "race_floor: an empty entrant, or more than %d\n", MAX_ENTRANTS);
            return 2;
        }
        int rc = posix_spawnp(&pids[n], argv[start], NULL, &attr, &argv[start], environ);
        if (rc != 0) {
            fprintf(stderr, "race_floor: posix_spawnp %s: %s\n", argv[start], strerror(rc));
            return 2;
        }
        fds[n].fd = (int)syscall(SYS_pidfd_open, pids[n], 0);
        if (fds[n].fd < 0) {
            perror("race_floor: pidfd_open");
            return 2;
        }
        fds[n].events = POLLIN;
        n++;
        start = i + 1;
    }
    posix_spawnattr_destroy(&attr);

    for (live = n; live > 0 && winner < 0;) {
        if (poll(fds, (nfds_t)n, -1) < 0) {
            if (errno == EINTR) {
                continue; /* interrupted before anything happened: poll again */
            }
            perror("race_floor: poll");
            return 2;
        }
        for (int k = 0; k < n; k++) {
            int status;
            if (fds[k].fd < 0 || fds[k].revents == 0) {
                continue;
            }
            if (reap(pids[k], &status) < 0) {
                perror("race_floor: waitpid");
                return 2;
            }
            close(fds[k].fd);
            fds[k].fd = -1;
            live--;
            if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && winner < 0) {
                winner = k;
            }
        }
    }
    if (winner >= 0) {
        for (int k = 0; k < n; k++) {
            if (fds[k].fd >= 0) {
                killpg(pids[k], SIGKILL); /* the loser's session: its group, led by it */
            }
        }
        for (int k = 0; k < n; k++) {
            int status;
            if (fds[k].fd >= 0) {
                if (reap(pids[k], &status) < 0) {
                    perror("race_floor: waitpid");
                    return 2;
                }
                close(fds[k].fd);
            }
        }
    }
    return winner >= 0 ? 0 : 1;
}
