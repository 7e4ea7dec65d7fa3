/* A job's standard streams (streams.c): opened for the spawn; then stdin fed and stdout/stderr drained by the loop, or,
 * for channels, written and read by the host while the loop moves the bytes. Every channel call below is made under
 * the job's lock. */
#ifndef SCYTHE_STREAMS_H
#define SCYTHE_STREAMS_H

#include "job.h"

/* For stream i (0 stdin, 1 stdout, 2 stderr) as `s` asks: the fd the child gets as i (*child_fd, -1 to inherit ours)
 * and, for a PIPE or a CHANNEL, our non-blocking end (*parent_fd, else -1). Both CLOEXEC and above 2. 0 or -errno. */
int scythe__stream_open(const scythe_stdio *s, int i, int *child_fd, int *parent_fd);
/* Closes our end of stream i, which also takes it out of the loop's epoll set. */
void scythe__stream_close(scythe_job *job, int i);
/* Reads what stdout (1) or stderr (2) holds into its capture and the output probe, through buf (cap bytes). */
void scythe__stream_drain(scythe_job *job, int i, uint8_t *buf, size_t cap);
/* Writes what stdin can take of the input given at spawn; closes it when all is written or the child closed it. */
void scythe__stream_feed(scythe_job *job);

/* scythe_job_write on a stdin channel that is open: writes at once what the pipe takes if nothing is queued before
 * these bytes, queues the rest for the loop (EPOLLOUT on). 0, -EPIPE (the job closed its stdin: the channel is closed),
 * -ENOMEM (nothing of data was written). */
int scythe__channel_write(scythe_job *job, const uint8_t *data, size_t len);
/* scythe_job_close_stdin on a stdin channel that is open: closes it now, or once the loop has written what is queued. */
void scythe__channel_close_in(scythe_job *job);
/* The loop: stdin is writable, or reported an error (`events` as epoll gave them). Writes what is queued; EPOLLOUT off
 * once it is all written; closes the channel if the job closed its end, or if the host asked and nothing is left. */
void scythe__channel_feed(scythe_job *job, uint32_t events);
/* The loop: stdout is readable. Reads ahead of the host up to SCYTHE__CHANNEL_READ_AHEAD unread bytes, then pauses
 * (no events asked for) until scythe__channel_take makes room. Returns the number of bytes read: the host must hear. */
size_t scythe__channel_fill(scythe_job *job);
/* The loop, at the leader's exit: closes the stdin channel (queued bytes dropped) and takes what the stdout channel's
 * pipe holds at this moment, then closes it, whoever else still holds its write end. Returns the bytes taken. */
size_t scythe__channel_exit(scythe_job *job);
/* scythe_job_read: takes up to cap unread stdout bytes into buf and resumes a paused channel. Returns how many. */
size_t scythe__channel_take(scythe_job *job, uint8_t *buf, size_t cap);

#endif
