/* Hang dossiers (dossier.c). */
#ifndef SCYTHE_DOSSIER_H
#define SCYTHE_DOSSIER_H

#include "job.h"
#include "list.h"
#include "wake.h"

/* A hang dossier being written by a thread of its own. */
typedef struct scythe__dossier scythe__dossier;

/* Starts writing the hang dossier of `job` (overrunning: `why`, a string literal) into its dossier_dir, covering every
 * live job on `jobs` (its loop's, linked by their `link`) as they are now: called under the loop lock, which the
 * writer never takes. The writer wakes the job's loop when done. 0, or -errno and nothing started. */
int scythe__dossier_start(scythe_job *job, const char *why, const scythe__list *jobs, scythe__dossier **out);
/* 1 once written (*rc: 0 or -errno), 0 while being written. */
int scythe__dossier_done(scythe__dossier *d, int *rc);
/* The job's hold on it; the writer frees it if it is still running. NULL: nothing. */
void scythe__dossier_release(scythe__dossier *d);

#endif
