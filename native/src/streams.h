/* A job's standard streams (streams.c): opened for the spawn; then stdin fed and stdout/stderr drained by the loop. */
#ifndef SCYTHE_STREAMS_H
#define SCYTHE_STREAMS_H

#include "job.h"

/* For stream i (0 stdin, 1 stdout, 2 stderr) as `s` asks: the fd the child gets as i (*child_fd, -1 to inherit ours)
 * and, for a PIPE, our non-blocking end (*parent_fd, else -1). Both CLOEXEC and above 2. 0 or -errno. */
int scythe__stream_open(const scythe_stdio *s, int i, int *child_fd, int *parent_fd);
/* Closes our end of stream i, which also takes it out of the loop's epoll set. */
void scythe__stream_close(scythe_job *job, int i);
/* Reads what stdout (1) or stderr (2) holds into its capture and the output probe, through buf (cap bytes). */
void scythe__stream_drain(scythe_job *job, int i, uint8_t *buf, size_t cap);
/* Writes what stdin can take of the input given at spawn; closes it when all is written or the child closed it. */
void scythe__stream_feed(scythe_job *job);

#endif
